//! A local HTTP stand-in for the send endpoint of Meta's WhatsApp Cloud API (Graph API).
//!
//! It answers `POST /{version}/{phone_number_id}/messages` the way Meta does (same answer and error shapes),
//! records every send request, and — for accepted messages — posts signed status webhooks (`sent`,
//! `delivered`, `read`) to a configured receiver, like Meta's webhook delivery.
//!
//! # Routes
//!
//! | method and path | answer |
//! | --- | --- |
//! | `POST /{version}/{phone_number_id}/messages` (`version` = `v` + digits and dots, e.g. `v21.0`) | the send endpoint |
//! | `GET /_standin/requests` | JSON array of every send request received so far, in order (see [`RecordedRequest`]) |
//! | anything else | `404` with a Graph-style `GraphMethodException` error (code 100, subcode 33) |
//!
//! # Checks of a send, in this order
//!
//! 1. `Authorization: Bearer <token>` must equal [`StandinConfig::access_token`], else `401`, code 190
//!    (`OAuthException`, `error_subcode` 463, "Error validating access token: Session has expired ...").
//! 2. The body must be valid JSON (at most 4 MiB) and a JSON object, else `400`, code 100.
//! 3. Meta-like validation, else `400` `(#100) Invalid parameter` whose `error_data.details` names the field:
//!    `messaging_product` must be `"whatsapp"`; `to` (or `recipient`; if both, `to` wins) must be a string of
//!    digits, optionally with a leading `+` and the separators space, `-`, `.`, `(`, `)`; `type` (default `text`)
//!    must be one of `text`, `template`, `image`, `document`, `audio`, `video`, `sticker`, `reaction`,
//!    `interactive`, `location`, `contacts`; the member named by `type` must be present (a JSON object, or a
//!    non-empty array for `contacts`); `text.body` must be a string of 1..=4096 characters; `template.name`
//!    and `template.language.code` must be non-empty strings; media (`image`, `document`, `audio`, `video`,
//!    `sticker`) must carry exactly one of `link` / `id`, as a non-empty string.
//! 4. The recipient's digits (with `+` and separators removed) select an outcome:
//!
//! | recipient digits start with | HTTP | answer |
//! | --- | --- | --- |
//! | `9991304` | 400 | code 130429 `(#130429) Rate limit hit` (throughput) |
//! | `9991310560` | 400 | code 131056 `(#131056) (Business Account, Consumer Account) pair rate limit hit` |
//! | `9991310000` | 500 | code 131000 `(#131000) Something went wrong` |
//! | `9991310260` | 400 | code 131026 `(#131026) Message Undeliverable.` |
//! | `9991310470` | 400 | code 131047 `(#131047) Re-engagement message` |
//! | `9991320000` | 400 | code 132000 `(#132000) Number of parameters does not match the expected number of params` |
//! | `9991000000` | 400 | code 100 `(#100) Invalid parameter` |
//! | `9991900000` | 401 | code 190, expired access token (as for a wrong token) |
//! | `9995000000` | 503 | empty body |
//! | `9984290` | 429, then 200 | flaky: the first send to each distinct recipient answers 429 code 130429; every later send to it succeeds |
//! | `9970` | 200 | accepted, but the status webhooks are `sent` then `failed` (error 131026 "Message undeliverable") |
//! | anything else | 200 | accepted; status webhooks `sent`, `delivered`, `read` |
//!
//! Every error body except the 503 one is
//! `{"error":{"message":..,"type":"OAuthException","code":..,"error_data":{"messaging_product":"whatsapp","details":..},"fbtrace_id":..}}`
//! (the 401 has `error_subcode` 463 and no `error_data`). Every answer of the send route, error or not, comes
//! after [`StandinConfig::latency`].
//!
//! A mark-as-read call (`{"messaging_product":"whatsapp","status":"read","message_id":..}`) is answered
//! `200 {"success":true}`.
//!
//! # Success and status webhooks
//!
//! A success is `200 {"messaging_product":"whatsapp","contacts":[{"input":<to as sent>,"wa_id":<digits>}],
//! "messages":[{"id":"wamid.<base64>","message_status":"accepted"}]}`; wamids are unique within the process.
//!
//! If [`StandinConfig::send_status_webhooks`] is set, a spawned task then POSTs one webhook per status to
//! [`StandinConfig::webhook_url`] (plain `http://` only), one after another, [`StandinConfig::status_delay`]
//! apart (the first one right away, so — as with Meta — the `sent` webhook may reach the receiver before the
//! send's answer reaches the sender). Each body is a complete `whatsapp_business_account` webhook with
//! one entry (id [`WABA_ID`]), one change (`field` `messages`) and one status; `sent` and `delivered` carry
//! `conversation` (origin `service`) and `pricing` (`PMP`, category `service`), `read` carries neither, `failed`
//! carries `errors`. The body is serialized the way Meta does it: compact, non-ASCII characters as `\uXXXX` and
//! `/` as `\/`, so a receiver that re-serializes the JSON before checking the signature fails, as it would in
//! production. Headers: `Content-Type: application/json` and
//! `X-Hub-Signature-256: sha256=<lowercase hex HMAC-SHA256(app_secret, exact body bytes)>`.
//! A webhook POST answered with anything but 200, or failing, is retried up to 4 times (backoff 100 ms,
//! doubling; 5 s timeout per try), then logged and dropped; later statuses of that message are still sent.
//!
//! # Number onboarding and the doctor's reads
//!
//! With an [`OnboardingConfig`] ([`Standin::with_onboarding`]) the stand-in also serves, Meta's shapes and
//! error format, for any phone number id (each one's state kept in memory):
//!
//! | method and path | answer |
//! | --- | --- |
//! | `POST /{version}/{phone_number_id}/request_code` (`code_method` `SMS`/`VOICE`, `language`) | `{"success":true}`; with `VOICE` a new 6-digit code is read aloud by a call from Meta's robot to [`OnboardingConfig::display_phone_number`], placed through the attached Twilio stand-in ([`crate::twilio_standin::TwilioStandin::call`]) after [`OnboardingConfig::call_delay`]. Already verified: `400` code 136024 (Request code error); more than [`OnboardingConfig::max_code_requests`] requests: `400` code 136024, rate limited |
//! | `POST /{version}/{phone_number_id}/verify_code` (`code`) | `{"success":true}` for the last code requested; anything else `400` code 136025 (Verify code error) |
//! | `POST /{version}/{phone_number_id}/register` (`messaging_product`=`whatsapp`, 6-digit `pin`) | `{"success":true}` (again with the same PIN); not verified: `400` code 133006 (re-verification needed); another PIN than the registered one: `400` code 133005 (PIN mismatch) |
//! | `GET /{version}/{phone_number_id}?fields=…` | `id`, `display_phone_number`, `verified_name`, `quality_rating`, `code_verification_status` (`NOT_VERIFIED`/`VERIFIED`), `name_status`, `platform_type` (`NOT_APPLICABLE`, `CLOUD_API` once registered), `status` (`PENDING`, `CONNECTED` once registered), `throughput`: the fields asked for, all without `fields` |
//! | `GET /{version}/debug_token?input_token=…` | `{"data":{app_id, type, application, expires_at, data_access_expires_at, is_valid, issued_at, scopes, granular_scopes, user_id}}`; another token than the configured one: `is_valid` false with `data.error` code 190 |
//! | `GET /{version}/{waba_id}/subscribed_apps` | `{"data":[{"whatsapp_business_api_data":{id, link, name}}]}`, or `{"data":[]}` when [`OnboardingConfig::subscribed`] is false |
//!
//! Parameters are read from the query string, a JSON body or a form body, as the Graph API does. Every one of
//! these routes needs the access token (`Authorization: Bearer` or `access_token=`), else `401` code 190.
//! [`OnboardingConfig::spoken_code`] can make the robot read a wrong code (a misheard call).
//!
//! # Recording
//!
//! Every request to the send route is recorded, whatever its answer (including 401s and malformed
//! bodies): the parsed JSON body, or — when the body is not valid JSON — the body as a JSON string
//! (lossy UTF-8), or `null` when it could not be read (too large, connection error).

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, USER_AGENT};
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Map, Value};
use sha2::Sha256;
use tokio::net::TcpListener;

