//! A meter at the AWS SDK's HTTP layer (`make cost`): an [`HttpClient`] in front of the bundle's own
//! ([`SdkHttpClient`]) that lets every request through unchanged and counts it, by service and
//! operation (the names [`crate::wire_faults`] uses), under the label the caller set
//! ([`Meter::set_label`]: the workload's phase and the function it is running).
//!
//! Besides requests and bytes it measures what the services bill by:
//! - DynamoDB capacity units, computed from item sizes by DynamoDB's rules ([`capacity`]): the item
//!   each write touches is read before and after it (a side `GetItem` on the emulator, not counted),
//!   reads are sized from the items they return; the key schema and indexes come from `DescribeTable`
//!   (also a side call). The emulator's own `ConsumedCapacity` is a constant, so it is not used.
//! - EventBridge entries taken (`PutEvents` entries less `FailedEntryCount`), in 64 KB chunks.
//! - SQS requests in 64 KB chunks of their payload.
//! - S3 bytes written and read.
//!
//! It also counts, per invocation ([`Meter::take_invocation`]), the requests made and the round trips
//! on its critical path: the times the number of requests in flight rose from 0 to 1 (requests made
//! together count once).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use bridge::adapters::http::SdkHttpClient;
use http_body_util::BodyExt;
use serde_json::{Value, json};

use crate::wire_faults::{operation_name, signing_service};

/// SQS and EventBridge bill a request (an event) per 64 KB chunk of its payload.
pub const CHUNK_BYTES: u64 = 64 * 1024;

/// What one (label, service, operation) added up to.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Tally {
    pub requests: u64,
    /// Requests the service answered with an error status (4xx/5xx).
    pub errors: u64,
    /// DynamoDB: of those, writes whose condition was false (by design: a status older than the
    /// one recorded, a claim already held...; they consume write units all the same).
    pub conditions_failed: u64,
    pub request_bytes: u64,
    pub response_bytes: u64,
    /// DynamoDB: write units (table + indexes) and read units.
    pub write_units: f64,
    pub read_units: f64,
    /// EventBridge: entries the bus took, and the billed events (64 KB chunks of each entry).
    pub entries: u64,
    pub billed_events: u64,
    /// SQS: billed requests (64 KB chunks).
    pub billed_requests: u64,
}

impl Tally {
    pub fn to_json(&self) -> Value {
        json!({
            "requests": self.requests, "errors": self.errors, "conditions_failed": self.conditions_failed,
            "request_bytes": self.request_bytes, "response_bytes": self.response_bytes,
            "write_units": self.write_units, "read_units": self.read_units,
            "entries": self.entries, "billed_events": self.billed_events,
            "billed_requests": self.billed_requests,
        })
    }
}

/// The key schema of a table and of its global secondary indexes.
#[derive(Debug, Clone, Default)]
struct Schema {
    key: Vec<String>,
    indexes: Vec<Vec<String>>,
}

#[derive(Debug, Default)]
struct MeterState {
    label: String,
    tallies: BTreeMap<(String, String, String), Tally>,
    in_flight: usize,
    invocation_requests: u64,
    invocation_round_trips: u64,
}

/// Shared meter; clones share it.
#[derive(Debug, Clone)]
pub struct Meter {
    state: Arc<Mutex<MeterState>>,
    schemas: Arc<Mutex<HashMap<String, Schema>>>,
    endpoint: String,
    side: reqwest::Client,
    /// Where the side reads and the counting run (another thread's runtime: their CPU time is not
    /// the measured invocation's); `None`: inline.
    side_runtime: Option<tokio::runtime::Handle>,
    /// Requests and round trips only: no side reads, nothing sized (a benchmark's timing is left alone).
    requests_only: bool,
}

/// Requests made during one invocation.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct InvocationCalls {
    pub requests: u64,
    /// Round trips on the critical path (concurrent requests count once).
    pub round_trips: u64,
}

impl Meter {
    /// A meter for the emulator at `endpoint` (its side reads go there directly).
    pub fn new(endpoint: &str) -> Self {
        Self {
            state: Arc::default(),
            schemas: Arc::default(),
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            side: bridge::adapters::http::client_builder()
                .build()
                .expect("an HTTP client"),
            side_runtime: None,
            requests_only: false,
        }
    }

