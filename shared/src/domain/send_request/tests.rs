use serde_json::{Value, json};

use super::content::*;
use super::*;

const IL: Option<&str> = Some("972");
const TO: &str = "972504370045";

fn parse(value: Value) -> Result<ValidSendRequest, ValidationError> {
    ValidSendRequest::from_value(value)
}

fn valid(value: Value) -> ValidSendRequest {
    parse(value.clone()).unwrap_or_else(|error| panic!("{value}: {error}"))
}

fn payload(value: Value) -> Value {
    let request = valid(value);
    let recipient = request.recipient(IL).expect("a recipient");
    request.graph_payload(&recipient)
}

fn field_of(value: Value) -> String {
    match parse(value.clone()) {
        Ok(_) => panic!("accepted: {value}"),
        Err(error) => {
            assert!(!error.message.is_empty());
            error.field
        }
    }
}

/// Meta's envelope around one type's object.
fn meta(kind: &str, content: Value) -> Value {
    json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": TO, "type": kind, kind: content})
}

fn buttons(n: usize, title_chars: usize) -> Value {
    let buttons: Vec<Value> = (0..n)
        .map(|i| json!({"type": "reply", "reply": {"id": format!("b{i}"), "title": format!("{i}{}", "t".repeat(title_chars - 1))}}))
        .collect();
    json!({"type": "button", "body": {"text": "Choose"}, "action": {"buttons": buttons}})
}

fn list(rows_per_section: &[usize]) -> Value {
    let mut n = 0;
    let sections: Vec<Value> = rows_per_section
        .iter()
        .enumerate()
        .map(|(s, rows)| {
            let rows: Vec<Value> = (0..*rows)
                .map(|_| {
                    n += 1;
                    json!({"id": format!("r{n}"), "title": format!("Row {n}"), "description": "d"})
                })
                .collect();
            json!({"title": format!("Section {s}"), "rows": rows})
        })
        .collect();
    json!({"type": "list", "header": {"type": "text", "text": "Menu"}, "body": {"text": "Pick one"},
           "footer": {"text": "Thanks"}, "action": {"button": "Options", "sections": sections}})
}

fn cta(display: &str) -> Value {
    json!({"type": "cta_url", "header": {"type": "image", "image": {"link": "https://x.test/h.jpg"}},
           "body": {"text": "See the order"},
           "action": {"name": "cta_url", "parameters": {"display_text": display, "url": "https://x.test/o/1"}}})
}

fn flow(cta: &str) -> Value {
    json!({"type": "flow", "body": {"text": "Sign up"},
           "action": {"name": "flow", "parameters": {"flow_message_version": "3", "flow_token": "tok",
                      "flow_id": "1234", "flow_cta": cta, "flow_action": "navigate",
                      "flow_action_payload": {"screen": "WELCOME"}}}})
}

fn location_request() -> Value {
    json!({"type": "location_request_message", "body": {"text": "Where are you?"}, "action": {"name": "send_location"}})
}

fn contact() -> Value {
    json!([{"name": {"formatted_name": "Ayala Horev", "first_name": "Ayala"}, "birthday": "1990-05-01",
            "phones": [{"phone": "+972504370045", "type": "CELL", "wa_id": "972504370045"}],
            "emails": [{"email": "a@x.test", "type": "WORK"}], "org": {"company": "X"}}])
}

fn seed_components() -> Value {
    json!([
        {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://api-invy.dvirlabs.com/uploads/1d32b5fbab0f494cae443b4188a83ca3.jpg"}}]},
        {"type": "body", "parameters": [{"type": "text", "text": "איילה חורב"}]},
        {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "f3122a7d-1d7c-4cc1-955d-1c6b7358bd25"}]}
    ])
}

