//! Shared set-up for the integration tests: SDK clients pointed at the local AWS
//! emulator (moto server, started by `make test`), fresh queues per test, and
//! requests shaped exactly like API Gateway's.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName, QueueAttributeName};
use base64::Engine;
use bridge::domain::meta_signature;
use bridge::domain::secret::Secret;
use serde_json::{Value, json};

pub use local_stack::local_env;

pub struct Emulator {
    pub env: HashMap<String, String>,
    pub sdk: SdkConfig,
    pub sqs: aws_sdk_sqs::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
}

impl Emulator {
    /// Clients for the emulator named in local.env. Panics with a clear message when it is not up.
    pub async fn connect() -> Self {
        if std::env::var_os("TEST_LOG").is_some() {
            bridge::telemetry::init();
        }
        let env = local_env();
        let endpoint = env["AWS_ENDPOINT_URL"].clone();
        let sdk = sdk_config(&endpoint, &env["AWS_REGION"]).await;
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        if let Err(error) = sqs.list_queues().send().await {
            panic!(
                "the AWS emulator is not answering at {endpoint}: run the tests with `make test`, which starts it ({})",
                aws_sdk_sqs::error::DisplayErrorContext(error)
            );
        }
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
            s3: bridge::adapters::s3::S3BlobStore::client(&sdk),
            sqs,
            sdk,
            env,
        }
    }

    pub fn table(&self) -> &str {
        &self.env["TABLE_NAME"]
    }

    pub fn bucket(&self) -> &str {
        &self.env["PAYLOAD_BUCKET"]
    }

    /// A new, empty queue for one test; with a dead-letter queue when `max_receive_count` is given.
    pub async fn fresh_queue(
        &self,
        prefix: &str,
        visibility_timeout: u32,
        max_receive_count: Option<u32>,
    ) -> TestQueue {
        let name = unique(prefix).replace(['.', '#'], "-");
        let mut dlq = None;
        let mut create = self
            .sqs
            .create_queue()
            .queue_name(&name)
            .attributes(QueueAttributeName::VisibilityTimeout, visibility_timeout.to_string());
        if let Some(count) = max_receive_count {
            let dlq_url = self
                .sqs
                .create_queue()
                .queue_name(format!("{name}-dlq"))
                .send()
                .await
                .unwrap()
                .queue_url
                .unwrap();
            let dlq_arn = self.queue_arn(&dlq_url).await;
            create = create.attributes(
                QueueAttributeName::RedrivePolicy,
                json!({ "deadLetterTargetArn": dlq_arn, "maxReceiveCount": count }).to_string(),
            );
            dlq = Some(dlq_url);
        }
        let url = create.send().await.unwrap().queue_url.unwrap();
        let arn = self.queue_arn(&url).await;
        TestQueue { url, arn, dlq }
    }

    pub async fn queue_arn(&self, url: &str) -> String {
        self.sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()
            .remove(&QueueAttributeName::QueueArn)
            .unwrap()
    }

    /// Every message currently visible in the queue (drains it; visibility is left to expire).
    pub async fn receive_all(&self, url: &str) -> Vec<Message> {
        let mut all = Vec::new();
        loop {
            let batch = self
                .sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .wait_time_seconds(0)
                .message_attribute_names("All")
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .send()
                .await
                .unwrap()
                .messages
                .unwrap_or_default();
            if batch.is_empty() {
                return all;
            }
            all.extend(batch);
        }
    }

    pub async fn message_item(&self, wamid: &str) -> Option<HashMap<String, AttributeValue>> {
        self.item(&format!("MSG#{wamid}"), "MSG").await
    }

    pub async fn item(&self, pk: &str, sk: &str) -> Option<HashMap<String, AttributeValue>> {
        self.dynamodb
            .get_item()
            .table_name(self.table())
            .key("pk", AttributeValue::S(pk.to_owned()))
            .key("sk", AttributeValue::S(sk.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
    }
}

pub async fn sdk_config(endpoint: &str, region: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(bridge::adapters::http::SdkHttpClient::shared())
        .endpoint_url(endpoint)
        .region(Region::new(region.to_owned()))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "local-tests",
        ))
        .load()
        .await
}

pub struct TestQueue {
    pub url: String,
    pub arn: String,
    pub dlq: Option<String>,
}

/// A unique id for this test run: `prefix.<time>.<counter>`.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}.{}{n:04}", chrono::Utc::now().format("%H%M%S%f"))
}

pub fn s(item: &HashMap<String, AttributeValue>, name: &str) -> String {
    match item.get(name) {
        Some(AttributeValue::S(text)) => text.clone(),
        Some(AttributeValue::N(number)) => number.clone(),
        other => panic!("attribute {name} is {other:?}"),
    }
}

