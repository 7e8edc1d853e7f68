//! Task definition revisions as a deploy history: the outcome infra records on each revision it
//! deployed to a service once the wait ends, and what a rollback needs to know of a revision.

/// The tag on a revision that says how its last deploy by infra ended.
pub const OUTCOME_TAG: &str = "infra:outcome";
/// Who ran the deploy whose outcome is recorded (`user@host`), and when (RFC 3339): written
/// with the outcome, read by `infra status`.
pub const DEPLOYED_BY_TAG: &str = "infra:deployed-by";
pub const DEPLOYED_AT_TAG: &str = "infra:deployed-at";

/// The user and host this process runs as (`USER`/`LOGNAME`, the kernel's host name), for
/// records of who did something: a lock's holder, a deploy.
pub fn user_and_host() -> (String, String) {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown".into());
    (user, host)
}

/// `user@host` of this process, as a deploy record names it.
pub fn deployer() -> String {
    let (user, host) = user_and_host();
    format!("{user}@{host}")
}

/// `Live::private` of a service: the ARN of the task definition it runs, as ECS reported it
/// (its `task-definition` attribute may read as a bare family when the stack names one).
pub const RUNNING_TASK_DEFINITION: &str = "running-task-definition";

/// How the wait after a deploy of a revision ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The revision served: the wait succeeded.
    Verified,
    /// It did not: its deployment failed, was rolled back or replaced, or the wait timed out.
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Verified => "verified",
            Outcome::Failed => "failed",
        }
    }

    /// The outcome a tag value names; `None` for anything else.
    pub fn parse(text: &str) -> Option<Outcome> {
        match text {
            "verified" => Some(Outcome::Verified),
            "failed" => Some(Outcome::Failed),
            _ => None,
        }
    }
}

/// One container of a revision: what a rollback checks and compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionContainer {
    pub name: String,
    pub image: String,
    /// Where each secret comes from (`valueFrom`: an ARN, with or without a JSON key).
    pub secrets: Vec<String>,
}

/// A task definition revision as a rollback sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    pub arn: String,
    /// `family:revision`, as people name it.
    pub name: String,
    pub number: i64,
    /// The `infra:outcome` tag; `None` when infra never recorded one (deployed without a wait,
    /// by an older infra, or by something else).
    pub outcome: Option<Outcome>,
    /// Whether it is ACTIVE (an INACTIVE revision cannot be deployed again).
    pub active: bool,
    pub containers: Vec<RevisionContainer>,
    /// Who registered it, from its ownership tags (`infra:stack`, `infra:address`); `None`
    /// when it carries neither (not registered by infra).
    pub owner: Option<RevisionOwner>,
}

/// The stack and address a revision's ownership tags name. A family is a name anyone in the
/// account and region can register under, so a revision of the same family may be another
/// stack's (or another address's of the same stack).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionOwner {
    pub stack: String,
    pub address: String,
}

impl std::fmt::Display for RevisionOwner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` of stack `{}`", self.address, self.stack)
    }
}

#[cfg(test)]
mod tests {
    use super::Outcome;

    #[test]
    fn outcomes_read_back_what_they_write() {
        for o in [Outcome::Verified, Outcome::Failed] {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
        assert_eq!(Outcome::parse("Verified"), None);
        assert_eq!(Outcome::parse(""), None);
    }
}
