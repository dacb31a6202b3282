//! Per-message pricing summed by month (`wabridge usage`): a status's `pricing` (`category`, `type`,
//! `billable`; Meta's per-message pricing, `pricing_model` `PMP` since July 2025) names the cell a
//! message is counted in, and the decision of what one status does to the count, written once for
//! both stores (the DynamoDB adapter renders it as one transaction, the fake applies it in memory).
//!
//! The rule: every message whose statuses carried pricing is counted exactly once, in the month of
//! the status that first brought its pricing (UTC, by that status's timestamp) and in the cell of the
//! pricing its item holds (the latest status that had it). Its item keeps where it is counted
//! (`usage_cell`: `<month>#<cell>`), so a redelivered, duplicated or out-of-order status finds the
//! count made and changes nothing; a status whose pricing names another cell moves the count there
//! (same month); a status whose pricing its item no longer holds (a later one overwrote it) leaves
//! the count to that later status.

use chrono::{DateTime, Datelike, Utc};
use serde::Serialize;
use serde_json::Value;

/// The longest category or type kept as it is (longer, or not `[a-z0-9_]`: `other`).
const MAX_NAME: usize = 48;

/// One cell of the aggregate: a pricing category, a pricing type and whether Meta bills it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UsageCell {
    pub category: String,
    /// Meta's `type`: `regular`, `free_customer_service`, `free_entry_point`; `unspecified` when absent
    /// (conversation-based pricing had none).
    pub pricing_type: String,
    pub billable: bool,
}

impl UsageCell {
    pub fn new(category: &str, pricing_type: &str, billable: bool) -> Self {
        Self {
            category: category.to_owned(),
            pricing_type: pricing_type.to_owned(),
            billable,
        }
    }

    /// The cell of a status's `pricing`: `None` when it is not an object. Names are Meta's, lowercased;
    /// one that is not a plain word (`[a-z0-9_]`, at most 48) is `other`, a missing category `unknown`.
    /// A missing `billable` is read from the type (`free_…` is free, the rest billable).
    pub fn of(pricing: &Value) -> Option<Self> {
        let pricing = pricing.as_object()?;
        let name = |key: &str, missing: &str| match pricing.get(key).and_then(Value::as_str) {
            None => missing.to_owned(),
            Some(name) => plain(&name.to_ascii_lowercase()).unwrap_or_else(|| "other".to_owned()),
        };
        let pricing_type = name("type", "unspecified");
        let billable = pricing
            .get("billable")
            .and_then(Value::as_bool)
            .unwrap_or(!pricing_type.starts_with("free"));
        Some(Self {
            category: name("category", "unknown"),
            pricing_type,
            billable,
        })
    }

    /// `<category>#<type>#billable|free`: the sort key of its counter and the tail of `usage_cell`.
    pub fn key(&self) -> String {
        let billing = if self.billable { "billable" } else { "free" };
        format!("{}#{}#{billing}", self.category, self.pricing_type)
    }

    pub fn parse(key: &str) -> Option<Self> {
        let mut parts = key.split('#');
        let (category, pricing_type, billing) = (parts.next()?, parts.next()?, parts.next()?);
        let billable = match billing {
            "billable" => true,
            "free" => false,
            _ => return None,
        };
        (parts.next().is_none() && plain(category).is_some() && plain(pricing_type).is_some()).then(|| Self {
            category: category.to_owned(),
            pricing_type: pricing_type.to_owned(),
            billable,
        })
    }
}

fn plain(name: &str) -> Option<String> {
    let plain = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    plain.then(|| name.to_owned())
}

/// The UTC month (`YYYY-MM`) of `seconds` since the epoch (a status's timestamp), else of `fallback`.
pub fn month_of(seconds: Option<i64>, fallback: DateTime<Utc>) -> String {
    let at = seconds.and_then(|s| DateTime::from_timestamp(s, 0)).unwrap_or(fallback);
    format!("{:04}-{:02}", at.year(), at.month())
}

/// `YYYY-MM` checked (a month 01 to 12, a year of four digits), as given.
pub fn parse_month(text: &str) -> Option<String> {
    let (year, month) = text.split_once('-')?;
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let month_number: u32 = month.parse().ok()?;
    (digits(year, 4) && digits(month, 2) && (1..=12).contains(&month_number)).then(|| text.to_owned())
}

