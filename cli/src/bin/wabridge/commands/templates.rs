//! `wabridge templates list|show NAME`: the WABA's message templates.

use whatsapp_bridge_cli::config::{self, Settings};
use whatsapp_bridge_cli::envelope::Done;
use whatsapp_bridge_cli::error::CliError;
use whatsapp_bridge_cli::templates;

use crate::args::TemplatesAction;
use crate::render;

pub async fn templates_command(
    settings: &Settings,
    action: TemplatesAction,
    json_output: bool,
) -> Result<Done, CliError> {
    let graph = super::graph(settings)?;
    let waba_id = settings.require(config::BUSINESS_ACCOUNT_ID)?;
    let name = match &action {
        TemplatesAction::List => None,
        TemplatesAction::Show { name } => Some(name.as_str()),
    };
    let found = templates::fetch(&graph, &waba_id, name).await?;
    if let (Some(name), true) = (name, found.is_empty()) {
        return Err(CliError::Failed(format!(
            "WABA {waba_id} has no template named {name:?}"
        )));
    }
    if !json_output {
        render::templates(&found, name.is_some());
    }
    Ok(Done::ok(templates::result(&found)))
}
