//! Amazon EFS: a file system with its mount targets and access points, for tasks that mount it.

use std::collections::{BTreeMap, BTreeSet};

use super::common::TAGS;
use crate::model::kind::Kind;
use crate::model::schema::{
    Attr, BlockSchema, Check, Computed, Default, RefTo, ResourceSchema, Rule, Type, Violation,
};
use crate::model::value::Value;

pub static FILE_SYSTEM: ResourceSchema = ResourceSchema {
    title: "EFS file system",
    doc: "An EFS file system with its mount targets (one per subnet, at most one per availability zone) and access points, for ECS tasks that mount it (`volume \"data\" { efs { file-system (ref)\"efs.uploads\"; access-point (ref)\"efs.uploads.access-points.app\"; transit-encryption #true } }`). infra creates it with a creation token derived from the stack and the address, so a create that is retried never makes a second file system, and it finds its own file system by that token and its ownership tags: `name` is only the `Name` tag (EFS names need not be unique) and changes in place; a file system of the same name that the stack does not own is left alone and never adopted. Mount targets cannot be tagged: they belong to the file system and are reconciled subnet by subnet (added, removed, their security groups changed). Access points carry the ownership tags and their name as `Name`; AWS cannot change an access point, so a changed one is deleted and created again with a new id. Deleting the file system deletes its mount targets first and waits until AWS reports them gone, then its access points.",
    rules_doc: "`provisioned-mibps` is set exactly when `throughput-mode` is `provisioned`; `maxIO` performance mode cannot use `elastic` throughput; `kms-key` needs `encrypted #true`; access point names and mount-target subnets are unique; the stack's own tags cannot set `Name` (it is `name`). Two subnets in one availability zone are refused before any write (their zones are read from EC2 at apply, since the subnets' look-up does not report them).",
    body: &FILE_SYSTEM_BODY,
    computed: &[
        Computed::new("id", Type::String, "The file system id (fs-...)."),
        Computed::new("arn", Type::String, "The file system's ARN."),
        Computed::new(
            "access-points",
            Type::Map(&Type::String),
            "The id (fsap-...) of each access point by its name: `(ref)\"efs.uploads.access-points.app\"`.",
        ),
    ],
    default_attribute: "id",
    taggable: true,
    natural_key: &["name"],
    delete_phase: 65,
};

/// Transition rules EFS lifecycle policies take (to infrequent access or to archive).
const AFTER_DAYS: &[&str] = &[
    "AFTER_1_DAY",
    "AFTER_7_DAYS",
    "AFTER_14_DAYS",
    "AFTER_30_DAYS",
    "AFTER_60_DAYS",
    "AFTER_90_DAYS",
    "AFTER_180_DAYS",
    "AFTER_270_DAYS",
    "AFTER_365_DAYS",
];

/// Access points a file system may have.
pub const MAX_ACCESS_POINTS: usize = 1000;

static FILE_SYSTEM_BODY: BlockSchema = BlockSchema::new(
    "efs",
    &[
        Attr::string("name")
            .required()
            .checks(&[
                Check::Length(1, 256),
                Check::Custom(tag_value, "≤ 256 letters, digits, spaces, `_ . : / = + - @`"),
            ])
            .doc("The file system's `Name` tag; changing it retags the file system."),
        Attr::bool("encrypted")
            .default(Default::Bool(false))
            .force_new()
            .doc("Encrypts the data at rest."),
        Attr::string("kms-key")
            .force_new()
            .unmanaged_when_omitted()
            .checks(&[Check::Length(1, 2048), KMS_KEY])
            .doc("The ARN of the KMS key that encrypts the data (AWS reports the key by its ARN, so infra takes only that, and a plan compares like with like). Omitted: AWS's key for EFS (`aws/elasticfilesystem`), which infra leaves alone."),
        Attr::string("performance-mode")
            .default(Default::Str("generalPurpose"))
            .force_new()
            .checks(&[Check::OneOf(&["generalPurpose", "maxIO"])])
            .doc("generalPurpose or maxIO."),
        Attr::string("throughput-mode")
            .default(Default::Str("bursting"))
            .checks(&[Check::OneOf(&["bursting", "elastic", "provisioned"])])
            .doc("bursting, elastic or provisioned (with `provisioned-mibps`). AWS allows a change of mode, or a decrease of provisioned throughput, once every 24 hours."),
        Attr::int("provisioned-mibps")
            .checks(&[Check::Range(1, 3414)])
            .doc("The provisioned throughput in MiB/s (the upper limit depends on the region)."),
        Attr::block("lifecycle-policy", &LIFECYCLE)
            .doc("When files move between storage classes; omitted: they stay in Standard."),
        Attr::bool("backup")
            .default(Default::Bool(false))
            .doc("Automatic daily backups by AWS Backup."),
        Attr::blocks("mount-target", &MOUNT_TARGET)
            .doc("Mount targets: one per subnet listed, with the security groups given."),
        Attr::blocks("access-point", &ACCESS_POINT)
            .checks(&[Check::Count(0, MAX_ACCESS_POINTS)])
            .doc("Access points, one block per access point, named by its label."),
        TAGS,
    ],
)
.rules(&[
    Rule::Custom(provisioned_throughput),
    Rule::Custom(max_io_not_elastic),
    Rule::Custom(kms_key_needs_encryption),
    Rule::Custom(unique_access_points),
    Rule::Custom(unique_subnets),
    Rule::Custom(name_not_in_tags),
]);

