//! The composition root, the one place that builds adapters: each function's configuration,
//! secrets and AWS clients, built once at cold start exactly as its Lambda needs them, so every
//! `main.rs` is logging, one constructor and [`serve`]; the HTTP functions here, the worker in
//! [`worker`]. The local runner and the test harness call the same constructors.
//!
//! `from_env` loads the SDK configuration itself; `from_sdk_config` takes one already loaded
//! (the local runner shares one between every handler). Both read the process environment.

mod worker;

pub use worker::DeployedWorker;

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use aws_config::SdkConfig;
use lambda_http::{Body, Request, Response, service_fn};

use crate::adapters::dynamodb::DynamoMessageStore;
use crate::adapters::eventbridge::EventBridgePublisher;
use crate::adapters::graph::{self, GraphApi, TokenSource};
use crate::adapters::graph_blocklist::GraphBlocklist;
use crate::adapters::graph_media::GraphMedia;
use crate::adapters::graph_templates::GraphTemplates;
use crate::adapters::presign::S3MediaLinks;
use crate::adapters::s3::S3BlobStore;
use crate::adapters::secrets::{ResolvedSecrets, Vars, process_var};
use crate::adapters::ses::SesMailer;
use crate::adapters::sqs::SqsQueue;
use crate::adapters::{load_sdk_config, load_sdk_config_within};
use crate::config::{ConfigError, Env, FunctionConfig, IngestConfig, SendApiConfig, VerificationConfig};
use crate::handlers::meta_ingest::Ingest;
use crate::handlers::send_api::SendApi;
use crate::handlers::twilio::Verification;
use crate::handlers::worker::Publishing;

/// The most one media upload may take: API Gateway gives an integration 30 s, the send API's
/// Lambda timeout is 29 s.
pub const MEDIA_UPLOAD_TIMEOUT: Duration = Duration::from_secs(25);

/// The most one call of the Block Users API may take (a read of the blocklist makes a few).
pub const BLOCKLIST_CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// The most a template lookup may take before the send goes through unchecked.
pub const TEMPLATE_LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);

/// Twilio gives a whole webhook 15 s: the Twilio functions bound every AWS call well inside that.
pub const TWILIO_SDK_BUDGET: Duration = Duration::from_secs(4);

/// Reads `C` with its secrets ([`FunctionConfig::SECRETS`]) resolved: from the environment, else
/// from SSM through `sdk_config` (`None`: a function without AWS clients; one is loaded only if
/// a secret is in SSM). The resolved values are dropped once the config holds them.
pub async fn config<C: FunctionConfig>(sdk_config: Option<&SdkConfig>) -> Result<C, ConfigError> {
    config_from(sdk_config, &process_var).await
}

/// As [`config`], against the variables `vars` gives.
pub async fn config_from<C: FunctionConfig>(sdk_config: Option<&SdkConfig>, vars: Vars<'_>) -> Result<C, ConfigError> {
    let secrets = ResolvedSecrets::load_from(sdk_config, C::SECRETS, vars).await?;
    C::read(Env::new(secrets.over(vars)))
}

/// Every HTTP function's handler, built from one SDK configuration and one set of variables, each
/// exactly as its Lambda builds it: what the local runner serves and the test harness drives.
pub struct HttpHandlers {
    pub verify: crate::config::VerifyConfig,
    pub ingest: DeployedIngest,
    pub voice: crate::config::TwilioConfig,
    pub verification: DeployedVerification,
    pub send_api: DeployedSendApi,
}

impl HttpHandlers {
    /// From the process environment (secrets from SSM where only their `_PARAMETER` names are set).
    pub async fn from_sdk_config(sdk_config: &SdkConfig) -> Result<Self, ConfigError> {
        Self::from_vars(sdk_config, &process_var).await
    }

    /// From the variables `vars` gives.
    pub async fn from_vars(sdk_config: &SdkConfig, vars: Vars<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            send_api: SendApi::from_vars(sdk_config, vars).await?,
            voice: config_from(Some(sdk_config), vars).await?,
            verification: Verification::from_vars(sdk_config, vars).await?,
            verify: config_from(Some(sdk_config), vars).await?,
            ingest: Ingest::from_vars(sdk_config, vars).await?,
        })
    }
}

/// `POST /webhook` as deployed.
pub type DeployedIngest = Ingest<SqsQueue, S3BlobStore>;
/// The send API as deployed.
pub type DeployedSendApi =
    SendApi<DynamoMessageStore, SqsQueue, S3MediaLinks, GraphMedia, GraphTemplates, GraphBlocklist>;
/// The Twilio verification functions as deployed.
pub type DeployedVerification = Verification<DynamoMessageStore, SesMailer, EventBridgePublisher>;

impl Ingest<SqsQueue, S3BlobStore> {
    /// `POST /webhooks/whatsapp`: SQS and S3 clients, the queue's connection opened during init.
    pub async fn from_env() -> Result<Self, ConfigError> {
        Self::from_sdk_config(&load_sdk_config().await).await
    }

    pub async fn from_sdk_config(sdk_config: &SdkConfig) -> Result<Self, ConfigError> {
        Self::from_vars(sdk_config, &process_var).await
    }

