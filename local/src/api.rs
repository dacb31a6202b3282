//! The template's HTTP API, locally: HTTP request → API Gateway HTTP API event →
//! `lambda_http` request → the function's handler → HTTP response.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bridge::compose::HttpHandlers;
use bridge::domain::form;
use bridge::handlers::http::ApiError;
use bridge::handlers::meta_verify;
use bridge::handlers::twilio;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::stack::Route;

/// The functions behind the HTTP API, by the template's logical id.
pub const META_VERIFY: &str = "MetaVerifyFunction";
pub const META_WEBHOOK: &str = "MetaWebhookFunction";
pub const TWILIO_VOICE: &str = "TwilioVoiceFunction";
pub const TWILIO_GATHER: &str = "TwilioGatherFunction";
pub const SEND_API: &str = "SendApiFunction";
pub const CONSOLE: &str = "ConsoleFunction";

/// The routes this runner serves. They must equal the template's: checked at start-up
/// against `.local/stack.json` and by a test against `template.yaml` itself.
pub fn routes() -> Vec<Route> {
    vec![
        Route::new("GET", "/webhooks/whatsapp", META_VERIFY),
        Route::new("POST", "/webhooks/whatsapp", META_WEBHOOK),
        Route::new("POST", twilio::VOICE_PATH, TWILIO_VOICE),
        Route::new("POST", twilio::GATHER_PATH, TWILIO_GATHER),
        Route::new("POST", twilio::RECORDING_PATH, TWILIO_GATHER),
        Route::new("POST", "/messages", SEND_API),
        Route::new("GET", "/messages/{id}", SEND_API),
        Route::new("POST", "/media", SEND_API),
        Route::new("GET", "/contacts/{contact}/messages", SEND_API),
        Route::new("POST", "/contacts/{contact}/block", SEND_API),
        Route::new("DELETE", "/contacts/{contact}/block", SEND_API),
        Route::new("GET", "/contacts/{contact}/block", SEND_API),
        Route::new("GET", "/contacts", SEND_API),
        Route::new("GET", "/templates", SEND_API),
        Route::new("GET", "/verification-codes", SEND_API),
        Route::new("GET", "/console", CONSOLE),
        Route::new("GET", "/console/{asset}", CONSOLE),
    ]
}

/// The handlers with their configuration and clients, built once as each Lambda's init does (by the
/// composition root: [`HttpHandlers`]).
pub struct App(pub HttpHandlers);

impl std::ops::Deref for App {
    type Target = HttpHandlers;

    fn deref(&self) -> &HttpHandlers {
        &self.0
    }
}

/// Local stand-in for API Gateway's per-route payload limit (10 MB).
const MAX_LOCAL_BODY: usize = 10 * 1024 * 1024;

static REQUEST_COUNTER: AtomicU64 = AtomicU64::new(0);

fn next_request_id() -> String {
    let now = chrono::Utc::now();
    let n = REQUEST_COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("local-{}-{n:06}", now.format("%Y%m%d%H%M%S%3f"))
}

/// Finds the route for a method and path; path parameters (`{id}`) are returned by name.
pub fn match_route<'r>(routes: &'r [Route], method: &str, path: &str) -> Option<(&'r Route, BTreeMap<String, String>)> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    routes
        .iter()
        .filter(|route| route.method.eq_ignore_ascii_case(method))
        .find_map(|route| {
            let pattern: Vec<&str> = route.path.split('/').collect();
            if pattern.len() != segments.len() {
                return None;
            }
            let mut params = BTreeMap::new();
            for (expected, actual) in pattern.iter().zip(&segments) {
                match expected.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    Some(name) if !actual.is_empty() => {
                        params.insert(name.to_owned(), (*actual).to_owned());
                    }
                    _ if expected == actual => {}
                    _ => return None,
                }
            }
            Some((route, params))
        })
}

/// How an API Gateway event carries the request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyEncoding {
    /// As API Gateway does: text content types (text/*, JSON, XML, form) as text, the rest base64.
    ByContentType,
    /// Always base64-encoded, as API Gateway may deliver any body (tests of the decoding path).
    Base64,
}

/// The API Gateway HTTP API (payload format 2.0) event for a request, as AWS builds it:
/// headers lowercased (repeats joined by commas), query parameters parsed, text bodies
/// as text and anything else base64-encoded.
pub fn api_gateway_event(
    route: &Route,
    path_parameters: &BTreeMap<String, String>,
    parts: &hyper::http::request::Parts,
    body: &[u8],
    request_id: &str,
) -> Value {
    api_gateway_event_encoded(
        route,
        path_parameters,
        parts,
        body,
        request_id,
        BodyEncoding::ByContentType,
    )
}

