//! Message templates as Meta lists them (`GET /{waba-id}/message_templates`): how many parameters
//! each component takes, so that a template send whose parameter count does not match a known
//! template is refused before Meta is called (Meta would answer 132000 "Number of parameters does
//! not match the expected number of params").

use std::collections::BTreeMap;

use serde_json::Value;

/// The parameters one template (a name in one language) takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateShape {
    pub name: String,
    pub language: String,
    /// `APPROVED`, `PENDING`, `REJECTED`…
    pub status: String,
    pub header: usize,
    pub body: usize,
    /// Button index → parameters (a URL button with a variable, a copy-code button: 1).
    pub buttons: BTreeMap<usize, usize>,
    /// A carousel or limited-time offer: its parameters are not counted here (Meta checks them).
    pub unchecked: bool,
}

/// The distinct `{{…}}` variables of a text (`{{1}}`, `{{2}}`, or named `{{first_name}}`).
pub fn variables(text: &str) -> usize {
    variable_names(text).len()
}

/// The distinct `{{…}}` variables of a text, by name, in the order they first appear.
pub fn variable_names(text: &str) -> Vec<&str> {
    let mut seen: Vec<&str> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let name = after[..end].trim();
        if !name.is_empty() && !seen.contains(&name) {
            seen.push(name);
        }
        rest = &after[end + 2..];
    }
    seen
}

