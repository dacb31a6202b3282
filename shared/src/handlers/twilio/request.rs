//! A Twilio webhook's request: its signature checked, its form read; and the TwiML answers.

use super::*;
use crate::domain::ids::CallSid;

/// A Twilio request whose signature checked out.
#[derive(Debug)]
pub struct TwilioRequest {
    pub params: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
    pub call_sid: CallSid,
    /// The public origin the request was signed for.
    pub base_url: String,
}

impl TwilioRequest {
    pub fn param(&self, name: &str) -> Option<&str> {
        form::first(&self.params, name).filter(|value| !value.is_empty())
    }

    pub fn query(&self, name: &str) -> Option<&str> {
        form::first(&self.query, name)
    }
}

/// Parses and authenticates a Twilio webhook sent to `path`.
pub fn authenticate(config: &TwilioConfig, request: &Request, path: &str) -> Result<TwilioRequest, Refusal> {
    let body: &[u8] = request.body().as_ref();
    if body.len() > MAX_FORM_BYTES {
        return Err(Refusal::new(
            ApiError::PayloadTooLarge(MAX_FORM_BYTES),
            "body too large",
        ));
    }
    let content_type = request
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        let message = "expected an application/x-www-form-urlencoded body".to_owned();
        return Err(ApiError::BadRequest(message).into());
    }
    let params = form::parse(body).map_err(|error: FormError| match error {
        FormError::TooLarge => Refusal::new(ApiError::PayloadTooLarge(MAX_FORM_BYTES), error.to_string()),
        FormError::NotUtf8 => ApiError::BadRequest(error.to_string()).into(),
    })?;
    let raw_query = request.uri().query().unwrap_or_default();
    let query = form::parse(raw_query.as_bytes()).unwrap_or_default();
    let base_url = match &config.public_base_url {
        Some(base) => base.clone(),
        None => match request.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(context)) => {
                format!("https://{}", context.domain_name.as_deref().unwrap_or_default())
            }
            _ => String::new(),
        },
    };
    let url = if raw_query.is_empty() {
        format!("{base_url}{path}")
    } else {
        format!("{base_url}{path}?{raw_query}")
    };
    let signature = request
        .headers()
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok());
    let settings = request
        .headers()
        .get(twilio_signature::SETTINGS_HEADER)
        .map(|v| v.to_str().unwrap_or("\u{fffd}"));
    twilio_signature::verify_request(config.signing_secrets(), settings, &url, &params, signature)
        .map_err(|error| Refusal::new(ApiError::Forbidden("invalid Twilio signature"), error.to_string()))?;
    let call_sid = form::first(&params, "CallSid")
        .filter(|sid| !sid.is_empty())
        .map(CallSid::new)
        .ok_or_else(|| Refusal::from(ApiError::BadRequest("CallSid is missing".to_owned())))?;
    Ok(TwilioRequest {
        params,
        query,
        call_sid,
        base_url,
    })
}

pub(super) fn twiml_response(xml: String) -> Response<Body> {
    respond(StatusCode::OK, "text/xml; charset=utf-8", xml)
}

/// The span of one webhook: the request id and the route (`POST /twilio/...`).
pub(super) fn span(request: &Request, path: &str) -> tracing::Span {
    let route = match path {
        VOICE_PATH => VOICE_ROUTE,
        RECORDING_PATH => RECORDING_ROUTE,
        _ => GATHER_ROUTE,
    };
    request_span(route, &request_id(request))
}

/// The TwiML that listens for the code, round `attempt`.
pub fn listen(config: &TwilioConfig, base_url: &str, attempt: u32) -> String {
    let mut options = twiml::GatherOptions::new(format!("{base_url}{GATHER_PATH}?attempt={attempt}"));
    options.prompt = config.script.prompt.clone();
    options.voice = config.script.voice.clone();
    options.language = config.script.language.clone();
    twiml::gather(&options, None)
}

/// The TwiML that records the call when listening did not yield a code.
pub fn record_call(config: &TwilioConfig, base_url: &str) -> String {
    twiml::record(
        &format!("{base_url}{RECORDING_PATH}?event=done"),
        &format!("{base_url}{RECORDING_PATH}?event=transcription"),
        &format!("{base_url}{RECORDING_PATH}?event=recording"),
        twiml::MAX_RECORD_SECONDS,
        None,
        config.script.voice.as_deref(),
    )
}

/// `POST /twilio/voice`.
pub async fn voice(config: &TwilioConfig, request: Request) -> Response<Body> {
    let _entered = span(&request, VOICE_PATH).entered();
    match authenticate(config, &request, VOICE_PATH) {
        Ok(call) => {
            tracing::info!(call_sid = %call.call_sid, outcome = "listening", "twilio webhook");
            twiml_response(listen(config, &call.base_url, 1))
        }
        Err(refusal) => refuse(refusal, RefusalMetrics::NONE),
    }
}
