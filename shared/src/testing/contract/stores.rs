//! The contract of the message store and the verification store.

use super::*;

// ------------------------------------------------------------------ the message store

/// Inbound messages once; statuses only move up in rank, a redelivery is `Current`, an older one `Stale`.
pub async fn messages_and_statuses_converge<H: Harness>(harness: &H) {
    let store = harness.store();
    let inbound_wamid = format!("wamid.{}", harness.unique("inbound"));
    let inbound = InboundRecord {
        wamid: Wamid::new(inbound_wamid.clone()),
        phone_number_id: Some(PhoneNumberId::new("106540352242922")),
        display_phone_number: None,
        wa_id: Some("972504370045".to_owned()),
        user_id: None,
        profile_name: None,
        username: None,
        kind: "text".to_owned(),
        timestamp: Some(1_800_000_000),
        content: Content::Text { body: "hi".to_owned() },
        context_message_id: None,
        errors: Vec::new(),
        raw: "{}".to_owned(),
        received: Received {
            at: chrono::Utc::now(),
            request_id: harness.unique("req"),
        },
        imported: false,
    };
    assert_eq!(
        bounded(store.record_inbound(&inbound)).await.expect("answered"),
        WriteOutcome::Applied
    );
    let redelivered = InboundRecord {
        received: Received {
            at: chrono::Utc::now(),
            request_id: harness.unique("other-req"),
        },
        ..inbound
    };
    assert_eq!(
        bounded(store.record_inbound(&redelivered)).await.expect("answered"),
        WriteOutcome::Superseded
    );
    let sent = wamid(harness, "statuses");
    let to = ContactId::Phone("972504370045".to_owned());
    let record = |status| status_record(&sent, &to, status, None);
    assert_eq!(
        bounded(store.record_status(&record(DeliveryStatus::Delivered)))
            .await
            .expect("answered")
            .write,
        StatusWrite::Advanced
    );
    assert_eq!(
        bounded(store.record_status(&StatusRecord {
            received: Received {
                at: chrono::Utc::now(),
                request_id: harness.unique("again"),
            },
            ..record(DeliveryStatus::Delivered)
        }))
        .await
        .expect("answered")
        .write,
        StatusWrite::Current
    );
    assert_eq!(
        bounded(store.record_status(&record(DeliveryStatus::Sent)))
            .await
            .expect("answered")
            .write,
        StatusWrite::Stale
    );
    assert_eq!(
        bounded(store.record_status(&record(DeliveryStatus::Read)))
            .await
            .expect("answered")
            .write,
        StatusWrite::Advanced
    );
    // The delivery that advanced it to `delivered`, again after `read`: overtaken, not merely stale.
    assert_eq!(
        bounded(store.record_status(&record(DeliveryStatus::Delivered)))
            .await
            .expect("answered")
            .write,
        StatusWrite::Overtaken
    );
}

