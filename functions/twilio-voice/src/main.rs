//! `POST /twilio/voice` — answers Meta's verification call with TwiML that listens for the code.
//! No AWS client: nothing to warm, the fastest cold start of the bundle.

use std::convert::Infallible;

use bridge::config::{Env, TwilioConfig};
use bridge::handlers::twilio;
use lambda_http::{Error, Request, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    bridge::telemetry::init();
    let config = TwilioConfig::voice_from_env(Env::from_process())?;
    let config = &config;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Infallible>(twilio::voice(config, request).await)
    }))
    .await
}
