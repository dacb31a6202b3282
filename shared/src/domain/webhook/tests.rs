use super::*;
use serde_json::json;

// ---------------------------------------------------------------------------------------------
// Fixtures: complete POST bodies as Meta sends them (fake ids and numbers only).
// ---------------------------------------------------------------------------------------------

const MESSAGE_TEXT: &str = include_str!("../../../fixtures/webhooks/message_text.json");
const MESSAGE_IMAGE: &str = include_str!("../../../fixtures/webhooks/message_image.json");
const MESSAGE_VIDEO: &str = include_str!("../../../fixtures/webhooks/message_video.json");
const MESSAGE_AUDIO: &str = include_str!("../../../fixtures/webhooks/message_audio.json");
const MESSAGE_DOCUMENT: &str = include_str!("../../../fixtures/webhooks/message_document.json");
const MESSAGE_STICKER: &str = include_str!("../../../fixtures/webhooks/message_sticker.json");
const MESSAGE_LOCATION: &str = include_str!("../../../fixtures/webhooks/message_location.json");
const MESSAGE_CONTACTS: &str = include_str!("../../../fixtures/webhooks/message_contacts.json");
const MESSAGE_INTERACTIVE_BUTTON_REPLY: &str =
    include_str!("../../../fixtures/webhooks/message_interactive_button_reply.json");
const MESSAGE_INTERACTIVE_LIST_REPLY: &str =
    include_str!("../../../fixtures/webhooks/message_interactive_list_reply.json");
const MESSAGE_BUTTON: &str = include_str!("../../../fixtures/webhooks/message_button.json");
const MESSAGE_REACTION: &str = include_str!("../../../fixtures/webhooks/message_reaction.json");
const MESSAGE_ORDER: &str = include_str!("../../../fixtures/webhooks/message_order.json");
const MESSAGE_SYSTEM: &str = include_str!("../../../fixtures/webhooks/message_system.json");
const MESSAGE_UNSUPPORTED: &str = include_str!("../../../fixtures/webhooks/message_unsupported.json");
const MESSAGE_REPLY_CONTEXT: &str = include_str!("../../../fixtures/webhooks/message_reply_context.json");
const MESSAGE_BSUID_NO_PHONE: &str = include_str!("../../../fixtures/webhooks/message_bsuid_no_phone.json");
const STATUS_SENT: &str = include_str!("../../../fixtures/webhooks/status_sent.json");
const STATUS_DELIVERED: &str = include_str!("../../../fixtures/webhooks/status_delivered.json");
const STATUS_READ: &str = include_str!("../../../fixtures/webhooks/status_read.json");
const STATUS_FAILED: &str = include_str!("../../../fixtures/webhooks/status_failed.json");
const MIXED_BATCH: &str = include_str!("../../../fixtures/webhooks/mixed_batch.json");
const TEMPLATE_STATUS_UPDATE: &str = include_str!("../../../fixtures/webhooks/template_status_update.json");
const ACCOUNT_UPDATE: &str = include_str!("../../../fixtures/webhooks/account_update.json");
const PHONE_NUMBER_QUALITY_UPDATE: &str = include_str!("../../../fixtures/webhooks/phone_number_quality_update.json");
const UNICODE_ESCAPED: &str = include_str!("../../../fixtures/webhooks/unicode_escaped.json");
const UNKNOWN_FIELDS: &str = include_str!("../../../fixtures/webhooks/unknown_fields.json");

const ALL_FIXTURES: [(&str, &str); 27] = [
    ("message_text", MESSAGE_TEXT),
    ("message_image", MESSAGE_IMAGE),
    ("message_video", MESSAGE_VIDEO),
    ("message_audio", MESSAGE_AUDIO),
    ("message_document", MESSAGE_DOCUMENT),
    ("message_sticker", MESSAGE_STICKER),
    ("message_location", MESSAGE_LOCATION),
    ("message_contacts", MESSAGE_CONTACTS),
    ("message_interactive_button_reply", MESSAGE_INTERACTIVE_BUTTON_REPLY),
    ("message_interactive_list_reply", MESSAGE_INTERACTIVE_LIST_REPLY),
    ("message_button", MESSAGE_BUTTON),
    ("message_reaction", MESSAGE_REACTION),
    ("message_order", MESSAGE_ORDER),
    ("message_system", MESSAGE_SYSTEM),
    ("message_unsupported", MESSAGE_UNSUPPORTED),
    ("message_reply_context", MESSAGE_REPLY_CONTEXT),
    ("message_bsuid_no_phone", MESSAGE_BSUID_NO_PHONE),
    ("status_sent", STATUS_SENT),
    ("status_delivered", STATUS_DELIVERED),
    ("status_read", STATUS_READ),
    ("status_failed", STATUS_FAILED),
    ("mixed_batch", MIXED_BATCH),
    ("template_status_update", TEMPLATE_STATUS_UPDATE),
    ("account_update", ACCOUNT_UPDATE),
    ("phone_number_quality_update", PHONE_NUMBER_QUALITY_UPDATE),
    ("unicode_escaped", UNICODE_ESCAPED),
    ("unknown_fields", UNKNOWN_FIELDS),
];

const WABA_ID: &str = "102290129340398";
const OUR_PHONE_NUMBER_ID: &str = "106540352242922";
const OUR_DISPLAY_NUMBER: &str = "15550783881";
const OTHER_PHONE_NUMBER_ID: &str = "999999999999999";
const SHEENA: &str = "16505551234";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn parse(json: &str) -> WebhookPayload {
    serde_json::from_str(json).expect("fixture parses as a WebhookPayload")
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("expected a JSON object, got {other}"),
    }
}

fn messages_value(change: &Change) -> MessagesValue {
    change
        .messages_value()
        .expect("a `messages` change")
        .expect("its value parses as MessagesValue")
}

/// The one `messages` value of a one-entry, one-change fixture, with the envelope checked.
fn single_value(json: &str) -> MessagesValue {
    let payload = parse(json);
    assert_eq!(payload.object, "whatsapp_business_account");
    assert!(
        payload.extra.is_empty(),
        "unexpected top-level extra: {:?}",
        payload.extra
    );
    let [entry] = payload.entry.as_slice() else {
        panic!("expected exactly one entry, got {}", payload.entry.len());
    };
    assert_eq!(entry.id, WABA_ID);
    let [change] = entry.changes.as_slice() else {
        panic!("expected exactly one change, got {}", entry.changes.len());
    };
    assert_eq!(change.field, "messages");
    let value = messages_value(change);
    assert_eq!(value.messaging_product.as_deref(), Some("whatsapp"));
    assert_eq!(value.metadata.phone_number_id.as_deref(), Some(OUR_PHONE_NUMBER_ID));
    assert_eq!(value.metadata.display_phone_number.as_deref(), Some(OUR_DISPLAY_NUMBER));
    assert!(value.errors.is_empty());
    value
}

/// The one inbound message of a fixture (no statuses), and its value.
fn single_message(json: &str) -> (MessagesValue, InboundMessage) {
    let value = single_value(json);
    assert!(value.statuses.is_empty(), "a message fixture carries no statuses");
    let [message] = value.messages.as_slice() else {
        panic!("expected exactly one message, got {}", value.messages.len());
    };
    let message = message.clone();
    (value, message)
}

