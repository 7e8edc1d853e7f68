//! IAM roles (ECS task and execution roles): trust policy, inline policies written as KDL
//! statements, managed policy attachments, and IAM's limits as local checks.

use std::collections::BTreeMap;

use super::common::TAGS;
use crate::model::policy;
use crate::model::schema::{
    Attr, BlockSchema, Check, Computed, Default, ResourceSchema, Rule, Type, Violation,
};
use crate::model::value::Value;

type CheckResult = Result<(), (String, String)>;

/// Managed policies a role may have attached: IAM's default quota (20 with a quota raise,
/// which infra does not assume).
pub const MAX_MANAGED_POLICIES: usize = 10;
/// Characters of all inline policies of a role together, whitespace not counted.
pub const MAX_INLINE_POLICY_CHARS: usize = 10_240;
/// Characters of a role's trust policy (IAM's default quota).
pub const MAX_TRUST_POLICY_CHARS: usize = 2_048;

pub static ROLE: ResourceSchema = ResourceSchema {
    title: "IAM role",
    doc: "An IAM role, such as the task role or the execution role of an ECS task definition. `trust \"ecs-tasks\"` lets ECS tasks assume it (shorthand for `ecs-tasks.amazonaws.com`); `trust { statement { ... } }` writes the trust policy in full. Inline policies are written as KDL statements, rendered to IAM's JSON (version 2012-10-17) and compared by meaning: a single value and a one-item list, the order of actions, resources, principals and condition values, whitespace and the URL-encoding IAM returns documents in are no difference; the order of statements is (the plan numbers them, `policy.read-secrets.statement[1].actions`). Managed policies are attached and detached one by one. IAM is global: ownership is the role's tags `infra:stack`, `infra:address` and `infra:region` (the stack's region), so the same stack name in another region is another owner, never adopted nor deleted. Finding the roles a stack no longer declares costs one ListRoles page per 1,000 roles of the account plus one ListRoleTags per role (service-linked roles excepted): IAM's tagging index (GetResources) does not cover roles. Deleting a role detaches its managed policies and deletes its inline policies first. Limits checked before any call: at most 10 managed policies (IAM's default quota), inline policies together at most 10,240 characters and the trust policy at most 2,048 (whitespace not counted; a value known only after apply is counted by apply, before its call).",
    rules_doc: "Inline policies together at most 10,240 characters; the trust policy at most 2,048 characters (whitespace not counted).",
    body: &ROLE_BODY,
    computed: &[
        Computed::new(
            "arn",
            Type::String,
            "The role's ARN (what a task definition's `task-role` and `execution-role` take).",
        ),
        Computed::new(
            "id",
            Type::String,
            "The role's unique id (RoleId, `AROA…`).",
        ),
    ],
    default_attribute: "arn",
    taggable: true,
    natural_key: &["name"],
    delete_phase: 115,
};

static ROLE_BODY: BlockSchema = BlockSchema::new(
    "iam-role",
    &[
        Attr::string("name")
            .required()
            .force_new()
            .checks(&[Check::Custom(role_name, "1–64 letters, digits, `+=,.@_-`")])
            .doc("The role name (natural key), unique in the account across regions."),
        Attr::string("path")
            .default(Default::Str("/"))
            .force_new()
            .checks(&[Check::Custom(
                role_path,
                "`/` or `/…/`, at most 512 printable ASCII characters",
            )])
            .doc("The path the role is filed under."),
        Attr::string("description")
            .checks(&[
                Check::Length(0, 1000),
                Check::Custom(description, "printable characters, tabs and newlines"),
            ])
            .doc("Shown in the console."),
        Attr::int("max-session-duration")
            .default(Default::Int(3600))
            .checks(&[Check::Range(3600, 43200)])
            .doc("Seconds a session of the role lasts at most (1 to 12 hours)."),
        Attr::block("trust", &TRUST)
            .required()
            .doc("Who may assume the role: `trust \"ecs-tasks\"`, or statements in full."),
        Attr::strings("managed-policies")
            .checks(&[
                Check::Count(0, MAX_MANAGED_POLICIES),
                Check::Custom(policy_arns, "IAM policy ARNs (`arn:aws:iam::…:policy/…`)"),
            ])
            .doc(
                "ARNs of managed policies attached to the role (at most 10, IAM's default quota).",
            ),
        Attr::blocks("policy", &INLINE_POLICY)
            .doc("Inline policies, each named and made of statements."),
        TAGS,
    ],
)
.rules(&[Rule::Custom(policy_sizes)]);

