//! [`WhatsAppSender`] over HTTPS: `POST {base}/{version}/{phone number id}/messages`, from any of
//! the business's numbers (one token for all of them: a system user's, or one per WABA).
//!
//! The answer is classified by what it proves: a connection that never opened means Meta
//! does not have the message (safe to send again); a request written without an answer back
//! (timeout, connection lost) is ambiguous; a 2xx is acceptance even if its body is lost.

use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use serde_json::Value;

use super::secrets::{SecretVar, resolve_secrets};
use crate::domain::graph_error::{FailureClass, GraphError};
use crate::domain::graph_response::SendAccepted;
use crate::domain::ids::Wamid;
use crate::domain::media::MediaInfo;
use crate::domain::secret::Secret;
use crate::ports::{Accepted, MediaDownload, MediaError, MediaSource, SendFailure, WhatsAppSender};

/// An expired token is read again from SSM at most this often.
const TOKEN_REFRESH_INTERVAL: Duration = Duration::from_secs(60);

/// Where the access token is kept, so that a token the owner rotated is picked up by warm workers.
pub struct TokenSource {
    sdk_config: SdkConfig,
    /// `WHATSAPP_ACCESS_TOKEN_PARAMETER`.
    parameter: String,
}

impl TokenSource {
    /// `None` when the token came from the environment (local runs): nothing to read again.
    pub fn from_vars(sdk_config: &SdkConfig, vars: super::secrets::Vars<'_>) -> Option<Self> {
        let parameter = vars(&format!("WHATSAPP_ACCESS_TOKEN{}", super::secrets::PARAMETER_SUFFIX))?;
        let in_env = vars("WHATSAPP_ACCESS_TOKEN").is_some_and(|value| !value.trim().is_empty());
        (!in_env && !parameter.trim().is_empty()).then(|| Self {
            sdk_config: sdk_config.clone(),
            parameter: parameter.trim().to_owned(),
        })
    }

