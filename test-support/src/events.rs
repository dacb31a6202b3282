//! Requests shaped exactly as API Gateway delivers them, built by the local runner's own
//! builder (`local_stack::api::api_gateway_event_encoded`), and the webhook bodies the tests send.

use std::collections::BTreeMap;

use bridge::domain::secret::Secret;
use bridge::domain::{form, meta_signature, twilio_signature};
use local_stack::api::{self, BodyEncoding};
use local_stack::stack::Route;
use serde_json::{Value, json};

use crate::emulator::unique;

/// An API Gateway HTTP API (2.0) request as `lambda_http` decodes it in Lambda. The body is
/// carried as API Gateway carries it (text types as text), or base64-encoded when `base64_body`.
pub fn api_request(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    base64_body: bool,
) -> lambda_http::Request {
    let uri = if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    };
    let mut request = http::Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let (parts, ()) = request.body(()).expect("a valid request").into_parts();
    let routes = api::routes();
    let (route, parameters) = match api::match_route(&routes, method, path) {
        Some((route, parameters)) => (route.clone(), parameters),
        None => (Route::new(method, path, "unrouted"), BTreeMap::new()),
    };
    let encoding = if base64_body {
        BodyEncoding::Base64
    } else {
        BodyEncoding::ByContentType
    };
    let event = api::api_gateway_event_encoded(&route, &parameters, &parts, body, &unique("req"), encoding);
    lambda_http::request::from_str(&event.to_string()).expect("lambda_http decodes the event")
}

/// A webhook POST signed as Meta signs it.
pub fn signed_webhook(secret: &str, body: &[u8], base64_body: bool) -> lambda_http::Request {
    let signature = meta_signature::sign(&Secret::new(secret), body);
    let headers = [
        ("Content-Type", "application/json"),
        ("X-Hub-Signature-256", signature.as_str()),
    ];
    api_request("POST", "/webhooks/whatsapp", "", &headers, body, base64_body)
}

/// A text-message webhook for our phone number with the given wamid, sender and time.
pub fn text_webhook(phone_number_id: &str, wamid: &str, from: &str, timestamp: i64, text: &str) -> Vec<u8> {
    json!({"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{
        "messaging_product":"whatsapp",
        "metadata":{"display_phone_number":"15550783881","phone_number_id":phone_number_id},
        "contacts":[{"profile":{"name":"Test User"},"wa_id":from}],
        "messages":[{"from":from,"id":wamid,"timestamp":timestamp.to_string(),"type":"text","text":{"body":text}}]}}]}]})
    .to_string()
    .into_bytes()
}

/// A status webhook for an outbound wamid.
pub fn status_webhook(wamid: &str, status: &str, timestamp: i64, errors: Value) -> Vec<u8> {
    let mut status_object =
        json!({"id":wamid,"status":status,"timestamp":timestamp.to_string(),"recipient_id":"972501234567"});
    if status == "sent" {
        status_object["conversation"] = json!({"id":"CONV1","origin":{"type":"service"}});
        status_object["pricing"] = json!({"billable":true,"pricing_model":"PMP","category":"service"});
    }
    if !errors.is_null() {
        status_object["errors"] = errors;
    }
    json!({"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{
        "messaging_product":"whatsapp",
        "metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
        "statuses":[status_object]}}]}]})
    .to_string()
    .into_bytes()
}

/// A Twilio webhook POST to `path` (with `query`), signed with `auth_token` for `base_url`.
pub fn twilio_request(
    base_url: &str,
    path: &str,
    query: &str,
    params: &[(&str, &str)],
    auth_token: &str,
) -> lambda_http::Request {
    let url = if query.is_empty() {
        format!("{base_url}{path}")
    } else {
        format!("{base_url}{path}?{query}")
    };
    let (signature, body) = twilio_form(&url, params, auth_token);
    let headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("X-Twilio-Signature", signature.as_str()),
    ];
    api_request("POST", path, query, &headers, body.as_bytes(), true)
}

/// Twilio's `X-Twilio-Signature` of a POST of `params` to the public `url`, signed with `auth_token`,
/// and the form body itself.
pub fn twilio_form(url: &str, params: &[(&str, &str)], auth_token: &str) -> (String, String) {
    let owned: Vec<(String, String)> = params.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let signature = twilio_signature::expected_signature(&Secret::new(auth_token), url, &owned);
    let body: Vec<String> = owned
        .iter()
        .map(|(k, v)| format!("{}={}", form::encode(k), form::encode(v)))
        .collect();
    (signature, body.join("&"))
}

#[cfg(test)]
mod tests {
    use bridge::handlers::send_api::Route;

    use super::*;

    /// The template's routes (`local_stack::api::routes`, kept equal to template.yaml) reach the
    /// send API, as API Gateway events, on the route of the same key, with their path parameter.
    #[test]
    fn every_send_api_route_of_the_template_is_routed_to_its_own_key() {
        let mut routed = Vec::new();
        for route in api::routes().iter().filter(|route| route.function == api::SEND_API) {
            let key = format!("{} {}", route.method, route.path);
            let path = route.path.replace("{id}", "msg_1").replace("{contact}", "972501234567");
            for path in [path.clone(), format!("{path}/")] {
                let request = api_request(&route.method, &path, "", &[], b"", false);
                let found = Route::of(&request).unwrap_or_else(|error| panic!("{key} ({path}): {error:?}"));
                assert_eq!(found.key(), key, "{path}");
                match found {
                    Route::Message { id } => assert_eq!(id, "msg_1"),
                    Route::Conversation { contact } | Route::Block { contact, .. } => {
                        assert_eq!(contact, "972501234567")
                    }
                    Route::Send | Route::Media | Route::Contacts | Route::Templates | Route::Codes => {}
                }
            }
            routed.push(key);
        }
        routed.sort();
        assert_eq!(
            routed,
            [
                "DELETE /contacts/{contact}/block",
                "GET /contacts",
                "GET /contacts/{contact}/block",
                "GET /contacts/{contact}/messages",
                "GET /messages/{id}",
                "GET /templates",
                "GET /verification-codes",
                "POST /contacts/{contact}/block",
                "POST /media",
                "POST /messages"
            ]
        );
    }
}
