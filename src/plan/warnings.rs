//! Warnings only live AWS can tell: a secret nobody has given a value (an operator-managed
//! secret about to be created empty, or one that exists without a current version). Tasks that
//! read such a secret fail to start until someone sets it. A deployment alarm already in ALARM,
//! which ECS ignores for the whole deployment. An SNS subscription that waits for its owner's
//! confirmation, which receives nothing until then.

use crate::model::{Kind, Resource, Stack, Value, Warning};
use crate::providers::{ALARM_STATE, CURRENT_VERSION, Live, PENDING_SUBSCRIPTIONS};
use crate::refresh::Refreshed;

/// Whether a secret's stack text gives infra a value to write (`from-env`, `from-file`,
/// `generate`); `unmanaged` or no `value` block leaves it to operators.
fn written(attrs: &std::collections::BTreeMap<String, Value>) -> bool {
    attrs.get("value").and_then(Value::as_map).is_some_and(|v| {
        v.contains_key("from-env") || v.contains_key("from-file") || v.contains_key("generate")
    })
}

/// The stack's warnings and those of what refresh read.
pub fn of(stack: &Stack, refreshed: &Refreshed, destroy: bool) -> Vec<Warning> {
    // A plan that deletes has nothing to say about how the stack is written.
    if destroy {
        return Vec::new();
    }
    let mut out = stack.warnings.clone();
    for (i, r) in stack.resources.iter().enumerate() {
        let allowed = stack
            .allowed
            .get(&r.address)
            .is_some_and(|paths| paths.contains("value"));
        if r.kind() != Kind::Secret || written(&r.attrs) || allowed {
            continue;
        }
        let name = r.attrs.get("name").and_then(Value::as_str).unwrap_or("?");
        let state = match refreshed.live[i].as_ref() {
            None => "is created without a value",
            Some(live) if empty(live) => "has no value yet",
            Some(_) => continue,
        };
        out.push(Warning {
            code: "infra::secret-without-value",
            address: Some(r.address.to_string()),
            message: format!(
                "secret `{name}` {state}: its value is set by hand, and tasks that read it fail \
                 to start until someone does"
            ),
            help: format!(
                "set it once created: `aws secretsmanager put-secret-value --secret-id {name} \
                 --secret-string …`; or let infra write it (`value from-env=\"…\"`, \
                 `from-file=`, or a `generate` block)"
            ),
            span: Some(r.span),
            location: Some(crate::lang::warnings::location(&stack.sources, r.span)),
        });
    }
    out.extend(alarms_in_alarm(stack, refreshed));
    out.extend(pending_subscriptions(stack, refreshed));
    out
}

/// The subscriptions of the stack's SNS topics that wait for their owner's confirmation: the
/// plan shows them here, never as a change (infra cannot confirm them, and subscribing again
/// would only send another confirmation request).
fn pending_subscriptions(stack: &Stack, refreshed: &Refreshed) -> Vec<Warning> {
    let mut out = Vec::new();
    for (i, r) in stack.resources.iter().enumerate() {
        if r.kind() != Kind::SnsTopic {
            continue;
        }
        let pending = refreshed
            .live
            .get(i)
            .and_then(Option::as_ref)
            .and_then(|l| l.private.get(PENDING_SUBSCRIPTIONS))
            .and_then(Value::as_list)
            .unwrap_or_default();
        let topic = r.attrs.get("name").and_then(Value::as_str).unwrap_or("?");
        for item in pending {
            let Some(item) = item.as_map() else { continue };
            let get = |k: &str| item.get(k).and_then(Value::as_str).unwrap_or("?");
            let declared = item.get("declared") != Some(&Value::Bool(false));
            let (message, help) = if declared {
                (
                    format!(
                        "subscription `{}` ({}) of SNS topic `{topic}` is pending: it receives \
                         nothing until its owner confirms it",
                        get("name"),
                        get("protocol")
                    ),
                    "the owner of the endpoint confirms it with the link or request SNS sent; \
                     infra does not subscribe it again"
                        .to_string(),
                )
            } else {
                (
                    format!(
                        "a {} subscription of SNS topic `{topic}` that the stack no longer \
                         declares is still pending confirmation",
                        get("protocol")
                    ),
                    "a pending subscription cannot be unsubscribed; AWS drops it unconfirmed"
                        .to_string(),
                )
            };
            out.push(Warning {
                code: "infra::subscription-pending",
                address: Some(r.address.to_string()),
                message,
                help,
                span: Some(r.span),
                location: Some(crate::lang::warnings::location(&stack.sources, r.span)),
            });
        }
    }
    out
}