fn all_components() -> Value {
    json!([
        {"type": "header", "parameters": [{"type": "document", "document": {"id": "77", "filename": "a.pdf"}}]},
        {"type": "body", "parameters": [
            {"type": "text", "text": "Ayala"},
            {"type": "currency", "currency": {"fallback_value": "$10", "code": "USD", "amount_1000": 10000}},
            {"type": "date_time", "date_time": {"fallback_value": "May 1"}}
        ]},
        {"type": "button", "sub_type": "quick_reply", "index": 0, "parameters": [{"type": "payload", "payload": "YES"}]},
        {"type": "button", "sub_type": "copy_code", "index": 1, "parameters": [{"type": "coupon_code", "coupon_code": "SAVE10"}]},
        {"type": "button", "sub_type": "flow", "index": "2", "parameters": [{"type": "action", "action": {"flow_token": "t"}}]},
        {"type": "limited_time_offer", "parameters": [{"type": "limited_time_offer", "limited_time_offer": {"expiration_time_ms": 1}}]},
        {"type": "carousel", "cards": [{"card_index": 0, "components": [
            {"type": "header", "parameters": [{"type": "video", "video": {"link": "https://x.test/v.mp4"}}]}
        ]}]}
    ])
}

/// Every type: the short body and Meta's, and the exact Graph JSON both become.
fn every_type() -> Vec<(Value, Value, Value)> {
    let media = |kind: &str, fields: Value| {
        let mut short = json!({"to": "050-437-0045", "type": kind});
        short
            .as_object_mut()
            .expect("an object")
            .extend(fields.as_object().expect("an object").clone());
        (short, meta(kind, fields.clone()), meta(kind, fields))
    };
    let interactive = |content: Value| {
        (
            json!({"to": "050-437-0045", "type": "interactive", "interactive": content.clone()}),
            meta("interactive", content.clone()),
            meta("interactive", content),
        )
    };
    vec![
        (
            json!({"to": "050-437-0045", "type": "text", "body": "see https://x.test", "preview_url": true}),
            meta("text", json!({"body": "see https://x.test", "preview_url": true})),
            meta("text", json!({"body": "see https://x.test", "preview_url": true})),
        ),
        (
            json!({"to": "050-437-0045", "type": "template", "name": "hina_invitation", "language": "he", "components": seed_components()}),
            meta(
                "template",
                json!({"name": "hina_invitation", "language": {"code": "he"}, "components": seed_components()}),
            ),
            meta(
                "template",
                json!({"name": "hina_invitation", "language": {"code": "he"}, "components": seed_components()}),
            ),
        ),
        (
            json!({"to": "050-437-0045", "type": "template", "name": "everything", "language": {"code": "en_US", "policy": "deterministic"}, "components": all_components()}),
            meta(
                "template",
                json!({"name": "everything", "language": {"code": "en_US", "policy": "deterministic"}, "components": all_components()}),
            ),
            meta(
                "template",
                json!({"name": "everything", "language": {"code": "en_US", "policy": "deterministic"}, "components": all_components()}),
            ),
        ),
        media("image", json!({"link": "https://x.test/a.jpg", "caption": "A photo"})),
        media("image", json!({"id": "1037543291543636"})),
        media("audio", json!({"id": "555"})),
        media("video", json!({"link": "https://x.test/v.mp4", "caption": "Clip"})),
        media(
            "document",
            json!({"link": "https://x.test/r.pdf", "caption": "Report", "filename": "r.pdf"}),
        ),
        media("sticker", json!({"id": "9"})),
        interactive(buttons(3, 20)),
        interactive(list(&[5, 5])),
        interactive(cta("Open")),
        interactive(location_request()),
        interactive(flow("Sign up")),
        media("reaction", json!({"message_id": "wamid.IN", "emoji": "👍"})),
        media("reaction", json!({"message_id": "wamid.IN", "emoji": ""})),
        media(
            "location",
            json!({"latitude": 32.0853, "longitude": 34.7818, "name": "Office", "address": "1 Rothschild"}),
        ),
        (
            json!({"to": "050-437-0045", "type": "contacts", "contacts": contact()}),
            meta("contacts", contact()),
            meta("contacts", contact()),
        ),
    ]
}

#[test]
fn every_type_in_both_shapes_becomes_the_exact_graph_json() {
    for (short, meta_shape, expected) in every_type() {
        assert_eq!(payload(short.clone()), expected, "short: {short}");
        assert_eq!(payload(meta_shape.clone()), expected, "meta: {meta_shape}");
        assert_eq!(valid(short).shape(), Shape::Short);
        assert_eq!(valid(meta_shape).shape(), Shape::Meta);
    }
}

