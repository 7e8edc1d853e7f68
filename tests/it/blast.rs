//! Blast radius, generated: two stacks that share what real teams share (a hosted zone with
//! weighted records whose identifiers look alike, task-definition families and log-group and
//! alarm names from a shared pool, and, for some seeds, the same stack name in another
//! region), with look-alikes made by hand beside them, go through random sequences of apply,
//! destroy, `--target`, `--exclude`, renames, removals and `prevent-destroy` toggles. After
//! every step an inventory read straight from moto proves that nothing outside the acting
//! stack and its selection changed, that every protected resource still exists, and, after a
//! full apply that succeeded, that the next plan is empty.
//!
//! `INFRA_BLAST_SEEDS` and `INFRA_BLAST_STEPS` set the number of seeds and steps per seed
//! (CI: 5 × 10); `INFRA_SOAK=1` runs 20 × 100; `INFRA_BLAST_FIRST_SEED` picks the first seed.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

use super::moto::World;
use super::proxy::unit;

/// A stack of the test: its name and region.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Who {
    name: String,
    region: String,
}

/// One declared resource.
#[derive(Debug, Clone)]
struct Decl {
    kind: &'static str,
    /// Which name it takes: its own (`own-3`), or one of a pool both stacks draw from.
    base: String,
    /// A rename changes this: the natural key changes, the address stays.
    suffix: u32,
    /// Something that changes in place (retention, threshold, image, value).
    variant: u32,
    protect: bool,
}

/// A random number generator from the seed (splitmix over the proxy's hash).
struct Dice {
    seed: u64,
    n: u64,
}

impl Dice {
    fn roll(&mut self) -> f64 {
        self.n += 1;
        unit(self.seed, "blast", self.n)
    }

    fn below(&mut self, n: usize) -> usize {
        ((self.roll() * n as f64) as usize).min(n.saturating_sub(1))
    }
}

const KINDS: [&str; 5] = [
    "log-group",
    "secret",
    "alarm",
    "weighted",
    "task-definition",
];
/// Set identifiers that a lossy transform would merge.
const SET_IDS: [&str; 4] = ["Blue_1", "blue-1", "BLUE 1", "blue_1"];
const R1: &str = "us-east-1";
const R2: &str = "eu-west-1";

fn soak() -> bool {
    std::env::var("INFRA_SOAK").is_ok_and(|v| v == "1")
}

fn setting(name: &str, ci: u64, soaked: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if soak() { soaked } else { ci })
}

/// The AWS name a declaration takes in stack `who`.
fn aws_name(who: &Who, d: &Decl) -> String {
    let owner = if d.base.starts_with("pool") {
        "shared".to_string()
    } else {
        who.name.clone()
    };
    match d.kind {
        "log-group" => format!("/blast/{owner}/{}-{}", d.base, d.suffix),
        "secret" => format!("blast/{owner}/{}-{}", d.base, d.suffix),
        "alarm" => format!("blast-{owner}-{}-{}", d.base, d.suffix),
        "task-definition" => format!("blast-{owner}-{}-{}", d.base, d.suffix),
        _ => SET_IDS[(d.suffix as usize) % SET_IDS.len()].to_string(),
    }
}

/// The stack file of `who` declaring `decls`.
fn stack_text(who: &Who, decls: &BTreeMap<String, Decl>) -> String {
    let mut t = format!(
        "stack \"{}\" region=\"{}\"\n\nvariable \"domain\" type=\"string\"\n\nlookup \"hosted-zone\" \"main\" name=(var)\"domain\"\n",
        who.name, who.region
    );
    for (address, d) in decls {
        let name = aws_name(who, d);
        let v = d.variant;
        let body = match d.kind {
            "log-group" => format!(
                "    name \"{name}\"\n    retention-days {}\n",
                [7, 14, 30][v as usize % 3]
            ),
            "secret" => format!(
                "    name \"{name}\"\n    description \"variant {v}\"\n    value {{\n        generate length=16\n    }}\n"
            ),
            "alarm" => format!(
                "    name \"{name}\"\n    namespace \"AWS/ECS\"\n    metric \"CPUUtilization\"\n    statistic \"Average\"\n    period 60\n    evaluation-periods 1\n    threshold {}\n    comparison \"GreaterThanThreshold\"\n",
                50 + v
            ),
            "task-definition" => format!(
                "    family \"{name}\"\n    cpu 256\n    memory 512\n    container \"app\" {{\n        image \"nginx:1.{v}\"\n    }}\n"
            ),
            _ => format!(
                "    zone (ref)\"lookup.hosted-zone.main\"\n    name \"api.${{var.domain}}\"\n    type \"A\"\n    set-identifier \"{name}\"\n    weight 10\n    ttl 60\n    values \"192.0.2.{}\"\n",
                1 + v % 200
            ),
        };
        let kind = if d.kind == "weighted" {
            "record"
        } else {
            d.kind
        };
        let name = address.split_once('.').map_or(address.as_str(), |(_, n)| n);
        t.push_str(&format!("\n{kind} \"{name}\" {{\n{body}"));
        if d.protect {
            t.push_str("    lifecycle {\n        prevent-destroy #true\n    }\n");
        }
        t.push_str("}\n");
    }
    t
}

