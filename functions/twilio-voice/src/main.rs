//! `POST /twilio/voice` — answers Meta's verification call with TwiML that listens for the code.
//! No AWS client once started: the auth token is read at cold start, then nothing to warm.

use bridge::config::TwilioConfig;
use bridge::handlers::twilio;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    bridge::telemetry::init();
    let config: TwilioConfig = bridge::compose::config(None).await?;
    bridge::compose::serve(|request| twilio::voice(&config, request)).await
}