/// The one status of a fixture (no messages, no contacts).
fn single_status(json: &str) -> StatusUpdate {
    let value = single_value(json);
    assert!(value.messages.is_empty(), "a status fixture carries no messages");
    assert!(value.contacts.is_empty(), "a status fixture carries no contacts");
    let [status] = value.statuses.as_slice() else {
        panic!("expected exactly one status, got {}", value.statuses.len());
    };
    status.clone()
}

/// The single sender in `value.contacts`, checked against a phone number and a profile name.
fn assert_single_contact(value: &MessagesValue, wa_id: &str, name: &str) {
    let [contact] = value.contacts.as_slice() else {
        panic!("expected exactly one contact, got {}", value.contacts.len());
    };
    assert_eq!(contact.wa_id.as_deref(), Some(wa_id));
    assert_eq!(contact.user_id, None);
    let profile = contact.profile.as_ref().expect("contact has a profile");
    assert_eq!(profile.name.as_deref(), Some(name));
}

fn media(id: &str, mime_type: &str, sha256: &str, extra: Value) -> Media {
    Media {
        id: Some(id.to_owned()),
        mime_type: Some(mime_type.to_owned()),
        sha256: Some(sha256.to_owned()),
        caption: None,
        filename: None,
        extra: object(extra),
    }
}

fn message_from(json: Value) -> InboundMessage {
    serde_json::from_value(json).expect("inline message parses")
}

fn status_from(json: Value) -> StatusUpdate {
    serde_json::from_value(json).expect("inline status parses")
}

// ---------------------------------------------------------------------------------------------
// Inbound messages, one per type
// ---------------------------------------------------------------------------------------------

#[test]
fn text_message() {
    let (value, message) = single_message(MESSAGE_TEXT);
    assert_single_contact(&value, "5511999999999", "John Doe");
    assert_eq!(
        message.id.as_deref(),
        Some("wamid.HBgLNTE1OTk5OTk5OTk5FQIAERgSMzg1QTlCNkE2RTlFRTdFNDdF")
    );
    assert_eq!(message.from.as_deref(), Some("5511999999999"));
    assert_eq!(message.from_user_id, None);
    assert_eq!(message.timestamp, Some(1_704_067_200));
    assert_eq!(message.kind, "text");
    assert!(message.context.is_none());
    assert!(message.errors.is_empty());
    assert_eq!(
        message.content(),
        Content::Text {
            body: "Hello, how can I help you?".to_owned()
        }
    );
    // The content object itself stays in `extra`, under its type's key.
    assert_eq!(message.extra.len(), 1);
    assert_eq!(message.extra["text"], json!({"body": "Hello, how can I help you?"}));
}

#[test]
fn image_message() {
    let (value, message) = single_message(MESSAGE_IMAGE);
    assert_single_contact(&value, SHEENA, "Sheena Nelson");
    assert_eq!(
        message.id.as_deref(),
        Some("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUlNQUdFMDAwMDAwMDAwMDAxAA==")
    );
    assert_eq!(message.from.as_deref(), Some(SHEENA));
    assert_eq!(message.from_user_id, None);
    assert_eq!(message.timestamp, Some(1_739_321_024));
    assert_eq!(message.kind, "image");
    let expected = Media {
        caption: Some("The broken part, front view".to_owned()),
        ..media(
            "1003383421387256",
            "image/jpeg",
            "hDqNpA0u8r2mJ2bo8Sm5zcFkWhO4lGc6m1xJ7vb3fKk=",
            json!({"url": "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1003383421387256&ext=1739321324&hash=ATfakehash0001"}),
        )
    };
    assert_eq!(
        message.content(),
        Content::Media {
            kind: "image".to_owned(),
            media: expected
        }
    );
}

#[test]
fn video_message() {
    let (value, message) = single_message(MESSAGE_VIDEO);
    assert_single_contact(&value, SHEENA, "Sheena Nelson");
    assert_eq!(
        message.id.as_deref(),
        Some("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQVZJREVPMDAwMDAwMDAwMDAyAA==")
    );
    assert_eq!(message.from.as_deref(), Some(SHEENA));
    assert_eq!(message.timestamp, Some(1_739_321_031));
    assert_eq!(message.kind, "video");
    let Content::Media { kind, media } = message.content() else {
        panic!("expected media, got {:?}", message.content());
    };
    assert_eq!(kind, "video");
    assert_eq!(media.id.as_deref(), Some("1166846181421424"));
    assert_eq!(media.mime_type.as_deref(), Some("video/mp4"));
    assert_eq!(
        media.sha256.as_deref(),
        Some("Zk9hJm8bU2p0dW1iX3ZpZGVvX2Zha2Vfc2hhMjU2X3g=")
    );
    assert_eq!(media.caption.as_deref(), Some("It makes this noise"));
    assert_eq!(media.filename, None);
    assert_eq!(
        media.extra["url"],
        "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1166846181421424&ext=1739321331&hash=ATfakehash0002"
    );
}

#[test]
fn audio_voice_note_message() {
    let (value, message) = single_message(MESSAGE_AUDIO);
    assert_single_contact(&value, SHEENA, "Sheena Nelson");
    assert_eq!(
        message.id.as_deref(),
        Some("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUFVRElPMDAwMDAwMDAwMDAzAA==")
    );
    assert_eq!(message.from.as_deref(), Some(SHEENA));
    assert_eq!(message.timestamp, Some(1_739_321_040));
    assert_eq!(message.kind, "audio");
    let expected = media(
        "1013859600285441",
        "audio/ogg; codecs=opus",
        "VjBpY2Vfbm90ZV9mYWtlX3NoYTI1Nl92YWx1ZV8wMDM=",
        json!({
            "voice": true,
            "url": "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1013859600285441&ext=1739321340&hash=ATfakehash0003"
        }),
    );
    assert_eq!(
        message.content(),
        Content::Media {
            kind: "audio".to_owned(),
            media: expected
        }
    );
}

#[test]
fn document_message() {
    let (value, message) = single_message(MESSAGE_DOCUMENT);
    assert_single_contact(&value, SHEENA, "Sheena Nelson");
    assert_eq!(
        message.id.as_deref(),
        Some("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQURPQ1VNRU5UMDAwMDAwMDA0AA==")
    );
    assert_eq!(message.from.as_deref(), Some(SHEENA));
    assert_eq!(message.timestamp, Some(1_739_321_055));
    assert_eq!(message.kind, "document");
    let expected = Media {
        caption: Some("Invoice for March".to_owned()),
        filename: Some("invoice-2025-03.pdf".to_owned()),
        ..media(
            "1588417158390553",
            "application/pdf",
            "RG9jdW1lbnRfZmFrZV9zaGEyNTZfdmFsdWVfMDAwNF8=",
            json!({"url": "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1588417158390553&ext=1739321355&hash=ATfakehash0004"}),
        )
    };
    assert_eq!(
        message.content(),
        Content::Media {
            kind: "document".to_owned(),
            media: expected
        }
    );
}

