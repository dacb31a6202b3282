//! `GET /contacts/{contact}/messages`: the conversation with a contact, a page at a time, with
//! presigned links to kept media (also on `GET /messages/{id}`).

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::json;

use super::{SendApi, store_unavailable};
use crate::domain::history::{self, ConversationEntry, MEDIA_LINK_SECONDS, MediaView, ParameterError};
use crate::handlers::http::{ApiError, Refusal, respond};
use crate::ports::{ConversationStore, MediaLinks, OutboundStore, Queue};

pub(super) fn bad_parameter(error: &ParameterError) -> Refusal {
    ApiError::BadRequest(error.to_string()).into()
}

/// A page's `limit` and `cursor`.
pub(super) fn page_parameters(request: &Request) -> Result<(Option<String>, Option<String>), Refusal> {
    let [limit, cursor] = query_values(request, ["limit", "cursor"])?;
    Ok((limit, cursor))
}

/// The first value of each named query parameter: API Gateway's parsed query, else the URI's own
/// (a request built without an event).
pub(super) fn query_values<const N: usize>(
    request: &Request,
    names: [&str; N],
) -> Result<[Option<String>; N], Refusal> {
    if let Some(query) = request.query_string_parameters_ref() {
        return Ok(names.map(|name| query.first(name).map(str::to_owned)));
    }
    let raw = crate::domain::form::parse(request.uri().query().unwrap_or_default().as_bytes())
        .map_err(|_| Refusal::from(ApiError::BadRequest("the query string is malformed".to_owned())))?;
    Ok(names.map(|name| crate::domain::form::first(&raw, name).map(str::to_owned)))
}

impl<S: OutboundStore + ConversationStore, Q: Queue, L: MediaLinks, M, T, B> SendApi<S, Q, L, M, T, B> {
    /// `GET /contacts/{contact}/messages?limit=&cursor=`: one page, newest first, and the cursor of
    /// the next (`null` on the last page).
    pub(super) async fn conversation(&self, request: &Request, raw_contact: &str) -> Result<Response<Body>, Refusal> {
        let decoded = history::percent_decode(raw_contact).ok_or_else(|| {
            Refusal::from(ApiError::BadRequest(
                "contact: is not a valid path segment (malformed %-escape)".to_owned(),
            ))
        })?;
        let contact = history::contact_key(&decoded, self.config.default_country_code.as_deref())
            .map_err(|error| bad_parameter(&error))?;
        let (limit, cursor) = page_parameters(request)?;
        let limit = history::parse_limit(limit.as_deref()).map_err(|error| bad_parameter(&error))?;
        let after = cursor
            .map(|cursor| self.cursor_key.open(&contact, &cursor))
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
    pub(super) async fn link(&self, media: &mut MediaView) {
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