/// An API Gateway HTTP API (2.0) request as `lambda_http` decodes it in Lambda.
pub fn api_request(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    base64_body: bool,
) -> lambda_http::Request {
    let headers: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), Value::String((*v).to_owned())))
        .collect();
    let params: serde_json::Map<String, Value> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_owned(), Value::String(v.to_owned()))
        })
        .collect();
    let body_value = if body.is_empty() {
        Value::Null
    } else if base64_body {
        Value::String(base64::engine::general_purpose::STANDARD.encode(body))
    } else {
        Value::String(String::from_utf8(body.to_vec()).unwrap())
    };
    let event = json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "queryStringParameters": if params.is_empty() { Value::Null } else { Value::Object(params) },
        "requestContext": {
            "accountId": "123456789012", "apiId": "test", "domainName": "test.local", "domainPrefix": "test",
            "http": { "method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "tests" },
            "requestId": unique("req"), "routeKey": format!("{method} {path}"), "stage": "$default",
            "time": "22/Nov/2026:10:30:00 +0000", "timeEpoch": 0
        },
        "body": body_value,
        "isBase64Encoded": base64_body,
    });
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

/// A webhook POST signed as Meta signs it.
pub fn signed_webhook(secret: &str, body: &[u8], base64_body: bool) -> lambda_http::Request {
    let signature = meta_signature::sign(&Secret::new(secret), body);
    api_request(
        "POST",
        "/webhooks/whatsapp",
        "",
        &[
            ("Content-Type", "application/json"),
            ("X-Hub-Signature-256", &signature),
        ],
        body,
        base64_body,
    )
}

/// A text-message webhook for our phone number with the given wamid, sender and time.
pub fn text_webhook(phone_number_id: &str, wamid: &str, from: &str, timestamp: i64, text: &str) -> Vec<u8> {
    json!({"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{
        "messaging_product":"whatsapp",
        "metadata":{"display_phone_number":"15550783881","phone_number_id":phone_number_id},
        "contacts":[{"profile":{"name":"Test User"},"wa_id":from}],
        "messages":[{"from":from,"id":wamid,"timestamp":timestamp.to_string(),"type":"text","text":{"body":text}}]}}]}]})
    .to_string()
    .into_bytes()
}

/// A status webhook for an outbound wamid.
pub fn status_webhook(wamid: &str, status: &str, timestamp: i64, errors: Value) -> Vec<u8> {
    let mut status_object =
        json!({"id":wamid,"status":status,"timestamp":timestamp.to_string(),"recipient_id":"972501234567"});
    if status == "sent" {
        status_object["conversation"] = json!({"id":"CONV1","origin":{"type":"service"}});
        status_object["pricing"] = json!({"billable":true,"pricing_model":"PMP","category":"service"});
    }
    if !errors.is_null() {
        status_object["errors"] = errors;
    }
    json!({"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{
        "messaging_product":"whatsapp",
        "metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
        "statuses":[status_object]}}]}]})
    .to_string()
    .into_bytes()
}

/// A Twilio webhook POST to `path` (with `query`), signed with `auth_token` for `base_url`.
pub fn twilio_request(
    base_url: &str,
    path: &str,
    query: &str,
    params: &[(&str, &str)],
    auth_token: &str,
) -> lambda_http::Request {
    use bridge::domain::form;
    let owned: Vec<(String, String)> = params.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let url = if query.is_empty() {
        format!("{base_url}{path}")
    } else {
        format!("{base_url}{path}?{query}")
    };
    let signature = bridge::domain::twilio_signature::expected_signature(&Secret::new(auth_token), &url, &owned);
    let body: Vec<String> = owned
        .iter()
        .map(|(k, v)| format!("{}={}", form::encode(k), form::encode(v)))
        .collect();
    api_request(
        "POST",
        path,
        query,
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("X-Twilio-Signature", &signature),
        ],
        body.join("&").as_bytes(),
        true,
    )
}

/// The emails the emulator's SES has accepted: (from, to, subject, body).
pub async fn sent_emails(endpoint: &str) -> Vec<(String, Vec<String>, String, String)> {
    let text = http_get(&format!("{endpoint}/moto-api/data.json")).await;
    let data: Value = serde_json::from_str(&text).unwrap();
    data["ses"]["Message"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|m| {
            let to = m["destinations"]["ToAddresses"].as_array().cloned().unwrap_or_default();
            (
                m["source"].as_str().unwrap_or_default().to_owned(),
                to.iter().filter_map(|a| a.as_str().map(str::to_owned)).collect(),
                m["subject"].as_str().unwrap_or_default().to_owned(),
                m["body"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// A minimal HTTP/1.1 GET over loopback (the emulator's own API); returns the body.
pub async fn http_get(url: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".to_owned()));
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        dechunk(body)
    } else {
        body.to_owned()
    }
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || tail.len() < size {
            break;
        }
        out.push_str(&tail[..size]);
        rest = tail[size..].trim_start_matches("\r\n");
    }
    out
}
