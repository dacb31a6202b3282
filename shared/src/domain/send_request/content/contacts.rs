//! `contacts`: contact cards, kept as Meta's objects, their required parts typed.

use serde::Deserialize;
use serde_json::Value;

use super::required_text;
use crate::domain::send_request::ValidationError;

/// A contact card; kept as Meta's object, its required parts typed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ContactCard {
    pub name: ContactName,
    #[serde(default)]
    pub birthday: Option<String>,
    #[serde(default)]
    pub phones: Option<Vec<Value>>,
    #[serde(default)]
    pub emails: Option<Vec<Value>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ContactName {
    pub formatted_name: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub middle_name: Option<String>,
    #[serde(default)]
    pub suffix: Option<String>,
    #[serde(default)]
    pub prefix: Option<String>,
}

impl ContactCard {
    pub(super) fn check(&self, path: &str) -> Result<(), ValidationError> {
        required_text(&self.name.formatted_name, &format!("{path}.name.formatted_name"), 1024)?;
        let name = &self.name;
        // Meta: at least one of the optional name parts along with formatted_name.
        let parts = [
            &name.first_name,
            &name.last_name,
            &name.middle_name,
            &name.suffix,
            &name.prefix,
        ];
        if !parts
            .iter()
            .any(|part| part.as_deref().is_some_and(|p| !p.trim().is_empty()))
        {
            return Err(ValidationError::new(
                format!("{path}.name"),
                "needs one of first_name, last_name, middle_name, suffix or prefix besides formatted_name",
            ));
        }
        if let Some(birthday) = &self.birthday {
            let b = birthday.as_bytes();
            let shaped = b.len() == 10
                && b[4] == b'-'
                && b[7] == b'-'
                && b.iter()
                    .enumerate()
                    .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
            if !shaped {
                return Err(ValidationError::new(format!("{path}.birthday"), "must be YYYY-MM-DD"));
            }
        }
        for (list, name) in [(&self.phones, "phones"), (&self.emails, "emails")] {
            for (i, item) in list.iter().flatten().enumerate() {
                if !item.is_object() {
                    return Err(ValidationError::new(format!("{path}.{name}[{i}]"), "must be an object"));
                }
            }
        }
        Ok(())
    }
}
