//! `install.sh` against release archives served from this machine: an archive named and
//! checksummed as the release workflow publishes them (`infra-VERSION-TARGET.tar.gz` and
//! `infra-VERSION-TARGET.sha256`) is installed and runs; a tampered archive, or one without its
//! checksum file, is refused and nothing is installed.
//!
//! Building a release archive here would take a release build, so the archive holds the debug
//! binary of this test run, stripped as the release binaries are. `scripts/package` builds the
//! real one with the same names and format.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::docs::temp_dir;
use crate::harness::{Output, expect, root};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The target of the release archive `install.sh` picks on this machine (releases ship static
/// musl binaries for Linux).
fn release_target() -> String {
    let arch = std::env::consts::ARCH;
    match std::env::consts::OS {
        "macos" => format!("{arch}-apple-darwin"),
        _ => format!("{arch}-unknown-linux-musl"),
    }
}

fn archive_name() -> String {
    format!("infra-{VERSION}-{}.tar.gz", release_target())
}

fn checksum_name() -> String {
    format!("infra-{VERSION}-{}.sha256", release_target())
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A directory laid out as a release's assets: the archive (the stripped debug binary as
/// `infra`, at its top level) and its checksum file. Returns the directory and the binary that
/// went into the archive.
fn release_assets(dir: &Path) -> (PathBuf, PathBuf) {
    let stage = dir.join("stage");
    let assets = dir.join("assets");
    std::fs::create_dir_all(&stage).expect("create the staging directory");
    std::fs::create_dir_all(&assets).expect("create the assets directory");
    let binary = stage.join("infra");
    let stripped = Command::new("strip")
        .arg("-o")
        .arg(&binary)
        .arg(env!("CARGO_BIN_EXE_infra"))
        .status()
        .is_ok_and(|s| s.success());
    if !stripped {
        std::fs::copy(env!("CARGO_BIN_EXE_infra"), &binary).expect("copy the infra binary");
    }
    let archive = assets.join(archive_name());
    let tar = Command::new("sh")
        .arg("-c")
        .arg(r#"tar -cf - -C "$1" infra | gzip -1 > "$2""#)
        .arg("sh")
        .arg(&stage)
        .arg(&archive)
        .status()
        .expect("tar and gzip run");
    assert!(tar.success(), "could not archive the binary");
    let bytes = std::fs::read(&archive).expect("read the archive");
    let line = format!("{}  {}\n", sha256_hex(&bytes), archive_name());
    std::fs::write(assets.join(checksum_name()), line).expect("write the checksum file");
    (assets, binary)
}

/// Runs `install.sh` with only the given settings (none from the caller's environment).
fn install(base_url: &str, prefix: &Path, home: &Path) -> Output {
    let mut cmd = Command::new("sh");
    cmd.arg(root().join("install.sh")).current_dir(root());
    for (k, _) in std::env::vars() {
        if k.starts_with("INFRA_") {
            cmd.env_remove(k);
        }
    }
    let out = cmd
        .env("HOME", home)
        .env("INFRA_VERSION", VERSION)
        .env("INFRA_BASE_URL", base_url)
        .env("INFRA_PREFIX", prefix)
        .output()
        .expect("sh runs install.sh");
    Output {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// What a reader sees, without this run's directory, version, target and digests.
fn normalised(text: &str, dir: &Path) -> String {
    let digest = regex_lite::Regex::new("[0-9a-f]{64}").expect("a valid pattern");
    let text = text
        .replace(&dir.display().to_string(), "[dir]")
        .replace(VERSION, "[version]")
        .replace(&release_target(), "[target]");
    digest.replace_all(&text, "[sha256]").into_owned()
}

/// Every file under `dir`, as paths relative to it, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(dir) {
                out.push(rel.display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn install_sh_installs_the_archive_for_this_machine_and_the_binary_runs() {
    let dir = temp_dir("release-install");
    let (assets, binary) = release_assets(&dir);
    let prefix = dir.join("prefix");
    let url = format!("file://{}", assets.display());

    let out = install(&url, &prefix, &dir);
    expect(&out, 0);
    insta::assert_snapshot!("install-sh-installed", normalised(&out.stderr, &dir));

    let installed = prefix.join("bin/infra");
    assert_eq!(
        std::fs::read(&installed).expect("infra is installed in PREFIX/bin"),
        std::fs::read(&binary).expect("the archived binary"),
        "the installed binary is the one in the archive"
    );
    let version = Command::new(&installed)
        .arg("--version")
        .output()
        .expect("the installed binary runs");
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("infra {VERSION}")
    );
    assert_eq!(
        files_under(&prefix),
        ["bin/infra"],
        "nothing else is left in the prefix"
    );

    // Installing again over it (an upgrade in place) works the same way.
    expect(&install(&url, &prefix, &dir), 0);
    assert_eq!(files_under(&prefix), ["bin/infra"]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn install_sh_refuses_an_archive_whose_checksum_does_not_match() {
    let dir = temp_dir("release-tampered");
    let (assets, _) = release_assets(&dir);
    let archive = assets.join(archive_name());
    let mut bytes = std::fs::read(&archive).expect("read the archive");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&archive, bytes).expect("tamper with the archive");
    let prefix = dir.join("prefix");

    let out = install(&format!("file://{}", assets.display()), &prefix, &dir);
    expect(&out, 1);
    assert!(out.stderr.contains("checksum mismatch"), "{}", out.stderr);
    insta::assert_snapshot!("install-sh-tampered", normalised(&out.stderr, &dir));
    assert_eq!(
        files_under(&prefix),
        Vec::<String>::new(),
        "nothing is installed"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn install_sh_refuses_an_archive_without_its_checksum_file() {
    let dir = temp_dir("release-unchecked");
    let (assets, _) = release_assets(&dir);
    std::fs::remove_file(assets.join(checksum_name())).expect("remove the checksum file");
    let prefix = dir.join("prefix");

    // A plain directory as the base, as for archives built by scripts/package.
    let out = install(&assets.display().to_string(), &prefix, &dir);
    expect(&out, 1);
    insta::assert_snapshot!("install-sh-no-checksum", normalised(&out.stderr, &dir));
    assert_eq!(
        files_under(&prefix),
        Vec::<String>::new(),
        "nothing is installed"
    );

    // A checksum file that lists only another archive does not vouch for this one.
    let other = format!(
        "{}  infra-{VERSION}-another-target.tar.gz\n",
        "0".repeat(64)
    );
    std::fs::write(assets.join(checksum_name()), other).expect("write the checksum file");
    let out = install(&assets.display().to_string(), &prefix, &dir);
    expect(&out, 1);
    assert!(out.stderr.contains("does not list"), "{}", out.stderr);
    assert_eq!(
        files_under(&prefix),
        Vec::<String>::new(),
        "nothing is installed"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Every text file under `dir` (relative to the root), recursively.
fn text_files(dir: &str) -> Vec<PathBuf> {
    files_under(&root().join(dir))
        .into_iter()
        .map(|rel| root().join(dir).join(rel))
        .filter(|p| std::fs::read_to_string(p).is_ok())
        .collect()
}

#[test]
fn examples_and_docs_install_released_binaries_through_the_action() {
    let mut compiling = Vec::new();
    for path in text_files("examples").into_iter().chain(text_files("docs")) {
        let text = std::fs::read_to_string(&path).expect("read a text file");
        if text.contains("cargo install") {
            compiling.push(path.display().to_string());
        }
    }
    assert_eq!(
        compiling,
        Vec::<String>::new(),
        "these still compile infra to install it"
    );

    let workflow =
        std::fs::read_to_string(root().join("examples/ci/infra.yml")).expect("the CI example");
    let lines: Vec<&str> = workflow.lines().collect();
    let uses: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].trim_start().starts_with("uses: OWNER/infra@v"))
        .collect();
    assert_eq!(
        uses.len(),
        2,
        "the plan and apply jobs both install infra with the action"
    );
    for i in uses {
        let pinned = lines[i + 1..]
            .iter()
            .take(2)
            .any(|l| l.trim_start().starts_with("version: "));
        assert!(
            pinned,
            "line {}: the action is given the version to install",
            i + 1
        );
    }

    let action = std::fs::read_to_string(root().join("action.yml")).expect("action.yml");
    assert!(action.contains(r#"sh "$GITHUB_ACTION_PATH/install.sh""#));
    assert!(action.contains(
        "key: infra-${{ steps.where.outputs.version }}-${{ runner.os }}-${{ runner.arch }}"
    ));
}
