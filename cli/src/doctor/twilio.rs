//! The Twilio side: the number Meta's robot calls sends its calls to the stack's voice URL.

use bridge::domain::secret::Secret;

use super::Check;
use crate::config::{self, Settings};
use crate::twilio::{TwilioFailure, incoming_numbers};

pub(super) async fn check_twilio(settings: &Settings, display_number: Option<&str>) -> Check {
    let (Some(sid), Some(token)) = (
        settings.get(config::TWILIO_ACCOUNT_SID),
        settings.secret(config::TWILIO_AUTH_TOKEN),
    ) else {
        return Check::skip(
            "Twilio voice URL",
            "set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN to check it",
        );
    };
    let Some(number) = settings
        .get(config::TWILIO_PHONE_NUMBER)
        .or_else(|| display_number.map(str::to_owned))
    else {
        return Check::skip(
            "Twilio voice URL",
            "set TWILIO_PHONE_NUMBER (or a readable phone number id) to check it",
        );
    };
    let e164 = format!("+{}", number.chars().filter(char::is_ascii_digit).collect::<String>());
    let Some(expected) = settings.get(config::TWILIO_VOICE_URL) else {
        return Check::skip(
            "Twilio voice URL",
            "set TWILIO_VOICE_URL (stack output TwilioVoiceWebhookUrl) or PUBLIC_BASE_URL",
        );
    };
    let base = settings.get(config::TWILIO_API_BASE_URL).unwrap_or_default();
    match incoming_numbers(&base, &sid, &token as &Secret, &e164).await {
        Err(TwilioFailure::Unauthorized) => Check::fail(
            "Twilio voice URL",
            "Twilio refused the account SID / auth token (401, error 20003)",
            "set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN from the Twilio console (the auth token is also the key of X-Twilio-Signature)",
        ),
        Err(TwilioFailure::Other(text)) => {
            Check::fail("Twilio voice URL", text, "check TWILIO_API_BASE_URL and the network")
        }
        Ok(numbers) => match numbers.first() {
            None => Check::fail(
                "Twilio voice URL",
                format!("{e164} is not a number of Twilio account {sid}"),
                "buy/port the number into this account, or set TWILIO_PHONE_NUMBER",
            ),
            Some(found) if found.voice_url == expected && found.voice_method.eq_ignore_ascii_case("POST") => {
                Check::pass("Twilio voice URL", format!("{e164} → {} (POST)", found.voice_url))
            }
            Some(found) => Check::fail(
                "Twilio voice URL",
                format!(
                    "{e164} calls {} ({}), not {expected}",
                    if found.voice_url.is_empty() {
                        "nothing"
                    } else {
                        &found.voice_url
                    },
                    found.voice_method
                ),
                format!("Twilio console → Phone numbers → {e164} → \"A call comes in\": Webhook {expected}, HTTP POST"),
            ),
        },
    }
}
