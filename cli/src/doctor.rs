//! `wabridge doctor`: checks a deployment end to end; one row per check, with the fix for each failure.

use aws_config::SdkConfig;
use bridge::domain::secret::Secret;
use serde_json::{Value, json};

use crate::config::{self, Settings};
use crate::graph::{Graph, explain, http_client, is_token_error};
use crate::twilio::{TwilioFailure, incoming_numbers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail,
    /// Not checked: something it needs is not configured (the detail says what).
    Skip,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "FAIL",
            Outcome::Skip => "skip",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub name: &'static str,
    pub outcome: Outcome,
    pub detail: String,
    /// What to do, for a failure.
    pub fix: Option<String>,
}

impl Check {
    fn pass(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            outcome: Outcome::Pass,
            detail: detail.into(),
            fix: None,
        }
    }
    fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            name,
            outcome: Outcome::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
    fn skip(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            outcome: Outcome::Skip,
            detail: detail.into(),
            fix: None,
        }
    }
    pub fn to_json(&self) -> Value {
        json!({"check": self.name, "result": self.outcome.as_str(), "detail": self.detail, "fix": self.fix})
    }
}

pub const REQUIRED_SCOPES: [&str; 2] = ["whatsapp_business_messaging", "whatsapp_business_management"];

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

/// Runs every check. `sdk` is used for SES and CloudWatch.
pub async fn run(settings: &Settings, sdk: &SdkConfig) -> Vec<Check> {
    run_with(settings, sdk, &CloudWatchAlarms(aws_sdk_cloudwatch::Client::new(sdk))).await
}

/// [`run`] with another source of alarms.
pub async fn run_with(settings: &Settings, sdk: &SdkConfig, alarms: &impl Alarms) -> Vec<Check> {
    let mut checks = Vec::new();
    let graph = match (
        settings.secret(config::ACCESS_TOKEN),
        settings.get(config::GRAPH_API_BASE_URL),
        settings.get(config::GRAPH_API_VERSION),
    ) {
        (Some(token), Some(base), Some(version)) => Graph::new(&base, &version, token).ok(),
        _ => None,
    };
    let mut display_number = None;
    match &graph {
        None => checks.push(Check::fail(
            "token",
            "WHATSAPP_ACCESS_TOKEN is not set",
            "set WHATSAPP_ACCESS_TOKEN or use --stack",
        )),
        Some(graph) => {
            let token_ok = check_token(graph, settings, &mut checks).await;
            if token_ok {
                display_number = check_phone_number(graph, settings, &mut checks).await;
                check_subscription(graph, settings, &mut checks).await;
            } else {
                checks.push(Check::skip("phone number", "needs a valid token"));
                checks.push(Check::skip("webhook subscription", "needs a valid token"));
            }
        }
    }
    checks.push(check_callback(settings).await);
    checks.push(check_ses(settings, sdk).await);
    checks.push(check_twilio(settings, display_number.as_deref()).await);
    checks.push(check_alarms(settings, alarms).await);
    checks
}