/// Who owns a live thing, by its tags or claim: (stack, region, address).
type Owner = Option<(String, String, String)>;

/// One thing in the emulator: its owner, whether it is protected, and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Item {
    owner: Owner,
    protected: bool,
    print: String,
}

/// Everything of the kinds the test uses, in both regions and the world's zone.
fn inventory(w: &World) -> BTreeMap<String, Item> {
    let mut out = BTreeMap::new();
    for region in [R1, R2] {
        regional(w, region, &mut out);
    }
    records(w, &mut out);
    out
}

fn owner_of(tags: &BTreeMap<String, String>, region: &str) -> Owner {
    Some((
        tags.get("infra:stack")?.clone(),
        region.to_string(),
        tags.get("infra:address").cloned().unwrap_or_default(),
    ))
}

fn item(tags: BTreeMap<String, String>, region: &str, print: String) -> Item {
    Item {
        owner: owner_of(&tags, region),
        protected: tags.get("infra:prevent-destroy").map(String::as_str) == Some("true"),
        print: format!("{print} {tags:?}"),
    }
}

fn regional(w: &World, region: &str, out: &mut BTreeMap<String, Item>) {
    let config = w.config_in(region);
    let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let alarms = aws_sdk_cloudwatch::Client::new(&config);
    let ecs = aws_sdk_ecs::Client::new(&config);
    w.rt.block_on(async {
        let groups = logs
            .describe_log_groups()
            .log_group_name_prefix("/blast/")
            .send()
            .await
            .expect("log groups are listed");
        for g in groups.log_groups() {
            let name = g.log_group_name().unwrap_or_default();
            #[allow(deprecated)]
            let tags = logs
                .list_tags_log_group()
                .log_group_name(name)
                .send()
                .await
                .expect("log group tags")
                .tags()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .collect();
            let print = format!("retention {:?}", g.retention_in_days());
            out.insert(
                format!("log-group|{region}|{name}"),
                item(tags, region, print),
            );
        }
        let listed = secrets
            .list_secrets()
            .include_planned_deletion(true)
            .max_results(100)
            .send()
            .await
            .expect("secrets are listed");
        for s in listed.secret_list() {
            let name = s.name().unwrap_or_default();
            if !name.starts_with("blast/") {
                continue;
            }
            let tags = s
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                .collect();
            let print = format!(
                "{:?} deleted {}",
                s.description(),
                s.deleted_date().is_some()
            );
            let mut it = item(tags, region, print);
            // A secret scheduled for deletion is gone as far as protection goes.
            if s.deleted_date().is_some() {
                it.protected = false;
            }
            out.insert(format!("secret|{region}|{name}"), it);
        }
        let described = alarms
            .describe_alarms()
            .alarm_name_prefix("blast-")
            .send()
            .await
            .expect("alarms are described");
        for a in described.metric_alarms() {
            let name = a.alarm_name().unwrap_or_default();
            let tags = alarms
                .list_tags_for_resource()
                .resource_arn(a.alarm_arn().unwrap_or_default())
                .send()
                .await
                .expect("alarm tags")
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                .collect();
            let print = format!("threshold {:?}", a.threshold());
            out.insert(format!("alarm|{region}|{name}"), item(tags, region, print));
        }
        let listed = ecs
            .list_task_definitions()
            .send()
            .await
            .expect("task definitions are listed");
        for arn in listed.task_definition_arns() {
            if !arn.contains("task-definition/blast-") {
                continue;
            }
            let d = ecs
                .describe_task_definition()
                .task_definition(arn)
                .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
                .send()
                .await
                .expect("a task definition");
            let tags = d
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                .collect();
            let status = d.task_definition().and_then(|t| t.status().cloned());
            let mut it = item(tags, region, format!("{status:?}"));
            if status != Some(aws_sdk_ecs::types::TaskDefinitionStatus::Active) {
                it.protected = false;
            }
            out.insert(format!("task-definition|{region}|{arn}"), it);
        }
    });
}

