//! The send loop as the integration tests drive it: a fresh queue, the send API, the ingestion
//! handler and the worker built by the composition root from one set of variables, and a Graph API
//! stand-in whose status webhooks go to the ingestion handler over HTTP ([`serve_ingest`]).

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bridge::compose::{DeployedIngest, DeployedSendApi, DeployedWorker};
use local_stack::graph_standin::{AmbiguityTimings, OnboardingConfig, Standin, StandinConfig};
use serde_json::Value;

use crate::emulator::{Emulator, TestQueue};
use crate::events::api_request;
use crate::ingest::serve_ingest;

/// The access token the stand-in takes and the handlers are given.
pub const LOOP_TOKEN: &str = "test-access-token";
/// The deployment's business number.
pub const LOOP_PHONE_NUMBER_ID: &str = "106540352242922";

/// What differs between the loops of two test files.
pub struct LoopOptions<'a> {
    /// The fresh queue's name prefix.
    pub queue: &'a str,
    /// The send API's key.
    pub api_key: &'a str,
    /// Variables over the loop's defaults (an empty value sets the variable empty).
    pub vars: Vec<(&'a str, &'a str)>,
    /// The stand-in's timings for its ambiguous recipients.
    pub timings: AmbiguityTimings,
    /// The worker's AWS calls through this configuration (for example the fault layer); the others
    /// go to the emulator directly.
    pub worker_sdk: Option<aws_config::SdkConfig>,
}

impl<'a> LoopOptions<'a> {
    pub fn new(queue: &'a str, api_key: &'a str) -> Self {
        Self {
            queue,
            api_key,
            vars: Vec::new(),
            timings: AmbiguityTimings::default(),
            worker_sdk: None,
        }
    }
}

/// The handlers, the queue they share and the stand-in.
pub struct SendLoop {
    pub emu: Emulator,
    pub queue: TestQueue,
    pub api: DeployedSendApi,
    pub ingest: Arc<DeployedIngest>,
    pub worker: DeployedWorker,
    pub standin: Arc<Standin>,
    pub graph_base: String,
    pub api_key: String,
    /// The variables the handlers were built from (another warm instance of one is built from them).
    pub env: HashMap<String, String>,
}

impl SendLoop {
    pub async fn start(options: LoopOptions<'_>) -> Self {
        let emu = Emulator::connect().await;
        let queue = emu.fresh_queue(options.queue, 30, None).await;
        let webhook_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let webhook_url = format!("http://{}/webhooks/whatsapp", webhook_listener.local_addr().unwrap());
        let standin_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let graph_base = format!("http://{}", standin_listener.local_addr().unwrap());
        let standin = Standin::with_timings(
            StandinConfig {
                access_token: LOOP_TOKEN.into(),
                app_secret: emu.env["WHATSAPP_APP_SECRET"].clone(),
                webhook_url,
                phone_number_id_display: "15550783881".into(),
                latency: Duration::ZERO,
                status_delay: Duration::ZERO,
                send_status_webhooks: true,
            },
            OnboardingConfig::default(),
            options.timings,
        );
        tokio::spawn(Arc::clone(&standin).serve(standin_listener));

        // The handlers as their Lambdas build them, on this loop's queue and stand-in.
        let mut env = emu.env.clone();
        for (name, value) in [
            ("QUEUE_URL", queue.url.as_str()),
            ("SEND_QUEUE_URL", queue.url.as_str()),
            ("API_KEY", options.api_key),
            ("WHATSAPP_ACCESS_TOKEN", LOOP_TOKEN),
            ("WHATSAPP_PHONE_NUMBER_ID", LOOP_PHONE_NUMBER_ID),
            ("GRAPH_API_BASE_URL", graph_base.as_str()),
            ("DEFAULT_COUNTRY_CODE", "972"),
            ("SEND_RATE_PER_SECOND", "1000"),
            ("RETENTION_DAYS", "0"),
            ("AUTO_REPLY_TEXT", ""),
            ("MARK_AS_READ", "false"),
            ("ALLOWED_PHONE_NUMBER_IDS", ""),
        ]
        .into_iter()
        .chain(options.vars.iter().copied())
        {
            env.insert(name.to_owned(), value.to_owned());
        }
        if options
            .vars
            .iter()
            .any(|(name, _)| *name == "WHATSAPP_ACCESS_TOKEN_PARAMETER")
        {
            env.remove("WHATSAPP_ACCESS_TOKEN");
        }
        let vars = |name: &str| env.get(name).cloned();
        let api = DeployedSendApi::from_vars(&emu.sdk, &vars).await.unwrap();
        let ingest = Arc::new(DeployedIngest::from_vars(&emu.sdk, &vars).await.unwrap());
        serve_ingest(webhook_listener, Arc::clone(&ingest));
        let worker = DeployedWorker::from_vars(options.worker_sdk.as_ref().unwrap_or(&emu.sdk), &vars)
            .await
            .unwrap();
        Self {
            emu,
            queue,
            api,
            ingest,
            worker,
            standin,
            graph_base,
            api_key: options.api_key.to_owned(),
            env,
        }
    }

    /// One request to the send API with its key (and `extra` headers): the status and the JSON body
    /// (`null` when it has none).
    /// Runs the worker over the loop's queue until it is empty (status webhooks arrive while it runs);
    /// every record must succeed.
    pub async fn drain(&self) {
        for _ in 0..20 {
            let messages = self.emu.receive_all(&self.queue.url).await;
            if messages.is_empty() {
                return;
            }
            for batch in messages.chunks(10) {
                let event = local_stack::queue::sqs_event(batch, &self.queue.arn, "us-east-1").unwrap();
                let response = self.worker.handle(event, local_stack::queue::batch_deadline()).await;
                assert!(
                    response.batch_item_failures.is_empty(),
                    "the worker failed records: {:?}",
                    response.batch_item_failures
                );
                for message in batch {
                    self.emu.delete(&self.queue.url, message).await;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the queue never emptied");
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        query: &str,
        extra: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Value) {
        let auth = format!("Bearer {}", self.api_key);
        let mut headers = vec![("Authorization", auth.as_str()), ("Content-Type", "application/json")];
        headers.extend_from_slice(extra);
        let response = self
            .api
            .handle(api_request(method, path, query, &headers, body, false))
            .await;
        (
            response.status().as_u16(),
            serde_json::from_slice(response.body()).unwrap_or(Value::Null),
        )
    }
}
