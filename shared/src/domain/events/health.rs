//! The typed events of templates and account health (`template.status`, `template.category`,
//! `template.quality`, `number.quality`, `account.update`), built from the raw event the worker
//! recorded: its `whatsapp.<field>` event is published as well, unchanged.

use serde_json::{Map, Value};

use super::{BusEvent, MAX_DETAIL_BYTES, event_id};
use crate::domain::health::{self, REFUSED_STATUSES};
use crate::domain::records::RawEventRecord;

pub const TEMPLATE_STATUS: &str = "template.status";
pub const TEMPLATE_CATEGORY: &str = "template.category";
pub const TEMPLATE_QUALITY: &str = "template.quality";
pub const NUMBER_QUALITY: &str = "number.quality";
pub const ACCOUNT_UPDATE: &str = "account.update";

/// The typed event of a health field's raw event; `None` for other fields, a value that is not an
/// object, or one too large for an entry (its `whatsapp.<field>` event still goes out).
pub fn health_event(event: &RawEventRecord) -> Option<BusEvent> {
    let detail_type = match event.field.as_str() {
        health::TEMPLATE_STATUS_FIELD => TEMPLATE_STATUS,
        health::TEMPLATE_CATEGORY_FIELD => TEMPLATE_CATEGORY,
        health::TEMPLATE_QUALITY_FIELD => TEMPLATE_QUALITY,
        health::NUMBER_QUALITY_FIELD => NUMBER_QUALITY,
        health::ACCOUNT_UPDATE_FIELD => ACCOUNT_UPDATE,
        _ => return None,
    };
    if event.payload.len() > MAX_DETAIL_BYTES {
        return None;
    }
    let value: Value = serde_json::from_str(&event.payload).ok()?;
    let value = value.as_object()?;
    let mut detail = Map::new();
    detail.insert("waba_id".into(), Value::from(event.entry_id.as_str()));
    detail.insert("time".into(), event.entry_time.map_or(Value::Null, Value::from));
    detail.insert("received_at".into(), Value::from(event.received.at.to_rfc3339()));
    let copy = |detail: &mut Map<String, Value>, keys: &[(&str, &str)]| {
        for (name, key) in keys {
            detail.insert((*name).into(), text(value.get(*key)));
        }
    };
    let template = [
        ("template_id", "message_template_id"),
        ("name", "message_template_name"),
        ("language", "message_template_language"),
    ];
    match detail_type {
        TEMPLATE_STATUS => {
            copy(&mut detail, &template);
            copy(
                &mut detail,
                &[
                    ("status", "event"),
                    ("reason", "reason"),
                    ("category", "message_template_category"),
                ],
            );
            let refused = detail
                .get("status")
                .and_then(Value::as_str)
                .is_some_and(|status| REFUSED_STATUSES.contains(&status.to_ascii_uppercase().as_str()));
            detail.insert("sends_refused".into(), Value::from(refused));
            pass_through(&mut detail, value, &["disable_info", "other_info", "rejection_info"]);
        }
        TEMPLATE_CATEGORY => {
            copy(&mut detail, &template);
            copy(
                &mut detail,
                &[
                    ("previous_category", "previous_category"),
                    ("new_category", "new_category"),
                    ("correct_category", "correct_category"),
                ],
            );
            detail.insert(
                "category_update_timestamp".into(),
                value
                    .get("category_update_timestamp")
                    .and_then(Value::as_i64)
                    .map_or(Value::Null, Value::from),
            );
        }
        TEMPLATE_QUALITY => {
            copy(&mut detail, &template);
            copy(
                &mut detail,
                &[
                    ("previous_quality_score", "previous_quality_score"),
                    ("new_quality_score", "new_quality_score"),
                ],
            );
        }
        NUMBER_QUALITY => {
            copy(
                &mut detail,
                &[
                    ("display_phone_number", "display_phone_number"),
                    ("event", "event"),
                    ("old_limit", "old_limit"),
                    ("current_limit", "current_limit"),
                    (
                        "max_daily_conversations_per_business",
                        "max_daily_conversations_per_business",
                    ),
                ],
            );
            detail.insert(
                "quality_dropped".into(),
                Value::from(health::number_quality_dropped(&Value::Object(value.clone()))),
            );
        }
        _ => {
            copy(&mut detail, &[("event", "event"), ("phone_number", "phone_number")]);
            pass_through(
                &mut detail,
                value,
                &[
                    "volume_tier_info",
                    "violation_info",
                    "ban_info",
                    "restriction_info",
                    "waba_info",
                    "lock_info",
                    "auth_international_rate_eligibility",
                ],
            );
        }
    }
    let id = event_id(&[detail_type, &event.entry_id, &event.digest]);
    Some(BusEvent::new(detail_type, id, detail))
}

/// A member as text (Meta sends template ids as numbers), else null.
fn text(value: Option<&Value>) -> Value {
    match value {
        Some(Value::String(text)) => Value::from(text.as_str()),
        Some(Value::Number(number)) => Value::from(number.to_string()),
        _ => Value::Null,
    }
}

/// Meta's nested objects, as sent, when present.
fn pass_through(detail: &mut Map<String, Value>, value: &Map<String, Value>, keys: &[&str]) {
    for key in keys {
        if let Some(member) = value.get(*key) {
            detail.insert((*key).into(), member.clone());
        }
    }
}
