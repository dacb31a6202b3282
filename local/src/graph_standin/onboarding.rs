//! The number onboarding API (`request_code`, `verify_code`, `register`) and the reads of `wabridge doctor`
//! (the phone number's fields, `debug_token`, `subscribed_apps`), with each phone number id's state in memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Request};
use serde_json::{Map, Value};

use super::answers::{
    Answer, GraphError, MAX_BODY_BYTES, bearer_token, invalid, is_version, json_answer, not_found, obj, success,
};
use super::ids::{WABA_ID, epoch_seconds, random_code};
use crate::twilio_standin::{Speech, TwilioStandin, robot_speech_in};

/// The locales `request_code` accepts for `language`: Meta's supported languages.
pub use bridge::domain::verification::META_LOCALES as REQUEST_CODE_LANGUAGES;

/// One `request_code` the stand-in accepted, as `GET /_standin/code-requests` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRequest {
    pub phone_number_id: String,
    /// `SMS` or `VOICE`.
    pub code_method: String,
    /// The locale the code is read (or written) in.
    pub language: String,
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
    pub twilio: Option<Arc<TwilioStandin>>,
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
    /// The app's webhook fields (`GET /{app-id}/subscriptions`, with the app's token).
    pub webhook_fields: Vec<String>,
    /// `whatsapp_business_manager_messaging_limit` (`TIER_250`, `TIER_2K`, … `TIER_UNLIMITED`).
    pub messaging_limit: String,
    /// `throughput.level`: `STANDARD` (80 messages/s) or `HIGH` (1,000).
    pub throughput_level: String,
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
            webhook_fields: bridge::domain::health::BUNDLE_WEBHOOK_FIELDS
                .iter()
                .map(|field| (*field).to_owned())
                .collect(),
            messaging_limit: "TIER_2K".to_owned(),
            throughput_level: "STANDARD".to_owned(),
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

/// An onboarding or doctor route.
pub enum Route {
    DebugToken,
    PhoneNumber(String),
    SubscribedApps(String),
    MessageTemplates(String),
    RequestCode(String),
    VerifyCode(String),
    Register(String),
}

impl Route {
    /// The route of a path (split on `/`, without the leading and trailing slash), if it is one.
    pub fn parse(segments: &[&str], method: &Method) -> Option<Self> {
        match segments {
            [version, "debug_token"] if is_version(version) && method == Method::GET => Some(Self::DebugToken),
            [version, id, edge] if is_version(version) && !id.is_empty() => {
                let id = (*id).to_owned();
                match (*edge, method) {
                    ("request_code", &Method::POST) => Some(Self::RequestCode(id)),
                    ("verify_code", &Method::POST) => Some(Self::VerifyCode(id)),
                    ("register", &Method::POST) => Some(Self::Register(id)),
                    ("subscribed_apps", &Method::GET) => Some(Self::SubscribedApps(id)),
                    ("message_templates", &Method::GET) => Some(Self::MessageTemplates(id)),
                    _ => None,
                }
            }
            [version, id] if is_version(version) && !id.is_empty() && method == Method::GET => {
                Some(Self::PhoneNumber((*id).to_owned()))
            }
            _ => None,
        }
    }
}

/// The parameters of a call, from the query string, a JSON body or a form body (as the Graph API reads
/// them), and the access token it presented.
pub struct Params {
    pairs: Vec<(String, String)>,
    header_token: Option<String>,
    /// `http://<Host><path>`: where this request went (a page's `paging.next`).
    self_url: String,
}

impl Params {
    /// Reads the request; a body that cannot be read or is bad JSON is answered 400.
    pub async fn read(req: Request<Incoming>) -> Result<Self, Answer> {
        let mut pairs = query_pairs(req.uri().query().unwrap_or_default());
        let host = req
            .headers()
            .get(hyper::header::HOST)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("127.0.0.1");
        let self_url = format!("http://{host}{}", req.uri().path().trim_end_matches('/'));
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
            return Err(GraphError::invalid_parameter("Could not read the request body").answer());
        };
        if !body.is_empty() {
            if content_type.contains("json") {
                match serde_json::from_slice::<Value>(&body) {
                    Ok(Value::Object(map)) => pairs.extend(map.into_iter().map(|(key, value)| {
                        let text = match value {
                            Value::String(text) => text,
                            other => other.to_string(),
                        };
                        (key, text)
                    })),
                    _ => return Err(GraphError::invalid_parameter("Invalid JSON in the request body").answer()),
                }
            } else {
                pairs.extend(query_pairs(&String::from_utf8_lossy(&body)));
            }
        }
        Ok(Self {
            pairs,
            header_token,
            self_url,
        })
    }

    pub fn get(&self, name: &str) -> Option<String> {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    }

    /// The URL this request went to, without its query.
    pub fn url(&self) -> String {
        self.self_url.clone()
    }

    /// `Authorization: Bearer`, else the `access_token` parameter.
    pub fn access_token(&self) -> Option<String> {
        self.header_token.clone().or_else(|| self.get("access_token"))
    }
}

