//! Properties of the spoken-code extraction (proptest): a 6-digit code spoken in words or digits,
//! in any case, with any separators, "oh"/"o" for zero, "double"/"triple", fillers around it,
//! said twice and cut off, is extracted; a phone-number-like run never is.

#![allow(clippy::unwrap_used)]

use bridge::domain::spoken_code::{META_CODE_LEN, extract_code};
use proptest::prelude::*;

const WORDS: [&[&str]; 10] = [
    &["zero", "oh", "o", "Zero", "OH", "O"],
    &["one", "One", "ONE"],
    &["two", "Two"],
    &["three", "Three"],
    &["four", "Four"],
    &["five", "Five"],
    &["six", "Six"],
    &["seven", "Seven"],
    &["eight", "Eight"],
    &["nine", "Nine"],
];
const SEPARATORS: [&str; 7] = [" ", ", ", ". ", "-", " - ", "... ", ",  "];
const FILLERS: [&str; 10] = [
    "um",
    "uh,",
    "your code is",
    "the code is:",
    "your WhatsApp code is",
    "hello.",
    "I repeat,",
    "again:",
    "please enter",
    "",
];

/// How one digit is said: its numeral, or one of its words.
fn spoken_digit(digit: u8) -> impl Strategy<Value = String> {
    let words: Vec<String> = WORDS[usize::from(digit)].iter().map(|w| (*w).to_owned()).collect();
    prop_oneof![Just(digit.to_string()), proptest::sample::select(words)]
}

/// The digits said one by one (or grouped as numerals), with separators between them.
fn spoken_run(digits: Vec<u8>) -> impl Strategy<Value = String> {
    let n = digits.len();
    (
        digits.into_iter().map(spoken_digit).collect::<Vec<_>>(),
        proptest::collection::vec(proptest::sample::select(SEPARATORS.to_vec()), n),
        proptest::collection::vec(any::<bool>(), n),
    )
        .prop_map(|(said, separators, glue)| {
            let mut text = String::new();
            for (i, word) in said.iter().enumerate() {
                if i > 0 {
                    // Two numerals may run together ("12 34"): the same digits.
                    let numerals =
                        word.bytes().all(|b| b.is_ascii_digit()) && said[i - 1].bytes().all(|b| b.is_ascii_digit());
                    if !(glue[i] && numerals) {
                        text.push_str(separators[i]);
                    }
                }
                text.push_str(word);
            }
            text
        })
}

fn code() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(0u8..10, META_CODE_LEN)
}

fn filler() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(FILLERS.to_vec())
}

fn digits_text(digits: &[u8]) -> String {
    digits.iter().map(|d| char::from(b'0' + d)).collect()
}

/// "double X" for a pair of equal digits, at the first pair.
fn with_double(digits: &[u8]) -> Option<String> {
    let at = digits.windows(2).position(|pair| pair[0] == pair[1])?;
    let mut words: Vec<String> = digits.iter().map(u8::to_string).collect();
    words.splice(at..at + 2, [format!("double {}", digits[at])]);
    Some(words.join(" "))
}

/// A phone-number-like run: 7 to 15 digits, not the same 6 digits repeated.
fn phone_number() -> impl Strategy<Value = Vec<u8>> {
    (1u8..10, proptest::collection::vec(0u8..10, 6..15))
        .prop_map(|(first, rest)| std::iter::once(first).chain(rest).collect::<Vec<u8>>())
        .prop_filter("not a repeated code", |digits: &Vec<u8>| {
            let len = META_CODE_LEN;
            !(digits.len() >= 2 * len && digits.iter().zip(digits[..len].iter().cycle()).all(|(a, b)| a == b))
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn a_spoken_code_is_extracted(
        said in code().prop_flat_map(|digits| (Just(digits.clone()), spoken_run(digits))),
        before in filler(),
        after in filler(),
    ) {
        let (digits, said) = said;
        let text = format!("{before} {said} {after}");
        prop_assert_eq!(extract_code(&text, META_CODE_LEN), Some(digits_text(&digits)), "{:?}", text);
    }

    #[test]
    fn a_code_said_twice_and_cut_off_is_extracted(
        first in code().prop_flat_map(|digits| (Just(digits.clone()), spoken_run(digits))),
        cut in 0usize..META_CODE_LEN,
        between in filler(),
    ) {
        let (digits, said) = first;
        let partial: Vec<String> = digits[..cut].iter().map(u8::to_string).collect();
        // Said twice in one breath (one run) and cut off, or twice with a filler between.
        let one_breath = format!("{said} {} {}", digits_text(&digits), partial.join(" "));
        let with_filler = format!("{said} {between} {said}");
        for text in [one_breath, with_filler] {
            prop_assert_eq!(extract_code(&text, META_CODE_LEN), Some(digits_text(&digits)), "{:?}", text);
        }
    }

    #[test]
    fn double_and_triple_are_read(digits in code()) {
        if let Some(text) = with_double(&digits) {
            prop_assert_eq!(extract_code(&text, META_CODE_LEN), Some(digits_text(&digits)), "{:?}", text);
        }
    }

    #[test]
    fn a_phone_number_like_run_is_never_taken_for_a_code(
        phone in phone_number().prop_flat_map(spoken_run),
        code in code(),
        before in filler(),
        after in filler(),
    ) {
        let alone = format!("{before} {phone} {after}");
        prop_assert_eq!(extract_code(&alone, META_CODE_LEN), None, "{:?}", alone);
        // Beside a real code it is conflicting evidence: never a piece of the phone number.
        let beside = format!("call {phone} then {}", digits_text(&code));
        let got = extract_code(&beside, META_CODE_LEN);
        prop_assert!(got.is_none() || got == Some(digits_text(&code)), "{:?} -> {:?}", beside, got);
    }
}
