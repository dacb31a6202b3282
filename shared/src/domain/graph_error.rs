//! Classification of a failed Graph API call (send message), to decide between retrying,
//! giving up, reconciling, and alerting.
//!
//! Meta's error body:
//! `{"error":{"message":..,"type":..,"code":131056,"error_data":{"messaging_product":"whatsapp","details":..},
//! "error_subcode":..,"fbtrace_id":..}}`. Meta recommends deciding on `code` (and `details`), not on the
//! HTTP status or the subcode (deprecated since v16.0), so codes are checked first and the HTTP status
//! only decides for codes this module does not name.
//!
//! Only an answer that proves Meta did not take the message is retried as such: a code that
//! says so (throughput, rate limits, an expired token), or a 429. A 5xx came after the request
//! was written (a 502/504 from Meta's edge, or Meta's own "something went wrong", 131000, or
//! "service unavailable", 2 and 131016): Meta may have accepted the message, so it is
//! [`FailureClass::Ambiguous`]: a send is reconciled (status webhooks carry its id), never resent
//! blindly; a read (media, templates), which has no side effect, may simply be retried.

use std::fmt;

use serde_json::Value;

/// Upper bound of every backoff this module suggests (seconds). The SQS visibility timeout
/// could go up to 12 hours; this stays far below on purpose.
pub const MAX_BACKOFF_SECONDS: u32 = 900;

/// Backoff hint for a pair rate limit (131056: about one message per 6 s to one user, with bursts).
pub const PAIR_RATE_LIMIT_HINT_SECONDS: u32 = 30;
const RATE_LIMIT_HINT_SECONDS: u32 = 60;
const THROUGHPUT_HINT_SECONDS: u32 = 10;
const SERVER_HINT_SECONDS: u32 = 10;
const NETWORK_HINT_SECONDS: u32 = 5;
/// An expired token is retried while the owner rotates it (the alarm tells them).
const EXPIRED_TOKEN_HINT_SECONDS: u32 = 30;

/// A failed Graph API answer. Every field Meta may omit (or a broken body) is `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GraphError {
    /// HTTP status; 0 when no answer was received (network error, timeout).
    pub http_status: u16,
    pub code: Option<i64>,
    pub subcode: Option<i64>,
    /// `error.error_user_title` when present, else `error.type` (e.g. `OAuthException`).
    pub title: Option<String>,
    pub message: Option<String>,
    /// `error.error_data.details`.
    pub details: Option<String>,
    pub fbtrace_id: Option<String>,
}

/// What to do about a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    /// Retry later; `retry_after_seconds` is the base delay for [`backoff_seconds`].
    Transient { retry_after_seconds: u32 },
    /// Retrying cannot help: record the failure.
    Permanent,
    /// The request was written and the answer does not say whether Meta took it (a 5xx, 131000,
    /// 2, 131016): Meta may have the message. A send's outcome is unknown until its status
    /// webhooks tell; a call without side effects (a read) may be retried after
    /// [`retry_delay_seconds`].
    Ambiguous,
    /// The access token expired or was invalidated: permanent for this message, and alertable
    /// (every following send will fail the same way until the token is replaced).
    ExpiredToken,
}

impl FailureClass {
    /// Whether the call may simply be made again: Meta did not act on it. `false` for
    /// [`Self::Ambiguous`], which only a call without side effects may repeat.
    pub fn is_retryable(self) -> bool {
        matches!(self, Self::Transient { .. })
    }

    /// Whether an operator should be told (beyond recording the failed message).
    pub fn is_alertable(self) -> bool {
        matches!(self, Self::ExpiredToken)
    }
}

