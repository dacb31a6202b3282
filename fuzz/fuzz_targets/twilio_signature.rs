//! Twilio's `X-Twilio-Signature`: the URL handling (default ports toggled, userinfo, IPv6
//! literals, query strings), repeated and reordered parameters, and the handler's
//! `authenticate` (form body + query string + signature header) on the same bytes.
//! Input: `url \n form-body \n signature-header`.
#![no_main]

use bridge::config::{CallScript, TwilioConfig};
use bridge::domain::form;
use bridge::domain::secret::Secret;
use bridge::domain::spoken_code::CodeLanguage;
use bridge::domain::twilio_signature::{self, TwilioSignatureError};
use bridge::handlers::twilio::{self, GATHER_PATH};
use libfuzzer_sys::fuzz_target;

const TOKEN: &str = "fuzz-auth-token";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.splitn(3, '\n');
    let url = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default();
    let header = parts.next();
    let token = Secret::new(TOKEN);
    let params = form::parse(body.as_bytes()).unwrap_or_default();

    // Arbitrary header: never a panic, and accepted only if it is one of the URL's signatures.
    let verdict = twilio_signature::verify(&token, url, &params, header);
    let expected = twilio_signature::expected_signature(&token, url, &params);
    if verdict.is_ok() {
        // Accepted only because of this token: the same header never passes under another one.
        assert_eq!(
            twilio_signature::verify(&Secret::new("another-token"), url, &params, header),
            Err(TwilioSignatureError::Mismatch)
        );
        // A header other than the signature over the URL as given is accepted only as the
        // signature of its default-port twin, which exists only for http(s) URLs.
        if header.map(str::trim) != Some(expected.as_str()) {
            assert!(url.starts_with("http://") || url.starts_with("https://"));
        }
    }
    // The third line read as an `X-Twilio-Webhooks-Signature-Settings` value: never a panic, and a
    // shared-key request is never accepted with the auth token's signature.
    let shared_key = Secret::new("fuzz-shared-key");
    let secrets = twilio_signature::SigningSecrets {
        auth_tokens: std::slice::from_ref(&token),
        shared_keys: std::slice::from_ref(&shared_key),
    };
    if header.is_some_and(|settings| !settings.trim().is_empty()) {
        assert!(twilio_signature::verify_request(secrets, header, url, &params, Some(&expected)).is_err());
    }
    // The signature over the URL as given is accepted whatever the parameters' order.
    let mut reversed = params.clone();
    reversed.reverse();
    assert_eq!(
        twilio_signature::verify(&token, url, &reversed, Some(&expected)),
        Ok(())
    );
    // A different token's signature never is.
    let other = twilio_signature::expected_signature(&Secret::new("another-token"), url, &params);
    assert_eq!(
        twilio_signature::verify(&token, url, &params, Some(&other)),
        Err(TwilioSignatureError::Mismatch)
    );
    // An extra repeated parameter changes the signature.
    let mut extra = params.clone();
    extra.push(("Digits".to_owned(), "1".to_owned()));
    assert_eq!(
        twilio_signature::verify(&token, url, &extra, Some(&expected)),
        Err(TwilioSignatureError::Mismatch)
    );
    // Explicit default port ⇄ none, for a plain https host.
    if let Some(rest) = url.strip_prefix("https://") {
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let host = &rest[..end];
        if !host.is_empty() && !host.contains([':', '@', '[', ']']) {
            let with_port = format!("https://{host}:443{}", &rest[end..]);
            let signed_with_port = twilio_signature::expected_signature(&token, &with_port, &params);
            assert_eq!(
                twilio_signature::verify(&token, url, &params, Some(&signed_with_port)),
                Ok(())
            );
            assert_eq!(
                twilio_signature::verify(&token, &with_port, &params, Some(&expected)),
                Ok(())
            );
        }
    }

    // The handler: the URL is the configured origin + path + the raw query string.
    let query = url.split_once('?').map(|(_, query)| query).unwrap_or_default();
    let Ok(uri) = format!("{GATHER_PATH}?{query}").parse::<lambda_http::http::Uri>() else {
        return;
    };
    let config = TwilioConfig {
        auth_token: token.clone(),
        auth_tokens: vec![token.clone()],
        shared_keys: Vec::new(),
        public_base_url: Some("https://voice.example.com".to_owned()),
        script: CallScript {
            prompt: None,
            voice: None,
            language: "en-US".to_owned(),
            code_language: CodeLanguage::from_tag("en-US"),
            max_attempts: 3,
        },
    };
    let raw_query = uri.query().unwrap_or_default();
    let signed_url = if raw_query.is_empty() {
        format!("https://voice.example.com{GATHER_PATH}")
    } else {
        format!("https://voice.example.com{GATHER_PATH}?{raw_query}")
    };
    let signature = twilio_signature::expected_signature(&token, &signed_url, &params);
    for (signature, good) in [(signature.as_str(), true), (header.unwrap_or_default(), false)] {
        let Ok(signature_value) = lambda_http::http::HeaderValue::from_str(signature) else {
            continue;
        };
        let Ok(request) = lambda_http::http::Request::builder()
            .method("POST")
            .uri(uri.clone())
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-twilio-signature", signature_value)
            .body(lambda_http::Body::from(body.as_bytes().to_vec()))
        else {
            continue;
        };
        match twilio::authenticate(&config, &request, GATHER_PATH) {
            Ok(call) => {
                assert!(!call.call_sid.is_empty());
                assert_eq!(form::first(&params, "CallSid"), Some(call.call_sid.as_str()));
            }
            Err(_) if good => {
                // Refused though correctly signed: only when the CallSid is missing.
                assert!(form::first(&params, "CallSid").is_none_or(str::is_empty));
            }
            Err(_) => {}
        }
    }
});