async fn check_token(graph: &Graph, settings: &Settings, checks: &mut Vec<Check>) -> bool {
    let Some(token) = settings.secret(config::ACCESS_TOKEN) else {
        return false;
    };
    match graph.get("debug_token", &[("input_token", token.expose())]).await {
        Err(failure) => {
            let fix = if is_token_error(&failure) {
                "create a new access token (a System User token with whatsapp_business_management and whatsapp_business_messaging does not expire) and update WHATSAPP_ACCESS_TOKEN / the stack's access-token parameter"
            } else {
                "see the detail"
            };
            checks.push(Check::fail("token", explain("debug_token", &failure), fix));
            false
        }
        Ok(answer) => {
            let data = answer.get("data").cloned().unwrap_or(Value::Null);
            if data.get("is_valid").and_then(Value::as_bool) != Some(true) {
                let reason = data
                    .pointer("/error/message")
                    .and_then(Value::as_str)
                    .unwrap_or("no reason given");
                checks.push(Check::fail(
                    "token",
                    format!("Meta says the token is not valid: {reason}"),
                    "create a new access token and update WHATSAPP_ACCESS_TOKEN / the stack's access-token parameter",
                ));
                return false;
            }
            let scopes: Vec<&str> = data
                .get("scopes")
                .and_then(Value::as_array)
                .map(|s| s.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let missing: Vec<&str> = REQUIRED_SCOPES
                .iter()
                .copied()
                .filter(|s| !scopes.contains(s))
                .collect();
            let expires = match data.get("expires_at").and_then(Value::as_i64) {
                Some(0) | None => "never expires".to_owned(),
                Some(at) => format!(
                    "expires {}",
                    chrono::DateTime::from_timestamp(at, 0).map_or_else(|| at.to_string(), |t| t.to_rfc3339())
                ),
            };
            if missing.is_empty() {
                checks.push(Check::pass(
                    "token",
                    format!("valid, {expires}, scopes include {}", REQUIRED_SCOPES.join(", ")),
                ));
            } else {
                checks.push(Check::fail(
                    "token",
                    format!("valid but lacks {} ({expires})", missing.join(", ")),
                    "grant the missing permissions to the System User / app (Business Settings → System users → Assign assets / Generate token) and use the new token",
                ));
            }
            true
        }
    }
}

async fn check_phone_number(graph: &Graph, settings: &Settings, checks: &mut Vec<Check>) -> Option<String> {
    let Some(id) = settings.get(config::PHONE_NUMBER_ID) else {
        checks.push(Check::fail(
            "phone number",
            "WHATSAPP_PHONE_NUMBER_ID is not set",
            "set WHATSAPP_PHONE_NUMBER_ID (WhatsApp Manager → Phone numbers, or the API Setup page)",
        ));
        return None;
    };
    match graph
        .get(
            &id,
            &[(
                "fields",
                "display_phone_number,verified_name,quality_rating,code_verification_status,status",
            )],
        )
        .await
    {
        Err(failure) => {
            checks.push(Check::fail("phone number", explain(&format!("reading phone number id {id}"), &failure), "check WHATSAPP_PHONE_NUMBER_ID and that the token's System User has this number's WhatsApp Business Account as an asset"));
            None
        }
        Ok(number) => {
            let text = |n: &str| number.get(n).and_then(Value::as_str).unwrap_or("?").to_owned();
            let display = text("display_phone_number");
            let detail = format!(
                "{display} ({}), quality {}, {}, {}",
                text("verified_name"),
                text("quality_rating"),
                text("code_verification_status"),
                text("status")
            );
            if text("quality_rating") == "RED" {
                checks.push(Check::fail("phone number", detail, "quality rating RED: Meta may lower the messaging limit; review recent templates and opt-outs in WhatsApp Manager → Insights"));
            } else if text("status") != "CONNECTED" {
                checks.push(Check::fail(
                    "phone number",
                    detail,
                    "the number is not registered with the Cloud API: run `wabridge onboard`",
                ));
            } else {
                checks.push(Check::pass("phone number", detail));
            }
            Some(display)
        }
    }
}

async fn check_subscription(graph: &Graph, settings: &Settings, checks: &mut Vec<Check>) {
    let Some(waba) = settings.get(config::BUSINESS_ACCOUNT_ID) else {
        checks.push(Check::skip(
            "webhook subscription",
            "set WHATSAPP_BUSINESS_ACCOUNT_ID to check it",
        ));
        return;
    };
    match graph.get(&format!("{waba}/subscribed_apps"), &[]).await {
        Err(failure) => checks.push(Check::fail(
            "webhook subscription",
            explain("reading subscribed_apps", &failure),
            "check WHATSAPP_BUSINESS_ACCOUNT_ID and the token's permissions",
        )),
        Ok(answer) => {
            let apps: Vec<(String, String)> = answer
                .get("data")
                .and_then(Value::as_array)
                .map(|apps| {
                    apps.iter()
                        .map(|app| {
                            let data = app.get("whatsapp_business_api_data").unwrap_or(app);
                            let field = |n: &str| data.get(n).and_then(Value::as_str).unwrap_or_default().to_owned();
                            (field("id"), field("name"))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let app_id = settings.get(config::META_APP_ID);
            let found = apps
                .iter()
                .find(|(id, _)| app_id.as_ref().is_none_or(|wanted| wanted == id));
            match found {
                Some((id, name)) => checks.push(Check::pass("webhook subscription", format!("app {name} ({id}) is subscribed to WABA {waba}"))),
                None => checks.push(Check::fail(
                    "webhook subscription",
                    format!("{} is not subscribed to WABA {waba}'s webhooks", app_id.map_or_else(|| "no app".to_owned(), |id| format!("app {id}"))),
                    format!("POST /{waba}/subscribed_apps with the app's token (or subscribe in the App Dashboard → WhatsApp → Configuration)"),
                )),
            }
        }
    }
}

async fn check_callback(settings: &Settings) -> Check {
    let (Some(url), Some(token)) = (
        settings.get(config::CALLBACK_URL),
        settings.secret(config::VERIFY_TOKEN),
    ) else {
        return Check::skip(
            "callback URL",
            "set WHATSAPP_CALLBACK_URL (stack output WhatsAppCallbackUrl) and WHATSAPP_VERIFY_TOKEN",
        );
    };
    let challenge = format!("{}", chrono::Utc::now().timestamp_micros());
    let separator = if url.contains('?') { '&' } else { '?' };
    let full = format!(
        "{url}{separator}hub.mode=subscribe&hub.verify_token={}&hub.challenge={challenge}",
        bridge::domain::form::encode(token.expose())
    );
    let Ok(http) = http_client() else {
        return Check::fail("callback URL", "cannot build an HTTP client", "see the detail");
    };
    match http.get(full).send().await {
        Err(error) => Check::fail(
            "callback URL",
            format!("no answer from {url} ({})", crate::graph::no_answer(&error)),
            "deploy the stack / check the URL (stack output WhatsAppCallbackUrl)",
        ),
        Ok(response) => {
            let status = response.status().as_u16();
            let body = response.text().await.unwrap_or_default();
            if status == 200 && body == challenge {
                Check::pass("callback URL", format!("{url} echoes hub.challenge"))
            } else if status == 403 {
                Check::fail(
                    "callback URL",
                    format!("{url} refused the verify token (403)"),
                    "WHATSAPP_VERIFY_TOKEN here and the stack's verify-token must be the same value, also the one typed in Meta's App Dashboard",
                )
            } else {
                Check::fail(
                    "callback URL",
                    format!("{url} answered HTTP {status} without the challenge"),
                    "the route must be GET /webhooks/whatsapp → meta-verify",
                )
            }
        }
    }
}

async fn check_ses(settings: &Settings, sdk: &SdkConfig) -> Check {
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

async fn check_twilio(settings: &Settings, display_number: Option<&str>) -> Check {
    let (Some(sid), Some(token)) = (
        settings.get(config::TWILIO_ACCOUNT_SID),
        settings.secret(config::TWILIO_AUTH_TOKEN),
    ) else {
        return Check::skip(
            "Twilio voice URL",
            "set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN to check it",
        );
    };
    let Some(number) = settings
        .get(config::TWILIO_PHONE_NUMBER)
        .or_else(|| display_number.map(str::to_owned))
    else {
        return Check::skip(
            "Twilio voice URL",
            "set TWILIO_PHONE_NUMBER (or a readable phone number id) to check it",
        );
    };
    let e164 = format!("+{}", number.chars().filter(char::is_ascii_digit).collect::<String>());
    let Some(expected) = settings.get(config::TWILIO_VOICE_URL) else {
        return Check::skip(
            "Twilio voice URL",
            "set TWILIO_VOICE_URL (stack output TwilioVoiceWebhookUrl) or PUBLIC_BASE_URL",
        );
    };
    let base = settings.get(config::TWILIO_API_BASE_URL).unwrap_or_default();
    match incoming_numbers(&base, &sid, &token as &Secret, &e164).await {
        Err(TwilioFailure::Unauthorized) => Check::fail(
            "Twilio voice URL",
            "Twilio refused the account SID / auth token (401, error 20003)",
            "set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN from the Twilio console (the auth token is also the key of X-Twilio-Signature)",
        ),
        Err(TwilioFailure::Other(text)) => {
            Check::fail("Twilio voice URL", text, "check TWILIO_API_BASE_URL and the network")
        }
        Ok(numbers) => match numbers.first() {
            None => Check::fail(
                "Twilio voice URL",
                format!("{e164} is not a number of Twilio account {sid}"),
                "buy/port the number into this account, or set TWILIO_PHONE_NUMBER",
            ),
            Some(found) if found.voice_url == expected && found.voice_method.eq_ignore_ascii_case("POST") => {
                Check::pass("Twilio voice URL", format!("{e164} → {} (POST)", found.voice_url))
            }
            Some(found) => Check::fail(
                "Twilio voice URL",
                format!(
                    "{e164} calls {} ({}), not {expected}",
                    if found.voice_url.is_empty() {
                        "nothing"
                    } else {
                        &found.voice_url
                    },
                    found.voice_method
                ),
                format!("Twilio console → Phone numbers → {e164} → \"A call comes in\": Webhook {expected}, HTTP POST"),
            ),
        },
    }
}

async fn check_alarms(settings: &Settings, source: &impl Alarms) -> Check {
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
