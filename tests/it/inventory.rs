//! What a stack owns in the emulator, read straight from moto (never through infra): every
//! resource carrying the stack's ownership tag or companion record, counted per address, so a
//! test can say "each declared resource exists exactly once, and nothing else is ours".

use std::collections::BTreeMap;

use aws_sdk_elasticloadbalancingv2::Client as Elbv2;

use super::moto::World;

/// `infra:address` → how many live resources carry it, for the stack `stack` in `region`.
/// Task definitions count once per family with an ACTIVE revision (revisions are history),
/// and ECS's INACTIVE leftovers and secrets in their recovery window do not count.
pub fn owned(w: &World, region: &str, stack: &str) -> BTreeMap<String, usize> {
    let config = w.config_in(region);
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut families: BTreeMap<String, String> = BTreeMap::new();
    let tagging = aws_sdk_resourcegroupstagging::Client::new(&config);
    let ecs = aws_sdk_ecs::Client::new(&config);
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    w.rt.block_on(async {
        let mut token: Option<String> = None;
        loop {
            let page = tagging
                .get_resources()
                .tag_filters(
                    aws_sdk_resourcegroupstagging::types::TagFilter::builder()
                        .key("infra:stack")
                        .values(stack)
                        .build(),
                )
                .set_pagination_token(token.clone())
                .send()
                .await
                .expect("tagged resources are listed");
            for mapping in page.resource_tag_mapping_list() {
                let arn = mapping.resource_arn().unwrap_or_default();
                let Some(address) = mapping
                    .tags()
                    .iter()
                    .find(|t| t.key() == "infra:address")
                    .map(|t| t.value().to_string())
                else {
                    continue;
                };
                if arn.contains(":task-definition/") {
                    // Deregistered revisions keep their tags: only ACTIVE ones count.
                    let active = ecs
                        .describe_task_definition()
                        .task_definition(arn)
                        .send()
                        .await
                        .ok()
                        .and_then(|d| d.task_definition().and_then(|t| t.status().cloned()))
                        == Some(aws_sdk_ecs::types::TaskDefinitionStatus::Active);
                    if !active {
                        continue;
                    }
                    let family = arn
                        .rsplit('/')
                        .next()
                        .and_then(|f| f.split(':').next())
                        .unwrap_or_default();
                    families.insert(family.to_string(), address);
                    continue;
                }
                if arn.contains(":listener/") || arn.contains(":listener-rule/") {
                    continue; // counted below, from the load balancers
                }
                if !live_ecs(&ecs, arn).await || !live_secret(&secrets, arn).await {
                    continue;
                }
                *counts.entry(address).or_default() += 1;
            }
            match page.pagination_token() {
                Some(next) if !next.is_empty() && Some(next) != token.as_deref() => {
                    token = Some(next.to_string());
                }
                _ => break,
            }
        }
        for address in families.into_values() {
            *counts.entry(address).or_default() += 1;
        }
        let elbv2 = Elbv2::new(&config);
        for (address, n) in listeners_and_rules(&elbv2, stack).await {
            *counts.entry(address).or_default() += n;
        }
    });
    for (address, n) in records(w, stack) {
        *counts.entry(address).or_default() += n;
    }
    for address in untagged_by_the_tagging_api(w, region, stack) {
        *counts.entry(address).or_default() += 1;
    }
    counts
}

/// The `infra:address` of a tag list that names `stack` as its owner.
fn address_of<'a>(
    tags: impl IntoIterator<Item = (&'a str, &'a str)>,
    stack: &str,
) -> Option<String> {
    let tags: BTreeMap<&str, &str> = tags.into_iter().collect();
    (tags.get("infra:stack") == Some(&stack))
        .then(|| tags.get("infra:address").map(|a| a.to_string()))
        .flatten()
}

