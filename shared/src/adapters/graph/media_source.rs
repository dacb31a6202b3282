//! [`MediaSource`] over the Graph API: an inbound media's metadata, then its bytes streamed with
//! the bearer token, each call bounded and its failure named without its (signed) URL.

use std::time::Duration;

use super::*;

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

/// `call`, bounded by `limit` (a media call's read timeout): its error as [`media_unreachable`] says.
async fn within<T>(
    limit: Duration,
    what: &str,
    call: impl Future<Output = Result<T, reqwest::Error>>,
) -> Result<T, MediaError> {
    match tokio::time::timeout(limit, call).await {
        Ok(answer) => answer.map_err(|error| media_unreachable(what, &error)),
        Err(_) => Err(MediaError::Unavailable(format!("{what}: timed out"))),
    }
}

/// A media call's answer other than a 2xx: the status and Meta's error.
struct MediaRefusal {
    status: u16,
    error: GraphError,
}

impl GraphClient {
    /// Where the bearer token may go: HTTPS, or the configured Graph origin itself (the local stand-in).
    fn may_download_from(&self, url: &str) -> bool {
        let origin = self.api.origin();
        url.starts_with("https://")
            || url
                .strip_prefix(origin)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }

    /// `GET url` with `token`: the 2xx answer with its body unread, else the answer read whole.
    async fn media_get(
        &self,
        what: &str,
        url: &str,
        token: &Secret,
    ) -> Result<Result<reqwest::Response, MediaRefusal>, MediaError> {
        let request = self.api.http().get(url).bearer_auth(token.expose()).send();
        let response = within(self.media_read_timeout, what, request).await?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(Ok(response));
        }
        let body = within(self.media_read_timeout, what, response.bytes())
            .await
            .unwrap_or_default();
        Ok(Err(MediaRefusal {
            status,
            error: GraphError::parse(status, &body),
        }))
    }

    /// As [`Self::media_get`]; once more with a renewed token when Meta refused the one presented.
    async fn media_get_renewing(
        &self,
        what: &str,
        url: &str,
    ) -> Result<Result<reqwest::Response, MediaRefusal>, MediaError> {
        let mut first = true;
        loop {
            let (token, generation) = self.api.token();
            match self.media_get(what, url, &token).await? {
                Err(refusal) if first && self.api.renewed(&refusal.error, generation).await => first = false,
                answer => return Ok(answer),
            }
        }
    }
}

impl MediaSource for GraphClient {
    async fn retrieve(&self, media_id: &str) -> Result<MediaInfo, MediaError> {
        let what = "media retrieval";
        let url = format!("{}/{}", self.api.version_url(), media_id);
        match self.media_get_renewing(what, &url).await? {
            Ok(response) => {
                let status = response.status().as_u16();
                let body = within(self.media_read_timeout, what, response.bytes()).await?;
                serde_json::from_slice(&body)
                    .map_err(|_| MediaError::Unavailable(format!("media retrieval answered {status} without a url")))
            }
            Err(MediaRefusal { status, error }) => {
                let text = format!(
                    "Meta answered {status} code {} subcode {}: {}",
                    error.code.map_or_else(|| "-".to_owned(), |code| code.to_string()),
                    error.subcode.map_or_else(|| "-".to_owned(), |code| code.to_string()),
                    error.message.as_deref().unwrap_or("(no message)")
                );
                match error.class() {
                    FailureClass::Permanent => Err(MediaError::Refused(text)),
                    // A read has no side effect: a 5xx is simply retried; an expired token that
                    // was not replaced (yet) too.
                    FailureClass::ExpiredToken | FailureClass::Transient { .. } | FailureClass::Ambiguous => {
                        Err(MediaError::Unavailable(text))
                    }
                }
            }
        }
    }

    async fn download(&self, url: &str) -> Result<MediaDownload, MediaError> {
        if !self.may_download_from(url) {
            // Never the bearer token in clear text to another host.
            return Err(MediaError::Unavailable(
                "the media URL is neither HTTPS nor the Graph API's origin".to_owned(),
            ));
        }
        let response = match self.media_get_renewing("media download", url).await? {
            Ok(response) => response,
            // An expired URL (404), the token (401), the CDN (5xx): a later try retrieves a fresh URL.
            Err(MediaRefusal { status, .. }) => {
                return Err(MediaError::Unavailable(format!("media download answered {status}")));
            }
        };
        let content_length = response.content_length();
        let read_timeout = self.media_read_timeout;
        let chunks = futures_util::stream::try_unfold(response, move |mut response| async move {
            match within(read_timeout, "media download", response.chunk()).await? {
                Some(chunk) => Ok(Some((chunk, response))),
                None => Ok(None),
            }
        });
        Ok(MediaDownload {
            content_length,
            chunks: Box::pin(chunks),
        })
    }
}
