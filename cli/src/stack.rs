//! The deployed stack: its outputs (CloudFormation) and its secrets (SSM SecureStrings).

use std::collections::HashMap;

use aws_config::SdkConfig;
use bridge::domain::secret::Secret;

use crate::config::StackValues;
use crate::error::{CliError, aws_error};

/// The output naming the SSM prefix of the stack's secrets.
pub const SECRETS_PREFIX_OUTPUT: &str = "SecretsParameterPrefix";

/// Reads the outputs (and parameters) of `name`, then (when it has a `SecretsParameterPrefix` output) the
/// parameters under that prefix, decrypted.
pub async fn load(sdk: &SdkConfig, name: &str) -> Result<StackValues, CliError> {
    let cloudformation = aws_sdk_cloudformation::Client::new(sdk);
    let described = cloudformation
        .describe_stacks()
        .stack_name(name)
        .send()
        .await
        .map_err(|error| CliError::Config(format!("cannot read the stack {name}: {}", aws_error(&error))))?;
    let stack = described
        .stacks()
        .first()
        .ok_or_else(|| CliError::Config(format!("there is no stack named {name}")))?;
    // The stack's parameters (the send tier: SendRatePerSecond, SendMaximumConcurrency), then its
    // outputs over them.
    let mut outputs: HashMap<String, String> = stack
        .parameters()
        .iter()
        .filter_map(|parameter| {
            Some((
                parameter.parameter_key()?.to_owned(),
                parameter.parameter_value()?.to_owned(),
            ))
        })
        .collect();
    outputs.extend(
        stack
            .outputs()
            .iter()
            .filter_map(|output| Some((output.output_key()?.to_owned(), output.output_value()?.to_owned()))),
    );
    let mut secrets = HashMap::new();
    if let Some(prefix) = outputs.get(SECRETS_PREFIX_OUTPUT) {
        let ssm = aws_sdk_ssm::Client::new(sdk);
        let path = format!("{}/", prefix.trim_end_matches('/'));
        let mut next = None;
        loop {
            let page = ssm
                .get_parameters_by_path()
                .path(prefix.trim_end_matches('/'))
                .with_decryption(true)
                .set_next_token(next)
                .send()
                .await
                .map_err(|error| {
                    CliError::Config(format!(
                        "cannot read the stack's secrets under {prefix}: {}",
                        aws_error(&error)
                    ))
                })?;
            for parameter in page.parameters() {
                if let (Some(full), Some(value)) = (parameter.name(), parameter.value()) {
                    let short = full.strip_prefix(&path).unwrap_or(full);
                    secrets.insert(short.to_owned(), Secret::new(value));
                }
            }
            match page.next_token {
                Some(token) if !token.is_empty() => next = Some(token),
                _ => break,
            }
        }
    }
    Ok(StackValues {
        name: name.to_owned(),
        outputs,
        secrets,
    })
}
