//! Meta's verification call through the Twilio functions, against the AWS emulator:
//! TwiML answers, the code recorded in DynamoDB and emailed through SES, exactly once.

#![allow(clippy::unwrap_used)]

use aws_sdk_dynamodb::types::AttributeValue;
use bridge::adapters::dynamodb::{DynamoMessageStore, call_pk};
use bridge::adapters::ses::SesMailer;
use bridge::config::{Env, TwilioConfig, VerificationConfig};
use bridge::handlers::twilio::{self, Verification};
use integration_tests::*;

const BASE: &str = "https://bridge.example.com";
const TOKEN: &str = "test-twilio-auth-token";

fn config(emu: &Emulator, email_from: &str) -> VerificationConfig {
    let vars = [
        ("TWILIO_AUTH_TOKEN", TOKEN.to_owned()),
        ("PUBLIC_BASE_URL", BASE.to_owned()),
        ("VERIFICATION_EMAIL_FROM", email_from.to_owned()),
        (
            "VERIFICATION_EMAIL_TO",
            "owner@example.com, second@example.com".to_owned(),
        ),
        ("TABLE_NAME", emu.table().to_owned()),
        ("VOICE_MAX_ATTEMPTS", "2".to_owned()),
    ];
    VerificationConfig::from_env(Env::new(move |name: &str| {
        vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())
    }))
    .unwrap()
}

fn verification(emu: &Emulator, email_from: &str) -> bridge::compose::DeployedVerification {
    Verification::new(
        config(emu, email_from),
        DynamoMessageStore::new(emu.dynamodb.clone(), emu.table(), 30),
        SesMailer::new(aws_sdk_sesv2::Client::new(&emu.sdk)),
    )
}

/// The sender the local stack verified in the emulator's SES.
fn verified_sender(emu: &Emulator) -> String {
    emu.env["VERIFICATION_EMAIL_FROM"].clone()
}

fn call_params<'a>(call_sid: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut params = vec![
        ("AccountSid", "AC00000000000000000000000000000000"),
        ("CallSid", call_sid),
        ("CallStatus", "in-progress"),
        ("From", "+16505550100"),
        ("To", "+14155550123"),
    ];
    params.extend_from_slice(extra);
    params
}

fn body_text(response: &lambda_http::Response<lambda_http::Body>) -> String {
    String::from_utf8(response.body().to_vec()).unwrap()
}

fn twiml_root(xml: &str) -> roxmltree::Document<'_> {
    let doc = roxmltree::Document::parse(xml).unwrap();
    assert_eq!(doc.root_element().tag_name().name(), "Response");
    doc
}

async fn emails_about(emu: &Emulator, call_sid: &str) -> Vec<(String, Vec<String>, String, String)> {
    emu.sent_emails()
        .await
        .into_iter()
        .filter(|(_, _, _, body)| body.contains(call_sid))
        .collect()
}

async fn code_item(
    emu: &Emulator,
    call_sid: &str,
    code: &str,
) -> Option<std::collections::HashMap<String, AttributeValue>> {
    emu.item(&call_pk(call_sid), &format!("CODE#{code}")).await
}

