//! [`CoexistenceLedger`]: one item a number and sync type, put once.

use super::DynamoMessageStore;
use super::item::{Item, string, text_of};
use super::keys::coexistence_pk;
use crate::adapters::describe;
use crate::ports::{CoexistenceLedger, StoreError, SyncRequested, WriteOutcome};

impl CoexistenceLedger for DynamoMessageStore {
    async fn claim_sync(&self, phone_number_id: &str, sync_type: &str, at: &str) -> Result<Option<String>, StoreError> {
        let mut item = Item::default();
        item.put("pk", string(coexistence_pk(phone_number_id)))
            .put("sk", string(sync_type))
            .put("item_type", string("coexistence_sync"))
            .put("phone_number_id", string(phone_number_id))
            .put("requested_at", string(at));
        match self.put_once(item).await? {
            WriteOutcome::Applied => Ok(None),
            WriteOutcome::Superseded => {
                let held = self.get(coexistence_pk(phone_number_id), sync_type).await?;
                Ok(Some(
                    held.as_ref()
                        .and_then(|item| text_of(item, "requested_at"))
                        .unwrap_or_default(),
                ))
            }
        }
    }

    async fn release_sync(&self, phone_number_id: &str, sync_type: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", string(coexistence_pk(phone_number_id)))
            .key("sk", string(sync_type))
            .send()
            .await
            .map_err(|error| StoreError::Unavailable(describe(&error)))?;
        Ok(())
    }

    async fn syncs(&self, phone_number_id: &str) -> Result<Vec<SyncRequested>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :number")
            .expression_attribute_values(":number", string(coexistence_pk(phone_number_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| StoreError::Unavailable(describe(&error)))?;
        Ok(output
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|item| {
                Some(SyncRequested {
                    sync_type: text_of(item, "sk")?,
                    requested_at: text_of(item, "requested_at").unwrap_or_default(),
                })
            })
            .collect())
    }
}
