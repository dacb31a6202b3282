//! `POST /webhooks/whatsapp` — verifies Meta's signature and queues the payload.

use std::convert::Infallible;

use bridge::adapters::secrets::{ResolvedSecrets, SecretVar};
use bridge::adapters::{load_sdk_config, s3::S3BlobStore, sqs::SqsQueue};
use bridge::config::IngestConfig;
use bridge::handlers::meta_ingest::Ingest;
use lambda_http::{Error, Request, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    bridge::telemetry::init();
    let sdk_config = load_sdk_config().await;
    let secrets = ResolvedSecrets::load(Some(&sdk_config), &[SecretVar::required("WHATSAPP_APP_SECRET")]).await?;
    let config = IngestConfig::from_env(secrets.env())?;
    drop(secrets);
    let queue = SqsQueue::new(aws_sdk_sqs::Client::new(&sdk_config), &config.queue_url);
    let blobs = S3BlobStore::new(S3BlobStore::client(&sdk_config), &config.payload_bucket);
    queue.warm_up().await;
    let ingest = Ingest::new(config, queue, blobs);
    let ingest = &ingest;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Infallible>(ingest.handle(request).await)
    }))
    .await
}
