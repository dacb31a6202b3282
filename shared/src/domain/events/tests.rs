use super::*;

fn raw(payload: String) -> RawEventRecord {
    RawEventRecord {
        field: "message_template_status_update".into(),
        entry_id: "102290129340398".into(),
        phone_number_id: None,
        payload,
        payload_pointer: None,
        entry_time: None,
        digest: "d1".into(),
        received: super::super::records::Received {
            at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
            request_id: "r".into(),
        },
    }
}

#[test]
fn ids_are_deterministic_and_distinct() {
    assert_eq!(event_id(&["a", "b"]), event_id(&["a", "b"]));
    assert_ne!(event_id(&["a", "b"]), event_id(&["ab", ""]));
    assert_eq!(event_id(&["x"]).len(), 32);
}

#[test]
fn batches_respect_count_and_size() {
    let small: Vec<BusEvent> = (0..25).map(|i| raw_field(&raw(format!("{{\"i\":{i}}}")))).collect();
    let calls = batches(&small);
    assert_eq!(calls.iter().map(|c| c.len()).collect::<Vec<_>>(), vec![10, 10, 5]);
    let big: Vec<BusEvent> = (0..4)
        .map(|_| raw_field(&raw(format!("\"{}\"", "x".repeat(100_000)))))
        .collect();
    let calls = batches(&big);
    assert!(
        calls
            .iter()
            .all(|call| call.iter().map(BusEvent::size).sum::<usize>() < MAX_CALL_BYTES)
    );
    assert_eq!(calls.iter().map(|c| c.len()).sum::<usize>(), 4);
    assert!(batches(&[]).is_empty());
}

#[test]
fn a_huge_raw_value_is_left_out_so_the_entry_fits() {
    let event = raw_field(&raw(format!("\"{}\"", "x".repeat(300_000))));
    assert!(event.size() < MAX_CALL_BYTES);
    assert_eq!(event.detail["value"], Value::Null);
    assert_eq!(event.detail["value_omitted"], 300_002);
    assert_eq!(event.detail_type, "whatsapp.message_template_status_update");
}

#[test]
fn field_names_are_tamed() {
    assert_eq!(field_name("account_update"), "account_update");
    assert_eq!(field_name("Bad Field!/x"), "badfieldx");
    assert_eq!(field_name("***"), "unknown");
}

#[test]
fn a_health_field_gets_a_typed_event_only_when_its_value_reads() {
    let typed = health_event(&raw(
        r#"{"event":"REJECTED","message_template_id":1,"message_template_name":"a","message_template_language":"en","reason":"SCAM"}"#
            .to_owned(),
    ))
    .expect("typed");
    assert_eq!(typed.detail_type, TEMPLATE_STATUS);
    assert_eq!(typed.detail["sends_refused"], true);
    assert_eq!(typed.detail["template_id"], "1");
    assert_eq!(typed.detail["time"], Value::Null, "no entry time");
    assert_ne!(typed.event_id, raw_field(&raw("{}".to_owned())).event_id);
    // Not an object, not JSON, too large, or another field: the raw event only.
    assert_eq!(health_event(&raw("\"text\"".to_owned())), None);
    assert_eq!(health_event(&raw("{".to_owned())), None);
    assert_eq!(
        health_event(&raw(format!("{{\"event\":\"{}\"}}", "x".repeat(MAX_DETAIL_BYTES)))),
        None
    );
    let other = RawEventRecord {
        field: "user_preferences".into(),
        ..raw("{}".to_owned())
    };
    assert_eq!(health_event(&other), None);
}
