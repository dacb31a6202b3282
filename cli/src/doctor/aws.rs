//! The AWS side: the SES identity the codes are mailed from, and the alarms that notify the stack's topic.

use aws_config::SdkConfig;

use super::Check;
use bridge::adapters::dynamodb::DynamoMessageStore;
use bridge::ports::CoexistenceLedger;
use serde_json::Value;

use crate::config::{self, Settings};
use crate::graph::Graph;

/// Lists the alarms whose actions notify a topic: `(name, state)`.
pub trait Alarms {
    fn notifying(&self, topic: &str) -> impl std::future::Future<Output = Result<Vec<(String, String)>, String>>;
}

/// CloudWatch `DescribeAlarms` with `ActionPrefix` = the topic.
pub struct CloudWatchAlarms(pub aws_sdk_cloudwatch::Client);

impl Alarms for CloudWatchAlarms {
    async fn notifying(&self, topic: &str) -> Result<Vec<(String, String)>, String> {
        let mut alarms = Vec::new();
        let mut next = None;
        loop {
            let page = self
                .0
                .describe_alarms()
                .action_prefix(topic)
                .set_next_token(next)
                .send()
                .await
                .map_err(|error| {
                    let status = error.raw_response().map(|r| r.status().as_u16());
                    if status == Some(404) {
                        // The SDK speaks CloudWatch's rpc-v2-cbor protocol; an endpoint that does not
                        // (the local emulator, moto 5.2) answers 404.
                        "the CloudWatch endpoint answered 404: it does not speak the SDK's protocol (rpc-v2-cbor); the local emulator cannot check alarms".to_owned()
                    } else {
                        crate::error::aws_error(&error)
                    }
                })?;
            for alarm in page.metric_alarms() {
                alarms.push((
                    alarm.alarm_name().unwrap_or_default().to_owned(),
                    alarm.state_value().map(|s| s.as_str().to_owned()).unwrap_or_default(),
                ));
            }
            match page.next_token {
                Some(token) if !token.is_empty() => next = Some(token),
                _ => return Ok(alarms),
            }
        }
    }
}

pub(super) async fn check_ses(settings: &Settings, sdk: &SdkConfig) -> Check {
    let Some(from) = settings.get(config::VERIFICATION_EMAIL_FROM) else {
        return Check::skip("SES identity", "set VERIFICATION_EMAIL_FROM to check it");
    };
    let ses = aws_sdk_sesv2::Client::new(sdk);
    match ses.get_email_identity().email_identity(&from).send().await {
        Ok(identity)
            if identity.verified_for_sending_status()
                || identity.verification_status() == Some(&aws_sdk_sesv2::types::VerificationStatus::Success) =>
        {
            Check::pass("SES identity", format!("{from} is verified for sending"))
        }
        Ok(identity) => Check::fail(
            "SES identity",
            format!(
                "{from} is not verified yet (status {})",
                identity.verification_status().map_or("unknown", |s| s.as_str())
            ),
            format!(
                "open the link in the email SES sent to {from} (or `aws sesv2 create-email-identity --email-identity {from}` to send it again)"
            ),
        ),
        Err(error) => {
            let text = crate::error::aws_error(&error);
            if text.contains("NotFound") {
                Check::fail(
                    "SES identity",
                    format!("{from} is not an SES identity in this region"),
                    format!("`aws sesv2 create-email-identity --email-identity {from}` then open the link SES emails"),
                )
            } else {
                Check::fail(
                    "SES identity",
                    format!("cannot read the SES identity {from}: {text}"),
                    "check the AWS credentials and region",
                )
            }
        }
    }
}

pub(super) async fn check_alarms(settings: &Settings, source: &impl Alarms) -> Check {
    let Some(topic) = settings.get(config::ALARM_TOPIC_ARN) else {
        return Check::skip(
            "alarms",
            "set ALARM_TOPIC_ARN (stack output AlarmTopicArn) to check them",
        );
    };
    let alarms = match source.notifying(&topic).await {
        Ok(alarms) => alarms,
        Err(error) => {
            return Check::fail(
                "alarms",
                format!("cannot read the alarms: {error}"),
                "check the AWS credentials and region",
            );
        }
    };
    if alarms.is_empty() {
        return Check::fail(
            "alarms",
            format!("no alarm notifies {topic}"),
            "deploy the stack's alarms (template.yaml)",
        );
    }
    let firing: Vec<&String> = alarms
        .iter()
        .filter(|(_, state)| state == "ALARM")
        .map(|(name, _)| name)
        .collect();
    if firing.is_empty() {
        Check::pass("alarms", format!("{} alarm(s), none in ALARM", alarms.len()))
    } else {
        Check::fail(
            "alarms",
            format!(
                "in ALARM: {}",
                firing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            ),
            "see each alarm's metric; dead letters: `wabridge redrive --dry-run`, then `wabridge redrive` once the cause is fixed",
        )
    }
}

/// Whether the number is also in the WhatsApp Business app (Meta's `is_on_biz_app`, when it says)
/// and which of its coexistence syncs were requested (`wabridge coexistence sync`).
pub(super) async fn check_coexistence(settings: &Settings, sdk: &SdkConfig, graph: Option<&Graph>) -> Check {
    const NAME: &str = "coexistence";
    let (Some(id), Some(table)) = (settings.get(config::PHONE_NUMBER_ID), settings.get(config::TABLE_NAME)) else {
        return Check::skip(NAME, "needs WHATSAPP_PHONE_NUMBER_ID and TABLE_NAME");
    };
    let on_app = match graph {
        Some(graph) => graph
            .get(&id, &[("fields", "is_on_biz_app")])
            .await
            .ok()
            .and_then(|number| number.get("is_on_biz_app").and_then(Value::as_bool)),
        None => None,
    };
    let ledger = DynamoMessageStore::new(aws_sdk_dynamodb::Client::new(sdk), table, 0);
    let synced = match ledger.syncs(&id).await {
        Ok(synced) => synced,
        Err(error) => return Check::skip(NAME, format!("the table could not be read: {error}")),
    };
    let requested = |kind: &str| {
        synced.iter().find(|sync| sync.sync_type == kind).map_or_else(
            || "not requested".to_owned(),
            |sync| format!("requested {}", sync.requested_at),
        )
    };
    let detail = format!(
        "{}; contacts (smb_app_state_sync) {}, history {}",
        match on_app {
            Some(true) => "in the WhatsApp Business app too",
            Some(false) => "Cloud API only",
            None => "Meta did not say whether it is in the WhatsApp Business app",
        },
        requested("smb_app_state_sync"),
        requested("history")
    );
    if on_app == Some(true) && synced.len() < 2 {
        return Check::fail(
            NAME,
            detail,
            "run `wabridge coexistence sync` within 24 hours of onboarding (Meta takes each sync once)",
        );
    }
    Check::pass(NAME, detail)
}
