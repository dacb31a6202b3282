//! `POST /messages` and `GET /messages/{id}`: the owner's own applications send through
//! the bundle and follow each message to its end. `GET /contacts/{contact}/messages`: the
//! conversation with a contact, both directions, newest first, a page at a time.
//!
//! Answers: 202 queued (with the id); 200 a message or a page of the conversation; 400 invalid
//! request (naming the field or parameter: `contact`, `limit`, `cursor`); 401 wrong or missing API
//! key; 404 unknown message; 409 an `Idempotency-Key` reused for another message; 422 a free-form
//! message outside the 24-hour customer-service window; 503 retry later. A retry with the
//! `Idempotency-Key` of a message already accepted gets the first 202 whatever the window, the
//! template or the configured numbers say by then (the same body; another is 409).
//!
//! `POST /media` uploads a file to Meta and answers its media id (see [`SendApi::media`]).

use chrono::Utc;
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::json;

use tracing::Instrument;

use super::http::{ApiError, Refusal, RefusalMetrics, refuse, request_id, request_span, respond};
use crate::adapters::graph_media::GraphMedia;
use crate::adapters::graph_templates::GraphTemplates;
use crate::config::SendApiConfig;
use crate::domain::history::{self, ConversationEntry, CursorKey, MEDIA_LINK_SECONDS, MediaView, ParameterError};
use crate::domain::media_upload as media;
use crate::domain::outbound::Origin;
use crate::domain::outbound::{self, SendJob};
use crate::domain::send_request::{MessageKind, ValidSendRequest, ValidationError};
use crate::domain::verify_token;
use crate::ports::{
    ConversationStore, Created, MediaFailure, MediaLinks, MediaUploader, NewOutbound, OutboundStore, Queue, StoreError,
    TemplateCatalog, UploadSource,
};

/// Free-form messages need the contact to have written within this many seconds.
pub const CUSTOMER_WINDOW_SECONDS: i64 = 24 * 60 * 60;
const MAX_BODY_BYTES: usize = 64 * 1024;
const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;
const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The routes, as API Gateway names them (`routeKey`), in every log line's span.
pub const POST_ROUTE: &str = "POST /messages";
pub const GET_ROUTE: &str = "GET /messages/{id}";
pub const HISTORY_ROUTE: &str = "GET /contacts/{contact}/messages";
pub const MEDIA_ROUTE: &str = "POST /media";

/// The largest raw body `POST /media` takes. API Gateway's HTTP API takes 10 MB, but Lambda refuses an
/// invocation over 6 MB (6,291,456 bytes) and a binary body reaches it base64-encoded (4 bytes for 3)
/// inside the event's JSON: 4,718,592 raw bytes at the very most, less the headers. Larger files go
/// by reference to an object of the payload bucket (`{"s3_key": "media/…"}`).
pub const MAX_RAW_MEDIA_BYTES: usize = 4_500_000;
/// Where `POST /media` may read objects of the payload bucket (the send API's `s3:GetObject`).
pub const MEDIA_PREFIX: &str = "media/";

/// `links`: presigned media links (`None` without a payload bucket: media entries carry no `url`).
pub struct SendApi<S, Q, L, M = GraphMedia, T = GraphTemplates> {
    pub config: SendApiConfig,
    pub store: S,
    pub queue: Q,
    /// Meta's media upload (`None`: `WHATSAPP_ACCESS_TOKEN` not set, `POST /media` answers 503).
    pub media: Option<M>,
    /// The WABA's templates (`None`: no `WHATSAPP_BUSINESS_ACCOUNT_ID`; template sends are not checked).
    pub templates: Option<T>,
    pub links: Option<L>,
    cursor_key: CursorKey,
}

fn bad_parameter(error: &ParameterError) -> Refusal {
    ApiError::BadRequest(error.to_string()).into()
}

fn invalid(error: &ValidationError) -> Refusal {
    ApiError::BadRequest(error.to_string()).into()
}

fn store_unavailable(error: StoreError) -> Refusal {
    Refusal::unavailable(format!("message store unavailable: {error}"))
}

