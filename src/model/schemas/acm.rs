//! ACM certificates the stack requests, validated through DNS records in one of its hosted zones.

use std::collections::BTreeMap;

use super::common::TAGS;
use crate::model::Kind;
use crate::model::schema::{
    Attr, BlockSchema, Check, Computed, RefTo, ResourceSchema, Rule, Type, Violation,
};
use crate::model::value::Value;

/// ACM's default quota: names on one certificate, the domain name included.
pub const MAX_NAMES: usize = 10;

/// The longest domain name ACM takes, in characters.
const MAX_DOMAIN: usize = 253;

/// The longest label of a domain name.
const MAX_LABEL: usize = 63;

pub static CERTIFICATE: ResourceSchema = ResourceSchema {
    title: "ACM certificate",
    doc: "An ACM certificate the stack requests for its load balancers' HTTPS listeners (`certificate (ref)\"certificate.web\"`), validated through DNS: infra writes the CNAME records ACM asks for into `zone` (a wildcard and its apex share one record) and waits until the certificate is ISSUED (up to `--wait-timeout`); a certificate whose validation fails or times out is an error naming its status. ACM certificates have no name: infra finds its own by its ownership tags, so a certificate for the same domain that the stack does not own is left alone and never adopted. A changed `domain-name` or `subject-alternative-names` requests a new certificate. Destroy deletes the validation records infra wrote (only while they still hold ACM's value) and then the certificate; AWS refuses while a load balancer still uses it.",
    rules_doc: "at most 10 names in all (ACM's default quota): `domain-name` and its `subject-alternative-names` together, each a DNS name of at most 253 characters with labels of at most 63, `*.` only as the first label; every name (a wildcard's apex) lies in the hosted zone `zone` names, when it is a zone of the stack or a look-up.",
    body: &CERTIFICATE_BODY,
    computed: &[
        Computed::new(
            "arn",
            Type::String,
            "The certificate's ARN, what a listener's `certificate` takes.",
        ),
        Computed::new(
            "status",
            Type::String,
            "ACM's status of the certificate: `ISSUED` once validated.",
        ),
    ],
    default_attribute: "arn",
    taggable: true,
    natural_key: &["domain-name"],
    delete_phase: 75,
};

/// A certificate's name: a DNS name, `*.` allowed as its first label.
const CERT_NAME: Check = Check::Custom(
    cert_name,
    "a DNS name of ≤ 253 characters, labels ≤ 63; `*.` only as the first label",
);

static CERTIFICATE_BODY: BlockSchema = BlockSchema::new(
    "certificate",
    &[
        Attr::string("domain-name")
            .required()
            .force_new()
            .checks(&[CERT_NAME])
            .doc("The certificate's domain, e.g. \"example.com\" or \"*.example.com\"."),
        Attr::strings("subject-alternative-names")
            .force_new()
            .checks(&[CERT_NAMES])
            .doc("More names the certificate covers, e.g. \"www.example.com\"."),
        Attr::string("zone")
            .required()
            .refs(&[
                RefTo::new(Kind::HostedZone, "id"),
                RefTo::new(Kind::LookupHostedZone, "id"),
            ])
            .doc(
                "Hosted zone id the DNS validation records are written to: a reference to a \
                 hosted zone of the stack or to a look-up.",
            ),
        TAGS,
    ],
)
.rules(&[Rule::Custom(names_fit)]);

/// Each alternative name as a certificate name.
const CERT_NAMES: Check = Check::Custom(
    cert_names,
    "DNS names of ≤ 253 characters, labels ≤ 63; `*.` only as the first label",
);

fn cert_names(value: &Value) -> Result<(), (String, String)> {
    match value.as_list() {
        Some(items) => items.iter().try_for_each(cert_name),
        None => Ok(()),
    }
}

