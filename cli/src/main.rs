//! `wabridge`: argument parsing and printing; the work is in the library.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use bridge::adapters::dynamodb::DynamoMessageStore;
use clap::{Args, CommandFactory, Parser, Subcommand};
use serde_json::{Value, json};
use whatsapp_bridge_cli::config::{self, Settings};
use whatsapp_bridge_cli::doctor::{self, Outcome};
use whatsapp_bridge_cli::envelope::{self, Done};
use whatsapp_bridge_cli::error::{CliError, EXIT_OK, EXIT_USAGE};
use whatsapp_bridge_cli::graph::Graph;
use whatsapp_bridge_cli::onboarding::{self, OnboardOptions, Progress};
use whatsapp_bridge_cli::progress::Spinner;
use whatsapp_bridge_cli::send::{SendApi, message_body};
use whatsapp_bridge_cli::webhook_signing::{self, EventBody};
use whatsapp_bridge_cli::{redrive, stack, templates};

const EXIT_CODES: &str = "Exit codes: 0 done (doctor: every check passed), 1 an operation or check failed, \
2 usage or configuration error (nothing changed), 3 timed out waiting.\n\
Configuration: flags (--set NAME=VALUE) > environment variables (the names of local.env) > the outputs and \
SSM secrets of --stack NAME > defaults. Secrets (WHATSAPP_ACCESS_TOKEN, WHATSAPP_APP_SECRET, WHATSAPP_VERIFY_TOKEN, \
API_KEY, TWILIO_AUTH_TOKEN, WHATSAPP_REGISTRATION_PIN) come only from the environment or SSM and are never printed.";

/// The command-line companion of the WhatsApp ↔ AWS bridge.
#[derive(Parser)]
#[command(name = "wabridge", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct Common {
    /// Read settings from this CloudFormation stack's outputs (and its secrets from SSM).
    #[arg(long, global = true, value_name = "NAME")]
    stack: Option<String>,
    /// Print one JSON document on stdout, the same envelope for every command and error:
    /// {"ok", "command", "exit_code", "result", "error": null or {"kind", "message"}}.
    #[arg(long, global = true)]
    json: bool,
    /// The AWS profile (shared config and credentials files) for every AWS call, as the AWS CLI's --profile.
    #[arg(long, global = true, value_name = "NAME")]
    profile: Option<String>,
    /// The AWS region for every AWS call (default: the environment's or the profile's).
    #[arg(long, global = true, value_name = "REGION")]
    region: Option<String>,
    /// A non-secret setting, by its environment variable name (repeatable): --set TABLE_NAME=my-table.
    #[arg(long = "set", global = true, value_name = "NAME=VALUE")]
    sets: Vec<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Register a number by voice: request_code (VOICE), wait for the code the Twilio functions capture, verify_code, register.
    #[command(after_help = EXIT_CODES)]
    Onboard(OnboardArgs),
    /// Send a message through the deployed send API and follow its status.
    #[command(after_help = EXIT_CODES)]
    Send(SendArgs),
    /// Show (or follow) a message's status, by message id or wamid.
    #[command(after_help = EXIT_CODES)]
    Status(StatusArgs),
    /// The conversation with a contact (phone number or business-scoped user id), both directions, newest first.
    #[command(after_help = EXIT_CODES)]
    History(HistoryArgs),
    /// POST a correctly signed Meta webhook (or Twilio request) and show the answer.
    #[command(after_help = EXIT_CODES)]
    Webhook(WebhookArgs),
    /// Move messages from the dead-letter queue back to the queue (--dry-run lists them).
    #[command(after_help = EXIT_CODES)]
    Redrive(RedriveArgs),
    /// Check a deployment end to end: token, phone number, subscription, callback, SES, Twilio, alarms.
    #[command(after_help = EXIT_CODES)]
    Doctor,
    /// Print the bundle's EventBridge events from the tap queue (EVENTS_TAP_QUEUE_URL); --follow waits for more.
    #[command(after_help = EXIT_CODES)]
    Events(EventsArgs),
    /// The WABA's message templates (WHATSAPP_BUSINESS_ACCOUNT_ID): `list`, or `show <name>` (every language).
    #[command(after_help = EXIT_CODES)]
    Templates {
        #[command(subcommand)]
        action: TemplatesAction,
    },
    /// Print a shell completion script: `wabridge completions bash > /etc/bash_completion.d/wabridge`,
    /// `wabridge completions zsh > "${fpath[1]}/_wabridge"`, `wabridge completions fish > ~/.config/fish/completions/wabridge.fish`.
    Completions {
        #[arg(value_parser = ["bash", "zsh", "fish"])]
        shell: String,
    },
}

