use super::*;
use chrono::TimeZone;

fn received() -> Received {
    Received {
        at: Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).single().expect("valid"),
        request_id: "req-1".to_owned(),
    }
}

fn parse(json: &str) -> WebhookPayload {
    serde_json::from_str(json).expect("valid payload")
}

const MIXED: &str = r#"{"object":"whatsapp_business_account","entry":[
  {"id":"WABA1","changes":[
    {"field":"messages","value":{"messaging_product":"whatsapp",
      "metadata":{"display_phone_number":"15550001111","phone_number_id":"PN1"},
      "contacts":[{"profile":{"name":"Ayala"},"wa_id":"972501234567"},{"profile":{"name":"Bo"},"user_id":"US.42"}],
      "messages":[
        {"from":"972501234567","id":"wamid.A","timestamp":"1700000000","type":"text","text":{"body":"hi"}},
        {"from":"972501234567","id":"wamid.B","timestamp":"1700000100","type":"reaction","reaction":{"message_id":"wamid.X","emoji":"👍"}},
        {"from_user_id":"US.42","id":"wamid.C","timestamp":"1700000050","type":"image","image":{"id":"MEDIA1","mime_type":"image/jpeg"}},
        {"from":"972501234567","timestamp":"1700000000","type":"text","text":{"body":"no id"}}
      ],
      "statuses":[{"id":"wamid.OUT1","status":"read","timestamp":"1700000200","recipient_id":"972501234567"},
                  {"id":"wamid.OUT2","status":"failed","timestamp":"1700000300","recipient_id":"972501234567",
                   "errors":[{"code":131026,"title":"Message undeliverable","error_data":{"details":"x"}}]}]}},
    {"field":"messages","value":{"metadata":{"phone_number_id":"OTHER"},"messages":[{"id":"wamid.Z","type":"text","text":{"body":"not ours"}}]}},
    {"field":"message_template_status_update","value":{"event":"APPROVED","message_template_id":1}}
  ]}]}"#;

#[test]
fn plans_every_part_of_a_mixed_payload() {
    let filter = PhoneNumberFilter::new(["PN1".to_owned()]);
    let plan = plan(&parse(MIXED), &filter, &received());

    let wamids: Vec<_> = plan.inbound.iter().map(|r| r.wamid.as_str()).collect();
    assert_eq!(wamids, ["wamid.A", "wamid.B", "wamid.C"]);
    assert_eq!(plan.inbound[0].content, Content::Text { body: "hi".to_owned() });
    assert_eq!(plan.inbound[0].profile_name.as_deref(), Some("Ayala"));
    assert_eq!(plan.inbound[2].user_id.as_deref(), Some("US.42"));
    assert_eq!(plan.inbound[2].wa_id, None);
    assert_eq!(plan.inbound[2].profile_name.as_deref(), Some("Bo"));
    assert_eq!(plan.inbound[2].contact_key(), Some("US.42"));

    // One activity per contact, the newest message's time.
    assert_eq!(plan.contacts.len(), 2);
    let ayala = plan.contacts.iter().find(|c| c.key == "972501234567").expect("ayala");
    assert_eq!(
        (ayala.last_inbound_at, ayala.last_inbound_wamid.as_str()),
        (1_700_000_100, "wamid.B")
    );

    assert_eq!(plan.statuses.len(), 2);
    assert_eq!(plan.statuses[0].status, Some(DeliveryStatus::Read));
    assert_eq!(plan.statuses[1].errors[0].code, Some(131026));
    assert_eq!(plan.statuses[1].errors[0].details(), Some("x"));

    let fields: Vec<_> = plan.events.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["messages.unidentified", "message_template_status_update"]);

    assert_eq!(
        plan.foreign,
        vec![ForeignChange {
            entry_id: "WABA1".into(),
            field: "messages".into(),
            phone_number_id: "OTHER".into()
        }]
    );
    assert_eq!(plan.writes(), 3 + 2 + 2 + 2);
}

