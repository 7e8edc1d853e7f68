//! Look-ups against moto: VPC, subnets and security groups by tags and names, the newest
//! issued certificate, and the diagnostics when something is not there.

use super::harness::expect;
use super::moto::World;

fn stack(w: &World, vpc: &str, certificate: &str) -> String {
    let text = format!(
        r#"stack "{stack}" region="us-east-1"

variable "domain" type="string"

lookup "vpc" "main" {{
    tags {{
        Name "{vpc}"
    }}
}}
lookup "subnets" "private" {{
    vpc (ref)"lookup.vpc.main"
    tags {{
        tier "private"
    }}
}}
lookup "security-groups" "app" {{
    vpc (ref)"lookup.vpc.main"
    names "{stack}-app"
}}
lookup "certificate" "site" domain="{certificate}"
lookup "hosted-zone" "main" name=(var)"domain"

record "network" {{
    zone (ref)"lookup.hosted-zone.main"
    name "network.${{var.domain}}"
    type "TXT"
    values (ref)"lookup.subnets.private"
}}

record "cert" {{
    zone (ref)"lookup.hosted-zone.main"
    name "cert.${{var.domain}}"
    type "TXT"
    values (ref)"lookup.certificate.site" (ref)"lookup.vpc.main.cidr-block"
}}

record "groups" {{
    zone (ref)"lookup.hosted-zone.main"
    name "groups.${{var.domain}}"
    type "TXT"
    values (ref)"lookup.security-groups.app"
}}
"#,
        stack = w.stack
    );
    let path = w.dir.join("lookups.kdl");
    std::fs::write(&path, text).expect("the stack is written");
    path.to_string_lossy().into_owned()
}

#[test]
fn look_ups_find_the_network_and_the_newest_issued_certificate() {
    let w = World::new("lookups");
    let vpc = format!("{}-vpc", w.stack);
    w.network("us-east-1", &vpc, &[&format!("{}-app", w.stack)]);
    let domain = format!("*.{}", w.domain);
    let arn = w.certificate("us-east-1", &domain);
    let path = stack(&w, &vpc, &domain);
    let plan = w.infra(&["plan", &path], &[]);
    expect(&plan, 0);
    assert!(plan.stdout.contains(&arn), "{}", plan.stdout);
    assert!(plan.stdout.contains("\"10.20.0.0/16\""), "{}", plan.stdout);
    let subnets = plan
        .stdout
        .lines()
        .find(|l| l.contains("values") && l.contains("subnet-"))
        .unwrap_or_default();
    assert_eq!(subnets.matches("subnet-").count(), 2, "{}", plan.stdout);
    assert!(plan.stdout.contains("sg-"), "{}", plan.stdout);
}

#[test]
fn missing_network_and_certificate_are_diagnostics_at_the_look_ups() {
    let w = World::new("nolookups");
    let path = stack(&w, "no-such-vpc", &format!("missing.{}", w.domain));
    let plan = w.infra(&["plan", &path], &[]);
    expect(&plan, 1);
    let stderr = w.redact(&plan.stderr.replace(w.dir.to_string_lossy().as_ref(), "DIR"));
    insta::assert_snapshot!("missing_look_ups", stderr);
}