#[test]
fn a_reply_on_any_type_and_callback_data_in_both_shapes() {
    for (short, meta_shape, mut expected) in every_type() {
        let mut short = short;
        short["context_message_id"] = json!("wamid.HBgLOTcy");
        short["biz_opaque_callback_data"] = json!("campaign-42");
        let mut meta_shape = meta_shape;
        meta_shape["context"] = json!({"message_id": "wamid.HBgLOTcy"});
        meta_shape["biz_opaque_callback_data"] = json!("campaign-42");
        expected["context"] = json!({"message_id": "wamid.HBgLOTcy"});
        expected["biz_opaque_callback_data"] = json!("campaign-42");
        assert_eq!(payload(short.clone()), expected, "{short}");
        assert_eq!(payload(meta_shape.clone()), expected, "{meta_shape}");
        assert_eq!(valid(meta_shape).callback_data(), Some("campaign-42"));
    }
}

#[test]
fn meta_shape_is_sent_as_given_with_to_normalized_and_from_removed() {
    let body = json!({"messaging_product": "whatsapp", "to": "+972 50-437-0045", "type": "text",
                      "text": {"body": "hi", "x_future_field": 1}, "from": "106540352242922", "some_new_top_level": true});
    let request = valid(body);
    assert_eq!(request.from(), Some("106540352242922"));
    assert_eq!(
        request.graph_payload(&request.recipient(None).expect("recipient")),
        json!({"messaging_product": "whatsapp", "to": TO, "type": "text",
               "text": {"body": "hi", "x_future_field": 1}, "some_new_top_level": true})
    );
    // Meta's default type is text.
    let request = valid(json!({"messaging_product": "whatsapp", "to": TO, "text": {"body": "hi"}}));
    assert_eq!(request.kind(), MessageKind::Text);
}

#[test]
fn the_short_shape_keeps_its_documented_forms() {
    // What the README documented before Meta's shape was accepted: unchanged output.
    assert_eq!(
        payload(json!({"to": "050-437-0045", "type": "text", "body": "Hello", "unknown": {"x": 1}})),
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": TO,
               "type": "text", "text": {"body": "Hello"}})
    );
    assert_eq!(
        payload(json!({"to": "14155550123", "type": "template", "name": "hello_world", "language": "en_US"})),
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "14155550123",
               "type": "template", "template": {"name": "hello_world", "language": {"code": "en_US"}}})
    );
    assert_eq!(
        payload(json!({"to": TO, "type": "document", "id": "123", "filename": "a.pdf", "extra": 1})),
        meta("document", json!({"id": "123", "filename": "a.pdf"}))
    );
}

#[test]
fn recipients_to_wins_over_recipient_and_user_ids_are_checked() {
    let both =
        valid(json!({"to": "050-437-0045", "recipient": "US.13491208655302741918", "type": "text", "body": "x"}));
    assert_eq!(both.recipient(IL), Ok(ContactId::Phone(TO.into())));
    let user = valid(json!({"recipient": "US.13491208655302741918", "type": "text", "body": "x"}));
    let recipient = user.recipient(IL).expect("a user id");
    assert_eq!(recipient, ContactId::User("US.13491208655302741918".into()));
    assert_eq!(
        user.graph_payload(&recipient),
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "recipient": "US.13491208655302741918",
               "type": "text", "text": {"body": "x"}})
    );
    let meta_user = valid(
        json!({"messaging_product": "whatsapp", "recipient": "US.ENT.99", "type": "text", "text": {"body": "x"}}),
    );
    let recipient = meta_user.recipient(IL).expect("a parent user id");
    assert_eq!(
        meta_user.graph_payload(&recipient),
        json!({"messaging_product": "whatsapp", "recipient": "US.ENT.99", "type": "text", "text": {"body": "x"}})
    );
    for bad in [
        "US 123",
        "12345678",
        "US.<script>",
        &format!("US.{}", "1".repeat(MAX_USER_ID_CHARS)),
    ] {
        let request = valid(json!({"recipient": bad, "type": "text", "body": "x"}));
        assert_eq!(
            request.recipient(IL).map_err(|e| e.field),
            Err("recipient".into()),
            "{bad}"
        );
    }
    assert_eq!(field_of(json!({"type": "text", "body": "x"})), "to");
    assert_eq!(field_of(json!({"to": " ", "type": "text", "body": "x"})), "to");
    assert_eq!(field_of(json!({"to": 972, "type": "text", "body": "x"})), "to");
}

