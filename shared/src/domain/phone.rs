//! Recipient normalization to WhatsApp's digits-only international form
//! (E.164 without the leading `+`), as the Cloud API's `to` field expects.

use thiserror::Error;

/// Shortest accepted result, country code included.
pub const MIN_DIGITS: usize = 8;
/// E.164 maximum, country code included.
pub const MAX_DIGITS: usize = 15;

/// Why a recipient could not be normalized. Messages name the problem and suit a 400 answer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PhoneError {
    #[error("phone number is empty")]
    Empty,
    #[error(
        "phone number contains an invalid character {0:?}: only digits, spaces, '-', '.', '(', ')' and a leading '+' are allowed"
    )]
    InvalidCharacter(char),
    #[error("phone number has a '+' that is not its first character")]
    MisplacedPlus,
    #[error("phone number has an international prefix but no digits after it")]
    NoDigits,
    #[error("international phone number must not start with 0 after the '+' or '00' prefix")]
    InvalidCountryCode,
    #[error(
        "phone number is in national format (leading 0) but no default country code is configured; use international format"
    )]
    MissingCountryCode,
    #[error("configured default country code {0:?} is invalid: expected 1 to 3 digits not starting with 0")]
    InvalidDefaultCountryCode(String),
    #[error("phone number is too short: {0} digits, at least {MIN_DIGITS} expected including the country code")]
    TooShort(usize),
    #[error("phone number is too long: {0} digits, at most {MAX_DIGITS} allowed (E.164)")]
    TooLong(usize),
}

/// How one country writes its national numbers: what [`normalize`] needs to tell a national
/// number from an international one written without `+`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumberingPlan {
    /// The country calling code, digits.
    pub country_code: &'static str,
    /// The national trunk prefix dialled before a national number (`0`; `1` in North America,
    /// `8` in Russia), or `None` where there is none (Italy, Spain, Mexico…).
    pub trunk: Option<&'static str>,
    /// Lengths of the national significant number (without trunk prefix or country code).
    pub national_lengths: (usize, usize),
    /// National numbers are commonly written without the trunk prefix too (`(415) 555-0123`,
    /// Indian mobiles `98765 43210`, Brazilian `(11) 91234-5678`).
    pub written_without_trunk: bool,
    /// The international call prefix when it is not `00` (`011` in North America).
    pub international_prefix: Option<&'static str>,
}

const fn plan(
    country_code: &'static str,
    trunk: Option<&'static str>,
    national_lengths: (usize, usize),
    written_without_trunk: bool,
) -> NumberingPlan {
    NumberingPlan {
        country_code,
        trunk,
        national_lengths,
        written_without_trunk,
        international_prefix: None,
    }
}

/// The numbering plans of the countries this bundle knows by hand (ITU-T E.164 assignments and
/// each regulator's national plan, as summarised by Google's libphonenumber metadata). A country
/// not listed keeps the generic rule: a single leading `0` is the trunk prefix.
pub const PLANS: &[NumberingPlan] = &[
    NumberingPlan {
        international_prefix: Some("011"),
        ..plan("1", Some("1"), (10, 10), true)
    },
    plan("7", Some("8"), (10, 10), false),
    plan("20", Some("0"), (8, 10), false),
    plan("27", Some("0"), (9, 9), false),
    plan("30", None, (10, 10), true),
    plan("31", Some("0"), (9, 9), false),
    plan("32", Some("0"), (8, 9), false),
    plan("33", Some("0"), (9, 9), false),
    plan("34", None, (9, 9), true),
    plan("39", None, (6, 11), true),
    plan("41", Some("0"), (9, 9), false),
    plan("43", Some("0"), (4, 13), false),
    plan("44", Some("0"), (9, 10), false),
    plan("45", None, (8, 8), true),
    plan("46", Some("0"), (7, 10), false),
    plan("47", None, (8, 8), true),
    plan("48", None, (9, 9), true),
    plan("49", Some("0"), (6, 13), false),
    plan("52", None, (10, 10), true),
    plan("55", Some("0"), (10, 11), true),
    plan("56", None, (9, 9), true),
    plan("57", None, (10, 10), true),
    plan("60", Some("0"), (9, 10), false),
    plan("61", Some("0"), (9, 9), false),
    plan("62", Some("0"), (9, 12), false),
    plan("63", Some("0"), (10, 10), false),
    plan("64", Some("0"), (8, 10), false),
    plan("65", None, (8, 8), true),
    plan("66", Some("0"), (8, 9), false),
    plan("81", Some("0"), (9, 10), false),
    plan("82", Some("0"), (8, 10), false),
    plan("84", Some("0"), (9, 10), false),
    plan("90", Some("0"), (10, 10), false),
    plan("91", Some("0"), (10, 10), true),
    plan("92", Some("0"), (10, 10), false),
    plan("234", Some("0"), (8, 10), false),
    plan("351", None, (9, 9), true),
    plan("353", Some("0"), (7, 9), false),
    plan("880", Some("0"), (10, 10), false),
    plan("966", Some("0"), (8, 9), false),
    plan("971", Some("0"), (8, 9), false),
    plan("972", Some("0"), (8, 9), false),
];

