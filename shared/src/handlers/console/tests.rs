//! The console's answers (headers, types, caching, refusals) and what its files may and may not do:
//! only their own resources, no inline script or style, customer text only through `textContent`, the
//! key only in `sessionStorage` and the `Authorization` header.

use lambda_http::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG};
use lambda_http::{Body, Request, Response};

use super::*;

fn get(path: &str, headers: &[(&str, &str)]) -> Request {
    let mut builder = lambda_http::http::Request::builder().method("GET").uri(path);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::Empty).expect("a request")
}

fn text(response: &Response<Body>) -> String {
    String::from_utf8_lossy(response.body().as_ref()).into_owned()
}

fn assert_strict(response: &Response<Body>, what: &str) {
    for (name, value) in SECURITY_HEADERS {
        assert_eq!(response.headers()[name], value, "{what}: {name}");
    }
}

#[tokio::test]
async fn the_page_and_each_file_with_its_type_the_strict_headers_and_revalidation() {
    let page = handle(get("/console", &[])).await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
    assert_eq!(page.headers()[CACHE_CONTROL], "no-cache");
    assert!(text(&page).starts_with("<!doctype html>"));
    assert_strict(&page, "the page");
    for asset in &ASSETS {
        let response = handle(get(&format!("/console/{}", asset.name), &[])).await;
        assert_eq!(response.status(), 200, "{}", asset.name);
        assert_eq!(response.headers()[CONTENT_TYPE], asset.content_type, "{}", asset.name);
        assert_eq!(text(&response), asset.body);
        assert_strict(&response, asset.name);
        let tag = response.headers()[ETAG].to_str().expect("an ETag").to_owned();
        assert_eq!(tag, etag(asset));
        let again = handle(get(&format!("/console/{}", asset.name), &[("if-none-match", &tag)])).await;
        assert_eq!(again.status(), 304, "{}", asset.name);
        assert!(again.body().is_empty());
        assert_strict(&again, "304");
        let stale = handle(get(
            &format!("/console/{}", asset.name),
            &[("if-none-match", "\"old\"")],
        ))
        .await;
        assert_eq!(stale.status(), 200);
    }
    let content_types: Vec<&str> = ASSETS.iter().map(|asset| asset.content_type).collect();
    assert!(content_types.contains(&"text/javascript; charset=utf-8"));
    assert!(content_types.contains(&"text/css; charset=utf-8"));
}

#[tokio::test]
async fn anything_else_is_refused_with_the_same_headers() {
    for path in [
        "/console/nope.js",
        "/console/index.html",
        "/console/..%2Fapp.js",
        "/console/a/b",
    ] {
        let response = handle(get(path, &[])).await;
        assert_eq!(response.status(), 404, "{path}");
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
        assert_strict(&response, path);
    }
    let post = lambda_http::http::Request::builder()
        .method("POST")
        .uri("/console/app.js")
        .body(Body::Empty)
        .expect("a request");
    let response = handle(post).await;
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET");
    assert_strict(&response, "405");
    assert_eq!(route("GET", None), Ok(&INDEX));
    assert_eq!(route("PUT", Some("nope")), Err(ConsoleError::NotFound));
}

#[tokio::test]
async fn through_api_gateway_the_asset_is_its_path_parameter_whatever_the_prefix() {
    let event = serde_json::json!({
        "version": "2.0",
        "routeKey": ASSET_ROUTE,
        "rawPath": "/prod/console/view.js",
        "rawQueryString": "",
        "headers": {"host": "abc.execute-api.us-east-1.amazonaws.com"},
        "pathParameters": {"asset": "view.js"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc", "domainName": "abc.execute-api.us-east-1.amazonaws.com",
            "http": {"method": "GET", "path": "/prod/console/view.js", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "t"},
            "requestId": "r", "routeKey": ASSET_ROUTE, "stage": "prod", "time": "01/Jan/2025:00:00:00 +0000", "timeEpoch": 0
        },
        "isBase64Encoded": false
    });
    let request = lambda_http::request::from_str(&event.to_string()).expect("an event");
    let response = handle(request).await;
    assert_eq!(response.status(), 200);
    assert_eq!(text(&response), include_str!("assets/view.js"));
}

