//! SNS topics and their subscriptions.

use std::collections::BTreeMap;

use super::common::TAGS;
use crate::model::schema::{
    Attr, BlockSchema, Check, Computed, Default, ResourceSchema, Rule, Type, Violation,
};
use crate::model::value::Value;

pub static SNS_TOPIC: ResourceSchema = ResourceSchema {
    title: "SNS topic",
    doc: "An SNS topic and its subscriptions. Its ARN (the default attribute) is what an alarm's `actions` take. Subscriptions are reconciled one by one: a new one is subscribed, a removed one unsubscribed, one whose protocol or endpoint changed is unsubscribed and subscribed anew. An email or HTTP(S) subscription waits until its owner confirms it; while it waits the plan warns that it is pending and never counts it as a change, and infra never subscribes it again. A pending subscription cannot be unsubscribed (AWS gives it no ARN): removed from the stack, it stays until AWS drops it unconfirmed. CreateTopic returns the existing topic of a name, so infra reads first: a topic of the same name that this stack does not own is an error, taken over only with `--adopt`. FIFO topics are supported (`fifo=#true`, a name ending in `.fifo`, SQS subscriptions only).",
    rules_doc: "a FIFO topic (`fifo=#true`) has a name ending in `.fifo`, and only such a topic does; a FIFO topic's subscriptions are `sqs`. A subscription's endpoint fits its protocol: an email address for `email` and `email-json`, an `https://` URL for `https`, an `http://` URL for `http`, an SQS queue ARN for `sqs`, a Lambda function ARN for `lambda`; subscription names are unique within the topic, and so are protocol and endpoint together.",
    body: &SNS_TOPIC_BODY,
    computed: &[Computed::new("arn", Type::String, "The topic's ARN.")],
    default_attribute: "arn",
    taggable: true,
    natural_key: &["name"],
    delete_phase: 25,
};

/// The protocols infra subscribes.
pub const PROTOCOLS: &[&str] = &["email", "email-json", "https", "http", "sqs", "lambda"];

static SNS_TOPIC_BODY: BlockSchema = BlockSchema::new(
    "sns-topic",
    &[
        Attr::string("name")
            .required()
            .force_new()
            .checks(&[
                Check::Length(1, 256),
                Check::Custom(topic_name, "letters, digits, `-`, `_`; a FIFO topic's ends in `.fifo`"),
            ])
            .doc("The topic name (natural key)."),
        Attr::bool("fifo")
            .default(Default::Bool(false))
            .force_new()
            .doc("A FIFO topic: strict ordering and deduplication, for SQS subscribers. Cannot change once created."),
        Attr::string("display-name")
            .checks(&[Check::Length(0, 100)])
            .doc("The name shown as the sender of email and SMS notifications."),
        Attr::string("kms-key")
            .checks(&[Check::Length(1, 2048)])
            .doc("The KMS key that encrypts messages at rest: a key id, alias (`alias/aws/sns`) or ARN; written as AWS reports it back, or the plan shows a change."),
        Attr::blocks("subscription", &SUBSCRIPTION)
            .checks(&[Check::Custom(distinct_subscriptions, "distinct names, protocol and endpoint pairs")])
            .doc("A subscriber of the topic: `subscription \"oncall\" { protocol \"email\"; endpoint \"oncall@example.com\" }`."),
        TAGS,
    ],
)
.rules(&[Rule::Custom(fifo_rules)]);

static SUBSCRIPTION: BlockSchema = BlockSchema::new(
    "subscription",
    &[
        Attr::string("name")
            .required()
            .checks(&[Check::Length(1, 128)])
            .doc("The subscription's name within the stack (AWS knows it by protocol and endpoint); plans label it by this."),
        Attr::string("protocol")
            .required()
            .checks(&[Check::OneOf(PROTOCOLS)])
            .doc("How messages are delivered: email, email-json, https, http, sqs or lambda."),
        Attr::string("endpoint")
            .required()
            .checks(&[Check::Length(1, 2048)])
            .doc("Where: an email address, an URL, or the ARN of an SQS queue or Lambda function."),
    ],
)
.label("name")
.rules(&[Rule::Custom(endpoint_fits)]);

