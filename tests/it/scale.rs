//! The calls a no-change plan costs at N = 200 resources of the reference shape (the
//! benchmark's generator, `benches/support/stackgen.rs`), pinned per operation so that a
//! regression shows as a changed snapshot. `cargo bench --bench scale` measures larger N.

#[path = "../../benches/support/stackgen.rs"]
mod stackgen;

use super::harness::expect;
use super::moto::World;
use super::proxy::{Faults, Proxy};

#[test]
fn a_no_change_plan_of_two_hundred_reference_shaped_resources_costs_a_fixed_number_of_calls() {
    let mut w = World::isolated("scale");
    w.network("us-east-1", "bench", &[]);
    w.certificate("us-east-1", &format!("*.{}", w.domain));
    let text = stackgen::stack(200)
        .replace(
            "lookup \"vpc\" \"main\" id=\"vpc-0123456789abcdef0\"",
            "lookup \"vpc\" \"main\" {\n    tags {\n        Name \"bench\"\n    }\n}",
        )
        .replace("example.com", &w.domain)
        // The harness passes `--var domain=...` to every plan and apply.
        + "\nvariable \"domain\" type=\"string\" default=\"unused\"\n";
    let path = w.dir.join("scale-200.kdl");
    std::fs::write(&path, text).expect("the stack is written");
    let path = path.display().to_string();
    let proxy = Proxy::start(&w.url, Faults::default());
    w.through(&proxy);
    let env = [("INFRA_POLL_INTERVAL_MS", "200")];
    // The bootstrap of the reference stacks: the repositories, the images, then the rest.
    let mut bootstrap = vec!["apply".to_string(), path.clone(), "--auto-approve".into()];
    for repository in stackgen::repositories(200) {
        bootstrap.extend(["--target".to_string(), repository]);
    }
    let bootstrap: Vec<&str> = bootstrap.iter().map(String::as_str).collect();
    expect(&w.infra(&bootstrap, &env), 0);
    for u in 0..stackgen::units(200) {
        let (repository, tag) = stackgen::image_tag(u, "v1");
        w.push_image("us-east-1", &repository, &tag, &format!("svc-{u}"), &[]);
    }
    expect(
        &w.infra(
            &["apply", &path, "--auto-approve", "--parallelism", "100"],
            &env,
        ),
        0,
    );
    proxy.reset_tallies();
    expect(&w.infra(&["plan", &path, "--detailed-exitcode"], &env), 0);
    let tallies = proxy.tallies();
    let calls: u64 = tallies.values().map(|t| t.calls).sum();
    let resources = 200 / stackgen::UNIT * stackgen::UNIT
        + stackgen::SHARED * (200 / stackgen::UNIT).div_ceil(stackgen::UNITS_PER_SHARED);
    let per = calls as f64 / resources as f64;
    assert!(
        per <= 0.5,
        "{calls} calls for {resources} resources: {tallies:?}"
    );
    let table: String = tallies
        .iter()
        .map(|(op, t)| format!("{op}: {}\n", t.calls))
        .collect();
    insta::assert_snapshot!(
        "no_change_plan_calls_at_two_hundred",
        format!("{calls} calls for {resources} resources\n{table}")
    );
}