impl TemplateShape {
    /// One entry of Meta's `data` array; `None` when it is not a template object.
    pub fn from_graph(template: &Value) -> Option<Self> {
        let text = |value: &Value, key: &str| value.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        let name = text(template, "name");
        let language = text(template, "language");
        if name.is_empty() || language.is_empty() {
            return None;
        }
        let mut shape = TemplateShape {
            name,
            language,
            status: text(template, "status"),
            header: 0,
            body: 0,
            buttons: BTreeMap::new(),
            unchecked: false,
        };
        for component in template
            .get("components")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let kind = text(component, "type").to_ascii_uppercase();
            match kind.as_str() {
                "HEADER" => {
                    shape.header = match text(component, "format").to_ascii_uppercase().as_str() {
                        "TEXT" | "" => variables(&text(component, "text")),
                        // IMAGE, VIDEO, DOCUMENT, LOCATION: the media (or location) is the parameter.
                        _ => 1,
                    }
                }
                "BODY" => shape.body = variables(&text(component, "text")),
                "BUTTONS" => {
                    for (index, button) in component
                        .get("buttons")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .enumerate()
                    {
                        let count = match text(button, "type").to_ascii_uppercase().as_str() {
                            "URL" => variables(&text(button, "url")),
                            "COPY_CODE" => 1,
                            _ => 0,
                        };
                        if count > 0 {
                            shape.buttons.insert(index, count);
                        }
                    }
                }
                "CAROUSEL" | "LIMITED_TIME_OFFER" => shape.unchecked = true,
                _ => {}
            }
        }
        Some(shape)
    }

    /// Whether a send's `template` object (Graph JSON) gives the parameters this template takes:
    /// `Err` names the component and both counts.
    pub fn check(&self, send: &Value) -> Result<(), String> {
        if self.unchecked {
            return Ok(());
        }
        let mut header = 0;
        let mut body = 0;
        let mut buttons: BTreeMap<usize, usize> = BTreeMap::new();
        for component in send.get("components").and_then(Value::as_array).into_iter().flatten() {
            let count = component
                .get("parameters")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            match component.get("type").and_then(Value::as_str).unwrap_or_default() {
                "header" => header += count,
                "body" => body += count,
                "button" => {
                    let index = match component.get("index") {
                        Some(Value::Number(n)) => n.as_u64(),
                        Some(Value::String(s)) => s.trim().parse().ok(),
                        _ => None,
                    };
                    if let Some(index) = index.and_then(|i| usize::try_from(i).ok())
                        && count > 0
                    {
                        *buttons.entry(index).or_default() += count;
                    }
                }
                _ => {}
            }
        }
        let of = format!("template {:?} ({})", self.name, self.language);
        let plural = |n: usize| if n == 1 { "parameter" } else { "parameters" };
        if header != self.header {
            return Err(format!(
                "template.components: the header takes {} {} in {of}, the send gives {header}",
                self.header,
                plural(self.header)
            ));
        }
        if body != self.body {
            return Err(format!(
                "template.components: the body takes {} {} in {of}, the send gives {body}",
                self.body,
                plural(self.body)
            ));
        }
        for index in self.buttons.keys().chain(buttons.keys()) {
            let (expected, given) = (
                self.buttons.get(index).copied().unwrap_or(0),
                buttons.get(index).copied().unwrap_or(0),
            );
            if expected != given {
                return Err(format!(
                    "template.components: button {index} takes {expected} {} in {of}, the send gives {given}",
                    plural(expected)
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn shape() -> TemplateShape {
        TemplateShape::from_graph(
            &json!({"name": "appointment_reminder", "language": "en_US", "status": "APPROVED",
            "components": [
                {"type": "HEADER", "format": "IMAGE"},
                {"type": "BODY", "text": "Hi {{1}}, see you on {{2}} ({{1}})."},
                {"type": "FOOTER", "text": "Reply to change it"},
                {"type": "BUTTONS", "buttons": [
                    {"type": "QUICK_REPLY", "text": "Cancel"},
                    {"type": "URL", "text": "Details", "url": "https://x.test/a/{{1}}"}]}]}),
        )
        .expect("a template")
    }

    #[test]
    fn variables_are_counted_once_each_named_or_numbered() {
        assert_eq!(variables("Hi {{1}}, order {{2}} for {{1}}"), 2);
        assert_eq!(variables("Hello {{first_name}} {{ last_name }}"), 2);
        assert_eq!(variables("no variables {{}} {single}"), 0);
        assert_eq!(variables("unclosed {{1"), 0);
    }

    #[test]
    fn a_template_s_components_give_its_counts() {
        let shape = shape();
        assert_eq!((shape.header, shape.body, shape.status.as_str()), (1, 2, "APPROVED"));
        assert_eq!(shape.buttons, BTreeMap::from([(1, 1)]));
        assert!(!shape.unchecked);
        assert!(TemplateShape::from_graph(&json!({"language": "en_US"})).is_none());
    }

    #[test]
    fn a_send_with_the_template_s_counts_passes_and_any_other_count_is_named() {
        let shape = shape();
        let header =
            json!({"type": "header", "parameters": [{"type": "image", "image": {"link": "https://x.test/i.jpg"}}]});
        let body = |n: usize| json!({"type": "body", "parameters": vec![json!({"type": "text", "text": "x"}); n]});
        let button =
            json!({"type": "button", "sub_type": "url", "index": "1", "parameters": [{"type": "text", "text": "42"}]});
        let send = |components: Vec<Value>| json!({"name": "appointment_reminder", "language": {"code": "en_US"}, "components": components});
        assert_eq!(
            shape.check(&send(vec![header.clone(), body(2), button.clone()])),
            Ok(())
        );
        let error = shape
            .check(&send(vec![header.clone(), body(1), button.clone()]))
            .expect_err("one short");
        assert_eq!(
            error,
            "template.components: the body takes 2 parameters in template \"appointment_reminder\" (en_US), the send gives 1"
        );
        assert!(
            shape
                .check(&send(vec![body(2), button.clone()]))
                .expect_err("no header")
                .contains("the header takes 1 parameter ")
        );
        assert!(
            shape
                .check(&send(vec![header.clone(), body(2)]))
                .expect_err("no button")
                .contains("button 1 takes 1")
        );
        let mut extra = button;
        extra["index"] = json!(0);
        assert!(
            shape
                .check(&send(vec![header, body(2), extra]))
                .expect_err("wrong button")
                .ends_with("button 1 takes 1 parameter in template \"appointment_reminder\" (en_US), the send gives 0")
        );
        // A template without variables takes a send without components.
        let hello = TemplateShape::from_graph(&json!({"name": "hello_world", "language": "en_US",
            "components": [{"type": "HEADER", "format": "TEXT", "text": "Hello World"}, {"type": "BODY", "text": "Welcome!"}]}))
        .expect("a template");
        assert_eq!(
            hello.check(&json!({"name": "hello_world", "language": {"code": "en_US"}})),
            Ok(())
        );
    }
}