/// WhatsApp Business Account id used as `entry[].id` in the status webhooks.
pub const WABA_ID: &str = "102290129340398";

/// Largest request body read; larger ones are answered 400.
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Webhook delivery: tries in all, first backoff, and the timeout of one try.
const WEBHOOK_TRIES: u32 = 5;
const WEBHOOK_FIRST_BACKOFF: Duration = Duration::from_millis(100);
const WEBHOOK_TRY_TIMEOUT: Duration = Duration::from_secs(5);

const MESSAGE_TYPES: [&str; 11] = [
    "text",
    "template",
    "image",
    "document",
    "audio",
    "video",
    "sticker",
    "reaction",
    "interactive",
    "location",
    "contacts",
];
const MEDIA_TYPES: [&str; 5] = ["image", "document", "audio", "video", "sticker"];

/// Configuration of a [`Standin`].
#[derive(Debug, Clone)]
pub struct StandinConfig {
    /// Expected Bearer token.
    pub access_token: String,
    /// Signs the status webhooks (`X-Hub-Signature-256`).
    pub app_secret: String,
    /// Where status webhooks are POSTed, e.g. `http://127.0.0.1:3000/webhooks/whatsapp` (plain http only).
    pub webhook_url: String,
    /// `metadata.display_phone_number` of the webhooks, e.g. `15550783881`.
    pub phone_number_id_display: String,
    /// Simulated latency before answering each send.
    pub latency: Duration,
    /// Delay between the status webhooks of one message (zero: as fast as possible).
    pub status_delay: Duration,
    /// Whether accepted messages get status webhooks.
    pub send_status_webhooks: bool,
}

/// One request received on the send route.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// The `{phone_number_id}` path segment.
    pub phone_number_id: String,
    /// The `{version}` path segment, e.g. `v21.0`.
    pub version: String,
    /// The parsed body; a JSON string holding the raw body if it was not JSON; `null` if unreadable.
    pub body: Value,
    /// HTTP status of the answer.
    pub answered_status: u16,
    /// The wamid given, for accepted sends.
    pub wamid: Option<String>,
}

impl RecordedRequest {
    fn to_json(&self) -> Value {
        obj([
            ("phone_number_id", Value::from(self.phone_number_id.as_str())),
            ("version", Value::from(self.version.as_str())),
            ("body", self.body.clone()),
            ("answered_status", Value::from(self.answered_status)),
            ("wamid", self.wamid.as_deref().map_or(Value::Null, Value::from)),
        ])
    }
}

#[derive(Default)]
struct State {
    records: Vec<RecordedRequest>,
    /// Flaky recipients (digits) that already got their 429.
    flaky_seen: HashSet<String>,
    /// Onboarding state per phone number id.
    numbers: HashMap<String, NumberState>,
}

/// What the robot reads on the verification call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SpokenCode {
    /// The code `verify_code` expects.
    #[default]
    TheCode,
    /// Another code (a misheard call): `verify_code` with it fails with 136025.
    AnotherCode,
}

/// The phone number, app and token the onboarding and doctor routes describe.
#[derive(Clone)]
pub struct OnboardingConfig {
    /// The business number, as Meta displays it (`+1 555-010-1234`); the number the robot calls.
    pub display_phone_number: String,
    pub verified_name: String,
    /// `GREEN`, `YELLOW`, `RED` or `UNKNOWN`.
    pub quality_rating: String,
    /// `Some(pin)`: every number starts verified and registered with that PIN.
    pub registered_pin: Option<String>,
    /// Places the verification calls; `None`: the call never comes.
    pub twilio: Option<Arc<crate::twilio_standin::TwilioStandin>>,
    /// Caller id of Meta's robot.
    pub robot_number: String,
    pub spoken_code: SpokenCode,
    /// Delay between `request_code` and the call.
    pub call_delay: Duration,
    /// `request_code` calls per number before 136024 (rate limited).
    pub max_code_requests: u32,
    pub app_id: String,
    pub waba_id: String,
    /// What `debug_token` lists.
    pub scopes: Vec<String>,
    /// Whether the app is subscribed to the WABA's webhooks.
    pub subscribed: bool,
}

