//! The JSON check of a signed webhook at ingestion: exact for what it checks, one cheap pass.
//!
//! A full validating parse (serde_json into `IgnoredAny`) cost more than half of the HMAC itself
//! (`cargo bench -p bridge --bench ingest`; docs/ingest-performance.md), and the worker parses every body in
//! full anyway, to plan its writes. So ingestion refuses (400) a signed body that is
//! - not UTF-8 (RFC 8259 §8.1: JSON exchanged between systems is UTF-8),
//! - or holds a raw control character (U+0000–U+001F other than tab, LF and CR: JSON allows none,
//!   in a string or between tokens),
//! - or is not framed as an object: `{` first and `}` last, JSON whitespace aside (every webhook
//!   Meta sends is an object).
//!
//! Every JSON object passes, so no webhook is ever refused. A signed body that passes and is still
//! not JSON (`{"a":}`) is queued and is harmless: only the holder of the app secret can produce one;
//! the worker's first step on it is the full parse, which fails before any write, publish or send
//! and without a panic (fuzzed: `sqs_record`); the record then ends in the dead-letter queue, kept,
//! exactly as a signed body that is JSON but no webhook (`[]`, `{"entry":7}`) always has. Being an
//! object, it can never be read as a claim-check pointer (an array).

/// Why a signed body is refused as not JSON. Positions are byte offsets; no content is quoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotJsonObject {
    #[error("not UTF-8 (from byte {0})")]
    NotUtf8(usize),
    #[error("a raw control character at byte {0}")]
    ControlCharacter(usize),
    #[error("not a JSON object (it must begin with `{{` and end with `}}`)")]
    NotAnObject,
}

/// A body that passed the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked<'a> {
    pub text: &'a str,
    /// Whether SQS takes the text as a message body as it is (`bridge::domain::envelope::sqs_text`):
    /// with no control character left, whether it holds no U+FFFE / U+FFFF. Found by the same pass.
    pub sqs_text: bool,
}

/// The check (see the module documentation), in one pass over the body besides UTF-8's.
///
/// Never inlined: this crate is built at opt-level 3 and its callers at "z"; inlined into one of
/// them (fat LTO), the scan took the caller's size optimization and ran at half speed (measured with
/// the ingest bench: the same check 10 µs slower at 100 KiB in one caller than in the other).
#[inline(never)]
pub fn check(body: &[u8]) -> Result<Checked<'_>, NotJsonObject> {
    let text = std::str::from_utf8(body).map_err(|error| NotJsonObject::NotUtf8(error.valid_up_to()))?;
    let sqs_text = match first_not_sqs(body) {
        None => true,
        Some(NotSqs::Control(at)) => return Err(NotJsonObject::ControlCharacter(at)),
        Some(NotSqs::Noncharacter(at)) => match first_control_character(&body[at..]) {
            Some(offset) => return Err(NotJsonObject::ControlCharacter(at + offset)),
            None => false,
        },
    };
    // With no control character left, ASCII whitespace is JSON whitespace (form feed is a control).
    let framed = body.trim_ascii();
    if framed.first() != Some(&b'{') || framed.last() != Some(&b'}') || framed.len() < 2 {
        return Err(NotJsonObject::NotAnObject);
    }
    Ok(Checked { text, sqs_text })
}

/// A control character JSON allows nowhere, and SQS in no message body.
#[inline(always)]
pub fn is_control(byte: u8) -> bool {
    byte < 0x20 && !matches!(byte, b'\t' | b'\n' | b'\r')
}

/// The first character of UTF-8 text that SQS refuses in a message body, and where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotSqs {
    /// [`is_control`].
    Control(usize),
    /// U+FFFE or U+FFFF (`EF BF BE`, `EF BF BF`).
    Noncharacter(usize),
}

