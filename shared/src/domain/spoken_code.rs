//! Extraction of Meta's verification code from what Twilio heard: a `SpeechResult`, a recording transcription or
//! keypad `Digits`.
//!
//! # Rule
//!
//! 1. **Tokenise**: the text is split into words at every character that is not alphanumeric (spaces,
//!    punctuation, hyphens, commas, periods...). Separators never matter, so `"123-456"`, `"123 456"` and
//!    `"1, 2, 3. 4, 5, 6."` read the same.
//! 2. **Map** each word to digits: an ASCII numeral gives each of its digits; `zero`, `oh`, `o` and `one`..`nine`
//!    (any case) give one digit; `double X` / `triple X`, where `X` is a single digit (word or numeral), give `X`
//!    two / three times. Every other word (including `and`, `double` not followed by a single digit, and numerals
//!    mixed with letters such as `1st`) is not a digit.
//! 3. **Runs**: consecutive digit words form a run; any non-digit word ends the run.
//! 4. **Candidates**: a run of exactly `len` digits is a candidate; so is a run made of the same `len` digits
//!    repeated, with at least two whole repetitions (a trailing partial repetition, as when the recording is cut
//!    off, is allowed: `123456 123456 12`).
//! 5. **Decision**: runs shorter than `len` are fragments and are ignored. A run longer than `len` that is not a
//!    repetition (a phone number, `1234567`) is conflicting evidence and makes the result `None`, as do two
//!    candidates that disagree. Otherwise the (agreeing) candidate is the code; no candidate gives `None`.
//!
//! Never panics, on any input; runs in time linear in the input's length.

/// Length of the code Meta reads out for WhatsApp phone-number verification.
pub const META_CODE_LEN: usize = 6;

/// The `len`-digit code in `text` (speech result, transcription or digits), following the module's rule.
pub fn extract_code(text: &str, len: usize) -> Option<String> {
    if len == 0 {
        return None;
    }
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();

    let mut runs: Vec<Vec<u8>> = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    let mut i = 0;
    while let Some(word) = words.get(i).map(String::as_str) {
        let repeat = match word {
            "double" => 2,
            "triple" => 3,
            _ => 1,
        };
        if repeat > 1 {
            if let Some(digit) = words.get(i + 1).and_then(|next| single_digit(next)) {
                current.extend(std::iter::repeat_n(digit, repeat));
                i += 2;
                continue;
            }
        } else if let Some(digits) = word_digits(word) {
            current.extend(digits);
            i += 1;
            continue;
        }
        // Not a digit word: the current run ends.
        if !current.is_empty() {
            runs.push(std::mem::take(&mut current));
        }
        i += 1;
    }
    if !current.is_empty() {
        runs.push(current);
    }

    let mut code: Option<&[u8]> = None;
    for run in &runs {
        if run.len() < len {
            continue;
        }
        let candidate = run_candidate(run, len)?;
        match code {
            Some(existing) if existing != candidate => return None,
            _ => code = Some(candidate),
        }
    }
    code.map(|digits| digits.iter().map(|d| char::from(b'0' + d)).collect())
}

/// The `len`-digit code typed on the keypad: `#` and `*` (and whitespace) are ignored; what remains must be
/// exactly `len` digits, or the same `len` digits repeated a whole number of times.
pub fn from_digits(digits: &str, len: usize) -> Option<String> {
    if len == 0 {
        return None;
    }
    let mut kept: Vec<u8> = Vec::new();
    for c in digits.chars() {
        match c {
            '#' | '*' => {}
            c if c.is_whitespace() => {}
            c if c.is_ascii_digit() => kept.push(c as u8 - b'0'),
            _ => return None,
        }
    }
    if kept.is_empty() || !kept.len().is_multiple_of(len) {
        return None;
    }
    let candidate = run_candidate(&kept, len)?;
    Some(candidate.iter().map(|d| char::from(b'0' + d)).collect())
}