#[test]
fn sticker_message() {
    let (value, message) = single_message(MESSAGE_STICKER);
    assert_single_contact(&value, SHEENA, "Sheena Nelson");
    assert_eq!(
        message.id.as_deref(),
        Some("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQVNUSUNLRVIwMDAwMDAwMDA1AA==")
    );
    assert_eq!(message.from.as_deref(), Some(SHEENA));
    assert_eq!(message.timestamp, Some(1_739_321_062));
    assert_eq!(message.kind, "sticker");
    let expected = media(
        "1255837902152431",
        "image/webp",
        "U3RpY2tlcl9mYWtlX3NoYTI1Nl92YWx1ZV8wMDA1X3g=",
        json!({
            "animated": false,
            "url": "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1255837902152431&ext=1739321362&hash=ATfakehash0005"
        }),
    );
    assert_eq!(
        message.content(),
        Content::Media {
            kind: "sticker".to_owned(),
            media: expected
        }
    );
}

#[test]
fn location_message() {
    let (value, message) = single_message(MESSAGE_LOCATION);
    assert_single_contact(&value, SHEENA, "Sheena Nelson");
    assert_eq!(
        message.id.as_deref(),
        Some("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUxPQ0FUSU9OMDAwMDAwMDA2AA==")
    );
    assert_eq!(message.from.as_deref(), Some(SHEENA));
    assert_eq!(message.timestamp, Some(1_739_321_077));
    assert_eq!(message.kind, "location");
    assert_eq!(
        message.content(),
        Content::Location(Location {
            latitude: Some(37.483307),
            longitude: Some(-122.148981),
            name: Some("Main Office".to_owned()),
            address: Some("1 Hacker Way, Menlo Park, CA 94025".to_owned()),
            url: Some("https://www.example.com/main-office".to_owned()),
            extra: Default::default(),
        })
    );
}

#[test]
fn contacts_message() {
    let (value, message) = single_message(MESSAGE_CONTACTS);
    // `value.contacts` is the sender; the shared cards are in the message.
    assert_single_contact(&value, SHEENA, "Sheena Nelson");
    assert_eq!(
        message.id.as_deref(),
        Some("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUNPTlRBQ1RTMDAwMDAwMDA3AA==")
    );
    assert_eq!(message.from.as_deref(), Some(SHEENA));
    assert_eq!(message.timestamp, Some(1_739_321_090));
    assert_eq!(message.kind, "contacts");
    let Content::Contacts(cards) = message.content() else {
        panic!("expected contacts, got {:?}", message.content());
    };
    let cards = cards.as_array().expect("contacts is an array");
    assert_eq!(cards.len(), 1);
    let card = &cards[0];
    assert_eq!(card["name"]["formatted_name"], "Pablo Morales");
    assert_eq!(card["name"]["first_name"], "Pablo");
    assert_eq!(card["phones"][0]["phone"], "+1 (650) 555-1235");
    assert_eq!(card["phones"][0]["wa_id"], "16505551235");
    assert_eq!(card["emails"][0]["email"], "pablo.morales@example.com");
    assert_eq!(card["addresses"][0]["zip"], "94025");
    assert_eq!(card["org"]["company"], "Lucky Shrub");
    assert_eq!(card["birthday"], "1999-01-23");
    assert_eq!(card["urls"][0]["url"], "https://www.example.com");
}

#[test]
fn interactive_button_reply_message() {
    let (value, message) = single_message(MESSAGE_INTERACTIVE_BUTTON_REPLY);
    assert_single_contact(&value, SHEENA, "Sheena Nelson");
    assert_eq!(
        message.id.as_deref(),
        Some("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUJVVFRPTlJFUExZMDAwMDA4AA==")
    );
    assert_eq!(message.from.as_deref(), Some(SHEENA));
    assert_eq!(message.timestamp, Some(1_739_321_101));
    assert_eq!(message.kind, "interactive");
    let context = message.context.as_ref().expect("a reply to our buttons has context");
    assert_eq!(context.from.as_deref(), Some(OUR_DISPLAY_NUMBER));
    assert_eq!(
        context.id.as_deref(),
        Some("wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJCVVRUT05TX09VVEJPVU5EXzAxAA==")
    );
    assert_eq!(
        message.content(),
        Content::Reply(Reply {
            kind: "button_reply".to_owned(),
            id: Some("cancel-button".to_owned()),
            title: Some("Cancel".to_owned()),
        })
    );
}

#[test]
fn interactive_list_reply_message() {
    let (value, message) = single_message(MESSAGE_INTERACTIVE_LIST_REPLY);
    assert_single_contact(&value, SHEENA, "Sheena Nelson");
    assert_eq!(
        message.id.as_deref(),
        Some("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUxJU1RSRVBMWTAwMDAwMDA5AA==")
    );
    assert_eq!(message.from.as_deref(), Some(SHEENA));
    assert_eq!(message.timestamp, Some(1_739_321_115));
    assert_eq!(message.kind, "interactive");
    let context = message.context.as_ref().expect("a reply to our list has context");
    assert_eq!(
        context.id.as_deref(),
        Some("wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJMSVNUX09VVEJPVU5EXzAwMDAyAA==")
    );
    assert_eq!(
        message.content(),
        Content::Reply(Reply {
            kind: "list_reply".to_owned(),
            id: Some("priority_express".to_owned()),
            title: Some("Priority Mail Express".to_owned()),
        })
    );
    // The row description is not typed but is not lost either.
    assert_eq!(
        message.extra["interactive"]["list_reply"]["description"],
        "Next Day to 2 Days"
    );
}

#[test]
fn template_quick_reply_button_message() {
    let (value, message) = single_message(MESSAGE_BUTTON);
    assert_single_contact(&value, SHEENA, "Sheena Nelson");
    assert_eq!(
        message.id.as_deref(),
        Some("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUJVVFRPTjAwMDAwMDAwMDEwAA==")
    );
    assert_eq!(message.from.as_deref(), Some(SHEENA));
    assert_eq!(message.timestamp, Some(1_739_321_130));
    assert_eq!(message.kind, "button");
    let context = message.context.as_ref().expect("a quick reply has context");
    assert_eq!(context.from.as_deref(), Some(OUR_DISPLAY_NUMBER));
    assert_eq!(
        context.id.as_deref(),
        Some("wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJURU1QTEFURV9PVVRCT1VORF8wMwA=")
    );
    assert_eq!(
        message.content(),
        Content::Reply(Reply {
            kind: "button".to_owned(),
            id: Some("STOP_PROMOTIONS".to_owned()),
            title: Some("Stop promotions".to_owned()),
        })
    );
}

#[test]
fn reaction_message() {
    let (value, message) = single_message(MESSAGE_REACTION);
    assert_single_contact(&value, SHEENA, "Sheena Nelson");
    assert_eq!(
        message.id.as_deref(),
        Some("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQVJFQUNUSU9OMDAwMDAwMDExAA==")
    );
    assert_eq!(message.from.as_deref(), Some(SHEENA));
    assert_eq!(message.timestamp, Some(1_739_321_144));
    assert_eq!(message.kind, "reaction");
    assert_eq!(
        message.content(),
        Content::Reaction(Reaction {
            message_id: Some("wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJSRUFDVEVEX09VVEJPVU5EXzA0AA==".to_owned()),
            // The fixture has the surrogate pair escaped as Meta sends it: \ud83d\udc4d.
            emoji: Some("\u{1F44D}".to_owned()),
        })
    );
}