    /// A meter of requests and critical-path round trips only ([`Meter::take_invocation`], the
    /// tallies' `requests` and `errors`): it adds no call of its own, so what it meters keeps its timing.
    pub fn requests_only(endpoint: &str) -> Self {
        Self {
            requests_only: true,
            ..Self::new(endpoint)
        }
    }

    /// Runs the side reads and the counting on `runtime` (a runtime on another thread), so that a
    /// thread-CPU measurement of the metered code leaves them out.
    pub fn with_side_runtime(mut self, runtime: tokio::runtime::Handle) -> Self {
        self.side_runtime = Some(runtime);
        self
    }

    async fn on_side<F>(&self, work: F) -> F::Output
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match &self.side_runtime {
            Some(runtime) => runtime.spawn(work).await.expect("the meter's side work"),
            None => work.await,
        }
    }

    fn state(&self) -> MutexGuard<'_, MeterState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The label the next requests are counted under.
    pub fn set_label(&self, label: &str) {
        label.clone_into(&mut self.state().label);
    }

    /// Forgets every tally (after the handlers' construction, for example).
    pub fn reset(&self) {
        let mut state = self.state();
        state.tallies.clear();
        state.invocation_requests = 0;
        state.invocation_round_trips = 0;
    }

    /// The requests and critical-path round trips since the last call.
    pub fn take_invocation(&self) -> InvocationCalls {
        let mut state = self.state();
        let calls = InvocationCalls {
            requests: state.invocation_requests,
            round_trips: state.invocation_round_trips,
        };
        state.invocation_requests = 0;
        state.invocation_round_trips = 0;
        calls
    }

    /// Every tally: `[{label, service, operation, requests, ...}]`.
    pub fn tallies_json(&self) -> Value {
        let state = self.state();
        Value::Array(
            state
                .tallies
                .iter()
                .map(|((label, service, operation), tally)| {
                    let mut row = tally.to_json();
                    row["label"] = json!(label);
                    row["service"] = json!(service);
                    row["operation"] = json!(operation);
                    row
                })
                .collect(),
        )
    }

    fn started(&self) -> String {
        let mut state = self.state();
        if state.in_flight == 0 {
            state.invocation_round_trips += 1;
        }
        state.in_flight += 1;
        state.invocation_requests += 1;
        state.label.clone()
    }

    fn finished(&self, label: String, service: String, operation: String, tally: Tally) {
        let mut state = self.state();
        state.in_flight = state.in_flight.saturating_sub(1);
        let sum = state.tallies.entry((label, service, operation)).or_default();
        sum.requests += tally.requests;
        sum.errors += tally.errors;
        sum.conditions_failed += tally.conditions_failed;
        sum.request_bytes += tally.request_bytes;
        sum.response_bytes += tally.response_bytes;
        sum.write_units += tally.write_units;
        sum.read_units += tally.read_units;
        sum.entries += tally.entries;
        sum.billed_events += tally.billed_events;
        sum.billed_requests += tally.billed_requests;
    }

    /// A DynamoDB call made beside the metered client (not counted): `operation` with `body`.
    async fn side_call(&self, operation: &str, body: &Value, authorization: &str) -> Option<Value> {
        let answer = self
            .side
            .post(format!("{}/", self.endpoint))
            .header("x-amz-target", format!("DynamoDB_20120810.{operation}"))
            .header("content-type", "application/x-amz-json-1.0")
            .header("authorization", authorization)
            .body(body.to_string())
            .send()
            .await
            .ok()?;
        if !answer.status().is_success() {
            return None;
        }
        serde_json::from_slice(&answer.bytes().await.ok()?).ok()
    }

    async fn schema(&self, table: &str, authorization: &str) -> Schema {
        if let Some(schema) = self
            .schemas
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(table)
        {
            return schema.clone();
        }
        let described = self
            .side_call("DescribeTable", &json!({"TableName": table}), authorization)
            .await
            .unwrap_or_default();
        let names = |key_schema: &Value| -> Vec<String> {
            key_schema
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|element| element["AttributeName"].as_str().map(str::to_owned))
                .collect()
        };
        let schema = Schema {
            key: names(&described["Table"]["KeySchema"]),
            indexes: described["Table"]["GlobalSecondaryIndexes"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|index| names(&index["KeySchema"]))
                .collect(),
        };
        self.schemas
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(table.to_owned(), schema.clone());
        schema
    }

    /// The table's items and their stored bytes by DynamoDB's rules (a side `Scan`, not counted):
    /// the items, the table's bytes, and the bytes of their index entries (each +100 bytes).
    pub async fn table_bytes(&self, table: &str) -> (u64, u64, u64) {
        let authorization = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/aws4_request";
        let schema = self.schema(table, authorization).await;
        let (mut items, mut bytes, mut index_bytes) = (0, 0, 0);
        let mut start: Option<Value> = None;
        loop {
            let mut body = json!({"TableName": table});
            if let Some(key) = start.take() {
                body["ExclusiveStartKey"] = key;
            }
            let Some(page) = self.side_call("Scan", &body, authorization).await else {
                break;
            };
            for item in page["Items"].as_array().into_iter().flatten() {
                let size = capacity::item_size(item);
                items += 1;
                bytes += size;
                for key in &schema.indexes {
                    if key.iter().all(|name| item.get(name).is_some()) {
                        index_bytes += size + capacity::INDEX_ENTRY_OVERHEAD;
                    }
                }
            }
            match page.get("LastEvaluatedKey") {
                Some(key) if !key.is_null() => start = Some(key.clone()),
                _ => break,
            }
        }
        (items, bytes, index_bytes)
    }

    /// The item under `key` now (consistent read), `None` when there is none.
    async fn item(&self, table: &str, key: &Value, authorization: &str) -> Option<Value> {
        let answer = self
            .side_call(
                "GetItem",
                &json!({"TableName": table, "Key": key, "ConsistentRead": true}),
                authorization,
            )
            .await?;
        answer.get("Item").cloned()
    }
}

