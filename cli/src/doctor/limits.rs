//! What Meta lets the number do, against what the bundle is set to do: the number's messaging limit,
//! quality and throughput (`GET /{phone-number-id}?fields=…`) against the stack's send tier
//! (`SendRatePerSecond` × `SendMaximumConcurrency`), and the app's webhook fields against those the
//! bundle reads.
//!
//! Meta exposes an app's webhook fields only at the app level, `GET /{app-id}/subscriptions`, with the
//! app's token (`{app-id}|{app-secret}`); a WABA's `subscribed_apps` names the subscribed apps, not
//! their fields. Sources: developers.facebook.com/docs/graph-api/reference/app/subscriptions/,
//! …/whatsapp/messaging-limits (`messaging_limit_tier` deprecated for
//! `whatsapp_business_manager_messaging_limit`), protocol-facts (80 messages/s by default, 1,000 on
//! the higher tier, 20 for a number also in the WhatsApp Business app).

use bridge::domain::health::BUNDLE_WEBHOOK_FIELDS;
use bridge::domain::secret::Secret;
use serde_json::Value;

use super::Check;
use crate::config::{self, Settings};
use crate::graph::{Graph, explain};

/// The fields the row reads.
pub const NUMBER_FIELDS: &str =
    "whatsapp_business_manager_messaging_limit,messaging_limit_tier,quality_rating,throughput,is_on_biz_app";

/// Messages per second Meta lets the number send: `throughput.level`, or 20 for a number also in the
/// WhatsApp Business app.
pub fn throughput(number: &Value) -> Option<u32> {
    if number.get("is_on_biz_app").and_then(Value::as_bool) == Some(true) {
        return Some(20);
    }
    match number.pointer("/throughput/level").and_then(Value::as_str) {
        Some("STANDARD") => Some(80),
        Some("HIGH") => Some(1000),
        _ => None,
    }
}

/// A messaging limit tier in words.
fn limit_words(tier: &str) -> String {
    let contacts = match tier {
        "TIER_50" => "50",
        "TIER_250" => "250",
        "TIER_1K" => "1,000",
        "TIER_2K" => "2,000",
        "TIER_10K" => "10,000",
        "TIER_100K" => "100,000",
        "TIER_UNLIMITED" => return format!("{tier} (no daily limit)"),
        "TIER_NOT_SET" => return format!("{tier} (nothing sent yet)"),
        _ => return tier.to_owned(),
    };
    format!("{tier} ({contacts} contacts a day outside the 24-hour window)")
}

/// The `messaging limit` row for the number's fields and the send tier (`None`: not known here).
pub fn limits_row(number: &Value, rate: Option<u32>, concurrency: Option<u32>) -> Check {
    const NAME: &str = "messaging limit";
    let text = |name: &str| number.get(name).and_then(Value::as_str);
    let limit = text("whatsapp_business_manager_messaging_limit")
        .map(limit_words)
        .or_else(|| text("messaging_limit_tier").map(|tier| format!("{} (messaging_limit_tier)", limit_words(tier))))
        .unwrap_or_else(|| "not given".to_owned());
    let level = number
        .pointer("/throughput/level")
        .and_then(Value::as_str)
        .unwrap_or("?");
    let allowed = throughput(number);
    let allowed_text = allowed.map_or_else(|| "unknown".to_owned(), |per_second| format!("{per_second} messages/s"));
    let mut detail = format!(
        "limit {limit}, quality {}, throughput {level} ({allowed_text})",
        text("quality_rating").unwrap_or("?")
    );
    let (Some(rate), Some(concurrency)) = (rate, concurrency) else {
        detail.push_str(
            "; the send tier is not known here (SendRatePerSecond and SendMaximumConcurrency: --stack, or \
             SEND_RATE_PER_SECOND and SEND_MAXIMUM_CONCURRENCY)",
        );
        return Check::pass(NAME, detail);
    };
    let sends = rate.saturating_mul(concurrency);
    detail.push_str(&format!(
        "; the bundle sends at most {rate} x {concurrency} = {sends}/s"
    ));
    match allowed {
        Some(allowed) if sends > allowed => {
            let per_worker = (allowed / concurrency).max(1);
            Check::warn(
                NAME,
                detail,
                format!(
                    "the bundle may send faster than Meta lets this number ({allowed}/s: error 130429 above it): \
                     deploy with SendRatePerSecond={per_worker} (x {concurrency} = {}/s) or a lower SendMaximumConcurrency",
                    per_worker * concurrency
                ),
            )
        }
        _ => Check::pass(NAME, detail),
    }
}

