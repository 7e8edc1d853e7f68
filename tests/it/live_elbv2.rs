//! Load balancing end to end: an application load balancer, two target groups, an HTTP
//! listener redirecting to HTTPS, a weighted HTTPS listener and two rules, against moto.

use std::collections::BTreeMap;

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, FixedResponseActionConfig, PathPatternConditionConfig, RuleCondition,
};

use super::harness::expect;
use super::moto::World;

/// What the stack needs from moto's default network, a certificate, and a name for the load
/// balancer. Its length is fixed (the stack name's is not), so that plan columns and
/// wrapped diagnostics are the same on every run.
pub(super) struct Network {
    pub(super) name: String,
    vpc: String,
    pub(super) subnets: [String; 2],
    pub(super) group: String,
    certificate: String,
}

impl Network {
    pub(super) fn of(w: &World) -> Network {
        let ec2 = aws_sdk_ec2::Client::new(&w.config);
        let filter = |name: &str, value: &str| {
            aws_sdk_ec2::types::Filter::builder()
                .name(name)
                .values(value)
                .build()
        };
        let (vpc, subnets, group) = w.rt.block_on(async {
            let vpcs = ec2
                .describe_vpcs()
                .filters(filter("isDefault", "true"))
                .send()
                .await
                .expect("moto describes VPCs");
            let vpc = vpcs
                .vpcs()
                .first()
                .and_then(|v| v.vpc_id())
                .expect("moto has a default VPC")
                .to_string();
            let subnets = ec2
                .describe_subnets()
                .filters(filter("vpc-id", &vpc))
                .send()
                .await
                .expect("moto describes subnets");
            let mut by_zone: Vec<(String, String)> = subnets
                .subnets()
                .iter()
                .filter_map(|s| {
                    Some((
                        s.availability_zone()?.to_string(),
                        s.subnet_id()?.to_string(),
                    ))
                })
                .collect();
            by_zone.sort();
            let groups = ec2
                .describe_security_groups()
                .filters(filter("vpc-id", &vpc))
                .filters(filter("group-name", "default"))
                .send()
                .await
                .expect("moto describes security groups");
            let group = groups
                .security_groups()
                .first()
                .and_then(|g| g.group_id())
                .expect("the default VPC has a default security group")
                .to_string();
            assert!(by_zone.len() >= 2, "two subnets in the default VPC");
            (vpc, [by_zone[0].1.clone(), by_zone[1].1.clone()], group)
        });
        let certificate = w.certificate("us-east-1", &format!("*.{}", w.domain));
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        std::hash::Hash::hash(&w.stack, &mut hasher);
        let name = format!("lb{:08x}", std::hash::Hasher::finish(&hasher) as u32);
        Network {
            name,
            vpc,
            subnets,
            group,
            certificate,
        }
    }

    /// Output with this network's ids and moto's random ARN ids replaced by names.
    pub(super) fn scrub(&self, w: &World, text: &str) -> String {
        let text = text
            .replace(&self.name, "NAME")
            .replace(&self.certificate, "CERTIFICATE")
            .replace(&self.vpc, "VPC")
            .replace(&self.subnets[0], "SUBNET-A")
            .replace(&self.subnets[1], "SUBNET-B")
            .replace(&self.group, "SG")
            .replace(w.dir.to_string_lossy().as_ref(), "DIR");
        let ids = regex_lite::Regex::new(r"\b[0-9a-f]{16}\b").expect("a valid pattern");
        w.redact(&ids.replace_all(&text, "ID"))
    }
}

/// The stack, after `edit`, written to the world's folder; returns its path.
pub(super) fn stack(w: &World, n: &Network, edit: impl Fn(String) -> String) -> String {
    let text = format!(
        r#"stack "{stack}" region="us-east-1"

variable "domain" type="string" allow="the test harness passes it to every plan"

load-balancer "main" {{
    name "{name}"
    subnets "{subnet_b}" "{subnet_a}"
    security-groups "{group}"
    idle-timeout 120
}}

target-group "blue" {{
    name "{name}-blue"
    port 8080
    vpc "{vpc}"
    target-type "ip"
    health-check {{
        path "/health"
        matcher "200-399"
    }}
    deregistration-delay 30
}}

target-group "green" {{
    name "{name}-green"
    port 8081
    vpc "{vpc}"
    target-type "ip"
}}

listener "http" {{
    load-balancer (ref)"load-balancer.main"
    port 80
    protocol "HTTP"
    redirect protocol="HTTPS" port="443" status-code="HTTP_301"
}}

listener "https" {{
    load-balancer (ref)"load-balancer.main"
    port 443
    protocol "HTTPS"
    certificate "{certificate}"
    forward {{
        target (ref)"target-group.blue" weight=90
        target (ref)"target-group.green" weight=10
    }}
}}

listener-rule "api" {{
    listener (ref)"listener.https"
    priority 10
    host-header "api.example.com" "api2.example.com"
    forward (ref)"target-group.green"
}}

listener-rule "maintenance" {{
    listener (ref)"listener.https"
    priority 20
    path-pattern "/admin/*"
    fixed-response status-code=503 body="back soon"
}}
"#,
        stack = w.stack,
        name = n.name,
        subnet_a = n.subnets[0],
        subnet_b = n.subnets[1],
        group = n.group,
        vpc = n.vpc,
        certificate = n.certificate,
    );
    let path = w.dir.join("elbv2.kdl");
    std::fs::write(&path, edit(text)).expect("the stack is written");
    path.to_string_lossy().into_owned()
}

