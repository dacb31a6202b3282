//! Inbound media kept: an `inbound-media` job (queued on the events queue once the message is recorded)
//! fetches the message's media through the Graph API (`GET /{media-id}` → a URL → the download, with the
//! bearer token), streams it into the payload bucket at `media/<phone_number_id>/<wamid>/<media-id>` with
//! its content type while checking Meta's size and SHA-256, records the object (or why there is none) on
//! the message, and then publishes the message's `message.received` with its `media` complete.
//!
//! - A transient failure (no connection, 5xx, a timeout, an expired URL or token, a download that broke
//!   off or did not match Meta's SHA-256 — nothing is kept of it) fails the record: SQS delivers it again
//!   after a backoff. On the queue's last receive it is recorded as a media error instead, so the event
//!   is published and nothing waits in the dead-letter queue.
//! - Meta refusing the media id (a 4xx such as code 100 subcode 33) or a file over `MEDIA_MAX_BYTES` is
//!   a media error at once.
//! - The message's record was written before the job was queued: a slow or failing download never
//!   delays or loses it.
//! - A job delivered again after its media was recorded (the publish failed, or the webhook's record
//!   was redelivered) downloads nothing: it publishes what is recorded, with the same `event_id`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsMessage;
use bytes::Bytes;
use futures_util::StreamExt as _;
use tokio::time::Instant;

use super::Done;
use super::record_error::RecordError;
use super::{Worker, sending};
use crate::domain::graph_error::backoff_seconds;
use crate::domain::media::{self, MediaJob, Mismatch, StoredMedia, Verifier};
use crate::metrics::{self, Metric};
use crate::ports::{ByteChunks, EventPublisher, MediaError, MediaSink, MediaSource, MessageStore, WriteOutcome};

/// A retried media job waits this long times 2^(receives - 1) (at most SQS's 12 hours).
const RETRY_BASE_SECONDS: u32 = 10;

/// What keeping media needs: the Graph API's media endpoints, the bucket, the queue jobs go on, and limits.
pub struct Media<W, B, Q> {
    pub source: W,
    pub sink: B,
    /// The events queue (`QUEUE_URL`): the worker's own jobs go there.
    pub queue: Q,
    /// A file larger than this is a media error (`MEDIA_MAX_BYTES`, default Meta's largest, 100 MB).
    pub max_bytes: u64,
    /// The events queue's `maxReceiveCount` (`QUEUE_MAX_RECEIVES`): on that receive a job that still
    /// fails records its error rather than going to the dead-letter queue.
    pub max_receives: u32,
    /// The job gives up this long before the invocation's deadline, to record and publish in time.
    pub deadline_margin: Duration,
}

impl<S, B, R, W, Q, E> Worker<S, B, R, W, Q, E>
where
    S: MessageStore,
    B: MediaSink,
    W: MediaSource,
    E: EventPublisher,
{
    /// Handles one `inbound-media` record: what became of the media.
    pub async fn keep_media(&self, record: &SqsMessage, deadline: Instant) -> Result<Done, RecordError> {
        let keeping = self.media.as_ref().ok_or_else(|| {
            RecordError::Permanent("media keeping is not configured (no access token or PAYLOAD_BUCKET)".to_owned())
        })?;
        let body = record.body.as_deref().unwrap_or_default();
        let job: MediaJob =
            serde_json::from_str(body).map_err(|error| RecordError::Permanent(format!("not a media job: {error}")))?;
        tracing::Span::current().record("message_id", job.wamid.as_str());
        let (stored, done) = match self.store.media_of(&job.wamid).await.map_err(RecordError::store)? {
            Some(stored) => (stored, Done::MediaAlreadyRecorded),
            None => {
                let receives = sending::receive_count(record);
                let stored = match keeping.fetch(&job, deadline).await {
                    Ok(kept) => kept,
                    Err(MediaError::Refused(reason)) => StoredMedia::Failed { error: reason },
                    Err(MediaError::Unavailable(reason)) if receives >= keeping.max_receives => StoredMedia::Failed {
                        error: format!("not fetched after {receives} tries: {reason}"),
                    },
                    Err(MediaError::Unavailable(reason)) => {
                        metrics::count(Metric::MediaRetried, 1);
                        return Err(RecordError::retry_in(
                            format!("media {}: {reason}", job.media_id),
                            backoff_seconds(receives, RETRY_BASE_SECONDS),
                        ));
                    }
                };
                let stored = match self.store.record_media(&job.wamid, &stored).await {
                    Ok(WriteOutcome::Applied) => stored,
                    // Kept by another delivery of the job first (or the message is gone): what is recorded.
                    Ok(WriteOutcome::Superseded) => self
                        .store
                        .media_of(&job.wamid)
                        .await
                        .map_err(RecordError::store)?
                        .unwrap_or(stored),
                    Err(error) => return Err(RecordError::store(error)),
                };
                match &stored {
                    StoredMedia::Kept { key, size, .. } => {
                        metrics::count(Metric::MediaKept, 1);
                        tracing::info!(media_id = job.media_id, key, size, "media kept");
                        (stored, Done::MediaKept)
                    }
                    StoredMedia::Failed { error } => {
                        metrics::count(Metric::MediaFailed, 1);
                        tracing::warn!(
                            media_id = job.media_id,
                            error,
                            "media not kept: recorded as a media error"
                        );
                        (stored, Done::MediaFailed)
                    }
                }
            }
        };
        // After the write it describes, as every event.
        if let (Some(events), Some(detail)) = (&self.events, &job.event) {
            match media::received_event(detail, &stored) {
                Some(event) => {
                    events.publish(vec![event]).await?;
                }
                None => tracing::warn!("media job without a message.received detail: no event"),
            }
        }
        Ok(done)
    }
}

