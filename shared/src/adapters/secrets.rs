//! Secrets at cold start: SSM Parameter Store SecureStrings in a deployment, plain
//! environment variables in local runs.
//!
//! For each secret variable `NAME` a function needs:
//! - `NAME` set (local.env): used as is;
//! - else `NAME_PARAMETER` set (the deployed template sets it to a parameter name such as
//!   `/whatsapp-bridge/app-secret`): every such parameter of the function is read with one
//!   `GetParameters` call, decrypted, and kept in memory only;
//! - else the variable stays unset and the function's config reports it.
//!
//! The values never reach an environment variable, a log line or an error message.

use std::collections::HashMap;

use aws_config::SdkConfig;

pub use crate::domain::secret::SecretVar;

/// What kept a function's secrets from being read (each problem names a variable or the parameter
/// store, never a value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", problems.join("; "))]
pub struct SecretsError {
    pub problems: Vec<String>,
}

/// Where a function's variables come from: the process environment in a Lambda and `make run`,
/// a map in tests.
pub type Vars<'a> = &'a (dyn Fn(&str) -> Option<String> + Sync);

/// The process environment as [`Vars`].
pub fn process_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Suffix of the variable naming a secret's SSM parameter.
pub const PARAMETER_SUFFIX: &str = "_PARAMETER";

/// The function's secrets, resolved once at cold start.
#[derive(Default)]
pub struct ResolvedSecrets(HashMap<String, String>);

impl ResolvedSecrets {
    /// Resolves `secrets` against the process environment. `sdk_config` is used when a
    /// secret is in SSM; functions without AWS clients pass `None` and one is loaded only
    /// if needed.
    pub async fn load(sdk_config: Option<&SdkConfig>, secrets: &[SecretVar]) -> Result<Self, SecretsError> {
        Self::load_from(sdk_config, secrets, &process_var).await
    }

    /// As [`Self::load`], against the variables `vars` gives (the process environment, or a
    /// test's map).
    pub async fn load_from(
        sdk_config: Option<&SdkConfig>,
        secrets: &[SecretVar],
        vars: Vars<'_>,
    ) -> Result<Self, SecretsError> {
        resolve_secrets(sdk_config, secrets, vars).await.map(Self)
    }

    /// `vars` with the secrets filled in (what the configuration is read from).
    pub fn over<'a>(&'a self, vars: Vars<'a>) -> impl Fn(&str) -> Option<String> + 'a {
        move |name: &str| self.0.get(name).cloned().or_else(|| vars(name))
    }
}

/// Which secrets come from which parameter: `(variable, parameter name)`.
pub fn parameters_to_read(secrets: &[SecretVar], lookup: &dyn Fn(&str) -> Option<String>) -> Vec<(SecretVar, String)> {
    secrets
        .iter()
        .filter(|secret| lookup(secret.name).is_none_or(|value| value.trim().is_empty()))
        .filter_map(|secret| {
            lookup(&format!("{}{PARAMETER_SUFFIX}", secret.name))
                .map(|parameter| parameter.trim().to_owned())
                .filter(|parameter| !parameter.is_empty())
                .map(|parameter| (*secret, parameter))
        })
        .collect()
}

/// The secrets to read from SSM (per [`parameters_to_read`]), read with one call:
/// variable name → value. `lookup` reads the environment (a map in tests).
pub async fn resolve_secrets(
    sdk_config: Option<&SdkConfig>,
    secrets: &[SecretVar],
    lookup: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<HashMap<String, String>, SecretsError> {
    let wanted = parameters_to_read(secrets, lookup);
    if wanted.is_empty() {
        return Ok(HashMap::new());
    }
    let loaded;
    let sdk_config = match sdk_config {
        Some(config) => config,
        None => {
            loaded = super::load_sdk_config().await;
            &loaded
        }
    };
    let started = std::time::Instant::now();
    let names: Vec<String> = wanted.iter().map(|(_, parameter)| parameter.clone()).collect();
    let mut values = super::ssm::get_parameters(sdk_config, &names)
        .await
        .map_err(|error| SecretsError {
            problems: vec![format!("could not read the secrets from SSM Parameter Store: {error}")],
        })?;
    let mut problems = Vec::new();
    let mut resolved = HashMap::new();
    for (secret, parameter) in &wanted {
        match values
            .remove(parameter.as_str())
            .filter(|value| !value.trim().is_empty())
        {
            Some(value) => {
                resolved.insert(secret.name.to_owned(), value);
            }
            None if secret.required => problems.push(format!(
                "{} names SSM parameter {parameter:?}, which does not exist or is empty",
                format_args!("{}{PARAMETER_SUFFIX}", secret.name)
            )),
            None => tracing::warn!(
                variable = secret.name,
                parameter,
                "optional secret parameter does not exist: the feature it enables is off"
            ),
        }
    }
    if !problems.is_empty() {
        return Err(SecretsError { problems });
    }
    tracing::info!(
        parameters = wanted.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "secrets read from SSM Parameter Store"
    );
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn a_value_in_the_environment_wins_over_its_parameter() {
        let env = lookup(&[
            ("WHATSAPP_APP_SECRET", "local-secret"),
            ("WHATSAPP_APP_SECRET_PARAMETER", "/bridge/app-secret"),
            ("API_KEY_PARAMETER", " /bridge/api-key "),
            ("TWILIO_AUTH_TOKEN", "  "),
            ("TWILIO_AUTH_TOKEN_PARAMETER", "/bridge/twilio-auth-token"),
            ("WHATSAPP_VERIFY_TOKEN_PARAMETER", ""),
        ]);
        let wanted = parameters_to_read(
            &[
                SecretVar::required("WHATSAPP_APP_SECRET"),
                SecretVar::required("API_KEY"),
                SecretVar::optional("TWILIO_AUTH_TOKEN"),
                SecretVar::required("WHATSAPP_VERIFY_TOKEN"),
                SecretVar::required("WHATSAPP_ACCESS_TOKEN"),
            ],
            &env,
        );
        let names: Vec<(&str, &str)> = wanted.iter().map(|(s, p)| (s.name, p.as_str())).collect();
        assert_eq!(
            names,
            [
                ("API_KEY", "/bridge/api-key"),
                ("TWILIO_AUTH_TOKEN", "/bridge/twilio-auth-token")
            ]
        );
    }

    #[tokio::test]
    async fn nothing_to_read_makes_no_call() {
        // No SDK config and no endpoint: any attempt to call SSM would fail the test.
        let resolved = resolve_secrets(
            None,
            &[SecretVar::required("WHATSAPP_APP_SECRET")],
            &lookup(&[("WHATSAPP_APP_SECRET", "x")]),
        )
        .await
        .expect("resolved from the environment");
        assert!(resolved.is_empty());
    }
}