/// One write of a DynamoDB request: its table and key.
struct WriteTarget {
    table: String,
    key: Value,
    transactional: bool,
}

fn key_of(item: &Value, schema: &Schema) -> Value {
    let mut key = serde_json::Map::new();
    for name in &schema.key {
        if let Some(value) = item.get(name) {
            key.insert(name.clone(), value.clone());
        }
    }
    Value::Object(key)
}

/// The writes a DynamoDB write request makes (empty for any other operation).
async fn write_targets(meter: &Meter, operation: &str, body: &Value, authorization: &str) -> Vec<WriteTarget> {
    let mut targets = Vec::new();
    match operation {
        "PutItem" => {
            let table = body["TableName"].as_str().unwrap_or_default().to_owned();
            let schema = meter.schema(&table, authorization).await;
            let key = key_of(&body["Item"], &schema);
            targets.push(WriteTarget {
                table,
                key,
                transactional: false,
            });
        }
        "UpdateItem" | "DeleteItem" => targets.push(WriteTarget {
            table: body["TableName"].as_str().unwrap_or_default().to_owned(),
            key: body["Key"].clone(),
            transactional: false,
        }),
        "TransactWriteItems" => {
            for element in body["TransactItems"].as_array().into_iter().flatten() {
                for kind in ["Put", "Update", "Delete"] {
                    let Some(write) = element.get(kind) else { continue };
                    let table = write["TableName"].as_str().unwrap_or_default().to_owned();
                    let key = if kind == "Put" {
                        let schema = meter.schema(&table, authorization).await;
                        key_of(&write["Item"], &schema)
                    } else {
                        write["Key"].clone()
                    };
                    targets.push(WriteTarget {
                        table,
                        key,
                        transactional: true,
                    });
                }
            }
        }
        "BatchWriteItem" => {
            for (table, requests) in body["RequestItems"].as_object().into_iter().flatten() {
                let schema = meter.schema(table, authorization).await;
                for request in requests.as_array().into_iter().flatten() {
                    let key = if let Some(put) = request.get("PutRequest") {
                        key_of(&put["Item"], &schema)
                    } else {
                        request["DeleteRequest"]["Key"].clone()
                    };
                    targets.push(WriteTarget {
                        table: table.clone(),
                        key,
                        transactional: false,
                    });
                }
            }
        }
        _ => {}
    }
    targets
}

