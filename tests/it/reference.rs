//! The three reference stacks go live from nothing against moto: apply, an empty second plan,
//! an image-tag change that moves exactly the task definition and its service, and a destroy
//! that removes what the stack owns and nothing else.

use super::harness::expect;
use super::moto::World;

/// What a reference stack looks up, for the test to prepare.
pub(super) struct Reference {
    pub file: &'static str,
    pub stack: &'static str,
    pub region: &'static str,
    vpc: &'static str,
    groups: &'static [&'static str],
    /// The certificate's domain: `*.` + the domain, or the domain itself.
    wildcard: bool,
    /// The ECR repository of its image, and the tag its `image-tag` variable defaults to.
    repository: &'static str,
    tag: &'static str,
}

impl Reference {
    pub fn path(&self) -> String {
        format!("stacks/{}", self.file)
    }

    /// Makes what the stack looks up: its network and its certificate; and pushes its image,
    /// under the default tag and then `v2-test` (the tag the tests deploy next).
    pub fn prepare(&self, w: &World) {
        w.network(self.region, self.vpc, self.groups);
        w.push_image(self.region, self.repository, self.tag, self.stack, &[]);
        let next = format!("{}-v2", self.stack);
        w.push_image(self.region, self.repository, "v2-test", &next, &[]);
        let domain = if self.wildcard {
            format!("*.{}", w.domain)
        } else {
            w.domain.clone()
        };
        w.certificate(self.region, &domain);
    }
}

pub(super) const SASHA: Reference = Reference {
    file: "sasha.kdl",
    stack: "sasha",
    region: "us-east-2",
    vpc: "hirebest",
    groups: &["hirebest-sasha-alb", "hirebest-sasha-service"],
    wildcard: true,
    repository: "sasha-aesop4",
    tag: "latest",
};

pub(super) const SLEEK_COACH_PROD: Reference = Reference {
    file: "sleek-coach-prod.kdl",
    stack: "sleek-coach-prod",
    region: "us-east-1",
    vpc: "sleek-coach-prod",
    groups: &["sleek-coach-prod-alb", "sleek-coach-prod-api"],
    wildcard: true,
    repository: "sleek-coach-api",
    tag: "2026.11.1",
};

pub(super) const SAKE_SENSEI: Reference = Reference {
    file: "sake-sensei.kdl",
    stack: "sake-sensei",
    region: "us-east-1",
    vpc: "sakesensei-prod",
    groups: &["sakesensei-prod-alb", "sakesensei-prod-streamlit"],
    wildcard: false,
    repository: "sakesensei/streamlit-app",
    tag: "latest",
};

pub(super) const ENV: &[(&str, &str)] = &[("OPENAI_API_KEY", "reference-test-key")];

/// ARNs carry random parts (load balancer and target group ids, secret suffixes).
fn redact_arns(text: &str) -> String {
    let hex = regex_lite::Regex::new(r"/[0-9a-f]{16}\b").expect("a valid pattern");
    let secret =
        regex_lite::Regex::new(r"(:secret:[^\s\x22]*)-[A-Za-z0-9]{6}\b").expect("a valid pattern");
    let text = hex.replace_all(text, "/RANDOM");
    secret.replace_all(&text, "$1-RANDOM").into_owned()
}

fn goes_live(r: &Reference) {
    let w = World::new(r.stack);
    r.prepare(&w);
    let path = r.path();

    let apply = w.infra(&["apply", &path, "--auto-approve"], ENV);
    expect(&apply, 0);
    let again = w.infra(&["plan", &path, "--detailed-exitcode"], ENV);
    expect(&again, 0);

    let v2 = ["--var", "image-tag=v2-test"];
    let plan = w.infra(&["plan", &path, "--detailed-exitcode", v2[0], v2[1]], ENV);
    expect(&plan, 2);
    insta::assert_snapshot!(
        format!("{}_image_tag_change", r.stack),
        redact_arns(&w.redact(&plan.stdout))
    );
    expect(
        &w.infra(&["apply", &path, "--auto-approve", v2[0], v2[1]], ENV),
        0,
    );
    expect(
        &w.infra(&["plan", &path, "--detailed-exitcode", v2[0], v2[1]], ENV),
        0,
    );

    let destroy = w.infra(&["destroy", &path, "--auto-approve", v2[0], v2[1]], ENV);
    expect(&destroy, 0);
    // Only secrets in their recovery window still carry the stack's tag; the network it
    // looked up is untouched.
    let config = w.config_in(r.region);
    let tagging = aws_sdk_resourcegroupstagging::Client::new(&config);
    let owned = w.rt.block_on(async {
        tagging
            .get_resources()
            .tag_filters(
                aws_sdk_resourcegroupstagging::types::TagFilter::builder()
                    .key("infra:stack")
                    .values(r.stack)
                    .build(),
            )
            .send()
            .await
            .expect("tagged resources are listed")
    });
    // Secrets wait out their recovery window, deregistered task definition revisions stay as
    // INACTIVE history, and moto keeps deleted clusters and services describable as INACTIVE.
    let ecs = aws_sdk_ecs::Client::new(&config);
    let inactive = |arn: &str| {
        w.rt.block_on(async {
            if arn.contains(":cluster/") {
                let out = ecs.describe_clusters().clusters(arn).send().await.ok()?;
                Some(
                    out.clusters()
                        .iter()
                        .all(|c| c.status() == Some("INACTIVE")),
                )
            } else if let Some(rest) = arn.split(":service/").nth(1) {
                let cluster = rest.split('/').next()?;
                let out = ecs
                    .describe_services()
                    .cluster(cluster)
                    .services(arn)
                    .send()
                    .await
                    .ok()?;
                Some(
                    out.services()
                        .iter()
                        .all(|s| s.status() == Some("INACTIVE")),
                )
            } else {
                Some(false)
            }
        })
        .unwrap_or(false)
    };
    let left: Vec<&str> = owned
        .resource_tag_mapping_list()
        .iter()
        .filter_map(|m| m.resource_arn())
        .filter(|arn| !arn.contains(":secretsmanager:"))
        .filter(|arn| !arn.contains(":task-definition/"))
        .filter(|arn| !inactive(arn))
        .collect();
    assert!(left.is_empty(), "left after destroy: {left:?}");
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let vpcs =
        w.rt.block_on(
            ec2.describe_vpcs()
                .filters(
                    aws_sdk_ec2::types::Filter::builder()
                        .name("tag:Name")
                        .values(r.vpc)
                        .build(),
                )
                .send(),
        )
        .expect("VPCs are listed");
    assert_eq!(vpcs.vpcs().len(), 1, "the looked-up VPC survives");
}

#[test]
fn sasha_goes_live_from_nothing() {
    goes_live(&SASHA);
}

#[test]
fn sleek_coach_prod_goes_live_from_nothing() {
    goes_live(&SLEEK_COACH_PROD);
}

#[test]
fn sake_sensei_goes_live_from_nothing() {
    goes_live(&SAKE_SENSEI);
}