/// The onboarding routes' state.
pub struct Onboarding {
    config: OnboardingConfig,
    numbers: Mutex<HashMap<String, NumberState>>,
    code_requests: Mutex<Vec<CodeRequest>>,
    /// The `name` of every message_templates read (`None`: every template), in order.
    template_reads: Mutex<Vec<Option<String>>>,
}

impl Onboarding {
    pub fn new(config: OnboardingConfig) -> Self {
        Self {
            config,
            numbers: Mutex::new(HashMap::new()),
            code_requests: Mutex::new(Vec::new()),
            template_reads: Mutex::new(Vec::new()),
        }
    }

    pub fn config(&self) -> &OnboardingConfig {
        &self.config
    }

    /// The `name` filter of every `message_templates` page served so far, in order.
    pub fn template_reads(&self) -> Vec<Option<String>> {
        self.template_reads
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Every `request_code` accepted so far, in order.
    pub fn code_requests(&self) -> Vec<CodeRequest> {
        self.code_requests
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// [`Self::code_requests`] as JSON: `[{"phone_number_id", "code_method", "language"}]`.
    pub fn code_requests_json(&self) -> Value {
        Value::Array(
            self.code_requests()
                .into_iter()
                .map(|request| {
                    obj([
                        ("phone_number_id", Value::from(request.phone_number_id)),
                        ("code_method", Value::from(request.code_method)),
                        ("language", Value::from(request.language)),
                    ])
                })
                .collect(),
        )
    }

    /// Answers an authorized call. `input_token_valid`: whether `input_token` is the accepted token
    /// (what `debug_token` reports).
    pub fn answer(&self, route: Route, params: &Params, input_token_valid: bool) -> Answer {
        match route {
            Route::DebugToken => self.debug_token(input_token_valid),
            Route::SubscribedApps(waba) => self.subscribed_apps(&waba),
            Route::MessageTemplates(waba) => {
                if waba != self.config.waba_id {
                    return not_found(&Method::GET, &format!("{waba}/message_templates"));
                }
                let name = params.get("name");
                self.template_reads
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push(name.clone());
                super::templates::page(
                    name.as_deref(),
                    params.get("limit").as_deref(),
                    params.get("after").as_deref(),
                    &params.url(),
                )
            }
            Route::PhoneNumber(id) => self.phone_number(&id, params.get("fields").as_deref()),
            Route::RequestCode(id) => self.request_code(
                &id,
                params.get("code_method").as_deref(),
                params.get("language").as_deref(),
            ),
            Route::VerifyCode(id) => self.verify_code(&id, params.get("code").as_deref()),
            Route::Register(id) => self.register(
                &id,
                params.get("messaging_product").as_deref(),
                params.get("pin").as_deref(),
            ),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, NumberState>> {
        // A poisoned lock only means another task panicked mid-update; the data is still usable.
        self.numbers.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The number's state (created on first use), changed by `change`.
    fn update_number(&self, id: &str, change: impl FnOnce(&mut NumberState)) -> NumberState {
        let mut numbers = self.lock();
        let number = numbers.entry(id.to_owned()).or_insert_with(|| NumberState {
            verified: self.config.registered_pin.is_some(),
            registered_pin: self.config.registered_pin.clone(),
            ..NumberState::default()
        });
        change(number);
        number.clone()
    }

    fn number_state(&self, id: &str) -> NumberState {
        self.update_number(id, |_| {})
    }

    fn request_code(&self, id: &str, method: Option<&str>, language: Option<&str>) -> Answer {
        let method = match method {
            Some(method) if method.eq_ignore_ascii_case("SMS") || method.eq_ignore_ascii_case("VOICE") => {
                method.to_ascii_uppercase()
            }
            Some(_) => return invalid("Param code_method must be one of {SMS, VOICE}").answer(),
            None => return invalid("The parameter code_method is required.").answer(),
        };
        let Some(language) = language.filter(|language| !language.is_empty()) else {
            return invalid("The parameter language is required.").answer();
        };
        if !REQUEST_CODE_LANGUAGES.contains(&language) {
            return invalid(format!(
                "Param language must be a supported locale such as en_US or pt_BR (got {language:?})"
            ))
            .answer();
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
        if state.code_requests >= self.config.max_code_requests {
            return registration_error(
                400,
                136024,
                "Request code error",
                "Too many verification code requests for this phone number. Try again later.",
            );
        }
        let code = random_code();
        self.update_number(id, |number| {
            number.code_requests += 1;
            number.pending_code = Some(code.clone());
        });
        self.code_requests
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(CodeRequest {
                phone_number_id: id.to_owned(),
                code_method: method.clone(),
                language: language.to_owned(),
            });
        if method == "VOICE"
            && let Some(twilio) = self.config.twilio.clone()
        {
            let spoken = match self.config.spoken_code {
                SpokenCode::TheCode => code,
                SpokenCode::AnotherCode => format!("{:06}", (code.parse::<u32>().unwrap_or(0) + 1) % 1_000_000),
            };
            let (delay, robot, display, language) = (
                self.config.call_delay,
                self.config.robot_number.clone(),
                self.config.display_phone_number.clone(),
                language.to_owned(),
            );
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let speech = Speech {
                    text: robot_speech_in(&spoken, &language),
                    confidence: 0.93,
                    language,
                };
                twilio.call(&robot, &display, &speech).await;
            });
        }
        success()
    }

    fn verify_code(&self, id: &str, code: Option<&str>) -> Answer {
        let Some(code) = code.filter(|code| !code.is_empty()) else {
            return invalid("The parameter code is required.").answer();
        };
        let state = self.number_state(id);
        if state.verified {
            return success();
        }
        if state.pending_code.as_deref() != Some(code) {
            return registration_error(400, 136025, "Verify code error", "The verification code is incorrect.");
        }
        self.update_number(id, |number| {
            number.verified = true;
            number.pending_code = None;
        });
        success()
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
        success()
    }

    fn phone_number(&self, id: &str, fields: Option<&str>) -> Answer {
        let state = self.number_state(id);
        let registered = state.registered_pin.is_some();
        let all = [
            (
                "display_phone_number",
                Value::from(self.config.display_phone_number.as_str()),
            ),
            ("verified_name", Value::from(self.config.verified_name.as_str())),
            ("quality_rating", Value::from(self.config.quality_rating.as_str())),
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
            (
                "throughput",
                obj([("level", Value::from(self.config.throughput_level.as_str()))]),
            ),
            (
                "whatsapp_business_manager_messaging_limit",
                Value::from(self.config.messaging_limit.as_str()),
            ),
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

    fn debug_token(&self, valid: bool) -> Answer {
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
        let scopes: Vec<Value> = self.config.scopes.iter().map(|s| Value::from(s.as_str())).collect();
        let granular: Vec<Value> = self
            .config
            .scopes
            .iter()
            .map(|scope| {
                obj([
                    ("scope", Value::from(scope.as_str())),
                    (
                        "target_ids",
                        Value::Array(vec![Value::from(self.config.waba_id.as_str())]),
                    ),
                ])
            })
            .collect();
        let now = epoch_seconds();
        let data = obj([
            ("app_id", Value::from(self.config.app_id.as_str())),
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
        if waba != self.config.waba_id {
            return not_found(&Method::GET, &format!("{waba}/subscribed_apps"));
        }
        let apps = if self.config.subscribed {
            vec![obj([(
                "whatsapp_business_api_data",
                obj([
                    ("id", Value::from(self.config.app_id.as_str())),
                    (
                        "link",
                        Value::from(format!("https://www.facebook.com/games/?app_id={}", self.config.app_id)),
                    ),
                    ("name", Value::from("Bridge")),
                ]),
            )])]
        } else {
            Vec::new()
        };
        json_answer(200, &obj([("data", Value::Array(apps))]))
    }
}

/// A registration error: Meta's shape, `error_data.details` saying what happened.
fn registration_error(status: u16, code: u64, title: &str, details: &str) -> Answer {
    GraphError::new(status, code, title, details).answer()
}

/// `name=value` pairs of a query string or form body, decoded.
fn query_pairs(raw: &str) -> Vec<(String, String)> {
    bridge::domain::form::parse(raw.as_bytes()).unwrap_or_default()
}