#[derive(Subcommand)]
enum TemplatesAction {
    /// Every template: name, language, status, category and the parameters each component takes.
    List,
    /// One template by name, in every language, in Meta's shape.
    Show { name: String },
}

impl Command {
    fn name(&self) -> &'static str {
        match self {
            Command::Onboard(_) => "onboard",
            Command::Send(_) => "send",
            Command::Status(_) => "status",
            Command::History(_) => "history",
            Command::Webhook(_) => "webhook",
            Command::Redrive(_) => "redrive",
            Command::Doctor => "doctor",
            Command::Events(_) => "events",
            Command::Templates { .. } => "templates",
            Command::Completions { .. } => "completions",
        }
    }
}

#[derive(Args)]
struct EventsArgs {
    /// Keep waiting for events (until interrupted) instead of stopping when the tap is empty.
    #[arg(long)]
    follow: bool,
}

#[derive(Args)]
struct OnboardArgs {
    /// The locale Meta's robot reads the code in (one of Meta's: en_US, pt_BR, es, es_MX, …); it must be the
    /// language the Twilio functions listen in (VOICE_LANGUAGE; the stack's VoiceLanguage). Default: that
    /// language, else en_US.
    #[arg(long, value_name = "LOCALE")]
    language: Option<String>,
    /// Seconds to wait for the captured code.
    #[arg(long, default_value_t = 180)]
    wait: u64,
    /// Request a new call even if a recent captured code is unused.
    #[arg(long)]
    new_code: bool,
    /// Submit this code (from the verification email) instead of waiting for one.
    #[arg(long, value_name = "NNNNNN")]
    code: Option<String>,
}

#[derive(Args)]
struct SendArgs {
    /// Recipient (international, or national with the deployment's DEFAULT_COUNTRY_CODE).
    #[arg(long)]
    to: Option<String>,
    /// A text message.
    #[arg(long, conflicts_with_all = ["template", "body"])]
    text: Option<String>,
    /// A template message (approved template name).
    #[arg(long, conflicts_with = "body")]
    template: Option<String>,
    /// Template language.
    #[arg(long, default_value = "en_US")]
    language: String,
    /// A file with the send API's JSON body (any message type).
    #[arg(long, value_name = "FILE")]
    body: Option<PathBuf>,
    /// Idempotency-Key header (retrying with the same key never sends twice).
    #[arg(long)]
    idempotency_key: Option<String>,
    #[command(flatten)]
    follow: FollowArgs,
    /// Return once queued.
    #[arg(long)]
    no_follow: bool,
}

#[derive(Args)]
struct FollowArgs {
    /// Follow until this status (or failed): sent, delivered or read.
    #[arg(long, default_value = "read", value_parser = ["accepted", "sent", "delivered", "read"])]
    until: String,
    /// Seconds to follow before giving up (exit 3).
    #[arg(long, default_value_t = 60)]
    timeout: u64,
}

#[derive(Args)]
struct StatusArgs {
    /// Message id (msg_…) or wamid.
    id: String,
    /// Follow until --until (or failed).
    #[arg(long)]
    follow: bool,
    #[command(flatten)]
    until: FollowArgs,
}

