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
    let ok = |params: &[(String, String)], url: &str, token: &Secret| verify(token, url, params, Some(DOC_SIGNATURE));

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
