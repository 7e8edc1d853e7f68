//! The secrets containers read from outside the stack (an ARN written in `secrets`): each must
//! exist, have a current version and not be scheduled for deletion, or the tasks never start.
//! Read with `DescribeSecret`, never their values. The stack's own secrets are the plan's
//! business (created, written, or warned about when nobody gives them a value).

use futures::future::join_all;

use crate::lang::Diagnostic;
use crate::model::{Kind, Span, Stack, Value};
use crate::providers::preflight::{Preflight, SecretState};

/// One secret a container reads, by the ARN of the secret itself.
pub struct Read {
    arn: String,
    variable: String,
    container: String,
    span: Span,
}

/// The Secrets Manager secret an ECS `valueFrom` names, without its JSON key, version stage
/// and version id (`arn:aws:secretsmanager:<region>:<account>:secret:<name>[:key:stage:id]`);
/// `None` for anything else (an SSM parameter, a reference not known yet).
pub fn secret_arn(value_from: &str) -> Option<&str> {
    let parts: Vec<&str> = value_from.splitn(8, ':').collect();
    if parts.len() < 7 || parts[0] != "arn" || parts[2] != "secretsmanager" || parts[5] != "secret"
    {
        return None;
    }
    let end: usize = parts[..7].iter().map(|p| p.len()).sum::<usize>() + 6;
    Some(&value_from[..end])
}

/// Every secret read from outside the stack, in the stack's region.
pub fn collect(stack: &Stack) -> Vec<Read> {
    let mut out = Vec::new();
    for r in stack
        .resources
        .iter()
        .filter(|r| r.kind() == Kind::TaskDefinition)
    {
        let Some(Value::List(containers)) = r.attrs.get("container") else {
            continue;
        };
        for (ci, c) in containers.iter().enumerate() {
            let Some(c) = c.as_map() else { continue };
            let Some(secrets) = c.get("secrets").and_then(Value::as_map) else {
                continue;
            };
            let container = c.get("name").and_then(Value::as_str).unwrap_or("?");
            for (variable, value) in secrets {
                let Some(arn) = value.as_str().and_then(secret_arn) else {
                    continue;
                };
                if arn.split(':').nth(3) != Some(stack.region.as_str()) {
                    continue;
                }
                out.push(Read {
                    arn: arn.to_string(),
                    variable: variable.clone(),
                    container: container.to_string(),
                    span: stack.span_of(r, &format!("container.{ci}.secrets.{variable}")),
                });
            }
        }
    }
    out
}

/// A diagnostic for every secret that tasks could not read.
pub async fn check(reads: Vec<Read>, preflight: &dyn Preflight) -> Vec<Diagnostic> {
    let mut arns: Vec<&str> = reads.iter().map(|r| r.arn.as_str()).collect();
    arns.sort_unstable();
    arns.dedup();
    let states = join_all(arns.iter().map(|arn| preflight.secret(arn))).await;
    let mut out = Vec::new();
    for read in &reads {
        let Some(i) = arns.iter().position(|a| *a == read.arn) else {
            continue;
        };
        let (what, help) = match &states[i] {
            Ok(SecretState::Current) => continue,
            Ok(SecretState::Missing) => (
                "does not exist".to_string(),
                "create it (or declare it in the stack as a `secret`), or fix the ARN".to_string(),
            ),
            Ok(SecretState::ScheduledForDeletion) => (
                "is scheduled for deletion".to_string(),
                "restore it (`aws secretsmanager restore-secret --secret-id …`) or point at its \
                 replacement"
                    .to_string(),
            ),
            Ok(SecretState::NoCurrentVersion) => (
                "has no current value".to_string(),
                "give it a value (`aws secretsmanager put-secret-value --secret-id … \
                 --secret-string …`)"
                    .to_string(),
            ),
            Err(e) => (
                format!("cannot be checked: {e}"),
                "reading it needs secretsmanager:DescribeSecret (never its value)".to_string(),
            ),
        };
        out.push(
            Diagnostic::new(
                "infra::secret-unreadable",
                format!(
                    "`{}` of container `{}` reads a secret that {what}: its tasks would not start",
                    read.variable, read.container
                ),
            )
            .label(read.span, "this secret")
            .help(help),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::secret_arn;

    #[test]
    fn a_value_from_names_its_secret_without_key_or_version() {
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf";
        assert_eq!(secret_arn(arn), Some(arn));
        assert_eq!(secret_arn(&format!("{arn}:password::")), Some(arn));
        assert_eq!(
            secret_arn(&format!("{arn}:password:AWSCURRENT:")),
            Some(arn)
        );
        assert_eq!(
            secret_arn("arn:aws:ssm:us-east-1:123456789012:parameter/db"),
            None
        );
        assert_eq!(secret_arn("db-password"), None);
    }
}