/// The caller's `Idempotency-Key`, if any: 1 to 255 printable ASCII characters (0x21–0x7E)
/// once surrounding whitespace is trimmed, with spaces allowed between them (a key such as
/// `order 1042` was accepted before this check existed, and a space cannot make two keys
/// collide). Anything else is a 400 naming the header: a key that cannot be read must not be
/// ignored, or a retry would send the message twice.
pub fn idempotency_key(headers: &http::HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let raw = value.as_bytes();
    let key = raw.trim_ascii();
    if key.is_empty() || raw.len() > MAX_IDEMPOTENCY_KEY_LEN {
        return Err(ApiError::BadRequest(format!(
            "Idempotency-Key: 1 to {MAX_IDEMPOTENCY_KEY_LEN} characters"
        )));
    }
    match std::str::from_utf8(key) {
        Ok(key) if key.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) => Ok(Some(key)),
        _ => Err(ApiError::BadRequest(
            "Idempotency-Key: printable ASCII characters only (spaces allowed between them)".to_owned(),
        )),
    }
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
        }
    }
}

impl<S, Q, L, M, T> SendApi<S, Q, L, M, T> {
    /// The same API uploading media through `media`.
    pub fn with_media<N>(self, media: Option<N>) -> SendApi<S, Q, L, N, T> {
        SendApi {
            config: self.config,
            store: self.store,
            queue: self.queue,
            links: self.links,
            media,
            templates: self.templates,
            cursor_key: self.cursor_key,
        }
    }

    /// The same API checking template sends against `templates`.
    pub fn with_templates<U>(self, templates: Option<U>) -> SendApi<S, Q, L, M, U> {
        SendApi {
            config: self.config,
            store: self.store,
            queue: self.queue,
            links: self.links,
            media: self.media,
            templates,
            cursor_key: self.cursor_key,
        }
    }
}