#[test]
fn envelope_fields_are_checked_in_both_shapes() {
    let cases = [
        (json!({"to": TO, "body": "hi"}), "type"),
        (json!({"to": TO, "type": "fax", "body": "hi"}), "type"),
        (
            json!({"to": TO, "type": "text", "body": "hi", "context_message_id": ""}),
            "context_message_id",
        ),
        (json!({"to": TO, "type": "text", "body": "hi", "from": "10/65"}), "from"),
        (
            json!({"to": TO, "type": "text", "body": "hi", "biz_opaque_callback_data": "b".repeat(MAX_BIZ_OPAQUE_BYTES + 1)}),
            "biz_opaque_callback_data",
        ),
        (
            json!({"messaging_product": "sms", "to": TO, "type": "text", "text": {"body": "hi"}}),
            "messaging_product",
        ),
        (
            json!({"messaging_product": "whatsapp", "recipient_type": "group", "to": TO, "text": {"body": "hi"}}),
            "recipient_type",
        ),
        (
            json!({"messaging_product": "whatsapp", "to": TO, "type": "text", "body": "hi"}),
            "text",
        ),
        (
            json!({"messaging_product": "whatsapp", "to": TO, "text": {"body": "hi"}, "context": {"message_id": ""}}),
            "context.message_id",
        ),
        (
            json!({"messaging_product": "whatsapp", "to": TO, "text": {"body": "hi"}, "context": "wamid"}),
            "context",
        ),
        (json!([1]), "body"),
    ];
    for (body, field) in cases {
        assert_eq!(field_of(body.clone()), field, "{body}");
    }
    assert!(parse(json!({"to": TO, "type": "text", "body": "hi", "biz_opaque_callback_data": "b".repeat(MAX_BIZ_OPAQUE_BYTES)})).is_ok());
    assert_eq!(ValidSendRequest::parse(b"{").map_err(|e| e.field), Err("body".into()));
}

/// One validation table per type: (the content object, accepted?, the field named when refused).
fn check_table(kind: &str, cases: Vec<(Value, Option<&str>)>) {
    for (content, refused) in cases {
        let result = parse(meta(kind, content.clone()));
        match refused {
            None => assert!(result.is_ok(), "{kind} {content}: {:?}", result.err()),
            Some(field) => assert_eq!(
                result.map(drop).map_err(|e| e.field),
                Err(field.to_owned()),
                "{kind} {content}"
            ),
        }
    }
}

#[test]
fn text_limits() {
    check_table(
        "text",
        vec![
            (json!({"body": "x".repeat(MAX_TEXT_BODY_CHARS)}), None),
            (json!({"body": "א".repeat(MAX_TEXT_BODY_CHARS)}), None),
            (json!({"body": "x".repeat(MAX_TEXT_BODY_CHARS + 1)}), Some("text.body")),
            (json!({"body": " \n "}), Some("text.body")),
            (json!({}), Some("text.body")),
            (json!({"body": "hi", "preview_url": "yes"}), Some("text")),
            (Value::Null, Some("text")),
        ],
    );
}

#[test]
fn media_limits() {
    for kind in ["image", "video", "document", "audio", "sticker"] {
        let captioned = !matches!(kind, "audio" | "sticker");
        let caption_field = format!("{kind}.caption");
        let mut cases = vec![
            (json!({"link": "HTTPS://x.test/a"}), None),
            (json!({"id": "42"}), None),
            (json!({}), Some(format!("{kind}.link"))),
            (
                json!({"link": "https://x.test/a", "id": "1"}),
                Some(format!("{kind}.id")),
            ),
            (json!({"link": "http://x.test/a"}), Some(format!("{kind}.link"))),
            (json!({"link": "https:///a"}), Some(format!("{kind}.link"))),
            (json!({"link": "https://x.test/a b"}), Some(format!("{kind}.link"))),
            (json!({"id": ""}), Some(format!("{kind}.id"))),
            (
                json!({"id": "1", "caption": "c".repeat(MAX_CAPTION_CHARS + 1)}),
                Some(caption_field.clone()),
            ),
        ];
        if captioned {
            cases.push((json!({"id": "1", "caption": "c".repeat(MAX_CAPTION_CHARS)}), None));
        } else {
            cases.push((json!({"id": "1", "caption": "c"}), Some(caption_field.clone())));
        }
        if kind == "document" {
            cases.push((json!({"id": "1", "filename": "a.pdf"}), None));
            cases.push((json!({"id": "1", "filename": " "}), Some("document.filename".into())));
        } else {
            cases.push((
                json!({"id": "1", "filename": "a.pdf"}),
                Some(format!("{kind}.filename")),
            ));
        }
        let cases = cases.iter().map(|(v, f)| (v.clone(), f.as_deref())).collect();
        check_table(kind, cases);
    }
}

