//! Logging set-up shared by every binary: one JSON object per line, which
//! CloudWatch Logs Insights can query field by field.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the global subscriber. The filter comes from `RUST_LOG`, else
/// `AWS_LAMBDA_LOG_LEVEL` (what the template's `LoggingConfig` sets), else `info`.
pub fn init() {
    let filter = log_filter(
        std::env::var("RUST_LOG").ok().as_deref(),
        std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref(),
    );
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                // The HTTP handlers log inside one span per request (`request_id`, `route`):
                // each line carries it as `span`, so its own fields are only what is new.
                .with_current_span(true)
                .with_span_list(false)
                .with_target(false)
                .with_ansi(false),
        )
        .with(filter)
        .try_init();
}

/// `RUST_LOG` takes target directives (`info`, `warn,bridge=debug`); the env-filter
/// feature's span/field matching is not used, and leaving it out drops a regex engine
/// from every binary. An unparsable value falls back to the next source.
pub fn log_filter(rust_log: Option<&str>, lambda_log_level: Option<&str>) -> Targets {
    rust_log
        .and_then(|directives| directives.parse::<Targets>().ok())
        .or_else(|| {
            lambda_log_level
                .and_then(|level| level.trim().to_lowercase().parse::<LevelFilter>().ok())
                .map(|level| Targets::new().with_default(level))
        })
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO))
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::*;

    #[test]
    fn rust_log_wins_and_takes_target_directives() {
        let filter = log_filter(Some("warn,bridge=debug"), Some("ERROR"));
        assert!(filter.would_enable("bridge::handlers", &Level::DEBUG));
        assert!(!filter.would_enable("hyper", &Level::INFO));
        assert!(filter.would_enable("hyper", &Level::WARN));
    }

    #[test]
    fn lambda_log_level_is_case_insensitive() {
        let filter = log_filter(None, Some("WARN"));
        assert!(filter.would_enable("bridge", &Level::WARN));
        assert!(!filter.would_enable("bridge", &Level::INFO));
    }

    #[test]
    fn defaults_to_info_on_garbage_or_nothing() {
        for filter in [log_filter(None, None), log_filter(None, Some("loud"))] {
            assert!(filter.would_enable("bridge", &Level::INFO));
            assert!(!filter.would_enable("bridge", &Level::DEBUG));
        }
    }
}
