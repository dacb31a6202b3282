//! Cold-start benchmark support: a minimal Lambda Runtime API emulator, the Lambda
//! environment a function is started in, one cold start measured end to end, and the
//! statistics and package sizes the benchmark reports.
//!
//! The benchmark itself is `benches/cold_start.rs` (`cargo bench -p cold-start-bench`).

pub mod emulator;
pub mod env_file;
pub mod package;
pub mod probe;
pub mod run;
pub mod stats;
