//! `wabridge usage [--month YYYY-MM]`: the month's messages by pricing category and type.

use bridge::adapters::dynamodb::DynamoMessageStore;
use whatsapp_bridge_cli::config::{self, Settings};
use whatsapp_bridge_cli::envelope::Done;
use whatsapp_bridge_cli::error::CliError;
use whatsapp_bridge_cli::usage;

use crate::args::UsageArgs;

pub async fn usage_command(
    settings: &Settings,
    sdk: &aws_config::SdkConfig,
    args: UsageArgs,
    json_output: bool,
) -> Result<Done, CliError> {
    let month = usage::month(args.month.as_deref(), chrono::Utc::now())?;
    let store = DynamoMessageStore::new(
        aws_sdk_dynamodb::Client::new(sdk),
        settings.require(config::TABLE_NAME)?,
        0,
    );
    let figures = usage::read(&store, &month).await?;
    if !json_output {
        println!("{}", usage::text(&figures));
    }
    Ok(Done::ok(usage::result(&figures)))
}
