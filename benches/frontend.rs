//! Front-end benchmark: `infra validate` (load, resolve, graph) against the `kdl` crate's raw
//! parse of the same text, at N = 1,000 and 10,000 resources, plus peak memory of the release
//! binary validating the 10,000-resource stack.
//!
//! Run with `cargo bench --bench frontend`; results are written to `bench/frontend.md`.
//! Figures are ratios against the raw parse measured in the same run, because these machines
//! are noisy.

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

#[path = "support/stackgen.rs"]
mod stackgen;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const SIZES: [usize; 2] = [1_000, 10_000];
const RUNS: usize = 5;
const TARGET_RATIO: f64 = 3.0;
const TARGET_PEAK_MB: f64 = 150.0;

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(f());
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// Peak resident memory (MiB) of the release binary validating `path`.
fn peak_memory_mib(path: &Path) -> f64 {
    let status = Command::new(env!("CARGO_BIN_EXE_infra"))
        .arg("validate")
        .arg(path)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("infra runs");
    assert!(status.success(), "the generated stack validates");
    // SAFETY: getrusage only writes into the struct we pass.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    usage.ru_maxrss as f64 / 1024.0
}

fn main() {
    let dir = std::env::temp_dir().join(format!("infra-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut files: Vec<(usize, PathBuf, usize)> = Vec::new();
    for n in SIZES {
        let text = stackgen::stack(n);
        let path: PathBuf = dir.join(format!("stack-{n}.kdl"));
        std::fs::write(&path, &text).expect("write stack");
        files.push((n, path, text.len()));
    }
    // Measured first, while this process is small: a child's maximum RSS counts the memory
    // it inherited before exec.
    let largest = &files[files.len() - 1].1;
    let peak = peak_memory_mib(largest);
    println!("peak memory of `infra validate` on the largest stack: {peak:.1} MiB");
    let mut rows = Vec::new();
    for (_, path, bytes) in &files {
        let path = path.as_path();
        let options = infra::lang::LoadOptions::default();
        let stack = infra::lang::load(path, &options).expect("generated stack loads");
        let resources = stack.resources.len();
        let parse = best_of(RUNS, || {
            let text = std::fs::read_to_string(path).expect("read");
            kdl::KdlDocument::parse_v2(&text).expect("parses")
        });
        let validate = best_of(RUNS, || {
            let stack = infra::lang::load(path, &options).expect("loads");
            let graph = infra::graph::build(&stack).expect("acyclic");
            (stack, graph)
        });
        let ratio = validate.as_secs_f64() / parse.as_secs_f64();
        println!(
            "N={resources:>6}: kdl parse {:>8.1} ms, infra validate {:>8.1} ms, ratio {ratio:.2}×",
            parse.as_secs_f64() * 1e3,
            validate.as_secs_f64() * 1e3
        );
        rows.push((resources, *bytes, parse, validate, ratio));
    }
    let _ = std::fs::remove_dir_all(&dir);
    write_results(&rows, peak);
}

fn write_results(rows: &[(usize, usize, Duration, Duration, f64)], peak: f64) {
    let mut md = String::from(
        "# Front-end benchmark\n\nWritten by `cargo bench --bench frontend`; every run rewrites it.\n\n",
    );
    md.push_str(&format!("Machine: {}\n\n", machine()));
    md.push_str("| resources | stack size | kdl parse (best of 5) | infra validate (best of 5) | ratio | target |\n|---:|---:|---:|---:|---:|---:|\n");
    for (n, bytes, parse, validate, ratio) in rows {
        md.push_str(&format!(
            "| {n} | {:.1} MB | {:.1} ms | {:.1} ms | {ratio:.2}× | ≤ {TARGET_RATIO}× {} |\n",
            *bytes as f64 / 1e6,
            parse.as_secs_f64() * 1e3,
            validate.as_secs_f64() * 1e3,
            if *ratio <= TARGET_RATIO { "✓" } else { "✗" }
        ));
    }
    md.push_str(&format!(
        "\nPeak memory of `infra validate` (release binary) at the largest size: {peak:.1} MiB \
         (target ≤ {TARGET_PEAK_MB} MB {}).\n",
        if peak <= TARGET_PEAK_MB { "✓" } else { "✗" }
    ));
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/frontend.md");
    std::fs::write(&out, md).expect("write results");
    println!("results written to {}", out.display());
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    format!(
        "{cpu}, {cores} cores, {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}
