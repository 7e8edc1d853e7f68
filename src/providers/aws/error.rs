//! Turns SDK errors into [`ProviderError`]s that carry AWS's code and message, not a dump,
//! and the IAM service the call belongs to (a denied call names the permission it needs).

use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

use super::{lost_response, unreachable};
use crate::providers::{NOT_AWS, ProviderError, RESPONSE_LOST};

/// The IAM service prefix of the SDK crate that defines `E` (from the list of services in
/// `aws/mod.rs`, where every client is made).
fn iam_service<E>() -> &'static str {
    let crate_name = std::any::type_name::<E>()
        .split("::")
        .next()
        .unwrap_or_default();
    super::iam_prefix(crate_name).unwrap_or_default()
}

/// Converts an SDK error of `operation`.
pub fn aws<E>(operation: &'static str) -> impl FnOnce(SdkError<E, HttpResponse>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    move |error| {
        let service = iam_service::<E>();
        let failed = |code: Option<&str>, message: String| ProviderError::Aws {
            service,
            operation,
            code: code.map(str::to_string),
            message,
        };
        match &error {
            SdkError::ServiceError(failure) => {
                let inner = failure.err();
                let status = failure.raw().status().as_u16();
                match (inner.code(), inner.message()) {
                    (Some(code), Some(message)) => failed(Some(code), format!("{code}: {message}")),
                    (Some(code), None) => failed(Some(code), code.to_string()),
                    (None, Some(message)) => failed(None, message.to_string()),
                    // Something that is not AWS answered (a wrong URL, a captive portal).
                    (None, None) if status < 500 => failed(
                        Some(NOT_AWS),
                        format!("HTTP {status} without an AWS error in it"),
                    ),
                    (None, None) => {
                        failed(None, format!("HTTP {status} without an AWS error in it"))
                    }
                }
            }
            _ => {
                if let Some(unreachable) = find::<unreachable::Unreachable>(&error) {
                    return ProviderError::Unreachable {
                        operation,
                        endpoint: unreachable.endpoint.clone(),
                        cause: unreachable.cause.clone(),
                    };
                }
                if let Some(lost) = lost_response::find_lost(&error) {
                    return failed(Some(RESPONSE_LOST), lost.to_string());
                }
                let what = match &error {
                    SdkError::TimeoutError(_) => "no answer in time",
                    SdkError::DispatchFailure(_) => "the request could not be sent",
                    SdkError::ResponseError(_) => "the answer could not be read",
                    SdkError::ConstructionFailure(_) => "the request could not be built",
                    _ => "the call failed",
                };
                match std::error::Error::source(&error).map(chain) {
                    Some(causes) if !causes.is_empty() => failed(None, format!("{what}: {causes}")),
                    _ => failed(None, what.to_string()),
                }
            }
        }
    }
}

/// An error of type `T` anywhere in `error`'s chain of sources.
fn find<'a, T: std::error::Error + 'static>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        next = e.source();
    }
    None
}

/// An error and its sources, each as it displays itself (never its debug form), without
/// repeating what the one before already said.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && !parts.last().is_some_and(|last| last.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// A request that could not be built (a required field missing): a bug, said plainly.
pub fn build(
    operation: &'static str,
) -> impl FnOnce(aws_smithy_types::error::operation::BuildError) -> ProviderError {
    move |e| ProviderError::Aws {
        service: "",
        operation,
        code: None,
        message: format!("request could not be built: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_denied_call_names_the_permission_it_needs() {
        let service = iam_service::<aws_sdk_ecs::operation::create_service::CreateServiceError>();
        assert_eq!(service, "ecs");
        let error = ProviderError::Aws {
            service,
            operation: "CreateService",
            code: Some("AccessDeniedException".into()),
            message: "AccessDeniedException: not authorized".into(),
        };
        assert!(
            error
                .to_string()
                .contains("IAM permission `ecs:CreateService`"),
            "{error}"
        );
        let elb = iam_service::<
            aws_sdk_elasticloadbalancingv2::operation::create_rule::CreateRuleError,
        >();
        assert_eq!(elb, "elasticloadbalancing");
    }
}