#[test]
fn template_limits() {
    let t = |components: Value| json!({"name": "order_2", "language": {"code": "en_US"}, "components": components});
    check_table(
        "template",
        vec![
            (t(all_components()), None),
            (t(seed_components()), None),
            (
                json!({"name": "a".repeat(MAX_TEMPLATE_NAME_CHARS), "language": {"code": "he"}}),
                None,
            ),
            (
                json!({"name": "a".repeat(MAX_TEMPLATE_NAME_CHARS + 1), "language": {"code": "he"}}),
                Some("template.name"),
            ),
            (
                json!({"name": "Hello", "language": {"code": "he"}}),
                Some("template.name"),
            ),
            (
                json!({"name": "hello-world", "language": {"code": "he"}}),
                Some("template.name"),
            ),
            (json!({"language": {"code": "he"}}), Some("template.name")),
            (json!({"name": "hello"}), Some("template.language")),
            (json!({"name": "hello", "language": "he"}), Some("template.language")),
            (
                json!({"name": "hello", "language": {"code": "en US"}}),
                Some("template.language"),
            ),
            (json!({"name": "hello", "language": {}}), Some("template.language.code")),
            (t(json!(["body"])), Some("template.components[0]")),
            (
                t(json!([{"type": "body"}, {"parameters": []}])),
                Some("template.components[1].type"),
            ),
            (t(json!([{"type": "footer"}])), Some("template.components[0].type")),
            (
                t(json!([{"type": "button", "index": 0}])),
                Some("template.components[0].sub_type"),
            ),
            (t(json!([{"type": "button", "sub_type": "url", "index": 9}])), None),
            (
                t(json!([{"type": "button", "sub_type": "url", "index": 10}])),
                Some("template.components[0].index"),
            ),
            (
                t(json!([{"type": "button", "sub_type": "url"}])),
                Some("template.components[0].index"),
            ),
            (
                t(json!([{"type": "body", "parameters": [{"type": "emoji"}]}])),
                Some("template.components[0].parameters[0].type"),
            ),
            (
                t(json!([{"type": "body", "parameters": [{"type": "text"}]}])),
                Some("template.components[0].parameters[0].text"),
            ),
            (
                t(
                    json!([{"type": "header", "parameters": [{"type": "text", "text": "h".repeat(MAX_TEMPLATE_HEADER_TEXT_CHARS)}]}]),
                ),
                None,
            ),
            (
                t(
                    json!([{"type": "header", "parameters": [{"type": "text", "text": "h".repeat(MAX_TEMPLATE_HEADER_TEXT_CHARS + 1)}]}]),
                ),
                Some("template.components[0].parameters[0].text"),
            ),
            (
                t(json!([{"type": "header", "parameters": [{"type": "image", "image": {}}]}])),
                Some("template.components[0].parameters[0].image.link"),
            ),
            (
                t(
                    json!([{"type": "body", "parameters": [{"type": "currency", "currency": {"code": "USD", "amount_1000": 1}}]}]),
                ),
                Some("template.components[0].parameters[0].currency.fallback_value"),
            ),
            (
                t(
                    json!([{"type": "header", "parameters": [{"type": "location", "location": {"latitude": 91, "longitude": 0}}]}]),
                ),
                Some("template.components[0].parameters[0].location.latitude"),
            ),
            (
                t(json!([{"type": "carousel", "cards": []}])),
                Some("template.components[0].cards"),
            ),
            (
                t(json!([{"type": "carousel", "cards": [{"components": [{"type": "nope"}]}]}])),
                Some("template.components[0].cards[0].components[0].type"),
            ),
        ],
    );
}

