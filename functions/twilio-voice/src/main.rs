//! `POST /twilio/voice` — answers Meta's verification call with TwiML that listens for the code.
//! No AWS client once started: the auth token is read at cold start, then nothing to warm.

use std::convert::Infallible;

use bridge::adapters::secrets::{ResolvedSecrets, SecretVar};
use bridge::config::TwilioConfig;
use bridge::handlers::twilio;
use lambda_http::{Error, Request, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    bridge::telemetry::init();
    let secrets = ResolvedSecrets::load(None, &[SecretVar::required("TWILIO_AUTH_TOKEN")]).await?;
    let config = TwilioConfig::voice_from_env(secrets.env())?;
    drop(secrets);
    let config = &config;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Infallible>(twilio::voice(config, request).await)
    }))
    .await
}
