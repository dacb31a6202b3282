//! `POST /twilio/gather` and `POST /twilio/recording` — captures the spoken code,
//! records it in DynamoDB and emails it through SES.

use bridge::handlers::twilio::Verification;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    bridge::telemetry::init();
    // Every AWS call within `bridge::compose::TWILIO_SDK_BUDGET` (Twilio allows 15 s in all).
    let verification = Verification::from_env().await?;
    bridge::compose::serve(|request| verification.handle(request)).await
}
