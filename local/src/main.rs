//! `make run`: the bundle on this machine. Reads the same environment variables as the
//! Lambdas (local.env), serves the template's routes on 127.0.0.1:3000 and drains the queue.
//! `LOCAL_ROLE=api` or `worker` runs one half only (`make soak` runs them as two processes, so
//! it can kill the worker alone).

use std::sync::Arc;
use std::time::Duration;

use bridge::adapters::load_sdk_config;
use bridge::compose::DeployedWorker;
use bridge::compose::HttpHandlers;
use local_stack::Role;
use local_stack::api::{self, App};
use local_stack::graph_standin::{Standin, StandinConfig};
use local_stack::stack::Stack;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    bridge::telemetry::init();
    let stack_file = std::env::var("LOCAL_STACK_FILE").unwrap_or_else(|_| ".local/stack.json".to_owned());
    let stack = Stack::load(&stack_file)?;
    let mut expected = stack.routes.clone();
    let mut served = api::routes();
    expected.sort();
    served.sort();
    if expected != served {
        return Err(format!("template routes {expected:?} differ from the local runner's {served:?}").into());
    }

    let sdk_config = load_sdk_config().await;
    let region = sdk_config
        .region()
        .map(ToString::to_string)
        .unwrap_or_else(|| "us-east-1".to_owned());
    let sqs = aws_sdk_sqs::Client::new(&sdk_config);
    let role = Role::from_env()?;
    if role == Role::Worker {
        let sources = local_stack::queue::event_sources(&stack, "QueueWorkerFunction", &sqs, &region).await?;
        let worker = DeployedWorker::from_env().await?;
        tracing::info!(queues = ?sources.iter().map(|source| source.queue_url.as_str()).collect::<Vec<_>>(), "local worker up (Ctrl-C stops it)");
        tokio::select! {
            () = local_stack::queue::drain_all(&sources, |event| {
                worker.handle(event, local_stack::queue::batch_deadline())
            }) => {}
            _ = tokio::signal::ctrl_c() => tracing::info!("stopping"),
        }
        return Ok(());
    }

    // The HTTP handlers exactly as their Lambdas build them, on the one local SDK config.
    let app = Arc::new(App(HttpHandlers::from_sdk_config(&sdk_config).await?));
    let ingest_config = app.ingest.config.clone();
    if role == Role::Api {
        let address = std::env::var("LOCAL_API_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
        let listener = tokio::net::TcpListener::bind(&address).await?;
        tracing::info!(api = %format!("http://{address}"), "local API up, no worker (Ctrl-C stops it)");
        tokio::select! {
            () = api::serve(listener, app) => {}
            _ = tokio::signal::ctrl_c() => tracing::info!("stopping"),
        }
        return Ok(());
    }

    let sources = local_stack::queue::event_sources(&stack, "QueueWorkerFunction", &sqs, &region).await?;

    // The Graph API stand-in on :3001 (GRAPH_API_BASE_URL), posting signed status webhooks to our API.
    let standin_address = std::env::var("LOCAL_GRAPH_ADDR").unwrap_or_else(|_| "127.0.0.1:3001".to_owned());
    let standin_listener = tokio::net::TcpListener::bind(&standin_address).await?;
    let public = std::env::var("PUBLIC_BASE_URL").unwrap_or_else(|_| "http://127.0.0.1:3000".to_owned());
    // The Twilio stand-in on :3002 (TWILIO_API_BASE_URL): its number calls our /twilio/voice, so
    // `wabridge onboard` against the Graph stand-in's request_code completes end to end.
    let twilio = local_stack::standin_env::local_from_env(&public)?;
    let twilio_listener = tokio::net::TcpListener::bind(twilio.0.as_str()).await?;
    tokio::spawn(std::sync::Arc::clone(&twilio.1).serve(twilio_listener));
    let standin = Standin::with_onboarding(
        StandinConfig {
            access_token: std::env::var("WHATSAPP_ACCESS_TOKEN").unwrap_or_default(),
            app_secret: ingest_config.app_secret.expose().to_owned(),
            webhook_url: format!("{}/webhooks/whatsapp", public.trim_end_matches('/')),
            phone_number_id_display: "15550783881".to_owned(),
            latency: Duration::from_millis(
                std::env::var("GRAPH_STANDIN_LATENCY_MS")
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
            ),
            status_delay: Duration::from_millis(500),
            send_status_webhooks: true,
        },
        local_stack::graph_standin::OnboardingConfig {
            twilio: Some(twilio.1),
            ..twilio.2
        },
    );
    tokio::spawn(standin.serve(standin_listener));

    // The worker exactly as its Lambda builds it (its own 4 s bound on every AWS call), once the
    // Graph stand-in listens, so its warm-up reaches it.
    let worker = DeployedWorker::from_env().await?;

    let address = std::env::var("LOCAL_API_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(&address).await?;
    tracing::info!(
        api = %format!("http://{address}"),
        routes = ?served.iter().map(|r| format!("{} {}", r.method, r.path)).collect::<Vec<_>>(),
        queues = ?sources.iter().map(|source| source.queue_url.as_str()).collect::<Vec<_>>(),
        graph_api = %format!("http://{standin_address}"),
        "local stack up (Ctrl-C stops it)"
    );
    tokio::select! {
        () = api::serve(listener, app) => {}
        () = local_stack::queue::drain_all(&sources, |event| {
            worker.handle(event, local_stack::queue::batch_deadline())
        }) => {}
        _ = tokio::signal::ctrl_c() => tracing::info!("stopping"),
    }
    Ok(())
}
