//! Twilio's voice webhooks for Meta's verification call.
//!
//! - `POST /twilio/voice`: answer the call and listen (speech first, keypad too).
//! - `POST /twilio/gather`: take the code from what was heard; record it, email it, hang up;
//!   or listen again, and after the last attempt record the call.
//! - `POST /twilio/recording`: the fallback recording's callbacks; email the transcription.
//!
//! Every request must carry a valid `X-Twilio-Signature` over the public URL and the
//! form parameters (made with an auth token, or with a Webhook Rule's shared key when
//! `X-Twilio-Webhooks-Signature-Settings` says so); anything else gets 403 and changes nothing.

use std::time::{Duration, Instant};

use chrono::Utc;
use lambda_http::http::StatusCode;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};

use tracing::Instrument;

use super::http::{ApiError, Refusal, RefusalMetrics, refuse, request_id, request_span, respond};
use crate::config::{TwilioConfig, VerificationConfig};
use crate::domain::email::Email;
use crate::domain::events::{self as bus, CodeCapture};
use crate::domain::form::{self, FormError, MAX_FORM_BYTES};
use crate::domain::ids::CallSid;
use crate::domain::spoken_code::{self, META_CODE_LEN};
use crate::domain::verification::{CaptureMethod, CapturedCode, EmailOutcome, Recording};
use crate::domain::{twilio_signature, twiml};
use crate::metrics::{self, Metric};
use crate::ports::{EventPublisher, Mailer, VerificationStore, WriteOutcome};
use crate::publishing::Publishing;

mod request;

pub use request::{TwilioRequest, authenticate, listen, record_call, voice};
use request::{span, twiml_response};

pub const VOICE_PATH: &str = "/twilio/voice";
pub const GATHER_PATH: &str = "/twilio/gather";
pub const RECORDING_PATH: &str = "/twilio/recording";

/// The routes, as API Gateway names them (`routeKey`), in every log line's span.
pub const VOICE_ROUTE: &str = "POST /twilio/voice";
pub const GATHER_ROUTE: &str = "POST /twilio/gather";
pub const RECORDING_ROUTE: &str = "POST /twilio/recording";

/// The longest an email may take before the caller gets its answer anyway
/// (Twilio abandons a webhook after 15 s).
const MAIL_DEADLINE: Duration = Duration::from_secs(5);

/// A claimed email whose outcome is not recorded after this long lost its sender (the function
/// stopped): a repeated webhook may take it over. Well above the function's timeout.
pub const EMAIL_CLAIM_LEASE: Duration = Duration::from_secs(60);

/// `POST /twilio/gather` and `POST /twilio/recording`.
pub struct Verification<S, M, E> {
    pub config: VerificationConfig,
    pub store: S,
    pub mailer: M,
    /// The event bus (`EVENT_BUS_NAME`): `verification.code_captured`; `None`: no events.
    pub events: Option<Publishing<E>>,
}

impl<S, M, E> Verification<S, M, E> {
    /// Without a bus (`with_events` adds one).
    pub fn new(config: VerificationConfig, store: S, mailer: M) -> Self {
        Self {
            config,
            store,
            mailer,
            events: None,
        }
    }
}

impl<S, M, E> Verification<S, M, E> {
    /// The same handler, publishing on `events`.
    pub fn with_events<F>(self, events: Publishing<F>) -> Verification<S, M, F> {
        Verification {
            config: self.config,
            store: self.store,
            mailer: self.mailer,
            events: Some(events),
        }
    }
}

impl<S: VerificationStore, M: Mailer, E: EventPublisher> Verification<S, M, E> {
    /// The language the call is listened to in (`VOICE_LANGUAGE`): the number words the code is read from.
    fn code_language(&self) -> spoken_code::CodeLanguage {
        self.config.twilio.script.code_language
    }

