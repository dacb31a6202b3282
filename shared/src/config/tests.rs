use super::*;
use crate::domain::records::PhoneNumberFilter;
use crate::domain::spoken_code::CodeLanguage;
use std::collections::HashMap;

fn env(vars: &[(&str, &str)]) -> Env<impl Fn(&str) -> Option<String>> {
    let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Env::new(move |name: &str| map.get(name).cloned())
}

#[test]
fn names_every_missing_variable_and_no_secret() {
    let err = IngestConfig::from_env(env(&[
        ("WHATSAPP_APP_SECRET", "s3cr3t"),
        ("QUEUE_INLINE_LIMIT_BYTES", "x"),
    ]))
    .expect_err("incomplete");
    let text = err.to_string();
    assert!(text.contains("QUEUE_URL is not set"), "{text}");
    assert!(text.contains("PAYLOAD_BUCKET is not set"), "{text}");
    assert!(text.contains("QUEUE_INLINE_LIMIT_BYTES must be a number"), "{text}");
    assert!(!text.contains("s3cr3t"));
}

#[test]
fn verification_config_checks_addresses_and_url() {
    let err = VerificationConfig::from_env(env(&[
        ("TWILIO_AUTH_TOKEN", "tok"),
        ("PUBLIC_BASE_URL", "api.example.com"),
        ("VERIFICATION_EMAIL_FROM", "not-an-address"),
        ("TABLE_NAME", "t"),
    ]))
    .expect_err("invalid");
    let text = err.to_string();
    assert!(text.contains("PUBLIC_BASE_URL must start with https://"), "{text}");
    assert!(text.contains("VERIFICATION_EMAIL_TO is not set"), "{text}");
    assert!(text.contains("\"not-an-address\" is not an email address"), "{text}");

    let config = VerificationConfig::from_env(env(&[
        ("TWILIO_AUTH_TOKEN", "tok"),
        ("PUBLIC_BASE_URL", "https://api.example.com/"),
        ("VERIFICATION_EMAIL_FROM", "verify@example.com"),
        ("VERIFICATION_EMAIL_TO", "a@example.com, b@example.com"),
        ("TABLE_NAME", "t"),
    ]))
    .expect("valid");
    assert_eq!(
        config.twilio.public_base_url.as_deref(),
        Some("https://api.example.com")
    );
    assert_eq!(
        config.email_to,
        vec!["a@example.com".to_owned(), "b@example.com".to_owned()]
    );
    assert_eq!(config.twilio.script.max_attempts, 3);
    assert_eq!(config.twilio.script.prompt, None);
}

#[test]
fn the_voice_language_decides_the_gather_language_and_the_number_words() {
    let twilio = |language: Option<&str>| {
        let mut vars = vec![("TWILIO_AUTH_TOKEN", "tok")];
        vars.extend(language.map(|language| ("VOICE_LANGUAGE", language)));
        TwilioConfig::voice_from_env(env(&vars))
    };
    let default = twilio(None).expect("valid");
    assert_eq!(default.script.language, "en-US");
    assert_eq!(default.script.code_language, CodeLanguage::English);
    let blank = twilio(Some(" ")).expect("valid");
    assert_eq!(blank.script.language, "en-US");
    let portuguese = twilio(Some("pt_BR")).expect("valid");
    assert_eq!(portuguese.script.language, "pt-BR");
    assert_eq!(portuguese.script.code_language, CodeLanguage::Portuguese);
    let spanish = twilio(Some("es-MX")).expect("valid");
    assert_eq!(spanish.script.code_language, CodeLanguage::Spanish);
    let german = twilio(Some("de-DE")).expect("valid");
    assert_eq!(german.script.code_language, CodeLanguage::NumeralsOnly);
    let text = twilio(Some("pt BR\"")).expect_err("invalid").to_string();
    assert!(text.contains("VOICE_LANGUAGE must be a language tag"), "{text}");
}

#[test]
fn blank_values_count_as_missing() {
    let err = VerifyConfig::from_env(env(&[("WHATSAPP_VERIFY_TOKEN", "  ")])).expect_err("blank");
    assert_eq!(err.problems, vec!["WHATSAPP_VERIFY_TOKEN is not set".to_owned()]);
}

#[test]
fn reads_a_complete_worker_config() {
    let config = WorkerConfig::from_env(env(&[
        ("TABLE_NAME", "messages"),
        ("ALLOWED_PHONE_NUMBER_IDS", " 111, ,222 "),
        ("RETENTION_DAYS", "30"),
    ]))
    .expect("complete");
    assert_eq!(config.table_name, "messages");
    assert_eq!(
        config.phone_numbers,
        PhoneNumberFilter::new(["111".to_owned(), "222".to_owned()])
    );
    assert!(config.phone_numbers.serves(Some("222")));
    assert!(!config.phone_numbers.serves(Some("333")));
    assert_eq!(config.retention_days, 30);
}

