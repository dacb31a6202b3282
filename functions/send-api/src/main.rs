//! `POST /messages` and `GET /messages/{id}` — the owner's send API.

use std::convert::Infallible;

use bridge::adapters::secrets::{ResolvedSecrets, SecretVar};
use bridge::adapters::{dynamodb::DynamoMessageStore, load_sdk_config, sqs::SqsQueue};
use bridge::config::SendApiConfig;
use bridge::handlers::send_api::SendApi;
use lambda_http::{Error, Request, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    bridge::telemetry::init();
    let sdk_config = load_sdk_config().await;
    let secrets = ResolvedSecrets::load(Some(&sdk_config), &[SecretVar::required("API_KEY")]).await?;
    let config = SendApiConfig::from_env(secrets.env())?;
    drop(secrets);
    let store = DynamoMessageStore::new(aws_sdk_dynamodb::Client::new(&sdk_config), &config.table_name, 0);
    let queue = SqsQueue::new(aws_sdk_sqs::Client::new(&sdk_config), &config.queue_url);
    store.warm_up().await;
    let api = SendApi::new(config, store, queue);
    let api = &api;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Infallible>(api.handle(request).await)
    }))
    .await
}
