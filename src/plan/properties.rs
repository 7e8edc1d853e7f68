//! Property tests of the diff, over random attributes of every managed kind, compared through
//! the real AWS providers' normalisation: a value diffed with itself is no change, and once a
//! diff's after-values are applied to the live side there is nothing left to change.
//! Deterministic: a seeded generator, many cases per kind.

use std::collections::BTreeMap;

use crate::model::schema::{BlockSchema, Type};
use crate::model::{Kind, Value};
use crate::plan::diff::attr_changes;
use crate::providers::Providers;

/// splitmix64: small, seeded, good enough to pick shapes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// Strings that exercise normalisation: case, trailing dots, JSON key order, ARNs, blanks.
const STRINGS: &[&str] = &[
    "api",
    "API",
    "api.example.com",
    "api.example.com.",
    "{\"b\":1,\"a\":[2,3]}",
    "{\"a\":[2,3],\"b\":1}",
    "arn:aws:ecs:us-east-1:123456789012:cluster/main",
    "FARGATE",
    "HTTP",
    "/health",
    "",
    "10.0.0.1",
];
const KEYS: &[&str] = &["env", "team", "Name", "PORT", "a", "b"];

fn value(ty: &Type, rng: &mut Rng, depth: u32) -> Value {
    match ty {
        Type::String => Value::String(rng.pick(STRINGS).to_string()),
        Type::Int => Value::Int(*rng.pick(&[0, 1, 2, 7, 30, 60, 300, 443, 512, 1024, 8080])),
        Type::Number => match rng.below(2) {
            0 => Value::Float(*rng.pick(&[0.5, 2.5, 80.0])),
            _ => Value::Int(*rng.pick(&[1, 10, 80])),
        },
        Type::Bool => Value::Bool(rng.below(2) == 0),
        Type::List(item) => Value::List(
            (0..rng.below(4))
                .map(|_| value(item, rng, depth + 1))
                .collect(),
        ),
        Type::Map(item) => Value::Map(
            (0..rng.below(4))
                .map(|_| (rng.pick(KEYS).to_string(), value(item, rng, depth + 1)))
                .collect(),
        ),
        Type::Block(block) => Value::Map(block_value(block, rng, depth + 1, None)),
        Type::Blocks(block) => {
            let labels = ["web", "worker", "sidecar"];
            Value::List(
                (0..rng.below(3))
                    .map(|i| {
                        Value::Map(block_value(block, rng, depth + 1, Some(labels[i as usize])))
                    })
                    .collect(),
            )
        }
    }
}

fn block_value(
    block: &BlockSchema,
    rng: &mut Rng,
    depth: u32,
    label: Option<&str>,
) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for attr in block.attrs {
        if let Some(default) = attr.default {
            out.insert(attr.name.to_string(), default.to_value());
        }
        // Deep nesting adds nothing but time.
        if depth < 3 && rng.below(3) > 0 {
            out.insert(attr.name.to_string(), value(&attr.ty, rng, depth));
        }
    }
    if let (Some(name), Some(label)) = (block.label, label) {
        out.insert(name.to_string(), Value::String(label.to_string()));
    }
    out
}

/// The real providers, with clients that are never called.
fn providers() -> Providers {
    let clients = crate::providers::aws::Clients::offline();
    let connection = crate::providers::aws::Connection {
        region: "us-east-1".into(),
        endpoint_url: None,
        max_rate: 10.0,
        attempt_timeout: crate::providers::aws::DEFAULT_ATTEMPT_TIMEOUT,
        stack: "props".into(),
        base_dir: std::path::PathBuf::new(),
    };
    crate::providers::aws::providers(&clients, &connection)
}

const CASES: u64 = 400;

#[test]
fn a_value_diffed_with_itself_is_no_change() {
    let providers = providers();
    let mut rng = Rng(20261124);
    for kind in Kind::MANAGED {
        let provider = providers.get(kind).expect("a provider per managed kind");
        for case in 0..CASES {
            let attrs = block_value(kind.schema().body, &mut rng, 0, None);
            let changes = attr_changes(kind, provider.as_ref(), &attrs, &attrs, &[]);
            assert!(
                changes.is_empty(),
                "{kind:?} case {case}: {attrs:?} differs from itself: {changes:?}"
            );
        }
    }
}

#[test]
fn applying_a_diffs_after_values_leaves_nothing_to_change() {
    let providers = providers();
    let mut rng = Rng(7);
    let mut changed = 0;
    for kind in Kind::MANAGED {
        let provider = providers.get(kind).expect("a provider per managed kind");
        for case in 0..CASES {
            let desired = block_value(kind.schema().body, &mut rng, 0, None);
            let mut live = block_value(kind.schema().body, &mut rng, 0, None);
            let changes = attr_changes(kind, provider.as_ref(), &desired, &live, &[]);
            changed += changes.len();
            // What AWS reports after the update: the live side as the diff saw it (normalised,
            // defaults filled in), with every change's after-value in place.
            for attr in kind.schema().body.attrs {
                if let Some(default) = attr.default {
                    live.entry(attr.name.to_string())
                        .or_insert_with(|| default.to_value());
                }
            }
            provider.normalize(&mut live);
            for change in &changes {
                match &change.after {
                    Some(after) => live.insert(change.name.clone(), after.clone()),
                    None => live.remove(&change.name),
                };
            }
            let left = attr_changes(kind, provider.as_ref(), &desired, &live, &[]);
            assert!(
                left.is_empty(),
                "{kind:?} case {case}: after applying {changes:?}, still {left:?}"
            );
        }
    }
    assert!(
        changed > 1000,
        "the generator made differences to apply: {changed}"
    );
}
