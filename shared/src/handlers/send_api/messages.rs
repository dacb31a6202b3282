//! `POST /messages` (a send: checked, stored `queued`, put on the send queue) and `GET /messages/{id}`.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::{SendApi, store_unavailable};
use crate::domain::ids::PhoneNumberId;
use crate::domain::outbound::Origin;
use crate::domain::outbound::{self, SendJob};
use crate::domain::send_request::{ValidSendRequest, ValidationError};
use crate::handlers::http::{ApiError, Refusal, respond};
use crate::ports::{
    ConversationStore, Created, MediaLinks, MediaUploader, NewOutbound, OutboundStore, Queue, TemplateCatalog,
    TemplateStatusStore,
};

const MAX_BODY_BYTES: usize = 64 * 1024;
const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;
const IDEMPOTENCY_KEY: &str = "idempotency-key";

fn invalid(error: &ValidationError) -> Refusal {
    ApiError::BadRequest(error.to_string()).into()
}

/// The caller's `Idempotency-Key`, if any: 1 to 255 printable ASCII characters (0x21–0x7E)
/// once surrounding whitespace is trimmed, with spaces allowed between them (a key such as
/// `order 1042` was accepted before this check existed, and a space cannot make two keys
/// collide). Anything else is a 400 naming the header: a key that cannot be read must not be
/// ignored, or a retry would send the message twice.
pub fn idempotency_key(headers: &http::HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let raw = value.as_bytes();
    let key = raw.trim_ascii();
    if key.is_empty() || raw.len() > MAX_IDEMPOTENCY_KEY_LEN {
        return Err(ApiError::BadRequest(format!(
            "Idempotency-Key: 1 to {MAX_IDEMPOTENCY_KEY_LEN} characters"
        )));
    }
    match std::str::from_utf8(key) {
        Ok(key) if key.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) => Ok(Some(key)),
        _ => Err(ApiError::BadRequest(
            "Idempotency-Key: printable ASCII characters only (spaces allowed between them)".to_owned(),
        )),
    }
}

impl<
    S: OutboundStore + ConversationStore + TemplateStatusStore,
    Q: Queue,
    L: MediaLinks,
    M: MediaUploader,
    T: TemplateCatalog,
    B,
> SendApi<S, Q, L, M, T, B>
{
    pub(super) async fn get(&self, id: &str) -> Result<Response<Body>, Refusal> {
        let view = self.store.view(id).await.map_err(store_unavailable)?;
        let mut view = view.ok_or(ApiError::NotFound("no message with this id or wamid"))?;
        if let Some(media) = &mut view.media {
            self.link(media).await;
        }
        tracing::info!(outcome = "found", status = 200, id, "send api");
        let body = serde_json::to_string(&view).unwrap_or_default();
        Ok(respond(StatusCode::OK, "application/json", body))
    }

    pub(super) async fn send(&self, request: &Request, request_id: &str) -> Result<Response<Body>, Refusal> {
        let body: &[u8] = request.body().as_ref();
        if body.len() > MAX_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge(MAX_BODY_BYTES).into());
        }
        let send = ValidSendRequest::parse(body).map_err(|error| invalid(&error))?;
        let recipient = send
            .recipient(self.config.default_country_code.as_deref())
            .map_err(|error| invalid(&error))?;
        let key = idempotency_key(request.headers())?;
        let payload = send.graph_payload(&recipient);
        // A `from` the caller named is part of the message (the same key from another number conflicts).
        let fingerprint = match send.from() {
            Some(named) => outbound::fingerprint(&json!({ "from": named, "payload": &payload })),
            None => outbound::fingerprint(&payload),
        };
        let message_id = match key {
            Some(key) => outbound::id_for_key("send-api", key),
            None => outbound::new_id(request_id),
        };
        let (from, refused) = match self.business_number(&send) {
            Ok(from) => {
                let refused = self.refusal(&send, &recipient, from.as_ref(), &payload).await?;
                (from, refused)
            }
            Err(refusal) => (send.from().map(PhoneNumberId::new), Some(refusal)),
        };
        // What these checks answer can change between a request and its retry (the window closes,
        // a template is edited, a number is removed): a retry of a message accepted before gets its
        // first answer, as a retry does while nothing changed (below: the same 202 and id for the
        // same body, 409 for another), never a refusal that would send the client to another
        // message (a template once the window closed: the contact gets both). One read more, on
        // refused requests with a key only.
        let refused = match refused {
            Some(refusal) if key.is_some() => {
                if self
                    .store
                    .view(message_id.as_str())
                    .await
                    .map_err(store_unavailable)?
                    .is_none()
                {
                    return Err(refusal);
                }
                Some(refusal)
            }
            Some(refusal) => return Err(refusal),
            None => None,
        };
        let created = self
            .store
            .create_outbound(&NewOutbound {
                message_id: message_id.clone(),
                to: recipient.clone(),
                from: from.clone(),
                kind: send.kind(),
                payload: payload.clone(),
                fingerprint: fingerprint.clone(),
                origin: Origin::Api,
            })
            .await
            .map_err(store_unavailable)?;
        if let Created::Exists { fingerprint: existing } = &created
            && existing.as_deref() != Some(fingerprint.as_str())
        {
            return Err(
                ApiError::Conflict("Idempotency-Key was already used for a different message".to_owned()).into(),
            );
        }
        if let (Created::New, Some(refusal)) = (&created, refused) {
            // The message expired (RETENTION_DAYS) between the read and this write: not a retry
            // after all, and refused. Its record is never queued.
            return Err(refusal);
        }
        // Queued again on a retried request too: the worker's claim sends it once, and a
        // first attempt that stored the message but failed to queue it is repaired this way.
        let mut body = json!({ "id": message_id.as_str(), "status": "queued", "to": recipient.key() });
        if let Some(from) = &from {
            body["from"] = json!(from);
        }
        let job = SendJob {
            message_id: message_id.clone(),
            to: recipient,
            from,
            kind: send.kind(),
            payload,
            requeued: 0,
        };
        self.queue
            .send(job.queue_message(request_id))
            .await
            .map_err(|error| Refusal::unavailable(format!("{message_id} not queued: {error}")))?;
        tracing::info!(
            message_id = %message_id,
            outcome = if created == Created::New {
                "queued"
            } else {
                "queued_again_idempotent"
            },
            status = 202,
            kind = send.kind().as_str(),
            "send api"
        );
        Ok(respond(StatusCode::ACCEPTED, "application/json", body.to_string()))
    }
}
