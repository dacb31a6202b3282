//! `GET /templates`: the WABA's message templates as a picker needs them: each one's texts and the
//! parameters a send must give, in order, with Meta's examples. Read from Meta's template objects
//! (`GET /{waba-id}/message_templates`), counted by the same rules as the send check
//! ([`super::templates::TemplateShape`]), so a send built from a listing passes that check.

use serde::Serialize;
use serde_json::Value;

use super::templates::variable_names;

/// One template (a name in one language).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TemplateListing {
    pub name: String,
    pub language: String,
    /// `APPROVED`, `PENDING`, `REJECTED`, `PAUSED`, `DISABLED`…: only `APPROVED` ones can be sent.
    pub status: String,
    /// `MARKETING`, `UTILITY`, `AUTHENTICATION`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// `POSITIONAL` (`{{1}}`) or `NAMED` (`{{first_name}}`: a send names each parameter, `parameter_name`).
    pub parameter_format: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<Part>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Part>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub footer: Option<String>,
    pub buttons: Vec<Button>,
    /// Components whose parameters are not listed (`CAROUSEL`, `LIMITED_TIME_OFFER`): such a template
    /// is sent with the components Meta documents for it, not from this listing alone.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other_components: Vec<String>,
}

/// A header or a body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Part {
    /// A header's `TEXT`, `IMAGE`, `VIDEO`, `DOCUMENT` or `LOCATION`; a body's `TEXT`.
    pub format: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    pub parameters: Vec<Parameter>,
}

/// A button, by its index (a send's `button` component names it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Button {
    pub index: usize,
    /// `QUICK_REPLY`, `URL`, `PHONE_NUMBER`, `COPY_CODE`…
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub parameters: Vec<Parameter>,
}

/// A parameter a send must give: its name (`1`, `first_name`; a media header's format in lower case;
/// `coupon_code`), the Graph parameter `type` it is given as, and Meta's example when the template has one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Parameter {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
}