/// An echo of the WhatsApp Business app: recorded once (a redelivery is `Superseded`, an answer lost
/// after the write is still the caller's), listed in the customer's conversation as outbound with
/// its origin and content, advanced by its statuses whichever comes first, shown by its wamid.
pub async fn echoes_are_outbound_messages_of_the_conversation<H: Harness>(harness: &H) {
    let store = harness.store();
    let contact = ContactId::Phone(format!("9725{}", fresh_digits(harness, "echo", 8)));
    let echo = |wamid: &Wamid, body: &str, request: &str, at: i64| EchoRecord {
        wamid: wamid.clone(),
        phone_number_id: Some(PhoneNumberId::new("106540352242922")),
        display_phone_number: Some("15550783881".to_owned()),
        to: Some(contact.clone()),
        kind: "text".to_owned(),
        timestamp: Some(at),
        content: Content::Text { body: body.to_owned() },
        context_message_id: None,
        errors: Vec::new(),
        raw: "{}".to_owned(),
        received: Received {
            at: chrono::Utc::now(),
            request_id: request.to_owned(),
        },
        imported: false,
        history_status: None,
    };
    // Echo first, then its statuses.
    let first = wamid(harness, "echo-first");
    let request = harness.unique("echo-req");
    let recorded = echo(&first, "typed in the app", &request, 1_800_000_100);
    assert_eq!(
        bounded(store.record_echo(&recorded)).await.expect("answered"),
        WriteOutcome::Applied
    );
    assert_eq!(
        bounded(store.record_echo(&echo(
            &first,
            "typed in the app",
            &harness.unique("again"),
            1_800_000_100
        )))
        .await
        .expect("answered"),
        WriteOutcome::Superseded,
        "a redelivered echo changes nothing"
    );
    assert_eq!(
        bounded(store.record_echo(&recorded)).await.expect("answered"),
        WriteOutcome::Applied,
        "the same delivery again (its answer was lost) is still its own"
    );
    for status in [DeliveryStatus::Sent, DeliveryStatus::Read] {
        assert_eq!(
            bounded(store.record_status(&status_record(&first, &contact, status, None)))
                .await
                .expect("answered")
                .write,
            StatusWrite::Advanced
        );
    }
    // Statuses first (Meta does not promise an order), then the echo.
    let second = wamid(harness, "echo-second");
    assert_eq!(
        bounded(store.record_status(&status_record(&second, &contact, DeliveryStatus::Delivered, None)))
            .await
            .expect("answered")
            .write,
        StatusWrite::Advanced
    );
    assert_eq!(
        bounded(store.record_echo(&echo(&second, "and this", &harness.unique("late"), 1_800_000_200)))
            .await
            .expect("answered"),
        WriteOutcome::Applied
    );

    let page = bounded(store.conversation(contact.key(), 10, None))
        .await
        .expect("answered");
    let listed: Vec<_> = page
        .entries
        .iter()
        .map(|entry| {
            (
                entry.wamid.clone().unwrap_or_default(),
                entry.direction.as_str(),
                entry.origin.as_deref(),
                entry.status.as_deref(),
                entry
                    .content
                    .get("body")
                    .and_then(|body| body.as_str())
                    .map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            (
                second.to_string(),
                "outbound",
                Some("business_app"),
                Some("delivered"),
                Some("and this".to_owned())
            ),
            (
                first.to_string(),
                "outbound",
                Some("business_app"),
                Some("read"),
                Some("typed in the app".to_owned())
            ),
        ],
        "{page:?}"
    );
    let view = bounded(store.view(first.as_str()))
        .await
        .expect("answered")
        .expect("shown");
    assert_eq!(
        (
            view.direction.as_deref(),
            view.origin.as_deref(),
            view.status.as_deref(),
            view.to.as_deref()
        ),
        (
            Some("outbound"),
            Some("business_app"),
            Some("read"),
            Some(contact.key())
        )
    );
}

/// The shared history's messages are listed in both directions, flagged `imported`, once.
pub async fn imported_history_is_listed_and_flagged<H: Harness>(harness: &H) {
    let store = harness.store();
    let customer = format!("9726{}", fresh_digits(harness, "past", 8));
    let received = Received {
        at: chrono::Utc::now(),
        request_id: harness.unique("history-req"),
    };
    let theirs = InboundRecord {
        wamid: wamid(harness, "past-in"),
        phone_number_id: Some(PhoneNumberId::new("106540352242922")),
        display_phone_number: None,
        wa_id: Some(customer.clone()),
        user_id: None,
        profile_name: None,
        username: None,
        kind: "text".to_owned(),
        timestamp: Some(1_700_000_000),
        content: Content::Text {
            body: "are you open?".to_owned(),
        },
        context_message_id: None,
        errors: Vec::new(),
        raw: "{}".to_owned(),
        received: received.clone(),
        imported: true,
    };
    let ours = EchoRecord {
        wamid: wamid(harness, "past-out"),
        phone_number_id: Some(PhoneNumberId::new("106540352242922")),
        display_phone_number: None,
        to: Some(ContactId::Phone(customer.clone())),
        kind: "text".to_owned(),
        timestamp: Some(1_700_000_100),
        content: Content::Text { body: "yes".to_owned() },
        context_message_id: None,
        errors: Vec::new(),
        raw: "{}".to_owned(),
        received,
        imported: true,
        history_status: Some("READ".to_owned()),
    };
    for _ in 0..2 {
        bounded(store.record_inbound(&theirs)).await.expect("answered");
        bounded(store.record_echo(&ours)).await.expect("answered");
    }
    let page = bounded(store.conversation(&customer, 10, None))
        .await
        .expect("answered");
    let listed: Vec<_> = page
        .entries
        .iter()
        .map(|entry| {
            (
                entry.wamid.clone().unwrap_or_default(),
                entry.direction.as_str(),
                entry.imported,
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            (ours.wamid.to_string(), "outbound", Some(true)),
            (theirs.wamid.to_string(), "inbound", Some(true)),
        ],
        "{page:?}"
    );
}

/// The WhatsApp Business app's address book on a contact: the newest change wins, whatever the
/// order they arrive in; the same delivery again is its own; another one of the same change is not.
pub async fn address_book_changes_keep_the_newest<H: Harness>(harness: &H) {
    let store = harness.store();
    let contact = format!("1650{}", fresh_digits(harness, "book", 8));
    let change = |saved: bool, at: i64, request: &str| AddressBookRecord {
        contact: contact.clone(),
        phone_number_id: Some(PhoneNumberId::new("106540352242922")),
        saved,
        full_name: saved.then(|| "Pablo Morales".to_owned()),
        first_name: saved.then(|| "Pablo".to_owned()),
        at,
        received: Received {
            at: chrono::Utc::now(),
            request_id: request.to_owned(),
        },
    };
    let (first, second) = (harness.unique("book-1"), harness.unique("book-2"));
    let write =
        |entry: AddressBookRecord| async move { bounded(store.record_address_book(&entry)).await.expect("answered") };
    assert_eq!(write(change(true, 1_739_321_024, &first)).await, WriteOutcome::Applied);
    assert_eq!(
        write(change(true, 1_739_321_024, &first)).await,
        WriteOutcome::Applied,
        "its own, again"
    );
    assert_eq!(
        write(change(true, 1_739_321_024, &harness.unique("book-again"))).await,
        WriteOutcome::Superseded,
        "the same change redelivered"
    );
    assert_eq!(
        write(change(false, 1_739_321_030, &second)).await,
        WriteOutcome::Applied
    );
    assert_eq!(
        write(change(true, 1_739_321_024, &harness.unique("book-late"))).await,
        WriteOutcome::Superseded,
        "an older change arriving late"
    );
    // The contact's 24-hour window is not the address book's.
    assert_eq!(
        bounded(store.last_inbound_at(&ContactId::Phone(contact.clone()), None))
            .await
            .expect("answered"),
        None
    );
}

/// One customer, however identified: messages under an old number, a new number and a user id,
/// once linked, are one conversation read by any of the three, paged without gaps or repeats.
pub async fn linked_ids_are_one_conversation<H: Harness>(harness: &H) {
    let store = harness.store();
    let tail = fresh_digits(harness, "ids", 7);
    let old = ContactId::Phone(format!("1650{tail}"));
    let new = ContactId::Phone(format!("1219{tail}"));
    let user = ContactId::User(format!("US.{tail}"));
    let received = || Received {
        at: chrono::Utc::now(),
        request_id: harness.unique("ids-req"),
    };
    let mut written = Vec::new();
    for (i, who) in [&old, &old, &new, &user, &new].into_iter().enumerate() {
        let record = InboundRecord {
            wamid: wamid(harness, "linked"),
            phone_number_id: Some(PhoneNumberId::new("106540352242922")),
            display_phone_number: None,
            wa_id: matches!(who, ContactId::Phone(_)).then(|| who.key().to_owned()),
            user_id: matches!(who, ContactId::User(_)).then(|| who.key().to_owned()),
            profile_name: None,
            username: None,
            kind: "text".to_owned(),
            timestamp: Some(1_800_000_000 + i as i64),
            content: Content::Text {
                body: format!("message {i}"),
            },
            context_message_id: None,
            errors: Vec::new(),
            raw: "{}".to_owned(),
            received: received(),
            imported: false,
        };
        bounded(store.record_inbound(&record)).await.expect("answered");
        written.push(record.wamid.to_string());
    }
    let link = |a: &ContactId, b: &ContactId, reason| IdentityLink {
        a: a.clone(),
        b: b.clone(),
        reason,
        wamid: "wamid.SYSTEM".to_owned(),
        received: received(),
    };
    // Before any link, each id is its own conversation.
    let alone = bounded(store.conversation(old.key(), 10, None))
        .await
        .expect("answered");
    assert_eq!(alone.entries.len(), 2);
    for made in [
        link(&old, &new, "user_changed_number"),
        link(&new, &user, "user_changed_user_id"),
    ] {
        assert_eq!(
            bounded(store.record_link(&made)).await.expect("answered"),
            WriteOutcome::Applied
        );
    }
    written.reverse();
    for contact in [&old, &new, &user] {
        let mut seen = Vec::new();
        let mut after = None;
        for _ in 0..5 {
            let page = bounded(store.conversation(contact.key(), 2, after.as_ref()))
                .await
                .expect("answered");
            seen.extend(page.entries.iter().filter_map(|entry| entry.wamid.clone()));
            after = page.next;
            if after.is_none() {
                break;
            }
        }
        assert_eq!(
            seen, written,
            "read by {contact}: every id's messages, newest first, once"
        );
    }
}

/// A call's steps are recorded once each: the same delivery again (an answer lost) is its own,
/// Meta's redelivery is not, and another step of the same call is its own item.
pub async fn call_steps_are_recorded_once<H: Harness>(harness: &H) {
    let store = harness.store();
    let call_id = format!("wacid.{}", harness.unique("call"));
    let step = |step: CallStep, request: &str| CallRecord {
        call_id: call_id.clone(),
        phone_number_id: Some(PhoneNumberId::new("106540352242922")),
        step,
        from: Some("13175551399".to_owned()),
        to: Some("15550783881".to_owned()),
        direction: Some("USER_INITIATED".to_owned()),
        status: None,
        duration: None,
        timestamp: Some(1_800_000_000),
        start_time: None,
        end_time: None,
        raw: "{}".to_owned(),
        received: Received {
            at: chrono::Utc::now(),
            request_id: request.to_owned(),
        },
    };
    let request = harness.unique("call-req");
    let write = |record: CallRecord| async move { bounded(store.record_call(&record)).await.expect("answered") };
    assert_eq!(write(step(CallStep::Connect, &request)).await, WriteOutcome::Applied);
    assert_eq!(write(step(CallStep::Connect, &request)).await, WriteOutcome::Applied);
    assert_eq!(
        write(step(CallStep::Connect, &harness.unique("call-again"))).await,
        WriteOutcome::Superseded
    );
    assert_eq!(
        write(step(CallStep::Terminate, &harness.unique("call-end"))).await,
        WriteOutcome::Applied
    );
}

// ------------------------------------------------------------------ the verification store

/// A code is stored once; its email is claimed by one request; a claim whose answer was lost is
/// still its request's; a sent email is never claimed again.
pub async fn verification_emails_are_claimed_once<H: Harness>(harness: &H) {
    let store = harness.verification();
    let call_sid = CallSid::new(format!("CA{}", harness.unique("call").replace(['-', '_'], "")));
    let code = CapturedCode {
        call_sid: call_sid.clone(),
        code: "123456".to_owned(),
        method: CaptureMethod::Speech,
        confidence: Some(0.9),
        heard: Some("one two three four five six".to_owned()),
        from: Some("+15550100000".to_owned()),
        to: Some("+15550101234".to_owned()),
        received_at: chrono::Utc::now(),
    };
    assert_eq!(
        bounded(store.record_code(&code)).await.expect("answered"),
        WriteOutcome::Applied
    );
    assert_eq!(
        bounded(store.record_code(&code)).await.expect("answered"),
        WriteOutcome::Superseded
    );
    let item = code.item();
    let lease = Duration::from_secs(60);
    harness.lose(CLAIM_EMAIL, 0);
    let first = bounded(store.claim_email(&call_sid, &item, "claim_mine", lease)).await;
    harness.calm();
    let again = bounded(store.claim_email(&call_sid, &item, "claim_mine", lease)).await;
    lost_then_again(first, again, &WriteOutcome::Applied).await;
    assert_eq!(
        bounded(store.claim_email(&call_sid, &item, "claim_other", lease))
            .await
            .expect("answered"),
        WriteOutcome::Superseded
    );
    bounded(store.record_email_outcome(
        &call_sid,
        &item,
        &EmailOutcome::Sent {
            message_id: "ses-1".to_owned(),
        },
    ))
    .await
    .expect("answered");
    assert_eq!(
        bounded(store.claim_email(&call_sid, &item, "claim_late", Duration::ZERO))
            .await
            .expect("answered"),
        WriteOutcome::Superseded
    );
}

/// The codes captured for a called number come back the latest first, however the number is written,
/// at most the number asked for, and never another number's.
pub async fn captured_codes_are_listed_latest_first<H: Harness>(harness: &H) {
    use crate::ports::CodeLog;
    let store = harness.verification();
    let digits = format!("1555{}", fresh_digits(harness, "codes", 7));
    let other = format!("1666{}", fresh_digits(harness, "other codes", 7));
    let start = chrono::Utc::now() - chrono::Duration::minutes(10);
    for (minute, code, to) in [
        (0, "100001", format!("+{digits}")),
        (2, "100002", digits.clone()),
        (1, "100003", format!("+{other}")),
        (
            4,
            "100004",
            format!("+{} ({}) {}", &digits[..1], &digits[1..4], &digits[4..]),
        ),
    ] {
        let captured = CapturedCode {
            call_sid: CallSid::new(format!("CA{}", harness.unique(code).replace(['-', '_'], ""))),
            code: code.to_owned(),
            method: CaptureMethod::Keypad,
            confidence: None,
            heard: None,
            from: Some("+16505550100".to_owned()),
            to: Some(to),
            received_at: start + chrono::Duration::minutes(minute),
        };
        bounded(store.record_code(&captured)).await.expect("recorded");
    }
    let codes = |listed: Vec<crate::domain::verification::StoredCode>| {
        listed.into_iter().map(|code| code.code).collect::<Vec<_>>()
    };
    let all = bounded(store.latest_codes(&format!("+{digits}"), 10))
        .await
        .expect("answered");
    assert_eq!(all[0].captured_by, "dtmf");
    assert_eq!(codes(all), ["100004", "100002", "100001"]);
    let latest = bounded(store.latest_codes(&digits, 2)).await.expect("answered");
    assert_eq!(codes(latest), ["100004", "100002"]);
    let others = bounded(store.latest_codes(&other, 10)).await.expect("answered");
    assert_eq!(codes(others), ["100003"]);
    let none = bounded(store.latest_codes("no digits", 10)).await.expect("answered");
    assert!(none.is_empty());
}
