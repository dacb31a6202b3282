//! The cold-start floor: the smallest `lambda_runtime` function (it echoes its event),
//! built with the same release profile and runtime as the real functions. The
//! cold-start benchmark (`bench/cold-start`) measures every function beside it.

use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| async {
        Ok::<_, Error>(event.payload)
    }))
    .await
}