/// [`api_gateway_event`] with the body carried as `encoding` says.
pub fn api_gateway_event_encoded(
    route: &Route,
    path_parameters: &BTreeMap<String, String>,
    parts: &hyper::http::request::Parts,
    body: &[u8],
    request_id: &str,
    encoding: BodyEncoding,
) -> Value {
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|v| *v = format!("{v},{value}"))
            .or_insert(value);
    }
    let raw_query = parts.uri.query().unwrap_or_default();
    let mut query: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in form_pairs(raw_query) {
        query
            .entry(name)
            .and_modify(|v| *v = format!("{v},{value}"))
            .or_insert(value);
    }
    let is_text = encoding == BodyEncoding::ByContentType
        && headers.get("content-type").is_some_and(|ct| {
            let ct = ct.to_ascii_lowercase();
            ct.starts_with("text/") || ct.contains("json") || ct.contains("xml") || ct.contains("x-www-form-urlencoded")
        });
    let (body_value, is_base64) = match (is_text, std::str::from_utf8(body)) {
        (_, _) if body.is_empty() => (Value::Null, false),
        (true, Ok(text)) => (Value::String(text.to_owned()), false),
        _ => (Value::String(BASE64.encode(body)), true),
    };
    let now = chrono::Utc::now();
    let route_key = format!("{} {}", route.method, route.path);
    json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": parts.uri.path(),
        "rawQueryString": raw_query,
        "headers": headers,
        "queryStringParameters": if query.is_empty() { Value::Null } else { json!(query) },
        "pathParameters": if path_parameters.is_empty() { Value::Null } else { json!(path_parameters) },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": headers.get("host").cloned().unwrap_or_else(|| "127.0.0.1:3000".to_owned()),
            "domainPrefix": "local",
            "http": {
                "method": route.method,
                "path": parts.uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("user-agent").cloned().unwrap_or_default(),
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "body": body_value,
        "isBase64Encoded": is_base64,
    })
}

fn lossy_decode(text: &str) -> String {
    form::decode(text).unwrap_or_else(|| text.to_owned())
}

fn form_pairs(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (lossy_decode(name), lossy_decode(value))
        })
        .collect()
}

impl App {
    /// Handles one HTTP request the way API Gateway + Lambda would.
    pub async fn handle(&self, request: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
        let (parts, body) = request.into_parts();
        let body = match http_body_util::Limited::new(body, MAX_LOCAL_BODY).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => return to_hyper(ApiError::PayloadTooLarge(MAX_LOCAL_BODY).into_response()).await,
        };
        let routes = routes();
        let Some((route, params)) = match_route(&routes, parts.method.as_str(), parts.uri.path()) else {
            return json_response(404, r#"{"message":"Not Found"}"#);
        };
        let request_id = next_request_id();
        let event = api_gateway_event(route, &params, &parts, &body, &request_id);
        let request = match lambda_http::request::from_str(&event.to_string()) {
            Ok(request) => request,
            Err(error) => {
                tracing::error!(%error, "could not build the API Gateway event");
                return json_response(500, r#"{"message":"Internal Server Error"}"#);
            }
        };
        let response = match route.function.as_str() {
            META_VERIFY => meta_verify::handle(&self.verify, request).await,
            META_WEBHOOK => self.ingest.handle(request).await,
            TWILIO_VOICE => twilio::voice(&self.voice, request).await,
            TWILIO_GATHER => self.verification.handle(request).await,
            SEND_API => self.send_api.handle(request).await,
            CONSOLE => bridge::handlers::console::handle(request).await,
            _ => return json_response(502, r#"{"message":"no local handler for this function"}"#),
        };
        to_hyper(response).await
    }
}

fn json_response(status: u16, body: &'static str) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

async fn to_hyper(response: lambda_http::Response<lambda_http::Body>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = response.into_parts();
    let bytes = Bytes::copy_from_slice(body.as_ref());
    hyper::Response::from_parts(parts, Full::new(bytes))
}

/// Serves the app until the process ends.
pub async fn serve(listener: TcpListener, app: Arc<App>) {
    crate::http_server::serve(listener, "api", move |request| {
        let app = Arc::clone(&app);
        async move { app.handle(request).await }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_exact_and_parameterised_paths() {
        let routes = vec![
            Route::new("GET", "/webhooks/whatsapp", "A"),
            Route::new("GET", "/messages/{id}", "B"),
        ];
        let (route, params) = match_route(&routes, "GET", "/webhooks/whatsapp").expect("exact");
        assert_eq!((route.function.as_str(), params.len()), ("A", 0));
        let (route, params) = match_route(&routes, "get", "/messages/abc").expect("param");
        assert_eq!(route.function, "B");
        assert_eq!(params.get("id").map(String::as_str), Some("abc"));
        assert!(match_route(&routes, "POST", "/webhooks/whatsapp").is_none());
        assert!(match_route(&routes, "GET", "/messages/").is_none());
        assert!(match_route(&routes, "GET", "/messages/a/b").is_none());
    }
}