pub(super) async fn check_limits(graph: &Graph, settings: &Settings) -> Check {
    let Some(id) = settings.get(config::PHONE_NUMBER_ID) else {
        return Check::skip("messaging limit", "set WHATSAPP_PHONE_NUMBER_ID to check it");
    };
    let number = match graph.get(&id, &[("fields", NUMBER_FIELDS)]).await {
        Ok(number) => number,
        Err(failure) => {
            return Check::fail(
                "messaging limit",
                explain(&format!("reading phone number id {id}"), &failure),
                "check WHATSAPP_PHONE_NUMBER_ID and the token's permissions",
            );
        }
    };
    let number_of = |key| settings.get(key).and_then(|value| value.parse::<u32>().ok());
    limits_row(
        &number,
        number_of(config::SEND_RATE_PER_SECOND),
        number_of(config::SEND_MAXIMUM_CONCURRENCY),
    )
}

/// The fields of the app's `whatsapp_business_account` subscription (`None`: the app has none), and
/// whether it is active.
pub fn subscribed_fields(answer: &Value) -> Option<(Vec<String>, bool)> {
    let subscription = answer
        .get("data")
        .and_then(Value::as_array)?
        .iter()
        .find(|entry| entry.get("object").and_then(Value::as_str) == Some("whatsapp_business_account"))?;
    let fields = subscription
        .get("fields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|field| field.get("name").and_then(Value::as_str).or_else(|| field.as_str()))
        .map(str::to_owned)
        .collect();
    let active = subscription.get("active").and_then(Value::as_bool).unwrap_or(true);
    Some((fields, active))
}

/// The command that subscribes the app to every field the bundle reads (secrets as shell variables).
pub fn subscribe_command(graph_base: &str, version: &str, app_id: &str, callback: Option<&str>) -> String {
    format!(
        "curl -X POST \"{graph_base}/{version}/{app_id}/subscriptions\" -d object=whatsapp_business_account \
         -d callback_url={} -d verify_token=\"$WHATSAPP_VERIFY_TOKEN\" -d fields={} \
         -d access_token=\"{app_id}|$WHATSAPP_APP_SECRET\" (or App Dashboard → WhatsApp → Configuration → Webhook fields)",
        callback.unwrap_or("<WhatsAppCallbackUrl>"),
        BUNDLE_WEBHOOK_FIELDS.join(",")
    )
}

/// The `webhook fields` row for the app's subscription answer.
pub fn fields_row(answer: &Value, fix: &str) -> Check {
    const NAME: &str = "webhook fields";
    let Some((fields, active)) = subscribed_fields(answer) else {
        return Check::fail(
            NAME,
            "the app has no whatsapp_business_account webhook subscription",
            fix,
        );
    };
    if !active {
        return Check::fail(
            NAME,
            "the app's whatsapp_business_account subscription is not active",
            fix,
        );
    }
    let missing: Vec<&str> = BUNDLE_WEBHOOK_FIELDS
        .iter()
        .copied()
        .filter(|field| !fields.iter().any(|have| have == field))
        .collect();
    if missing.is_empty() {
        return Check::pass(
            NAME,
            format!(
                "the app is subscribed to every field the bundle reads ({})",
                fields.len()
            ),
        );
    }
    let detail = format!("the app is not subscribed to {}", missing.join(", "));
    if missing.contains(&"messages") {
        Check::fail(NAME, format!("{detail}: no message or status reaches the bundle"), fix)
    } else {
        Check::warn(NAME, format!("{detail}: those webhooks never reach the bundle"), fix)
    }
}

pub(super) async fn check_webhook_fields(settings: &Settings) -> Check {
    const NAME: &str = "webhook fields";
    let (Some(app_id), Some(secret), Some(base), Some(version)) = (
        settings.get(config::META_APP_ID),
        settings.secret(config::APP_SECRET),
        settings.get(config::GRAPH_API_BASE_URL),
        settings.get(config::GRAPH_API_VERSION),
    ) else {
        return Check::skip(
            NAME,
            "set META_APP_ID and WHATSAPP_APP_SECRET to check it: Meta gives an app's webhook fields only to the \
             app's own token (GET /{app-id}/subscriptions)",
        );
    };
    let fix = subscribe_command(&base, &version, &app_id, settings.get(config::CALLBACK_URL).as_deref());
    let app_token = Secret::new(format!("{app_id}|{}", secret.expose()));
    let Ok(graph) = Graph::new(&base, &version, app_token) else {
        return Check::fail(NAME, "cannot build an HTTP client", "see the detail");
    };
    match graph.get(&format!("{app_id}/subscriptions"), &[]).await {
        Ok(answer) => fields_row(&answer, &fix),
        Err(failure) => Check::fail(
            NAME,
            explain(&format!("reading app {app_id}'s subscriptions"), &failure),
            "META_APP_ID must be the app's id and WHATSAPP_APP_SECRET its secret (App settings → Basic)",
        ),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::doctor::Outcome;

    #[test]
    fn the_send_tier_is_compared_with_the_number_s_throughput() {
        let standard = json!({"whatsapp_business_manager_messaging_limit": "TIER_2K", "quality_rating": "GREEN",
            "throughput": {"level": "STANDARD"}});
        let row = limits_row(&standard, Some(16), Some(5));
        assert_eq!(row.outcome, Outcome::Pass, "{row:?}");
        assert!(row.detail.contains("TIER_2K (2,000 contacts"), "{}", row.detail);
        assert!(row.detail.contains("16 x 5 = 80/s"), "{}", row.detail);
        let row = limits_row(&standard, Some(20), Some(5));
        assert_eq!(row.outcome, Outcome::Warn, "{row:?}");
        assert!(
            row.fix
                .as_deref()
                .is_some_and(|fix| fix.contains("SendRatePerSecond=16")),
            "{row:?}"
        );
        let high = json!({"throughput": {"level": "HIGH"}, "messaging_limit_tier": "TIER_UNLIMITED"});
        let row = limits_row(&high, Some(100), Some(10));
        assert_eq!(row.outcome, Outcome::Pass, "{row:?}");
        assert!(row.detail.contains("messaging_limit_tier"), "{}", row.detail);
        // A number also in the WhatsApp Business app: 20/s.
        let coexistence = json!({"throughput": {"level": "STANDARD"}, "is_on_biz_app": true});
        assert_eq!(limits_row(&coexistence, Some(16), Some(5)).outcome, Outcome::Warn);
        assert_eq!(limits_row(&coexistence, Some(4), Some(5)).outcome, Outcome::Pass);
        // Unknown send tier: the number's figures, and what would make the comparison.
        let row = limits_row(&standard, Some(20), None);
        assert_eq!(row.outcome, Outcome::Pass);
        assert!(row.detail.contains("SEND_MAXIMUM_CONCURRENCY"), "{}", row.detail);
    }

    #[test]
    fn missing_webhook_fields_are_named_with_the_command() {
        let fix = subscribe_command(
            "https://graph.facebook.com",
            "v26.0",
            "123",
            Some("https://x/webhooks/whatsapp"),
        );
        assert!(fix.contains("fields=messages,smb_message_echoes,"), "{fix}");
        assert!(fix.contains("$WHATSAPP_APP_SECRET"), "{fix}");
        let all: Vec<Value> = BUNDLE_WEBHOOK_FIELDS
            .iter()
            .map(|name| json!({"name": name, "version": "v26.0"}))
            .collect();
        let answer = json!({"data": [{"object": "whatsapp_business_account", "active": true, "fields": all}]});
        assert_eq!(fields_row(&answer, &fix).outcome, Outcome::Pass);
        let some = json!({"data": [{"object": "whatsapp_business_account", "active": true,
            "fields": [{"name": "messages"}, {"name": "calls"}]}]});
        let row = fields_row(&some, &fix);
        assert_eq!(row.outcome, Outcome::Warn);
        assert!(row.detail.contains("smb_message_echoes, history"), "{}", row.detail);
        assert!(!row.detail.contains("calls"), "{}", row.detail);
        let no_messages = json!({"data": [{"object": "whatsapp_business_account", "fields": [{"name": "calls"}]}]});
        assert_eq!(fields_row(&no_messages, &fix).outcome, Outcome::Fail);
        assert_eq!(
            fields_row(&json!({"data": [{"object": "page"}]}), &fix).outcome,
            Outcome::Fail
        );
        let inactive = json!({"data": [{"object": "whatsapp_business_account", "active": false, "fields": all}]});
        assert_eq!(fields_row(&inactive, &fix).outcome, Outcome::Fail);
    }
}
