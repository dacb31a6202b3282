//! The ingestion handler alone behind HTTP, for tests that hold the handler themselves and need
//! the Graph stand-in to deliver its status webhooks to it.

use std::sync::Arc;

use bridge::adapters::{s3::S3BlobStore, sqs::SqsQueue};
use bridge::handlers::meta_ingest::Ingest;
use tokio::net::TcpListener;

use crate::events::api_request;

/// Runs the ingestion handler behind HTTP on `listener` (a spawned task): each request it gets is
/// handed over as the webhook `POST /webhooks/whatsapp`, with its body and `X-Hub-Signature-256`.
pub fn serve_ingest(listener: TcpListener, ingest: Arc<Ingest<SqsQueue, S3BlobStore>>) {
    use http_body_util::BodyExt;
    let handle = move |request: hyper::Request<hyper::body::Incoming>| {
        let ingest = Arc::clone(&ingest);
        async move {
            let (parts, body) = request.into_parts();
            let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            let signature = parts
                .headers
                .get("x-hub-signature-256")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let request = api_request(
                "POST",
                "/webhooks/whatsapp",
                "",
                &[
                    ("Content-Type", "application/json"),
                    ("X-Hub-Signature-256", &signature),
                ],
                &body,
                true,
            );
            let response = ingest.handle(request).await;
            let mut out = hyper::Response::new(http_body_util::Full::new(hyper::body::Bytes::copy_from_slice(
                response.body(),
            )));
            *out.status_mut() = response.status();
            out
        }
    };
    tokio::spawn(local_stack::http_server::serve(listener, "ingest", handle));
}
