//! [`MediaUploader`] over HTTPS and S3: `POST {base}/{version}/{phone number id}/media` as
//! `multipart/form-data` (`messaging_product=whatsapp`, `type`, `file`), the file either the bytes
//! the caller sent or an object of the payload bucket streamed from S3 into the request (never
//! held whole in memory: the function's memory stays bounded whatever the file's size). The calls
//! go through the process's one [`GraphApi`] (its connections and token).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use aws_sdk_s3::Client as S3Client;
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::Instant;

use super::describe;
use super::graph::GraphApi;
use crate::domain::graph_error::GraphError;
use crate::domain::media_upload::HEAD_BYTES;
use crate::domain::secret::Secret;
use crate::ports::{MediaFailure, MediaUploader, StoredObject, UploadSource};

/// The send API's view of [`GraphApi`]: media uploads, and the payload bucket's objects they may come from.
pub struct GraphMedia {
    api: GraphApi,
    /// Bounds an upload, whole (a second try for a renewed token included).
    timeout: Duration,
    s3: S3Client,
    bucket: String,
}

impl GraphMedia {
    /// `timeout` bounds a whole upload (the send API's own time limit is a little longer).
    pub fn new(api: GraphApi, timeout: Duration, s3: S3Client, bucket: impl Into<String>) -> Self {
        Self {
            api,
            timeout,
            s3,
            bucket: bucket.into(),
        }
    }
}

/// The file of an upload, which a second try (a renewed token) reads again.
enum File {
    Bytes(Bytes),
    Object { key: String },
}

/// The multipart parts around the file: everything before it, and the closing boundary.
fn multipart_frame(boundary: &str, mime: &str) -> (Bytes, Bytes) {
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"messaging_product\"\r\n\r\nwhatsapp\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\n{mime}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"upload\"\r\n\
         Content-Type: {mime}\r\n\r\n"
    );
    (Bytes::from(head), Bytes::from(format!("\r\n--{boundary}--\r\n")))
}

/// A request body: `head`, then the file's frames, then `tail`.
struct Framed {
    head: Option<Bytes>,
    file: SdkBody,
    tail: Option<Bytes>,
    length: u64,
}

impl Body for Framed {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Some(head) = self.head.take() {
            return Poll::Ready(Some(Ok(Frame::data(head))));
        }
        if !self.file.is_end_stream() {
            match Pin::new(&mut self.file).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => return Poll::Ready(Some(Ok(Frame::data(data)))),
                    // Trailers (checksums) are not part of the file.
                    Err(_) => return Poll::Ready(Some(Ok(Frame::data(Bytes::new())))),
                },
                Poll::Ready(Some(Err(error))) => return Poll::Ready(Some(Err(error))),
                Poll::Ready(None) => {}
            }
        }
        Poll::Ready(self.tail.take().map(|tail| Ok(Frame::data(tail))))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.length)
    }
}

impl MediaUploader for GraphMedia {
    async fn object(&self, key: &str) -> Result<Option<StoredObject>, MediaFailure> {
        // One ranged read gives the size (Content-Range), the type and the first bytes.
        let answer = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .range(format!("bytes=0-{}", HEAD_BYTES - 1))
            .send()
            .await;
        let output = match answer {
            Ok(output) => output,
            Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(None),
            // An empty object has no byte 0: S3 answers 416 InvalidRange.
            Err(error) if error.raw_response().is_some_and(|r| r.status().as_u16() == 416) => {
                return Ok(Some(StoredObject {
                    size: 0,
                    content_type: None,
                    head: Vec::new(),
                }));
            }
            Err(error) => return Err(MediaFailure::Unavailable(describe(&error))),
        };
        let size = output
            .content_range()
            .and_then(|range| range.rsplit('/').next())
            .and_then(|total| total.parse::<u64>().ok())
            .or_else(|| output.content_length().and_then(|n| u64::try_from(n).ok()))
            .unwrap_or_default();
        let content_type = output.content_type().map(str::to_owned);
        let head = output
            .body
            .collect()
            .await
            .map_err(|error| MediaFailure::Unavailable(error.to_string()))?
            .into_bytes()
            .to_vec();
        Ok(Some(StoredObject {
            size,
            content_type,
            head,
        }))
    }

