//! [`BlobStore`] in memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::faults::{Fault, Faults};
use crate::ports::{BlobError, BlobStore};

/// Cloning shares the objects and the faults. Operations: `put`, `get`.
#[derive(Debug, Clone, Default)]
pub struct MemoryBlobs {
    bucket: String,
    objects: Arc<Mutex<HashMap<(String, String), Vec<u8>>>>,
    pub faults: Faults,
}

impl MemoryBlobs {
    pub fn new(bucket: &str) -> Self {
        Self {
            bucket: bucket.to_owned(),
            ..Self::default()
        }
    }

    pub fn objects(&self) -> MutexGuard<'_, HashMap<(String, String), Vec<u8>>> {
        self.objects.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn injected(fault: Fault) -> BlobError {
    match fault {
        Fault::Permanent => BlobError::NotFound {
            bucket: "injected".to_owned(),
            key: "injected".to_owned(),
        },
        _ => BlobError::Unavailable("injected".to_owned()),
    }
}

impl BlobStore for MemoryBlobs {
    fn bucket(&self) -> &str {
        &self.bucket
    }

    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), BlobError> {
        match self.faults.check("put").await {
            Some(Fault::AppliedThenTransient) => {
                self.objects().insert((self.bucket.clone(), key.to_owned()), bytes);
                Err(BlobError::Unavailable("injected after the write".to_owned()))
            }
            Some(fault) => Err(injected(fault)),
            None => {
                self.objects().insert((self.bucket.clone(), key.to_owned()), bytes);
                Ok(())
            }
        }
    }

    async fn get(&self, bucket: &str, key: &str) -> Result<Vec<u8>, BlobError> {
        if let Some(fault) = self.faults.check("get").await {
            return Err(injected(fault));
        }
        self.objects()
            .get(&(bucket.to_owned(), key.to_owned()))
            .cloned()
            .ok_or_else(|| BlobError::NotFound {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
            })
    }
}
