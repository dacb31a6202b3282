//! Building items and `SET` updates, and reading attributes back.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

pub fn text_of(item: &HashMap<String, AttributeValue>, name: &str) -> Option<String> {
    match item.get(name)? {
        AttributeValue::S(text) => Some(text.clone()),
        AttributeValue::N(number) => Some(number.clone()),
        _ => None,
    }
}

/// A DynamoDB attribute as JSON (numbers as numbers where they parse).
pub fn attribute_to_json(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::S(text) => Value::String(text.clone()),
        AttributeValue::N(number) => number
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| number.parse::<f64>().map(Value::from))
            .unwrap_or(Value::Null),
        AttributeValue::Bool(flag) => Value::Bool(*flag),
        AttributeValue::L(items) => Value::Array(items.iter().map(attribute_to_json).collect()),
        AttributeValue::M(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), attribute_to_json(v))).collect()),
        _ => Value::Null,
    }
}

/// A JSON value as a native DynamoDB document (maps, lists, numbers), queryable in place.
pub fn json(value: &Value) -> AttributeValue {
    match value {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(flag) => AttributeValue::Bool(*flag),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(text) => AttributeValue::S(text.clone()),
        Value::Array(items) => AttributeValue::L(items.iter().map(json).collect()),
        Value::Object(map) => AttributeValue::M(map.iter().map(|(k, v)| (k.clone(), json(v))).collect()),
    }
}

pub fn string(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn number(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn epoch_to_rfc3339(seconds: i64) -> Option<String> {
    DateTime::from_timestamp(seconds, 0).map(|time| time.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// An item under construction.
#[derive(Debug, Default)]
pub struct Item(pub HashMap<String, AttributeValue>);

impl Item {
    pub fn put(&mut self, name: &str, value: AttributeValue) -> &mut Self {
        self.0.insert(name.to_owned(), value);
        self
    }

    pub fn put_opt(&mut self, name: &str, value: Option<AttributeValue>) -> &mut Self {
        if let Some(value) = value {
            self.put(name, value);
        }
        self
    }
}

/// A `SET` update expression under construction; every attribute goes through
/// expression attribute names, so reserved words (`status`, `timestamp`) are safe.
#[derive(Debug, Default, Clone)]
pub struct Update {
    clauses: Vec<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Update {
    fn placeholder(&mut self, name: &str, value: AttributeValue) -> (String, String) {
        let index = self.clauses.len();
        let (name_ref, value_ref) = (format!("#a{index}"), format!(":v{index}"));
        self.names.insert(name_ref.clone(), name.to_owned());
        self.values.insert(value_ref.clone(), value);
        (name_ref, value_ref)
    }

    pub fn set(&mut self, name: &str, value: AttributeValue) -> &mut Self {
        let (n, v) = self.placeholder(name, value);
        self.clauses.push(format!("{n} = {v}"));
        self
    }

    /// Sets the attribute only if the item does not have it yet.
    pub fn set_if_absent(&mut self, name: &str, value: AttributeValue) -> &mut Self {
        let (n, v) = self.placeholder(name, value);
        self.clauses.push(format!("{n} = if_not_exists({n}, {v})"));
        self
    }

    pub fn set_opt(&mut self, name: &str, value: Option<AttributeValue>) -> &mut Self {
        if let Some(value) = value {
            self.set(name, value);
        }
        self
    }

    pub fn set_opt_if_absent(&mut self, name: &str, value: Option<AttributeValue>) -> &mut Self {
        if let Some(value) = value {
            self.set_if_absent(name, value);
        }
        self
    }

    /// The update expression with its attribute names and values.
    pub fn build(self) -> (String, HashMap<String, String>, HashMap<String, AttributeValue>) {
        (format!("SET {}", self.clauses.join(", ")), self.names, self.values)
    }
}
