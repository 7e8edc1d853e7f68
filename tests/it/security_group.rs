//! Security groups and security group rules end to end, against moto: a group's rules
//! reconciled one by one, its tags, drift repaired, look-alikes left alone, and the pair of
//! groups that reference each other (a load balancer's and its tasks') from nothing and back;
//! and their separate rules (`security-group-rule`): retagged in place, replaced when what AWS
//! identifies them by changes, repaired after changes by hand, look-alikes left alone.

use std::collections::BTreeSet;

use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, ResourceType, SecurityGroup, SecurityGroupRule,
    SecurityGroupRuleRequest, SecurityGroupRuleUpdate, Tag, TagSpecification,
};

use super::harness::expect;
use super::moto::World;

fn ec2(w: &World) -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(&w.config)
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// The groups of `vpc`, by name.
fn groups(w: &World, vpc: &str) -> Vec<SecurityGroup> {
    w.rt.block_on(
        ec2(w)
            .describe_security_groups()
            .filters(filter("vpc-id", vpc))
            .send(),
    )
    .expect("moto describes security groups")
    .security_groups()
    .to_vec()
}

fn group(w: &World, vpc: &str, name: &str) -> SecurityGroup {
    groups(w, vpc)
        .into_iter()
        .find(|g| g.group_name() == Some(name))
        .unwrap_or_else(|| panic!("group {name} exists"))
}

fn rules(w: &World, group_id: &str) -> Vec<SecurityGroupRule> {
    w.rt.block_on(
        ec2(w)
            .describe_security_group_rules()
            .filters(filter("group-id", group_id))
            .send(),
    )
    .expect("moto describes rules")
    .security_group_rules()
    .to_vec()
}