fn topic_name(value: &Value) -> Result<(), (String, String)> {
    let Some(name) = value.as_str() else {
        return Ok(());
    };
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    match base
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        Some(bad) => Err((
            format!("topic name `{name}` contains `{bad}`"),
            "topic names use letters, digits, `-` and `_` (and a FIFO topic's end in `.fifo`)"
                .into(),
        )),
        None if base.is_empty() => Err((
            format!("topic name `{name}` has nothing before `.fifo`"),
            "write a name before the `.fifo` suffix".into(),
        )),
        None => Ok(()),
    }
}

/// Two subscriptions of one topic with one name, or with one protocol and endpoint (AWS
/// would keep one subscription for both).
fn distinct_subscriptions(value: &Value) -> Result<(), (String, String)> {
    let mut seen: Vec<(Option<&str>, Option<&str>)> = Vec::new();
    for item in value.as_list().unwrap_or_default() {
        let Some(block) = item.as_map() else { continue };
        let get = |k: &str| block.get(k).and_then(Value::as_str);
        let pair = (get("protocol"), get("endpoint"));
        if pair.0.is_some() && pair.1.is_some() && seen.contains(&pair) {
            return Err((
                format!(
                    "two subscriptions deliver to {} `{}`",
                    pair.0.unwrap_or_default(),
                    pair.1.unwrap_or_default()
                ),
                "AWS keeps one subscription per protocol and endpoint: remove one of them".into(),
            ));
        }
        seen.push(pair);
    }
    Ok(())
}

fn fifo_rules(body: &BTreeMap<String, Value>) -> Option<Violation> {
    let fifo = body.get("fifo") == Some(&Value::Bool(true));
    if let Some(name) = body.get("name").and_then(Value::as_str) {
        let suffixed = name.ends_with(".fifo");
        if fifo && !suffixed {
            return Some(Violation {
                attribute: "name",
                message: format!("FIFO topic name `{name}` does not end in `.fifo`"),
                help: format!("name it `{name}.fifo`"),
            });
        }
        if !fifo && suffixed {
            return Some(Violation {
                attribute: "name",
                message: format!("topic name `{name}` ends in `.fifo` but the topic is not FIFO"),
                help: "add `fifo #true`, or drop the `.fifo` suffix".into(),
            });
        }
    }
    if fifo {
        let subscriptions = body
            .get("subscription")
            .and_then(Value::as_list)
            .unwrap_or_default();
        for s in subscriptions {
            let protocol = s
                .as_map()
                .and_then(|m| m.get("protocol"))
                .and_then(Value::as_str);
            if let Some(p) = protocol.filter(|p| *p != "sqs") {
                return Some(Violation {
                    attribute: "subscription",
                    message: format!("a FIFO topic cannot deliver to `{p}` subscriptions"),
                    help: "FIFO topics deliver to SQS queues only: subscribe a queue, or use a standard topic".into(),
                });
            }
        }
    }
    None
}

/// The endpoint fits the protocol: an address for email, a URL of the scheme for HTTP(S), an
/// ARN of the service for SQS and Lambda.
fn endpoint_fits(block: &BTreeMap<String, Value>) -> Option<Violation> {
    let protocol = block.get("protocol").and_then(Value::as_str)?;
    let endpoint = block.get("endpoint").and_then(Value::as_str)?;
    let wrong = |what: &str, example: &str| {
        Some(Violation {
            attribute: "endpoint",
            message: format!("`{endpoint}` is not {what}"),
            help: format!("a `{protocol}` subscription's endpoint is {what}, such as {example}"),
        })
    };
    match protocol {
        "email" | "email-json" if !email(endpoint) => {
            wrong("an email address", "oncall@example.com")
        }
        "https" if !url(endpoint, "https://") => {
            wrong("an https URL", "https://hooks.example.com/alerts")
        }
        "http" if !url(endpoint, "http://") => {
            wrong("an http URL", "http://hooks.example.com/alerts")
        }
        "sqs" if !arn_of(endpoint, "sqs") => wrong(
            "an SQS queue ARN",
            "arn:aws:sqs:us-east-1:123456789012:alerts",
        ),
        "lambda" if !arn_of(endpoint, "lambda") => wrong(
            "a Lambda function ARN",
            "arn:aws:lambda:us-east-1:123456789012:function:notify",
        ),
        _ => None,
    }
}

