//! [`MediaLinks`] in memory: `https://media.test/<key>?ttl=<seconds>`, expiring at a fixed epoch
//! plus the ttl. Operation: `link`; any fault fails with [`LinkError::Unavailable`]. Keys outside
//! `media/` are refused as the S3 adapter refuses them.

use std::time::Duration;

use super::{Faults, Shared, Step};
use crate::domain::media::MEDIA_PREFIX;
use crate::ports::{LinkError, MediaLinks};

/// The epoch second the fake's links are signed at.
pub const SIGNED_AT: i64 = 1_800_000_000;

#[derive(Debug, Clone, Default)]
pub struct FakeMediaLinks {
    pub faults: Faults,
    linked: Shared<Vec<String>>,
}

impl FakeMediaLinks {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every key linked, in order.
    pub fn linked(&self) -> Vec<String> {
        self.linked.lock().clone()
    }
}

impl MediaLinks for FakeMediaLinks {
    async fn link(&self, key: &str, ttl: Duration) -> Result<(String, i64), LinkError> {
        if let Step::Fail(fault) = self.faults.step("link").await {
            return Err(LinkError::Unavailable(format!("injected {fault:?}")));
        }
        if !key.starts_with(MEDIA_PREFIX) {
            return Err(LinkError::NotMedia(key.to_owned()));
        }
        self.linked.lock().push(key.to_owned());
        let seconds = ttl.as_secs();
        Ok((
            format!("https://media.test/{key}?ttl={seconds}"),
            SIGNED_AT + i64::try_from(seconds).unwrap_or(i64::MAX),
        ))
    }
}
