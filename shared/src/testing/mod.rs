//! In-memory implementations of every port, for handler tests and fault injection
//! (`--features testing`; the library's own unit tests always have them).
//!
//! Each fake keeps its state behind a mutex so a test can look at it, and consults a
//! [`Faults`] plan on every call: fail the next N calls of an operation (transiently or for
//! good), or hang past the caller's deadline.

pub mod blob_store;
pub mod faults;
pub mod graph;
pub mod memory_store;
pub mod queue;

pub use blob_store::MemoryBlobs;
pub use faults::{Fault, Faults};
pub use graph::{FakeGraph, GraphAnswer};
pub use memory_store::MemoryStore;
pub use queue::MemoryQueue;
