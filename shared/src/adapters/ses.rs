//! [`Mailer`] on Amazon SES (API v2).

use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::ProvideErrorMetadata;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use super::describe;
use crate::ports::{Email, MailError, Mailer};

#[derive(Debug, Clone)]
pub struct SesMailer {
    client: Client,
}

impl SesMailer {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

fn content(text: &str) -> Result<Content, MailError> {
    Content::builder()
        .data(text)
        .charset("UTF-8")
        .build()
        .map_err(|error| MailError::Rejected(error.to_string()))
}

impl Mailer for SesMailer {
    async fn send(&self, email: &Email) -> Result<String, MailError> {
        let message = Message::builder()
            .subject(content(&email.subject)?)
            .body(Body::builder().text(content(&email.body)?).build())
            .build();
        let output = self
            .client
            .send_email()
            .from_email_address(&email.from)
            .destination(Destination::builder().set_to_addresses(Some(email.to.clone())).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|error| {
                // Refusals that a retry cannot fix: unverified identities, the sandbox, bad input.
                let rejected = error.as_service_error().and_then(|e| e.code()).is_some_and(|code| {
                    matches!(
                        code,
                        "MessageRejected"
                            | "MailFromDomainNotVerifiedException"
                            | "AccountSuspendedException"
                            | "SendingPausedException"
                            | "BadRequestException"
                            | "NotFoundException"
                    )
                });
                if rejected {
                    MailError::Rejected(describe(&error))
                } else {
                    MailError::Unavailable(describe(&error))
                }
            })?;
        Ok(output.message_id.unwrap_or_default())
    }
}
