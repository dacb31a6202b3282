//! `POST /twilio/gather` and `POST /twilio/recording` — captures the spoken code,
//! records it in DynamoDB and emails it through SES.

use std::convert::Infallible;
use std::time::Duration;

use bridge::adapters::secrets::{ResolvedSecrets, SecretVar};
use bridge::adapters::{dynamodb::DynamoMessageStore, load_sdk_config_within, ses::SesMailer};
use bridge::config::VerificationConfig;
use bridge::handlers::twilio::Verification;
use lambda_http::{Error, Request, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    bridge::telemetry::init();
    // Twilio gives the whole webhook 15 s: every AWS call is bounded well inside that.
    let sdk_config = load_sdk_config_within(Duration::from_secs(4)).await;
    let secrets = ResolvedSecrets::load(Some(&sdk_config), &[SecretVar::required("TWILIO_AUTH_TOKEN")]).await?;
    let config = VerificationConfig::from_env(secrets.env())?;
    drop(secrets);
    let store = DynamoMessageStore::new(
        aws_sdk_dynamodb::Client::new(&sdk_config),
        &config.table_name,
        config.code_retention_days,
    );
    store.warm_up().await;
    let mailer = SesMailer::new(aws_sdk_sesv2::Client::new(&sdk_config));
    let verification = Verification::new(config, store, mailer);
    let verification = &verification;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Infallible>(verification.handle(request).await)
    }))
    .await
}
