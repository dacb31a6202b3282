//! Templates and account health: what Meta's `message_template_status_update`,
//! `template_category_update`, `message_template_quality_update`, `phone_number_quality_update` and
//! `account_update` webhooks say, read from their raw value. Pure.
//!
//! A template's status decides whether the send API may send it: Meta refuses a `PAUSED`, `DISABLED`
//! or `REJECTED` template (error 132015, 132016, 132001…), so the worker records each such status, and
//! the `APPROVED` (or `REINSTATED`) that lifts it, as a [`TemplateStatus`] the send API reads before a
//! template send. Payloads: Meta's webhook references (`…/whatsapp/webhooks/reference/<field>`).

use serde_json::Value;

pub const TEMPLATE_STATUS_FIELD: &str = "message_template_status_update";
pub const TEMPLATE_CATEGORY_FIELD: &str = "template_category_update";
pub const TEMPLATE_QUALITY_FIELD: &str = "message_template_quality_update";
pub const NUMBER_QUALITY_FIELD: &str = "phone_number_quality_update";
pub const ACCOUNT_UPDATE_FIELD: &str = "account_update";

/// Every webhook field the bundle reads: the app must be subscribed to each (`wabridge doctor`
/// names the missing ones).
pub const BUNDLE_WEBHOOK_FIELDS: [&str; 10] = [
    "messages",
    "smb_message_echoes",
    "history",
    "smb_app_state_sync",
    "calls",
    TEMPLATE_STATUS_FIELD,
    TEMPLATE_CATEGORY_FIELD,
    TEMPLATE_QUALITY_FIELD,
    NUMBER_QUALITY_FIELD,
    ACCOUNT_UPDATE_FIELD,
];

/// Template statuses under which Meta refuses a send of the template.
pub const REFUSED_STATUSES: &[&str] = &["PAUSED", "DISABLED", "REJECTED"];
/// Template statuses that make it sendable again.
pub const SENDABLE_STATUSES: &[&str] = &["APPROVED", "REINSTATED"];

/// Meta's latest word on whether one template (a name in one language) of a WABA may be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateStatus {
    /// The WhatsApp Business Account (the webhook entry's id).
    pub waba_id: String,
    pub name: String,
    pub language: String,
    /// Meta's `message_template_id`, as text.
    pub template_id: Option<String>,
    /// Meta's `event`: one of [`REFUSED_STATUSES`] or [`SENDABLE_STATUSES`].
    pub status: String,
    /// Meta's `reason` (`NONE`, `INCORRECT_CATEGORY`, `SCAM`, …).
    pub reason: Option<String>,
    /// What else Meta says about it: `other_info.description` (a pause's length), the rejection's
    /// `rejection_info.reason`, a disable's `disable_info.disable_date`.
    pub detail: Option<String>,
    /// When Meta says it happened (the entry's `time`, epoch seconds; else when it was received): a
    /// status older than the one held changes nothing.
    pub at: i64,
}

impl TemplateStatus {
    /// Whether Meta refuses sends of the template now.
    pub fn refuses_sends(&self) -> bool {
        REFUSED_STATUSES.contains(&self.status.as_str())
    }

    /// Why a send is refused, in Meta's words.
    pub fn refusal(&self) -> String {
        let mut text = format!(
            "template: {:?} ({}) is {} by Meta",
            self.name, self.language, self.status
        );
        if let Some(reason) = self.reason.as_deref().filter(|reason| *reason != "NONE") {
            text.push_str(&format!(", reason {reason}"));
        }
        if let Some(detail) = &self.detail {
            text.push_str(&format!(" ({detail})"));
        }
        text.push_str(
            "; Meta would refuse the send. It can be sent again once Meta approves the template \
             (a message_template_status_update webhook with APPROVED)",
        );
        text
    }
}