/// The claim name infra uses for a record set (the scheme `docs/reliability.md` states).
fn claim_name(name: &str, kind: &str, id: Option<&str>) -> String {
    let mut label = format!("_infra-{}", kind.to_ascii_lowercase());
    if let Some(id) = id {
        let hash: String = Sha256::digest(id.as_bytes())
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        label = format!("{label}-{hash}");
    }
    format!("{label}.{name}")
}

fn records(w: &World, out: &mut BTreeMap<String, Item>) {
    let route53 = aws_sdk_route53::Client::new(&w.config);
    let sets =
        w.rt.block_on(
            route53
                .list_resource_record_sets()
                .hosted_zone_id(&w.zone_id)
                .max_items(300)
                .send(),
        )
        .expect("the zone is listed");
    let name = |s: &aws_sdk_route53::types::ResourceRecordSet| {
        s.name().trim_end_matches('.').to_ascii_lowercase()
    };
    let values = |s: &aws_sdk_route53::types::ResourceRecordSet| -> Vec<String> {
        s.resource_records()
            .iter()
            .map(|r| r.value().to_string())
            .collect()
    };
    let claims: BTreeMap<String, String> = sets
        .resource_record_sets()
        .iter()
        .filter(|s| name(s).starts_with("_infra-"))
        .map(|s| {
            (
                name(s),
                values(s).concat().replace("\" \"", "").replace('"', ""),
            )
        })
        .collect();
    let parse = |text: &str| -> (Owner, bool) {
        let field = |k: &str| {
            text.split(',')
                .find_map(|f| f.strip_prefix(k))
                .map(str::to_string)
        };
        let owner = match (field("infra:stack="), field("infra:region=")) {
            (Some(stack), Some(region)) => {
                Some((stack, region, field("infra:address=").unwrap_or_default()))
            }
            _ => None,
        };
        (
            owner,
            field("infra:prevent-destroy=").as_deref() == Some("true"),
        )
    };
    for s in sets.resource_record_sets() {
        let n = name(s);
        let kind = s.r#type().as_str();
        if matches!(kind, "NS" | "SOA") {
            continue;
        }
        let (owner, protected) = if n.starts_with("_infra-") {
            parse(claims.get(&n).map_or("", String::as_str))
        } else {
            let claim = claim_name(&n, kind, s.set_identifier());
            claims.get(&claim).map_or((None, false), |c| parse(c))
        };
        out.insert(
            format!(
                "record|{n}|{kind}|{}",
                s.set_identifier().unwrap_or_default()
            ),
            Item {
                owner,
                protected,
                print: format!("{:?} {:?}", s.ttl(), values(s)),
            },
        );
    }
}

/// What a step asked of which stack.
#[derive(Debug, Clone)]
enum Command {
    Apply,
    ApplyTarget(String),
    ApplyExclude(String),
    Destroy,
    DestroyTarget(String),
    Plan,
}

impl Command {
    fn args(&self, path: &str) -> Vec<String> {
        let mut out: Vec<String> = match self {
            Command::Plan => vec!["plan".into(), path.into()],
            Command::Destroy | Command::DestroyTarget(_) => {
                vec!["destroy".into(), path.into(), "--auto-approve".into()]
            }
            _ => vec!["apply".into(), path.into(), "--auto-approve".into()],
        };
        match self {
            Command::ApplyTarget(a) | Command::DestroyTarget(a) => {
                out.extend(["--target".into(), a.clone()]);
            }
            Command::ApplyExclude(a) => out.extend(["--exclude".into(), a.clone()]),
            _ => {}
        }
        out
    }

