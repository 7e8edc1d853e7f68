//! ECR repositories and their lifecycle policies, with ECR's own rules checked locally.

use std::collections::BTreeMap;

use super::common::TAGS;
use crate::model::schema::{
    Attr, BlockSchema, Check, Computed, Default, ResourceSchema, Rule, Type, Violation,
};
use crate::model::value::Value;

pub static REPOSITORY: ResourceSchema = ResourceSchema {
    title: "ECR repository",
    doc: "An ECR repository for container images. Its `uri` (`<account>.dkr.ecr.<region>.amazonaws.com/<name>`) is the prefix of the images a container runs. The `lifecycle-policy` block (named so because `lifecycle` is infra's own block for `prevent-destroy` and `ignore-changes`) is written as KDL and sent as the JSON policy ECR takes (every rule expires the images it selects); ECR's reformatted policy is compared rule by rule, not as text. Ownership is in its tags. Destroying a repository that still holds images is refused with the number of images, so that no image is lost silently, unless the stack says `force-delete #true` (recorded on the repository as the tag `infra:force-delete`, so that it also holds once the repository leaves the stack).",
    rules_doc: "the rules of a `lifecycle-policy` have distinct priorities; a `tagged` rule needs `tag-prefixes`, which only `tagged` rules take; `any` only on the rule with the highest priority number; `sinceImagePushed` needs `unit \"days\"`, which `imageCountMoreThan` does not take.",
    body: &REPOSITORY_BODY,
    computed: &[
        Computed::new("arn", Type::String, "The repository's ARN."),
        Computed::new(
            "uri",
            Type::String,
            "The repository's URI (`<account>.dkr.ecr.<region>.amazonaws.com/<name>`): an image is this URI, `:` and a tag.",
        ),
    ],
    default_attribute: "uri",
    taggable: true,
    natural_key: &["name"],
    delete_phase: 120,
};

static REPOSITORY_BODY: BlockSchema = BlockSchema::new(
    "ecr-repository",
    &[
        Attr::string("name")
            .required()
            .force_new()
            .checks(&[
                Check::Length(2, 256),
                Check::Custom(repository_name, "2–256 lowercase letters, digits, `._-` between them, `/` between path parts"),
            ])
            .doc("The repository name, such as `team/api` (natural key)."),
        Attr::string("tag-mutability")
            .default(Default::Str("MUTABLE"))
            .checks(&[Check::OneOf(&["MUTABLE", "IMMUTABLE"])])
            .doc("IMMUTABLE refuses a push that moves an existing tag."),
        Attr::bool("scan-on-push")
            .default(Default::Bool(false))
            .doc("Scans every pushed image for known vulnerabilities."),
        Attr::string("encryption")
            .default(Default::Str("AES256"))
            .force_new()
            .checks(&[Check::OneOf(&["AES256", "KMS"])])
            .doc("How images are encrypted at rest: AES256 (S3-managed keys) or KMS (the account's `aws/ecr` key). ECR cannot change it: a change replaces the repository."),
        Attr::block("lifecycle-policy", &LIFECYCLE)
            .doc("Rules that expire images; omitted, the repository has no lifecycle policy."),
        Attr::bool("force-delete")
            .default(Default::Bool(false))
            .doc("Lets a destroy delete the repository with the images it holds; otherwise a destroy of a repository that holds images is refused."),
        TAGS,
    ],
);

static LIFECYCLE: BlockSchema = BlockSchema::new(
    "lifecycle-policy",
    &[Attr::blocks("rule", &LIFECYCLE_RULE)
        .required()
        .doc("One rule: which images it selects; it expires them.")],
)
.rules(&[Rule::Custom(lifecycle_rules)]);