impl<S: OutboundStore + ConversationStore, Q: Queue, L: MediaLinks, M: MediaUploader, T: TemplateCatalog>
    SendApi<S, Q, L, M, T>
{
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let request_id = request_id(&request);
        let contact = contact_in_path(&request);
        let route = match (request.method() == Method::GET, &contact) {
            (true, Some(_)) => HISTORY_ROUTE,
            (true, None) => GET_ROUTE,
            (false, _) if request.uri().path().ends_with("/media") => MEDIA_ROUTE,
            (false, _) => POST_ROUTE,
        };
        async {
            let result = match self.authorize(&request) {
                Err(refusal) => Err(refusal),
                Ok(()) if route == HISTORY_ROUTE => {
                    self.conversation(&request, contact.as_deref().unwrap_or_default())
                        .await
                }
                Ok(()) if route == GET_ROUTE => self.get(&message_id_in_path(&request)).await,
                // Boxed: the upload's future (an S3 stream into an HTTP request) is large.
                Ok(()) if route == MEDIA_ROUTE => Box::pin(self.media(&request)).await,
                Ok(()) => self.send(&request, &request_id).await,
            };
            result.unwrap_or_else(|refusal| refuse(refusal, RefusalMetrics::NONE))
        }
        .instrument(request_span(route, &request_id))
        .await
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

    async fn get(&self, id: &str) -> Result<Response<Body>, Refusal> {
        let view = self.store.view(id).await.map_err(store_unavailable)?;
        let mut view = view.ok_or(ApiError::NotFound("no message with this id or wamid"))?;
        if let Some(media) = &mut view.media {
            self.link(media).await;
        }
        tracing::info!(outcome = "found", status = 200, id, "send api");
        let body = serde_json::to_string(&view).unwrap_or_default();
        Ok(respond(StatusCode::OK, "application/json", body))
    }

    async fn send(&self, request: &Request, request_id: &str) -> Result<Response<Body>, Refusal> {
        let body: &[u8] = request.body().as_ref();
        if body.len() > MAX_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge(MAX_BODY_BYTES).into());
        }
        let send = ValidSendRequest::parse(body).map_err(|error| invalid(&error))?;
        let recipient = send
            .recipient(self.config.default_country_code.as_deref())
            .map_err(|error| invalid(&error))?;
        let key = idempotency_key(request.headers())?;
        let to = recipient.key().to_owned();
        let payload = send.graph_payload(&recipient);
        // A `from` the caller named is part of the message (the same key from another number conflicts).
        let fingerprint = match send.from() {
            Some(named) => outbound::fingerprint(&json!({ "from": named, "payload": &payload })),
            None => outbound::fingerprint(&payload),
        };
        let message_id = match key {
            Some(key) => outbound::id_for_key("send-api", key),
            None => outbound::new_id(request_id),
        };
        let (from, refused) = match self.business_number(&send) {
            Ok(from) => {
                let refused = self.refusal(&send, &to, from.as_deref(), &payload).await?;
                (from, refused)
            }
            Err(refusal) => (send.from().map(str::to_owned), Some(refusal)),
        };
        // What these checks answer can change between a request and its retry (the window closes,
        // a template is edited, a number is removed): a retry of a message accepted before gets its
        // first answer, as a retry does while nothing changed (below: the same 202 and id for the
        // same body, 409 for another), never a refusal that would send the client to another
        // message (a template once the window closed: the contact gets both). One read more, on
        // refused requests with a key only.
        let refused = match refused {
            Some(refusal) if key.is_some() => {
                if self
                    .store
                    .view(message_id.as_str())
                    .await
                    .map_err(store_unavailable)?
                    .is_none()
                {
                    return Err(refusal);
                }
                Some(refusal)
            }
            Some(refusal) => return Err(refusal),
            None => None,
        };
        let kind = send.kind().as_str();
        let created = self
            .store
            .create_outbound(&NewOutbound {
                message_id: message_id.clone(),
                to: to.clone(),
                from: from.clone(),
                kind: kind.to_owned(),
                payload: payload.clone(),
                fingerprint: fingerprint.clone(),
                origin: Origin::Api,
            })
            .await
            .map_err(store_unavailable)?;
        if let Created::Exists { fingerprint: existing } = &created
            && existing.as_deref() != Some(fingerprint.as_str())
        {
            return Err(
                ApiError::Conflict("Idempotency-Key was already used for a different message".to_owned()).into(),
            );
        }
        if let (Created::New, Some(refusal)) = (&created, refused) {
            // The message expired (RETENTION_DAYS) between the read and this write: not a retry
            // after all, and refused. Its record is never queued.
            return Err(refusal);
        }
        // Queued again on a retried request too: the worker's claim sends it once, and a
        // first attempt that stored the message but failed to queue it is repaired this way.
        let job = SendJob {
            message_id: message_id.clone(),
            to: to.clone(),
            from: from.clone(),
            payload,
            requeued: 0,
        };
        self.queue
            .send(job.queue_message(request_id))
            .await
            .map_err(|error| Refusal::unavailable(format!("{message_id} not queued: {error}")))?;
        tracing::info!(
            message_id = %message_id,
            outcome = if created == Created::New {
                "queued"
            } else {
                "queued_again_idempotent"
            },
            status = 202,
            kind,
            "send api"
        );
        let mut body = json!({ "id": message_id.as_str(), "status": "queued", "to": to });
        if let Some(from) = &from {
            body["from"] = json!(from);
        }
        Ok(respond(StatusCode::ACCEPTED, "application/json", body.to_string()))
    }
}

/// What `POST /media` takes as JSON: a file already in the payload bucket.
#[derive(serde::Deserialize)]
struct MediaReference {
    s3_key: String,
    /// The MIME type, when the object's own `Content-Type` is not it.
    #[serde(rename = "type")]
    mime: Option<String>,
}