impl GraphError {
    /// Parses a Graph API error answer. Never fails: what cannot be read is left `None`.
    pub fn parse(http_status: u16, body: &[u8]) -> GraphError {
        let mut parsed = GraphError {
            http_status,
            ..GraphError::default()
        };
        let Ok(root) = serde_json::from_slice::<Value>(body) else {
            return parsed;
        };
        let Some(error) = root.get("error").filter(|e| e.is_object()) else {
            return parsed;
        };
        parsed.code = error.get("code").and_then(integer);
        parsed.subcode = error.get("error_subcode").and_then(integer);
        parsed.title = text(error.get("error_user_title")).or_else(|| text(error.get("type")));
        parsed.message = text(error.get("message"));
        parsed.details = match error.get("error_data") {
            Some(Value::Object(data)) => text(data.get("details")),
            Some(Value::String(data)) if !data.is_empty() => Some(data.clone()),
            _ => None,
        };
        parsed.fbtrace_id = text(error.get("fbtrace_id"));
        parsed
    }

    /// A failure with no answer at all (connection error, timeout).
    pub fn network() -> GraphError {
        GraphError::default()
    }

    /// Classifies the failure: known codes first, then the HTTP status.
    pub fn class(&self) -> FailureClass {
        if let Some(class) = self.code.and_then(class_of_code) {
            return class;
        }
        match self.http_status {
            0 => FailureClass::Transient {
                retry_after_seconds: NETWORK_HINT_SECONDS,
            },
            401 => FailureClass::ExpiredToken,
            429 => FailureClass::Transient {
                retry_after_seconds: THROUGHPUT_HINT_SECONDS,
            },
            // The request was written and Meta (or its edge) failed afterwards: it may have the
            // message. Codes that prove a refusal were decided above.
            500..=599 => FailureClass::Ambiguous,
            // Any other 4xx, and statuses that are not errors at all: retrying would repeat it
            // (and, after a 2xx, might send the message twice).
            _ => FailureClass::Permanent,
        }
    }
}

/// Class of a Graph/WhatsApp error code, `None` when the code is not one this module names.
fn class_of_code(code: i64) -> Option<FailureClass> {
    let transient = |retry_after_seconds| Some(FailureClass::Transient { retry_after_seconds });
    match code {
        // Access token expired (190) or the app user could not be authenticated (0).
        0 | 190 => Some(FailureClass::ExpiredToken),
        // Cloud API throughput reached.
        130429 => transient(THROUGHPUT_HINT_SECONDS),
        // Pair rate limit: same business number to the same user too often.
        131056 => transient(PAIR_RATE_LIMIT_HINT_SECONDS),
        // Something went wrong (unknown error); temporary downtime or overload; service
        // unavailable: nothing in them says the message was not taken.
        131000 | 2 | 131016 => Some(FailureClass::Ambiguous),
        // Spam rate limit, account in maintenance, WABA rate limit, app/user/call rate limits.
        131048 | 131057 | 80007 | 4 | 17 | 613 => transient(RATE_LIMIT_HINT_SECONDS),
        // Undeliverable, re-engagement (24 h window), recipient/sender problems, invalid parameter,
        // permissions, policy blocks, templates, registration.
        131026
        | 131047
        | 131051
        | 131052
        | 131053
        | 131031
        | 131030
        | 131045
        | 131042
        | 100
        | 10
        | 3
        | 368
        | 200..=299
        | 132000..=132999
        | 133000..=133999 => Some(FailureClass::Permanent),
        _ => None,
    }
}

/// Exponential backoff: `hint * 2^(receive_count - 1)`, capped at [`MAX_BACKOFF_SECONDS`].
/// `receive_count` is the delivery attempt (1 for the first failure; 0 is treated as 1);
/// a zero hint is treated as 1 s so a retry never happens immediately.
pub fn backoff_seconds(receive_count: u32, class_hint: u32) -> u32 {
    let exponent = receive_count.saturating_sub(1).min(31);
    let factor = 1u32.checked_shl(exponent).unwrap_or(u32::MAX);
    class_hint.max(1).saturating_mul(factor).min(MAX_BACKOFF_SECONDS)
}

