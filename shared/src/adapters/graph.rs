//! The Graph API: one HTTP client and one access token per process ([`GraphApi`]), shared by every call
//! this bundle makes to Meta: [`GraphClient`] (the worker's sends, read receipts and inbound media),
//! [`super::graph_media::GraphMedia`] (the send API's uploads) and [`super::graph_templates::GraphTemplates`]
//! (the send API's template check). Each of these is a view: the port's own timeouts over the shared client.
//!
//! The token: when Meta answers any call that it is expired or invalid (401, code 190 or 0:
//! [`FailureClass::ExpiredToken`]), it is read again from where it is kept ([`TokenSource`], SSM) — once for
//! every caller, at most once a minute — and every later call presents the new one. A call that may simply
//! be made again (a read, a read receipt, an upload Meta refused for the token) is made once more with it; a
//! send is not: the worker retries its job ([`WhatsAppSender::refresh_token`]), which then goes out with it.
//! (That second try is a loop's second turn rather than a second call: one await point per call, a
//! little less code in the functions' binaries.)
//!
//! A send's answer is classified by what it proves: a connection that never opened means Meta does not
//! have the message (safe to send again); a request written without an answer back (timeout, connection
//! lost) is ambiguous; a 2xx is acceptance even if its body is lost.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use aws_config::SdkConfig;
use serde_json::Value;
use tokio::time::Instant;

use super::secrets::{SecretVar, resolve_secrets};
use crate::domain::graph_error::{FailureClass, GraphError};
use crate::domain::graph_response::SendAccepted;
use crate::domain::ids::Wamid;
use crate::domain::media::MediaInfo;
use crate::domain::secret::Secret;
use crate::ports::{Accepted, MediaDownload, MediaError, MediaSource, SendFailure, WhatsAppSender};

/// A refused token is read again from its source at most this often.
pub const TOKEN_REFRESH_INTERVAL: Duration = Duration::from_secs(60);

/// The longest a connection to the Graph API may take to open (a call's own bound may be shorter).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Where the access token is kept, so that a token the owner rotated is picked up by warm functions.
pub struct TokenSource(Source);

// One per process; the second variant exists in the unit tests only.
#[cfg_attr(test, allow(clippy::large_enum_variant))]
enum Source {
    /// `WHATSAPP_ACCESS_TOKEN_PARAMETER`.
    Ssm { sdk_config: SdkConfig, parameter: String },
    /// The unit tests' own: what the cell holds, and how often it was read.
    #[cfg(test)]
    Memory(Arc<std::sync::Mutex<Option<Secret>>>, Arc<AtomicU64>),
}

impl TokenSource {
    /// `None` when the token came from the environment (local runs): nothing to read again.
    pub fn from_vars(sdk_config: &SdkConfig, vars: super::secrets::Vars<'_>) -> Option<Self> {
        let parameter = vars(&format!("WHATSAPP_ACCESS_TOKEN{}", super::secrets::PARAMETER_SUFFIX))?;
        let in_env = vars("WHATSAPP_ACCESS_TOKEN").is_some_and(|value| !value.trim().is_empty());
        (!in_env && !parameter.trim().is_empty()).then(|| {
            Self(Source::Ssm {
                sdk_config: sdk_config.clone(),
                parameter: parameter.trim().to_owned(),
            })
        })
    }

    async fn read(&self) -> Option<Secret> {
        let (sdk_config, parameter) = match &self.0 {
            Source::Ssm { sdk_config, parameter } => (sdk_config, parameter),
            #[cfg(test)]
            Source::Memory(token, reads) => {
                reads.fetch_add(1, Ordering::SeqCst);
                return token.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
            }
        };
        let lookup = |name: &str| (name == "WHATSAPP_ACCESS_TOKEN_PARAMETER").then(|| parameter.clone());
        match resolve_secrets(
            Some(sdk_config),
            &[SecretVar::optional("WHATSAPP_ACCESS_TOKEN")],
            &lookup,
        )
        .await
        {
            Ok(mut values) => values.remove("WHATSAPP_ACCESS_TOKEN").map(Secret::new),
            Err(error) => {
                tracing::warn!(error = %error, "access token not read again");
                None
            }
        }
    }
}

/// The token every call presents, numbered: a caller whose token was refused names the one it
/// presented, so that one read serves every caller that presented it.
struct AccessToken {
    /// The token and its generation (0 at cold start, one more at each replacement).
    current: RwLock<(Secret, u64)>,
    source: Option<TokenSource>,
    /// When the source was last read; held during a read, so one caller reads and the others wait for it.
    last_read: tokio::sync::Mutex<Option<Instant>>,
    /// The generation a send last saw refused (a send does not renew it itself: see [`GraphClient::send`]).
    refused_by_send: AtomicU64,
}