/// Rules of a group in one direction as `protocol from-to source [description]`, with ids.
/// (moto's DescribeSecurityGroupRules leaves out the description of a rule that references a
/// group; the empty re-plans prove infra reads it.)
fn described(w: &World, group_id: &str, egress: bool) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = rules(w, group_id)
        .iter()
        .filter(|r| r.is_egress() == Some(egress))
        .map(|r| {
            let source = r
                .cidr_ipv4()
                .or(r.cidr_ipv6())
                .or(r.prefix_list_id())
                .or(r.referenced_group_info().and_then(|g| g.group_id()))
                .unwrap_or_default();
            (
                format!(
                    "{} {}-{} {source} {}",
                    r.ip_protocol().unwrap_or_default(),
                    r.from_port().unwrap_or_default(),
                    r.to_port().unwrap_or_default(),
                    r.description().unwrap_or_default()
                )
                .trim_end()
                .to_string(),
                r.security_group_rule_id().unwrap_or_default().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

fn shapes(rules: &[(String, String)]) -> Vec<&str> {
    rules.iter().map(|(s, _)| s.as_str()).collect()
}

fn no_changes(w: &World, stack: &str) {
    let plan = w.infra(&["plan", stack, "--detailed-exitcode"], &[]);
    expect(&plan, 0);
    assert!(plan.stdout.starts_with("No changes"), "{}", plan.stdout);
}

/// Group and rule ids vary from run to run.
fn scrub(text: &str) -> String {
    let groups = regex_lite::Regex::new(r"sg-[0-9a-f]+").expect("a pattern");
    let rules = regex_lite::Regex::new(r"sgr-[0-9a-f]+").expect("a pattern");
    let text = groups.replace_all(text, "sg-ID");
    rules.replace_all(&text, "sgr-ID").into_owned()
}

fn write(w: &World, vpc: &str, body: &str) -> String {
    let text = format!(
        r#"stack "{stack}" region="us-east-1"

variable "domain" type="string" allow="the test harness passes it to every plan"

{body}"#,
        stack = w.stack,
        body = body.replace("VPC", vpc)
    );
    let path = w.dir.join("groups.kdl");
    std::fs::write(&path, text).expect("the stack is written");
    path.to_string_lossy().into_owned()
}

const WEB: &str = r#"security-group "web" {
    name "web"
    description "the web tier"
    vpc "VPC"
    ingress { protocol "tcp"; port 443; cidr "10.0.0.0/8"; description "https"; }
    ingress { protocol "tcp"; from-port 8000; to-port 8100; cidr "10.1.0.0/16"; }
    ingress { protocol "all"; ipv6-cidr "2001:db8::/32"; }
    egress { protocol "tcp"; port 443; cidr "0.0.0.0/0"; }
    tags { team "web"; }
}

security-group "db" {
    name "db"
    vpc "VPC"
    ingress { port 5432; security-group (ref)"security-group.web.id"; description "from web"; }
}
"#;

#[test]
fn a_security_group_reconciles_its_rules_one_by_one_repairs_drift_and_leaves_look_alikes() {
    let w = World::new("secgroups");
    let vpc = w.network("us-east-1", &w.stack, &[]);
    let path = write(&w, &vpc, WEB);

    let apply = w.infra(&["apply", &path, "--auto-approve"], &[]);
    expect(&apply, 0);
    assert!(
        apply
            .stdout
            .contains("Apply complete: 2 created, 0 updated, 0 replaced, 0 deleted, 0 adopted."),
        "{}",
        apply.stdout
    );
    no_changes(&w, &path);
    let web = group(&w, &vpc, "web");
    let web_id = web.group_id().expect("an id").to_string();
    let db_id = group(&w, &vpc, "db").group_id().expect("an id").to_string();
    assert_eq!(web.description(), Some("the web tier"));
    // Declared egress is exactly what is declared: AWS's default allow-all is revoked.
    assert_eq!(
        shapes(&described(&w, &web_id, true)),
        ["tcp 443-443 0.0.0.0/0"]
    );
    // Omitted egress is AWS's default, kept.
    assert_eq!(shapes(&described(&w, &db_id, true)), ["-1 -1--1 0.0.0.0/0"]);
    assert_eq!(
        shapes(&described(&w, &db_id, false)),
        [format!("tcp 5432-5432 {web_id}")]
    );
    let before = described(&w, &web_id, false);
    assert_eq!(
        shapes(&before),
        [
            "-1 -1--1 2001:db8::/32",
            "tcp 443-443 10.0.0.0/8 https",
            "tcp 8000-8100 10.1.0.0/16"
        ]
    );

    // Rules: one added, one removed, one described anew in place; the others keep their ids
    // (never touched), and so does the one described anew (never revoked).
    let changed = |t: &str| {
        t.replace(
            r#"ingress { protocol "tcp"; from-port 8000; to-port 8100; cidr "10.1.0.0/16"; }"#,
            r#"ingress { protocol "tcp"; port 80; cidr "10.0.0.0/8"; description "http"; }"#,
        )
        .replace(r#"description "https""#, r#"description "tls""#)
    };
    let path = write(&w, &vpc, &changed(WEB));
    let plan = w.infra(&["plan", &path, "--detailed-exitcode"], &[]);
    expect(&plan, 2);
    insta::assert_snapshot!(
        "security_group_rules_change",
        scrub(&w.redact(&plan.stdout))
    );
    expect(&w.infra(&["apply", &path, "--auto-approve"], &[]), 0);
    no_changes(&w, &path);
    let after = described(&w, &web_id, false);
    assert_eq!(
        shapes(&after),
        [
            "-1 -1--1 2001:db8::/32",
            "tcp 443-443 10.0.0.0/8 tls",
            "tcp 80-80 10.0.0.0/8 http"
        ]
    );
    assert!(
        after.contains(&before[0]),
        "{:?} was touched: {after:?}",
        before[0]
    );
    assert_eq!(after[1].1, before[1].1, "the https rule kept its id");

    // Tags.
    let tagged = |t: &str| changed(t).replace(r#"team "web""#, r#"team "platform""#);
    let path = write(&w, &vpc, &tagged(WEB));
    let plan = w.infra(&["plan", &path, "--detailed-exitcode"], &[]);
    expect(&plan, 2);
    insta::assert_snapshot!("security_group_tags_change", scrub(&w.redact(&plan.stdout)));
    expect(&w.infra(&["apply", &path, "--auto-approve"], &[]), 0);
    no_changes(&w, &path);
    let web = group(&w, &vpc, "web");
    assert!(
        web.tags()
            .iter()
            .any(|t| t.key() == Some("team") && t.value() == Some("platform")),
        "{:?}",
        web.tags()
    );

    // Drift: a rule revoked and a rule added out of band.
    let https = after
        .iter()
        .find(|(s, _)| s.starts_with("tcp 443"))
        .map(|(_, id)| id.clone())
        .expect("the https rule");
    w.rt.block_on(async {
        let ec2 = ec2(&w);
        ec2.revoke_security_group_ingress()
            .group_id(&web_id)
            .security_group_rule_ids(https)
            .send()
            .await
            .expect("moto revokes the rule");
        ec2.authorize_security_group_ingress()
            .group_id(&web_id)
            .ip_permissions(
                IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(22)
                    .to_port(22)
                    .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                    .build(),
            )
            .send()
            .await
            .expect("moto authorises the rule");
    });
    let plan = w.infra(&["plan", &path, "--detailed-exitcode"], &[]);
    expect(&plan, 2);
    assert!(
        plan.stdout.contains("security-group.web"),
        "{}",
        plan.stdout
    );
    expect(&w.infra(&["apply", &path, "--auto-approve"], &[]), 0);
    assert_eq!(
        shapes(&described(&w, &web_id, false)),
        [
            "-1 -1--1 2001:db8::/32",
            "tcp 443-443 10.0.0.0/8 tls",
            "tcp 80-80 10.0.0.0/8 http"
        ]
    );
    no_changes(&w, &path);

    // Look-alikes: a group of the same name in another VPC is not ours and is ignored; an
    // unowned group with a name the stack declares in its VPC is a plan error.
    let other_vpc = w.network("us-east-1", &format!("{}-other", w.stack), &["web"]);
    no_changes(&w, &path);
    w.rt.block_on(
        ec2(&w)
            .create_security_group()
            .group_name("cache")
            .description("someone else's")
            .vpc_id(&vpc)
            .send(),
    )
    .expect("moto creates the look-alike");
    let with_cache = format!(
        "{}\nsecurity-group \"cache\" {{\n    name \"cache\"\n    vpc \"VPC\"\n}}\n",
        tagged(WEB)
    );
    let clash = write(&w, &vpc, &with_cache);
    let plan = w.infra(&["plan", &clash], &[]);
    expect(&plan, 1);
    assert!(
        plan.stderr.contains("security-group.cache"),
        "{}",
        plan.stderr
    );
    insta::assert_snapshot!(
        "security_group_unowned_look_alike",
        scrub(&w.redact(&plan.stderr))
    );

    // Destroy: the stack's groups go, the look-alikes stay as they were.
    let destroy = w.infra(&["destroy", &path, "--auto-approve"], &[]);
    expect(&destroy, 0);
    assert!(
        destroy
            .stdout
            .contains("Destroy complete: 0 created, 0 updated, 0 replaced, 2 deleted, 0 adopted."),
        "{}",
        destroy.stdout
    );
    let left: BTreeSet<String> = groups(&w, &vpc)
        .iter()
        .filter_map(|g| g.group_name().map(str::to_string))
        .collect();
    assert_eq!(left, BTreeSet::from(["cache".into(), "default".into()]));
    let cache = group(&w, &vpc, "cache");
    assert_eq!(cache.description(), Some("someone else's"));
    assert!(cache.tags().is_empty(), "{:?}", cache.tags());
    group(&w, &other_vpc, "web");
}

const PAIR: &str = r#"security-group "alb" {
    name "alb"
    vpc "VPC"
    ingress { port 443; cidr "0.0.0.0/0"; description "https from anywhere"; }
    egress { port 443; cidr "10.0.0.0/8"; }
}

security-group "tasks" {
    name "tasks"
    vpc "VPC"
}

security-group-rule "alb-to-tasks" {
    group (ref)"security-group.alb.id"
    direction "egress"
    port 8080
    security-group (ref)"security-group.tasks.id"
    description "to the tasks"
}

security-group-rule "tasks-from-alb" {
    group (ref)"security-group.tasks.id"
    direction "ingress"
    port 8080
    security-group (ref)"security-group.alb.id"
    description "from the load balancer"
}
"#;

#[test]
fn two_groups_that_reference_each_other_are_made_from_nothing_and_destroyed() {
    let w = World::new("secgrouppair");
    let vpc = w.network("us-east-1", &w.stack, &[]);
    let path = write(&w, &vpc, PAIR);

    let apply = w.infra(&["apply", &path, "--auto-approve"], &[]);
    expect(&apply, 0);
    assert!(
        apply
            .stdout
            .contains("Apply complete: 4 created, 0 updated, 0 replaced, 0 deleted, 0 adopted."),
        "{}",
        apply.stdout
    );
    no_changes(&w, &path);

    let alb = group(&w, &vpc, "alb")
        .group_id()
        .expect("an id")
        .to_string();
    let tasks = group(&w, &vpc, "tasks")
        .group_id()
        .expect("an id")
        .to_string();
    // The load balancer's group: its own egress rule and the separate one, side by side.
    assert_eq!(
        shapes(&described(&w, &alb, true)),
        [
            "tcp 443-443 10.0.0.0/8".to_string(),
            format!("tcp 8080-8080 {tasks}")
        ]
    );
    assert_eq!(
        shapes(&described(&w, &tasks, false)),
        [format!("tcp 8080-8080 {alb}")]
    );
    // The separate rules carry their ownership.
    let owned: Vec<String> = rules(&w, &tasks)
        .iter()
        .chain(rules(&w, &alb).iter())
        .flat_map(|r| r.tags().to_vec())
        .filter(|t| t.key() == Some("infra:address"))
        .filter_map(|t| t.value().map(str::to_string))
        .collect();
    let owned: BTreeSet<String> = owned.into_iter().collect();
    assert_eq!(
        owned,
        BTreeSet::from([
            "security-group-rule.alb-to-tasks".to_string(),
            "security-group-rule.tasks-from-alb".to_string()
        ])
    );

    let destroy = w.infra(&["destroy", &path, "--auto-approve"], &[]);
    expect(&destroy, 0);
    assert!(
        destroy
            .stdout
            .contains("Destroy complete: 0 created, 0 updated, 0 replaced, 4 deleted, 0 adopted."),
        "{}",
        destroy.stdout
    );
    let left: Vec<String> = groups(&w, &vpc)
        .iter()
        .filter_map(|g| g.group_name().map(str::to_string))
        .collect();
    assert_eq!(left, ["default"]);
}

/// The value of a rule's tag `key`.
fn tag<'a>(rule: &'a SecurityGroupRule, key: &str) -> Option<&'a str> {
    rule.tags()
        .iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}

/// The rule of `group_id` that this world's stack owns at `address`, if any.
fn owned_rule(w: &World, group_id: &str, address: &str) -> Option<SecurityGroupRule> {
    rules(w, group_id).into_iter().find(|r| {
        tag(r, "infra:stack") == Some(&w.stack) && tag(r, "infra:address") == Some(address)
    })
}

/// Plans (changes expected, the plan text snapshotted as `snapshot`), applies (its summary
/// line `summary`) and plans again (nothing left).
fn planned_then_applied(w: &World, path: &str, snapshot: &str, summary: &str) {
    let plan = w.infra(&["plan", path, "--detailed-exitcode"], &[]);
    expect(&plan, 2);
    insta::assert_snapshot!(snapshot, scrub(&w.redact(&plan.stdout)));
    applied(w, path, summary);
    no_changes(w, path);
}

/// Sets rule `id` of `group`, out of band, to tcp `port` from group `from` with `description`.
fn modify_by_hand(w: &World, group: &str, id: &str, port: i32, from: &str, description: &str) {
    w.rt.block_on(
        ec2(w)
            .modify_security_group_rules()
            .group_id(group)
            .security_group_rules(
                SecurityGroupRuleUpdate::builder()
                    .security_group_rule_id(id)
                    .security_group_rule(
                        SecurityGroupRuleRequest::builder()
                            .ip_protocol("tcp")
                            .from_port(port)
                            .to_port(port)
                            .referenced_group_id(from)
                            .description(description)
                            .build(),
                    )
                    .build(),
            )
            .send(),
    )
    .expect("moto modifies the rule");
}

fn rule_id(rule: &SecurityGroupRule) -> String {
    rule.security_group_rule_id()
        .expect("a rule id")
        .to_string()
}

fn group_id(w: &World, vpc: &str, name: &str) -> String {
    group(w, vpc, name).group_id().expect("an id").to_string()
}

fn applied(w: &World, path: &str, summary: &str) {
    let apply = w.infra(&["apply", path, "--auto-approve"], &[]);
    expect(&apply, 0);
    assert!(apply.stdout.contains(summary), "{}", apply.stdout);
}

#[test]
fn a_separate_rule_is_retagged_in_place_and_replaced_when_what_aws_identifies_it_by_changes() {
    let w = World::new("sgrupdate");
    let vpc = w.network("us-east-1", &w.stack, &[]);
    let path = write(&w, &vpc, PAIR);
    applied(
        &w,
        &path,
        "Apply complete: 4 created, 0 updated, 0 replaced, 0 deleted, 0 adopted.",
    );
    no_changes(&w, &path);
    let alb = group_id(&w, &vpc, "alb");
    let tasks = group_id(&w, &vpc, "tasks");
    let address = "security-group-rule.tasks-from-alb";
    let first = owned_rule(&w, &tasks, address).expect("the rule is made and tagged");

    // Tags are the one attribute AWS changes on the rule itself: same rule id.
    let tagged = PAIR.replace(
        r#"description "from the load balancer""#,
        "description \"from the load balancer\"\n    tags { team \"web\"; }",
    );
    let path = write(&w, &vpc, &tagged);
    planned_then_applied(
        &w,
        &path,
        "security_group_rule_tags_change",
        "Apply complete: 0 created, 1 updated, 0 replaced, 0 deleted, 0 adopted.",
    );
    let retagged = owned_rule(&w, &tasks, address).expect("the rule is still there");
    assert_eq!(rule_id(&retagged), rule_id(&first));
    assert_eq!(tag(&retagged, "team"), Some("web"));

    // The description: set in place (ModifySecurityGroupRules), the rule and its id kept, so
    // the traffic it lets through never stops.
    let described_anew = tagged.replace("from the load balancer", "from the ALB");
    let path = write(&w, &vpc, &described_anew);
    planned_then_applied(
        &w,
        &path,
        "security_group_rule_description_change",
        "Apply complete: 0 created, 1 updated, 0 replaced, 0 deleted, 0 adopted.",
    );
    let second = owned_rule(&w, &tasks, address).expect("the rule is still tagged");
    assert_eq!(rule_id(&second), rule_id(&first));
    assert_eq!(tag(&second, "team"), Some("web"));
    // (After ModifySecurityGroupRules, moto reports the description of a rule that
    // references a group.)
    assert_eq!(
        described(&w, &tasks, false),
        [(
            format!("tcp 8080-8080 {alb} from the ALB"),
            rule_id(&second)
        )]
    );

    // The port: a different rule in AWS, so a replacement; the old one is gone.
    let moved = described_anew.replace(
        "direction \"ingress\"\n    port 8080",
        "direction \"ingress\"\n    port 8443",
    );
    assert_ne!(moved, described_anew);
    let path = write(&w, &vpc, &moved);
    applied(
        &w,
        &path,
        "Apply complete: 0 created, 0 updated, 1 replaced, 0 deleted, 0 adopted.",
    );
    no_changes(&w, &path);
    let third = owned_rule(&w, &tasks, address).expect("the new rule is tagged");
    assert_eq!(tag(&third, "team"), Some("web"));
    assert_eq!(
        described(&w, &tasks, false),
        [(format!("tcp 8443-8443 {alb}"), rule_id(&third))]
    );
    // The other separate rule was never touched.
    assert_eq!(
        shapes(&described(&w, &alb, true)),
        [
            "tcp 443-443 10.0.0.0/8".to_string(),
            format!("tcp 8080-8080 {tasks}")
        ]
    );

    let destroy = w.infra(&["destroy", &path, "--auto-approve"], &[]);
    expect(&destroy, 0);
    assert!(
        destroy
            .stdout
            .contains("Destroy complete: 0 created, 0 updated, 0 replaced, 4 deleted, 0 adopted."),
        "{}",
        destroy.stdout
    );
}

#[test]
fn a_separate_rule_changed_or_revoked_out_of_band_is_repaired() {
    let w = World::new("sgrdrift");
    let vpc = w.network("us-east-1", &w.stack, &[]);
    let path = write(&w, &vpc, PAIR);
    expect(&w.infra(&["apply", &path, "--auto-approve"], &[]), 0);
    no_changes(&w, &path);
    let alb = group_id(&w, &vpc, "alb");
    let tasks = group_id(&w, &vpc, "tasks");
    let inbound = "security-group-rule.tasks-from-alb";
    let outbound = "security-group-rule.alb-to-tasks";
    let id = rule_id(&owned_rule(&w, &tasks, inbound).expect("the rule"));

    // Its description changed by hand.
    modify_by_hand(&w, &tasks, &id, 8080, &alb, "changed by hand");
    planned_then_applied(
        &w,
        &path,
        "security_group_rule_description_drift",
        "Apply complete: 0 created, 1 updated, 0 replaced, 0 deleted, 0 adopted.",
    );
    let repaired = owned_rule(&w, &tasks, inbound).expect("the rule is back");
    assert_eq!(
        rule_id(&repaired),
        id,
        "described again in place, not replaced"
    );
    let permissions = group(&w, &vpc, "tasks").ip_permissions().to_vec();
    let descriptions: Vec<&str> = permissions
        .iter()
        .flat_map(|p| p.user_id_group_pairs())
        .filter_map(|p| p.description())
        .collect();
    assert_eq!(descriptions, ["from the load balancer"]);

    // Both rules revoked by hand, by id.
    let outbound_id = rule_id(&owned_rule(&w, &alb, outbound).expect("the outbound rule"));
    w.rt.block_on(async {
        let ec2 = ec2(&w);
        ec2.revoke_security_group_ingress()
            .group_id(&tasks)
            .security_group_rule_ids(rule_id(&repaired))
            .send()
            .await
            .expect("moto revokes the inbound rule");
        ec2.revoke_security_group_egress()
            .group_id(&alb)
            .security_group_rule_ids(&outbound_id)
            .send()
            .await
            .expect("moto revokes the outbound rule");
    });
    assert!(owned_rule(&w, &tasks, inbound).is_none());
    planned_then_applied(
        &w,
        &path,
        "security_group_rule_revoked_drift",
        "Apply complete: 2 created, 0 updated, 0 replaced, 0 deleted, 0 adopted.",
    );
    assert_eq!(
        shapes(&described(&w, &tasks, false)),
        [format!("tcp 8080-8080 {alb}")]
    );
    assert_eq!(
        shapes(&described(&w, &alb, true)),
        [
            "tcp 443-443 10.0.0.0/8".to_string(),
            format!("tcp 8080-8080 {tasks}")
        ]
    );
    let id = rule_id(&owned_rule(&w, &tasks, inbound).expect("the inbound rule is tagged"));
    owned_rule(&w, &alb, outbound).expect("the outbound rule is tagged");

    // Its port changed by hand: the rule keeps its id and tags but is no longer the rule the
    // stack declares.
    modify_by_hand(&w, &tasks, &id, 9090, &alb, "from the load balancer");
    let hand_made = described(&w, &tasks, false);
    assert_eq!(hand_made.len(), 1, "{hand_made:?}");
    assert!(
        hand_made[0].0.starts_with(&format!("tcp 9090-9090 {alb}")) && hand_made[0].1 == id,
        "{hand_made:?}"
    );
    planned_then_applied(
        &w,
        &path,
        "security_group_rule_port_drift",
        "Apply complete: 0 created, 0 updated, 1 replaced, 0 deleted, 0 adopted.",
    );
    assert_eq!(
        shapes(&described(&w, &tasks, false)),
        [format!("tcp 8080-8080 {alb}")]
    );
    let id = rule_id(&owned_rule(&w, &tasks, inbound).expect("the inbound rule is tagged"));

    // A tag added by hand: removed in place, the rule kept.
    w.rt.block_on(
        ec2(&w)
            .create_tags()
            .resources(&id)
            .tags(Tag::builder().key("team").value("by hand").build())
            .send(),
    )
    .expect("moto tags the rule");
    let plan = w.infra(&["plan", &path, "--detailed-exitcode"], &[]);
    expect(&plan, 2);
    assert!(
        plan.stdout
            .contains("Plan: 0 to add, 1 to change, 0 to replace, 0 to destroy, 0 to adopt."),
        "{}",
        plan.stdout
    );
    applied(
        &w,
        &path,
        "Apply complete: 0 created, 1 updated, 0 replaced, 0 deleted, 0 adopted.",
    );
    no_changes(&w, &path);
    let kept = owned_rule(&w, &tasks, inbound).expect("the inbound rule is tagged");
    assert_eq!(rule_id(&kept), id);
    assert_eq!(tag(&kept, "team"), None);
}

#[test]
fn look_alike_rules_survive_apply_removal_and_destroy() {
    let w = World::new("sgrlookalike");
    // The tasks' group is not the stack's (made here, as another team's would be): a group the
    // stack owns checks its inline rules, and an untagged rule in it is the group's drift,
    // revoked by design (the first test); destroying the group would take every rule with it.
    let vpc = w.network("us-east-1", &w.stack, &["tasks"]);
    let tasks = group_id(&w, &vpc, "tasks");
    let stack = PAIR
        .replace(
            "security-group \"tasks\" {\n    name \"tasks\"\n    vpc \"VPC\"\n}\n\n",
            "",
        )
        .replace(r#"(ref)"security-group.tasks.id""#, &format!("\"{tasks}\""));
    assert!(!stack.contains("security-group.tasks"), "{stack}");
    let path = write(&w, &vpc, &stack);
    applied(
        &w,
        &path,
        "Apply complete: 3 created, 0 updated, 0 replaced, 0 deleted, 0 adopted.",
    );
    no_changes(&w, &path);
    let address = "security-group-rule.tasks-from-alb";
    let ours = rule_id(&owned_rule(&w, &tasks, address).expect("our rule"));

    // Same port and direction, other sources: one untagged, one another stack's at our address.
    let other_stack = format!("{}-other", w.stack);
    let inbound = |cidr: &str, tags: Vec<Tag>| {
        let mut call = ec2(&w)
            .authorize_security_group_ingress()
            .group_id(&tasks)
            .ip_permissions(
                IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(8080)
                    .to_port(8080)
                    .ip_ranges(IpRange::builder().cidr_ip(cidr).build())
                    .build(),
            );
        if !tags.is_empty() {
            call = call.tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::SecurityGroupRule)
                    .set_tags(Some(tags))
                    .build(),
            );
        }
        w.rt.block_on(call.send())
            .expect("moto authorises the look-alike")
    };
    let kv = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
    inbound("10.9.0.0/16", Vec::new());
    inbound(
        "10.8.0.0/16",
        vec![
            kv("infra:stack", &other_stack),
            kv("infra:address", address),
        ],
    );
    let look_alikes = |w: &World| {
        let mut found: Vec<String> = rules(w, &tasks)
            .iter()
            .filter(|r| r.is_egress() == Some(false))
            .filter(|r| tag(r, "infra:stack") != Some(&w.stack))
            .map(|r| {
                format!(
                    "{}-{} {} {}",
                    r.from_port().unwrap_or_default(),
                    r.to_port().unwrap_or_default(),
                    r.cidr_ipv4()
                        .or(r.referenced_group_info().and_then(|g| g.group_id()))
                        .unwrap_or_default(),
                    tag(r, "infra:stack").unwrap_or("untagged")
                )
            })
            .collect();
        found.sort();
        found
    };
    let expected = [
        format!("8080-8080 10.8.0.0/16 {other_stack}"),
        "8080-8080 10.9.0.0/16 untagged".to_string(),
    ];
    assert_eq!(look_alikes(&w), expected);

    // Neither is drift, and an apply leaves them.
    no_changes(&w, &path);
    let apply = w.infra(&["apply", &path, "--auto-approve"], &[]);
    expect(&apply, 0);
    assert!(apply.stdout.starts_with("No changes"), "{}", apply.stdout);
    assert_eq!(look_alikes(&w), expected);
    assert_eq!(
        owned_rule(&w, &tasks, address).map(|r| rule_id(&r)),
        Some(ours.clone())
    );

    // Our rule removed from the stack: deleted, the look-alikes kept.
    let start = stack
        .find("security-group-rule \"tasks-from-alb\"")
        .expect("the rule's block");
    let pruned = stack[..start].trim_end().to_string() + "\n";
    let path = write(&w, &vpc, &pruned);
    applied(
        &w,
        &path,
        "Apply complete: 0 created, 0 updated, 0 replaced, 1 deleted, 0 adopted.",
    );
    no_changes(&w, &path);
    assert!(owned_rule(&w, &tasks, address).is_none());
    assert!(
        !rules(&w, &tasks)
            .iter()
            .any(|r| r.security_group_rule_id() == Some(&ours)),
        "our rule is revoked"
    );
    assert_eq!(look_alikes(&w), expected);

    // Destroy: the load balancer's group and its rule go; the tasks' group and the look-alikes
    // stay.
    let destroy = w.infra(&["destroy", &path, "--auto-approve"], &[]);
    expect(&destroy, 0);
    assert!(
        destroy
            .stdout
            .contains("Destroy complete: 0 created, 0 updated, 0 replaced, 2 deleted, 0 adopted."),
        "{}",
        destroy.stdout
    );
    assert_eq!(look_alikes(&w), expected);
    let left: BTreeSet<String> = groups(&w, &vpc)
        .iter()
        .filter_map(|g| g.group_name().map(str::to_string))
        .collect();
    assert_eq!(left, BTreeSet::from(["default".into(), "tasks".into()]));
}