/// Read units of a DynamoDB read, from its request and answer.
fn read_units(operation: &str, request: &Value, answer: &Value) -> f64 {
    let factor = |consistent: bool| if consistent { 1.0 } else { 0.5 };
    let consistent = request["ConsistentRead"].as_bool().unwrap_or(false);
    match operation {
        "GetItem" => capacity::read_units(answer.get("Item").map_or(0, capacity::item_size), factor(consistent)),
        "Query" | "Scan" => {
            let bytes: u64 = answer["Items"]
                .as_array()
                .into_iter()
                .flatten()
                .map(capacity::item_size)
                .sum();
            capacity::read_units(bytes, factor(consistent))
        }
        "BatchGetItem" => {
            let mut units = 0.0;
            for (table, asked) in request["RequestItems"].as_object().into_iter().flatten() {
                let consistent = asked["ConsistentRead"].as_bool().unwrap_or(false);
                let returned: Vec<&Value> = answer["Responses"][table].as_array().into_iter().flatten().collect();
                let asked_keys = asked["Keys"].as_array().map_or(0, Vec::len);
                let unprocessed = answer["UnprocessedKeys"][table]["Keys"].as_array().map_or(0, Vec::len);
                for item in &returned {
                    units += capacity::read_units(capacity::item_size(item), factor(consistent));
                }
                // Keys asked for and not found still cost the minimum.
                let missing = asked_keys.saturating_sub(returned.len() + unprocessed);
                units += missing as f64 * capacity::read_units(0, factor(consistent));
            }
            units
        }
        "TransactGetItems" => {
            let items = answer["Responses"].as_array().into_iter().flatten();
            items
                .map(|response| 2.0 * capacity::read_units(response.get("Item").map_or(0, capacity::item_size), 1.0))
                .sum()
        }
        _ => 0.0,
    }
}

/// An SDK HTTP client that sends through the bundle's own client and counts every request.
pub fn metered_http_client(meter: Meter) -> SharedHttpClient {
    SharedHttpClient::new(MeteredClient {
        inner: SdkHttpClient::default(),
        meter,
    })
}

/// As [`crate::emulator::sdk_config`], with the metered client.
pub async fn metered_sdk_config(endpoint: &str, region: &str, meter: Meter) -> SdkConfig {
    crate::emulator::sdk_config_with(endpoint, region, metered_http_client(meter)).await
}

#[derive(Debug)]
struct MeteredClient {
    inner: SdkHttpClient,
    meter: Meter,
}

impl HttpClient for MeteredClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(MeteredConnector {
            inner: self.inner.http_connector(settings, components),
            meter: self.meter.clone(),
        })
    }
}

#[derive(Debug)]
struct MeteredConnector {
    inner: SharedHttpConnector,
    meter: Meter,
}

fn header_number(headers: &aws_smithy_runtime_api::http::Headers, name: &str) -> Option<u64> {
    headers.get(name).and_then(|value| value.parse().ok())
}

