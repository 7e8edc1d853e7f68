//! Scale benchmark: plans and applies of reference-shaped stacks of N resources against the moto
//! emulator behind the fault-injecting proxy (which counts calls, adds latency and can cap each
//! service's request rate), and the engine alone against the in-memory fake.
//!
//! Run with `cargo bench --features fake-aws --bench scale` (after `scripts/setup-moto`, which `scripts/test` and
//! `scripts/demo` run); `INFRA_BENCH_QUICK=1` skips N = 5,000. Results are rewritten to
//! `bench/results.md`, each figure next to its target and, where it is a time, as a ratio to a
//! baseline measured in the same run.

// A benchmark reports on stdout; moto dies with it (PR_SET_PDEATHSIG), and the measured
// child is reaped by wait4.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::zombie_processes)]

// The fault proxy can reshape answers the way AWS gives them (`shape.rs`), which needs the
// harness's repository root; the benchmark uses neither, but compiles them.
#[allow(dead_code)]
#[path = "../tests/it/shape.rs"]
mod shape;
#[allow(dead_code)]
mod harness {
    pub fn root() -> &'static std::path::Path {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
    }
}
#[path = "../tests/it/manifest.rs"]
mod manifest;
#[allow(dead_code)]
#[path = "../tests/it/proxy.rs"]
mod proxy;
#[path = "support/stackgen.rs"]
mod stackgen;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use proxy::{Faults, Proxy};

