//! [`WhatsAppSender`] in memory: answers as scripted, and keeps the ground truth of what Meta
//! took, which is what "sent exactly once" is checked against.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

use crate::domain::graph_error::GraphError;
use crate::domain::ids::Wamid;
use crate::ports::{Accepted, SendFailure, WhatsAppSender};

/// What Meta does with one send, and what the caller sees of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphAnswer {
    /// Taken, answered with a wamid.
    Accept,
    /// Taken, but the 2xx body is lost (the caller gets no wamid).
    AcceptBodyLost,
    /// Taken, but the answer never comes back (the connection drops or times out).
    AcceptThenAmbiguous,
    /// Taken, and the call hangs until the caller gives up.
    AcceptThenHang,
    /// Never reached Meta.
    NotSent,
    /// Refused with this error (nothing taken).
    Refuse(GraphError),
}

impl GraphAnswer {
    pub fn refuse(http_status: u16, code: i64) -> Self {
        GraphAnswer::Refuse(GraphError {
            http_status,
            code: Some(code),
            ..GraphError::default()
        })
    }
}

#[derive(Debug, Default)]
pub struct GraphState {
    /// Answers for the coming sends, front first; `Accept` when empty.
    pub script: VecDeque<GraphAnswer>,
    /// Every send call's payload, taken or not.
    pub calls: Vec<Value>,
    /// The business number (phone number id) of each send call, in the order of `calls`.
    pub senders: Vec<String>,
    /// The business number of each mark-as-read, in the order of `marked_read`.
    pub read_by: Vec<String>,
    /// What Meta took: the payload's `biz_opaque_callback_data` and the wamid given to it.
    pub taken: Vec<(Option<String>, Wamid)>,
    pub marked_read: Vec<Wamid>,
    /// The read receipts that also showed the typing indicator.
    pub typing: Vec<Wamid>,
    /// The token is expired: every call is refused with 190 until it is rotated and refreshed.
    pub token_expired: bool,
    /// A new token is in the parameter store: the next `refresh_token` picks it up.
    pub token_rotated: bool,
    pub refreshes: usize,
}

/// Cloning shares the state.
#[derive(Debug, Clone, Default)]
pub struct FakeGraph(Arc<Mutex<GraphState>>);

impl FakeGraph {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn state(&self) -> MutexGuard<'_, GraphState> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn script(&self, answers: impl IntoIterator<Item = GraphAnswer>) -> &Self {
        self.state().script.extend(answers);
        self
    }

    /// How many times Meta took a message carrying `callback_data` (the bundle's message id).
    pub fn taken_count(&self, callback_data: &str) -> usize {
        self.state()
            .taken
            .iter()
            .filter(|(data, _)| data.as_deref() == Some(callback_data))
            .count()
    }
}

fn expired() -> GraphError {
    GraphError {
        http_status: 401,
        code: Some(190),
        title: Some("OAuthException".to_owned()),
        ..GraphError::default()
    }
}

impl WhatsAppSender for FakeGraph {
    async fn send(&self, from: &str, payload: &Value) -> Result<Accepted, SendFailure> {
        let answer = {
            let mut state = self.state();
            state.calls.push(payload.clone());
            state.senders.push(from.to_owned());
            if state.token_expired {
                return Err(SendFailure::Refused(Box::new(expired())));
            }
            let answer = state.script.pop_front().unwrap_or(GraphAnswer::Accept);
            if matches!(
                answer,
                GraphAnswer::Accept
                    | GraphAnswer::AcceptBodyLost
                    | GraphAnswer::AcceptThenAmbiguous
                    | GraphAnswer::AcceptThenHang
            ) {
                let wamid = Wamid::new(format!("wamid.fake{}", state.taken.len() + 1));
                let data = payload
                    .get("biz_opaque_callback_data")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                state.taken.push((data, wamid));
            }
            answer
        };
        let wamid = || self.state().taken.last().map(|(_, wamid)| wamid.clone());
        match answer {
            GraphAnswer::Accept => Ok(Accepted { wamid: wamid() }),
            GraphAnswer::AcceptBodyLost => Ok(Accepted { wamid: None }),
            GraphAnswer::AcceptThenAmbiguous => Err(SendFailure::Ambiguous("connection lost".to_owned())),
            GraphAnswer::AcceptThenHang => std::future::pending().await,
            GraphAnswer::NotSent => Err(SendFailure::NotSent("connection refused".to_owned())),
            GraphAnswer::Refuse(error) => Err(SendFailure::Refused(Box::new(error))),
        }
    }

    async fn mark_read(&self, from: &str, wamid: &Wamid, typing: bool) -> Result<(), SendFailure> {
        let mut state = self.state();
        if typing {
            state.typing.push(wamid.clone());
        }
        state.marked_read.push(wamid.clone());
        state.read_by.push(from.to_owned());
        Ok(())
    }

    async fn refresh_token(&self) -> bool {
        let mut state = self.state();
        state.refreshes += 1;
        if state.token_rotated {
            state.token_rotated = false;
            state.token_expired = false;
            return true;
        }
        false
    }
}
