//! Twilio's form bodies and query strings: parse, decode, and encode/decode round trips.
#![no_main]

use bridge::domain::form;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(pairs) = form::parse(data) {
        // Re-encoding the pairs and parsing again gives the same pairs (empty names dropped the same way).
        let encoded: Vec<String> = pairs
            .iter()
            .map(|(name, value)| format!("{}={}", form::encode(name), form::encode(value)))
            .collect();
        let encoded = encoded.join("&");
        if encoded.len() > form::MAX_FORM_BYTES {
            return;
        }
        let again = form::parse(encoded.as_bytes()).expect("an encoded form parses");
        let kept: Vec<_> = pairs
            .iter()
            .filter(|(name, value)| !(name.is_empty() && value.is_empty()))
            .cloned()
            .collect();
        let again: Vec<_> = again
            .into_iter()
            .filter(|(name, value)| !(name.is_empty() && value.is_empty()))
            .collect();
        assert_eq!(kept, again);
        if let Some((name, value)) = pairs.first() {
            assert!(form::first(&pairs, name).is_some_and(|first| first == value));
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = form::decode(text);
        assert_eq!(form::decode(&form::encode(text)).as_deref(), Some(text));
    }
});
