//! `wabridge`: argument parsing and printing; the work is in the library.
//!
//! - [`args`]: the command line (every command, its arguments and their help).
//! - [`commands`]: one module per command group, each reading its settings, calling the library
//!   and answering the command's result.
//! - [`render`]: the human-readable output (under `--json` the envelope is printed instead).

mod args;
mod commands;
mod render;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use whatsapp_bridge_cli::config::{self, Settings};
use whatsapp_bridge_cli::envelope::{self, Done};
use whatsapp_bridge_cli::error::{CliError, EXIT_OK, EXIT_USAGE};
use whatsapp_bridge_cli::stack;

use args::{Cli, Command};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(&error),
    };
    let json_output = cli.common.json;
    let command = cli.command.name();
    let outcome = run(cli).await;
    let exit = match &outcome {
        Ok(done) => done.exit_code(),
        Err(error) => error.exit_code(),
    };
    match outcome {
        Ok(done) if json_output => println!("{}", envelope::success(command, &done)),
        Ok(_) => {}
        Err(error) => {
            if json_output {
                println!("{}", envelope::failure(command, &error));
            }
            eprintln!("error: {error}");
        }
    }
    ExitCode::from(exit)
}

/// A command line clap refused (or `--help` / `--version`): clap's text (with its did-you-mean tip) on stderr,
/// and under `--json` the same envelope as every other error on stdout.
fn usage_error(error: &clap::Error) -> ExitCode {
    if !error.use_stderr() {
        let _ = error.print();
        return ExitCode::from(EXIT_OK);
    }
    let json_output = std::env::args_os().skip(1).any(|arg| arg == "--json");
    if json_output {
        let command = std::env::args().skip(1).find(|arg| !arg.starts_with('-'));
        let known = Cli::command();
        let command = command
            .as_deref()
            .and_then(|name| known.find_subcommand(name).map(|c| c.get_name().to_owned()));
        println!("{}", envelope::usage(command.as_deref(), &error.render().to_string()));
    }
    let _ = error.print();
    ExitCode::from(EXIT_USAGE)
}

async fn run(cli: Cli) -> Result<Done, CliError> {
    if let Command::Completions { shell } = &cli.command {
        return commands::completions(shell, cli.common.json);
    }
    let flags = config::parse_sets(&cli.common.sets)?;
    let sdk = bridge::adapters::load_sdk_config_for(cli.common.profile.as_deref(), cli.common.region.as_deref()).await;
    let stack_values = match &cli.common.stack {
        Some(name) => Some(stack::load(&sdk, name).await?),
        None => None,
    };
    let settings = Settings::from_process(flags, stack_values)?;
    let json_output = cli.common.json;
    match cli.command {
        Command::Onboard(args) => commands::onboard(&settings, &sdk, args, json_output).await,
        Command::Send(args) => commands::send(&settings, args, json_output).await,
        Command::Status(args) => commands::status(&settings, args, json_output).await,
        Command::History(args) => commands::history(&settings, args, json_output).await,
        Command::Webhook(args) => commands::webhook(&settings, args, json_output).await,
        Command::Redrive(args) => commands::redrive_command(&settings, &sdk, args, json_output).await,
        Command::Doctor => commands::doctor_command(&settings, &sdk, json_output).await,
        Command::Events(args) => commands::events_command(&settings, &sdk, args, json_output).await,
        Command::Templates { action } => commands::templates_command(&settings, action, json_output).await,
        Command::Coexistence { action } => commands::coexistence_command(&settings, &sdk, action, json_output).await,
        Command::Block(args) => commands::block(&settings, args, true, json_output).await,
        Command::Unblock(args) => commands::block(&settings, args, false, json_output).await,
        Command::Calling { action } => commands::calling_command(&settings, action, json_output).await,
        Command::Usage(args) => commands::usage_command(&settings, &sdk, args, json_output).await,
        Command::Completions { .. } => Err(CliError::Config("unreachable".to_owned())),
    }
}
