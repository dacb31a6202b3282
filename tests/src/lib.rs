//! The integration tests' harness is the workspace's `test-support` crate, re-exported here so the
//! tests and the bench keep `use integration_tests::…`.

pub use test_support::*;