#[test]
fn another_stacks_rule_in_a_group_of_the_stack_is_neither_the_groups_nor_pruned() {
    let w = World::new("sgrothers");
    let vpc = w.network("us-east-1", &w.stack, &[]);
    let path = write(&w, &vpc, PAIR);
    expect(&w.infra(&["apply", &path, "--auto-approve"], &[]), 0);
    let tasks = group_id(&w, &vpc, "tasks");
    let address = "security-group-rule.tasks-from-alb";
    let kv = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
    w.rt.block_on(
        ec2(&w)
            .authorize_security_group_ingress()
            .group_id(&tasks)
            .ip_permissions(
                IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(8080)
                    .to_port(8080)
                    .ip_ranges(IpRange::builder().cidr_ip("10.8.0.0/16").build())
                    .build(),
            )
            .tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::SecurityGroupRule)
                    .tags(kv("infra:stack", &format!("{}-other", w.stack)))
                    .tags(kv("infra:address", address))
                    .build(),
            )
            .send(),
    )
    .expect("moto authorises the look-alike");
    let theirs = || {
        rules(&w, &tasks)
            .iter()
            .filter(|r| r.cidr_ipv4() == Some("10.8.0.0/16"))
            .map(rule_id)
            .collect::<Vec<_>>()
    };
    let before = theirs();
    assert_eq!(before.len(), 1);

    // The group declares no inbound rule, yet the other stack's is not its drift.
    no_changes(&w, &path);

    // Our rule removed from the stack: only ours is revoked.
    let start = PAIR
        .find("security-group-rule \"tasks-from-alb\"")
        .expect("the rule's block");
    let path = write(&w, &vpc, &(PAIR[..start].trim_end().to_string() + "\n"));
    applied(
        &w,
        &path,
        "Apply complete: 0 created, 0 updated, 0 replaced, 1 deleted, 0 adopted.",
    );
    no_changes(&w, &path);
    assert!(owned_rule(&w, &tasks, address).is_none());
    assert_eq!(theirs(), before);
}