/// What moto's Tagging API does not list (it does list SNS topics and EFS file systems): IAM
/// roles, ECR repositories and hosted zones, each read from its own service.
fn untagged_by_the_tagging_api(w: &World, region: &str, stack: &str) -> Vec<String> {
    let config = w.config_in(region);
    let iam = aws_sdk_iam::Client::new(&config);
    let ecr = aws_sdk_ecr::Client::new(&config);
    let route53 = aws_sdk_route53::Client::new(&config);
    let mut found = Vec::new();
    w.rt.block_on(async {
        let roles = iam
            .list_roles()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .expect("roles are listed");
        for role in &roles {
            let tags = iam
                .list_role_tags()
                .role_name(role.role_name())
                .send()
                .await
                .expect("a role's tags");
            found.extend(address_of(
                tags.tags().iter().map(|t| (t.key(), t.value())),
                stack,
            ));
        }
        let repositories = ecr
            .describe_repositories()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .expect("repositories are listed");
        for repository in &repositories {
            let tags = ecr
                .list_tags_for_resource()
                .resource_arn(repository.repository_arn().unwrap_or_default())
                .send()
                .await
                .expect("a repository's tags");
            found.extend(address_of(
                tags.tags().iter().map(|t| (t.key(), t.value())),
                stack,
            ));
        }
        let zones = route53
            .list_hosted_zones()
            .send()
            .await
            .expect("zones are listed");
        for zone in zones.hosted_zones() {
            let id = zone.id().trim_start_matches("/hostedzone/");
            let tags = route53
                .list_tags_for_resource()
                .resource_type(aws_sdk_route53::types::TagResourceType::Hostedzone)
                .resource_id(id)
                .send()
                .await
                .expect("a zone's tags");
            let set = tags.resource_tag_set();
            found.extend(address_of(
                set.map(|s| s.tags())
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|t| Some((t.key()?, t.value()?))),
                stack,
            ));
        }
    });
    found
}

/// Whether an ECS ARN names something still ACTIVE (moto keeps deleted ones describable).
async fn live_ecs(ecs: &aws_sdk_ecs::Client, arn: &str) -> bool {
    if arn.contains(":cluster/") {
        let Ok(out) = ecs.describe_clusters().clusters(arn).send().await else {
            return false;
        };
        out.clusters().iter().any(|c| c.status() == Some("ACTIVE"))
    } else if let Some(rest) = arn.split(":service/").nth(1) {
        let cluster = rest.split('/').next().unwrap_or_default();
        let Ok(out) = ecs
            .describe_services()
            .cluster(cluster)
            .services(arn)
            .send()
            .await
        else {
            return false;
        };
        out.services().iter().any(|s| s.status() == Some("ACTIVE"))
    } else {
        true
    }
}

/// Whether a Secrets Manager ARN names a secret that is not waiting to be deleted.
async fn live_secret(secrets: &aws_sdk_secretsmanager::Client, arn: &str) -> bool {
    if !arn.contains(":secretsmanager:") {
        return true;
    }
    secrets
        .describe_secret()
        .secret_id(arn)
        .send()
        .await
        .is_ok_and(|d| d.deleted_date().is_none())
}

