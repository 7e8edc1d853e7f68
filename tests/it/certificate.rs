//! An ACM certificate the stack requests, against moto (which issues a requested certificate at
//! once): made from nothing with its validation record in the stack's own hosted zone, an
//! empty re-plan, a tag update, tags changed by hand put back, a certificate for the same
//! domain made by hand left alone through apply and destroy, destroy taking the certificate,
//! its validation record and the zone, and too many names refused before any AWS write.

use std::collections::BTreeMap;

use aws_sdk_route53::types::RrType;

use super::harness::expect;
use super::moto::World;

/// A hosted zone of the test's own domain and a certificate for it and its wildcard.
fn stack(w: &World, domain: &str, team: &str, sans: &[String]) -> String {
    let sans: Vec<String> = sans.iter().map(|s| format!("\"{s}\"")).collect();
    let text = format!(
        r#"stack "{stack}" region="us-east-1"

variable "domain" type="string" allow="the test harness sets it on every run"

hosted-zone "main" {{
    name "{domain}"
}}

certificate "web" {{
    domain-name "{domain}"
    subject-alternative-names {sans}
    zone (ref)"hosted-zone.main"
    tags {{
        team "{team}"
    }}
}}

output "certificate" (ref)"certificate.web"
"#,
        stack = w.stack,
        sans = sans.join(" "),
    );
    let path = w.dir.join("certificate.kdl");
    std::fs::write(&path, text).expect("the stack is written");
    path.to_string_lossy().into_owned()
}

/// A certificate as the test reads it: ARN, status, tags.
#[derive(Debug)]
struct Cert {
    arn: String,
    status: String,
    tags: BTreeMap<String, String>,
}