#[test]
fn order_message() {
    let (value, message) = single_message(MESSAGE_ORDER);
    assert_single_contact(&value, SHEENA, "Sheena Nelson");
    assert_eq!(
        message.id.as_deref(),
        Some("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQU9SREVSMDAwMDAwMDAwMDEyAA==")
    );
    assert_eq!(message.from.as_deref(), Some(SHEENA));
    assert_eq!(message.timestamp, Some(1_739_321_160));
    assert_eq!(message.kind, "order");
    let Content::Order(order) = message.content() else {
        panic!("expected an order, got {:?}", message.content());
    };
    assert_eq!(order["catalog_id"], "194836987003835");
    assert_eq!(order["text"], "Please deliver before Friday");
    let items = order["product_items"].as_array().expect("product_items is an array");
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["product_retailer_id"], "di9ozbzfi4");
    assert_eq!(items[0]["quantity"], 2);
    assert_eq!(items[0]["item_price"].as_f64(), Some(30.0));
    assert_eq!(items[0]["currency"], "USD");
    assert_eq!(items[1]["product_retailer_id"], "nqryix03ez");
    assert_eq!(items[1]["quantity"], 1);
    assert_eq!(items[1]["item_price"].as_f64(), Some(25.5));
}

#[test]
fn system_message_customer_changed_number() {
    let (value, message) = single_message(MESSAGE_SYSTEM);
    // Unlike other inbound messages, system messages come without a contacts array.
    assert!(value.contacts.is_empty());
    assert_eq!(
        message.id.as_deref(),
        Some("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQVNZU1RFTTAwMDAwMDAwMDEzAA==")
    );
    assert_eq!(message.from.as_deref(), Some(SHEENA));
    assert_eq!(message.timestamp, Some(1_739_321_175));
    assert_eq!(message.kind, "system");
    assert_eq!(
        message.content(),
        Content::System(json!({
            "body": "User Sheena Nelson changed from 16505551234 to 12195555358",
            "wa_id": "12195555358",
            "type": "user_changed_number"
        }))
    );
}

#[test]
fn unsupported_message_carries_error_131051() {
    let (value, message) = single_message(MESSAGE_UNSUPPORTED);
    assert_single_contact(&value, SHEENA, "Sheena Nelson");
    assert_eq!(
        message.id.as_deref(),
        Some("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQVVOU1VQUE9SVEVEMDAwMDE0AA==")
    );
    assert_eq!(message.from.as_deref(), Some(SHEENA));
    assert_eq!(message.timestamp, Some(1_739_321_190));
    assert_eq!(message.kind, "unsupported");
    let [error] = message.errors.as_slice() else {
        panic!("expected one error, got {:?}", message.errors);
    };
    assert_eq!(error.code, Some(131_051));
    assert_eq!(error.title.as_deref(), Some("Message type unknown"));
    assert_eq!(error.message.as_deref(), Some("Message type unknown"));
    assert_eq!(error.details(), Some("Message type is currently not supported."));
    assert_eq!(error.href, None);
    assert_eq!(message.content(), Content::Other(json!({"type": "edit"})));
}

#[test]
fn text_reply_with_context() {
    let (value, message) = single_message(MESSAGE_REPLY_CONTEXT);
    assert_single_contact(&value, SHEENA, "Sheena Nelson");
    assert_eq!(
        message.id.as_deref(),
        Some("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQVJFUExZQ09OVEVYVDAwMDE1AA==")
    );
    assert_eq!(message.from.as_deref(), Some(SHEENA));
    assert_eq!(message.timestamp, Some(1_739_321_205));
    assert_eq!(message.kind, "text");
    let context = message.context.as_ref().expect("a reply has context");
    assert_eq!(context.from.as_deref(), Some(OUR_DISPLAY_NUMBER));
    assert_eq!(
        context.id.as_deref(),
        Some("wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJRVU9URURfT1VUQk9VTkRfMDAwNQA=")
    );
    assert!(context.extra.is_empty());
    assert_eq!(
        message.content(),
        Content::Text {
            body: "Yes, Thursday at 10 works for me".to_owned()
        }
    );
}

#[test]
fn business_scoped_user_without_phone_number() {
    let (value, message) = single_message(MESSAGE_BSUID_NO_PHONE);
    let [contact] = value.contacts.as_slice() else {
        panic!("expected one contact, got {}", value.contacts.len());
    };
    assert_eq!(contact.wa_id, None);
    assert_eq!(contact.user_id.as_deref(), Some("US.13491208655302741918"));
    let profile = contact.profile.as_ref().expect("contact has a profile");
    assert_eq!(profile.name.as_deref(), Some("Pablo M."));
    assert_eq!(profile.username.as_deref(), Some("pablo.builds"));

    assert_eq!(
        message.id.as_deref(),
        Some("wamid.HBgLQlNVSUQwMDAwMDAwFQIAEhgUM0FCU1VJRE5PUEhPTkUwMDAwMTYA")
    );
    assert_eq!(message.from, None);
    assert_eq!(message.from_user_id.as_deref(), Some("US.13491208655302741918"));
    assert_eq!(message.timestamp, Some(1_739_321_220));
    assert_eq!(message.kind, "text");
    assert_eq!(
        message.content(),
        Content::Text {
            body: "Hi, I found you through your username".to_owned()
        }
    );
}

// ---------------------------------------------------------------------------------------------
// Statuses
// ---------------------------------------------------------------------------------------------

const OUTBOUND_WAMID: &str = "wamid.HBgLOTcyNTA0MzcwMDQ1FQIAERgSQzI4QkE1RkQ5MzFFNTY1RTEwAA==";

#[test]
fn status_sent_with_conversation_and_pricing() {
    let status = single_status(STATUS_SENT);
    assert_eq!(status.id.as_deref(), Some(OUTBOUND_WAMID));
    assert_eq!(status.status, "sent");
    assert_eq!(status.timestamp, Some(1_739_321_300));
    assert_eq!(status.recipient_id.as_deref(), Some("972504370045"));
    assert_eq!(status.recipient_user_id, None);
    assert_eq!(status.biz_opaque_callback_data.as_deref(), Some("guest:4f7c2b1e"));
    assert_eq!(
        status.conversation,
        Some(json!({
            "id": "c2a6f1d0b8e94a7e9f3b5d2c1a0e8f7d",
            "expiration_timestamp": "1739407700",
            "origin": {"type": "utility"}
        }))
    );
    assert_eq!(
        status.pricing,
        Some(json!({
            "billable": true,
            "pricing_model": "PMP",
            "category": "utility",
            "type": "regular"
        }))
    );
    assert!(status.errors.is_empty());
    assert!(status.extra.is_empty());
}

#[test]
fn status_delivered() {
    let status = single_status(STATUS_DELIVERED);
    assert_eq!(status.id.as_deref(), Some(OUTBOUND_WAMID));
    assert_eq!(status.status, "delivered");
    assert_eq!(status.timestamp, Some(1_739_321_305));
    assert_eq!(status.recipient_id.as_deref(), Some("972504370045"));
    assert_eq!(status.biz_opaque_callback_data, None);
    let conversation = status
        .conversation
        .as_ref()
        .expect("delivered carries the conversation");
    assert_eq!(conversation["id"], "c2a6f1d0b8e94a7e9f3b5d2c1a0e8f7d");
    assert_eq!(conversation["origin"]["type"], "utility");
    assert!(conversation.get("expiration_timestamp").is_none());
    let pricing = status.pricing.as_ref().expect("delivered carries pricing");
    assert_eq!(pricing["billable"], true);
    assert_eq!(pricing["pricing_model"], "PMP");
    assert_eq!(pricing["category"], "utility");
    assert!(status.errors.is_empty());
}