impl NumberingPlan {
    pub fn find(country_code: &str) -> Option<&'static NumberingPlan> {
        PLANS.iter().find(|plan| plan.country_code == country_code)
    }

    fn is_national_length(&self, digits: &str) -> bool {
        (self.national_lengths.0..=self.national_lengths.1).contains(&digits.len())
    }

    /// `digits` (no `+`/`00`) as an international number, if they are a national number of this
    /// country: with its trunk prefix, or without one where that is how numbers are written.
    fn national(&self, digits: &str) -> Option<String> {
        if let Some(trunk) = self.trunk
            && let Some(rest) = digits.strip_prefix(trunk)
            && self.is_national_length(rest)
        {
            return Some(format!("{}{rest}", self.country_code));
        }
        if self.written_without_trunk && self.is_national_length(digits) {
            return Some(format!("{}{digits}", self.country_code));
        }
        None
    }
}

/// Normalizes `input` to digits only, country code first.
///
/// * spaces (any whitespace), `-`, `.`, `(`, `)` are stripped;
/// * a leading `+` or `00` (or the country's own international prefix, `011` in North America)
///   marks an international number: the prefix is dropped;
/// * otherwise, with `default_country_code` (given with or without `+`) of a country in
///   [`PLANS`], a national number of that country (with its trunk prefix, or without one where
///   numbers are written so: `(415) 555-0123` with `1` is `14155550123`) gets the country code;
/// * for another country, a single leading `0` is the trunk prefix, replaced by the code;
/// * anything else is taken as already international.
///
/// The result must have [`MIN_DIGITS`]..=[`MAX_DIGITS`] digits.
pub fn normalize(input: &str, default_country_code: Option<&str>) -> Result<String, PhoneError> {
    let mut plus = false;
    let mut digits = String::with_capacity(input.len());
    for c in input.chars() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if digits.is_empty() && !plus => plus = true,
            '+' => return Err(PhoneError::MisplacedPlus),
            '-' | '.' | '(' | ')' => {}
            c if c.is_whitespace() => {}
            c => return Err(PhoneError::InvalidCharacter(c)),
        }
    }

    let configured = default_country_code.map(str::trim).filter(|code| !code.is_empty());
    let plan = match configured {
        Some(_) => country_code(configured).ok().and_then(NumberingPlan::find),
        None => None,
    };
    let international = if plus {
        digits
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.to_owned()
    } else if let Some(rest) = plan
        .and_then(|plan| plan.international_prefix)
        .and_then(|prefix| digits.strip_prefix(prefix))
    {
        rest.to_owned()
    } else if let Some(national) = plan.and_then(|plan| plan.national(&digits)) {
        national
    } else if let Some(rest) = digits.strip_prefix('0') {
        let code = country_code(default_country_code)?;
        format!("{code}{rest}")
    } else if digits.is_empty() {
        return Err(PhoneError::Empty);
    } else {
        digits
    };

    if international.is_empty() {
        return Err(PhoneError::NoDigits);
    }
    if international.starts_with('0') {
        return Err(PhoneError::InvalidCountryCode);
    }
    match international.len() {
        n if n < MIN_DIGITS => Err(PhoneError::TooShort(n)),
        n if n > MAX_DIGITS => Err(PhoneError::TooLong(n)),
        _ => Ok(international),
    }
}

