//! `wabridge coexistence sync`: the WhatsApp Business app's contacts, then its chat history.

use bridge::adapters::dynamodb::DynamoMessageStore;
use serde_json::json;
use whatsapp_bridge_cli::coexistence::{self, SyncStep};
use whatsapp_bridge_cli::config::{self, Settings};
use whatsapp_bridge_cli::envelope::Done;
use whatsapp_bridge_cli::error::CliError;

use crate::args::CoexistenceAction;

pub async fn coexistence_command(
    settings: &Settings,
    sdk: &aws_config::SdkConfig,
    action: CoexistenceAction,
    json_output: bool,
) -> Result<Done, CliError> {
    let CoexistenceAction::Sync = action;
    let graph = super::graph(settings)?;
    let phone_number_id = settings.require(config::PHONE_NUMBER_ID)?;
    let ledger = DynamoMessageStore::new(
        aws_sdk_dynamodb::Client::new(sdk),
        settings.require(config::TABLE_NAME)?,
        0,
    );
    let steps = coexistence::sync(&graph, &ledger, &phone_number_id).await?;
    if !json_output {
        for step in &steps {
            match step {
                SyncStep::Requested { sync_type, answer } => {
                    println!("{sync_type}: requested (Meta answered {answer}); the data arrives as webhooks")
                }
                SyncStep::AlreadyRequested { sync_type, at } => {
                    println!("{sync_type}: already requested at {at}; not asked again")
                }
            }
        }
    }
    Ok(Done::ok(json!({
        "phone_number_id": phone_number_id,
        "steps": steps.iter().map(SyncStep::to_json).collect::<Vec<_>>(),
    })))
}