#[test]
fn status_read() {
    let status = single_status(STATUS_READ);
    assert_eq!(status.id.as_deref(), Some(OUTBOUND_WAMID));
    assert_eq!(status.status, "read");
    assert_eq!(status.timestamp, Some(1_739_321_412));
    assert_eq!(status.recipient_id.as_deref(), Some("972504370045"));
    assert_eq!(status.conversation, None);
    assert_eq!(status.pricing, None);
    assert!(status.errors.is_empty());
}

#[test]
fn status_failed_with_error_131026() {
    let status = single_status(STATUS_FAILED);
    assert_eq!(
        status.id.as_deref(),
        Some("wamid.HBgMOTcyNTQ5OTk5OTk5FQIAERgSRkFJTEVEMDAwMDAwMDAwMDEA")
    );
    assert_eq!(status.status, "failed");
    assert_eq!(status.timestamp, Some(1_739_321_500));
    assert_eq!(status.recipient_id.as_deref(), Some("972549999999"));
    assert_eq!(status.conversation, None);
    assert_eq!(status.pricing, None);
    assert_eq!(
        status.errors,
        vec![MetaError {
            code: Some(131_026),
            title: Some("Message undeliverable".to_owned()),
            message: Some("Message undeliverable".to_owned()),
            error_data: Some(ErrorData {
                details: Some("Message Undeliverable.".to_owned()),
                extra: Map::new(),
            }),
            href: Some("https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/".to_owned()),
            extra: Map::new(),
        }]
    );
    assert_eq!(status.errors[0].details(), Some("Message Undeliverable."));
}

// ---------------------------------------------------------------------------------------------
// Batches and non-message fields
// ---------------------------------------------------------------------------------------------

#[test]
fn mixed_batch_keeps_every_entry_change_message_and_status_in_order() {
    let payload = parse(MIXED_BATCH);
    assert_eq!(payload.object, "whatsapp_business_account");
    assert_eq!(payload.entry.len(), 2);
    assert_eq!(payload.entry[0].id, WABA_ID);
    assert_eq!(payload.entry[1].id, "102290129340399");
    let fields: Vec<Vec<&str>> = payload
        .entry
        .iter()
        .map(|entry| entry.changes.iter().map(|change| change.field.as_str()).collect())
        .collect();
    assert_eq!(
        fields,
        vec![
            vec!["messages", "messages"],
            vec!["messages", "messages", "message_template_status_update"]
        ]
    );

    // Entry 0, change 0: two messages from two senders.
    let first = messages_value(&payload.entry[0].changes[0]);
    assert_eq!(first.metadata.phone_number_id.as_deref(), Some(OUR_PHONE_NUMBER_ID));
    let contacts: Vec<(Option<&str>, Option<&str>)> = first
        .contacts
        .iter()
        .map(|contact| {
            (
                contact.wa_id.as_deref(),
                contact.profile.as_ref().and_then(|profile| profile.name.as_deref()),
            )
        })
        .collect();
    assert_eq!(
        contacts,
        vec![
            (Some(SHEENA), Some("Sheena Nelson")),
            (Some("5511999999999"), Some("John Doe"))
        ]
    );
    assert_eq!(first.messages.len(), 2);
    assert_eq!(
        first.messages[0].id.as_deref(),
        Some("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQU1JWEVEMDAwMDAwMDAwMDAxAA==")
    );
    assert_eq!(first.messages[0].from.as_deref(), Some(SHEENA));
    assert_eq!(first.messages[0].timestamp, Some(1_739_322_000));
    assert_eq!(
        first.messages[0].content(),
        Content::Text {
            body: "First message of the batch".to_owned()
        }
    );
    assert_eq!(
        first.messages[1].id.as_deref(),
        Some("wamid.HBgNNTUxMTk5OTk5OTk5ORUCABIYFDNBTUlYRUQwMDAwMDAwMDAwMDIA")
    );
    assert_eq!(first.messages[1].from.as_deref(), Some("5511999999999"));
    assert_eq!(first.messages[1].timestamp, Some(1_739_322_001));
    assert_eq!(
        first.messages[1].content(),
        Content::Media {
            kind: "image".to_owned(),
            media: media(
                "2236419716712345",
                "image/png",
                "TWl4ZWRfYmF0Y2hfaW1hZ2Vfc2hhMjU2X2Zha2VfMDI=",
                json!({})
            ),
        }
    );
    assert!(first.statuses.is_empty());

    // Entry 0, change 1: read arrives before delivered, and the order is kept as sent.
    let second = messages_value(&payload.entry[0].changes[1]);
    assert!(second.messages.is_empty());
    let statuses: Vec<(&str, Option<i64>)> = second
        .statuses
        .iter()
        .map(|status| (status.status.as_str(), status.timestamp))
        .collect();
    assert_eq!(
        statuses,
        vec![("read", Some(1_739_322_010)), ("delivered", Some(1_739_322_008))]
    );
    assert!(
        second
            .statuses
            .iter()
            .all(|status| status.id.as_deref() == Some("wamid.HBgLOTcyNTA0MzcwMDQ1FQIAERgSTUlYRURPVVRCT1VORDAwMDEA"))
    );
    assert_eq!(
        second.statuses[1].pricing.as_ref().expect("pricing")["category"],
        "marketing"
    );

    // Entry 1, change 0: another app's number, to be filtered out by phone_number_id.
    let foreign = messages_value(&payload.entry[1].changes[0]);
    assert_eq!(foreign.metadata.phone_number_id.as_deref(), Some(OTHER_PHONE_NUMBER_ID));
    assert_eq!(foreign.metadata.display_phone_number.as_deref(), Some("15550009999"));
    assert_eq!(foreign.messages.len(), 1);
    assert_eq!(foreign.messages[0].from.as_deref(), Some("447700900123"));

    // Entry 1, change 1: a message and a status in the same value.
    let both = messages_value(&payload.entry[1].changes[1]);
    assert_eq!(both.messages.len(), 1);
    assert_eq!(
        both.messages[0].content(),
        Content::Reaction(Reaction {
            message_id: Some("wamid.HBgLOTcyNTA0MzcwMDQ1FQIAERgSTUlYRURPVVRCT1VORDAwMDEA".to_owned()),
            emoji: Some("\u{2764}\u{FE0F}".to_owned()),
        })
    );
    assert_eq!(both.statuses.len(), 1);
    assert_eq!(both.statuses[0].status, "failed");
    assert_eq!(both.statuses[0].errors[0].code, Some(131_047));
    assert_eq!(
        both.statuses[0].errors[0].title.as_deref(),
        Some("Re-engagement message")
    );
    assert_eq!(
        both.statuses[0].errors[0].details(),
        Some(
            "Message failed to send because more than 24 hours have passed since the customer last replied to this number."
        )
    );

    // Entry 1, change 2: not a messages change.
    let template = &payload.entry[1].changes[2];
    assert!(template.messages_value().is_none());
    assert_eq!(template.value["event"], "APPROVED");
    assert_eq!(template.value["message_template_name"], "hina_invitation");
}

