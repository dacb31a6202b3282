use super::{body_text, form, request};
use crate::config::{CallScript, TwilioConfig, VerificationConfig};
use crate::domain::secret::Secret;
use crate::domain::spoken_code::CodeLanguage;
use crate::domain::twilio_signature;
use crate::domain::verification::EmailOutcome;
use crate::handlers::twilio::{self, Verification};
use crate::testing::{FakeMailer, FakeVerificationStore, Fault};

const TOKEN: &str = "the-auth-token";
const BASE: &str = "https://bridge.example.com";
const CALL: &str = "CA0123456789abcdef";

fn twilio_config() -> TwilioConfig {
    twilio_config_in("en-US")
}

fn twilio_config_in(language: &str) -> TwilioConfig {
    TwilioConfig {
        auth_token: Secret::new(TOKEN),
        public_base_url: Some(BASE.to_owned()),
        script: CallScript {
            prompt: None,
            voice: None,
            language: language.to_owned(),
            code_language: CodeLanguage::from_tag(language),
            max_attempts: 3,
        },
    }
}

fn verification() -> Verification<FakeVerificationStore, FakeMailer> {
    verification_in("en-US")
}

fn verification_in(language: &str) -> Verification<FakeVerificationStore, FakeMailer> {
    let config = VerificationConfig {
        twilio: twilio_config_in(language),
        table_name: "table".to_owned(),
        email_from: "verify@example.com".to_owned(),
        email_to: vec!["owner@example.com".to_owned()],
        code_retention_days: 30,
    };
    Verification::new(config, FakeVerificationStore::new(), FakeMailer::new())
}

/// A webhook to `path?query` signed with `token`.
fn webhook(path: &str, query: &str, params: &[(&str, &str)], token: &str) -> lambda_http::Request {
    let mut params: Vec<(String, String)> = params.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    params.push(("CallSid".to_owned(), CALL.to_owned()));
    let uri = if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    };
    let signature = twilio_signature::expected_signature(&Secret::new(token), &format!("{BASE}{uri}"), &params);
    request(
        "POST",
        &uri,
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("x-twilio-signature", &signature),
        ],
        form(&params),
    )
}

fn code_spoken(token: &str) -> lambda_http::Request {
    webhook(
        twilio::GATHER_PATH,
        "attempt=1",
        &[("SpeechResult", "your code is 4 8 1 5 2 9"), ("To", "+15550101234")],
        token,
    )
}

fn transcription(token: &str) -> lambda_http::Request {
    webhook(
        twilio::RECORDING_PATH,
        "event=transcription",
        &[
            ("RecordingSid", "RE1"),
            ("TranscriptionText", "the code is 1 2 3 4 5 6"),
            ("TranscriptionStatus", "completed"),
        ],
        token,
    )
}

fn code_item() -> (String, String) {
    (CALL.to_owned(), "CODE#481529".to_owned())
}

fn assert_hangs_up(response: &lambda_http::Response<lambda_http::Body>) {
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/xml; charset=utf-8");
    assert!(body_text(response).contains("<Hangup"), "{}", body_text(response));
}

