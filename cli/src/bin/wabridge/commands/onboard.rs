//! `wabridge onboard`: registers a number by voice, showing each step as it goes.

use std::time::Duration;

use bridge::adapters::dynamodb::DynamoMessageStore;
use whatsapp_bridge_cli::config::{self, Settings};
use whatsapp_bridge_cli::envelope::Done;
use whatsapp_bridge_cli::error::CliError;
use whatsapp_bridge_cli::onboarding::{self, OnboardOptions, Progress};
use whatsapp_bridge_cli::progress::Spinner;

use crate::args::OnboardArgs;
use crate::render;

pub async fn onboard(
    settings: &Settings,
    sdk: &aws_config::SdkConfig,
    args: OnboardArgs,
    json_output: bool,
) -> Result<Done, CliError> {
    let graph = super::graph(settings)?;
    let phone_number_id = settings.require(config::PHONE_NUMBER_ID)?;
    let pin = settings.require_secret(config::REGISTRATION_PIN)?;
    let store = DynamoMessageStore::new(
        aws_sdk_dynamodb::Client::new(sdk),
        settings.require(config::TABLE_NAME)?,
        0,
    );
    let language = onboarding::call_language(
        args.language.as_deref(),
        settings.get(config::VOICE_LANGUAGE).as_deref(),
    )?;
    let options = OnboardOptions {
        language,
        wait: Duration::from_secs(args.wait),
        new_code: args.new_code,
        number: settings.get(config::TWILIO_PHONE_NUMBER),
        code: args.code,
        ..OnboardOptions::default()
    };
    let spinner = Spinner::stderr("reading the phone number");
    let mut last_step = String::new();
    let report = onboarding::onboard(&graph, &store, &phone_number_id, &pin, &options, &mut |p| match p {
        Progress::Step(text) => {
            if !last_step.is_empty() {
                spinner.println(&last_step);
            }
            spinner.set(text.clone());
            last_step = text;
        }
        Progress::Waiting { limit, .. } => {
            spinner.set(format!(
                "waiting for the code Meta's robot reads (up to {}s)",
                limit.as_secs()
            ));
        }
    })
    .await;
    spinner.finish();
    let report = report?;
    if !json_output {
        render::onboard_report(&report);
    }
    Ok(Done::ok(report.to_json()))
}
