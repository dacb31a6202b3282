//! A minimal Lambda Runtime API (`2018-06-01`) for one cold start: it hands out one
//! event, then reports when the runtime asked for it, when it was handed out, and what
//! came back. Every observation is timestamped on arrival.
//!
//! Endpoints:
//! - `GET  /2018-06-01/runtime/invocation/next`: the event, once (later calls wait; the
//!   benchmark kills the function after its first response);
//! - `POST /2018-06-01/runtime/invocation/{id}/response` and `.../{id}/error`;
//! - `POST /2018-06-01/runtime/init/error`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};

const PREFIX: &str = "/2018-06-01/runtime/";

/// What the function did, as the Runtime API saw it.
#[derive(Debug)]
pub enum Observation {
    /// The first `GET .../invocation/next` arrived (`at`) and its event was handed out
    /// (`handed_out`, just before the response is written).
    EventHandedOut { at: Instant, handed_out: Instant },
    /// `POST .../invocation/{id}/response`, timestamped once its body was read.
    Response {
        at: Instant,
        request_id: String,
        body: Bytes,
    },
    /// `POST .../invocation/{id}/error`.
    InvocationError {
        at: Instant,
        error_type: Option<String>,
        body: Bytes,
    },
    /// `POST .../init/error`.
    InitError {
        at: Instant,
        error_type: Option<String>,
        body: Bytes,
    },
    /// A request outside the API (the function spoke something unexpected).
    Unexpected { method: Method, path: String },
}

/// The invocation the emulator hands out.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub request_id: String,
    pub function_arn: String,
    pub event: Bytes,
    /// Lambda-Runtime-Deadline-Ms is now + this.
    pub timeout: Duration,
}

struct State {
    invocation: Invocation,
    handed_out: AtomicBool,
    observations: mpsc::UnboundedSender<Observation>,
}

/// A running emulator; stops (with every connection it accepted) when dropped.
pub struct Emulator {
    addr: SocketAddr,
    server: JoinHandle<()>,
}

impl Emulator {
    /// Listens on an ephemeral port of 127.0.0.1.
    pub async fn start(invocation: Invocation) -> std::io::Result<(Self, mpsc::UnboundedReceiver<Observation>)> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (observations, receiver) = mpsc::unbounded_channel();
        let state = Arc::new(State {
            invocation,
            handed_out: AtomicBool::new(false),
            observations,
        });
        let server = tokio::spawn(serve(listener, state));
        Ok((Self { addr, server }, receiver))
    }

    /// The value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn runtime_api(&self) -> String {
        self.addr.to_string()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // Dropping the accept loop drops its JoinSet, which aborts every connection.
        self.server.abort();
    }
}

async fn serve(listener: TcpListener, state: Arc<State>) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        connections.spawn(async move {
            let service = service_fn(move |request| handle(state.clone(), request));
            // A connection error (the function was killed mid-request) ends the connection.
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle(state: Arc<State>, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let at = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let route = path.strip_prefix(PREFIX).unwrap_or("");
    let error_type = request
        .headers()
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);

    let response = match (&method, route.split('/').collect::<Vec<_>>().as_slice()) {
        (&Method::GET, ["invocation", "next"]) => return Ok(next(&state, at).await),
        (&Method::POST, ["invocation", request_id, "response"]) => {
            let request_id = (*request_id).to_owned();
            let body = read_body(request).await;
            let _ = state.observations.send(Observation::Response {
                at: Instant::now(),
                request_id,
                body,
            });
            accepted()
        }
        (&Method::POST, ["invocation", _, "error"]) => {
            let body = read_body(request).await;
            let _ = state
                .observations
                .send(Observation::InvocationError { at, error_type, body });
            accepted()
        }
        (&Method::POST, ["init", "error"]) => {
            let body = read_body(request).await;
            let _ = state.observations.send(Observation::InitError { at, error_type, body });
            accepted()
        }
        _ => {
            let _ = state.observations.send(Observation::Unexpected {
                method,
                path: path.clone(),
            });
            plain(
                StatusCode::NOT_FOUND,
                r#"{"errorMessage":"not found","errorType":"NotFound"}"#,
            )
        }
    };
    Ok(response)
}

/// The first call gets the event; later calls wait (the function is killed first).
async fn next(state: &State, at: Instant) -> Response<Full<Bytes>> {
    if state.handed_out.swap(true, Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
    let invocation = &state.invocation;
    let deadline = SystemTime::now()
        .checked_add(invocation.timeout)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis());
    let response = Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .header("lambda-runtime-aws-request-id", invocation.request_id.as_str())
        .header("lambda-runtime-deadline-ms", deadline.to_string())
        .header("lambda-runtime-invoked-function-arn", invocation.function_arn.as_str())
        .header(
            "lambda-runtime-trace-id",
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0",
        )
        .body(Full::new(invocation.event.clone()));
    let response = response.unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "{}"));
    let _ = state.observations.send(Observation::EventHandedOut {
        at,
        handed_out: Instant::now(),
    });
    response
}

async fn read_body(request: Request<Incoming>) -> Bytes {
    match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    }
}

fn accepted() -> Response<Full<Bytes>> {
    plain(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
}

fn plain(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response
}
