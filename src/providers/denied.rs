//! What an access-denied answer says is missing: the IAM action (and resource) AWS names in
//! its message, or the call's own permission when it names none, and what to grant for the
//! actions whose fix is not where one looks first (passing a role, a KMS key, tagging).

/// AWS's codes for a missing permission.
pub const ACCESS_DENIED: [&str; 4] = [
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedAccess",
];

/// The permission a denied call lacked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    /// `iam:PassRole`, `secretsmanager:CreateSecret`.
    pub action: String,
    /// The ARN AWS named, if it named one.
    pub resource: Option<String>,
    /// Who asked (`arn:aws:iam::1:user/ci`), if AWS said.
    pub principal: Option<String>,
}

/// Actions that tag a resource: a create with tags needs them too.
const TAGGING: [&str; 6] = [
    "ecs:TagResource",
    "secretsmanager:TagResource",
    "elasticloadbalancing:AddTags",
    "logs:TagResource",
    "logs:TagLogGroup",
    "cloudwatch:TagResource",
];

impl Denied {
    /// Reads AWS's message (`User: arn:... is not authorized to perform: iam:PassRole on
    /// resource: arn:... because ...`); without an action in it, the call's own permission.
    pub fn of(service: &str, operation: &str, message: &str) -> Option<Denied> {
        let word = |after: &str| {
            let start = message.find(after)? + after.len();
            let token = message[start..].split_whitespace().next()?;
            let token = token.trim_end_matches(['.', ',', ';']);
            (!token.is_empty()).then(|| token.to_string())
        };
        let action = word("perform: ").filter(|a| a.contains(':'));
        let principal = word("User: ").filter(|p| p.starts_with("arn:"));
        match action {
            Some(action) => Some(Denied {
                action,
                resource: word("on resource: "),
                principal,
            }),
            None if !service.is_empty() => Some(Denied {
                action: format!("{service}:{operation}"),
                resource: None,
                principal,
            }),
            None => None,
        }
    }

    /// `` `iam:PassRole` on `arn:...` ``, for a sentence.
    pub fn permission(&self) -> String {
        match &self.resource {
            Some(resource) => format!("`{}` on `{resource}`", self.action),
            None => format!("`{}`", self.action),
        }
    }

    /// What to do about it.
    pub fn help(&self, operation: &str) -> String {
        let who = match &self.principal {
            Some(p) => format!("`{p}`"),
            None => "the identity infra runs as".into(),
        };
        let grant = format!("grant {} to {who}", self.permission());
        if self.action == "iam:PassRole" {
            format!(
                "{operation} hands a role to AWS (an execution role, a task role), and the \
                 credentials must be allowed to pass it: {grant}"
            )
        } else if self.action.starts_with("kms:") {
            format!(
                "the KMS key's own policy (or a grant) decides who may use it, whatever IAM \
                 allows: add {who} to the key policy for `{}`, or {grant} through a grant",
                self.action
            )
        } else if TAGGING.contains(&self.action.as_str()) && !operation.contains("Tag") {
            format!(
                "{operation} creates the resource with its tags (ownership included), which \
                 needs the tagging permission as well: {grant}"
            )
        } else {
            grant
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_action_and_resource_come_from_aws_message() {
        let d = Denied::of(
            "ecs",
            "RegisterTaskDefinition",
            "User: arn:aws:iam::1:user/ci is not authorized to perform: iam:PassRole on \
             resource: arn:aws:iam::1:role/exec because no identity-based policy allows the \
             iam:PassRole action",
        )
        .expect("a denial");
        assert_eq!(d.action, "iam:PassRole");
        assert_eq!(d.resource.as_deref(), Some("arn:aws:iam::1:role/exec"));
        assert_eq!(d.principal.as_deref(), Some("arn:aws:iam::1:user/ci"));
        assert!(
            d.help("RegisterTaskDefinition")
                .contains("allowed to pass it")
        );
    }

    #[test]
    fn without_an_action_in_the_message_the_call_names_it() {
        let d = Denied::of(
            "ec2",
            "DescribeVpcs",
            "You are not authorized to perform this operation.",
        )
        .expect("a denial");
        assert_eq!(d.action, "ec2:DescribeVpcs");
        assert_eq!(d.resource, None);
        assert_eq!(
            d.help("DescribeVpcs"),
            "grant `ec2:DescribeVpcs` to the identity infra runs as"
        );
    }

    #[test]
    fn kms_and_tag_on_create_denials_say_where_the_permission_lives() {
        let kms = Denied::of(
            "secretsmanager",
            "BatchGetSecretValue",
            "User: arn:aws:iam::1:user/ci is not authorized to perform: kms:Decrypt on \
             resource: arn:aws:kms:eu-west-1:1:key/k.",
        )
        .expect("a denial");
        assert_eq!(
            kms.resource.as_deref(),
            Some("arn:aws:kms:eu-west-1:1:key/k")
        );
        assert!(kms.help("BatchGetSecretValue").contains("key policy"));
        let tags = Denied::of(
            "ecs",
            "CreateCluster",
            "User: arn:aws:iam::1:user/ci is not authorized to perform: ecs:TagResource on \
             resource: arn:aws:ecs:eu-west-1:1:cluster/web",
        )
        .expect("a denial");
        assert!(tags.help("CreateCluster").contains("tagging permission"));
        assert!(!tags.help("TagResource").contains("tagging permission"));
    }
}