    /// Routes by path: this one function serves both callbacks.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let response = if request.uri().path().ends_with(RECORDING_PATH) {
            let span = span(&request, RECORDING_PATH);
            self.recording(request).instrument(span).await
        } else {
            let span = span(&request, GATHER_PATH);
            self.gather(request).instrument(span).await
        };
        metrics::flush();
        response
    }

    pub async fn gather(&self, request: Request) -> Response<Body> {
        let started = Instant::now();
        let call = match authenticate(&self.config.twilio, &request, GATHER_PATH) {
            Ok(call) => call,
            Err(refusal) => return refuse(refusal, RefusalMetrics::NONE),
        };
        let attempt: u32 = call.query("attempt").and_then(|a| a.parse().ok()).unwrap_or(1).max(1);
        let speech = call.param("SpeechResult");
        let captured = call
            .param("Digits")
            .and_then(|digits| spoken_code::from_digits(digits, META_CODE_LEN))
            .map(|code| (code, CaptureMethod::Keypad))
            .or_else(|| {
                speech
                    .and_then(|text| spoken_code::extract_code_in(text, META_CODE_LEN, self.code_language()))
                    .map(|code| (code, CaptureMethod::Speech))
            });
        let Some((code, method)) = captured else {
            let last = attempt >= self.config.twilio.script.max_attempts;
            tracing::info!(
                call_sid = %call.call_sid,
                attempt,
                heard_speech = speech.is_some(),
                outcome = if last { "recording" } else { "listening_again" },
                "twilio webhook"
            );
            return twiml_response(if last {
                record_call(&self.config.twilio, &call.base_url)
            } else {
                listen(&self.config.twilio, &call.base_url, attempt + 1)
            });
        };
        let captured = CapturedCode {
            call_sid: call.call_sid.clone(),
            code,
            method,
            confidence: call.param("Confidence").and_then(|c| c.parse().ok()),
            heard: speech.map(str::to_owned),
            from: call.param("From").map(str::to_owned),
            to: call.param("To").map(str::to_owned),
            received_at: Utc::now(),
        };
        let email = captured.email(&self.config.email_from, &self.config.email_to);
        let outcome = self
            .record_and_mail(
                &captured.call_sid,
                &captured.item(),
                self.store.record_code(&captured),
                email,
            )
            .await;
        metrics::count(Metric::VerificationCodesCaptured, 1);
        let published = self
            .publish_capture(&CodeCapture {
                call_sid: &captured.call_sid,
                called: captured.to.as_deref(),
                caller: captured.from.as_deref(),
                captured_by: method.as_str(),
                confidence: captured.confidence,
                email: email_of(outcome),
                recorded: recorded(outcome),
                code: &captured.code,
            })
            .await;
        tracing::info!(
            call_sid = %captured.call_sid,
            attempt,
            captured_by = method.as_str(),
            outcome,
            published,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "twilio webhook: verification code captured"
        );
        twiml_response(twiml::say_and_hangup(
            "Thank you. Goodbye.",
            self.config.twilio.script.voice.as_deref(),
        ))
    }

    pub async fn recording(&self, request: Request) -> Response<Body> {
        let call = match authenticate(&self.config.twilio, &request, RECORDING_PATH) {
            Ok(call) => call,
            Err(refusal) => return refuse(refusal, RefusalMetrics::NONE),
        };
        let event = call.query("event").unwrap_or("recording").to_owned();
        if event == "done" {
            tracing::info!(call_sid = %call.call_sid, outcome = "hangup", "twilio webhook");
            return twiml_response(twiml::say_and_hangup("", None));
        }
        let Some(recording_sid) = call.param("RecordingSid").map(str::to_owned) else {
            return refuse(
                ApiError::BadRequest("RecordingSid is missing".to_owned()).into(),
                RefusalMetrics::NONE,
            );
        };
        let transcription = call.param("TranscriptionText").map(str::to_owned);
        let recording = Recording {
            call_sid: call.call_sid.clone(),
            recording_sid,
            code: transcription
                .as_deref()
                .and_then(|text| spoken_code::extract_code_in(text, META_CODE_LEN, self.code_language())),
            event: if event == "transcription" {
                "transcription".to_owned()
            } else {
                "recording".to_owned()
            },
            url: call.param("RecordingUrl").map(str::to_owned),
            duration_seconds: call.param("RecordingDuration").and_then(|d| d.parse().ok()),
            transcription,
            transcription_status: call.param("TranscriptionStatus").map(str::to_owned),
            from: call.param("From").map(str::to_owned),
            to: call.param("To").map(str::to_owned),
            received_at: Utc::now(),
        };
        let outcome = if recording.event == "transcription" {
            let email = recording.email(&self.config.email_from, &self.config.email_to);
            let outcome = self
                .record_and_mail(
                    &recording.call_sid,
                    &recording.item(),
                    self.store.record_recording(&recording),
                    email,
                )
                .await;
            if let Some(code) = &recording.code {
                let capture = CodeCapture {
                    call_sid: &recording.call_sid,
                    called: recording.to.as_deref(),
                    caller: recording.from.as_deref(),
                    captured_by: CaptureMethod::Transcription.as_str(),
                    confidence: None,
                    email: email_of(outcome),
                    recorded: recorded(outcome),
                    code,
                };
                // Twilio calls a failed status callback again: the repeat finds the email handled
                // and publishes the same event (its id is the call's).
                if self.publish_capture(&capture).await == "failed" {
                    let reason = format!(
                        "verification.code_captured of call {} not published; Twilio will retry",
                        recording.call_sid
                    );
                    return refuse(Refusal::unavailable(reason), RefusalMetrics::NONE);
                }
            }
            outcome
        } else {
            match self.store.record_recording(&recording).await {
                Ok(_) => "recorded",
                Err(error) => {
                    // Nothing else holds the recording's URL: 5xx, so Twilio calls back again.
                    let reason = format!(
                        "recording {} of call {} not stored, Twilio will retry: {error}",
                        recording.recording_sid, recording.call_sid
                    );
                    return refuse(Refusal::unavailable(reason), RefusalMetrics::NONE);
                }
            }
        };
        tracing::info!(
            call_sid = %recording.call_sid,
            recording_sid = recording.recording_sid,
            event = recording.event,
            code_found = recording.code.is_some(),
            outcome,
            "twilio webhook"
        );
        twiml_response(twiml::empty())
    }

    /// Stores the item once, then emails it, exactly once: whoever claims the email (this request,
    /// a repeat of it after a crash left the email pending, or one of two concurrent repeats)
    /// sends it, and nobody else. If the store is down the email still goes out: the code must
    /// reach the owner. If the mail fails, the record says so.
    async fn record_and_mail(
        &self,
        call_sid: &CallSid,
        item: &str,
        store: impl Future<Output = Result<WriteOutcome, crate::ports::StoreError>>,
        email: Email,
    ) -> &'static str {
        let stored = match store.await {
            Ok(WriteOutcome::Applied) => Stored::New,
            Ok(WriteOutcome::Superseded) => Stored::Earlier,
            Err(error) => {
                tracing::error!(call_sid = %call_sid, error = %error, "verification record not stored; emailing anyway");
                Stored::Not
            }
        };
        if stored != Stored::Not {
            let claimant = crate::domain::verification::email_claimant(call_sid);
            match self
                .store
                .claim_email(call_sid, item, &claimant, EMAIL_CLAIM_LEASE)
                .await
            {
                Ok(WriteOutcome::Applied) => {}
                // Sent, failed, or being sent by another request.
                Ok(WriteOutcome::Superseded) => return "duplicate_ignored",
                Err(error) if stored == Stored::New => {
                    tracing::error!(call_sid = %call_sid, error = %error, "email claim not recorded; emailing anyway");
                }
                Err(error) => {
                    tracing::error!(call_sid = %call_sid, error = %error, "email claim failed on a repeated webhook; not emailing");
                    return "duplicate_claim_failed";
                }
            }
        }
        let outcome = match tokio::time::timeout(MAIL_DEADLINE, self.mailer.send(&email)).await {
            Ok(Ok(message_id)) => EmailOutcome::Sent { message_id },
            Ok(Err(error)) => EmailOutcome::Failed {
                error: error.to_string(),
            },
            Err(_) => EmailOutcome::Failed {
                error: format!("no answer from the mail service within {MAIL_DEADLINE:?}"),
            },
        };
        if let EmailOutcome::Failed { error } = &outcome {
            tracing::error!(call_sid = %call_sid, error, "verification email not sent; the code is in the table");
        }
        if stored != Stored::Not
            && let Err(error) = self.store.record_email_outcome(call_sid, item, &outcome).await
        {
            tracing::error!(call_sid = %call_sid, error = %error, "email outcome not recorded");
        }
        match (stored, &outcome) {
            (Stored::New, EmailOutcome::Sent { .. }) => "recorded_and_emailed",
            (Stored::Earlier, EmailOutcome::Sent { .. }) => "pending_email_sent",
            (Stored::New | Stored::Earlier, EmailOutcome::Failed { .. }) => "recorded_email_failed",
            (Stored::Not, EmailOutcome::Sent { .. }) => "emailed_not_recorded",
            (Stored::Not, EmailOutcome::Failed { .. }) => "lost_store_and_mail_failed",
        }
    }
}

