//! SQS worker — records every message, status and event of the queued webhooks, and sends
//! the queued messages through the WhatsApp Graph API.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use bridge::compose::DeployedWorker;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    bridge::telemetry::init();
    let worker = DeployedWorker::from_env().await?;
    let worker = &worker;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let deadline = bridge::handlers::worker::deadline_from_epoch_millis(event.context.deadline);
        Ok::<SqsBatchResponse, Error>(worker.handle(event.payload, deadline).await)
    }))
    .await
}