#[test]
fn reply_button_limits() {
    let mut dup_title = buttons(2, 5);
    dup_title["action"]["buttons"][1]["reply"]["title"] = dup_title["action"]["buttons"][0]["reply"]["title"].clone();
    let mut dup_id = buttons(2, 5);
    dup_id["action"]["buttons"][1]["reply"]["id"] = json!("b0");
    let mut long_id = buttons(1, 5);
    long_id["action"]["buttons"][0]["reply"]["id"] = json!("i".repeat(MAX_BUTTON_ID_CHARS + 1));
    let mut wrong_type = buttons(1, 5);
    wrong_type["action"]["buttons"][0]["type"] = json!("url");
    let mut header_id = buttons(1, 5);
    header_id["header"] = json!({"type": "image", "image": {"id": "1"}});
    let mut header_video = buttons(1, 5);
    header_video["header"] = json!({"type": "video", "video": {"link": "https://x.test/v.mp4"}});
    let mut long_footer = buttons(1, 5);
    long_footer["footer"] = json!({"text": "f".repeat(MAX_FOOTER_TEXT_CHARS + 1)});
    let mut long_body = buttons(1, 5);
    long_body["body"] = json!({"text": "b".repeat(MAX_INTERACTIVE_BODY_CHARS + 1)});
    let mut no_body = buttons(1, 5);
    no_body.as_object_mut().expect("an object").remove("body");
    let mut long_header = buttons(1, 5);
    long_header["header"] = json!({"type": "text", "text": "h".repeat(MAX_HEADER_TEXT_CHARS + 1)});
    check_table(
        "interactive",
        vec![
            (buttons(MAX_REPLY_BUTTONS, MAX_BUTTON_TITLE_CHARS), None),
            (buttons(MAX_REPLY_BUTTONS + 1, 5), Some("interactive.action.buttons")),
            (buttons(0, 5), Some("interactive.action.buttons")),
            (
                buttons(1, MAX_BUTTON_TITLE_CHARS + 1),
                Some("interactive.action.buttons[0].reply.title"),
            ),
            (dup_title, Some("interactive.action.buttons[1].reply.title")),
            (dup_id, Some("interactive.action.buttons[1].reply.id")),
            (long_id, Some("interactive.action.buttons[0].reply.id")),
            (wrong_type, Some("interactive.action.buttons[0].type")),
            (header_id, Some("interactive.header.image.id")),
            (header_video, None),
            (long_footer, Some("interactive.footer.text")),
            (long_body, Some("interactive.body.text")),
            (no_body, Some("interactive.body")),
            (long_header, Some("interactive.header.text")),
            (json!({"type": "carousel", "body": {"text": "x"}}), Some("interactive")),
        ],
    );
}

