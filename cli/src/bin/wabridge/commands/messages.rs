//! `wabridge send`, `status`, `history`, `block` and `unblock`: the deployed send API.

use std::time::Duration;

use serde_json::{Value, json};
use whatsapp_bridge_cli::config::{self, Settings};
use whatsapp_bridge_cli::envelope::Done;
use whatsapp_bridge_cli::error::CliError;
use whatsapp_bridge_cli::send::{SendApi, message_body};

use crate::args::{BlockArgs, FollowArgs, HistoryArgs, SendArgs, StatusArgs};
use crate::render;

fn send_api(settings: &Settings) -> Result<SendApi, CliError> {
    SendApi::new(
        &settings.require(config::SEND_API_URL)?,
        settings.require_secret(config::API_KEY)?,
    )
}

async fn follow_and_print(api: &SendApi, id: &str, until: &FollowArgs, json_output: bool) -> Result<Done, CliError> {
    let view = api
        .follow(
            id,
            &until.until,
            Duration::from_secs(until.timeout),
            Duration::from_millis(500),
            &mut |status| {
                eprintln!("• {status}");
            },
        )
        .await?;
    let failed = view.get("status").and_then(Value::as_str) == Some("failed");
    if !json_output {
        render::status(&view);
    }
    let result = json!({"message": view});
    Ok(if failed {
        Done::failed(result, format!("the message {id} failed"))
    } else {
        Done::ok(result)
    })
}

pub async fn send(settings: &Settings, args: SendArgs, json_output: bool) -> Result<Done, CliError> {
    let body = match &args.body {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::Config(format!("cannot read {}: {e}", path.display())))?;
            serde_json::from_str(&text).map_err(|e| CliError::Config(format!("{} is not JSON: {e}", path.display())))?
        }
        None => {
            let to = args
                .to
                .as_deref()
                .ok_or_else(|| CliError::Config("--to is required (or --body FILE)".to_owned()))?;
            message_body(to, args.text.as_deref(), args.template.as_deref(), &args.language)?
        }
    };
    let api = send_api(settings)?;
    let queued = api.send(&body, args.idempotency_key.as_deref()).await?;
    let id = queued.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
    if args.no_follow {
        if !json_output {
            render::status(&queued);
        }
        return Ok(Done::ok(json!({"message": queued})));
    }
    eprintln!("• queued as {id}");
    follow_and_print(&api, &id, &args.follow, json_output).await
}

pub async fn status(settings: &Settings, args: StatusArgs, json_output: bool) -> Result<Done, CliError> {
    let api = send_api(settings)?;
    if args.follow {
        return follow_and_print(&api, &args.id, &args.until, json_output).await;
    }
    let view = api.status(&args.id).await?;
    if !json_output {
        render::status(&view);
    }
    Ok(Done::ok(json!({"message": view})))
}

pub async fn history(settings: &Settings, args: HistoryArgs, json_output: bool) -> Result<Done, CliError> {
    let api = send_api(settings)?;
    let mut messages = Vec::new();
    let mut cursor = args.cursor.clone();
    let (contact, next_cursor) = loop {
        let page = api.history(&args.contact, args.limit, cursor.as_deref()).await?;
        let listed = page
            .get("messages")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if !json_output {
            for entry in &listed {
                render::history_entry(entry);
            }
        }
        messages.extend(listed);
        let next = page.get("next_cursor").and_then(Value::as_str).map(str::to_owned);
        let contact = page.get("contact").cloned().unwrap_or(Value::Null);
        match next {
            Some(next) if args.all && messages.len() < 10_000 => cursor = Some(next),
            next => break (contact, next),
        }
    };
    if !json_output && let Some(next) = &next_cursor {
        eprintln!("• more: --cursor {next}");
    }
    Ok(Done::ok(
        json!({"contact": contact, "messages": messages, "next_cursor": next_cursor}),
    ))
}

/// `block` (`true`) or `unblock` the contact on the business number: the send API's answer
/// (`contact`, `from`, `blocked`).
pub async fn block(settings: &Settings, args: BlockArgs, block: bool, json_output: bool) -> Result<Done, CliError> {
    let api = send_api(settings)?;
    let answer = api.block(&args.contact, block, args.from.as_deref()).await?;
    if !json_output {
        let contact = answer.get("contact").and_then(Value::as_str).unwrap_or(&args.contact);
        let from = answer
            .get("from")
            .and_then(Value::as_str)
            .unwrap_or("the default number");
        let done = if block { "blocked" } else { "unblocked" };
        println!("{contact} is {done} on {from}");
    }
    Ok(Done::ok(answer))
}
