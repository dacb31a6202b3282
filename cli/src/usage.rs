//! `wabridge usage [--month YYYY-MM]`: the month's messages by Meta's pricing category and type,
//! billable or free, with totals — read from the usage aggregate the worker keeps as statuses
//! arrive (`USAGE#<YYYY-MM>`: one query of the month's counters, never a scan of the table).

use bridge::domain::usage::{UsageMonth, parse_month};
use bridge::ports::UsageStore;
use chrono::{DateTime, Datelike, Utc};
use serde_json::Value;

use crate::error::CliError;

/// The month asked for (`YYYY-MM`), else the current UTC month.
pub fn month(asked: Option<&str>, now: DateTime<Utc>) -> Result<String, CliError> {
    match asked {
        None => Ok(format!("{:04}-{:02}", now.year(), now.month())),
        Some(text) => parse_month(text)
            .ok_or_else(|| CliError::Config(format!("--month {text:?}: a month as YYYY-MM (UTC), e.g. 2026-07"))),
    }
}

/// The month's figures from the aggregate.
pub async fn read(store: &impl UsageStore, month: &str) -> Result<UsageMonth, CliError> {
    store
        .usage(month)
        .await
        .map_err(|error| CliError::Failed(format!("reading the usage of {month} from the table: {error}")))
}

/// `--json`'s result: `month`, `rows` (`category`, `type`, `billable`, `messages`), `billable`, `free`, `total`.
pub fn result(month: &UsageMonth) -> Value {
    serde_json::to_value(month).unwrap_or(Value::Null)
}

/// The table a person reads: one line per category and type, billable and free side by side, then
/// the totals.
pub fn text(month: &UsageMonth) -> String {
    let mut lines = vec![format!("Messages in {} (UTC), by Meta's pricing", month.month)];
    if month.rows.is_empty() {
        lines.push("no priced message statuses recorded for this month".to_owned());
        return lines.join("\n");
    }
    lines.push(format!(
        "{:<32} {:<24} {:>10} {:>10}",
        "category", "type", "billable", "free"
    ));
    let mut pairs: Vec<(&str, &str, i64, i64)> = Vec::new();
    for row in &month.rows {
        let (billable, free) = if row.billable {
            (row.messages, 0)
        } else {
            (0, row.messages)
        };
        match pairs.last_mut() {
            Some(last) if last.0 == row.category && last.1 == row.pricing_type => {
                last.2 += billable;
                last.3 += free;
            }
            _ => pairs.push((&row.category, &row.pricing_type, billable, free)),
        }
    }
    for (category, pricing_type, billable, free) in pairs {
        lines.push(format!("{category:<32} {pricing_type:<24} {billable:>10} {free:>10}"));
    }
    lines.push(format!(
        "{:<32} {:<24} {:>10} {:>10}",
        "total", "", month.billable, month.free
    ));
    lines.push(format!(
        "{} messages: {} billable, {} free",
        month.total, month.billable, month.free
    ));
    lines.join("\n")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use bridge::domain::usage::UsageCell;

    use super::*;

    #[test]
    fn the_month_defaults_to_the_current_utc_one_and_is_checked() {
        let now = DateTime::from_timestamp(1_754_006_400, 0).unwrap(); // 2025-08-01T00:00:00Z
        assert_eq!(month(None, now).unwrap(), "2025-08");
        assert_eq!(month(Some("2025-07"), now).unwrap(), "2025-07");
        for bad in ["2025-7", "2025-13", "july", "2025-07-01"] {
            let error = month(Some(bad), now).unwrap_err();
            assert_eq!(error.exit_code(), crate::error::EXIT_USAGE, "{bad}");
            assert!(error.to_string().contains("YYYY-MM"), "{error}");
        }
    }

    #[test]
    fn the_text_puts_billable_and_free_side_by_side_with_totals() {
        let figures = UsageMonth::new(
            "2025-07",
            [
                (UsageCell::new("utility", "regular", true), 3),
                (UsageCell::new("utility", "regular", false), 1),
                (UsageCell::new("service", "free_customer_service", false), 5),
                (UsageCell::new("marketing", "regular", true), 2),
            ],
        );
        let text = text(&figures);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "Messages in 2025-07 (UTC), by Meta's pricing");
        assert!(
            lines[2].starts_with("marketing") && lines[2].ends_with("         2          0"),
            "{text}"
        );
        assert!(
            lines[3].starts_with("service") && lines[3].ends_with("         0          5"),
            "{text}"
        );
        assert!(
            lines[4].starts_with("utility") && lines[4].ends_with("         3          1"),
            "{text}"
        );
        assert!(
            lines[5].starts_with("total") && lines[5].ends_with("         5          6"),
            "{text}"
        );
        assert_eq!(lines[6], "11 messages: 5 billable, 6 free");
        let json = result(&figures);
        assert_eq!(json["total"], 11);
        assert_eq!(json["rows"].as_array().unwrap().len(), 4);
    }

    #[test]
    fn an_empty_month_says_so() {
        let text = text(&UsageMonth::new("2031-02", []));
        assert!(text.contains("no priced message statuses"), "{text}");
    }
}
