//! `GET /console` and `GET /console/{asset}` — the inbox page (docs/console.md).

use bridge::handlers::console;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    bridge::telemetry::init();
    // No configuration, no secret, no AWS client: the files are in the binary.
    bridge::compose::serve(console::handle).await
}
