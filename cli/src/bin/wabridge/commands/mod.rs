//! One module per command group: each reads its settings, calls the library and answers the
//! command's result (a [`whatsapp_bridge_cli::envelope::Done`]); what it prints for a person is in
//! [`crate::render`].

mod completions;
mod doctor;
mod messages;
mod onboard;
mod queues;
mod templates;
mod webhook;

pub use completions::completions;
pub use doctor::doctor_command;
pub use messages::{history, send, status};
pub use onboard::onboard;
pub use queues::{events_command, redrive_command};
pub use templates::templates_command;
pub use webhook::webhook;
