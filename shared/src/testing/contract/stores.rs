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
            .expect("answered"),
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
        .expect("answered"),
        StatusWrite::Current
    );
    assert_eq!(
        bounded(store.record_status(&record(DeliveryStatus::Sent)))
            .await
            .expect("answered"),
        StatusWrite::Stale
    );
    assert_eq!(
        bounded(store.record_status(&record(DeliveryStatus::Read)))
            .await
            .expect("answered"),
        StatusWrite::Advanced
    );
    // The delivery that advanced it to `delivered`, again after `read`: overtaken, not merely stale.
    assert_eq!(
        bounded(store.record_status(&record(DeliveryStatus::Delivered)))
            .await
            .expect("answered"),
        StatusWrite::Overtaken
    );
}

// ------------------------------------------------------------------ template statuses

/// A template's latest send-deciding status by Meta's time: an older one changes nothing, the same one
/// again is written again (a redelivery, an answer lost), a refused write leaves the held one, a later
/// `APPROVED` lifts a pause; another language or WABA is another template.
pub async fn template_statuses_keep_the_latest<H: Harness>(harness: &H) {
    use crate::domain::health::TemplateStatus;
    let store = harness.store();
    let waba = harness.unique("waba");
    let status = |event: &str, at: i64| TemplateStatus {
        waba_id: waba.clone(),
        name: "order_update".to_owned(),
        language: "en_US".to_owned(),
        template_id: Some("806312974732579".to_owned()),
        status: event.to_owned(),
        reason: Some("NONE".to_owned()),
        detail: (event == "PAUSED").then(|| "paused for 3 hours".to_owned()),
        at,
    };
    let held = || bounded(store.template_status(&waba, "order_update", "en_US"));
    assert_eq!(held().await.expect("answered"), None);
    let paused = status("PAUSED", 1_800_000_100);
    assert_eq!(
        bounded(store.record_template_status(&paused)).await.expect("answered"),
        WriteOutcome::Applied
    );
    assert_eq!(held().await.expect("answered"), Some(paused.clone()));
    assert_eq!(
        bounded(store.record_template_status(&status("APPROVED", 1_800_000_050)))
            .await
            .expect("answered"),
        WriteOutcome::Superseded,
        "an older approval delivered late"
    );
    assert_eq!(held().await.expect("answered"), Some(paused.clone()));
    harness.lose(RECORD_TEMPLATE_STATUS, 0);
    let first = bounded(store.record_template_status(&paused)).await;
    harness.calm();
    let again = bounded(store.record_template_status(&paused)).await;
    lost_then_again(first, again, &WriteOutcome::Applied).await;
    let approved = status("APPROVED", 1_800_000_200);
    harness.refuse(RECORD_TEMPLATE_STATUS, 0);
    assert!(bounded(store.record_template_status(&approved)).await.is_err());
    harness.calm();
    assert_eq!(
        held().await.expect("answered"),
        Some(paused),
        "a refused write changes nothing"
    );
    assert_eq!(
        bounded(store.record_template_status(&approved))
            .await
            .expect("answered"),
        WriteOutcome::Applied
    );
    let lifted = held().await.expect("answered").expect("held");
    assert!(!lifted.refuses_sends());
    assert_eq!(lifted, approved);
    assert_eq!(
        bounded(store.template_status(&waba, "order_update", "pt_BR"))
            .await
            .expect("answered"),
        None
    );
    assert_eq!(
        bounded(store.template_status(&harness.unique("other-waba"), "order_update", "en_US"))
            .await
            .expect("answered"),
        None
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