/// The first character SQS refuses in UTF-8 text. SQS takes #x9 | #xA | #xD | #x20–#xD7FF |
/// #xE000–#xFFFD | #x10000–#x10FFFF; UTF-8 has no surrogates, so the others are the control
/// bytes and U+FFFE / U+FFFF, whose encodings start with `EF` (rare: Meta escapes non-ASCII).
pub fn first_not_sqs(text: &[u8]) -> Option<NotSqs> {
    let mut from = 0;
    loop {
        let at = from
            + first_in_words(
                &text[from..],
                |word| has_byte_below_0x20(word) | has_byte(word, 0xEF),
                |byte| is_control(byte) || byte == 0xEF,
            )?;
        if text[at] != 0xEF {
            return Some(NotSqs::Control(at));
        }
        if matches!(text.get(at + 1..at + 3), Some([0xBF, 0xBE | 0xBF])) {
            return Some(NotSqs::Noncharacter(at));
        }
        from = at + 1;
    }
}

/// The offset of the first byte [`is_control`] finds.
pub fn first_control_character(bytes: &[u8]) -> Option<usize> {
    first_in_words(bytes, has_byte_below_0x20, is_control)
}

/// The offset of the first byte `found` holds for, in two levels:
/// - 256 bytes at a time, one test per word that is nonzero when any byte is below 0x20 or above
///   0x7F ([`below_0x20_or_not_ascii`], one subtraction and two ORs). Compact ASCII JSON, what Meta
///   sends (it escapes everything beyond ASCII), has no such byte, so almost every chunk ends here;
/// - a chunk that has one goes 32 bytes at a time with the exact-as-existence test `word_may_hold`,
///   and byte by byte only in a block where that fires.
///
/// Plain integer code: the binaries are built at opt-level "z", which does not vectorize, and the
/// workspace forbids `unsafe` (no `std::arch`). `word_may_hold` must be nonzero for every word
/// holding a byte `found` holds for, and only for words the first level flags (both callers look for
/// bytes below 0x20 or for 0xEF). False alarms only cost time: tab, LF and CR are below 0x20 too.
#[inline(always)]
fn first_in_words(bytes: &[u8], word_may_hold: impl Fn(u64) -> u64, found: impl Fn(u8) -> bool) -> Option<usize> {
    let (chunks, rest) = bytes.as_chunks::<256>();
    for (index, chunk) in chunks.iter().enumerate() {
        let (words, _) = chunk.as_chunks::<8>();
        let coarse = words.iter().fold(0, |alarm, word| {
            alarm | below_0x20_or_not_ascii(u64::from_ne_bytes(*word))
        });
        if coarse != 0
            && let Some(at) = first_in_blocks(chunk, &word_may_hold, &found)
        {
            return Some(index * 256 + at);
        }
    }
    first_in_blocks(rest, &word_may_hold, &found).map(|at| chunks.len() * 256 + at)
}