#[derive(Args)]
struct HistoryArgs {
    /// The contact: a phone number (normalized as sends are) or a business-scoped user id (US.1349…).
    contact: String,
    /// Messages per page (1 to 100).
    #[arg(long, default_value_t = 20)]
    limit: u32,
    /// Start after this page (the previous answer's next_cursor).
    #[arg(long, value_name = "CURSOR")]
    cursor: Option<String>,
    /// Follow every next_cursor to the end of the conversation (at most 10,000 messages).
    #[arg(long)]
    all: bool,
}

#[derive(Args)]
struct WebhookArgs {
    /// Where to POST; default: the callback URL (Meta) or PUBLIC_BASE_URL + the event's path (Twilio).
    #[arg(long)]
    url: Option<String>,
    /// An events/ file (API Gateway event) or a webhook payload file.
    #[arg(long, value_name = "FILE", conflicts_with = "text")]
    event: Option<PathBuf>,
    /// A text message from --from to the configured number.
    #[arg(long)]
    text: Option<String>,
    /// Sender of --text.
    #[arg(long, default_value = "15550001111")]
    from: String,
    /// Print the request (signature included) instead of sending it.
    #[arg(long)]
    print: bool,
}

#[derive(Args)]
struct RedriveArgs {
    /// List the dead letters, move nothing.
    #[arg(long)]
    dry_run: bool,
    /// At most this many messages.
    #[arg(long, default_value_t = 100)]
    limit: usize,
}

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
        return completions(shell, cli.common.json);
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
        Command::Onboard(args) => onboard(&settings, &sdk, args, json_output).await,
        Command::Send(args) => send(&settings, args, json_output).await,
        Command::Status(args) => status(&settings, args, json_output).await,
        Command::History(args) => history(&settings, args, json_output).await,
        Command::Webhook(args) => webhook(&settings, args, json_output).await,
        Command::Redrive(args) => redrive_command(&settings, &sdk, args, json_output).await,
        Command::Doctor => doctor_command(&settings, &sdk, json_output).await,
        Command::Events(args) => events_command(&settings, &sdk, args, json_output).await,
        Command::Templates { action } => templates_command(&settings, action, json_output).await,
        Command::Completions { .. } => Err(CliError::Config("unreachable".to_owned())),
    }
}

