//! `wabridge doctor`: every check of a deployment, with its fix.

use serde_json::json;
use whatsapp_bridge_cli::config::Settings;
use whatsapp_bridge_cli::doctor::{self, Outcome};
use whatsapp_bridge_cli::envelope::Done;
use whatsapp_bridge_cli::error::CliError;
use whatsapp_bridge_cli::progress::Spinner;

use crate::render;

pub async fn doctor_command(
    settings: &Settings,
    sdk: &aws_config::SdkConfig,
    json_output: bool,
) -> Result<Done, CliError> {
    let spinner = Spinner::stderr("checking the token, the number, the webhook, SES, Twilio and the alarms");
    let checks = doctor::run(settings, sdk).await;
    spinner.finish();
    let failed = checks.iter().filter(|c| c.outcome == Outcome::Fail).count();
    let result = json!({"checks": checks.iter().map(doctor::Check::to_json).collect::<Vec<_>>()});
    if !json_output {
        render::doctor_checks(&checks);
    }
    Ok(if failed == 0 {
        Done::ok(result)
    } else {
        Done::failed(result, format!("{failed} check(s) failed"))
    })
}