impl<S: OutboundStore, Q: Queue, L, M: MediaUploader, T: TemplateCatalog> SendApi<S, Q, L, M, T> {
    /// The business number a send goes out from: the one it names, if this deployment has it
    /// (`WHATSAPP_PHONE_NUMBER_IDS`), else the default (none configured: the worker's).
    fn business_number(&self, send: &ValidSendRequest) -> Result<Option<String>, Refusal> {
        let numbers = &self.config.phone_numbers;
        match send.from() {
            Some(from) if numbers.contains(from) => Ok(Some(from.to_owned())),
            Some(from) => Err(ApiError::BadRequest(format!(
                "from: {from:?} is not one of this deployment's business numbers (WHATSAPP_PHONE_NUMBER_IDS)"
            ))
            .into()),
            None => Ok(numbers.default_number().map(str::to_owned)),
        }
    }

    /// Why this send may not be queued now, if it may not: a free-form message outside the
    /// contact's 24-hour window with `from` (422), a template whose parameters do not match (400).
    /// `Err`: the store could not say (503).
    async fn refusal(
        &self,
        send: &ValidSendRequest,
        to: &str,
        from: Option<&str>,
        payload: &serde_json::Value,
    ) -> Result<Option<Refusal>, Refusal> {
        if send.kind() == MessageKind::Template {
            return Ok(Box::pin(self.check_template(payload)).await.err());
        }
        // The window is kept per business number and contact.
        let mut last = self.store.last_inbound_at(to, from).await.map_err(store_unavailable)?;
        if last.is_none() && from.is_some() && self.config.phone_numbers.len() == 1 {
            // A one-number deployment: what was recorded before windows were kept per number.
            last = self.store.last_inbound_at(to, None).await.map_err(store_unavailable)?;
        }
        if last.is_none_or(|at| Utc::now().timestamp() - at > CUSTOMER_WINDOW_SECONDS) {
            return Ok(Some(
                ApiError::Unprocessable(
                    "type: the contact has not written to this business number in the last 24 hours \
                     (customer-service window closed); only a template message can be sent now"
                        .to_owned(),
                )
                .into(),
            ));
        }
        Ok(None)
    }

    /// A template send whose parameter counts do not match a known template (name and language)
    /// is a 400 before anything is stored; an unknown template, or one that cannot be looked up
    /// (the Graph API unreachable), goes through as before and Meta checks it.
    async fn check_template(&self, payload: &serde_json::Value) -> Result<(), Refusal> {
        let (Some(catalog), Some(template)) = (&self.templates, payload.get("template")) else {
            return Ok(());
        };
        let name = template
            .get("name")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        let language = template
            .pointer("/language/code")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        match catalog.template(name, language).await {
            Ok(Some(shape)) => shape
                .check(template)
                .map_err(|error| ApiError::BadRequest(error).into()),
            Ok(None) => Ok(()),
            Err(error) => {
                tracing::warn!(template = name, error = %error, "template not looked up; sent unchecked");
                Ok(())
            }
        }
    }

