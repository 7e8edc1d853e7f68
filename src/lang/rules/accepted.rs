//! Stacks AWS accepts that the schemas once refused, and defaults that must equal AWS's: each
//! loads without a diagnostic (or with exactly the one expected).

use std::path::PathBuf;

use crate::lang::{LoadOptions, load};
use crate::model::{Kind, Stack, Value};

/// Loads a stack from text (written to a file of its own), or the diagnostics' messages.
fn load_text(text: &str) -> Result<Stack, Vec<String>> {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path: PathBuf =
        std::env::temp_dir().join(format!("infra-accepted-{}-{n}.kdl", std::process::id()));
    std::fs::write(&path, format!("stack \"x\" region=\"us-east-1\"\n{text}")).expect("temp file");
    let out = load(&path, &LoadOptions::default())
        .map_err(|f| f.diagnostics.into_iter().map(|d| d.message).collect());
    let _ = std::fs::remove_file(&path);
    out
}

fn accepted(text: &str) -> Stack {
    match load_text(text) {
        Ok(stack) => stack,
        Err(messages) => panic!("rejected:\n{text}\n{}", messages.join("\n")),
    }
}

fn rejected(text: &str) -> String {
    match load_text(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(messages) => messages.join("\n"),
    }
}

#[test]
fn secret_names_that_end_like_an_arn_suffix_are_valid() {
    for name in ["db-master", "api-config", "prod/app/jwt-secret"] {
        accepted(&format!("secret \"s\" name=\"{name}\""));
    }
}

#[test]
fn only_load_balancers_may_not_begin_with_internal() {
    accepted("target-group \"t\" name=\"internal-api\" port=80 vpc=\"vpc-1\" target-type=\"ip\"");
    let said = rejected("load-balancer \"l\" name=\"internal-api\" {\n subnets \"a\" \"b\"\n}");
    assert!(said.contains("internal-"), "{said}");
}

#[test]
fn every_record_type_route53_takes_is_allowed() {
    for (kind, value) in [
        ("HTTPS", "1 . alpn=\"h2\""),
        ("SVCB", "1 . alpn=\"h2\""),
        ("TLSA", "3 1 1 0123456789abcdef"),
        ("SSHFP", "1 1 0123456789abcdef"),
        (
            "NAPTR",
            "100 10 \"u\" \"E2U+sip\" \"!^.*$!sip:info@example.com!\" .",
        ),
        ("CAA", "0 issue \"amazon.com\""),
        ("DS", "12345 13 2 0123456789abcdef"),
    ] {
        let value = value.replace('"', "\\\"");
        accepted(&format!(
            "record \"r\" {{\n zone \"Z1\"\n name \"x.example.com\"\n type \"{kind}\"\n values \"{value}\"\n}}"
        ));
    }
}

#[test]
fn newer_log_group_classes_and_address_types_are_allowed() {
    for class in ["DELIVERY", "ESSENTIALS", "INFREQUENT_ACCESS", "STANDARD"] {
        accepted(&format!("log-group \"l\" name=\"/x\" class=\"{class}\""));
    }
    accepted(
        "load-balancer \"l\" name=\"l\" ip-address-type=\"dualstack-without-public-ipv4\" {\n subnets \"a\" \"b\"\n}",
    );
}

fn alarm(extra: &str) -> String {
    format!(
        "alarm \"a\" {{\n name \"a\"\n namespace \"N\"\n metric \"M\"\n threshold 1\n \
         comparison \"GreaterThanThreshold\"\n{extra}\n}}"
    )
}

