//! Meta-like validation of a send body (the `(#100) Invalid parameter` answers naming the field).

use serde_json::Value;

use super::answers::{GraphError, invalid};

const MESSAGE_TYPES: [&str; 11] = [
    "text",
    "template",
    "image",
    "document",
    "audio",
    "video",
    "sticker",
    "reaction",
    "interactive",
    "location",
    "contacts",
];
const MEDIA_TYPES: [&str; 5] = ["image", "document", "audio", "video", "sticker"];

/// Meta's limit on `biz_opaque_callback_data`, in characters.
const MAX_CALLBACK_DATA_CHARS: usize = 512;

/// A valid send.
pub struct ValidSend {
    /// `to` (or `recipient`) exactly as sent.
    pub input: Value,
    /// Its digits (empty for a business-scoped user id).
    pub digits: String,
    /// A business-scoped user id sent as `recipient` (without `to`).
    pub user_id: Option<String>,
    pub biz_opaque_callback_data: Option<String>,
}

/// Meta-like validation of a send body.
pub fn validate(body: &Value) -> Result<ValidSend, GraphError> {
    let Some(body) = body.as_object() else {
        return Err(invalid("The request body must be a JSON object"));
    };
    match body.get("messaging_product") {
        None => return Err(invalid("The parameter messaging_product is required.")),
        Some(Value::String(product)) if product == "whatsapp" => {}
        Some(_) => return Err(invalid("Param messaging_product must be 'whatsapp'.")),
    }
    let (field, input) = match (body.get("to"), body.get("recipient")) {
        (Some(to), _) => ("to", to),
        (None, Some(recipient)) => ("recipient", recipient),
        (None, None) => return Err(invalid("The parameter to is required.")),
    };
    let Some(input_text) = input.as_str() else {
        return Err(invalid(format!("Param {field} must be a string.")));
    };
    let user_id = (field == "recipient" && is_user_id(input_text)).then(|| input_text.trim().to_owned());
    let digits = match (&user_id, recipient_digits(input_text)) {
        (Some(_), _) => String::new(),
        (None, Some(digits)) => digits,
        (None, None) => {
            return Err(invalid(format!(
                "Param {field} must be a phone number made of digits{}, got '{input_text}'.",
                if field == "recipient" {
                    " or a business-scoped user id"
                } else {
                    ""
                }
            )));
        }
    };
    let message_type = match body.get("type") {
        None => "text",
        Some(Value::String(kind)) if MESSAGE_TYPES.contains(&kind.as_str()) => kind.as_str(),
        Some(_) => {
            return Err(invalid(format!(
                "Param type must be one of {{{}}}.",
                MESSAGE_TYPES.join(", ")
            )));
        }
    };
    let Some(content) = body.get(message_type) else {
        return Err(invalid(format!("The parameter {message_type} is required.")));
    };
    validate_content(message_type, content)?;
    let biz_opaque_callback_data = match body.get("biz_opaque_callback_data") {
        None | Some(Value::Null) => None,
        Some(Value::String(data)) if data.chars().count() <= MAX_CALLBACK_DATA_CHARS => Some(data.clone()),
        Some(_) => {
            return Err(invalid(format!(
                "Param biz_opaque_callback_data must be a string of at most {MAX_CALLBACK_DATA_CHARS} characters."
            )));
        }
    };
    Ok(ValidSend {
        input: input.clone(),
        digits,
        user_id,
        biz_opaque_callback_data,
    })
}

