//! [`TemplateStatusStore`] of [`MemoryStore`], by the DynamoDB adapter's rule: a status older than the one
//! held (by Meta's time) changes nothing; the same time again is written again.

use super::{MemoryStore, outcome};
use crate::domain::health::TemplateStatus;
use crate::ports::{StoreError, TemplateStatusStore, WriteOutcome};

impl TemplateStatusStore for MemoryStore {
    async fn record_template_status(&self, status: &TemplateStatus) -> Result<WriteOutcome, StoreError> {
        self.call("record_template_status", |tables, _| {
            let key = (status.waba_id.clone(), status.name.clone(), status.language.clone());
            let newer = tables.templates.get(&key).is_none_or(|held| held.at <= status.at);
            if newer {
                tables.templates.insert(key, status.clone());
            }
            outcome(newer)
        })
        .await
    }

    async fn template_status(
        &self,
        waba_id: &str,
        name: &str,
        language: &str,
    ) -> Result<Option<TemplateStatus>, StoreError> {
        self.call("template_status", |tables, _| {
            tables
                .templates
                .get(&(waba_id.to_owned(), name.to_owned(), language.to_owned()))
                .cloned()
        })
        .await
    }
}