#[test]
fn high_resolution_periods_and_week_long_look_backs_are_allowed() {
    for period in [10, 20, 30] {
        accepted(&alarm(&format!(
            "statistic \"Sum\"\n period {period}\n evaluation-periods 5"
        )));
    }
    accepted(&alarm(
        "statistic \"Sum\"\n period 60\n evaluation-periods 1440",
    ));
    accepted(&alarm(
        "statistic \"Sum\"\n period 3600\n evaluation-periods 168",
    ));
    let said = rejected(&alarm(
        "statistic \"Sum\"\n period 300\n evaluation-periods 300",
    ));
    assert!(said.contains("more than CloudWatch allows"), "{said}");
    let said = rejected(&alarm(
        "statistic \"Sum\"\n period 3600\n evaluation-periods 169",
    ));
    assert!(said.contains("more than CloudWatch allows"), "{said}");
}

#[test]
fn extended_statistics_follow_cloudwatch_grammar() {
    for p in [
        "p99",
        "p99.9",
        "p0",
        "p100",
        "tm99",
        "wm99",
        "tc90",
        "ts50",
        "IQM",
        "TM(10%:90%)",
        "TM(:95%)",
        "WM(5%:)",
        "PR(10:200)",
        "PR(:0.5)",
    ] {
        accepted(&alarm(&format!(
            "percentile \"{p}\"\n period 60\n evaluation-periods 5"
        )));
    }
    for p in [
        "p101",
        "x99",
        "TM(90%:10%)",
        "TM(:)",
        "PR(:)",
        "TM(10:90)",
        "iqm",
    ] {
        let said = rejected(&alarm(&format!(
            "percentile \"{p}\"\n period 60\n evaluation-periods 5"
        )));
        assert!(said.contains("is not a percentile"), "{p}: {said}");
    }
}

fn health_check(stack: &Stack) -> std::collections::BTreeMap<String, Value> {
    let tg = stack
        .resources
        .iter()
        .find(|r| r.kind() == Kind::TargetGroup)
        .expect("a target group");
    tg.attrs
        .get("health-check")
        .and_then(Value::as_map)
        .cloned()
        .expect("a health check filled in")
}

#[test]
fn omitted_health_check_settings_are_aws_defaults_for_the_protocol() {
    let tg = |extra: &str| {
        format!("target-group \"t\" name=\"t\" port=80 vpc=\"vpc-1\" target-type=\"ip\" {extra}")
    };
    let http = health_check(&accepted(&tg("")));
    assert_eq!(http.get("timeout"), Some(&Value::Int(6)));
    assert_eq!(http.get("interval"), Some(&Value::Int(30)));
    assert_eq!(http.get("matcher"), Some(&Value::String("200".into())));
    assert_eq!(http.get("path"), Some(&Value::String("/".into())));
    let https = health_check(&accepted(&tg("protocol=\"HTTPS\"")));
    assert_eq!(https.get("timeout"), Some(&Value::Int(10)));
    let grpc = health_check(&accepted(&tg(
        "protocol=\"HTTPS\" protocol-version=\"GRPC\"",
    )));
    assert_eq!(grpc.get("matcher"), Some(&Value::String("12".into())));
    assert_eq!(
        grpc.get("path"),
        Some(&Value::String("/AWS.ALB/healthcheck".into()))
    );
    // What is written wins over the default.
    let written = health_check(&accepted(&tg(
        "{\n health-check timeout=4 matcher=\"200-299\"\n}",
    )));
    assert_eq!(written.get("timeout"), Some(&Value::Int(4)));
    assert_eq!(
        written.get("matcher"),
        Some(&Value::String("200-299".into()))
    );
}

#[test]
fn txt_values_of_255_characters_or_split_in_quoted_strings_are_valid() {
    let txt = |value: &str| {
        format!(
            "record \"r\" {{\n zone \"Z1\"\n name \"x.example.com\"\n type \"TXT\"\n values \"{value}\"\n}}"
        )
    };
    accepted(&txt(&"a".repeat(255)));
    let split = format!("\\\"{}\\\" \\\"{}\\\"", "a".repeat(255), "b".repeat(100));
    accepted(&txt(&split));
    let said = rejected(&txt(&"a".repeat(256)));
    assert!(said.contains("DNS allows 255"), "{said}");
}