    /// `POST /media[?from=<phone number id>]`: the body is the file, its `Content-Type` its MIME
    /// type (at most [`MAX_RAW_MEDIA_BYTES`]); or `application/json` `{"s3_key": "media/…",
    /// "type"?}` naming an object of the payload bucket, streamed from S3 to Meta. Meta's type and
    /// size limits are checked first (400 naming the limit). 200 `{"id", "type", "kind", "size",
    /// "from"}`: `id` is the media id a send names (`{"type": "image", "id": …}`).
    async fn media(&self, request: &Request) -> Result<Response<Body>, Refusal> {
        let Some(uploader) = &self.media else {
            return Err(Refusal::unavailable(
                "media upload is not configured (WHATSAPP_ACCESS_TOKEN is not set)",
            ));
        };
        let from = self.media_from(request)?;
        let content_type = request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        let body: &[u8] = request.body().as_ref();
        let (file, source) = if media::bare_mime(content_type) == "application/json" {
            let reference: MediaReference = serde_json::from_slice(body).map_err(|error| {
                ApiError::BadRequest(format!(
                    "s3_key: a JSON body names an object of the payload bucket ({{\"s3_key\": \"{MEDIA_PREFIX}…\"}}): {error}"
                ))
            })?;
            let key = reference.s3_key;
            if !key.starts_with(MEDIA_PREFIX) || key.len() == MEDIA_PREFIX.len() || key.len() > 1024 {
                return Err(ApiError::BadRequest(format!(
                    "s3_key: must be a key under {MEDIA_PREFIX} in the payload bucket (at most 1024 bytes)"
                ))
                .into());
            }
            if self.config.media_bucket.is_none() {
                return Err(Refusal::unavailable("media by reference: PAYLOAD_BUCKET is not set"));
            }
            let object = uploader
                .object(&key)
                .await
                .map_err(|error| Refusal::unavailable(format!("payload bucket: {error}")))?
                .ok_or_else(|| ApiError::BadRequest(format!("s3_key: no object {key:?} in the payload bucket")))?;
            let mime = reference.mime.or(object.content_type).unwrap_or_default();
            let file = media::check(&mime, object.size, &object.head).map_err(|error| invalid_media(&error))?;
            (file, UploadSource::Object { key })
        } else {
            // Meta's limits first (the more useful answer), then what one request can carry.
            let file = media::check(
                content_type,
                body.len() as u64,
                &body[..body.len().min(media::HEAD_BYTES)],
            )
            .map_err(|error| invalid_media(&error))?;
            if body.len() > MAX_RAW_MEDIA_BYTES {
                return Err(ApiError::BadRequest(format!(
                    "file: {} bytes is over the {MAX_RAW_MEDIA_BYTES} bytes a request body can carry through \
                     API Gateway and Lambda; put the file in the payload bucket under {MEDIA_PREFIX} and send \
                     {{\"s3_key\": \"{MEDIA_PREFIX}…\"}}",
                    body.len()
                ))
                .into());
            }
            (file, UploadSource::Bytes(body.to_vec()))
        };
        let id = uploader
            .upload(&from, file.mime, file.size, source)
            .await
            .map_err(upload_refusal)?;
        tracing::info!(
            outcome = "uploaded",
            status = 200,
            mime = file.mime,
            size = file.size,
            "send api"
        );
        let body = json!({"id": id, "type": file.mime, "kind": file.kind.as_str(), "size": file.size, "from": from});
        Ok(respond(StatusCode::OK, "application/json", body.to_string()))
    }

    /// The business number a media upload is for: `?from=`, else the default one.
    fn media_from(&self, request: &Request) -> Result<String, Refusal> {
        let numbers = &self.config.phone_numbers;
        let named = request
            .query_string_parameters_ref()
            .and_then(|params| params.first("from").map(str::to_owned))
            .filter(|from| !from.is_empty());
        match named {
            Some(from) if numbers.contains(&from) => Ok(from),
            Some(from) => Err(ApiError::BadRequest(format!(
                "from: {from:?} is not one of this deployment's business numbers (WHATSAPP_PHONE_NUMBER_IDS)"
            ))
            .into()),
            None => numbers.default_number().map(str::to_owned).ok_or_else(|| {
                ApiError::BadRequest("from: no business number is configured (WHATSAPP_PHONE_NUMBER_ID)".to_owned())
                    .into()
            }),
        }
    }
}

fn invalid_media(error: &media::MediaError) -> Refusal {
    ApiError::BadRequest(error.to_string()).into()
}

/// Meta refusing the file itself is the caller's 400 (with Meta's words); a refused token, a
/// throttle, a Meta outage or no answer is a 503 (retry later).
fn upload_refusal(failure: MediaFailure) -> Refusal {
    match failure {
        MediaFailure::Refused(error)
            if (400..500).contains(&error.http_status)
                && ![401, 403, 429].contains(&error.http_status)
                && error.code != Some(190) =>
        {
            let code = error.code.map(|code| format!(" (#{code})")).unwrap_or_default();
            let words = error
                .details
                .clone()
                .or_else(|| error.message.clone())
                .unwrap_or_default();
            Refusal::new(
                ApiError::BadRequest(format!("file: Meta refused the upload{code}: {words}")),
                format!("Meta refused the upload: HTTP {}{code}", error.http_status),
            )
        }
        MediaFailure::Refused(error) => Refusal::unavailable(format!(
            "the Graph API refused the upload: HTTP {} code {:?}",
            error.http_status, error.code
        )),
        MediaFailure::Unavailable(reason) => Refusal::unavailable(format!("media upload: {reason}")),
    }
}

