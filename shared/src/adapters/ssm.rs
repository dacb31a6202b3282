//! SSM Parameter Store's `GetParameters`, the one SSM call the functions make (at cold start),
//! over the bundle's one HTTP client and signed with `aws-sigv4`, the crate the SDK itself signs
//! every request with.
//!
//! Why not `aws-sdk-ssm`: its client, serializers and endpoint rules linked about 150 KB into every
//! function's zipped artifact for this single call, and put the worker and the send API over the
//! 2.5 MB budget (figures in docs/architecture.md, "Function sizes").
//!
//! The wire format is AWS JSON 1.1 as the SSM API reference documents it: `POST /` with
//! `X-Amz-Target: AmazonSSM.GetParameters`, `Content-Type: application/x-amz-json-1.1`, the body
//! `{"Names": [...], "WithDecryption": true}`; the answer `{"Parameters": [{"Name", "Value", ...}],
//! "InvalidParameters": [...]}`, an error `{"__type": "...#Code", "message": "..."}`. Retries follow
//! the SDK's standard mode: 3 attempts, exponential backoff with jitter, on throttling, 5xx and
//! transport failures. The values are never logged, formatted into an error, or kept beyond the
//! returned map.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_sdk_s3::config::ProvideCredentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings};
use serde::Deserialize;

use super::http::client_builder;

/// Attempts in all, as the SDK's standard retry mode.
const MAX_ATTEMPTS: u32 = 3;
/// The first retry waits up to this long (full jitter), doubling after.
const BASE_BACKOFF: Duration = Duration::from_millis(100);
/// Without a timeout configuration (tests build a bare `SdkConfig`): the bound of the whole read.
const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(9);

/// Why the parameters could not be read. Carries AWS's error code and message, never a value.
#[derive(Debug, thiserror::Error)]
pub enum SsmError {
    #[error("no AWS region is configured")]
    NoRegion,
    #[error("no AWS credentials: {0}")]
    Credentials(String),
    #[error("SSM GetParameters answered {status} {code}: {message}{request_id}")]
    Refused {
        status: u16,
        code: String,
        message: String,
        request_id: String,
    },
    #[error("SSM GetParameters could not be called: {0}")]
    Transport(String),
    #[error("SSM GetParameters could not be signed: {0}")]
    Signing(String),
    #[error("SSM GetParameters did not answer within {0:?}")]
    TimedOut(Duration),
}

