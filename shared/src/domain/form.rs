//! `application/x-www-form-urlencoded` bodies (Twilio's webhooks) and query strings.

/// Longest form body accepted: Twilio's webhooks are a few kilobytes.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    #[error("the form body is larger than {MAX_FORM_BYTES} bytes")]
    TooLarge,
    #[error("the form body is not valid UTF-8 once decoded")]
    NotUtf8,
}

/// Decodes a form body into its name/value pairs, in order, repeats kept.
pub fn parse(body: &[u8]) -> Result<Vec<(String, String)>, FormError> {
    if body.len() > MAX_FORM_BYTES {
        return Err(FormError::TooLarge);
    }
    let text = std::str::from_utf8(body).map_err(|_| FormError::NotUtf8)?;
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((
                decode(name).ok_or(FormError::NotUtf8)?,
                decode(value).ok_or(FormError::NotUtf8)?,
            ))
        })
        .collect()
}

/// The first value of `name`.
pub fn first<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// Percent-decoding with `+` as a space; invalid escapes are kept as they are.
/// `None` when the decoded bytes are not UTF-8.
pub fn decode(text: &str) -> Option<String> {
    fn hex(byte: u8) -> Option<u8> {
        (byte as char).to_digit(16).and_then(|digit| u8::try_from(digit).ok())
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match bytes[i] {
            b'%' if i + 2 < bytes.len() => hex(bytes[i + 1]).zip(hex(bytes[i + 2])).map(|(hi, lo)| (hi << 4) | lo),
            _ => None,
        };
        match (escaped, bytes[i]) {
            (Some(byte), _) => {
                out.push(byte);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, byte) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Percent-encoding for a query parameter value (RFC 3986 unreserved characters kept).
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_twilio_style_bodies() {
        let pairs =
            parse(b"CallSid=CA123&From=%2B14155550123&SpeechResult=one+two+three&Digits=&Digits=5").expect("ok");
        assert_eq!(first(&pairs, "From"), Some("+14155550123"));
        assert_eq!(first(&pairs, "SpeechResult"), Some("one two three"));
        assert_eq!(pairs.iter().filter(|(k, _)| k == "Digits").count(), 2);
        assert_eq!(first(&pairs, "Missing"), None);
    }

    #[test]
    fn decoding_edge_cases() {
        assert_eq!(decode("a+b%20c%2B").as_deref(), Some("a b c+"));
        assert_eq!(decode("100%").as_deref(), Some("100%"));
        assert_eq!(decode("%zz").as_deref(), Some("%zz"));
        assert_eq!(decode("%é%4").as_deref(), Some("%é%4"));
        assert_eq!(decode("%e2%9c%93").as_deref(), Some("✓"));
        assert_eq!(decode("%ff"), None);
    }

    #[test]
    fn rejects_oversized_and_non_utf8_bodies() {
        assert_eq!(parse(&vec![b'a'; MAX_FORM_BYTES + 1]), Err(FormError::TooLarge));
        assert_eq!(parse(b"a=\xff"), Err(FormError::NotUtf8));
        assert_eq!(parse(b"a=%ff"), Err(FormError::NotUtf8));
        assert_eq!(parse(b""), Ok(vec![]));
    }

    #[test]
    fn encode_round_trips() {
        for text in ["https://x.example/a?b=1&c=2", "a b+c", "שלום", "~._-"] {
            assert_eq!(decode(&encode(text)).as_deref(), Some(text));
        }
    }
}
