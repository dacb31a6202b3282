//! The local stack in-process, as the CLI's tests use it: the template's HTTP API over the real
//! handlers, the Meta and Twilio stand-ins, each on an ephemeral port, and a fresh queue per test
//! drained by the real worker; the emulator is the one `local_env()` names.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_config::SdkConfig;
use bridge::handlers::meta_ingest::Ingest;
use bridge::handlers::send_api::SendApi;
use bridge::handlers::twilio::Verification;
use bridge::handlers::worker::DeployedWorker;
use local_stack::api::{self, App};
use local_stack::graph_standin::{OnboardingConfig, Standin, StandinConfig};
use local_stack::queue::QueueSource;
use local_stack::twilio_standin::{IncomingNumber, TwilioStandin, TwilioStandinConfig};
use tokio::net::TcpListener;

use crate::emulator::{Emulator, TestQueue};

/// The Twilio account the stand-in serves.
pub const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";

/// A unique 11-digit US-style number (+1 555 …) for one test, so parallel tests never share codes.
pub fn unique_number() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let micros = chrono::Utc::now().timestamp_micros().unsigned_abs();
    format!("+1555{:07}", (micros / 10 + n * 7919) % 10_000_000)
}

/// A listener on a free loopback port.
pub async fn listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free loopback port");
    let address = listener.local_addr().expect("the listener's address");
    (listener, address)
}

/// The handlers behind the API and the queue.
pub struct Handlers {
    pub app: App,
    pub worker: DeployedWorker,
}

/// Builds every handler from `env` (local.env with the test's `QUEUE_URL`, `SEND_QUEUE_URL`,
/// `GRAPH_API_BASE_URL` and `PUBLIC_BASE_URL`) and the emulator's SDK configuration, with the
/// library's own constructors: the one place tests build them.
pub async fn build_handlers(env: &HashMap<String, String>, sdk: &SdkConfig) -> Handlers {
    let vars = |name: &str| env.get(name).cloned();
    let app = App {
        send_api: SendApi::from_vars(sdk, &vars).await.expect("send API"),
        voice: bridge::compose::config_from(Some(sdk), &vars)
            .await
            .expect("voice config"),
        verification: Verification::from_vars(sdk, &vars).await.expect("verification"),
        verify: bridge::compose::config_from(Some(sdk), &vars)
            .await
            .expect("verify config"),
        ingest: Ingest::from_vars(sdk, &vars).await.expect("ingest"),
    };
    let worker = DeployedWorker::from_vars(sdk, &vars).await.expect("worker");
    Handlers { app, worker }
}

/// Everything a test talks to.
pub struct Stack {
    pub emulator: Emulator,
    /// local.env with this stack's URLs and queue.
    pub env: HashMap<String, String>,
    pub sdk: SdkConfig,
    pub sqs: aws_sdk_sqs::Client,
    pub api_url: String,
    pub graph_url: String,
    pub twilio_url: String,
    pub queue_url: String,
    pub dlq_url: String,
    pub number: String,
    pub graph: Arc<Standin>,
    pub twilio: Arc<TwilioStandin>,
}

pub struct Options {
    pub onboarding: OnboardingConfig,
    /// Whether the Meta stand-in can place the verification call.
    pub call: bool,
    /// Whether the Twilio number's voice URL points at the local API.
    pub voice_url_ok: bool,
    /// Run the worker on the test's queue.
    pub worker: bool,
    /// `VOICE_LANGUAGE` of the Twilio functions (and the CLI's environment); `None`: local.env's.
    pub voice_language: Option<&'static str>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            onboarding: OnboardingConfig::default(),
            call: true,
            voice_url_ok: true,
            worker: false,
            voice_language: None,
        }
    }
}

