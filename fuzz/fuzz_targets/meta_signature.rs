//! `X-Hub-Signature-256` against the raw body, and the ingestion check (size, signature, JSON,
//! envelope): the first byte splits the input into a header and a body.
#![no_main]

use bridge::config::IngestConfig;
use bridge::domain::meta_signature::{self, SignatureError};
use bridge::domain::secret::Secret;
use bridge::handlers::meta_ingest::Ingest;
use bridge::testing::{FakeBlobStore, FakeQueue};
use libfuzzer_sys::fuzz_target;

const SECRET: &str = "fuzz-app-secret";

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let split = usize::from(split).min(rest.len());
    let (header, body) = rest.split_at(split);
    let secret = Secret::new(SECRET);

    // An arbitrary header: never a panic; accepted only if it is the body's signature.
    let verdict = meta_signature::verify(&secret, Some(header), body);
    let signed = meta_signature::sign(&secret, body);
    if verdict.is_ok() {
        let given = std::str::from_utf8(header.trim_ascii()).expect("an accepted header is ASCII");
        assert!(
            given.eq_ignore_ascii_case(&signed),
            "a header that is not the body's HMAC was accepted"
        );
    }
    // The right signature, in either case and padded, is accepted; a flipped digit never is.
    assert_eq!(meta_signature::verify(&secret, Some(signed.as_bytes()), body), Ok(()));
    let upper = format!(" {} ", signed.to_ascii_uppercase());
    assert_eq!(meta_signature::verify(&secret, Some(upper.as_bytes()), body), Ok(()));
    let mut flipped = signed.clone().into_bytes();
    let last = flipped.len() - 1;
    flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
    assert_eq!(
        meta_signature::verify(&secret, Some(&flipped), body),
        Err(SignatureError::Mismatch)
    );

    // The whole check ingestion runs before queueing: a signed JSON object is never refused; what is
    // refused is not one; what passes is UTF-8 framed as an object without raw control characters
    // (domain::json_frame), and travels inline exactly when SQS takes it.
    let ingest = Ingest::new(
        IngestConfig {
            app_secret: secret,
            queue_url: "http://127.0.0.1/queue".to_owned(),
            payload_bucket: "payloads".to_owned(),
            inline_limit: 1024,
        },
        FakeQueue::new(),
        FakeBlobStore::new("payloads"),
    );
    match ingest.check(Some(signed.as_bytes()), body, "fuzz") {
        Ok(envelope) => {
            assert_eq!(envelope.body, body, "the envelope must carry the body byte-exact");
            let text = std::str::from_utf8(body).expect("a queued body is UTF-8");
            assert!(!text.chars().any(|c| c < ' ' && !matches!(c, '\t' | '\n' | '\r')));
            let framed = text.trim_matches([' ', '\t', '\n', '\r']);
            assert!(framed.len() >= 2 && framed.starts_with('{') && framed.ends_with('}'));
            let sqs = text.chars().all(|c| {
                matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
            });
            let inline = envelope.inline_body(1024);
            assert_eq!(inline.is_some(), sqs && body.len() <= 1024);
            assert!(inline.is_none_or(|inline| inline.as_bytes() == body));
            let _ = envelope.blob_key();
        }
        Err(_) => assert!(
            serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(body).is_err(),
            "a signed JSON object was refused"
        ),
    }
    assert!(ingest.check(Some(header), body, "fuzz").is_err() || verdict.is_ok());
});
