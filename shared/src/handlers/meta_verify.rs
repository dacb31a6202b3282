//! `GET /webhooks/whatsapp`: Meta's subscription handshake.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use tracing::Instrument;

use super::http::{ApiError, Refusal, RefusalMetrics, refuse, request_id, request_span, respond};
use crate::config::VerifyConfig;
use crate::domain::verify_token::{self, Handshake, HandshakeError};

/// The route, as API Gateway names it (`routeKey`), in every log line's span.
pub const ROUTE: &str = "GET /webhooks/whatsapp";

pub async fn handle(config: &VerifyConfig, request: Request) -> Response<Body> {
    let span = request_span(ROUTE, &request_id(&request));
    async {
        match accept(config, &request) {
            Ok(challenge) => {
                tracing::info!(outcome = "verified", status = 200, "meta subscription handshake");
                respond(StatusCode::OK, "text/plain; charset=utf-8", challenge)
            }
            Err(refusal) => refuse(refusal, RefusalMetrics::NONE),
        }
    }
    .instrument(span)
    .await
}

fn accept(config: &VerifyConfig, request: &Request) -> Result<String, Refusal> {
    let params = request.query_string_parameters_ref();
    let param = |name: &str| params.and_then(|params| params.first(name));
    let handshake = Handshake {
        mode: param("hub.mode"),
        verify_token: param("hub.verify_token"),
        challenge: param("hub.challenge"),
    };
    verify_token::accept(&config.verify_token, handshake)
        .map(str::to_owned)
        .map_err(|error| {
            let api_error = match error {
                HandshakeError::MissingParameters => ApiError::BadRequest(error.to_string()),
                HandshakeError::Refused => ApiError::Forbidden("verification refused"),
            };
            Refusal::new(api_error, error.to_string())
        })
}
