//! The console in a real browser (headless Chromium through WebDriver) against the local stack: the
//! template's routes over the real handlers, the worker on a fresh queue, the Graph API stand-in
//! answering sends and posting their status webhooks, moto behind them.
//!
//! A wrong key is refused with a clear message and nothing kept; with the right key, a message a
//! customer writes (a signed webhook) appears; its markup (a name and a text that would run script
//! if put in as HTML) shows as text and runs nothing; a reply (clicked twice) is sent once and
//! reaches `read`; a contact whose window closed gets a template from the picker (clicked twice: once);
//! a code the Twilio gather function heard shows in the verification codes. Screenshots of each step go to `.local/console/` (not committed), one at phone
//! width. Skipped only when chromedriver is missing and `CONSOLE_BROWSER_TESTS=0` says so.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Duration;

use bridge::domain::meta_signature;
use bridge::domain::secret::Secret;
use integration_tests::*;
use serde_json::{Value, json};
use test_support::webdriver::{Availability, Browser, availability};

const WAIT: Duration = Duration::from_secs(30);
const XSS_TEXT: &str = "<img src=x onerror=alert(1)>";
const XSS_NAME: &str = "<b onmouseover=alert(2)>Ana & Co</b><script>alert(3)</script>";

fn shots() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.local/console"))
}

/// A customer's text, as Meta posts it to the webhook, signed with the app secret.
async fn customer_writes(stack: &Stack, from: &str, name: &str, text: &str, ago: i64) {
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "field": "messages",
        "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": stack.env["WHATSAPP_PHONE_NUMBER_ID"]},
            "contacts": [{"profile": {"name": name}, "wa_id": from}],
            "messages": [{"from": from, "id": unique("wamid.CONSOLE"), "timestamp": (chrono::Utc::now().timestamp() - ago).to_string(),
                          "type": "text", "text": {"body": text}}]
        }
    }]}]})
    .to_string();
    let signature = meta_signature::sign(&Secret::new(stack.env["WHATSAPP_APP_SECRET"].as_str()), body.as_bytes());
    let status = test_support::http::client()
        .post(format!("{}/webhooks/whatsapp", stack.api_url))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .body(body)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
}

/// Meta's verification call as Twilio posts its speech result to the gather function, signed with the
/// stack's auth token over its public URL.
async fn twilio_hears(stack: &Stack, to: &str, speech: &str) {
    let url = format!("{}/twilio/gather?attempt=1", stack.env["PUBLIC_BASE_URL"]);
    let call_sid = unique("CA");
    let params = [
        ("AccountSid", "AC00000000000000000000000000000000"),
        ("CallSid", call_sid.as_str()),
        ("CallStatus", "in-progress"),
        ("From", "+16505550100"),
        ("To", to),
        ("SpeechResult", speech),
        ("Confidence", "0.88"),
    ];
    let (signature, form) = test_support::events::twilio_form(&url, &params, &stack.env["TWILIO_AUTH_TOKEN"]);
    let status = test_support::http::client()
        .post(format!("{}/twilio/gather?attempt=1", stack.api_url))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", signature)
        .body(form)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
}

/// Every control is labelled (a label, its text or aria-label) and reachable by Tab (no tabindex < 0).
async fn assert_every_control_labelled(browser: &Browser, when: &str) {
    let unlabelled = browser
        .execute(
            "return [...document.querySelectorAll('button, input, textarea, a, select')]
               .filter(e => !(e.labels && e.labels.length) && !e.textContent.trim() && !e.getAttribute('aria-label')
                            || e.tabIndex < 0)
               .map(e => e.outerHTML.slice(0, 80))",
            json!([]),
        )
        .await;
    assert_eq!(
        unlabelled,
        json!([]),
        "{when}: controls without a name or out of the tab order"
    );
}