#[tokio::test]
async fn voice_listens_when_signed_and_refuses_a_forgery() {
    let config = twilio_config();
    let answered = twilio::voice(&config, webhook(twilio::VOICE_PATH, "", &[], TOKEN)).await;
    assert_eq!(answered.status(), 200);
    assert!(body_text(&answered).contains("<Gather"));
    let forged = twilio::voice(&config, webhook(twilio::VOICE_PATH, "", &[], "not-the-token")).await;
    assert_eq!(forged.status(), 403);
    assert_eq!(body_text(&forged), r#"{"error":"invalid Twilio signature"}"#);
}

#[tokio::test]
async fn a_forged_gather_or_recording_is_403_and_records_and_mails_nothing() {
    let verification = verification();
    assert_eq!(verification.handle(code_spoken("not-the-token")).await.status(), 403);
    assert_eq!(verification.handle(transcription("not-the-token")).await.status(), 403);
    let store = &verification.store;
    for operation in ["record_code", "record_recording", "record_email_outcome"] {
        assert_eq!(store.faults.calls(operation), 0, "{operation}");
    }
    assert_eq!(verification.mailer.faults.calls("send"), 0);
}

#[tokio::test]
async fn a_captured_code_is_recorded_emailed_once_and_answered_with_a_hangup() {
    let verification = verification();
    assert_hangs_up(&verification.handle(code_spoken(TOKEN)).await);
    let codes = verification.store.codes();
    assert_eq!(codes[&code_item()].code, "481529");
    let sent = verification.mailer.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].subject, "WhatsApp verification code 481529");
    assert_eq!(
        verification.store.email_outcomes()[&code_item()],
        EmailOutcome::Sent {
            message_id: "fake-mail-1".to_owned()
        }
    );
    // Twilio repeats the webhook: the code is already stored, so no second email.
    assert_hangs_up(&verification.handle(code_spoken(TOKEN)).await);
    assert_eq!(verification.mailer.sent().len(), 1);
    assert_eq!(verification.store.codes().len(), 1);
}

#[tokio::test]
async fn when_the_store_fails_the_code_is_emailed_anyway() {
    for fault in [Fault::Transient, Fault::Permanent] {
        let verification = verification();
        verification.store.faults.fail_next("record_code", 1, fault);
        assert_hangs_up(&verification.handle(code_spoken(TOKEN)).await);
        assert_eq!(verification.mailer.sent().len(), 1, "{fault:?}");
        // Nothing stored, so no outcome to record on it.
        assert_eq!(verification.store.faults.calls("record_email_outcome"), 0);
        assert!(verification.store.codes().is_empty());
    }
}

#[tokio::test]
async fn when_the_mail_fails_the_code_stays_recorded_with_the_failure() {
    for fault in [Fault::Transient, Fault::Permanent] {
        let verification = verification();
        verification.mailer.faults.fail_next("send", 1, fault);
        assert_hangs_up(&verification.handle(code_spoken(TOKEN)).await);
        assert_eq!(verification.store.codes().len(), 1, "{fault:?}");
        assert!(matches!(
            verification.store.email_outcomes()[&code_item()],
            EmailOutcome::Failed { .. }
        ));
    }
}

#[tokio::test(start_paused = true)]
async fn a_hung_mailer_is_cut_off_by_the_mail_deadline() {
    let verification = verification();
    verification.mailer.faults.fail_next("send", 1, Fault::Hang);
    assert_hangs_up(&verification.handle(code_spoken(TOKEN)).await);
    let EmailOutcome::Failed { error } = &verification.store.email_outcomes()[&code_item()] else {
        panic!("the outcome must say the mail failed");
    };
    assert!(error.contains("no answer from the mail service"), "{error}");
}

#[tokio::test]
async fn a_failed_email_outcome_write_still_answers() {
    let verification = verification();
    verification
        .store
        .faults
        .fail_next("record_email_outcome", 1, Fault::Transient);
    assert_hangs_up(&verification.handle(code_spoken(TOKEN)).await);
    assert_eq!(verification.mailer.sent().len(), 1);
    assert!(verification.store.email_outcomes().is_empty());
}

#[tokio::test]
async fn no_code_heard_listens_again_and_records_nothing() {
    let verification = verification();
    let request = webhook(twilio::GATHER_PATH, "attempt=1", &[("SpeechResult", "hello")], TOKEN);
    let response = verification.handle(request).await;
    assert_eq!(response.status(), 200);
    assert!(body_text(&response).contains("attempt=2"));
    assert_eq!(verification.store.faults.calls("record_code"), 0);
}

