//! The AWS emulator (moto server) the tests run against: SDK clients for the endpoint
//! `local_env()` names, a fresh queue per test, and reads of what the code wrote.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName, QueueAttributeName};
use bridge::adapters::dynamodb::{MESSAGE_SK, message_pk};
use serde_json::{Value, json};

pub use local_stack::local_env;

/// A DynamoDB item as the SDK returns it.
pub type Item = HashMap<String, AttributeValue>;

/// Clients for the emulator, and the configuration (`local_env()`) they were made from.
pub struct Emulator {
    pub env: HashMap<String, String>,
    pub sdk: SdkConfig,
    pub sqs: aws_sdk_sqs::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
}

/// A queue made for one test, with its dead-letter queue.
pub struct TestQueue {
    pub name: String,
    pub url: String,
    pub arn: String,
    /// Linked by a redrive policy only when the queue was made with a `max_receive_count`.
    pub dlq: String,
}

/// A test's own event bus and the queue its tap rule copies every event to.
pub struct TappedBus {
    pub name: String,
    pub tap_url: String,
}

impl Emulator {
    /// Clients for the emulator `local_env()` names. Panics with a clear message when it is not up.
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
                "the AWS emulator is not answering at {endpoint}: run the tests with `make test`, which starts it \
                 (or `. scripts/env.sh && use_test_stack && start_emulator && python scripts/local_stack.py`) ({})",
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

    pub fn endpoint(&self) -> &str {
        &self.env["AWS_ENDPOINT_URL"]
    }

    pub fn table(&self) -> &str {
        &self.env["TABLE_NAME"]
    }

    pub fn bucket(&self) -> &str {
        &self.env["PAYLOAD_BUCKET"]
    }

    /// A new, empty queue and dead-letter queue for one test; the queue sends its messages to the
    /// dead-letter queue after `max_receive_count` receives when that is given.
    pub async fn fresh_queue(
        &self,
        prefix: &str,
        visibility_timeout: u32,
        max_receive_count: Option<u32>,
    ) -> TestQueue {
        let name = unique(prefix).replace(['.', '#'], "-");
        let dlq = self.create_queue(&format!("{name}-dlq"), &[]).await;
        let mut attributes = vec![(QueueAttributeName::VisibilityTimeout, visibility_timeout.to_string())];
        if let Some(count) = max_receive_count {
            let dlq_arn = self.queue_arn(&dlq).await;
            let policy = json!({ "deadLetterTargetArn": dlq_arn, "maxReceiveCount": count });
            attributes.push((QueueAttributeName::RedrivePolicy, policy.to_string()));
        }
        let url = self.create_queue(&name, &attributes).await;
        let arn = self.queue_arn(&url).await;
        TestQueue { name, url, arn, dlq }
    }

    /// An event bus of its own for one test, with a rule copying every whatsapp-bridge event to a
    /// fresh tap queue.
    pub async fn tapped_bus(&self, prefix: &str) -> TappedBus {
        let events = aws_sdk_eventbridge::Client::new(&self.sdk);
        let tap = self.fresh_queue(&format!("{prefix}-tap"), 30, None).await;
        let name = format!("{}-bus", tap.name);
        events
            .create_event_bus()
            .name(&name)
            .send()
            .await
            .expect("create the event bus");
        events
            .put_rule()
            .name("tap")
            .event_bus_name(&name)
            .event_pattern(json!({"source": ["whatsapp-bridge"]}).to_string())
            .send()
            .await
            .expect("put the tap rule");
        let target = aws_sdk_eventbridge::types::Target::builder()
            .id("tap")
            .arn(&tap.arn)
            .build()
            .expect("a target with id and arn");
        events
            .put_targets()
            .rule("tap")
            .event_bus_name(&name)
            .targets(target)
            .send()
            .await
            .expect("put the tap target");
        TappedBus { name, tap_url: tap.url }
    }

    async fn create_queue(&self, name: &str, attributes: &[(QueueAttributeName, String)]) -> String {
        let mut create = self.sqs.create_queue().queue_name(name);
        for (attribute, value) in attributes {
            create = create.attributes(attribute.clone(), value);
        }
        create
            .send()
            .await
            .expect("create_queue")
            .queue_url
            .expect("a queue URL")
    }