/// The conversation's outbound entries as the API lists them.
async fn sends_of(stack: &Stack, contact: &str) -> Vec<Value> {
    let answer = test_support::http::client()
        .get(format!("{}/contacts/{contact}/messages", stack.api_url))
        .header("authorization", format!("Bearer {}", stack.env["API_KEY"]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let page: Value = serde_json::from_str(&answer).unwrap();
    page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "outbound")
        .cloned()
        .collect()
}

/// Polls `script` (a boolean expression's `return`) in the page until it is true.
async fn until(browser: &Browser, what: &str, script: &str, args: Value) {
    let started = std::time::Instant::now();
    loop {
        if browser.execute(script, args.clone()).await == Value::Bool(true) {
            return;
        }
        assert!(started.elapsed() < WAIT, "{what}: not after {WAIT:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_a_browser_reads_replies_and_shows_customer_markup_as_text() {
    let driver = match availability() {
        Availability::Driver(driver) => driver,
        Availability::Skip(reason) => {
            eprintln!("SKIPPED: {reason}");
            return;
        }
    };
    let stack = Stack::start(Options {
        worker: true,
        ..Options::default()
    })
    .await;
    let browser = Browser::start(&driver, 1280, 860).await;
    let console = format!("{}/console", stack.api_url);
    let shots = shots();

    // 1. A wrong key: a clear message, nothing kept.
    browser.goto(&console).await;
    let key = browser.wait_for("#key-input", WAIT).await;
    browser.screenshot(&shots.join("01-key.png")).await;
    browser.type_into(&key, "not-the-key-0000000000").await;
    browser.click(&browser.find("#key-submit").await.unwrap()).await;
    until(
        &browser,
        "the refusal",
        "return !document.getElementById('key-error').hidden",
        json!([]),
    )
    .await;
    let refusal = browser.text(&browser.find("#key-error").await.unwrap()).await;
    assert!(refusal.contains("refused this key (401"), "{refusal}");
    assert_eq!(browser.execute("return sessionStorage.length", json!([])).await, 0);
    assert_eq!(
        browser
            .execute("return document.getElementById('key-input').value", json!([]))
            .await,
        ""
    );
    assert!(
        !browser
            .execute("return document.body.innerText", json!([]))
            .await
            .as_str()
            .unwrap()
            .contains("not-the-key")
    );
    browser.screenshot(&shots.join("02-wrong-key.png")).await;

    // 2. A customer writes (signed webhook → queue → worker), markup in the name and the text.
    let digits = unique("").replace('.', "");
    let contact = format!("1555{}", &digits[digits.len() - 7..]);
    // Meta's times are to the second: the list shows the newest by its time.
    customer_writes(&stack, &contact, XSS_NAME, "Hello! Is my order #1042 ready?", 2).await;
    customer_writes(&stack, &contact, XSS_NAME, XSS_TEXT, 1).await;

    // 3. The right key, with the keyboard alone (Enter submits): the conversation appears in the list.
    let key = browser.find("#key-input").await.unwrap();
    browser
        .type_into(&key, &format!("{}\u{E007}", stack.env["API_KEY"]))
        .await;
    let entry = format!("button.contact[data-contact='{contact}']");
    browser.wait_for(&entry, WAIT).await;
    until(
        &browser,
        "the last message's preview",
        "return document.querySelector(arguments[0]).textContent.includes(arguments[1])",
        json!([entry, XSS_TEXT]),
    )
    .await;
    let name = browser.text_css(&format!("{entry} .name")).await;
    assert_eq!(name, XSS_NAME, "the name as text, markup and all");
    assert_eq!(browser.execute("return sessionStorage.length", json!([])).await, 1);
    browser.screenshot(&shots.join("03-conversations.png")).await;
    assert_every_control_labelled(&browser, "the list").await;

    // 4. The conversation: the markup is text, no element made of it, no request to `x`, no dialog.
    browser.click_css(&entry).await;
    until(
        &browser,
        "the customer's messages",
        "return [...document.querySelectorAll('#messages .message.inbound .text')].some(t => t.textContent === arguments[0])",
        json!([XSS_TEXT]),
    )
    .await;
    let injected = browser
        .execute(
            "return document.querySelectorAll('#messages img, #messages b, #contacts b, script:not([src])').length",
            json!([]),
        )
        .await;
    assert_eq!(injected, 0, "customer markup became elements");
    let requested_x = browser
        .execute(
            "return performance.getEntriesByType('resource').some(r => new URL(r.name).pathname === '/x')",
            json!([]),
        )
        .await;
    assert_eq!(requested_x, false, "the page asked for `x`");
    assert_eq!(browser.dialog().await, None, "a dialog opened");
    let title = browser.text(&browser.find("#conversation-title").await.unwrap()).await;
    assert_eq!(title, XSS_NAME);
    let meta = browser.text(&browser.find("#conversation-meta").await.unwrap()).await;
    assert!(meta.contains("window open"), "{meta}");

    // 5. A reply, clicked twice: one message, which reaches `read` (the stand-in's status webhooks).
    let reply = browser.find("#reply-input").await.unwrap();
    browser.type_into(&reply, "Yes, it ships today. Thank you!").await;
    let send = browser.find("#reply-send").await.unwrap();
    browser
        .execute("arguments[0].click(); arguments[0].click();", json!([send.reference()]))
        .await;
    until(
        &browser,
        "the reply read",
        "return [...document.querySelectorAll('#messages .message.outbound')].some(m => m.dataset.status === 'read' && m.textContent.includes('read'))",
        json!([]),
    )
    .await;
    let outbound = browser.find_all("#messages .message.outbound").await;
    assert_eq!(outbound.len(), 1, "a double click sent once");
    let ticks = browser.text_css("#messages .message.outbound .ticks").await;
    assert_eq!(ticks, "✓✓");
    assert_eq!(browser.dialog().await, None);
    browser.screenshot(&shots.join("04-reply-read.png")).await;
    // The API agrees: one send in the conversation.
    let sends = sends_of(&stack, &contact).await;
    assert_eq!(sends.len(), 1, "{sends:?}");
    assert_eq!(sends[0]["status"], "read");

    // 6. A contact who wrote two days ago: the window is closed, the reply is a template. The picker
    // lists the WABA's approved templates (the stand-in's), a field per parameter; a double click sends once.
    let fresh = unique("").replace('.', "");
    let closed = format!("1555{}", &fresh[fresh.len() - 7..]);
    assert_ne!(closed, contact);
    customer_writes(
        &stack,
        &closed,
        "Dana (closed window)",
        "Thanks, see you next month",
        2 * 86_400,
    )
    .await;
    let closed_entry = format!("button.contact[data-contact='{closed}']");
    browser.wait_for(&closed_entry, WAIT).await;
    browser.click_css(&closed_entry).await;
    until(
        &browser,
        "the template picker",
        "return !document.getElementById('template-form').hidden && document.getElementById('reply-form').hidden
                && [...document.querySelectorAll('#template-select option')].some(o => o.textContent === 'shipping_update · en_US')",
        json!([]),
    )
    .await;
    let pending = browser
        .execute(
            "return [...document.querySelectorAll('#template-select option')].find(o => o.textContent.startsWith('summer_sale')).disabled",
            json!([]),
        )
        .await;
    assert_eq!(pending, true, "a template Meta has not approved cannot be chosen");
    browser
        .execute(
            "const select = document.getElementById('template-select');
             select.value = [...select.options].find(o => o.textContent === 'shipping_update · en_US').value;
             select.dispatchEvent(new Event('change'));",
            json!([]),
        )
        .await;
    let fields = browser.find_all("#template-fields input").await;
    assert_eq!(fields.len(), 2, "shipping_update's body takes {{1}} and {{2}}");
    assert_eq!(
        browser.attribute(&fields[0], "placeholder").await.as_deref(),
        Some("Ayala")
    );
    browser.type_into(&fields[0], "Dana").await;
    browser.type_into(&fields[1], "#2211").await;
    let preview = browser.text_css("#template-preview").await;
    assert!(preview.contains("Hi Dana, your order #2211 has shipped."), "{preview}");
    assert_every_control_labelled(&browser, "the template picker").await;
    browser.screenshot(&shots.join("05-template-picker.png")).await;
    // The conversation pane alone (docs/console/template.png): no other test's contact in it.
    let pane = browser.find("#conversation-pane").await.unwrap();
    browser
        .screenshot_of(&pane, &shots.join("05-template-picker-pane.png"))
        .await;
    let send = browser.find("#template-send").await.unwrap();
    browser
        .execute("arguments[0].click(); arguments[0].click();", json!([send.reference()]))
        .await;
    until(
        &browser,
        "the template in the conversation",
        "return [...document.querySelectorAll('#messages .message.outbound')].some(m => m.textContent.includes('template shipping_update'))",
        json!([]),
    )
    .await;
    let note = browser.text_css("#template-note").await;
    assert_eq!(note, "Queued.");
    // The form starts over: no template chosen, no field, nothing to send.
    assert!(browser.find_all("#template-fields input").await.is_empty());
    let send_disabled = browser
        .execute("return document.getElementById('template-send').disabled", json!([]))
        .await;
    assert_eq!(send_disabled, true);
    let sends = sends_of(&stack, &closed).await;
    assert_eq!(sends.len(), 1, "a double click sent one template: {sends:?}");
    assert_eq!(sends[0]["type"], "template");
    assert_eq!(browser.dialog().await, None);
    browser.screenshot(&shots.join("06-template-sent.png")).await;

    // 7. The verification codes: a code the gather function heard in Meta's call, the latest first.
    twilio_hears(
        &stack,
        &stack.env["TWILIO_PHONE_NUMBER"],
        "Your WhatsApp code is 7 3 9 1 8 2.",
    )
    .await;
    browser.click(&browser.find("#show-codes").await.unwrap()).await;
    until(
        &browser,
        "the code",
        "return document.querySelector('#codes .code-entry .code')?.textContent === '739182'",
        json!([]),
    )
    .await;
    let status = browser.text_css("#codes-status").await;
    assert!(status.contains(&stack.env["TWILIO_PHONE_NUMBER"]), "{status}");
    assert_every_control_labelled(&browser, "the codes").await;
    browser.screenshot(&shots.join("07-verification-codes.png")).await;
    browser.click(&browser.find("#show-inbox").await.unwrap()).await;
    browser.click_css(&entry).await;

    // 8. Phone width: one pane at a time, the conversation then the list.
    browser.resize(390, 844).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    browser.screenshot(&shots.join("08-phone-conversation.png")).await;
    browser.click(&browser.find("#back").await.unwrap()).await;
    until(
        &browser,
        "the list at phone width",
        "return getComputedStyle(document.getElementById('list-pane')).display !== 'none'",
        json!([]),
    )
    .await;
    browser.screenshot(&shots.join("09-phone-list.png")).await;

    // 9. Forgetting the key keeps nothing.
    browser.click(&browser.find("#forget").await.unwrap()).await;
    assert_eq!(browser.execute("return sessionStorage.length", json!([])).await, 0);
    assert_eq!(browser.dialog().await, None);
    browser.quit().await;
}
