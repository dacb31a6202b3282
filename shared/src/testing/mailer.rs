//! [`Mailer`] in memory. Operation: `send`. `Transient` fails with [`MailError::Unavailable`],
//! `Permanent` with [`MailError::Rejected`].

use super::{Fault, Faults, Shared, Step};
use crate::ports::{Email, MailError, Mailer};

#[derive(Debug, Clone, Default)]
pub struct FakeMailer {
    pub faults: Faults,
    sent: Shared<Vec<Email>>,
}

impl FakeMailer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every email sent, in order.
    pub fn sent(&self) -> Vec<Email> {
        self.sent.lock().clone()
    }
}

impl Mailer for FakeMailer {
    async fn send(&self, email: &Email) -> Result<String, MailError> {
        let step = self.faults.step("send").await;
        match step {
            Step::Fail(Fault::Permanent) => return Err(MailError::Rejected("injected Permanent".to_owned())),
            Step::Fail(fault) => return Err(MailError::Unavailable(format!("injected {fault:?}"))),
            Step::Apply | Step::ApplyThenFail => {}
        }
        let id = {
            let mut sent = self.sent.lock();
            sent.push(email.clone());
            format!("fake-mail-{}", sent.len())
        };
        match step {
            Step::ApplyThenFail => Err(MailError::Unavailable("injected: the answer was lost".to_owned())),
            _ => Ok(id),
        }
    }
}
