//! What may refuse a valid send now: the business number it names, the contact's 24-hour window,
//! a template Meta paused, disabled or rejected, a template's parameter counts. A retry of a message
//! accepted before gets its first answer whatever these say by then (`messages`).

use chrono::Utc;

use super::{SendApi, store_unavailable};
use crate::domain::ids::{ContactId, PhoneNumberId};
use crate::domain::send_request::{MessageKind, ValidSendRequest};
use crate::handlers::http::{ApiError, Refusal};
use crate::ports::{OutboundStore, TemplateCatalog, TemplateStatusStore};

/// Free-form messages need the contact to have written within this many seconds.
pub const CUSTOMER_WINDOW_SECONDS: i64 = 24 * 60 * 60;

impl<S: OutboundStore + TemplateStatusStore, Q, L, M, T: TemplateCatalog, B> SendApi<S, Q, L, M, T, B> {
    /// The business number a send goes out from: the one it names, if this deployment has it
    /// (`WHATSAPP_PHONE_NUMBER_IDS`), else the default (none configured: the worker's).
    pub(super) fn business_number(&self, send: &ValidSendRequest) -> Result<Option<PhoneNumberId>, Refusal> {
        let numbers = &self.config.phone_numbers;
        match send.from() {
            Some(from) if numbers.contains(from) => Ok(Some(PhoneNumberId::new(from))),
            Some(from) => Err(ApiError::BadRequest(format!(
                "from: {from:?} is not one of this deployment's business numbers (WHATSAPP_PHONE_NUMBER_IDS)"
            ))
            .into()),
            None => Ok(numbers.default_number().map(PhoneNumberId::new)),
        }
    }

    /// Why this send may not be queued now, if it may not: a free-form message outside the
    /// contact's 24-hour window with `from` (422), a template Meta paused, disabled or rejected (422),
    /// a template whose parameters do not match (400).
    /// `Err`: the store could not say (503).
    pub(super) async fn refusal(
        &self,
        send: &ValidSendRequest,
        to: &ContactId,
        from: Option<&PhoneNumberId>,
        payload: &serde_json::Value,
    ) -> Result<Option<Refusal>, Refusal> {
        if send.kind() == MessageKind::Template {
            return Ok(Box::pin(self.check_template(payload)).await.err());
        }
        // The window is kept per business number and contact.
        let mut last = self.store.last_inbound_at(to, from).await.map_err(store_unavailable)?;
        if last.is_none() && from.is_some() && self.config.phone_numbers.len() == 1 {
            // A one-number deployment: what was recorded before windows were kept per number.
            last = self.store.last_inbound_at(to, None).await.map_err(store_unavailable)?;
        }
        if last.is_none_or(|at| Utc::now().timestamp() - at > CUSTOMER_WINDOW_SECONDS) {
            return Ok(Some(
                ApiError::Unprocessable(
                    "type: the contact has not written to this business number in the last 24 hours \
                     (customer-service window closed); only a template message can be sent now"
                        .to_owned(),
                )
                .into(),
            ));
        }
        Ok(None)
    }

    /// A template Meta paused, disabled or rejected (its latest status webhook, recorded by the worker)
    /// is a 422 with Meta's reason, read from the table on every template send (one `GetItem`), so no
    /// cache of this function can send it. Then, a template send whose parameter counts do not match a
    /// known template (name and language) is a 400 before anything is stored; an unknown template, or
    /// one that cannot be looked up (the Graph API or the table unreachable), goes through as before and
    /// Meta checks it.
    async fn check_template(&self, payload: &serde_json::Value) -> Result<(), Refusal> {
        let (Some(catalog), Some(template)) = (&self.templates, payload.get("template")) else {
            return Ok(());
        };
        let name = template
            .get("name")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        let language = template
            .pointer("/language/code")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        let changed_at = match self.store.template_status(catalog.waba_id(), name, language).await {
            Ok(Some(status)) if status.refuses_sends() => {
                return Err(ApiError::Unprocessable(status.refusal()).into());
            }
            Ok(status) => status.map(|status| status.at),
            Err(error) => {
                tracing::warn!(template = name, error = %error, "template status not read; its status unchecked");
                None
            }
        };
        match catalog.template(name, language, changed_at).await {
            Ok(Some(shape)) => shape
                .check(template)
                .map_err(|error| ApiError::BadRequest(error).into()),
            Ok(None) => Ok(()),
            Err(error) => {
                tracing::warn!(template = name, error = %error, "template not looked up; sent unchecked");
                Ok(())
            }
        }
    }
}