impl SsmError {
    /// Worth another attempt: throttling, a 5xx, a dropped connection or a slow answer.
    fn is_transient(&self) -> bool {
        match self {
            Self::Refused { status, code, .. } => {
                *status >= 500 || code.contains("Throttling") || code == "TooManyRequestsException"
            }
            Self::Transport(_) | Self::TimedOut(_) => true,
            Self::NoRegion | Self::Credentials(_) | Self::Signing(_) => false,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetParametersOutput {
    #[serde(default)]
    parameters: Vec<Parameter>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Parameter {
    name: String,
    value: String,
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(rename = "__type", default)]
    kind: String,
    #[serde(alias = "Message", default)]
    message: String,
}

/// `GetParameters` of `names` (at most 10, SSM's limit), decrypted: parameter name → value.
/// A name SSM does not know is simply absent from the map (SSM lists it as invalid).
pub async fn get_parameters(sdk_config: &SdkConfig, names: &[String]) -> Result<HashMap<String, String>, SsmError> {
    let region = sdk_config.region().ok_or(SsmError::NoRegion)?.to_string();
    let url = endpoint(sdk_config.endpoint_url(), &region);
    let timeouts = sdk_config.timeout_config();
    let operation_timeout = timeouts
        .and_then(|config| config.operation_timeout())
        .unwrap_or(DEFAULT_OPERATION_TIMEOUT);
    let mut builder = client_builder().redirect(reqwest::redirect::Policy::none());
    if let Some(connect) = timeouts.and_then(|config| config.connect_timeout()) {
        builder = builder.connect_timeout(connect);
    }
    if let Some(attempt) = timeouts.and_then(|config| config.operation_attempt_timeout()) {
        builder = builder.timeout(attempt);
    }
    let client = builder
        .build()
        .map_err(|error| SsmError::Transport(error.to_string()))?;
    let body = serde_json::json!({"Names": names, "WithDecryption": true}).to_string();
    let credentials = sdk_config
        .credentials_provider()
        .ok_or_else(|| SsmError::Credentials("no credentials provider".to_owned()))?;

    let read = async {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let credentials = credentials
                .provide_credentials()
                .await
                .map_err(|error| SsmError::Credentials(super::describe(&error)))?;
            match call(&client, &url, &region, credentials, &body).await {
                Err(error) if error.is_transient() && attempt < MAX_ATTEMPTS => {
                    tracing::warn!(attempt, error = %error, "SSM GetParameters failed; retrying");
                    tokio::time::sleep(backoff(attempt)).await;
                }
                outcome => return outcome,
            }
        }
    };
    tokio::time::timeout(operation_timeout, read)
        .await
        .map_err(|_| SsmError::TimedOut(operation_timeout))?
}

/// `AWS_ENDPOINT_URL` (an emulator) when set, else the region's public endpoint.
fn endpoint(configured: Option<&str>, region: &str) -> String {
    match configured {
        Some(url) => format!("{}/", url.trim_end_matches('/')),
        // The China partition's DNS suffix is its own; every other region is under amazonaws.com.
        None if region.starts_with("cn-") => format!("https://ssm.{region}.amazonaws.com.cn/"),
        None => format!("https://ssm.{region}.amazonaws.com/"),
    }
}

/// Full jitter: a random wait in [0, base × 2^(attempt-1)).
fn backoff(attempt: u32) -> Duration {
    let ceiling = BASE_BACKOFF * 2u32.saturating_pow(attempt.saturating_sub(1));
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.subsec_nanos());
    ceiling.mul_f64(f64::from(nanos % 1000) / 1000.0)
}

async fn call(
    client: &reqwest::Client,
    url: &str,
    region: &str,
    credentials: aws_sdk_s3::config::Credentials,
    body: &str,
) -> Result<HashMap<String, String>, SsmError> {
    let headers = [
        ("content-type", "application/x-amz-json-1.1"),
        ("x-amz-target", "AmazonSSM.GetParameters"),
    ];
    let signed = signature_headers(url, region, credentials, &headers, body.as_bytes(), SystemTime::now())?;
    let mut request = client.post(url).body(body.to_owned());
    for (name, value) in headers
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .chain(signed)
    {
        request = request.header(name, value);
    }
    let response = request.send().await.map_err(|error| {
        if error.is_timeout() {
            SsmError::Transport(format!("timed out: {error}"))
        } else {
            SsmError::Transport(error.to_string())
        }
    })?;
    let status = response.status();
    let request_id = response
        .headers()
        .get("x-amzn-requestid")
        .and_then(|value| value.to_str().ok())
        .map(|id| format!(" (request id {id})"))
        .unwrap_or_default();
    let bytes = response
        .bytes()
        .await
        .map_err(|error| SsmError::Transport(error.to_string()))?;
    if !status.is_success() {
        let error: ErrorBody = serde_json::from_slice(&bytes).unwrap_or_default();
        // "com.amazonaws.ssm#AccessDeniedException" → "AccessDeniedException".
        let code = error.kind.rsplit('#').next().unwrap_or_default();
        return Err(SsmError::Refused {
            status: status.as_u16(),
            code: if code.is_empty() {
                "UnknownError".to_owned()
            } else {
                code.to_owned()
            },
            message: error.message,
            request_id,
        });
    }
    let output: GetParametersOutput = serde_json::from_slice(&bytes).map_err(|error| SsmError::Refused {
        status: status.as_u16(),
        code: "UnreadableAnswer".to_owned(),
        // serde's message names the position and what was expected, never the input.
        message: error.to_string(),
        request_id,
    })?;
    Ok(output
        .parameters
        .into_iter()
        .map(|parameter| (parameter.name, parameter.value))
        .collect())
}

/// The SigV4 headers (`authorization`, `x-amz-date`, `x-amz-security-token` with temporary
/// credentials) for a POST of `body` to `url` with `headers`, for the `ssm` service.
fn signature_headers(
    url: &str,
    region: &str,
    credentials: aws_sdk_s3::config::Credentials,
    headers: &[(&str, &str)],
    body: &[u8],
    time: SystemTime,
) -> Result<Vec<(String, String)>, SsmError> {
    let request = SignableRequest::new("POST", url, headers.iter().copied(), SignableBody::Bytes(body))
        .map_err(|error| SsmError::Signing(error.to_string()))?;
    let instructions =
        super::sigv4::instructions(request, credentials, region, "ssm", time, SigningSettings::default())
            .map_err(SsmError::Signing)?;
    Ok(instructions
        .headers()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_is_the_emulator_or_the_regional_one() {
        assert_eq!(
            endpoint(Some("http://127.0.0.1:4566/"), "eu-west-1"),
            "http://127.0.0.1:4566/"
        );
        assert_eq!(endpoint(None, "eu-west-1"), "https://ssm.eu-west-1.amazonaws.com/");
        assert_eq!(endpoint(None, "cn-north-1"), "https://ssm.cn-north-1.amazonaws.com.cn/");
    }

    #[test]
    fn throttling_5xx_and_transport_are_retried_a_refusal_is_not() {
        let refused = |status: u16, code: &str| SsmError::Refused {
            status,
            code: code.to_owned(),
            message: String::new(),
            request_id: String::new(),
        };
        assert!(refused(400, "ThrottlingException").is_transient());
        assert!(refused(503, "ServiceUnavailable").is_transient());
        assert!(SsmError::Transport("reset".to_owned()).is_transient());
        assert!(!refused(400, "AccessDeniedException").is_transient());
        assert!(!refused(400, "ValidationException").is_transient());
        assert!(!SsmError::NoRegion.is_transient());
        assert!(!SsmError::Signing("no host".to_owned()).is_transient());
    }

    #[test]
    fn backoff_stays_under_its_doubling_ceiling() {
        for attempt in 1..=4 {
            assert!(backoff(attempt) < BASE_BACKOFF * 2u32.pow(attempt - 1));
        }
    }

    #[test]
    fn the_request_is_signed_for_ssm_with_the_target_and_body() {
        let credentials =
            aws_sdk_s3::config::Credentials::new("AKIDLOCAL", "local-secret", Some("token".to_owned()), None, "test");
        let headers = [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", "AmazonSSM.GetParameters"),
        ];
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_547_200); // 2025-12-01T00:00:00Z
        let signed = signature_headers(
            "https://ssm.eu-west-1.amazonaws.com/",
            "eu-west-1",
            credentials,
            &headers,
            b"{}",
            time,
        )
        .expect("signed");
        let get = |name: &str| {
            signed
                .iter()
                .find(|(header, _)| *header == name)
                .map(|(_, value)| value.as_str())
        };
        let authorization = get("authorization").expect("authorization header");
        assert!(
            authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDLOCAL/20251201/eu-west-1/ssm/aws4_request"),
            "{authorization}"
        );
        assert!(
            authorization.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target"),
            "{authorization}"
        );
        assert_eq!(get("x-amz-date"), Some("20251201T000000Z"));
        assert_eq!(get("x-amz-security-token"), Some("token"));
    }

    /// A one-connection-at-a-time HTTP server answering `answers` in order; returns its URL and
    /// the requests it saw (head and body, lowercased head).
    fn server(answers: Vec<(u16, &'static str)>) -> (String, std::sync::mpsc::Receiver<String>) {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let (seen, requests) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for (status, body) in answers {
                let Ok((stream, _)) = listener.accept() else { return };
                let mut reader = BufReader::new(stream);
                let mut head = String::new();
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    let lower = line.to_ascii_lowercase();
                    if let Some(value) = lower.strip_prefix("content-length:") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                    head.push_str(&lower);
                }
                let mut request_body = vec![0; length];
                let _ = reader.read_exact(&mut request_body);
                let _ = seen.send(format!("{head}\n{}", String::from_utf8_lossy(&request_body)));
                let answer = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/x-amz-json-1.1\r\nx-amzn-requestid: req-{status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = reader.get_mut().write_all(answer.as_bytes());
            }
        });
        (url, requests)
    }

    fn sdk_config(url: &str) -> SdkConfig {
        SdkConfig::builder()
            .region(aws_config::Region::new("eu-west-1"))
            .endpoint_url(url)
            .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(
                aws_sdk_s3::config::Credentials::new("AKIDLOCAL", "local-secret", None, None, "test"),
            ))
            .build()
    }

    #[tokio::test]
    async fn a_5xx_is_retried_and_the_values_come_back_by_name() {
        let (url, requests) = server(vec![
            (503, r#"{"__type":"ServiceUnavailable","message":"try again"}"#),
            (
                200,
                r#"{"InvalidParameters":["/b/missing"],"Parameters":[{"ARN":"arn:aws:ssm:eu-west-1:1:parameter/b/key","DataType":"text","Name":"/b/key","Type":"SecureString","Value":"the-value","Version":1}]}"#,
            ),
        ]);
        let names = vec!["/b/key".to_owned(), "/b/missing".to_owned()];
        let values = get_parameters(&sdk_config(&url), &names)
            .await
            .expect("read after a retry");
        assert_eq!(values.get("/b/key").map(String::as_str), Some("the-value"));
        assert_eq!(values.len(), 1);
        for _ in 0..2 {
            let request = requests.recv().expect("a request");
            assert!(request.starts_with("post / http/1.1"), "{request}");
            assert!(request.contains("x-amz-target: amazonssm.getparameters"), "{request}");
            assert!(
                request.contains("content-type: application/x-amz-json-1.1"),
                "{request}"
            );
            assert!(
                request.contains("authorization: aws4-hmac-sha256 credential=akidlocal/"),
                "{request}"
            );
            assert!(
                request.ends_with(r#"{"Names":["/b/key","/b/missing"],"WithDecryption":true}"#),
                "{request}"
            );
        }
    }

    #[tokio::test]
    async fn a_refusal_is_not_retried_and_names_the_code_and_message() {
        let (url, requests) = server(vec![
            (
                400,
                r#"{"__type":"com.amazonaws.ssm#AccessDeniedException","message":"not authorized to perform ssm:GetParameters"}"#,
            ),
            (200, r#"{"Parameters":[]}"#),
        ]);
        let error = get_parameters(&sdk_config(&url), &["/b/key".to_owned()])
            .await
            .expect_err("refused");
        assert_eq!(
            error.to_string(),
            "SSM GetParameters answered 400 AccessDeniedException: not authorized to perform ssm:GetParameters (request id req-400)"
        );
        assert!(requests.recv().is_ok());
        assert!(requests.try_recv().is_err(), "retried a refusal");
    }
}