impl AccessToken {
    fn current(&self) -> (Secret, u64) {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn generation(&self) -> u64 {
        self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner).1
    }

    /// The token of generation `refused` was refused: true when another token is current now (one
    /// another caller's read found, or this call's). The source is read at most once per
    /// [`TOKEN_REFRESH_INTERVAL`]; a read cut short (its caller's timeout) does not count.
    async fn renew(&self, refused: u64) -> bool {
        if self.generation() != refused {
            return true;
        }
        let Some(source) = &self.source else {
            return false;
        };
        let mut last_read = self.last_read.lock().await;
        if self.generation() != refused {
            // Read by the caller this one waited for.
            return true;
        }
        if last_read.is_some_and(|at| at.elapsed() < TOKEN_REFRESH_INTERVAL) {
            return false;
        }
        let fresh = source.read().await;
        *last_read = Some(Instant::now());
        let Some(fresh) = fresh else {
            return false;
        };
        let mut current = self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if current.0 == fresh {
            return false;
        }
        let generation = current.1 + 1;
        *current = (fresh, generation);
        tracing::info!(
            generation,
            "the WhatsApp access token was replaced in SSM: using the new one"
        );
        true
    }
}

struct Shared {
    http: reqwest::Client,
    /// `{base}/{version}`.
    version_url: String,
    token: AccessToken,
}

/// The Graph API client of a process: one reqwest client (one connection pool) and one access token
/// for every caller; cheap to clone (the clones share both).
#[derive(Clone)]
pub struct GraphApi(Arc<Shared>);

impl GraphApi {
    /// `base_url` is `https://graph.facebook.com` in production, the local stand-in otherwise;
    /// `connect_timeout` bounds opening a connection (each call bounds itself: see the views);
    /// `source`: where a refused token is read again (`None`: it is not).
    pub fn new(
        base_url: &str,
        version: &str,
        access_token: Secret,
        connect_timeout: Duration,
        source: Option<TokenSource>,
    ) -> Result<Self, String> {
        let http = super::http::client_builder()
            .connect_timeout(connect_timeout)
            .build()
            .map_err(|error| error.to_string())?;
        Ok(Self(Arc::new(Shared {
            http,
            version_url: format!("{}/{}", base_url.trim_end_matches('/'), version),
            token: AccessToken {
                current: RwLock::new((access_token, 0)),
                source,
                last_read: tokio::sync::Mutex::new(None),
                refused_by_send: AtomicU64::new(0),
            },
        })))
    }

    /// Opens the TLS connection during init so the first call does not pay for the handshake; gives up
    /// after `within`.
    pub async fn warm_up(&self, within: Duration) {
        if let Err(error) = self.0.http.head(self.origin()).timeout(within).send().await {
            tracing::warn!(error = %error.without_url(), "graph API warm-up failed");
        }
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.0.http
    }

    /// `{base}/{version}`.
    pub(crate) fn version_url(&self) -> &str {
        &self.0.version_url
    }

    /// The token to present, and its generation (what [`Self::renew`] is told when it is refused).
    pub(crate) fn token(&self) -> (Secret, u64) {
        self.0.token.current()
    }

    /// When `error` says the token of `generation` was refused: whether another token is current now,
    /// read again from its source if no caller has done so (see [`AccessToken::renew`]). Then the call
    /// may be made once more, if it is one that may be repeated.
    pub(crate) async fn renewed(&self, error: &GraphError, generation: u64) -> bool {
        error.class() == FailureClass::ExpiredToken && self.0.token.renew(generation).await
    }

    /// The scheme and authority of the configured base URL (`https://graph.facebook.com`).
    fn origin(&self) -> &str {
        let url = self.version_url();
        let after_scheme = url.find("://").map_or(0, |at| at + 3);
        let end = url[after_scheme..].find('/').map_or(url.len(), |at| after_scheme + at);
        &url[..end]
    }
}

/// The worker's view of [`GraphApi`]: sends and read receipts ([`WhatsAppSender`]) as any of the
/// business's numbers (one token for all of them: a system user's, or one per WABA), and inbound media
/// ([`MediaSource`]).
#[derive(Clone)]
pub struct GraphClient {
    api: GraphApi,
    /// Bounds a send or a read receipt, whole (Meta answers sends in well under a second).
    timeout: Duration,
    /// Bounds a media call's wait for the answer's headers, then for each part of its body: no bound
    /// on the whole, which may stream a 100 MB document (the caller bounds the job by its deadline).
    media_read_timeout: Duration,
}

