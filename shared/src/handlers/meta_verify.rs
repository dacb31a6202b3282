//! `GET /webhooks/whatsapp`: Meta's subscription handshake.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};

use super::http::{ApiError, request_id, respond};
use crate::config::VerifyConfig;
use crate::domain::verify_token::{self, Handshake, HandshakeError};

pub async fn handle(config: &VerifyConfig, request: Request) -> Response<Body> {
    let request_id = request_id(&request);
    let params = request.query_string_parameters_ref();
    let param = |name: &str| params.and_then(|params| params.first(name));
    let handshake = Handshake {
        mode: param("hub.mode"),
        verify_token: param("hub.verify_token"),
        challenge: param("hub.challenge"),
    };
    match verify_token::accept(&config.verify_token, handshake) {
        Ok(challenge) => {
            tracing::info!(
                request_id,
                outcome = "verified",
                status = 200,
                "meta subscription handshake"
            );
            respond(StatusCode::OK, "text/plain; charset=utf-8", challenge.to_owned())
        }
        Err(error) => {
            let api_error = match error {
                HandshakeError::MissingParameters => ApiError::BadRequest(error.to_string()),
                HandshakeError::Refused => ApiError::Forbidden("verification refused"),
            };
            tracing::warn!(
                request_id,
                outcome = "refused",
                status = api_error.status().as_u16(),
                reason = %error,
                "meta subscription handshake"
            );
            api_error.into_response()
        }
    }
}