/// Where a message is counted (its item's `usage_cell`): `<month>#<cell key>`.
pub fn counted_at(month: &str, cell: &UsageCell) -> String {
    format!("{month}#{}", cell.key())
}

/// The month and cell of a `usage_cell`.
pub fn parse_counted(text: &str) -> Option<(String, UsageCell)> {
    let (month, cell) = text.split_once('#')?;
    Some((parse_month(month)?, UsageCell::parse(cell)?))
}

/// What one status with pricing does to the aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsageCount {
    /// Nothing: the message is counted in this cell already, or its item holds a later pricing
    /// (whose own status counts it).
    Done,
    /// The message's first count: `usage_cell` set where it was absent, the cell's counter + 1.
    First { month: String, cell: UsageCell },
    /// The pricing changed: the count moves from `from` to `to` in the month it was counted in
    /// (`usage_cell` changed where it still names `from`; `from` - 1, `to` + 1).
    Move {
        month: String,
        from: UsageCell,
        to: UsageCell,
    },
}

impl UsageCount {
    /// The decision for a status priced `cell` at `month`, given what its item holds after the
    /// status was written: the pricing's cell (`pricing_cell`) and where it is counted (`usage_cell`).
    pub fn decide(held_pricing: Option<&str>, held_counted: Option<&str>, cell: &UsageCell, month: &str) -> Self {
        if held_pricing != Some(cell.key().as_str()) {
            return Self::Done;
        }
        match held_counted.map(parse_counted) {
            None => Self::First {
                month: month.to_owned(),
                cell: cell.clone(),
            },
            Some(Some((month, from))) if from != *cell => Self::Move {
                month,
                from,
                to: cell.clone(),
            },
            // Counted here already; or a mark this code cannot read (left as it is, never counted twice).
            Some(_) => Self::Done,
        }
    }
}

/// One counter of a month: messages in one cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageRow {
    pub category: String,
    #[serde(rename = "type")]
    pub pricing_type: String,
    pub billable: bool,
    pub messages: i64,
}

/// A month's figures: its rows (category, then type, then billable first), and their totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageMonth {
    pub month: String,
    pub rows: Vec<UsageRow>,
    pub billable: i64,
    pub free: i64,
    pub total: i64,
}

