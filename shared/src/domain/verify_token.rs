//! Meta's subscription handshake: `GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`.
//!
//! This GET is not signed by Meta; it is authenticated by the verify token alone.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::secret::Secret;

/// Longest challenge echoed back. Meta sends a short integer; anything longer is not Meta.
pub const MAX_CHALLENGE_LEN: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// No `hub.*` parameter at all, or no usable challenge to echo: 400.
    #[error("hub.mode, hub.verify_token and hub.challenge are required")]
    MissingParameters,
    /// Wrong mode or wrong token: 403.
    #[error("the subscription request was refused (wrong hub.mode or hub.verify_token)")]
    Refused,
}

/// The `hub.*` query parameters as received.
#[derive(Debug, Default, Clone, Copy)]
pub struct Handshake<'a> {
    pub mode: Option<&'a str>,
    pub verify_token: Option<&'a str>,
    pub challenge: Option<&'a str>,
}

/// Returns the challenge to echo when the handshake is genuine.
pub fn accept<'a>(configured: &Secret, handshake: Handshake<'a>) -> Result<&'a str, HandshakeError> {
    let Handshake {
        mode,
        verify_token,
        challenge,
    } = handshake;
    if mode.is_none() && verify_token.is_none() && challenge.is_none() {
        return Err(HandshakeError::MissingParameters);
    }
    let token_ok = verify_token.is_some_and(|token| tokens_equal(configured.expose(), token));
    if mode != Some("subscribe") || !token_ok {
        return Err(HandshakeError::Refused);
    }
    match challenge {
        Some(challenge) if !challenge.is_empty() && challenge.len() <= MAX_CHALLENGE_LEN => Ok(challenge),
        _ => Err(HandshakeError::MissingParameters),
    }
}

/// Constant-time equality that also hides the configured token's length:
/// both sides are hashed first, then the digests compared with `subtle`.
pub fn tokens_equal(expected: &str, presented: &str) -> bool {
    let expected = Sha256::digest(expected.as_bytes());
    let presented = Sha256::digest(presented.as_bytes());
    expected.ct_eq(&presented).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> Secret {
        Secret::new("verify-me")
    }

    fn handshake<'a>(mode: Option<&'a str>, token: Option<&'a str>, challenge: Option<&'a str>) -> Handshake<'a> {
        Handshake {
            mode,
            verify_token: token,
            challenge,
        }
    }

    #[test]
    fn echoes_the_challenge_for_the_right_token() {
        let got = accept(
            &token(),
            handshake(Some("subscribe"), Some("verify-me"), Some("1158201444")),
        );
        assert_eq!(got, Ok("1158201444"));
    }

    #[test]
    fn refuses_wrong_token_or_mode() {
        let cases = [
            handshake(Some("subscribe"), Some("verify-mE"), Some("1")),
            handshake(Some("subscribe"), Some(""), Some("1")),
            handshake(Some("subscribe"), None, Some("1")),
            handshake(Some("unsubscribe"), Some("verify-me"), Some("1")),
            handshake(None, Some("verify-me"), Some("1")),
            handshake(Some("subscribe"), Some("verify-me-too"), Some("1")),
        ];
        for case in cases {
            assert_eq!(accept(&token(), case), Err(HandshakeError::Refused), "{case:?}");
        }
    }

    #[test]
    fn missing_parameters_are_a_bad_request() {
        assert_eq!(
            accept(&token(), Handshake::default()),
            Err(HandshakeError::MissingParameters)
        );
        assert_eq!(
            accept(&token(), handshake(Some("subscribe"), Some("verify-me"), None)),
            Err(HandshakeError::MissingParameters)
        );
        let long = "9".repeat(MAX_CHALLENGE_LEN + 1);
        assert_eq!(
            accept(&token(), handshake(Some("subscribe"), Some("verify-me"), Some(&long))),
            Err(HandshakeError::MissingParameters)
        );
    }

    #[test]
    fn token_comparison() {
        assert!(tokens_equal("abc", "abc"));
        assert!(!tokens_equal("abc", "abd"));
        assert!(!tokens_equal("abc", "abcd"));
        assert!(!tokens_equal("abc", ""));
    }
}