#[test]
fn a_separate_rule_whose_address_tag_is_removed_by_hand_is_retagged_not_revoked_by_its_group() {
    let w = World::new("sgrretag");
    let vpc = w.network("us-east-1", &w.stack, &[]);
    let path = write(&w, &vpc, PAIR);
    expect(&w.infra(&["apply", &path, "--auto-approve"], &[]), 0);
    let tasks = group_id(&w, &vpc, "tasks");
    let address = "security-group-rule.tasks-from-alb";
    let id = rule_id(&owned_rule(&w, &tasks, address).expect("the rule"));
    w.rt.block_on(
        ec2(&w)
            .delete_tags()
            .resources(&id)
            .tags(Tag::builder().key("infra:address").build())
            .send(),
    )
    .expect("moto untags the rule");

    // The rule still carries the stack's tag: it is the rule kind's, not the group's (which
    // declares no inbound rule and used to revoke it in the same apply that retagged it, leaving
    // the declared rule missing after a successful apply).
    planned_then_applied(
        &w,
        &path,
        "security_group_rule_address_tag_removed",
        "Apply complete: 0 created, 1 updated, 0 replaced, 0 deleted, 0 adopted.",
    );
    let kept = owned_rule(&w, &tasks, address).expect("the rule is tagged again");
    assert_eq!(rule_id(&kept), id);
}
