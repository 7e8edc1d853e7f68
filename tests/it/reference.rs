//! The three reference stacks go live from nothing against moto: apply, an empty second plan,
//! an image-tag change that moves exactly the task definition and its service, and a destroy
//! that removes what the stack owns and nothing else.

use super::harness::expect;
use super::inventory::owned;
use super::moto::World;

/// A reference stack and what its tests prepare for it.
pub(super) struct Reference {
    pub file: &'static str,
    pub stack: &'static str,
    pub region: &'static str,
    /// The `Name` tag of the network [`World::network`] makes for the stack's look-ups.
    vpc: &'static str,
    /// The ECR repository the stack creates for its image, its address, and the tag its
    /// `image-tag` variable defaults to.
    repository: &'static str,
    pub repository_address: &'static str,
    tag: &'static str,
}

/// The variables that point a reference stack at an account's default VPC.
pub(super) const DEFAULT_VPC: [&str; 2] = ["--var-file", "stacks/default-vpc.vars"];

impl Reference {
    pub fn path(&self) -> String {
        format!("stacks/{}", self.file)
    }

    /// Makes the tagged network the stack looks up by default, then [`Reference::bootstrap`].
    pub fn prepare(&self, w: &mut World) {
        w.network(self.region, self.vpc, &[]);
        self.bootstrap(w, &[]);
    }

    /// What a new account needs before the stack's first whole apply, as its comment says: the
    /// stack's own domain (the world's zone has the world's name) and its image repository
    /// created alone (`apply --target`) with the image pushed,
    /// under the default tag and then `v2-test` (the tag the tests deploy next). `args` are
    /// the network's variables.
    pub fn bootstrap(&self, w: &mut World, args: &[&str]) {
        w.zone_for_the_stack();
        let path = self.path();
        let mut first = vec!["apply", path.as_str(), "--auto-approve", "--target"];
        first.push(self.repository_address);
        first.extend(args);
        // The step as the stack's comment writes it, verify left to apply's default: the
        // checks are the whole stack's, whose images are not pushed yet, so they do not run.
        let mut env = ENV.to_vec();
        env.push(super::moto::DEFAULT_VERIFY);
        let bootstrap = w.infra(&first, &env);
        expect(&bootstrap, 0);
        assert!(
            bootstrap.stdout.contains("Verify's checks did not run"),
            "{}",
            bootstrap.stdout
        );
        w.push_image(self.region, self.repository, self.tag, self.stack, &[]);
        let next = format!("{}-v2", self.stack);
        w.push_image(self.region, self.repository, "v2-test", &next, &[]);
    }

    /// Deletes every image of the stack's repository, as an operator does before a destroy:
    /// infra refuses to delete a repository that holds images unless the stack says
    /// `force-delete #true`, which a production stack should not.
    pub fn empty_repository(&self, w: &World) {
        let ecr = aws_sdk_ecr::Client::new(&w.config_in(self.region));
        w.rt.block_on(async {
            let images = ecr
                .list_images()
                .repository_name(self.repository)
                .send()
                .await
                .expect("the repository's images are listed");
            if images.image_ids().is_empty() {
                return;
            }
            ecr.batch_delete_image()
                .repository_name(self.repository)
                .set_image_ids(Some(images.image_ids().to_vec()))
                .send()
                .await
                .expect("the images are deleted");
        });
    }
}

pub(super) const SASHA: Reference = Reference {
    file: "sasha.kdl",
    stack: "sasha",
    region: "us-east-2",
    vpc: "hirebest",
    repository: "sasha-aesop4",
    repository_address: "ecr-repository.sasha",
    tag: "latest",
};

pub(super) const SLEEK_COACH_PROD: Reference = Reference {
    file: "sleek-coach-prod.kdl",
    stack: "sleek-coach-prod",
    region: "us-east-1",
    vpc: "sleek-coach-prod",
    repository: "sleek-coach-api",
    repository_address: "ecr-repository.api",
    tag: "2026.11.1",
};

pub(super) const SAKE_SENSEI: Reference = Reference {
    file: "sake-sensei.kdl",
    stack: "sake-sensei",
    region: "us-east-1",
    vpc: "sakesensei-prod",
    repository: "sakesensei/streamlit-app",
    repository_address: "ecr-repository.streamlit",
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

/// From an account that has only its default VPC: the bootstrap the stack's comment gives
/// (its repository first, the image pushed), the whole apply, an empty plan, an image-tag
/// change that moves exactly the task definition and its service, and a destroy that leaves
/// nothing of the stack (once its repository is emptied) and the network as it was.
fn goes_live(r: &Reference) {
    let mut w = World::new(r.stack);
    r.bootstrap(&mut w, &DEFAULT_VPC);
    let path = r.path();
    let run = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(DEFAULT_VPC);
        w.infra(&all, ENV)
    };

    expect(&run(&["apply", &path, "--auto-approve"]), 0);
    expect(&run(&["plan", &path, "--detailed-exitcode"]), 0);

    let v2 = ["--var", "image-tag=v2-test"];
    let plan = run(&["plan", &path, "--detailed-exitcode", v2[0], v2[1]]);
    expect(&plan, 2);
    insta::assert_snapshot!(
        format!("{}_image_tag_change", r.stack),
        redact_arns(&w.redact(&plan.stdout))
    );
    expect(&run(&["apply", &path, "--auto-approve", v2[0], v2[1]]), 0);
    expect(
        &run(&["plan", &path, "--detailed-exitcode", v2[0], v2[1]]),
        0,
    );

    // A repository that holds images is not destroyed unasked: the rest goes, the repository
    // stays, and the destroy says why.
    let refused = run(&["destroy", &path, "--auto-approve", v2[0], v2[1]]);
    assert_ne!(refused.code, Some(0), "{}", refused.stdout);
    let said = format!("{}{}", refused.stdout, refused.stderr);
    assert!(said.contains("holds 2 images"), "{said}");
    let left = owned(&w, r.region, r.stack);
    assert_eq!(
        left.keys().collect::<Vec<_>>(),
        [r.repository_address],
        "only the repository is left after the refused destroy:\n{said}"
    );
    r.empty_repository(&w);
    expect(&run(&["destroy", &path, "--auto-approve", v2[0], v2[1]]), 0);
    let left = owned(&w, r.region, r.stack);
    assert!(left.is_empty(), "left after destroy: {left:?}");

    // The default VPC and its subnets are the account's: untouched.
    let ec2 = aws_sdk_ec2::Client::new(&w.config_in(r.region));
    let vpcs =
        w.rt.block_on(
            ec2.describe_vpcs()
                .filters(
                    aws_sdk_ec2::types::Filter::builder()
                        .name("isDefault")
                        .values("true")
                        .build(),
                )
                .send(),
        )
        .expect("VPCs are listed");
    assert_eq!(vpcs.vpcs().len(), 1, "the default VPC survives");
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
