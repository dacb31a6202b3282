//! `wabridge completions SHELL`.

use clap::CommandFactory;
use serde_json::json;
use whatsapp_bridge_cli::envelope::Done;
use whatsapp_bridge_cli::error::CliError;

use crate::args::Cli;

/// `wabridge completions SHELL`: the script on stdout (under `--json`, as the envelope's `result.script`).
pub fn completions(shell: &str, json_output: bool) -> Result<Done, CliError> {
    use clap_complete::aot::{Bash, Fish, Zsh, generate};
    let mut command = Cli::command();
    let mut script = Vec::new();
    match shell {
        "bash" => generate(Bash, &mut command, "wabridge", &mut script),
        "zsh" => generate(Zsh, &mut command, "wabridge", &mut script),
        "fish" => generate(Fish, &mut command, "wabridge", &mut script),
        other => {
            return Err(CliError::Config(format!(
                "no completions for {other}: bash, zsh or fish"
            )));
        }
    }
    let script = String::from_utf8_lossy(&script).into_owned();
    if !json_output {
        print!("{script}");
    }
    Ok(Done::ok(json!({"shell": shell, "script": script})))
}
