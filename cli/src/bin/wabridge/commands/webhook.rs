//! `wabridge webhook`: a Meta webhook or Twilio request signed as the real sender signs it, printed
//! or posted.

use std::collections::HashMap;

use serde_json::json;
use whatsapp_bridge_cli::config::{self, Settings};
use whatsapp_bridge_cli::envelope::Done;
use whatsapp_bridge_cli::error::CliError;
use whatsapp_bridge_cli::webhook_signing::{self, EventBody};

use crate::args::WebhookArgs;
use crate::render;

pub async fn webhook(settings: &Settings, args: WebhookArgs, json_output: bool) -> Result<Done, CliError> {
    let body = match (&args.event, &args.text) {
        (Some(path), None) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::Config(format!("cannot read {}: {e}", path.display())))?;
            webhook_signing::event_body(&text)?
        }
        (None, Some(text)) => {
            let id = settings.require(config::PHONE_NUMBER_ID)?;
            EventBody::Meta(webhook_signing::text_message(&id, "15550783881", &args.from, text))
        }
        _ => return Err(CliError::Config("give --event FILE or --text TEXT".to_owned())),
    };
    let request = match body {
        EventBody::Meta(body) => {
            let url = match args.url {
                Some(url) => url,
                None => settings.require(config::CALLBACK_URL)?,
            };
            webhook_signing::meta_webhook(&url, &settings.require_secret(config::APP_SECRET)?, body)
        }
        EventBody::Twilio { path_and_query, params } => {
            let url = match args.url {
                Some(url) => url,
                None => format!(
                    "{}{path_and_query}",
                    settings.require(config::PUBLIC_BASE_URL)?.trim_end_matches('/')
                ),
            };
            webhook_signing::twilio_webhook(&url, &settings.require_secret(config::TWILIO_AUTH_TOKEN)?, &params)
        }
    };
    if args.print {
        // Signatures are HMACs: they do not reveal the key.
        let headers: HashMap<&str, &str> = request.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let result = json!({"url": request.url, "headers": headers, "body": String::from_utf8_lossy(&request.body)});
        if !json_output {
            render::webhook_request(&request);
        }
        return Ok(Done::ok(result));
    }
    let answer = webhook_signing::post(&request).await?;
    let ok = (200..300).contains(&answer.status);
    if !json_output {
        render::webhook_answer(&request, &answer);
    }
    let result =
        json!({"url": request.url, "status": answer.status, "content_type": answer.content_type, "body": answer.body});
    Ok(if ok {
        Done::ok(result)
    } else {
        Done::failed(result, format!("{} answered HTTP {}", request.url, answer.status))
    })
}