#[test]
fn business_numbers_one_alone_or_several_and_the_inbound_filter_defaults_to_them() {
    let one =
        WorkerConfig::from_env(env(&[("TABLE_NAME", "t"), ("WHATSAPP_PHONE_NUMBER_ID", "111")])).expect("complete");
    assert!(one.phone_numbers.serves(Some("111")));
    assert!(
        !one.phone_numbers.serves(Some("999")),
        "a foreign number is skipped by default"
    );
    let several = WorkerConfig::from_env(env(&[
        ("TABLE_NAME", "t"),
        ("WHATSAPP_PHONE_NUMBER_ID", "111"),
        ("WHATSAPP_PHONE_NUMBER_IDS", "222, 111 ,333"),
    ]))
    .expect("complete");
    assert!(
        ["111", "222", "333"]
            .iter()
            .all(|id| several.phone_numbers.serves(Some(id)))
    );
    assert!(!several.phone_numbers.serves(Some("999")));

    let send = SendApiConfig::from_env(env(&[
        ("API_KEY", "0123456789abcdef"),
        ("TABLE_NAME", "t"),
        ("SEND_QUEUE_URL", "q"),
        ("WHATSAPP_PHONE_NUMBER_IDS", "222,333"),
    ]))
    .expect("complete");
    assert_eq!(send.phone_numbers.default_number(), Some("222"));
    assert_eq!(send.phone_numbers.ids(), ["222".to_owned(), "333".to_owned()]);

    let vars = [("WHATSAPP_ACCESS_TOKEN", "token"), ("SEND_QUEUE_URL", "q")];
    let err = SenderConfig::from_env(env(&vars)).expect_err("no number");
    assert!(err.to_string().contains("WHATSAPP_PHONE_NUMBER_ID"), "{err}");
    let sender = SenderConfig::from_env(env(&[vars[0], vars[1], ("WHATSAPP_PHONE_NUMBER_ID", "111")]))
        .expect("complete")
        .expect("sending on");
    assert_eq!(sender.phone_numbers.ids(), ["111".to_owned()]);
}

/// The configuration reference once said an empty `ALLOWED_PHONE_NUMBER_IDS` served every number, while
/// the code served the business numbers; with no number named at all it did serve every number, other
/// apps' too (Meta sends each app of a business the events of all its numbers). Pinned: the allowed
/// list replaces the business numbers, empty it is them, and naming none is refused.
#[test]
fn the_worker_serves_the_numbers_it_is_given_and_refuses_to_start_without_any() {
    let worker = |vars: &[(&str, &str)]| {
        let mut all = vec![("TABLE_NAME", "t")];
        all.extend_from_slice(vars);
        WorkerConfig::from_env(env(&all))
    };
    // The allowed list adds to the numbers sent from: a number the worker sends from always has its
    // statuses recorded (else its unknown outcomes would be resent).
    let allowed =
        worker(&[("ALLOWED_PHONE_NUMBER_IDS", "222"), ("WHATSAPP_PHONE_NUMBER_ID", "111")]).expect("complete");
    assert_eq!(
        allowed.phone_numbers,
        PhoneNumberFilter::new(["111".to_owned(), "222".to_owned()])
    );
    assert!(allowed.phone_numbers.serves(Some("111")) && allowed.phone_numbers.serves(Some("222")));
    let only_allowed = worker(&[("ALLOWED_PHONE_NUMBER_IDS", "333")]).expect("complete");
    assert_eq!(only_allowed.phone_numbers, PhoneNumberFilter::new(["333".to_owned()]));
    // Empty, blank or only commas: the business numbers.
    for empty in ["", " ", " , ,"] {
        let config = worker(&[
            ("ALLOWED_PHONE_NUMBER_IDS", empty),
            ("WHATSAPP_PHONE_NUMBER_ID", "111"),
            ("WHATSAPP_PHONE_NUMBER_IDS", "222"),
        ])
        .expect("complete");
        assert_eq!(
            config.phone_numbers,
            PhoneNumberFilter::new(["111".to_owned(), "222".to_owned()]),
            "{empty:?}"
        );
        assert!(!config.phone_numbers.serves(Some("999")), "{empty:?}");
    }
    // A change without a phone number id cannot be shown to be another app's: it is kept.
    assert!(allowed.phone_numbers.serves(None));
    // No number named anywhere: refused, rather than serving every number of the business.
    for vars in [
        &[][..],
        &[
            ("ALLOWED_PHONE_NUMBER_IDS", " , "),
            ("WHATSAPP_PHONE_NUMBER_ID", " "),
            ("WHATSAPP_PHONE_NUMBER_IDS", ""),
        ][..],
    ] {
        let err = worker(vars).expect_err("no number");
        assert_eq!(
            err.problems,
            vec![
                "none of ALLOWED_PHONE_NUMBER_IDS, WHATSAPP_PHONE_NUMBER_ID, WHATSAPP_PHONE_NUMBER_IDS is set: \
                 name the phone number ids this deployment serves (Meta sends each app of a business the events \
                 of all its numbers; the worker records only its own)"
                    .to_owned()
            ],
            "{vars:?}"
        );
    }
}

