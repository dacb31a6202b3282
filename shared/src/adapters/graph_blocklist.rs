//! [`Blocklist`] over HTTPS: `POST`/`DELETE {base}/{version}/{phone-number-id}/block_users` with one
//! user, and `GET` of the blocklist's pages (`paging.next` followed, at most [`MAX_PAGES`]). The calls go
//! through the process's one [`GraphApi`] (its connections and token); a call Meta refused for the token
//! is made once more with a renewed one (blocking, unblocking and reading twice are harmless).

use std::time::Duration;

use serde_json::Value;

use super::graph::GraphApi;
use crate::domain::blocklist::{self, BlockAction};
use crate::domain::graph_error::GraphError;
use crate::ports::{BlockFailure, Blocklist};

/// At most this many pages of a blocklist are read to answer whether a user is on it.
pub const MAX_PAGES: usize = 10;

/// The send API's view of [`GraphApi`]: the numbers' blocklists.
pub struct GraphBlocklist {
    api: GraphApi,
    /// Bounds each call.
    timeout: Duration,
}

impl GraphBlocklist {
    pub fn new(api: GraphApi, timeout: Duration) -> Self {
        Self { api, timeout }
    }

    /// One call with the current token: Meta's status and body.
    async fn call(&self, method: reqwest::Method, url: &str, body: Option<&Value>) -> Result<(u16, Vec<u8>), String> {
        let (token, _) = self.api.token();
        let mut request = self
            .api
            .http()
            .request(method, url)
            .timeout(self.timeout)
            .bearer_auth(token.expose());
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        // The error names only its kind: anything in the URL stays out of logs.
        let response = request.send().await.map_err(|error| error.without_url().to_string())?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|error| error.without_url().to_string())?;
        Ok((status, bytes.to_vec()))
    }

    /// A call, made once more with a renewed token when Meta refused the one presented; `read` turns
    /// the answer into the call's result.
    async fn renewing<R>(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<&Value>,
        read: impl Fn(u16, &[u8]) -> Result<R, Box<GraphError>>,
    ) -> Result<R, BlockFailure> {
        let mut first = true;
        loop {
            let generation = self.api.token().1;
            let (status, bytes) = self
                .call(method.clone(), url, body)
                .await
                .map_err(BlockFailure::Unavailable)?;
            match read(status, &bytes) {
                Err(error) if first && self.api.renewed(&error, generation).await => first = false,
                answer => return answer.map_err(BlockFailure::Refused),
            }
        }
    }
}

impl Blocklist for GraphBlocklist {
    async fn change(&self, from: &str, user: &str, action: BlockAction) -> Result<(), BlockFailure> {
        let url = format!("{}/{from}/block_users", self.api.version_url());
        let method = match action {
            BlockAction::Block => reqwest::Method::POST,
            BlockAction::Unblock => reqwest::Method::DELETE,
        };
        let body = blocklist::request_body(user);
        self.renewing(method, &url, Some(&body), blocklist::parse_answer).await
    }

    async fn is_blocked(&self, from: &str, user: &str) -> Result<Option<bool>, BlockFailure> {
        let mut url = format!("{}/{from}/block_users", self.api.version_url());
        for _ in 0..MAX_PAGES {
            let page = self
                .renewing(reqwest::Method::GET, &url, None, |status, bytes| {
                    if !(200..300).contains(&status) {
                        return Err(Box::new(GraphError::parse(status, bytes)));
                    }
                    Ok(serde_json::from_slice::<Value>(bytes).unwrap_or(Value::Null))
                })
                .await?;
            if page.is_null() {
                return Err(BlockFailure::Unavailable(
                    "the blocklist's page could not be read".to_owned(),
                ));
            }
            match blocklist::page_lists(&page, user) {
                (true, _) => return Ok(Some(true)),
                (false, None) => return Ok(Some(false)),
                (false, Some(next)) => url = next,
            }
        }
        Ok(None)
    }
}