impl<W: MediaSource, B: MediaSink, Q> Media<W, B, Q> {
    /// Retrieves, downloads and stores the job's media within the invocation's `deadline` (less the margin).
    pub async fn fetch(&self, job: &MediaJob, deadline: Instant) -> Result<StoredMedia, MediaError> {
        let until = deadline.checked_sub(self.deadline_margin).unwrap_or(deadline);
        match tokio::time::timeout_at(until, self.fetch_unbounded(job)).await {
            Ok(result) => result,
            Err(_) => Err(MediaError::Unavailable(
                "the download did not finish within the invocation".to_owned(),
            )),
        }
    }

    async fn fetch_unbounded(&self, job: &MediaJob) -> Result<StoredMedia, MediaError> {
        let id = &job.media_id;
        if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(MediaError::Refused(format!("{id:?} is not a media id")));
        }
        let info = self.source.retrieve(id).await?;
        if let Some(size) = info.file_size {
            self.within_cap(size)?;
        }
        let download = self.source.download(&info.url).await?;
        let length = match (info.file_size, download.content_length) {
            (Some(announced), Some(sent)) if announced != sent => {
                return Err(MediaError::Unavailable(format!(
                    "the download is {sent} bytes, Meta's file_size {announced}"
                )));
            }
            (Some(size), _) | (None, Some(size)) => size,
            (None, None) => return Err(MediaError::Refused("Meta gave the media no size".to_owned())),
        };
        self.within_cap(length)?;
        let mime_type = info
            .mime_type
            .clone()
            .or_else(|| job.mime_type.clone())
            .filter(|mime| !mime.trim().is_empty())
            .unwrap_or_else(|| "application/octet-stream".to_owned());
        let expected_sha = info.sha256.as_deref().or(job.sha256.as_deref());
        let verdict = Arc::new(Mutex::new(None));
        let chunks = verified(
            download.chunks,
            Verifier::new(length, expected_sha),
            Arc::clone(&verdict),
        );
        let key = job.key();
        let put = self.sink.put_stream(&key, &mime_type, length, chunks).await;
        let verdict = verdict.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        match (put, verdict) {
            (Ok(()), Some(Ok(sha256))) => Ok(StoredMedia::Kept {
                bucket: self.sink.media_bucket().to_owned(),
                key,
                mime_type,
                sha256,
                size: length,
            }),
            // The checks failed: the body ended in an error, so nothing was kept.
            (_, Some(Err(mismatch))) => Err(MediaError::Unavailable(mismatch.to_string())),
            (Err(error), _) => Err(error),
            (Ok(()), None) => Err(MediaError::Unavailable(
                "the bucket took the object before the download ended".to_owned(),
            )),
        }
    }

    fn within_cap(&self, size: u64) -> Result<(), MediaError> {
        if size > self.max_bytes {
            return Err(MediaError::Refused(format!(
                "{size} bytes is over the {} byte cap (MEDIA_MAX_BYTES)",
                self.max_bytes
            )));
        }
        Ok(())
    }
}

/// What the checks found once the download ended: the SHA-256, or what did not match.
type Verdict = Arc<Mutex<Option<Result<String, Mismatch>>>>;

/// The download's chunks as they pass the checks. The last chunk is held back until the download has
/// ended and matched Meta's size and SHA-256: if it did not, the body ends in an error instead, so the
/// bucket (which keeps an object only when its whole declared length arrived) keeps nothing. At most two
/// chunks are in memory.
fn verified(chunks: ByteChunks, verifier: Verifier, verdict: Verdict) -> ByteChunks {
    struct State {
        chunks: ByteChunks,
        verifier: Option<Verifier>,
        held: Option<Bytes>,
        verdict: Verdict,
    }
    let set = |verdict: &Verdict, value: Result<String, Mismatch>| {
        *verdict.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(value);
    };
    let state = State {
        chunks,
        verifier: Some(verifier),
        held: None,
        verdict,
    };
    Box::pin(futures_util::stream::unfold(state, move |mut state| async move {
        loop {
            let verifier = state.verifier.as_mut()?;
            match state.chunks.next().await {
                Some(Ok(chunk)) => {
                    if let Err(mismatch) = verifier.update(&chunk) {
                        state.verifier = None;
                        let error = MediaError::Unavailable(mismatch.to_string());
                        set(&state.verdict, Err(mismatch));
                        return Some((Err(error), state));
                    }
                    if let Some(previous) = state.held.replace(chunk) {
                        return Some((Ok(previous), state));
                    }
                }
                Some(Err(error)) => {
                    state.verifier = None;
                    return Some((Err(error), state));
                }
                None => {
                    let finished = state.verifier.take()?.finish();
                    return match finished {
                        Ok(sha256) => {
                            set(&state.verdict, Ok(sha256));
                            state.held.take().map(|last| (Ok(last), state))
                        }
                        Err(mismatch) => {
                            let error = MediaError::Unavailable(mismatch.to_string());
                            set(&state.verdict, Err(mismatch));
                            Some((Err(error), state))
                        }
                    };
                }
            }
        }
    }))
}
