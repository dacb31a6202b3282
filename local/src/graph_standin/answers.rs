//! The Graph API's answer shapes (its error format above all) and the bits of a request every route reads.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Response, StatusCode};
use serde_json::Value;

use super::ids::fbtrace_id;

/// Largest request body read; larger ones are answered 400.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

pub type Answer = Response<Full<Bytes>>;

/// A Graph API error to answer with.
pub struct GraphError {
    pub status: u16,
    pub code: u64,
    pub message: String,
    pub details: String,
}

impl GraphError {
    /// `(#{code}) {title}`.
    pub fn new(status: u16, code: u64, title: &str, details: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: format!("(#{code}) {title}"),
            details: details.into(),
        }
    }

    pub fn invalid_parameter(details: impl Into<String>) -> Self {
        Self::new(400, 100, "Invalid parameter", details)
    }

    pub fn answer(&self) -> Answer {
        let error = obj([
            ("message", Value::from(self.message.as_str())),
            ("type", Value::from("OAuthException")),
            ("code", Value::from(self.code)),
            (
                "error_data",
                obj([
                    ("messaging_product", Value::from("whatsapp")),
                    ("details", Value::from(self.details.as_str())),
                ]),
            ),
            ("fbtrace_id", Value::from(fbtrace_id())),
        ]);
        json_answer(self.status, &obj([("error", error)]))
    }
}

pub fn invalid(details: impl Into<String>) -> GraphError {
    GraphError::invalid_parameter(details)
}

/// `401`, code 190 (`OAuthException`, subcode 463): what Meta answers for an expired or wrong token.
pub fn expired_token() -> Answer {
    let error = obj([
        (
            "message",
            Value::from(
                "Error validating access token: Session has expired on Tuesday, 01-Jan-24 00:00:00 PST. The current time is later.",
            ),
        ),
        ("type", Value::from("OAuthException")),
        ("code", Value::from(190)),
        ("error_subcode", Value::from(463)),
        ("fbtrace_id", Value::from(fbtrace_id())),
    ]);
    json_answer(401, &obj([("error", error)]))
}

pub fn not_found(method: &Method, path: &str) -> Answer {
    let object = path.trim_matches('/');
    let message = format!(
        "Unsupported {} request. Object with ID '{object}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.",
        method.as_str().to_ascii_lowercase()
    );
    let error = obj([
        ("message", Value::from(message)),
        ("type", Value::from("GraphMethodException")),
        ("code", Value::from(100)),
        ("error_subcode", Value::from(33)),
        ("fbtrace_id", Value::from(fbtrace_id())),
    ]);
    json_answer(404, &obj([("error", error)]))
}

pub fn json_answer(status: u16, body: &Value) -> Answer {
    let mut answer = Response::new(Full::new(Bytes::from(body.to_string())));
    *answer.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    answer
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    answer
}

/// `200 {"success":true}`.
pub fn success() -> Answer {
    json_answer(200, &obj([("success", Value::Bool(true))]))
}

pub fn obj<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::Object(pairs.into_iter().map(|(key, value)| (key.to_owned(), value)).collect())
}

/// The token of an `Authorization: Bearer …` header value.
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// `v` followed by digits and dots, starting with a digit (`v21.0`).
pub fn is_version(segment: &str) -> bool {
    segment.strip_prefix('v').is_some_and(|rest| {
        rest.starts_with(|c: char| c.is_ascii_digit()) && rest.chars().all(|c| c.is_ascii_digit() || c == '.')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert!(is_version("v21.0"));
        assert!(is_version("v3"));
        assert!(!is_version("v"));
        assert!(!is_version("v.1"));
        assert!(!is_version("21.0"));
        assert!(!is_version("v21a"));
    }

    #[test]
    fn bearer_tokens() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
    }
}