fn no_changes(w: &World, stack: &str) {
    let plan = w.infra(&["plan", stack, "--detailed-exitcode"], &[]);
    expect(&plan, 0);
    assert!(plan.stdout.starts_with("No changes"), "{}", plan.stdout);
}

fn elbv2(w: &World) -> aws_sdk_elasticloadbalancingv2::Client {
    aws_sdk_elasticloadbalancingv2::Client::new(&w.config)
}

/// The AWS names and ports of this world's target groups.
pub(super) fn target_groups(w: &World, n: &Network) -> BTreeMap<String, i32> {
    let groups =
        w.rt.block_on(elbv2(w).describe_target_groups().page_size(400).send())
            .expect("moto describes target groups");
    groups
        .target_groups()
        .iter()
        .filter_map(|tg| Some((tg.target_group_name()?.to_string(), tg.port()?)))
        .filter(|(name, _)| name.starts_with(&n.name))
        .collect()
}

/// The ARN of this world's load balancer, if it exists.
fn load_balancer(w: &World, n: &Network) -> Option<String> {
    let lbs =
        w.rt.block_on(elbv2(w).describe_load_balancers().send())
            .expect("moto describes load balancers");
    lbs.load_balancers()
        .iter()
        .find(|lb| lb.load_balancer_name() == Some(n.name.as_str()))
        .and_then(|lb| lb.load_balancer_arn().map(str::to_string))
}

fn https_listener(w: &World, n: &Network) -> String {
    let lb = load_balancer(w, n).expect("the load balancer exists");
    let listeners =
        w.rt.block_on(elbv2(w).describe_listeners().load_balancer_arn(lb).send())
            .expect("moto describes listeners");
    listeners
        .listeners()
        .iter()
        .find(|l| l.port() == Some(443))
        .and_then(|l| l.listener_arn().map(str::to_string))
        .expect("the HTTPS listener exists")
}

