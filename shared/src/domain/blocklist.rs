//! Meta's Block Users API (`POST`/`DELETE`/`GET /{phone-number-id}/block_users`), its shapes:
//! the request body, the answer of a block or an unblock (Meta answers per user: a user it could not
//! block is in `block_users.failed_users` with its own `errors`, and the call is then a 400 with code
//! 139100), and the pages of the blocklist (`data[].wa_id`, `paging`).
//!
//! Meta blocks only users who wrote to the number in the last 24 hours (131047 otherwise), at most
//! 1,000 per request, 64,000 in all (139101); a number cannot block itself (131021). Source:
//! developers.facebook.com/documentation/business-messaging/whatsapp/block-users/.

use serde_json::{Value, json};

use super::graph_error::GraphError;

/// Whether a call blocks or unblocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockAction {
    Block,
    Unblock,
}

impl BlockAction {
    /// The HTTP method of the call on `block_users`.
    pub fn method(self) -> &'static str {
        match self {
            BlockAction::Block => "POST",
            BlockAction::Unblock => "DELETE",
        }
    }
}

/// The body of a block or an unblock of one user: a phone number's digits, a `wa_id` or a
/// business-scoped user id, as the bundle keys the contact.
pub fn request_body(user: &str) -> Value {
    json!({"messaging_product": "whatsapp", "block_users": [{"user": user}]})
}

/// Meta's answer to a block or an unblock of one user: `Ok` when it took it; else its error, the
/// user's own (from `failed_users[].errors[0]`, with the call's HTTP status) before the call's.
pub fn parse_answer(http_status: u16, body: &[u8]) -> Result<(), Box<GraphError>> {
    let root: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let user_error = root
        .pointer("/block_users/failed_users")
        .and_then(Value::as_array)
        .and_then(|failed| failed.first())
        .map(|failed| {
            failed
                .pointer("/errors/0")
                .cloned()
                .unwrap_or_else(|| json!({"message": "Meta did not take this user"}))
        });
    if let Some(error) = user_error {
        let status = if (200..300).contains(&http_status) {
            400
        } else {
            http_status
        };
        return Err(Box::new(GraphError::parse(
            status,
            json!({"error": error}).to_string().as_bytes(),
        )));
    }
    if (200..300).contains(&http_status) {
        Ok(())
    } else {
        Err(Box::new(GraphError::parse(http_status, body)))
    }
}

/// One page of the blocklist: whether `user` is on it, and the URL of the next page (`None`: the last).
pub fn page_lists(page: &Value, user: &str) -> (bool, Option<String>) {
    let listed = page
        .get("data")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|entry| {
            ["wa_id", "user_id", "input"]
                .iter()
                .any(|field| entry.get(field).and_then(Value::as_str) == Some(user))
        });
    let next = page
        .pointer("/paging/next")
        .and_then(Value::as_str)
        .filter(|next| !next.is_empty())
        .map(str::to_owned);
    (listed, next)
}

/// How a refusal of Meta's reads to the caller: the contact's own (`Contact`: Meta will not block or
/// unblock this contact now, a 422 with its words), the request's (`Invalid`: 400), or the bundle's
/// (`Unavailable`: a token, a throttle or an outage, 503: retry later).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    Contact,
    Invalid,
    Unavailable,
}

/// The kind of Meta's refusal `error`.
pub fn refusal_kind(error: &GraphError) -> RefusalKind {
    match (error.code, error.http_status) {
        // Token (190, 0), throughput or too many requests (130429, 80007), blocklist changed under a
        // read (139102), Meta's own error (139103).
        (Some(0 | 190 | 130429 | 80007 | 139102 | 139103), _) => RefusalKind::Unavailable,
        (_, 0 | 401 | 403 | 429 | 500..) => RefusalKind::Unavailable,
        (Some(100), _) => RefusalKind::Invalid,
        _ => RefusalKind::Contact,
    }
}

