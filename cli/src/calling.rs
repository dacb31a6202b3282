//! `wabridge calling show|enable|disable`: the number's WhatsApp calling settings, read and written
//! through the Graph API (`GET`/`POST /{phone-number-id}/settings`, the `calling` object: `status`
//! `ENABLED`/`DISABLED`, `call_icon_visibility`, `call_hours`, `callback_permission_status`, `sip`).
//! Source: developers.facebook.com/documentation/business-messaging/whatsapp/calling/call-settings.

use serde_json::{Value, json};

use crate::error::CliError;
use crate::graph::{Graph, explain, is_token_error};

const DAYS: [&str; 7] = [
    "MONDAY",
    "TUESDAY",
    "WEDNESDAY",
    "THURSDAY",
    "FRIDAY",
    "SATURDAY",
    "SUNDAY",
];

/// What `enable` or `disable` changes: only what was asked (Meta leaves the other fields as they are).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallingChange {
    /// `true`: enable, `false`: disable.
    pub enable: bool,
    /// `--hours` (each `DAYS=HHMM-HHMM`, or `off`), empty: the call hours are left as they are.
    pub hours: Vec<String>,
    /// `--timezone` (an IANA name, `Europe/Lisbon`): required with call hours.
    pub timezone: Option<String>,
    /// `--callback-permission on|off`.
    pub callback_permission: Option<bool>,
}

/// One day's name as Meta writes it, from `MON`, `monday`, …
fn day(text: &str) -> Option<usize> {
    let upper = text.trim().to_ascii_uppercase();
    (upper.len() >= 3)
        .then(|| DAYS.iter().position(|day| day.starts_with(&upper)))
        .flatten()
}

/// `HHMM` or `HH:MM`, as Meta's `HHMM`.
fn time(text: &str) -> Option<String> {
    let digits: String = text.trim().chars().filter(|c| *c != ':').collect();
    let valid =
        digits.len() == 4 && digits.bytes().all(|b| b.is_ascii_digit()) && digits[..2] < *"24" && digits[2..] < *"60";
    valid.then_some(digits)
}

/// `--hours` values as Meta's `weekly_operating_hours`: `MON-FRI=0900-1700`, `SAT=10:00-14:00`, …
pub fn weekly_hours(hours: &[String]) -> Result<Vec<Value>, CliError> {
    let mut weekly = Vec::new();
    for spec in hours {
        let bad = || {
            CliError::Config(format!(
                "--hours {spec:?}: expected DAYS=HHMM-HHMM, such as MON-FRI=0900-1700 or SAT=10:00-14:00 (or off)"
            ))
        };
        let (days, span) = spec.split_once('=').ok_or_else(bad)?;
        let (first, last) = days.split_once('-').unwrap_or((days, days));
        let (first, last) = (day(first).ok_or_else(bad)?, day(last).ok_or_else(bad)?);
        let (open, close) = span.split_once('-').ok_or_else(bad)?;
        let (open, close) = (time(open).ok_or_else(bad)?, time(close).ok_or_else(bad)?);
        if first > last || open >= close {
            return Err(bad());
        }
        for day in &DAYS[first..=last] {
            weekly.push(json!({"day_of_week": day, "open_time": open, "close_time": close}));
        }
    }
    Ok(weekly)
}

/// The `POST /{phone-number-id}/settings` body of `change`.
pub fn settings_body(change: &CallingChange) -> Result<Value, CliError> {
    let mut calling = json!({"status": if change.enable { "ENABLED" } else { "DISABLED" }});
    if let Some(on) = change.callback_permission {
        calling["callback_permission_status"] = Value::from(if on { "ENABLED" } else { "DISABLED" });
    }
    match change.hours.as_slice() {
        [] if change.timezone.is_some() => {
            return Err(CliError::Config("--timezone goes with --hours".to_owned()));
        }
        [] => {}
        [off] if off.eq_ignore_ascii_case("off") => {
            calling["call_hours"] = json!({"status": "DISABLED"});
        }
        hours => {
            let timezone = change
                .timezone
                .as_deref()
                .filter(|zone| !zone.trim().is_empty())
                .ok_or_else(|| {
                    CliError::Config("--hours needs --timezone (an IANA name such as Europe/Lisbon)".to_owned())
                })?;
            calling["call_hours"] = json!({
                "status": "ENABLED",
                "timezone_id": timezone.trim(),
                "weekly_operating_hours": weekly_hours(hours)?,
            });
        }
    }
    Ok(json!({"calling": calling}))
}

fn failed(what: &str, failure: &crate::graph::Failure) -> CliError {
    let detail = explain(what, failure);
    if is_token_error(failure) {
        CliError::Failed(format!(
            "{detail}; update WHATSAPP_ACCESS_TOKEN / the stack's access-token parameter"
        ))
    } else if failure.network.is_none() && (400..500).contains(&failure.error.http_status) {
        CliError::Config(detail)
    } else {
        CliError::Failed(detail)
    }
}

