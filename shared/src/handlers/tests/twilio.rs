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

const SECONDARY_TOKEN: &str = "the-old-auth-token";
const SHARED_KEY: &str = "the-webhook-shared-key";

fn twilio_config() -> TwilioConfig {
    twilio_config_in("en-US")
}

fn twilio_config_in(language: &str) -> TwilioConfig {
    TwilioConfig {
        auth_token: Secret::new(TOKEN),
        auth_tokens: vec![Secret::new(TOKEN), Secret::new(SECONDARY_TOKEN)],
        shared_keys: vec![Secret::new(SHARED_KEY)],
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

fn verification() -> Verification<FakeVerificationStore, FakeMailer, crate::testing::FakeEventBus> {
    verification_in("en-US")
}

fn verification_in(language: &str) -> Verification<FakeVerificationStore, FakeMailer, crate::testing::FakeEventBus> {
    let config = VerificationConfig {
        twilio: twilio_config_in(language),
        table_name: "table".to_owned(),
        email_from: "verify@example.com".to_owned(),
        email_to: vec!["owner@example.com".to_owned()],
        code_retention_days: 30,
        event_bus_name: None,
        events_include_verification_code: false,
    };
    Verification::new(config, FakeVerificationStore::new(), FakeMailer::new())
}

/// A webhook to `path?query` signed with `token`.
fn webhook(path: &str, query: &str, params: &[(&str, &str)], token: &str) -> lambda_http::Request {
    signed_webhook(path, query, params, &Secret::new(token), None)
}

/// A webhook to `path?query` signed with `secret` and, when `settings` names one, its algorithm
/// (header `X-Twilio-Webhooks-Signature-Settings: settings`), as a Webhook Rule with a SharedKey signs.
fn signed_webhook(
    path: &str,
    query: &str,
    params: &[(&str, &str)],
    secret: &Secret,
    settings: Option<(&str, twilio_signature::Algorithm)>,
) -> lambda_http::Request {
    let mut params: Vec<(String, String)> = params.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    params.push(("CallSid".to_owned(), CALL.to_owned()));
    let uri = if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    };
    let url = format!("{BASE}{uri}");
    let algorithm = settings.map_or(twilio_signature::Algorithm::HmacSha1, |(_, algorithm)| algorithm);
    let signature = twilio_signature::expected_signature_with(algorithm, secret, &url, &params);
    let mut headers = vec![
        ("content-type", "application/x-www-form-urlencoded"),
        ("x-twilio-signature", signature.as_str()),
    ];
    if let Some((settings, _)) = settings {
        headers.push(("x-twilio-webhooks-signature-settings", settings));
    }
    request("POST", &uri, &headers, form(&params))
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
async fn a_recording_callback_whose_store_fails_is_503_so_twilio_retries() {
    for fault in [Fault::Transient, Fault::Permanent] {
        let verification = verification();
        verification.store.faults.fail_next("record_recording", 1, fault);
        let request = || {
            webhook(
                twilio::RECORDING_PATH,
                "event=recording",
                &[("RecordingSid", "RE1"), ("RecordingUrl", "https://api.twilio.com/RE1")],
                TOKEN,
            )
        };
        let response = verification.handle(request()).await;
        assert_eq!(response.status(), 503, "{fault:?}");
        assert_eq!(verification.mailer.faults.calls("send"), 0);
        assert!(verification.store.recordings().is_empty());
        // Twilio's retry is stored.
        assert_eq!(verification.handle(request()).await.status(), 200);
        assert_eq!(verification.store.recordings().len(), 1);
    }
    let verification = verification();
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
const SHARED_KEY_SETTINGS: &str = "key=webhooks_sharedkey_01jabcdefghjkmnpqrstvwxyz0,algorithm=HMAC_SHA256";

fn gather_signed_with(secret: &str, settings: Option<(&str, twilio_signature::Algorithm)>) -> lambda_http::Request {
    signed_webhook(
        twilio::GATHER_PATH,
        "attempt=1",
        &[("SpeechResult", "your code is 4 8 1 5 2 9"), ("To", "+15550101234")],
        &Secret::new(secret),
        settings,
    )
}

#[tokio::test]
async fn a_webhook_signed_with_the_rules_shared_key_is_accepted() {
    let sha256 = Some((SHARED_KEY_SETTINGS, twilio_signature::Algorithm::HmacSha256));
    let verification = verification();
    assert_hangs_up(&verification.handle(gather_signed_with(SHARED_KEY, sha256)).await);
    assert_eq!(verification.store.codes()[&code_item()].code, "481529");
    assert_eq!(verification.mailer.sent().len(), 1);
    let config = twilio_config();
    let voice = signed_webhook(twilio::VOICE_PATH, "", &[], &Secret::new(SHARED_KEY), sha256);
    assert_eq!(twilio::voice(&config, voice).await.status(), 200);

    // The header makes the shared key the only secret: the auth token with SHA-256 is a forgery,
    // and so is the shared key's signature without the header (the auth token's SHA-1 is expected).
    let forgeries = [
        gather_signed_with(TOKEN, sha256),
        gather_signed_with(SHARED_KEY, None),
        gather_signed_with("another-key", sha256),
    ];
    let verification = self::verification();
    for forged in forgeries {
        let response = verification.handle(forged).await;
        assert_eq!(response.status(), 403);
        assert_eq!(body_text(&response), r#"{"error":"invalid Twilio signature"}"#);
    }
    assert_eq!(verification.store.faults.calls("record_code"), 0);
}

#[tokio::test]
async fn an_unsupported_signature_algorithm_is_refused() {
    let verification = verification();
    for settings in ["key=k,algorithm=HMAC_SHA512", "key=k,algorithm=NONE", "key=k"] {
        // Signed with the shared key by SHA-256, whatever the header claims.
        let request = gather_signed_with(SHARED_KEY, Some((settings, twilio_signature::Algorithm::HmacSha256)));
        assert_eq!(verification.handle(request).await.status(), 403, "{settings}");
    }
    // A deployment without a shared key refuses a shared-key signature.
    let mut config = twilio_config();
    config.shared_keys.clear();
    let request = signed_webhook(
        twilio::VOICE_PATH,
        "",
        &[],
        &Secret::new(SHARED_KEY),
        Some((SHARED_KEY_SETTINGS, twilio_signature::Algorithm::HmacSha256)),
    );
    assert_eq!(twilio::voice(&config, request).await.status(), 403);
    assert_eq!(verification.store.faults.calls("record_code"), 0);
}

#[tokio::test]
async fn during_a_rotation_the_secondary_auth_token_and_a_second_shared_key_are_accepted() {
    let verification = verification();
    assert_hangs_up(&verification.handle(gather_signed_with(SECONDARY_TOKEN, None)).await);
    assert_eq!(verification.store.codes().len(), 1);

    let mut config = twilio_config();
    config.shared_keys.push(Secret::new("the-next-shared-key"));
    let sha256 = Some((SHARED_KEY_SETTINGS, twilio_signature::Algorithm::HmacSha256));
    for key in [SHARED_KEY, "the-next-shared-key"] {
        let request = signed_webhook(twilio::VOICE_PATH, "", &[], &Secret::new(key), sha256);
        assert_eq!(twilio::voice(&config, request).await.status(), 200, "{key}");
    }
    // Once promoted, the old token is removed from the configuration and refused.
    config.auth_tokens = vec![Secret::new(TOKEN)];
    let request = signed_webhook(twilio::VOICE_PATH, "", &[], &Secret::new(SECONDARY_TOKEN), None);
    assert_eq!(twilio::voice(&config, request).await.status(), 403);
}

/// The code as a crash right after storing it left it: recorded, `email_status` pending.
async fn crashed_after_recording(
    verification: &Verification<FakeVerificationStore, FakeMailer, crate::testing::FakeEventBus>,
) {
    use crate::ports::VerificationStore as _;
    let captured = crate::domain::verification::CapturedCode {
        call_sid: crate::domain::ids::CallSid::new(CALL),
        code: "481529".to_owned(),
        method: crate::domain::verification::CaptureMethod::Speech,
        confidence: None,
        heard: Some("your code is 4 8 1 5 2 9".to_owned()),
        from: None,
        to: Some("+15550101234".to_owned()),
        received_at: chrono::Utc::now(),
    };
    let stored = verification.store.record_code(&captured).await;
    assert_eq!(stored.ok(), Some(crate::ports::WriteOutcome::Applied));
}

#[tokio::test]
async fn a_repeated_webhook_finishes_the_email_a_crash_left_pending_exactly_once() {
    let verification = verification();
    crashed_after_recording(&verification).await;
    assert!(verification.mailer.sent().is_empty());
    // Twilio repeats the webhook (or the robot the code): the pending email goes out now.
    assert_hangs_up(&verification.handle(code_spoken(TOKEN)).await);
    assert_eq!(verification.mailer.sent().len(), 1);
    assert!(matches!(
        verification.store.email_outcomes()[&code_item()],
        EmailOutcome::Sent { .. }
    ));
    // Any further repeat sends nothing.
    assert_hangs_up(&verification.handle(code_spoken(TOKEN)).await);
    assert_eq!(verification.mailer.sent().len(), 1);
}

#[tokio::test]
async fn two_concurrent_repeats_of_a_pending_email_send_it_once() {
    let verification = verification();
    crashed_after_recording(&verification).await;
    let (first, second) = tokio::join!(
        verification.handle(code_spoken(TOKEN)),
        verification.handle(code_spoken(TOKEN))
    );
    assert_hangs_up(&first);
    assert_hangs_up(&second);
    assert_eq!(verification.mailer.sent().len(), 1);
    assert_eq!(verification.store.faults.calls("claim_email"), 2);

    // A fresh code and its concurrent repeat: one email too.
    let verification = self::verification();
    let (first, second) = tokio::join!(
        verification.handle(code_spoken(TOKEN)),
        verification.handle(code_spoken(TOKEN))
    );
    assert_hangs_up(&first);
    assert_hangs_up(&second);
    assert_eq!(verification.mailer.sent().len(), 1);
}

#[tokio::test]
async fn a_failed_claim_on_a_new_code_still_emails_and_on_a_repeat_does_not() {
    let verification = verification();
    verification.store.faults.fail_next("claim_email", 1, Fault::Transient);
    assert_hangs_up(&verification.handle(code_spoken(TOKEN)).await);
    assert_eq!(verification.mailer.sent().len(), 1);

    let verification = self::verification();
    crashed_after_recording(&verification).await;
    verification.store.faults.fail_next("claim_email", 1, Fault::Transient);
    assert_hangs_up(&verification.handle(code_spoken(TOKEN)).await);
    assert!(verification.mailer.sent().is_empty());
    // The next repeat finishes it.
    assert_hangs_up(&verification.handle(code_spoken(TOKEN)).await);
    assert_eq!(verification.mailer.sent().len(), 1);
}

// ------------------------------------------------------------------ verification.code_captured

type PublishingVerification = Verification<FakeVerificationStore, FakeMailer, crate::testing::FakeEventBus>;

fn publishing_verification(include_code: bool) -> (PublishingVerification, crate::testing::FakeEventBus) {
    let bus = crate::testing::FakeEventBus::new();
    let mut publishing = crate::publishing::Publishing::new(bus.clone());
    publishing.resend_after = vec![std::time::Duration::from_millis(1)];
    publishing.include_verification_code = include_code;
    (verification().with_events(publishing), bus)
}

/// Everything the handler logs while `run` runs on this thread, as JSON lines.
///
/// One global subscriber for the whole test binary, writing to the capture of the thread the event
/// happens on: a per-test `set_default` loses events whenever another test thread caches a callsite's
/// interest as "never" at the same moment (a flaky empty log).
async fn logged<F: std::future::Future>(run: F) -> (F::Output, String) {
    use std::cell::RefCell;
    use std::sync::{Arc, Mutex, Once};

    thread_local! {
        static CAPTURE: RefCell<Option<Arc<Mutex<Vec<u8>>>>> = const { RefCell::new(None) };
    }
    struct ThreadCapture;
    impl std::io::Write for ThreadCapture {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            CAPTURE.with(|capture| {
                if let Some(buffer) = capture.borrow().as_ref() {
                    buffer.lock().expect("log buffer").extend_from_slice(bytes);
                }
            });
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(|| ThreadCapture)
            .finish();
        // Only this helper installs one; if something else did first, its events are not captured
        // and the assertions on the log say so.
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
    let buffer = Arc::new(Mutex::new(Vec::new()));
    CAPTURE.with(|capture| *capture.borrow_mut() = Some(Arc::clone(&buffer)));
    let output = run.await;
    CAPTURE.with(|capture| *capture.borrow_mut() = None);
    let text = String::from_utf8(buffer.lock().expect("log buffer").clone()).expect("JSON log lines are UTF-8");
    (output, text)
}

#[tokio::test]
async fn a_captured_code_publishes_one_schema_valid_event_without_the_code_unless_configured() {
    let (verification, bus) = publishing_verification(false);
    let (response, logs) = logged(verification.handle(code_spoken(TOKEN))).await;
    assert_hangs_up(&response);
    let published = bus.published();
    assert_eq!(published.len(), 1, "{published:?}");
    let event = &published[0];
    assert_eq!(event.detail_type, "verification.code_captured");
    crate::testing::schema::assert_valid("verification.code_captured", &event.detail);
    assert_eq!(event.detail["call_sid"], CALL);
    assert_eq!(event.detail["called_number"], "+15550101234");
    assert_eq!(event.detail["captured_by"], "speech");
    assert_eq!(event.detail["email"], "sent");
    assert_eq!(event.detail["recorded"], true);
    assert_eq!(event.detail["code_included"], false);
    assert!(event.detail.get("code").is_none());
    // Neither the code nor the words that spell it, anywhere in the event; nor in the logs,
    // nor the auth token.
    for text in [event.detail_json.replace(CALL, ""), logs.replace(CALL, "")] {
        assert!(!text.contains("481529"), "{text}");
        assert!(!text.contains("4 8 1 5 2 9"), "{text}");
        assert!(!text.contains(TOKEN), "{text}");
    }
    assert!(
        logs.contains("verification code captured"),
        "the log line is there: {logs}"
    );
    // The event id is the call's, so Twilio repeating the webhook gives the same id.
    assert_hangs_up(&verification.handle(code_spoken(TOKEN)).await);
    let again = bus.published();
    assert_eq!(again.len(), 2);
    assert_eq!(again[1].event_id, again[0].event_id);
    assert_eq!(again[1].detail["email"], "handled_earlier");

    // EVENTS_INCLUDE_VERIFICATION_CODE=true: the code is in the event, and still not in the logs.
    let (verification, bus) = publishing_verification(true);
    let (response, logs) = logged(verification.handle(code_spoken(TOKEN))).await;
    assert_hangs_up(&response);
    let event = &bus.published()[0];
    crate::testing::schema::assert_valid("verification.code_captured", &event.detail);
    assert_eq!(event.detail["code"], "481529");
    assert_eq!(event.detail["code_included"], true);
    assert!(!logs.contains("481529"), "{logs}");
}

#[tokio::test]
async fn a_transcribed_code_publishes_after_the_record_and_a_failed_publish_is_503_for_a_retry() {
    let (verification, bus) = publishing_verification(false);
    bus.faults.fail_next("put_events", 2, Fault::Transient);
    let failed = verification.handle(transcription(TOKEN)).await;
    assert_eq!(failed.status(), 503, "Twilio calls a failed callback again");
    assert_eq!(verification.store.recordings().len(), 1, "recorded before publishing");
    assert_eq!(verification.mailer.sent().len(), 1);
    assert!(bus.published().is_empty());
    // Twilio's retry: recorded and mailed already, the event published now, nothing sent twice.
    assert_eq!(verification.handle(transcription(TOKEN)).await.status(), 200);
    let published = bus.published();
    assert_eq!(published.len(), 1);
    crate::testing::schema::assert_valid("verification.code_captured", &published[0].detail);
    assert_eq!(published[0].detail["captured_by"], "transcription");
    assert_eq!(published[0].detail["email"], "handled_earlier");
    assert!(
        !published[0].detail_json.replace(CALL, "").contains("123456"),
        "{}",
        published[0].detail_json
    );
    assert_eq!(verification.mailer.sent().len(), 1);
    // A gather whose publish fails still answers the call (Twilio does not repeat a gather).
    let (verification, bus) = publishing_verification(false);
    bus.faults.fail_next("put_events", 2, Fault::Transient);
    assert_hangs_up(&verification.handle(code_spoken(TOKEN)).await);
    assert_eq!(verification.store.codes().len(), 1);
}

#[tokio::test]
async fn nothing_is_published_when_no_code_was_heard() {
    let (verification, bus) = publishing_verification(true);
    let request = webhook(twilio::GATHER_PATH, "attempt=1", &[("SpeechResult", "hello?")], TOKEN);
    assert_eq!(verification.handle(request).await.status(), 200);
    assert!(bus.published().is_empty());
}
