//! The CLI's tests run against the local stack of the workspace's `test-support` crate; what is
//! here needs this crate: its `Settings` and its `wabridge` binary.

use std::collections::HashMap;

pub use test_support::*;
use whatsapp_bridge_cli::config::Settings;

/// The CLI's view of a [`Stack`].
pub trait CliStack {
    /// The CLI's settings for this stack: local.env plus the test's URLs (`extra` win).
    fn settings(&self, extra: &[(&str, &str)]) -> Settings;
    /// Runs the `wabridge` binary with `args` and this stack's environment (`overrides` win).
    async fn wabridge(&self, args: &[&str], overrides: &[(&str, &str)]) -> Run;
}

impl CliStack for Stack {
    fn settings(&self, extra: &[(&str, &str)]) -> Settings {
        let mut env = self.cli_env();
        env.extend(
            extra
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned())),
        );
        Settings::new(HashMap::new(), env, None).expect("settings")
    }

    async fn wabridge(&self, args: &[&str], overrides: &[(&str, &str)]) -> Run {
        self.run(env!("CARGO_BIN_EXE_wabridge"), args, overrides).await
    }
}
