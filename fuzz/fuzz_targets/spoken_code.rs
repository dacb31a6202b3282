//! The spoken-code extraction (speech results, transcriptions, keypad digits): never a panic, and
//! whatever it returns is exactly `len` ASCII digits that read back as themselves.
#![no_main]

use bridge::domain::spoken_code::{self, META_CODE_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    for len in [META_CODE_LEN, usize::from(first % 10)] {
        for code in [
            spoken_code::extract_code(text, len),
            spoken_code::from_digits(text, len),
        ]
        .into_iter()
        .flatten()
        {
            assert_eq!(code.len(), len, "a code of the wrong length: {code:?}");
            assert!(code.bytes().all(|b| b.is_ascii_digit()), "a non-digit code: {code:?}");
            assert_eq!(spoken_code::extract_code(&code, len).as_deref(), Some(code.as_str()));
            assert_eq!(spoken_code::from_digits(&code, len).as_deref(), Some(code.as_str()));
        }
    }
});
