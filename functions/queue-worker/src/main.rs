//! SQS worker — records every message, status and event of the queued webhooks, and sends
//! queued messages through the WhatsApp Graph API.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use bridge::adapters::secrets::{ResolvedSecrets, SecretVar};
use bridge::adapters::{
    dynamodb::DynamoMessageStore, graph::GraphClient, load_sdk_config, s3::S3BlobStore, sqs::SqsQueue,
};
use bridge::config::{Env, SenderConfig, WorkerConfig};
use bridge::handlers::sending::{RateLimiter, Sending};
use bridge::handlers::worker::Worker;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    bridge::telemetry::init();
    let config = WorkerConfig::from_env(Env::from_process())?;
    let sdk_config = load_sdk_config().await;
    // Without an access token the worker records but does not send.
    let secrets = ResolvedSecrets::load(Some(&sdk_config), &[SecretVar::optional("WHATSAPP_ACCESS_TOKEN")]).await?;
    let sender_config = SenderConfig::from_env(secrets.env())?;
    drop(secrets);
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk_config);
    let store = DynamoMessageStore::new(dynamodb.clone(), &config.table_name, config.retention_days);
    // Offloaded payloads name their own bucket; this one is only a default.
    let blobs = S3BlobStore::new(S3BlobStore::client(&sdk_config), "");
    let sending = match sender_config {
        Some(sender) => {
            let graph = GraphClient::new(
                &sender.graph_base_url,
                &sender.graph_version,
                &sender.phone_number_id,
                sender.access_token.clone(),
            )?;
            // Both first connections (TLS handshakes) at once.
            tokio::join!(store.warm_up(), graph.warm_up());
            let queue = SqsQueue::new(aws_sdk_sqs::Client::new(&sdk_config), &sender.queue_url);
            Some(Sending {
                store: DynamoMessageStore::new(dynamodb, &config.table_name, config.retention_days),
                graph,
                redelivery: queue.clone(),
                queue,
                limiter: RateLimiter::new(sender.messages_per_second),
                mark_as_read: sender.mark_as_read,
                auto_reply_text: sender.auto_reply_text,
            })
        }
        None => {
            store.warm_up().await;
            None
        }
    };
    let worker = Worker::new(store, blobs, config.phone_numbers).with_sending(sending);
    let worker = &worker;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, Error>(worker.handle(event.payload).await)
    }))
    .await
}
