//! Putting an [`Envelope`] on the queue, through S3 when it is too large for SQS,
//! and reading it back on the worker side.

use std::borrow::Cow;

use crate::domain::envelope::{ATTR_EXTENDED_PAYLOAD_SIZE, Envelope, S3Pointer};
use crate::ports::{BlobError, BlobStore, Queue, QueueError, QueueMessage};

#[derive(Debug, thiserror::Error)]
pub enum EnqueueError {
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error("could not store the oversized payload: {0}")]
    Blob(#[from] BlobError),
}

/// Where the body went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enqueued {
    pub message_id: String,
    /// The S3 pointer, when the body was offloaded.
    pub offloaded: Option<S3Pointer>,
}

/// Queues the envelope. Returns only once the queue holds it durably; any error
/// means nothing is queued and the sender must be told to retry.
pub async fn enqueue<Q: Queue, B: BlobStore>(
    queue: &Q,
    blobs: &B,
    envelope: &Envelope<'_>,
    inline_limit: usize,
) -> Result<Enqueued, EnqueueError> {
    if let Some(message) = inline_message(envelope, inline_limit) {
        let message_id = queue.send(message).await?;
        return Ok(Enqueued {
            message_id,
            offloaded: None,
        });
    }
    let pointer = S3Pointer {
        bucket: blobs.bucket().to_owned(),
        key: envelope.blob_key(),
    };
    blobs.put(&pointer.key, envelope.body.to_vec()).await?;
    let mut attributes: Vec<_> = attributes(envelope).collect();
    attributes.push((ATTR_EXTENDED_PAYLOAD_SIZE.to_owned(), envelope.body.len().to_string()));
    let message_id = queue.send(QueueMessage::new(pointer.to_body(), attributes)).await?;
    Ok(Enqueued {
        message_id,
        offloaded: Some(pointer),
    })
}

/// The SQS message of an envelope whose body can travel inline (see [`Envelope::inline_body`]):
/// everything [`enqueue`] does short of I/O. Public for the benchmark.
pub fn inline_message(envelope: &Envelope<'_>, inline_limit: usize) -> Option<QueueMessage> {
    let body = envelope.inline_body(inline_limit)?;
    Some(QueueMessage::new(body.to_owned(), attributes(envelope).collect()))
}

fn attributes(envelope: &Envelope<'_>) -> impl Iterator<Item = (String, String)> {
    envelope
        .attributes()
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
}

/// The payload bytes of a queued body: the body itself (borrowed), or the object it points to.
pub async fn resolve<'a, B: BlobStore>(blobs: &B, body: &'a str) -> Result<Cow<'a, [u8]>, BlobError> {
    match S3Pointer::from_body(body) {
        Some(pointer) => Ok(Cow::Owned(blobs.get(&pointer.bucket, &pointer.key).await?)),
        None => Ok(Cow::Borrowed(body.as_bytes())),
    }
}
