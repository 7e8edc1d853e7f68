//! Decodes a `probe` node of the stack file: the HTTP request `infra verify` makes.
//!
//! ```kdl
//! probe "ready" {
//!     url "https://shop.${var.domain}/health/ready"
//!     expect-status 200
//!     expect-body "\"status\":\"ok\""
//!     timeout "5s"
//! }
//! ```

use kdl::KdlNode;

use super::decode::Decoder;
use super::diagnostic::Diagnostic;
use crate::model::probe::{DEFAULT_TIMEOUT, MAX_TIMEOUT};
use crate::model::{Probe, Value};

const CHILDREN: [&str; 4] = ["url", "expect-status", "expect-body", "timeout"];

/// The probe a node declares; `None` (with diagnostics) when it cannot be read.
pub fn decode(d: &mut Decoder<'_, '_>, node: &KdlNode) -> Option<Probe> {
    let span = d.span(node.name().span());
    let Some(name) = node.entry(0).and_then(|e| e.value().as_string()) else {
        d.diags.push(
            Diagnostic::new("infra::declaration", "a probe needs a name")
                .label(span, "here")
                .help("write `probe \"<name>\" { url \"https://...\" }`"),
        );
        return None;
    };
    let mut probe = Probe {
        name: name.to_string(),
        url: Value::Null,
        expect_status: 200,
        expect_body: None,
        timeout: DEFAULT_TIMEOUT,
        span,
    };
    let mut ok = true;
    for child in node.iter_children() {
        let word = child.name().value();
        let child_span = d.span(child.name().span());
        let bad = |d: &mut Decoder<'_, '_>, message: String, help: &str| {
            d.diags.push(
                Diagnostic::new("infra::type", message)
                    .label(child_span, "here")
                    .help(help.to_string()),
            );
        };
        let value = match child.entry(0) {
            Some(entry) if CHILDREN.contains(&word) => d.any_entry(entry),
            _ if !CHILDREN.contains(&word) => {
                bad(
                    d,
                    format!("a probe has no `{word}`"),
                    "a probe has url, expect-status, expect-body and timeout",
                );
                ok = false;
                continue;
            }
            _ => {
                bad(
                    d,
                    format!("`{word}` needs a value"),
                    "e.g. `timeout \"5s\"`",
                );
                ok = false;
                continue;
            }
        };
        let Some(value) = value else {
            ok = false;
            continue;
        };
        match (word, &value) {
            ("url", Value::String(url)) if !is_http(url) => {
                bad(
                    d,
                    format!("`{url}` is not an http:// or https:// URL"),
                    "a probe requests a URL such as https://shop.example.com/health/ready",
                );
                ok = false;
            }
            ("url", Value::String(_)) => probe.url = value,
            ("expect-status", Value::Int(code)) => match u16::try_from(*code) {
                Ok(code) if (100..=599).contains(&code) => probe.expect_status = code,
                _ => {
                    bad(
                        d,
                        format!("{code} is not an HTTP status"),
                        "a status is between 100 and 599",
                    );
                    ok = false;
                }
            },
            ("expect-body", Value::String(text)) => probe.expect_body = Some(text.clone()),
            ("timeout", Value::String(text)) => match crate::model::duration::parse(text) {
                Ok(t) if !t.is_zero() && t <= MAX_TIMEOUT => probe.timeout = t,
                Ok(_) => {
                    bad(
                        d,
                        format!("a probe's timeout is between 1s and 60s, not `{text}`"),
                        "e.g. `timeout \"5s\"`",
                    );
                    ok = false;
                }
                Err(e) => {
                    bad(d, e, "e.g. `timeout \"5s\"`");
                    ok = false;
                }
            },
            _ => {
                let wanted = match word {
                    "expect-status" => "an integer status such as 200",
                    "url" => "a URL string (`${var.x}` works; references do not)",
                    _ => "a string",
                };
                bad(d, format!("`{word}` takes {wanted}"), "see docs/operate.md");
                ok = false;
            }
        }
    }
    if probe.url == Value::Null && ok {
        d.diags.push(
            Diagnostic::new(
                "infra::missing-attribute",
                format!("probe `{name}` has no url"),
            )
            .label(span, "here")
            .help("add `url \"https://...\"`"),
        );
        ok = false;
    }
    ok.then_some(probe)
}

fn is_http(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::is_http;

    #[test]
    fn only_http_urls_with_a_host_are_probes() {
        assert!(is_http("https://shop.example.com/health"));
        assert!(is_http("http://127.0.0.1:8080"));
        assert!(!is_http("ftp://example.com"));
        assert!(!is_http("https:///path"));
        assert!(!is_http("shop.example.com"));
    }
}
