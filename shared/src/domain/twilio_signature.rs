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
mod tests {
    use super::*;

    const DOC_URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
    const DOC_SIGNATURE: &str = "0/KCTR6DLpKmkAf8muzZqo1nDgQ=";

    fn token() -> Secret {
        Secret::new("12345")
    }

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn doc_params() -> Vec<(String, String)> {
        p(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ])
    }

    #[test]
    fn twilio_documented_example() {
        assert_eq!(expected_signature(&token(), DOC_URL, &doc_params()), DOC_SIGNATURE);
        assert_eq!(verify(&token(), DOC_URL, &doc_params(), Some(DOC_SIGNATURE)), Ok(()));
    }

    #[test]
    fn parameter_order_does_not_matter() {
        let mut params = doc_params();
        params.reverse();
        assert_eq!(expected_signature(&token(), DOC_URL, &params), DOC_SIGNATURE);
        params.swap(0, 3);
        assert_eq!(verify(&token(), DOC_URL, &params, Some(DOC_SIGNATURE)), Ok(()));
    }

    #[test]
    fn documented_example_with_explicit_port_is_accepted() {
        let url = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
        assert_eq!(verify(&token(), url, &doc_params(), Some(DOC_SIGNATURE)), Ok(()));
    }

    #[test]
    fn signature_over_url_with_port_accepted_for_url_without_port_and_vice_versa() {
        let with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
        let sig_with_port = expected_signature(&token(), with_port, &doc_params());
        assert_eq!(sig_with_port, "EpDEmp1PyjDYp77YxYU3GILBWzE="); // computed with Python's hmac
        assert_ne!(sig_with_port, DOC_SIGNATURE);
        assert_eq!(verify(&token(), DOC_URL, &doc_params(), Some(&sig_with_port)), Ok(()));
        assert_eq!(verify(&token(), with_port, &doc_params(), Some(DOC_SIGNATURE)), Ok(()));

        let http = "http://example.com/voice";
        let http_port = "http://example.com:80/voice";
        let sig = expected_signature(&token(), http_port, &[]);
        assert_eq!(verify(&token(), http, &[], Some(&sig)), Ok(()));
        let sig = expected_signature(&token(), http, &[]);
        assert_eq!(verify(&token(), http_port, &[], Some(&sig)), Ok(()));
    }

    #[test]
    fn non_default_port_is_not_dropped() {
        let url = "https://example.com:8443/voice";
        let sig_without = expected_signature(&token(), "https://example.com/voice", &[]);
        assert_eq!(
            verify(&token(), url, &[], Some(&sig_without)),
            Err(TwilioSignatureError::Mismatch)
        );
        let sig = expected_signature(&token(), url, &[]);
        assert_eq!(verify(&token(), url, &[], Some(&sig)), Ok(()));
    }

    #[test]
    fn port_toggling() {
        let cases = [
            ("https://a.com/x?y=1", Some("https://a.com:443/x?y=1")),
            ("https://a.com:443/x?y=1", Some("https://a.com/x?y=1")),
            ("https://a.com", Some("https://a.com:443")),
            ("https://a.com?q=1", Some("https://a.com:443?q=1")),
            ("HTTP://a.com/", Some("HTTP://a.com:80/")),
            ("http://a.com:80/", Some("http://a.com/")),
            ("http://a.com:443/", None),
            ("https://user:pw@a.com/x", Some("https://user:pw@a.com:443/x")),
            ("https://user:pw@a.com:443/x", Some("https://user:pw@a.com/x")),
            ("https://[::1]/x", Some("https://[::1]:443/x")),
            ("https://[::1]:443/x", Some("https://[::1]/x")),
            ("https://a.com/path:443", Some("https://a.com:443/path:443")),
            ("ftp://a.com/x", None),
            ("not a url", None),
            ("https://", None),
            ("https://[::1", None),
            ("", None),
        ];
        for (url, expected) in cases {
            assert_eq!(url_with_default_port_toggled(url).as_deref(), expected, "{url}");
        }
    }

    #[test]
    fn repeated_parameters_sorted_by_value() {
        let url = "https://example.com/gather";
        let a = p(&[("Digits", "9"), ("Digits", "1"), ("CallSid", "CA1")]);
        let b = p(&[("CallSid", "CA1"), ("Digits", "1"), ("Digits", "9")]);
        let sig_a = expected_signature(&token(), url, &a);
        assert_eq!(sig_a, expected_signature(&token(), url, &b));
        assert_eq!(verify(&token(), url, &b, Some(&sig_a)), Ok(()));
        // Dropping one of the repeated values changes the signature.
        let c = p(&[("CallSid", "CA1"), ("Digits", "1")]);
        assert_eq!(
            verify(&token(), url, &c, Some(&sig_a)),
            Err(TwilioSignatureError::Mismatch)
        );
    }

    #[test]
    fn independent_python_vector() {
        // python3 -c 'import hmac,hashlib,base64; s="https://example.org/voice/gather?attempt=2"+"".join(k+v for k,v
        //   in sorted(params)); print(base64.b64encode(hmac.new("s3cr3t-tøken".encode(),s.encode(),hashlib.sha1)
        //   .digest()).decode())'
        let token = Secret::new("s3cr3t-tøken");
        let url = "https://example.org/voice/gather?attempt=2";
        let params = p(&[
            ("SpeechResult", "Your code is 1 2 3 4 5 6."),
            ("Confidence", "0.92"),
            ("CallSid", "CAabc"),
            ("Digits", "9"),
            ("Digits", "12#"),
            ("AccountSid", "AC123"),
        ]);
        assert_eq!(expected_signature(&token, url, &params), "7r+WE9RItjdt1aMjKB5JwLds+DE=");
        assert_eq!(
            verify(&token, url, &params, Some("7r+WE9RItjdt1aMjKB5JwLds+DE=")),
            Ok(())
        );
        // Python's signature over the same URL with :443 is accepted too.
        assert_eq!(
            verify(&token, url, &params, Some("oXzn3twEosqf5L+cTEU3MfAsENw=")),
            Ok(())
        );
        assert_eq!(
            expected_signature(&Secret::new("tok"), "http://localhost/x", &[]),
            "2XgB0ySmYH6vI4VX5QAcw8RHuZ4="
        );
    }

    #[test]
    fn tampering_is_refused() {
        let mismatch = Err(TwilioSignatureError::Mismatch);
        let ok =
            |params: &[(String, String)], url: &str, token: &Secret| verify(token, url, params, Some(DOC_SIGNATURE));

        let mut changed = doc_params();
        changed[2].1 = "1235".to_owned();
        assert_eq!(ok(&changed, DOC_URL, &token()), mismatch);

        let mut added = doc_params();
        added.push(("Extra".to_owned(), String::new()));
        assert_eq!(ok(&added, DOC_URL, &token()), mismatch);

        let mut removed = doc_params();
        removed.pop();
        assert_eq!(ok(&removed, DOC_URL, &token()), mismatch);

        let mut renamed = doc_params();
        renamed[0].0 = "Callsid".to_owned();
        assert_eq!(ok(&renamed, DOC_URL, &token()), mismatch);

        for url in [
            "https://mycompany.com/myapp.php?foo=1&bar=3",
            "http://mycompany.com/myapp.php?foo=1&bar=2",
            "https://mycompany.com/myapp.php",
            "https://evil.com/myapp.php?foo=1&bar=2",
            "https://mycompany.com:8443/myapp.php?foo=1&bar=2",
        ] {
            assert_eq!(ok(&doc_params(), url, &token()), mismatch, "{url}");
        }

        assert_eq!(ok(&doc_params(), DOC_URL, &Secret::new("12346")), mismatch);
        assert_eq!(ok(&doc_params(), DOC_URL, &Secret::new("")), mismatch);
    }

    #[test]
    fn wrong_or_malformed_header_is_refused() {
        let mismatch = Err(TwilioSignatureError::Mismatch);
        for header in [
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ",
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ==",
            "0/kctr6dlpkmkaf8muzzqo1ndgq=",
            "x",
            "é",
        ] {
            assert_eq!(
                verify(&token(), DOC_URL, &doc_params(), Some(header)),
                mismatch,
                "{header}"
            );
        }
        // Surrounding whitespace from a header value is tolerated.
        assert_eq!(
            verify(&token(), DOC_URL, &doc_params(), Some(" 0/KCTR6DLpKmkAf8muzZqo1nDgQ= ")),
            Ok(())
        );
    }

    #[test]
    fn missing_or_empty_header_is_refused() {
        let missing = Err(TwilioSignatureError::Missing);
        assert_eq!(verify(&token(), DOC_URL, &doc_params(), None), missing);
        assert_eq!(verify(&token(), DOC_URL, &doc_params(), Some("")), missing);
        assert_eq!(verify(&token(), DOC_URL, &doc_params(), Some("   ")), missing);
    }

    const SHARED_KEY: &str = "shared-key-secret";
    const SHARED_KEY_SIGNATURE: &str = "8SN8hdML70uZUwc2JSbC8GyArzkPS3D6VPVjfK/H87Q="; // Python's hmac, SHA-256
    const NEXT_KEY_SIGNATURE: &str = "NmOMejFm9yS5JRKino8vewaei9ArQqoy+4UXDM4myv0="; // key "next-shared-key"
    const SETTINGS: &str = "key=webhooks_sharedkey_01hzz,algorithm=HMAC_SHA256";

    #[test]
    fn shared_key_signature_is_accepted_with_its_settings_header() {
        let keys = [Secret::new(SHARED_KEY)];
        let secrets = SigningSecrets {
            auth_tokens: &[token()],
            shared_keys: &keys,
        };
        assert_eq!(
            expected_signature_with(Algorithm::HmacSha256, &keys[0], DOC_URL, &doc_params()),
            SHARED_KEY_SIGNATURE
        );
        let check = |settings: Option<&str>, signature: &str| {
            verify_request(secrets, settings, DOC_URL, &doc_params(), Some(signature))
        };
        assert_eq!(check(Some(SETTINGS), SHARED_KEY_SIGNATURE), Ok(()));
        assert_eq!(
            check(Some(" algorithm=hmac_sha256 , key=x "), SHARED_KEY_SIGNATURE),
            Ok(())
        );
        // The same signature without the header: the auth token's HMAC-SHA1 is expected, not this.
        assert_eq!(check(None, SHARED_KEY_SIGNATURE), Err(TwilioSignatureError::Mismatch));
        // The auth token's signature with the header: the shared key is expected.
        assert_eq!(
            check(Some(SETTINGS), DOC_SIGNATURE),
            Err(TwilioSignatureError::Mismatch)
        );
        // The auth token is not a shared key, even with SHA-256.
        let token_sha256 = expected_signature_with(Algorithm::HmacSha256, &token(), DOC_URL, &doc_params());
        assert_eq!(token_sha256, "Rmm4Vzj+Ky7JGoWXMCsZDZuHDszLr9xvdbvitrDr4/M="); // Python's hmac
        assert_eq!(
            check(Some(SETTINGS), &token_sha256),
            Err(TwilioSignatureError::Mismatch)
        );
        // HMAC_SHA1 named in the header: the shared key with SHA-1.
        let sha1 = expected_signature_with(Algorithm::HmacSha1, &keys[0], DOC_URL, &doc_params());
        assert_eq!(check(Some("key=k,algorithm=HMAC_SHA1"), &sha1), Ok(()));
        assert_eq!(check(Some(SETTINGS), &sha1), Err(TwilioSignatureError::Mismatch));
    }

    #[test]
    fn unsupported_or_malformed_settings_are_refused() {
        let keys = [Secret::new(SHARED_KEY)];
        let secrets = SigningSecrets {
            auth_tokens: &[token()],
            shared_keys: &keys,
        };
        for (settings, error) in [
            (
                "key=k,algorithm=HMAC_SHA512",
                TwilioSignatureError::UnsupportedAlgorithm,
            ),
            ("key=k,algorithm=RSA_SHA256", TwilioSignatureError::UnsupportedAlgorithm),
            ("key=k,algorithm=", TwilioSignatureError::UnsupportedAlgorithm),
            ("key=k", TwilioSignatureError::MalformedSettings),
            ("HMAC_SHA256", TwilioSignatureError::MalformedSettings),
            (
                "algorithm=HMAC_SHA256,algorithm=HMAC_SHA1",
                TwilioSignatureError::MalformedSettings,
            ),
        ] {
            assert_eq!(
                verify_request(
                    secrets,
                    Some(settings),
                    DOC_URL,
                    &doc_params(),
                    Some(SHARED_KEY_SIGNATURE)
                ),
                Err(error),
                "{settings}"
            );
        }
        // Signed with a shared key while none is configured.
        let no_keys = SigningSecrets {
            auth_tokens: &[token()],
            shared_keys: &[],
        };
        assert_eq!(
            verify_request(
                no_keys,
                Some(SETTINGS),
                DOC_URL,
                &doc_params(),
                Some(SHARED_KEY_SIGNATURE)
            ),
            Err(TwilioSignatureError::NoSharedKey)
        );
        // A blank settings header counts as absent: the auth token's signature.
        assert_eq!(
            verify_request(no_keys, Some("  "), DOC_URL, &doc_params(), Some(DOC_SIGNATURE)),
            Ok(())
        );
    }

    #[test]
    fn either_secret_of_a_rotation_is_accepted() {
        let tokens = [Secret::new("new-token"), token()];
        let keys = [Secret::new(SHARED_KEY), Secret::new("next-shared-key")];
        let secrets = SigningSecrets {
            auth_tokens: &tokens,
            shared_keys: &keys,
        };
        let check = |settings: Option<&str>, signature: &str| {
            verify_request(secrets, settings, DOC_URL, &doc_params(), Some(signature))
        };
        // The secondary (old) auth token still signs during the rotation; the primary too.
        assert_eq!(check(None, DOC_SIGNATURE), Ok(()));
        let primary = expected_signature(&tokens[0], DOC_URL, &doc_params());
        assert_eq!(check(None, &primary), Ok(()));
        // Both shared keys.
        assert_eq!(check(Some(SETTINGS), SHARED_KEY_SIGNATURE), Ok(()));
        assert_eq!(check(Some(SETTINGS), NEXT_KEY_SIGNATURE), Ok(()));
        // A third secret is not.
        let other = expected_signature(&Secret::new("retired-token"), DOC_URL, &doc_params());
        assert_eq!(check(None, &other), Err(TwilioSignatureError::Mismatch));
        // The port alternative holds for every secret.
        let with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
        assert_eq!(
            verify_request(
                secrets,
                Some(SETTINGS),
                with_port,
                &doc_params(),
                Some(NEXT_KEY_SIGNATURE)
            ),
            Ok(())
        );
    }

    #[test]
    fn messages_leak_nothing() {
        let token = Secret::new("super-secret-token");
        let expected = expected_signature(&token, DOC_URL, &doc_params());
        for err in [
            TwilioSignatureError::Missing,
            TwilioSignatureError::Mismatch,
            TwilioSignatureError::MalformedSettings,
            TwilioSignatureError::UnsupportedAlgorithm,
            TwilioSignatureError::NoSharedKey,
        ] {
            for text in [err.to_string(), format!("{err:?}")] {
                assert!(!text.contains(token.expose()));
                assert!(!text.contains(&expected));
                assert!(!text.contains(DOC_SIGNATURE));
            }
        }
        assert!(!format!("{token:?}").contains("super-secret-token"));
    }
}