/// The number's `calling` settings.
pub async fn show(graph: &Graph, phone_number_id: &str) -> Result<Value, CliError> {
    let answer = graph
        .get(&format!("{phone_number_id}/settings"), &[])
        .await
        .map_err(|failure| failed(&format!("reading the settings of {phone_number_id}"), &failure))?;
    Ok(answer.get("calling").cloned().unwrap_or(Value::Null))
}

/// Applies `change`, then reads the settings back.
pub async fn apply(graph: &Graph, phone_number_id: &str, change: &CallingChange) -> Result<Value, CliError> {
    let body = settings_body(change)?;
    graph
        .post_json(&format!("{phone_number_id}/settings"), &body)
        .await
        .map_err(|failure| failed(&format!("changing the settings of {phone_number_id}"), &failure))?;
    show(graph, phone_number_id).await
}

/// The settings in a few lines, for a person.
pub fn describe(calling: &Value) -> Vec<String> {
    let text = |pointer: &str| {
        calling
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or("-")
            .to_owned()
    };
    let mut lines = vec![
        format!("calling: {}", text("/status")),
        format!("call icon: {}", text("/call_icon_visibility")),
        format!("callback permission: {}", text("/callback_permission_status")),
        format!("SIP: {}", text("/sip/status")),
    ];
    match calling.pointer("/call_hours") {
        Some(hours) if hours.get("status").and_then(Value::as_str) == Some("ENABLED") => {
            let days: Vec<String> = hours
                .get("weekly_operating_hours")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|entry| {
                    let field = |name: &str| entry.get(name).and_then(Value::as_str).unwrap_or("?");
                    format!(
                        "{} {}-{}",
                        field("day_of_week"),
                        field("open_time"),
                        field("close_time")
                    )
                })
                .collect();
            lines.push(format!(
                "call hours ({}): {}",
                text("/call_hours/timezone_id"),
                days.join(", ")
            ));
        }
        _ => lines.push("call hours: none (calls at any time)".to_owned()),
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(enable: bool, hours: &[&str], timezone: Option<&str>, callback: Option<bool>) -> CallingChange {
        CallingChange {
            enable,
            hours: hours.iter().map(|h| (*h).to_owned()).collect(),
            timezone: timezone.map(str::to_owned),
            callback_permission: callback,
        }
    }

    #[test]
    fn enable_with_hours_and_callback_permission_is_meta_s_body() {
        let body = settings_body(&change(
            true,
            &["mon-wed=0900-1700", "SAT=10:00-14:00"],
            Some("Europe/Lisbon"),
            Some(true),
        ))
        .expect("a body");
        assert_eq!(body["calling"]["status"], "ENABLED");
        assert_eq!(body["calling"]["callback_permission_status"], "ENABLED");
        assert_eq!(body["calling"]["call_hours"]["timezone_id"], "Europe/Lisbon");
        let weekly = body["calling"]["call_hours"]["weekly_operating_hours"]
            .as_array()
            .expect("days")
            .clone();
        let days: Vec<&str> = weekly.iter().filter_map(|d| d["day_of_week"].as_str()).collect();
        assert_eq!(days, ["MONDAY", "TUESDAY", "WEDNESDAY", "SATURDAY"]);
        assert_eq!(
            weekly[3],
            json!({"day_of_week": "SATURDAY", "open_time": "1000", "close_time": "1400"})
        );
    }

    #[test]
    fn disable_touches_only_the_status_and_off_clears_the_hours() {
        assert_eq!(
            settings_body(&change(false, &[], None, None)).expect("a body"),
            json!({"calling": {"status": "DISABLED"}})
        );
        let body = settings_body(&change(true, &["off"], None, Some(false))).expect("a body");
        assert_eq!(body["calling"]["call_hours"], json!({"status": "DISABLED"}));
        assert_eq!(body["calling"]["callback_permission_status"], "DISABLED");
    }

    #[test]
    fn hours_meta_would_refuse_are_usage_errors_here() {
        for (hours, timezone) in [
            (vec!["MON-FRI=0900-1700"], None),
            (vec!["MON-FRI 0900-1700"], Some("UTC")),
            (vec!["FRI-MON=0900-1700"], Some("UTC")),
            (vec!["MON=1700-0900"], Some("UTC")),
            (vec!["MON=2500-2600"], Some("UTC")),
            (vec!["MO=0900-1700"], Some("UTC")),
            (vec![], Some("UTC")),
        ] {
            let result = settings_body(&change(true, &hours, timezone, None));
            assert!(
                matches!(result, Err(CliError::Config(_))),
                "{hours:?} {timezone:?}: {result:?}"
            );
        }
    }

    #[test]
    fn described_for_a_person() {
        let calling = json!({"status": "ENABLED", "call_icon_visibility": "DEFAULT", "callback_permission_status": "ENABLED",
            "sip": {"status": "DISABLED"}, "call_hours": {"status": "ENABLED", "timezone_id": "UTC",
            "weekly_operating_hours": [{"day_of_week": "MONDAY", "open_time": "0900", "close_time": "1700"}]}});
        let lines = describe(&calling);
        assert_eq!(lines[0], "calling: ENABLED");
        assert_eq!(lines[4], "call hours (UTC): MONDAY 0900-1700");
        assert_eq!(describe(&json!({}))[4], "call hours: none (calls at any time)");
    }
}
