//! `wabridge calling show|enable|disable`: the number's WhatsApp calling settings.

use serde_json::json;
use whatsapp_bridge_cli::calling::{self, CallingChange};
use whatsapp_bridge_cli::config::{self, Settings};
use whatsapp_bridge_cli::envelope::Done;
use whatsapp_bridge_cli::error::CliError;

use crate::args::{CallingAction, CallingArgs};

fn change(enable: bool, args: CallingArgs) -> CallingChange {
    CallingChange {
        enable,
        hours: args.hours,
        timezone: args.timezone,
        callback_permission: args.callback_permission.map(|value| value == "on"),
    }
}

pub async fn calling_command(settings: &Settings, action: CallingAction, json_output: bool) -> Result<Done, CliError> {
    let phone_number_id = settings.require(config::PHONE_NUMBER_ID)?;
    let graph = super::graph(settings)?;
    let calling = match action {
        CallingAction::Show => calling::show(&graph, &phone_number_id).await?,
        CallingAction::Enable(args) => calling::apply(&graph, &phone_number_id, &change(true, args)).await?,
        CallingAction::Disable(args) => calling::apply(&graph, &phone_number_id, &change(false, args)).await?,
    };
    if !json_output {
        for line in calling::describe(&calling) {
            println!("{line}");
        }
    }
    Ok(Done::ok(
        json!({"phone_number_id": phone_number_id, "calling": calling}),
    ))
}
