//! In-memory implementations of every port, for handler tests and fault injection
//! (`--features testing`; the library's own unit tests always have them).
//!
//! Each fake keeps its state behind a mutex so a test can look at it, and consults a
//! [`Faults`] plan on every call: fail the next N calls of an operation (transiently or for
//! good), or hang past the caller's deadline. Clones share state and plan, so a test keeps
//! one clone and hands the other to the handler.

pub mod blobs;
pub mod blocklist;
pub mod contract;
pub mod events;
pub mod faults;
pub mod graph;
pub mod mailer;
pub mod media;
pub mod media_links;
pub mod memory_store;
pub mod queue;
pub mod schema;
pub mod send_sim;
pub mod templates;
pub mod verification_store;

pub use blobs::FakeBlobStore;
pub use blocklist::FakeBlocklist;
pub use events::FakeEventBus;
pub use faults::{Fault, Faults, Step};
pub use graph::{FakeGraph, FakeMedia, GraphAnswer};
pub use mailer::FakeMailer;
pub use media::FakeUploader;
pub use media_links::FakeMediaLinks;
pub use memory_store::MemoryStore;
pub use queue::FakeQueue;
pub use templates::FakeTemplates;
pub use verification_store::FakeVerificationStore;

use std::sync::{Arc, Mutex, MutexGuard};

/// A fake's state, shared by its clones.
#[derive(Debug, Default)]
pub struct Shared<T>(Arc<Mutex<T>>);

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T> Shared<T> {
    /// The state; a test thread that panicked holding it must not hide it from the others.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
