//! The contract of the contacts list (`ports::ContactList`): each contact once, by its last activity
//! (inbound messages, echoes and sends move it forward, never back), paged, with its windows.

use super::*;
use crate::domain::contacts::ContactsPage;
use crate::domain::records::ContactActivity;
use crate::ports::ContactList;

/// The contacts list keeps one entry a contact, newest activity first; an older activity (a late
/// webhook, a send queued before the contact's last message) never moves it back; pages follow on.
pub async fn contacts_are_listed_by_last_activity<H: Harness>(harness: &H) {
    let store = harness.store();
    // Above every other case's times (theirs are about 1.8e9), later on every run against the same
    // table (the store's clock: the real one on DynamoDB), so this run's contacts are the newest.
    let base = 1_900_000_000 + store.now() % 100_000_000;
    let number = PhoneNumberId::new("106540352242922");
    let [ann, bob, cat] = ["ann", "bob", "cat"].map(|name| format!("9725{}", fresh_digits(harness, name, 8)));
    let activity = |key: &str, name: &str, at: i64, body: &str| ContactActivity {
        key: key.to_owned(),
        wa_id: Some(key.to_owned()),
        user_id: None,
        profile_name: Some(name.to_owned()),
        username: None,
        phone_number_id: Some(number.clone()),
        last_inbound_at: at,
        last_inbound_wamid: format!("wamid.{}", harness.unique(name)),
        kind: "text".to_owned(),
        preview: body.to_owned(),
    };
    let record = |activity: ContactActivity| async move {
        bounded(store.record_contact_activity(&activity))
            .await
            .expect("answered");
    };
    record(activity(&ann, "<b>Ann</b>", base + 1, "hi from ann")).await;
    record(activity(&bob, "Bob", base + 2, "hi from bob")).await;
    record(activity(&cat, "Cat", base + 4, "hi from cat")).await;
    // Ann's echo (typed in the WhatsApp Business app) moves her above Bob, as outbound.
    let echo = EchoRecord {
        wamid: wamid(harness, "contacts-echo"),
        phone_number_id: Some(number.clone()),
        display_phone_number: None,
        to: Some(ContactId::Phone(ann.clone())),
        kind: "text".to_owned(),
        timestamp: Some(base + 3),
        content: Content::Text {
            body: "answered in the app".to_owned(),
        },
        context_message_id: None,
        errors: Vec::new(),
        raw: "{}".to_owned(),
        received: Received {
            at: chrono::Utc::now(),
            request_id: harness.unique("contacts-echo-req"),
        },
        imported: false,
        history_status: None,
    };
    bounded(store.record_echo(&echo)).await.expect("answered");
    // Older than each one's last: nothing moves. Bob's late message, and a send to Cat queued now
    // (the store's clock is before `base`).
    record(activity(&bob, "Bob", base, "an old one")).await;
    let message_id = outbound::id_for_key("contract", &harness.unique("contacts-send"));
    let send = NewOutbound {
        message_id: message_id.clone(),
        to: ContactId::Phone(cat.clone()),
        from: None,
        kind: MessageKind::Text,
        payload: serde_json::json!({"type": "text", "text": {"body": "late reply"}}),
        fingerprint: harness.unique("contacts-fp"),
        origin: Origin::Api,
    };
    assert_eq!(
        bounded(store.create_outbound(&send)).await.expect("answered"),
        Created::New
    );

    let page = |limit: u32, after: Option<crate::domain::history::Position>| async move {
        bounded(store.contacts(limit, after.as_ref())).await.expect("answered")
    };
    let first: ContactsPage = page(2, None).await;
    let keys: Vec<&str> = first.contacts.iter().map(|contact| contact.key.as_str()).collect();
    assert_eq!(
        keys,
        [cat.as_str(), ann.as_str()],
        "newest activity first, one entry each"
    );
    let (cat_entry, ann_entry) = (&first.contacts[0], &first.contacts[1]);
    assert_eq!(
        (cat_entry.last.direction.as_str(), cat_entry.last.preview.as_str()),
        ("inbound", "hi from cat"),
        "a send older than the last activity does not move the contact back"
    );
    assert_eq!(
        (
            ann_entry.last.direction.as_str(),
            ann_entry.last.preview.as_str(),
            ann_entry.last.kind.as_str()
        ),
        ("outbound", "answered in the app", "text")
    );
    assert_eq!(ann_entry.last.id, echo.wamid.as_str());
    assert_eq!(ann_entry.name.as_deref(), Some("<b>Ann</b>"));
    assert_eq!(ann_entry.wa_id.as_deref(), Some(ann.as_str()));
    assert_eq!(ann_entry.last_inbound_at, Some(base + 1));
    assert_eq!(ann_entry.windows.len(), 1);
    assert_eq!(ann_entry.windows[0].phone_number_id, number.as_str());
    assert_eq!(ann_entry.windows[0].last_inbound_at, base + 1);
    let expected_time = chrono::DateTime::from_timestamp(base + 3, 0)
        .expect("a time")
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    assert_eq!(ann_entry.last.timestamp, expected_time);

    let next = first.next.expect("a next page");
    let second = page(1, Some(next)).await;
    let bob_entry = second.contacts.first().expect("Bob on the next page");
    assert_eq!(bob_entry.key, bob);
    assert_eq!(
        bob_entry.last.preview, "hi from bob",
        "an older message leaves the last one shown"
    );
    assert_eq!(bob_entry.last_inbound_at, Some(base + 2));
}
