//! `POST /messages` and `GET /messages/{id}` — the owner's send API.

use std::convert::Infallible;

use bridge::adapters::{dynamodb::DynamoMessageStore, load_sdk_config, sqs::SqsQueue};
use bridge::config::{Env, SendApiConfig};
use bridge::handlers::send_api::SendApi;
use lambda_http::{Error, Request, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    bridge::telemetry::init();
    let config = SendApiConfig::from_env(Env::from_process())?;
    let sdk_config = load_sdk_config().await;
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