#[test]
fn mixed_batch_filtered_on_our_phone_number_id() {
    let payload = parse(MIXED_BATCH);
    let ours: Vec<MessagesValue> = payload
        .entry
        .iter()
        .flat_map(|entry| &entry.changes)
        .filter_map(Change::messages_value)
        .map(|value| value.expect("every messages value parses"))
        .filter(|value| value.metadata.phone_number_id.as_deref() == Some(OUR_PHONE_NUMBER_ID))
        .collect();
    assert_eq!(ours.len(), 3);
    let wamids: Vec<&str> = ours
        .iter()
        .flat_map(|value| &value.messages)
        .filter_map(|message| message.id.as_deref())
        .collect();
    assert_eq!(
        wamids,
        vec![
            "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQU1JWEVEMDAwMDAwMDAwMDAxAA==",
            "wamid.HBgNNTUxMTk5OTk5OTk5ORUCABIYFDNBTUlYRUQwMDAwMDAwMDAwMDIA",
            "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQU1JWEVEMDAwMDAwMDAwMDA0AA==",
        ]
    );
    let statuses: Vec<&str> = ours
        .iter()
        .flat_map(|value| &value.statuses)
        .map(|status| status.status.as_str())
        .collect();
    assert_eq!(statuses, vec!["read", "delivered", "failed"]);
}

#[test]
fn template_status_update_is_not_a_messages_value() {
    let payload = parse(TEMPLATE_STATUS_UPDATE);
    assert_eq!(payload.object, "whatsapp_business_account");
    let [entry] = payload.entry.as_slice() else {
        panic!("expected one entry");
    };
    assert_eq!(entry.id, WABA_ID);
    assert_eq!(entry.extra["time"], 1_739_323_000);
    let [change] = entry.changes.as_slice() else {
        panic!("expected one change");
    };
    assert_eq!(change.field, "message_template_status_update");
    assert!(change.messages_value().is_none());
    assert_eq!(
        change.value,
        json!({
            "event": "REJECTED",
            "message_template_id": 806_312_974_732_579_u64,
            "message_template_name": "order_confirmation",
            "message_template_language": "en_US",
            "reason": "INCORRECT_CATEGORY"
        })
    );
}

#[test]
fn account_update_is_not_a_messages_value() {
    let payload = parse(ACCOUNT_UPDATE);
    let [entry] = payload.entry.as_slice() else {
        panic!("expected one entry");
    };
    assert_eq!(entry.id, WABA_ID);
    assert_eq!(entry.extra["time"], 1_739_323_100);
    let [change] = entry.changes.as_slice() else {
        panic!("expected one change");
    };
    assert_eq!(change.field, "account_update");
    assert!(change.messages_value().is_none());
    assert_eq!(change.value["event"], "VERIFIED_ACCOUNT");
    assert_eq!(change.value["phone_number"], OUR_DISPLAY_NUMBER);
}

#[test]
fn phone_number_quality_update_is_not_a_messages_value() {
    let payload = parse(PHONE_NUMBER_QUALITY_UPDATE);
    let [entry] = payload.entry.as_slice() else {
        panic!("expected one entry");
    };
    assert_eq!(entry.id, WABA_ID);
    assert_eq!(entry.extra["time"], 1_739_323_200);
    let [change] = entry.changes.as_slice() else {
        panic!("expected one change");
    };
    assert_eq!(change.field, "phone_number_quality_update");
    assert!(change.messages_value().is_none());
    assert_eq!(change.value["event"], "UPGRADE");
    assert_eq!(change.value["current_limit"], "TIER_10K");
    assert_eq!(change.value["display_phone_number"], OUR_DISPLAY_NUMBER);
}

// ---------------------------------------------------------------------------------------------
// Unicode escapes, unknown fields, round trips
// ---------------------------------------------------------------------------------------------

#[test]
fn unicode_escapes_decode_to_hebrew_and_emoji() {
    // The fixture holds the escape sequences, as Meta sends them, not the characters.
    assert!(UNICODE_ESCAPED.contains(r"\u05e9\u05dc\u05d5\u05dd"));
    assert!(UNICODE_ESCAPED.contains(r"\ud83d\ude0a"));
    assert!(UNICODE_ESCAPED.contains(r"https:\/\/example.com\/"));
    assert!(UNICODE_ESCAPED.is_ascii());

    let (value, message) = single_message(UNICODE_ESCAPED);
    assert_single_contact(&value, "972504370045", "איילה חורב");
    assert_eq!(
        message.id.as_deref(),
        Some("wamid.HBgMOTcyNTA0MzcwMDQ1FQIAEhgUM0FVTklDT0RFMDAwMDAwMDAwMTcA")
    );
    assert_eq!(message.from.as_deref(), Some("972504370045"));
    assert_eq!(message.timestamp, Some(1_739_321_600));
    assert_eq!(message.kind, "text");
    let body = "שלום! מה שלומך? \u{1F60A}\u{1F44D}\u{1F3FD} ראו https://example.com/הזמנה";
    assert_eq!(message.content(), Content::Text { body: body.to_owned() });

    // Re-serializing does not reproduce Meta's bytes (so signatures must be checked on the raw body).
    let reserialized = serde_json::to_string(&parse(UNICODE_ESCAPED)).expect("serializes");
    assert!(reserialized.contains("שלום"));
    assert!(!reserialized.contains(r"\u05e9"));
    assert_ne!(reserialized, UNICODE_ESCAPED);
}

#[test]
fn unknown_fields_are_kept_at_every_typed_level() {
    let payload = parse(UNKNOWN_FIELDS);
    assert_eq!(payload.extra, object(json!({"delivery_attempt": 2})));
    let entry = &payload.entry[0];
    assert_eq!(entry.id, WABA_ID);
    assert_eq!(
        entry.extra,
        object(json!({"time": 1_739_324_000, "entry_novelty": {"region": "eu-west"}}))
    );
    let change = &entry.changes[0];
    assert_eq!(change.field, "messages");
    let value = messages_value(change);
    assert_eq!(value.extra, object(json!({"value_novelty": ["alpha", "beta"]})));
    assert_eq!(value.metadata.phone_number_id.as_deref(), Some(OUR_PHONE_NUMBER_ID));
    assert_eq!(value.metadata.extra, object(json!({"metadata_novelty": "shard-7"})));

    let contact = &value.contacts[0];
    assert_eq!(contact.wa_id.as_deref(), Some(SHEENA));
    assert_eq!(contact.extra, object(json!({"identity_key_hash": "DF2lS5v2W6x="})));
    let profile = contact.profile.as_ref().expect("profile");
    assert_eq!(profile.name.as_deref(), Some("Sheena Nelson"));
    assert_eq!(profile.extra, object(json!({"profile_novelty": "avatar-v2"})));

    let message = &value.messages[0];
    assert_eq!(
        message.id.as_deref(),
        Some("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUZBTkNZTkVXVFlQRTAwMDE4AA==")
    );
    assert_eq!(message.from.as_deref(), Some(SHEENA));
    assert_eq!(message.timestamp, Some(1_739_324_000));
    assert_eq!(message.kind, "fancy_new_type");
    let context = message.context.as_ref().expect("context");
    assert_eq!(
        context.id.as_deref(),
        Some("wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJVTktOT1dOX09VVEJPVU5EXzA2AA==")
    );
    assert_eq!(context.extra, object(json!({"forwarded": true})));
    let fancy = json!({"sparkle_level": 9000, "layers": ["glitter", "confetti"], "nested": {"deep": true}});
    assert_eq!(
        message.extra,
        object(json!({"fancy_new_type": fancy, "message_novelty": {"flags": [1, 2, 3]}}))
    );
    assert_eq!(message.content(), Content::Other(fancy));

    let status = &value.statuses[0];
    assert_eq!(status.status, "played");
    assert_eq!(status.timestamp, Some(1_739_324_001));
    assert_eq!(status.extra, object(json!({"status_novelty": "hologram"})));
    let error = &status.errors[0];
    assert_eq!(error.code, Some(999_999));
    assert_eq!(error.title.as_deref(), Some("Future error"));
    assert_eq!(error.details(), Some("Something new went wrong."));
    assert_eq!(error.extra, object(json!({"error_novelty": "retry-later"})));
    assert_eq!(
        error.error_data.as_ref().expect("error_data").extra,
        object(json!({"error_data_novelty": 42}))
    );
}