static LIFECYCLE: BlockSchema = BlockSchema::new(
    "lifecycle-policy",
    &[
        Attr::string("transition-to-ia")
            .checks(&[Check::OneOf(AFTER_DAYS)])
            .doc("Moves files not read for this long to Infrequent Access (`AFTER_30_DAYS`)."),
        Attr::string("transition-to-archive")
            .checks(&[Check::OneOf(AFTER_DAYS)])
            .doc("Moves files not read for this long to Archive (elastic throughput only)."),
        Attr::string("transition-to-primary")
            .checks(&[Check::OneOf(&["AFTER_1_ACCESS"])])
            .doc("`AFTER_1_ACCESS` moves a file back to Standard when it is read."),
    ],
);

static MOUNT_TARGET: BlockSchema = BlockSchema::new(
    "mount-target",
    &[
        Attr::strings("subnets")
            .required()
            .checks(&[Check::Count(1, 100), SUBNET_IDS])
            .refs(&[RefTo::new(Kind::LookupSubnets, "ids")])
            .doc("The subnets to mount the file system in, one mount target each, at most one per availability zone (usually a reference to a subnets look-up)."),
        Attr::strings("security-groups")
            .required()
            .checks(&[Check::Count(1, 5)])
            .refs(&[
                RefTo::new(Kind::LookupSecurityGroups, "ids"),
                RefTo::new(Kind::SecurityGroup, "id"),
            ])
            .doc("The 1 to 5 security groups of each mount target (required: AWS would pick the VPC's default group)."),
    ],
);

static ACCESS_POINT: BlockSchema = BlockSchema::new(
    "access-point",
    &[
        Attr::string("name")
            .required()
            .checks(&[
                Check::Length(1, 256),
                Check::Custom(tag_value, "≤ 256 letters, digits, spaces, `_ . : / = + - @`"),
            ])
            .doc("The access point's name (its `Name` tag), which references use."),
        Attr::string("path")
            .default(Default::Str("/"))
            .checks(&[Check::Custom(
                root_path,
                "an absolute path of at most 100 characters",
            )])
            .doc("The directory the access point exposes as the root; EFS creates it when `permissions` is set."),
        Attr::int("uid")
            .checks(&[Check::Range(0, 4_294_967_295)])
            .doc("The POSIX user id every request through the access point uses."),
        Attr::int("gid")
            .checks(&[Check::Range(0, 4_294_967_295)])
            .doc("The POSIX group id every request through the access point uses."),
        Attr::string("permissions")
            .checks(&[Check::Custom(octal, "3 or 4 octal digits, e.g. \"750\"")])
            .doc("The mode EFS creates the directory with, owned by `uid` and `gid`; omitted: the directory must exist."),
    ],
)
.label("name")
.rules(&[
    Rule::Requires("uid", &["gid"]),
    Rule::Requires("gid", &["uid"]),
    Rule::Requires("permissions", &["uid", "gid"]),
]);

type CheckResult = Result<(), (String, String)>;

const KMS_KEY: Check = Check::Custom(kms_key, "a KMS key ARN");

const SUBNET_IDS: Check = Check::Custom(subnet_ids, "subnet ids (subnet-...)");

fn kms_key(value: &Value) -> CheckResult {
    let Some(key) = value.as_str() else {
        return Ok(());
    };
    if key.starts_with("arn:") && key.contains(":kms:") && key.contains(":key/") {
        return Ok(());
    }
    Err((
        format!("`{key}` is not a KMS key ARN"),
        "write the key's ARN, arn:aws:kms:<region>:<account>:key/<key-id>: AWS reports the key by its ARN, and a key id or alias would read as a change (and replace the file system) on every plan".into(),
    ))
}

fn subnet_ids(value: &Value) -> CheckResult {
    let Some(items) = value.as_list() else {
        return Ok(());
    };
    match items
        .iter()
        .filter_map(Value::as_str)
        .find(|s| !s.starts_with("subnet-"))
    {
        Some(bad) => Err((
            format!("`{bad}` is not a subnet id"),
            "mount targets take subnet ids (subnet-...), usually `(ref)\"lookup.subnets.<name>.ids\"`".into(),
        )),
        None => Ok(()),
    }
}

