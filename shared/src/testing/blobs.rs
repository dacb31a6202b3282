//! [`BlobStore`] in memory. Operations: `put`, `get`. `Transient` fails with
//! [`BlobError::Unavailable`], `Permanent` with [`BlobError::NotFound`] (the port's only
//! error a retry cannot fix).

use std::collections::BTreeMap;

use super::{Faults, Shared, Step};
use crate::ports::{BlobError, BlobStore, ByteChunks, MediaError, MediaSink};

#[derive(Debug, Clone, Default)]
pub struct FakeBlobStore {
    pub faults: Faults,
    bucket: String,
    /// `(bucket, key)` → bytes.
    objects: Shared<BTreeMap<(String, String), Vec<u8>>>,
    /// Key → content type, of the objects streamed in by `put_stream`.
    content_types: Shared<BTreeMap<String, String>>,
}

impl FakeBlobStore {
    /// A store whose new objects go to `bucket`.
    pub fn new(bucket: impl Into<String>) -> Self {
        Self {
            bucket: bucket.into(),
            ..Self::default()
        }
    }

    /// Every stored object: `(bucket, key)` → bytes.
    pub fn objects(&self) -> BTreeMap<(String, String), Vec<u8>> {
        self.objects.lock().clone()
    }

    /// The content type `put_stream` gave `key`.
    pub fn content_type(&self, key: &str) -> Option<String> {
        self.content_types.lock().get(key).cloned()
    }

    fn error(&self, step: Step, bucket: &str, key: &str) -> Option<BlobError> {
        match step {
            Step::Apply => None,
            Step::Fail(super::Fault::Permanent) => Some(BlobError::NotFound {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
            }),
            Step::Fail(fault) => Some(BlobError::Unavailable(format!("injected {fault:?}"))),
            Step::ApplyThenFail => Some(BlobError::Unavailable("injected: the answer was lost".to_owned())),
        }
    }
}

impl BlobStore for FakeBlobStore {
    fn bucket(&self) -> &str {
        &self.bucket
    }

    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), BlobError> {
        let step = self.faults.step("put").await;
        if !matches!(step, Step::Fail(_)) {
            self.objects.lock().insert((self.bucket.clone(), key.to_owned()), bytes);
        }
        self.error(step, &self.bucket, key).map_or(Ok(()), Err)
    }

    async fn get(&self, bucket: &str, key: &str) -> Result<Vec<u8>, BlobError> {
        let step = self.faults.step("get").await;
        if let Some(error) = self.error(step, bucket, key) {
            return Err(error);
        }
        self.objects
            .lock()
            .get(&(bucket.to_owned(), key.to_owned()))
            .cloned()
            .ok_or_else(|| BlobError::NotFound {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
            })
    }
}

/// As S3: the object exists only if the whole declared length arrived and the body ended cleanly.
/// Operation `put_stream`: `Transient`/`Permanent` fail before reading anything.
impl MediaSink for FakeBlobStore {
    fn media_bucket(&self) -> &str {
        &self.bucket
    }

    async fn put_stream(
        &self,
        key: &str,
        content_type: &str,
        length: u64,
        mut chunks: ByteChunks,
    ) -> Result<(), MediaError> {
        use futures_util::StreamExt as _;
        if let Step::Fail(fault) = self.faults.step("put_stream").await {
            return Err(MediaError::Unavailable(format!("injected {fault:?}")));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = chunks.next().await {
            bytes.extend_from_slice(&chunk?);
        }
        if bytes.len() as u64 != length {
            return Err(MediaError::Unavailable(format!(
                "IncompleteBody: {} of {length} bytes",
                bytes.len()
            )));
        }
        self.objects.lock().insert((self.bucket.clone(), key.to_owned()), bytes);
        self.content_types
            .lock()
            .insert(key.to_owned(), content_type.to_owned());
        Ok(())
    }
}
