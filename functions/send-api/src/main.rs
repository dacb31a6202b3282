//! `POST /messages` and `GET /messages/{id}` — the owner's send API.

use bridge::handlers::send_api::SendApi;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    bridge::telemetry::init();
    let api = SendApi::from_env().await?;
    bridge::compose::serve(|request| api.handle(request)).await
}