/// Listeners and rules (the Tagging API does not list them): by their tags, per load balancer.
async fn listeners_and_rules(elbv2: &Elbv2, stack: &str) -> BTreeMap<String, usize> {
    let mut arns = Vec::new();
    let lbs = elbv2
        .describe_load_balancers()
        .send()
        .await
        .expect("load balancers are listed");
    for lb in lbs.load_balancers() {
        // Other tests share the emulator: a load balancer or listener deleted between two
        // calls is theirs, gone, and not counted.
        let Ok(listeners) = elbv2
            .describe_listeners()
            .load_balancer_arn(lb.load_balancer_arn().unwrap_or_default())
            .send()
            .await
        else {
            continue;
        };
        for listener in listeners.listeners() {
            let arn = listener.listener_arn().unwrap_or_default().to_string();
            let Ok(rules) = elbv2.describe_rules().listener_arn(&arn).send().await else {
                continue;
            };
            arns.push(arn);
            for rule in rules.rules() {
                if !rule.is_default().unwrap_or(false) {
                    arns.push(rule.rule_arn().unwrap_or_default().to_string());
                }
            }
        }
    }
    let mut counts = BTreeMap::new();
    let mut descriptions = Vec::new();
    for chunk in arns.chunks(20) {
        let asked = elbv2
            .describe_tags()
            .set_resource_arns(Some(chunk.to_vec()))
            .send()
            .await;
        match asked {
            Ok(tags) => descriptions.extend(tags.tag_descriptions().iter().cloned()),
            // One of them went since it was listed (another test's): ask one by one.
            Err(_) => {
                for arn in chunk {
                    if let Ok(tags) = elbv2.describe_tags().resource_arns(arn).send().await {
                        descriptions.extend(tags.tag_descriptions().iter().cloned());
                    }
                }
            }
        }
    }
    for description in &descriptions {
        let tag = |k: &str| {
            description
                .tags()
                .iter()
                .find(|t| t.key() == Some(k))
                .and_then(|t| t.value())
                .map(str::to_string)
        };
        if tag("infra:stack").as_deref() == Some(stack)
            && let Some(address) = tag("infra:address")
        {
            *counts.entry(address).or_default() += 1;
        }
    }
    counts
}

/// Records, by the companion TXT records that say who owns them, in the world's zone and in
/// any zone under it (a stack that creates its own zone gets `app.<domain>`).
fn records(w: &World, stack: &str) -> BTreeMap<String, usize> {
    let route53 = aws_sdk_route53::Client::new(&w.config);
    let suffix = format!("{}.", w.domain);
    let sets = w.rt.block_on(async {
        let zones = route53
            .list_hosted_zones()
            .send()
            .await
            .expect("zones are listed");
        let mut sets = Vec::new();
        for zone in zones.hosted_zones() {
            if !zone.name().ends_with(&suffix) {
                continue;
            }
            let out = route53
                .list_resource_record_sets()
                .hosted_zone_id(zone.id().trim_start_matches("/hostedzone/"))
                .max_items(1000)
                .send()
                .await
                .expect("the zone's records are listed");
            sets.extend(out.resource_record_sets().iter().cloned());
        }
        sets
    });
    let mut counts = BTreeMap::new();
    for set in &sets {
        if !set.name().starts_with("_infra-") {
            continue;
        }
        for record in set.resource_records() {
            let value = record.value().trim_matches('"');
            let field = |key: &str| {
                value
                    .split(',')
                    .find_map(|f| f.strip_prefix(key))
                    .map(str::to_string)
            };
            if field("infra:stack=").as_deref() == Some(stack)
                && let Some(address) = field("infra:address=")
            {
                *counts.entry(address).or_default() += 1;
            }
        }
    }
    counts
}

/// The addresses a stack declares: the creates of its plan against an empty account.
pub fn declared(plan_json: &str) -> Vec<String> {
    let plan: serde_json::Value = serde_json::from_str(plan_json).expect("the plan is JSON");
    let mut out: Vec<String> = plan["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["action"] == "create")
        .filter_map(|c| c["address"].as_str().map(str::to_string))
        .collect();
    out.sort();
    out
}

/// Asserts that every declared address exists exactly once and nothing else is owned.
pub fn assert_exactly_once(found: &BTreeMap<String, usize>, declared: &[String], when: &str) {
    let twice: Vec<_> = found.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "{when}: duplicated: {twice:?}");
    let missing: Vec<_> = declared
        .iter()
        .filter(|a| !found.contains_key(*a))
        .collect();
    assert!(missing.is_empty(), "{when}: missing: {missing:?}");
    let stray: Vec<_> = found.keys().filter(|a| !declared.contains(a)).collect();
    assert!(
        stray.is_empty(),
        "{when}: owned by the stack but not declared: {stray:?}"
    );
}
