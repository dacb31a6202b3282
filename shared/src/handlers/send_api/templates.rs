//! `GET /templates`: the WABA's message templates as Meta lists them now, each with its texts and the
//! parameters a send gives (`domain::template_list`), for a picker outside the 24-hour window.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde_json::json;

use super::SendApi;
use crate::handlers::http::{Refusal, respond};
use crate::ports::TemplateCatalog;

impl<S, Q, L, M, T: TemplateCatalog, B> SendApi<S, Q, L, M, T, B> {
    /// 200 `{"waba_id", "templates": [...]}`, by name then language; 503 when the WABA is not
    /// configured or Meta cannot be read.
    pub(super) async fn templates(&self) -> Result<Response<Body>, Refusal> {
        let Some(catalog) = &self.templates else {
            return Err(Refusal::unavailable(
                "templates are not configured (WHATSAPP_BUSINESS_ACCOUNT_ID and WHATSAPP_ACCESS_TOKEN)",
            ));
        };
        let templates = catalog
            .list()
            .await
            .map_err(|error| Refusal::unavailable(format!("the Graph API (templates): {error}")))?;
        tracing::info!(outcome = "listed", status = 200, entries = templates.len(), "send api");
        let body = json!({ "waba_id": catalog.waba_id(), "templates": templates });
        Ok(respond(StatusCode::OK, "application/json", body.to_string()))
    }
}