#[test]
fn list_limits() {
    let edit = |f: &dyn Fn(&mut Value)| {
        let mut value = list(&[2]);
        f(&mut value);
        value
    };
    check_table(
        "interactive",
        vec![
            (list(&[MAX_LIST_ROWS]), None),
            (list(&[1; MAX_LIST_SECTIONS]), None),
            (list(&[MAX_LIST_ROWS, 1]), Some("interactive.action.sections")),
            (list(&[1; MAX_LIST_SECTIONS + 1]), Some("interactive.action.sections")),
            (list(&[]), Some("interactive.action.sections")),
            (list(&[0]), Some("interactive.action.sections[0].rows")),
            (
                edit(&|v| v["action"]["button"] = json!("b".repeat(MAX_LIST_BUTTON_CHARS))),
                None,
            ),
            (
                edit(&|v| v["action"]["button"] = json!("b".repeat(MAX_LIST_BUTTON_CHARS + 1))),
                Some("interactive.action.button"),
            ),
            (
                edit(&|v| v["action"]["sections"][0]["title"] = json!("s".repeat(MAX_SECTION_TITLE_CHARS))),
                None,
            ),
            (
                edit(&|v| v["action"]["sections"][0]["title"] = json!("s".repeat(MAX_SECTION_TITLE_CHARS + 1))),
                Some("interactive.action.sections[0].title"),
            ),
            (
                edit(&|v| v["action"]["sections"][0]["rows"][1]["title"] = json!("r".repeat(MAX_ROW_TITLE_CHARS))),
                None,
            ),
            (
                edit(&|v| v["action"]["sections"][0]["rows"][1]["title"] = json!("r".repeat(MAX_ROW_TITLE_CHARS + 1))),
                Some("interactive.action.sections[0].rows[1].title"),
            ),
            (
                edit(&|v| {
                    v["action"]["sections"][0]["rows"][0]["description"] = json!("d".repeat(MAX_ROW_DESCRIPTION_CHARS))
                }),
                None,
            ),
            (
                edit(&|v| {
                    v["action"]["sections"][0]["rows"][0]["description"] =
                        json!("d".repeat(MAX_ROW_DESCRIPTION_CHARS + 1))
                }),
                Some("interactive.action.sections[0].rows[0].description"),
            ),
            (
                edit(&|v| v["action"]["sections"][0]["rows"][0]["id"] = json!("i".repeat(MAX_ROW_ID_CHARS))),
                None,
            ),
            (
                edit(&|v| v["action"]["sections"][0]["rows"][0]["id"] = json!("i".repeat(MAX_ROW_ID_CHARS + 1))),
                Some("interactive.action.sections[0].rows[0].id"),
            ),
            (
                edit(&|v| v["action"]["sections"][0]["rows"][1]["id"] = json!("r1")),
                Some("interactive.action.sections[0].rows[1].id"),
            ),
            (
                edit(&|v| v["header"] = json!({"type": "image", "image": {"link": "https://x.test/a.jpg"}})),
                Some("interactive.header.type"),
            ),
        ],
    );
    let mut untitled = list(&[1, 1]);
    untitled["action"]["sections"][1]
        .as_object_mut()
        .expect("an object")
        .remove("title");
    check_table(
        "interactive",
        vec![(untitled, Some("interactive.action.sections[1].title"))],
    );
}

#[test]
fn cta_url_location_request_and_flow_limits() {
    let mut bad_url = cta("Open");
    bad_url["action"]["parameters"]["url"] = json!("ftp://x.test");
    let mut bad_name = cta("Open");
    bad_name["action"]["name"] = json!("url");
    let mut location_header = location_request();
    location_header["header"] = json!({"type": "text", "text": "h"});
    let mut location_name = location_request();
    location_name["action"]["name"] = json!("location");
    let flow_edit = |f: &dyn Fn(&mut Value)| {
        let mut value = flow("Go");
        f(&mut value);
        value
    };
    check_table(
        "interactive",
        vec![
            (cta(&"d".repeat(MAX_CTA_DISPLAY_TEXT_CHARS)), None),
            (
                cta(&"d".repeat(MAX_CTA_DISPLAY_TEXT_CHARS + 1)),
                Some("interactive.action.parameters.display_text"),
            ),
            (bad_url, Some("interactive.action.parameters.url")),
            (bad_name, Some("interactive.action.name")),
            (location_header, Some("interactive.header")),
            (location_name, Some("interactive.action.name")),
            (flow(&"c".repeat(MAX_FLOW_CTA_CHARS)), None),
            (
                flow(&"c".repeat(MAX_FLOW_CTA_CHARS + 1)),
                Some("interactive.action.parameters.flow_cta"),
            ),
            (
                flow_edit(&|v| v["action"]["parameters"]["flow_message_version"] = json!("2")),
                Some("interactive.action.parameters.flow_message_version"),
            ),
            (
                flow_edit(&|v| v["action"]["parameters"]["flow_name"] = json!("signup")),
                Some("interactive.action.parameters.flow_name"),
            ),
            (
                flow_edit(&|v| {
                    v["action"]["parameters"]
                        .as_object_mut()
                        .expect("an object")
                        .remove("flow_id");
                }),
                Some("interactive.action.parameters.flow_id"),
            ),
            (
                flow_edit(&|v| v["action"]["parameters"]["flow_action"] = json!("jump")),
                Some("interactive.action.parameters.flow_action"),
            ),
            (
                flow_edit(&|v| v["action"]["parameters"]["mode"] = json!("live")),
                Some("interactive.action.parameters.mode"),
            ),
            (
                flow_edit(&|v| v["header"] = json!({"type": "video", "video": {"link": "https://x.test/v"}})),
                Some("interactive.header.type"),
            ),
        ],
    );
}

