//! `POST /messages` and `GET /messages/{id}`: the owner's own applications send through
//! the bundle and follow each message to its end. `GET /contacts/{contact}/messages`: the
//! conversation with a contact, both directions, newest first, a page at a time. `GET /contacts`:
//! the contacts by last activity, a page at a time, each with its last message and windows.
//!
//! Answers: 202 queued (with the id); 200 a message or a page of the conversation; 400 invalid
//! request (naming the field or parameter: `contact`, `limit`, `cursor`); 401 wrong or missing API
//! key; 404 unknown message (or a path no route has); 405 a route's path with another method
//! (`Allow`); 409 an `Idempotency-Key` reused for another message; 422 a free-form message outside
//! the 24-hour customer-service window, or a template Meta paused, disabled or rejected (its reason);
//! 503 retry later. A retry with the `Idempotency-Key` of a
//! message already accepted gets the first 202 whatever the window, the template or the configured
//! numbers say by then (the same body; another is 409).
//!
//! `POST /media` uploads a file to Meta and answers its media id (see [`SendApi::media`]).
//! `POST`/`DELETE`/`GET /contacts/{contact}/block` block, unblock and read a contact's block on the
//! business number (Meta's Block Users API; Meta's refusal, such as a contact who did not write in the
//! last 24 hours, is a 422 with its words). `GET /templates` lists the WABA's templates with the
//! parameters each takes (503 without `WHATSAPP_BUSINESS_ACCOUNT_ID`); `GET /verification-codes` the
//! codes the Twilio functions captured for a number, the latest first.
//!
//! The routes are chosen first ([`Route::of`]): a path no route has is 404, a route's path with
//! another method 405; then the API key, then the route's handler.

mod block;
mod checks;
mod codes;
mod contacts;
mod history;
mod media;
mod messages;
mod routes;
mod templates;

use lambda_http::{Body, Request, Response};
use tracing::Instrument;

pub use self::checks::CUSTOMER_WINDOW_SECONDS;
pub use self::media::{MAX_RAW_MEDIA_BYTES, MEDIA_PREFIX};
pub use self::messages::idempotency_key;
pub use self::routes::{
    BLOCK_ROUTES, BlockMethod, CODES_ROUTE, CONTACTS_ROUTE, GET_ROUTE, HISTORY_ROUTE, MEDIA_ROUTE, NO_ROUTE,
    POST_ROUTE, Route, TEMPLATES_ROUTE,
};
use super::http::{ApiError, Refusal, RefusalMetrics, refuse, request_id, request_span};
use crate::config::SendApiConfig;
use crate::domain::history::CursorKey;
use crate::domain::verify_token;
use crate::ports::Absent;
use crate::ports::{
    Blocklist, CodeLog, ContactList, ConversationStore, MediaLinks, MediaUploader, OutboundStore, Queue, StoreError,
    TemplateCatalog, TemplateStatusStore,
};

/// `links`: presigned media links (`None` without a payload bucket: media entries carry no `url`).
pub struct SendApi<S, Q, L, M = Absent, T = Absent, B = Absent> {
    pub config: SendApiConfig,
    pub store: S,
    pub queue: Q,
    /// Meta's media upload (`None`: `WHATSAPP_ACCESS_TOKEN` not set, `POST /media` answers 503).
    pub media: Option<M>,
    /// The WABA's templates (`None`: no `WHATSAPP_BUSINESS_ACCOUNT_ID`; template sends are not checked).
    pub templates: Option<T>,
    pub links: Option<L>,
    /// The numbers' blocklists (`None`: `WHATSAPP_ACCESS_TOKEN` not set, the block routes answer 503).
    pub blocklist: Option<B>,
    cursor_key: CursorKey,
}

fn store_unavailable(error: StoreError) -> Refusal {
    Refusal::unavailable(format!("message store unavailable: {error}"))
}

impl<S, Q, L> SendApi<S, Q, L> {
    pub fn new(config: SendApiConfig, store: S, queue: Q, links: Option<L>) -> Self {
        let cursor_key = CursorKey::derive(config.api_key.expose());
        Self {
            config,
            store,
            queue,
            links,
            cursor_key,
            media: None,
            templates: None,
            blocklist: None,
        }
    }
}

impl<S, Q, L, M, T, B> SendApi<S, Q, L, M, T, B> {
    /// The same API uploading media through `media`.
    pub fn with_media<N>(self, media: Option<N>) -> SendApi<S, Q, L, N, T, B> {
        SendApi {
            config: self.config,
            store: self.store,
            queue: self.queue,
            links: self.links,
            media,
            templates: self.templates,
            blocklist: self.blocklist,
            cursor_key: self.cursor_key,
        }
    }

    /// The same API checking template sends against `templates`.
    pub fn with_templates<U>(self, templates: Option<U>) -> SendApi<S, Q, L, M, U, B> {
        SendApi {
            config: self.config,
            store: self.store,
            queue: self.queue,
            links: self.links,
            media: self.media,
            templates,
            blocklist: self.blocklist,
            cursor_key: self.cursor_key,
        }
    }

    /// The same API blocking and unblocking contacts through `blocklist`.
    pub fn with_blocklist<C>(self, blocklist: Option<C>) -> SendApi<S, Q, L, M, T, C> {
        SendApi {
            config: self.config,
            store: self.store,
            queue: self.queue,
            links: self.links,
            media: self.media,
            templates: self.templates,
            blocklist,
            cursor_key: self.cursor_key,
        }
    }
}

impl<
    S: OutboundStore + ConversationStore + ContactList + TemplateStatusStore + CodeLog,
    Q: Queue,
    L: MediaLinks,
    M: MediaUploader,
    T: TemplateCatalog,
    B: Blocklist,
> SendApi<S, Q, L, M, T, B>
{
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let request_id = request_id(&request);
        let route = Route::of(&request);
        let span = request_span(route.as_ref().map_or(NO_ROUTE, Route::key), &request_id);
        async {
            self.answer(&request, route, &request_id)
                .await
                .unwrap_or_else(|refusal| refuse(refusal, RefusalMetrics::NONE))
        }
        .instrument(span)
        .await
    }

    async fn answer(
        &self,
        request: &Request,
        route: Result<Route<'_>, ApiError>,
        request_id: &str,
    ) -> Result<Response<Body>, Refusal> {
        let route = route?;
        self.authorize(request)?;
        match route {
            Route::Send => self.send(request, request_id).await,
            Route::Message { id } => self.get(id).await,
            // Boxed: the upload's future (an S3 stream into an HTTP request) is large.
            Route::Media => Box::pin(self.media(request)).await,
            Route::Conversation { contact } => self.conversation(request, contact).await,
            Route::Contacts => self.contacts(request).await,
            Route::Block { contact, method } => self.block(request, contact, method).await,
            Route::Templates => self.templates().await,
            Route::Codes => self.codes(request).await,
        }
    }

    fn authorize(&self, request: &Request) -> Result<(), Refusal> {
        let presented = request
            .headers()
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
            .unwrap_or_default();
        if presented.is_empty() || !verify_token::tokens_equal(self.config.api_key.expose(), presented.trim()) {
            return Err(ApiError::Unauthorized("missing or invalid API key").into());
        }
        Ok(())
    }
}