#[test]
fn an_empty_filter_serves_every_number() {
    let plan = plan(&parse(MIXED), &PhoneNumberFilter::default(), &received());
    assert!(plan.foreign.is_empty());
    assert_eq!(plan.inbound.len(), 4);
}

#[test]
fn raw_event_digest_is_stable_across_redelivery() {
    let first = plan(&parse(MIXED), &PhoneNumberFilter::default(), &received());
    let later = Received {
        at: received().at + chrono::Duration::hours(1),
        request_id: "req-2".into(),
    };
    let second = plan(&parse(MIXED), &PhoneNumberFilter::default(), &later);
    assert_eq!(first.events[1].digest, second.events[1].digest);
    assert_ne!(first.events[0].digest, first.events[1].digest);
}

#[test]
fn unreadable_messages_value_is_kept_raw() {
    let payload = parse(r#"{"entry":[{"id":"W","changes":[{"field":"messages","value":{"messages":"not a list"}}]}]}"#);
    let plan = plan(&payload, &PhoneNumberFilter::default(), &received());
    assert_eq!(plan.events.len(), 1);
    assert_eq!(plan.events[0].field, "messages");
    assert!(plan.events[0].payload.contains("not a list"));
}

#[test]
fn unknown_status_names_are_recorded_unranked() {
    let payload = parse(
        r#"{"entry":[{"id":"W","changes":[{"field":"messages","value":{"statuses":[{"id":"wamid.D","status":"deleted","timestamp":"1"}]}}]}]}"#,
    );
    let plan = plan(&payload, &PhoneNumberFilter::default(), &received());
    assert_eq!(plan.statuses[0].status, None);
    assert_eq!(plan.statuses[0].status_name, "deleted");
}

#[test]
fn change_level_errors_are_kept() {
    let payload = parse(
        r#"{"entry":[{"id":"W","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"PN1"},"errors":[{"code":131000,"title":"Something went wrong"}]}}]}]}"#,
    );
    let plan = plan(&payload, &PhoneNumberFilter::default(), &received());
    assert_eq!(plan.events.len(), 1);
    assert_eq!(plan.events[0].field, "messages.errors");
    assert_eq!(plan.events[0].phone_number_id.as_deref(), Some("PN1"));
}

/// Meta's `smb_message_echoes` (`…/webhooks/reference/smb_message_echoes`): what the owner typed in
/// the WhatsApp Business app, to a customer by number and to one by business-scoped user id, and
/// one without an id.
pub(crate) const ECHOES: &str = include_str!("../../../fixtures/webhooks/smb_message_echoes.json");

#[test]
fn echoes_are_outbound_records_that_touch_no_window() {
    let plan = plan(&parse(ECHOES), &PhoneNumberFilter::new(["PN1".to_owned()]), &received());

    assert!(plan.inbound.is_empty(), "an echo is not a message from the customer");
    assert!(
        plan.contacts.is_empty(),
        "an echo never opens or extends the 24-hour window"
    );
    let wamids: Vec<_> = plan.echoes.iter().map(|echo| echo.wamid.as_str()).collect();
    assert_eq!(wamids, ["wamid.ECHO1", "wamid.ECHO2"]);
    let first = &plan.echoes[0];
    assert_eq!(first.to, Some(ContactId::Phone("972501234567".to_owned())));
    assert_eq!(first.phone_number_id, Some(PhoneNumberId::new("PN1")));
    assert_eq!(first.kind, "text");
    assert_eq!(first.timestamp, Some(1_700_000_400));
    assert_eq!(
        first.content,
        Content::Text {
            body: "typed in the app".to_owned()
        }
    );
    assert_eq!(plan.echoes[1].to, Some(ContactId::User("US.42".to_owned())));
    // The echo without an id is kept raw, not dropped.
    assert_eq!(plan.events.len(), 1);
    assert_eq!(plan.events[0].field, "message_echoes.unidentified");
    // Another deployment's echoes are not ours.
    let theirs = plan_for_other_number();
    assert!(theirs.echoes.is_empty() && theirs.foreign.len() == 1);
}

fn plan_for_other_number() -> Plan {
    plan(&parse(ECHOES), &PhoneNumberFilter::new(["PN2".to_owned()]), &received())
}

const HISTORY: &str = include_str!("../../../fixtures/webhooks/history.json");
const HISTORY_DECLINED_FIXTURE: &str = include_str!("../../../fixtures/webhooks/history_declined.json");

#[test]
fn a_history_chunk_imports_both_directions_and_touches_no_window() {
    let plan = plan(
        &parse(HISTORY),
        &PhoneNumberFilter::new(["PN1".to_owned()]),
        &received(),
    );

    assert!(
        plan.contacts.is_empty(),
        "imported history never opens the 24-hour window"
    );
    assert_eq!(plan.inbound.len(), 1);
    let customer = &plan.inbound[0];
    assert!(customer.imported);
    assert_eq!(customer.wamid.as_str(), "wamid.H1");
    assert_eq!(customer.wa_id.as_deref(), Some("972501234567"));
    assert_eq!(plan.echoes.len(), 1);
    let business = &plan.echoes[0];
    assert!(business.imported);
    assert_eq!(business.to, Some(ContactId::Phone("972501234567".to_owned())));
    assert_eq!(business.history_status.as_deref(), Some("READ"));
    assert_eq!(plan.history.len(), 1);
    let chunk = &plan.history[0];
    assert_eq!(
        (chunk.phase, chunk.chunk_order, chunk.progress),
        (Some(0), Some(1), Some(55))
    );
    assert_eq!((chunk.threads, chunk.messages, chunk.declined), (1, 2, false));
    assert!(plan.events.is_empty(), "the chunk is its own record, not a raw event");
    // The same chunk again is the same record.
    let again = plan_history_again();
    assert_eq!(again.history[0].event.digest, chunk.event.digest);
}

fn plan_history_again() -> Plan {
    plan(
        &parse(HISTORY),
        &PhoneNumberFilter::new(["PN1".to_owned()]),
        &received(),
    )
}

#[test]
fn a_declined_history_is_one_chunk_record_saying_so() {
    let plan = plan(
        &parse(HISTORY_DECLINED_FIXTURE),
        &PhoneNumberFilter::default(),
        &received(),
    );
    assert!(plan.inbound.is_empty() && plan.echoes.is_empty());
    assert_eq!(plan.history.len(), 1);
    assert!(plan.history[0].declined);
    assert_eq!(plan.history[0].errors[0].code, Some(2_593_109));
}

const STATE_SYNC: &str = include_str!("../../../fixtures/webhooks/smb_app_state_sync.json");

#[test]
fn address_book_changes_are_kept_on_their_contacts_and_raw() {
    let plan = plan(&parse(STATE_SYNC), &PhoneNumberFilter::default(), &received());
    assert_eq!(plan.address_book.len(), 2);
    let added = &plan.address_book[0];
    assert_eq!(added.contact, "16505551234");
    assert!(added.saved);
    assert_eq!(added.full_name.as_deref(), Some("Pablo Morales"));
    assert_eq!(added.at, 1_739_321_024);
    let removed = &plan.address_book[1];
    assert_eq!(
        (removed.contact.as_str(), removed.saved, removed.full_name.as_deref()),
        ("16505559876", false, None)
    );
    assert!(plan.contacts.is_empty(), "the address book is not the customer writing");
    assert_eq!(plan.events.len(), 1, "and the change is kept raw, as before");
}

#[test]
fn a_username_only_sender_is_recorded_by_user_id_with_the_username() {
    let payload = include_str!("../../../fixtures/webhooks/message_bsuid_no_phone.json");
    let plan = plan(&parse(payload), &PhoneNumberFilter::default(), &received());
    let record = &plan.inbound[0];
    assert_eq!(record.wa_id, None);
    assert_eq!(record.user_id.as_deref(), Some("US.13491208655302741918"));
    assert_eq!(
        record.contact(),
        Some(ContactId::User("US.13491208655302741918".to_owned()))
    );
    assert_eq!(record.username.as_deref(), Some("pablo.builds"));
    assert_eq!(plan.contacts[0].username.as_deref(), Some("pablo.builds"));
    let event = crate::domain::events::message_received(record, None);
    assert_eq!(event.detail["contact"]["username"], "pablo.builds");
    assert_eq!(event.detail["contact"]["user_id"], "US.13491208655302741918");
}

#[test]
fn a_changed_number_and_a_message_with_both_ids_link_the_customers_ids() {
    let payload = r#"{"object":"whatsapp_business_account","entry":[{"id":"WABA1","changes":[{"field":"messages",
      "value":{"metadata":{"phone_number_id":"PN1"},
        "contacts":[{"wa_id":"16505551234","user_id":"US.77","profile":{"name":"Sheena"}}],
        "messages":[
          {"from":"16505551234","from_user_id":"US.77","id":"wamid.B1","timestamp":"1739321000","type":"text","text":{"body":"hi"}},
          {"from":"16505551234","from_user_id":"US.77","id":"wamid.B2","timestamp":"1739321001","type":"text","text":{"body":"again"}},
          {"from":"16505551234","id":"wamid.SYS","timestamp":"1739321024","type":"system",
           "system":{"body":"User Sheena changed from 16505551234 to 12195555358","wa_id":"12195555358","type":"user_changed_number"}}]}}]}]}"#;
    let plan = plan(&parse(payload), &PhoneNumberFilter::default(), &received());
    let links: Vec<_> = plan.links.iter().map(|l| (l.a.key(), l.b.key(), l.reason)).collect();
    assert_eq!(
        links,
        [
            ("16505551234", "US.77", SAME_MESSAGE),
            ("16505551234", "12195555358", "user_changed_number"),
        ],
        "one link per pair a payload makes"
    );
}