impl GraphClient {
    pub fn new(api: GraphApi, timeout: Duration, media_read_timeout: Duration) -> Self {
        Self {
            api,
            timeout,
            media_read_timeout,
        }
    }

    /// [`GraphApi::warm_up`] within a send's time bound.
    pub async fn warm_up(&self) {
        self.api.warm_up(self.timeout).await;
    }

    /// POSTs to the messages endpoint of the number `from` with `token`: the 2xx body (`None` when it
    /// could not be read).
    async fn post(&self, from: &str, payload: &Value, token: &Secret) -> Result<Option<Vec<u8>>, SendFailure> {
        self.post_to(from, "messages", payload, token).await
    }

    /// A POST to `/{from}/{edge}` with the JSON `payload`.
    async fn post_to(
        &self,
        from: &str,
        edge: &str,
        payload: &Value,
        token: &Secret,
    ) -> Result<Option<Vec<u8>>, SendFailure> {
        let url = format!("{}/{}/{edge}", self.api.version_url(), from);
        let response = self
            .api
            .http()
            .post(&url)
            .timeout(self.timeout)
            .bearer_auth(token.expose())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(payload.to_string())
            .send()
            .await
            .map_err(|error| {
                // The error names only its kind: anything in the URL stays out of logs.
                if error.is_connect() || error.is_builder() {
                    SendFailure::NotSent("no connection to the Graph API".to_owned())
                } else if error.is_timeout() {
                    SendFailure::Ambiguous("timed out waiting for the answer".to_owned())
                } else {
                    SendFailure::Ambiguous("connection lost before the answer".to_owned())
                }
            })?;
        let status = response.status().as_u16();
        let body = response.bytes().await.ok();
        if (200..300).contains(&status) {
            Ok(body.map(|bytes| bytes.to_vec()))
        } else {
            Err(SendFailure::Refused(Box::new(GraphError::parse(
                status,
                body.as_deref().unwrap_or_default(),
            ))))
        }
    }
}

impl WhatsAppSender for GraphClient {
    async fn send(&self, from: &str, payload: &Value) -> Result<Accepted, SendFailure> {
        let (token, generation) = self.api.token();
        let body = match self.post(from, payload, &token).await {
            Ok(body) => body,
            Err(SendFailure::Refused(error)) => {
                // Not renewed here, inside the send's time bound (a read cut short by it would turn this
                // answer into a timeout): the worker calls `refresh_token` once the outcome is known.
                if error.class() == FailureClass::ExpiredToken {
                    self.api.0.token.refused_by_send.store(generation, Ordering::Relaxed);
                }
                return Err(SendFailure::Refused(error));
            }
            Err(failure) => return Err(failure),
        };
        // A 2xx is Meta's acceptance: an unreadable body only costs the wamid, which the
        // message's status webhooks bring (they carry its id in biz_opaque_callback_data).
        let wamid = body
            .and_then(|body| SendAccepted::parse(&body).ok())
            .map(|accepted| Wamid::new(accepted.wamid));
        Ok(Accepted { wamid })
    }

    /// A read receipt refused for the token is sent again with a renewed one (marking read twice is harmless).
    async fn mark_read(&self, from: &str, wamid: &Wamid, typing: bool) -> Result<(), SendFailure> {
        let mut payload = serde_json::json!({"messaging_product": "whatsapp", "status": "read", "message_id": wamid});
        if typing {
            payload["typing_indicator"] = serde_json::json!({"type": "text"});
        }
        let mut first = true;
        loop {
            let (token, generation) = self.api.token();
            match self.post(from, &payload, &token).await {
                Err(SendFailure::Refused(error)) if first && self.api.renewed(&error, generation).await => {
                    first = false
                }
                answer => return answer.map(|_| ()),
            }
        }
    }

    /// A call action refused for the token is sent again with a renewed one.
    async fn call_action(&self, from: &str, call_id: &str, action: &str) -> Result<(), SendFailure> {
        let payload = serde_json::json!({"messaging_product": "whatsapp", "call_id": call_id, "action": action});
        let mut first = true;
        loop {
            let (token, generation) = self.api.token();
            match self.post_to(from, "calls", &payload, &token).await {
                Err(SendFailure::Refused(error)) if first && self.api.renewed(&error, generation).await => {
                    first = false
                }
                answer => return answer.map(|_| ()),
            }
        }
    }

    async fn refresh_token(&self) -> bool {
        let token = &self.api.0.token;
        token.renew(token.refused_by_send.load(Ordering::Relaxed)).await
    }
}

mod media_source;

#[cfg(test)]
mod http_tests;

#[cfg(test)]
mod tests;
