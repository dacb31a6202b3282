//! One module per command group: each reads its settings, calls the library and answers the
//! command's result (a [`whatsapp_bridge_cli::envelope::Done`]); what it prints for a person is in
//! [`crate::render`].

mod calling;
mod coexistence;
mod completions;
mod doctor;
mod messages;
mod onboard;
mod queues;
mod templates;
mod usage;
mod webhook;

pub use calling::calling_command;
pub use coexistence::coexistence_command;
pub use completions::completions;
pub use doctor::doctor_command;
pub use messages::{block, history, send, status};
pub use onboard::onboard;
pub use queues::{events_command, redrive_command};
pub use templates::templates_command;
pub use usage::usage_command;
pub use webhook::webhook;

use whatsapp_bridge_cli::config::{self, Settings};
use whatsapp_bridge_cli::error::CliError;
use whatsapp_bridge_cli::graph::Graph;

/// The Graph API client a command needs: the base URL, version and access token it requires.
fn graph(settings: &Settings) -> Result<Graph, CliError> {
    Graph::new(
        &settings.require(config::GRAPH_API_BASE_URL)?,
        &settings.require(config::GRAPH_API_VERSION)?,
        settings.require_secret(config::ACCESS_TOKEN)?,
    )
}