/// A service's deployment alarms (of this stack) that refresh read in state ALARM: ECS ignores
/// an alarm that is in ALARM when a deployment starts, so it cannot stop that deployment.
fn alarms_in_alarm(stack: &Stack, refreshed: &Refreshed) -> Vec<Warning> {
    let mut out = Vec::new();
    for r in &stack.resources {
        let allowed = stack
            .allowed
            .get(&r.address)
            .is_some_and(|paths| paths.contains("deployment.alarms"));
        if r.kind() != Kind::Service || allowed {
            continue;
        }
        let named = r
            .attrs
            .get("deployment")
            .and_then(Value::as_map)
            .and_then(|d| d.get("alarms"))
            .and_then(Value::as_list)
            .unwrap_or_default();
        for item in named {
            let Some(i) = alarm_of_stack(stack, item) else {
                continue;
            };
            let state = refreshed.live[i]
                .as_ref()
                .and_then(|l| l.private.get(ALARM_STATE))
                .and_then(Value::as_str);
            if state != Some("ALARM") {
                continue;
            }
            let alarm = &stack.resources[i];
            let name = alarm
                .attrs
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("?");
            let service = r.attrs.get("name").and_then(Value::as_str).unwrap_or("?");
            out.push(Warning {
                code: "infra::deployment-alarm-in-alarm",
                address: Some(r.address.to_string()),
                message: format!(
                    "deployment alarm `{name}` ({}) of service `{service}` is in ALARM now: ECS \
                     ignores an alarm that is in ALARM when a deployment starts, so it cannot \
                     stop or roll back this deployment",
                    alarm.address
                ),
                help: "find out why it is in ALARM and let it recover before deploying (a \
                       `bake` ignores it too until it leaves ALARM); or say it is fine with \
                       `allow=\"reason\"` on the `alarms` line"
                    .into(),
                span: Some(r.span),
                location: Some(crate::lang::warnings::location(&stack.sources, r.span)),
            });
        }
    }
    out
}

/// The index of the alarm of this stack a deployment's `alarms` item names: a reference to
/// it, or its name written as a string.
fn alarm_of_stack(stack: &Stack, item: &Value) -> Option<usize> {
    let is_alarm = |r: &Resource| r.kind() == Kind::Alarm;
    match item {
        Value::Ref(reference) => {
            let address = reference.address()?;
            stack
                .resources
                .iter()
                .position(|r| is_alarm(r) && &r.address == address)
        }
        Value::String(name) => stack.resources.iter().position(|r| {
            is_alarm(r) && r.attrs.get("name").and_then(Value::as_str) == Some(name.as_str())
        }),
        _ => None,
    }
}

/// A live secret with no version AWS serves as current.
fn empty(live: &Live) -> bool {
    live.pending_deletion.is_none() && !live.private.contains_key(CURRENT_VERSION)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::lang::{LoadOptions, load};
    use crate::providers::Owner;

    fn stack(body: &str) -> Stack {
        let dir = std::env::temp_dir().join(format!("infra-warnings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("stack.kdl");
        std::fs::write(&path, format!("stack \"w\" region=\"us-east-1\"\n{body}")).expect("write");
        let stack = load(&path, &LoadOptions::default()).expect("loads");
        let _ = std::fs::remove_dir_all(&dir);
        stack
    }

    #[test]
    fn a_pending_subscription_is_a_warning_not_a_change() {
        let s = stack(
            r#"
sns-topic "alerts" {
    name "alerts"
    subscription "oncall" protocol="email" endpoint="oncall@example.com"
}
"#,
        );
        let mut live = Live::new(BTreeMap::new(), Owner::Nobody);
        live.private.insert(
            PENDING_SUBSCRIPTIONS.into(),
            Value::List(vec![Value::Map(BTreeMap::from([
                ("name".to_string(), Value::String("oncall".into())),
                ("protocol".to_string(), Value::String("email".into())),
                ("declared".to_string(), Value::Bool(true)),
            ]))]),
        );
        let refreshed = Refreshed {
            live: vec![Some(live)],
            ..Refreshed::default()
        };
        let warnings = pending_subscriptions(&s, &refreshed);
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].code, "infra::subscription-pending");
        assert!(
            warnings[0].message.contains("`oncall` (email)")
                && warnings[0].message.contains("pending"),
            "{}",
            warnings[0].message
        );
        // The endpoint (someone's address) is not repeated in the warning.
        assert!(!warnings[0].message.contains("oncall@example.com"));
        let none = Refreshed {
            live: vec![None],
            ..Refreshed::default()
        };
        assert!(pending_subscriptions(&s, &none).is_empty());
    }
}