static TRUST: BlockSchema = BlockSchema::new(
    "trust",
    &[
        Attr::string("service")
            .checks(&[Check::Length(1, 256)])
            .doc("Shorthand: this service principal may assume the role (`ecs-tasks` means `ecs-tasks.amazonaws.com`)."),
        Attr::blocks("statement", &TRUST_STATEMENT)
            .doc("Statements of the trust policy, in full."),
    ],
)
.label("service")
.rules(&[Rule::AtLeastOneOf(&["service", "statement"])]);

static INLINE_POLICY: BlockSchema = BlockSchema::new(
    "policy",
    &[
        Attr::string("name")
            .required()
            .checks(&[Check::Custom(
                policy_name,
                "1–128 letters, digits, `+=,.@_-`",
            )])
            .doc("The policy's name on the role."),
        Attr::blocks("statement", &STATEMENT)
            .required()
            .doc("The policy's statements, numbered in the plan from 1 in the order written."),
    ],
)
.label("name");

const SID: Attr = Attr::string("sid")
    .checks(&[Check::Custom(sid, "letters and digits")])
    .doc("The statement's id (`Sid`).");
const EFFECT: Attr = Attr::string("effect")
    .default(Default::Str("Allow"))
    .checks(&[Check::OneOf(&["Allow", "Deny"])])
    .doc("`Allow` or `Deny`.");
const ACTIONS: Attr = Attr::strings("actions")
    .checks(&[ACTION])
    .doc("Actions, `service:Action` with `*` and `?` wildcards, or `*`.");
const NOT_ACTIONS: Attr = Attr::strings("not-actions")
    .checks(&[ACTION])
    .doc("Every action but these (`NotAction`).");
const CONDITION: Attr = Attr::blocks("condition", &CONDITION_BLOCK)
    .doc("Conditions: `condition { test \"StringEquals\"; variable \"aws:SourceAccount\"; values \"123456789012\" }`.");

const ACTION: Check = Check::Custom(actions, "`service:Action` (wildcards `*`, `?`) or `*`");

static STATEMENT: BlockSchema = BlockSchema::new(
    "statement",
    &[
        SID,
        EFFECT,
        ACTIONS,
        NOT_ACTIONS,
        Attr::strings("resources").doc("Resource ARNs (wildcards allowed), or `*`."),
        Attr::strings("not-resources").doc("Every resource but these (`NotResource`)."),
        CONDITION,
    ],
)
.by_position()
.rules(&[
    Rule::ExactlyOneOf(&["actions", "not-actions"]),
    Rule::ExactlyOneOf(&["resources", "not-resources"]),
]);

static TRUST_STATEMENT: BlockSchema = BlockSchema::new(
    "statement",
    &[
        SID,
        EFFECT,
        ACTIONS,
        NOT_ACTIONS,
        Attr::block("principal", &PRINCIPAL)
            .required()
            .doc("Who the statement is about."),
        CONDITION,
    ],
)
.by_position()
.rules(&[Rule::ExactlyOneOf(&["actions", "not-actions"])]);

static PRINCIPAL: BlockSchema = BlockSchema::new(
    "principal",
    &[
        Attr::strings("service").doc("Service principals (`ecs-tasks.amazonaws.com`)."),
        Attr::strings("aws").doc("Accounts, users and roles by ARN (IAM may rewrite an account id as its `:root` ARN), or `*`."),
        Attr::strings("federated").doc("Identity providers."),
        Attr::strings("canonical-user").doc("S3 canonical user ids."),
    ],
)
.rules(&[Rule::AtLeastOneOf(&["service", "aws", "federated", "canonical-user"])]);

