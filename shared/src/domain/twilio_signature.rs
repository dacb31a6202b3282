//! Validation of Twilio's `X-Twilio-Signature` header for form-encoded (`application/x-www-form-urlencoded`)
//! webhook requests.
//!
//! Twilio signs a request as `base64(HMAC(secret, url + concat(name + value)))`, where the POST parameters
//! are sorted by name and, for a name that occurs several times, each of its values is appended, values sorted.
//! `url` is the full URL Twilio requested, including the query string.
//!
//! Which secret and which HMAC: without an `X-Twilio-Webhooks-Signature-Settings` header, the account's auth
//! token and HMAC-SHA1; with one (`key=<SharedKey sid>,algorithm=HMAC_SHA256`, sent when a Webhook Rule
//! matches the URL), the Rule's SharedKey and the algorithm it names; the signed string is the same. During a
//! rotation two auth tokens (primary and secondary) or two shared keys may be in use: [`verify_request`]
//! accepts a signature made with any configured one. An algorithm other than `HMAC_SHA1`/`HMAC_SHA256` is
//! refused.
//!
//! Like Twilio's official validators, [`verify`] accepts the signature computed over the URL as given or over the
//! same URL with the default port toggled: when the URL has no port, the scheme's default port (`:443` for
//! `https`, `:80` for `http`) is inserted; when it carries its scheme's default port, that port is removed.
//! A non-default port is never removed and other schemes get no alternative.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::secret::Secret;

type HmacSha1 = Hmac<Sha1>;
type HmacSha256 = Hmac<Sha256>;

/// The header naming the key and algorithm of a Webhook Rule's signature (lowercase, as HTTP headers compare).
pub const SETTINGS_HEADER: &str = "x-twilio-webhooks-signature-settings";

/// Why a request's signature was refused. The messages never contain a token, a key or any signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TwilioSignatureError {
    /// The `X-Twilio-Signature` header is absent or empty.
    #[error("missing X-Twilio-Signature header")]
    Missing,
    /// The header does not match the signature expected for this URL, parameters and secrets.
    #[error("X-Twilio-Signature does not match the request")]
    Mismatch,
    /// `X-Twilio-Webhooks-Signature-Settings` is not a list of `name=value` with one `algorithm`.
    #[error("X-Twilio-Webhooks-Signature-Settings is malformed")]
    MalformedSettings,
    /// `X-Twilio-Webhooks-Signature-Settings` names an algorithm this code does not implement.
    #[error("X-Twilio-Webhooks-Signature-Settings names an unsupported algorithm")]
    UnsupportedAlgorithm,
    /// The request is signed with a Webhook Rule's shared key, and none is configured.
    #[error("signed with a webhook shared key, and no TWILIO_WEBHOOK_SHARED_KEY is configured")]
    NoSharedKey,
}

/// The HMAC of a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    HmacSha1,
    HmacSha256,
}

impl Algorithm {
    /// The name in `X-Twilio-Webhooks-Signature-Settings`.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::HmacSha1 => "HMAC_SHA1",
            Algorithm::HmacSha256 => "HMAC_SHA256",
        }
    }
}

/// The secrets a request may be signed with: the auth tokens (primary, then the secondary of a rotation)
/// and the Webhook Rule shared keys (current, then the next of a rotation).
#[derive(Debug, Clone, Copy, Default)]
pub struct SigningSecrets<'a> {
    pub auth_tokens: &'a [Secret],
    pub shared_keys: &'a [Secret],
}

/// The algorithm `X-Twilio-Webhooks-Signature-Settings` names (`key=<sid>,algorithm=HMAC_SHA256`; names and
/// algorithm compared case-insensitively, spaces around items tolerated).
pub fn parse_settings(header: &str) -> Result<Algorithm, TwilioSignatureError> {
    let mut algorithm = None;
    for item in header.split(',').map(str::trim).filter(|item| !item.is_empty()) {
        let (name, value) = item.split_once('=').ok_or(TwilioSignatureError::MalformedSettings)?;
        if name.trim().eq_ignore_ascii_case("algorithm") {
            if algorithm.is_some() {
                return Err(TwilioSignatureError::MalformedSettings);
            }
            let value = value.trim();
            algorithm = Some(if value.eq_ignore_ascii_case("HMAC_SHA256") {
                Algorithm::HmacSha256
            } else if value.eq_ignore_ascii_case("HMAC_SHA1") {
                Algorithm::HmacSha1
            } else {
                return Err(TwilioSignatureError::UnsupportedAlgorithm);
            });
        }
    }
    algorithm.ok_or(TwilioSignatureError::MalformedSettings)
}

/// The string Twilio signs: `url` (exactly as given), then each parameter's name and value, sorted.
fn signed_string(url: &str, params: &[(String, String)]) -> Vec<u8> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    // Sorting (name, value) pairs sorts by name, then the values of a repeated name — Twilio's rule.
    sorted.sort();
    let length = url.len()
        + sorted
            .iter()
            .map(|(name, value)| name.len() + value.len())
            .sum::<usize>();
    let mut signed = Vec::with_capacity(length);
    signed.extend_from_slice(url.as_bytes());
    for (name, value) in sorted {
        signed.extend_from_slice(name.as_bytes());
        signed.extend_from_slice(value.as_bytes());
    }
    signed
}