impl Default for OnboardingConfig {
    fn default() -> Self {
        Self {
            display_phone_number: "+1 555-078-3881".to_owned(),
            verified_name: "Bridge Test".to_owned(),
            quality_rating: "GREEN".to_owned(),
            registered_pin: None,
            twilio: None,
            robot_number: "+16505550100".to_owned(),
            spoken_code: SpokenCode::TheCode,
            call_delay: Duration::from_millis(200),
            max_code_requests: 5,
            app_id: "1234567890123456".to_owned(),
            waba_id: WABA_ID.to_owned(),
            scopes: vec![
                "whatsapp_business_management".to_owned(),
                "whatsapp_business_messaging".to_owned(),
            ],
            subscribed: true,
        }
    }
}

/// One phone number id's onboarding state.
#[derive(Debug, Clone, Default)]
struct NumberState {
    verified: bool,
    registered_pin: Option<String>,
    pending_code: Option<String>,
    code_requests: u32,
}

/// The stand-in server; share it as `Arc<Standin>`.
pub struct Standin {
    config: StandinConfig,
    onboarding: OnboardingConfig,
    webhook_uri: Option<Uri>,
    client: Client<HttpConnector, Full<Bytes>>,
    state: Mutex<State>,
}

type Answer = Response<Full<Bytes>>;

/// A Graph API error to answer with.
struct GraphError {
    status: u16,
    code: u64,
    message: String,
    details: String,
}

impl GraphError {
    fn invalid_parameter(details: impl Into<String>) -> Self {
        Self {
            status: 400,
            code: 100,
            message: "(#100) Invalid parameter".into(),
            details: details.into(),
        }
    }

    fn answer(&self) -> Answer {
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

/// What the recipient number selects.
enum Outcome {
    Error(GraphError),
    ExpiredToken,
    EmptyServiceUnavailable,
    Flaky,
    AcceptedThenFailed,
    Accepted,
}

impl Standin {
    /// Builds a stand-in; serve it with [`Standin::serve`].
    pub fn new(config: StandinConfig) -> Arc<Self> {
        Self::with_onboarding(config, OnboardingConfig::default())
    }

    /// A stand-in whose onboarding routes describe `onboarding`.
    pub fn with_onboarding(config: StandinConfig, onboarding: OnboardingConfig) -> Arc<Self> {
        let webhook_uri = match config.webhook_url.parse::<Uri>() {
            Ok(uri) if uri.scheme_str() == Some("http") && uri.host().is_some() => Some(uri),
            Ok(_) | Err(_) => {
                if config.send_status_webhooks {
                    tracing::warn!(url = %config.webhook_url, "graph stand-in: webhook_url is not a plain http URL; status webhooks disabled");
                }
                None
            }
        };
        let client = Client::builder(TokioExecutor::new()).build_http();
        Arc::new(Self {
            config,
            onboarding,
            webhook_uri,
            client,
            state: Mutex::new(State::default()),
        })
    }

    /// Accepts connections forever, one spawned HTTP/1 connection task per accepted socket.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) {
        crate::http_server::serve(listener, "graph stand-in", move |request| {
            Arc::clone(&self).handle(request)
        })
        .await
    }

    /// Every send request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().records.clone()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means another task panicked mid-update; the data is still usable.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Answer {
        let path = req.uri().path().to_owned();
        if path == "/_standin/requests" || path == "/_standin/requests/" {
            if req.method() == Method::GET {
                let records = self.lock().records.iter().map(RecordedRequest::to_json).collect();
                return json_answer(200, &Value::Array(records));
            }
            return not_found(req.method(), &path);
        }
        let trimmed = path.strip_prefix('/').unwrap_or(&path);
        let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
        let segments: Vec<&str> = trimmed.split('/').collect();
        if let [version, phone_number_id, "messages"] = segments.as_slice()
            && is_version(version)
            && !phone_number_id.is_empty()
            && req.method() == Method::POST
        {
            let (version, phone_number_id) = ((*version).to_owned(), (*phone_number_id).to_owned());
            return self.handle_send(req, version, phone_number_id).await;
        }
        match segments.as_slice() {
            [version, "debug_token"] if is_version(version) && req.method() == Method::GET => {
                self.onboarding_route(req, Route::DebugToken).await
            }
            [version, id, edge] if is_version(version) && !id.is_empty() => {
                let route = match (*edge, req.method()) {
                    ("request_code", &Method::POST) => Route::RequestCode((*id).to_owned()),
                    ("verify_code", &Method::POST) => Route::VerifyCode((*id).to_owned()),
                    ("register", &Method::POST) => Route::Register((*id).to_owned()),
                    ("subscribed_apps", &Method::GET) => Route::SubscribedApps((*id).to_owned()),
                    _ => return not_found(req.method(), &path),
                };
                self.onboarding_route(req, route).await
            }
            [version, id] if is_version(version) && !id.is_empty() && req.method() == Method::GET => {
                self.onboarding_route(req, Route::PhoneNumber((*id).to_owned())).await
            }
            _ => not_found(req.method(), &path),
        }
    }

    async fn onboarding_route(self: Arc<Self>, req: Request<Incoming>, route: Route) -> Answer {
        let mut params = query_pairs(req.uri().query().unwrap_or_default());
        let header_token = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(bearer_token)
            .map(str::to_owned);
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let Ok(body) = Limited::new(req.into_body(), MAX_BODY_BYTES)
            .collect()
            .await
            .map(|c| c.to_bytes())
        else {
            return GraphError::invalid_parameter("Could not read the request body").answer();
        };
        if !body.is_empty() {
            if content_type.contains("json") {
                match serde_json::from_slice::<Value>(&body) {
                    Ok(Value::Object(map)) => params.extend(map.into_iter().map(|(key, value)| {
                        let text = match value {
                            Value::String(text) => text,
                            other => other.to_string(),
                        };
                        (key, text)
                    })),
                    _ => return GraphError::invalid_parameter("Invalid JSON in the request body").answer(),
                }
            } else {
                params.extend(query_pairs(&String::from_utf8_lossy(&body)));
            }
        }
        let param = |name: &str| {
            params
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        };
        let token = header_token.or_else(|| param("access_token"));
        let authorized = token
            .as_deref()
            .is_some_and(|token| constant_time_eq(token.as_bytes(), self.config.access_token.as_bytes()));
        if !authorized {
            return expired_token();
        }
        match route {
            Route::DebugToken => self.debug_token(param("input_token").as_deref()),
            Route::SubscribedApps(waba) => self.subscribed_apps(&waba),
            Route::PhoneNumber(id) => self.phone_number(&id, param("fields").as_deref()),
            Route::RequestCode(id) => {
                self.request_code(&id, param("code_method").as_deref(), param("language").as_deref())
            }
            Route::VerifyCode(id) => self.verify_code(&id, param("code").as_deref()),
            Route::Register(id) => self.register(&id, param("messaging_product").as_deref(), param("pin").as_deref()),
        }
    }

