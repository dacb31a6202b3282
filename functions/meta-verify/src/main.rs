//! `GET /webhooks/whatsapp` — Meta's subscription handshake.

use std::convert::Infallible;

use bridge::config::{Env, VerifyConfig};
use bridge::handlers::meta_verify;
use lambda_http::{Error, Request, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    bridge::telemetry::init();
    let config = VerifyConfig::from_env(Env::from_process())?;
    let config = &config;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Infallible>(meta_verify::handle(config, request).await)
    }))
    .await
}