/// `wabridge completions SHELL`: the script on stdout (under `--json`, as the envelope's `result.script`).
fn completions(shell: &str, json_output: bool) -> Result<Done, CliError> {
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

async fn onboard(
    settings: &Settings,
    sdk: &aws_config::SdkConfig,
    args: OnboardArgs,
    json_output: bool,
) -> Result<Done, CliError> {
    let graph = Graph::new(
        &settings.require(config::GRAPH_API_BASE_URL)?,
        &settings.require(config::GRAPH_API_VERSION)?,
        settings.require_secret(config::ACCESS_TOKEN)?,
    )?;
    let phone_number_id = settings.require(config::PHONE_NUMBER_ID)?;
    let pin = settings.require_secret(config::REGISTRATION_PIN)?;
    let store = DynamoMessageStore::new(
        aws_sdk_dynamodb::Client::new(sdk),
        settings.require(config::TABLE_NAME)?,
        0,
    );
    let language = onboarding::call_language(
        args.language.as_deref(),
        settings.get(config::VOICE_LANGUAGE).as_deref(),
    )?;
    let options = OnboardOptions {
        language,
        wait: Duration::from_secs(args.wait),
        new_code: args.new_code,
        number: settings.get(config::TWILIO_PHONE_NUMBER),
        code: args.code,
        ..OnboardOptions::default()
    };
    let spinner = Spinner::stderr("reading the phone number");
    let mut last_step = String::new();
    let report = onboarding::onboard(&graph, &store, &phone_number_id, &pin, &options, &mut |p| match p {
        Progress::Step(text) => {
            if !last_step.is_empty() {
                spinner.println(&last_step);
            }
            spinner.set(text.clone());
            last_step = text;
        }
        Progress::Waiting { limit, .. } => {
            spinner.set(format!(
                "waiting for the code Meta's robot reads (up to {}s)",
                limit.as_secs()
            ));
        }
    })
    .await;
    spinner.finish();
    let report = report?;
    if !json_output {
        for step in &report.steps {
            println!("{:<13} {:<8} {}", step.step, step.outcome, step.detail);
        }
        println!(
            "{} ({}) is registered with the WhatsApp Cloud API.",
            report.number, report.phone_number_id
        );
    }
    Ok(Done::ok(report.to_json()))
}

fn send_api(settings: &Settings) -> Result<SendApi, CliError> {
    SendApi::new(
        &settings.require(config::SEND_API_URL)?,
        settings.require_secret(config::API_KEY)?,
    )
}

fn print_status(view: &Value) {
    let field = |n: &str| view.get(n).and_then(Value::as_str).unwrap_or("-").to_owned();
    println!(
        "id      {}\nwamid   {}\nto      {}\nstatus  {}",
        field("id"),
        field("wamid"),
        field("to"),
        field("status")
    );
    if let Some(errors) = view.get("errors").and_then(Value::as_array).filter(|e| !e.is_empty()) {
        for error in errors {
            println!("error   {}", error);
        }
    }
}

async fn follow_and_print(api: &SendApi, id: &str, until: &FollowArgs, json_output: bool) -> Result<Done, CliError> {
    let view = api
        .follow(
            id,
            &until.until,
            Duration::from_secs(until.timeout),
            Duration::from_millis(500),
            &mut |status| {
                eprintln!("• {status}");
            },
        )
        .await?;
    let failed = view.get("status").and_then(Value::as_str) == Some("failed");
    if !json_output {
        print_status(&view);
    }
    let result = json!({"message": view});
    Ok(if failed {
        Done::failed(result, format!("the message {id} failed"))
    } else {
        Done::ok(result)
    })
}

async fn send(settings: &Settings, args: SendArgs, json_output: bool) -> Result<Done, CliError> {
    let body = match &args.body {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::Config(format!("cannot read {}: {e}", path.display())))?;
            serde_json::from_str(&text).map_err(|e| CliError::Config(format!("{} is not JSON: {e}", path.display())))?
        }
        None => {
            let to = args
                .to
                .as_deref()
                .ok_or_else(|| CliError::Config("--to is required (or --body FILE)".to_owned()))?;
            message_body(to, args.text.as_deref(), args.template.as_deref(), &args.language)?
        }
    };
    let api = send_api(settings)?;
    let queued = api.send(&body, args.idempotency_key.as_deref()).await?;
    let id = queued.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
    if args.no_follow {
        if !json_output {
            print_status(&queued);
        }
        return Ok(Done::ok(json!({"message": queued})));
    }
    eprintln!("• queued as {id}");
    follow_and_print(&api, &id, &args.follow, json_output).await
}

async fn status(settings: &Settings, args: StatusArgs, json_output: bool) -> Result<Done, CliError> {
    let api = send_api(settings)?;
    if args.follow {
        return follow_and_print(&api, &args.id, &args.until, json_output).await;
    }
    let view = api.status(&args.id).await?;
    if !json_output {
        print_status(&view);
    }
    Ok(Done::ok(json!({"message": view})))
}

async fn history(settings: &Settings, args: HistoryArgs, json_output: bool) -> Result<Done, CliError> {
    let api = send_api(settings)?;
    let mut messages = Vec::new();
    let mut cursor = args.cursor.clone();
    let (contact, next_cursor) = loop {
        let page = api.history(&args.contact, args.limit, cursor.as_deref()).await?;
        let listed = page
            .get("messages")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if !json_output {
            for entry in &listed {
                print_entry(entry);
            }
        }
        messages.extend(listed);
        let next = page.get("next_cursor").and_then(Value::as_str).map(str::to_owned);
        let contact = page.get("contact").cloned().unwrap_or(Value::Null);
        match next {
            Some(next) if args.all && messages.len() < 10_000 => cursor = Some(next),
            next => break (contact, next),
        }
    };
    if !json_output && let Some(next) = &next_cursor {
        eprintln!("• more: --cursor {next}");
    }
    Ok(Done::ok(
        json!({"contact": contact, "messages": messages, "next_cursor": next_cursor}),
    ))
}

