//! [`TemplateCatalog`] in memory: the templates it knows, how often it was asked, and an outage.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::domain::template_list::TemplateListing;
use crate::domain::templates::TemplateShape;
use crate::ports::TemplateCatalog;

#[derive(Debug, Default)]
pub struct TemplatesState {
    pub templates: Vec<TemplateShape>,
    /// What `list` answers.
    pub listings: Vec<TemplateListing>,
    pub lookups: usize,
    /// The `changed_at` of each lookup.
    pub changed_at: Vec<Option<i64>>,
    /// Every lookup fails (the Graph API unreachable).
    pub down: bool,
}

/// Cloning shares the state.
#[derive(Debug, Clone, Default)]
pub struct FakeTemplates {
    state: Arc<Mutex<TemplatesState>>,
}

impl FakeTemplates {
    pub fn new(templates: Vec<TemplateShape>) -> Self {
        let fake = Self::default();
        fake.state().templates = templates;
        fake
    }

    pub fn state(&self) -> MutexGuard<'_, TemplatesState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The WABA the fake's templates belong to.
pub const FAKE_WABA_ID: &str = "102290129340398";

impl TemplateCatalog for FakeTemplates {
    fn waba_id(&self) -> &str {
        FAKE_WABA_ID
    }

    async fn template(
        &self,
        name: &str,
        language: &str,
        changed_at: Option<i64>,
    ) -> Result<Option<TemplateShape>, String> {
        let mut state = self.state();
        state.lookups += 1;
        state.changed_at.push(changed_at);
        if state.down {
            return Err("no connection to the Graph API".to_owned());
        }
        Ok(state
            .templates
            .iter()
            .find(|t| t.name == name && t.language == language)
            .cloned())
    }

    async fn list(&self) -> Result<Vec<TemplateListing>, String> {
        let state = self.state();
        if state.down {
            return Err("no connection to the Graph API".to_owned());
        }
        Ok(state.listings.clone())
    }
}
