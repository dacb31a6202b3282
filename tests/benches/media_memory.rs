//! Peak memory of keeping one large inbound media file: BENCH_MEDIA_BYTES (default 100 MiB, Meta's largest
//! document) uploaded to the Graph stand-in (streamed from a generator, never whole in memory), then the
//! worker's media job as deployed — `GraphClient` retrieve and download, the SHA-256/size checks, and
//! `S3BlobStore`'s streamed `PutObject` into the emulator — with the process's peak resident set
//! (`VmHWM`, reset just before the job) reported. The target: under 64 MB. The stand-in runs in this
//! process, so its share (reading the file back from its spool) is counted too.
//!
//! Run with `make bench-media` (it starts moto on its own port).

#![allow(clippy::unwrap_used)]

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bridge::adapters::graph::{CONNECT_TIMEOUT, GraphApi, GraphClient};
use bridge::adapters::s3::S3BlobStore;
use bridge::domain::ids::{PhoneNumberId, Wamid};
use bridge::domain::media::MediaJob;
use bridge::domain::secret::Secret;
use bridge::handlers::worker::Media;
use bytes::Bytes;
use integration_tests::Emulator;
use local_stack::graph_standin::{Standin, StandinConfig};

const TOKEN: &str = "bench-token";
const PHONE_ID: &str = "106540352242922";
const TARGET_BYTES: u64 = 64_000_000;

/// A multipart upload whose file part is generated as it is sent: the head, `size` bytes in 64 KiB
/// frames, the tail.
struct Upload {
    head: Option<Bytes>,
    block: Bytes,
    left: u64,
    tail: Option<Bytes>,
}

impl http_body::Body for Upload {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        let this = self.get_mut();
        let next = if let Some(head) = this.head.take() {
            Some(head)
        } else if this.left > 0 {
            let take = this.left.min(this.block.len() as u64);
            this.left -= take;
            Some(this.block.slice(..usize::try_from(take).unwrap()))
        } else {
            this.tail.take()
        };
        Poll::Ready(next.map(|bytes| Ok(http_body::Frame::data(bytes))))
    }

    fn size_hint(&self) -> http_body::SizeHint {
        let parts = [&self.head, &self.tail]
            .iter()
            .map(|part| part.as_ref().map_or(0, |bytes| bytes.len() as u64))
            .sum::<u64>();
        http_body::SizeHint::with_exact(parts + self.left)
    }
}

/// `VmRSS` and `VmHWM` (peak) of this process, in bytes.
fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kb| kb.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

#[tokio::main]
async fn main() {
    let size: u64 = std::env::var("BENCH_MEDIA_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100 * 1024 * 1024);
    let emu = Emulator::connect().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let graph = format!("http://{}", listener.local_addr().unwrap());
    let standin = Standin::new(StandinConfig {
        access_token: TOKEN.into(),
        app_secret: "bench".into(),
        webhook_url: String::new(),
        phone_number_id_display: "15550783881".into(),
        latency: Duration::ZERO,
        status_delay: Duration::ZERO,
        send_status_webhooks: false,
    });
    tokio::spawn(Arc::clone(&standin).serve(listener));

    let boundary = "bench-media-boundary";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"messaging_product\"\r\n\r\nwhatsapp\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\napplication/pdf\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.pdf\"\r\n\
         Content-Type: application/pdf\r\n\r\n"
    );
    let block: Vec<u8> = (0..64 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 9) as u8)
        .collect();
    let upload = Upload {
        head: Some(Bytes::from(head)),
        block: Bytes::from(block),
        left: size,
        tail: Some(Bytes::from(format!("\r\n--{boundary}--\r\n"))),
    };
    let started = Instant::now();
    let answer = reqwest::Client::new()
        .post(format!("{graph}/v26.0/{PHONE_ID}/media"))
        .bearer_auth(TOKEN)
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(reqwest::Body::wrap(upload))
        .send()
        .await
        .unwrap();
    let status = answer.status();
    let body: serde_json::Value = serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap();
    assert_eq!(status, 200, "{body}");
    let media_id = body["id"].as_str().unwrap().to_owned();
    println!(
        "uploaded {:.1} MB to the Graph stand-in in {:.1} s (media id {media_id})",
        mb(size),
        started.elapsed().as_secs_f64()
    );

    let blobs = S3BlobStore::new(emu.s3.clone(), emu.bucket());
    let media = Media {
        source: GraphClient::new(
            GraphApi::new(&graph, "v26.0", Secret::new(TOKEN.to_owned()), CONNECT_TIMEOUT, None).unwrap(),
            Duration::from_secs(10),
            Duration::from_secs(30),
        ),
        sink: blobs,
        queue: (),
        max_bytes: bridge::domain::media::META_MAX_MEDIA_BYTES,
        max_receives: 5,
        deadline_margin: Duration::ZERO,
    };
    let job = MediaJob {
        wamid: Wamid::new(format!(
            "wamid.BENCH{}",
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
        )),
        phone_number_id: Some(PhoneNumberId::new(PHONE_ID)),
        media_id,
        kind: "document".to_owned(),
        mime_type: Some("application/pdf".to_owned()),
        sha256: None,
        event: None,
    };

    // The peak from here on: the job alone.
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let (before, _) = rss();
    let started = Instant::now();
    let kept = media
        .fetch(&job, tokio::time::Instant::now() + Duration::from_secs(600))
        .await
        .unwrap();
    let elapsed = started.elapsed();
    let (after, peak) = rss();

    let bridge::domain::media::StoredMedia::Kept {
        key,
        size: kept_size,
        sha256,
        ..
    } = kept
    else {
        panic!("not kept: {kept:?}");
    };
    let head = emu
        .s3
        .head_object()
        .bucket(emu.bucket())
        .key(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(i64::try_from(size).unwrap()));
    assert_eq!(kept_size, size);
    println!(
        "kept {:.1} MB at s3://{}/{key} in {:.1} s ({:.0} MB/s), SHA-256 {sha256} checked",
        mb(size),
        emu.bucket(),
        elapsed.as_secs_f64(),
        mb(size) / elapsed.as_secs_f64()
    );
    println!(
        "resident set: {:.1} MB before the job, {:.1} MB after, peak during the job {:.1} MB (target < {:.0} MB): {}",
        mb(before),
        mb(after),
        mb(peak),
        mb(TARGET_BYTES),
        if peak < TARGET_BYTES { "under" } else { "OVER" }
    );
    if peak >= TARGET_BYTES {
        std::process::exit(1);
    }
}