/// One conversation entry on one line: time, direction, type, status, what it says, its media link.
fn print_entry(entry: &Value) {
    let field = |n: &str| entry.get(n).and_then(Value::as_str).unwrap_or("-").to_owned();
    let arrow = if field("direction") == "inbound" { "<-" } else { "->" };
    let content = entry.get("content").cloned().unwrap_or(Value::Null);
    let said = ["body", "caption", "reply_title", "emoji", "name", "filename"]
        .iter()
        .find_map(|name| content.get(*name).and_then(Value::as_str))
        .unwrap_or("");
    let link = entry
        .pointer("/media/url")
        .and_then(Value::as_str)
        .map(|url| format!("  {url}"))
        .unwrap_or_default();
    println!(
        "{}  {arrow} {:<11} {:<10} {said}{link}",
        field("timestamp"),
        field("type"),
        field("status")
    );
}

async fn webhook(settings: &Settings, args: WebhookArgs, json_output: bool) -> Result<Done, CliError> {
    let body = match (&args.event, &args.text) {
        (Some(path), None) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::Config(format!("cannot read {}: {e}", path.display())))?;
            webhook_signing::event_body(&text)?
        }
        (None, Some(text)) => {
            let id = settings.require(config::PHONE_NUMBER_ID)?;
            EventBody::Meta(webhook_signing::text_message(&id, "15550783881", &args.from, text))
        }
        _ => return Err(CliError::Config("give --event FILE or --text TEXT".to_owned())),
    };
    let request = match body {
        EventBody::Meta(body) => {
            let url = match args.url {
                Some(url) => url,
                None => settings.require(config::CALLBACK_URL)?,
            };
            webhook_signing::meta_webhook(&url, &settings.require_secret(config::APP_SECRET)?, body)
        }
        EventBody::Twilio { path_and_query, params } => {
            let url = match args.url {
                Some(url) => url,
                None => format!(
                    "{}{path_and_query}",
                    settings.require(config::PUBLIC_BASE_URL)?.trim_end_matches('/')
                ),
            };
            webhook_signing::twilio_webhook(&url, &settings.require_secret(config::TWILIO_AUTH_TOKEN)?, &params)
        }
    };
    if args.print {
        // Signatures are HMACs: they do not reveal the key.
        let headers: HashMap<&str, &str> = request.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let result = json!({"url": request.url, "headers": headers, "body": String::from_utf8_lossy(&request.body)});
        if !json_output {
            println!("POST {}", request.url);
            for (name, value) in &request.headers {
                println!("{name}: {value}");
            }
            println!("\n{}", String::from_utf8_lossy(&request.body));
        }
        return Ok(Done::ok(result));
    }
    let answer = webhook_signing::post(&request).await?;
    let ok = (200..300).contains(&answer.status);
    if !json_output {
        println!("POST {} → HTTP {}\n{}", request.url, answer.status, answer.body);
    }
    let result =
        json!({"url": request.url, "status": answer.status, "content_type": answer.content_type, "body": answer.body});
    Ok(if ok {
        Done::ok(result)
    } else {
        Done::failed(result, format!("{} answered HTTP {}", request.url, answer.status))
    })
}

