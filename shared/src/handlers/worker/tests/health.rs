//! Templates and account health: each field's raw event recorded and published as before, its typed
//! event beside it (schema-valid, once per webhook), a template's send-deciding status recorded for the
//! send API, and nothing published when that write fails.

use super::*;
use crate::ports::TemplateStatusStore;

const WABA: &str = "102290129340398";

fn fixture(name: &str) -> String {
    let path = format!("{}/fixtures/webhooks/{name}.json", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// Every fixture of a health field: its raw event's detail-type, its typed one.
const FIXTURES: &[(&str, &str, &str)] = &[
    (
        "template_status_update",
        "whatsapp.message_template_status_update",
        "template.status",
    ),
    (
        "template_status_paused",
        "whatsapp.message_template_status_update",
        "template.status",
    ),
    (
        "template_status_disabled",
        "whatsapp.message_template_status_update",
        "template.status",
    ),
    (
        "template_status_approved",
        "whatsapp.message_template_status_update",
        "template.status",
    ),
    (
        "template_category_update",
        "whatsapp.template_category_update",
        "template.category",
    ),
    (
        "template_category_impending",
        "whatsapp.template_category_update",
        "template.category",
    ),
    (
        "template_quality_update",
        "whatsapp.message_template_quality_update",
        "template.quality",
    ),
    (
        "phone_number_quality_update",
        "whatsapp.phone_number_quality_update",
        "number.quality",
    ),
    (
        "phone_number_quality_downgrade",
        "whatsapp.phone_number_quality_update",
        "number.quality",
    ),
    (
        "phone_number_quality_flagged",
        "whatsapp.phone_number_quality_update",
        "number.quality",
    ),
    ("account_update", "whatsapp.account_update", "account.update"),
    (
        "account_update_pricing_tier",
        "whatsapp.account_update",
        "account.update",
    ),
    ("account_update_violation", "whatsapp.account_update", "account.update"),
];

#[tokio::test]
async fn every_health_field_publishes_its_raw_event_and_its_typed_one_once() {
    for (name, raw, typed) in FIXTURES {
        let (worker, _fakes, bus) = publishing_worker();
        let body = fixture(name);
        assert!(deliver(&worker, name, &body, 1).await, "{name}");
        let raws = of_type(&bus, raw);
        let typeds = of_type(&bus, typed);
        assert_eq!((raws.len(), typeds.len()), (1, 1), "{name}: {:?}", bus.published());
        for event in [&raws[0], &typeds[0]] {
            crate::testing::schema::assert_valid(&event.detail_type, &event.detail);
            assert_eq!(event.detail["event_id"], event.event_id.as_str());
        }
        assert_ne!(raws[0].event_id, typeds[0].event_id, "{name}");
        assert_eq!(typeds[0].detail["waba_id"], WABA, "{name}");
        assert!(typeds[0].detail["time"].is_i64(), "{name}: the entry's time");
        // Meta delivering it again: recorded already, nothing published.
        assert!(deliver(&worker, &format!("{name}-again"), &body, 1).await, "{name}");
        assert_eq!(bus.published().len(), 2, "{name}");
        // The same record delivered again (its first try failed after the writes): the same ids.
        assert!(deliver(&worker, name, &body, 2).await, "{name}");
        assert_eq!(of_type(&bus, typed).len(), 2, "{name}");
        assert_eq!(of_type(&bus, typed)[1].event_id, typeds[0].event_id, "{name}");
    }
}

#[tokio::test]
async fn typed_details_carry_meta_s_fields() {
    let (worker, _fakes, bus) = publishing_worker();
    for name in [
        "template_status_paused",
        "template_category_impending",
        "template_quality_update",
        "phone_number_quality_downgrade",
        "account_update_pricing_tier",
    ] {
        assert!(deliver(&worker, name, &fixture(name), 1).await, "{name}");
    }
    let status = &of_type(&bus, "template.status")[0].detail;
    assert_eq!(
        (
            &status["name"],
            &status["language"],
            &status["status"],
            &status["sends_refused"]
        ),
        (
            &json!("order_confirmation"),
            &json!("en_US"),
            &json!("PAUSED"),
            &json!(true)
        )
    );
    assert_eq!(status["template_id"], "806312974732579", "an id as text");
    assert_eq!(status["other_info"]["title"], "FIRST_PAUSE");
    let category = &of_type(&bus, "template.category")[0].detail;
    assert_eq!(
        (&category["correct_category"], &category["category_update_timestamp"]),
        (&json!("MARKETING"), &json!(1_764_334_800))
    );
    let quality = &of_type(&bus, "template.quality")[0].detail;
    assert_eq!(quality["new_quality_score"], "RED");
    let number = &of_type(&bus, "number.quality")[0].detail;
    assert_eq!(
        (&number["event"], &number["current_limit"], &number["quality_dropped"]),
        (&json!("DOWNGRADE"), &json!("TIER_2K"), &json!(true))
    );
    let account = &of_type(&bus, "account.update")[0].detail;
    assert_eq!(account["event"], "VOLUME_BASED_PRICING_TIER_UPDATE");
    assert_eq!(account["volume_tier_info"]["tier"], "25000001:50000000");
}

#[tokio::test]
async fn a_paused_template_is_recorded_for_the_send_api_and_a_later_approval_lifts_it() {
    let (worker, fakes) = worker(None, false);
    let held = || fakes.store.template_status(WABA, "order_confirmation", "en_US");
    assert!(deliver(&worker, "p", &fixture("template_status_paused"), 1).await);
    let paused = held().await.unwrap().expect("recorded");
    assert!(paused.refuses_sends());
    assert_eq!(paused.at, 1_763_816_820, "Meta's time");
    assert!(paused.refusal().contains("paused for 3 hours"), "{}", paused.refusal());
    // The raw event is kept too.
    assert!(
        fakes
            .store
            .tables()
            .events
            .keys()
            .any(|(field, _, _)| field == "message_template_status_update")
    );
    assert!(deliver(&worker, "a", &fixture("template_status_approved"), 1).await);
    assert!(!held().await.unwrap().expect("recorded").refuses_sends());
    // The pause delivered again, late: older than the approval, it changes nothing.
    assert!(deliver(&worker, "p2", &fixture("template_status_paused"), 1).await);
    assert!(!held().await.unwrap().expect("recorded").refuses_sends());
    assert!(deliver(&worker, "d", &fixture("template_status_disabled"), 1).await);
    assert_eq!(held().await.unwrap().expect("recorded").status, "DISABLED");
}

#[tokio::test]
async fn a_template_status_not_recorded_fails_the_record_and_publishes_nothing() {
    let (worker, fakes, bus) = publishing_worker();
    fakes
        .store
        .faults
        .fail_next("record_template_status", 1, Fault::Transient);
    let body = fixture("template_status_paused");
    assert!(!deliver(&worker, "p", &body, 1).await, "the record fails");
    assert!(bus.published().is_empty(), "{:?}", bus.published());
    assert_eq!(
        fakes
            .store
            .template_status(WABA, "order_confirmation", "en_US")
            .await
            .unwrap(),
        None
    );
    // SQS delivers it again: recorded, and both events published.
    assert!(deliver(&worker, "p", &body, 2).await);
    assert!(
        fakes
            .store
            .template_status(WABA, "order_confirmation", "en_US")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(of_type(&bus, "template.status").len(), 1);
    assert_eq!(of_type(&bus, "whatsapp.message_template_status_update").len(), 1);
}

#[tokio::test]
async fn a_template_status_the_store_rejects_fails_the_record_for_good() {
    let (worker, fakes, bus) = publishing_worker();
    fakes
        .store
        .faults
        .fail_next("record_template_status", 1, Fault::Permanent);
    assert!(!deliver(&worker, "p", &fixture("template_status_paused"), 1).await);
    assert!(bus.published().is_empty());
}