/// Every `src="…"` and `href="…"` of the page.
fn references(html: &str) -> Vec<&str> {
    let mut found = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        let mut rest = html;
        while let Some(start) = rest.find(attribute) {
            let value = &rest[start + attribute.len()..];
            let end = value.find('"').expect("a closing quote");
            found.push(&value[..end]);
            rest = &value[end..];
        }
    }
    found
}

#[test]
fn the_page_loads_only_its_own_files_and_has_no_inline_script_or_style() {
    let html = INDEX.body;
    let referenced = references(html);
    assert!(!referenced.is_empty());
    for reference in &referenced {
        let name = reference
            .strip_prefix("console/")
            .unwrap_or_else(|| panic!("{reference}: not one of its files"));
        assert!(ASSETS.iter().any(|asset| asset.name == name), "{reference}");
    }
    let lower = html.to_lowercase();
    assert_eq!(
        lower.matches("<script").count(),
        lower.matches("<script type=\"module\" src=").count()
    );
    for inline in [
        "<style",
        " style=",
        " onclick",
        " onload",
        " onerror",
        " onsubmit",
        "javascript:",
    ] {
        assert!(!lower.contains(inline), "the page has {inline}");
    }
    // Every control is labelled.
    for id in ["key-input", "reply-input", "template-select", "codes-number"] {
        assert!(html.contains(&format!("<label for=\"{id}\">")), "{id}");
    }
    for asset in &ASSETS {
        for absolute in ["http://", "https://", "//cdn", "@import"] {
            let allowed = asset.name == "icon.svg" && absolute == "http://";
            assert!(allowed || !asset.body.contains(absolute), "{}: {absolute}", asset.name);
        }
    }
}

#[test]
fn scripts_put_text_in_as_text_and_keep_the_key_in_the_session_and_the_header_only() {
    for asset in ASSETS.iter().filter(|asset| asset.name.ends_with(".js")) {
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
            "localStorage",
            "console.log",
            "console.error",
            ".style.",
            "setAttribute(\"style",
        ] {
            assert!(!asset.body.contains(sink), "{} uses {sink}", asset.name);
        }
    }
    let api = include_str!("assets/api.js");
    // The key is read from sessionStorage in one place, and sent only as the Authorization header.
    assert_eq!(api.matches("sessionStorage.getItem(KEY_NAME)").count(), 2);
    assert!(api.contains("Authorization: `Bearer ${key}`"));
    assert!(!api.contains("searchParams.set(\"key"), "never in a URL");
    for asset in ASSETS.iter().filter(|asset| asset.name != "api.js") {
        assert!(!asset.body.contains("sessionStorage"), "{} touches the key", asset.name);
    }
    // A 401 forgets the key before anything else.
    let unauthorized = api.find("response.status === 401").expect("a 401 branch");
    assert!(
        api[unauthorized..]
            .trim_start_matches("response.status === 401) {")
            .trim_start()
            .starts_with("forgetKey();")
    );
    // Every send carries its compose's Idempotency-Key.
    assert!(api.contains("headers[\"Idempotency-Key\"] = idempotencyKey"));
    let app = include_str!("assets/app.js");
    assert!(app.contains("api.sendText(state.selected, text, state.composeKey)"));
    assert!(app.contains("visibilitychange"));
    let templates = include_str!("assets/templates.js");
    assert!(templates.contains("api.sendMessage(picker.contact, body, picker.composeKey)"));
    // A new key for every edit and after every accepted send; a double click without an edit keeps it.
    assert!(templates.matches("picker.composeKey = newComposeKey()").count() >= 3);
}