/// `base64(HMAC(secret, signed))`; empty only if the HMAC could not be keyed (it takes any key length).
fn sign(algorithm: Algorithm, secret: &Secret, signed: &[u8]) -> String {
    let key = secret.expose().as_bytes();
    match algorithm {
        Algorithm::HmacSha1 => HmacSha1::new_from_slice(key)
            .map(|mac| STANDARD.encode(mac.chain_update(signed).finalize().into_bytes()))
            .unwrap_or_default(),
        Algorithm::HmacSha256 => HmacSha256::new_from_slice(key)
            .map(|mac| STANDARD.encode(mac.chain_update(signed).finalize().into_bytes()))
            .unwrap_or_default(),
    }
}

/// The base64 signature Twilio would send for `url` (exactly as given) and the POST `params` (any order),
/// signed with the auth token (HMAC-SHA1).
///
/// Returns an empty string only if the HMAC could not be keyed, which cannot happen for HMAC-SHA1
/// (any key length is valid); [`verify`] never accepts an empty signature.
pub fn expected_signature(auth_token: &Secret, url: &str, params: &[(String, String)]) -> String {
    sign(Algorithm::HmacSha1, auth_token, &signed_string(url, params))
}

/// As [`expected_signature`], with `secret` (a Webhook Rule's shared key) and `algorithm`.
pub fn expected_signature_with(
    algorithm: Algorithm,
    secret: &Secret,
    url: &str,
    params: &[(String, String)],
) -> String {
    sign(algorithm, secret, &signed_string(url, params))
}

/// Checks the `X-Twilio-Signature` header value against the request's URL and POST parameters, signed
/// with `auth_token` (HMAC-SHA1, no settings header).
pub fn verify(
    auth_token: &Secret,
    url: &str,
    params: &[(String, String)],
    header: Option<&str>,
) -> Result<(), TwilioSignatureError> {
    let secrets = SigningSecrets {
        auth_tokens: std::slice::from_ref(auth_token),
        shared_keys: &[],
    };
    verify_request(secrets, None, url, params, header)
}

/// Checks the `X-Twilio-Signature` header value (`header`) against the request's URL and POST parameters,
/// with the secrets and algorithm `settings` (the `X-Twilio-Webhooks-Signature-Settings` value) selects.
///
/// The comparison is constant-time, and every candidate (each secret, each URL form) is always checked.
pub fn verify_request(
    secrets: SigningSecrets<'_>,
    settings: Option<&str>,
    url: &str,
    params: &[(String, String)],
    header: Option<&str>,
) -> Result<(), TwilioSignatureError> {
    let header = header.map(str::trim).unwrap_or_default();
    if header.is_empty() {
        return Err(TwilioSignatureError::Missing);
    }
    let (algorithm, keys) = match settings.map(str::trim).filter(|value| !value.is_empty()) {
        None => (Algorithm::HmacSha1, secrets.auth_tokens),
        Some(settings) => {
            let algorithm = parse_settings(settings)?;
            if secrets.shared_keys.is_empty() {
                return Err(TwilioSignatureError::NoSharedKey);
            }
            (algorithm, secrets.shared_keys)
        }
    };
    let mut candidates = vec![signed_string(url, params)];
    if let Some(alternative) = url_with_default_port_toggled(url) {
        candidates.push(signed_string(&alternative, params));
    }
    let mut matched = subtle::Choice::from(0u8);
    for key in keys {
        for candidate in &candidates {
            let expected = sign(algorithm, key, candidate);
            if expected.is_empty() {
                continue;
            }
            matched |= expected.as_bytes().ct_eq(header.as_bytes());
        }
    }
    if bool::from(matched) {
        Ok(())
    } else {
        Err(TwilioSignatureError::Mismatch)
    }
}

/// The scheme's default port for the schemes Twilio calls (`http`, `https`).
fn default_port(scheme: &str) -> Option<&'static str> {
    if scheme.eq_ignore_ascii_case("https") {
        Some("443")
    } else if scheme.eq_ignore_ascii_case("http") {
        Some("80")
    } else {
        None
    }
}

/// The same URL with its default port inserted (when it has none) or removed (when it has the default one).
/// `None` when there is no such alternative (other scheme, non-default port, unparsable URL).
fn url_with_default_port_toggled(url: &str) -> Option<String> {
    let scheme_end = url.find("://")?;
    let scheme = url.get(..scheme_end)?;
    let default = default_port(scheme)?;
    let authority_start = scheme_end + 3;
    let rest = url.get(authority_start..)?;
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..authority_len)?;
    let authority_end = authority_start + authority_len;
    // The host starts after any userinfo ("user:pass@").
    let host_offset = authority.rfind('@').map_or(0, |at| at + 1);
    let host_port = authority.get(host_offset..)?;
    if host_port.is_empty() {
        return None;
    }
    // An IPv6 literal is bracketed; its colons are not a port separator.
    let search_from = if host_port.starts_with('[') {
        host_port.find(']')?
    } else {
        0
    };
    let colon = host_port.get(search_from..)?.rfind(':').map(|i| i + search_from);
    let before = url.get(..authority_end)?;
    let after = url.get(authority_end..)?;
    match colon {
        None => Some(format!("{before}:{default}{after}")),
        Some(colon) => {
            let port = host_port.get(colon + 1..)?;
            if port == default {
                let port_start = authority_start + host_offset + colon;
                Some(format!("{}{after}", url.get(..port_start)?))
            } else {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests;
