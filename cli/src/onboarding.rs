//! `wabridge onboard`: the voice registration of a number, every step idempotent and resumable.
//!
//! 1. Read the number (`code_verification_status`, `status`): verified and connected means
//!    done; verified means only `register` is left.
//! 2. A code captured in the last minutes (an earlier run that stopped while waiting) is tried
//!    first, unless `--new-code`; a refused one falls through to a new call.
//! 3. `request_code` with `code_method=VOICE`; Meta's robot calls the number, Twilio's speech
//!    recognition hears the code, and the twilio-gather function stores it in DynamoDB.
//! 4. Wait (bounded) for that code under the called number (index `by_contact`, key
//!    `VERIFICATION#<digits>`), then `verify_code` with it.
//! 5. `register` with the two-step verification PIN.

use std::future::Future;
use std::time::{Duration, Instant};

use bridge::domain::secret::Secret;
use bridge::domain::verification::{META_LOCALES, StoredCode, meta_locale};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::error::CliError;
use crate::graph::{Graph, explain};

/// Where captured codes are read from (DynamoDB in practice).
pub trait CodeSource {
    fn codes_since(&self, number: &str, since: DateTime<Utc>) -> impl Future<Output = Result<Vec<StoredCode>, String>>;
}

impl CodeSource for bridge::adapters::dynamodb::DynamoMessageStore {
    async fn codes_since(&self, number: &str, since: DateTime<Utc>) -> Result<Vec<StoredCode>, String> {
        self.captured_codes(number, since)
            .await
            .map_err(|error| error.to_string())
    }
}

/// The locale Meta is asked to read the code in, and the check that the Twilio functions listen in that
/// language.
///
/// `requested`: `--language` (one of Meta's locales, [`META_LOCALES`]); `voice_language`: what the Twilio
/// functions listen in (`VOICE_LANGUAGE`, the stack's `VoiceLanguage`), when known. Without `--language` the
/// locale follows `voice_language` (`pt-BR` → `pt_BR`), else `en_US`. A locale Meta does not take, or one in
/// another language than the functions listen in (the call would not be understood), is a usage error.
pub fn call_language(requested: Option<&str>, voice_language: Option<&str>) -> Result<String, CliError> {
    let voice_language = voice_language.map(str::trim).filter(|tag| !tag.is_empty());
    let locale = match requested.map(str::trim) {
        Some(requested) if META_LOCALES.contains(&requested) => requested.to_owned(),
        Some(requested) => {
            let primary = requested.split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
            let mut suggestions: Vec<&str> = meta_locale(requested).into_iter().collect();
            for locale in META_LOCALES {
                if locale.split('_').next() == Some(primary.as_str()) && !suggestions.contains(locale) {
                    suggestions.push(locale);
                }
            }
            let hint = match suggestions.as_slice() {
                [] => String::new(),
                some => format!(" Did you mean {}?", some.join(" or ")),
            };
            return Err(CliError::Config(format!(
                "--language {requested:?} is not a locale Meta's request_code takes: a language, or language_REGION with an underscore (en_US, pt_BR, es, es_MX, …).{hint}"
            )));
        }
        None => match voice_language {
            None => "en_US".to_owned(),
            Some(voice) => meta_locale(voice).map(str::to_owned).ok_or_else(|| {
                CliError::Config(format!(
                    "the Twilio functions listen in {voice} (VOICE_LANGUAGE), which is not a language Meta reads codes in: give --language with one of Meta's locales"
                ))
            })?,
        },
    };
    if let Some(voice) = voice_language {
        let primary = |tag: &str| tag.split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
        if primary(voice) != primary(&locale) {
            return Err(CliError::Config(format!(
                "Meta would read the code in {locale}, but the Twilio functions listen in {voice} (VOICE_LANGUAGE; deployed: the stack parameter VoiceLanguage), so the call would not be understood. Deploy with VoiceLanguage={} (sam deploy --parameter-overrides VoiceLanguage=…), or run with --language {}.",
                locale.replace('_', "-"),
                meta_locale(voice).unwrap_or("<a locale in that language>")
            )));
        }
    }
    Ok(locale)
}

#[derive(Debug, Clone)]
pub struct OnboardOptions {
    /// The locale Meta reads the code in ([`call_language`]; `en_US`).
    pub language: String,
    /// How long to wait for the code.
    pub wait: Duration,
    /// How often to look.
    pub poll: Duration,
    /// Always request a new call (never reuse a code captured earlier).
    pub new_code: bool,
    /// A captured code younger than this is tried before requesting a new call.
    pub reuse_window: Duration,
    /// The number as Twilio sees it (`To`); default: Meta's `display_phone_number`.
    pub number: Option<String>,
    /// A code given by hand (from the email), instead of waiting.
    pub code: Option<String>,
}

impl Default for OnboardOptions {
    fn default() -> Self {
        Self {
            language: "en_US".to_owned(),
            wait: Duration::from_secs(180),
            poll: Duration::from_secs(2),
            new_code: false,
            reuse_window: Duration::from_secs(600),
            number: None,
            code: None,
        }
    }
}

