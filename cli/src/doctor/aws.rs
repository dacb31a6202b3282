//! The AWS side: the SES identity the codes are mailed from, and the alarms that notify the stack's topic.

use aws_config::SdkConfig;

use super::Check;
use crate::config::{self, Settings};

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