/// [`first_in_words`]' second level: four words (32 bytes) at a time, then byte by byte.
#[inline(always)]
fn first_in_blocks(bytes: &[u8], word_may_hold: &impl Fn(u64) -> u64, found: &impl Fn(u8) -> bool) -> Option<usize> {
    let (blocks, rest) = bytes.as_chunks::<32>();
    for (index, block) in blocks.iter().enumerate() {
        let (words, _) = block.as_chunks::<8>();
        let alarm = word_may_hold(u64::from_ne_bytes(words[0]))
            | word_may_hold(u64::from_ne_bytes(words[1]))
            | word_may_hold(u64::from_ne_bytes(words[2]))
            | word_may_hold(u64::from_ne_bytes(words[3]));
        if alarm != 0
            && let Some(at) = block.iter().position(|&byte| found(byte))
        {
            return Some(index * 32 + at);
        }
    }
    rest.iter()
        .position(|&byte| found(byte))
        .map(|at| blocks.len() * 32 + at)
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// Nonzero exactly when a byte of `word` is below 0x20 (the "has less than" bit trick, exact as
/// an existence test for bounds up to 0x80).
#[inline(always)]
fn has_byte_below_0x20(word: u64) -> u64 {
    word.wrapping_sub(ONES * 0x20) & !word & HIGH_BITS
}

/// Nonzero exactly when a byte of `word` is below 0x20 or above 0x7F: a byte below 0x20 borrows
/// into its own high bit, a byte above 0x7F has it; a borrow passed on to the next byte starts at a
/// byte that is flagged itself, so a nonzero result always has a true cause.
#[inline(always)]
fn below_0x20_or_not_ascii(word: u64) -> u64 {
    (word.wrapping_sub(ONES * 0x20) | word) & HIGH_BITS
}

/// Nonzero exactly when a byte of `word` is `byte`.
#[inline(always)]
fn has_byte(word: u64, byte: u8) -> u64 {
    let zeroed = word ^ (ONES * u64::from(byte));
    zeroed.wrapping_sub(ONES) & !zeroed & HIGH_BITS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_json_object_passes_byte_for_byte() {
        for body in [
            "{}",
            " \t\r\n{}\n",
            r#"{"object":"whatsapp_business_account","entry":[]}"#,
            r#"{"text":{"body":"caf\u00e9 \u05e9 \"quoted\" \\"}}"#,
            "{\"raw\":\"caf\u{e9} \u{1F600} \u{7F}\"}",
        ] {
            assert!(serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(body).is_ok());
            assert_eq!(check(body.as_bytes()).map(|checked| checked.text), Ok(body), "{body}");
        }
    }

    #[test]
    fn what_is_not_an_object_is_refused() {
        for body in [
            "",
            "   ",
            "not json",
            "[]",
            "\"{}\"",
            "{",
            "}",
            "{}x",
            "x{}",
            "\u{feff}{}",
            "7",
        ] {
            assert_eq!(check(body.as_bytes()), Err(NotJsonObject::NotAnObject), "{body:?}");
        }
    }

    #[test]
    fn a_raw_control_character_anywhere_is_refused_with_its_offset() {
        assert_eq!(check(b"{\"a\":\"\x01\"}"), Err(NotJsonObject::ControlCharacter(6)));
        assert_eq!(check(b"\x0c{}"), Err(NotJsonObject::ControlCharacter(0)));
        assert_eq!(check(b"{}\x00"), Err(NotJsonObject::ControlCharacter(2)));
        // Past the first block too.
        let mut long = format!("{{\"a\":\"{}\"}}", "b".repeat(200)).into_bytes();
        long[150] = 0x1f;
        assert_eq!(check(&long), Err(NotJsonObject::ControlCharacter(150)));
        for c in 0u8..0x20 {
            // Between tokens, tab, LF and CR are whitespace and the rest is refused, as by a parser.
            let between = [b'{', c, b'}'];
            let json = serde_json::from_slice::<serde::de::IgnoredAny>(&between).is_ok();
            assert_eq!(check(&between).is_ok(), json, "byte {c:#x}");
            // In a string all of them are invalid JSON; tab, LF and CR are the worker's to refuse.
            let in_string = [b'{', b'"', b'a', b'"', b':', b'"', c, b'"', b'}'];
            assert!(serde_json::from_slice::<serde::de::IgnoredAny>(&in_string).is_err());
            assert_eq!(
                check(&in_string).is_ok(),
                matches!(c, b'\t' | b'\n' | b'\r'),
                "byte {c:#x}"
            );
        }
    }

    #[test]
    fn the_sqs_verdict_rides_along_and_a_control_after_a_noncharacter_is_still_found() {
        assert_eq!(check(b"{}").map(|checked| checked.sqs_text), Ok(true));
        assert_eq!(
            check("{\"a\":\"\u{FFFF}\"}".as_bytes()).map(|checked| checked.sqs_text),
            Ok(false)
        );
        assert_eq!(
            check("{\"a\":\"\u{FFFD}\u{EFFF}\"}".as_bytes()).map(|checked| checked.sqs_text),
            Ok(true)
        );
        assert_eq!(
            check("{\"a\":\"\u{FFFE}\u{1}\"}".as_bytes()),
            Err(NotJsonObject::ControlCharacter(9))
        );
    }

    #[test]
    fn the_word_tests_are_exact_for_every_byte_in_every_lane() {
        for byte in 0..=u8::MAX {
            for lane in 0..8 {
                // The other lanes hold a byte just above the bound, the worst case for borrows.
                let mut bytes = [0x20u8; 8];
                bytes[lane] = byte;
                let word = u64::from_ne_bytes(bytes);
                assert_eq!(has_byte_below_0x20(word) != 0, byte < 0x20, "{byte:#x} in lane {lane}");
                assert_eq!(
                    below_0x20_or_not_ascii(word) != 0,
                    !(0x20..=0x7F).contains(&byte),
                    "{byte:#x} in lane {lane}"
                );
                let mut bytes = [0x7Fu8; 8];
                bytes[lane] = byte;
                assert_eq!(
                    below_0x20_or_not_ascii(u64::from_ne_bytes(bytes)) != 0,
                    !(0x20..=0x7F).contains(&byte),
                    "{byte:#x} in lane {lane} among 0x7f"
                );
                let mut bytes = [0xEEu8; 8];
                bytes[lane] = byte;
                assert_eq!(
                    has_byte(u64::from_ne_bytes(bytes), 0xEF) != 0,
                    byte == 0xEF,
                    "{byte:#x}"
                );
            }
        }
    }

    #[test]
    fn the_scan_finds_the_first_hit_at_every_offset_around_the_blocks() {
        for len in [0usize, 1, 31, 32, 33, 64, 100, 255, 256, 257, 300, 513, 600] {
            for at in 0..len {
                let mut bytes = vec![b'a'; len];
                bytes[at] = 0x01;
                if at + 1 < len {
                    bytes[at + 1] = 0x02;
                }
                assert_eq!(first_control_character(&bytes), Some(at), "{len} {at}");
                bytes[at] = b'\t';
                let next = (at + 1 < len).then_some(at + 1);
                assert_eq!(first_control_character(&bytes), next, "{len} {at}");
            }
            assert_eq!(first_control_character(&vec![b'\n'; len]), None);
        }
    }

    #[test]
    fn non_ascii_text_is_scanned_exactly_across_the_chunks() {
        // Unescaped UTF-8 (every chunk trips the first level): Hebrew, then U+FFFE / a control later.
        let hebrew = "שלום ".repeat(100);
        for extra in [0usize, 1, 7, 8, 31, 200, 255, 256, 300] {
            let prefix = format!("{hebrew}{}", "a".repeat(extra));
            let at = prefix.len();
            assert_eq!(first_not_sqs(prefix.as_bytes()), None, "{extra}");
            assert_eq!(
                first_not_sqs(format!("{prefix}\u{FFFE}x").as_bytes()),
                Some(NotSqs::Noncharacter(at)),
                "{extra}"
            );
            assert_eq!(
                first_not_sqs(format!("{prefix}\u{1}x\u{FFFF}").as_bytes()),
                Some(NotSqs::Control(at)),
                "{extra}"
            );
            // U+FEFF and U+FFFD start with EF too, and are taken.
            assert_eq!(
                first_not_sqs(format!("{prefix}\u{FEFF}\u{FFFD}").as_bytes()),
                None,
                "{extra}"
            );
        }
    }

    #[test]
    fn bytes_that_are_not_utf8_are_refused() {
        assert_eq!(check(b"{\"a\":\"\xff\"}"), Err(NotJsonObject::NotUtf8(6)));
        // A surrogate encoded in UTF-8 (CESU-8) is not UTF-8.
        assert_eq!(check(b"{\"a\":\"\xed\xa0\x80\"}"), Err(NotJsonObject::NotUtf8(6)));
    }

    #[test]
    fn a_framed_body_that_is_still_not_json_passes_and_is_the_workers_to_refuse() {
        // Documented: the worker's full parse refuses these (a Permanent error, no write).
        for body in [r#"{"a":}"#, "{not json}", r#"{"a":"b"}{"c":"d"}"#, "{\"a\":\"\t\"}"] {
            assert!(check(body.as_bytes()).is_ok());
            assert!(serde_json::from_str::<serde::de::IgnoredAny>(body).is_err());
        }
    }
}