    fn number_state(&self, id: &str) -> NumberState {
        let mut state = self.lock();
        state
            .numbers
            .entry(id.to_owned())
            .or_insert_with(|| NumberState {
                verified: self.onboarding.registered_pin.is_some(),
                registered_pin: self.onboarding.registered_pin.clone(),
                ..NumberState::default()
            })
            .clone()
    }

    fn update_number(&self, id: &str, change: impl FnOnce(&mut NumberState)) {
        self.number_state(id);
        if let Some(number) = self.lock().numbers.get_mut(id) {
            change(number);
        }
    }

    fn request_code(self: Arc<Self>, id: &str, method: Option<&str>, language: Option<&str>) -> Answer {
        let method = match method {
            Some(method) if method.eq_ignore_ascii_case("SMS") || method.eq_ignore_ascii_case("VOICE") => {
                method.to_ascii_uppercase()
            }
            Some(_) => return invalid("Param code_method must be one of {SMS, VOICE}").answer(),
            None => return invalid("The parameter code_method is required.").answer(),
        };
        if language.is_none_or(str::is_empty) {
            return invalid("The parameter language is required.").answer();
        }
        let state = self.number_state(id);
        if state.verified {
            return registration_error(
                400,
                136024,
                "Request code error",
                "The phone number is already verified.",
            );
        }
        if state.code_requests >= self.onboarding.max_code_requests {
            return registration_error(
                400,
                136024,
                "Request code error",
                "Too many verification code requests for this phone number. Try again later.",
            );
        }
        let code = format!("{:06}", random_u64() % 1_000_000);
        self.update_number(id, |number| {
            number.code_requests += 1;
            number.pending_code = Some(code.clone());
        });
        if method == "VOICE"
            && let Some(twilio) = self.onboarding.twilio.clone()
        {
            let spoken = match self.onboarding.spoken_code {
                SpokenCode::TheCode => code,
                SpokenCode::AnotherCode => format!("{:06}", (code.parse::<u32>().unwrap_or(0) + 1) % 1_000_000),
            };
            let me = Arc::clone(&self);
            tokio::spawn(async move {
                tokio::time::sleep(me.onboarding.call_delay).await;
                let speech = crate::twilio_standin::Speech {
                    text: crate::twilio_standin::robot_speech(&spoken),
                    confidence: 0.93,
                };
                twilio
                    .call(
                        &me.onboarding.robot_number,
                        &me.onboarding.display_phone_number,
                        &speech,
                    )
                    .await;
            });
        }
        json_answer(200, &obj([("success", Value::Bool(true))]))
    }

    fn verify_code(&self, id: &str, code: Option<&str>) -> Answer {
        let Some(code) = code.filter(|code| !code.is_empty()) else {
            return invalid("The parameter code is required.").answer();
        };
        let state = self.number_state(id);
        if state.verified {
            return json_answer(200, &obj([("success", Value::Bool(true))]));
        }
        if state.pending_code.as_deref() != Some(code) {
            return registration_error(400, 136025, "Verify code error", "The verification code is incorrect.");
        }
        self.update_number(id, |number| {
            number.verified = true;
            number.pending_code = None;
        });
        json_answer(200, &obj([("success", Value::Bool(true))]))
    }

    fn register(&self, id: &str, product: Option<&str>, pin: Option<&str>) -> Answer {
        if !product.is_some_and(|product| product.eq_ignore_ascii_case("whatsapp")) {
            return invalid("Param messaging_product must be 'whatsapp'.").answer();
        }
        let Some(pin) = pin.filter(|pin| pin.len() == 6 && pin.chars().all(|c| c.is_ascii_digit())) else {
            return invalid("Param pin must be a 6-digit string.").answer();
        };
        let state = self.number_state(id);
        if !state.verified {
            return registration_error(
                400,
                133006,
                "Phone number re-verification needed",
                "Verify the phone number (request_code, verify_code) before registering it.",
            );
        }
        if let Some(registered) = &state.registered_pin
            && registered != pin
        {
            return registration_error(
                400,
                133005,
                "Two step verification PIN Mismatch",
                "The two-step verification PIN is incorrect.",
            );
        }
        self.update_number(id, |number| number.registered_pin = Some(pin.to_owned()));
        json_answer(200, &obj([("success", Value::Bool(true))]))
    }

    fn phone_number(&self, id: &str, fields: Option<&str>) -> Answer {
        let state = self.number_state(id);
        let registered = state.registered_pin.is_some();
        let all = [
            (
                "display_phone_number",
                Value::from(self.onboarding.display_phone_number.as_str()),
            ),
            ("verified_name", Value::from(self.onboarding.verified_name.as_str())),
            ("quality_rating", Value::from(self.onboarding.quality_rating.as_str())),
            (
                "code_verification_status",
                Value::from(if state.verified { "VERIFIED" } else { "NOT_VERIFIED" }),
            ),
            ("name_status", Value::from("APPROVED")),
            (
                "platform_type",
                Value::from(if registered { "CLOUD_API" } else { "NOT_APPLICABLE" }),
            ),
            ("status", Value::from(if registered { "CONNECTED" } else { "PENDING" })),
            ("throughput", obj([("level", Value::from("STANDARD"))])),
        ];
        let wanted: Vec<&str> = fields
            .map(|fields| fields.split(',').map(str::trim).filter(|f| !f.is_empty()).collect())
            .unwrap_or_default();
        let mut map = Map::new();
        for (name, value) in all {
            if wanted.is_empty() || wanted.contains(&name) {
                map.insert(name.to_owned(), value);
            }
        }
        map.insert("id".to_owned(), Value::from(id));
        json_answer(200, &Value::Object(map))
    }

