//! `wabridge redrive` (dead-letter queue → queue) and `wabridge events` (the EventBridge tap queue).

use serde_json::json;
use whatsapp_bridge_cli::config::{self, Settings};
use whatsapp_bridge_cli::envelope::Done;
use whatsapp_bridge_cli::error::CliError;
use whatsapp_bridge_cli::progress::Spinner;
use whatsapp_bridge_cli::redrive;

use crate::args::{EventsArgs, RedriveArgs};
use crate::render;

pub async fn redrive_command(
    settings: &Settings,
    sdk: &aws_config::SdkConfig,
    args: RedriveArgs,
    json_output: bool,
) -> Result<Done, CliError> {
    let queue_url = settings.require(config::QUEUE_URL)?;
    let dlq_url = match settings.get(config::DEAD_LETTER_QUEUE_URL) {
        Some(url) => url,
        // The local stack (and the template) name the dead-letter queue after the queue.
        None => format!("{queue_url}-dlq"),
    };
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let spinner = Spinner::stderr(if args.dry_run {
        format!("reading {dlq_url}")
    } else {
        format!("moving {dlq_url} to {queue_url}")
    });
    let report = redrive::redrive(&sqs, &dlq_url, &queue_url, args.dry_run, args.limit).await;
    spinner.finish();
    let report = report?;
    let result = json!({"dry_run": report.dry_run, "dead_letter_queue": dlq_url, "queue": queue_url,
        "messages": report.messages.iter().map(|m| m.to_json()).collect::<Vec<_>>(), "moved": report.moved, "failed": report.failed});
    if !json_output {
        render::redrive_report(&report, &dlq_url, &queue_url);
    }
    Ok(if report.failed.is_empty() {
        Done::ok(result)
    } else {
        Done::failed(result, format!("{} message(s) not moved", report.failed.len()))
    })
}

pub async fn events_command(
    settings: &Settings,
    sdk: &aws_config::SdkConfig,
    args: EventsArgs,
    json_output: bool,
) -> Result<Done, CliError> {
    let tap_url = settings.require(config::EVENTS_TAP_QUEUE_URL)?;
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let wait = std::time::Duration::from_secs(if args.follow { 20 } else { 1 });
    let mut count = 0u64;
    whatsapp_bridge_cli::events::read(&sqs, &tap_url, args.follow, wait, |event| {
        count += 1;
        if json_output {
            println!("{}", event.envelope);
        } else {
            println!("{}", event.line());
        }
    })
    .await?;
    // Under --json each event is a line of its own (EventBridge's envelope), then the command's envelope.
    Ok(Done::ok(json!({"events": count})))
}
