//! Reachability and round-trip time of the local dependencies (moto, the Graph API
//! stand-in), so the report can say when a cold start waits on them.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `host:port` of an `http://` or `https://` URL (default ports 80 and 443).
pub fn host_port(url: &str) -> Option<String> {
    let (rest, default_port) = if let Some(rest) = url.strip_prefix("http://") {
        (rest, 80)
    } else if let Some(rest) = url.strip_prefix("https://") {
        (rest, 443)
    } else {
        return None;
    };
    let authority = rest.split(['/', '?', '#']).next().filter(|a| !a.is_empty())?;
    if authority
        .rsplit_once(':')
        .is_some_and(|(_, port)| port.parse::<u16>().is_ok())
    {
        Some(authority.to_owned())
    } else {
        Some(format!("{authority}:{default_port}"))
    }
}

/// Whether a TCP connection to `addr` opens within `timeout`.
pub async fn reachable(addr: &str, timeout: Duration) -> bool {
    matches!(tokio::time::timeout(timeout, TcpStream::connect(addr)).await, Ok(Ok(_)))
}

/// Time of one HTTP/1.1 `GET /` on a new connection (connect, request, whole response),
/// or `None` if the server does not answer within `timeout`.
pub async fn http_round_trip(addr: &str, timeout: Duration) -> Option<Duration> {
    let started = Instant::now();
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        let request = format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        Ok::<_, std::io::Error>(response.starts_with(b"HTTP/1."))
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(Ok(true)) => Some(started.elapsed()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_of_urls() {
        assert_eq!(host_port("http://127.0.0.1:4566").as_deref(), Some("127.0.0.1:4566"));
        assert_eq!(
            host_port("http://127.0.0.1:3001/v21.0").as_deref(),
            Some("127.0.0.1:3001")
        );
        assert_eq!(
            host_port("https://graph.facebook.com").as_deref(),
            Some("graph.facebook.com:443")
        );
        assert_eq!(host_port("localhost:80"), None);
        assert_eq!(host_port("http://"), None);
    }
}
