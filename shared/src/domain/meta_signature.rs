//! Meta's `X-Hub-Signature-256` check: `sha256=<hex HMAC-SHA256(app secret, raw body)>`.
//!
//! The HMAC is computed over the exact bytes received. Re-serialized JSON never
//! matches (Meta escapes unicode), so callers must pass the raw body.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::secret::Secret;

type HmacSha256 = Hmac<Sha256>;

/// Why a webhook signature was refused. Never carries the secret or the expected value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the X-Hub-Signature-256 header is missing")]
    Missing,
    #[error("the X-Hub-Signature-256 header is not of the form sha256=<64 hex digits>")]
    Malformed,
    #[error("the X-Hub-Signature-256 signature does not match the body")]
    Mismatch,
}

/// Verifies a signature header value against the raw body, in constant time.
///
/// Accepts upper- or lowercase hex and an upper- or lowercase `sha256=` prefix;
/// anything else is [`SignatureError::Malformed`].
pub fn verify(app_secret: &Secret, header: Option<&[u8]>, body: &[u8]) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let header = header.trim_ascii();
    if header.is_empty() {
        return Err(SignatureError::Missing);
    }
    let digest = parse_header(header)?;
    let mut mac = new_mac(app_secret);
    mac.update(body);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&digest).map_err(|_| SignatureError::Mismatch)
}

/// The header value Meta would send for `body`: `sha256=<lowercase hex>`.
/// Used by tests, benchmarks and the local Graph API stand-in.
pub fn sign(app_secret: &Secret, body: &[u8]) -> String {
    let mut mac = new_mac(app_secret);
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn new_mac(app_secret: &Secret) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    match HmacSha256::new_from_slice(app_secret.expose().as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    }
}

fn parse_header(header: &[u8]) -> Result<[u8; 32], SignatureError> {
    const PREFIX: &[u8] = b"sha256=";
    if header.len() != PREFIX.len() + 64 || !header[..PREFIX.len()].eq_ignore_ascii_case(PREFIX) {
        return Err(SignatureError::Malformed);
    }
    let mut digest = [0u8; 32];
    hex::decode_to_slice(&header[PREFIX.len()..], &mut digest).map_err(|_| SignatureError::Malformed)?;
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Secret {
        Secret::new("my-app-secret")
    }

    #[test]
    fn known_vector_from_an_independent_implementation() {
        // Computed with Python: hmac.new(b"my-app-secret", body, hashlib.sha256).hexdigest()
        let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
        let expected = "sha256=6181ffb07e99b650e7cd9a132e3f66127ec8827e9bab6e8df0feba5a07ea4c64";
        assert_eq!(sign(&secret(), body), expected);
        assert!(verify(&secret(), Some(expected.as_bytes()), body).is_ok());
    }

    #[test]
    fn sign_matches_rfc4231_test_case_2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?"
        let sig = sign(&Secret::new("Jefe"), b"what do ya want for nothing?");
        assert_eq!(
            sig,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(
            verify(
                &Secret::new("Jefe"),
                Some(sig.as_bytes()),
                b"what do ya want for nothing?"
            )
            .is_ok()
        );
    }

    #[test]
    fn tampered_body_is_refused() {
        let body = br#"{"entry":[{"id":"1"}]}"#;
        let sig = sign(&secret(), body);
        let tampered = br#"{"entry":[{"id":"2"}]}"#;
        assert_eq!(
            verify(&secret(), Some(sig.as_bytes()), tampered),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn reserialized_json_does_not_match() {
        // Meta escapes non-ASCII; a parse + re-serialize changes the bytes and must fail.
        let raw = br#"{"text":{"body":"caf\u00e9"}}"#;
        let sig = sign(&secret(), raw);
        let value: serde_json::Value = serde_json::from_slice(raw).expect("valid json");
        let reserialized = serde_json::to_vec(&value).expect("serializes");
        assert_ne!(raw.as_slice(), reserialized.as_slice());
        assert_eq!(
            verify(&secret(), Some(sig.as_bytes()), &reserialized),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn wrong_secret_is_refused() {
        let body = b"{}";
        let sig = sign(&Secret::new("another-secret"), body);
        assert_eq!(
            verify(&secret(), Some(sig.as_bytes()), body),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn missing_header_fails_closed() {
        assert_eq!(verify(&secret(), None, b"{}"), Err(SignatureError::Missing));
        assert_eq!(verify(&secret(), Some(b""), b"{}"), Err(SignatureError::Missing));
        assert_eq!(verify(&secret(), Some(b"   "), b"{}"), Err(SignatureError::Missing));
    }

    #[test]
    fn malformed_headers_are_refused() {
        let body = b"{}";
        let good = sign(&secret(), body);
        let hex_part = &good["sha256=".len()..];
        for bad in [
            hex_part.to_string(),                   // no prefix
            format!("sha1={hex_part}"),             // wrong algorithm
            format!("sha256={}", &hex_part[..63]),  // too short
            format!("sha256={hex_part}0"),          // too long
            format!("sha256={}g", &hex_part[..63]), // not hex
            "sha256=".to_string(),
            format!("sha256= {hex_part}"),
        ] {
            assert_eq!(
                verify(&secret(), Some(bad.as_bytes()), body),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn uppercase_hex_and_prefix_and_surrounding_space_are_accepted() {
        let body = br#"{"object":"whatsapp_business_account"}"#;
        let good = sign(&secret(), body);
        let upper = format!("sha256={}", good["sha256=".len()..].to_ascii_uppercase());
        assert!(verify(&secret(), Some(upper.as_bytes()), body).is_ok());
        let upper_prefix = good.replacen("sha256", "SHA256", 1);
        assert!(verify(&secret(), Some(upper_prefix.as_bytes()), body).is_ok());
        let padded = format!(" {good} ");
        assert!(verify(&secret(), Some(padded.as_bytes()), body).is_ok());
    }

    #[test]
    fn error_text_never_contains_the_expected_signature() {
        let body = b"{}";
        let good = sign(&secret(), body);
        let err = verify(
            &secret(),
            Some(b"sha256=0000000000000000000000000000000000000000000000000000000000000000"),
            body,
        )
        .expect_err("mismatch");
        assert!(!err.to_string().contains(&good["sha256=".len()..]));
    }
}
