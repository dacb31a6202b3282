//! A plain-text email: a value the domain composes (the verification code's email) and the
//! [`crate::ports::Mailer`] port sends.

/// A plain-text email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
}
