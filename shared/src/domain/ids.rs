//! The identities the bundle handles, each its own type so one cannot be passed for another.

use serde::{Deserialize, Serialize};

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

string_id!(
    /// Meta's id of a WhatsApp message (`wamid.…`), inbound or outbound.
    Wamid
);
string_id!(
    /// The bundle's own id of a message it sends (`msg_` and 24 hex digits).
    MessageId
);
string_id!(
    /// The id of one business phone number in the Cloud API.
    PhoneNumberId
);
string_id!(
    /// Twilio's id of a call (`CA…`).
    CallSid
);
string_id!(
    /// One attempt to send a message: the holder of its claim.
    AttemptId
);

impl MessageId {
    /// A bundle id as it comes back from outside (`biz_opaque_callback_data`, a URL path): only
    /// the exact shape the bundle mints.
    pub fn parse(text: &str) -> Option<Self> {
        let hex = text.strip_prefix("msg_")?;
        (hex.len() == 24 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| Self(text.to_owned()))
    }
}

/// Whom a message is for or from: a phone number (digits, country code first) or, for users
/// who have adopted a username, Meta's business-scoped user id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactId {
    Phone(String),
    User(String),
}

impl ContactId {
    /// The key the contact is stored under: the number, else the user id.
    pub fn key(&self) -> &str {
        match self {
            ContactId::Phone(number) | ContactId::User(number) => number,
        }
    }
}

impl std::fmt::Display for ContactId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_parse_only_in_the_minted_shape() {
        assert!(MessageId::parse("msg_0123456789abcdef01234567").is_some());
        assert!(MessageId::parse("msg_0123456789abcdef0123456").is_none());
        assert!(MessageId::parse("msg_0123456789abcdef0123456z").is_none());
        assert!(MessageId::parse("caller-data").is_none());
        assert!(MessageId::parse("").is_none());
    }

    #[test]
    fn ids_serialize_as_plain_strings() {
        let wamid = Wamid::new("wamid.X");
        assert_eq!(serde_json::to_string(&wamid).expect("serializes"), "\"wamid.X\"");
        assert_eq!(wamid.to_string(), "wamid.X");
    }
}