async fn redrive_command(
    settings: &Settings,
    sdk: &aws_config::SdkConfig,
    args: RedriveArgs,
    json_output: bool,
) -> Result<Done, CliError> {
    let queue_url = settings.require(config::QUEUE_URL)?;
    let dlq_url = match settings.get(config::DEAD_LETTER_QUEUE_URL) {
        Some(url) => url,
        // The local stack (and the template) name the dead-letter queue after the queue.
        None => format!("{queue_url}-dlq"),
    };
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let spinner = Spinner::stderr(if args.dry_run {
        format!("reading {dlq_url}")
    } else {
        format!("moving {dlq_url} to {queue_url}")
    });
    let report = redrive::redrive(&sqs, &dlq_url, &queue_url, args.dry_run, args.limit).await;
    spinner.finish();
    let report = report?;
    let result = json!({"dry_run": report.dry_run, "dead_letter_queue": dlq_url, "queue": queue_url,
        "messages": report.messages.iter().map(|m| m.to_json()).collect::<Vec<_>>(), "moved": report.moved, "failed": report.failed});
    if !json_output {
        for message in &report.messages {
            println!(
                "{}  receives {}  {} bytes  {}  {}",
                message.message_id,
                message.receive_count.as_deref().unwrap_or("?"),
                message.bytes,
                message.kind.as_deref().unwrap_or("-"),
                message.preview
            );
        }
        if report.dry_run {
            println!(
                "{} message(s) in {dlq_url}; nothing moved (dry run)",
                report.messages.len()
            );
        } else {
            println!("moved {} message(s) from {dlq_url} to {queue_url}", report.moved);
        }
        for failure in &report.failed {
            eprintln!("not moved: {failure}");
        }
    }
    Ok(if report.failed.is_empty() {
        Done::ok(result)
    } else {
        Done::failed(result, format!("{} message(s) not moved", report.failed.len()))
    })
}

async fn templates_command(settings: &Settings, action: TemplatesAction, json_output: bool) -> Result<Done, CliError> {
    let graph = Graph::new(
        &settings.require(config::GRAPH_API_BASE_URL)?,
        &settings.require(config::GRAPH_API_VERSION)?,
        settings.require_secret(config::ACCESS_TOKEN)?,
    )?;
    let waba_id = settings.require(config::BUSINESS_ACCOUNT_ID)?;
    let name = match &action {
        TemplatesAction::List => None,
        TemplatesAction::Show { name } => Some(name.as_str()),
    };
    let found = templates::fetch(&graph, &waba_id, name).await?;
    if let (Some(name), true) = (name, found.is_empty()) {
        return Err(CliError::Failed(format!(
            "WABA {waba_id} has no template named {name:?}"
        )));
    }
    if !json_output {
        match action {
            TemplatesAction::List => print!("{}", templates::table(&found)),
            TemplatesAction::Show { .. } => {
                println!("{}", serde_json::to_string_pretty(&found).unwrap_or_default());
            }
        }
    }
    Ok(Done::ok(templates::result(&found)))
}

async fn doctor_command(settings: &Settings, sdk: &aws_config::SdkConfig, json_output: bool) -> Result<Done, CliError> {
    let spinner = Spinner::stderr("checking the token, the number, the webhook, SES, Twilio and the alarms");
    let checks = doctor::run(settings, sdk).await;
    spinner.finish();
    let failed = checks.iter().filter(|c| c.outcome == Outcome::Fail).count();
    let result = json!({"checks": checks.iter().map(doctor::Check::to_json).collect::<Vec<_>>()});
    if !json_output {
        println!("{:<22} {:<6} DETAIL", "CHECK", "RESULT");
        for check in &checks {
            println!("{:<22} {:<6} {}", check.name, check.outcome.as_str(), check.detail);
            if let Some(fix) = &check.fix {
                println!("{:<22} {:<6} fix: {fix}", "", "");
            }
        }
    }
    Ok(if failed == 0 {
        Done::ok(result)
    } else {
        Done::failed(result, format!("{failed} check(s) failed"))
    })
}

async fn events_command(
    settings: &Settings,
    sdk: &aws_config::SdkConfig,
    args: EventsArgs,
    json_output: bool,
) -> Result<Done, CliError> {
    let tap_url = settings.require(config::EVENTS_TAP_QUEUE_URL)?;
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let wait = std::time::Duration::from_secs(if args.follow { 20 } else { 1 });
    let mut count = 0u64;
    whatsapp_bridge_cli::events::read(&sqs, &tap_url, args.follow, wait, |event| {
        count += 1;
        if json_output {
            println!("{}", event.envelope);
        } else {
            println!("{}", event.line());
        }
    })
    .await?;
    // Under --json each event is a line of its own (EventBridge's envelope), then the command's envelope.
    Ok(Done::ok(json!({"events": count})))
}