impl HttpConnector for MeteredConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let operation = operation_name(&request);
        let service = signing_service(&request).unwrap_or("unknown").to_owned();
        let authorization = request.headers().get("authorization").unwrap_or_default().to_owned();
        let body_bytes = request.body().bytes().map(<[u8]>::to_vec);
        let request_bytes = body_bytes
            .as_ref()
            .map(|body| body.len() as u64)
            .or_else(|| header_number(request.headers(), "content-length"))
            .unwrap_or(0);
        let meter = self.meter.clone();
        let inner = self.inner.clone();
        HttpConnectorFuture::new(async move {
            let label = meter.started();
            if meter.requests_only {
                let answer = inner.call(request).await;
                let failed = answer
                    .as_ref()
                    .map_or(true, |response| response.status().as_u16() >= 400);
                let tally = Tally {
                    requests: 1,
                    errors: u64::from(failed),
                    ..Tally::default()
                };
                meter.finished(label, service, operation, tally);
                return answer;
            }
            let before = {
                let (meter, service, operation, authorization) =
                    (meter.clone(), service.clone(), operation.clone(), authorization.clone());
                meter
                    .clone()
                    .on_side(
                        async move { Before::read(&meter, &service, &operation, body_bytes, &authorization).await },
                    )
                    .await
            };
            let answer = inner.call(request).await;
            let mut tally = Tally {
                requests: 1,
                request_bytes,
                errors: 1,
                ..Tally::default()
            };
            let answer = match answer {
                Ok(mut response) => {
                    let status = response.status().as_u16();
                    let mut answer_bytes = None;
                    if service == "dynamodb" || service == "events" {
                        let body = std::mem::replace(response.body_mut(), SdkBody::taken());
                        let bytes = body.collect().await.map_err(ConnectorError::io)?.to_bytes();
                        *response.body_mut() = SdkBody::from(bytes.clone());
                        answer_bytes = Some(bytes);
                    }
                    let response_bytes = answer_bytes
                        .as_ref()
                        .map(|bytes| bytes.len() as u64)
                        .or_else(|| header_number(response.headers(), "content-length"))
                        .unwrap_or(0);
                    let (side, service, operation, authorization) =
                        (meter.clone(), service.clone(), operation.clone(), authorization.clone());
                    tally = meter
                        .on_side(async move {
                            before
                                .count(
                                    &side,
                                    &service,
                                    &operation,
                                    &authorization,
                                    status,
                                    answer_bytes,
                                    request_bytes,
                                    response_bytes,
                                )
                                .await
                        })
                        .await;
                    Ok(response)
                }
                Err(error) => Err(error),
            };
            meter.finished(label, service, operation, tally);
            answer
        })
    }
}

/// What a request was, and what its writes found before it was sent.
struct Before {
    body: Value,
    targets: Vec<WriteTarget>,
    items: Vec<Option<Value>>,
}

impl Before {
    async fn read(meter: &Meter, service: &str, operation: &str, body: Option<Vec<u8>>, authorization: &str) -> Self {
        let body: Value = body
            .as_deref()
            .and_then(|body| serde_json::from_slice(body).ok())
            .unwrap_or(Value::Null);
        let targets = if service == "dynamodb" {
            write_targets(meter, operation, &body, authorization).await
        } else {
            Vec::new()
        };
        let mut items = Vec::with_capacity(targets.len());
        for target in &targets {
            items.push(meter.item(&target.table, &target.key, authorization).await);
        }
        Self { body, targets, items }
    }

    /// The request's tally once its answer (`status`, the body when it was kept) is known.
    #[allow(clippy::too_many_arguments)]
    async fn count(
        self,
        meter: &Meter,
        service: &str,
        operation: &str,
        authorization: &str,
        status: u16,
        answer: Option<bytes::Bytes>,
        request_bytes: u64,
        response_bytes: u64,
    ) -> Tally {
        let mut tally = Tally {
            requests: 1,
            errors: u64::from(status >= 400),
            request_bytes,
            response_bytes,
            ..Tally::default()
        };
        let answer: Value = answer
            .as_deref()
            .and_then(|bytes| serde_json::from_slice(bytes).ok())
            .unwrap_or(Value::Null);
        let applied = status < 400;
        let error_type = answer["__type"].as_str().unwrap_or_default();
        if error_type.ends_with("ConditionalCheckFailedException")
            || error_type.ends_with("TransactionCanceledException")
        {
            tally.conditions_failed = 1;
        }
        if service == "dynamodb" {
            for (target, before) in self.targets.iter().zip(&self.items) {
                let schema = meter.schema(&target.table, authorization).await;
                let after = if applied {
                    meter.item(&target.table, &target.key, authorization).await
                } else {
                    before.clone()
                };
                let units = capacity::write_units(before.as_ref(), after.as_ref(), &schema.indexes, applied);
                tally.write_units += if target.transactional {
                    units.doubled_table()
                } else {
                    units.total()
                };
            }
            if applied {
                tally.read_units += read_units(operation, &self.body, &answer);
            }
        }
        if service == "events" && operation == "PutEvents" && applied {
            let entries: Vec<&Value> = self.body["Entries"].as_array().into_iter().flatten().collect();
            let failed = answer["FailedEntryCount"].as_u64().unwrap_or(0);
            tally.entries = (entries.len() as u64).saturating_sub(failed);
            tally.billed_events = entries
                .iter()
                .map(|entry| capacity::chunks(entry.to_string().len() as u64))
                .sum::<u64>()
                .saturating_sub(failed);
        }
        if service == "sqs" {
            tally.billed_requests = capacity::chunks(request_bytes.max(response_bytes));
        }
        tally
    }
}

