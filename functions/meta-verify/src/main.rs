//! `GET /webhooks/whatsapp` — Meta's subscription handshake.

use bridge::config::VerifyConfig;
use bridge::handlers::meta_verify;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    bridge::telemetry::init();
    // No AWS client: an SDK config is loaded only if the token is in SSM.
    let config: VerifyConfig = bridge::compose::config(None).await?;
    bridge::compose::serve(|request| meta_verify::handle(&config, request)).await
}