    fn debug_token(&self, input_token: Option<&str>) -> Answer {
        let valid =
            input_token.is_some_and(|token| constant_time_eq(token.as_bytes(), self.config.access_token.as_bytes()));
        if !valid {
            let data = obj([
                (
                    "error",
                    obj([
                        ("code", Value::from(190)),
                        (
                            "message",
                            Value::from("Invalid OAuth access token - Cannot parse access token"),
                        ),
                    ]),
                ),
                ("is_valid", Value::Bool(false)),
                ("scopes", Value::Array(Vec::new())),
            ]);
            return json_answer(200, &obj([("data", data)]));
        }
        let scopes: Vec<Value> = self.onboarding.scopes.iter().map(|s| Value::from(s.as_str())).collect();
        let granular: Vec<Value> = self
            .onboarding
            .scopes
            .iter()
            .map(|scope| {
                obj([
                    ("scope", Value::from(scope.as_str())),
                    (
                        "target_ids",
                        Value::Array(vec![Value::from(self.onboarding.waba_id.as_str())]),
                    ),
                ])
            })
            .collect();
        let now = epoch_seconds();
        let data = obj([
            ("app_id", Value::from(self.onboarding.app_id.as_str())),
            ("type", Value::from("SYSTEM_USER")),
            ("application", Value::from("Bridge")),
            ("data_access_expires_at", Value::from(0)),
            ("expires_at", Value::from(0)),
            ("is_valid", Value::Bool(true)),
            ("issued_at", Value::from(now.saturating_sub(86_400))),
            ("scopes", Value::Array(scopes)),
            ("granular_scopes", Value::Array(granular)),
            ("user_id", Value::from("100000000000001")),
        ]);
        json_answer(200, &obj([("data", data)]))
    }

    fn subscribed_apps(&self, waba: &str) -> Answer {
        if waba != self.onboarding.waba_id {
            return not_found(&Method::GET, &format!("{waba}/subscribed_apps"));
        }
        let apps = if self.onboarding.subscribed {
            vec![obj([(
                "whatsapp_business_api_data",
                obj([
                    ("id", Value::from(self.onboarding.app_id.as_str())),
                    (
                        "link",
                        Value::from(format!(
                            "https://www.facebook.com/games/?app_id={}",
                            self.onboarding.app_id
                        )),
                    ),
                    ("name", Value::from("Bridge")),
                ]),
            )])]
        } else {
            Vec::new()
        };
        json_answer(200, &obj([("data", Value::Array(apps))]))
    }

    async fn handle_send(self: Arc<Self>, req: Request<Incoming>, version: String, phone_number_id: String) -> Answer {
        let authorized = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(bearer_token)
            .is_some_and(|token| constant_time_eq(token.as_bytes(), self.config.access_token.as_bytes()));

        let raw = Limited::new(req.into_body(), MAX_BODY_BYTES)
            .collect()
            .await
            .map(|c| c.to_bytes());
        let parsed: Result<Value, GraphError> = match &raw {
            Err(error) => Err(GraphError::invalid_parameter(format!(
                "Could not read the request body: {error}"
            ))),
            Ok(bytes) => serde_json::from_slice::<Value>(bytes)
                .map_err(|error| GraphError::invalid_parameter(format!("Invalid JSON in the request body: {error}"))),
        };
        let recorded_body = match (&parsed, &raw) {
            (Ok(value), _) => value.clone(),
            (Err(_), Ok(bytes)) => Value::from(String::from_utf8_lossy(bytes).into_owned()),
            (Err(_), Err(_)) => Value::Null,
        };
        let mut record = RecordedRequest {
            phone_number_id: phone_number_id.clone(),
            version,
            body: recorded_body,
            answered_status: 0,
            wamid: None,
        };

        let (answer, webhooks) = if !authorized {
            (expired_token(), None)
        } else {
            match parsed.and_then(|body| {
                if is_mark_as_read(&body) {
                    Err(GraphError::read_receipt())
                } else {
                    validate(&body)
                }
            }) {
                Err(error) if error.status == 200 => (json_answer(200, &obj([("success", Value::Bool(true))])), None),
                Err(error) => (error.answer(), None),
                Ok(recipient) => self.answer_valid(&recipient, &mut record),
            }
        };
        record.answered_status = answer.status().as_u16();
        let wamid = record.wamid.clone();
        self.lock().records.push(record);

        if !self.config.latency.is_zero() {
            tokio::time::sleep(self.config.latency).await;
        }
        if let (Some(delivery), Some(wamid)) = (webhooks, wamid)
            && self.config.send_status_webhooks
        {
            let me = Arc::clone(&self);
            tokio::spawn(async move { me.deliver_statuses(phone_number_id, delivery, wamid).await });
        }
        answer
    }

    /// Answers a valid, authorized send. Returns the answer and, for an accepted message, its delivery.
    fn answer_valid(&self, recipient: &Recipient, record: &mut RecordedRequest) -> (Answer, Option<Delivery>) {
        let fail = match outcome(&recipient.digits) {
            Outcome::Error(error) => return (error.answer(), None),
            Outcome::ExpiredToken => return (expired_token(), None),
            Outcome::EmptyServiceUnavailable => {
                let mut answer = Response::new(Full::new(Bytes::new()));
                *answer.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                return (answer, None);
            }
            Outcome::Flaky => {
                // Decided under the lock so that concurrent first sends get exactly one 429.
                if self.lock().flaky_seen.insert(recipient.digits.clone()) {
                    let error = GraphError {
                        status: 429,
                        code: 130429,
                        message: "(#130429) Rate limit hit".into(),
                        details: RATE_LIMIT_DETAILS.into(),
                    };
                    return (error.answer(), None);
                }
                false
            }
            Outcome::AcceptedThenFailed => true,
            Outcome::Accepted => false,
        };
        let wamid = new_wamid(&recipient.digits);
        record.wamid = Some(wamid.clone());
        let body = obj([
            ("messaging_product", Value::from("whatsapp")),
            (
                "contacts",
                Value::Array(vec![obj([
                    ("input", recipient.input.clone()),
                    ("wa_id", Value::from(recipient.digits.as_str())),
                ])]),
            ),
            (
                "messages",
                Value::Array(vec![obj([
                    ("id", Value::from(wamid)),
                    ("message_status", Value::from("accepted")),
                ])]),
            ),
        ]);
        (
            json_answer(200, &body),
            Some(Delivery {
                digits: recipient.digits.clone(),
                fail,
            }),
        )
    }

