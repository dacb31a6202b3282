//! Secrets as deployed: SSM Parameter Store SecureStrings read once at cold start, through the
//! real SDK against the emulator. Values never appear in errors.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use aws_sdk_ssm::types::ParameterType;
use bridge::adapters::secrets::{SecretVar, resolve_secrets};
use integration_tests::{Emulator, unique};

async fn put_secure(ssm: &aws_sdk_ssm::Client, name: &str, value: &str) {
    ssm.put_parameter()
        .name(name)
        .value(value)
        .r#type(ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .unwrap();
}

fn lookup(vars: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<&str, String> = vars.into_iter().collect();
    move |name| map.get(name).cloned()
}

#[tokio::test]
async fn secrets_come_from_secure_string_parameters_in_one_read() {
    let emulator = Emulator::connect().await;
    let ssm = aws_sdk_ssm::Client::new(&emulator.sdk);
    let prefix = format!("/{}", unique("bridge-test"));
    put_secure(&ssm, &format!("{prefix}/app-secret"), "app-secret-from-ssm").await;
    put_secure(&ssm, &format!("{prefix}/api-key"), "api-key-from-ssm-0123456789").await;

    let resolved = resolve_secrets(
        Some(&emulator.sdk),
        &[
            SecretVar::required("WHATSAPP_APP_SECRET"),
            SecretVar::required("API_KEY"),
            // Set in the environment (local runs): used as is, not read from SSM.
            SecretVar::required("TWILIO_AUTH_TOKEN"),
            // Optional and absent from SSM: left unset (the worker then does not send).
            SecretVar::optional("WHATSAPP_ACCESS_TOKEN"),
        ],
        &lookup(vec![
            ("WHATSAPP_APP_SECRET_PARAMETER", format!("{prefix}/app-secret")),
            ("API_KEY_PARAMETER", format!("{prefix}/api-key")),
            ("TWILIO_AUTH_TOKEN", "from-the-environment".to_owned()),
            ("TWILIO_AUTH_TOKEN_PARAMETER", format!("{prefix}/twilio-auth-token")),
            ("WHATSAPP_ACCESS_TOKEN_PARAMETER", format!("{prefix}/access-token")),
        ]),
    )
    .await
    .unwrap();

    assert_eq!(
        resolved.get("WHATSAPP_APP_SECRET").map(String::as_str),
        Some("app-secret-from-ssm")
    );
    assert_eq!(
        resolved.get("API_KEY").map(String::as_str),
        Some("api-key-from-ssm-0123456789")
    );
    assert_eq!(
        resolved.get("TWILIO_AUTH_TOKEN"),
        None,
        "the environment's value is not overridden"
    );
    assert_eq!(resolved.get("WHATSAPP_ACCESS_TOKEN"), None);
    assert_eq!(resolved.len(), 2);
}

#[tokio::test]
async fn a_missing_required_parameter_is_named_and_no_value_is_shown() {
    let emulator = Emulator::connect().await;
    let ssm = aws_sdk_ssm::Client::new(&emulator.sdk);
    let prefix = format!("/{}", unique("bridge-test"));
    put_secure(&ssm, &format!("{prefix}/verify-token"), "verify-token-value-42").await;

    let error = resolve_secrets(
        Some(&emulator.sdk),
        &[
            SecretVar::required("WHATSAPP_VERIFY_TOKEN"),
            SecretVar::required("API_KEY"),
        ],
        &lookup(vec![
            ("WHATSAPP_VERIFY_TOKEN_PARAMETER", format!("{prefix}/verify-token")),
            ("API_KEY_PARAMETER", format!("{prefix}/api-key")),
        ]),
    )
    .await
    .unwrap_err();

    let text = error.to_string();
    assert_eq!(error.problems.len(), 1, "{text}");
    assert!(
        text.contains(&format!("API_KEY_PARAMETER names SSM parameter \"{prefix}/api-key\"")),
        "{text}"
    );
    assert!(!text.contains("verify-token-value-42"), "{text}");
}
