//! The Meta side: the access token and its scopes, the phone number, the WABA's webhook subscription and
//! the callback URL's verification handshake.

use serde_json::Value;

use super::{Check, REQUIRED_SCOPES};
use crate::config::{self, Settings};
use crate::graph::{Graph, explain, http_client, is_token_error};

pub(super) async fn check_token(graph: &Graph, settings: &Settings, checks: &mut Vec<Check>) -> bool {
    let Some(token) = settings.secret(config::ACCESS_TOKEN) else {
        return false;
    };
    match graph.get("debug_token", &[("input_token", token.expose())]).await {
        Err(failure) => {
            let fix = if is_token_error(&failure) {
                "create a new access token (a System User token with whatsapp_business_management and whatsapp_business_messaging does not expire) and update WHATSAPP_ACCESS_TOKEN / the stack's access-token parameter"
            } else {
                "see the detail"
            };
            checks.push(Check::fail("token", explain("debug_token", &failure), fix));
            false
        }
        Ok(answer) => {
            let data = answer.get("data").cloned().unwrap_or(Value::Null);
            if data.get("is_valid").and_then(Value::as_bool) != Some(true) {
                let reason = data
                    .pointer("/error/message")
                    .and_then(Value::as_str)
                    .unwrap_or("no reason given");
                checks.push(Check::fail(
                    "token",
                    format!("Meta says the token is not valid: {reason}"),
                    "create a new access token and update WHATSAPP_ACCESS_TOKEN / the stack's access-token parameter",
                ));
                return false;
            }
            let scopes: Vec<&str> = data
                .get("scopes")
                .and_then(Value::as_array)
                .map(|s| s.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let missing: Vec<&str> = REQUIRED_SCOPES
                .iter()
                .copied()
                .filter(|s| !scopes.contains(s))
                .collect();
            let expires = match data.get("expires_at").and_then(Value::as_i64) {
                Some(0) | None => "never expires".to_owned(),
                Some(at) => format!(
                    "expires {}",
                    chrono::DateTime::from_timestamp(at, 0).map_or_else(|| at.to_string(), |t| t.to_rfc3339())
                ),
            };
            if missing.is_empty() {
                checks.push(Check::pass(
                    "token",
                    format!("valid, {expires}, scopes include {}", REQUIRED_SCOPES.join(", ")),
                ));
            } else {
                checks.push(Check::fail(
                    "token",
                    format!("valid but lacks {} ({expires})", missing.join(", ")),
                    "grant the missing permissions to the System User / app (Business Settings → System users → Assign assets / Generate token) and use the new token",
                ));
            }
            true
        }
    }
}

pub(super) async fn check_phone_number(graph: &Graph, settings: &Settings, checks: &mut Vec<Check>) -> Option<String> {
    let Some(id) = settings.get(config::PHONE_NUMBER_ID) else {
        checks.push(Check::fail(
            "phone number",
            "WHATSAPP_PHONE_NUMBER_ID is not set",
            "set WHATSAPP_PHONE_NUMBER_ID (WhatsApp Manager → Phone numbers, or the API Setup page)",
        ));
        return None;
    };
    match graph
        .get(
            &id,
            &[(
                "fields",
                "display_phone_number,verified_name,quality_rating,code_verification_status,status",
            )],
        )
        .await
    {
        Err(failure) => {
            checks.push(Check::fail("phone number", explain(&format!("reading phone number id {id}"), &failure), "check WHATSAPP_PHONE_NUMBER_ID and that the token's System User has this number's WhatsApp Business Account as an asset"));
            None
        }
        Ok(number) => {
            let text = |n: &str| number.get(n).and_then(Value::as_str).unwrap_or("?").to_owned();
            let display = text("display_phone_number");
            let detail = format!(
                "{display} ({}), quality {}, {}, {}",
                text("verified_name"),
                text("quality_rating"),
                text("code_verification_status"),
                text("status")
            );
            if text("quality_rating") == "RED" {
                checks.push(Check::fail("phone number", detail, "quality rating RED: Meta may lower the messaging limit; review recent templates and opt-outs in WhatsApp Manager → Insights"));
            } else if text("status") != "CONNECTED" {
                checks.push(Check::fail(
                    "phone number",
                    detail,
                    "the number is not registered with the Cloud API: run `wabridge onboard`",
                ));
            } else {
                checks.push(Check::pass("phone number", detail));
            }
            Some(display)
        }
    }
}

pub(super) async fn check_subscription(graph: &Graph, settings: &Settings, checks: &mut Vec<Check>) {
    let Some(waba) = settings.get(config::BUSINESS_ACCOUNT_ID) else {
        checks.push(Check::skip(
            "webhook subscription",
            "set WHATSAPP_BUSINESS_ACCOUNT_ID to check it",
        ));
        return;
    };
    match graph.get(&format!("{waba}/subscribed_apps"), &[]).await {
        Err(failure) => checks.push(Check::fail(
            "webhook subscription",
            explain("reading subscribed_apps", &failure),
            "check WHATSAPP_BUSINESS_ACCOUNT_ID and the token's permissions",
        )),
        Ok(answer) => {
            let apps: Vec<(String, String)> = answer
                .get("data")
                .and_then(Value::as_array)
                .map(|apps| {
                    apps.iter()
                        .map(|app| {
                            let data = app.get("whatsapp_business_api_data").unwrap_or(app);
                            let field = |n: &str| data.get(n).and_then(Value::as_str).unwrap_or_default().to_owned();
                            (field("id"), field("name"))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let app_id = settings.get(config::META_APP_ID);
            let found = apps
                .iter()
                .find(|(id, _)| app_id.as_ref().is_none_or(|wanted| wanted == id));
            match found {
                Some((id, name)) => checks.push(Check::pass("webhook subscription", format!("app {name} ({id}) is subscribed to WABA {waba}"))),
                None => checks.push(Check::fail(
                    "webhook subscription",
                    format!("{} is not subscribed to WABA {waba}'s webhooks", app_id.map_or_else(|| "no app".to_owned(), |id| format!("app {id}"))),
                    format!("POST /{waba}/subscribed_apps with the app's token (or subscribe in the App Dashboard → WhatsApp → Configuration)"),
                )),
            }
        }
    }
}

pub(super) async fn check_callback(settings: &Settings) -> Check {
    let (Some(url), Some(token)) = (
        settings.get(config::CALLBACK_URL),
        settings.secret(config::VERIFY_TOKEN),
    ) else {
        return Check::skip(
            "callback URL",
            "set WHATSAPP_CALLBACK_URL (stack output WhatsAppCallbackUrl) and WHATSAPP_VERIFY_TOKEN",
        );
    };
    let challenge = format!("{}", chrono::Utc::now().timestamp_micros());
    let separator = if url.contains('?') { '&' } else { '?' };
    let full = format!(
        "{url}{separator}hub.mode=subscribe&hub.verify_token={}&hub.challenge={challenge}",
        bridge::domain::form::encode(token.expose())
    );
    let Ok(http) = http_client() else {
        return Check::fail("callback URL", "cannot build an HTTP client", "see the detail");
    };
    match http.get(full).send().await {
        Err(error) => Check::fail(
            "callback URL",
            format!("no answer from {url} ({})", crate::graph::no_answer(&error)),
            "deploy the stack / check the URL (stack output WhatsAppCallbackUrl)",
        ),
        Ok(response) => {
            let status = response.status().as_u16();
            let body = response.text().await.unwrap_or_default();
            if status == 200 && body == challenge {
                Check::pass("callback URL", format!("{url} echoes hub.challenge"))
            } else if status == 403 {
                Check::fail(
                    "callback URL",
                    format!("{url} refused the verify token (403)"),
                    "WHATSAPP_VERIFY_TOKEN here and the stack's verify-token must be the same value, also the one typed in Meta's App Dashboard",
                )
            } else {
                Check::fail(
                    "callback URL",
                    format!("{url} answered HTTP {status} without the challenge"),
                    "the route must be GET /webhooks/whatsapp → meta-verify",
                )
            }
        }
    }
}
