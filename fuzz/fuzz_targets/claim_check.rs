//! The claim-check pointer (the SQS Extended Client's `PayloadS3Pointer` body) and the worker's
//! resolve of a queued body: a pointer reads its object, anything else is the payload itself.
#![no_main]

use bridge::claim_check;
use bridge::domain::envelope::S3Pointer;
use bridge::ports::BlobStore;
use bridge::testing::FakeBlobStore;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let pointer = S3Pointer::from_body(body);
    if let Some(pointer) = &pointer {
        assert_eq!(S3Pointer::from_body(&pointer.to_body()).as_ref(), Some(pointer));
    }
    let blobs = FakeBlobStore::new("payloads");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        match (&pointer, claim_check::resolve(&blobs, body).await) {
            (None, Ok(bytes)) => assert_eq!(&bytes[..], data, "a plain body must resolve to itself"),
            (None, Err(error)) => panic!("a plain body failed to resolve: {error}"),
            // Nothing stored: a pointer's object is missing.
            (Some(_), Ok(_)) => panic!("a pointer to nothing resolved"),
            (Some(pointer), Err(_)) => {
                blobs.put(&pointer.key, data.to_vec()).await.expect("the fake stores");
                if pointer.bucket == "payloads" {
                    let bytes = claim_check::resolve(&blobs, body).await.expect("the stored object");
                    assert_eq!(&bytes[..], data);
                }
            }
        }
    });
});