fn text(value: &Value, key: &str) -> Option<String> {
    match value.get(key)? {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// The `time` of a webhook entry (epoch seconds), when it has one.
pub fn entry_time(extra: &serde_json::Map<String, Value>) -> Option<i64> {
    extra.get("time").and_then(|time| match time {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    })
}

/// The send-deciding status a `message_template_status_update` value carries: `None` when it names no
/// template, or its `event` neither refuses nor lifts sends (`PENDING`, `FLAGGED`, `IN_APPEAL`, …).
/// `received_at` (epoch seconds) stands for the entry's time when it has none.
pub fn template_status(
    waba_id: &str,
    entry_time: Option<i64>,
    value: &Value,
    received_at: i64,
) -> Option<TemplateStatus> {
    let status = text(value, "event")?.to_ascii_uppercase();
    if !REFUSED_STATUSES.contains(&status.as_str()) && !SENDABLE_STATUSES.contains(&status.as_str()) {
        return None;
    }
    let name = text(value, "message_template_name")?;
    let language = text(value, "message_template_language")?;
    if waba_id.is_empty() {
        return None;
    }
    let detail = value
        .pointer("/other_info/description")
        .or_else(|| value.pointer("/rejection_info/reason"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| {
            value.pointer("/disable_info/disable_date").map(|date| {
                format!(
                    "disabled on {}",
                    date.as_str().map_or_else(|| date.to_string(), str::to_owned)
                )
            })
        });
    Some(TemplateStatus {
        waba_id: waba_id.to_owned(),
        name,
        language,
        template_id: text(value, "message_template_id"),
        status,
        reason: text(value, "reason"),
        detail,
        at: entry_time.unwrap_or(received_at),
    })
}

/// Whether a `phone_number_quality_update` value says the number's standing dropped: Meta's `event`
/// `DOWNGRADE` (its limit lowered) or `FLAGGED` (its quality low, a downgrade to come), or a quality
/// rating of `RED` should Meta send one.
pub fn number_quality_dropped(value: &Value) -> bool {
    let upper = |key: &str| text(value, key).map(|text| text.to_ascii_uppercase());
    matches!(upper("event").as_deref(), Some("DOWNGRADE" | "FLAGGED"))
        || ["quality_rating", "current_quality_rating", "new_quality_score"]
            .iter()
            .any(|key| matches!(upper(key).as_deref(), Some("RED" | "FLAGGED")))
}

/// The template status a `message_template_status_update` value announces, when it is one Meta refuses
/// sends under (counted: `TemplatesRefused`).
pub fn refused_status(value: &Value) -> Option<String> {
    text(value, "event")
        .map(|event| event.to_ascii_uppercase())
        .filter(|event| REFUSED_STATUSES.contains(&event.as_str()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn received() -> i64 {
        1_800_000_000
    }

    #[test]
    fn a_paused_template_refuses_sends_with_meta_s_words() {
        let value = json!({"event": "PAUSED", "message_template_id": 806_312_974_732_579_u64,
            "message_template_name": "order_confirmation", "message_template_language": "en_US",
            "reason": "NONE", "other_info": {"title": "FIRST_PAUSE",
                "description": "Your template has been paused for 3 hours due to low quality."}});
        let status = template_status("102290129340398", Some(1_739_323_000), &value, received()).expect("a status");
        assert!(status.refuses_sends());
        assert_eq!(status.template_id.as_deref(), Some("806312974732579"));
        assert_eq!(status.at, 1_739_323_000);
        let refusal = status.refusal();
        assert!(
            refusal.contains("order_confirmation") && refusal.contains("PAUSED"),
            "{refusal}"
        );
        assert!(refusal.contains("paused for 3 hours"), "{refusal}");
        assert!(!refusal.contains("NONE"), "{refusal}");
    }

    #[test]
    fn rejected_and_disabled_carry_their_reason_and_approved_lifts() {
        let rejected = json!({"event": "REJECTED", "message_template_name": "promo", "message_template_language": "en",
            "reason": "INCORRECT_CATEGORY"});
        let status = template_status("W", None, &rejected, received()).expect("a status");
        assert!(status.refusal().contains("INCORRECT_CATEGORY"));
        assert_eq!(status.at, 1_800_000_000, "no entry time: when it was received");
        let disabled = json!({"event": "DISABLED", "message_template_name": "promo", "message_template_language": "en",
            "reason": "NONE", "disable_info": {"disable_date": "1739400000"}});
        let status = template_status("W", None, &disabled, received()).expect("a status");
        assert_eq!(status.detail.as_deref(), Some("disabled on 1739400000"));
        let approved =
            json!({"event": "APPROVED", "message_template_name": "promo", "message_template_language": "en"});
        assert!(
            !template_status("W", None, &approved, received())
                .expect("a status")
                .refuses_sends()
        );
        for neutral in ["PENDING", "FLAGGED", "IN_APPEAL"] {
            let value = json!({"event": neutral, "message_template_name": "promo", "message_template_language": "en"});
            assert_eq!(template_status("W", None, &value, received()), None, "{neutral}");
        }
        assert_eq!(
            template_status("W", None, &json!({"event": "PAUSED"}), received()),
            None,
            "no name"
        );
        assert_eq!(refused_status(&rejected).as_deref(), Some("REJECTED"));
        assert_eq!(refused_status(&approved), None);
    }

    #[test]
    fn a_number_quality_drop_is_a_downgrade_or_a_flag() {
        assert!(number_quality_dropped(
            &json!({"event": "DOWNGRADE", "old_limit": "TIER_10K", "current_limit": "TIER_2K"})
        ));
        assert!(number_quality_dropped(
            &json!({"event": "FLAGGED", "current_limit": "TIER_10K"})
        ));
        assert!(number_quality_dropped(
            &json!({"event": "ONBOARDING", "quality_rating": "RED"})
        ));
        assert!(!number_quality_dropped(
            &json!({"event": "UPGRADE", "current_limit": "TIER_10K"})
        ));
        assert!(!number_quality_dropped(&json!({"event": "THROUGHPUT_UPGRADE"})));
        assert!(!number_quality_dropped(&json!("not an object")));
    }

    #[test]
    fn entry_times_are_read_as_numbers_or_text() {
        let mut extra = serde_json::Map::new();
        assert_eq!(entry_time(&extra), None);
        extra.insert("time".into(), json!(1_739_323_000));
        assert_eq!(entry_time(&extra), Some(1_739_323_000));
        extra.insert("time".into(), json!("1739323001"));
        assert_eq!(entry_time(&extra), Some(1_739_323_001));
    }
}
