//! The AWS SDK over the bundle's own HTTP client (`bridge::adapters::http::SdkHttpClient`):
//! requests leave signed and unchanged, answers come back parsed, failures are classified
//! so the SDK retries what is transient. (Every other integration test also goes through
//! it, against moto.)

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_sqs::config::retry::RetryConfig;
use aws_sdk_sqs::error::SdkError;
use aws_sdk_sqs::types::QueueAttributeName;
use bridge::adapters::http::SdkHttpClient;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

async fn sqs_client(endpoint: &str) -> aws_sdk_sqs::Client {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .http_client(SdkHttpClient::shared())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "AKIDTEST", "secret", None, None, "test",
        ))
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    aws_sdk_sqs::Client::new(&config)
}

/// Reads one HTTP/1.1 request (headers + Content-Length body) and answers `response`.
async fn serve_once(listener: TcpListener, response: &'static str) -> String {
    let (mut socket, _) = listener.accept().await.unwrap();
    let mut request = Vec::new();
    let mut buffer = [0_u8; 4096];
    loop {
        let read = socket.read(&mut buffer).await.unwrap();
        assert!(read > 0, "client closed before sending a full request");
        request.extend_from_slice(&buffer[..read]);
        let text = String::from_utf8_lossy(&request);
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if request.len() >= end + 4 + length {
                break;
            }
        }
    }
    socket.write_all(response.as_bytes()).await.unwrap();
    socket.shutdown().await.unwrap();
    String::from_utf8(request).unwrap()
}

#[tokio::test]
async fn a_signed_request_goes_out_and_the_answer_is_parsed() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let body = r#"{"Attributes":{"QueueArn":"arn:aws:sqs:us-east-1:123456789012:q"}}"#;
    let response: &'static str = Box::leak(
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_boxed_str(),
    );
    let server = tokio::spawn(serve_once(listener, response));

    let output = sqs_client(&endpoint)
        .await
        .get_queue_attributes()
        .queue_url(format!("{endpoint}/123456789012/q"))
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("the stand-in's answer is parsed");
    assert_eq!(
        output
            .attributes()
            .and_then(|attributes| attributes.get(&QueueAttributeName::QueueArn))
            .map(String::as_str),
        Some("arn:aws:sqs:us-east-1:123456789012:q")
    );

    let request = server.await.unwrap();
    let lower = request.to_ascii_lowercase();
    assert!(request.starts_with("POST / HTTP/1.1\r\n"), "{request}");
    assert!(
        lower.contains("\r\nx-amz-target: amazonsqs.getqueueattributes\r\n"),
        "{request}"
    );
    assert!(
        lower.contains("\r\nauthorization: aws4-hmac-sha256 credential=akidtest/"),
        "{request}"
    );
    assert!(
        request.contains(r#""QueueUrl":""#) && request.contains(r#""AttributeNames":["QueueArn"]"#),
        "{request}"
    );
}

#[tokio::test]
async fn a_refused_connection_is_a_retryable_io_failure() {
    // A port that was just free: nothing listens on it.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let error = sqs_client(&endpoint)
        .await
        .get_queue_attributes()
        .queue_url(format!("{endpoint}/123456789012/q"))
        .send()
        .await
        .expect_err("nothing listens");
    match error {
        SdkError::DispatchFailure(failure) => assert!(failure.is_io(), "{failure:?}"),
        other => panic!("expected a dispatch failure, got {other:?}"),
    }
}

#[tokio::test]
async fn a_silent_server_is_a_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    // Accepts and never answers.
    let _server = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(socket);
    });
    let client = sqs_client(&endpoint).await;
    let error = client
        .get_queue_attributes()
        .queue_url(format!("{endpoint}/123456789012/q"))
        .customize()
        .config_override(
            aws_sdk_sqs::config::Builder::default().timeout_config(
                aws_sdk_sqs::config::timeout::TimeoutConfig::builder()
                    .read_timeout(Duration::from_millis(300))
                    .build(),
            ),
        )
        .send()
        .await
        .expect_err("the server never answers");
    match error {
        SdkError::DispatchFailure(failure) => assert!(failure.is_timeout(), "{failure:?}"),
        other => panic!("expected a timeout, got {other:?}"),
    }
}