#[tokio::test]
async fn a_transcription_is_recorded_and_emailed_once() {
    let verification = verification();
    let empty = |response: &lambda_http::Response<lambda_http::Body>| {
        assert_eq!(response.status(), 200);
        assert!(body_text(response).contains("<Response"));
    };
    empty(&verification.handle(transcription(TOKEN)).await);
    empty(&verification.handle(transcription(TOKEN)).await);
    let recordings = verification.store.recordings();
    assert_eq!(recordings.len(), 1);
    assert_eq!(
        recordings.values().next().and_then(|r| r.code.as_deref()),
        Some("123456")
    );
    assert_eq!(verification.mailer.sent().len(), 1);
}

#[tokio::test]
async fn a_transcription_is_emailed_when_the_store_fails_and_marked_when_the_mail_fails() {
    let verification = verification();
    verification
        .store
        .faults
        .fail_next("record_recording", 1, Fault::Transient);
    assert_eq!(verification.handle(transcription(TOKEN)).await.status(), 200);
    assert_eq!(verification.mailer.sent().len(), 1);

    let verification = self::verification();
    verification.mailer.faults.fail_next("send", 1, Fault::Permanent);
    assert_eq!(verification.handle(transcription(TOKEN)).await.status(), 200);
    assert_eq!(verification.store.recordings().len(), 1);
    let outcomes = verification.store.email_outcomes();
    assert!(matches!(outcomes.values().next(), Some(EmailOutcome::Failed { .. })));
}

#[tokio::test]
async fn a_recording_callback_whose_store_fails_is_still_answered() {
    let verification = verification();
    verification
        .store
        .faults
        .fail_next("record_recording", 1, Fault::Permanent);
    let request = webhook(
        twilio::RECORDING_PATH,
        "event=recording",
        &[("RecordingSid", "RE1")],
        TOKEN,
    );
    let response = verification.handle(request).await;
    assert_eq!(response.status(), 200);
    assert_eq!(verification.mailer.faults.calls("send"), 0);
    let missing = webhook(twilio::RECORDING_PATH, "event=recording", &[], TOKEN);
    let response = verification.handle(missing).await;
    assert_eq!(response.status(), 400);
    assert_eq!(body_text(&response), r#"{"error":"RecordingSid is missing"}"#);
}

#[tokio::test]
async fn the_call_is_listened_to_and_read_in_the_configured_language() {
    for (language, speech, code) in [
        (
            "pt-BR",
            "O seu código do WhatsApp é quatro oito dois nove um sete",
            "482917",
        ),
        (
            "es-MX",
            "Su código de WhatsApp es cuatro ocho dos nueve uno siete",
            "482917",
        ),
        ("en-US", "Your WhatsApp code is four eight two nine one seven", "482917"),
    ] {
        let config = twilio_config_in(language);
        let answered = twilio::voice(&config, webhook(twilio::VOICE_PATH, "", &[], TOKEN)).await;
        assert!(
            body_text(&answered).contains(&format!("language=\"{language}\"")),
            "{}",
            body_text(&answered)
        );
        let verification = verification_in(language);
        let heard = webhook(twilio::GATHER_PATH, "attempt=1", &[("SpeechResult", speech)], TOKEN);
        assert_hangs_up(&verification.handle(heard).await);
        let codes = verification.store.codes();
        assert_eq!(
            codes.values().map(|c| c.code.as_str()).collect::<Vec<_>>(),
            [code],
            "{language}"
        );
    }
    // Portuguese words mean nothing to a call listened to in English: it listens again.
    let verification = verification_in("en-US");
    let heard = webhook(
        twilio::GATHER_PATH,
        "attempt=1",
        &[("SpeechResult", "quatro oito dois nove um sete")],
        TOKEN,
    );
    let response = verification.handle(heard).await;
    assert!(body_text(&response).contains("attempt=2"), "{}", body_text(&response));
    assert_eq!(verification.store.faults.calls("record_code"), 0);
}
