//! The worker as deployed: its adapters built from the environment, once at cold start.

use std::time::Duration;

use aws_config::SdkConfig;

use crate::adapters::dynamodb::DynamoMessageStore;
use crate::adapters::eventbridge::EventBridgePublisher;
use crate::adapters::graph::{self, GraphApi, GraphClient, TokenSource};
use crate::adapters::load_sdk_config_within;
use crate::adapters::s3::S3BlobStore;
use crate::adapters::secrets::{ResolvedSecrets, Vars, process_var};
use crate::adapters::sqs::{SqsQueue, SqsRedelivery};
use crate::config::{ConfigError, Env, SenderConfig, WorkerConfig};
use crate::handlers::worker::sending::{RateLimiter, SendPolicy, Sending};
use crate::handlers::worker::{Media, WORKER_AWS_CALL_TIMEOUT, Worker};
use crate::ports::ClaimTerms;
use crate::publishing::Publishing;

const MARK_READ_TIMEOUT: Duration = Duration::from_secs(3);
/// A media download may go this long without a byte before it is given up (and retried).
const MEDIA_READ_TIMEOUT: Duration = Duration::from_secs(15);

pub type DeployedWorker =
    Worker<DynamoMessageStore, S3BlobStore, SqsRedelivery, GraphClient, SqsQueue, EventBridgePublisher>;

impl DeployedWorker {
    /// The worker from the process environment (secrets from SSM where only their
    /// `_PARAMETER` names are set), its first connections opened.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let sdk_config = load_sdk_config_within(WORKER_AWS_CALL_TIMEOUT).await;
        Self::from_sdk_config(&sdk_config).await
    }

    /// As [`Self::from_env`], with an SDK configuration the caller made (the local runner's).
    pub async fn from_sdk_config(sdk_config: &SdkConfig) -> Result<Self, ConfigError> {
        Self::from_vars(sdk_config, &process_var).await
    }

    /// As [`Self::from_sdk_config`], against the variables `vars` gives (the test harness's).
    pub async fn from_vars(sdk_config: &SdkConfig, vars: Vars<'_>) -> Result<Self, ConfigError> {
        let config = WorkerConfig::from_env(Env::new(vars))?;
        let secrets = ResolvedSecrets::load_from(Some(sdk_config), SenderConfig::SECRETS, vars).await?;
        let sender = SenderConfig::from_env(Env::new(secrets.over(vars)))?;
        drop(secrets);
        let dynamodb = aws_sdk_dynamodb::Client::new(sdk_config);
        let store = DynamoMessageStore::new(dynamodb, &config.table_name, config.retention_days);
        // Offloaded webhooks name their own bucket; this one takes raw events too large for an item.
        let blobs = S3BlobStore::new(
            S3BlobStore::client(sdk_config),
            config.payload_bucket.clone().unwrap_or_default(),
        );
        let sqs = aws_sdk_sqs::Client::new(sdk_config);
        // One Graph API client (connections, token) for sends, read receipts and media.
        let graph = match &sender {
            Some(sender) => Some(GraphClient::new(
                GraphApi::new(
                    &sender.graph_base_url,
                    &sender.graph_version,
                    sender.access_token.clone(),
                    graph::CONNECT_TIMEOUT.min(sender.graph_timeout),
                    TokenSource::from_vars(sdk_config, vars),
                )
                .map_err(|problem| ConfigError {
                    problems: vec![format!("the Graph API client could not be built: {problem}")],
                })?,
                sender.graph_timeout,
                MEDIA_READ_TIMEOUT,
            )),
            None => None,
        };
        let media = match (&graph, &config.payload_bucket, &config.events_queue_url) {
            (Some(source), Some(_), Some(queue_url)) if config.media_max_bytes > 0 => Some(Media {
                source: source.clone(),
                sink: blobs.clone(),
                queue: SqsQueue::new(sqs.clone(), queue_url),
                max_bytes: config.media_max_bytes,
                max_receives: config.queue_max_receives,
                deadline_margin: WORKER_AWS_CALL_TIMEOUT * 2,
            }),
            _ => None,
        };
        let redelivery = SqsRedelivery::new(sqs.clone(), config.queue_urls.clone());
        let events = config.event_bus_name.as_deref().map(|bus_name| {
            let client = aws_sdk_eventbridge::Client::new(sdk_config);
            Publishing {
                include_verification_code: config.events_include_verification_code,
                ..Publishing::new(EventBridgePublisher::new(client, bus_name))
            }
        });
        let sending = match sender.zip(graph) {
            Some((sender, graph)) => {
                // Both first connections (TLS handshakes) at once.
                tokio::join!(store.warm_up(), graph.warm_up());
                Some(Sending {
                    store: store.clone(),
                    graph,
                    queue: SqsQueue::new(sqs, &sender.send_queue_url),
                    limiter: RateLimiter::new(sender.messages_per_second),
                    policy: SendPolicy {
                        terms: ClaimTerms {
                            lease_seconds: sender.claim_lease_seconds,
                            reconcile_after_seconds: sender.reconcile_after_seconds,
                        },
                        graph_timeout: sender.graph_timeout,
                        store_timeout: WORKER_AWS_CALL_TIMEOUT,
                        max_receives: sender.max_receives,
                        mark_read_timeout: MARK_READ_TIMEOUT,
                        pace: sender.pace,
                    },
                    numbers: sender.phone_numbers,
                    auto_reply_text: sender.auto_reply_text,
                    calls_policy: sender.calls_policy,
                    calls_reply: sender.calls_reply,
                    mark_as_read: sender.mark_as_read,
                    // message.unknown / message.resolved, on the same bus.
                    events: events.clone(),
                    typing_indicator: sender.typing_indicator,
                })
            }
            None => {
                store.warm_up().await;
                None
            }
        };
        Ok(Worker {
            store,
            blobs,
            redelivery,
            phone_numbers: config.phone_numbers,
            sending,
            events,
            media,
        })
    }
}