#[test]
fn unknown_fields_survive_a_serialize_deserialize_round_trip() {
    let original = parse(UNKNOWN_FIELDS);
    let text = serde_json::to_string(&original).expect("payload serializes");
    let again: WebhookPayload = serde_json::from_str(&text).expect("serialized payload parses");

    assert_eq!(again.object, "whatsapp_business_account");
    assert_eq!(again.extra, original.extra);
    assert_eq!(again.extra["delivery_attempt"], 2);
    assert_eq!(again.entry[0].extra, original.entry[0].extra);
    assert_eq!(again.entry[0].extra["entry_novelty"]["region"], "eu-west");

    // Typed values round-trip too: serialize the typed MessagesValue and read it back.
    let value = messages_value(&again.entry[0].changes[0]);
    let value_text = serde_json::to_string(&value).expect("value serializes");
    let value: MessagesValue = serde_json::from_str(&value_text).expect("serialized value parses");
    assert_eq!(value.extra["value_novelty"], json!(["alpha", "beta"]));
    assert_eq!(value.metadata.extra["metadata_novelty"], "shard-7");
    assert_eq!(value.contacts[0].extra["identity_key_hash"], "DF2lS5v2W6x=");
    assert_eq!(
        value.contacts[0].profile.as_ref().expect("profile").extra["profile_novelty"],
        "avatar-v2"
    );
    let message = &value.messages[0];
    assert_eq!(message.kind, "fancy_new_type");
    assert_eq!(message.timestamp, Some(1_739_324_000));
    assert_eq!(message.extra["message_novelty"], json!({"flags": [1, 2, 3]}));
    assert_eq!(message.context.as_ref().expect("context").extra["forwarded"], true);
    assert_eq!(
        message.content(),
        Content::Other(json!({"sparkle_level": 9000, "layers": ["glitter", "confetti"], "nested": {"deep": true}}))
    );
    let status = &value.statuses[0];
    assert_eq!(status.extra["status_novelty"], "hologram");
    assert_eq!(status.errors[0].extra["error_novelty"], "retry-later");
    assert_eq!(
        status.errors[0].error_data.as_ref().expect("error_data").extra["error_data_novelty"],
        42
    );
}

/// Change has no `extra`, so a field Meta adds next to `field`/`value` is lost.
/// Ignored until `Change` gets `#[serde(flatten)] extra` like every other object.
#[test]
fn unknown_change_level_fields_survive_a_round_trip() {
    let raw: Value = serde_json::from_str(UNKNOWN_FIELDS).expect("fixture is JSON");
    assert_eq!(raw["entry"][0]["changes"][0]["change_novelty"], "v2");
    let reserialized = serde_json::to_value(parse(UNKNOWN_FIELDS)).expect("serializes");
    assert_eq!(reserialized["entry"][0]["changes"][0]["change_novelty"], "v2");
}

#[test]
fn every_fixture_round_trips_through_the_typed_model() {
    let mut messages_seen = 0;
    let mut statuses_seen = 0;
    for (name, json) in ALL_FIXTURES {
        let first = parse(json);
        let text = serde_json::to_string(&first).unwrap_or_else(|error| panic!("{name}: serialize: {error}"));
        let second: WebhookPayload =
            serde_json::from_str(&text).unwrap_or_else(|error| panic!("{name}: reparse: {error}"));
        let first_json = serde_json::to_value(&first).expect("serializes");
        let second_json = serde_json::to_value(&second).expect("serializes");
        assert_eq!(first_json, second_json, "{name}: round trip changed the payload");

        for (before, after) in first.entry.iter().zip(&second.entry) {
            assert_eq!(before.changes.len(), after.changes.len(), "{name}");
            for (before, after) in before.changes.iter().zip(&after.changes) {
                assert_eq!(before.field, after.field, "{name}");
                let (Some(before), Some(after)) = (before.messages_value(), after.messages_value()) else {
                    assert!(before.messages_value().is_none() && after.messages_value().is_none());
                    continue;
                };
                let (before, after) = (before.expect("parses"), after.expect("parses"));
                assert_eq!(before.messages.len(), after.messages.len(), "{name}");
                for (before, after) in before.messages.iter().zip(&after.messages) {
                    assert_eq!(before.id, after.id, "{name}");
                    assert_eq!(before.timestamp, after.timestamp, "{name}");
                    assert_eq!(before.content(), after.content(), "{name}");
                    messages_seen += 1;
                }
                for (before, after) in before.statuses.iter().zip(&after.statuses) {
                    assert_eq!(before.id, after.id, "{name}");
                    assert_eq!(before.status, after.status, "{name}");
                    assert_eq!(before.timestamp, after.timestamp, "{name}");
                    assert_eq!(before.errors, after.errors, "{name}");
                    statuses_seen += 1;
                }
            }
        }
    }
    // 17 single-message fixtures + 4 in mixed_batch + unicode + unknown; 4 status fixtures + 3 in mixed_batch + unknown.
    assert_eq!(messages_seen, 17 + 4 + 1 + 1);
    assert_eq!(statuses_seen, 4 + 3 + 1);
}