#[test]
fn reaction_location_and_contacts_limits() {
    check_table(
        "reaction",
        vec![
            (json!({"message_id": "wamid.X", "emoji": "👨‍👩‍👧‍👦"}), None),
            (json!({"message_id": "wamid.X", "emoji": ""}), None),
            (json!({"message_id": "wamid.X", "emoji": "ok"}), Some("reaction.emoji")),
            (
                json!({"message_id": "wamid.X", "emoji": "😀".repeat(MAX_EMOJI_CHARS + 1)}),
                Some("reaction.emoji"),
            ),
            (json!({"message_id": " ", "emoji": "👍"}), Some("reaction.message_id")),
            (json!({"emoji": "👍"}), Some("reaction.message_id")),
        ],
    );
    check_table(
        "location",
        vec![
            (json!({"latitude": 90, "longitude": -180}), None),
            (
                json!({"latitude": "37.44216251868683", "longitude": "-122.16153582049394"}),
                None,
            ),
            (json!({"latitude": 90.0001, "longitude": 0}), Some("location.latitude")),
            (json!({"latitude": 0, "longitude": 180.5}), Some("location.longitude")),
            (json!({"latitude": "north", "longitude": 0}), Some("location.latitude")),
            (json!({"latitude": 0}), Some("location.longitude")),
        ],
    );
    check_table(
        "contacts",
        vec![
            (contact(), None),
            (json!([]), Some("contacts")),
            (json!([{"name": {"formatted_name": "A"}}]), Some("contacts[0].name")),
            (
                json!([{"name": {"formatted_name": " ", "first_name": "A"}}]),
                Some("contacts[0].name.formatted_name"),
            ),
            (
                json!([{"name": {"formatted_name": "A", "first_name": "A"}, "birthday": "01/05/1990"}]),
                Some("contacts[0].birthday"),
            ),
            (
                json!([{"name": {"formatted_name": "A", "first_name": "A"}, "phones": ["+1"]}]),
                Some("contacts[0].phones[0]"),
            ),
            (json!({"name": {"formatted_name": "A"}}), Some("contacts")),
        ],
    );
}

#[test]
fn template_parameter_counts_are_readable() {
    let request = valid(meta(
        "template",
        json!({"name": "x", "language": {"code": "he"}, "components": all_components()}),
    ));
    let Content::Template(template) = request.content() else {
        panic!("a template");
    };
    assert_eq!(template.body_parameter_count(), 3);
    assert_eq!(template.components[2].index, Some(0));
    assert_eq!(template.components[2].sub_type.as_deref(), Some("quick_reply"));
}

#[test]
fn phone_errors_become_to_validation_errors() {
    let err = ValidationError::from(PhoneError::MissingCountryCode);
    assert_eq!(err.field, "to");
    assert!(err.to_string().starts_with("to: "));
}

#[test]
fn metas_message_object_without_the_product_is_metas_shape() {
    // The first send most people write, pasted from Meta's documentation without `messaging_product`.
    for body in [
        json!({"to": TO, "type": "text", "text": {"body": "hi"}}),
        json!({"to": TO, "text": {"body": "hi"}}),
        json!({"recipient": "US.13491208655302741918", "type": "text", "text": {"body": "hi"}}),
    ] {
        let request = valid(body.clone());
        assert_eq!(request.shape(), Shape::Meta, "{body}");
        assert_eq!(request.kind(), MessageKind::Text, "{body}");
    }
    let sent = payload(json!({"to": TO, "type": "text", "text": {"body": "hi", "preview_url": false}}));
    assert_eq!(sent["messaging_product"], "whatsapp");
    assert_eq!(sent["text"], json!({"body": "hi", "preview_url": false}));
    assert_eq!(sent["to"], TO);
    let image = payload(json!({"to": TO, "type": "image", "image": {"link": "https://example.com/a.jpg"}}));
    assert_eq!(image["image"]["link"], "https://example.com/a.jpg");
    // An error names the field that is really wrong.
    assert_eq!(field_of(json!({"to": TO, "type": "text", "text": {}})), "text.body");
    // The short shape is unchanged.
    assert_eq!(
        valid(json!({"to": TO, "type": "text", "body": "hi"})).shape(),
        Shape::Short
    );
    // Another product is refused.
    assert_eq!(
        field_of(json!({"messaging_product": "sms", "to": TO, "type": "text", "text": {"body": "hi"}})),
        "messaging_product"
    );
}
