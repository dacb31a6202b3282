//! Whether the configured Graph API version is still served: Meta's table of versions and the day
//! each stops being available (source: developers.facebook.com/docs/graph-api/changelog, "Available
//! Graph API versions", as read on 2026-12-06). A version Meta has not dated yet is served for at
//! least two years from its introduction.

use chrono::NaiveDate;

use super::Check;

/// A day as Meta's table writes it: (year, month, day).
type Day = (i32, u32, u32);

/// (version, introduced, available until; `None`: not dated yet).
const VERSIONS: &[(&str, Day, Option<Day>)] = &[
    ("v26.0", (2026, 7, 29), None),
    ("v25.0", (2026, 2, 18), Some((2028, 7, 29))),
    ("v24.0", (2025, 10, 8), Some((2028, 2, 18))),
    ("v23.0", (2025, 5, 29), Some((2027, 10, 8))),
    ("v22.0", (2025, 1, 21), Some((2027, 5, 20))),
    ("v21.0", (2024, 10, 2), Some((2027, 1, 21))),
    ("v20.0", (2024, 5, 21), Some((2026, 9, 24))),
    ("v19.0", (2024, 1, 23), Some((2026, 5, 21))),
    ("v18.0", (2023, 9, 12), Some((2026, 1, 26))),
    ("v17.0", (2023, 5, 23), Some((2025, 9, 12))),
    ("v16.0", (2023, 2, 2), Some((2025, 5, 14))),
];

/// Within this many days of the end: a warning.
pub const WARN_DAYS: i64 = 90;

fn date((year, month, day): Day) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, month, day)
}

/// What Meta's table says of a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    Until(NaiveDate),
    /// Meta has not dated its end yet.
    NotDated,
    /// Not a version the table lists.
    Unknown,
}

/// Until when `version` is served.
pub fn end_of(version: &str) -> Served {
    match VERSIONS.iter().find(|(name, _, _)| *name == version) {
        None => Served::Unknown,
        Some((_, _, until)) => until.and_then(date).map_or(Served::NotDated, Served::Until),
    }
}

/// The `graph api version` row for `version` on `today`.
pub fn check_version(version: &str, today: NaiveDate) -> Check {
    const NAME: &str = "graph api version";
    let newest = VERSIONS[0].0;
    match end_of(version) {
        Served::Unknown => Check::fail(
            NAME,
            format!("{version} is not a Graph API version Meta lists"),
            format!("set GRAPH_API_VERSION to {newest} (the newest)"),
        ),
        Served::NotDated => Check::pass(NAME, format!("{version}: Meta has not dated its end yet")),
        Served::Until(end) => {
            let left = (end - today).num_days();
            if left < 0 {
                Check::fail(
                    NAME,
                    format!("{version} stopped being served on {end}"),
                    format!("set GRAPH_API_VERSION to {newest} and test the sends"),
                )
            } else if left <= WARN_DAYS {
                Check::warn(
                    NAME,
                    format!("{version} is served until {end} ({left} days)"),
                    format!("move GRAPH_API_VERSION to {newest} before then"),
                )
            } else {
                Check::pass(NAME, format!("{version} is served until {end} ({left} days)"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Outcome;

    fn on(version: &str, day: (i32, u32, u32)) -> Outcome {
        check_version(version, date(day).expect("a date")).outcome
    }

    #[test]
    fn a_version_passes_warns_within_ninety_days_and_fails_after_its_end() {
        assert_eq!(on("v26.0", (2026, 12, 6)), Outcome::Pass);
        assert_eq!(on("v23.0", (2026, 12, 6)), Outcome::Pass);
        assert_eq!(on("v21.0", (2026, 12, 6)), Outcome::Warn, "46 days left");
        assert_eq!(on("v21.0", (2026, 10, 23)), Outcome::Warn, "90 days left");
        assert_eq!(on("v21.0", (2026, 10, 22)), Outcome::Pass, "91 days left");
        assert_eq!(on("v20.0", (2026, 12, 6)), Outcome::Fail);
        assert_eq!(on("v9.9", (2026, 12, 6)), Outcome::Fail);
    }

    #[test]
    fn the_bundles_default_version_has_more_than_a_year_left() {
        let default = bridge::config::DEFAULT_GRAPH_API_VERSION;
        match end_of(default) {
            Served::NotDated => {}
            Served::Until(end) => assert!(end > date((2027, 12, 6)).expect("a date"), "{default} ends {end}"),
            Served::Unknown => panic!("{default} is not in the table"),
        }
    }
}
