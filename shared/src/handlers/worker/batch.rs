//! A batch's records with one publishing of their events: the webhook records (and `publish-events`
//! jobs) are staged concurrently — their writes done, their events held — then the events of those whose
//! writes succeeded go on the bus together, in calls of up to 10 entries under 256 KB
//! ([`crate::publishing::Publishing::publish_batch`]), and each record is finished (read receipts,
//! auto-replies) and reported on its own:
//!
//! - at least once: an event is published only after the writes it describes succeeded, and a record is
//!   reported done only once all its events were taken;
//! - per record: a record whose events the bus still refused after the resends (an entry refused, or the
//!   call carrying it failed) fails alone, and comes back in seconds as before; the others do not.
//!
//! Send jobs, `send-outcome` jobs and `inbound-media` jobs run whole beside them (their events, after a
//! Graph call or a download, are published by the record itself, so the batch's never wait for those).

use super::*;

impl<S, B, R, W, Q, E> Worker<S, B, R, W, Q, E>
where
    S: MessageStore + OutboundStore + TemplateStatusStore,
    B: BlobStore + MediaSink,
    R: Redelivery,
    W: WhatsAppSender + MediaSource,
    Q: Queue,
    E: EventPublisher,
{
    /// Every record of the batch, concurrently: whether each succeeded, in order.
    pub(super) async fn process_batch(&self, records: &[SqsMessage], deadline: Instant) -> Vec<bool> {
        if self.events.is_none() {
            return join_all(records.iter().map(|record| self.process_logged(record, deadline))).await;
        }
        let (together, alone): (Vec<usize>, Vec<usize>) =
            (0..records.len()).partition(|&index| publishes_with_batch(&records[index]));
        let gathered = self.process_together(together.iter().map(|&index| &records[index]).collect(), deadline);
        let single = join_all(
            alone
                .iter()
                .map(|&index| self.process_logged(&records[index], deadline)),
        );
        let (gathered, single) = tokio::join!(gathered, single);
        let mut succeeded = vec![false; records.len()];
        for (index, ok) in together.into_iter().zip(gathered).chain(alone.into_iter().zip(single)) {
            succeeded[index] = ok;
        }
        succeeded
    }

    /// Records staged together, their events published together, each then finished and logged.
    async fn process_together(&self, records: Vec<&SqsMessage>, deadline: Instant) -> Vec<bool> {
        let started = StdInstant::now();
        let spans: Vec<tracing::Span> = records.iter().map(|record| record_span(record)).collect();
        let mut staged = join_all(
            records
                .iter()
                .zip(&spans)
                .map(|(record, span)| Box::pin(self.stage(record, deadline)).instrument(span.clone())),
        )
        .await;
        // The events of the records whose writes succeeded, each tagged with its record.
        let events: Vec<(usize, BusEvent)> = staged
            .iter_mut()
            .enumerate()
            .filter_map(|(index, staged)| Some((index, std::mem::take(&mut staged.as_mut().ok()?.events))))
            .flat_map(|(index, events)| events.into_iter().map(move |event| (index, event)))
            .collect();
        let published = match &self.events {
            Some(publishing) if !events.is_empty() => {
                let span = tracing::info_span!("batch_events", records = records.len(), events = events.len());
                Box::pin(publishing.publish_batch(events, records.len()))
                    .instrument(span)
                    .await
            }
            _ => vec![Ok(0); records.len()],
        };
        join_all(records.into_iter().zip(spans).zip(staged).zip(published).map(
            |(((record, span), staged), published)| {
                async move {
                    let result = match (staged, published) {
                        (Ok(staged), Ok(published)) => self.finish(staged, published).await,
                        // Its writes are kept; its redelivery publishes their events again (same ids).
                        (Ok(_), Err(refused)) => Err(RecordError::from(refused)),
                        (Err(error), _) => Err(error),
                    };
                    self.conclude(record, result, started).await
                }
                .instrument(span)
            },
        ))
        .await
    }
}

/// Whether a record's events are published with the batch's: a webhook (labelled or not) and a
/// `publish-events` job; not a send, its outcome or a media job (their own), nor an unknown kind.
fn publishes_with_batch(record: &SqsMessage) -> bool {
    match attribute(record, ATTR_KIND) {
        None => true,
        Some(text) => matches!(
            EventKind::parse(text),
            Some(EventKind::MetaWebhook | EventKind::PublishEvents)
        ),
    }
}