    async fn read(&self) -> Option<Secret> {
        let lookup = |name: &str| (name == "WHATSAPP_ACCESS_TOKEN_PARAMETER").then(|| self.parameter.clone());
        match resolve_secrets(
            Some(&self.sdk_config),
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

pub struct GraphClient {
    http: reqwest::Client,
    /// `{base}/{version}`.
    version_url: String,
    access_token: RwLock<Secret>,
    source: Option<TokenSource>,
    last_refresh: Mutex<Option<Instant>>,
}

impl GraphClient {
    /// `base_url` is `https://graph.facebook.com` in production, the local stand-in otherwise;
    /// `timeout` bounds a whole call (Meta answers sends in well under a second).
    pub fn new(base_url: &str, version: &str, access_token: Secret, timeout: Duration) -> Result<Self, String> {
        let http = super::http::client_builder()
            .connect_timeout(Duration::from_secs(3).min(timeout))
            .timeout(timeout)
            .build()
            .map_err(|error| error.to_string())?;
        let version_url = format!("{}/{}", base_url.trim_end_matches('/'), version);
        Ok(Self {
            http,
            version_url,
            access_token: RwLock::new(access_token),
            source: None,
            last_refresh: Mutex::new(None),
        })
    }

    /// A client for media (retrieve and download): no bound on a whole call, which may stream a
    /// 100 MB document, but `read_timeout` on each read of the answer (the caller bounds the whole job
    /// by its invocation's deadline).
    pub fn for_media(
        base_url: &str,
        version: &str,
        access_token: Secret,
        read_timeout: Duration,
    ) -> Result<Self, String> {
        let http = super::http::client_builder()
            .connect_timeout(Duration::from_secs(3).min(read_timeout))
            .read_timeout(read_timeout)
            .build()
            .map_err(|error| error.to_string())?;
        let version_url = format!("{}/{}", base_url.trim_end_matches('/'), version);
        Ok(Self {
            http,
            version_url,
            access_token: RwLock::new(access_token),
            source: None,
            last_refresh: Mutex::new(None),
        })
    }

    /// The same client, reading an expired token again from `source`.
    pub fn with_token_source(mut self, source: Option<TokenSource>) -> Self {
        self.source = source;
        self
    }

    /// Opens the TLS connection during init so the first send does not pay for the handshake.
    pub async fn warm_up(&self) {
        let origin = self.version_url.split('/').take(3).collect::<Vec<_>>().join("/");
        if let Err(error) = self.http.head(origin).send().await {
            tracing::warn!(error = %error.without_url(), "graph API warm-up failed");
        }
    }

    fn token(&self) -> Secret {
        self.access_token
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// POSTs to the messages endpoint of the number `from`: the 2xx body (`None` when it could
    /// not be read).
    async fn post(&self, from: &str, payload: &Value) -> Result<Option<Vec<u8>>, SendFailure> {
        let url = format!("{}/{}/messages", self.version_url, from);
        let response = self
            .http
            .post(&url)
            .bearer_auth(self.token().expose())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(payload.to_string())
            .send()
            .await
            .map_err(|error| {
                // `without_url` keeps anything in the URL out of logs; the error names only its kind.
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
        let body = self.post(from, payload).await?;
        // A 2xx is Meta's acceptance: an unreadable body only costs the wamid, which the
        // message's status webhooks bring (they carry its id in biz_opaque_callback_data).
        let wamid = body
            .and_then(|body| SendAccepted::parse(&body).ok())
            .map(|accepted| Wamid::new(accepted.wamid));
        Ok(Accepted { wamid })
    }

    async fn mark_read(&self, from: &str, wamid: &Wamid, typing: bool) -> Result<(), SendFailure> {
        let mut payload = serde_json::json!({"messaging_product": "whatsapp", "status": "read", "message_id": wamid});
        if typing {
            payload["typing_indicator"] = serde_json::json!({"type": "text"});
        }
        self.post(from, &payload).await.map(|_| ())
    }

    async fn refresh_token(&self) -> bool {
        let Some(source) = &self.source else {
            return false;
        };
        {
            let mut last = self
                .last_refresh
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.is_some_and(|at| at.elapsed() < TOKEN_REFRESH_INTERVAL) {
                return false;
            }
            *last = Some(Instant::now());
        }
        let Some(fresh) = source.read().await else {
            return false;
        };
        let mut current = self
            .access_token
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let changed = *current != fresh;
        *current = fresh;
        if changed {
            tracing::info!("the WhatsApp access token was replaced in SSM: using the new one");
        }
        changed
    }
}

/// What a media call's failure to get an answer says (the error's text without its URL: a download URL is
/// signed).
fn media_unreachable(what: &str, error: &reqwest::Error) -> MediaError {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "no connection"
    } else {
        "connection lost"
    };
    MediaError::Unavailable(format!("{what}: {kind}"))
}

impl GraphClient {
    /// The scheme and authority of the configured base URL (`https://graph.facebook.com`).
    fn origin(&self) -> &str {
        let after_scheme = self.version_url.find("://").map_or(0, |at| at + 3);
        let end = self.version_url[after_scheme..]
            .find('/')
            .map_or(self.version_url.len(), |at| after_scheme + at);
        &self.version_url[..end]
    }

    /// Where the bearer token may go: HTTPS, or the configured Graph origin itself (the local stand-in).
    fn may_download_from(&self, url: &str) -> bool {
        let origin = self.origin();
        url.starts_with("https://")
            || url
                .strip_prefix(origin)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }
}

impl MediaSource for GraphClient {
    async fn retrieve(&self, media_id: &str) -> Result<MediaInfo, MediaError> {
        let url = format!("{}/{}", self.version_url, media_id);
        let response = self
            .http
            .get(&url)
            .bearer_auth(self.token().expose())
            .send()
            .await
            .map_err(|error| media_unreachable("media retrieval", &error))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|error| media_unreachable("media retrieval", &error))?;
        if (200..300).contains(&status) {
            return serde_json::from_slice(&body)
                .map_err(|_| MediaError::Unavailable(format!("media retrieval answered {status} without a url")));
        }
        let error = GraphError::parse(status, &body);
        let text = format!(
            "Meta answered {status} code {} subcode {}: {}",
            error.code.map_or_else(|| "-".to_owned(), |code| code.to_string()),
            error.subcode.map_or_else(|| "-".to_owned(), |code| code.to_string()),
            error.message.as_deref().unwrap_or("(no message)")
        );
        match error.class() {
            FailureClass::Permanent => Err(MediaError::Refused(text)),
            FailureClass::ExpiredToken => {
                self.refresh_token().await;
                Err(MediaError::Unavailable(text))
            }
            // A read has no side effect: a 5xx is simply retried.
            FailureClass::Transient { .. } | FailureClass::Ambiguous => Err(MediaError::Unavailable(text)),
        }
    }

    async fn download(&self, url: &str) -> Result<MediaDownload, MediaError> {
        if !self.may_download_from(url) {
            // Never the bearer token in clear text to another host.
            return Err(MediaError::Unavailable(
                "the media URL is neither HTTPS nor the Graph API's origin".to_owned(),
            ));
        }
        let response = self
            .http
            .get(url)
            .bearer_auth(self.token().expose())
            .send()
            .await
            .map_err(|error| media_unreachable("media download", &error))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            // An expired URL (404), the token (401), the CDN (5xx): a later try retrieves a fresh URL.
            return Err(MediaError::Unavailable(format!("media download answered {status}")));
        }
        let content_length = response.content_length();
        let chunks = futures_util::stream::try_unfold(response, |mut response| async move {
            match response.chunk().await {
                Ok(Some(chunk)) => Ok(Some((chunk, response))),
                Ok(None) => Ok(None),
                Err(error) => Err(media_unreachable("media download", &error)),
            }
        });
        Ok(MediaDownload {
            content_length,
            chunks: Box::pin(chunks),
        })
    }
}
