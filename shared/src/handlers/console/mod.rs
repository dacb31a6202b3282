//! `GET /console` and `GET /console/{asset}`: the inbox page, plain HTML, CSS and JavaScript modules
//! compiled into the binary (no build step, no framework, no third-party resource). The function holds
//! no secret and reads nothing: the page itself calls the send API (same origin) with the key the
//! user pastes (`sessionStorage`, the `Authorization` header; docs/console.md).
//!
//! Every answer, errors included, carries the strict headers ([`SECURITY_HEADERS`]): a
//! Content-Security-Policy that allows only the page's own files (no inline script or style),
//! `nosniff`, no referrer, no framing. Files are revalidated on every load (`no-cache` and a strong
//! `ETag` of their bytes, `If-None-Match` → 304): a deploy never mixes old and new modules.

use lambda_http::http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use lambda_http::http::{HeaderValue, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use sha2::{Digest, Sha256};
use tracing::Instrument;

use super::http::{request_id, request_span};

/// The routes, as API Gateway names them (`routeKey`).
pub const INDEX_ROUTE: &str = "GET /console";
pub const ASSET_ROUTE: &str = "GET /console/{asset}";

/// The page's Content-Security-Policy: its own files only; images also from `https:` (the media
/// links the send API presigns) and `data:`; fetches to its own origin (the API).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' https: data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The headers of every answer.
pub const SECURITY_HEADERS: [(&str, &str); 6] = [
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
];

/// One file of the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static str,
}

/// The page (`GET /console`).
pub const INDEX: Asset = Asset {
    name: "index.html",
    content_type: "text/html; charset=utf-8",
    body: include_str!("assets/index.html"),
};

/// The files the page loads (`GET /console/{asset}`).
pub const ASSETS: [Asset; 7] = [
    Asset {
        name: "console.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("assets/console.css"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("assets/app.js"),
    },
    Asset {
        name: "api.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("assets/api.js"),
    },
    Asset {
        name: "view.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("assets/view.js"),
    },
    Asset {
        name: "templates.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("assets/templates.js"),
    },
    Asset {
        name: "codes.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("assets/codes.js"),
    },
    Asset {
        name: "icon.svg",
        content_type: "image/svg+xml",
        body: include_str!("assets/icon.svg"),
    },
];

/// Why a request gets no file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConsoleError {
    #[error("no such file")]
    NotFound,
    #[error("method not allowed: GET only")]
    MethodNotAllowed,
}

impl ConsoleError {
    /// The one place a refusal becomes an answer (plain text, the strict headers).
    pub fn into_response(self) -> Response<Body> {
        let status = match self {
            ConsoleError::NotFound => StatusCode::NOT_FOUND,
            ConsoleError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        };
        let mut response = strict(status, "text/plain; charset=utf-8", Body::from(format!("{self}\n")));
        response
            .headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self == ConsoleError::MethodNotAllowed {
            response.headers_mut().insert(ALLOW, HeaderValue::from_static("GET"));
        }
        response
    }
}

/// The file a request asks for: the page, or one of its files by name.
pub fn route(method: &str, asset: Option<&str>) -> Result<&'static Asset, ConsoleError> {
    let found = match asset {
        None => Some(&INDEX),
        Some(name) => ASSETS.iter().find(|asset| asset.name == name),
    };
    let found = found.ok_or(ConsoleError::NotFound)?;
    if method != "GET" {
        return Err(ConsoleError::MethodNotAllowed);
    }
    Ok(found)
}

/// The strong entity tag of a file: the first 128 bits of its SHA-256, in hex.
pub fn etag(asset: &Asset) -> String {
    let digest = Sha256::digest(asset.body.as_bytes());
    format!("\"{}\"", hex::encode(&digest[..16]))
}

pub async fn handle(request: Request) -> Response<Body> {
    let asset = asset_name(&request);
    let route_key = if asset.is_some() { ASSET_ROUTE } else { INDEX_ROUTE };
    let span = request_span(route_key, &request_id(&request));
    async {
        match route(request.method().as_str(), asset.as_deref()) {
            Ok(asset) => serve(asset, &request),
            Err(error) => {
                let response = error.into_response();
                tracing::info!(outcome = "refused", status = response.status().as_u16(), "console");
                response
            }
        }
    }
    .instrument(span)
    .await
}

fn serve(asset: &Asset, request: &Request) -> Response<Body> {
    let tag = etag(asset);
    let unchanged = request
        .headers()
        .get(IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .split(',')
                .any(|candidate| candidate.trim() == tag || candidate.trim() == "*")
        });
    let (status, body) = if unchanged {
        (StatusCode::NOT_MODIFIED, Body::Empty)
    } else {
        (StatusCode::OK, Body::from(asset.body))
    };
    tracing::info!(
        outcome = "served",
        status = status.as_u16(),
        file = asset.name,
        "console"
    );
    let mut response = strict(status, asset.content_type, body);
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(value) = HeaderValue::from_str(&tag) {
        headers.insert(ETAG, value);
    }
    response
}

fn strict(status: StatusCode, content_type: &'static str, body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    for (name, value) in SECURITY_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// The `{asset}` of `GET /console/{asset}`: API Gateway's path parameter on that route; without a
/// route key (a test's request), the path's segment after `/console`. `None`: the page itself.
fn asset_name(request: &Request) -> Option<String> {
    let route_key = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.route_key.clone(),
        _ => None,
    };
    match route_key.as_deref() {
        Some(INDEX_ROUTE) => None,
        Some(ASSET_ROUTE) => Some(
            request
                .path_parameters_ref()
                .and_then(|parameters| parameters.first("asset"))
                .unwrap_or_default()
                .to_owned(),
        ),
        _ => {
            let path = request.uri().path().trim_end_matches('/');
            let (_, rest) = path.split_once("/console").unwrap_or((path, ""));
            rest.strip_prefix('/').map(str::to_owned)
        }
    }
}

#[cfg(test)]
mod tests;
