//! Every command against the local stack (moto + the real handlers) and the Meta/Twilio stand-ins,
//! through the library and through the `wabridge` binary (exit codes, --json, secrets never printed).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use aws_sdk_sqs::types::MessageAttributeValue;
use bridge::adapters::dynamodb::DynamoMessageStore;
use bridge::domain::secret::Secret;
use common::{CliStack, Options, Stack};
use local_stack::graph_standin::{OnboardingConfig, SpokenCode};
use serde_json::Value;
use whatsapp_bridge_cli::doctor::{self, Outcome};
use whatsapp_bridge_cli::error::CliError;
use whatsapp_bridge_cli::graph::Graph;
use whatsapp_bridge_cli::onboarding::{self, OnboardOptions};
use whatsapp_bridge_cli::redrive;
use whatsapp_bridge_cli::webhook_signing;

const SECRETS: [&str; 5] = [
    "dev-only-app-secret",
    "dev-only-access-token",
    "dev-only-verify-token",
    "dev-only-send-api-key-0123456789",
    "dev-only-twilio-auth-token",
];

fn assert_no_secret(text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "a secret was printed: {text}");
    }
    assert!(!text.contains("246810"), "the PIN was printed: {text}");
}

fn graph(stack: &Stack, token: &str) -> Graph {
    Graph::new(&stack.graph_url, "v21.0", Secret::new(token)).unwrap()
}

fn store(stack: &Stack) -> DynamoMessageStore {
    DynamoMessageStore::new(aws_sdk_dynamodb::Client::new(&stack.sdk), &stack.env["TABLE_NAME"], 0)
}

fn fast(wait_secs: u64) -> OnboardOptions {
    OnboardOptions {
        wait: Duration::from_secs(wait_secs),
        poll: Duration::from_millis(300),
        ..OnboardOptions::default()
    }
}

// ---- onboard ----