impl Stack {
    pub async fn start(options: Options) -> Stack {
        let emulator = Emulator::connect().await;
        let mut env = emulator.env.clone();
        let TestQueue {
            name: _,
            url: queue_url,
            arn: queue_arn,
            dlq: dlq_url,
        } = emulator.fresh_queue("cli", 30, None).await;

        let (api_listener, api_address) = listener().await;
        let (graph_listener, graph_address) = listener().await;
        let (twilio_listener, twilio_address) = listener().await;
        let api_url = format!("http://{api_address}");
        let graph_url = format!("http://{graph_address}");
        let twilio_url = format!("http://{twilio_address}");
        env.insert("PUBLIC_BASE_URL".into(), api_url.clone());
        env.insert("QUEUE_URL".into(), queue_url.clone());
        // One fresh queue for webhooks and sends: the test's worker drains it.
        env.insert("SEND_QUEUE_URL".into(), queue_url.clone());
        env.insert("GRAPH_API_BASE_URL".into(), graph_url.clone());
        if let Some(language) = options.voice_language {
            env.insert("VOICE_LANGUAGE".into(), language.to_owned());
        }

        let number = unique_number();
        let twilio = TwilioStandin::new(TwilioStandinConfig {
            account_sid: ACCOUNT_SID.to_owned(),
            auth_token: env["TWILIO_AUTH_TOKEN"].clone(),
            numbers: vec![IncomingNumber {
                sid: "PN0123456789abcdef0123456789abcdef".to_owned(),
                phone_number: number.clone(),
                voice_url: if options.voice_url_ok {
                    format!("{api_url}/twilio/voice")
                } else {
                    "https://demo.twilio.com/welcome/voice/".to_owned()
                },
                voice_method: "POST".to_owned(),
            }],
            // As make run: local.env's shared key signs (a Webhook Rule matching the URL).
            webhook_shared_key: local_stack::standin_env::shared_key_from(&|name: &str| {
                env.get(name).filter(|value| !value.is_empty()).cloned()
            }),
        });
        tokio::spawn(Arc::clone(&twilio).serve(twilio_listener));

        let mut onboarding = options.onboarding;
        onboarding.display_phone_number = number.clone();
        onboarding.twilio = options.call.then(|| Arc::clone(&twilio));
        onboarding.call_delay = Duration::from_millis(100);
        let graph = Standin::with_onboarding(
            StandinConfig {
                access_token: env["WHATSAPP_ACCESS_TOKEN"].clone(),
                app_secret: env["WHATSAPP_APP_SECRET"].clone(),
                webhook_url: format!("{api_url}/webhooks/whatsapp"),
                phone_number_id_display: number.trim_start_matches('+').to_owned(),
                latency: Duration::ZERO,
                status_delay: Duration::from_millis(100),
                send_status_webhooks: true,
            },
            onboarding,
        );
        tokio::spawn(Arc::clone(&graph).serve(graph_listener));

        let Handlers { app, worker } = build_handlers(&env, &emulator.sdk).await;
        tokio::spawn(api::serve(api_listener, Arc::new(app)));

        if options.worker {
            let source = QueueSource {
                client: emulator.sqs.clone(),
                queue_url: queue_url.clone(),
                queue_arn,
                region: env["AWS_REGION"].clone(),
                batch_size: 10,
                batching_window: Duration::ZERO,
            };
            // The worker's future is not `Send` as far as the compiler can prove (higher-ranked
            // lifetimes): it runs on a thread of its own, on a runtime of its own.
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime for the worker");
                runtime.block_on(source.drain(|event| worker.handle(event, local_stack::queue::batch_deadline())));
            });
        }

        Stack {
            sdk: emulator.sdk.clone(),
            sqs: emulator.sqs.clone(),
            emulator,
            env,
            api_url,
            graph_url,
            twilio_url,
            queue_url,
            dlq_url,
            number,
            graph,
            twilio,
        }
    }

    /// The environment a CLI run gets against this stack: its `env` plus the stand-ins' accounts.
    pub fn cli_env(&self) -> HashMap<String, String> {
        let mut env = self.env.clone();
        env.insert("DEAD_LETTER_QUEUE_URL".into(), self.dlq_url.clone());
        env.insert("TWILIO_ACCOUNT_SID".into(), ACCOUNT_SID.into());
        env.insert("TWILIO_PHONE_NUMBER".into(), self.number.clone());
        env.insert("TWILIO_API_BASE_URL".into(), self.twilio_url.clone());
        env.insert(
            "WHATSAPP_BUSINESS_ACCOUNT_ID".into(),
            local_stack::graph_standin::WABA_ID.into(),
        );
        env.insert("META_APP_ID".into(), "1234567890123456".into());
        env.insert("WHATSAPP_REGISTRATION_PIN".into(), "246810".into());
        env.insert("RUST_LOG".into(), "off".into());
        env
    }

    /// Runs `program` with `args` and only [`Stack::cli_env`] and `PATH` in its environment
    /// (`overrides` win); gives up after 60 s.
    pub async fn run(&self, program: &str, args: &[&str], overrides: &[(&str, &str)]) -> Run {
        let mut command = tokio::process::Command::new(program);
        command.env_clear().args(args);
        command.envs(self.cli_env());
        command.envs(overrides.iter().copied());
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        let output = tokio::time::timeout(Duration::from_secs(60), command.output())
            .await
            .unwrap_or_else(|_| panic!("{program} ran for over 60 s"))
            .unwrap_or_else(|e| panic!("{program}: {e}"));
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// What a process run printed, and its exit code.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }
}