fn country_code(configured: Option<&str>) -> Result<&str, PhoneError> {
    let raw = configured
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .ok_or(PhoneError::MissingCountryCode)?;
    let code = raw.strip_prefix('+').unwrap_or(raw);
    let valid = (1..=3).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit()) && !code.starts_with('0');
    if valid {
        Ok(code)
    } else {
        Err(PhoneError::InvalidDefaultCountryCode(raw.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IL: Option<&str> = Some("972");

    #[test]
    fn normalizes_valid_numbers() {
        let cases: &[(&str, Option<&str>, &str)] = &[
            ("050-437-0045", IL, "972504370045"),
            ("0504370045", IL, "972504370045"),
            ("+972 50-437-0045", IL, "972504370045"),
            ("+972 50-437-0045", None, "972504370045"),
            ("00972504370045", IL, "972504370045"),
            ("00972504370045", None, "972504370045"),
            ("(050) 437 0045", IL, "972504370045"),
            ("050.437.0045", IL, "972504370045"),
            ("+1 (415) 555-0123", IL, "14155550123"),
            ("+1 (415) 555-0123", None, "14155550123"),
            ("972504370045", IL, "972504370045"),
            ("972504370045", None, "972504370045"),
            ("  +972504370045\t", None, "972504370045"),
            ("+972\u{a0}50\u{a0}437\u{a0}0045", None, "972504370045"),
            ("050-437-0045", Some("+972"), "972504370045"),
            ("050-437-0045", Some(" 972 "), "972504370045"),
            ("07911 123456", Some("44"), "447911123456"),
            ("+12345678", None, "12345678"),
            ("+123456789012345", None, "123456789012345"),
        ];
        for (input, cc, expected) in cases {
            assert_eq!(
                normalize(input, *cc).as_deref(),
                Ok(*expected),
                "input {input:?} cc {cc:?}"
            );
        }
    }

    #[test]
    fn rejects_invalid_numbers() {
        let cases: &[(&str, Option<&str>, PhoneError)] = &[
            ("", IL, PhoneError::Empty),
            ("   ", IL, PhoneError::Empty),
            ("-().", IL, PhoneError::Empty),
            ("abc", IL, PhoneError::InvalidCharacter('a')),
            ("050-437-004x", IL, PhoneError::InvalidCharacter('x')),
            ("+972/504370045", IL, PhoneError::InvalidCharacter('/')),
            ("+972 50 437 0045 ext 1", IL, PhoneError::InvalidCharacter('e')),
            ("1234567", IL, PhoneError::TooShort(7)),
            ("+1234", IL, PhoneError::TooShort(4)),
            ("0123", IL, PhoneError::TooShort(6)),
            ("1234567890123456", IL, PhoneError::TooLong(16)),
            ("+97250437004512345", IL, PhoneError::TooLong(17)),
            ("+", IL, PhoneError::NoDigits),
            ("00", IL, PhoneError::NoDigits),
            ("+ ( )", IL, PhoneError::NoDigits),
            ("050-437-0045", None, PhoneError::MissingCountryCode),
            ("050-437-0045", Some(""), PhoneError::MissingCountryCode),
            (
                "050-437-0045",
                Some("0972"),
                PhoneError::InvalidDefaultCountryCode("0972".into()),
            ),
            (
                "050-437-0045",
                Some("97a"),
                PhoneError::InvalidDefaultCountryCode("97a".into()),
            ),
            (
                "050-437-0045",
                Some("+"),
                PhoneError::InvalidDefaultCountryCode("+".into()),
            ),
            ("++972504370045", IL, PhoneError::MisplacedPlus),
            ("972+504370045", IL, PhoneError::MisplacedPlus),
            ("+0972504370045", IL, PhoneError::InvalidCountryCode),
            ("000972504370045", IL, PhoneError::InvalidCountryCode),
        ];
        for (input, cc, expected) in cases {
            assert_eq!(
                normalize(input, *cc).as_ref(),
                Err(expected),
                "input {input:?} cc {cc:?}"
            );
        }
    }

    /// National numbers of each country, in the forms people write them, with that country as
    /// `DEFAULT_COUNTRY_CODE`; and the same numbers written internationally.
    #[test]
    fn national_numbers_of_many_countries() {
        let cases: &[(&str, &str, &str)] = &[
            // US / Canada (NANP: trunk 1, 10 digits, international prefix 011)
            ("1", "(415) 555-0123", "14155550123"),
            ("1", "415-555-0123", "14155550123"),
            ("1", "415.555.0123", "14155550123"),
            ("1", "1 (415) 555-0123", "14155550123"),
            ("1", "1-415-555-0123", "14155550123"),
            ("+1", "4155550123", "14155550123"),
            ("1", "(604) 555-0199", "16045550199"),
            ("1", "011 972 50 437 0045", "972504370045"),
            ("1", "+44 20 7946 0958", "442079460958"),
            ("1", "972504370045", "972504370045"),
            // Brazil (trunk 0, 10-11 digits, usually written without it)
            ("55", "(11) 91234-5678", "5511912345678"),
            ("55", "11 91234 5678", "5511912345678"),
            ("55", "011 91234-5678", "5511912345678"),
            ("55", "(21) 2345-6789", "552123456789"),
            ("55", "55 11 91234 5678", "5511912345678"),
            // India (trunk 0, 10 digits, mobiles usually without it)
            ("91", "98765 43210", "919876543210"),
            ("91", "098765 43210", "919876543210"),
            ("91", "011-2345-6789", "911123456789"),
            ("91", "+91 98765 43210", "919876543210"),
            // United Kingdom (trunk 0)
            ("44", "07911 123456", "447911123456"),
            ("44", "020 7946 0958", "442079460958"),
            ("44", "(0161) 496 0000", "441614960000"),
            ("44", "447911123456", "447911123456"),
            // Germany (trunk 0, variable length)
            ("49", "0151 23456789", "4915123456789"),
            ("49", "030 1234567", "49301234567"),
            ("49", "(089) 123456-78", "498912345678"),
            // Italy (no trunk prefix: the leading 0 of a landline is part of the number)
            ("39", "312 345 6789", "393123456789"),
            ("39", "06 1234 5678", "390612345678"),
            ("39", "02-1234567", "39021234567"),
            // Mexico (10 digits, no trunk prefix since 2019)
            ("52", "55 1234 5678", "525512345678"),
            ("52", "(55) 1234-5678", "525512345678"),
            ("52", "33.1234.5678", "523312345678"),
            // France (trunk 0, 9 digits)
            ("33", "06 12 34 56 78", "33612345678"),
            ("33", "01.23.45.67.89", "33123456789"),
            ("33", "+33 6 12 34 56 78", "33612345678"),
            // Spain (no trunk prefix, 9 digits)
            ("34", "612 34 56 78", "34612345678"),
            ("34", "91 123 45 67", "34911234567"),
            ("34", "34612345678", "34612345678"),
            // Israel (trunk 0, 8-9 digits)
            ("972", "050-437-0045", "972504370045"),
            ("972", "03-123-4567", "97231234567"),
            ("972", "(02) 123 4567", "97221234567"),
            // Russia (trunk 8), Australia (trunk 0)
            ("7", "8 (912) 345-67-89", "79123456789"),
            ("61", "0412 345 678", "61412345678"),
            // A country without a plan here: the generic leading-0 rule
            ("263", "0771 234 567", "263771234567"),
        ];
        for (cc, input, expected) in cases {
            assert_eq!(
                normalize(input, Some(cc)).as_deref(),
                Ok(*expected),
                "input {input:?} cc {cc:?}"
            );
        }
    }

    #[test]
    fn every_plan_is_consistent() {
        for plan in PLANS {
            assert!(country_code(Some(plan.country_code)).is_ok(), "{plan:?}");
            assert!(plan.national_lengths.0 <= plan.national_lengths.1, "{plan:?}");
            assert!(plan.written_without_trunk || plan.trunk.is_some(), "{plan:?}");
            assert_eq!(PLANS.iter().filter(|p| p.country_code == plan.country_code).count(), 1);
        }
    }

    #[test]
    fn error_messages_name_the_problem() {
        assert!(PhoneError::MissingCountryCode.to_string().contains("country code"));
        assert!(PhoneError::TooLong(16).to_string().contains("16 digits"));
        assert!(PhoneError::InvalidCharacter('x').to_string().contains("'x'"));
    }
}
