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
    /// Its digits.
    pub digits: String,
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
    let Some(digits) = recipient_digits(input_text) else {
        return Err(invalid(format!(
            "Param {field} must be a phone number made of digits, got '{input_text}'."
        )));
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
        _ => Ok(()),
    }
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
}