    async fn deliver_statuses(self: Arc<Self>, phone_number_id: String, delivery: Delivery, wamid: String) {
        let Delivery { digits, fail } = delivery;
        let Some(uri) = self.webhook_uri.clone() else {
            tracing::warn!(url = %self.config.webhook_url, "graph stand-in: no usable webhook_url; statuses dropped");
            return;
        };
        let conversation_id = random_hex(32);
        let statuses: &[&str] = if fail {
            &["sent", "failed"]
        } else {
            &["sent", "delivered", "read"]
        };
        for (index, status) in statuses.iter().enumerate() {
            if index > 0 && !self.config.status_delay.is_zero() {
                tokio::time::sleep(self.config.status_delay).await;
            }
            let status_object = status_json(status, &wamid, &digits, &conversation_id);
            let body = webhook_body(&self.config.phone_number_id_display, &phone_number_id, status_object);
            self.post_webhook(&uri, body, status, &wamid).await;
        }
    }

    async fn post_webhook(&self, uri: &Uri, body: Vec<u8>, status: &str, wamid: &str) {
        let signature = format!("sha256={}", sign(self.config.app_secret.as_bytes(), &body));
        let Ok(signature) = HeaderValue::from_str(&signature) else {
            tracing::error!("graph stand-in: signature is not a valid header value");
            return;
        };
        let body = Bytes::from(body);
        let mut backoff = WEBHOOK_FIRST_BACKOFF;
        for attempt in 1..=WEBHOOK_TRIES {
            let mut request = Request::new(Full::new(body.clone()));
            *request.method_mut() = Method::POST;
            *request.uri_mut() = uri.clone();
            let headers = request.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            headers.insert(USER_AGENT, HeaderValue::from_static("facebookexternalua"));
            headers.insert("x-hub-signature-256", signature.clone());
            let result = tokio::time::timeout(WEBHOOK_TRY_TIMEOUT, async {
                let response = self.client.request(request).await.map_err(|error| error.to_string())?;
                let code = response.status();
                // Drain the answer so the connection can be reused; its content does not matter.
                let _ = Limited::new(response.into_body(), MAX_BODY_BYTES).collect().await;
                Ok::<StatusCode, String>(code)
            })
            .await;
            let failure = match result {
                Ok(Ok(code)) if code == StatusCode::OK => return,
                Ok(Ok(code)) => format!("answered {code}"),
                Ok(Err(error)) => error,
                Err(_) => format!("no answer within {WEBHOOK_TRY_TIMEOUT:?}"),
            };
            if attempt == WEBHOOK_TRIES {
                tracing::warn!(%status, %wamid, %failure, "graph stand-in: status webhook given up after {attempt} tries");
                return;
            }
            tracing::debug!(%status, %wamid, %failure, attempt, "graph stand-in: status webhook failed; retrying");
            tokio::time::sleep(backoff).await;
            backoff = backoff.saturating_mul(2);
        }
    }
}

/// An onboarding or doctor route.
enum Route {
    DebugToken,
    PhoneNumber(String),
    SubscribedApps(String),
    RequestCode(String),
    VerifyCode(String),
    Register(String),
}

/// A registration error: Meta's shape, `error_data.details` saying what happened.
fn registration_error(status: u16, code: u64, title: &str, details: &str) -> Answer {
    GraphError {
        status,
        code,
        message: format!("(#{code}) {title}"),
        details: details.to_owned(),
    }
    .answer()
}

/// `name=value` pairs of a query string or form body, decoded.
fn query_pairs(raw: &str) -> Vec<(String, String)> {
    bridge::domain::form::parse(raw.as_bytes()).unwrap_or_default()
}

/// The status webhooks due for an accepted message.
struct Delivery {
    /// Recipient digits (`recipient_id`).
    digits: String,
    /// `sent` then `failed` instead of `sent`, `delivered`, `read`.
    fail: bool,
}

/// The recipient of a valid send.
struct Recipient {
    /// `to` (or `recipient`) exactly as sent.
    input: Value,
    /// Its digits.
    digits: String,
}

const RATE_LIMIT_DETAILS: &str =
    "Message failed to send because there were too many messages sent from this phone number in a short period of time";

fn outcome(digits: &str) -> Outcome {
    let error = |status: u16, code: u64, title: &str, details: &str| {
        Outcome::Error(GraphError {
            status,
            code,
            message: format!("(#{code}) {title}"),
            details: details.into(),
        })
    };
    if digits.starts_with("9991304") {
        error(400, 130429, "Rate limit hit", RATE_LIMIT_DETAILS)
    } else if digits.starts_with("9991310560") {
        error(
            400,
            131056,
            "(Business Account, Consumer Account) pair rate limit hit",
            "Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time",
        )
    } else if digits.starts_with("9991310000") {
        error(
            500,
            131000,
            "Something went wrong",
            "Message failed to send due to an unknown error",
        )
    } else if digits.starts_with("9991310260") {
        error(
            400,
            131026,
            "Message Undeliverable.",
            "Message undeliverable: the recipient may not be a WhatsApp user or may not have accepted the latest terms",
        )
    } else if digits.starts_with("9991310470") {
        error(
            400,
            131047,
            "Re-engagement message",
            "Message failed to send because more than 24 hours have passed since the customer last replied to this number",
        )
    } else if digits.starts_with("9991320000") {
        error(
            400,
            132000,
            "Number of parameters does not match the expected number of params",
            "The number of variable parameter values included in the request did not match the number of variable parameters defined in the template",
        )
    } else if digits.starts_with("9991000000") {
        error(
            400,
            100,
            "Invalid parameter",
            "Invalid parameter for this recipient (stand-in special recipient)",
        )
    } else if digits.starts_with("9991900000") {
        Outcome::ExpiredToken
    } else if digits.starts_with("9995000000") {
        Outcome::EmptyServiceUnavailable
    } else if digits.starts_with("9984290") {
        Outcome::Flaky
    } else if digits.starts_with("9970") {
        Outcome::AcceptedThenFailed
    } else {
        Outcome::Accepted
    }
}