fn email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn url(s: &str, scheme: &str) -> bool {
    s.strip_prefix(scheme).is_some_and(|rest| {
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        !host.is_empty() && !rest.chars().any(|c| c.is_whitespace() || c.is_control())
    })
}

/// `arn:<partition>:<service>:<region>:<account>:<resource>`, each part present.
fn arn_of(s: &str, service: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && !parts[1].is_empty()
        && parts[2] == service
        && !parts[3].is_empty()
        && !parts[4].is_empty()
        && !parts[5].is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn s(v: &str) -> Value {
        Value::String(v.into())
    }

    fn fits(protocol: &str, endpoint: &str) -> bool {
        endpoint_fits(&block(&[
            ("protocol", s(protocol)),
            ("endpoint", s(endpoint)),
        ]))
        .is_none()
    }

    #[test]
    fn endpoints_must_fit_their_protocol() {
        assert!(fits("email", "oncall@example.com"));
        assert!(fits("email-json", "a.b@mail.example.org"));
        assert!(!fits("email", "oncall"));
        assert!(!fits("email", "oncall@localhost"));
        assert!(!fits("email", "on call@example.com"));
        assert!(fits("https", "https://hooks.example.com/x?y=1"));
        assert!(!fits("https", "http://hooks.example.com/x"));
        assert!(!fits("https", "https:///nohost"));
        assert!(fits("http", "http://hooks.example.com"));
        assert!(fits("sqs", "arn:aws:sqs:us-east-1:123456789012:q"));
        assert!(!fits(
            "sqs",
            "arn:aws:lambda:us-east-1:123456789012:function:f"
        ));
        assert!(!fits(
            "sqs",
            "https://sqs.us-east-1.amazonaws.com/123456789012/q"
        ));
        assert!(fits(
            "lambda",
            "arn:aws:lambda:us-east-1:123456789012:function:f"
        ));
        assert!(!fits("lambda", "notify"));
        // A reference is checked once it is known, by AWS.
        let r = endpoint_fits(&block(&[
            ("protocol", s("email")),
            ("endpoint", Value::Unknown),
        ]));
        assert!(r.is_none());
    }

    #[test]
    fn topic_names_follow_sns_rules() {
        assert!(topic_name(&s("alerts_prod-1")).is_ok());
        assert!(topic_name(&s("orders.fifo")).is_ok());
        assert!(topic_name(&s("alerts.prod")).is_err());
        assert!(topic_name(&s("alerts prod")).is_err());
        assert!(topic_name(&s(".fifo")).is_err());
    }

    #[test]
    fn fifo_goes_with_the_suffix_and_sqs_only() {
        let standard_named_fifo = block(&[("name", s("orders.fifo"))]);
        let v = fifo_rules(&standard_named_fifo).expect("a .fifo name needs fifo");
        assert_eq!(v.attribute, "name");
        assert!(v.message.contains("not FIFO"), "{}", v.message);
        let fifo_unsuffixed = block(&[("name", s("orders")), ("fifo", Value::Bool(true))]);
        assert!(fifo_rules(&fifo_unsuffixed).is_some());
        let email = Value::Map(block(&[("protocol", s("email"))]));
        let fifo_email = block(&[
            ("name", s("orders.fifo")),
            ("fifo", Value::Bool(true)),
            ("subscription", Value::List(vec![email])),
        ]);
        let v = fifo_rules(&fifo_email).expect("FIFO topics take SQS only");
        assert_eq!(v.attribute, "subscription");
        let sqs = Value::Map(block(&[("protocol", s("sqs"))]));
        let fifo_sqs = block(&[
            ("name", s("orders.fifo")),
            ("fifo", Value::Bool(true)),
            ("subscription", Value::List(vec![sqs])),
        ]);
        assert!(fifo_rules(&fifo_sqs).is_none());
    }

    #[test]
    fn one_endpoint_is_subscribed_once() {
        let sub = |name: &str, endpoint: &str| {
            Value::Map(block(&[
                ("name", s(name)),
                ("protocol", s("email")),
                ("endpoint", s(endpoint)),
            ]))
        };
        let twice = Value::List(vec![sub("a", "x@example.com"), sub("b", "x@example.com")]);
        assert!(distinct_subscriptions(&twice).is_err());
        let two = Value::List(vec![sub("a", "x@example.com"), sub("b", "y@example.com")]);
        assert!(distinct_subscriptions(&two).is_ok());
    }
}
