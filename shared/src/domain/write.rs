//! What a conditional write did (every store's answer).

/// Whether a conditional write changed the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// The write took effect.
    Applied,
    /// Its condition said the store already knows better (a duplicate, an older event): nothing changed
    /// beyond what is always safe to merge.
    Superseded,
}
