//! `--target` and `--exclude` against moto, on the example with two services on one load
//! balancer through the shipped module.

use super::harness::expect;
use super::moto::World;

const REGION: &str = "eu-central-1";

/// The example's network: public and private subnets of the default VPC, a security group
/// named `app`, and a certificate for the test's domain.
/// Worlds prepared so far: each takes its own subnet addresses in the shared default VPC.
static PREPARED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

pub(super) fn prepared() -> World {
    let w = World::new("select");
    let base = 64 + 4 * PREPARED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let ec2 = aws_sdk_ec2::Client::new(&w.config_in(REGION));
    w.rt.block_on(async {
        let vpcs = ec2
            .describe_vpcs()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("isDefault")
                    .values("true")
                    .build(),
            )
            .send()
            .await
            .expect("VPCs are listed");
        let vpc = vpcs
            .vpcs()
            .first()
            .and_then(|v| v.vpc_id())
            .expect("moto has a default VPC")
            .to_string();
        for (i, tier) in ["public", "public", "private", "private"]
            .iter()
            .enumerate()
        {
            ec2.create_subnet()
                .vpc_id(&vpc)
                .cidr_block(format!("172.31.{}.0/24", base + i))
                .availability_zone(format!("{REGION}{}", ["a", "b"][i % 2]))
                .tag_specifications(
                    aws_sdk_ec2::types::TagSpecification::builder()
                        .resource_type(aws_sdk_ec2::types::ResourceType::Subnet)
                        .tags(
                            aws_sdk_ec2::types::Tag::builder()
                                .key("tier")
                                .value(*tier)
                                .build(),
                        )
                        .build(),
                )
                .send()
                .await
                .expect("moto creates the subnet");
        }
        // Worlds share the default VPC and its group named `app`.
        let made = ec2
            .create_security_group()
            .group_name("app")
            .description("app (test)")
            .vpc_id(&vpc)
            .send()
            .await;
        if let Err(e) = made {
            let code = e.as_service_error().and_then(|e| e.meta().code());
            assert_eq!(code, Some("InvalidGroup.Duplicate"), "{e:?}");
        }
    });
    w.certificate(REGION, &format!("*.{}", w.domain));
    w
}

/// The resource lines of a plan (`+ address: create`), without their attributes.
pub(super) fn headlines(stdout: &str) -> String {
    stdout
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn targets_bring_their_dependencies_and_exclusions_take_their_dependents() {
    let w = prepared();
    let stack = "examples/web-service.kdl";
    let everything = w.infra(&["plan", stack], &[]);
    expect(&everything, 0);
    let target = w.infra(&["plan", stack, "--target", "module.shop"], &[]);
    expect(&target, 0);
    insta::assert_snapshot!("target_module_shop", headlines(&target.stdout));
    let exclude = w.infra(&["plan", stack, "--exclude", "listener.https"], &[]);
    expect(&exclude, 0);
    insta::assert_snapshot!("exclude_https_listener", headlines(&exclude.stdout));
    let one = w.infra(
        &[
            "plan",
            stack,
            "--target",
            "cluster.main",
            "--target",
            "module.blog.alarm.cpu",
        ],
        &[],
    );
    expect(&one, 0);
    insta::assert_snapshot!("target_two_resources", headlines(&one.stdout));

    // A pattern that matches nothing is a diagnostic with a suggestion.
    let unknown = w.infra(&["plan", stack, "--target", "module.shoop"], &[]);
    expect(&unknown, 1);
    insta::assert_snapshot!("unknown_target", unknown.stderr);
}
