//! The judgements of `infra verify`, over what was read: no AWS here, so each is unit-tested.

use super::probe::Answer;
use super::{Check, Outcome};
use crate::model::{Probe, Value};
use crate::plan::{Action, Change};
use crate::providers::aws::health::{ServiceNow, TargetNow};

/// The last part of an ARN after `/` (`family:3` of a task definition ARN).
pub fn arn_tail(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// Whether the plan leaves `address` alone: a resource with a pending change (a task
/// definition whose containers differ, a service on another revision) is not what the stack
/// says. Paths are named, values only for images (never a secret).
pub fn definition(address: &str, change: Option<&Change>, running: Option<&str>) -> Check {
    let what = "definition";
    let Some(change) = change else {
        return Check::new(address, what, Outcome::Error, "not in the plan");
    };
    let running = running.map_or(String::new(), |td| format!(" (runs `{}`)", arn_tail(td)));
    match change.action {
        Action::NoOp => Check::new(
            address,
            what,
            Outcome::Pass,
            format!("as the stack says{running}"),
        ),
        Action::Create => Check::new(address, what, Outcome::Fail, "does not exist in AWS"),
        Action::Adopt => Check::new(
            address,
            what,
            Outcome::Fail,
            "exists without the stack's ownership tags",
        ),
        Action::Delete => Check::new(address, what, Outcome::Fail, "no longer in the stack"),
        Action::Update | Action::Replace => {
            let paths: Vec<String> = crate::plan::paths::paths(change)
                .into_iter()
                .map(|p| {
                    let image = p.path.ends_with(".image") || p.path == "task-definition";
                    match (image && !p.sensitive, &p.before, &p.after) {
                        (true, Some(Value::String(live)), Some(Value::String(stack))) => {
                            format!("{} (live `{live}`, stack `{stack}`)", p.path)
                        }
                        _ => p.path,
                    }
                })
                .collect();
            let shown = if paths.is_empty() {
                change.reasons.join("; ")
            } else {
                paths.join(", ")
            };
            Check::new(
                address,
                what,
                Outcome::Fail,
                format!("differs from the stack{running}: {shown}"),
            )
        }
    }
}

/// Every task the service wants runs.
pub fn tasks(address: &str, service: &ServiceNow) -> Check {
    let counts = format!("running {}/{}", service.running, service.desired);
    if service.running == service.desired {
        Check::new(address, "tasks", Outcome::Pass, counts)
    } else {
        let pending = if service.pending > 0 {
            format!(", {} pending", service.pending)
        } else {
            String::new()
        };
        Check::new(
            address,
            "tasks",
            Outcome::Fail,
            format!("{counts}{pending}: running is not desired"),
        )
    }
}

/// Every target registered with the group is healthy, and there is one at least (for a
/// service that wants tasks: otherwise the load balancer has nothing to send traffic to).
pub fn targets(address: &str, targets: &[TargetNow], wanted: bool) -> Check {
    let what = "targets";
    let bad: Vec<String> = targets
        .iter()
        .filter(|t| t.state != "healthy")
        .map(|t| match &t.reason {
            Some(r) => format!("{} {} ({r})", t.target, t.state),
            None => format!("{} {}", t.target, t.state),
        })
        .collect();
    if !bad.is_empty() {
        return Check::new(address, what, Outcome::Fail, bad.join("; "));
    }
    if targets.is_empty() {
        return if wanted {
            Check::new(
                address,
                what,
                Outcome::Fail,
                "no target registered: the load balancer has nowhere to send requests",
            )
        } else {
            Check::new(address, what, Outcome::Pass, "no target registered")
        };
    }
    let names: Vec<&str> = targets.iter().map(|t| t.target.as_str()).collect();
    Check::new(
        address,
        what,
        Outcome::Pass,
        format!("{} healthy: {}", names.len(), names.join(", ")),
    )
}

/// The alarm is not in ALARM (INSUFFICIENT_DATA passes: nothing is known to be wrong).
pub fn alarm(address: &str, name: &str, state: Option<&str>) -> Check {
    match state {
        Some("ALARM") => Check::new(
            address,
            "alarm",
            Outcome::Fail,
            format!("`{name}` is in ALARM"),
        ),
        Some(state) => Check::new(
            address,
            "alarm",
            Outcome::Pass,
            format!("`{name}` is {state}"),
        ),
        None => Check::new(
            address,
            "alarm",
            Outcome::Fail,
            format!("`{name}` does not exist in AWS"),
        ),
    }
}

/// A DNS name as compared: lower case, no final dot, no `dualstack.` prefix.
fn dns_form(name: &str) -> String {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name.strip_prefix("dualstack.")
        .map_or(name.clone(), str::to_string)
}

/// The record aliases the load balancer of the stack it names, by Route53's own data.
pub fn record(
    address: &str,
    record_alias: Option<&str>,
    balancer: &str,
    balancer_dns: Option<&str>,
) -> Check {
    let what = "dns";
    match (record_alias, balancer_dns) {
        (None, _) => Check::new(
            address,
            what,
            Outcome::Fail,
            format!("the record does not exist or is no alias (should alias {balancer})"),
        ),
        (Some(_), None) => Check::new(
            address,
            what,
            Outcome::Fail,
            format!("{balancer} does not exist in AWS"),
        ),
        (Some(alias), Some(dns)) if dns_form(alias) == dns_form(dns) => Check::new(
            address,
            what,
            Outcome::Pass,
            format!("aliases {balancer} ({})", dns_form(dns)),
        ),
        (Some(alias), Some(dns)) => Check::new(
            address,
            what,
            Outcome::Fail,
            format!(
                "aliases `{}`, not {balancer} (`{}`)",
                dns_form(alias),
                dns_form(dns)
            ),
        ),
    }
}

/// The probe's answer has the status and body the stack expects.
pub fn probe(probe: &Probe, url: &str, answer: &Answer) -> Check {
    let subject = format!("probe.{}", probe.name);
    match answer {
        Answer::Failed(why) => {
            Check::new(subject, "probe", Outcome::Fail, format!("GET {url}: {why}"))
        }
        Answer::Got { status, .. } if *status != probe.expect_status => Check::new(
            subject,
            "probe",
            Outcome::Fail,
            format!(
                "GET {url}: status {status}, expected {}",
                probe.expect_status
            ),
        ),
        Answer::Got { body, .. } => match &probe.expect_body {
            Some(text) if !body.contains(text.as_str()) => Check::new(
                subject,
                "probe",
                Outcome::Fail,
                format!(
                    "GET {url}: status {}, but the body lacks `{text}`",
                    probe.expect_status
                ),
            ),
            Some(text) => Check::new(
                subject,
                "probe",
                Outcome::Pass,
                format!(
                    "GET {url}: status {}, body has `{text}`",
                    probe.expect_status
                ),
            ),
            None => Check::new(
                subject,
                "probe",
                Outcome::Pass,
                format!("GET {url}: status {}", probe.expect_status),
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(id: &str, state: &str) -> TargetNow {
        TargetNow {
            target: id.into(),
            state: state.into(),
            reason: (state != "healthy").then(|| "Target.NotRegistered".into()),
        }
    }

    #[test]
    fn targets_fail_on_any_unhealthy_one_and_name_it() {
        let all = [
            target("10.0.0.1:80", "healthy"),
            target("10.0.0.2:80", "unused"),
        ];
        let check = targets("target-group.api", &all, true);
        assert_eq!(check.outcome, Outcome::Fail);
        assert_eq!(check.detail, "10.0.0.2:80 unused (Target.NotRegistered)");
        let check = targets("target-group.api", &all[..1], true);
        assert_eq!(check.outcome, Outcome::Pass);
        assert_eq!(targets("t", &[], true).outcome, Outcome::Fail);
        assert_eq!(targets("t", &[], false).outcome, Outcome::Pass);
    }

    #[test]
    fn alarms_fail_in_alarm_or_missing() {
        assert_eq!(alarm("alarm.a", "a", Some("ALARM")).outcome, Outcome::Fail);
        assert_eq!(alarm("alarm.a", "a", None).outcome, Outcome::Fail);
        assert_eq!(alarm("alarm.a", "a", Some("OK")).outcome, Outcome::Pass);
        assert_eq!(
            alarm("alarm.a", "a", Some("INSUFFICIENT_DATA")).outcome,
            Outcome::Pass
        );
    }

    #[test]
    fn records_compare_alias_targets_as_route53_writes_them() {
        let lb = "web-1.us-east-1.elb.amazonaws.com";
        let ok = record(
            "record.www",
            Some("dualstack.WEB-1.us-east-1.elb.amazonaws.com."),
            "load-balancer.main",
            Some(lb),
        );
        assert_eq!(ok.outcome, Outcome::Pass, "{ok:?}");
        let other = record(
            "record.www",
            Some("other.elb.amazonaws.com."),
            "load-balancer.main",
            Some(lb),
        );
        assert_eq!(other.outcome, Outcome::Fail);
        assert!(
            other.detail.contains("other.elb.amazonaws.com"),
            "{other:?}"
        );
        assert_eq!(record("r", None, "l", Some(lb)).outcome, Outcome::Fail);
    }

    #[test]
    fn tasks_pass_only_when_running_is_desired() {
        let mut svc = ServiceNow {
            name: "app".into(),
            task_definition: "arn:aws:ecs:r:1:task-definition/app:3".into(),
            running: 2,
            desired: 2,
            pending: 0,
            deployments: vec![],
        };
        assert_eq!(tasks("service.app", &svc).outcome, Outcome::Pass);
        svc.running = 1;
        svc.pending = 1;
        let check = tasks("service.app", &svc);
        assert_eq!(check.outcome, Outcome::Fail);
        assert_eq!(
            check.detail,
            "running 1/2, 1 pending: running is not desired"
        );
    }

    #[test]
    fn probes_check_status_then_body() {
        let p = Probe {
            name: "ready".into(),
            url: Value::String("http://x".into()),
            expect_status: 200,
            expect_body: Some("ok".into()),
            timeout: std::time::Duration::from_secs(1),
            span: crate::model::Span {
                source: crate::model::SourceId(0),
                offset: 0,
                len: 0,
            },
        };
        let got = |status, body: &str| Answer::Got {
            status,
            body: body.into(),
        };
        assert_eq!(
            probe(&p, "http://x", &got(200, "all ok")).outcome,
            Outcome::Pass
        );
        assert_eq!(
            probe(&p, "http://x", &got(503, "ok")).outcome,
            Outcome::Fail
        );
        assert_eq!(
            probe(&p, "http://x", &got(200, "nope")).outcome,
            Outcome::Fail
        );
        let failed = probe(
            &p,
            "http://x",
            &Answer::Failed("no answer within 1s".into()),
        );
        assert_eq!(failed.detail, "GET http://x: no answer within 1s");
    }
}