/// DynamoDB's billing rules, pure: item sizes and the units a read or a write consumes.
pub mod capacity {
    use base64::Engine;
    use serde_json::Value;

    use super::CHUNK_BYTES;

    /// A write's units: on the table and on its global secondary indexes.
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub struct WriteUnits {
        pub table: f64,
        pub indexes: f64,
    }

    impl WriteUnits {
        pub fn total(self) -> f64 {
            self.table + self.indexes
        }

        /// In a transaction the table's units count twice (the indexes' do not).
        pub fn doubled_table(self) -> f64 {
            2.0 * self.table + self.indexes
        }
    }

    /// 64 KB chunks of `bytes` (at least one).
    pub fn chunks(bytes: u64) -> u64 {
        bytes.div_ceil(CHUNK_BYTES).max(1)
    }

    /// An item's size (DynamoDB-JSON, `{"name": {"S": "..."}}`) by DynamoDB's rules: each
    /// attribute's name in UTF-8 bytes plus its value's size.
    pub fn item_size(item: &Value) -> u64 {
        item.as_object()
            .into_iter()
            .flatten()
            .map(|(name, value)| name.len() as u64 + value_size(value))
            .sum()
    }

    /// A value's size: strings their UTF-8 bytes, numbers 1 byte per two significant digits plus 1,
    /// binary its bytes, null and booleans 1, lists and maps 3 plus 1 per element plus the elements
    /// (a map's names included), sets the sum of their elements.
    pub fn value_size(value: &Value) -> u64 {
        let Some((kind, inner)) = value.as_object().and_then(|typed| typed.iter().next()) else {
            return 0;
        };
        match kind.as_str() {
            "S" => inner.as_str().map_or(0, |text| text.len() as u64),
            "N" => inner.as_str().map_or(0, number_size),
            "B" => inner.as_str().map_or(0, binary_size),
            "BOOL" | "NULL" => 1,
            "SS" => inner
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(|text| text.len() as u64)
                .sum(),
            "NS" => inner
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(number_size)
                .sum(),
            "BS" => inner
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(binary_size)
                .sum(),
            "L" => {
                3 + inner
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|element| 1 + value_size(element))
                    .sum::<u64>()
            }
            "M" => {
                3 + inner
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(name, element)| 1 + name.len() as u64 + value_size(element))
                    .sum::<u64>()
            }
            _ => 0,
        }
    }

    fn number_size(number: &str) -> u64 {
        let digits: String = number.chars().filter(char::is_ascii_digit).collect();
        let significant = digits.trim_start_matches('0').trim_end_matches('0').len().max(1) as u64;
        significant.div_ceil(2) + 1
    }

    fn binary_size(encoded: &str) -> u64 {
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_or(encoded.len() as u64, |bytes| bytes.len() as u64)
    }

    /// Read units of `bytes` read at once: 4 KB units (at least one), times `factor` (1 for a
    /// strongly consistent read, 0.5 for an eventually consistent one).
    pub fn read_units(bytes: u64, factor: f64) -> f64 {
        bytes.div_ceil(4096).max(1) as f64 * factor
    }

    /// 1 KB write units of an item of `bytes` (at least one).
    pub fn write_units_of(bytes: u64) -> f64 {
        bytes.div_ceil(1024).max(1) as f64
    }

    /// DynamoDB's per-entry overhead in a global secondary index.
    pub const INDEX_ENTRY_OVERHEAD: u64 = 100;

    /// The units of one write that found `before` and left `after` (`applied` false: its condition
    /// failed, which costs the existing item's size, at least one unit, and writes no index).
    /// Each index (its key attribute names, projection ALL) is written when the item is in it before
    /// or after: once when it stays under the same key, twice (delete + put) when its key changes.
    pub fn write_units(
        before: Option<&Value>,
        after: Option<&Value>,
        indexes: &[Vec<String>],
        applied: bool,
    ) -> WriteUnits {
        let size = |item: Option<&Value>| item.map_or(0, item_size);
        if !applied {
            return WriteUnits {
                table: write_units_of(size(before)),
                indexes: 0.0,
            };
        }
        let table = write_units_of(size(before).max(size(after)));
        let mut index_units = 0.0;
        for key in indexes {
            let key_of = |item: Option<&Value>| -> Option<Vec<Value>> {
                let item = item?;
                key.iter().map(|name| item.get(name).cloned()).collect()
            };
            let entry = |item: Option<&Value>| write_units_of(size(item) + INDEX_ENTRY_OVERHEAD);
            index_units += match (key_of(before), key_of(after)) {
                (None, None) => 0.0,
                (Some(old), Some(new)) if old == new => entry(after),
                (Some(_), Some(_)) => entry(before) + entry(after),
                (Some(_), None) => entry(before),
                (None, Some(_)) => entry(after),
            };
        }
        WriteUnits {
            table,
            indexes: index_units,
        }
    }

    #[cfg(test)]
    mod tests {
        use serde_json::json;

        use super::*;

        #[test]
        fn item_sizes_follow_dynamodbs_rules() {
            // "pk" 2 + "abc" 3; "n" 1 + 12345 (5 digits: 3 + 1); "ok" 2 + 1; "l" 1 + 3 + (1 + 1);
            // "m" 1 + 3 + (1 + 1 + 2); "b" 1 + 3 bytes.
            let item = json!({
                "pk": {"S": "abc"}, "n": {"N": "12345"}, "ok": {"BOOL": true},
                "l": {"L": [{"S": "x"}]}, "m": {"M": {"k": {"S": "vv"}}}, "b": {"B": "AQID"}
            });
            assert_eq!(item_size(&item), 5 + 5 + 3 + 6 + 8 + 4);
            assert_eq!(value_size(&json!({"N": "0.00100"})), 2);
            assert_eq!(value_size(&json!({"S": "é"})), 2);
        }

        #[test]
        fn reads_round_up_to_4_kb_and_halve_when_eventually_consistent() {
            assert_eq!(read_units(0, 1.0), 1.0);
            assert_eq!(read_units(4096, 0.5), 0.5);
            assert_eq!(read_units(4097, 0.5), 1.0);
            assert_eq!(read_units(9000, 1.0), 3.0);
        }

        #[test]
        fn writes_cost_the_larger_item_and_each_index_entry() {
            let index = vec![vec!["gsi1pk".to_owned(), "gsi1sk".to_owned()]];
            let small = json!({"pk": {"S": "a"}, "body": {"S": "x".repeat(900)}});
            let large = json!({"pk": {"S": "a"}, "body": {"S": "x".repeat(1500)}});
            let indexed = |sk: &str| json!({"pk": {"S": "a"}, "gsi1pk": {"S": "c"}, "gsi1sk": {"S": sk}});
            // A new item outside the index: 1 unit; grown past 1 KB: the larger size, 2 units.
            assert_eq!(write_units(None, Some(&small), &index, true).total(), 1.0);
            assert_eq!(write_units(Some(&small), Some(&large), &index, true).total(), 2.0);
            // Into the index: + its entry; under a new index key: a delete and a put.
            assert_eq!(write_units(None, Some(&indexed("1")), &index, true).total(), 2.0);
            assert_eq!(
                write_units(Some(&indexed("1")), Some(&indexed("1")), &index, true).total(),
                2.0
            );
            assert_eq!(
                write_units(Some(&indexed("1")), Some(&indexed("2")), &index, true).total(),
                3.0
            );
            // A failed condition: the existing item's size, no index; transactions double the table.
            assert_eq!(write_units(Some(&large), Some(&large), &index, false).total(), 2.0);
            assert_eq!(write_units(None, None, &index, false).total(), 1.0);
            assert_eq!(
                write_units(None, Some(&indexed("1")), &index, true).doubled_table(),
                3.0
            );
        }

        #[test]
        fn payloads_are_billed_in_64_kb_chunks() {
            assert_eq!(chunks(0), 1);
            assert_eq!(chunks(65_536), 1);
            assert_eq!(chunks(65_537), 2);
        }
    }
}
