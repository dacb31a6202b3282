//! One SigV4 signing step for the requests the bundle signs itself (`aws-sigv4`, the crate the SDK
//! signs with): the presigned history links (`presign`) and the secrets' `GetParameters` (`ssm`).

use std::time::SystemTime;

use aws_sdk_s3::config::Credentials;
use aws_sigv4::http_request::{SignableRequest, SigningInstructions, SigningSettings, sign};
use aws_sigv4::sign::v4;

/// What a request to `service` in `region` needs to carry to be signed by `credentials` at `time`:
/// headers or query parameters, as `settings` place them. Errors name the step, never a key.
pub fn instructions(
    request: SignableRequest<'_>,
    credentials: Credentials,
    region: &str,
    service: &str,
    time: SystemTime,
    settings: SigningSettings,
) -> Result<SigningInstructions, String> {
    let identity = credentials.into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|error| format!("signing parameters: {error}"))?
        .into();
    let (instructions, _) = sign(request, &params)
        .map_err(|error| format!("signing: {error}"))?
        .into_parts();
    Ok(instructions)
}
