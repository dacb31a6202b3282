//! A JSON Schema check for the tests, covering the keywords the schemas under `schemas/` use: `type`
//! (one or a list), `const`, `required`, `properties`, `additionalProperties` (`false` or a schema),
//! `items`, `minLength`, and `pattern` limited to `^[0-9a-f]{N}$`. An unknown keyword is an error, so a
//! schema cannot silently check less than it says.

use serde_json::Value;

const KNOWN: &[&str] = &[
    "$schema",
    "title",
    "description",
    "type",
    "const",
    "required",
    "properties",
    "additionalProperties",
    "items",
    "minLength",
    "pattern",
];

/// Every violation of `schema` by `value`, each with its JSON path; empty when valid.
pub fn violations(schema: &Value, value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    check(schema, value, "$", &mut found);
    found
}

fn type_matches(name: &str, value: &Value) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => false,
    }
}

fn check(schema: &Value, value: &Value, path: &str, found: &mut Vec<String>) {
    let Some(schema) = schema.as_object() else {
        found.push(format!("{path}: the schema is not an object"));
        return;
    };
    for keyword in schema.keys() {
        if !KNOWN.contains(&keyword.as_str()) {
            found.push(format!("{path}: unsupported keyword {keyword}"));
        }
    }
    if let Some(types) = schema.get("type") {
        let names: Vec<&str> = match types {
            Value::String(name) => vec![name.as_str()],
            Value::Array(names) => names.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !names.iter().any(|name| type_matches(name, value)) {
            found.push(format!("{path}: {value} is not of type {types}"));
            return;
        }
    }
    if let Some(expected) = schema.get("const")
        && expected != value
    {
        found.push(format!("{path}: {value} is not {expected}"));
    }
    if let (Some(min), Some(text)) = (schema.get("minLength").and_then(Value::as_u64), value.as_str())
        && (text.chars().count() as u64) < min
    {
        found.push(format!("{path}: shorter than {min}"));
    }
    if let (Some(pattern), Some(text)) = (schema.get("pattern").and_then(Value::as_str), value.as_str()) {
        let length = pattern
            .strip_prefix("^[0-9a-f]{")
            .and_then(|rest| rest.strip_suffix("}$"))
            .and_then(|n| n.parse::<usize>().ok());
        match length {
            Some(n) if text.len() == n && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) => {}
            Some(_) => found.push(format!("{path}: {text:?} does not match {pattern}")),
            None => found.push(format!("{path}: unsupported pattern {pattern}")),
        }
    }
    if let Some(object) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        for name in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
            if let Some(name) = name.as_str()
                && !object.contains_key(name)
            {
                found.push(format!("{path}: missing {name}"));
            }
        }
        for (name, member) in object {
            let member_path = format!("{path}.{name}");
            match properties.and_then(|properties| properties.get(name)) {
                Some(member_schema) => check(member_schema, member, &member_path, found),
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => found.push(format!("{member_path}: not allowed")),
                    Some(extra @ Value::Object(_)) => check(extra, member, &member_path, found),
                    _ => {}
                },
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (index, item) in array.iter().enumerate() {
            check(items, item, &format!("{path}[{index}]"), found);
        }
    }
}

/// The schema of a detail-type (`whatsapp.<field>` share one), from `schemas/`.
pub fn for_detail_type(detail_type: &str) -> Value {
    let text = match detail_type {
        "message.received" => include_str!("../../../schemas/message.received.json"),
        "message.echo" => include_str!("../../../schemas/message.echo.json"),
        "history.progress" => include_str!("../../../schemas/history.progress.json"),
        "call.received" => include_str!("../../../schemas/call.received.json"),
        "call.ended" => include_str!("../../../schemas/call.ended.json"),
        "call.status" => include_str!("../../../schemas/call.status.json"),
        "message.status" => include_str!("../../../schemas/message.status.json"),
        "message.unknown" => include_str!("../../../schemas/message.unknown.json"),
        "message.resolved" => include_str!("../../../schemas/message.resolved.json"),
        "verification.code_captured" => include_str!("../../../schemas/verification.code_captured.json"),
        "template.status" => include_str!("../../../schemas/template.status.json"),
        "template.category" => include_str!("../../../schemas/template.category.json"),
        "template.quality" => include_str!("../../../schemas/template.quality.json"),
        "number.quality" => include_str!("../../../schemas/number.quality.json"),
        "account.update" => include_str!("../../../schemas/account.update.json"),
        other if other.starts_with("whatsapp.") => include_str!("../../../schemas/whatsapp.field.json"),
        other => panic!("no schema for detail-type {other}"),
    };
    serde_json::from_str(text).unwrap_or_else(|error| panic!("schema of {detail_type} is not JSON: {error}"))
}

/// Panics with every violation when `detail` does not match its detail-type's schema.
pub fn assert_valid(detail_type: &str, detail: &Value) {
    let problems = violations(&for_detail_type(detail_type), detail);
    assert!(
        problems.is_empty(),
        "{detail_type} not schema-valid: {problems:?}\n{detail}"
    );
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_checker_finds_what_is_wrong() {
        let schema = json!({"type": "object", "required": ["a"], "additionalProperties": false,
            "properties": {"a": {"type": "string", "pattern": "^[0-9a-f]{4}$"}, "b": {"type": ["integer", "null"]},
            "c": {"type": "array", "items": {"const": 1}}}});
        assert!(violations(&schema, &json!({"a": "00ff", "b": null, "c": [1, 1]})).is_empty());
        assert_eq!(violations(&schema, &json!({"b": 1})).len(), 1, "missing a");
        assert_eq!(violations(&schema, &json!({"a": "00fg"})).len(), 1, "pattern");
        assert_eq!(violations(&schema, &json!({"a": "00ff", "b": "x"})).len(), 1, "type");
        assert_eq!(
            violations(&schema, &json!({"a": "00ff", "z": 1})).len(),
            1,
            "extra member"
        );
        assert_eq!(violations(&schema, &json!({"a": "00ff", "c": [1, 2]})).len(), 1, "item");
        assert_eq!(
            violations(&json!({"maximum": 3}), &json!(1)).len(),
            1,
            "unknown keyword"
        );
    }

    #[test]
    fn every_schema_file_uses_only_known_keywords() {
        for detail_type in [
            "message.received",
            "message.status",
            "message.unknown",
            "message.resolved",
            "verification.code_captured",
            "whatsapp.account_update",
            "template.status",
            "template.category",
            "template.quality",
            "number.quality",
            "account.update",
        ] {
            let schema = for_detail_type(detail_type);
            // An empty object is valid against nothing but the keyword check of the top level.
            let problems = violations(&schema, &json!({}));
            assert!(
                problems.iter().all(|p| p.contains("missing")),
                "{detail_type}: {problems:?}"
            );
        }
    }
}