static LIFECYCLE_RULE: BlockSchema = BlockSchema::new(
    "rule",
    &[
        Attr::int("priority")
            .required()
            .checks(&[Check::Range(1, i32::MAX as i64)])
            .doc("The order rules are evaluated in, lowest first; unique in the policy."),
        Attr::string("description")
            .doc("What the rule is for."),
        Attr::string("tag-status")
            .required()
            .checks(&[Check::OneOf(&["tagged", "untagged", "any"])])
            .doc("The images the rule looks at: tagged ones (with `tag-prefixes`), untagged ones, or any."),
        Attr::strings("tag-prefixes")
            .checks(&[Check::Length(1, 128)])
            .doc("For `tagged` rules: images with a tag starting with one of these."),
        Attr::string("count-type")
            .required()
            .checks(&[Check::OneOf(&["imageCountMoreThan", "sinceImagePushed"])])
            .doc("`imageCountMoreThan`: keep the newest `count` images; `sinceImagePushed`: expire images pushed more than `count` days ago."),
        Attr::int("count")
            .required()
            .checks(&[Check::Range(1, i32::MAX as i64)])
            .doc("The number of images, or of days."),
        Attr::string("unit")
            .checks(&[Check::OneOf(&["days"])])
            .doc("`days`, for `sinceImagePushed`."),
    ],
)
.rules(&[Rule::Custom(lifecycle_rule)]);

type CheckResult = Result<(), (String, String)>;

/// ECR's pattern: `(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*`.
fn repository_name(value: &Value) -> CheckResult {
    let Some(name) = value.as_str() else {
        return Ok(());
    };
    let help = "ECR repository names are lowercase letters and digits, with one of `.`, `_`, \
                `-` between them, and `/` between path parts (`team/api`)";
    for part in name.split('/') {
        let mut previous_separator = true;
        for c in part.chars() {
            let separator = matches!(c, '.' | '_' | '-');
            if !(separator || c.is_ascii_lowercase() || c.is_ascii_digit()) {
                return Err((
                    format!("repository name `{name}` contains `{c}`"),
                    help.into(),
                ));
            }
            if separator && previous_separator {
                return Err((
                    format!("repository name `{name}` has `{c}` where a letter or digit belongs"),
                    help.into(),
                ));
            }
            previous_separator = separator;
        }
        if previous_separator {
            return Err((
                format!("repository name `{name}` has an empty path part or ends with a separator"),
                help.into(),
            ));
        }
    }
    Ok(())
}

fn text<'v>(rule: &'v BTreeMap<String, Value>, key: &str) -> Option<&'v str> {
    rule.get(key).and_then(Value::as_str)
}

/// One rule on its own: what its tag status and count type need.
fn lifecycle_rule(rule: &BTreeMap<String, Value>) -> Option<Violation> {
    let status = text(rule, "tag-status");
    let prefixes = rule.contains_key("tag-prefixes");
    if status == Some("tagged") && !prefixes {
        return Some(Violation {
            attribute: "tag-status",
            message: "a `tagged` lifecycle rule needs `tag-prefixes`".into(),
            help: "add `tag-prefixes \"v\"`, or select `untagged` or `any` images".into(),
        });
    }
    if prefixes && status.is_some_and(|s| s != "tagged") {
        return Some(Violation {
            attribute: "tag-prefixes",
            message: "only a `tagged` lifecycle rule takes `tag-prefixes`".into(),
            help: "write `tag-status \"tagged\"`, or remove `tag-prefixes`".into(),
        });
    }
    let unit = rule.contains_key("unit");
    match text(rule, "count-type") {
        Some("sinceImagePushed") if !unit => Some(Violation {
            attribute: "count-type",
            message: "a `sinceImagePushed` lifecycle rule needs `unit \"days\"`".into(),
            help: "add `unit \"days\"`: `count` is then a number of days".into(),
        }),
        Some("imageCountMoreThan") if unit => Some(Violation {
            attribute: "unit",
            message: "an `imageCountMoreThan` lifecycle rule takes no `unit`".into(),
            help: "remove `unit`: `count` is a number of images".into(),
        }),
        _ => None,
    }
}