/// Meta's words for a refusal: `(#code) message: details`.
pub fn describe(error: &GraphError) -> String {
    let code = error.code.map(|code| format!("(#{code}) ")).unwrap_or_default();
    let message = error.message.as_deref().unwrap_or("refused");
    match error.details.as_deref().filter(|details| !details.is_empty()) {
        Some(details) => format!("{code}{message}: {details}"),
        None => format!("{code}{message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_of_one_user_is_meta_s_body() {
        assert_eq!(
            request_body("15551234567"),
            json!({"messaging_product": "whatsapp", "block_users": [{"user": "15551234567"}]})
        );
        assert_eq!(BlockAction::Block.method(), "POST");
        assert_eq!(BlockAction::Unblock.method(), "DELETE");
    }

    #[test]
    fn a_taken_block_or_unblock_is_ok() {
        let added = br#"{"messaging_product":"whatsapp","block_users":{"added_users":[{"input":"15551234567","wa_id":"15551234567"}]}}"#;
        assert_eq!(parse_answer(200, added), Ok(()));
        let removed =
            br#"{"messaging_product":"whatsapp","block_users":{"removed_users":[{"input":"1","wa_id":"1"}]}}"#;
        assert_eq!(parse_answer(200, removed), Ok(()));
        // A 2xx whose body was lost is still Meta's yes.
        assert_eq!(parse_answer(200, b""), Ok(()));
    }

    #[test]
    fn a_user_meta_did_not_block_is_its_own_error_before_the_call_s() {
        let body = br#"{"messaging_product":"whatsapp","block_users":{"added_users":[],"failed_users":[{"input":"15551234567","errors":[{"message":"Re-engagement required","code":131047,"error_data":{"details":"User has not messaged in the last 24 hours"}}]}]},"error":{"message":"(#139100) Failed to block/unblock users","type":"OAuthException","code":139100,"error_data":{"details":"Failed to block some users, see the block_users response list for details"}}}"#;
        let error = parse_answer(400, body).expect_err("refused");
        assert_eq!((error.http_status, error.code), (400, Some(131047)));
        assert_eq!(
            describe(&error),
            "(#131047) Re-engagement required: User has not messaged in the last 24 hours"
        );
        assert_eq!(refusal_kind(&error), RefusalKind::Contact);
        // In a 200 too, and without errors of its own.
        let body = br#"{"block_users":{"failed_users":[{"input":"1"}]}}"#;
        let error = parse_answer(200, body).expect_err("refused");
        assert_eq!((error.http_status, error.code), (400, None));
        assert_eq!(describe(&error), "Meta did not take this user");
    }

    #[test]
    fn the_call_s_own_error_and_its_kind() {
        let error = parse_answer(401, br#"{"error":{"message":"expired","code":190}}"#).expect_err("refused");
        assert_eq!(refusal_kind(&error), RefusalKind::Unavailable);
        let throttled = parse_answer(400, br#"{"error":{"message":"Rate limit hit","code":130429}}"#).expect_err("x");
        assert_eq!(refusal_kind(&throttled), RefusalKind::Unavailable);
        let invalid = parse_answer(400, br#"{"error":{"message":"Invalid parameter","code":100}}"#).expect_err("x");
        assert_eq!(refusal_kind(&invalid), RefusalKind::Invalid);
        let self_block = parse_answer(400, br#"{"error":{"message":"Self Block","code":131021}}"#).expect_err("x");
        assert_eq!(refusal_kind(&self_block), RefusalKind::Contact);
        let outage = parse_answer(503, b"").expect_err("x");
        assert_eq!(refusal_kind(&outage), RefusalKind::Unavailable);
        assert_eq!(describe(&outage), "refused");
    }

    #[test]
    fn a_page_lists_the_user_by_wa_id_or_user_id_and_names_the_next() {
        let page = json!({"data": [{"messaging_product": "whatsapp", "wa_id": "15551234567"},
            {"messaging_product": "whatsapp", "user_id": "US.1349"}],
            "paging": {"cursors": {"after": "A", "before": "B"}, "next": "http://g/v1/1/block_users?after=A"}});
        assert!(page_lists(&page, "15551234567").0);
        assert!(page_lists(&page, "US.1349").0);
        let (listed, next) = page_lists(&page, "15550000000");
        assert!(!listed);
        assert_eq!(next.as_deref(), Some("http://g/v1/1/block_users?after=A"));
        assert_eq!(page_lists(&json!({"data": []}), "1"), (false, None));
    }
}
