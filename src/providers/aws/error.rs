//! Turns SDK errors into [`ProviderError`]s that carry AWS's code and message, not a dump.

use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;

use crate::providers::ProviderError;

/// Converts an SDK error of `operation`.
pub fn aws<E, R>(operation: &'static str) -> impl FnOnce(SdkError<E, R>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    move |error| match &error {
        SdkError::ServiceError(service) => {
            let inner = service.err();
            ProviderError::Aws {
                operation,
                code: inner.code().map(str::to_string),
                message: match (inner.code(), inner.message()) {
                    (Some(code), Some(message)) => format!("{code}: {message}"),
                    (Some(code), None) => code.to_string(),
                    (None, Some(message)) => message.to_string(),
                    (None, None) => DisplayErrorContext(&error).to_string(),
                },
            }
        }
        _ => ProviderError::Aws {
            operation,
            code: None,
            message: DisplayErrorContext(&error).to_string(),
        },
    }
}

/// A request that could not be built (a required field missing): a bug, said plainly.
pub fn build(
    operation: &'static str,
) -> impl FnOnce(aws_smithy_types::error::operation::BuildError) -> ProviderError {
    move |e| ProviderError::Aws {
        operation,
        code: None,
        message: format!("request could not be built: {e}"),
    }
}
