//! [`TemplateStatusStore`]: one item per template (name and language) of a WABA, holding Meta's latest
//! send-deciding status. One conditional `PutItem` to record (an older status changes nothing), one
//! `GetItem` to read. No expiry: a disabled template stays disabled.

use chrono::Utc;

use super::DynamoMessageStore;
use super::errors::put_outcome;
use super::item::{Item, number, rfc3339, string, text_of};
use super::keys::{template_pk, template_sk};
use crate::domain::health::TemplateStatus;
use crate::ports::{StoreError, TemplateStatusStore, WriteOutcome};

impl TemplateStatusStore for DynamoMessageStore {
    async fn record_template_status(&self, status: &TemplateStatus) -> Result<WriteOutcome, StoreError> {
        // A put, not an update: the item is the latest status whole (an approval carries no pause's
        // explanation).
        let mut item = Item::default();
        item.put("pk", string(template_pk(&status.waba_id)))
            .put("sk", string(template_sk(&status.name, &status.language)))
            .put("item_type", string("template_status"))
            .put("waba_id", string(&status.waba_id))
            .put("name", string(&status.name))
            .put("language", string(&status.language))
            .put("status", string(&status.status))
            .put("status_at", number(status.at))
            .put("updated_at", string(rfc3339(Utc::now())))
            .put_opt("template_id", status.template_id.as_deref().map(string))
            .put_opt("reason", status.reason.as_deref().map(string))
            .put_opt("detail", status.detail.as_deref().map(string));
        // The same status again (a redelivery, or the SDK's retry of a write whose answer was lost) is
        // written again: `<=`.
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item.0))
            .condition_expression("attribute_not_exists(pk) OR status_at <= :status_at")
            .expression_attribute_values(":status_at", number(status.at))
            .send()
            .await;
        put_outcome(result)
    }

    async fn template_status(
        &self,
        waba_id: &str,
        name: &str,
        language: &str,
    ) -> Result<Option<TemplateStatus>, StoreError> {
        let Some(item) = self.get(template_pk(waba_id), &template_sk(name, language)).await? else {
            return Ok(None);
        };
        let (Some(status), Some(at)) = (
            text_of(&item, "status"),
            text_of(&item, "status_at").and_then(|at| at.parse().ok()),
        ) else {
            return Err(StoreError::Rejected(format!(
                "the status item of template {name} ({language}) has no status or time"
            )));
        };
        Ok(Some(TemplateStatus {
            waba_id: waba_id.to_owned(),
            name: name.to_owned(),
            language: language.to_owned(),
            template_id: text_of(&item, "template_id"),
            status,
            reason: text_of(&item, "reason"),
            detail: text_of(&item, "detail"),
            at,
        }))
    }
}