    /// Whether `address` of the acting stack may change in this step.
    fn allows(&self, address: &str) -> bool {
        match self {
            Command::Plan => false,
            Command::Apply | Command::Destroy => true,
            Command::ApplyTarget(a) | Command::DestroyTarget(a) => a == address,
            Command::ApplyExclude(a) => a != address,
        }
    }
}

/// Random edits of a stack's declarations.
fn mutate(dice: &mut Dice, decls: &mut BTreeMap<String, Decl>, next: &mut u32) {
    match dice.below(6) {
        0 | 1 if decls.len() < 8 => {
            let kind = KINDS[dice.below(KINDS.len())];
            *next += 1;
            let base = if dice.roll() < 0.25 {
                format!("pool{}", dice.below(3))
            } else {
                format!("own{next}")
            };
            let prefix = if kind == "weighted" { "record" } else { kind };
            decls.insert(
                format!("{prefix}.r{next}"),
                Decl {
                    kind,
                    base,
                    suffix: dice.below(4) as u32,
                    variant: dice.below(3) as u32,
                    protect: dice.roll() < 0.1,
                },
            );
        }
        2 if !decls.is_empty() => {
            let key = decls.keys().nth(dice.below(decls.len())).cloned();
            if let Some(key) = key {
                decls.remove(&key);
            }
        }
        3 if !decls.is_empty() => {
            let i = dice.below(decls.len());
            if let Some(d) = decls.values_mut().nth(i) {
                d.suffix += 1;
            }
        }
        4 if !decls.is_empty() => {
            let i = dice.below(decls.len());
            if let Some(d) = decls.values_mut().nth(i) {
                d.protect = !d.protect;
            }
        }
        _ if !decls.is_empty() => {
            let i = dice.below(decls.len());
            if let Some(d) = decls.values_mut().nth(i) {
                d.variant += 1;
            }
        }
        _ => {}
    }
}

fn command(dice: &mut Dice, decls: &BTreeMap<String, Decl>) -> Command {
    let some = |dice: &mut Dice| {
        decls
            .keys()
            .nth(dice.below(decls.len().max(1)))
            .cloned()
            .unwrap_or_else(|| "log-group.none".into())
    };
    match dice.below(20) {
        0..=9 => Command::Apply,
        10 | 11 => Command::ApplyTarget(some(dice)),
        12 | 13 => Command::ApplyExclude(some(dice)),
        14 => Command::Destroy,
        15..=17 => Command::DestroyTarget(some(dice)),
        _ => Command::Plan,
    }
}

/// Look-alikes made by hand: records whose identifiers look like the stacks', log groups and
/// alarms with pool names, a task definition family from the pool. None may ever change.
fn lookalikes(w: &World, dice: &mut Dice) {
    let route53 = aws_sdk_route53::Client::new(&w.config);
    let logs = aws_sdk_cloudwatchlogs::Client::new(&w.config_in(R1));
    let id = SET_IDS[dice.below(SET_IDS.len())];
    w.rt.block_on(async {
        use aws_sdk_route53::types::{
            Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
        };
        let set = ResourceRecordSet::builder()
            .name(format!("api.{}", w.domain))
            .r#type(RrType::A)
            .ttl(60)
            .set_identifier(format!("{id}x"))
            .weight(5)
            .resource_records(
                ResourceRecord::builder()
                    .value("198.51.100.9")
                    .build()
                    .expect("a value"),
            )
            .build()
            .expect("a record set");
        route53
            .change_resource_record_sets()
            .hosted_zone_id(&w.zone_id)
            .change_batch(
                ChangeBatch::builder()
                    .changes(
                        Change::builder()
                            .action(ChangeAction::Create)
                            .resource_record_set(set)
                            .build()
                            .expect("a change"),
                    )
                    .build()
                    .expect("a batch"),
            )
            .send()
            .await
            .expect("a hand-made record");
        logs.create_log_group()
            .log_group_name(format!("/blast/shared/pool{}-9", dice.below(3)))
            .send()
            .await
            .expect("a hand-made log group");
    });
}