/// Meta-like validation of a send body; returns the recipient.
fn validate(body: &Value) -> Result<Recipient, GraphError> {
    let Some(body) = body.as_object() else {
        return Err(invalid("The request body must be a JSON object"));
    };
    match body.get("messaging_product") {
        None => return Err(invalid("The parameter messaging_product is required.")),
        Some(Value::String(product)) if product == "whatsapp" => {}
        Some(_) => return Err(invalid("Param messaging_product must be 'whatsapp'.")),
    }
    let (field, input) = match (body.get("to"), body.get("recipient")) {
        (Some(to), _) => ("to", to),
        (None, Some(recipient)) => ("recipient", recipient),
        (None, None) => return Err(invalid("The parameter to is required.")),
    };
    let Some(input_text) = input.as_str() else {
        return Err(invalid(format!("Param {field} must be a string.")));
    };
    let Some(digits) = recipient_digits(input_text) else {
        return Err(invalid(format!(
            "Param {field} must be a phone number made of digits, got '{input_text}'."
        )));
    };
    let message_type = match body.get("type") {
        None => "text",
        Some(Value::String(kind)) if MESSAGE_TYPES.contains(&kind.as_str()) => kind.as_str(),
        Some(_) => {
            return Err(invalid(format!(
                "Param type must be one of {{{}}}.",
                MESSAGE_TYPES.join(", ")
            )));
        }
    };
    let Some(content) = body.get(message_type) else {
        return Err(invalid(format!("The parameter {message_type} is required.")));
    };
    if message_type == "contacts" {
        if content.as_array().is_none_or(|contacts| contacts.is_empty()) {
            return Err(invalid("Param contacts must be a non-empty array."));
        }
    } else if !content.is_object() {
        return Err(invalid(format!("Param {message_type} must be a JSON object.")));
    }
    match message_type {
        "text" => match content.get("body") {
            None => return Err(invalid("The parameter text.body is required.")),
            Some(Value::String(text)) => {
                let length = text.chars().count();
                if !(1..=4096).contains(&length) {
                    return Err(invalid(format!(
                        "Param text.body must be between 1 and 4096 characters long, got {length}."
                    )));
                }
            }
            Some(_) => return Err(invalid("Param text.body must be a string.")),
        },
        "template" => {
            non_empty_string(content.get("name"), "template.name")?;
            let code = content.get("language").and_then(|language| language.get("code"));
            non_empty_string(code, "template.language.code")?;
        }
        media if MEDIA_TYPES.contains(&media) => {
            let link = content.get("link");
            let id = content.get("id");
            match (link, id) {
                (Some(_), Some(_)) => {
                    return Err(invalid(format!(
                        "Param {media} must have exactly one of {media}.link or {media}.id, not both."
                    )));
                }
                (None, None) => {
                    return Err(invalid(format!(
                        "Param {media} must have exactly one of {media}.link or {media}.id."
                    )));
                }
                (Some(link), None) => non_empty_string(Some(link), &format!("{media}.link"))?,
                (None, Some(id)) => non_empty_string(Some(id), &format!("{media}.id"))?,
            }
        }
        _ => {}
    }
    Ok(Recipient {
        input: input.clone(),
        digits,
    })
}

/// `{"messaging_product":"whatsapp","status":"read","message_id":"wamid…"}`: Meta's mark-as-read call,
/// answered `{"success":true}`.
fn is_mark_as_read(body: &Value) -> bool {
    body.get("messaging_product").and_then(Value::as_str) == Some("whatsapp")
        && body.get("status").and_then(Value::as_str) == Some("read")
        && body
            .get("message_id")
            .and_then(Value::as_str)
            .is_some_and(|id| !id.is_empty())
}

impl GraphError {
    /// Not an error: the marker of a mark-as-read call (answered 200).
    fn read_receipt() -> Self {
        GraphError {
            status: 200,
            code: 0,
            message: String::new(),
            details: String::new(),
        }
    }
}

fn invalid(details: impl Into<String>) -> GraphError {
    GraphError::invalid_parameter(details)
}

fn non_empty_string(value: Option<&Value>, field: &str) -> Result<(), GraphError> {
    match value {
        None => Err(GraphError::invalid_parameter(format!(
            "The parameter {field} is required."
        ))),
        Some(Value::String(text)) if !text.is_empty() => Ok(()),
        Some(_) => Err(GraphError::invalid_parameter(format!(
            "Param {field} must be a non-empty string."
        ))),
    }
}

/// The digits of a phone number written with an optional leading `+` and separators; `None` if it has
/// anything else or no digit.
fn recipient_digits(input: &str) -> Option<String> {
    let input = input.trim();
    let input = input.strip_prefix('+').unwrap_or(input);
    let mut digits = String::with_capacity(input.len());
    for c in input.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return None,
        }
    }
    (!digits.is_empty()).then_some(digits)
}

/// `v` followed by digits and dots, starting with a digit (`v21.0`).
fn is_version(segment: &str) -> bool {
    segment.strip_prefix('v').is_some_and(|rest| {
        rest.starts_with(|c: char| c.is_ascii_digit()) && rest.chars().all(|c| c.is_ascii_digit() || c == '.')
    })
}

fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn expired_token() -> Answer {
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

fn not_found(method: &Method, path: &str) -> Answer {
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

fn json_answer(status: u16, body: &Value) -> Answer {
    let mut answer = Response::new(Full::new(Bytes::from(body.to_string())));
    *answer.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    answer
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    answer
}

fn status_json(status: &str, wamid: &str, digits: &str, conversation_id: &str) -> Value {
    let mut fields = Map::new();
    fields.insert("id".into(), Value::from(wamid));
    fields.insert("status".into(), Value::from(status));
    fields.insert("timestamp".into(), Value::from(epoch_seconds().to_string()));
    fields.insert("recipient_id".into(), Value::from(digits));
    match status {
        "sent" | "delivered" => {
            fields.insert(
                "conversation".into(),
                obj([
                    ("id", Value::from(conversation_id)),
                    ("origin", obj([("type", Value::from("service"))])),
                ]),
            );
            fields.insert(
                "pricing".into(),
                obj([
                    ("billable", Value::from(true)),
                    ("pricing_model", Value::from("PMP")),
                    ("category", Value::from("service")),
                ]),
            );
        }
        "failed" => {
            fields.insert(
                "errors".into(),
                Value::Array(vec![obj([
                    ("code", Value::from(131026)),
                    ("title", Value::from("Message undeliverable")),
                    ("message", Value::from("Message undeliverable")),
                    (
                        "error_data",
                        obj([(
                            "details",
                            Value::from("Message could not be delivered to the recipient"),
                        )]),
                    ),
                ])]),
            );
        }
        _ => {}
    }
    Value::Object(fields)
}

/// A complete Meta webhook body holding one status, serialized as Meta does.
fn webhook_body(display_phone_number: &str, phone_number_id: &str, status: Value) -> Vec<u8> {
    let value = obj([
        ("messaging_product", Value::from("whatsapp")),
        (
            "metadata",
            obj([
                ("display_phone_number", Value::from(display_phone_number)),
                ("phone_number_id", Value::from(phone_number_id)),
            ]),
        ),
        ("statuses", Value::Array(vec![status])),
    ]);
    let change = obj([("value", value), ("field", Value::from("messages"))]);
    let entry = obj([("id", Value::from(WABA_ID)), ("changes", Value::Array(vec![change]))]);
    let webhook = obj([
        ("object", Value::from("whatsapp_business_account")),
        ("entry", Value::Array(vec![entry])),
    ]);
    meta_json(&webhook)
}

/// Compact JSON with non-ASCII characters as `\uXXXX` (UTF-16) and `/` as `\/`, as Meta sends it.
fn meta_json(value: &Value) -> Vec<u8> {
    let compact = value.to_string();
    let mut out = String::with_capacity(compact.len());
    // serde_json never escapes `/` or non-ASCII, and both can only occur inside strings, so escaping
    // them here keeps the JSON valid and equal in meaning.
    for c in compact.chars() {
        if c == '/' {
            out.push_str("\\/");
        } else if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        }
    }
    out.into_bytes()
}

/// Lowercase hex HMAC-SHA256.
fn sign(secret: &[u8], body: &[u8]) -> String {
    match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(body);
            hex::encode(mac.finalize().into_bytes())
        }
        // HMAC takes keys of any length; this arm is unreachable in practice.
        Err(_) => String::new(),
    }
}

fn obj<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::Object(pairs.into_iter().map(|(key, value)| (key.to_owned(), value)).collect())
}

fn epoch_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos()),
    );
    hasher.finish()
}

fn random_hex(length: usize) -> String {
    let mut out = String::with_capacity(length + 16);
    while out.len() < length {
        let _ = write!(out, "{:016x}", random_u64());
    }
    out.truncate(length);
    out
}

/// A Graph-like trace id: `A` and 22 alphanumerics.
fn fbtrace_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::from("A");
    let mut bits = random_u64();
    for index in 0..22 {
        if index % 10 == 9 {
            bits = random_u64();
        }
        let position = usize::try_from(bits % 62).unwrap_or(0);
        out.push(char::from(ALPHABET.get(position).copied().unwrap_or(b'A')));
        bits /= 62;
    }
    out
}

/// A wamid shaped like Meta's: `wamid.` + base64 of a small binary record holding the recipient and a
/// 18-character message id (process-wide counter + random bits, so unique within the process).
fn new_wamid(digits: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let counter = COUNTER.fetch_add(1, Ordering::Relaxed) & 0xFFFF_FFFF;
    let message_id = format!("{counter:08X}{:010X}", random_u64() & 0xFF_FFFF_FFFF);
    let digits = digits.get(..digits.len().min(32)).unwrap_or("");
    let mut raw = vec![0x1C, 0x18, u8::try_from(digits.len()).unwrap_or(0)];
    raw.extend_from_slice(digits.as_bytes());
    raw.extend_from_slice(&[0x15, 0x02, 0x00, 0x11, 0x18, 0x12]);
    raw.extend_from_slice(message_id.as_bytes());
    raw.push(0x00);
    format!("wamid.{}", base64(&raw))
}

/// Standard base64 with padding.
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let symbol = |index: u32| char::from(ALPHABET.get((index & 63) as usize).copied().unwrap_or(b'A'));
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b0 = u32::from(chunk.first().copied().unwrap_or(0));
        let b1 = u32::from(chunk.get(1).copied().unwrap_or(0));
        let b2 = u32::from(chunk.get(2).copied().unwrap_or(0));
        let triple = (b0 << 16) | (b1 << 8) | b2;
        out.push(symbol(triple >> 18));
        out.push(symbol(triple >> 12));
        out.push(if chunk.len() > 1 { symbol(triple >> 6) } else { '=' });
        out.push(if chunk.len() > 2 { symbol(triple) } else { '=' });
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_known_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn wamids_look_like_meta_and_are_unique() {
        let a = new_wamid("15551234567");
        let b = new_wamid("15551234567");
        assert!(a.starts_with("wamid.HBgL"), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn meta_json_escapes_like_meta_and_stays_equal() {
        let value = serde_json::json!({"a": "é/😀", "b": [1, "x"]});
        let bytes = meta_json(&value);
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert_eq!(text, r#"{"a":"\u00e9\/\ud83d\ude00","b":[1,"x"]}"#);
        assert_eq!(serde_json::from_slice::<Value>(&bytes).unwrap(), value);
    }

    #[test]
    fn recipient_digits_accepts_plus_and_separators_only() {
        assert_eq!(recipient_digits("+1 (555) 123-45.67").as_deref(), Some("15551234567"));
        assert_eq!(recipient_digits("15551234567").as_deref(), Some("15551234567"));
        assert_eq!(recipient_digits(""), None);
        assert_eq!(recipient_digits("+"), None);
        assert_eq!(recipient_digits("1555abc"), None);
    }

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
    fn sign_matches_rfc4231_case_2() {
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn fbtrace_ids_are_alphanumeric() {
        let id = fbtrace_id();
        assert_eq!(id.len(), 23);
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(id, fbtrace_id());
    }
}