fn tag_value(value: &Value) -> CheckResult {
    let Some(text) = value.as_str() else {
        return Ok(());
    };
    let ok = |c: char| c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c);
    match text.chars().find(|c| !ok(*c)) {
        Some(bad) => Err((
            format!("`{text}` contains `{bad}`"),
            "EFS names are tags: letters, digits, spaces and _ . : / = + - @".into(),
        )),
        None => Ok(()),
    }
}

fn root_path(value: &Value) -> CheckResult {
    let Some(path) = value.as_str() else {
        return Ok(());
    };
    if !path.starts_with('/') {
        return Err((
            format!("`{path}` is not an absolute path"),
            "an access point's path begins with `/`, e.g. \"/app\"".into(),
        ));
    }
    if path.chars().count() > 100 {
        return Err((
            format!(
                "the path is {} characters long; the limit is 100",
                path.chars().count()
            ),
            "EFS takes access point paths of at most 100 characters".into(),
        ));
    }
    Ok(())
}

fn octal(value: &Value) -> CheckResult {
    let Some(mode) = value.as_str() else {
        return Ok(());
    };
    let digits = mode.chars().count();
    if (3..=4).contains(&digits) && mode.chars().all(|c| ('0'..='7').contains(&c)) {
        return Ok(());
    }
    Err((
        format!("`{mode}` is not a file mode of 3 or 4 octal digits"),
        "write the mode as a string of octal digits, e.g. \"750\" or \"0755\"".into(),
    ))
}

fn provisioned_throughput(body: &BTreeMap<String, Value>) -> Option<Violation> {
    let mode = body.get("throughput-mode").and_then(Value::as_str);
    let provisioned = body.contains_key("provisioned-mibps");
    match (mode, provisioned) {
        (Some("provisioned"), false) => Some(Violation {
            attribute: "throughput-mode",
            message: "provisioned throughput needs `provisioned-mibps`".into(),
            help:
                "add `provisioned-mibps 128` (1 to 3414 MiB/s), or choose `bursting` or `elastic`"
                    .into(),
        }),
        (Some("provisioned"), true) | (None, false) => None,
        (_, true) => Some(Violation {
            attribute: "provisioned-mibps",
            message: "`provisioned-mibps` is only for `throughput-mode \"provisioned\"`".into(),
            help: "set `throughput-mode \"provisioned\"`, or remove `provisioned-mibps`".into(),
        }),
        (_, false) => None,
    }
}

fn max_io_not_elastic(body: &BTreeMap<String, Value>) -> Option<Violation> {
    let max_io = body.get("performance-mode").and_then(Value::as_str) == Some("maxIO");
    let elastic = body.get("throughput-mode").and_then(Value::as_str) == Some("elastic");
    (max_io && elastic).then(|| Violation {
        attribute: "throughput-mode",
        message: "EFS does not offer elastic throughput with the maxIO performance mode".into(),
        help: "use `performance-mode \"generalPurpose\"` with elastic throughput, or `bursting`/`provisioned` with maxIO".into(),
    })
}

fn kms_key_needs_encryption(body: &BTreeMap<String, Value>) -> Option<Violation> {
    let encrypted = body.get("encrypted") == Some(&Value::Bool(true));
    (body.contains_key("kms-key") && !encrypted).then(|| Violation {
        attribute: "kms-key",
        message: "a KMS key is only used by an encrypted file system".into(),
        help: "add `encrypted #true`, or remove `kms-key`".into(),
    })
}

fn blocks<'a>(
    body: &'a BTreeMap<String, Value>,
    name: &str,
) -> impl Iterator<Item = &'a BTreeMap<String, Value>> {
    body.get(name)
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_map)
}

fn unique_access_points(body: &BTreeMap<String, Value>) -> Option<Violation> {
    let mut seen = BTreeSet::new();
    let twice = blocks(body, "access-point")
        .filter_map(|b| b.get("name").and_then(Value::as_str))
        .find(|name| !seen.insert(*name))?;
    Some(Violation {
        attribute: "access-point",
        message: format!("two access points are named `{twice}`"),
        help: "give each access point of a file system its own name".into(),
    })
}

fn unique_subnets(body: &BTreeMap<String, Value>) -> Option<Violation> {
    let mut seen = BTreeSet::new();
    let twice = blocks(body, "mount-target")
        .filter_map(|b| b.get("subnets").and_then(Value::as_list))
        .flatten()
        .filter_map(Value::as_str)
        .find(|subnet| !seen.insert(*subnet))?;
    Some(Violation {
        attribute: "mount-target",
        message: format!("subnet `{twice}` is listed by more than one mount target"),
        help: "a file system has one mount target per subnet: list each subnet once".into(),
    })
}

