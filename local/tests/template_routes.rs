//! The local runner serves exactly the template's HTTP routes, with the same functions,
//! and runs the worker with the template's event source settings.

use local_stack::api;
use local_stack::stack::Route;
use yaml_rust2::{Yaml, YamlLoader};

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

#[test]
fn local_routes_equal_the_template_routes() {
    let template = template();
    let mut declared: Vec<Route> = Vec::new();
    for (id, function) in functions(&template) {
        if let Some(events) = function["Properties"]["Events"].as_hash() {
            for event in events
                .values()
                .filter(|event| event["Type"].as_str() == Some("HttpApi"))
            {
                let props = &event["Properties"];
                declared.push(Route::new(
                    &props["Method"].as_str().expect("method").to_uppercase(),
                    props["Path"].as_str().expect("path"),
                    &id,
                ));
            }
        }
    }
    let mut served = api::routes();
    declared.sort();
    served.sort();
    assert!(!declared.is_empty());
    assert_eq!(served, declared);
}

#[test]
fn every_function_is_built_with_cargo_lambda_for_its_own_binary() {
    let template = template();
    let workspace = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml")).expect("manifest");
    for (id, function) in functions(&template) {
        assert_eq!(
            function["Metadata"]["BuildMethod"].as_str(),
            Some("rust-cargolambda"),
            "{id}"
        );
        let binary = function["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .expect("binary");
        assert!(
            workspace.contains(&format!("\"functions/{binary}\"")),
            "{id}: no workspace member for {binary}"
        );
    }
}

fn default_number(template: &Yaml, parameter: &str) -> i64 {
    template["Parameters"][parameter]["Default"]
        .as_i64()
        .unwrap_or_else(|| panic!("{parameter} has a numeric default"))
}

/// The webhook route takes what the bundle's own sending brings back: about 3 status webhooks
/// per send at the send tier's full rate, plus headroom for inbound messages.
#[test]
fn the_webhook_throttle_is_above_three_times_the_send_rate() {
    let template = template();
    let sends_per_second =
        default_number(&template, "SendRatePerSecond") * default_number(&template, "SendMaximumConcurrency");
    assert_eq!(sends_per_second, 80, "the defaults are Meta's default tier");
    let webhooks = default_number(&template, "WebhookThrottlingRateLimit");
    assert!(
        webhooks >= 3 * sends_per_second + 100,
        "{webhooks} < 3 x {sends_per_second} + inbound"
    );
    assert!(default_number(&template, "WebhookThrottlingBurstLimit") >= webhooks);
    let settings = &template["Resources"]["HttpApi"]["Properties"]["RouteSettings"]["POST /webhooks/whatsapp"];
    assert!(
        !settings["ThrottlingRateLimit"].is_badvalue(),
        "the webhook route has its own throttle"
    );
}

/// Sends have their own queue and event source, capped at the send tier; webhooks are not.
#[test]
fn the_worker_reads_a_send_queue_of_its_own() {
    let template = template();
    let events = &template["Resources"]["QueueWorkerFunction"]["Properties"]["Events"];
    let sources: Vec<&Yaml> = events
        .as_hash()
        .expect("events")
        .values()
        .filter(|event| event["Type"].as_str() == Some("SQS"))
        .collect();
    assert_eq!(sources.len(), 2);
    let send_queue = &template["Resources"]["SendQueue"]["Properties"];
    let max_receives = send_queue["RedrivePolicy"]["maxReceiveCount"]
        .as_i64()
        .expect("maxReceiveCount");
    let variables = &template["Resources"]["QueueWorkerFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(
        variables["SEND_MAX_RECEIVES"]
            .as_str()
            .and_then(|n| n.parse::<i64>().ok()),
        Some(max_receives),
        "the worker fails a message on the send queue's last receive"
    );
}

/// Every variable the library reads (`shared/src/config/`) is declared by a function of the
/// template (or its Globals), and every secret's `*_PARAMETER` too: SAM passes only declared
/// names, so `sam local invoke --env-vars events/env.json` can set nothing else.
#[test]
fn every_variable_the_functions_read_is_declared_in_the_template() {
    let template = template();
    let mut declared: Vec<String> = Vec::new();
    let mut collect = |variables: &Yaml| {
        if let Some(variables) = variables.as_hash() {
            declared.extend(variables.keys().filter_map(|k| k.as_str().map(str::to_owned)));
        }
    };
    collect(&template["Globals"]["Function"]["Environment"]["Variables"]);
    for (_, function) in functions(&template) {
        collect(&function["Properties"]["Environment"]["Variables"]);
    }
    let source = config_source();
    let mut read = Vec::new();
    for call in [
        "required(\"",
        "optional(\"",
        "number(\"",
        "list(\"",
        "secret(\"",
        "bounded(\"",
    ] {
        for (at, _) in source.match_indices(call) {
            let rest = &source[at + call.len()..];
            let name = &rest[..rest.find('"').expect("closing quote")];
            if name.chars().all(|c| c.is_ascii_uppercase() || c == '_') && !read.contains(&name.to_owned()) {
                read.push(name.to_owned());
            }
            if call == "secret(\"" {
                read.push(format!("{name}_PARAMETER"));
            }
        }
    }
    assert!(read.len() > 20, "found the variables config/ reads: {read:?}");
    let missing: Vec<&String> = read.iter().filter(|name| !declared.contains(name)).collect();
    assert!(
        missing.is_empty(),
        "read but not declared in template.yaml: {missing:?}"
    );
    for name in ["AWS_ENDPOINT_URL", "METRICS_STACK", "RUST_LOG"] {
        assert!(declared.iter().any(|d| d == name), "{name} is not declared");
    }
}

/// Every file of the library's `config` module (`shared/src/config/*.rs`), one after the other.
fn config_source() -> String {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/src/config");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .expect("shared/src/config")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .collect();
    paths.sort();
    assert!(paths.len() > 1, "the config module's files: {paths:?}");
    paths
        .iter()
        .map(|path| std::fs::read_to_string(path).expect("a config file"))
        .collect()
}

/// One Graph API version: the library's default, the template's parameter default and local.env.
#[test]
fn the_graph_api_version_is_one_constant() {
    let template = template();
    assert_eq!(
        template["Parameters"]["GraphApiVersion"]["Default"].as_str(),
        Some(bridge::config::DEFAULT_GRAPH_API_VERSION)
    );
    let local_env = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../local.env")).expect("local.env");
    assert!(
        local_env
            .lines()
            .any(|line| line == format!("GRAPH_API_VERSION={}", bridge::config::DEFAULT_GRAPH_API_VERSION)),
        "local.env's GRAPH_API_VERSION"
    );
}

/// A logical id from `!GetAtt Id.Arn` / `!Ref Id` as the YAML parser hands it over (the tag dropped).
fn referenced_id(value: &Yaml) -> String {
    value
        .as_str()
        .map(|text| text.trim_end_matches(".Arn").to_owned())
        .unwrap_or_else(|| panic!("a reference, got {value:?}"))
}

/// SQS keeps a message's first enqueue time when it moves it to the dead-letter queue, so each
/// dead-letter queue must keep messages longer than its source queue or dead letters expire unseen.
#[test]
fn every_dead_letter_queue_outlives_its_source_queue() {
    let template = template();
    let resources = template["Resources"].as_hash().expect("resources");
    let mut checked = 0;
    for (id, resource) in resources {
        let properties = &resource["Properties"];
        let redrive = &properties["RedrivePolicy"];
        if redrive.is_badvalue() {
            continue;
        }
        let dead_letters = referenced_id(&redrive["deadLetterTargetArn"]);
        let retention = |properties: &Yaml| {
            // SQS's default retention is 4 days.
            properties["MessageRetentionPeriod"].as_i64().unwrap_or(345_600)
        };
        let source = retention(properties);
        let dead = retention(&template["Resources"][dead_letters.as_str()]["Properties"]);
        assert!(
            dead > source,
            "{id:?} keeps messages {source} s, its dead-letter queue {dead_letters} only {dead} s"
        );
        assert!(dead <= 1_209_600, "SQS keeps a message at most 14 days");
        checked += 1;
    }
    assert_eq!(checked, 2, "the events queue and the send queue");
}

/// Both functions that write messages and sends give them the stack's retention (DynamoDB TTL).
#[test]
fn the_worker_and_the_send_api_expire_their_records_after_retention_days() {
    let template = template();
    for id in ["QueueWorkerFunction", "SendApiFunction"] {
        let variables = &template["Resources"][id]["Properties"]["Environment"]["Variables"];
        assert_eq!(
            variables["RETENTION_DAYS"].as_str(),
            Some("RetentionDays"),
            "{id}: RETENTION_DAYS: !Ref RetentionDays"
        );
    }
    let parameter = &template["Parameters"]["RetentionDays"];
    assert_eq!(
        parameter["MaxValue"].as_i64(),
        Some(i64::from(bridge::config::MAX_RETENTION_DAYS))
    );
}

/// The worker may list the payload bucket (scoped to its prefixes): without it S3 answers a missing
/// claim-check object with AccessDenied, which reads as an outage instead of NoSuchKey.
#[test]
fn the_worker_may_list_the_payload_bucket() {
    let template = template();
    let policies = template["Resources"]["QueueWorkerFunction"]["Properties"]["Policies"]
        .as_vec()
        .expect("policies");
    let statements: Vec<&Yaml> = policies
        .iter()
        .flat_map(|policy| policy["Statement"].as_vec().into_iter().flatten())
        .collect();
    let list = statements
        .iter()
        .find(|statement| statement["Action"].as_str() == Some("s3:ListBucket"))
        .expect("an s3:ListBucket statement");
    assert_eq!(referenced_id(&list["Resource"]), "PayloadBucket");
    assert!(
        !list["Condition"]["StringLike"]["s3:prefix"].is_badvalue(),
        "scoped to prefixes"
    );
}

/// Inbound media: the worker may only put objects under `media/` (no read, no delete, nowhere else),
/// the bucket expires them after their own parameter's days, and a media job fails for good on the events
/// queue's last receive (the worker is told that count).
#[test]
fn the_worker_keeps_media_under_media_only_with_its_own_retention() {
    let template = template();
    let worker = &template["Resources"]["QueueWorkerFunction"]["Properties"];
    let statements: Vec<&Yaml> = worker["Policies"]
        .as_vec()
        .expect("policies")
        .iter()
        .flat_map(|policy| policy["Statement"].as_vec().into_iter().flatten())
        .collect();
    let on_media: Vec<&&Yaml> = statements
        .iter()
        .filter(|statement| {
            statement["Resource"]
                .as_str()
                .is_some_and(|resource| resource.contains("/media/"))
        })
        .collect();
    assert_eq!(on_media.len(), 1, "one statement on media/");
    assert_eq!(on_media[0]["Action"].as_str(), Some("s3:PutObject"));
    assert_eq!(on_media[0]["Resource"].as_str(), Some("${PayloadBucket.Arn}/media/*"));

    let rules = template["Resources"]["PayloadBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
        .as_vec()
        .expect("lifecycle rules");
    let media = rules
        .iter()
        .find(|rule| rule["Prefix"].as_str() == Some("media/"))
        .expect("a lifecycle rule for media/");
    assert_eq!(media["ExpirationInDays"].as_str(), Some("MediaRetentionDays"));
    assert_eq!(default_number(&template, "MediaRetentionDays"), 30);
    assert_eq!(
        default_number(&template, "MediaMaxBytes"),
        i64::try_from(bridge::domain::media::META_MAX_MEDIA_BYTES).expect("fits")
    );

    let variables = &worker["Environment"]["Variables"];
    assert_eq!(variables["MEDIA_MAX_BYTES"].as_str(), Some("MediaMaxBytes"));
    let events_queue = &template["Resources"]["EventsQueue"]["Properties"];
    assert_eq!(
        variables["QUEUE_MAX_RECEIVES"]
            .as_str()
            .and_then(|n| n.parse::<i64>().ok()),
        events_queue["RedrivePolicy"]["maxReceiveCount"].as_i64(),
        "the worker records a media error on the events queue's last receive"
    );
}