/// Progress, for the indicator.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    Step(String),
    Waiting { elapsed: Duration, limit: Duration },
}

/// One step and what became of it.
#[derive(Debug, Clone, PartialEq)]
pub struct StepOutcome {
    pub step: &'static str,
    /// `done`, `skipped`, `failed`.
    pub outcome: &'static str,
    pub detail: String,
}

#[derive(Debug, Clone, Default)]
pub struct OnboardReport {
    pub phone_number_id: String,
    pub number: String,
    pub steps: Vec<StepOutcome>,
    pub registered: bool,
}

impl OnboardReport {
    fn push(&mut self, step: &'static str, outcome: &'static str, detail: impl Into<String>) {
        self.steps.push(StepOutcome {
            step,
            outcome,
            detail: detail.into(),
        });
    }

    pub fn to_json(&self) -> Value {
        json!({
            "phone_number_id": self.phone_number_id,
            "number": self.number,
            "registered": self.registered,
            "steps": self.steps.iter().map(|s| json!({"step": s.step, "outcome": s.outcome, "detail": s.detail})).collect::<Vec<_>>(),
        })
    }
}

/// Runs the onboarding of `phone_number_id`. `pin` is the two-step verification PIN (6 digits).
pub async fn onboard(
    graph: &Graph,
    codes: &impl CodeSource,
    phone_number_id: &str,
    pin: &Secret,
    options: &OnboardOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<OnboardReport, CliError> {
    if !(pin.expose().len() == 6 && pin.expose().chars().all(|c| c.is_ascii_digit())) {
        return Err(CliError::Config(
            "WHATSAPP_REGISTRATION_PIN must be 6 digits (the two-step verification PIN to set, or the one already set)"
                .to_owned(),
        ));
    }
    let mut report = OnboardReport {
        phone_number_id: phone_number_id.to_owned(),
        ..OnboardReport::default()
    };
    progress(Progress::Step("reading the phone number".to_owned()));
    let number = graph
        .get(
            phone_number_id,
            &[(
                "fields",
                "display_phone_number,verified_name,code_verification_status,status,platform_type",
            )],
        )
        .await
        .map_err(|failure| CliError::Failed(explain("reading the phone number", &failure)))?;
    let text = |name: &str| number.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
    report.number = options.number.clone().unwrap_or_else(|| text("display_phone_number"));
    let verified = text("code_verification_status") == "VERIFIED";
    let connected = text("status") == "CONNECTED" || text("platform_type") == "CLOUD_API";
    report.push(
        "check",
        "done",
        format!(
            "{} ({}): code_verification_status {}, status {}",
            report.number,
            text("verified_name"),
            text("code_verification_status"),
            text("status")
        ),
    );
    if verified && connected {
        report.push("verify", "skipped", "already verified");
        report.push("register", "skipped", "already registered with the Cloud API");
        report.registered = true;
        return Ok(report);
    }
    if verified {
        report.push("verify", "skipped", "already verified");
    } else {
        verify(graph, codes, phone_number_id, options, &mut report, progress).await?;
    }
    progress(Progress::Step("registering".to_owned()));
    graph
        .post_json(
            &format!("{phone_number_id}/register"),
            &json!({"messaging_product": "whatsapp", "pin": pin.expose()}),
        )
        .await
        .map_err(|failure| CliError::Failed(explain("register", &failure)))?;
    report.push("register", "done", "registered with the Cloud API");
    report.registered = true;
    Ok(report)
}

async fn verify(
    graph: &Graph,
    codes: &impl CodeSource,
    phone_number_id: &str,
    options: &OnboardOptions,
    report: &mut OnboardReport,
    progress: &mut dyn FnMut(Progress),
) -> Result<(), CliError> {
    let verify_path = format!("{phone_number_id}/verify_code");
    if let Some(code) = &options.code {
        progress(Progress::Step("submitting the code given".to_owned()));
        graph
            .post_query(&verify_path, &[("code", code)])
            .await
            .map_err(|failure| CliError::Failed(explain("verify_code", &failure)))?;
        report.push("verify", "done", "the code given was accepted");
        return Ok(());
    }
    if !options.new_code {
        let since = Utc::now() - chrono::Duration::from_std(options.reuse_window).unwrap_or_default();
        let earlier = codes
            .codes_since(&report.number, since)
            .await
            .map_err(|error| CliError::Failed(format!("cannot read the captured codes: {error}")))?;
        if let Some(code) = earlier.last() {
            progress(Progress::Step(format!(
                "trying the code captured at {}",
                code.received_at
            )));
            match graph.post_query(&verify_path, &[("code", &code.code)]).await {
                Ok(_) => {
                    report.push(
                        "request_code",
                        "skipped",
                        format!("a code captured at {} was still unused", code.received_at),
                    );
                    report.push(
                        "verify",
                        "done",
                        format!("code {} (call {}) accepted", code.code, code.call_sid),
                    );
                    return Ok(());
                }
                Err(failure) if failure.error.code == Some(136025) => {
                    report.push(
                        "reuse",
                        "skipped",
                        format!(
                            "the code captured at {} was refused; asking for a new call",
                            code.received_at
                        ),
                    );
                }
                Err(failure) => return Err(CliError::Failed(explain("verify_code", &failure))),
            }
        }
    }
    // Codes captured from now on (a few seconds of slack for the clocks of the two machines).
    let since = Utc::now() - chrono::Duration::seconds(5);
    progress(Progress::Step(format!(
        "requesting a voice call from Meta (language {})",
        options.language
    )));
    graph
        .post_query(
            &format!("{phone_number_id}/request_code"),
            &[("code_method", "VOICE"), ("language", &options.language)],
        )
        .await
        .map_err(|failure| CliError::Failed(explain("request_code", &failure)))?;
    report.push(
        "request_code",
        "done",
        format!(
            "Meta is calling {} (the code read in {})",
            report.number, options.language
        ),
    );
    let code = wait_for_code(codes, &report.number, since, options, progress).await?;
    progress(Progress::Step(format!("submitting code {}", code.code)));
    match graph.post_query(&verify_path, &[("code", &code.code)]).await {
        Ok(_) => {
            report.push(
                "verify",
                "done",
                format!(
                    "code {} heard by {} (call {}) accepted",
                    code.code, code.captured_by, code.call_sid
                ),
            );
            Ok(())
        }
        Err(failure) if failure.error.code == Some(136025) => Err(CliError::Failed(format!(
            "Meta refused the code {} captured from the call {} (heard: {:?}, confidence {}). Speech recognition may have misheard it: run `wabridge onboard --new-code` for another call, or `wabridge onboard --code NNNNNN` with the code from the verification email or the call recording. ({})",
            code.code,
            code.call_sid,
            code.heard.as_deref().unwrap_or("-"),
            code.confidence
                .map_or_else(|| "unknown".to_owned(), |c| format!("{c:.2}")),
            explain("verify_code", &failure)
        ))),
        Err(failure) => Err(CliError::Failed(explain("verify_code", &failure))),
    }
}

async fn wait_for_code(
    codes: &impl CodeSource,
    number: &str,
    since: DateTime<Utc>,
    options: &OnboardOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<StoredCode, CliError> {
    let started = Instant::now();
    loop {
        let found = codes
            .codes_since(number, since)
            .await
            .map_err(|error| CliError::Failed(format!("cannot read the captured codes: {error}")))?;
        if let Some(code) = found.last() {
            return Ok(code.clone());
        }
        let elapsed = started.elapsed();
        if elapsed >= options.wait {
            return Err(CliError::TimedOut(format!(
                "no code was captured for {number} within {} s. Meta's call reaches the Twilio number only if its \"A call comes in\" webhook is the stack's TwilioVoiceWebhookUrl (check with `wabridge doctor`); see the twilio-voice and twilio-gather logs and the verification email. Run `wabridge onboard` again to keep waiting: a code captured later is used without a new call.",
                options.wait.as_secs()
            )));
        }
        progress(Progress::Waiting {
            elapsed,
            limit: options.wait,
        });
        tokio::time::sleep(options.poll.min(options.wait.saturating_sub(elapsed))).await;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_call_language_follows_the_flag_or_the_functions_and_must_agree_with_them() {
        assert_eq!(call_language(None, None).unwrap(), "en_US");
        assert_eq!(call_language(None, Some("en-US")).unwrap(), "en_US");
        assert_eq!(call_language(None, Some("pt-BR")).unwrap(), "pt_BR");
        assert_eq!(call_language(None, Some("es-CO")).unwrap(), "es");
        assert_eq!(call_language(Some("pt_BR"), Some("pt-BR")).unwrap(), "pt_BR");
        assert_eq!(call_language(Some("pt_PT"), Some("pt-BR")).unwrap(), "pt_PT");
        assert_eq!(call_language(Some("es_MX"), None).unwrap(), "es_MX");
        assert_eq!(call_language(Some("pt_BR"), Some(" ")).unwrap(), "pt_BR");

        let mismatch = call_language(Some("pt_BR"), Some("en-US")).unwrap_err();
        assert!(matches!(mismatch, CliError::Config(_)));
        let text = mismatch.to_string();
        assert!(
            text.contains("VoiceLanguage=pt-BR") && text.contains("--language en_US"),
            "{text}"
        );

        let hyphen = call_language(Some("pt-BR"), None).unwrap_err().to_string();
        assert!(hyphen.contains("Did you mean pt_BR or pt_PT?"), "{hyphen}");
        let bare = call_language(Some("pt"), None).unwrap_err().to_string();
        assert!(bare.contains("Did you mean pt_BR or pt_PT?"), "{bare}");
        let unknown = call_language(Some("xx"), None).unwrap_err().to_string();
        assert!(
            unknown.contains("not a locale") && !unknown.contains("Did you mean"),
            "{unknown}"
        );
        let unreadable = call_language(None, Some("xx-YY")).unwrap_err().to_string();
        assert!(unreadable.contains("--language"), "{unreadable}");
    }
}
