//! Checks and attributes shared by several kinds.

use crate::model::schema::{Attr, Check};
use crate::model::value::Value;

type CheckResult = Result<(), (String, String)>;

fn string_of(value: &Value) -> Option<&str> {
    value.as_str()
}

/// Tags: at most 50 per resource, keys ≤ 128 and values ≤ 256 characters, no `aws:` prefix.
pub const TAGS: Attr = Attr::string_map("tags")
    .checks(&[Check::Count(0, 50), TAG_KEYS])
    .doc("Tags added to the stack's default tags and infra's ownership tags.");

/// Tag keys and values: lengths, characters and reserved prefixes.
const TAG_KEYS: Check = Check::Custom(
    tag_map,
    "keys ≤ 128, values ≤ 256 characters: letters, digits, spaces, `_ . : / = + - @`; \
     no `aws:` or `infra:` prefix",
);

fn tag_map(value: &Value) -> CheckResult {
    let Some(map) = value.as_map() else {
        return Ok(());
    };
    for (key, val) in map {
        if key.chars().count() > 128 {
            return Err((
                format!("tag key `{key}` is longer than 128 characters"),
                "AWS tag keys are at most 128 characters".into(),
            ));
        }
        if key.to_ascii_lowercase().starts_with("aws:") || key.starts_with("infra:") {
            return Err((
                format!("tag key `{key}` uses a reserved prefix"),
                "the `aws:` prefix belongs to AWS and `infra:` to infra's ownership tags".into(),
            ));
        }
        if let Some(bad) = key.chars().find(|c| !tag_char(*c)) {
            return Err((
                format!("tag key `{key}` contains `{bad}`"),
                TAG_CHARS.into(),
            ));
        }
        if let Some(s) = val.as_str()
            && let Some(bad) = s.chars().find(|c| !tag_char(*c))
        {
            return Err((
                format!("the value of tag `{key}` contains `{bad}`"),
                TAG_CHARS.into(),
            ));
        }
        if let Some(s) = val.as_str()
            && s.chars().count() > 256
        {
            return Err((
                format!("the value of tag `{key}` is longer than 256 characters"),
                "AWS tag values are at most 256 characters".into(),
            ));
        }
    }
    Ok(())
}

/// Load balancer names: a target group name that does not begin with `internal-`.
pub const LOAD_BALANCER_NAME: Check = Check::Custom(
    load_balancer_name,
    "1–32 letters, digits, `-`; no `-` at either end; not `internal-…`",
);

/// Target group names: 1–32 letters, digits and hyphens, no hyphen at either end.
pub const TARGET_GROUP_NAME: Check = Check::Custom(
    target_group_name,
    "1–32 letters, digits, `-`; no `-` at either end",
);

fn load_balancer_name(value: &Value) -> CheckResult {
    target_group_name(value)?;
    match string_of(value) {
        Some(name) if name.starts_with("internal-") => Err((
            format!("`{name}` begins with `internal-`"),
            "AWS reserves the `internal-` prefix for load balancer names".into(),
        )),
        _ => Ok(()),
    }
}

fn target_group_name(value: &Value) -> CheckResult {
    let Some(name) = string_of(value) else {
        return Ok(());
    };
    let help = "load balancer and target group names are 1 to 32 letters, digits and hyphens, \
                and do not begin or end with a hyphen";
    if name.is_empty() || name.chars().count() > 32 {
        return Err((
            format!(
                "`{name}` is {} characters long; the limit is 32",
                name.chars().count()
            ),
            help.into(),
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return Err((format!("`{name}` contains `{bad}`"), help.into()));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err((
            format!("`{name}` begins or ends with a hyphen"),
            help.into(),
        ));
    }
    Ok(())
}

const TAG_CHARS: &str = "ECS, Elastic Load Balancing and CloudWatch Logs take tags of letters, \
                         digits, spaces and _ . : / = + - @ only";

/// The characters ECS, ELBv2 and CloudWatch Logs accept in tag keys and values (their API
/// models' pattern `[\p{L}\p{Z}\p{N}_.:/=+\-@]*`); the other services accept a superset.
fn tag_char(c: char) -> bool {
    c.is_alphanumeric()
        || c == ' '
        || c.is_whitespace() && !c.is_control()
        || "_.:/=+-@".contains(c)
}

/// ECS names (cluster, service, family, container): 1–255 letters, digits, hyphens, underscores.
pub const ECS_NAME: Check = Check::Custom(ecs_name, "1–255 letters, digits, `-`, `_`");

fn ecs_name(value: &Value) -> CheckResult {
    let Some(name) = string_of(value) else {
        return Ok(());
    };
    let help = "ECS names are 1 to 255 letters, digits, hyphens and underscores";
    if name.is_empty() || name.chars().count() > 255 {
        return Err((
            format!("`{name}` is not 1 to 255 characters long"),
            help.into(),
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err((format!("`{name}` contains `{bad}`"), help.into()));
    }
    Ok(())
}

/// A region AWS has (the partitions' list in `model::regions`).
pub const REGION: Check = Check::Custom(
    crate::model::regions::check,
    "a region AWS has, such as `us-east-1`",
);

/// A port number, 1–65535.
pub const PORT: &[Check] = &[Check::Range(1, 65535)];

/// A DNS name: labels of 1–63 characters, at most 255 in all.
pub const DNS_NAME: Check = Check::Custom(
    dns_name,
    "a DNS name (labels ≤ 63, ≤ 255 in all; `*` only as first label)",
);

/// Whether a string is a valid DNS name (labels of 1–63 characters, at most 255 in all).
pub fn dns_name(value: &Value) -> CheckResult {
    let Some(name) = string_of(value) else {
        return Ok(());
    };
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    let help = "DNS names are labels of 1 to 63 letters, digits, hyphens and underscores \
                separated by dots, at most 255 characters; `*` may only be the first label";
    if trimmed.is_empty() || trimmed.len() > 255 {
        return Err((
            format!("`{name}` is not a valid DNS name length"),
            help.into(),
        ));
    }
    for (i, label) in trimmed.split('.').enumerate() {
        if label == "*" && i == 0 {
            continue;
        }
        if label.is_empty() || label.len() > 63 {
            return Err((
                format!("`{name}` has a label that is empty or longer than 63 characters"),
                help.into(),
            ));
        }
        if let Some(bad) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err((format!("`{name}` contains `{bad}`"), help.into()));
        }
    }
    Ok(())
}

/// Up to five ARNs of alarm actions (SNS topics, auto scaling policies, ...).
pub const ACTIONS: &[Check] = &[Check::Count(0, 5)];