#[test]
fn every_messages_fixture_is_for_a_known_phone_number_id() {
    for (name, json) in ALL_FIXTURES {
        for entry in parse(json).entry {
            assert!(!entry.id.is_empty(), "{name}: entry without a WABA id");
            for change in entry.changes {
                if let Some(value) = change.messages_value() {
                    let value = value.unwrap_or_else(|error| panic!("{name}: {error}"));
                    let id = value.metadata.phone_number_id.as_deref();
                    assert!(
                        id == Some(OUR_PHONE_NUMBER_ID) || id == Some(OTHER_PHONE_NUMBER_ID),
                        "{name}: unexpected phone_number_id {id:?}"
                    );
                    for message in &value.messages {
                        let wamid = message.id.as_deref().unwrap_or_default();
                        assert!(wamid.starts_with("wamid.HBg"), "{name}: wamid {wamid}");
                        assert!(message.timestamp.is_some(), "{name}: timestamp");
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Lenient parsing
// ---------------------------------------------------------------------------------------------

#[test]
fn timestamp_accepts_a_number_as_well_as_a_string() {
    let message = message_from(json!({
        "from": SHEENA, "id": "wamid.HBgNUMERIC", "timestamp": 1_739_321_024, "type": "text", "text": {"body": "hi"}
    }));
    assert_eq!(message.timestamp, Some(1_739_321_024));
    let message = message_from(json!({"id": "wamid.HBgPADDED", "timestamp": " 1739321024 ", "type": "text"}));
    assert_eq!(message.timestamp, Some(1_739_321_024));
    let status = status_from(json!({"id": "wamid.HBgSTATUS", "status": "sent", "timestamp": 1_739_321_300}));
    assert_eq!(status.timestamp, Some(1_739_321_300));
}

#[test]
fn timestamp_garbage_is_none_and_does_not_fail_the_payload() {
    for garbage in [
        json!("soon"),
        json!(""),
        json!("1739321024.5"),
        json!(1.5),
        json!(-1.0e300),
        json!(true),
        json!(null),
        json!({"seconds": 1}),
        json!([1_739_321_024]),
    ] {
        let message = message_from(json!({
            "id": "wamid.HBgGARBAGE", "from": SHEENA, "timestamp": garbage, "type": "text", "text": {"body": "still here"}
        }));
        assert_eq!(message.timestamp, None, "timestamp {garbage}");
        assert_eq!(message.id.as_deref(), Some("wamid.HBgGARBAGE"));
        assert_eq!(
            message.content(),
            Content::Text {
                body: "still here".to_owned()
            }
        );
        let status = status_from(json!({"id": "wamid.HBgS", "status": "read", "timestamp": garbage}));
        assert_eq!(status.timestamp, None, "status timestamp {garbage}");
        assert_eq!(status.status, "read");
    }
    // Absent is None too.
    let message = message_from(json!({"id": "wamid.HBgNOTIME", "type": "text"}));
    assert_eq!(message.timestamp, None);
    assert_eq!(message.kind, "text");
}

#[test]
fn missing_arrays_and_objects_default_to_empty() {
    let payload: WebhookPayload = serde_json::from_str("{}").expect("empty object parses");
    assert_eq!(payload.object, "");
    assert!(payload.entry.is_empty());
    assert!(payload.extra.is_empty());

    let payload: WebhookPayload =
        serde_json::from_str(r#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398"}]}"#)
            .expect("entry without changes parses");
    assert_eq!(payload.entry[0].id, WABA_ID);
    assert!(payload.entry[0].changes.is_empty());

    let value: MessagesValue = serde_json::from_value(json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": OUR_DISPLAY_NUMBER, "phone_number_id": OUR_PHONE_NUMBER_ID}
    }))
    .expect("value without arrays parses");
    assert_eq!(value.metadata.phone_number_id.as_deref(), Some(OUR_PHONE_NUMBER_ID));
    assert!(value.contacts.is_empty());
    assert!(value.messages.is_empty());
    assert!(value.statuses.is_empty());
    assert!(value.errors.is_empty());
    assert!(value.extra.is_empty());

    let value: MessagesValue = serde_json::from_value(json!({})).expect("empty value parses");
    assert_eq!(value.messaging_product, None);
    assert_eq!(value.metadata.phone_number_id, None);
    assert_eq!(value.metadata.display_phone_number, None);

    let message = message_from(json!({"id": "wamid.HBgBARE", "from": SHEENA, "timestamp": "1739321024"}));
    assert_eq!(message.kind, "");
    assert!(message.errors.is_empty());
    assert!(message.context.is_none());
    assert_eq!(message.content(), Content::Other(Value::Null));

    let status = status_from(json!({"id": "wamid.HBgBARESTATUS"}));
    assert_eq!(status.status, "");
    assert!(status.errors.is_empty());
    assert_eq!(status.conversation, None);
    assert_eq!(status.pricing, None);
    assert_eq!(status.recipient_id, None);
}

#[test]
fn change_level_errors_are_typed() {
    let change: Change = serde_json::from_value(json!({
        "field": "messages",
        "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": OUR_DISPLAY_NUMBER, "phone_number_id": OUR_PHONE_NUMBER_ID},
            "errors": [{
                "code": 131_000,
                "title": "Something went wrong",
                "message": "Something went wrong",
                "error_data": {"details": "Unknown error, please retry."}
            }]
        }
    }))
    .expect("change parses");
    let value = messages_value(&change);
    assert!(value.messages.is_empty());
    assert_eq!(value.errors.len(), 1);
    assert_eq!(value.errors[0].code, Some(131_000));
    assert_eq!(value.errors[0].title.as_deref(), Some("Something went wrong"));
    assert_eq!(value.errors[0].details(), Some("Unknown error, please retry."));
}

#[test]
fn messages_change_with_a_malformed_value_is_an_error_not_a_panic() {
    let change: Change =
        serde_json::from_value(json!({"field": "messages", "value": "not an object"})).expect("change parses");
    assert!(matches!(change.messages_value(), Some(Err(_))));
    let change: Change = serde_json::from_value(json!({"field": "messages", "value": {"messages": [{"id": 7}]}}))
        .expect("change parses");
    assert!(matches!(change.messages_value(), Some(Err(_))));
    let change: Change = serde_json::from_value(json!({"field": "security"})).expect("change parses");
    assert!(change.messages_value().is_none());
    assert_eq!(change.value, Value::Null);
}

#[test]
fn malformed_content_falls_back_to_other_with_the_raw_value() {
    let message = message_from(json!({"id": "wamid.HBgA", "type": "text", "text": {"preview_url": false}}));
    assert_eq!(message.content(), Content::Other(json!({"preview_url": false})));

    let message =
        message_from(json!({"id": "wamid.HBgB", "type": "image", "image": {"id": 1_003_383_421_387_256_u64}}));
    assert_eq!(
        message.content(),
        Content::Other(json!({"id": 1_003_383_421_387_256_u64}))
    );

    let message = message_from(json!({"id": "wamid.HBgC", "type": "location", "location": {"latitude": "37.48"}}));
    assert_eq!(message.content(), Content::Other(json!({"latitude": "37.48"})));

    // A type whose content object is missing: Other(null), nothing panics.
    let message = message_from(json!({"id": "wamid.HBgD", "type": "video"}));
    assert_eq!(message.content(), Content::Other(Value::Null));
}

#[test]
fn flow_reply_and_removed_reaction() {
    let message = message_from(json!({
        "id": "wamid.HBgFLOW", "from": SHEENA, "timestamp": "1739321700", "type": "interactive",
        "interactive": {
            "type": "nfm_reply",
            "nfm_reply": {"name": "flow", "body": "Sent", "response_json": "{\"flow_token\":\"abc\"}"}
        }
    }));
    assert_eq!(
        message.content(),
        Content::Reply(Reply {
            kind: "nfm_reply".to_owned(),
            id: None,
            title: Some("Sent".to_owned()),
        })
    );

    let message = message_from(json!({
        "id": "wamid.HBgUNREACT", "from": SHEENA, "timestamp": "1739321701", "type": "reaction",
        "reaction": {"message_id": "wamid.HBgREACTED"}
    }));
    assert_eq!(
        message.content(),
        Content::Reaction(Reaction {
            message_id: Some("wamid.HBgREACTED".to_owned()),
            emoji: None,
        })
    );
}
