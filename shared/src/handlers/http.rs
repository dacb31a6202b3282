//! The one place where errors become HTTP answers. Bodies say what was wrong with
//! the request in plain words and never carry internal details.

use std::borrow::Cow;

use lambda_http::http::header::{ALLOW, CONTENT_TYPE, HeaderValue};
use lambda_http::http::{Response, StatusCode};
use lambda_http::{Body, Request, RequestExt};

use crate::metrics::{self, Metric};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    BadRequest(String),
    Unauthorized(&'static str),
    Forbidden(&'static str),
    PayloadTooLarge(usize),
    /// Well-formed but refused by a business rule (the 24-hour window).
    Unprocessable(String),
    /// Conflicts with an earlier request (an idempotency key reused for another message).
    Conflict(String),
    NotFound(&'static str),
    /// A known path asked with another method: the methods it takes (the `Allow` header).
    MethodNotAllowed(&'static str),
    /// A dependency failed; the caller should retry.
    Unavailable,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn message(&self) -> String {
        match self {
            ApiError::BadRequest(message) | ApiError::Unprocessable(message) | ApiError::Conflict(message) => {
                message.clone()
            }
            ApiError::NotFound(message) => (*message).to_owned(),
            ApiError::MethodNotAllowed(allow) => format!("this path takes {allow} only"),
            ApiError::Unauthorized(message) | ApiError::Forbidden(message) => (*message).to_owned(),
            ApiError::PayloadTooLarge(limit) => format!("the body is larger than {limit} bytes"),
            ApiError::Unavailable => "temporarily unavailable, retry later".to_owned(),
        }
    }

    pub fn into_response(self) -> Response<Body> {
        let body = serde_json::json!({ "error": self.message() }).to_string();
        let mut response = respond(self.status(), "application/json", body);
        match self {
            // The only credential any route takes is the send API's bearer key.
            ApiError::Unauthorized(_) => {
                response
                    .headers_mut()
                    .insert("www-authenticate", HeaderValue::from_static("Bearer"));
            }
            ApiError::MethodNotAllowed(allow) => {
                response.headers_mut().insert(ALLOW, HeaderValue::from_static(allow));
            }
            _ => {}
        }
        response
    }
}

/// A request the handler will not serve: the answer the caller gets, and why (for the log
/// only; the body says no more than [`ApiError::message`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} refused: {reason}", .error.status().as_u16())]
pub struct Refusal {
    pub error: ApiError,
    /// What was wrong, in plain words. Never a secret, a signature or the body.
    pub reason: Cow<'static, str>,
}

impl Refusal {
    pub fn new(error: ApiError, reason: impl Into<Cow<'static, str>>) -> Self {
        Self {
            error,
            reason: reason.into(),
        }
    }

    /// A dependency failed (`reason` names it and its error); the caller should retry.
    pub fn unavailable(reason: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ApiError::Unavailable, reason)
    }

    /// The `Reason` dimension of [`Metric::WebhooksRejected`].
    fn metric_reason(&self) -> &'static str {
        match self.error {
            ApiError::Forbidden(_) => "signature",
            ApiError::PayloadTooLarge(_) => "too_large",
            _ => "malformed",
        }
    }
}

/// The request's answer is the caller's own fault: the body says what was wrong, the reason why.
impl From<ApiError> for Refusal {
    fn from(error: ApiError) -> Self {
        let reason = error.message();
        Self::new(error, reason)
    }
}

/// What a route counts when it refuses a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RefusalMetrics {
    /// Counted by `Reason` for every 4xx.
    pub rejected: Option<Metric>,
    /// Counted for every 503.
    pub unavailable: Option<Metric>,
}

impl RefusalMetrics {
    /// Nothing counted.
    pub const NONE: Self = Self {
        rejected: None,
        unavailable: None,
    };
}

/// The one place a refusal is logged (one line: `outcome` `rejected`, or `unavailable` for a
/// 503, `status`, `reason`; the request's span adds its id and route), counted, and turned into
/// the HTTP answer.
pub fn refuse(refusal: Refusal, counted: RefusalMetrics) -> Response<Body> {
    let status = refusal.error.status().as_u16();
    if refusal.error == ApiError::Unavailable {
        if let Some(metric) = counted.unavailable {
            metrics::count(metric, 1);
        }
        tracing::error!(outcome = "unavailable", status, reason = %refusal.reason, "refused: retry later");
    } else {
        if let Some(metric) = counted.rejected {
            metrics::count_by(metric, "Reason", refusal.metric_reason(), 1);
        }
        tracing::warn!(outcome = "rejected", status, reason = %refusal.reason, "refused");
    }
    refusal.error.into_response()
}

/// The span every log line of one invocation is written in: its request id and route.
pub fn request_span(route: &'static str, request_id: &str) -> tracing::Span {
    tracing::info_span!("request", request_id, route)
}

/// A response with a body and its content type.
pub fn respond(status: StatusCode, content_type: &'static str, body: impl Into<Body>) -> Response<Body> {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
        .headers_mut()
        .insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    response
}

/// The id that ties a request's log line to API Gateway's access log: API Gateway's
/// request id, else the Lambda invocation's, else "-".
pub fn request_id(request: &Request) -> String {
    use lambda_http::request::RequestContext;
    let from_gateway = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.request_id.clone(),
        _ => None,
    };
    from_gateway
        .or_else(|| request.lambda_context_ref().map(|context| context.request_id.clone()))
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| "-".to_owned())
}