const DOMAIN: &str = "bench.test";
const LATENCY: Duration = Duration::from_millis(50);
const RATE_CAP: f64 = 20.0;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// moto on a free port, dying with this process.
fn start_moto() -> String {
    let binary = root().join(".venv-moto/bin/moto_server");
    if !binary.exists() {
        let status = Command::new(root().join("scripts/setup-moto"))
            .status()
            .expect("scripts/setup-moto runs");
        assert!(status.success(), "scripts/setup-moto installs moto");
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let mut cmd = Command::new(&binary);
    cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("MOTO_ACM_VALIDATION_WAIT", "0")
        .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        .env("MOTO_ECS_SERVICE_RUNNING", "2")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: prctl only affects the child.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    cmd.spawn().expect("moto starts");
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline {
        if moto_call(port, "GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n") {
            return format!("http://127.0.0.1:{port}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("moto did not start");
}

fn moto_call(port: u16, request: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.") && answer.contains(" 200 ")
}

fn port_of(url: &str) -> u16 {
    url.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap()
}

/// Wipes moto and makes what the generated stacks look up.
fn prepare(moto: &str) {
    assert!(moto_call(
        port_of(moto),
        "POST /moto-api/reset HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"
    ));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let config = sdk_config(moto).await;
        let ec2 = aws_sdk_ec2::Client::new(&config);
        let tag = |k: &str, v: &str| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build();
        let spec = |kind, tags| {
            aws_sdk_ec2::types::TagSpecification::builder()
                .resource_type(kind)
                .set_tags(Some(tags))
                .build()
        };
        let vpc = ec2
            .create_vpc()
            .cidr_block("10.30.0.0/16")
            .tag_specifications(spec(
                aws_sdk_ec2::types::ResourceType::Vpc,
                vec![tag("Name", "bench")],
            ))
            .send()
            .await
            .unwrap();
        let vpc = vpc.vpc().and_then(|v| v.vpc_id()).unwrap().to_string();
        for (i, az) in ["a", "b"].iter().enumerate() {
            ec2.create_subnet()
                .vpc_id(&vpc)
                .cidr_block(format!("10.30.{i}.0/24"))
                .availability_zone(format!("us-east-1{az}"))
                .tag_specifications(spec(
                    aws_sdk_ec2::types::ResourceType::Subnet,
                    vec![tag("tier", "private")],
                ))
                .send()
                .await
                .unwrap();
        }
        ec2.create_security_group()
            .group_name("app")
            .description("bench")
            .vpc_id(&vpc)
            .send()
            .await
            .unwrap();
        aws_sdk_route53::Client::new(&config)
            .create_hosted_zone()
            .name(DOMAIN)
            .caller_reference(format!("bench-{}", std::process::id()))
            .send()
            .await
            .unwrap();
        aws_sdk_acm::Client::new(&config)
            .request_certificate()
            .domain_name(format!("*.{DOMAIN}"))
            .validation_method(aws_sdk_acm::types::ValidationMethod::Dns)
            .send()
            .await
            .unwrap();
    });
}

/// The generator's stack, with look-ups that moto can answer, bootstrapped as the reference
/// stacks are: its repositories applied first and its services' images pushed to them.
fn live_stack(n: usize, dir: &Path, moto: &str) -> PathBuf {
    let text = stackgen::stack(n)
        .replace(
            "lookup \"vpc\" \"main\" id=\"vpc-0123456789abcdef0\"",
            "lookup \"vpc\" \"main\" {\n    tags {\n        Name \"bench\"\n    }\n}",
        )
        .replace("example.com", DOMAIN);
    let path = dir.join(format!("scale-{n}.kdl"));
    std::fs::write(&path, text).unwrap();
    let p = path.to_string_lossy().into_owned();
    let mut args = vec![
        "apply".to_string(),
        p,
        "--auto-approve".into(),
        "--no-verify".into(),
    ];
    for repository in stackgen::repositories(n) {
        args.extend(["--target".to_string(), repository]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    infra(&args, moto, 0);
    push_images(n, moto);
    path
}

/// Pushes every service's image of a stack of roughly `n` resources (a manifest per service,
/// distinct digests) into the stack's repositories.
fn push_images(n: usize, moto: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let ecr = aws_sdk_ecr::Client::new(&sdk_config(moto).await);
        for u in 0..stackgen::units(n) {
            let (repository, tag) = stackgen::image_tag(u, "v1");
            let manifest = manifest::manifest(&format!("{u:064x}"));
            ecr.put_image()
                .repository_name(repository)
                .image_tag(tag)
                .image_manifest(manifest.to_string())
                .send()
                .await
                .unwrap();
        }
    });
}

/// The SDK's configuration for the emulator.
async fn sdk_config(moto: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(moto)
        .credentials_provider(aws_credential_types::Credentials::new(
            "test", "test", None, None, "bench",
        ))
        .load()
        .await
}

/// Runs infra; returns its wall time, asserting the exit code.
fn infra(args: &[&str], endpoint: &str, expect: i32) -> Duration {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_infra"))
        .args(args)
        .args(["--endpoint-url", endpoint])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("INFRA_POLL_INTERVAL_MS", "200")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let wall = started.elapsed();
    assert_eq!(
        out.status.code(),
        Some(expect),
        "infra {args:?}\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    wall
}

/// How many resources a stack declares (from its plan against nothing, in the fake).
fn resources(path: &Path) -> usize {
    let out = Command::new(env!("CARGO_BIN_EXE_infra"))
        .args(["plan", &path.to_string_lossy(), "--format", "json"])
        .env("INFRA_FAKE_AWS", "1")
        .output()
        .unwrap();
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    plan["summary"]["add"].as_u64().unwrap() as usize
}

/// CPU seconds and peak RSS (MiB) of one run of infra, as `/usr/bin/time` reports them (a
/// child's own `ru_maxrss` would count memory inherited from this process before exec).
fn measured(args: &[&str], env: &[(&str, &str)]) -> (f64, f64) {
    let report = std::env::temp_dir().join(format!("infra-bench-time-{}", std::process::id()));
    let mut cmd = Command::new("/usr/bin/time");
    cmd.args(["-f", "%U %S %M", "-o"])
        .arg(&report)
        .arg(env!("CARGO_BIN_EXE_infra"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let status = cmd.status().expect("/usr/bin/time runs infra");
    assert!(
        status.code().is_some_and(|c| c == 0 || c == 2),
        "infra {args:?}: {status}"
    );
    let text = std::fs::read_to_string(&report).unwrap_or_default();
    // The last line: before it, time may say the command exited with status 2 (changes).
    let fields: Vec<f64> = text
        .lines()
        .last()
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    let (user, system, kib) = match fields.as_slice() {
        [user, system, kib, ..] => (*user, *system, *kib),
        _ => panic!("/usr/bin/time said: {text}"),
    };
    (user + system, kib / 1024.0)
}

struct Row {
    figure: String,
    value: String,
    target: String,
    ok: bool,
}

fn main() {
    let quick = std::env::var("INFRA_BENCH_QUICK").is_ok_and(|v| v == "1");
    // `INFRA_BENCH_FOCUS=trips`: only the round trips of the N = 1,000 plan, with its
    // timeline; `memory`: only the engine alone at N = 10,000.
    let focus = std::env::var("INFRA_BENCH_FOCUS").unwrap_or_default();
    let dir = std::env::temp_dir().join(format!("infra-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    if focus == "memory" {
        engine_alone(&dir, &mut Vec::new());
        return;
    }
    let moto = start_moto();
    let proxy = Proxy::start(&moto, Faults::default());
    let url = proxy.url.clone();
    let mut rows: Vec<Row> = Vec::new();
    // Only applies take these; `--no-verify`: the time measured is the apply's, and moto's
    // running-task counts and targets are not real (verify's checks would fail for moto's reasons).
    let fast = ["--max-rate", "1000", "--parallelism", "200", "--no-verify"];
    // The emulator's own time at N = 1,000 without injected latency, for the decomposition.
    let mut zero: Option<(Duration, Duration, u64)> = None;

    // Calls per resource of a no-change plan.
    let sizes: &[usize] = if focus == "trips" {
        &[]
    } else if quick {
        &[100, 1_000]
    } else {
        &[100, 1_000, 5_000]
    };
    for &n in sizes {
        prepare(&moto);
        let path = live_stack(n, &dir, &moto);
        let p = path.to_string_lossy().into_owned();
        let count = resources(&path);
        let mut args = vec!["apply", p.as_str(), "--auto-approve"];
        args.extend(fast);
        proxy.reset_tallies();
        let apply = infra(&args, &url, 0);
        let apply_calls = proxy.totals().calls;
        proxy.reset_tallies();
        let plan = infra(
            &["plan", &p, "--detailed-exitcode", "--max-rate", "1000"],
            &url,
            0,
        );
        let calls = proxy.totals().calls;
        if n == 1_000 {
            zero = Some((plan, apply, apply_calls));
        }
        let per = calls as f64 / count as f64;
        println!("N={count}: apply {apply:?}; no-change plan {calls} calls, {per:.3} per resource");
        rows.push(Row {
            figure: format!("AWS calls of a no-change plan, N = {count}"),
            value: format!("{calls} calls = {per:.3} per resource"),
            target: if n == 1_000 {
                "≤ 0.3 per resource".into()
            } else {
                "—".into()
            },
            ok: n != 1_000 || per <= 0.3,
        });
    }

    // Round trips of a no-change plan, and apply against the critical path, at 50 ms a call.
    let slow = |latency: Duration, rate: Option<f64>| Faults {
        latency,
        rate_per_service: rate,
        ..Faults::default()
    };
    prepare(&moto);
    let one = live_stack(stackgen::UNIT + 6, &dir, &moto);
    let one = one.to_string_lossy().into_owned();
    proxy.set_faults(slow(LATENCY, None));
    let mut args = vec!["apply", one.as_str(), "--auto-approve"];
    args.extend(fast);
    let critical = infra(&args, &url, 0);
    proxy.set_faults(Faults::default());
    prepare(&moto);
    let path = live_stack(1_000, &dir, &moto);
    let p = path.to_string_lossy().into_owned();
    let count = resources(&path);
    proxy.set_faults(slow(LATENCY, None));
    let mut args = vec!["apply", p.as_str(), "--auto-approve"];
    args.extend(fast);
    let apply = infra(&args, &url, 0);
    // The engine's critical path: the limiter's ceiling out of the way.
    proxy.reset_tallies();
    let plan = infra(
        &["plan", &p, "--detailed-exitcode", "--max-rate", "1000"],
        &url,
        0,
    );
    let trips = plan.as_secs_f64() / LATENCY.as_secs_f64();
    // Which reads wait on which: requests by the 50 ms slot they arrived in.
    let mut slots: std::collections::BTreeMap<u128, std::collections::BTreeMap<String, u32>> =
        Default::default();
    for (at, op) in proxy.timeline() {
        *slots
            .entry(at.as_millis() / LATENCY.as_millis())
            .or_default()
            .entry(op)
            .or_default() += 1;
    }
    for (slot, ops) in &slots {
        println!("  slot {slot}: {ops:?}");
    }
    // And as shipped: at most 50 requests per second per service.
    let plan_default = infra(&["plan", &p, "--detailed-exitcode"], &url, 0);
    let ratio = apply.as_secs_f64() / critical.as_secs_f64();
    println!(
        "N={count} at 50 ms: plan {plan:?} = {trips:.1} round trips; apply {apply:?}, one unit {critical:?}"
    );
    if focus == "trips" {
        return;
    }
    rows.push(Row {
        figure: format!("No-change plan, N = {count}, 50 ms per call"),
        value: format!("{:.2} s = {trips:.1} round trips", plan.as_secs_f64()),
        target: "≤ 12 round trips".into(),
        ok: trips <= 12.0,
    });
    if let Some((plan0, apply0, apply_calls)) = zero {
        let added = (plan.as_secs_f64() - plan0.as_secs_f64()) / LATENCY.as_secs_f64();
        rows.push(Row {
            figure: "… of which latency: (plan at 50 ms − plan at 0 ms) / 50 ms".into(),
            value: format!(
                "{added:.1} round trips on the critical path; the rest is the emulator's and infra's own time ({:.2} s at 0 ms)",
                plan0.as_secs_f64()
            ),
            target: "≤ 12 round trips".into(),
            ok: added <= 12.0,
        });
        rows.push(Row {
            figure: format!("Apply from nothing, N = {count}, 0 ms per call"),
            value: format!(
                "{:.2} s: the emulator's throughput bound (about {:.0} requests/s)",
                apply0.as_secs_f64(),
                apply_calls as f64 / apply0.as_secs_f64()
            ),
            target: "—".into(),
            ok: true,
        });
    }
    rows.push(Row {
        figure: format!("No-change plan, N = {count}, 50 ms per call, default rate limit"),
        value: format!(
            "{:.2} s = {:.1} round trips (at most 50 requests/s per service)",
            plan_default.as_secs_f64(),
            plan_default.as_secs_f64() / LATENCY.as_secs_f64()
        ),
        target: "—".into(),
        ok: true,
    });
    rows.push(Row {
        figure: format!("Apply from nothing, N = {count}, 50 ms per call"),
        value: format!(
            "{:.2} s = {ratio:.2}× the critical path (one service unit alone: {:.2} s)",
            apply.as_secs_f64(),
            critical.as_secs_f64()
        ),
        target: "≤ 2×".into(),
        ok: ratio <= 2.0,
    });

    // Under a rate cap of 20 requests per second per service, with the default limiter.
    prepare(&moto);
    live_stack(1_000, &dir, &moto);
    proxy.set_faults(slow(Duration::ZERO, Some(RATE_CAP)));
    proxy.reset_tallies();
    let apply = infra(
        &[
            "apply",
            &p,
            "--auto-approve",
            "--parallelism",
            "200",
            "--no-verify",
        ],
        &url,
        0,
    );
    let tallies = proxy.tallies();
    let busiest = |t: &std::collections::BTreeMap<String, proxy::Tally>| {
        let mut per: std::collections::BTreeMap<String, u64> = Default::default();
        for (op, tally) in t {
            let service = op.split('.').next().unwrap_or_default().to_string();
            *per.entry(service).or_default() += tally.calls - tally.throttled;
        }
        per.into_iter().max_by_key(|(_, n)| *n).unwrap_or_default()
    };
    let (service, calls) = busiest(&tallies);
    let throttled: u64 = tallies.values().map(|t| t.throttled).sum();
    let ideal = calls as f64 / RATE_CAP;
    let apply_ratio = apply.as_secs_f64() / ideal;
    proxy.reset_tallies();
    let plan = infra(&["plan", &p, "--detailed-exitcode"], &url, 0);
    let tallies = proxy.tallies();
    let (plan_service, plan_calls) = busiest(&tallies);
    let plan_throttled: u64 = tallies.values().map(|t| t.throttled).sum();
    let plan_ideal = plan_calls as f64 / RATE_CAP;
    let plan_ratio = plan.as_secs_f64() / plan_ideal;
    proxy.set_faults(Faults::default());
    println!(
        "rate cap: apply {apply:?} ({calls} {service} calls, {throttled} throttled); plan {plan:?}"
    );
    rows.push(Row {
        figure: format!("Apply from nothing, N = {count}, 20 requests/s per service"),
        value: format!(
            "{:.1} s = {apply_ratio:.2}× ideal ({calls} calls of `{service}`, the busiest, / 20 per s = {ideal:.1} s); {throttled} requests throttled, none failed",
            apply.as_secs_f64()
        ),
        target: "≤ 1.3× ideal".into(),
        ok: apply_ratio <= 1.3,
    });
    rows.push(Row {
        figure: format!("No-change plan, N = {count}, 20 requests/s per service"),
        value: format!(
            "{:.2} s = {plan_ratio:.2}× ideal ({plan_calls} calls of `{plan_service}` / 20 per s = {plan_ideal:.2} s); {plan_throttled} throttled",
            plan.as_secs_f64()
        ),
        target: "≤ 1.3× ideal".into(),
        ok: plan_ratio <= 1.3,
    });

    engine_alone(&dir, &mut rows);
    write_results(&rows);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The engine alone: plan against the in-memory fake, against validate of the same stack.
fn engine_alone(dir: &Path, rows: &mut Vec<Row>) {
    let big = dir.join("scale-10000.kdl");
    std::fs::write(&big, stackgen::stack(10_000)).unwrap();
    let b = big.to_string_lossy().into_owned();
    let best = |args: &[&str], env: &[(&str, &str)]| {
        (0..3)
            .map(|_| measured(args, env))
            .fold((f64::MAX, 0.0_f64), |(cpu, mem), (c, m)| {
                (cpu.min(c), mem.max(m))
            })
    };
    let (validate_cpu, validate_mem) = best(&["validate", &b], &[]);
    let (plan_cpu, plan_mem) = best(
        &["plan", &b, "--detailed-exitcode"],
        &[("INFRA_FAKE_AWS", "1")],
    );
    let cpu_ratio = plan_cpu / validate_cpu;
    println!(
        "N=10,000 fake: validate {validate_cpu:.2} s / {validate_mem:.1} MiB; plan {plan_cpu:.2} s / {plan_mem:.1} MiB"
    );
    rows.push(Row {
        figure: format!("Plan CPU, N = {}, in-memory fake", resources(&big)),
        value: format!("{plan_cpu:.2} s = {cpu_ratio:.2}× validate ({validate_cpu:.2} s)"),
        target: "≤ 3× validate".into(),
        ok: cpu_ratio <= 3.0,
    });
    rows.push(Row {
        figure: "Plan peak memory, same stack".into(),
        value: format!("{plan_mem:.1} MiB (validate: {validate_mem:.1} MiB)"),
        target: "≤ 100 MB".into(),
        ok: plan_mem * 1.048_576 <= 100.0,
    });
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!(
        "{cpu}, {cores} cores, {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

fn write_results(rows: &[Row]) {
    let mut md = String::from(
        "# Scale benchmark\n\nWritten by `cargo bench --features fake-aws --bench scale`; every run rewrites it. Stacks come from \
         `benches/support/stackgen.rs` (service units of target group, listener rule, task definition, \
         service, log group, record, secret and four alarms, sharing clusters, load balancers, \
         listeners, security groups, execution roles, alarm topics and image repositories). AWS is the moto emulator behind the test proxy (`tests/it/proxy.rs`), which counts \
         calls, adds latency and caps request rates; the in-memory fake is `INFRA_FAKE_AWS=1` in a build with the `fake-aws` feature.\n\n",
    );
    md.push_str(&format!("Machine: {}\n\n", machine()));
    md.push_str("| figure | measured | target | |\n|---|---|---|---|\n");
    for r in rows {
        md.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            r.figure,
            r.value,
            r.target,
            if r.ok { "✓" } else { "✗" }
        ));
    }
    let out = root().join("bench/results.md");
    std::fs::write(&out, md).unwrap();
    println!("wrote {}", out.display());
}
