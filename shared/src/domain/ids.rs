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

        // Read as text where text is written (a key, a log field, an event): an id never
        // becomes another kind of id this way, only `str`.
        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
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
/// who have adopted a username, Meta's business-scoped user id (`US.13491208655302741918`).
///
/// Written as its key (the digits or the user id) wherever it is stored or queued; read back by
/// its shape (a user id always has a `.`, a phone number is digits only).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContactId {
    /// A phone number, digits only with its country code (Meta's `to`, `wa_id`).
    Phone(String),
    /// A business-scoped user id (Meta's `recipient`, `user_id`).
    User(String),
}

impl ContactId {
    /// A stored key read back: a user id when it has a `.`, else a phone number.
    pub fn from_key(key: impl Into<String>) -> Self {
        let key = key.into();
        if key.contains('.') {
            ContactId::User(key)
        } else {
            ContactId::Phone(key)
        }
    }

    /// The key the contact is stored under: the number, else the user id.
    pub fn key(&self) -> &str {
        match self {
            ContactId::Phone(number) | ContactId::User(number) => number,
        }
    }

    /// The Graph API field a send addresses it in.
    pub fn field(&self) -> &'static str {
        match self {
            ContactId::Phone(_) => "to",
            ContactId::User(_) => "recipient",
        }
    }
}

impl std::fmt::Display for ContactId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.key())
    }
}

impl Serialize for ContactId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.key())
    }
}

impl<'de> Deserialize<'de> for ContactId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(ContactId::from_key)
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

    #[test]
    fn contacts_are_written_as_their_key_and_read_back_by_shape() {
        for contact in [
            ContactId::Phone("14155550123".into()),
            ContactId::User("US.13491208655302741918".into()),
        ] {
            let text = serde_json::to_string(&contact).expect("serializes");
            assert_eq!(text, format!("\"{}\"", contact.key()));
            assert_eq!(serde_json::from_str::<ContactId>(&text).expect("parses"), contact);
        }
        assert_eq!(ContactId::Phone("1".into()).field(), "to");
        assert_eq!(ContactId::User("US.1".into()).field(), "recipient");
    }
}