/// The rules together: distinct priorities, `any` only on the last one evaluated.
fn lifecycle_rules(lifecycle: &BTreeMap<String, Value>) -> Option<Violation> {
    let rules: Vec<&BTreeMap<String, Value>> = lifecycle
        .get("rule")
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_map)
        .collect();
    let priority = |r: &BTreeMap<String, Value>| r.get("priority").and_then(Value::as_int);
    let priorities: Vec<i64> = rules.iter().filter_map(|r| priority(r)).collect();
    for (n, p) in priorities.iter().enumerate() {
        if priorities[..n].contains(p) {
            return Some(Violation {
                attribute: "rule",
                message: format!("two lifecycle rules have the priority {p}"),
                help: "give every rule of the policy its own priority".into(),
            });
        }
    }
    let highest = priorities.iter().max().copied();
    for r in &rules {
        if text(r, "tag-status") == Some("any") && priority(r) != highest {
            return Some(Violation {
                attribute: "rule",
                message: format!(
                    "the lifecycle rule with priority {} selects `any` images, but a rule with a \
                     higher priority number follows it",
                    priority(r).unwrap_or_default()
                ),
                help: "ECR takes `tag-status \"any\"` only on the rule with the highest priority \
                       number: give it the highest number"
                    .into(),
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::String(v.into())
    }

    fn rule(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn repository_names_follow_ecr_pattern() {
        for good in ["api", "team/api", "a.b_c-d/e9", "x1/y2/z3"] {
            assert!(repository_name(&s(good)).is_ok(), "{good}");
        }
        for bad in [
            "Team/api",
            "team//api",
            "-api",
            "api-",
            "a..b",
            "team/",
            "/api",
            "a b",
        ] {
            let err = repository_name(&s(bad)).expect_err(bad);
            assert!(err.0.contains(bad), "{err:?}");
        }
    }

    #[test]
    fn a_rule_needs_what_its_status_and_count_type_say() {
        let tagged = rule(&[
            ("tag-status", s("tagged")),
            ("count-type", s("imageCountMoreThan")),
        ]);
        assert_eq!(
            lifecycle_rule(&tagged).map(|v| v.attribute),
            Some("tag-status")
        );
        let prefixes_untagged = rule(&[
            ("tag-status", s("untagged")),
            ("tag-prefixes", Value::List(vec![s("v")])),
            ("count-type", s("imageCountMoreThan")),
        ]);
        assert_eq!(
            lifecycle_rule(&prefixes_untagged).map(|v| v.attribute),
            Some("tag-prefixes")
        );
        let days = rule(&[
            ("tag-status", s("any")),
            ("count-type", s("sinceImagePushed")),
        ]);
        assert_eq!(
            lifecycle_rule(&days).map(|v| v.attribute),
            Some("count-type")
        );
        let count_unit = rule(&[
            ("tag-status", s("any")),
            ("count-type", s("imageCountMoreThan")),
            ("unit", s("days")),
        ]);
        assert_eq!(
            lifecycle_rule(&count_unit).map(|v| v.attribute),
            Some("unit")
        );
        let fine = rule(&[
            ("tag-status", s("tagged")),
            ("tag-prefixes", Value::List(vec![s("v")])),
            ("count-type", s("sinceImagePushed")),
            ("unit", s("days")),
        ]);
        assert!(lifecycle_rule(&fine).is_none());
    }

    fn policy(rules: &[(i64, &str)]) -> BTreeMap<String, Value> {
        let list = rules
            .iter()
            .map(|(p, status)| {
                Value::Map(rule(&[
                    ("priority", Value::Int(*p)),
                    ("tag-status", s(status)),
                ]))
            })
            .collect();
        BTreeMap::from([("rule".to_string(), Value::List(list))])
    }

    #[test]
    fn priorities_are_unique_and_any_comes_last() {
        let twice = lifecycle_rules(&policy(&[(1, "untagged"), (1, "any")])).expect("a clash");
        assert!(twice.message.contains("priority 1"), "{}", twice.message);
        let early = lifecycle_rules(&policy(&[(2, "untagged"), (1, "any")])).expect("any first");
        assert!(early.message.contains("priority 1"), "{}", early.message);
        assert!(lifecycle_rules(&policy(&[(1, "untagged"), (5, "any")])).is_none());
    }
}
