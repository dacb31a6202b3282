//! `POST /webhooks/whatsapp` — verifies Meta's signature and queues the payload.

use bridge::handlers::meta_ingest::Ingest;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    bridge::telemetry::init();
    let ingest = Ingest::from_env().await?;
    bridge::compose::serve(|request| ingest.handle(request)).await
}