/// Every change between two inventories that the step was not allowed to make. A resource
/// of the acting stack whose address is no longer declared may move to an address the step
/// may change (the same natural key declared under a new address).
fn trespasses(
    before: &BTreeMap<String, Item>,
    after: &BTreeMap<String, Item>,
    who: &Who,
    step: &Command,
    declared: &BTreeSet<String>,
) -> Vec<String> {
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let mut out = Vec::new();
    for key in keys {
        let (b, a) = (before.get(key), after.get(key));
        if b == a {
            continue;
        }
        let ours = |o: &(String, String, String)| o.0 == who.name && o.1 == who.region;
        let was = b.and_then(|i| i.owner.as_ref());
        let now = a.and_then(|i| i.owner.as_ref());
        let allowed = [b, a].iter().flatten().all(|i| i.owner.is_some())
            && (was.is_some() || now.is_some())
            && was.is_none_or(|o| {
                ours(o)
                    && (step.allows(&o.2)
                        || (!declared.contains(&o.2) && now.is_some_and(|n| step.allows(&n.2))))
            })
            && now.is_none_or(|o| ours(o) && step.allows(&o.2));
        if !allowed {
            out.push(format!("{key}: {b:?} → {a:?}"));
        }
    }
    for (key, item) in before {
        if item.protected && !after.contains_key(key) {
            out.push(format!("{key}: protected, and gone"));
        }
        if item.protected
            && let Some(now) = after.get(key)
            && now.print.contains("deleted true")
        {
            out.push(format!("{key}: protected, and scheduled for deletion"));
        }
    }
    out
}

#[test]
fn nothing_outside_the_stack_and_its_selection_ever_changes() {
    let seeds = setting("INFRA_BLAST_SEEDS", 5, 20);
    let steps = setting("INFRA_BLAST_STEPS", 10, 100);
    let first = setting("INFRA_BLAST_FIRST_SEED", 1, 1);
    let mut w = World::isolated("blast");
    let server = w.url.clone();
    let (mut total, mut refused, mut converged) = (0, 0, 0);
    for seed in first..first + seeds {
        w.reset(&server);
        let mut dice = Dice { seed, n: 0 };
        let a = Who {
            name: format!("blast-a-{seed}"),
            region: R1.into(),
        };
        // Some seeds: the same stack name in another region.
        let b = if seed % 2 == 0 {
            Who {
                name: a.name.clone(),
                region: R2.into(),
            }
        } else {
            Who {
                name: format!("blast-b-{seed}"),
                region: R1.into(),
            }
        };
        lookalikes(&w, &mut dice);
        let mut decls = [BTreeMap::new(), BTreeMap::new()];
        let mut next = 0;
        for _ in 0..steps {
            let side = dice.below(2);
            let who = if side == 0 { &a } else { &b };
            if dice.roll() < 0.7 {
                mutate(&mut dice, &mut decls[side], &mut next);
            }
            let step = command(&mut dice, &decls[side]);
            let path = w.dir.join(format!("{}-{}.kdl", who.name, who.region));
            let text = stack_text(who, &decls[side]);
            std::fs::write(&path, &text).expect("the stack file is written");
            let path = path.to_string_lossy().into_owned();
            let before = inventory(&w);
            let args = step.args(&path);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = w.infra(&args, &[]);
            let after = inventory(&w);
            total += 1;
            let context = || {
                format!(
                    "seed {seed}, step {total}: {} {step:?} (exit {:?})\n{text}\n--- stdout\n{}\n--- stderr\n{}",
                    who.name, out.code, out.stdout, out.stderr
                )
            };
            assert!(
                matches!(out.code, Some(0 | 1)),
                "infra crashed: {}",
                context()
            );
            let declared: BTreeSet<String> = decls[side].keys().cloned().collect();
            let bad = trespasses(&before, &after, who, &step, &declared);
            assert!(bad.is_empty(), "{}\n\n{}", bad.join("\n"), context());
            if out.code == Some(1) {
                refused += 1;
            }
            // A full apply that succeeded converged: the next plan is empty.
            if matches!(step, Command::Apply) && out.code == Some(0) {
                let plan = w.infra(&["plan", &path, "--detailed-exitcode"], &[]);
                assert_eq!(
                    plan.code,
                    Some(0),
                    "{}\n--- next plan\n{}{}",
                    context(),
                    plan.stdout,
                    plan.stderr
                );
                converged += 1;
            }
        }
    }
    super::faults::figures(
        "blast",
        &format!(
            "{total} steps over {seeds} seeds from seed {first}: {refused} refused (conflicts, \
             protections), {converged} full applies each followed by an empty plan; nothing \
             outside the acting stack and its selection changed"
        ),
    );
}
