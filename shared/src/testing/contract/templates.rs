//! The contract of the template status store.

use super::*;

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
