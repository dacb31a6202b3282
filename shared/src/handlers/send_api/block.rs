//! `POST /contacts/{contact}/block` (block), `DELETE` (unblock) and `GET` (is the contact blocked),
//! on the business number `?from=` names (else the default one), through Meta's Block Users API.
//! Meta blocks only contacts who wrote to the number in the last 24 hours: its refusal is a 422 with
//! its words (`domain::blocklist`), through the one mapping of errors to answers (`handlers::http`).

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::SendApi;
use super::routes::BlockMethod;
use crate::domain::blocklist::{self, BlockAction, RefusalKind};
use crate::domain::history;
use crate::handlers::http::{ApiError, Refusal, respond};
use crate::ports::{BlockFailure, Blocklist};

impl<S, Q, L, M, T, B: Blocklist> SendApi<S, Q, L, M, T, B> {
    /// 200 `{"contact", "from", "blocked"}`: `true` after a block, `false` after an unblock; for a
    /// read, `null` when the blocklist is longer than one call reads.
    pub(super) async fn block(
        &self,
        request: &Request,
        raw_contact: &str,
        method: BlockMethod,
    ) -> Result<Response<Body>, Refusal> {
        let Some(blocklist) = &self.blocklist else {
            return Err(Refusal::unavailable(
                "blocking is not configured (WHATSAPP_ACCESS_TOKEN is not set)",
            ));
        };
        let decoded = history::percent_decode(raw_contact).ok_or_else(|| {
            Refusal::from(ApiError::BadRequest(
                "contact: is not a valid path segment (malformed %-escape)".to_owned(),
            ))
        })?;
        let contact = history::contact_key(&decoded, self.config.default_country_code.as_deref())
            .map_err(|error| Refusal::from(ApiError::BadRequest(error.to_string())))?;
        let from = self.number_from(request)?;
        let blocked = match method {
            BlockMethod::Block | BlockMethod::Unblock => {
                let action = if method == BlockMethod::Block {
                    BlockAction::Block
                } else {
                    BlockAction::Unblock
                };
                blocklist
                    .change(&from, &contact, action)
                    .await
                    .map_err(|failure| block_refusal(failure, action))?;
                Some(action == BlockAction::Block)
            }
            BlockMethod::Read => blocklist
                .is_blocked(&from, &contact)
                .await
                .map_err(|failure| block_refusal(failure, BlockAction::Block))?,
        };
        let outcome = match method {
            BlockMethod::Block => "blocked",
            BlockMethod::Unblock => "unblocked",
            BlockMethod::Read => "read",
        };
        tracing::info!(outcome, status = 200, ?blocked, "send api");
        let body = json!({"contact": contact, "from": from, "blocked": blocked});
        Ok(respond(StatusCode::OK, "application/json", body.to_string()))
    }
}

/// Meta refusing this contact (not written in 24 hours: 131047; the number itself; the blocklist
/// full) is the caller's 422 with Meta's words; a parameter Meta refused is a 400; a refused token, a
/// throttle, a Meta outage or no answer is a 503 (retry later).
fn block_refusal(failure: BlockFailure, action: BlockAction) -> Refusal {
    let verb = match action {
        BlockAction::Block => "block",
        BlockAction::Unblock => "unblock",
    };
    match failure {
        BlockFailure::Refused(error) => {
            let words = blocklist::describe(&error);
            let reason = format!(
                "Meta refused to {verb}: HTTP {} code {:?}",
                error.http_status, error.code
            );
            match blocklist::refusal_kind(&error) {
                RefusalKind::Contact => {
                    let why = if error.code == Some(131047) {
                        " (Meta blocks only contacts who wrote to this number in the last 24 hours)"
                    } else {
                        ""
                    };
                    Refusal::new(
                        ApiError::Unprocessable(format!("contact: Meta refused to {verb} this contact{why}: {words}")),
                        reason,
                    )
                }
                RefusalKind::Invalid => Refusal::new(
                    ApiError::BadRequest(format!("contact: Meta refused the request: {words}")),
                    reason,
                ),
                RefusalKind::Unavailable => Refusal::unavailable(reason),
            }
        }
        BlockFailure::Unavailable(why) => Refusal::unavailable(format!("the Graph API ({verb}): {why}")),
    }
}
