//! The moto server (a real HTTP emulator of the AWS APIs), one per test binary.
//!
//! Started on a free loopback port on first use, from the virtualenv `scripts/setup-moto`
//! creates; a missing moto is a loud failure, never a skip. Tests share the server and keep
//! out of each other's way by naming: every test has its own stack name and hosted zone.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;

use super::harness::{Output, command, root};

static SERVER: OnceLock<String> = OnceLock::new();

/// The server's base URL, starting it on first use.
/// In a test's environment for `World::infra`: apply decides itself whether verify's checks run
/// (the harness otherwise adds `--no-verify`). infra ignores the variable.
pub const DEFAULT_VERIFY: (&str, &str) = ("INFRA_TEST_DEFAULT_VERIFY", "1");

pub fn endpoint() -> &'static str {
    SERVER.get_or_init(start)
}

fn start() -> String {
    let binary = root().join(".venv-moto/bin/moto_server");
    assert!(
        binary.exists(),
        "moto is not installed at {}: run scripts/setup-moto (scripts/test does it for you)",
        binary.display()
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port");
    let log = std::env::temp_dir().join(format!("infra-it-moto-{port}.log"));
    let (tx, rx) = std::sync::mpsc::channel();
    // The thread that starts moto lives as long as the test binary: moto is told to die with
    // it (PR_SET_PDEATHSIG follows the starting thread), so no server outlives the tests.
    std::thread::spawn(move || {
        let mut cmd = Command::new(&binary);
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_ACM_VALIDATION_WAIT", "0")
            // AWS's managed policies (AmazonECSTaskExecutionRolePolicy) exist in every account;
            // moto loads them only when asked.
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            // New ECS services report this many running tasks: services that want at most
            // this many are stable at once, larger ones never (for the time-out test).
            .env("MOTO_ECS_SERVICE_RUNNING", "2")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).map_or(Stdio::null(), Stdio::from))
            .stderr(Stdio::null());
        // SAFETY: prctl is async-signal-safe and only affects the child.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = cmd.spawn().expect("moto_server starts");
        let _ = tx.send(());
        let _ = child.wait();
    });
    rx.recv().expect("the moto thread reports its start");
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline {
        if answers(port) {
            return url;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("moto did not answer on {url} within 90 s");
}

fn answers(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = "GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.") && &head[9..12] == b"200"
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// One test's own corner of the emulator: a stack name, a hosted zone, a folder for files.
pub struct World {
    pub url: String,
    pub stack: String,
    pub domain: String,
    /// The `domain` the stack is given when it is not [`World::domain`]: a stack that creates
    /// its own hosted zone gets a name under the world's, which is taken.
    pub stack_domain: Option<String>,
    pub zone_id: String,
    pub dir: PathBuf,
    pub rt: tokio::runtime::Runtime,
    pub config: aws_config::SdkConfig,
}

impl World {
    /// A fresh world whose stack name starts with `name`, on the shared server.
    pub fn new(name: &str) -> World {
        World::on(endpoint().to_string(), name)
    }

    /// A world with a server of its own, for a test whose figures other tests' concurrent
    /// writes could change (the call-count test failed three times under load on the shared
    /// server, never alone).
    pub fn isolated(name: &str) -> World {
        World::on(start(), name)
    }

    /// Sends infra's calls through `proxy` from now on (set-up and checks still go straight to
    /// the emulator).
    pub fn through(&mut self, proxy: &super::proxy::Proxy) -> String {
        std::mem::replace(&mut self.url, proxy.url.clone())
    }

    /// Wipes the emulator (every account and region) and makes this world's hosted zone again:
    /// a clean slate for a test that builds the same stack many times. Only for worlds with a
    /// server of their own.
    pub fn reset(&mut self, server: &str) {
        let port = server.rsplit(':').next().unwrap_or_default();
        let mut stream = TcpStream::connect(format!("127.0.0.1:{port}")).expect("moto answers");
        let request =
            "POST /moto-api/reset HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n";
        stream
            .write_all(request.as_bytes())
            .expect("the reset is sent");
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        assert!(
            answer.starts_with("HTTP/1.") && answer.contains(" 200 "),
            "{answer}"
        );
        self.zone_id = self.create_zone();
    }

    fn create_zone(&self) -> String {
        let route53 = aws_sdk_route53::Client::new(&self.config);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let zone = self
            .rt
            .block_on(
                route53
                    .create_hosted_zone()
                    .name(&self.domain)
                    .caller_reference(format!("{}-{n}", self.stack))
                    .send(),
            )
            .expect("moto creates the test's hosted zone");
        zone.hosted_zone()
            .map(|z| z.id().trim_start_matches("/hostedzone/").to_string())
            .expect("a hosted zone id")
    }

    fn on(url: String, name: &str) -> World {
        let url = url.as_str();
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        // Fixed width: diagnostics wrap at a fixed column, so a name one digit longer would
        // move the wraps of a snapshot taken after `STACK` is put in.
        let stack = format!("{name}-{:05}-{n:03}", std::process::id() % 100_000);
        let domain = format!("{stack}.test");
        let dir = std::env::temp_dir().join(format!("infra-it-{stack}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a folder for the test's files");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for SDK calls");
        let config = rt.block_on(
            aws_config::defaults(BehaviorVersion::latest())
                .region(Region::new("us-east-1"))
                .endpoint_url(url)
                .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
                .load(),
        );
        let mut world = World {
            url: url.to_string(),
            stack,
            domain,
            stack_domain: None,
            zone_id: String::new(),
            dir,
            rt,
            config,
        };
        world.zone_id = world.create_zone();
        world
    }

    /// SDK configuration for another region of the same emulator.
    pub fn config_in(&self, region: &str) -> aws_config::SdkConfig {
        self.config
            .to_builder()
            .region(Region::new(region.to_string()))
            .build()
    }

    /// A VPC tagged `Name=<name>` with two public and two private subnets (tagged
    /// `tier=public|private`) and a security group for each of `groups`; returns the VPC id.
    pub fn network(&self, region: &str, name: &str, groups: &[&str]) -> String {
        let ec2 = aws_sdk_ec2::Client::new(&self.config_in(region));
        let tag = |k: &str, v: &str| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build();
        let tagged = |kind: aws_sdk_ec2::types::ResourceType,
                      tags: Vec<aws_sdk_ec2::types::Tag>| {
            aws_sdk_ec2::types::TagSpecification::builder()
                .resource_type(kind)
                .set_tags(Some(tags))
                .build()
        };
        self.rt.block_on(async {
            let vpc = ec2
                .create_vpc()
                .cidr_block("10.20.0.0/16")
                .tag_specifications(tagged(
                    aws_sdk_ec2::types::ResourceType::Vpc,
                    vec![tag("Name", name)],
                ))
                .send()
                .await
                .expect("moto creates the VPC");
            let vpc_id = vpc
                .vpc()
                .and_then(|v| v.vpc_id())
                .expect("a VPC id")
                .to_string();
            for (i, tier) in ["public", "public", "private", "private"]
                .iter()
                .enumerate()
            {
                ec2.create_subnet()
                    .vpc_id(&vpc_id)
                    .cidr_block(format!("10.20.{i}.0/24"))
                    .availability_zone(format!("{region}{}", ["a", "b"][i % 2]))
                    .tag_specifications(tagged(
                        aws_sdk_ec2::types::ResourceType::Subnet,
                        vec![
                            tag("tier", tier),
                            tag("Name", &format!("{name}-{tier}-{i}")),
                        ],
                    ))
                    .send()
                    .await
                    .expect("moto creates the subnet");
            }
            for group in groups {
                ec2.create_security_group()
                    .group_name(*group)
                    .description(format!("{group} (test)"))
                    .vpc_id(&vpc_id)
                    .send()
                    .await
                    .expect("moto creates the security group");
            }
            vpc_id
        })
    }

    /// Gives the stack a domain of its own, `app.<domain>`, for a stack that creates its hosted
    /// zone (the world's zone has the world's name); returns it.
    pub fn zone_for_the_stack(&mut self) -> String {
        let domain = format!("app.{}", self.domain);
        self.stack_domain = Some(domain.clone());
        domain
    }

    /// An issued ACM certificate for `domain` in `region`; returns its ARN.
    pub fn certificate(&self, region: &str, domain: &str) -> String {
        let acm = aws_sdk_acm::Client::new(&self.config_in(region));
        self.rt
            .block_on(
                acm.request_certificate()
                    .domain_name(domain)
                    .validation_method(aws_sdk_acm::types::ValidationMethod::Dns)
                    .send(),
            )
            .expect("moto issues the certificate")
            .certificate_arn()
            .expect("a certificate ARN")
            .to_string()
    }

    /// The ARN of secret `name` (in us-east-1), made with a value if it does not exist: a
    /// secret a stack reads but does not own.
    pub fn external_secret(&self, name: &str) -> String {
        let sm = aws_sdk_secretsmanager::Client::new(&self.config);
        self.rt.block_on(async {
            if let Ok(found) = sm.describe_secret().secret_id(name).send().await
                && let Some(arn) = found.arn()
            {
                return arn.to_string();
            }
            sm.create_secret()
                .name(name)
                .secret_string("an external value")
                .send()
                .await
                .expect("moto makes the secret")
                .arn()
                .expect("an ARN")
                .to_string()
        })
    }

    /// Pushes an image tagged `tag` to ECR repository `repository` in `region` (made if
    /// missing) and returns its digest. moto derives the digest from the layer digests, so each
    /// push gets a layer of its own (`layer` seeds it); `annotations` go into the manifest as
    /// they would from `docker buildx --annotation`.
    pub fn push_image(
        &self,
        region: &str,
        repository: &str,
        tag: &str,
        layer: &str,
        annotations: &[(&str, &str)],
    ) -> String {
        let ecr = aws_sdk_ecr::Client::new(&self.config_in(region));
        let _ = self
            .rt
            .block_on(ecr.create_repository().repository_name(repository).send());
        // The layer's bytes in hex: distinct layers, distinct digests.
        let hex: String = layer.bytes().map(|b| format!("{b:02x}")).collect();
        let hex = format!("{hex:0>64}");
        let mut manifest = super::manifest::manifest(&hex[hex.len() - 64..]);
        if !annotations.is_empty() {
            manifest["annotations"] = annotations
                .iter()
                .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
                .collect::<serde_json::Map<_, _>>()
                .into();
        }
        self.rt
            .block_on(
                ecr.put_image()
                    .repository_name(repository)
                    .image_tag(tag)
                    .image_manifest(manifest.to_string())
                    .send(),
            )
            .expect("moto stores the image")
            .image()
            .and_then(|i| i.image_id())
            .and_then(|i| i.image_digest())
            .expect("a digest")
            .to_string()
    }

    /// Writes `examples/<example>` under this world's stack name and returns its path.
    pub fn stack_file(&self, example: &str, edit: impl Fn(String) -> String) -> String {
        let text = std::fs::read_to_string(root().join("examples").join(example))
            .expect("the example exists");
        let text = text.replacen(
            &format!("stack \"{}\"", example.trim_end_matches(".kdl")),
            &format!("stack \"{}\"", self.stack),
            1,
        );
        let path = self.dir.join(example);
        std::fs::write(&path, edit(text)).expect("the stack file is written");
        path.to_string_lossy().into_owned()
    }

    /// Runs infra against the emulator with this world's domain and `env`.
    pub fn infra(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let out = self
            .command(args, env)
            .output()
            .expect("the infra binary runs");
        Output {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The command [`World::infra`] runs, for a test that starts it and signals it.
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> std::process::Command {
        let mut all: Vec<&str> = args.to_vec();
        let domain = format!(
            "domain={}",
            self.stack_domain.as_deref().unwrap_or(&self.domain)
        );
        let live_runbook = args.first() == Some(&"runbook") && args.contains(&"--live");
        if live_runbook
            || matches!(
                args.first(),
                Some(
                    &"plan"
                        | &"apply"
                        | &"destroy"
                        | &"drift"
                        | &"unlock"
                        | &"output"
                        | &"restart"
                        | &"rollback"
                        | &"secret"
                        | &"verify"
                        | &"status"
                )
            )
        {
            all.extend(["--endpoint-url", &self.url]);
            // A `--var domain=...` given by the test wins (flags are read in order).
            if args.first() != Some(&"unlock") && !args.iter().any(|a| a.starts_with("domain=")) {
                all.extend(["--var", &domain]);
            }
        }
        // `apply` runs verify's checks after a change unless told not to; against moto they
        // fail for moto's reasons (its running-task counts and registered targets are not
        // real), which would change the exit code of every test that applies. A test that
        // means to see the checks says `--verify` (or `--no-verify`) itself; one that means to
        // see apply's own default passes [`DEFAULT_VERIFY`] in its environment.
        if args.first() == Some(&"apply")
            && !env.contains(&DEFAULT_VERIFY)
            && !args
                .iter()
                .any(|a| matches!(*a, "--verify" | "--no-verify"))
        {
            all.push("--no-verify");
        }
        let mut vars = vec![
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ];
        vars.extend_from_slice(env);
        command(&all, &vars)
    }

    /// Replaces this world's volatile names so that output can be snapshotted, and sorts the
    /// progress lines of concurrent work (their order varies from run to run).
    pub fn redact(&self, text: &str) -> String {
        let text = sort_progress(text);
        // Modules of the repository are named by their path on this machine.
        let root = format!("{}/", super::harness::root().display());
        text.replace(&root, "ROOT/")
            .replace(&self.zone_id, "ZONEID")
            .replace(&self.domain, "DOMAIN")
            .replace(&self.stack, "STACK")
            .lines()
            .map(|l| {
                // Progress timings vary.
                match l.rfind(" (") {
                    Some(i)
                        if l.ends_with("s)") && l[i + 2..l.len() - 2].parse::<f64>().is_ok() =>
                    {
                        format!("{} (…s)", &l[..i])
                    }
                    _ => l.to_string(),
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Sorts each run of consecutive progress lines (`address: ...`).
fn sort_progress(text: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut run: Vec<String> = Vec::new();
    let progress =
        |l: &str| l.ends_with("...") || l.ends_with("s)") || l.contains(": skipped because ");
    for line in text.lines() {
        if progress(line) && !line.starts_with(' ') {
            run.push(line.to_string());
            continue;
        }
        run.sort();
        out.append(&mut run);
        out.push(line.to_string());
    }
    run.sort();
    out.append(&mut run);
    let mut joined = out.join("\n");
    if text.ends_with('\n') {
        joined.push('\n');
    }
    joined
}
