//! A local stand-in for Twilio: the REST API subset `wabridge doctor` reads, and the phone call that
//! Meta's verification robot makes to a Twilio number.
//!
//! # REST routes
//!
//! | method and path | answer |
//! | --- | --- |
//! | `GET /2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers.json[?PhoneNumber=+1555…]` | Twilio's list resource: `{"incoming_phone_numbers":[{sid, account_sid, phone_number, friendly_name, voice_url, voice_method, …}], "page":0, "page_size":50, …}`; `PhoneNumber` filters by number (digits compared) |
//! | anything else | `404` `{"code":20404,"message":"The requested resource … was not found",…}` |
//!
//! Every request needs HTTP basic auth `AccountSid:AuthToken` matching [`TwilioStandinConfig`], and the path's
//! account SID must be that account: otherwise `401` `{"code":20003,"message":"Authenticate","more_info":
//! "https://www.twilio.com/docs/errors/20003","status":401}` with `WWW-Authenticate`, as Twilio answers.
//!
//! # The verification call
//!
//! [`TwilioStandin::call`] plays an incoming call to one of its numbers the way Twilio would: it POSTs the
//! number's `voice_url` a form (`CallSid`, `AccountSid`, `From`, `To`, `CallStatus=ringing`,
//! `Direction=inbound`, `ApiVersion`) signed with `X-Twilio-Signature` (the account's auth token, over the
//! URL and the sorted parameters), reads the `<Gather action="…">` of the TwiML answer, and POSTs that
//! action the robot's speech (`SpeechResult`, `Confidence`), signed the same way.
//!
//! The robot speaks the language its code was requested in ([`Speech::language`], Meta's locale, e.g. `pt_BR`).
//! Twilio's recogniser transcribes it only when the `<Gather language="…">` (default `en-US`, as Twilio's) is
//! the same language (primary subtag: `pt-BR` hears `pt_BR` and `pt_PT`); otherwise it understands nothing and
//! the gather action gets no `SpeechResult`, as Twilio posts an empty result, and the call's record says why.
//!
//! With a [`WebhookSharedKey`] configured (a Webhook Rule matching the URL, in Twilio's terms) it signs with that
//! key and HMAC-SHA256 instead and says so in `X-Twilio-Webhooks-Signature-Settings: key=<sid>,
//! algorithm=HMAC_SHA256`; the signed string is the same.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bridge::domain::form;
use bridge::domain::secret::Secret;
use bridge::domain::twilio_signature;
use bridge::domain::verify_token::tokens_equal;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE};
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// Largest TwiML answer read.
const MAX_TWIML_BYTES: usize = 64 * 1024;
/// Twilio gives a webhook 15 s.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(15);

/// One number of the account (`IncomingPhoneNumber`).
#[derive(Debug, Clone)]
pub struct IncomingNumber {
    /// `PN` + 32 hex characters.
    pub sid: String,
    /// E.164, e.g. `+15550101234`.
    pub phone_number: String,
    /// "A call comes in" webhook.
    pub voice_url: String,
    /// `POST` or `GET`.
    pub voice_method: String,
}

/// Configuration of a [`TwilioStandin`].
#[derive(Debug, Clone)]
pub struct TwilioStandinConfig {
    /// `AC` + 32 hex characters.
    pub account_sid: String,
    /// Basic-auth password of the REST API and key of `X-Twilio-Signature`.
    pub auth_token: String,
    pub numbers: Vec<IncomingNumber>,
    /// Sign webhooks with this Webhook Rule shared key instead of the auth token.
    pub webhook_shared_key: Option<WebhookSharedKey>,
}

/// A Webhook Rule's SharedKey, as Twilio signs with it.
#[derive(Debug, Clone)]
pub struct WebhookSharedKey {
    /// The key's sid, named in `X-Twilio-Webhooks-Signature-Settings`.
    pub sid: String,
    /// The key's secret.
    pub secret: String,
    /// `HMAC_SHA256` (what Twilio's Settings use) or `HMAC_SHA1`.
    pub algorithm: twilio_signature::Algorithm,
}

/// What the robot says when it calls.
#[derive(Debug, Clone)]
pub struct Speech {
    /// Twilio's transcription, e.g. `Your WhatsApp code is 4 8 2 9 1 7. Again, 4 8 2 9 1 7.`
    pub text: String,
    /// 0–1.
    pub confidence: f64,
    /// The locale the robot speaks (Meta's `request_code` `language`, e.g. `en_US`, `pt_BR`).
    pub language: String,
}

/// How a call went: the TwiML of each webhook, in order.
#[derive(Debug, Clone, Default)]
pub struct CallRecord {
    pub call_sid: String,
    pub to: String,
    /// `(url, HTTP status, TwiML)` of each webhook POSTed.
    pub webhooks: Vec<(String, u16, String)>,
    /// Why the call stopped early, if it did.
    pub error: Option<String>,
    /// The `<Gather language>` the call was listened to in.
    pub gather_language: Option<String>,
}

