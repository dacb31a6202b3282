//! `wabridge templates list|show <name>`: the WABA's message templates
//! (`GET /{version}/{waba-id}/message_templates`), every page read (Meta's `paging.next`).

use serde_json::{Value, json};

use crate::error::CliError;
use crate::graph::{Graph, explain};

/// At most this many pages (100 templates each) are read.
const MAX_PAGES: usize = 50;

/// Every template of the WABA (named `name` when given), in Meta's shape.
pub async fn fetch(graph: &Graph, waba_id: &str, name: Option<&str>) -> Result<Vec<Value>, CliError> {
    fetch_pages(graph, waba_id, name, 100).await
}

/// As [`fetch`], `page_size` templates a page.
pub async fn fetch_pages(
    graph: &Graph,
    waba_id: &str,
    name: Option<&str>,
    page_size: usize,
) -> Result<Vec<Value>, CliError> {
    let limit = page_size.to_string();
    let mut query = vec![
        ("fields", "name,language,status,category,components"),
        ("limit", limit.as_str()),
    ];
    if let Some(name) = name {
        query.push(("name", name));
    }
    let mut after: Option<String> = None;
    let mut templates = Vec::new();
    for _ in 0..MAX_PAGES {
        let mut page_query = query.clone();
        if let Some(cursor) = after.as_deref() {
            page_query.push(("after", cursor));
        }
        let page = graph
            .get(&format!("{waba_id}/message_templates"), &page_query)
            .await
            .map_err(|failure| CliError::Failed(explain("reading the message templates", &failure)))?;
        templates.extend(page["data"].as_array().cloned().unwrap_or_default());
        // Meta: `paging.next` is there while more pages remain; its cursor is `paging.cursors.after`.
        match (
            page.pointer("/paging/next"),
            page.pointer("/paging/cursors/after").and_then(Value::as_str),
        ) {
            (Some(_), Some(cursor)) => after = Some(cursor.to_owned()),
            _ => break,
        }
    }
    if let Some(name) = name {
        templates.retain(|template| template["name"] == name);
    }
    Ok(templates)
}

/// How many parameters each component takes, for the table.
fn parameters(template: &Value) -> String {
    match bridge::domain::templates::TemplateShape::from_graph(template) {
        Some(shape) if shape.unchecked => "carousel/offer".to_owned(),
        Some(shape) => {
            let buttons: usize = shape.buttons.values().sum();
            format!("header {}, body {}, buttons {buttons}", shape.header, shape.body)
        }
        None => "-".to_owned(),
    }
}

/// `list`: one line per template (name, language, status, category, parameters).
pub fn table(templates: &[Value]) -> String {
    let mut out = format!(
        "{:<32} {:<8} {:<10} {:<10} PARAMETERS\n",
        "NAME", "LANGUAGE", "STATUS", "CATEGORY"
    );
    for t in templates {
        let text = |key: &str| t[key].as_str().unwrap_or("-").to_owned();
        out.push_str(&format!(
            "{:<32} {:<8} {:<10} {:<10} {}\n",
            text("name"),
            text("language"),
            text("status"),
            text("category"),
            parameters(t)
        ));
    }
    out
}

/// The JSON result of `list` / `show`.
pub fn result(templates: &[Value]) -> Value {
    json!({"templates": templates, "count": templates.len()})
}
