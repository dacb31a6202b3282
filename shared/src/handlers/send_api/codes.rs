//! `GET /verification-codes?number=&limit=`: the codes the Twilio functions captured from Meta's
//! verification calls to `number` (else `TWILIO_PHONE_NUMBER`), the latest first, for the owner in
//! the middle of onboarding. The codes are never logged.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

use super::history::{bad_parameter, query_values};
use super::{SendApi, store_unavailable};
use crate::domain::history::{self, ParameterError};
use crate::domain::verification::{StoredCode, code_index_key};
use crate::handlers::http::{ApiError, Refusal, respond};
use crate::ports::CodeLog;

impl<S: CodeLog, Q, L, M, T, B> SendApi<S, Q, L, M, T, B> {
    /// 200 `{"number", "codes": [...]}`; 400 for a number without digits or a bad limit; 422 when the
    /// request names no number and none is configured.
    pub(super) async fn codes(&self, request: &Request) -> Result<Response<Body>, Refusal> {
        let [number, limit] = query_values(request, ["number", "limit"])?;
        let limit = history::parse_limit(limit.as_deref()).map_err(|error| bad_parameter(&error))?;
        let number = match number.filter(|number| !number.trim().is_empty()) {
            Some(number) => number,
            None => self.config.verification_number.clone().ok_or_else(|| {
                Refusal::from(ApiError::Unprocessable(
                    "number: name the number Meta calls (?number=+1…), or set TWILIO_PHONE_NUMBER".to_owned(),
                ))
            })?,
        };
        if code_index_key(&number).is_none() {
            return Err(bad_parameter(&ParameterError::new("number", "must contain digits")));
        }
        let codes = self
            .store
            .latest_codes(&number, usize::try_from(limit).unwrap_or(usize::MAX))
            .await
            .map_err(store_unavailable)?;
        tracing::info!(outcome = "listed", status = 200, entries = codes.len(), "send api");
        let codes: Vec<Value> = codes.iter().map(code_json).collect();
        let body = json!({ "number": number, "codes": codes });
        Ok(respond(StatusCode::OK, "application/json", body.to_string()))
    }
}

fn code_json(code: &StoredCode) -> Value {
    json!({
        "code": code.code,
        "received_at": code.received_at,
        "captured_by": code.captured_by,
        "confidence": code.confidence,
        "heard": code.heard,
        "call_sid": code.call_sid.as_str(),
        "from": code.from,
        "to": code.to,
    })
}
