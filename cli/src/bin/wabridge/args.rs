//! The command line: every command, its arguments and their help (`wabridge --help`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub const EXIT_CODES: &str = "Exit codes: 0 done (doctor: every check passed), 1 an operation or check failed, \
2 usage or configuration error (nothing changed), 3 timed out waiting.\n\
Configuration: flags (--set NAME=VALUE) > environment variables (the names of local.env) > the outputs and \
SSM secrets of --stack NAME > defaults. Secrets (WHATSAPP_ACCESS_TOKEN, WHATSAPP_APP_SECRET, WHATSAPP_VERIFY_TOKEN, \
API_KEY, TWILIO_AUTH_TOKEN, WHATSAPP_REGISTRATION_PIN) come only from the environment or SSM and are never printed.";

/// The command-line companion of the WhatsApp ↔ AWS bridge.
#[derive(Parser)]
#[command(name = "wabridge", version, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args)]
pub struct Common {
    /// Read settings from this CloudFormation stack's outputs (and its secrets from SSM).
    #[arg(long, global = true, value_name = "NAME")]
    pub stack: Option<String>,
    /// Print one JSON document on stdout, the same envelope for every command and error:
    /// {"ok", "command", "exit_code", "result", "error": null or {"kind", "message"}}.
    #[arg(long, global = true)]
    pub json: bool,
    /// The AWS profile (shared config and credentials files) for every AWS call, as the AWS CLI's --profile.
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// The AWS region for every AWS call (default: the environment's or the profile's).
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// A non-secret setting, by its environment variable name (repeatable): --set TABLE_NAME=my-table.
    #[arg(long = "set", global = true, value_name = "NAME=VALUE")]
    pub sets: Vec<String>,
}

#[derive(Subcommand)]
pub enum Command {
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
    /// A number in the WhatsApp Business app and the Cloud API at once: `sync` asks Meta for the app's contacts, then its chat history (once each).
    #[command(after_help = EXIT_CODES)]
    Coexistence {
        #[command(subcommand)]
        action: CoexistenceAction,
    },
    /// Block a contact (phone number or business-scoped user id) on the business number, through the send
    /// API (Meta's Block Users API: only contacts who wrote in the last 24 hours).
    #[command(after_help = EXIT_CODES)]
    Block(BlockArgs),
    /// Unblock a contact on the business number, through the send API.
    #[command(after_help = EXIT_CODES)]
    Unblock(BlockArgs),
    /// The number's WhatsApp calling settings (Graph /{phone-number-id}/settings): `show`, `enable`, `disable`.
    #[command(after_help = EXIT_CODES)]
    Calling {
        #[command(subcommand)]
        action: CallingAction,
    },
    /// The month's messages by Meta's pricing category and type, billable or free, with totals (from the
    /// table's usage counters, kept as statuses arrive).
    #[command(after_help = EXIT_CODES)]
    Usage(UsageArgs),
    /// Print a shell completion script: `wabridge completions bash > /etc/bash_completion.d/wabridge`,
    /// `wabridge completions zsh > "${fpath[1]}/_wabridge"`, `wabridge completions fish > ~/.config/fish/completions/wabridge.fish`.
    Completions {
        #[arg(value_parser = ["bash", "zsh", "fish"])]
        shell: String,
    },
}

#[derive(Args)]
pub struct BlockArgs {
    /// The contact: a phone number (normalized as sends are) or a business-scoped user id (US.1349…).
    pub contact: String,
    /// The business number's phone number id (default: the deployment's default number).
    #[arg(long, value_name = "PHONE_NUMBER_ID")]
    pub from: Option<String>,
}

#[derive(Subcommand)]
pub enum CallingAction {
    /// The calling settings: status, call icon, call hours, callback permission, SIP.
    Show,
    /// Enable calling (and set the call hours or callback permission, when given).
    Enable(CallingArgs),
    /// Disable calling (and set the call hours or callback permission, when given).
    Disable(CallingArgs),
}

#[derive(Args)]
pub struct CallingArgs {
    /// Call hours, repeatable: DAYS=HHMM-HHMM (MON-FRI=0900-1700, SAT=10:00-14:00), in --timezone; `off`
    /// takes calls at any time. Replaces the hours set before.
    #[arg(long, value_name = "DAYS=HHMM-HHMM")]
    pub hours: Vec<String>,
    /// The call hours' time zone (an IANA name: Europe/Lisbon, America/Sao_Paulo).
    #[arg(long, value_name = "ZONE")]
    pub timezone: Option<String>,
    /// Whether a caller is asked for permission to be called back.
    #[arg(long, value_name = "on|off", value_parser = ["on", "off"])]
    pub callback_permission: Option<String>,
}

#[derive(Subcommand)]
pub enum CoexistenceAction {
    /// `smb_app_data` for `smb_app_state_sync`, then `history` (within 24 hours of onboarding; a type already requested is not asked again).
    Sync,
}

