//! Calls that must not be repeated blindly when their response is lost.
//!
//! The SDK retries a request whose connection dropped, or whose attempt timed out. For a create
//! that is a gamble: AWS may have acted on the first request, and the retry then makes a second
//! task-definition revision or fails as a duplicate. For those operations this interceptor
//! turns a connection failure or an attempt timeout into [`ResponseLost`], which no retry
//! classifier retries; the apply step then looks the resource up by its natural key before it
//! tries again (`apply::recover`).

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextMut;
use aws_smithy_runtime_api::client::orchestrator::{Metadata, OrchestratorError};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// The request may have taken effect; its answer never arrived.
#[derive(Debug, thiserror::Error)]
#[error("the response to {operation} was lost, and AWS may have acted on it ({cause})")]
pub struct ResponseLost {
    pub operation: String,
    cause: String,
}

/// Operations that create something each time they run, or whose retry fails as a duplicate.
pub fn creates_each_time(operation: &str) -> bool {
    ["Create", "Register", "Run", "Start", "Request"]
        .iter()
        .any(|prefix| operation.starts_with(prefix))
        || matches!(operation, "PutItem" | "ChangeResourceRecordSets")
}

#[derive(Debug, Clone, Default)]
pub struct NoBlindRetry;

impl Intercept for NoBlindRetry {
    fn name(&self) -> &'static str {
        "infra-no-blind-retry"
    }

    fn modify_before_attempt_completion(
        &self,
        context: &mut FinalizerInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(operation) = cfg.load::<Metadata>().map(|m| m.name().to_string()) else {
            return Ok(());
        };
        if !creates_each_time(&operation) {
            return Ok(());
        }
        let Some(result) = context.output_or_error_mut() else {
            return Ok(());
        };
        let cause = match result {
            Err(error) if error.is_timeout_error() => {
                "the attempt timed out (--request-timeout)".to_string()
            }
            Err(error) => match error.as_connector_error() {
                Some(connector) => {
                    let mut cause = connector.to_string();
                    let mut source = std::error::Error::source(connector);
                    while let Some(inner) = source {
                        cause = format!("{cause}: {inner}");
                        source = inner.source();
                    }
                    cause
                }
                None => return Ok(()),
            },
            Ok(_) => return Ok(()),
        };
        *result = Err(OrchestratorError::other(ResponseLost { operation, cause }));
        Ok(())
    }
}

/// The lost response anywhere in `error`'s chain of sources.
pub fn find_lost<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a ResponseLost> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(lost) = e.downcast_ref::<ResponseLost>() {
            return Some(lost);
        }
        next = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_and_conditional_writes_are_not_retried_blindly() {
        for op in [
            "CreateSecret",
            "RegisterTaskDefinition",
            "CreateRule",
            "PutItem",
            "ChangeResourceRecordSets",
        ] {
            assert!(creates_each_time(op), "{op}");
        }
        for op in [
            "DescribeServices",
            "PutMetricAlarm",
            "ModifyListener",
            "DeleteSecret",
        ] {
            assert!(!creates_each_time(op), "{op}");
        }
    }
}