impl<S, M, E: EventPublisher> Verification<S, M, E> {
    /// Publishes `verification.code_captured` (after the record's write and the email):
    /// `published`, `failed` (logged, counted) or `off` (no bus).
    async fn publish_capture(&self, capture: &CodeCapture<'_>) -> &'static str {
        let Some(events) = &self.events else {
            return "off";
        };
        let event = bus::verification_code_captured(capture, events.include_verification_code);
        match events.publish(vec![event]).await {
            Ok(_) => "published",
            Err(error) => {
                tracing::error!(call_sid = %capture.call_sid, error = %error, "verification.code_captured not published");
                "failed"
            }
        }
    }
}

/// The email's fate, for the event, from [`Verification::record_and_mail`]'s outcome.
fn email_of(outcome: &str) -> &'static str {
    match outcome {
        "recorded_and_emailed" | "pending_email_sent" | "emailed_not_recorded" => "sent",
        "duplicate_ignored" | "duplicate_claim_failed" => "handled_earlier",
        _ => "failed",
    }
}

/// Whether the verification record is in the table, from the same outcome.
fn recorded(outcome: &str) -> bool {
    !matches!(outcome, "emailed_not_recorded" | "lost_store_and_mail_failed")
}

/// Where the item of a webhook stands after its write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stored {
    /// This request stored it.
    New,
    /// A previous delivery of the same webhook stored it.
    Earlier,
    /// The store failed.
    Not,
}