#[derive(Subcommand)]
pub enum TemplatesAction {
    /// Every template: name, language, status, category and the parameters each component takes.
    List,
    /// One template by name, in every language, in Meta's shape.
    Show { name: String },
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Command::Onboard(_) => "onboard",
            Command::Send(_) => "send",
            Command::Status(_) => "status",
            Command::History(_) => "history",
            Command::Webhook(_) => "webhook",
            Command::Redrive(_) => "redrive",
            Command::Doctor => "doctor",
            Command::Coexistence { .. } => "coexistence",
            Command::Events(_) => "events",
            Command::Templates { .. } => "templates",
            Command::Block(_) => "block",
            Command::Unblock(_) => "unblock",
            Command::Calling { .. } => "calling",
            Command::Usage(_) => "usage",
            Command::Completions { .. } => "completions",
        }
    }
}

#[derive(Args)]
pub struct UsageArgs {
    /// The month, YYYY-MM (UTC, by each status's time); default: the current one.
    #[arg(long, value_name = "YYYY-MM")]
    pub month: Option<String>,
}

#[derive(Args)]
pub struct EventsArgs {
    /// Keep waiting for events (until interrupted) instead of stopping when the tap is empty.
    #[arg(long)]
    pub follow: bool,
}

#[derive(Args)]
pub struct OnboardArgs {
    /// The locale Meta's robot reads the code in (one of Meta's: en_US, pt_BR, es, es_MX, …); it must be the
    /// language the Twilio functions listen in (VOICE_LANGUAGE; the stack's VoiceLanguage). Default: that
    /// language, else en_US.
    #[arg(long, value_name = "LOCALE")]
    pub language: Option<String>,
    /// Seconds to wait for the captured code.
    #[arg(long, default_value_t = 180)]
    pub wait: u64,
    /// Request a new call even if a recent captured code is unused.
    #[arg(long)]
    pub new_code: bool,
    /// Submit this code (from the verification email) instead of waiting for one.
    #[arg(long, value_name = "NNNNNN")]
    pub code: Option<String>,
}

#[derive(Args)]
pub struct SendArgs {
    /// Recipient (international, or national with the deployment's DEFAULT_COUNTRY_CODE).
    #[arg(long)]
    pub to: Option<String>,
    /// A text message.
    #[arg(long, conflicts_with_all = ["template", "body"])]
    pub text: Option<String>,
    /// A template message (approved template name).
    #[arg(long, conflicts_with = "body")]
    pub template: Option<String>,
    /// Template language.
    #[arg(long, default_value = "en_US")]
    pub language: String,
    /// A file with the send API's JSON body (any message type).
    #[arg(long, value_name = "FILE")]
    pub body: Option<PathBuf>,
    /// Idempotency-Key header (retrying with the same key never sends twice).
    #[arg(long)]
    pub idempotency_key: Option<String>,
    #[command(flatten)]
    pub follow: FollowArgs,
    /// Return once queued.
    #[arg(long)]
    pub no_follow: bool,
}

#[derive(Args)]
pub struct FollowArgs {
    /// Follow until this status (or failed): sent, delivered or read.
    #[arg(long, default_value = "read", value_parser = ["accepted", "sent", "delivered", "read"])]
    pub until: String,
    /// Seconds to follow before giving up (exit 3).
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
}

#[derive(Args)]
pub struct StatusArgs {
    /// Message id (msg_…) or wamid.
    pub id: String,
    /// Follow until --until (or failed).
    #[arg(long)]
    pub follow: bool,
    #[command(flatten)]
    pub until: FollowArgs,
}

#[derive(Args)]
pub struct HistoryArgs {
    /// The contact: a phone number (normalized as sends are) or a business-scoped user id (US.1349…).
    pub contact: String,
    /// Messages per page (1 to 100).
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    /// Start after this page (the previous answer's next_cursor).
    #[arg(long, value_name = "CURSOR")]
    pub cursor: Option<String>,
    /// Follow every next_cursor to the end of the conversation (at most 10,000 messages).
    #[arg(long)]
    pub all: bool,
}

#[derive(Args)]
pub struct WebhookArgs {
    /// Where to POST; default: the callback URL (Meta) or PUBLIC_BASE_URL + the event's path (Twilio).
    #[arg(long)]
    pub url: Option<String>,
    /// An events/ file (API Gateway event) or a webhook payload file.
    #[arg(long, value_name = "FILE", conflicts_with = "text")]
    pub event: Option<PathBuf>,
    /// A text message from --from to the configured number.
    #[arg(long)]
    pub text: Option<String>,
    /// Sender of --text.
    #[arg(long, default_value = "15550001111")]
    pub from: String,
    /// Print the request (signature included) instead of sending it.
    #[arg(long)]
    pub print: bool,
}

#[derive(Args)]
pub struct RedriveArgs {
    /// List the dead letters, move nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// At most this many messages.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
}