/// The member named by `type`.
fn validate_content(message_type: &str, content: &Value) -> Result<(), GraphError> {
    if message_type == "contacts" {
        if content.as_array().is_none_or(|contacts| contacts.is_empty()) {
            return Err(invalid("Param contacts must be a non-empty array."));
        }
    } else if !content.is_object() {
        return Err(invalid(format!("Param {message_type} must be a JSON object.")));
    }
    match message_type {
        "text" => match content.get("body") {
            None => Err(invalid("The parameter text.body is required.")),
            Some(Value::String(text)) => {
                let length = text.chars().count();
                if (1..=4096).contains(&length) {
                    Ok(())
                } else {
                    Err(invalid(format!(
                        "Param text.body must be between 1 and 4096 characters long, got {length}."
                    )))
                }
            }
            Some(_) => Err(invalid("Param text.body must be a string.")),
        },
        "template" => {
            non_empty_string(content.get("name"), "template.name")?;
            let code = content.get("language").and_then(|language| language.get("code"));
            non_empty_string(code, "template.language.code")
        }
        media if MEDIA_TYPES.contains(&media) => match (content.get("link"), content.get("id")) {
            (Some(_), Some(_)) => Err(invalid(format!(
                "Param {media} must have exactly one of {media}.link or {media}.id, not both."
            ))),
            (None, None) => Err(invalid(format!(
                "Param {media} must have exactly one of {media}.link or {media}.id."
            ))),
            (Some(link), None) => non_empty_string(Some(link), &format!("{media}.link")),
            (None, Some(id)) => non_empty_string(Some(id), &format!("{media}.id")),
        },
        "interactive" => validate_interactive(content),
        "reaction" => {
            non_empty_string(content.get("message_id"), "reaction.message_id")?;
            match content.get("emoji") {
                Some(Value::String(_)) => Ok(()),
                None => Err(invalid("The parameter reaction.emoji is required.")),
                Some(_) => Err(invalid("Param reaction.emoji must be a string.")),
            }
        }
        "location" => {
            for (name, limit) in [("latitude", 90.0), ("longitude", 180.0)] {
                let value = match content.get(name) {
                    Some(Value::Number(n)) => n.as_f64(),
                    Some(Value::String(text)) => text.trim().parse().ok(),
                    _ => None,
                };
                if !value.is_some_and(|v: f64| (-limit..=limit).contains(&v)) {
                    return Err(invalid(format!(
                        "Param location.{name} must be a number from -{limit} to {limit}."
                    )));
                }
            }
            Ok(())
        }
        "contacts" => {
            for (i, contact) in content.as_array().into_iter().flatten().enumerate() {
                non_empty_string(
                    contact.pointer("/name/formatted_name"),
                    &format!("contacts[{i}].name.formatted_name"),
                )?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Meta's documented limits of interactive messages (the ones its `(#100)` / `131009` answers name).
fn validate_interactive(content: &Value) -> Result<(), GraphError> {
    let kind = content.get("type").and_then(Value::as_str).unwrap_or_default();
    let chars_at_most = |value: Option<&Value>, field: &str, max: usize| -> Result<(), GraphError> {
        non_empty_string(value, field)?;
        let n = value.and_then(Value::as_str).map_or(0, |text| text.chars().count());
        if n > max {
            return Err(invalid(format!(
                "Param {field} must be at most {max} characters long, got {n}."
            )));
        }
        Ok(())
    };
    match kind {
        "button" | "list" | "cta_url" | "location_request_message" | "flow" => {}
        _ => {
            return Err(invalid(
                "Param interactive.type must be one of {button, list, cta_url, location_request_message, flow, product, product_list, catalog_message}.",
            ));
        }
    }
    chars_at_most(content.pointer("/body/text"), "interactive.body.text", 1024)?;
    if content.pointer("/footer/text").is_some() {
        chars_at_most(content.pointer("/footer/text"), "interactive.footer.text", 60)?;
    }
    let action = content.get("action").unwrap_or(&Value::Null);
    match kind {
        "button" => {
            let buttons = action
                .get("buttons")
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice);
            if !(1..=3).contains(&buttons.len()) {
                return Err(invalid(
                    "Param interactive.action.buttons must have between 1 and 3 elements.",
                ));
            }
            for (i, button) in buttons.iter().enumerate() {
                chars_at_most(
                    button.pointer("/reply/id"),
                    &format!("interactive.action.buttons[{i}].reply.id"),
                    256,
                )?;
                chars_at_most(
                    button.pointer("/reply/title"),
                    &format!("interactive.action.buttons[{i}].reply.title"),
                    20,
                )?;
            }
        }
        "list" => {
            chars_at_most(action.get("button"), "interactive.action.button", 20)?;
            let sections = action
                .get("sections")
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice);
            if !(1..=10).contains(&sections.len()) {
                return Err(invalid(
                    "Param interactive.action.sections must have between 1 and 10 elements.",
                ));
            }
            let mut rows = 0;
            for (i, section) in sections.iter().enumerate() {
                for (j, row) in section
                    .get("rows")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    rows += 1;
                    let path = format!("interactive.action.sections[{i}].rows[{j}]");
                    chars_at_most(row.get("id"), &format!("{path}.id"), 200)?;
                    chars_at_most(row.get("title"), &format!("{path}.title"), 24)?;
                }
            }
            if !(1..=10).contains(&rows) {
                return Err(invalid(
                    "Param interactive.action.sections must have between 1 and 10 rows in all.",
                ));
            }
        }
        "cta_url" => {
            chars_at_most(
                action.pointer("/parameters/display_text"),
                "interactive.action.parameters.display_text",
                20,
            )?;
            non_empty_string(action.pointer("/parameters/url"), "interactive.action.parameters.url")?;
        }
        "location_request_message" => {
            if action.get("name").and_then(Value::as_str) != Some("send_location") {
                return Err(invalid("Param interactive.action.name must be 'send_location'."));
            }
        }
        _ => {
            non_empty_string(
                action.pointer("/parameters/flow_cta"),
                "interactive.action.parameters.flow_cta",
            )?;
        }
    }
    Ok(())
}

/// A business-scoped user id (`US.13491208655302741918`): letters, digits, `.`, `_`, `-`, with a `.`.
fn is_user_id(input: &str) -> bool {
    let input = input.trim();
    !input.is_empty()
        && input.contains('.')
        && input
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// `{"messaging_product":"whatsapp","status":"read","message_id":"wamid…"}`: Meta's mark-as-read call,
/// answered `{"success":true}`.
pub fn is_mark_as_read(body: &Value) -> bool {
    body.get("messaging_product").and_then(Value::as_str) == Some("whatsapp")
        && body.get("status").and_then(Value::as_str) == Some("read")
        && body
            .get("message_id")
            .and_then(Value::as_str)
            .is_some_and(|id| !id.is_empty())
}

/// A mark-as-read call's optional typing indicator: `{"type": "text"}`, the only type Meta documents.
pub fn check_typing_indicator(body: &Value) -> Result<(), GraphError> {
    match body.get("typing_indicator") {
        None => Ok(()),
        Some(indicator) if indicator.get("type").and_then(Value::as_str) == Some("text") => Ok(()),
        Some(_) => Err(invalid("Param typing_indicator.type must be \"text\".".to_owned())),
    }
}

fn non_empty_string(value: Option<&Value>, field: &str) -> Result<(), GraphError> {
    match value {
        None => Err(invalid(format!("The parameter {field} is required."))),
        Some(Value::String(text)) if !text.is_empty() => Ok(()),
        Some(_) => Err(invalid(format!("Param {field} must be a non-empty string."))),
    }
}

/// The digits of a phone number written with an optional leading `+` and separators; `None` if it has
/// anything else or no digit.
fn recipient_digits(input: &str) -> Option<String> {
    let input = input.trim();
    let input = input.strip_prefix('+').unwrap_or(input);
    let mut digits = String::with_capacity(input.len());
    for c in input.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return None,
        }
    }
    (!digits.is_empty()).then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipient_digits_accepts_plus_and_separators_only() {
        assert_eq!(recipient_digits("+1 (555) 123-45.67").as_deref(), Some("15551234567"));
        assert_eq!(recipient_digits("15551234567").as_deref(), Some("15551234567"));
        assert_eq!(recipient_digits(""), None);
        assert_eq!(recipient_digits("+"), None);
        assert_eq!(recipient_digits("1555abc"), None);
    }

    fn send(kind: &str, content: Value) -> Value {
        serde_json::json!({"messaging_product": "whatsapp", "to": "15551234567", "type": kind, kind: content})
    }

    #[test]
    fn new_types_are_checked_against_meta_s_limits() {
        let button = |n: usize, title: &str| {
            let buttons: Vec<Value> = (0..n)
                .map(|i| serde_json::json!({"type": "reply", "reply": {"id": format!("b{i}"), "title": title}}))
                .collect();
            serde_json::json!({"type": "button", "body": {"text": "Pick"}, "action": {"buttons": buttons}})
        };
        assert!(validate(&send("interactive", button(3, &"t".repeat(20)))).is_ok());
        assert!(validate(&send("interactive", button(4, "t"))).is_err());
        assert!(validate(&send("interactive", button(1, &"t".repeat(21)))).is_err());
        let rows: Vec<Value> = (0..11)
            .map(|i| serde_json::json!({"id": format!("r{i}"), "title": "Row"}))
            .collect();
        let list = serde_json::json!({"type": "list", "body": {"text": "Pick"},
            "action": {"button": "Open", "sections": [{"title": "S", "rows": rows}]}});
        assert!(validate(&send("interactive", list)).is_err());
        assert!(
            validate(&send(
                "reaction",
                serde_json::json!({"message_id": "wamid.X", "emoji": ""})
            ))
            .is_ok()
        );
        assert!(validate(&send("reaction", serde_json::json!({"emoji": "x"}))).is_err());
        assert!(validate(&send("location", serde_json::json!({"latitude": 91, "longitude": 0}))).is_err());
        assert!(validate(&send("contacts", serde_json::json!([{"name": {}}]))).is_err());
    }

    #[test]
    fn a_business_scoped_user_id_is_a_recipient() {
        let body = serde_json::json!({"messaging_product": "whatsapp", "recipient": "US.13491208655302741918",
            "type": "text", "text": {"body": "hi"}});
        let Ok(send) = validate(&body) else {
            panic!("a user id is a valid recipient")
        };
        assert_eq!(send.user_id.as_deref(), Some("US.13491208655302741918"));
        assert_eq!(send.digits, "");
        let to_wins = serde_json::json!({"messaging_product": "whatsapp", "to": "15551234567",
            "recipient": "US.1", "type": "text", "text": {"body": "hi"}});
        assert!(validate(&to_wins).is_ok_and(|send| send.user_id.is_none()));
    }
}
