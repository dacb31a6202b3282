//! [`MediaUploader`] in memory: objects of the payload bucket, every upload it took, and an
//! answer to give instead of a media id.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::ports::{MediaFailure, MediaUploader, StoredObject, UploadSource};

/// One upload the fake took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub from: String,
    pub mime: String,
    pub size: u64,
    pub source: UploadSource,
}

#[derive(Debug, Default)]
pub struct MediaState {
    /// The payload bucket: key → (content type, bytes).
    pub objects: HashMap<String, (Option<String>, Vec<u8>)>,
    pub uploads: Vec<Upload>,
    /// The next upload fails with this instead of answering a media id.
    pub fail_next: Option<fn() -> MediaFailure>,
    /// Every bucket read fails (S3 unavailable).
    pub bucket_down: bool,
}

/// Cloning shares the state.
#[derive(Debug, Clone, Default)]
pub struct FakeUploader {
    state: Arc<Mutex<MediaState>>,
}

impl FakeUploader {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn state(&self) -> MutexGuard<'_, MediaState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn put(&self, key: &str, content_type: Option<&str>, bytes: Vec<u8>) {
        self.state()
            .objects
            .insert(key.to_owned(), (content_type.map(str::to_owned), bytes));
    }
}

impl MediaUploader for FakeUploader {
    async fn object(&self, key: &str) -> Result<Option<StoredObject>, MediaFailure> {
        let state = self.state();
        if state.bucket_down {
            return Err(MediaFailure::Unavailable("S3 timed out".to_owned()));
        }
        Ok(state.objects.get(key).map(|(content_type, bytes)| StoredObject {
            size: bytes.len() as u64,
            content_type: content_type.clone(),
            head: bytes[..bytes.len().min(crate::domain::media_upload::HEAD_BYTES)].to_vec(),
        }))
    }

    async fn upload(&self, from: &str, mime: &str, size: u64, source: UploadSource) -> Result<String, MediaFailure> {
        let mut state = self.state();
        if let Some(failure) = state.fail_next.take() {
            return Err(failure());
        }
        state.uploads.push(Upload {
            from: from.to_owned(),
            mime: mime.to_owned(),
            size,
            source,
        });
        Ok(format!("77{:014}", state.uploads.len()))
    }
}
