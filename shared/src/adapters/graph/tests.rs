use super::*;

/// A token cell holding `old`, whose source holds `new` (or nothing): the cell, the source's
/// slot and how often it was read.
fn cell(old: &str, new: Option<&str>) -> (AccessToken, Arc<std::sync::Mutex<Option<Secret>>>, Arc<AtomicU64>) {
    let slot = Arc::new(std::sync::Mutex::new(new.map(Secret::new)));
    let reads = Arc::new(AtomicU64::new(0));
    let token = AccessToken {
        current: RwLock::new((Secret::new(old), 0)),
        source: Some(TokenSource(Source::Memory(Arc::clone(&slot), Arc::clone(&reads)))),
        last_read: tokio::sync::Mutex::new(None),
        refused_by_send: AtomicU64::new(0),
    };
    (token, slot, reads)
}

#[tokio::test(start_paused = true)]
async fn a_refused_token_is_read_again_once_for_every_caller_that_presented_it() {
    let (token, _, reads) = cell("old", Some("new"));
    let token = Arc::new(token);
    let callers: Vec<_> = (0..8)
        .map(|_| {
            let token = Arc::clone(&token);
            tokio::spawn(async move { token.renew(0).await })
        })
        .collect();
    for caller in callers {
        assert!(
            caller.await.unwrap_or_default(),
            "every caller retries with the new token"
        );
    }
    assert_eq!(reads.load(Ordering::SeqCst), 1);
    assert_eq!(token.current(), (Secret::new("new"), 1));
    // A caller that presented the old token after the read: no read, the new one.
    assert!(token.renew(0).await);
    assert_eq!(reads.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn the_source_is_read_at_most_once_a_minute_while_it_holds_nothing_new() {
    let (token, slot, reads) = cell("old", Some("old"));
    assert!(!token.renew(0).await, "the same token is no renewal");
    assert!(!token.renew(0).await);
    assert_eq!(
        reads.load(Ordering::SeqCst),
        1,
        "the second refusal within the minute reads nothing"
    );
    *slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Secret::new("rotated"));
    tokio::time::advance(TOKEN_REFRESH_INTERVAL - Duration::from_secs(1)).await;
    assert!(!token.renew(0).await);
    assert_eq!(reads.load(Ordering::SeqCst), 1);
    tokio::time::advance(Duration::from_secs(1)).await;
    assert!(token.renew(0).await, "a minute on, the rotated token is read");
    assert_eq!(reads.load(Ordering::SeqCst), 2);
    assert_eq!(token.current(), (Secret::new("rotated"), 1));
    // Rotated again and refused within the minute: the new one waits for the minute too.
    *slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Secret::new("again"));
    assert!(!token.renew(1).await);
    tokio::time::advance(TOKEN_REFRESH_INTERVAL).await;
    assert!(token.renew(1).await);
    assert_eq!(token.current(), (Secret::new("again"), 2));
}

#[tokio::test(start_paused = true)]
async fn a_failed_read_counts_and_no_source_never_renews() {
    let (token, _, reads) = cell("old", None);
    assert!(!token.renew(0).await);
    assert!(!token.renew(0).await);
    assert_eq!(reads.load(Ordering::SeqCst), 1);
    let fixed = AccessToken {
        current: RwLock::new((Secret::new("env"), 0)),
        source: None,
        last_read: tokio::sync::Mutex::new(None),
        refused_by_send: AtomicU64::new(0),
    };
    assert!(!fixed.renew(0).await);
    assert_eq!(fixed.current(), (Secret::new("env"), 0));
}
