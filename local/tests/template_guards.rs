//! What the template must keep true of the code: each function writes the table only under the
//! partition keys it owns (`dynamodb:LeadingKeys`, from the key schema in
//! `shared/src/adapters/dynamodb/keys.rs`), and the worker's timeout is the one its send settings
//! are checked against (`bridge::config`).

use std::collections::BTreeSet;

use bridge::adapters::dynamodb::keys;
use yaml_rust2::{Yaml, YamlLoader};

const WORKER: &str = "QueueWorkerFunction";
const SEND_API: &str = "SendApiFunction";
const GATHER: &str = "TwilioGatherFunction";

/// Every item partition key of the table (keys.rs), and the functions that write items under it.
/// A new `*_pk` in keys.rs fails [`every_partition_key_has_its_writers`] until it is listed here,
/// and [`each_function_writes_the_table_only_under_its_own_partition_keys`] until the template
/// lets its writers write it.
fn item_keys() -> Vec<(&'static str, String, &'static [&'static str])> {
    vec![
        ("message_pk", keys::message_pk(""), &[WORKER]),
        // The send API: a send's place in the contacts list (the contact item's activity).
        ("contact_pk", keys::contact_pk(""), &[WORKER, SEND_API]),
        ("event_pk", keys::event_pk(""), &[WORKER]),
        ("outbound_pk", keys::outbound_pk(""), &[WORKER, SEND_API]),
        ("pace_pk", keys::pace_pk(""), &[WORKER]),
        ("call_pk", keys::call_pk(""), &[GATHER]),
        ("template_pk", keys::template_pk(""), &[WORKER]),
        ("wa_call_pk", keys::wa_call_pk(""), &[WORKER]),
        // The status writes' usage counters (a transaction's items, each an UpdateItem to IAM).
        ("usage_pk", keys::usage_pk(""), &[WORKER]),
        // Written by `wabridge coexistence sync` with the operator's credentials: no function writes it.
        ("coexistence_pk", keys::coexistence_pk(""), &[]),
    ]
}

/// Partition keys of the `by_contact` index (`gsi1pk`), never an item's `pk`.
const INDEX_ONLY: &[&str] = &["conversation_pk", "sent_pk"];

/// DynamoDB actions that change items.
const WRITES: &[&str] = &[
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:PartiQLInsert",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
    "dynamodb:*",
];

fn template() -> Yaml {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).expect("template");
    YamlLoader::load_from_str(&text).expect("valid YAML").remove(0)
}

fn functions(template: &Yaml) -> Vec<(String, &Yaml)> {
    template["Resources"]
        .as_hash()
        .expect("resources")
        .iter()
        .filter(|(_, resource)| resource["Type"].as_str() == Some("AWS::Serverless::Function"))
        .map(|(id, resource)| (id.as_str().expect("logical id").to_owned(), resource))
        .collect()
}

fn strings(value: &Yaml) -> Vec<String> {
    match value {
        Yaml::String(text) => vec![text.clone()],
        Yaml::Array(items) => items.iter().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// The function's policy statements on the messages table (`!GetAtt MessagesTable.Arn`, its index).
fn table_statements(function: &Yaml) -> Vec<&Yaml> {
    function["Properties"]["Policies"]
        .as_vec()
        .into_iter()
        .flatten()
        .flat_map(|policy| policy["Statement"].as_vec().into_iter().flatten())
        .filter(|statement| {
            strings(&statement["Resource"])
                .iter()
                .any(|resource| resource.contains("MessagesTable"))
        })
        .collect()
}

#[test]
fn every_partition_key_has_its_writers() {
    let source = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/src/adapters/dynamodb/keys.rs"
    ))
    .expect("keys.rs");
    let declared: BTreeSet<&str> = source
        .match_indices("pub fn ")
        .map(|(at, _)| {
            let rest = &source[at + "pub fn ".len()..];
            &rest[..rest.find('(').expect("a parameter list")]
        })
        .filter(|name| name.ends_with("_pk"))
        .collect();
    let listed: BTreeSet<&str> = item_keys()
        .iter()
        .map(|(name, _, _)| *name)
        .chain(INDEX_ONLY.iter().copied())
        .collect();
    assert!(declared.len() >= 8, "found the key functions of keys.rs: {declared:?}");
    assert_eq!(
        declared, listed,
        "every partition key of keys.rs is listed here with the functions that write it (and the template lets them)"
    );
    for (name, prefix, _) in item_keys() {
        assert!(prefix.ends_with('#') && prefix.len() > 1, "{name}: {prefix:?}");
    }
}

/// Hole 8 of issue 21: the send API and the gather function could put and update any item of the
/// table. Every statement that lets a function write the table names exactly the prefixes it owns.
#[test]
fn each_function_writes_the_table_only_under_its_own_partition_keys() {
    let template = template();
    let mut writers = BTreeSet::new();
    for (id, function) in functions(&template) {
        let expected: BTreeSet<String> = item_keys()
            .into_iter()
            .filter(|(_, _, writers)| writers.contains(&id.as_str()))
            .map(|(_, prefix, _)| format!("{prefix}*"))
            .collect();
        let mut granted = BTreeSet::new();
        for statement in table_statements(function) {
            let actions = strings(&statement["Action"]);
            let writes = actions.iter().any(|action| WRITES.contains(&action.as_str()));
            let condition = &statement["Condition"];
            let leading_keys = &condition["ForAllValues:StringLike"]["dynamodb:LeadingKeys"];
            if !writes {
                assert!(
                    leading_keys.is_badvalue(),
                    "{id}: a LeadingKeys condition on a statement that does not write: {actions:?}"
                );
                continue;
            }
            assert_eq!(statement["Effect"].as_str(), Some("Allow"), "{id}");
            assert!(
                actions.iter().all(|action| WRITES.contains(&action.as_str())),
                "{id}: keep reads and DescribeTable (no partition key) out of the conditioned statement: {actions:?}"
            );
            let patterns = strings(leading_keys);
            assert!(
                !patterns.is_empty(),
                "{id}: writes the table without a dynamodb:LeadingKeys condition: {actions:?}"
            );
            // ForAllValues is true of a request without the key: the Null test refuses that.
            assert_eq!(
                condition["Null"]["dynamodb:LeadingKeys"].as_str(),
                Some("false"),
                "{id}: Null: dynamodb:LeadingKeys: \"false\" beside ForAllValues"
            );
            assert_eq!(
                condition.as_hash().map(|hash| hash.len()),
                Some(2),
                "{id}: no other condition: {condition:?}"
            );
            granted.extend(patterns);
        }
        assert_eq!(
            granted, expected,
            "{id}: the partition keys it may write are the ones it writes (local/tests/template_guards.rs lists them)"
        );
        if !granted.is_empty() {
            writers.insert(id);
        }
    }
    let expected_writers: BTreeSet<String> = [WORKER, SEND_API, GATHER].map(str::to_owned).into();
    assert_eq!(writers, expected_writers);
}

/// The send settings are bounded by the worker's timeout (`GRAPH_TIMEOUT_MS`, the lease): the
/// template's is that one.
#[test]
fn the_worker_timeout_is_the_one_the_send_settings_are_checked_against() {
    let template = template();
    assert_eq!(
        template["Resources"][WORKER]["Properties"]["Timeout"].as_i64(),
        Some(i64::from(bridge::config::WORKER_TIMEOUT_SECONDS))
    );
}
