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

/// Normalizes `input` to digits only, country code first.
///
/// * spaces (any whitespace), `-`, `.`, `(`, `)` are stripped;
/// * a leading `+` or `00` marks an international number: the prefix is dropped;
/// * otherwise a single leading `0` is a national trunk prefix, replaced by `default_country_code`
///   (which may be given with or without `+`);
/// * a number with no leading `0`/`+`/`00` is taken as already international.
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

    let international = if plus {
        digits
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.to_owned()
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

    #[test]
    fn error_messages_name_the_problem() {
        assert!(PhoneError::MissingCountryCode.to_string().contains("country code"));
        assert!(PhoneError::TooLong(16).to_string().contains("16 digits"));
        assert!(PhoneError::InvalidCharacter('x').to_string().contains("'x'"));
    }
}
