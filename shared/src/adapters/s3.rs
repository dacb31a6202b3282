//! [`BlobStore`] on Amazon S3.

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_types::body::SdkBody;

use super::describe;
use crate::ports::{BlobError, BlobStore, ByteChunks, MediaError, MediaSink};

#[derive(Debug, Clone)]
pub struct S3BlobStore {
    client: Client,
    bucket: String,
}

impl S3BlobStore {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    /// An S3 client for `sdk_config`, path-style when a custom endpoint (an emulator) is set.
    pub fn client(sdk_config: &aws_config::SdkConfig) -> Client {
        let config = aws_sdk_s3::config::Builder::from(sdk_config)
            .force_path_style(sdk_config.endpoint_url().is_some())
            .build();
        Client::from_conf(config)
    }
}

impl BlobStore for S3BlobStore {
    fn bucket(&self) -> &str {
        &self.bucket
    }

    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), BlobError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|error| BlobError::Unavailable(describe(&error)))?;
        Ok(())
    }

    async fn get(&self, bucket: &str, key: &str) -> Result<Vec<u8>, BlobError> {
        let output = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|error| {
                if error.as_service_error().is_some_and(|e| e.is_no_such_key()) {
                    BlobError::NotFound {
                        bucket: bucket.to_owned(),
                        key: key.to_owned(),
                    }
                } else {
                    BlobError::Unavailable(describe(&error))
                }
            })?;
        let bytes = output
            .body
            .collect()
            .await
            .map_err(|error| BlobError::Unavailable(error.to_string()))?;
        Ok(bytes.into_bytes().to_vec())
    }
}

/// A kept media object may take this long between two reads of S3's answer (the whole upload is bounded
/// by the media job's deadline, not by the 4 s every other call of the worker gets).
const MEDIA_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

impl MediaSink for S3BlobStore {
    fn media_bucket(&self) -> &str {
        &self.bucket
    }

    /// One `PutObject` whose body streams as it arrives, its length declared up front: memory holds a
    /// chunk or two, never the file, and S3 creates the object only once all `length` bytes arrived (a
    /// body that fails midway leaves no object). No SDK retry: the body cannot be replayed; the job is.
    async fn put_stream(
        &self,
        key: &str,
        content_type: &str,
        length: u64,
        chunks: ByteChunks,
    ) -> Result<(), MediaError> {
        let body = ChunkBody {
            chunks: std::sync::Mutex::new(chunks),
            remaining: length,
            ended: false,
        };
        let timeouts = aws_sdk_s3::config::timeout::TimeoutConfig::builder()
            .connect_timeout(std::time::Duration::from_secs(3))
            .read_timeout(MEDIA_READ_TIMEOUT)
            .disable_operation_timeout()
            .disable_operation_attempt_timeout()
            .build();
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(i64::try_from(length).unwrap_or(i64::MAX))
            .body(ByteStream::new(SdkBody::from_body_1_x(body)))
            .customize()
            .config_override(aws_sdk_s3::config::Builder::default().timeout_config(timeouts))
            .send()
            .await
            .map_err(|error| MediaError::Unavailable(format!("payload bucket: {}", describe(&error))))?;
        Ok(())
    }
}

/// The chunks as an HTTP body of a known length. (The mutex only makes it `Sync`, as the SDK's body must
/// be; it is never locked: `poll_frame` has the body to itself.) Polled again after its end (the SDK's
/// aws-chunked encoder does), it stays ended: the chunks are not polled past theirs.
struct ChunkBody {
    chunks: std::sync::Mutex<ByteChunks>,
    remaining: u64,
    ended: bool,
}

impl http_body::Body for ChunkBody {
    type Data = bytes::Bytes;
    type Error = MediaError;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, MediaError>>> {
        let this = self.get_mut();
        if this.ended {
            return std::task::Poll::Ready(None);
        }
        let chunks = this.chunks.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner);
        chunks.as_mut().poll_next(cx).map(|next| match next {
            Some(Ok(chunk)) => {
                this.remaining = this.remaining.saturating_sub(chunk.len() as u64);
                Some(Ok(http_body::Frame::data(chunk)))
            }
            Some(Err(error)) => {
                this.ended = true;
                Some(Err(error))
            }
            None => {
                this.ended = true;
                None
            }
        })
    }

    fn is_end_stream(&self) -> bool {
        self.ended
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn frame(body: &mut ChunkBody) -> Option<Result<http_body::Frame<bytes::Bytes>, MediaError>> {
        use http_body::Body as _;
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut *body).poll_frame(cx)).await
    }

    /// The SDK's aws-chunked encoder polls the body once more after its end: that must not reach the
    /// chunks (an `unfold` stream panics when polled past its end).
    #[tokio::test]
    async fn a_body_polled_after_its_end_stays_ended() {
        let chunks = futures_util::stream::unfold(0u8, |n| async move {
            (n < 2).then(|| (Ok(bytes::Bytes::from(vec![n; 3])), n + 1))
        });
        let mut body = ChunkBody {
            chunks: std::sync::Mutex::new(Box::pin(chunks)),
            remaining: 6,
            ended: false,
        };
        assert_eq!(http_body::Body::size_hint(&body).exact(), Some(6));
        for _ in 0..2 {
            assert!(frame(&mut body).await.is_some_and(|frame| frame.is_ok()));
        }
        assert_eq!(http_body::Body::size_hint(&body).exact(), Some(0));
        assert!(frame(&mut body).await.is_none());
        assert!(http_body::Body::is_end_stream(&body));
        assert!(frame(&mut body).await.is_none(), "polled again: still ended, no panic");
    }
}