static CONDITION_BLOCK: BlockSchema = BlockSchema::new(
    "condition",
    &[
        Attr::string("test")
            .required()
            .checks(&[Check::Custom(condition_test, "an IAM condition operator, with an optional `ForAllValues:`/`ForAnyValue:` prefix and `IfExists` suffix")])
            .doc("The condition operator (`StringEquals`, `ArnLike`, ...)."),
        Attr::string("variable")
            .required()
            .checks(&[Check::Length(1, 256)])
            .doc("The context key (`aws:SourceAccount`)."),
        Attr::strings("values")
            .required()
            .doc("The values compared with it (any one matches)."),
    ],
)
.by_position();

/// IAM's name characters: letters, digits and `+=,.@_-` (`[\w+=,.@-]`).
fn iam_name(value: &Value, what: &str, max: usize) -> CheckResult {
    let Some(name) = value.as_str() else {
        return Ok(());
    };
    let help = format!("{what}s are 1 to {max} letters, digits and + = , . @ _ -");
    let n = name.chars().count();
    if n == 0 || n > max {
        return Err((format!("{what} `{name}` is {n} characters long"), help));
    }
    match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "+=,.@_-".contains(*c)))
    {
        Some(bad) => Err((format!("{what} `{name}` contains `{bad}`"), help)),
        None => Ok(()),
    }
}

fn role_name(value: &Value) -> CheckResult {
    iam_name(value, "role name", 64)
}

fn policy_name(value: &Value) -> CheckResult {
    iam_name(value, "policy name", 128)
}

fn role_path(value: &Value) -> CheckResult {
    let Some(path) = value.as_str() else {
        return Ok(());
    };
    let help = "a path is `/` or begins and ends with `/` (`/ecs/`), at most 512 printable \
                ASCII characters";
    if path.len() > 512 || !path.starts_with('/') || !path.ends_with('/') {
        return Err((format!("`{path}` is not an IAM path"), help.into()));
    }
    match path.chars().find(|c| !('!'..='~').contains(c)) {
        Some(bad) => Err((format!("path `{path}` contains `{bad}`"), help.into())),
        None => Ok(()),
    }
}

fn description(value: &Value) -> CheckResult {
    let Some(text) = value.as_str() else {
        return Ok(());
    };
    // IAM's pattern: tab, newline, carriage return, printable ASCII and Latin-1.
    match text.chars().find(|c| {
        !(matches!(c, '\t' | '\n' | '\r')
            || (' '..='~').contains(c)
            || ('\u{A1}'..='\u{FF}').contains(c))
    }) {
        Some(bad) => Err((
            format!("the description contains `{}`", bad.escape_default()),
            "IAM descriptions take printable ASCII and Latin-1 characters, tabs and newlines"
                .into(),
        )),
        None => Ok(()),
    }
}

fn sid(value: &Value) -> CheckResult {
    match value.as_str() {
        Some(sid) if sid.is_empty() || !sid.chars().all(|c| c.is_ascii_alphanumeric()) => Err((
            format!("statement id `{sid}` is not letters and digits"),
            "a `sid` is made of letters and digits only (`ReadSecrets`)".into(),
        )),
        _ => Ok(()),
    }
}

fn each_string(value: &Value, f: impl Fn(&str) -> CheckResult) -> CheckResult {
    match value {
        Value::List(items) => items.iter().filter_map(Value::as_str).try_for_each(f),
        Value::String(s) => f(s),
        _ => Ok(()),
    }
}

fn actions(value: &Value) -> CheckResult {
    each_string(value, |action| {
        if action == "*" {
            return Ok(());
        }
        let help = "an action is `service:Action`, such as `secretsmanager:GetSecretValue` or \
                    `s3:Get*`; `*` alone is every action";
        let Some((service, name)) = action.split_once(':') else {
            return Err((format!("`{action}` is not `service:Action`"), help.into()));
        };
        let service_ok = !service.is_empty()
            && service
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        let name_ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '*' || c == '?');
        if service_ok && name_ok {
            Ok(())
        } else {
            Err((format!("`{action}` is not `service:Action`"), help.into()))
        }
    })
}