    /// Meta refusing the token (401, code 190) proves it took nothing: the upload is made once more
    /// with a renewed token, within the same [`GraphMedia::timeout`].
    async fn upload(&self, from: &str, mime: &str, size: u64, source: UploadSource) -> Result<String, MediaFailure> {
        let deadline = Instant::now() + self.timeout;
        let file = match source {
            UploadSource::Bytes(bytes) => File::Bytes(Bytes::from(bytes)),
            UploadSource::Object { key } => File::Object { key },
        };
        let mut first = true;
        loop {
            let (token, generation) = self.api.token();
            let left = deadline.saturating_duration_since(Instant::now());
            match self.upload_once(from, mime, size, &file, &token, left).await {
                Err(MediaFailure::Refused(error))
                    if first && Instant::now() < deadline && self.api.renewed(&error, generation).await =>
                {
                    first = false;
                }
                answer => return answer,
            }
        }
    }
}

impl GraphMedia {
    /// One upload of `file` with `token`, bounded by `timeout`: Meta's media id.
    async fn upload_once(
        &self,
        from: &str,
        mime: &str,
        size: u64,
        file: &File,
        token: &Secret,
        timeout: Duration,
    ) -> Result<String, MediaFailure> {
        // Unique per call (a digest of the time and a counter): never a run of bytes a file holds by chance.
        let boundary = format!("wabridge-{}", &crate::domain::outbound::new_id(from).as_str()[4..]);
        let (head, tail) = multipart_frame(&boundary, mime);
        let file = match file {
            File::Bytes(bytes) => SdkBody::from(bytes.clone()),
            File::Object { key } => {
                let output = self
                    .s3
                    .get_object()
                    .bucket(&self.bucket)
                    .key(key)
                    .send()
                    .await
                    .map_err(|error| MediaFailure::Unavailable(describe(&error)))?;
                output.body.into_inner()
            }
        };
        let length = head.len() as u64 + size + tail.len() as u64;
        let body = Framed {
            head: Some(head),
            file,
            tail: Some(tail),
            length,
        };
        let response = self
            .api
            .http()
            .post(format!("{}/{}/media", self.api.version_url(), from))
            .timeout(timeout)
            .bearer_auth(token.expose())
            .header(
                reqwest::header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .header(reqwest::header::CONTENT_LENGTH, length)
            .body(reqwest::Body::wrap(body))
            .send()
            .await
            // `without_url`: nothing of the URL in the error; it names only its kind.
            .map_err(|error| MediaFailure::Unavailable(error.without_url().to_string()))?;
        let status = response.status().as_u16();
        let body = response.bytes().await.unwrap_or_default();
        if !(200..300).contains(&status) {
            return Err(MediaFailure::Refused(Box::new(GraphError::parse(status, &body))));
        }
        serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|answer| answer.get("id").and_then(|id| id.as_str()).map(str::to_owned))
            .ok_or_else(|| MediaFailure::Unavailable("the Graph API answered the upload without a media id".to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_multipart_frame_names_the_three_parts_and_closes_the_boundary() {
        let (head, tail) = multipart_frame("B", "image/png");
        let head = String::from_utf8(head.to_vec()).unwrap_or_default();
        assert!(
            head.starts_with("--B\r\nContent-Disposition: form-data; name=\"messaging_product\"\r\n\r\nwhatsapp\r\n")
        );
        assert!(head.contains("--B\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\nimage/png\r\n"));
        assert!(head.ends_with("name=\"file\"; filename=\"upload\"\r\nContent-Type: image/png\r\n\r\n"));
        assert_eq!(&tail[..], b"\r\n--B--\r\n");
    }
}