fn text_of(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Meta's example of the variable `name` at `position` (0-based) of a text: positional examples are a
/// list (`body_text: [["a", "b"]]`, `header_text: ["a"]`), named ones a list of `{param_name, example}`.
fn example(examples: Option<&Value>, positional: &str, named: &str, name: &str, position: usize) -> Option<String> {
    let examples = examples?;
    if let Some(list) = examples.get(named).and_then(Value::as_array) {
        return list
            .iter()
            .find(|entry| entry.get("param_name").and_then(Value::as_str) == Some(name))
            .and_then(|entry| text_of(entry, "example"));
    }
    let list = examples.get(positional)?;
    // The body's is a list of lists (one per sample); the header's a flat list.
    let samples = list.get(0).and_then(Value::as_array).map_or(list, |_| &list[0]);
    samples.get(position).and_then(Value::as_str).map(str::to_owned)
}

/// The text variables of `text`, with their examples.
fn text_parameters(text: &str, examples: Option<&Value>, positional: &str, named: &str) -> Vec<Parameter> {
    variable_names(text)
        .into_iter()
        .enumerate()
        .map(|(position, name)| Parameter {
            name: name.to_owned(),
            kind: "text".to_owned(),
            example: example(examples, positional, named, name, position),
        })
        .collect()
}

/// A URL button's variable's example: Meta's example URL without the part before the variable.
fn url_example(url: &str, example_url: Option<&str>) -> Option<String> {
    let prefix = &url[..url.find("{{")?];
    example_url?.strip_prefix(prefix).map(str::to_owned)
}

impl TemplateListing {
    /// One entry of Meta's `data` array; `None` when it is not a template object.
    pub fn from_graph(template: &Value) -> Option<Self> {
        let name = text_of(template, "name").filter(|name| !name.is_empty())?;
        let language = text_of(template, "language").filter(|language| !language.is_empty())?;
        let mut listing = TemplateListing {
            name,
            language,
            status: text_of(template, "status").unwrap_or_default(),
            category: text_of(template, "category"),
            parameter_format: text_of(template, "parameter_format").unwrap_or_else(|| "POSITIONAL".to_owned()),
            header: None,
            body: None,
            footer: None,
            buttons: Vec::new(),
            other_components: Vec::new(),
        };
        for component in template
            .get("components")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let kind = text_of(component, "type").unwrap_or_default().to_ascii_uppercase();
            let text = text_of(component, "text");
            let examples = component.get("example");
            match kind.as_str() {
                "HEADER" => {
                    let format = text_of(component, "format")
                        .unwrap_or_else(|| "TEXT".to_owned())
                        .to_ascii_uppercase();
                    let parameters = if format == "TEXT" {
                        let text = text.as_deref().unwrap_or_default();
                        text_parameters(text, examples, "header_text", "header_text_named_params")
                    } else {
                        // The media (or location) is the header's one parameter.
                        let kind = format.to_ascii_lowercase();
                        vec![Parameter {
                            name: kind.clone(),
                            kind,
                            example: None,
                        }]
                    };
                    listing.header = Some(Part {
                        format,
                        text,
                        parameters,
                    });
                }
                "BODY" => {
                    let parameters = text_parameters(
                        text.as_deref().unwrap_or_default(),
                        examples,
                        "body_text",
                        "body_text_named_params",
                    );
                    listing.body = Some(Part {
                        format: "TEXT".to_owned(),
                        text,
                        parameters,
                    });
                }
                "FOOTER" => listing.footer = text,
                "BUTTONS" => {
                    let buttons = component.get("buttons").and_then(Value::as_array).into_iter().flatten();
                    listing.buttons = buttons
                        .enumerate()
                        .map(|(index, button)| Self::button(index, button))
                        .collect();
                }
                "" => {}
                other => listing.other_components.push(other.to_owned()),
            }
        }
        Some(listing)
    }

    fn button(index: usize, button: &Value) -> Button {
        let kind = text_of(button, "type").unwrap_or_default().to_ascii_uppercase();
        let url = text_of(button, "url");
        let parameters = match kind.as_str() {
            "URL" => {
                let url = url.as_deref().unwrap_or_default();
                let example_url = button.get("example").and_then(|e| e.get(0)).and_then(Value::as_str);
                variable_names(url)
                    .into_iter()
                    .map(|name| Parameter {
                        name: name.to_owned(),
                        kind: "text".to_owned(),
                        example: url_example(url, example_url),
                    })
                    .collect()
            }
            "COPY_CODE" => vec![Parameter {
                name: "coupon_code".to_owned(),
                kind: "coupon_code".to_owned(),
                example: button.get("example").and_then(Value::as_str).map(str::to_owned),
            }],
            _ => Vec::new(),
        };
        Button {
            index,
            kind,
            text: text_of(button, "text"),
            url,
            parameters,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::templates::TemplateShape;

    fn reminder() -> Value {
        json!({"name": "appointment_reminder", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
            "parameter_format": "POSITIONAL", "components": [
            {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW1hZ2UvcG5n:ARb"]}},
            {"type": "BODY", "text": "Hi {{1}}, see you on {{2}} ({{1}}).", "example": {"body_text": [["Ayala", "May 1"]]}},
            {"type": "FOOTER", "text": "Reply to change it"},
            {"type": "BUTTONS", "buttons": [
                {"type": "QUICK_REPLY", "text": "Cancel"},
                {"type": "URL", "text": "Details", "url": "https://x.test/a/{{1}}", "example": ["https://x.test/a/42"]},
                {"type": "COPY_CODE", "example": "SAVE10"}]}]})
    }

    #[test]
    fn a_template_lists_its_texts_and_the_parameters_a_send_gives_with_meta_s_examples() {
        let listing = TemplateListing::from_graph(&reminder()).expect("a template");
        let rendered = serde_json::to_value(&listing).expect("serialises");
        assert_eq!(
            rendered,
            json!({"name": "appointment_reminder", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
                "parameter_format": "POSITIONAL",
                "header": {"format": "IMAGE", "parameters": [{"name": "image", "type": "image"}]},
                "body": {"format": "TEXT", "text": "Hi {{1}}, see you on {{2}} ({{1}}).", "parameters": [
                    {"name": "1", "type": "text", "example": "Ayala"}, {"name": "2", "type": "text", "example": "May 1"}]},
                "footer": "Reply to change it",
                "buttons": [
                    {"index": 0, "type": "QUICK_REPLY", "text": "Cancel", "parameters": []},
                    {"index": 1, "type": "URL", "text": "Details", "url": "https://x.test/a/{{1}}",
                     "parameters": [{"name": "1", "type": "text", "example": "42"}]},
                    {"index": 2, "type": "COPY_CODE", "parameters": [{"name": "coupon_code", "type": "coupon_code", "example": "SAVE10"}]}]})
        );
    }

    #[test]
    fn the_listed_parameters_are_the_counts_the_send_check_asks_for() {
        let listing = TemplateListing::from_graph(&reminder()).expect("a template");
        let shape = TemplateShape::from_graph(&reminder()).expect("a template");
        let count = |part: &Option<Part>| part.as_ref().map_or(0, |part| part.parameters.len());
        assert_eq!(
            (count(&listing.header), count(&listing.body)),
            (shape.header, shape.body)
        );
        for button in &listing.buttons {
            assert_eq!(
                button.parameters.len(),
                shape.buttons.get(&button.index).copied().unwrap_or(0),
                "button {}",
                button.index
            );
        }
    }

    #[test]
    fn named_parameters_take_their_examples_by_name_and_other_components_are_named() {
        let listing = TemplateListing::from_graph(&json!({"name": "order", "language": "es", "status": "PAUSED",
            "parameter_format": "NAMED", "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Pedido {{order}}",
             "example": {"header_text_named_params": [{"param_name": "order", "example": "#1042"}]}},
            {"type": "BODY", "text": "Hola {{first_name}}, {{order}}",
             "example": {"body_text_named_params": [{"param_name": "order", "example": "#1"}, {"param_name": "first_name", "example": "Ana"}]}},
            {"type": "CAROUSEL", "cards": []}]}))
        .expect("a template");
        let names = |part: &Option<Part>| {
            part.as_ref()
                .map(|part| {
                    part.parameters
                        .iter()
                        .map(|p| (p.name.clone(), p.example.clone()))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        };
        assert_eq!(names(&listing.header), [("order".to_owned(), Some("#1042".to_owned()))]);
        assert_eq!(
            names(&listing.body),
            [
                ("first_name".to_owned(), Some("Ana".to_owned())),
                ("order".to_owned(), Some("#1".to_owned()))
            ]
        );
        assert_eq!(listing.other_components, ["CAROUSEL"]);
        assert_eq!((listing.status.as_str(), listing.category), ("PAUSED", None));
        assert!(TemplateListing::from_graph(&json!({"name": "x"})).is_none());
        assert!(TemplateListing::from_graph(&json!("not an object")).is_none());
    }
}
