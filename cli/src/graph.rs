//! The Graph API calls of onboarding and the doctor, and Meta's errors in plain words.
//!
//! The token travels in the `Authorization` header only, never in a URL, so no error text
//! (reqwest's or ours) can carry it.

use std::time::Duration;

use bridge::domain::form;
use bridge::domain::graph_error::GraphError;
use bridge::domain::secret::Secret;
use serde_json::Value;

use crate::error::CliError;

/// A Graph API client for one token.
#[derive(Debug, Clone)]
pub struct Graph {
    http: reqwest::Client,
    base: String,
    version: String,
    token: Secret,
}

/// A failed call: Meta's error, or no answer.
#[derive(Debug, Clone)]
pub struct Failure {
    pub error: GraphError,
    /// Set when there was no answer (connection refused, timeout, TLS).
    pub network: Option<String>,
}

impl Graph {
    pub fn new(base: &str, version: &str, token: Secret) -> Result<Self, CliError> {
        Ok(Self {
            http: http_client()?,
            base: base.trim_end_matches('/').to_owned(),
            version: version.to_owned(),
            token,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str, query: &[(&str, &str)]) -> String {
        let mut url = format!("{}/{}/{}", self.base, self.version, path.trim_start_matches('/'));
        if !query.is_empty() {
            let pairs: Vec<String> = query
                .iter()
                .map(|(name, value)| format!("{}={}", form::encode(name), form::encode(value)))
                .collect();
            url.push('?');
            url.push_str(&pairs.join("&"));
        }
        url
    }

    pub async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, Failure> {
        let request = self.http.get(self.url(path, query));
        self.send(request).await
    }

    /// POST with the parameters in the query string (as Meta documents `request_code`/`verify_code`).
    pub async fn post_query(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, Failure> {
        let request = self.http.post(self.url(path, query));
        self.send(request).await
    }

    /// POST with a JSON body (as Meta documents `register`).
    pub async fn post_json(&self, path: &str, body: &Value) -> Result<Value, Failure> {
        let request = self
            .http
            .post(self.url(path, &[]))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        self.send(request).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, Failure> {
        let response = request
            .bearer_auth(self.token.expose())
            .send()
            .await
            .map_err(|error| network_failure(&error))?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|error| network_failure(&error))?;
        if (200..300).contains(&status) {
            serde_json::from_slice(&body).map_err(|_| Failure {
                error: GraphError {
                    http_status: status,
                    message: Some("the answer is not JSON".to_owned()),
                    ..GraphError::default()
                },
                network: None,
            })
        } else {
            Err(Failure {
                error: GraphError::parse(status, &body),
                network: None,
            })
        }
    }
}

fn network_failure(error: &reqwest::Error) -> Failure {
    Failure {
        error: GraphError::network(),
        network: Some(error.without_url_text()),
    }
}

trait WithoutUrl {
    fn without_url_text(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_text(&self) -> String {
        let mut text = String::new();
        let mut source: Option<&dyn std::error::Error> = Some(self);
        let mut first = true;
        while let Some(error) = source {
            let part = if first {
                // reqwest's own message names the URL; ours never holds a secret, but keep it short.
                if self.is_timeout() {
                    "timed out".to_owned()
                } else if self.is_connect() {
                    "could not connect".to_owned()
                } else {
                    "request failed".to_owned()
                }
            } else {
                error.to_string()
            };
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
            first = false;
            source = error.source();
        }
        text
    }
}

/// The HTTP client of every command: bounded connect and total time.
pub fn http_client() -> Result<reqwest::Client, CliError> {
    bridge::adapters::http::client_builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(20))
        .build()
        .map_err(|error| CliError::Config(format!("cannot build the HTTP client: {error}")))
}

/// Why a request got no answer, in the words every command uses.
pub fn no_answer(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timed out"
    } else {
        "could not connect"
    }
}

/// Meta's answer to `what`, in plain words with what to do about it.
pub fn explain(what: &str, failure: &Failure) -> String {
    if let Some(network) = &failure.network {
        return format!("{what}: no answer from the Graph API ({network}). Check GRAPH_API_BASE_URL and the network.");
    }
    let error = &failure.error;
    let code = error.code.unwrap_or_default();
    let advice = match code {
        0 | 102 | 190 => "The access token is invalid or expired. Create a new one (a System User token does not expire) and set WHATSAPP_ACCESS_TOKEN, or the stack's access-token parameter.".to_owned(),
        3 | 10 | 200..=299 => "The token lacks a permission for this call. It needs whatsapp_business_management (onboarding, doctor) and whatsapp_business_messaging (sending), granted on this WhatsApp Business Account: check it with `wabridge doctor` or Meta's Access Token Debugger.".to_owned(),
        4 | 17 | 613 | 80007 | 80008 | 130429 | 133015 | 133016 => "Meta is rate limiting these calls. Wait a while (for registration attempts, some minutes to hours) and run the command again: it resumes where it stopped.".to_owned(),
        136024 => "Meta did not send a verification code. The number may already be verified (then run `wabridge onboard` again: it skips this step), codes may have been requested too often (wait a few hours), or the number cannot take the call.".to_owned(),
        136025 => "Meta refused the verification code: it is wrong or expired. Run `wabridge onboard --new-code` for a new call, or `--code` with the code from the verification email.".to_owned(),
        133005 => "The two-step verification PIN does not match the PIN already set on this number. Use that PIN (WHATSAPP_REGISTRATION_PIN), or reset it in WhatsApp Manager.".to_owned(),
        133006 => "The number must be verified again before it can be registered: run `wabridge onboard --new-code`.".to_owned(),
        133008 | 133009 => "Too many wrong PINs, or tried too fast: wait before trying again.".to_owned(),
        133010 => "The number is not registered with the Cloud API: run `wabridge onboard`.".to_owned(),
        131031 => "The WhatsApp Business Account is locked (policy or PIN). See WhatsApp Manager.".to_owned(),
        100 if error.subcode == Some(33) => "That id does not exist, or this token cannot see it: check WHATSAPP_PHONE_NUMBER_ID / WHATSAPP_BUSINESS_ACCOUNT_ID and the token's assets.".to_owned(),
        100 => "Meta says a parameter is invalid.".to_owned(),
        _ if error.http_status == 401 => "The access token was refused.".to_owned(),
        _ => "Meta refused the call.".to_owned(),
    };
    let mut said = Vec::new();
    if let Some(message) = &error.message {
        said.push(message.clone());
    }
    if let Some(details) = &error.details {
        said.push(details.clone());
    }
    let code_text = error.code.map(|c| format!(", code {c}")).unwrap_or_default();
    let trace = error
        .fbtrace_id
        .as_deref()
        .map(|t| format!(" (fbtrace_id {t})"))
        .unwrap_or_default();
    format!(
        "{what} failed (HTTP {}{code_text}): {advice} Meta says: {}{trace}",
        error.http_status,
        if said.is_empty() {
            "nothing".to_owned()
        } else {
            said.join(" — ")
        }
    )
}

/// Whether the failure is an invalid/expired token.
pub fn is_token_error(failure: &Failure) -> bool {
    failure.network.is_none()
        && (matches!(failure.error.code, Some(0 | 102 | 190))
            || (failure.error.code.is_none() && failure.error.http_status == 401))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(status: u16, body: &str) -> Failure {
        Failure {
            error: GraphError::parse(status, body.as_bytes()),
            network: None,
        }
    }

    #[test]
    fn explains_the_registration_errors_in_plain_words() {
        let expired = failure(
            401,
            r#"{"error":{"message":"Error validating access token","type":"OAuthException","code":190,"fbtrace_id":"Ab"}}"#,
        );
        let text = explain("request_code", &expired);
        assert!(
            text.contains("invalid or expired") && text.contains("code 190") && text.contains("fbtrace_id Ab"),
            "{text}"
        );
        assert!(is_token_error(&expired));
        let wrong = failure(
            400,
            r#"{"error":{"message":"(#136025) Verify code error","code":136025}}"#,
        );
        assert!(explain("verify_code", &wrong).contains("--new-code"));
        assert!(!is_token_error(&wrong));
        let permission = failure(403, r#"{"error":{"message":"(#200) Permissions error","code":200}}"#);
        assert!(explain("x", &permission).contains("whatsapp_business_management"));
        let limited = failure(400, r#"{"error":{"message":"(#133016) too many","code":133016}}"#);
        assert!(explain("register", &limited).contains("rate limiting"));
        let pin = failure(
            400,
            r#"{"error":{"message":"(#133005) Two step verification PIN Mismatch","code":133005}}"#,
        );
        assert!(explain("register", &pin).contains("PIN"));
    }
}
