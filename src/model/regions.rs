//! The AWS regions a stack may name, by partition.
//!
//! Copied from the `partitions.json` that botocore 1.44.5 ships (the AWS SDKs' shared
//! partition metadata), without the `*-global` pseudo-regions; `scripts/aws-models` prints the
//! current list so that it can be compared when AWS opens a region.

use super::value::Value;

/// (partition, regions) for every AWS partition.
pub const PARTITIONS: &[(&str, &[&str])] = &[
    (
        "aws",
        &[
            "af-south-1",
            "ap-east-1",
            "ap-east-2",
            "ap-northeast-1",
            "ap-northeast-2",
            "ap-northeast-3",
            "ap-south-1",
            "ap-south-2",
            "ap-southeast-1",
            "ap-southeast-2",
            "ap-southeast-3",
            "ap-southeast-4",
            "ap-southeast-5",
            "ap-southeast-6",
            "ap-southeast-7",
            "ca-central-1",
            "ca-west-1",
            "eu-central-1",
            "eu-central-2",
            "eu-north-1",
            "eu-south-1",
            "eu-south-2",
            "eu-west-1",
            "eu-west-2",
            "eu-west-3",
            "il-central-1",
            "me-central-1",
            "me-south-1",
            "me-west-1",
            "mx-central-1",
            "sa-east-1",
            "sa-west-1",
            "us-east-1",
            "us-east-2",
            "us-west-1",
            "us-west-2",
        ],
    ),
    ("aws-cn", &["cn-north-1", "cn-northwest-1"]),
    ("aws-eusc", &["eusc-de-east-1"]),
    ("aws-iso", &["us-iso-east-1", "us-iso-west-1"]),
    ("aws-iso-b", &["us-isob-east-1", "us-isob-west-1"]),
    ("aws-iso-e", &["eu-isoe-west-1"]),
    ("aws-iso-f", &["us-isof-east-1", "us-isof-south-1"]),
    ("aws-us-gov", &["us-gov-east-1", "us-gov-west-1"]),
];

/// Every region of every partition.
pub fn all() -> impl Iterator<Item = &'static str> {
    PARTITIONS
        .iter()
        .flat_map(|(_, regions)| regions.iter().copied())
}

/// Whether `name` is a region AWS has.
pub fn is_region(name: &str) -> bool {
    all().any(|r| r == name)
}

/// The partition a region belongs to (`aws`, `aws-cn`, `aws-us-gov`, ...).
pub fn partition(region: &str) -> Option<&'static str> {
    PARTITIONS
        .iter()
        .find(|(_, regions)| regions.contains(&region))
        .map(|(p, _)| *p)
}

/// A region AWS has; a near miss (`us-east-7`, `eu-centrl-1`) gets a "did you mean".
pub fn check(value: &Value) -> Result<(), (String, String)> {
    let Some(s) = value.as_str() else {
        return Ok(());
    };
    if is_region(s) {
        return Ok(());
    }
    let closest = all()
        .map(|r| (strsim::damerau_levenshtein(s, r), r))
        .filter(|(edits, _)| *edits <= 3)
        .min();
    let help = match closest {
        Some((_, r)) => format!("did you mean \"{r}\"?"),
        None => "write a region such as \"us-east-1\" or \"eu-central-1\"".into(),
    };
    Err((format!("`{s}` is not an AWS region"), help))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_regions_of_every_partition() {
        assert!(is_region("eu-central-1"));
        assert!(is_region("us-gov-west-1"));
        assert_eq!(partition("cn-north-1"), Some("aws-cn"));
        assert!(!is_region("us-east-7"));
        assert!(!is_region("aws-global"));
        let (_, help) = check(&Value::String("us-east-7".into())).unwrap_err();
        assert_eq!(help, "did you mean \"us-east-1\"?");
    }
}
