//! One HTTP stack for the whole bundle: reqwest (hyper, HTTP/1.1, rustls on ring) carries
//! the Graph API calls and, through [`SdkHttpClient`], every AWS SDK call too.
//!
//! Why not the SDK's own `default-https-client`: it compiles a second TLS/crypto stack
//! (aws-lc) and an HTTP/2 implementation none of the services used here needs, about a
//! third of each function's zipped size (issue 5 has the figures).

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aws_sdk_sqs::config::{HttpClient, RuntimeComponents, SharedHttpClient};
use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_types::body::SdkBody;

/// The TLS configuration of every client, built once per process: rustls on ring with
/// Mozilla's root certificates compiled in. (reqwest's default would build a platform
/// verifier per client, reading and parsing every file of the system's certificate
/// directory each time: about 6 ms of cold start per client, measured in `bench/`.)
fn tls_config() -> rustls::ClientConfig {
    static CONFIG: OnceLock<rustls::ClientConfig> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            // ring is the only provider compiled in, so the builder cannot lack one.
            rustls::ClientConfig::builder()
                .with_root_certificates(roots)
                .with_no_client_auth()
        })
        .clone()
}

/// A reqwest client builder with the settings every client of the bundle shares.
pub fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls_config())
        // Lambda reuses an execution environment for minutes between invocations; an
        // idle connection kept longer than the server keeps it only fails later.
        .pool_idle_timeout(Duration::from_secs(50))
        .tcp_nodelay(true)
}

/// The AWS SDK's HTTP client over reqwest. The SDK asks for a connector per set of
/// timeouts (it applies the operation timeouts itself); each is built once and reused,
/// so connections are pooled across calls and clients.
#[derive(Debug, Default)]
pub struct SdkHttpClient {
    connectors: Mutex<Vec<(Timeouts, SharedHttpConnector)>>,
}

type Timeouts = (Option<Duration>, Option<Duration>);

impl SdkHttpClient {
    pub fn shared() -> SharedHttpClient {
        SharedHttpClient::new(Self::default())
    }
}

impl HttpClient for SdkHttpClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, _components: &RuntimeComponents) -> SharedHttpConnector {
        let key = (settings.connect_timeout(), settings.read_timeout());
        let mut connectors = self.connectors.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, connector)) = connectors.iter().find(|(timeouts, _)| *timeouts == key) {
            return connector.clone();
        }
        let connector = SharedHttpConnector::new(ReqwestConnector::new(key));
        connectors.push((key, connector.clone()));
        connector
    }
}

#[derive(Debug)]
struct ReqwestConnector {
    client: Result<reqwest::Client, Arc<reqwest::Error>>,
}

impl ReqwestConnector {
    fn new((connect_timeout, read_timeout): Timeouts) -> Self {
        // The SDK signs the request it built: it must go out as is, to that host only.
        let mut builder = client_builder().redirect(reqwest::redirect::Policy::none());
        if let Some(timeout) = connect_timeout {
            builder = builder.connect_timeout(timeout);
        }
        if let Some(timeout) = read_timeout {
            builder = builder.read_timeout(timeout);
        }
        Self {
            client: builder.build().map_err(Arc::new),
        }
    }
}

impl HttpConnector for ReqwestConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.client.clone();
        HttpConnectorFuture::new(async move {
            let client = client.map_err(|error| ConnectorError::other(error.to_string().into(), None))?;
            let request = request
                .try_into_http1x()
                .map_err(|error| ConnectorError::user(error.into()))?
                .map(reqwest::Body::wrap);
            let request = reqwest::Request::try_from(request).map_err(|error| ConnectorError::user(error.into()))?;
            let response = client.execute(request).await.map_err(connector_error)?;
            let response = http::Response::<reqwest::Body>::from(response).map(SdkBody::from_body_1_x);
            HttpResponse::try_from(response).map_err(|error| ConnectorError::other(error.into(), None))
        })
    }
}

/// Timeouts and I/O failures are transient: the SDK's retry strategy retries them.
fn connector_error(error: reqwest::Error) -> ConnectorError {
    if error.is_timeout() {
        ConnectorError::timeout(error.into())
    } else if error.is_connect() || error.is_request() || error.is_body() {
        ConnectorError::io(error.into())
    } else {
        ConnectorError::other(error.into(), None)
    }
}