fn policy_arns(value: &Value) -> CheckResult {
    each_string(value, |arn| {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let ok = parts.len() == 6
            && parts[0] == "arn"
            && parts[1].starts_with("aws")
            && parts[2] == "iam"
            && parts[3].is_empty()
            && parts[5].starts_with("policy/");
        if ok {
            Ok(())
        } else {
            Err((
                format!("`{arn}` is not an IAM policy ARN"),
                "managed policies are named by ARN: \
                 arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy, or \
                 arn:aws:iam::<account>:policy/<name>"
                    .into(),
            ))
        }
    })
}

/// IAM's condition operators (the `IfExists` suffix and set prefixes come on top).
const CONDITION_TESTS: &[&str] = &[
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "NotIpAddress",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "Null",
];

fn condition_test(value: &Value) -> CheckResult {
    let Some(test) = value.as_str() else {
        return Ok(());
    };
    let bare = test
        .strip_prefix("ForAllValues:")
        .or_else(|| test.strip_prefix("ForAnyValue:"))
        .unwrap_or(test);
    let bare = match bare.strip_suffix("IfExists") {
        Some(b) if b != "Null" => b,
        _ => bare,
    };
    if CONDITION_TESTS.contains(&bare) {
        return Ok(());
    }
    let near = (bare.len() <= 64)
        .then(|| {
            CONDITION_TESTS
                .iter()
                .min_by_key(|t| strsim::damerau_levenshtein(t, bare))
                .filter(|t| strsim::damerau_levenshtein(t, bare) <= 2)
        })
        .flatten();
    let help = match near {
        Some(c) => format!("did you mean \"{c}\"?"),
        None => {
            "use an IAM condition operator such as StringEquals, StringLike, ArnLike or Bool".into()
        }
    };
    Err((format!("\"{test}\" is not an IAM condition operator"), help))
}

/// The characters of a role's inline policies together and of its trust policy, rendered
/// (values not known yet count as empty).
pub fn policy_chars(body: &BTreeMap<String, Value>) -> (usize, usize) {
    let inline = body
        .get("policy")
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(|p| p.as_map()?.get("statement")?.as_list())
        .map(|statements| policy::render(statements, true).map_or(0, |doc| doc.chars().count()))
        .sum();
    let trust = body
        .get("trust")
        .and_then(Value::as_map)
        .map(|t| {
            let mut t = t.clone();
            policy::expand_trust(&mut t);
            t.get("statement")
                .and_then(Value::as_list)
                .and_then(|s| policy::render(s, true).ok())
                .map_or(0, |doc| doc.chars().count())
        })
        .unwrap_or(0);
    (inline, trust)
}

/// What is wrong with the sizes of a role's rendered policies, if anything.
pub fn size_problem(body: &BTreeMap<String, Value>) -> Option<Violation> {
    let (inline, trust) = policy_chars(body);
    if inline > MAX_INLINE_POLICY_CHARS {
        return Some(Violation {
            attribute: "policy",
            message: format!(
                "the inline policies render to {inline} characters; IAM takes at most \
                 {MAX_INLINE_POLICY_CHARS} per role"
            ),
            help: "move statements into a managed policy (`managed-policies`), or merge \
                   statements that share their actions or resources"
                .into(),
        });
    }
    if trust > MAX_TRUST_POLICY_CHARS {
        return Some(Violation {
            attribute: "trust",
            message: format!(
                "the trust policy renders to {trust} characters; IAM takes at most \
                 {MAX_TRUST_POLICY_CHARS} by default"
            ),
            help: "merge statements of the trust policy, or ask AWS to raise the role trust \
                   policy length quota (up to 4,096)"
                .into(),
        });
    }
    None
}

