//! [`WhatsAppSender`] in memory: answers as scripted, and keeps the ground truth of what Meta
//! took, which is what "sent exactly once" is checked against.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

use crate::domain::graph_error::GraphError;
use crate::domain::ids::Wamid;
use crate::domain::media::MediaInfo;
use crate::ports::{Accepted, MediaDownload, MediaError, MediaSource, SendFailure, WhatsAppSender};

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
    /// Every call action: (business number, call id, action).
    pub call_actions: Vec<(String, String, String)>,
    /// Faults of the call actions: operation `call_action`.
    pub call_faults: super::Faults,
    /// The token is expired: every call is refused with 190 until it is rotated and refreshed.
    pub token_expired: bool,
    /// A new token is in the parameter store: the next `refresh_token` picks it up.
    pub token_rotated: bool,
    pub refreshes: usize,
    /// Media Meta holds, by id (what `retrieve` and `download` answer).
    pub media: std::collections::HashMap<String, FakeMedia>,
    /// Faults of the media calls: operations `retrieve` and `download` (`Transient`: unavailable,
    /// `Permanent`: refused, `Hang`: never answers).
    pub media_faults: super::Faults,
    /// The media ids retrieved and the URLs downloaded, in order.
    pub media_calls: Vec<String>,
}

/// One media file Meta holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeMedia {
    pub bytes: Vec<u8>,
    pub mime_type: String,
    /// What `retrieve` says the SHA-256 is (the bytes' own unless a test says otherwise).
    pub sha256: String,
    /// What `retrieve` says the size is (the bytes' own unless a test says otherwise).
    pub file_size: u64,
    /// The download breaks off after this many bytes, this many times.
    pub break_after: Option<(usize, usize)>,
}

impl FakeMedia {
    pub fn new(bytes: Vec<u8>, mime_type: &str) -> Self {
        use sha2::Digest as _;
        Self {
            sha256: hex::encode(sha2::Sha256::digest(&bytes)),
            file_size: bytes.len() as u64,
            bytes,
            mime_type: mime_type.to_owned(),
            break_after: None,
        }
    }
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

    /// Meta holds `media` under `id`.
    pub fn hold_media(&self, id: &str, media: FakeMedia) -> &Self {
        self.state().media.insert(id.to_owned(), media);
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

    async fn call_action(&self, from: &str, call_id: &str, action: &str) -> Result<(), SendFailure> {
        let faults = self.state().call_faults.clone();
        if let super::faults::Step::Fail(_) = faults.step("call_action").await {
            return Err(SendFailure::NotSent("the calling API is unavailable".to_owned()));
        }
        self.state()
            .call_actions
            .push((from.to_owned(), call_id.to_owned(), action.to_owned()));
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

/// Downloads stream in chunks of this many bytes.
const FAKE_CHUNK: usize = 64 * 1024;

impl FakeGraph {
    async fn media_fault(&self, operation: &'static str) -> Option<MediaError> {
        let faults = self.state().media_faults.clone();
        match faults.check(operation).await {
            None | Some(super::Fault::Hang) => None,
            Some(super::Fault::Permanent) => Some(MediaError::Refused(format!("injected: {operation} refused"))),
            Some(_) => Some(MediaError::Unavailable(format!("injected: {operation} unavailable"))),
        }
    }
}

impl MediaSource for FakeGraph {
    async fn retrieve(&self, media_id: &str) -> Result<MediaInfo, MediaError> {
        self.state().media_calls.push(format!("retrieve {media_id}"));
        if let Some(error) = self.media_fault("retrieve").await {
            return Err(error);
        }
        let state = self.state();
        let Some(media) = state.media.get(media_id) else {
            // What the Graph API answers for an id it does not have.
            return Err(MediaError::Refused(
                "Meta answered 400 code 100 subcode 33: Unsupported get request".to_owned(),
            ));
        };
        Ok(MediaInfo {
            url: format!("fake://media/{media_id}"),
            mime_type: Some(media.mime_type.clone()),
            sha256: Some(media.sha256.clone()),
            file_size: Some(media.file_size),
            id: Some(media_id.to_owned()),
        })
    }

    async fn download(&self, url: &str) -> Result<MediaDownload, MediaError> {
        self.state().media_calls.push(format!("download {url}"));
        if let Some(error) = self.media_fault("download").await {
            return Err(error);
        }
        let mut state = self.state();
        let id = url.strip_prefix("fake://media/").unwrap_or_default();
        let Some(media) = state.media.get_mut(id) else {
            return Err(MediaError::Unavailable("media download answered 404".to_owned()));
        };
        let mut bytes = media.bytes.clone();
        let mut broken = false;
        if let Some((after, times)) = media.break_after.as_mut()
            && *times > 0
        {
            *times -= 1;
            bytes.truncate(*after);
            broken = true;
        }
        let content_length = Some(media.bytes.len() as u64);
        let mut chunks: Vec<Result<bytes::Bytes, MediaError>> = bytes
            .chunks(FAKE_CHUNK)
            .map(|chunk| Ok(bytes::Bytes::copy_from_slice(chunk)))
            .collect();
        if broken {
            chunks.push(Err(MediaError::Unavailable(
                "media download: connection lost".to_owned(),
            )));
        }
        Ok(MediaDownload {
            content_length,
            chunks: Box::pin(futures_util::stream::iter(chunks)),
        })
    }
}
