//! `wabridge coexistence sync`: for a number used in the WhatsApp Business app and through the
//! Cloud API at once, asks Meta for the app's contacts (`smb_app_state_sync`) then its chat history
//! (`history`) with `POST /{phone-number-id}/smb_app_data`. Meta takes each once, within 24 hours of
//! onboarding: each request is recorded in the table before it is made (a type already requested is
//! not asked again, and the command says when it was), and given back when Meta refuses it.

use bridge::ports::CoexistenceLedger;
use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::error::CliError;
use crate::graph::{Graph, explain};

/// The sync types, in the order Meta asks for them.
pub const SYNC_TYPES: [&str; 2] = ["smb_app_state_sync", "history"];

/// What became of one sync type.
#[derive(Debug, Clone, PartialEq)]
pub enum SyncStep {
    /// Asked now; Meta's answer.
    Requested { sync_type: &'static str, answer: Value },
    /// Asked before (at this time): not again.
    AlreadyRequested { sync_type: &'static str, at: String },
}

impl SyncStep {
    pub fn to_json(&self) -> Value {
        match self {
            SyncStep::Requested { sync_type, answer } => {
                json!({"sync_type": sync_type, "outcome": "requested", "meta": answer})
            }
            SyncStep::AlreadyRequested { sync_type, at } => {
                json!({"sync_type": sync_type, "outcome": "already_requested", "requested_at": at})
            }
        }
    }
}

/// Requests each sync type not requested yet, in order; stops at Meta's first refusal (the history
/// comes after the contacts). An error when every type had been requested before.
pub async fn sync(
    graph: &Graph,
    ledger: &impl CoexistenceLedger,
    phone_number_id: &str,
) -> Result<Vec<SyncStep>, CliError> {
    let mut steps = Vec::new();
    for sync_type in SYNC_TYPES {
        let now = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
        let held = ledger
            .claim_sync(phone_number_id, sync_type, &now)
            .await
            .map_err(|error| CliError::Failed(format!("the table could not record the sync: {error}")))?;
        if let Some(at) = held {
            steps.push(SyncStep::AlreadyRequested { sync_type, at });
            continue;
        }
        let asked = graph
            .post_json(
                &format!("{phone_number_id}/smb_app_data"),
                &json!({"messaging_product": "whatsapp", "sync_type": sync_type}),
            )
            .await;
        match asked {
            Ok(answer) => steps.push(SyncStep::Requested { sync_type, answer }),
            Err(failure) => {
                // Not taken: it may be asked again.
                let _ = ledger.release_sync(phone_number_id, sync_type).await;
                return Err(CliError::Failed(explain(
                    &format!("smb_app_data ({sync_type})"),
                    &failure,
                )));
            }
        }
    }
    if steps
        .iter()
        .all(|step| matches!(step, SyncStep::AlreadyRequested { .. }))
    {
        let when: Vec<String> = steps
            .iter()
            .filter_map(|step| match step {
                SyncStep::AlreadyRequested { sync_type, at } => Some(format!("{sync_type} at {at}")),
                SyncStep::Requested { .. } => None,
            })
            .collect();
        return Err(CliError::Failed(format!(
            "both syncs were requested already ({}); Meta takes each once, so they are not asked again",
            when.join(", ")
        )));
    }
    Ok(steps)
}
