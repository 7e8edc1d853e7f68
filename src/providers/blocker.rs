//! Failures no call of a run can get past: AWS cannot be reached, or it refuses the
//! credentials themselves. Each is said once for the run, in one sentence with its own help,
//! whichever call met it first, rather than once per kind and look-up.

use super::ProviderError;

/// Codes of a key AWS does not know (or does not know in this region).
const UNKNOWN_KEY: [&str; 3] = [
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "InvalidAccessKeyId",
];
/// Codes of a session token past its expiry.
const EXPIRED: [&str; 3] = ["ExpiredToken", "ExpiredTokenException", "RequestExpired"];
/// Codes of a signature made with the wrong secret.
const BAD_SIGNATURE: [&str; 3] = [
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "IncompleteSignature",
];

/// What stops the whole run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocker {
    /// No connection could be made.
    Unreachable { endpoint: String, cause: String },
    /// AWS does not know the access key id.
    UnknownKey { code: String },
    /// AWS could not validate the credentials (EC2 says no more than that).
    Unvalidated { code: String },
    /// The session token has expired.
    Expired { code: String },
    /// The secret does not belong to the access key id.
    BadSignature { code: String },
    /// What answered is not AWS: HTTP `status` with no AWS error in it.
    NotAws { answer: String },
    /// The key is known, but not in this region: an opt-in region the account has not enabled.
    RegionNotEnabled { region: String },
}

impl Blocker {
    /// The blocker an error is, if it is one.
    pub fn of(error: &ProviderError) -> Option<Blocker> {
        match error {
            ProviderError::Unreachable {
                endpoint, cause, ..
            } => Some(Blocker::Unreachable {
                endpoint: endpoint.clone(),
                cause: cause.clone(),
            }),
            ProviderError::Aws {
                code: Some(code),
                message,
                ..
            } if code == super::NOT_AWS => Some(Blocker::NotAws {
                answer: message.clone(),
            }),
            ProviderError::Aws {
                code: Some(code), ..
            } => Blocker::of_code(code),
            ProviderError::While { error, .. } => Blocker::of(error),
            _ => None,
        }
    }

    /// The blocker an AWS error code means, if it means one.
    pub fn of_code(code: &str) -> Option<Blocker> {
        let code = code.to_string();
        let c = code.as_str();
        if UNKNOWN_KEY.contains(&c) {
            Some(Blocker::UnknownKey { code })
        } else if c == "AuthFailure" {
            Some(Blocker::Unvalidated { code })
        } else if EXPIRED.contains(&c) {
            Some(Blocker::Expired { code })
        } else if BAD_SIGNATURE.contains(&c) {
            Some(Blocker::BadSignature { code })
        } else {
            None
        }
    }

