//! [`TemplateCatalog`] over HTTPS: `GET {base}/{version}/{waba-id}/message_templates?name=…`, Meta's
//! pages followed (`paging.next`), the answer kept in memory for [`CACHE_SECONDS`] per template name
//! (found or not), so a warm send API asks Meta at most once per name in that time. The calls go
//! through the process's one [`GraphApi`] (its connections and token). A lookup told that Meta changed
//! the template's status after the answer was kept (`changed_at`, from the table) asks Meta again.
//! The whole list (`GET /templates`) is read the same way, at most `MAX_PAGES` pages, and not kept.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::graph::GraphApi;
use crate::domain::graph_error::GraphError;
use crate::domain::secret::Secret;
use crate::domain::template_list::TemplateListing;
use crate::domain::templates::TemplateShape;
use crate::ports::TemplateCatalog;

/// How long a looked-up template (or its absence) is trusted: an edit in Meta's console shows
/// within this time.
pub const CACHE_SECONDS: u64 = 300;
/// At most this many pages of one name's templates (100 each) are read.
const MAX_PAGES: usize = 5;

/// The send API's view of [`GraphApi`]: the WABA's templates.
pub struct GraphTemplates {
    api: GraphApi,
    /// Bounds each page's call.
    timeout: Duration,
    waba_id: String,
    cache: Mutex<HashMap<String, Kept>>,
}

/// One name's answer: when it was looked up (monotonic, and epoch seconds), and Meta's templates.
type Kept = (Instant, i64, Vec<TemplateShape>);

/// Why a page was not read: Meta's answer (a status other than 2xx), or none.
enum PageFailure {
    Refused(u16, GraphError),
    Unread(String),
}

impl GraphTemplates {
    /// `timeout` bounds each page's call: a lookup that cannot finish lets the send go through.
    pub fn new(api: GraphApi, waba_id: &str, timeout: Duration) -> Self {
        Self {
            api,
            timeout,
            waba_id: waba_id.to_owned(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The kept answer for `name`: younger than [`CACHE_SECONDS`], and looked up after `changed_at`.
    fn cached(&self, name: &str, changed_at: Option<i64>) -> Option<Vec<TemplateShape>> {
        let cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        cache
            .get(name)
            .filter(|(at, _, _)| at.elapsed() < Duration::from_secs(CACHE_SECONDS))
            .filter(|(_, looked_up, _)| changed_at.is_none_or(|changed| *looked_up > changed))
            .map(|(_, _, shapes)| shapes.clone())
    }

    /// One page at `url`, read with `token`.
    async fn page(&self, url: &str, token: &Secret) -> Result<Value, PageFailure> {
        let response = self
            .api
            .http()
            .get(url)
            .timeout(self.timeout)
            .bearer_auth(token.expose())
            .send()
            .await
            .map_err(|error| PageFailure::Unread(error.without_url().to_string()))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|error| PageFailure::Unread(error.without_url().to_string()))?;
        if !(200..300).contains(&status) {
            return Err(PageFailure::Refused(status, GraphError::parse(status, &body)));
        }
        serde_json::from_slice(&body).map_err(|error| PageFailure::Unread(error.to_string()))
    }

    /// A page read once more with a renewed token when Meta refused the one presented (a read: no side effect).
    async fn page_renewing(&self, url: &str) -> Result<Value, String> {
        let mut first = true;
        loop {
            let (token, generation) = self.api.token();
            match self.page(url, &token).await {
                Err(PageFailure::Refused(_, error)) if first && self.api.renewed(&error, generation).await => {
                    first = false
                }
                Err(PageFailure::Refused(status, _)) => return Err(format!("the Graph API answered {status}")),
                Err(PageFailure::Unread(reason)) => return Err(reason),
                Ok(page) => return Ok(page),
            }
        }
    }

    /// Meta's template objects the query (after `message_templates?`) selects, its pages followed.
    async fn data(&self, query: &str) -> Result<Vec<Value>, String> {
        let mut url = format!("{}/{}/message_templates?{query}", self.api.version_url(), self.waba_id);
        let mut data = Vec::new();
        for _ in 0..MAX_PAGES {
            let mut page = self.page_renewing(&url).await?;
            if let Some(Value::Array(templates)) = page.get_mut("data").map(Value::take) {
                data.extend(templates);
            }
            match page.pointer("/paging/next").and_then(Value::as_str) {
                // Meta's next page URL, on the same host.
                Some(next) if next.starts_with(self.api.version_url()) => url = next.to_owned(),
                _ => break,
            }
        }
        Ok(data)
    }

    async fn fetch(&self, name: &str) -> Result<Vec<TemplateShape>, String> {
        // Names are lowercase letters, digits and `_` (checked before): nothing to escape.
        let data = self
            .data(&format!("name={name}&fields=name,language,status,components&limit=100"))
            .await?;
        Ok(data
            .iter()
            .filter_map(TemplateShape::from_graph)
            .filter(|shape| shape.name == name)
            .collect())
    }
}

impl TemplateCatalog for GraphTemplates {
    fn waba_id(&self) -> &str {
        &self.waba_id
    }

    async fn template(
        &self,
        name: &str,
        language: &str,
        changed_at: Option<i64>,
    ) -> Result<Option<TemplateShape>, String> {
        let shapes = match self.cached(name, changed_at) {
            Some(shapes) => shapes,
            None => {
                let looked_up = chrono::Utc::now().timestamp();
                let shapes = self.fetch(name).await?;
                self.cache
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(name.to_owned(), (Instant::now(), looked_up, shapes.clone()));
                shapes
            }
        };
        Ok(shapes.into_iter().find(|shape| shape.language == language))
    }

    /// Not kept: the picker asks when it opens, and sees a template Meta just approved.
    async fn list(&self) -> Result<Vec<TemplateListing>, String> {
        let data = self
            .data("fields=name,language,status,category,parameter_format,components&limit=100")
            .await?;
        let mut listings: Vec<TemplateListing> = data.iter().filter_map(TemplateListing::from_graph).collect();
        listings.sort_by(|a, b| (&a.name, &a.language).cmp(&(&b.name, &b.language)));
        Ok(listings)
    }
}