#[test]
fn media_settings_default_to_metas_largest_file_and_the_queues_receives() {
    let config = WorkerConfig::from_env(env(&[
        ("TABLE_NAME", "t"),
        ("WHATSAPP_PHONE_NUMBER_ID", "111"),
        ("QUEUE_URL", "q"),
    ]))
    .expect("complete");
    assert_eq!(config.media_max_bytes, 100 * 1024 * 1024);
    assert_eq!(config.queue_max_receives, 5);
    assert_eq!(config.events_queue_url.as_deref(), Some("q"));
    let off = WorkerConfig::from_env(env(&[
        ("TABLE_NAME", "t"),
        ("WHATSAPP_PHONE_NUMBER_ID", "111"),
        ("MEDIA_MAX_BYTES", "0"),
    ]))
    .expect("complete");
    assert_eq!(off.media_max_bytes, 0);
    let err = WorkerConfig::from_env(env(&[
        ("TABLE_NAME", "t"),
        ("WHATSAPP_PHONE_NUMBER_ID", "111"),
        ("MEDIA_MAX_BYTES", "6000000000"),
        ("QUEUE_MAX_RECEIVES", "0"),
    ]))
    .expect_err("out of range");
    let text = err.to_string();
    assert!(
        text.contains("MEDIA_MAX_BYTES must be between 0 and 5368709120"),
        "{text}"
    );
    assert!(text.contains("QUEUE_MAX_RECEIVES must be between 1 and 1000"), "{text}");
}

#[test]
fn retention_and_size_settings_are_bounded_and_named() {
    let err = WorkerConfig::from_env(env(&[
        ("TABLE_NAME", "t"),
        ("ALLOWED_PHONE_NUMBER_IDS", "111"),
        ("RETENTION_DAYS", "4294967295"),
    ]))
    .expect_err("out of range");
    assert_eq!(
        err.problems,
        vec!["RETENTION_DAYS must be between 0 and 36500, got 4294967295".to_owned()]
    );
    let err = SendApiConfig::from_env(env(&[
        ("API_KEY", "0123456789abcdef"),
        ("TABLE_NAME", "t"),
        ("SEND_QUEUE_URL", "q"),
        ("RETENTION_DAYS", "100000"),
    ]))
    .expect_err("out of range");
    assert!(
        err.to_string().contains("RETENTION_DAYS must be between 0 and 36500"),
        "{err}"
    );
    let err = IngestConfig::from_env(env(&[
        ("WHATSAPP_APP_SECRET", "s"),
        ("QUEUE_URL", "q"),
        ("PAYLOAD_BUCKET", "b"),
        ("QUEUE_INLINE_LIMIT_BYTES", "2000000"),
    ]))
    .expect_err("above SQS's limit");
    assert!(
        err.to_string()
            .contains("QUEUE_INLINE_LIMIT_BYTES must be between 0 and 1040384"),
        "{err}"
    );
    let err = VerificationConfig::from_env(env(&[
        ("TWILIO_AUTH_TOKEN", "tok"),
        ("VERIFICATION_EMAIL_FROM", "verify@example.com"),
        ("VERIFICATION_EMAIL_TO", "a@example.com"),
        ("TABLE_NAME", "t"),
        ("CODE_RETENTION_DAYS", "99999999"),
    ]))
    .expect_err("out of range");
    assert!(
        err.to_string()
            .contains("CODE_RETENTION_DAYS must be between 0 and 36500"),
        "{err}"
    );

    // The bounds themselves are accepted, and the send API reads RETENTION_DAYS.
    let config = SendApiConfig::from_env(env(&[
        ("API_KEY", "0123456789abcdef"),
        ("TABLE_NAME", "t"),
        ("SEND_QUEUE_URL", "q"),
        ("RETENTION_DAYS", "36500"),
    ]))
    .expect("in range");
    assert_eq!(config.retention_days, 36_500);
}

fn sender(extra: &[(&str, &str)]) -> Result<Option<SenderConfig>, ConfigError> {
    let mut vars = vec![
        ("WHATSAPP_ACCESS_TOKEN", "token"),
        ("SEND_QUEUE_URL", "q"),
        ("WHATSAPP_PHONE_NUMBER_ID", "111"),
    ];
    vars.extend_from_slice(extra);
    SenderConfig::from_env(env(&vars))
}

