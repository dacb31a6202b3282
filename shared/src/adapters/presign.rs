//! [`MediaLinks`] as S3 presigned GETs, signed with `aws-sigv4` directly (the crate the SDK
//! signs every request with): the send API links no S3 client for this (measured in
//! docs/history.md). Query-string SigV4 exactly as S3 documents it ("Authenticating Requests:
//! Using Query Parameters"): `UNSIGNED-PAYLOAD`, the path signed as sent (no double encoding,
//! no normalization), `host` the only signed header, the session token in the signed query.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use aws_sdk_s3::config::{Credentials, ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{
    PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings, UriPathNormalizationMode,
};

use crate::ports::{LinkError, MediaLinks};

/// Keys the API may link: the worker's media objects only (the template grants `s3:GetObject`
/// on `media/*` and nothing else, so any other key would be a link that answers 403).
pub use crate::domain::media::MEDIA_PREFIX;
/// Credentials this close to their expiry are loaded again before signing.
const REFRESH_BEFORE: Duration = Duration::from_secs(5 * 60);

pub struct S3MediaLinks {
    bucket: String,
    region: String,
    /// A custom endpoint (an emulator): path-style URLs under it.
    endpoint: Option<String>,
    credentials: Option<SharedCredentialsProvider>,
    cached: Mutex<Option<Credentials>>,
}

impl std::fmt::Debug for S3MediaLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3MediaLinks")
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl S3MediaLinks {
    /// Links into `bucket` with the credentials, region and endpoint of `sdk_config`.
    pub fn new(sdk_config: &aws_config::SdkConfig, bucket: impl Into<String>) -> Self {
        Self {
            bucket: bucket.into(),
            region: sdk_config
                .region()
                .map_or_else(|| "us-east-1".to_owned(), |region| region.to_string()),
            endpoint: sdk_config
                .endpoint_url()
                .map(|url| url.trim_end_matches('/').to_owned()),
            credentials: sdk_config.credentials_provider(),
            cached: Mutex::new(None),
        }
    }

    async fn credentials(&self) -> Result<Credentials, LinkError> {
        let fresh = |credentials: &Credentials| {
            credentials
                .expiry()
                .is_none_or(|expiry| expiry > SystemTime::now() + REFRESH_BEFORE)
        };
        if let Some(cached) = self.cached_credentials().filter(fresh) {
            return Ok(cached);
        }
        let provider = self
            .credentials
            .as_ref()
            .ok_or_else(|| LinkError::Unavailable("no credentials provider".to_owned()))?;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|error| LinkError::Unavailable(error.to_string()))?;
        *self.cached.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(credentials.clone());
        Ok(credentials)
    }

    fn cached_credentials(&self) -> Option<Credentials> {
        self.cached
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The object's URL, unsigned: virtual-hosted on AWS (path-style for a bucket with a dot,
    /// whose name would break the certificate's wildcard), path-style under a custom endpoint.
    pub fn object_url(&self, key: &str) -> String {
        let key = encode_key(key);
        match &self.endpoint {
            Some(endpoint) => format!("{endpoint}/{}/{key}", self.bucket),
            None if self.bucket.contains('.') => {
                format!("https://s3.{}.amazonaws.com/{}/{key}", self.region, self.bucket)
            }
            None => format!("https://{}.s3.{}.amazonaws.com/{key}", self.bucket, self.region),
        }
    }
}

/// Presigns a GET of `url` with `credentials`, valid `ttl` from `time`.
pub fn presign_get(
    url: &str,
    credentials: Credentials,
    region: &str,
    time: SystemTime,
    ttl: Duration,
) -> Result<String, LinkError> {
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(ttl);
    let request = SignableRequest::new("GET", url, std::iter::empty(), SignableBody::UnsignedPayload)
        .map_err(|error| LinkError::Unavailable(error.to_string()))?;
    let instructions = super::sigv4::instructions(request, credentials, region, "s3", time, settings)
        .map_err(LinkError::Unavailable)?;
    let mut signed = url.to_owned();
    let mut separator = if url.contains('?') { '&' } else { '?' };
    for (name, value) in instructions.params() {
        signed.push(separator);
        signed.push_str(name);
        signed.push('=');
        signed.push_str(&encode(value, false));
        separator = '&';
    }
    Ok(signed)
}

/// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters kept, `/` too when `keep_slash`.
fn encode(value: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) || (keep_slash && byte == b'/') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn encode_key(key: &str) -> String {
    encode(key, true)
}

impl MediaLinks for S3MediaLinks {
    async fn link(&self, key: &str, ttl: Duration) -> Result<(String, i64), LinkError> {
        if !key.starts_with(MEDIA_PREFIX) || key.split('/').any(|segment| segment == "..") {
            return Err(LinkError::NotMedia(key.to_owned()));
        }
        let credentials = self.credentials().await?;
        let now = SystemTime::now();
        let url = presign_get(&self.object_url(key), credentials, &self.region, now, ttl)?;
        let expires = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |since| i64::try_from((since + ttl).as_secs()).unwrap_or(i64::MAX));
        Ok((url, expires))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's worked example (S3 API reference, "Authenticating Requests: Using Query Parameters"):
    /// GET examplebucket/test.txt, 24 May 2013 00:00:00 UTC, 86,400 s, us-east-1.
    #[test]
    fn signs_as_the_s3_documentation_example() {
        let credentials = Credentials::new(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "example",
        );
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_369_353_600);
        let url = presign_get(
            "https://examplebucket.s3.amazonaws.com/test.txt",
            credentials,
            "us-east-1",
            time,
            Duration::from_secs(86_400),
        )
        .expect("signed");
        assert_eq!(
            url,
            "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
             &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\
             &X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
        );
    }

    #[test]
    fn a_session_token_is_signed_into_the_query() {
        let credentials = Credentials::new("AKID", "secret", Some("token/with+chars".to_owned()), None, "t");
        let url = presign_get(
            "https://b.s3.eu-west-1.amazonaws.com/media/1/wamid.X%3D/2",
            credentials,
            "eu-west-1",
            SystemTime::now(),
            Duration::from_secs(900),
        )
        .expect("signed");
        assert!(url.contains("X-Amz-Security-Token=token%2Fwith%2Bchars"), "{url}");
        assert!(url.contains("X-Amz-Expires=900"), "{url}");
        assert!(
            url.starts_with("https://b.s3.eu-west-1.amazonaws.com/media/1/wamid.X%3D/2?"),
            "{url}"
        );
    }

    #[test]
    fn urls_are_virtual_hosted_on_aws_and_path_style_under_an_endpoint() {
        let config = aws_config::SdkConfig::builder()
            .region(aws_config::Region::new("eu-west-1"))
            .build();
        let links = S3MediaLinks::new(&config, "payloads");
        assert_eq!(
            links.object_url("media/1/wamid.A=/2"),
            "https://payloads.s3.eu-west-1.amazonaws.com/media/1/wamid.A%3D/2"
        );
        let dotted = S3MediaLinks::new(&config, "pay.loads");
        assert_eq!(
            dotted.object_url("media/k"),
            "https://s3.eu-west-1.amazonaws.com/pay.loads/media/k"
        );
        let local = aws_config::SdkConfig::builder()
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url("http://127.0.0.1:4566/")
            .build();
        assert_eq!(
            S3MediaLinks::new(&local, "b").object_url("media/k"),
            "http://127.0.0.1:4566/b/media/k"
        );
    }

    #[tokio::test]
    async fn only_media_keys_are_linked() {
        let config = aws_config::SdkConfig::builder()
            .region(aws_config::Region::new("eu-west-1"))
            .build();
        let links = S3MediaLinks::new(&config, "payloads");
        for key in ["payloads/claim-check.json", "media/../payloads/x", "/media/x"] {
            assert!(
                matches!(
                    links.link(key, Duration::from_secs(900)).await,
                    Err(LinkError::NotMedia(_))
                ),
                "{key}"
            );
        }
        // A media key, but no credentials provider in this configuration: no link, no panic.
        assert!(matches!(
            links.link("media/1/w/2", Duration::from_secs(900)).await,
            Err(LinkError::Unavailable(_))
        ));
    }
}
