//! SQS worker — records every message, status and event of the queued webhooks.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use bridge::adapters::{dynamodb::DynamoMessageStore, load_sdk_config, s3::S3BlobStore};
use bridge::config::{Env, WorkerConfig};
use bridge::handlers::worker::Worker;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    bridge::telemetry::init();
    let config = WorkerConfig::from_env(Env::from_process())?;
    let sdk_config = load_sdk_config().await;
    let store = DynamoMessageStore::new(
        aws_sdk_dynamodb::Client::new(&sdk_config),
        &config.table_name,
        config.retention_days,
    );
    store.warm_up().await;
    // Offloaded payloads name their own bucket; this one is only a default.
    let blobs = S3BlobStore::new(S3BlobStore::client(&sdk_config), "");
    let worker = Worker::new(store, blobs, config.phone_numbers);
    let worker = &worker;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, Error>(worker.handle(event.payload).await)
    }))
    .await
}
