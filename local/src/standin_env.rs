//! The stand-ins' settings as `make run` takes them from the environment. It sits above both stand-ins
//! (the Graph stand-in's onboarding places its calls through the Twilio one), so neither imports the other
//! back.

use std::sync::Arc;

use crate::graph_standin::OnboardingConfig;
use crate::twilio_standin::{IncomingNumber, TwilioStandin, TwilioStandinConfig, WebhookSharedKey};

/// The stand-ins as `make run` wires them, from the environment: the Twilio stand-in's address
/// (`LOCAL_TWILIO_ADDR`, default `127.0.0.1:3002`), the stand-in (account `TWILIO_ACCOUNT_SID`, token
/// `TWILIO_AUTH_TOKEN`, one number `TWILIO_PHONE_NUMBER` (default `+15550783881`) whose voice URL is
/// `public_base_url` + `/twilio/voice`), and the Graph stand-in's onboarding settings for that number
/// (`WHATSAPP_BUSINESS_ACCOUNT_ID`, `META_APP_ID` when set). With `TWILIO_WEBHOOK_SHARED_KEY` set, the
/// stand-in signs its webhooks with that shared key (HMAC-SHA256), as Twilio does under a Webhook Rule.
pub fn local_from_env(public_base_url: &str) -> Result<(String, Arc<TwilioStandin>, OnboardingConfig), String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let address = var("LOCAL_TWILIO_ADDR").unwrap_or_else(|| "127.0.0.1:3002".to_owned());
    let number = var("TWILIO_PHONE_NUMBER").unwrap_or_else(|| "+15550783881".to_owned());
    let standin = TwilioStandin::new(TwilioStandinConfig {
        account_sid: var("TWILIO_ACCOUNT_SID").unwrap_or_else(|| "AC00000000000000000000000000000000".to_owned()),
        auth_token: var("TWILIO_AUTH_TOKEN").ok_or("TWILIO_AUTH_TOKEN is not set (see local.env)")?,
        numbers: vec![IncomingNumber {
            sid: "PN00000000000000000000000000000000".to_owned(),
            phone_number: number.clone(),
            voice_url: format!("{}/twilio/voice", public_base_url.trim_end_matches('/')),
            voice_method: "POST".to_owned(),
        }],
        webhook_shared_key: shared_key_from(&var),
    });
    let mut onboarding = OnboardingConfig {
        display_phone_number: number,
        ..OnboardingConfig::default()
    };
    if let Some(waba) = var("WHATSAPP_BUSINESS_ACCOUNT_ID") {
        onboarding.waba_id = waba;
    }
    if let Some(app) = var("META_APP_ID") {
        onboarding.app_id = app;
    }
    Ok((address, standin, onboarding))
}

/// The Webhook Rule shared key the stand-in signs with: `TWILIO_WEBHOOK_SHARED_KEY`, when set.
pub fn shared_key_from(var: &dyn Fn(&str) -> Option<String>) -> Option<WebhookSharedKey> {
    var("TWILIO_WEBHOOK_SHARED_KEY").map(|secret| WebhookSharedKey {
        sid: "webhooks_sharedkey_00000000000000000000000000".to_owned(),
        secret,
        algorithm: bridge::domain::twilio_signature::Algorithm::HmacSha256,
    })
}