#[test]
fn a_load_balancer_stack_converges_changes_in_place_replaces_a_target_group_and_is_destroyed() {
    let w = World::new("elb");
    let n = Network::of(&w);
    let path = stack(&w, &n, |t| t);

    let apply = w.infra(&["apply", &path, "--auto-approve"], &[]);
    expect(&apply, 0);
    assert!(
        apply
            .stdout
            .contains("Apply complete: 7 created, 0 updated, 0 replaced, 0 deleted, 0 adopted."),
        "{}",
        apply.stdout
    );
    no_changes(&w, &path);

    // What a no-change plan costs: a handful of calls, whatever the number of rules.
    let plan = w.infra(&["plan", &path, "--detailed-exitcode", "--stats"], &[]);
    expect(&plan, 0);
    let per_operation: Vec<&str> = plan.stderr.lines().collect();
    insta::assert_snapshot!("elbv2_no_change_plan_calls", per_operation.join("\n"));

    // One attribute of each kind: the plan shows exactly those.
    let changed = |t: String| {
        t.replace("idle-timeout 120", "idle-timeout 300")
            .replace("deregistration-delay 30", "deregistration-delay 60")
            .replace("weight=90", "weight=50")
            .replace("api2.example.com", "www.example.com")
    };
    let path = stack(&w, &n, changed);
    let plan = w.infra(&["plan", &path, "--detailed-exitcode"], &[]);
    expect(&plan, 2);
    insta::assert_snapshot!("elbv2_one_change_per_kind", n.scrub(&w, &plan.stdout));
    let apply = w.infra(&["apply", &path, "--auto-approve"], &[]);
    expect(&apply, 0);
    assert!(
        apply
            .stdout
            .contains("Apply complete: 0 created, 4 updated, 0 replaced, 0 deleted, 0 adopted."),
        "{}",
        apply.stdout
    );
    no_changes(&w, &path);

    // A new port replaces the target group: the new one is made first under the alternate
    // name, the listener and rule move to it, then the old one goes.
    let path = stack(&w, &n, |t| changed(t).replace("port 8081", "port 8082"));
    let plan = w.infra(&["plan", &path, "--detailed-exitcode"], &[]);
    expect(&plan, 2);
    insta::assert_snapshot!("elbv2_replace_target_group", n.scrub(&w, &plan.stdout));
    let apply = w.infra(&["apply", &path, "--auto-approve"], &[]);
    expect(&apply, 0);
    assert!(!apply.stdout.contains("ResourceInUse"), "{}", apply.stdout);
    let green = format!("{}-green", n.name);
    let groups = target_groups(&w, &n);
    assert_eq!(groups.get(&format!("{green}-b")), Some(&8082), "{groups:?}");
    assert!(!groups.contains_key(&green), "{groups:?}");
    no_changes(&w, &path);
    // And once more: back to the declared name.
    let path = stack(&w, &n, |t| changed(t).replace("port 8081", "port 8083"));
    expect(&w.infra(&["apply", &path, "--auto-approve"], &[]), 0);
    let groups = target_groups(&w, &n);
    assert_eq!(groups.get(&green), Some(&8083), "{groups:?}");
    assert_eq!(groups.len(), 2, "{groups:?}");
    no_changes(&w, &path);

    // A rule taken out of the stack is deleted.
    let path = stack(&w, &n, |t| {
        let t = changed(t).replace("port 8081", "port 8083");
        let cut = t.find("listener-rule \"maintenance\"").expect("the rule");
        t[..cut].to_string()
    });
    let plan = w.infra(&["plan", &path, "--detailed-exitcode"], &[]);
    expect(&plan, 2);
    assert!(
        plan.stdout
            .contains("- listener-rule.maintenance: delete (no longer in the stack)"),
        "{}",
        plan.stdout
    );
    expect(&w.infra(&["apply", &path, "--auto-approve"], &[]), 0);
    no_changes(&w, &path);

    let destroy = w.infra(&["destroy", &path, "--auto-approve"], &[]);
    expect(&destroy, 0);
    assert!(
        destroy
            .stdout
            .contains("Destroy complete: 0 created, 0 updated, 0 replaced, 6 deleted, 0 adopted."),
        "{}",
        destroy.stdout
    );
    assert_eq!(load_balancer(&w, &n), None);
    assert!(target_groups(&w, &n).is_empty());
}

#[test]
fn a_rule_no_stack_owns_at_a_wanted_priority_is_a_plan_error() {
    let w = World::new("elbrule");
    let n = Network::of(&w);
    let path = stack(&w, &n, |t| t);
    expect(&w.infra(&["apply", &path, "--auto-approve"], &[]), 0);

    // Someone adds a rule by hand at the priority the next version of the stack wants.
    let listener = https_listener(&w, &n);
    w.rt.block_on(
        elbv2(&w)
            .create_rule()
            .listener_arn(&listener)
            .priority(30)
            .conditions(
                RuleCondition::builder()
                    .field("path-pattern")
                    .path_pattern_config(
                        PathPatternConditionConfig::builder()
                            .values("/by-hand/*")
                            .build(),
                    )
                    .build(),
            )
            .actions(
                Action::builder()
                    .r#type(ActionTypeEnum::FixedResponse)
                    .fixed_response_config(
                        FixedResponseActionConfig::builder()
                            .status_code("418")
                            .build(),
                    )
                    .build(),
            )
            .send(),
    )
    .expect("moto creates the rule");
    let path = stack(&w, &n, |t| {
        t + r#"
listener-rule "status" {
    listener (ref)"listener.https"
    priority 30
    path-pattern "/status"
    fixed-response status-code=200 body="ok"
}
"#
    });
    let plan = w.infra(&["plan", &path, "--detailed-exitcode"], &[]);
    expect(&plan, 1);
    // The message wraps inside the listener's ARN, where depends on whether its random ids
    // start with a letter or a digit: joined, it is the same on every run.
    let stderr = plan.stderr.replace("\n  │ ", "");
    insta::assert_snapshot!("elbv2_unowned_rule", n.scrub(&w, &stderr));
    // Nothing was touched: the rule is still the hand-made one.
    let rules =
        w.rt.block_on(elbv2(&w).describe_rules().listener_arn(&listener).send())
            .expect("moto describes rules");
    let by_hand = rules
        .rules()
        .iter()
        .find(|r| r.priority() == Some("30"))
        .expect("the hand-made rule is there");
    assert_eq!(
        by_hand
            .actions()
            .first()
            .and_then(|a| a.fixed_response_config())
            .and_then(|c| c.status_code()),
        Some("418")
    );

    let destroy = w.infra(&["destroy", &path, "--auto-approve"], &[]);
    expect(&destroy, 0);
    assert_eq!(load_balancer(&w, &n), None);
}