/// How long to wait before sending again after `error`, on the job's `receive_count`-th delivery.
/// 131056 (pair rate limit) backs off 4^n s as Meta documents; an expired token waits for the
/// owner to rotate it (30 s doubling); other transient failures double their class's hint. An
/// ambiguous answer gets the server hint doubling: for a call without side effects only (a send
/// is reconciled instead, never sent again on this delay).
pub fn retry_delay_seconds(error: &GraphError, receive_count: u32) -> u32 {
    if error.code == Some(131056) {
        return 4u32
            .checked_pow(receive_count.max(1))
            .unwrap_or(u32::MAX)
            .min(MAX_BACKOFF_SECONDS);
    }
    match error.class() {
        FailureClass::Transient { retry_after_seconds } => backoff_seconds(receive_count, retry_after_seconds),
        FailureClass::ExpiredToken => backoff_seconds(receive_count, EXPIRED_TOKEN_HINT_SECONDS),
        FailureClass::Ambiguous => backoff_seconds(receive_count, SERVER_HINT_SECONDS),
        FailureClass::Permanent => 0,
    }
}

fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn text(value: Option<&Value>) -> Option<String> {
    value
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.http_status == 0 {
            write!(f, "graph api: no response")?;
        } else {
            write!(f, "graph api: http {}", self.http_status)?;
        }
        if let Some(code) = self.code {
            write!(f, ", code {code}")?;
        }
        if let Some(subcode) = self.subcode {
            write!(f, " (subcode {subcode})")?;
        }
        for part in [&self.title, &self.message, &self.details].into_iter().flatten() {
            write!(f, ": {part}")?;
        }
        if let Some(trace) = &self.fbtrace_id {
            write!(f, " [fbtrace_id {trace}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for GraphError {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PERMANENT: FailureClass = FailureClass::Permanent;
    const EXPIRED: FailureClass = FailureClass::ExpiredToken;
    const AMBIGUOUS: FailureClass = FailureClass::Ambiguous;

    fn transient(retry_after_seconds: u32) -> FailureClass {
        FailureClass::Transient { retry_after_seconds }
    }

    fn with_code(http_status: u16, code: i64) -> GraphError {
        GraphError {
            http_status,
            code: Some(code),
            ..GraphError::default()
        }
    }

    #[test]
    fn parses_meta_error_body() {
        let body = json!({
            "error": {
                "message": "(#131056) (Business Account, Consumer Account) pair rate limit hit",
                "type": "OAuthException",
                "code": 131056,
                "error_data": { "messaging_product": "whatsapp", "details": "Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time." },
                "error_subcode": 2494055,
                "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam"
            }
        });
        let err = GraphError::parse(400, body.to_string().as_bytes());
        assert_eq!(err.http_status, 400);
        assert_eq!(err.code, Some(131056));
        assert_eq!(err.subcode, Some(2494055));
        assert_eq!(err.title.as_deref(), Some("OAuthException"));
        assert_eq!(
            err.message.as_deref(),
            Some("(#131056) (Business Account, Consumer Account) pair rate limit hit")
        );
        assert!(
            err.details
                .as_deref()
                .is_some_and(|d| d.starts_with("Message failed to send"))
        );
        assert_eq!(err.fbtrace_id.as_deref(), Some("Az8or2yhqkZfEZ-_4Qn_Bam"));
        assert_eq!(err.class(), transient(PAIR_RATE_LIMIT_HINT_SECONDS));
        let shown = err.to_string();
        assert!(shown.contains("http 400") && shown.contains("code 131056") && shown.contains("Az8or2yhqkZfEZ"));
    }

    #[test]
    fn prefers_error_user_title_and_reads_loose_shapes() {
        let body = br#"{"error":{"type":"OAuthException","error_user_title":"Token expired","code":"190","error_data":"raw"}}"#;
        let err = GraphError::parse(401, body);
        assert_eq!(err.title.as_deref(), Some("Token expired"));
        assert_eq!(err.code, Some(190));
        assert_eq!(err.details.as_deref(), Some("raw"));
        assert_eq!(err.subcode, None);
        assert_eq!(err.class(), EXPIRED);
    }

    #[test]
    fn unparseable_bodies_leave_fields_empty() {
        let bodies: [&[u8]; 7] = [
            b"",
            b"<html>502 Bad Gateway</html>",
            b"{",
            b"null",
            b"[]",
            br#"{"error":"boom"}"#,
            &[0xff, 0xfe],
        ];
        for body in bodies {
            let err = GraphError::parse(502, body);
            assert_eq!(
                err,
                GraphError {
                    http_status: 502,
                    ..GraphError::default()
                },
                "{body:?}"
            );
            assert_eq!(err.class(), AMBIGUOUS);
        }
    }

    #[test]
    fn classifies_codes_and_statuses() {
        let cases: &[(u16, Option<i64>, FailureClass)] = &[
            // Transient by code: the code proves Meta refused the message, whatever the status.
            (400, Some(130429), transient(THROUGHPUT_HINT_SECONDS)),
            (400, Some(131056), transient(PAIR_RATE_LIMIT_HINT_SECONDS)),
            (400, Some(131048), transient(RATE_LIMIT_HINT_SECONDS)),
            (400, Some(131057), transient(RATE_LIMIT_HINT_SECONDS)),
            (400, Some(80007), transient(RATE_LIMIT_HINT_SECONDS)),
            (400, Some(4), transient(RATE_LIMIT_HINT_SECONDS)),
            (403, Some(17), transient(RATE_LIMIT_HINT_SECONDS)),
            (400, Some(613), transient(RATE_LIMIT_HINT_SECONDS)),
            (500, Some(130429), transient(THROUGHPUT_HINT_SECONDS)),
            (503, Some(131056), transient(PAIR_RATE_LIMIT_HINT_SECONDS)),
            (502, Some(131048), transient(RATE_LIMIT_HINT_SECONDS)),
            (500, Some(131057), transient(RATE_LIMIT_HINT_SECONDS)),
            (503, Some(80007), transient(RATE_LIMIT_HINT_SECONDS)),
            (500, Some(4), transient(RATE_LIMIT_HINT_SECONDS)),
            // Ambiguous by code: unknown error, downtime, service unavailable (Meta may have it).
            (500, Some(131000), AMBIGUOUS),
            (400, Some(131000), AMBIGUOUS),
            (503, Some(2), AMBIGUOUS),
            (400, Some(2), AMBIGUOUS),
            (500, Some(131016), AMBIGUOUS),
            (503, Some(131016), AMBIGUOUS),
            // Expired or invalid token.
            (401, Some(190), EXPIRED),
            (400, Some(190), EXPIRED),
            (401, Some(0), EXPIRED),
            (401, None, EXPIRED),
            (500, Some(190), EXPIRED),
            // Permanent by code, whatever the status.
            (400, Some(131026), PERMANENT),
            (400, Some(131047), PERMANENT),
            (400, Some(131051), PERMANENT),
            (400, Some(131052), PERMANENT),
            (400, Some(131053), PERMANENT),
            (400, Some(100), PERMANENT),
            (403, Some(10), PERMANENT),
            (500, Some(3), PERMANENT),
            (403, Some(200), PERMANENT),
            (403, Some(250), PERMANENT),
            (403, Some(299), PERMANENT),
            (400, Some(132000), PERMANENT),
            (400, Some(132001), PERMANENT),
            (400, Some(132015), PERMANENT),
            (400, Some(132999), PERMANENT),
            (400, Some(133000), PERMANENT),
            (400, Some(133010), PERMANENT),
            (400, Some(368), PERMANENT),
            (400, Some(131031), PERMANENT),
            (400, Some(131030), PERMANENT),
            (400, Some(131045), PERMANENT),
            (400, Some(131042), PERMANENT),
            (500, Some(131026), PERMANENT),
            (429, Some(131047), PERMANENT),
            // Unnamed codes fall back to the HTTP status.
            (400, Some(131008), PERMANENT),
            (404, Some(1), PERMANENT),
            (400, Some(1), PERMANENT),
            (500, Some(1), AMBIGUOUS),
            (502, Some(999_999), AMBIGUOUS),
            (429, Some(999_999), transient(THROUGHPUT_HINT_SECONDS)),
            (400, Some(300), PERMANENT),
            (400, Some(134000), PERMANENT),
            // No code at all.
            (429, None, transient(THROUGHPUT_HINT_SECONDS)),
            // A 5xx came after the request was written: Meta may have taken it.
            (500, None, AMBIGUOUS),
            (502, None, AMBIGUOUS),
            (503, None, AMBIGUOUS),
            (504, None, AMBIGUOUS),
            (599, None, AMBIGUOUS),
            // No answer at all (the sender tells a refused connection from a lost answer).
            (0, None, transient(NETWORK_HINT_SECONDS)),
            (400, None, PERMANENT),
            (403, None, PERMANENT),
            (404, None, PERMANENT),
            (413, None, PERMANENT),
            (200, None, PERMANENT),
            (302, None, PERMANENT),
        ];
        for &(http_status, code, expected) in cases {
            let err = GraphError {
                http_status,
                code,
                ..GraphError::default()
            };
            assert_eq!(err.class(), expected, "http {http_status} code {code:?}");
        }
        assert_eq!(GraphError::network().class(), transient(NETWORK_HINT_SECONDS));
    }

    #[test]
    fn class_helpers() {
        assert!(with_code(400, 130429).class().is_retryable());
        assert!(!with_code(400, 131026).class().is_retryable());
        assert!(!with_code(401, 190).class().is_retryable());
        assert!(with_code(401, 190).class().is_alertable());
        assert!(!with_code(400, 131026).class().is_alertable());
        assert!(!with_code(500, 131000).class().is_retryable());
        assert!(!with_code(502, 999_999).class().is_alertable());
    }

    #[test]
    fn pair_rate_limits_back_off_four_to_the_n() {
        let pair = with_code(400, 131056);
        assert_eq!(
            (1..=5).map(|n| retry_delay_seconds(&pair, n)).collect::<Vec<_>>(),
            [4, 16, 64, 256, MAX_BACKOFF_SECONDS]
        );
        assert_eq!(retry_delay_seconds(&with_code(401, 190), 1), 30);
        assert_eq!(retry_delay_seconds(&with_code(400, 131026), 1), 0);
        assert_eq!(retry_delay_seconds(&GraphError::network(), 2), 10);
        // An ambiguous answer's delay is for reads (a send is reconciled instead).
        assert_eq!(retry_delay_seconds(&with_code(500, 131000), 1), 10);
        assert_eq!(retry_delay_seconds(&with_code(504, 999_999), 3), 40);
    }

    #[test]
    fn backoff_is_exponential_and_capped() {
        let cases: &[(u32, u32, u32)] = &[
            (0, 10, 10),
            (1, 10, 10),
            (2, 10, 20),
            (3, 10, 40),
            (4, 10, 80),
            (7, 10, 640),
            (8, 10, 900),
            (1, 30, 30),
            (2, 30, 60),
            (5, 30, 480),
            (6, 30, 900),
            (1, 5, 5),
            (1, 0, 1),
            (3, 0, 4),
            (1, 2000, 900),
            (32, 10, 900),
            (33, 10, 900),
            (u32::MAX, u32::MAX, 900),
        ];
        for &(receive_count, hint, expected) in cases {
            assert_eq!(
                backoff_seconds(receive_count, hint),
                expected,
                "count {receive_count} hint {hint}"
            );
        }
    }
}
