//! Echoes of the WhatsApp Business app (`smb_message_echoes`): recorded as outbound messages of
//! the customer's conversation, published as `message.echo`, never replied to, read or counted as
//! the customer writing.

use super::*;

fn echo_webhook(wamid: &str, to: &str, body: &str) -> String {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "smb_message_echoes",
        "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550783881",
            "phone_number_id": FIRST_NUMBER},
        "message_echoes": [{"from": "15550783881", "to": to, "id": wamid, "timestamp": "1800000000",
            "type": "text", "text": {"body": body}}]}}]}]})
    .to_string()
}

#[tokio::test]
async fn an_echo_is_recorded_and_published_and_never_replied_to_read_or_opening_the_window() {
    let (worker, fakes) = worker(Some("Thanks, we will answer soon."), true);
    let bus = FakeEventBus::new();
    let worker = worker.with_events(super::super::Publishing::new(bus.clone()));
    let body = echo_webhook("wamid.ECHO", "972500000042", "typed in the app");

    assert!(deliver(&worker, "echo", &body, 1).await);

    let echoes = of_type(&bus, "message.echo");
    assert_eq!(echoes.len(), 1, "{:?}", bus.published());
    crate::testing::schema::assert_valid(&echoes[0].detail_type, &echoes[0].detail);
    assert_eq!(echoes[0].detail["origin"], "business_app");
    assert_eq!(echoes[0].detail["contact"]["wa_id"], "972500000042");
    assert_eq!(echoes[0].detail["text"]["body"], "typed in the app");
    assert!(of_type(&bus, "message.received").is_empty());
    assert!(
        fakes.queue.take_sent().is_empty(),
        "no auto-reply to the business's own message"
    );
    assert!(fakes.graph.state().marked_read.is_empty(), "nothing to mark as read");
    let tables = fakes.store.tables();
    assert!(
        tables.contacts.is_empty() && tables.windows.is_empty(),
        "the window stays as it was"
    );
    let item = &tables.messages["wamid.ECHO"];
    assert_eq!(item.contact.as_deref(), Some("972500000042"));
    assert!(item.echo.is_some() && item.inbound.is_none());
}

#[tokio::test]
async fn a_redelivered_echo_is_recorded_once_and_republished_with_the_same_event_id() {
    let (worker, fakes, bus) = publishing_worker();
    let body = echo_webhook("wamid.ECHO2", "972500000043", "once");
    // The first delivery's publish fails after the write: the record fails, and comes back.
    bus.faults.fail_next("put_events", 3, Fault::Transient);
    assert!(!deliver(&worker, "echo", &body, 1).await);
    assert!(deliver(&worker, "echo", &body, 2).await);
    let echoes = of_type(&bus, "message.echo");
    assert_eq!(echoes.len(), 1);
    assert_eq!(fakes.store.tables().messages.len(), 1);
    // Delivered a third time (SQS at least once): the same event again, the same id.
    assert!(deliver(&worker, "echo", &body, 3).await);
    let again = of_type(&bus, "message.echo");
    assert!(
        again.iter().all(|event| event.event_id == echoes[0].event_id),
        "{again:?}"
    );
}

fn history_webhook() -> String {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "history",
        "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550783881",
            "phone_number_id": FIRST_NUMBER},
        "history": [{"metadata": {"phase": 0, "chunk_order": 1, "progress": 100},
            "threads": [{"id": "972500000044", "messages": [
                {"from": "972500000044", "id": "wamid.PAST1", "timestamp": "1700000000", "type": "text",
                    "text": {"body": "are you open?"}, "history_context": {"status": "READ"}},
                {"from": "15550783881", "to": "972500000044", "id": "wamid.PAST2", "timestamp": "1700000100",
                    "type": "text", "text": {"body": "yes"}, "history_context": {"status": "READ"}}]}]}]}}]}]})
    .to_string()
}

#[tokio::test]
async fn a_history_chunk_is_imported_once_announced_once_and_never_replied_to() {
    let (worker, fakes) = worker(Some("Thanks, we will answer soon."), true);
    let bus = FakeEventBus::new();
    let worker = worker.with_events(super::super::Publishing::new(bus.clone()));
    let body = history_webhook();

    assert!(deliver(&worker, "history", &body, 1).await);
    // Meta delivering the same chunk again (a new queue message): nothing new.
    assert!(deliver(&worker, "history-again", &body, 1).await);

    let progress = of_type(&bus, "history.progress");
    assert_eq!(progress.len(), 1, "{:?}", bus.published());
    crate::testing::schema::assert_valid(&progress[0].detail_type, &progress[0].detail);
    assert_eq!(progress[0].detail["progress"], 100);
    assert_eq!(progress[0].detail["messages"], 2);
    assert!(of_type(&bus, "message.received").is_empty(), "imported, not received");
    assert!(of_type(&bus, "message.echo").is_empty(), "imported, not echoed now");
    assert!(fakes.queue.take_sent().is_empty(), "no auto-reply to the past");
    assert!(fakes.graph.state().marked_read.is_empty());
    let tables = fakes.store.tables();
    assert!(
        tables.contacts.is_empty() && tables.windows.is_empty(),
        "the window stays closed"
    );
    assert!(
        tables.messages["wamid.PAST1"]
            .inbound
            .as_ref()
            .is_some_and(|r| r.imported)
    );
    assert!(tables.messages["wamid.PAST2"].echo.as_ref().is_some_and(|e| e.imported));
}

#[tokio::test]
async fn a_declined_history_share_is_recorded_and_published() {
    let (worker, _fakes, bus) = publishing_worker();
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "history",
        "value": {"messaging_product": "whatsapp", "metadata": {"phone_number_id": FIRST_NUMBER},
        "history": [{"errors": [{"code": 2593109, "title": "History sync is turned off by the business"}]}]}}]}]})
    .to_string();
    assert!(deliver(&worker, "declined", &body, 1).await);
    let progress = of_type(&bus, "history.progress");
    assert_eq!(progress.len(), 1);
    crate::testing::schema::assert_valid(&progress[0].detail_type, &progress[0].detail);
    assert_eq!(progress[0].detail["declined"], true);
    assert_eq!(progress[0].detail["errors"][0]["code"], 2593109);
}
