//! A hosted zone the stack creates, against moto: made from nothing with a record in it, an
//! empty re-plan, its comment and tags updated and repaired after drift, a public zone of the
//! same name that is not the stack's refused and left alone, destroy refused while the zone
//! holds a record the stack does not manage, and everything gone after destroy.

use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};

use super::harness::expect;
use super::moto::World;

/// A zone of its own domain (not the world's) and one record in it.
fn stack(w: &World, domain: &str, comment: &str, team: &str) -> String {
    let text = format!(
        r#"stack "{stack}" region="us-east-1"

variable "domain" type="string" allow="the test harness sets it on every run"

hosted-zone "main" {{
    name "{domain}"
    comment "{comment}"
    tags {{
        team "{team}"
    }}
}}

record "www" {{
    zone (ref)"hosted-zone.main"
    name "www.{domain}"
    type "A"
    values "192.0.2.10"
}}

output "name-servers" (ref)"hosted-zone.main.name-servers"
"#,
        stack = w.stack,
    );
    let path = w.dir.join("zone.kdl");
    std::fs::write(&path, text).expect("the stack is written");
    path.to_string_lossy().into_owned()
}

/// A zone as the test reads it: id, comment, tags.
type Zone = (String, String, Vec<(String, String)>);

/// Public zones named `domain`.
fn zones(w: &World, domain: &str) -> Vec<Zone> {
    let route53 = aws_sdk_route53::Client::new(&w.config);
    w.rt.block_on(async {
        let page = route53
            .list_hosted_zones_by_name()
            .dns_name(domain)
            .send()
            .await
            .expect("zones are listed");
        let mut out = Vec::new();
        for zone in page.hosted_zones() {
            if zone.name().trim_end_matches('.') != domain {
                continue;
            }
            let id = zone.id().trim_start_matches("/hostedzone/").to_string();
            let tags = route53
                .list_tags_for_resource()
                .resource_type(aws_sdk_route53::types::TagResourceType::Hostedzone)
                .resource_id(&id)
                .send()
                .await
                .expect("tags are read");
            let mut tags: Vec<(String, String)> = tags
                .resource_tag_set()
                .map(|s| {
                    s.tags()
                        .iter()
                        .map(|t| {
                            (
                                t.key().unwrap_or_default().to_string(),
                                t.value().unwrap_or_default().to_string(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            tags.sort();
            let comment = zone
                .config()
                .and_then(|c| c.comment())
                .unwrap_or_default()
                .to_string();
            out.push((id, comment, tags));
        }
        out
    })
}

fn upsert_txt(w: &World, zone: &str, name: &str) {
    let route53 = aws_sdk_route53::Client::new(&w.config);
    let set = ResourceRecordSet::builder()
        .name(name)
        .r#type(RrType::Txt)
        .ttl(60)
        .resource_records(
            ResourceRecord::builder()
                .value("\"someone else's\"")
                .build()
                .expect("a record"),
        )
        .build()
        .expect("a record set");
    let change = Change::builder()
        .action(ChangeAction::Upsert)
        .resource_record_set(set)
        .build()
        .expect("a change");
    w.rt.block_on(
        route53
            .change_resource_record_sets()
            .hosted_zone_id(zone)
            .change_batch(
                ChangeBatch::builder()
                    .changes(change)
                    .build()
                    .expect("a batch"),
            )
            .send(),
    )
    .expect("the record is written");
}

#[test]
fn a_zone_the_stack_creates_is_updated_repaired_and_destroyed_and_never_taken_from_others() {
    let w = World::new("zone");
    let domain = format!("{}.zone.example", w.stack);
    let v1 = stack(&w, &domain, "made by infra", "web");

    let apply = w.infra(&["apply", &v1, "--auto-approve"], &[]);
    expect(&apply, 0);
    assert!(apply.stdout.contains("2 created"), "{}", apply.stdout);
    let made = zones(&w, &domain);
    assert_eq!(made.len(), 1, "{made:?}");
    let (id, comment, tags) = &made[0];
    assert_eq!(comment, "made by infra");
    assert!(
        tags.contains(&("infra:address".into(), "hosted-zone.main".into())),
        "{tags:?}"
    );
    assert!(tags.contains(&("team".into(), "web".into())), "{tags:?}");
    let again = w.infra(&["plan", &v1, "--detailed-exitcode"], &[]);
    expect(&again, 0);
    let output = w.infra(&["output", &v1, "name-servers"], &[]);
    expect(&output, 0);
    assert!(output.stdout.contains("awsdns"), "{}", output.stdout);

    // Comment and tags change in place: the same zone, no replacement.
    let v2 = stack(&w, &domain, "owned by the web team", "platform");
    let plan = w.infra(&["plan", &v2, "--detailed-exitcode"], &[]);
    expect(&plan, 2);
    insta::assert_snapshot!(
        "hosted_zone_comment_and_tags",
        w.redact(&plan.stdout).replace(id.as_str(), "ZONE")
    );
    expect(&w.infra(&["apply", &v2, "--auto-approve"], &[]), 0);
    let now = zones(&w, &domain);
    assert_eq!(now.len(), 1);
    assert_eq!(&now[0].0, id, "updated in place");
    assert_eq!(now[0].1, "owned by the web team");
    expect(&w.infra(&["plan", &v2, "--detailed-exitcode"], &[]), 0);

    // Drift: someone edits the comment; the plan shows it and apply puts it back.
    let route53 = aws_sdk_route53::Client::new(&w.config);
    w.rt.block_on(
        route53
            .update_hosted_zone_comment()
            .id(id)
            .comment("edited by hand")
            .send(),
    )
    .expect("the comment is edited");
    let drift = w.infra(&["plan", &v2, "--detailed-exitcode"], &[]);
    expect(&drift, 2);
    assert!(drift.stdout.contains("edited by hand"), "{}", drift.stdout);
    expect(&w.infra(&["apply", &v2, "--auto-approve"], &[]), 0);
    assert_eq!(zones(&w, &domain)[0].1, "owned by the web team");

    // A record someone else wrote in the zone: destroy deletes the stack's record and
    // refuses to delete the zone, naming why.
    upsert_txt(&w, id, &format!("hand.{domain}"));
    let refused = w.infra(&["destroy", &v2, "--auto-approve"], &[]);
    assert_ne!(refused.code, Some(0), "{}", refused.stdout);
    let said = format!("{}{}", refused.stdout, refused.stderr);
    assert!(
        said.contains("does not manage"),
        "the refusal says why: {said}"
    );
    assert_eq!(zones(&w, &domain).len(), 1, "the zone is kept");

    // Once that record is gone, destroy finishes.
    let set = ResourceRecordSet::builder()
        .name(format!("hand.{domain}"))
        .r#type(RrType::Txt)
        .ttl(60)
        .resource_records(
            ResourceRecord::builder()
                .value("\"someone else's\"")
                .build()
                .expect("a record"),
        )
        .build()
        .expect("a record set");
    let delete = Change::builder()
        .action(ChangeAction::Delete)
        .resource_record_set(set)
        .build()
        .expect("a change");
    w.rt.block_on(
        route53
            .change_resource_record_sets()
            .hosted_zone_id(id)
            .change_batch(
                ChangeBatch::builder()
                    .changes(delete)
                    .build()
                    .expect("a batch"),
            )
            .send(),
    )
    .expect("the hand-made record is deleted");
    expect(&w.infra(&["destroy", &v2, "--auto-approve"], &[]), 0);
    assert!(zones(&w, &domain).is_empty(), "the zone is gone");
}

#[test]
fn a_public_zone_of_the_same_name_that_is_not_the_stacks_is_a_plan_error_and_survives() {
    let w = World::new("zonelike");
    let domain = format!("{}.zone.example", w.stack);
    let route53 = aws_sdk_route53::Client::new(&w.config);
    let theirs =
        w.rt.block_on(
            route53
                .create_hosted_zone()
                .name(&domain)
                .caller_reference(format!("by-hand-{}", w.stack))
                .send(),
        )
        .expect("a zone is made by hand");
    let theirs = theirs
        .hosted_zone()
        .map(|z| z.id().trim_start_matches("/hostedzone/").to_string())
        .expect("an id");
    // Another zone of the stack's kind and a similar name is none of its business either.
    let similar = format!("www.{domain}");
    w.rt.block_on(
        route53
            .create_hosted_zone()
            .name(&similar)
            .caller_reference(format!("similar-{}", w.stack))
            .send(),
    )
    .expect("a similar zone is made by hand");

    let path = stack(&w, &domain, "made by infra", "web");
    let plan = w.infra(&["plan", &path], &[]);
    assert_eq!(plan.code, Some(1), "{}{}", plan.stdout, plan.stderr);
    insta::assert_snapshot!(
        "hosted_zone_not_ours",
        w.redact(&plan.stderr).replace(&theirs, "ZONE")
    );
    let apply = w.infra(&["apply", &path, "--auto-approve"], &[]);
    assert_eq!(apply.code, Some(1), "{}{}", apply.stdout, apply.stderr);
    let destroy = w.infra(&["destroy", &path, "--auto-approve"], &[]);
    expect(&destroy, 0);
    let left = zones(&w, &domain);
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].0, theirs, "the hand-made zone is untouched");
    assert!(left[0].2.is_empty(), "and untagged: {:?}", left[0].2);
    assert_eq!(zones(&w, &similar).len(), 1, "the similar zone survives");
}

#[test]
fn two_public_zones_of_the_stacks_name_that_no_stack_owns_are_never_adopted_by_guess() {
    let w = World::new("zonetwins");
    let domain = format!("{}.zone.example", w.stack);
    let route53 = aws_sdk_route53::Client::new(&w.config);
    let mut made = Vec::new();
    for which in ["one", "two"] {
        let zone =
            w.rt.block_on(
                route53
                    .create_hosted_zone()
                    .name(&domain)
                    .caller_reference(format!("{which}-{}", w.stack))
                    .send(),
            )
            .expect("a zone is made by hand");
        made.push(
            zone.hosted_zone()
                .map(|z| z.id().trim_start_matches("/hostedzone/").to_string())
                .expect("an id"),
        );
    }

    let path = stack(&w, &domain, "made by infra", "web");
    let plan = ["plan", &path, "--adopt", "hosted-zone.main"];
    let apply = [
        "apply",
        &path,
        "--adopt",
        "hosted-zone.main",
        "--auto-approve",
    ];
    for args in [&plan[..], &apply[..]] {
        let out = w.infra(args, &[]);
        assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
        assert!(
            out.stderr.contains("infra::adopt-ambiguous"),
            "{}",
            out.stderr
        );
        for id in &made {
            assert!(out.stderr.contains(id.as_str()), "{id}: {}", out.stderr);
        }
    }
    let mut scrubbed = w
        .infra(&["plan", &path, "--adopt", "hosted-zone.main"], &[])
        .stderr;
    for (i, id) in made.iter().enumerate() {
        scrubbed = scrubbed.replace(id.as_str(), &format!("ZONE{i}"));
    }
    // Route53 lists zones of one name in an order of its own: the ids are told apart only by
    // the placeholder, not by their place.
    let scrubbed = scrubbed.replace("ZONE1, ZONE0", "ZONE0, ZONE1");
    insta::assert_snapshot!("hosted_zone_adopt_ambiguous", w.redact(&scrubbed));

    let left = zones(&w, &domain);
    assert_eq!(left.len(), 2, "{left:?}");
    for zone in &left {
        assert!(made.contains(&zone.0), "{left:?}");
        assert!(zone.2.is_empty(), "untagged: {left:?}");
        assert_eq!(zone.1, "", "its comment untouched: {left:?}");
    }
}
