//! The send API's routes, template.yaml's ten (`local/src/api.rs` serves the same and
//! `local/tests/template_routes.rs` keeps the two equal): one `match` on the method and the path's
//! segments.
//!
//! Through API Gateway the route is the one it matched (`routeKey`), whatever prefix the path
//! carries (a named stage, which `lambda_http` puts in front of the URI's path, or a custom
//! domain's API mapping, which stays in `rawPath`); its path parameters (`id`, `contact`) are
//! taken as it passes them. A request without a route key (a test's, a direct invocation) is
//! routed on its method and the URI's path, trailing slashes dropped as the local runner drops
//! them. A path no route has is 404; a route's path with another method is 405 naming the one
//! it takes (`Allow`). API Gateway answers those itself (its own 404) before the function runs.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use crate::handlers::http::ApiError;

/// The routes, as API Gateway names them (`routeKey`), in every log line's span.
pub const POST_ROUTE: &str = "POST /messages";
pub const GET_ROUTE: &str = "GET /messages/{id}";
pub const HISTORY_ROUTE: &str = "GET /contacts/{contact}/messages";
pub const CONTACTS_ROUTE: &str = "GET /contacts";
pub const MEDIA_ROUTE: &str = "POST /media";
pub const TEMPLATES_ROUTE: &str = "GET /templates";
pub const CODES_ROUTE: &str = "GET /verification-codes";
/// `/contacts/{contact}/block`: block (`POST`), unblock (`DELETE`), is it blocked (`GET`).
pub const BLOCK_ROUTES: [&str; 3] = [
    "POST /contacts/{contact}/block",
    "DELETE /contacts/{contact}/block",
    "GET /contacts/{contact}/block",
];
/// The span's route for a request no route takes (API Gateway's access log writes `-` too).
pub const NO_ROUTE: &str = "-";

const UNKNOWN_PATH: &str = "no such route: POST /messages, GET /messages/{id}, POST /media, GET /contacts, \
     GET /contacts/{contact}/messages, POST|DELETE|GET /contacts/{contact}/block, GET /templates, \
     GET /verification-codes";

/// What `/contacts/{contact}/block` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockMethod {
    /// `POST`: block.
    Block,
    /// `DELETE`: unblock.
    Unblock,
    /// `GET`: is the contact blocked.
    Read,
}