    pub async fn queue_arn(&self, url: &str) -> String {
        self.sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("get_queue_attributes")
            .attributes
            .and_then(|mut attributes| attributes.remove(&QueueAttributeName::QueueArn))
            .expect("the queue's ARN")
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
                .expect("receive_message")
                .messages
                .unwrap_or_default();
            if batch.is_empty() {
                return all;
            }
            all.extend(batch);
        }
    }

    /// Deletes a received message (the worker handled it).
    pub async fn delete(&self, url: &str, message: &Message) {
        self.sqs
            .delete_message()
            .queue_url(url)
            .receipt_handle(
                message
                    .receipt_handle()
                    .expect("a received message has a receipt handle"),
            )
            .send()
            .await
            .expect("delete_message");
    }

    /// Queues `body` as the ingestion handler queues a Meta webhook (its `kind` attribute).
    pub async fn queue_webhook(&self, url: &str, body: &str) {
        self.sqs
            .send_message()
            .queue_url(url)
            .message_body(body)
            .message_attributes(
                "kind",
                aws_sdk_sqs::types::MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("meta-webhook")
                    .build()
                    .expect("a string attribute"),
            )
            .send()
            .await
            .expect("send_message");
    }

    /// The bodies of every message currently visible in the queue (drains it).
    pub async fn receive_bodies(&self, url: &str) -> Vec<String> {
        let messages = self.receive_all(url).await;
        messages.into_iter().filter_map(|message| message.body).collect()
    }

    /// The message item the store keeps for `wamid`.
    pub async fn message_item(&self, wamid: &str) -> Option<Item> {
        self.item(&message_pk(wamid), MESSAGE_SK).await
    }

    pub async fn item(&self, pk: &str, sk: &str) -> Option<Item> {
        self.dynamodb
            .get_item()
            .table_name(self.table())
            .key("pk", AttributeValue::S(pk.to_owned()))
            .key("sk", AttributeValue::S(sk.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .expect("get_item")
            .item
    }

    /// Every item under the partition key `pk`.
    pub async fn items(&self, pk: &str) -> Vec<Item> {
        self.dynamodb
            .query()
            .table_name(self.table())
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .expect("query")
            .items
            .unwrap_or_default()
    }

    /// The emails the emulator's SES has accepted: (from, to, subject, body).
    pub async fn sent_emails(&self) -> Vec<(String, Vec<String>, String, String)> {
        let text = crate::http::get(&format!("{}/moto-api/data.json", self.endpoint())).await;
        let data: Value = serde_json::from_str(&text).expect("moto's data.json");
        let messages = data["ses"]["Message"].as_array().cloned().unwrap_or_default();
        messages
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
}

/// SDK configuration for an emulator endpoint (moto accepts any credentials).
pub async fn sdk_config(endpoint: &str, region: &str) -> SdkConfig {
    sdk_config_with(endpoint, region, bridge::adapters::http::SdkHttpClient::shared()).await
}

/// As [`sdk_config`], through `http_client` (the fault layer's: [`crate::wire_faults`]).
pub async fn sdk_config_with(
    endpoint: &str,
    region: &str,
    http_client: aws_smithy_runtime_api::client::http::SharedHttpClient,
) -> SdkConfig {
    let loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http_client);
    // An endpoint set here wins over every service's own; a benchmark with DynamoDB elsewhere
    // (scripts/dynalite.sh: AWS_ENDPOINT_URL_DYNAMODB) takes the shared one from the environment instead.
    let own_dynamodb = std::env::var_os("AWS_ENDPOINT_URL_DYNAMODB").is_some()
        && std::env::var("AWS_ENDPOINT_URL").is_ok_and(|shared| shared == endpoint);
    let loader = if own_dynamodb {
        loader
    } else {
        loader.endpoint_url(endpoint)
    };
    loader
        .region(Region::new(region.to_owned()))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "test-support",
        ))
        .load()
        .await
}

/// A unique id for this test run: `prefix.<time><counter>`.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}.{}{n:04}", chrono::Utc::now().format("%H%M%S%f"))
}

/// A string or number attribute of an item, as text; panics on anything else.
pub fn s(item: &Item, name: &str) -> String {
    match item.get(name) {
        Some(AttributeValue::S(text)) => text.clone(),
        Some(AttributeValue::N(number)) => number.clone(),
        other => panic!("attribute {name} is {other:?}"),
    }
}