    /// The diagnostic code.
    pub fn code(&self) -> &'static str {
        match self {
            Blocker::Unreachable { .. } | Blocker::NotAws { .. } => "infra::aws-unreachable",
            Blocker::UnknownKey { .. }
            | Blocker::Unvalidated { .. }
            | Blocker::Expired { .. }
            | Blocker::BadSignature { .. } => "infra::credentials-rejected",
            Blocker::RegionNotEnabled { .. } => "infra::region-not-enabled",
        }
    }

    /// One sentence.
    pub fn message(&self) -> String {
        match self {
            Blocker::Unreachable { endpoint, cause } => {
                format!("infra cannot reach AWS at {endpoint}: {cause}")
            }
            Blocker::NotAws { answer } => {
                format!("the endpoint infra talks to is not AWS: it answered {answer}")
            }
            Blocker::UnknownKey { code } => {
                format!("AWS does not recognise the access key infra signs with ({code})")
            }
            Blocker::Unvalidated { code } => {
                format!("AWS could not validate the credentials infra signs with ({code})")
            }
            Blocker::Expired { code } => {
                format!("the AWS session token infra signs with has expired ({code})")
            }
            Blocker::BadSignature { code } => format!(
                "AWS rejected the requests' signature: the secret access key does not belong \
                 to the access key id ({code})"
            ),
            Blocker::RegionNotEnabled { region } => format!(
                "the region `{region}` is not enabled for this AWS account: the credentials work \
                 elsewhere, but not there"
            ),
        }
    }

    /// What to check or do.
    pub fn help(&self) -> String {
        match self {
            Blocker::Unreachable { endpoint, .. } if is_aws(endpoint) => {
                "check this machine's network connection, DNS and firewall towards AWS (infra \
                 connects directly: it does not go through HTTPS_PROXY)"
                    .into()
            }
            Blocker::Unreachable { .. } => {
                "check that the endpoint --endpoint-url or AWS_ENDPOINT_URL names is running and \
                 reachable from this machine, or leave both unset to talk to AWS itself"
                    .into()
            }
            Blocker::NotAws { .. } => {
                "check the URL --endpoint-url or AWS_ENDPOINT_URL gives (an emulator's address, \
                 with its port), or, without either, what on this network answers for AWS (a \
                 captive portal, a filtering proxy)"
                    .into()
            }
            Blocker::UnknownKey { .. } => {
                "check the access key id AWS_ACCESS_KEY_ID or the AWS profile (AWS_PROFILE) \
                 gives: it may have been deleted or deactivated, or belong to another partition \
                 (China, GovCloud); `aws sts get-caller-identity` shows which key is in use"
                    .into()
            }
            Blocker::Unvalidated { .. } => {
                "check that AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the AWS profile's \
                 keys) are one pair, and that the key exists and is active"
                    .into()
            }
            Blocker::Expired { .. } => {
                "get fresh credentials (`aws sso login`, or assume the role again) and run infra \
                 again; a session token exported from an earlier session does not renew itself"
                    .into()
            }
            Blocker::BadSignature { .. } => {
                "check AWS_SECRET_ACCESS_KEY (or the profile's aws_secret_access_key): it must \
                 be the secret of the access key id in use, copied whole"
                    .into()
            }
            Blocker::RegionNotEnabled { region } => format!(
                "enable `{region}` for the account (AWS console: Account, AWS Regions; or `aws \
                 account enable-region --region-name {region}`) and wait until it is enabled, \
                 or set the stack's region to one the account uses"
            ),
        }
    }

    /// Whether AWS may be refusing a key it would accept in another region: worth asking
    /// there before saying the key is wrong.
    pub fn may_be_region(&self) -> bool {
        matches!(self, Blocker::UnknownKey { code } if code != "InvalidAccessKeyId")
    }
}

/// Whether an endpoint is AWS's own rather than one given to infra.
fn is_aws(endpoint: &str) -> bool {
    let host = endpoint
        .split("://")
        .nth(1)
        .unwrap_or(endpoint)
        .split([':', '/'])
        .next()
        .unwrap_or_default();
    ["amazonaws.com", "amazonaws.com.cn", "api.aws"]
        .iter()
        .any(|domain| host.ends_with(&format!(".{domain}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aws(code: &str) -> ProviderError {
        ProviderError::Aws {
            service: "ecs",
            operation: "DescribeClusters",
            code: Some(code.into()),
            message: format!("{code}: the message"),
        }
    }

    #[test]
    fn credential_codes_of_every_service_are_blockers() {
        for (code, blocker) in [
            ("InvalidClientTokenId", "infra::credentials-rejected"),
            ("UnrecognizedClientException", "infra::credentials-rejected"),
            ("AuthFailure", "infra::credentials-rejected"),
            ("ExpiredTokenException", "infra::credentials-rejected"),
            ("SignatureDoesNotMatch", "infra::credentials-rejected"),
        ] {
            assert_eq!(
                Blocker::of(&aws(code)).map(|b| b.code()),
                Some(blocker),
                "{code}"
            );
        }
        assert_eq!(Blocker::of(&aws("AccessDeniedException")), None);
        assert_eq!(Blocker::of(&aws("ThrottlingException")), None);
    }

    #[test]
    fn an_unreachable_emulator_is_not_blamed_on_the_network() {
        let local = Blocker::Unreachable {
            endpoint: "http://127.0.0.1:9".into(),
            cause: "connection refused".into(),
        };
        assert!(local.help().contains("--endpoint-url"));
        let aws = Blocker::Unreachable {
            endpoint: "https://ecs.eu-west-1.amazonaws.com".into(),
            cause: "DNS name not found".into(),
        };
        assert!(aws.help().contains("network connection"));
    }
}