#[tokio::test]
async fn a_signed_call_is_answered_with_twiml_that_listens_for_speech_and_keys() {
    let emu = Emulator::connect().await;
    let config = config(&emu, &verified_sender(&emu)).twilio;
    let call_sid = unique("CA");
    let response = twilio::voice(
        &config,
        twilio_request(BASE, "/twilio/voice", "", &call_params(&call_sid, &[]), TOKEN),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/xml; charset=utf-8");
    let xml = body_text(&response);
    let doc = twiml_root(&xml);
    let gather = doc.descendants().find(|n| n.has_tag_name("Gather")).expect("a Gather");
    assert_eq!(gather.attribute("input"), Some("speech dtmf"));
    assert_eq!(
        gather.attribute("action"),
        Some("https://bridge.example.com/twilio/gather?attempt=1")
    );
    assert_eq!(gather.attribute("hints"), Some("$OOV_CLASS_DIGIT_SEQUENCE"));
    assert!(
        doc.descendants().all(|n| !n.has_tag_name("Say")),
        "nothing talks over Meta's robot: {xml}"
    );
}

#[tokio::test]
async fn forged_and_malformed_twilio_requests_are_refused_and_change_nothing() {
    let emu = Emulator::connect().await;
    let verification = verification(&emu, &verified_sender(&emu));
    let call_sid = unique("CA");
    let params = call_params(&call_sid, &[("Digits", "123456")]);

    let forged = twilio_request(BASE, "/twilio/gather", "attempt=1", &params, "not-the-token");
    assert_eq!(verification.handle(forged).await.status(), 403);
    // Signed for another URL (the classic proxy mistake) is refused too.
    let elsewhere = twilio_request(
        "https://evil.example.com",
        "/twilio/gather",
        "attempt=1",
        &params,
        TOKEN,
    );
    assert_eq!(verification.handle(elsewhere).await.status(), 403);
    let unsigned = api_request(
        "POST",
        "/twilio/gather",
        "",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        format!("CallSid={call_sid}&Digits=123456").as_bytes(),
        false,
    );
    assert_eq!(verification.handle(unsigned).await.status(), 403);
    let json = api_request(
        "POST",
        "/twilio/gather",
        "",
        &[("Content-Type", "application/json")],
        b"{}",
        false,
    );
    assert_eq!(verification.handle(json).await.status(), 400);
    let huge = vec![b'a'; 70 * 1024];
    let oversized = api_request(
        "POST",
        "/twilio/gather",
        "",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &huge,
        true,
    );
    assert_eq!(verification.handle(oversized).await.status(), 413);
    let not_utf8 = api_request(
        "POST",
        "/twilio/gather",
        "",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"CallSid=%ff%fe",
        true,
    );
    assert_eq!(verification.handle(not_utf8).await.status(), 400);

    assert!(code_item(&emu, &call_sid, "123456").await.is_none());
    assert!(emails_about(&emu, &call_sid).await.is_empty());
}

#[tokio::test]
async fn a_spoken_code_is_recorded_and_emailed_once_even_when_twilio_repeats_the_webhook() {
    let emu = Emulator::connect().await;
    let verification = verification(&emu, &verified_sender(&emu));
    let call_sid = unique("CA");
    let params = call_params(
        &call_sid,
        &[
            (
                "SpeechResult",
                "Your WhatsApp code is 4 8 1 5 2 9. Once again, 4 8 1 5 2 9.",
            ),
            ("Confidence", "0.91"),
        ],
    );
    for _ in 0..2 {
        let response = verification
            .handle(twilio_request(BASE, "/twilio/gather", "attempt=1", &params, TOKEN))
            .await;
        assert_eq!(response.status(), 200);
        let xml = body_text(&response);
        let doc = twiml_root(&xml);
        assert!(doc.descendants().any(|n| n.has_tag_name("Hangup")), "{xml}");
    }

    let emails = emails_about(&emu, &call_sid).await;
    assert_eq!(emails.len(), 1, "one email for one call and code");
    let (from, to, subject, body) = &emails[0];
    assert_eq!(from, &verified_sender(&emu));
    assert_eq!(
        to,
        &vec!["owner@example.com".to_owned(), "second@example.com".to_owned()]
    );
    assert_eq!(subject, "WhatsApp verification code 481529");
    for part in ["481529", "+16505550100", "+14155550123", "speech", &call_sid] {
        assert!(body.contains(part), "{part} missing in {body}");
    }

    let item = code_item(&emu, &call_sid, "481529").await.expect("recorded");
    assert_eq!(s(&item, "code"), "481529");
    assert_eq!(s(&item, "captured_by"), "speech");
    assert_eq!(s(&item, "confidence"), "0.9100");
    assert_eq!(s(&item, "from"), "+16505550100");
    assert_eq!(s(&item, "email_status"), "sent");
    assert!(item.contains_key("expires_at"));
}

#[tokio::test]
async fn keypad_digits_are_accepted_for_a_human_tester() {
    let emu = Emulator::connect().await;
    let verification = verification(&emu, &verified_sender(&emu));
    let call_sid = unique("CA");
    let params = call_params(&call_sid, &[("Digits", "135790#")]);
    let response = verification
        .handle(twilio_request(BASE, "/twilio/gather", "attempt=1", &params, TOKEN))
        .await;
    assert_eq!(response.status(), 200);
    let item = code_item(&emu, &call_sid, "135790").await.expect("recorded");
    assert_eq!(s(&item, "captured_by"), "dtmf");
}

#[tokio::test]
async fn when_ses_refuses_the_code_is_still_recorded_and_the_caller_answered() {
    let emu = Emulator::connect().await;
    let verification = verification(&emu, "unverified-sender@example.com");
    let call_sid = unique("CA");
    let params = call_params(&call_sid, &[("SpeechResult", "one two three four five six")]);
    let response = verification
        .handle(twilio_request(BASE, "/twilio/gather", "attempt=1", &params, TOKEN))
        .await;
    assert_eq!(response.status(), 200);
    twiml_root(&body_text(&response));
    let item = code_item(&emu, &call_sid, "123456")
        .await
        .expect("recorded despite SES");
    assert_eq!(s(&item, "email_status"), "failed");
    assert!(s(&item, "email_error").contains("rejected"), "{item:?}");
    assert!(emails_about(&emu, &call_sid).await.is_empty());
}

#[tokio::test]
async fn no_code_listens_again_then_records_the_call_and_emails_the_transcription() {
    let emu = Emulator::connect().await;
    let verification = verification(&emu, &verified_sender(&emu));
    let call_sid = unique("CA");
    let params = call_params(&call_sid, &[("SpeechResult", "hello who is this")]);

    let first = body_text(
        &verification
            .handle(twilio_request(BASE, "/twilio/gather", "attempt=1", &params, TOKEN))
            .await,
    );
    let doc = twiml_root(&first);
    let gather = doc
        .descendants()
        .find(|n| n.has_tag_name("Gather"))
        .expect("listens again");
    assert_eq!(
        gather.attribute("action"),
        Some("https://bridge.example.com/twilio/gather?attempt=2")
    );

    // VOICE_MAX_ATTEMPTS=2: the second empty round records the call.
    let second = body_text(
        &verification
            .handle(twilio_request(BASE, "/twilio/gather", "attempt=2", &params, TOKEN))
            .await,
    );
    let doc = twiml_root(&second);
    let record = doc.descendants().find(|n| n.has_tag_name("Record")).expect("records");
    assert_eq!(record.attribute("transcribe"), Some("true"));
    assert_eq!(
        record.attribute("transcribeCallback"),
        Some("https://bridge.example.com/twilio/recording?event=transcription")
    );

    let recording_sid = unique("RE");
    let callback = call_params(
        &call_sid,
        &[
            ("RecordingSid", &recording_sid),
            (
                "RecordingUrl",
                "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE1",
            ),
            ("RecordingDuration", "31"),
            ("TranscriptionStatus", "completed"),
            (
                "TranscriptionText",
                "Your code is 7 7 1 0 4 2. Your code is 7 7 1 0 4 2.",
            ),
        ],
    );
    for _ in 0..2 {
        let request = twilio_request(BASE, "/twilio/recording", "event=transcription", &callback, TOKEN);
        assert_eq!(verification.handle(request).await.status(), 200);
    }
    let emails = emails_about(&emu, &call_sid).await;
    assert_eq!(emails.len(), 1);
    assert!(emails[0].2.contains("771042"), "{:?}", emails[0]);
    assert!(
        emails[0]
            .3
            .contains("https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE1")
    );
    let item = emu
        .item(&call_pk(&call_sid), &format!("RECORDING#{recording_sid}#transcription"))
        .await
        .unwrap();
    assert_eq!(s(&item, "code"), "771042");
    assert_eq!(s(&item, "email_status"), "sent");
    assert_eq!(s(&item, "duration_seconds"), "31");
}

#[test]
fn the_voice_config_reads_local_env() {
    let env = local_env();
    let config = TwilioConfig::voice_from_env(Env::new(move |name: &str| env.get(name).cloned())).unwrap();
    assert_eq!(config.public_base_url.as_deref(), Some("http://127.0.0.1:3000"));
}

/// The Twilio stand-in calls the stack's HTTP API signing as a Webhook Rule with a SharedKey does
/// (local.env's `TWILIO_WEBHOOK_SHARED_KEY`, HMAC-SHA256, `X-Twilio-Webhooks-Signature-Settings`):
/// the call is answered, the code recorded and emailed. A stand-in signing with another key is refused.
#[tokio::test]
async fn a_call_signed_with_a_webhook_rules_shared_key_is_captured() {
    use local_stack::twilio_standin::{IncomingNumber, Speech, TwilioStandin, TwilioStandinConfig, WebhookSharedKey};
    let stack = Stack::start(Options {
        call: false,
        ..Options::default()
    })
    .await;
    let shared_key = stack.env["TWILIO_WEBHOOK_SHARED_KEY"].clone();
    assert!(!shared_key.is_empty(), "local.env sets a dev-only shared key");
    let speech = Speech {
        text: "Your WhatsApp code is 3 7 1 9 2 6. Again, 3 7 1 9 2 6.".to_owned(),
        confidence: 0.9,
        language: "en_US".to_owned(),
    };
    let call = stack.twilio.call("+16505550100", &stack.number, &speech).await;
    assert_eq!(call.error, None, "{call:?}");
    assert_eq!(call.webhooks.len(), 2, "{call:?}");
    assert!(call.webhooks.iter().all(|(_, status, _)| *status == 200), "{call:?}");
    assert!(call.webhooks[1].2.contains("<Hangup"), "{call:?}");
    let item = code_item(&stack.emulator, &call.call_sid, "371926")
        .await
        .expect("recorded");
    assert_eq!(s(&item, "email_status"), "sent");

    // The same number, the auth token right but the shared key wrong: every webhook is refused.
    let forger = TwilioStandin::new(TwilioStandinConfig {
        account_sid: ACCOUNT_SID.to_owned(),
        auth_token: stack.env["TWILIO_AUTH_TOKEN"].clone(),
        numbers: vec![IncomingNumber {
            sid: "PN0123456789abcdef0123456789abcdef".to_owned(),
            phone_number: stack.number.clone(),
            voice_url: format!("{}/twilio/voice", stack.api_url),
            voice_method: "POST".to_owned(),
        }],
        webhook_shared_key: Some(WebhookSharedKey {
            sid: "webhooks_sharedkey_00000000000000000000000000".to_owned(),
            secret: format!("{shared_key}-not"),
            algorithm: bridge::domain::twilio_signature::Algorithm::HmacSha256,
        }),
    });
    let forged = forger.call("+16505550100", &stack.number, &speech).await;
    assert_eq!(forged.webhooks.len(), 1, "{forged:?}");
    assert_eq!(forged.webhooks[0].1, 403, "{forged:?}");
}

/// A crash between storing the code and emailing it left `email_status=pending`: Twilio's repeated
/// webhook, twice at once, sends the email exactly once and marks it sent.
#[tokio::test]
async fn repeated_webhooks_finish_a_pending_email_exactly_once() {
    use bridge::domain::verification::{CaptureMethod, CapturedCode};
    use bridge::ports::{VerificationStore, WriteOutcome};
    let emu = Emulator::connect().await;
    let verification = verification(&emu, &verified_sender(&emu));
    let call_sid = unique("CA");
    let crashed = CapturedCode {
        call_sid: bridge::domain::ids::CallSid::new(call_sid.clone()),
        code: "602418".to_owned(),
        method: CaptureMethod::Speech,
        confidence: Some(0.9),
        heard: Some("your code is 6 0 2 4 1 8".to_owned()),
        from: Some("+16505550100".to_owned()),
        to: Some("+14155550123".to_owned()),
        received_at: chrono::Utc::now(),
    };
    assert_eq!(
        verification.store.record_code(&crashed).await.unwrap(),
        WriteOutcome::Applied
    );
    let item = code_item(&emu, &call_sid, "602418").await.expect("recorded");
    assert_eq!(s(&item, "email_status"), "pending");

    let params = call_params(&call_sid, &[("SpeechResult", "your code is 6 0 2 4 1 8")]);
    let gather = || twilio_request(BASE, "/twilio/gather", "attempt=1", &params, TOKEN);
    let (first, second) = tokio::join!(verification.handle(gather()), verification.handle(gather()));
    assert_eq!((first.status().as_u16(), second.status().as_u16()), (200, 200));
    assert_eq!(emails_about(&emu, &call_sid).await.len(), 1);
    let item = code_item(&emu, &call_sid, "602418").await.expect("recorded");
    assert_eq!(s(&item, "email_status"), "sent");
    // One more repeat: still one email.
    assert_eq!(verification.handle(gather()).await.status(), 200);
    assert_eq!(emails_about(&emu, &call_sid).await.len(), 1);
}

/// A code the gather function captured is listed by the send API's `GET /verification-codes`, the
/// latest first: under the number in the query, and under `TWILIO_PHONE_NUMBER` without one.
#[tokio::test]
async fn captured_codes_are_listed_by_the_send_api_latest_first() {
    let emu = Emulator::connect().await;
    let verification = verification(&emu, &verified_sender(&emu));
    let digits: String = unique("").chars().filter(char::is_ascii_digit).collect();
    let number = format!("+1555{}", &digits[digits.len() - 7..]);
    for (call_sid, spoken) in [
        (unique("CA"), "Your WhatsApp code is 1 1 2 2 3 3."),
        (unique("CA"), "Your WhatsApp code is 4 4 5 5 6 6."),
    ] {
        let mut params = call_params(&call_sid, &[("SpeechResult", spoken), ("Confidence", "0.9")]);
        params.retain(|(name, _)| *name != "To");
        params.push(("To", &number));
        let response = verification
            .handle(twilio_request(BASE, "/twilio/gather", "attempt=1", &params, TOKEN))
            .await;
        assert_eq!(response.status(), 200);
        // Capture times a millisecond apart at least: the index orders by them.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let mut options = LoopOptions::new("codes", "test-codes-api-key-0123456789");
    options.vars = vec![("TWILIO_PHONE_NUMBER", &number), ("EVENT_BUS_NAME", "")];
    let test = SendLoop::start(options).await;
    let codes = |page: &serde_json::Value| -> Vec<String> {
        page["codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|code| code["code"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, page) = test.call("GET", "/verification-codes", "", &[], b"").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(codes(&page), ["445566", "112233"], "{page}");
    assert_eq!(page["codes"][0]["captured_by"], "speech");
    assert_eq!(page["number"], number.as_str());
    let query = format!("number={}&limit=1", number.trim_start_matches('+'));
    let (status, page) = test.call("GET", "/verification-codes", &query, &[], b"").await;
    assert_eq!((status, codes(&page)), (200, vec!["445566".to_owned()]), "{page}");
}