    /// As [`Self::from_sdk_config`], against the variables `vars` gives (the test harness's).
    pub async fn from_vars(sdk_config: &SdkConfig, vars: Vars<'_>) -> Result<Self, ConfigError> {
        let config: IngestConfig = self::config_from(Some(sdk_config), vars).await?;
        let queue = SqsQueue::new(aws_sdk_sqs::Client::new(sdk_config), &config.queue_url);
        let blobs = S3BlobStore::new(S3BlobStore::client(sdk_config), &config.payload_bucket);
        queue.warm_up().await;
        Ok(Self::new(config, queue, blobs))
    }
}

impl DeployedSendApi {
    /// `POST /messages`, `GET /messages/{id}`, `GET /contacts/{contact}/messages`, `POST /media`,
    /// `/contacts/{contact}/block`: the table's connection opened during init; media links signed with
    /// the function's own credentials.
    pub async fn from_env() -> Result<Self, ConfigError> {
        Self::from_sdk_config(&load_sdk_config().await).await
    }

    pub async fn from_sdk_config(sdk_config: &SdkConfig) -> Result<Self, ConfigError> {
        Self::from_vars(sdk_config, &process_var).await
    }

    /// As [`Self::from_sdk_config`], against the variables `vars` gives (the test harness's).
    pub async fn from_vars(sdk_config: &SdkConfig, vars: Vars<'_>) -> Result<Self, ConfigError> {
        let config: SendApiConfig = self::config_from(Some(sdk_config), vars).await?;
        let store = DynamoMessageStore::new(
            aws_sdk_dynamodb::Client::new(sdk_config),
            &config.table_name,
            config.retention_days,
        );
        let queue = SqsQueue::new(aws_sdk_sqs::Client::new(sdk_config), &config.queue_url);
        // One Graph API client (connections, token) for uploads, the template check and blocking.
        let graph = match &config.graph {
            Some(graph) => Some(
                GraphApi::new(
                    &graph.base_url,
                    &graph.version,
                    graph.access_token.clone(),
                    graph::CONNECT_TIMEOUT,
                    TokenSource::from_vars(sdk_config, vars),
                )
                .map_err(|problem| ConfigError {
                    problems: vec![format!("the Graph API client could not be built: {problem}")],
                })?,
            ),
            None => None,
        };
        let media = graph.as_ref().map(|api| {
            GraphMedia::new(
                api.clone(),
                MEDIA_UPLOAD_TIMEOUT,
                S3BlobStore::client(sdk_config),
                config.media_bucket.clone().unwrap_or_default(),
            )
        });
        let blocklist = graph
            .as_ref()
            .map(|api| GraphBlocklist::new(api.clone(), BLOCKLIST_CALL_TIMEOUT));
        let waba_id = config.graph.as_ref().and_then(|graph| graph.waba_id.as_deref());
        let templates = graph
            .zip(waba_id)
            .map(|(api, waba_id)| GraphTemplates::new(api, waba_id, TEMPLATE_LOOKUP_TIMEOUT));
        let links = config
            .media_bucket
            .as_deref()
            .map(|bucket| S3MediaLinks::new(sdk_config, bucket));
        store.warm_up().await;
        Ok(SendApi::new(config, store, queue, links)
            .with_media(media)
            .with_templates(templates)
            .with_blocklist(blocklist))
    }
}

impl Verification<DynamoMessageStore, SesMailer, EventBridgePublisher> {
    /// `POST /twilio/gather`, `/twilio/recording`: every AWS call within [`TWILIO_SDK_BUDGET`],
    /// the table's connection opened during init.
    pub async fn from_env() -> Result<Self, ConfigError> {
        Self::from_sdk_config(&load_sdk_config_within(TWILIO_SDK_BUDGET).await).await
    }

    pub async fn from_sdk_config(sdk_config: &SdkConfig) -> Result<Self, ConfigError> {
        Self::from_vars(sdk_config, &process_var).await
    }

    /// As [`Self::from_sdk_config`], against the variables `vars` gives (the test harness's).
    pub async fn from_vars(sdk_config: &SdkConfig, vars: Vars<'_>) -> Result<Self, ConfigError> {
        let config: VerificationConfig = self::config_from(Some(sdk_config), vars).await?;
        let store = DynamoMessageStore::new(
            aws_sdk_dynamodb::Client::new(sdk_config),
            &config.table_name,
            config.code_retention_days,
        );
        store.warm_up().await;
        let mailer = SesMailer::new(aws_sdk_sesv2::Client::new(sdk_config));
        let events = config.event_bus_name.clone().map(|bus_name| Publishing {
            include_verification_code: config.events_include_verification_code,
            ..Publishing::new(EventBridgePublisher::new(
                aws_sdk_eventbridge::Client::new(sdk_config),
                &bus_name,
            ))
        });
        let mut verification = Self::new(config, store, mailer);
        verification.events = events;
        Ok(verification)
    }
}

/// Runs the Lambda HTTP loop with `handler`, which always answers (refusals are answers).
pub async fn serve<'a, F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(Request) -> Fut,
    Fut: Future<Output = Response<Body>> + Send + 'a,
{
    lambda_http::run(service_fn(move |request: Request| {
        let answer = handler(request);
        async move { Ok::<_, Infallible>(answer.await) }
    }))
    .await
}

impl From<crate::adapters::secrets::SecretsError> for ConfigError {
    fn from(error: crate::adapters::secrets::SecretsError) -> Self {
        ConfigError {
            problems: error.problems,
        }
    }
}
