//! `GET /contacts?limit=&cursor=`: the contacts by last activity, newest first, a page at a time,
//! each with its names, its last message and its 24-hour windows (the time left in each).

use chrono::Utc;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

use super::history::{bad_parameter, page_parameters};
use super::{SendApi, store_unavailable};
use crate::domain::contacts::{CURSOR_SCOPE, contact_json};
use crate::domain::history;
use crate::handlers::http::{Refusal, respond};
use crate::ports::ContactList;

impl<S: ContactList, Q, L, M, T, B> SendApi<S, Q, L, M, T, B> {
    /// One page of the contacts, and the cursor of the next (`null` on the last page).
    pub(super) async fn contacts(&self, request: &Request) -> Result<Response<Body>, Refusal> {
        let (limit, cursor) = page_parameters(request)?;
        let limit = history::parse_limit(limit.as_deref()).map_err(|error| bad_parameter(&error))?;
        let after = cursor
            .map(|cursor| self.cursor_key.open(CURSOR_SCOPE, &cursor))
            .transpose()
            .map_err(|error| bad_parameter(&error))?;
        let page = self
            .store
            .contacts(limit, after.as_ref())
            .await
            .map_err(store_unavailable)?;
        let now = Utc::now().timestamp();
        let contacts: Vec<Value> = page.contacts.iter().map(|contact| contact_json(contact, now)).collect();
        let next_cursor = page.next.as_ref().map(|next| self.cursor_key.seal(CURSOR_SCOPE, next));
        tracing::info!(
            outcome = "listed",
            status = 200,
            entries = contacts.len(),
            more = next_cursor.is_some(),
            "send api"
        );
        let body = json!({ "contacts": contacts, "next_cursor": next_cursor });
        Ok(respond(StatusCode::OK, "application/json", body.to_string()))
    }
}
