//! `POST /media`: a file uploaded to Meta (the body, or an object of the payload bucket by
//! reference), Meta's type and size limits checked first.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::json;

use super::SendApi;
use crate::domain::media_upload as media;
use crate::handlers::http::{ApiError, Refusal, respond};
use crate::ports::{MediaFailure, MediaUploader, UploadSource};

/// The largest raw body `POST /media` takes. API Gateway's HTTP API takes 10 MB, but Lambda refuses an
/// invocation over 6 MB (6,291,456 bytes) and a binary body reaches it base64-encoded (4 bytes for 3)
/// inside the event's JSON: 4,718,592 raw bytes at the very most, less the headers. Larger files go
/// by reference to an object of the payload bucket (`{"s3_key": "media/…"}`).
pub const MAX_RAW_MEDIA_BYTES: usize = 4_500_000;
/// Where `POST /media` may read objects of the payload bucket (the send API's `s3:GetObject`).
pub use crate::domain::media::MEDIA_PREFIX;

/// What `POST /media` takes as JSON: a file already in the payload bucket.
#[derive(serde::Deserialize)]
struct MediaReference {
    s3_key: String,
    /// The MIME type, when the object's own `Content-Type` is not it.
    #[serde(rename = "type")]
    mime: Option<String>,
}

impl<S, Q, L, M: MediaUploader, T, B> SendApi<S, Q, L, M, T, B> {
    /// `POST /media[?from=<phone number id>]`: the body is the file, its `Content-Type` its MIME
    /// type (at most [`MAX_RAW_MEDIA_BYTES`]); or `application/json` `{"s3_key": "media/…",
    /// "type"?}` naming an object of the payload bucket, streamed from S3 to Meta. Meta's type and
    /// size limits are checked first (400 naming the limit). 200 `{"id", "type", "kind", "size",
    /// "from"}`: `id` is the media id a send names (`{"type": "image", "id": …}`).
    pub(super) async fn media(&self, request: &Request) -> Result<Response<Body>, Refusal> {
        let Some(uploader) = &self.media else {
            return Err(Refusal::unavailable(
                "media upload is not configured (WHATSAPP_ACCESS_TOKEN is not set)",
            ));
        };
        let from = self.number_from(request)?;
        let content_type = request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        let body: &[u8] = request.body().as_ref();
        let (file, source) = if media::bare_mime(content_type) == "application/json" {
            let reference: MediaReference = serde_json::from_slice(body).map_err(|error| {
                ApiError::BadRequest(format!(
                    "s3_key: a JSON body names an object of the payload bucket ({{\"s3_key\": \"{MEDIA_PREFIX}…\"}}): {error}"
                ))
            })?;
            let key = reference.s3_key;
            if !key.starts_with(MEDIA_PREFIX) || key.len() == MEDIA_PREFIX.len() || key.len() > 1024 {
                return Err(ApiError::BadRequest(format!(
                    "s3_key: must be a key under {MEDIA_PREFIX} in the payload bucket (at most 1024 bytes)"
                ))
                .into());
            }
            if self.config.media_bucket.is_none() {
                return Err(Refusal::unavailable("media by reference: PAYLOAD_BUCKET is not set"));
            }
            let object = uploader
                .object(&key)
                .await
                .map_err(|error| Refusal::unavailable(format!("payload bucket: {error}")))?
                .ok_or_else(|| ApiError::BadRequest(format!("s3_key: no object {key:?} in the payload bucket")))?;
            let mime = reference.mime.or(object.content_type).unwrap_or_default();
            let file = media::check(&mime, object.size, &object.head).map_err(|error| invalid_media(&error))?;
            (file, UploadSource::Object { key })
        } else {
            // Meta's limits first (the more useful answer), then what one request can carry.
            let file = media::check(
                content_type,
                body.len() as u64,
                &body[..body.len().min(media::HEAD_BYTES)],
            )
            .map_err(|error| invalid_media(&error))?;
            if body.len() > MAX_RAW_MEDIA_BYTES {
                return Err(ApiError::BadRequest(format!(
                    "file: {} bytes is over the {MAX_RAW_MEDIA_BYTES} bytes a request body can carry through \
                     API Gateway and Lambda; put the file in the payload bucket under {MEDIA_PREFIX} and send \
                     {{\"s3_key\": \"{MEDIA_PREFIX}…\"}}",
                    body.len()
                ))
                .into());
            }
            (file, UploadSource::Bytes(body.to_vec()))
        };
        let id = uploader
            .upload(&from, file.mime, file.size, source)
            .await
            .map_err(upload_refusal)?;
        tracing::info!(
            outcome = "uploaded",
            status = 200,
            mime = file.mime,
            size = file.size,
            "send api"
        );
        let body = json!({"id": id, "type": file.mime, "kind": file.kind.as_str(), "size": file.size, "from": from});
        Ok(respond(StatusCode::OK, "application/json", body.to_string()))
    }
}

impl<S, Q, L, M, T, B> SendApi<S, Q, L, M, T, B> {
    /// The business number a request is for (a media upload, a block): `?from=`, else the default one.
    pub(super) fn number_from(&self, request: &Request) -> Result<String, Refusal> {
        let numbers = &self.config.phone_numbers;
        let named = request
            .query_string_parameters_ref()
            .and_then(|params| params.first("from").map(str::to_owned))
            .filter(|from| !from.is_empty());
        match named {
            Some(from) if numbers.contains(&from) => Ok(from),
            Some(from) => Err(ApiError::BadRequest(format!(
                "from: {from:?} is not one of this deployment's business numbers (WHATSAPP_PHONE_NUMBER_IDS)"
            ))
            .into()),
            None => numbers.default_number().map(str::to_owned).ok_or_else(|| {
                ApiError::BadRequest("from: no business number is configured (WHATSAPP_PHONE_NUMBER_ID)".to_owned())
                    .into()
            }),
        }
    }
}

fn invalid_media(error: &media::MediaError) -> Refusal {
    ApiError::BadRequest(error.to_string()).into()
}

/// Meta refusing the file itself is the caller's 400 (with Meta's words); a refused token, a
/// throttle, a Meta outage or no answer is a 503 (retry later).
fn upload_refusal(failure: MediaFailure) -> Refusal {
    match failure {
        MediaFailure::Refused(error)
            if (400..500).contains(&error.http_status)
                && ![401, 403, 429].contains(&error.http_status)
                && error.code != Some(190) =>
        {
            let code = error.code.map(|code| format!(" (#{code})")).unwrap_or_default();
            let words = error
                .details
                .clone()
                .or_else(|| error.message.clone())
                .unwrap_or_default();
            Refusal::new(
                ApiError::BadRequest(format!("file: Meta refused the upload{code}: {words}")),
                format!("Meta refused the upload: HTTP {}{code}", error.http_status),
            )
        }
        MediaFailure::Refused(error) => Refusal::unavailable(format!(
            "the Graph API refused the upload: HTTP {} code {:?}",
            error.http_status, error.code
        )),
        MediaFailure::Unavailable(reason) => Refusal::unavailable(format!("media upload: {reason}")),
    }
}