#[test]
fn a_call_connects_and_terminates_as_two_call_records_of_one_call() {
    let connect = plan(
        &parse(include_str!("../../../fixtures/webhooks/calls_connect.json")),
        &PhoneNumberFilter::default(),
        &received(),
    );
    assert_eq!(connect.calls.len(), 1);
    let ringing = &connect.calls[0];
    assert_eq!(ringing.step, CallStep::Connect);
    assert!(ringing.is_incoming());
    assert_eq!(ringing.from.as_deref(), Some("13175551399"));
    assert!(connect.events.is_empty() && connect.inbound.is_empty());
    let ended = plan(
        &parse(include_str!("../../../fixtures/webhooks/calls_terminate.json")),
        &PhoneNumberFilter::default(),
        &received(),
    );
    let ended = &ended.calls[0];
    assert_eq!(ended.call_id, ringing.call_id);
    assert_eq!(
        (ended.step.clone(), ended.status.as_deref(), ended.duration),
        (CallStep::Terminate, Some("FAILED"), Some(5))
    );
    assert!(!ended.is_incoming());
    assert_ne!(ended.step.key(), ringing.step.key(), "one item a step");
}

#[test]
fn meta_s_august_2026_identity_messages_link_the_previous_user_id_to_the_new_one() {
    let links_of = |payload: &str| -> Vec<(String, String, &'static str)> {
        plan(&parse(payload), &PhoneNumberFilter::default(), &received())
            .links
            .iter()
            .map(|l| (l.a.key().to_owned(), l.b.key().to_owned(), l.reason))
            .collect()
    };
    // A user id change with no phone number: the previous id it names, not only the id that sent it.
    assert_eq!(
        links_of(include_str!(
            "../../../fixtures/webhooks/message_system_user_id_changed.json"
        )),
        [(
            "US.13491208655302741918".to_owned(),
            "US.40817263544433221100".to_owned(),
            "user_changed_user_id"
        )]
    );
    // A number change regenerates the user id: both pairs are one customer.
    assert_eq!(
        links_of(include_str!(
            "../../../fixtures/webhooks/message_system_number_changed_user_id.json"
        )),
        [
            (
                "16505551234".to_owned(),
                "12195555358".to_owned(),
                "user_changed_number"
            ),
            (
                "US.13491208655302741918".to_owned(),
                "US.55512340000000000001".to_owned(),
                "user_changed_number"
            ),
        ]
    );
}