/// A name ACM can put on a certificate.
pub fn cert_name(value: &Value) -> Result<(), (String, String)> {
    let Some(name) = value.as_str() else {
        return Ok(());
    };
    let help = "a certificate name is a DNS name of at most 253 characters, labels of 1 to 63 \
                letters, digits and hyphens separated by dots; a wildcard is `*.` as the first \
                label only";
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    let length = trimmed.chars().count();
    if trimmed.is_empty() || length > MAX_DOMAIN {
        return Err((
            format!("`{name}` is {length} characters long; ACM allows {MAX_DOMAIN}"),
            help.into(),
        ));
    }
    let labels: Vec<&str> = trimmed.split('.').collect();
    if labels.len() < 2 {
        return Err((
            format!("`{name}` is not a fully qualified domain name"),
            "name a domain with at least two labels, such as \"example.com\"".into(),
        ));
    }
    for (i, label) in labels.iter().enumerate() {
        if *label == "*" && i == 0 {
            continue;
        }
        if label.contains('*') {
            return Err((
                format!("`{name}` has a wildcard that is not its whole first label"),
                help.into(),
            ));
        }
        if label.is_empty() || label.len() > MAX_LABEL {
            return Err((
                format!(
                    "`{name}` has a label of {} characters; a label is 1 to {MAX_LABEL}",
                    label.len()
                ),
                help.into(),
            ));
        }
        if let Some(bad) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err((format!("`{name}` contains `{bad}`"), help.into()));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err((
                format!("`{name}` has a label that begins or ends with a hyphen"),
                help.into(),
            ));
        }
    }
    Ok(())
}

/// The domain name and the alternative names together, as ACM counts them.
fn names_fit(body: &BTreeMap<String, Value>) -> Option<Violation> {
    let sans = body
        .get("subject-alternative-names")
        .and_then(Value::as_list)?;
    let domain = body.get("domain-name").and_then(Value::as_str);
    let mut names: Vec<String> = sans
        .iter()
        .filter_map(Value::as_str)
        .map(dns)
        .chain(domain.map(dns))
        .collect();
    names.sort();
    let before = names.len();
    names.dedup();
    if names.len() < before {
        return Some(Violation {
            attribute: "subject-alternative-names",
            message: "a name is listed twice".into(),
            help: "list each name once; the domain name is on the certificate already".into(),
        });
    }
    // Names not known yet (references) count too.
    let total = sans.len() + 1;
    (total > MAX_NAMES).then(|| Violation {
        attribute: "subject-alternative-names",
        message: format!("the certificate would carry {total} names; ACM allows {MAX_NAMES}"),
        help: format!(
            "keep at most {} alternative names beside the domain name, or split the names over \
             two certificates (a listener takes more certificates), or have AWS raise the \
             account's quota",
            MAX_NAMES - 1
        ),
    })
}

/// A DNS name as ACM compares them: lowercase, without the final dot.
fn dns(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Value {
        Value::String(text.into())
    }

    #[test]
    fn names_follow_acm() {
        assert!(cert_name(&s("example.com")).is_ok());
        assert!(cert_name(&s("*.example.com")).is_ok());
        assert!(cert_name(&s("www.example.com.")).is_ok());
        assert!(cert_name(&s("example")).is_err(), "one label");
        assert!(
            cert_name(&s("www.*.example.com")).is_err(),
            "wildcard inside"
        );
        assert!(cert_name(&s("*example.com")).is_err(), "partial wildcard");
        assert!(cert_name(&s("a_b.example.com")).is_err());
        assert!(cert_name(&s("-a.example.com")).is_err());
        let label = "a".repeat(63);
        assert!(cert_name(&s(&format!("{label}.example.com"))).is_ok());
        assert!(cert_name(&s(&format!("{label}a.example.com"))).is_err());
        // 253 characters in all, no more.
        let long = format!("{}.com", vec!["a".repeat(62); 4].join("."));
        assert_eq!(long.len(), 255);
        assert!(cert_name(&s(&long)).is_err());
        assert!(cert_name(&s(&long[2..])).is_ok(), "{}", long[2..].len());
    }

    fn body(domain: &str, sans: &[&str]) -> BTreeMap<String, Value> {
        BTreeMap::from([
            ("domain-name".to_string(), s(domain)),
            (
                "subject-alternative-names".to_string(),
                Value::List(sans.iter().map(|n| s(n)).collect()),
            ),
        ])
    }

    #[test]
    fn at_most_ten_names_in_all_and_none_twice() {
        let nine: Vec<String> = (1..=9).map(|i| format!("n{i}.example.com")).collect();
        let nine: Vec<&str> = nine.iter().map(String::as_str).collect();
        assert!(names_fit(&body("example.com", &nine)).is_none());
        let mut ten = nine.clone();
        ten.push("n10.example.com");
        let v = names_fit(&body("example.com", &ten)).expect("11 names are too many");
        assert!(v.message.contains("11 names"), "{}", v.message);
        let twice = names_fit(&body("example.com", &["Example.com."])).expect("twice");
        assert!(twice.message.contains("twice"));
        // A wildcard and its apex are two names.
        assert!(names_fit(&body("example.com", &["*.example.com"])).is_none());
    }
}