fn policy_sizes(body: &BTreeMap<String, Value>) -> Option<Violation> {
    size_problem(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::String(v.into())
    }

    fn rejects(check: fn(&Value) -> CheckResult, v: Value) -> String {
        check(&v).expect_err("rejected").0
    }

    #[test]
    fn names_paths_and_arns_follow_iam() {
        assert!(role_name(&s("app-task_role+=,.@")).is_ok());
        assert!(rejects(role_name, s(&"r".repeat(65))).contains("65 characters"));
        assert!(rejects(role_name, s("task role")).contains("contains ` `"));
        assert!(rejects(role_name, s("")).contains("0 characters"));
        assert!(role_path(&s("/")).is_ok());
        assert!(role_path(&s("/ecs/shop/")).is_ok());
        assert!(role_path(&s("/ecs")).is_err());
        assert!(role_path(&s(&format!("/{}/", "a".repeat(511)))).is_err());
        let good = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";
        assert!(policy_arns(&Value::List(vec![s(good)])).is_ok());
        assert!(policy_arns(&Value::List(vec![s("arn:aws:s3:::bucket")])).is_err());
        assert!(matches!(
            ROLE_BODY.attr("managed-policies").map(|a| a.checks[0]),
            Some(Check::Count(0, 10))
        ));
        assert!(policy_name(&s(&"p".repeat(128))).is_ok());
        assert!(policy_name(&s(&"p".repeat(129))).is_err());
        assert!(description(&s("tab\tok")).is_ok());
        assert!(description(&s("no\u{1F600}")).is_err());
        assert!(sid(&s("ReadSecrets1")).is_ok());
        assert!(sid(&s("read-secrets")).is_err());
    }

    #[test]
    fn actions_are_service_colon_action_with_wildcards() {
        for good in [
            "*",
            "s3:Get*",
            "secretsmanager:GetSecretValue",
            "ec2:Describe?pc*",
        ] {
            assert!(actions(&s(good)).is_ok(), "{good}");
        }
        for bad in [
            "GetSecretValue",
            "S3:GetObject",
            "s3:",
            ":Get",
            "s3:Get Object",
        ] {
            assert!(actions(&s(bad)).is_err(), "{bad}");
        }
        assert!(condition_test(&s("ForAnyValue:StringLikeIfExists")).is_ok());
        assert!(condition_test(&s("Null")).is_ok());
        let (message, help) = condition_test(&s("StringEqual")).expect_err("rejected");
        assert!(message.contains("StringEqual"));
        assert!(help.contains("StringEquals"), "{help}");
    }

    fn statement(actions: &str, resource: &str) -> Value {
        Value::Map(BTreeMap::from([
            ("effect".to_string(), s("Allow")),
            ("actions".to_string(), Value::List(vec![s(actions)])),
            ("resources".to_string(), Value::List(vec![s(resource)])),
        ]))
    }

    #[test]
    fn sizes_count_the_rendered_documents() {
        let long = "r".repeat(3_000);
        let policy = |n: &str| {
            Value::Map(BTreeMap::from([
                ("name".to_string(), s(n)),
                (
                    "statement".to_string(),
                    Value::List(vec![statement("s3:GetObject", &long)]),
                ),
            ]))
        };
        let trust = Value::Map(BTreeMap::from([("service".to_string(), s("ecs-tasks"))]));
        let mut body = BTreeMap::from([
            ("trust".to_string(), trust),
            (
                "policy".to_string(),
                Value::List(vec![policy("a"), policy("b"), policy("c")]),
            ),
        ]);
        let (inline, trust_chars) = policy_chars(&body);
        assert!(
            inline > 9_000 && inline < MAX_INLINE_POLICY_CHARS,
            "{inline}"
        );
        assert!(trust_chars > 50 && trust_chars < 200, "{trust_chars}");
        assert!(size_problem(&body).is_none());
        body.insert(
            "policy".into(),
            Value::List(vec![policy("a"), policy("b"), policy("c"), policy("d")]),
        );
        let problem = size_problem(&body).expect("too large");
        assert_eq!(problem.attribute, "policy");
        assert!(problem.message.contains("10240"), "{}", problem.message);
        // A trust policy past 2,048 characters.
        let many: Vec<Value> = (0..40)
            .map(|i| {
                let mut st = statement("sts:AssumeRole", "x");
                if let Value::Map(m) = &mut st {
                    m.remove("resources");
                    m.insert(
                        "principal".into(),
                        Value::Map(BTreeMap::from([(
                            "aws".to_string(),
                            Value::List(vec![s(&format!("arn:aws:iam::{i:012}:root"))]),
                        )])),
                    );
                }
                st
            })
            .collect();
        let body = BTreeMap::from([(
            "trust".to_string(),
            Value::Map(BTreeMap::from([(
                "statement".to_string(),
                Value::List(many),
            )])),
        )]);
        assert_eq!(size_problem(&body).expect("too large").attribute, "trust");
    }
}