#[tokio::test(flavor = "multi_thread")]
async fn onboard_end_to_end_the_call_reaches_the_twilio_functions_and_the_number_is_registered() {
    let stack = Stack::start(Options::default()).await;
    let run = stack.wabridge(&["onboard", "--json", "--wait", "30"], &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let report = run.json();
    assert_eq!(report["result"]["registered"], true, "{report}");
    let steps: Vec<(String, String)> = report["result"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["step"].as_str().unwrap().to_owned(),
                s["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("check", "done"),
            ("request_code", "done"),
            ("verify", "done"),
            ("register", "done")
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert_no_secret(&run.stdout);
    assert_no_secret(&run.stderr);

    // The stand-in's call went through the real Twilio handlers: voice TwiML, then the gather callback.
    let calls = stack.twilio.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(calls[0].error.is_none(), "{calls:?}");
    assert!(calls[0].webhooks[0].2.contains("<Gather"), "{calls:?}");
    assert!(calls[0].webhooks[1].2.contains("<Hangup"), "{calls:?}");
    // The captured code is in DynamoDB under the called number, written by the real handler.
    let codes = store(&stack)
        .captured_codes(&stack.number, chrono::Utc::now() - chrono::Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(codes.len(), 1);
    assert_eq!(codes[0].call_sid.as_str(), calls[0].call_sid);
    assert_eq!(codes[0].captured_by, "speech");

    // Meta's view of the number changed, and a second run is a no-op.
    let number = graph(&stack, "dev-only-access-token")
        .get(
            &stack.env["WHATSAPP_PHONE_NUMBER_ID"],
            &[("fields", "code_verification_status,status")],
        )
        .await
        .unwrap();
    assert_eq!(number["code_verification_status"], "VERIFIED");
    assert_eq!(number["status"], "CONNECTED");
    let again = stack.wabridge(&["onboard"], &[]).await;
    assert_eq!(again.code, 0, "{again:?}");
    assert!(again.stdout.contains("already registered"), "{again:?}");
    assert_eq!(stack.twilio.calls().len(), 1, "no second call");
}

#[tokio::test(flavor = "multi_thread")]
async fn onboard_in_portuguese_asks_meta_in_pt_br_and_the_functions_listen_and_read_portuguese() {
    let stack = Stack::start(Options {
        voice_language: Some("pt-BR"),
        ..Options::default()
    })
    .await;
    let run = stack
        .wabridge(&["onboard", "--language", "pt_BR", "--json", "--wait", "30"], &[])
        .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["result"]["registered"], true, "{run:?}");
    // Meta was asked for the code in pt_BR ...
    let requests = stack.graph.code_requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(
        (requests[0].code_method.as_str(), requests[0].language.as_str()),
        ("VOICE", "pt_BR")
    );
    // ... the Twilio functions listened in pt-BR ...
    let calls = stack.twilio.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(calls[0].error.is_none(), "{calls:?}");
    assert_eq!(calls[0].gather_language.as_deref(), Some("pt-BR"));
    // ... and read the code from the Portuguese words the robot spoke.
    let codes = store(&stack)
        .captured_codes(&stack.number, chrono::Utc::now() - chrono::Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(codes.len(), 1, "{codes:?}");
    let heard = codes[0].heard.as_deref().unwrap_or_default();
    assert!(heard.starts_with("O seu código do WhatsApp é "), "{heard}");
}

#[tokio::test(flavor = "multi_thread")]
async fn onboard_without_language_follows_the_functions_language() {
    let stack = Stack::start(Options {
        voice_language: Some("es-MX"),
        ..Options::default()
    })
    .await;
    let run = stack.wabridge(&["onboard", "--wait", "30"], &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("the code read in es_MX"), "{run:?}");
    let requests = stack.graph.code_requests();
    assert_eq!(
        requests.iter().map(|r| r.language.as_str()).collect::<Vec<_>>(),
        ["es_MX"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn onboard_refuses_a_language_the_functions_do_not_listen_in_or_meta_does_not_take() {
    let stack = Stack::start(Options::default()).await; // local.env: VOICE_LANGUAGE=en-US
    let mismatch = stack.wabridge(&["onboard", "--language", "pt_BR", "--json"], &[]).await;
    assert_eq!(mismatch.code, 2, "{mismatch:?}");
    let error = mismatch.json();
    assert_eq!(error["ok"], false);
    let text = error["error"]["message"].as_str().unwrap();
    assert!(text.contains("VoiceLanguage=pt-BR"), "{text}");
    let hyphen = stack.wabridge(&["onboard", "--language", "pt-BR"], &[]).await;
    assert_eq!(hyphen.code, 2, "{hyphen:?}");
    assert!(hyphen.stderr.contains("Did you mean pt_BR"), "{hyphen:?}");
    assert!(stack.graph.code_requests().is_empty(), "nothing was asked of Meta");
    assert!(stack.twilio.calls().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_in_another_language_than_the_functions_listen_in_is_not_understood() {
    // The functions listen in en-US; the CLI is not told (VOICE_LANGUAGE empty), so it cannot check.
    let stack = Stack::start(Options::default()).await;
    let run = stack
        .wabridge(
            &["onboard", "--language", "pt_BR", "--wait", "3"],
            &[("VOICE_LANGUAGE", "")],
        )
        .await;
    assert_eq!(run.code, 3, "{run:?}");
    let calls = stack.twilio.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].gather_language.as_deref(), Some("en-US"));
    let error = calls[0].error.as_deref().unwrap_or_default();
    assert!(error.contains("nothing was understood"), "{error}");
    // The gather function heard nothing and listened again.
    assert!(calls[0].webhooks[1].2.contains("attempt=2"), "{calls:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn onboard_times_out_with_exit_3_when_the_code_never_arrives() {
    let stack = Stack::start(Options {
        call: false,
        ..Options::default()
    })
    .await;
    let run = stack.wabridge(&["onboard", "--wait", "2"], &[]).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.contains("no code was captured") && run.stderr.contains("TwilioVoiceWebhookUrl"),
        "{run:?}"
    );
    assert_no_secret(&run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn onboard_explains_a_wrong_code_and_a_rerun_with_new_code_succeeds() {
    let stack = Stack::start(Options {
        onboarding: OnboardingConfig {
            spoken_code: SpokenCode::AnotherCode,
            ..OnboardingConfig::default()
        },
        ..Options::default()
    })
    .await;
    let pin = Secret::new("246810");
    let error = onboarding::onboard(
        &graph(&stack, "dev-only-access-token"),
        &store(&stack),
        &stack.env["WHATSAPP_PHONE_NUMBER_ID"],
        &pin,
        &OnboardOptions {
            number: Some(stack.number.clone()),
            ..fast(20)
        },
        &mut |_| {},
    )
    .await
    .unwrap_err();
    assert!(matches!(error, CliError::Failed(_)), "{error:?}");
    let text = error.to_string();
    assert!(
        text.contains("Meta refused the code") && text.contains("--new-code") && text.contains("136025"),
        "{text}"
    );

    // The code from the email, given by hand, completes the registration.
    let pending_code = {
        // The stand-in's robot read code+1; the expected code is one less.
        let codes = store(&stack)
            .captured_codes(&stack.number, chrono::Utc::now() - chrono::Duration::minutes(5))
            .await
            .unwrap();
        let heard: u32 = codes.last().unwrap().code.parse().unwrap();
        format!("{:06}", (heard + 999_999) % 1_000_000)
    };
    let report = onboarding::onboard(
        &graph(&stack, "dev-only-access-token"),
        &store(&stack),
        &stack.env["WHATSAPP_PHONE_NUMBER_ID"],
        &pin,
        &OnboardOptions {
            code: Some(pending_code),
            ..fast(5)
        },
        &mut |_| {},
    )
    .await
    .unwrap();
    assert!(report.registered);
}

#[tokio::test(flavor = "multi_thread")]
async fn onboard_is_idempotent_for_an_already_registered_number() {
    let stack = Stack::start(Options {
        onboarding: OnboardingConfig {
            registered_pin: Some("246810".to_owned()),
            ..OnboardingConfig::default()
        },
        ..Options::default()
    })
    .await;
    let run = stack.wabridge(&["onboard", "--json"], &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let report = run.json();
    assert_eq!(report["result"]["registered"], true);
    assert_eq!(report["result"]["steps"][2]["outcome"], "skipped", "{report}");
    assert!(stack.twilio.calls().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn onboard_with_an_expired_token_says_so_and_exits_1() {
    let stack = Stack::start(Options::default()).await;
    let run = stack
        .wabridge(&["onboard", "--json"], &[("WHATSAPP_ACCESS_TOKEN", "an-expired-token")])
        .await;
    assert_eq!(run.code, 1, "{run:?}");
    let error = run.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(
        error.contains("code 190") && error.contains("invalid or expired"),
        "{error}"
    );
    assert!(!run.stdout.contains("an-expired-token") && !run.stderr.contains("an-expired-token"));
}

#[tokio::test(flavor = "multi_thread")]
async fn onboard_refuses_a_missing_pin_as_a_usage_error() {
    let stack = Stack::start(Options::default()).await;
    let run = stack.wabridge(&["onboard"], &[("WHATSAPP_REGISTRATION_PIN", "")]).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("WHATSAPP_REGISTRATION_PIN"), "{run:?}");
    assert!(stack.twilio.calls().is_empty());
}

// ---- webhook ----

#[tokio::test(flavor = "multi_thread")]
async fn webhook_is_signed_so_the_local_ingestion_queues_it_and_a_wrong_secret_gets_403() {
    let stack = Stack::start(Options::default()).await;
    let run = stack
        .wabridge(&["webhook", "--text", "hello from wabridge", "--json"], &[])
        .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["result"]["status"], 200);
    let queued = stack
        .sqs
        .receive_message()
        .queue_url(&stack.queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default();
    assert_eq!(queued.len(), 1);
    assert!(queued[0].body().unwrap().contains("hello from wabridge"));

    let wrong = stack
        .wabridge(
            &["webhook", "--text", "forged"],
            &[("WHATSAPP_APP_SECRET", "not-the-secret")],
        )
        .await;
    assert_eq!(wrong.code, 1, "{wrong:?}");
    assert!(wrong.stdout.contains("HTTP 403"), "{wrong:?}");

    // An events/ file: the Twilio gather event re-signed for this stack's URL.
    let gather = stack
        .wabridge(
            &[
                "webhook",
                "--event",
                concat!(env!("CARGO_MANIFEST_DIR"), "/../events/twilio-gather.json"),
            ],
            &[],
        )
        .await;
    assert_eq!(gather.code, 0, "{gather:?}");
    assert!(gather.stdout.contains("<Response>"), "{gather:?}");
    assert_no_secret(&gather.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_events_file_is_signed_byte_exact() {
    let stack = Stack::start(Options::default()).await;
    let event = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../events/meta-webhook.json")).unwrap();
    let webhook_signing::EventBody::Meta(body) = webhook_signing::event_body(&event).unwrap() else {
        panic!("not a Meta event");
    };
    let request = webhook_signing::meta_webhook(
        &format!("{}/webhooks/whatsapp", stack.api_url),
        &Secret::new("dev-only-app-secret"),
        body,
    );
    let answer = webhook_signing::post(&request).await.unwrap();
    assert_eq!(answer.status, 200, "{answer:?}");
}

// ---- redrive ----

#[tokio::test(flavor = "multi_thread")]
async fn redrive_dry_run_lists_and_redrive_moves_dead_letters_back() {
    let stack = Stack::start(Options::default()).await;
    for n in 0..3 {
        stack
            .sqs
            .send_message()
            .queue_url(&stack.dlq_url)
            .message_body(format!("{{\"dead\":{n}}}"))
            .message_attributes(
                "kind",
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("webhook")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    let dry = stack.wabridge(&["redrive", "--dry-run", "--json"], &[]).await;
    assert_eq!(dry.code, 0, "{dry:?}");
    let listed = dry.json();
    assert_eq!(listed["result"]["messages"].as_array().unwrap().len(), 3, "{listed}");
    assert_eq!(listed["result"]["moved"], 0);
    assert_eq!(listed["result"]["messages"][0]["kind"], "webhook");

    let report = redrive::redrive(&stack.sqs, &stack.dlq_url, &stack.queue_url, false, 100)
        .await
        .unwrap();
    assert_eq!(report.moved, 3, "{report:?}");
    let mut bodies: Vec<String> = stack.emulator.receive_bodies(&stack.queue_url).await;
    bodies.sort();
    assert_eq!(bodies, ["{\"dead\":0}", "{\"dead\":1}", "{\"dead\":2}"]);
    assert!(stack.emulator.receive_bodies(&stack.dlq_url).await.is_empty());
}

// ---- send / status ----

#[tokio::test(flavor = "multi_thread")]
async fn send_follows_the_message_to_read_and_status_shows_it() {
    let stack = Stack::start(Options {
        worker: true,
        ..Options::default()
    })
    .await;
    let run = stack
        .wabridge(
            &[
                "send",
                "--to",
                "+15550109999",
                "--template",
                "hello_world",
                "--json",
                "--timeout",
                "30",
            ],
            &[],
        )
        .await;
    assert_eq!(run.code, 0, "{run:?}");
    let message = run.json()["result"]["message"].clone();
    assert_eq!(message["status"], "read", "{message}");
    let id = message["id"].as_str().unwrap().to_owned();
    assert!(message["wamid"].as_str().unwrap().starts_with("wamid."));

    let status = stack.wabridge(&["status", &id], &[]).await;
    assert_eq!(status.code, 0, "{status:?}");
    assert!(status.stdout.contains("status  read"), "{status:?}");
    assert_no_secret(&status.stdout);

    // The conversation with the recipient lists the send once, with Meta's latest status.
    let history = stack
        .wabridge(&["history", "+1 555 010 9999", "--all", "--json"], &[])
        .await;
    assert_eq!(history.code, 0, "{history:?}");
    let result = history.json()["result"].clone();
    assert_eq!(result["contact"], "15550109999", "{result}");
    let listed: Vec<&serde_json::Value> = result["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["id"] == id.as_str())
        .collect();
    assert_eq!(listed.len(), 1, "{result}");
    assert_eq!(listed[0]["status"], "read");
    assert_eq!(listed[0]["direction"], "outbound");
    let lines = stack.wabridge(&["history", "15550109999", "--limit", "1"], &[]).await;
    assert_eq!(lines.code, 0, "{lines:?}");
    assert!(lines.stdout.contains("-> template"), "{lines:?}");
    let bad = stack.wabridge(&["history", "15550109999", "--limit", "0"], &[]).await;
    assert_eq!(bad.code, 2, "a 400 is a usage/configuration error: {bad:?}");
    assert!(bad.stderr.contains("limit"), "{bad:?}");

    // A permanent failure (the stand-in's 131026 recipient) ends with exit 1.
    let failed = stack
        .wabridge(
            &[
                "send",
                "--to",
                "+9991310260000",
                "--template",
                "hello_world",
                "--json",
                "--timeout",
                "30",
            ],
            &[],
        )
        .await;
    assert_eq!(failed.code, 1, "{failed:?}");
    assert_eq!(failed.json()["result"]["message"]["status"], "failed", "{failed:?}");

    // A wrong API key is a configuration error.
    let refused = stack
        .wabridge(&["status", &id], &[("API_KEY", "not-the-key-0123456789")])
        .await;
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(refused.stderr.contains("401"), "{refused:?}");
}

// ---- doctor ----

/// The alarms of a test. The local emulator (moto 5.2) does not speak the CBOR protocol the
/// CloudWatch SDK uses, so the alarm list is given here; the check's logic is what is tested.
struct FixedAlarms(Vec<(String, String)>);

impl doctor::Alarms for FixedAlarms {
    async fn notifying(&self, _topic: &str) -> Result<Vec<(String, String)>, String> {
        Ok(self.0.clone())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_passes_every_check_on_a_healthy_local_deployment() {
    let stack = Stack::start(Options {
        onboarding: OnboardingConfig {
            registered_pin: Some("246810".to_owned()),
            ..OnboardingConfig::default()
        },
        ..Options::default()
    })
    .await;
    let topic = "arn:aws:sns:us-east-1:123456789012:alarms";
    let settings = stack.settings(&[("ALARM_TOPIC_ARN", topic)]);
    let alarms = FixedAlarms(vec![("dlq-not-empty".to_owned(), "OK".to_owned())]);
    let checks = doctor::run_with(&settings, &stack.sdk, &alarms).await;
    assert!(checks.iter().all(|c| c.outcome == Outcome::Pass), "{checks:?}");
    assert_eq!(checks.len(), 11);
    // Through the binary (no alarm topic configured: that row is skipped): exit 0, --json.
    let run = stack.wabridge(&["doctor", "--json"], &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let checks = run.json()["result"]["checks"].as_array().unwrap().clone();
    let results: Vec<(String, String)> = checks
        .iter()
        .map(|c| {
            (
                c["check"].as_str().unwrap().to_owned(),
                c["result"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        results,
        [
            ("token", "pass"),
            ("phone number", "pass"),
            ("messaging limit", "pass"),
            ("webhook subscription", "pass"),
            ("webhook fields", "pass"),
            ("graph api version", "pass"),
            ("coexistence", "pass"),
            ("callback URL", "pass"),
            ("SES identity", "pass"),
            ("Twilio voice URL", "pass"),
            ("alarms", "skip")
        ]
        .map(|(name, result)| (name.to_owned(), result.to_owned())),
        "{checks:?}"
    );
    assert_no_secret(&run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_reports_each_failure_with_its_fix() {
    let stack = Stack::start(Options {
        onboarding: OnboardingConfig {
            quality_rating: "RED".to_owned(),
            scopes: vec!["whatsapp_business_messaging".to_owned()],
            subscribed: false,
            ..OnboardingConfig::default()
        },
        voice_url_ok: false,
        ..Options::default()
    })
    .await;
    let topic = "arn:aws:sns:us-east-1:123456789012:alarms";
    let settings = stack.settings(&[
        ("ALARM_TOPIC_ARN", topic),
        ("WHATSAPP_VERIFY_TOKEN", "not-the-verify-token"),
        ("VERIFICATION_EMAIL_FROM", "never-verified@example.com"),
    ]);
    let alarms = FixedAlarms(vec![("dlq-not-empty".to_owned(), "ALARM".to_owned())]);
    let checks = doctor::run_with(&settings, &stack.sdk, &alarms).await;
    let by_name = |name: &str| checks.iter().find(|c| c.name == name).unwrap().clone();
    for name in [
        "token",
        "phone number",
        "webhook subscription",
        "callback URL",
        "SES identity",
        "Twilio voice URL",
        "alarms",
    ] {
        let check = by_name(name);
        assert_eq!(check.outcome, Outcome::Fail, "{check:?}");
        assert!(check.fix.as_deref().is_some_and(|f| !f.is_empty()), "{check:?}");
    }
    assert!(by_name("token").detail.contains("whatsapp_business_management"));
    assert!(by_name("phone number").detail.contains("RED"));
    assert!(by_name("callback URL").detail.contains("403"));
    assert!(by_name("Twilio voice URL").fix.unwrap().contains("/twilio/voice"));

    // Through the binary: exit 1, a table with the fixes.
    let run = stack.wabridge(&["doctor"], &[]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("FAIL") && run.stdout.contains("fix:"), "{run:?}");
    assert_no_secret(&run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_warns_of_a_send_tier_faster_than_the_number_and_names_missing_webhook_fields() {
    let stack = Stack::start(Options {
        onboarding: OnboardingConfig {
            registered_pin: Some("246810".to_owned()),
            webhook_fields: vec!["messages".to_owned(), "calls".to_owned()],
            messaging_limit: "TIER_250".to_owned(),
            ..OnboardingConfig::default()
        },
        ..Options::default()
    })
    .await;
    let by_name = |checks: &[doctor::Check], name: &str| checks.iter().find(|c| c.name == name).unwrap().clone();
    // 20 x 5 = 100/s against the standard 80/s.
    let settings = stack.settings(&[("SEND_RATE_PER_SECOND", "20"), ("SEND_MAXIMUM_CONCURRENCY", "5")]);
    let checks = doctor::run(&settings, &stack.sdk).await;
    let limit = by_name(&checks, "messaging limit");
    assert_eq!(limit.outcome, Outcome::Warn, "{limit:?}");
    assert!(
        limit.detail.contains("TIER_250") && limit.detail.contains("80 messages/s"),
        "{limit:?}"
    );
    assert!(limit.detail.contains("20 x 5 = 100/s"), "{limit:?}");
    assert!(
        limit.fix.as_deref().unwrap().contains("SendRatePerSecond=16"),
        "{limit:?}"
    );
    let fields = by_name(&checks, "webhook fields");
    assert_eq!(fields.outcome, Outcome::Warn, "{fields:?}");
    assert!(fields.detail.contains("smb_message_echoes"), "{fields:?}");
    assert!(!fields.detail.contains("calls"), "{fields:?}");
    let fix = fields.fix.unwrap();
    assert!(
        fix.contains("/subscriptions") && fix.contains("fields=messages,"),
        "{fix}"
    );
    assert!(!fix.contains("dev-only-app-secret"), "{fix}");
    // 16 x 5 = 80/s fits; a wrong app secret cannot read the fields.
    let settings = stack.settings(&[
        ("SEND_RATE_PER_SECOND", "16"),
        ("SEND_MAXIMUM_CONCURRENCY", "5"),
        ("WHATSAPP_APP_SECRET", "not-the-app-secret"),
    ]);
    let checks = doctor::run(&settings, &stack.sdk).await;
    assert_eq!(by_name(&checks, "messaging limit").outcome, Outcome::Pass);
    let fields = by_name(&checks, "webhook fields");
    assert_eq!(fields.outcome, Outcome::Fail, "{fields:?}");
    assert!(fields.detail.contains("15"), "{fields:?}");
    let json: Vec<Value> = checks.iter().map(doctor::Check::to_json).collect();
    assert!(!serde_json::to_string(&json).unwrap().contains("not-the-app-secret"));
    // Without the app's id there is no way to read them: skipped, saying why.
    let settings = stack.settings(&[("META_APP_ID", "")]);
    let checks = doctor::run(&settings, &stack.sdk).await;
    let fields = by_name(&checks, "webhook fields");
    assert_eq!(fields.outcome, Outcome::Skip, "{fields:?}");
    assert!(fields.detail.contains("/{app-id}/subscriptions"), "{fields:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn block_and_unblock_go_through_the_send_api_and_meta_s_refusal_is_explained() {
    let stack = Stack::start(Options::default()).await;
    let run = stack.wabridge(&["block", "+1 555 010 4242", "--json"], &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let result = &run.json()["result"];
    assert_eq!(result["contact"], "15550104242", "{run:?}");
    assert_eq!(result["blocked"], true, "{run:?}");
    let number = stack.env["WHATSAPP_PHONE_NUMBER_ID"].clone();
    assert_eq!(result["from"], number.as_str(), "{run:?}");
    let log: Value =
        serde_json::from_str(&test_support::http::get(&format!("{}/_standin/block-requests", stack.graph_url)).await)
            .unwrap();
    assert_eq!(
        log,
        serde_json::json!([{"phone_number_id": number, "method": "POST", "users": ["15550104242"]}])
    );
    let run = stack.wabridge(&["unblock", "15550104242"], &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("15550104242 is unblocked on"), "{run:?}");
    // A contact who did not write in the last 24 hours: Meta refuses, the command says why, exit 1.
    let run = stack.wabridge(&["block", "99913104700001", "--json"], &[]).await;
    assert_eq!(run.code, 1, "{run:?}");
    let message = run.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("422") && message.contains("24 hours") && message.contains("131047"),
        "{message}"
    );
    // A number the deployment does not have: a usage error, nothing asked of Meta.
    let run = stack
        .wabridge(&["block", "15550104242", "--from", "999", "--json"], &[])
        .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert_no_secret(&run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn calling_show_enable_with_hours_and_disable() {
    let stack = Stack::start(Options::default()).await;
    let run = stack.wabridge(&["calling", "show", "--json"], &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["result"]["calling"]["status"], "DISABLED", "{run:?}");
    let run = stack
        .wabridge(
            &[
                "calling",
                "enable",
                "--hours",
                "MON-FRI=0900-1700",
                "--timezone",
                "Europe/Lisbon",
                "--callback-permission",
                "on",
                "--json",
            ],
            &[],
        )
        .await;
    assert_eq!(run.code, 0, "{run:?}");
    let calling = run.json()["result"]["calling"].clone();
    assert_eq!(calling["status"], "ENABLED", "{calling}");
    assert_eq!(calling["callback_permission_status"], "ENABLED", "{calling}");
    assert_eq!(
        calling["call_hours"]["weekly_operating_hours"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    let run = stack.wabridge(&["calling", "show"], &[]).await;
    assert!(
        run.stdout.contains("call hours (Europe/Lisbon): MONDAY 0900-1700"),
        "{run:?}"
    );
    let run = stack.wabridge(&["calling", "disable", "--json"], &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["result"]["calling"]["status"], "DISABLED");
    // Hours the command cannot read: usage, nothing sent.
    let run = stack
        .wabridge(&["calling", "enable", "--hours", "weekdays", "--json"], &[])
        .await;
    assert_eq!(run.code, 2, "{run:?}");
    let log: Value = serde_json::from_str(
        &test_support::http::get(&format!("{}/_standin/settings-requests", stack.graph_url)).await,
    )
    .unwrap();
    assert_eq!(log.as_array().unwrap().len(), 2, "{log}");
    // An expired token: Meta's 401, exit 1.
    let run = stack
        .wabridge(
            &["calling", "show", "--json"],
            &[("WHATSAPP_ACCESS_TOKEN", "an-expired-token")],
        )
        .await;
    assert_eq!(run.code, 1, "{run:?}");
    assert_no_secret(&run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_with_an_expired_token_fails_the_token_row_and_skips_what_needs_it() {
    let stack = Stack::start(Options::default()).await;
    let settings = stack.settings(&[("WHATSAPP_ACCESS_TOKEN", "an-expired-token")]);
    let checks = doctor::run(&settings, &stack.sdk).await;
    let token = &checks[0];
    assert_eq!((token.name, token.outcome), ("token", Outcome::Fail), "{checks:?}");
    assert!(token.detail.contains("190"), "{token:?}");
    assert!(token.fix.as_deref().unwrap().contains("new access token"));
    assert_eq!(checks[1].outcome, Outcome::Skip);
    let json: Vec<Value> = checks.iter().map(doctor::Check::to_json).collect();
    assert!(!serde_json::to_string(&json).unwrap().contains("an-expired-token"));
}

// ---- usage ----

#[tokio::test(flavor = "multi_thread")]
async fn help_everywhere_and_usage_errors_exit_2() {
    let stack = Stack::start(Options::default()).await;
    for command in [
        "onboard", "send", "status", "webhook", "redrive", "doctor", "block", "unblock", "calling",
    ] {
        let run = stack.wabridge(&[command, "--help"], &[]).await;
        assert_eq!(run.code, 0, "{run:?}");
        assert!(run.stdout.contains("Exit codes"), "{run:?}");
    }
    let run = stack.wabridge(&["send", "--bogus"], &[]).await;
    assert_eq!(run.code, 2, "{run:?}");
    let run = stack.wabridge(&["doctor", "--set", "API_KEY=leaked"], &[]).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(!run.stderr.contains("leaked"), "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn mistyped_subcommands_and_flags_get_a_did_you_mean_tip_in_text_and_in_json() {
    let stack = Stack::start(Options::default()).await;
    let run = stack.wabridge(&["onbord"], &[]).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("a similar subcommand exists: 'onboard'"), "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");

    let run = stack.wabridge(&["doctor", "--jsn"], &[]).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("a similar argument exists: '--json'"), "{run:?}");

    // Under --json the usage error is the same envelope as every other outcome, on stdout.
    let run = stack.wabridge(&["--json", "onboard", "--languag", "pt_BR"], &[]).await;
    assert_eq!(run.code, 2, "{run:?}");
    let error = run.json();
    assert_eq!(error["ok"], false);
    assert_eq!(error["command"], "onboard");
    assert_eq!(error["exit_code"], 2);
    assert_eq!(error["result"], Value::Null);
    assert_eq!(error["error"]["kind"], "usage");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains("a similar argument exists: '--language'"), "{message}");

    let run = stack.wabridge(&["redrivee", "--json"], &[]).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.json()["command"], Value::Null);
    assert!(
        run.json()["error"]["message"].as_str().unwrap().contains("'redrive'"),
        "{run:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_command_prints_the_same_json_envelope() {
    let stack = Stack::start(Options::default()).await;
    let runs = [
        (
            "webhook",
            stack.wabridge(&["webhook", "--json", "--text", "hello"], &[]).await,
        ),
        (
            "redrive",
            stack.wabridge(&["redrive", "--json", "--dry-run"], &[]).await,
        ),
        ("doctor", stack.wabridge(&["doctor", "--json"], &[]).await),
        ("usage", stack.wabridge(&["usage", "--json"], &[]).await),
        ("status", stack.wabridge(&["status", "--json", "msg_nope"], &[]).await),
        ("send", stack.wabridge(&["send", "--json"], &[]).await),
        (
            "completions",
            stack.wabridge(&["completions", "bash", "--json"], &[]).await,
        ),
        (
            "onboard",
            stack.wabridge(&["onboard", "--json", "--language", "x"], &[]).await,
        ),
    ];
    for (command, run) in &runs {
        let value = run.json();
        let mut keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["command", "error", "exit_code", "ok", "result"],
            "{command}: {run:?}"
        );
        assert_eq!(value["command"], *command, "{run:?}");
        assert_eq!(value["exit_code"], run.code, "{run:?}");
        assert_eq!(value["ok"], run.code == 0, "{run:?}");
        if run.code == 0 {
            assert_eq!(value["error"], Value::Null, "{run:?}");
            assert!(value["result"].is_object(), "{run:?}");
        } else {
            assert!(value["error"]["message"].is_string(), "{run:?}");
            assert!(value["error"]["kind"].is_string(), "{run:?}");
        }
        assert_no_secret(&run.stdout);
    }
    let by_name = |name: &str| &runs.iter().find(|(command, _)| *command == name).unwrap().1;
    assert_eq!(by_name("webhook").json()["result"]["status"], 200);
    assert_eq!(by_name("status").json()["error"]["kind"], "failed");
    assert_eq!(by_name("send").json()["error"]["kind"], "usage");
    assert_eq!(by_name("onboard").json()["error"]["kind"], "usage");
    // doctor locally: the alarms row cannot pass (moto), so it fails with a result and an error.
    let doctor = by_name("doctor").json();
    assert!(doctor["result"]["checks"].is_array(), "{doctor}");
}

#[tokio::test(flavor = "multi_thread")]
async fn completions_for_bash_zsh_and_fish_name_every_command() {
    let stack = Stack::start(Options::default()).await;
    for (shell, marker) in [
        ("bash", "_wabridge()"),
        ("zsh", "#compdef wabridge"),
        ("fish", "complete -c wabridge"),
    ] {
        let run = stack.wabridge(&["completions", shell], &[]).await;
        assert_eq!(run.code, 0, "{run:?}");
        assert!(run.stdout.contains(marker), "{shell}: {}", run.stdout);
        for word in [
            "onboard",
            "send",
            "status",
            "webhook",
            "redrive",
            "doctor",
            "completions",
            "usage",
            "language",
            "profile",
            "block",
            "unblock",
            "calling",
        ] {
            assert!(run.stdout.contains(word), "{shell} lacks {word}");
        }
    }
    let run = stack.wabridge(&["completions", "powershell"], &[]).await;
    assert_eq!(run.code, 2, "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_progress_is_drawn_when_stderr_is_not_a_terminal() {
    let stack = Stack::start(Options::default()).await;
    for args in [
        &["onboard", "--wait", "30"][..],
        &["doctor"][..],
        &["redrive", "--dry-run"][..],
    ] {
        let run = stack.wabridge(args, &[]).await;
        assert!(!run.stderr.contains('\r'), "{args:?}: {run:?}");
        assert!(!run.stderr.contains('\u{1b}'), "{args:?}: {run:?}");
        assert!(!run.stderr.contains('⠋'), "{args:?}: {run:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn region_and_profile_choose_the_aws_account_and_region() {
    let region = bridge::adapters::load_sdk_config_for(None, Some("eu-west-3")).await;
    assert_eq!(region.region().map(|r| r.as_ref()), Some("eu-west-3"));

    // A profile that does not exist: the AWS call fails naming it, instead of using the environment's keys.
    let stack = Stack::start(Options::default()).await;
    let dir = std::env::temp_dir().join(format!("wabridge-profile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config_file = dir.join("config");
    std::fs::write(&config_file, "[profile bridge-test]\nregion = eu-west-3\n").unwrap();
    let credentials = dir.join("credentials");
    std::fs::write(
        &credentials,
        "[bridge-test]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .unwrap();
    let files = [
        ("AWS_CONFIG_FILE", config_file.to_str().unwrap()),
        ("AWS_SHARED_CREDENTIALS_FILE", credentials.to_str().unwrap()),
    ];
    let missing = stack
        .wabridge(&["--profile", "no-such-profile", "redrive", "--dry-run"], &files)
        .await;
    assert_eq!(missing.code, 1, "{missing:?}");
    assert!(missing.stderr.contains("no-such-profile"), "{missing:?}");
    // The profile's keys work (moto takes any); --region moves every call to another region, where this
    // stack's queue does not exist.
    let in_region = stack
        .wabridge(&["--profile", "bridge-test", "redrive", "--dry-run", "--json"], &files)
        .await;
    assert_eq!(in_region.code, 0, "{in_region:?}");
    let other_region = stack
        .wabridge(
            &[
                "--profile",
                "bridge-test",
                "--region",
                "eu-west-3",
                "redrive",
                "--dry-run",
                "--json",
            ],
            &files,
        )
        .await;
    assert_eq!(other_region.code, 1, "the queue is not in eu-west-3: {other_region:?}");
    assert_eq!(other_region.json()["error"]["kind"], "failed", "{other_region:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- templates ----

#[tokio::test(flavor = "multi_thread")]
async fn templates_list_reads_every_page_and_show_gives_one_name_in_every_language() {
    let stack = Stack::start(Options::default()).await;
    let run = stack.wabridge(&["templates", "list", "--json"], &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let result = &run.json()["result"];
    assert_eq!(result["count"], 5, "{run:?}");
    let names: Vec<String> = result["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| format!("{}/{}", t["name"].as_str().unwrap(), t["language"].as_str().unwrap()))
        .collect();
    assert_eq!(
        names,
        [
            "hello_world/en_US",
            "shipping_update/en_US",
            "shipping_update/es",
            "appointment_reminder/en_US",
            "summer_sale/en_US"
        ]
    );
    // Pages of two (Meta's cursors): the same five.
    let graph = graph(&stack, "dev-only-access-token");
    let all = whatsapp_bridge_cli::templates::fetch_pages(&graph, local_stack::graph_standin::WABA_ID, None, 2)
        .await
        .unwrap();
    assert_eq!(all.len(), 5);
    let text = stack.wabridge(&["templates", "list"], &[]).await;
    assert_eq!(text.code, 0, "{text:?}");
    assert!(
        text.stdout
            .lines()
            .any(|line| line.starts_with("appointment_reminder") && line.ends_with("header 1, body 2, buttons 1")),
        "{}",
        text.stdout
    );
    assert_no_secret(&text.stdout);
    let show = stack
        .wabridge(&["templates", "show", "shipping_update", "--json"], &[])
        .await;
    assert_eq!(show.code, 0, "{show:?}");
    let shown = show.json();
    assert_eq!(shown["result"]["count"], 2);
    assert_eq!(shown["result"]["templates"][1]["language"], "es");
    let missing = stack
        .wabridge(&["templates", "show", "no_such_template", "--json"], &[])
        .await;
    assert_eq!(missing.code, 1, "{missing:?}");
    assert!(
        missing.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no template named")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn coexistence_sync_asks_for_contacts_then_history_once_and_the_history_is_imported() {
    let stack = Stack::start(Options {
        worker: true,
        ..Options::default()
    })
    .await;
    // This number's syncs start unrequested (the table outlives a test run).
    let number_id = stack.env["WHATSAPP_PHONE_NUMBER_ID"].clone();
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.sdk);
    for sync_type in ["smb_app_state_sync", "history"] {
        dynamodb
            .delete_item()
            .table_name(&stack.env["TABLE_NAME"])
            .key(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S(format!("COEXIST#{number_id}")),
            )
            .key("sk", aws_sdk_dynamodb::types::AttributeValue::S(sync_type.to_owned()))
            .send()
            .await
            .unwrap();
    }
    let run = stack.wabridge(&["coexistence", "sync", "--json"], &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let steps: Vec<(String, String)> = run.json()["result"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["sync_type"].as_str().unwrap().to_owned(),
                s["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [("smb_app_state_sync", "requested"), ("history", "requested")].map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    let asked = || async {
        let log: Value = serde_json::from_str(
            &test_support::http::get(&format!("{}/_standin/smb-app-data-requests", stack.graph_url)).await,
        )
        .unwrap();
        log.as_array()
            .unwrap()
            .iter()
            .map(|r| r["sync_type"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        asked().await,
        ["smb_app_state_sync", "history"],
        "Meta asked once each, contacts first"
    );

    // A second run asks Meta nothing and says why.
    let again = stack.wabridge(&["coexistence", "sync"], &[]).await;
    assert_eq!(again.code, 1, "{again:?}");
    assert!(
        again.stderr.contains("requested already") || again.stdout.contains("requested already"),
        "{again:?}"
    );
    assert_eq!(asked().await.len(), 2);

    // The history Meta sent (the stand-in's demo thread) is imported: both directions, flagged.
    let mut imported = Vec::new();
    for _ in 0..100 {
        let history = stack
            .wabridge(&["history", "14155550123", "--all", "--json"], &[])
            .await;
        imported = history.json()["result"]["messages"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if imported.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let seen: Vec<(String, bool)> = imported
        .iter()
        .map(|m| {
            (
                m["direction"].as_str().unwrap_or_default().to_owned(),
                m["imported"] == true,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [("outbound".to_owned(), true), ("inbound".to_owned(), true)],
        "{imported:?}"
    );
    let doctor = stack.wabridge(&["doctor", "--json"], &[]).await;
    let coexistence = doctor.json()["result"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "coexistence")
        .cloned()
        .unwrap();
    assert!(
        coexistence["detail"].as_str().unwrap().contains("history requested"),
        "{coexistence}"
    );
}

// ---- usage ----

/// Statuses recorded as the worker records them (sent and delivered priced, delivered twice, read
/// unpriced) in a month of its own (the table outlives a run), then `usage` for that month: each
/// message once, by category and type, billable or free, with totals; in text and under --json.
#[tokio::test(flavor = "multi_thread")]
async fn usage_prints_the_months_messages_by_pricing_once_each() {
    use bridge::domain::ids::{PhoneNumberId, Wamid};
    use bridge::domain::records::{Received, StatusRecord};
    use bridge::domain::status::DeliveryStatus;
    use bridge::ports::MessageStore;

    let stack = Stack::start(Options::default()).await;
    let store = store(&stack);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    // A month of this run's own, years ahead: the 15th at noon, UTC.
    let (year, month) = (2100 + (nanos / 12 % 7000) as i32, (nanos % 12) as u32 + 1);
    let at = chrono::NaiveDate::from_ymd_opt(year, month, 15)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp();
    let month_text = format!("{year:04}-{month:02}");
    let pricing = |category: &str, pricing_type: &str, billable: bool| serde_json::json!({"billable": billable, "pricing_model": "PMP", "category": category, "type": pricing_type});
    let messages = [
        pricing("utility", "regular", true),
        pricing("utility", "regular", true),
        pricing("marketing", "regular", true),
        pricing("service", "free_customer_service", false),
    ];
    for (n, price) in messages.iter().enumerate() {
        let wamid = Wamid::new(format!("wamid.usage-{nanos}-{n}"));
        for (status, priced, request) in [
            (DeliveryStatus::Sent, true, "a"),
            (DeliveryStatus::Delivered, true, "b"),
            (DeliveryStatus::Delivered, true, "c"),
            (DeliveryStatus::Read, false, "d"),
        ] {
            let record = StatusRecord {
                wamid: wamid.clone(),
                status_name: status.as_str().to_owned(),
                status: Some(status),
                timestamp: Some(at + i64::from(status.rank())),
                phone_number_id: Some(PhoneNumberId::new("106540352242922")),
                recipient_id: Some("15550001111".to_owned()),
                recipient_user_id: None,
                conversation: None,
                pricing: priced.then(|| price.clone()),
                errors: Vec::new(),
                biz_opaque_callback_data: None,
                raw: "{}".to_owned(),
                received: Received {
                    at: chrono::Utc::now(),
                    request_id: format!("{wamid}-{request}"),
                },
            };
            store.record_status(&record).await.unwrap();
        }
    }

    let run = stack.wabridge(&["usage", "--month", &month_text], &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[0],
        format!("Messages in {month_text} (UTC), by Meta's pricing"),
        "{run:?}"
    );
    let line = |category: &str| *lines.iter().find(|l| l.starts_with(category)).unwrap();
    assert!(line("marketing").ends_with("         1          0"), "{run:?}");
    assert!(line("service").contains("free_customer_service"), "{run:?}");
    assert!(line("service").ends_with("         0          1"), "{run:?}");
    assert!(line("utility").ends_with("         2          0"), "{run:?}");
    assert!(line("total").ends_with("         3          1"), "{run:?}");
    assert_eq!(lines.last().copied(), Some("4 messages: 3 billable, 1 free"), "{run:?}");

    let run = stack.wabridge(&["usage", "--month", &month_text, "--json"], &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let result = &run.json()["result"];
    assert_eq!(result["month"], month_text.as_str());
    assert_eq!(
        (
            result["billable"].as_i64(),
            result["free"].as_i64(),
            result["total"].as_i64()
        ),
        (Some(3), Some(1), Some(4))
    );
    assert_eq!(
        result["rows"],
        serde_json::json!([
            {"category": "marketing", "type": "regular", "billable": true, "messages": 1},
            {"category": "service", "type": "free_customer_service", "billable": false, "messages": 1},
            {"category": "utility", "type": "regular", "billable": true, "messages": 2},
        ])
    );

    // The default month is the current UTC one; a month not as YYYY-MM is a usage error (exit 2).
    let run = stack.wabridge(&["usage", "--json"], &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let now = chrono::Utc::now().format("%Y-%m").to_string();
    assert_eq!(run.json()["result"]["month"], now.as_str());
    let run = stack.wabridge(&["usage", "--month", "2026-13", "--json"], &[]).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.json()["error"]["kind"], "usage");
    // The table unreachable: exit 1, the reason named.
    let run = stack
        .wabridge(&["usage", "--set", "TABLE_NAME=no-such-table"], &[])
        .await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("reading the usage"), "{run:?}");
}