/// The digits (values 0..=9) a word stands for, if it is a numeral or a digit word.
fn word_digits(word: &str) -> Option<Vec<u8>> {
    if word.bytes().all(|b| b.is_ascii_digit()) {
        return Some(word.bytes().map(|b| b - b'0').collect());
    }
    digit_word(word).map(|d| vec![d])
}

/// The digit for a word that stands for exactly one digit (`"7"`, `"seven"`, `"oh"`).
fn single_digit(word: &str) -> Option<u8> {
    match word.as_bytes() {
        [b] if b.is_ascii_digit() => Some(b - b'0'),
        _ => digit_word(word),
    }
}

fn digit_word(word: &str) -> Option<u8> {
    Some(match word {
        "zero" | "oh" | "o" => 0,
        "one" => 1,
        "two" => 2,
        "three" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        _ => return None,
    })
}

/// The code a run (of at least `len` digits) stands for: the run itself when it has exactly `len` digits, or its
/// first `len` digits when the run repeats them at least twice (possibly followed by a partial repetition).
fn run_candidate(run: &[u8], len: usize) -> Option<&[u8]> {
    let code = run.get(..len)?;
    if run.len() == len {
        return Some(code);
    }
    if run.len() < 2 * len {
        return None;
    }
    let periodic = run.iter().zip(code.iter().cycle()).all(|(a, b)| a == b);
    periodic.then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> Option<String> {
        extract_code(text, META_CODE_LEN)
    }

    #[test]
    fn speech_results_table() {
        let table: &[(&str, Option<&str>)] = &[
            // Plain forms.
            ("1 2 3 4 5 6", Some("123456")),
            ("123456", Some("123456")),
            ("123 456", Some("123456")),
            ("123-456", Some("123456")),
            ("one two three four five six", Some("123456")),
            ("One, two, three. Four, five, six.", Some("123456")),
            ("1, 2, 3, 4, 5, 6.", Some("123456")),
            ("one 2 three 4 five 6", Some("123456")),
            // Zero spoken three ways.
            ("oh four zero nine o 1", Some("040901")),
            ("Zero zero seven, one oh two.", Some("007102")),
            // Double / triple.
            ("double five 1 triple seven", Some("551777")),
            ("Your code is 3 double 8 triple 0.", Some("388000")),
            ("double 5 double 6 double 7", Some("556677")),
            // Surrounding words and repetitions.
            ("Your WhatsApp code is 4 8 1 5 2 9.", Some("481529")),
            (
                "Your verification code is 4 8 1 5 2 9. Once again, 4 8 1 5 2 9.",
                Some("481529"),
            ),
            (
                "your code is 1 2 3 4 5 6. Again, your code is 1 2 3 4 5 6",
                Some("123456"),
            ),
            ("123456 123456", Some("123456")),
            ("123456 123456 123456", Some("123456")),
            ("1 2 3 4 5 6 1 2 3 4 5 6 1 2 3 4 5 6.", Some("123456")),
            (
                "Hello. This is WhatsApp. Your code is 9 0 2 7 1 3. 9 0 2 7 1 3. 9 0 2 7 1 3.",
                Some("902713"),
            ),
            (
                "Your WhatsApp code is 772 041. Your WhatsApp code is 772 041.",
                Some("772041"),
            ),
            ("Your code is 5 5 5 1 2 3. Again, 5 5 5.", Some("555123")), // trailing fragment ignored
            ("code 6 1 8 2 0 4 6 1 8 2 0 4 6 1", Some("618204")),        // cut-off third repetition
            ("Your code is: Seven. Seven. Three. Eight. One. Nine.", Some("773819")),
            ("WhatsApp. Your code is 2 0 0 9 1 7, and again 200917.", Some("200917")),
            ("YOUR CODE IS ONE TWO THREE FOUR FIVE SIX", Some("123456")),
            ("123456#", Some("123456")),
            ("Your code is 1 2 3. 4 5 6.", Some("123456")), // punctuation does not end a run
            // No code.
            ("", None),
            ("hello", None),
            ("Hello, this is WhatsApp calling.", None),
            ("12345", None),
            ("1 2 3 4 5", None),
            ("1234567", None),
            ("123456 654321", None),
            ("Your code is 1 2 3 4 5 6. Again, your code is 1 2 3 4 5 7.", None),
            ("call me at 415 555 0123", None),
            ("one two three and four five six", None),
            ("1st 2nd 3rd 4th 5th 6th", None),
            ("double", None),
            ("triple double", None),
            ("Your code is 1234561.", None),
            ("Your code is 123456. Call 415 555 0123 for help.", None),
        ];
        let mut none_count = 0;
        for (text, expected) in table {
            assert_eq!(code(text).as_deref(), *expected, "{text:?}");
            if expected.is_none() {
                none_count += 1;
            }
        }
        assert!(table.len() >= 25);
        assert!(none_count >= 8);
    }

    #[test]
    fn other_lengths() {
        assert_eq!(extract_code("1 2 3 4", 4).as_deref(), Some("1234"));
        assert_eq!(extract_code("your code is 12345678", 8).as_deref(), Some("12345678"));
        assert_eq!(extract_code("123456", 4), None);
        assert_eq!(extract_code("123456", 0), None);
        assert_eq!(extract_code("", 0), None);
        assert_eq!(extract_code("1", 1).as_deref(), Some("1"));
        assert_eq!(extract_code("12", usize::MAX), None);
    }

    #[test]
    fn keypad_digits() {
        assert_eq!(from_digits("123456", 6).as_deref(), Some("123456"));
        assert_eq!(from_digits("123456#", 6).as_deref(), Some("123456"));
        assert_eq!(from_digits("*123456#", 6).as_deref(), Some("123456"));
        assert_eq!(from_digits("123456123456", 6).as_deref(), Some("123456"));
        assert_eq!(from_digits("123 456", 6).as_deref(), Some("123456"));
        assert_eq!(from_digits("12345", 6), None);
        assert_eq!(from_digits("1234567", 6), None);
        assert_eq!(from_digits("123456654321", 6), None);
        assert_eq!(from_digits("12345612", 6), None);
        assert_eq!(from_digits("12a456", 6), None);
        assert_eq!(from_digits("", 6), None);
        assert_eq!(from_digits("#", 6), None);
        assert_eq!(from_digits("123456", 0), None);
        assert_eq!(from_digits("١٢٣٤٥٦", 6), None);
    }

    #[test]
    fn never_panics_on_odd_input() {
        let long_digits = "1 2 3 4 5 6 ".repeat(20_000);
        assert_eq!(code(&long_digits).as_deref(), Some("123456"));
        let long_words = "your code is 😀 ".repeat(50_000);
        assert_eq!(code(&long_words), None);
        let long_numeral = "9".repeat(200_000);
        assert_eq!(code(&long_numeral).as_deref(), Some("999999"));
        let long_mixed = "7".repeat(100_001);
        assert_eq!(from_digits(&long_mixed, 6), None);
        for text in [
            "😀😀😀",
            "1😀2😀3😀4😀5😀6",
            "١٢٣٤٥٦",
            "１２３４５６",
            "İstanbul ǅ ß ﬃ",
            "\u{0}\u{1}\u{7f}",
            "\u{feff}123456",
            "double 😀",
            "triple",
            "o o o o o o",
            "ＯＮＥ",
        ] {
            let _ = code(text);
            let _ = from_digits(text, META_CODE_LEN);
            let _ = extract_code(text, 1);
        }
        assert_eq!(code("1😀2😀3😀4😀5😀6").as_deref(), Some("123456"));
        assert_eq!(code("\u{feff}123456").as_deref(), Some("123456"));
        assert_eq!(code("o o o o o o").as_deref(), Some("000000"));
        assert_eq!(code("１２３４５６"), None);
    }
}