fn name_not_in_tags(body: &BTreeMap<String, Value>) -> Option<Violation> {
    let tags = body.get("tags").and_then(Value::as_map)?;
    tags.contains_key("Name").then(|| Violation {
        attribute: "tags",
        message: "the `Name` tag of a file system is its `name`".into(),
        help: "remove `Name` from `tags` and write `name \"...\"`".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn s(text: &str) -> Value {
        Value::String(text.into())
    }

    #[test]
    fn provisioned_throughput_goes_with_the_provisioned_mode_only() {
        let without = body(&[("throughput-mode", s("provisioned"))]);
        assert_eq!(
            provisioned_throughput(&without).map(|v| v.attribute),
            Some("throughput-mode")
        );
        let stray = body(&[
            ("throughput-mode", s("bursting")),
            ("provisioned-mibps", Value::Int(100)),
        ]);
        assert_eq!(
            provisioned_throughput(&stray).map(|v| v.attribute),
            Some("provisioned-mibps")
        );
        let right = body(&[
            ("throughput-mode", s("provisioned")),
            ("provisioned-mibps", Value::Int(100)),
        ]);
        assert!(provisioned_throughput(&right).is_none());
        assert!(provisioned_throughput(&body(&[("throughput-mode", s("elastic"))])).is_none());
    }

    #[test]
    fn max_io_refuses_elastic_throughput() {
        let both = body(&[
            ("performance-mode", s("maxIO")),
            ("throughput-mode", s("elastic")),
        ]);
        assert!(max_io_not_elastic(&both).is_some());
        let general = body(&[
            ("performance-mode", s("generalPurpose")),
            ("throughput-mode", s("elastic")),
        ]);
        assert!(max_io_not_elastic(&general).is_none());
    }

    #[test]
    fn a_kms_key_needs_encryption() {
        let plain = body(&[
            ("kms-key", s("alias/data")),
            ("encrypted", Value::Bool(false)),
        ]);
        assert!(kms_key_needs_encryption(&plain).is_some());
        let sealed = body(&[
            ("kms-key", s("alias/data")),
            ("encrypted", Value::Bool(true)),
        ]);
        assert!(kms_key_needs_encryption(&sealed).is_none());
        assert!(kms_key(&s("arn:aws:kms:us-east-1:123456789012:key/x")).is_ok());
        assert!(kms_key(&s("alias/data")).is_err());
        assert!(kms_key(&s("1234abcd-12ab-34cd-56ef-1234567890ab")).is_err());
    }

    #[test]
    fn access_point_paths_are_absolute_and_short() {
        assert!(root_path(&s("/app")).is_ok());
        assert!(root_path(&s("app")).is_err());
        assert!(root_path(&s(&format!("/{}", "a".repeat(99)))).is_ok());
        assert!(root_path(&s(&format!("/{}", "a".repeat(100)))).is_err());
    }

    #[test]
    fn permissions_are_three_or_four_octal_digits() {
        for good in ["750", "0755", "777"] {
            assert!(octal(&s(good)).is_ok(), "{good}");
        }
        for bad in ["75", "75000", "789", "rwx", ""] {
            assert!(octal(&s(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn access_point_names_and_subnets_are_unique() {
        let ap = |name: &str| Value::Map(body(&[("name", s(name))]));
        let twice = body(&[("access-point", Value::List(vec![ap("app"), ap("app")]))]);
        assert!(unique_access_points(&twice).is_some());
        let once = body(&[("access-point", Value::List(vec![ap("app"), ap("web")]))]);
        assert!(unique_access_points(&once).is_none());
        let mt = |subnets: &[&str]| {
            Value::Map(body(&[(
                "subnets",
                Value::List(subnets.iter().map(|x| s(x)).collect()),
            )]))
        };
        let overlap = body(&[(
            "mount-target",
            Value::List(vec![mt(&["subnet-a", "subnet-b"]), mt(&["subnet-b"])]),
        )]);
        assert!(unique_subnets(&overlap).is_some());
        let apart = body(&[(
            "mount-target",
            Value::List(vec![mt(&["subnet-a"]), mt(&["subnet-b"])]),
        )]);
        assert!(unique_subnets(&apart).is_none());
        assert!(subnet_ids(&Value::List(vec![s("sg-1")])).is_err());
    }

    #[test]
    fn the_name_is_not_a_tag_of_the_stack() {
        let tags = body(&[("tags", Value::Map(body(&[("Name", s("x"))])))]);
        assert!(name_not_in_tags(&tags).is_some());
        assert!(tag_value(&s("uploads prod")).is_ok());
        assert!(tag_value(&s("up*loads")).is_err());
    }
}
