//! SDK errors as [`StoreError`]s: a failed condition is an outcome, not an error;
//! throttling, timeouts and server errors are transient; validation errors are not.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;

use crate::adapters::describe;
use crate::ports::{StoreError, WriteOutcome};

pub fn put_outcome<R, R2>(result: Result<R, SdkError<PutItemError, R2>>) -> Result<WriteOutcome, StoreError>
where
    R2: std::fmt::Debug,
    SdkError<PutItemError, R2>: std::error::Error,
{
    match result {
        Ok(_) => Ok(WriteOutcome::Applied),
        Err(error) => match error.as_service_error() {
            Some(PutItemError::ConditionalCheckFailedException(_)) => Ok(WriteOutcome::Superseded),
            service => Err(classify(&error, service.map(put_error_is_rejection))),
        },
    }
}

pub fn update_outcome<R, R2>(result: Result<R, SdkError<UpdateItemError, R2>>) -> Result<WriteOutcome, StoreError>
where
    R2: std::fmt::Debug,
    SdkError<UpdateItemError, R2>: std::error::Error,
{
    match result {
        Ok(_) => Ok(WriteOutcome::Applied),
        Err(error) => match error.as_service_error() {
            Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(WriteOutcome::Superseded),
            service => Err(classify(&error, service.map(update_error_is_rejection))),
        },
    }
}

/// Throttling, timeouts and server errors are transient; a validation error
/// (an item over 400 KB, say) will fail the same way every time.
pub fn classify<E: std::error::Error>(error: &E, rejected: Option<bool>) -> StoreError {
    if rejected == Some(true) {
        StoreError::Rejected(describe(error))
    } else {
        StoreError::Unavailable(describe(error))
    }
}

fn put_error_is_rejection(error: &PutItemError) -> bool {
    use aws_sdk_dynamodb::error::ProvideErrorMetadata;
    error.code() == Some("ValidationException")
}

pub fn update_error_is_rejection(error: &UpdateItemError) -> bool {
    use aws_sdk_dynamodb::error::ProvideErrorMetadata;
    error.code() == Some("ValidationException")
}