/// A request's route, with its path parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    /// `POST /messages`.
    Send,
    /// `GET /messages/{id}`: a message id or a wamid.
    Message { id: &'a str },
    /// `POST /media`.
    Media,
    /// `GET /contacts/{contact}/messages`: the contact as the path writes it (`%`-escapes kept).
    Conversation { contact: &'a str },
    /// `GET /contacts`: the contacts by last activity.
    Contacts,
    /// `POST|DELETE|GET /contacts/{contact}/block`: the contact as the path writes it.
    Block { contact: &'a str, method: BlockMethod },
    /// `GET /templates`: the WABA's message templates and the parameters each takes.
    Templates,
    /// `GET /verification-codes`: the codes the Twilio functions captured, latest first.
    Codes,
}

impl<'a> Route<'a> {
    /// The route of `method` and `path` (a path as the API's routes write it: no stage, no
    /// mapping; a query string is not part of it).
    pub fn of_path(method: &str, path: &'a str) -> Result<Self, ApiError> {
        let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        match (method, segments.as_slice()) {
            ("POST", ["", "messages"]) => Ok(Route::Send),
            ("GET", ["", "messages", id]) if !id.is_empty() => Ok(Route::Message { id }),
            ("POST", ["", "media"]) => Ok(Route::Media),
            ("GET", ["", "contacts"]) => Ok(Route::Contacts),
            ("GET", ["", "templates"]) => Ok(Route::Templates),
            ("GET", ["", "verification-codes"]) => Ok(Route::Codes),
            ("GET", ["", "contacts", contact, "messages"]) if !contact.is_empty() => {
                Ok(Route::Conversation { contact })
            }
            (method, ["", "contacts", contact, "block"]) if !contact.is_empty() => {
                let method = match method {
                    "POST" => BlockMethod::Block,
                    "DELETE" => BlockMethod::Unblock,
                    "GET" => BlockMethod::Read,
                    _ => return Err(ApiError::MethodNotAllowed("GET, POST, DELETE")),
                };
                Ok(Route::Block { contact, method })
            }
            (_, ["", "messages"] | ["", "media"]) => Err(ApiError::MethodNotAllowed("POST")),
            (_, ["", "contacts"] | ["", "templates"] | ["", "verification-codes"]) => {
                Err(ApiError::MethodNotAllowed("GET"))
            }
            (_, ["", "messages", id] | ["", "contacts", id, "messages"]) if !id.is_empty() => {
                Err(ApiError::MethodNotAllowed("GET"))
            }
            _ => Err(ApiError::NotFound(UNKNOWN_PATH)),
        }
    }

    /// The route of a request: API Gateway's (`routeKey`) when it names one, else the method and
    /// the URI's path; a path parameter API Gateway passes wins over the path's segment.
    pub fn of(request: &'a Request) -> Result<Self, ApiError> {
        let (method, path) = gateway_route_key(request)
            .and_then(|key| key.split_once(' '))
            .unwrap_or_else(|| (request.method().as_str(), request.uri().path()));
        let parameter = |name: &str, segment: &'a str| -> &'a str {
            request
                .path_parameters_ref()
                .and_then(|parameters| parameters.first(name))
                .unwrap_or(segment)
        };
        Ok(match Self::of_path(method, path)? {
            Route::Message { id } => Route::Message {
                id: parameter("id", id),
            },
            Route::Conversation { contact } => Route::Conversation {
                contact: parameter("contact", contact),
            },
            Route::Block { contact, method } => Route::Block {
                contact: parameter("contact", contact),
                method,
            },
            route => route,
        })
    }

    /// The route as API Gateway names it.
    pub fn key(&self) -> &'static str {
        match self {
            Route::Send => POST_ROUTE,
            Route::Message { .. } => GET_ROUTE,
            Route::Media => MEDIA_ROUTE,
            Route::Conversation { .. } => HISTORY_ROUTE,
            Route::Contacts => CONTACTS_ROUTE,
            Route::Templates => TEMPLATES_ROUTE,
            Route::Codes => CODES_ROUTE,
            Route::Block { method, .. } => match method {
                BlockMethod::Block => BLOCK_ROUTES[0],
                BlockMethod::Unblock => BLOCK_ROUTES[1],
                BlockMethod::Read => BLOCK_ROUTES[2],
            },
        }
    }
}

/// The route API Gateway matched (payload 2.0 `routeKey`, `"POST /messages"`); `None` without
/// one, or for its catch-all `$default` route (none in the template).
fn gateway_route_key(request: &Request) -> Option<&str> {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.route_key.as_deref().filter(|key| *key != "$default"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use lambda_http::http::header::ALLOW;

    use super::*;
    use crate::handlers::tests::request;

    fn of_path(method: &str, path: &'static str) -> Result<Route<'static>, ApiError> {
        Route::of_path(method, path)
    }

    #[test]
    fn the_five_routes_with_or_without_trailing_slashes() {
        let table: [(&str, &str, Route<'_>); 16] = [
            ("GET", "/contacts", Route::Contacts),
            ("GET", "/templates", Route::Templates),
            ("GET", "/templates/", Route::Templates),
            ("GET", "/verification-codes", Route::Codes),
            ("GET", "/contacts/", Route::Contacts),
            ("POST", "/messages", Route::Send),
            ("POST", "/messages/", Route::Send),
            ("POST", "/messages//", Route::Send),
            ("GET", "/messages/msg_0123", Route::Message { id: "msg_0123" }),
            (
                "GET",
                "/messages/wamid.HBgM%3D%3D/",
                Route::Message { id: "wamid.HBgM%3D%3D" },
            ),
            ("POST", "/media", Route::Media),
            ("POST", "/media/", Route::Media),
            (
                "GET",
                "/contacts/972501234567/messages",
                Route::Conversation {
                    contact: "972501234567",
                },
            ),
            (
                "GET",
                "/contacts/%2B972%2050/messages/",
                Route::Conversation { contact: "%2B972%2050" },
            ),
            (
                "GET",
                "/contacts/US.13491208655302741918/messages",
                Route::Conversation {
                    contact: "US.13491208655302741918",
                },
            ),
            // The path as API Gateway's route key writes it.
            ("GET", "/messages/{id}", Route::Message { id: "{id}" }),
        ];
        for (method, path, route) in table {
            assert_eq!(of_path(method, path), Ok(route), "{method} {path}");
        }
        assert_eq!(
            [
                Route::Send,
                Route::Message { id: "" },
                Route::Media,
                Route::Conversation { contact: "" },
                Route::Contacts,
                Route::Templates,
                Route::Codes
            ]
            .map(|r| r.key()),
            [
                POST_ROUTE,
                GET_ROUTE,
                MEDIA_ROUTE,
                HISTORY_ROUTE,
                CONTACTS_ROUTE,
                TEMPLATES_ROUTE,
                CODES_ROUTE
            ]
        );
    }

    #[test]
    fn the_block_routes_one_path_three_methods() {
        for (method, what, key) in [
            ("POST", BlockMethod::Block, BLOCK_ROUTES[0]),
            ("DELETE", BlockMethod::Unblock, BLOCK_ROUTES[1]),
            ("GET", BlockMethod::Read, BLOCK_ROUTES[2]),
        ] {
            let route = of_path(method, "/contacts/%2B972501234567/block/").expect("a route");
            assert_eq!(
                route,
                Route::Block {
                    contact: "%2B972501234567",
                    method: what
                }
            );
            assert_eq!(route.key(), key);
            assert_eq!(key.split_once(' ').map(|(m, _)| m), Some(method));
        }
        let through_gateway = gateway_event(
            BLOCK_ROUTES[1],
            "/v1/contacts/US.1349/block",
            "$default",
            serde_json::json!({"contact": "US.1349"}),
        );
        assert_eq!(
            Route::of(&through_gateway),
            Ok(Route::Block {
                contact: "US.1349",
                method: BlockMethod::Unblock
            })
        );
    }

    #[test]
    fn a_route_s_path_with_another_method_is_405_naming_the_method() {
        let table = [
            ("GET", "/messages", "POST"),
            ("PUT", "/messages", "POST"),
            ("DELETE", "/messages/", "POST"),
            ("GET", "/media", "POST"),
            ("HEAD", "/media", "POST"),
            // Methods are case-sensitive (HTTP); API Gateway's are upper case.
            ("post", "/messages", "POST"),
            ("POST", "/messages/msg_1", "GET"),
            ("DELETE", "/messages/msg_1", "GET"),
            ("HEAD", "/messages/msg_1", "GET"),
            ("PUT", "/contacts/972501234567/block", "GET, POST, DELETE"),
            ("PATCH", "/contacts/US.1349/block/", "GET, POST, DELETE"),
            ("POST", "/contacts/972501234567/messages", "GET"),
            ("PATCH", "/contacts/972501234567/messages/", "GET"),
            ("POST", "/contacts", "GET"),
            ("DELETE", "/contacts/", "GET"),
            ("POST", "/templates", "GET"),
            ("DELETE", "/verification-codes/", "GET"),
        ];
        for (method, path, allow) in table {
            assert_eq!(
                of_path(method, path),
                Err(ApiError::MethodNotAllowed(allow)),
                "{method} {path}"
            );
        }
        let response = ApiError::MethodNotAllowed("GET").into_response();
        assert_eq!(response.status(), 405);
        assert_eq!(response.headers()[ALLOW], "GET");
    }

    #[test]
    fn any_other_path_is_404() {
        let table = [
            ("GET", ""),
            ("GET", "/"),
            ("POST", "/"),
            ("POST", "/message"),
            ("POST", "/MESSAGES"),
            ("POST", "/v1/messages"),
            ("POST", "//messages"),
            ("GET", "/messages/a/b"),
            ("GET", "/messages//x"),
            ("POST", "/media/x"),
            ("GET", "/contacts/972501234567"),
            ("GET", "/v1/contacts"),
            ("GET", "/contacts//messages"),
            ("GET", "/contacts/972501234567/messages/x"),
            ("POST", "/contacts//block"),
            ("POST", "/contacts/972501234567/block/x"),
            ("POST", "/webhooks/whatsapp"),
            ("GET", "/webhooks/whatsapp"),
            ("POST", "/twilio/voice"),
            ("GET", "/templates/hello_world"),
            ("GET", "/verification_codes"),
        ];
        for (method, path) in table {
            assert_eq!(
                of_path(method, path),
                Err(ApiError::NotFound(UNKNOWN_PATH)),
                "{method} {path}"
            );
        }
    }

    /// A payload 2.0 event as API Gateway writes it for `route_key`, the path `raw_path` (with
    /// whatever prefix the request had), in `stage`.
    fn gateway_event(
        route_key: &str,
        raw_path: &str,
        stage: &str,
        parameters: serde_json::Value,
    ) -> lambda_http::Request {
        let (method, _) = route_key.split_once(' ').unwrap_or(("GET", ""));
        let event = serde_json::json!({
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": raw_path,
            "rawQueryString": "",
            "headers": {"host": "abc123.execute-api.us-east-1.amazonaws.com"},
            "pathParameters": parameters,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "abc123",
                "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
                "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "t"},
                "requestId": "req-1",
                "routeKey": route_key,
                "stage": stage,
                "time": "01/Jan/2025:00:00:00 +0000",
                "timeEpoch": 0
            },
            "isBase64Encoded": false
        });
        lambda_http::request::from_str(&event.to_string()).expect("an API Gateway event")
    }

    #[test]
    fn through_api_gateway_the_route_is_the_one_it_matched_whatever_the_path_s_prefix() {
        let cases = [
            // The template's $default stage: the path as sent.
            (
                gateway_event(POST_ROUTE, "/messages", "$default", serde_json::Value::Null),
                Route::Send,
            ),
            // A named stage: lambda_http puts `/prod` in front of the URI's path.
            (
                gateway_event(MEDIA_ROUTE, "/media", "prod", serde_json::Value::Null),
                Route::Media,
            ),
            (
                gateway_event(
                    GET_ROUTE,
                    "/prod/messages/msg_1",
                    "prod",
                    serde_json::json!({"id": "msg_1"}),
                ),
                Route::Message { id: "msg_1" },
            ),
            // A custom domain's API mapping (`api.example.com/v1` → the API) stays in rawPath.
            (
                gateway_event(
                    HISTORY_ROUTE,
                    "/v1/contacts/972501234567/messages",
                    "$default",
                    serde_json::json!({"contact": "972501234567"}),
                ),
                Route::Conversation {
                    contact: "972501234567",
                },
            ),
            (
                gateway_event(POST_ROUTE, "/v1/messages/", "$default", serde_json::Value::Null),
                Route::Send,
            ),
        ];
        assert_eq!(cases[1].0.uri().path(), "/prod/media");
        assert_eq!(cases[2].0.uri().path(), "/prod/messages/msg_1");
        for (request, route) in &cases {
            assert_eq!(Route::of(request).as_ref(), Ok(route), "{}", request.uri());
        }
        // Its catch-all route names no path: the URI's is routed.
        let default = gateway_event("$default", "/messages/msg_2", "$default", serde_json::Value::Null);
        assert_eq!(Route::of(&default), Ok(Route::Message { id: "msg_2" }));
        let default = gateway_event("$default", "/nowhere", "$default", serde_json::Value::Null);
        assert_eq!(Route::of(&default), Err(ApiError::NotFound(UNKNOWN_PATH)));
    }

    #[test]
    fn without_api_gateway_the_method_and_the_uri_s_path_route_and_path_parameters_win() {
        let plain = request("GET", "/contacts/972501234567/messages/?limit=5", &[], ());
        assert_eq!(
            Route::of(&plain),
            Ok(Route::Conversation {
                contact: "972501234567"
            })
        );
        let plain = request("GET", "/messages/msg_1", &[], ());
        let with_parameter =
            plain.with_path_parameters(std::collections::HashMap::from([("id".to_owned(), "msg_2".to_owned())]));
        assert_eq!(Route::of(&with_parameter), Ok(Route::Message { id: "msg_2" }));
        let wrong = request("PUT", "/media", &[], ());
        assert_eq!(Route::of(&wrong), Err(ApiError::MethodNotAllowed("POST")));
    }
}
