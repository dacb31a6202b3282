//! The JSON check of a signed webhook at ingestion: the `json-frame` crate (its documentation says
//! what it checks and why that suffices). A crate of its own only so the release profile can build
//! this one hot pass at opt-level 3 while the functions are built at "z" (Cargo.toml).

pub use json_frame::*;