/// The stand-in; share it as `Arc<TwilioStandin>`.
pub struct TwilioStandin {
    config: TwilioStandinConfig,
    client: Client<HttpConnector, Full<Bytes>>,
    calls: std::sync::Mutex<Vec<CallRecord>>,
}

type Answer = Response<Full<Bytes>>;

impl TwilioStandin {
    pub fn new(config: TwilioStandinConfig) -> Arc<Self> {
        Arc::new(Self {
            config,
            client: Client::builder(TokioExecutor::new()).build_http(),
            calls: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// The account SID.
    pub fn account_sid(&self) -> &str {
        &self.config.account_sid
    }

    /// Every call placed so far.
    pub fn calls(&self) -> Vec<CallRecord> {
        self.calls.lock().map(|calls| calls.clone()).unwrap_or_default()
    }

    /// Accepts connections forever.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) {
        crate::http_server::serve(listener, "twilio stand-in", move |request| {
            let answer = self.handle(&request);
            async move { answer }
        })
        .await
    }

    fn handle(&self, request: &Request<Incoming>) -> Answer {
        let path = request.uri().path();
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let ["2010-04-01", "Accounts", account, "IncomingPhoneNumbers.json"] = segments.as_slice() else {
            return not_found(path);
        };
        if !self.authorized(request, account) {
            return unauthorized();
        }
        if request.method() != Method::GET {
            return not_found(path);
        }
        let query = form::parse(request.uri().query().unwrap_or_default().as_bytes()).unwrap_or_default();
        let wanted = form::first(&query, "PhoneNumber").map(digits);
        let numbers: Vec<Value> = self
            .config
            .numbers
            .iter()
            .filter(|number| {
                wanted
                    .as_ref()
                    .is_none_or(|wanted| digits(&number.phone_number) == *wanted)
            })
            .map(|number| self.number_json(number))
            .collect();
        let uri = format!("/2010-04-01/Accounts/{account}/IncomingPhoneNumbers.json");
        json_answer(
            200,
            &json!({
                "incoming_phone_numbers": numbers,
                "first_page_uri": format!("{uri}?PageSize=50&Page=0"),
                "next_page_uri": null,
                "previous_page_uri": null,
                "page": 0,
                "page_size": 50,
                "start": 0,
                "end": numbers.len().saturating_sub(1),
                "uri": format!("{uri}?PageSize=50&Page=0"),
            }),
        )
    }

    fn number_json(&self, number: &IncomingNumber) -> Value {
        json!({
            "account_sid": self.config.account_sid,
            "sid": number.sid,
            "phone_number": number.phone_number,
            "friendly_name": number.phone_number,
            "voice_url": number.voice_url,
            "voice_method": number.voice_method,
            "voice_fallback_url": null,
            "status_callback": "",
            "sms_url": "",
            "capabilities": {"voice": true, "sms": true, "mms": false, "fax": false},
            "api_version": "2010-04-01",
            "uri": format!("/2010-04-01/Accounts/{}/IncomingPhoneNumbers/{}.json", self.config.account_sid, number.sid),
        })
    }

    fn authorized(&self, request: &Request<Incoming>, path_account: &str) -> bool {
        let Some(credentials) = request
            .headers()
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Basic "))
            .and_then(|encoded| BASE64.decode(encoded.trim()).ok())
            .and_then(|decoded| String::from_utf8(decoded).ok())
        else {
            return false;
        };
        let Some((user, password)) = credentials.split_once(':') else {
            return false;
        };
        user == self.config.account_sid
            && path_account == self.config.account_sid
            && tokens_equal(password, &self.config.auth_token)
    }

    /// Plays an incoming call from `from` to the account's number `to` (any format; digits compared):
    /// the voice webhook, then the gather callback with `speech`. The record is kept ([`Self::calls`]).
    pub async fn call(&self, from: &str, to: &str, speech: &Speech) -> CallRecord {
        let call_sid = format!("CA{}", random_hex32());
        let mut record = CallRecord {
            call_sid: call_sid.clone(),
            to: to.to_owned(),
            ..CallRecord::default()
        };
        let result = self.play(from, to, speech, &mut record).await;
        if let Err(error) = result {
            tracing::warn!(%error, to, "twilio stand-in: the verification call did not complete");
            record.error = Some(error);
        }
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(record.clone());
        }
        record
    }

    async fn play(&self, from: &str, to: &str, speech: &Speech, record: &mut CallRecord) -> Result<(), String> {
        let number = self
            .config
            .numbers
            .iter()
            .find(|number| digits(&number.phone_number) == digits(to))
            .ok_or_else(|| format!("{to} is not a number of this account"))?;
        let mut params = vec![
            ("AccountSid".to_owned(), self.config.account_sid.clone()),
            ("ApiVersion".to_owned(), "2010-04-01".to_owned()),
            ("CallSid".to_owned(), record.call_sid.clone()),
            ("CallStatus".to_owned(), "ringing".to_owned()),
            ("Direction".to_owned(), "inbound".to_owned()),
            ("From".to_owned(), from.to_owned()),
            ("To".to_owned(), number.phone_number.clone()),
        ];
        let twiml = self.webhook(&number.voice_url, &params, record).await?;
        let action = gather_action(&twiml).ok_or("the voice webhook's TwiML has no <Gather action=…>")?;
        // Twilio resolves a relative action against the webhook's URL.
        let action = if action.starts_with("http://") || action.starts_with("https://") {
            action
        } else {
            let origin: String = number.voice_url.split('/').take(3).collect::<Vec<_>>().join("/");
            format!("{origin}{action}")
        };
        if let Some(status) = params.iter_mut().find(|(name, _)| name == "CallStatus") {
            status.1 = "in-progress".to_owned();
        }
        let listening = gather_attribute(&twiml, "language").unwrap_or_else(|| "en-US".to_owned());
        record.gather_language = Some(listening.clone());
        let understood = same_language(&listening, &speech.language);
        if understood {
            params.push(("Confidence".to_owned(), format!("{:.2}", speech.confidence)));
            params.push(("SpeechResult".to_owned(), speech.text.clone()));
        }
        self.webhook(&action, &params, record).await?;
        if !understood {
            return Err(format!(
                "the robot spoke {} but <Gather> listened in {listening}: nothing was understood",
                speech.language
            ));
        }
        Ok(())
    }

    /// POSTs one signed webhook; the TwiML answered.
    async fn webhook(&self, url: &str, params: &[(String, String)], record: &mut CallRecord) -> Result<String, String> {
        let uri: Uri = url.parse().map_err(|error| format!("bad webhook URL {url}: {error}"))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!("the stand-in only calls plain http webhooks, not {url}"));
        }
        let (signature, settings) = match &self.config.webhook_shared_key {
            None => (
                twilio_signature::expected_signature(&Secret::new(self.config.auth_token.clone()), url, params),
                None,
            ),
            Some(key) => (
                twilio_signature::expected_signature_with(key.algorithm, &Secret::new(key.secret.clone()), url, params),
                Some(format!("key={},algorithm={}", key.sid, key.algorithm.as_str())),
            ),
        };
        let body: Vec<String> = params
            .iter()
            .map(|(name, value)| format!("{}={}", form::encode(name), form::encode(value)))
            .collect();
        let mut request = Request::new(Full::new(Bytes::from(body.join("&"))));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = uri;
        let headers = request.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        headers.insert(
            "x-twilio-signature",
            HeaderValue::from_str(&signature).map_err(|error| error.to_string())?,
        );
        if let Some(settings) = settings {
            headers.insert(
                twilio_signature::SETTINGS_HEADER,
                HeaderValue::from_str(&settings).map_err(|error| error.to_string())?,
            );
        }
        let answer = tokio::time::timeout(WEBHOOK_TIMEOUT, async {
            let response = self.client.request(request).await.map_err(|error| error.to_string())?;
            let status = response.status().as_u16();
            let bytes = Limited::new(response.into_body(), MAX_TWIML_BYTES)
                .collect()
                .await
                .map_err(|error| error.to_string())?
                .to_bytes();
            Ok::<_, String>((status, String::from_utf8_lossy(&bytes).into_owned()))
        })
        .await
        .map_err(|_| format!("{url} did not answer within {WEBHOOK_TIMEOUT:?} (Twilio error 11205)"))??;
        record.webhooks.push((url.to_owned(), answer.0, answer.1.clone()));
        if answer.0 != 200 {
            return Err(format!("{url} answered HTTP {}", answer.0));
        }
        Ok(answer.1)
    }
}

