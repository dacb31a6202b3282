//! The life of an outbound message, ranked so that out-of-order webhooks never move it back.
//!
//! Meta's status webhooks are not ordered: `read` can arrive before `delivered`,
//! `delivered` can follow `failed`. The store only ever moves a message to a
//! status of higher rank (a DynamoDB condition on `status_rank`), and `failed`
//! outranks everything, so it is final.

/// A status this bundle tracks, lowercase as Meta names them (plus the bundle's own
/// `queued` and `accepted` for messages it sends).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    /// Stored by the send API, not yet handed to Meta.
    Queued,
    /// Meta answered the send with a wamid; no status webhook yet.
    Accepted,
    Sent,
    Delivered,
    Read,
    Failed,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 6] = [
        DeliveryStatus::Queued,
        DeliveryStatus::Accepted,
        DeliveryStatus::Sent,
        DeliveryStatus::Delivered,
        DeliveryStatus::Read,
        DeliveryStatus::Failed,
    ];

    /// Parses Meta's status name. Statuses outside the ranked life cycle
    /// (`deleted`, `warning`, anything new) are `None`: recorded, never ranked.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Queued => "queued",
            DeliveryStatus::Accepted => "accepted",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Read => "read",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// Higher rank wins; equal rank is a no-op (a redelivered webhook).
    pub fn rank(self) -> u8 {
        match self {
            DeliveryStatus::Queued => 10,
            DeliveryStatus::Accepted => 20,
            DeliveryStatus::Sent => 30,
            DeliveryStatus::Delivered => 40,
            DeliveryStatus::Read => 50,
            DeliveryStatus::Failed => 100,
        }
    }

    /// Whether a message now at `current` (None: no status yet) moves to `self`.
    /// This is the rule the DynamoDB condition expression encodes.
    pub fn supersedes(self, current: Option<DeliveryStatus>) -> bool {
        current.is_none_or(|current| self.rank() > current.rank())
    }

    /// The item attribute holding the time this status was first seen (`read_at`, …).
    pub fn timestamp_attribute(self) -> &'static str {
        match self {
            DeliveryStatus::Queued => "queued_at",
            DeliveryStatus::Accepted => "accepted_at",
            DeliveryStatus::Sent => "sent_at",
            DeliveryStatus::Delivered => "delivered_at",
            DeliveryStatus::Read => "read_at",
            DeliveryStatus::Failed => "failed_at",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::DeliveryStatus::{self, *};

    fn fold(arrivals: &[DeliveryStatus]) -> Option<DeliveryStatus> {
        arrivals.iter().fold(
            None,
            |current, &next| if next.supersedes(current) { Some(next) } else { current },
        )
    }

    #[test]
    fn parses_meta_names_and_rejects_others() {
        for status in DeliveryStatus::ALL {
            assert_eq!(DeliveryStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(DeliveryStatus::parse("deleted"), None);
        assert_eq!(DeliveryStatus::parse("READ"), None);
        assert_eq!(DeliveryStatus::parse(""), None);
    }

    #[test]
    fn out_of_order_arrivals_end_at_the_highest_rank() {
        assert_eq!(fold(&[Sent, Read, Delivered]), Some(Read));
        assert_eq!(fold(&[Read, Sent, Delivered]), Some(Read));
        assert_eq!(fold(&[Delivered, Sent]), Some(Delivered));
        assert_eq!(fold(&[Sent, Sent, Sent]), Some(Sent));
    }

    #[test]
    fn failed_is_final() {
        assert_eq!(fold(&[Sent, Failed, Delivered, Read]), Some(Failed));
        assert_eq!(fold(&[Read, Failed]), Some(Failed));
        assert!(!Read.supersedes(Some(Failed)));
    }

    #[test]
    fn the_send_record_never_overrides_a_webhook_status() {
        // A status webhook can land before the worker records the send's wamid.
        assert!(!Accepted.supersedes(Some(Delivered)));
        assert!(Accepted.supersedes(Some(Queued)));
        assert!(Queued.supersedes(None));
    }
}
