//! The one place where errors become HTTP answers. Bodies say what was wrong with
//! the request in plain words and never carry internal details.

use lambda_http::http::header::{CONTENT_TYPE, HeaderValue};
use lambda_http::http::{Response, StatusCode};
use lambda_http::{Body, Request, RequestExt};

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
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn message(&self) -> String {
        match self {
            ApiError::BadRequest(message) | ApiError::Unprocessable(message) | ApiError::Conflict(message) => {
                message.clone()
            }
            ApiError::NotFound(message) => (*message).to_owned(),
            ApiError::Unauthorized(message) | ApiError::Forbidden(message) => (*message).to_owned(),
            ApiError::PayloadTooLarge(limit) => format!("the body is larger than {limit} bytes"),
            ApiError::Unavailable => "temporarily unavailable, retry later".to_owned(),
        }
    }

    pub fn into_response(self) -> Response<Body> {
        let body = serde_json::json!({ "error": self.message() }).to_string();
        respond(self.status(), "application/json", body)
    }
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
