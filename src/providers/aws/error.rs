//! Turns SDK errors into [`ProviderError`]s that carry AWS's code and message, not a dump,
//! and the IAM service the call belongs to (a denied call names the permission it needs).

use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;

use super::lost_response;
use crate::providers::{ProviderError, RESPONSE_LOST};

/// The IAM service prefix of the SDK crate that defines `E`.
fn iam_service<E>() -> &'static str {
    let crate_name = std::any::type_name::<E>()
        .split("::")
        .next()
        .unwrap_or_default();
    match crate_name {
        "aws_sdk_acm" => "acm",
        "aws_sdk_cloudwatch" => "cloudwatch",
        "aws_sdk_cloudwatchlogs" => "logs",
        "aws_sdk_dynamodb" => "dynamodb",
        "aws_sdk_ec2" => "ec2",
        "aws_sdk_ecs" => "ecs",
        "aws_sdk_elasticloadbalancingv2" => "elasticloadbalancing",
        "aws_sdk_resourcegroupstagging" => "tag",
        "aws_sdk_route53" => "route53",
        "aws_sdk_secretsmanager" => "secretsmanager",
        "aws_sdk_sts" => "sts",
        _ => "",
    }
}

/// Converts an SDK error of `operation`.
pub fn aws<E, R>(operation: &'static str) -> impl FnOnce(SdkError<E, R>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    move |error| {
        let service = iam_service::<E>();
        match &error {
            SdkError::ServiceError(failure) => {
                let inner = failure.err();
                ProviderError::Aws {
                    service,
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
            _ => match lost_response::find_lost(&error) {
                Some(lost) => ProviderError::Aws {
                    service,
                    operation,
                    code: Some(RESPONSE_LOST.to_string()),
                    message: lost.to_string(),
                },
                None => ProviderError::Aws {
                    service,
                    operation,
                    code: None,
                    message: DisplayErrorContext(&error).to_string(),
                },
            },
        }
    }
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