impl UsageMonth {
    /// The month's counters, without the empty ones (a count moved away leaves 0).
    pub fn new(month: &str, counters: impl IntoIterator<Item = (UsageCell, i64)>) -> Self {
        let mut rows: Vec<UsageRow> = counters
            .into_iter()
            .filter(|(_, messages)| *messages != 0)
            .map(|(cell, messages)| UsageRow {
                category: cell.category,
                pricing_type: cell.pricing_type,
                billable: cell.billable,
                messages,
            })
            .collect();
        rows.sort_by(|a, b| {
            (&a.category, &a.pricing_type, !a.billable).cmp(&(&b.category, &b.pricing_type, !b.billable))
        });
        let sum = |billable: bool| rows.iter().filter(|r| r.billable == billable).map(|r| r.messages).sum();
        let (billable, free): (i64, i64) = (sum(true), sum(false));
        Self {
            month: month.to_owned(),
            rows,
            billable,
            free,
            total: billable + free,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_cell_is_read_from_metas_pricing() {
        let pmp = json!({"billable": true, "pricing_model": "PMP", "category": "utility", "type": "regular"});
        assert_eq!(UsageCell::of(&pmp), Some(UsageCell::new("utility", "regular", true)));
        let free =
            json!({"billable": false, "pricing_model": "PMP", "category": "service", "type": "free_customer_service"});
        assert_eq!(
            UsageCell::of(&free).expect("a cell").key(),
            "service#free_customer_service#free"
        );
        // Conversation-based pricing: no type.
        let cbp = json!({"billable": true, "pricing_model": "CBP", "category": "marketing"});
        assert_eq!(
            UsageCell::of(&cbp),
            Some(UsageCell::new("marketing", "unspecified", true))
        );
        // No billable: the type says.
        let entry = json!({"category": "MARKETING_LITE", "type": "free_entry_point"});
        assert_eq!(
            UsageCell::of(&entry),
            Some(UsageCell::new("marketing_lite", "free_entry_point", false))
        );
        // Names that are not plain words never become keys or attribute names.
        let odd = json!({"category": "a#b", "type": "x".repeat(49), "billable": true});
        assert_eq!(UsageCell::of(&odd), Some(UsageCell::new("other", "other", true)));
        assert_eq!(
            UsageCell::of(&json!({})),
            Some(UsageCell::new("unknown", "unspecified", true))
        );
        assert_eq!(UsageCell::of(&json!("utility")), None);
    }

    #[test]
    fn keys_read_back() {
        for c in [
            UsageCell::new("utility", "regular", true),
            UsageCell::new("service", "free_entry_point", false),
        ] {
            assert_eq!(UsageCell::parse(&c.key()), Some(c.clone()));
            assert_eq!(
                parse_counted(&counted_at("2025-07", &c)),
                Some(("2025-07".to_owned(), c))
            );
        }
        for bad in [
            "utility#regular",
            "utility#regular#maybe",
            "a#b#free#x",
            "A#b#free",
            "#b#free",
        ] {
            assert_eq!(UsageCell::parse(bad), None, "{bad}");
        }
        assert_eq!(parse_counted("2025-13#a#b#free"), None);
        assert_eq!(parse_counted("nope"), None);
    }

    #[test]
    fn months_are_utc_by_the_status_time() {
        let fallback = DateTime::from_timestamp(1_800_000_000, 0).expect("a time");
        // 2025-07-31T23:59:59Z and one second later.
        assert_eq!(month_of(Some(1_754_006_399), fallback), "2025-07");
        assert_eq!(month_of(Some(1_754_006_400), fallback), "2025-08");
        assert_eq!(month_of(None, fallback), "2027-01");
        assert_eq!(month_of(Some(i64::MAX), fallback), "2027-01");
        assert_eq!(parse_month("2025-07").as_deref(), Some("2025-07"));
        for bad in ["2025-7", "2025-00", "2025-13", "25-07", "2025/07", "2025-07-01", ""] {
            assert_eq!(parse_month(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_status_counts_first_moves_or_does_nothing() {
        let utility = UsageCell::new("utility", "regular", true);
        let marketing = UsageCell::new("marketing", "regular", true);
        let key = utility.key();
        // Not counted yet: counted here.
        assert_eq!(
            UsageCount::decide(Some(&key), None, &utility, "2025-07"),
            UsageCount::First {
                month: "2025-07".into(),
                cell: utility.clone()
            }
        );
        // Counted in this cell (any month): nothing.
        let counted = counted_at("2025-06", &utility);
        assert_eq!(
            UsageCount::decide(Some(&key), Some(&counted), &utility, "2025-07"),
            UsageCount::Done
        );
        // Counted in another cell: moved, in the month it was counted in.
        let elsewhere = counted_at("2025-06", &marketing);
        assert_eq!(
            UsageCount::decide(Some(&key), Some(&elsewhere), &utility, "2025-07"),
            UsageCount::Move {
                month: "2025-06".into(),
                from: marketing.clone(),
                to: utility.clone()
            }
        );
        // The item holds another pricing (a later status): that status counts.
        assert_eq!(
            UsageCount::decide(Some(&marketing.key()), None, &utility, "2025-07"),
            UsageCount::Done
        );
        assert_eq!(UsageCount::decide(None, None, &utility, "2025-07"), UsageCount::Done);
        assert_eq!(
            UsageCount::decide(Some(&key), Some("garbage"), &utility, "2025-07"),
            UsageCount::Done
        );
    }

    #[test]
    fn a_month_sorts_its_rows_and_sums_them() {
        let month = UsageMonth::new(
            "2025-07",
            [
                (UsageCell::new("utility", "regular", true), 3),
                (UsageCell::new("service", "free_customer_service", false), 5),
                (UsageCell::new("marketing", "regular", true), 0),
                (UsageCell::new("authentication", "regular", true), 2),
            ],
        );
        let names: Vec<_> = month.rows.iter().map(|r| r.category.as_str()).collect();
        assert_eq!(names, ["authentication", "service", "utility"]);
        assert_eq!((month.billable, month.free, month.total), (5, 5, 10));
        let json = serde_json::to_value(&month).expect("json");
        assert_eq!(json["rows"][0]["type"], "regular");
        assert_eq!(json["total"], 10);
    }
}