/// The `action` attribute of the first `<Gather>` (XML entities decoded).
pub fn gather_action(twiml: &str) -> Option<String> {
    gather_attribute(twiml, "action")
}

/// Whether two language tags (`pt-BR`, Meta's `pt_BR`) name the same language: their primary subtags.
pub fn same_language(a: &str, b: &str) -> bool {
    let primary = |tag: &str| {
        tag.trim()
            .split(['-', '_'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    primary(a) == primary(b)
}

/// The attribute `name` of the first `<Gather>` (XML entities decoded).
pub fn gather_attribute(twiml: &str, name: &str) -> Option<String> {
    let start = twiml.find("<Gather")?;
    let tag = twiml.get(start..)?;
    let tag = tag.get(..tag.find('>')?)?;
    let key = format!(" {name}=\"");
    let value_start = tag.find(&key)? + key.len();
    let rest = tag.get(value_start..)?;
    let value = rest.get(..rest.find('"')?)?;
    Some(
        value
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

/// The robot's words for a code, in English: `Your WhatsApp code is 4 8 2 9 1 7. Again, 4 8 2 9 1 7.`
pub fn robot_speech(code: &str) -> String {
    robot_speech_in(code, "en_US")
}

/// The robot's words for a code in Meta's locale `language`, as Twilio's recogniser writes them down: the
/// Portuguese and Spanish ones read the code once in words and once in numerals (`O seu código do WhatsApp é
/// quatro oito dois nove um sete. Repetindo, 4 8 2 9 1 7.`); other languages but English get numerals only.
pub fn robot_speech_in(code: &str, language: &str) -> String {
    const PORTUGUESE: [&str; 10] = [
        "zero", "um", "dois", "três", "quatro", "cinco", "seis", "sete", "oito", "nove",
    ];
    const SPANISH: [&str; 10] = [
        "cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve",
    ];
    let spaced: Vec<String> = code.chars().map(String::from).collect();
    let spaced = spaced.join(" ");
    let words = |names: &[&str; 10]| -> String {
        let words: Vec<&str> = code
            .chars()
            .filter_map(|c| c.to_digit(10).and_then(|d| names.get(d as usize).copied()))
            .collect();
        words.join(" ")
    };
    if same_language(language, "pt") {
        format!(
            "O seu código do WhatsApp é {}. Repetindo, {spaced}.",
            words(&PORTUGUESE)
        )
    } else if same_language(language, "es") {
        format!("Su código de WhatsApp es {}. Repito, {spaced}.", words(&SPANISH))
    } else if same_language(language, "en") {
        format!("Your WhatsApp code is {spaced}. Again, {spaced}.")
    } else {
        format!("{spaced}. {spaced}.")
    }
}

fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

fn random_hex32() -> String {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut out = String::new();
    for _ in 0..2 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        out.push_str(&format!("{:016x}", hasher.finish()));
    }
    out
}

fn json_answer(status: u16, body: &Value) -> Answer {
    let mut answer = Response::new(Full::new(Bytes::from(body.to_string())));
    *answer.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    answer
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    answer
}

fn unauthorized() -> Answer {
    let mut answer = json_answer(
        401,
        &json!({"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}),
    );
    answer
        .headers_mut()
        .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"Twilio API\""));
    answer
}

fn not_found(path: &str) -> Answer {
    json_answer(
        404,
        &json!({"code": 20404, "message": format!("The requested resource {path} was not found"),
                "more_info": "https://www.twilio.com/docs/errors/20404", "status": 404}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_gather_action() {
        let twiml = r#"<?xml version="1.0" encoding="UTF-8"?><Response><Gather input="speech dtmf" action="http://127.0.0.1:3000/twilio/gather?attempt=1&amp;x=2" method="POST"></Gather></Response>"#;
        assert_eq!(
            gather_action(twiml).as_deref(),
            Some("http://127.0.0.1:3000/twilio/gather?attempt=1&x=2")
        );
        assert_eq!(gather_action("<Response><Hangup/></Response>"), None);
    }

    #[test]
    fn the_robot_speaks_the_requested_language_and_the_functions_read_it_in_that_language() {
        use bridge::domain::spoken_code::{CodeLanguage, extract_code_in};
        for locale in ["pt_BR", "pt_PT", "es", "es_MX", "en_GB", "de"] {
            let speech = robot_speech_in("482917", locale);
            assert_eq!(
                extract_code_in(&speech, 6, CodeLanguage::from_tag(locale)).as_deref(),
                Some("482917"),
                "{locale}: {speech}"
            );
        }
        assert!(robot_speech_in("482917", "pt_BR").contains("quatro oito dois nove um sete"));
        assert!(robot_speech_in("482917", "es_ES").contains("cuatro ocho dos nueve uno siete"));
        assert!(same_language("pt-BR", "pt_PT"));
        assert!(!same_language("en-US", "pt_BR"));
        let twiml = r#"<Response><Gather input="speech dtmf" action="/twilio/gather?attempt=1" language="pt-BR"></Gather></Response>"#;
        assert_eq!(gather_attribute(twiml, "language").as_deref(), Some("pt-BR"));
        assert_eq!(gather_attribute(twiml, "voice"), None);
    }

    #[test]
    fn the_robot_reads_each_digit_twice() {
        assert_eq!(
            robot_speech("482917"),
            "Your WhatsApp code is 4 8 2 9 1 7. Again, 4 8 2 9 1 7."
        );
        assert_eq!(
            bridge::domain::spoken_code::extract_code(&robot_speech("482917"), 6).as_deref(),
            Some("482917")
        );
    }
}