fn problems(extra: &[(&str, &str)]) -> String {
    sender(extra).expect_err("refused").to_string()
}

/// Issue 21: GRAPH_TIMEOUT_MS up to 20000 made the send budget (graph + 3 × 4 s) longer than the
/// worker's 30 s timeout: no send ever started.
#[test]
fn a_graph_timeout_whose_send_budget_does_not_fit_the_worker_is_refused() {
    assert_eq!(MAX_GRAPH_TIMEOUT_MS, 10_000);
    let config = sender(&[]).expect("valid").expect("sending on");
    assert_eq!(
        config.graph_timeout,
        std::time::Duration::from_secs(10),
        "the default is the most"
    );
    for ms in ["100", "10000"] {
        assert!(sender(&[("GRAPH_TIMEOUT_MS", ms)]).is_ok(), "{ms}");
    }
    for ms in ["99", "10001", "18000", "20000"] {
        let text = problems(&[("GRAPH_TIMEOUT_MS", ms)]);
        assert!(
            text.contains(&format!("GRAPH_TIMEOUT_MS must be between 100 and 10000, got {ms}")),
            "{text}"
        );
        assert!(text.contains("30 s timeout"), "{text}");
    }
    // The bounds the limit is computed from are the worker's own.
    assert_eq!(
        crate::handlers::worker::WORKER_AWS_CALL_TIMEOUT,
        std::time::Duration::from_secs(u64::from(WORKER_AWS_CALL_SECONDS))
    );
}

/// Issue 21: SEND_RECONCILE_SECONDS had no lower bound (0 = resend at once).
#[test]
fn a_reconcile_window_too_short_for_status_webhooks_or_too_long_for_the_queue_is_refused() {
    for seconds in ["0", "60", "119"] {
        let text = problems(&[("SEND_RECONCILE_SECONDS", seconds)]);
        assert!(
            text.contains(&format!(
                "SEND_RECONCILE_SECONDS must be at least SEND_CLAIM_LEASE_SECONDS + 60 (120), got {seconds}"
            )),
            "{text}"
        );
    }
    let config = sender(&[("SEND_RECONCILE_SECONDS", "120")])
        .expect("valid")
        .expect("sending on");
    assert_eq!(config.reconcile_after_seconds, 120);
    // It follows the lease: a lapsed claim waits 60 s for its statuses after the lease ends.
    let text = problems(&[("SEND_CLAIM_LEASE_SECONDS", "300"), ("SEND_RECONCILE_SECONDS", "300")]);
    assert!(text.contains("SEND_CLAIM_LEASE_SECONDS + 60 (360), got 300"), "{text}");
    assert!(sender(&[("SEND_CLAIM_LEASE_SECONDS", "300"), ("SEND_RECONCILE_SECONDS", "360")]).is_ok());
    assert!(sender(&[("SEND_RECONCILE_SECONDS", "43200")]).is_ok());
    let text = problems(&[("SEND_RECONCILE_SECONDS", "43201")]);
    assert!(
        text.contains("SEND_RECONCILE_SECONDS must be at most 43200 (12 h, the longest a job waits on the send queue at once), got 43201"),
        "{text}"
    );
}

#[test]
fn a_lease_within_the_worker_timeout_and_receives_no_queue_can_have_are_refused() {
    let text = problems(&[("SEND_CLAIM_LEASE_SECONDS", "30")]);
    assert!(
        text.contains("SEND_CLAIM_LEASE_SECONDS must exceed the worker's 30 s timeout, got 30"),
        "{text}"
    );
    assert!(sender(&[("SEND_CLAIM_LEASE_SECONDS", "31")]).is_ok());
    for receives in ["0", "1", "1001"] {
        let text = problems(&[("SEND_MAX_RECEIVES", receives)]);
        assert!(
            text.contains(&format!(
                "SEND_MAX_RECEIVES must be between 2 and 1000 (the send queue's maxReceiveCount), got {receives}"
            )),
            "{text}"
        );
    }
    for receives in ["2", "1000"] {
        assert!(sender(&[("SEND_MAX_RECEIVES", receives)]).is_ok(), "{receives}");
    }
}

/// `make run`'s values pass every bound.
#[test]
fn local_env_is_a_valid_configuration() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../local.env")).expect("local.env");
    let vars: Vec<(&str, &str)> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .collect();
    assert!(vars.iter().any(|(name, _)| *name == "SEND_RECONCILE_SECONDS"));
    let sender = SenderConfig::from_env(env(&vars)).expect("valid").expect("sending on");
    assert_eq!(
        (
            sender.claim_lease_seconds,
            sender.reconcile_after_seconds,
            sender.max_receives
        ),
        (60, 900, 10)
    );
    WorkerConfig::from_env(env(&vars)).expect("valid");
    SendApiConfig::from_env(env(&vars)).expect("valid");
}
