//! `GET /webhooks/whatsapp` — Meta's subscription handshake.

use std::convert::Infallible;

use bridge::adapters::secrets::{ResolvedSecrets, SecretVar};
use bridge::config::VerifyConfig;
use bridge::handlers::meta_verify;
use lambda_http::{Error, Request, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    bridge::telemetry::init();
    let secrets = ResolvedSecrets::load(None, &[SecretVar::required("WHATSAPP_VERIFY_TOKEN")]).await?;
    let config = VerifyConfig::from_env(secrets.env())?;
    drop(secrets);
    let config = &config;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Infallible>(meta_verify::handle(config, request).await)
    }))
    .await
}