/// Every certificate for `domain`, with its status and tags.
fn certificates(w: &World, domain: &str) -> Vec<Cert> {
    let acm = aws_sdk_acm::Client::new(&w.config);
    w.rt.block_on(async {
        let list = acm
            .list_certificates()
            .send()
            .await
            .expect("certificates are listed");
        let mut out = Vec::new();
        for summary in list.certificate_summary_list() {
            if summary.domain_name() != Some(domain) {
                continue;
            }
            let arn = summary.certificate_arn().expect("an ARN").to_string();
            let detail = acm
                .describe_certificate()
                .certificate_arn(&arn)
                .send()
                .await
                .expect("the certificate is described");
            let status = detail
                .certificate()
                .and_then(|c| c.status())
                .map(|s| s.as_str().to_string())
                .unwrap_or_default();
            let tags = acm
                .list_tags_for_certificate()
                .certificate_arn(&arn)
                .send()
                .await
                .expect("tags are read");
            let tags = tags
                .tags()
                .iter()
                .map(|t| {
                    (
                        t.key().to_string(),
                        t.value().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            out.push(Cert { arn, status, tags });
        }
        out
    })
}

/// The stack's certificate (tagged with its address), and the others for the domain.
fn split(certs: Vec<Cert>) -> (Vec<Cert>, Vec<Cert>) {
    certs
        .into_iter()
        .partition(|c| c.tags.get("infra:address").map(String::as_str) == Some("certificate.web"))
}

/// The public zones named `domain`, by id.
fn zones(w: &World, domain: &str) -> Vec<String> {
    let route53 = aws_sdk_route53::Client::new(&w.config);
    let page =
        w.rt.block_on(route53.list_hosted_zones_by_name().dns_name(domain).send())
            .expect("zones are listed");
    page.hosted_zones()
        .iter()
        .filter(|z| z.name().trim_end_matches('.') == domain)
        .map(|z| z.id().trim_start_matches("/hostedzone/").to_string())
        .collect()
}

/// The CNAME records of a zone: name and value.
fn cnames(w: &World, zone: &str) -> Vec<(String, String)> {
    let route53 = aws_sdk_route53::Client::new(&w.config);
    let page =
        w.rt.block_on(
            route53
                .list_resource_record_sets()
                .hosted_zone_id(zone)
                .send(),
        )
        .expect("records are listed");
    page.resource_record_sets()
        .iter()
        .filter(|s| *s.r#type() == RrType::Cname)
        .map(|s| {
            (
                s.name().to_string(),
                s.resource_records()
                    .first()
                    .map(|r| r.value().to_string())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn a_certificate_the_stack_requests_is_validated_updated_repaired_and_destroyed_and_never_taken_from_others()
 {
    let w = World::new("cert");
    let domain = format!("{}.cert.example", w.stack);
    let acm = aws_sdk_acm::Client::new(&w.config);

    // A certificate for the same domain that someone requested by hand.
    let theirs =
        w.rt.block_on(
            acm.request_certificate()
                .domain_name(&domain)
                .validation_method(aws_sdk_acm::types::ValidationMethod::Dns)
                .send(),
        )
        .expect("a certificate is requested by hand")
        .certificate_arn()
        .expect("an ARN")
        .to_string();

    let v1 = stack(&w, &domain, "web", &[format!("*.{domain}")]);
    let apply = w.infra(&["apply", &v1, "--auto-approve"], &[]);
    expect(&apply, 0);
    assert!(apply.stdout.contains("2 created"), "{}", apply.stdout);

    let (ours, others) = split(certificates(&w, &domain));
    assert_eq!(ours.len(), 1, "{ours:?}");
    let cert = &ours[0];
    assert_eq!(cert.status, "ISSUED");
    assert_eq!(cert.tags.get("team").map(String::as_str), Some("web"));
    assert_eq!(
        cert.tags.get("infra:stack").map(String::as_str),
        Some(w.stack.as_str())
    );
    assert_eq!(others.len(), 1, "{others:?}");
    assert_eq!(others[0].arn, theirs);
    assert!(others[0].tags.is_empty(), "{:?}", others[0].tags);

    let zone = zones(&w, &domain);
    assert_eq!(zone.len(), 1, "{zone:?}");
    let zone = zone[0].clone();
    assert_eq!(
        cert.tags.get("infra:validation-zone"),
        Some(&zone),
        "the zone of the records is recorded"
    );
    // The domain and its wildcard are validated by one record.
    let records = cnames(&w, &zone);
    assert_eq!(records.len(), 1, "{records:?}");
    assert!(
        records[0].0.ends_with(&format!("{domain}.")) && records[0].0.starts_with('_'),
        "{records:?}"
    );
    assert!(records[0].1.contains("acm-validations.aws"), "{records:?}");

    let again = w.infra(&["plan", &v1, "--detailed-exitcode"], &[]);
    expect(&again, 0);
    let output = w.infra(&["output", &v1, "certificate"], &[]);
    expect(&output, 0);
    assert!(output.stdout.contains(&cert.arn), "{}", output.stdout);

    // Tags change in place: the same certificate.
    let v2 = stack(&w, &domain, "platform", &[format!("*.{domain}")]);
    let plan = w.infra(&["plan", &v2, "--detailed-exitcode"], &[]);
    expect(&plan, 2);
    insta::assert_snapshot!("certificate_tags", w.redact(&plan.stdout));
    expect(&w.infra(&["apply", &v2, "--auto-approve"], &[]), 0);
    let (now, _) = split(certificates(&w, &domain));
    assert_eq!(now.len(), 1);
    assert_eq!(now[0].arn, cert.arn, "updated in place");
    assert_eq!(
        now[0].tags.get("team").map(String::as_str),
        Some("platform")
    );
    expect(&w.infra(&["plan", &v2, "--detailed-exitcode"], &[]), 0);

    // Drift: someone changes a tag and adds one; apply puts them back.
    let tag = |k: &str, v: &str| {
        aws_sdk_acm::types::Tag::builder()
            .key(k)
            .value(v)
            .build()
            .expect("a tag")
    };
    w.rt.block_on(
        acm.add_tags_to_certificate()
            .certificate_arn(&cert.arn)
            .tags(tag("team", "edited by hand"))
            .tags(tag("extra", "x"))
            .send(),
    )
    .expect("tags are edited");
    let drift = w.infra(&["plan", &v2, "--detailed-exitcode"], &[]);
    expect(&drift, 2);
    assert!(drift.stdout.contains("edited by hand"), "{}", drift.stdout);
    expect(&w.infra(&["apply", &v2, "--auto-approve"], &[]), 0);
    let (now, _) = split(certificates(&w, &domain));
    assert_eq!(
        now[0].tags.get("team").map(String::as_str),
        Some("platform")
    );
    assert!(!now[0].tags.contains_key("extra"), "{:?}", now[0].tags);
    assert!(now[0].tags.contains_key("infra:validation-zone"));
    expect(&w.infra(&["plan", &v2, "--detailed-exitcode"], &[]), 0);

    // Destroy: the certificate, its validation record and the zone go; the hand-made
    // certificate stays as it was.
    expect(&w.infra(&["destroy", &v2, "--auto-approve"], &[]), 0);
    let (ours, others) = split(certificates(&w, &domain));
    assert!(ours.is_empty(), "{ours:?}");
    assert_eq!(others.len(), 1, "{others:?}");
    assert_eq!(others[0].arn, theirs);
    assert!(others[0].tags.is_empty(), "{:?}", others[0].tags);
    assert!(zones(&w, &domain).is_empty(), "the zone is gone");
}

#[test]
fn a_certificate_of_more_than_ten_names_is_refused_before_any_write() {
    let w = World::new("certmany");
    // A name of this test alone, and no volatile part in the line the diagnostic quotes.
    let domain = "certmany.example".to_string();
    let sans: Vec<String> = (1..=10).map(|i| format!("n{i}.{domain}")).collect();
    let path = stack(&w, &domain, "web", &sans);
    let plan = w.infra(&["plan", &path], &[]);
    assert_eq!(plan.code, Some(1), "{}{}", plan.stdout, plan.stderr);
    insta::assert_snapshot!("certificate_too_many_names", w.redact(&plan.stderr));
    let apply = w.infra(&["apply", &path, "--auto-approve"], &[]);
    assert_eq!(apply.code, Some(1), "{}{}", apply.stdout, apply.stderr);
    assert!(
        certificates(&w, &domain).is_empty(),
        "no certificate requested"
    );
    assert!(zones(&w, &domain).is_empty(), "no zone created");
}