impl<S: OutboundStore + ConversationStore, Q: Queue, L: MediaLinks, M, T> SendApi<S, Q, L, M, T> {
    /// `GET /contacts/{contact}/messages?limit=&cursor=`: one page, newest first, and the cursor of
    /// the next (`null` on the last page).
    async fn conversation(&self, request: &Request, raw_contact: &str) -> Result<Response<Body>, Refusal> {
        let decoded = history::percent_decode(raw_contact).ok_or_else(|| {
            Refusal::from(ApiError::BadRequest(
                "contact: is not a valid path segment (malformed %-escape)".to_owned(),
            ))
        })?;
        let contact = history::contact_key(&decoded, self.config.default_country_code.as_deref())
            .map_err(|error| bad_parameter(&error))?;
        // API Gateway's parsed query, else the URI's own (a request built without an event).
        let parsed = request.query_string_parameters_ref();
        let raw = match parsed {
            Some(_) => Vec::new(),
            None => crate::domain::form::parse(request.uri().query().unwrap_or_default().as_bytes())
                .map_err(|_| Refusal::from(ApiError::BadRequest("the query string is malformed".to_owned())))?,
        };
        let parameter = |name: &str| match parsed {
            Some(query) => query.first(name),
            None => crate::domain::form::first(&raw, name),
        };
        let limit = history::parse_limit(parameter("limit")).map_err(|error| bad_parameter(&error))?;
        let after = parameter("cursor")
            .map(|cursor| self.cursor_key.open(&contact, cursor))
            .transpose()
            .map_err(|error| bad_parameter(&error))?;
        let mut page = self
            .store
            .conversation(&contact, limit, after.as_ref())
            .await
            .map_err(store_unavailable)?;
        for entry in &mut page.entries {
            if let ConversationEntry { media: Some(media), .. } = entry {
                self.link(media).await;
            }
        }
        let next_cursor = page.next.as_ref().map(|next| self.cursor_key.seal(&contact, next));
        tracing::info!(
            outcome = "listed",
            status = 200,
            entries = page.entries.len(),
            more = next_cursor.is_some(),
            "send api"
        );
        let body = json!({ "contact": contact, "messages": page.entries, "next_cursor": next_cursor });
        Ok(respond(StatusCode::OK, "application/json", body.to_string()))
    }

    /// Fills in a presigned link to the stored bytes; without one (not stored yet, no bucket, no
    /// credentials) the entry keeps `url: null` and the page is still served.
    async fn link(&self, media: &mut MediaView) {
        let (Some(links), Some(key)) = (&self.links, &media.s3_key) else {
            return;
        };
        match links
            .link(key, std::time::Duration::from_secs(MEDIA_LINK_SECONDS))
            .await
        {
            Ok((url, expires_at)) => {
                media.url = Some(url);
                media.url_expires_at = chrono::DateTime::from_timestamp(expires_at, 0)
                    .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            }
            Err(error) => tracing::warn!(error = %error, "media link left out"),
        }
    }
}

/// `GET /contacts/{contact}/messages`: the contact from the path parameters (API Gateway), else
/// from the path itself; `None` on any other route.
fn contact_in_path(request: &Request) -> Option<String> {
    if let Some(contact) = request.path_parameters_ref().and_then(|params| params.first("contact")) {
        return Some(contact.to_owned());
    }
    let segments: Vec<&str> = request.uri().path().trim_end_matches('/').split('/').collect();
    match segments.as_slice() {
        ["", "contacts", contact, "messages"] => Some((*contact).to_owned()),
        _ => None,
    }
}

/// `GET /messages/{id}`: the id from the path parameters (API Gateway), else the last segment.
fn message_id_in_path(request: &Request) -> String {
    request
        .path_parameters_ref()
        .and_then(|params| params.first("id").map(str::to_owned))
        .or_else(|| request.uri().path().rsplit('/').next().map(str::to_owned))
        .unwrap_or_default()
}
