//! [`BlobStore`] on Amazon S3.

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;

use super::describe;
use crate::ports::{BlobError, BlobStore};

#[derive(Debug, Clone)]
pub struct S3BlobStore {
    client: Client,
    bucket: String,
}

impl S3BlobStore {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    /// An S3 client for `sdk_config`, path-style when a custom endpoint (an emulator) is set.
    pub fn client(sdk_config: &aws_config::SdkConfig) -> Client {
        let config = aws_sdk_s3::config::Builder::from(sdk_config)
            .force_path_style(sdk_config.endpoint_url().is_some())
            .build();
        Client::from_conf(config)
    }
}

impl BlobStore for S3BlobStore {
    fn bucket(&self) -> &str {
        &self.bucket
    }

    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), BlobError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|error| BlobError::Unavailable(describe(&error)))?;
        Ok(())
    }

    async fn get(&self, bucket: &str, key: &str) -> Result<Vec<u8>, BlobError> {
        let output = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|error| {
                if error.as_service_error().is_some_and(|e| e.is_no_such_key()) {
                    BlobError::NotFound {
                        bucket: bucket.to_owned(),
                        key: key.to_owned(),
                    }
                } else {
                    BlobError::Unavailable(describe(&error))
                }
            })?;
        let bytes = output
            .body
            .collect()
            .await
            .map_err(|error| BlobError::Unavailable(error.to_string()))?;
        Ok(bytes.into_bytes().to_vec())
    }
}
