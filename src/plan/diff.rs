//! Desired vs live, per resource and attribute, using each kind's schema.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::graph::Graph;
use crate::known::Known;
use crate::lang::Diagnostic;
use crate::model::schema::{BlockSchema, Type};
use crate::model::{Kind, Stack, Value};
use crate::providers::{Live, Owner, PROTECT_TAG, Providers, ResourceKind, VERSION_ID};
use crate::refresh::Refreshed;

use super::{Action, AttrChange, Change, Plan};

/// Choices that change what the plan does.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// Addresses whose unowned live resource may be taken over (`--adopt`).
    pub adopt: BTreeSet<String>,
    /// Plan the deletion of everything the stack owns.
    pub destroy: bool,
}

/// Computes the plan, or every reason it cannot be made.
pub fn diff(
    stack: &Stack,
    graph: &Graph,
    refreshed: &Refreshed,
    providers: &Providers,
    options: &DiffOptions,
) -> Result<Plan, Vec<Diagnostic>> {
    let mut diags: Vec<Diagnostic> = refreshed
        .problems
        .iter()
        .map(|p| {
            let code = p.blocker.as_ref().map_or("infra::refresh", |b| b.code());
            let mut d = Diagnostic::new(code, p.message.clone());
            if let Some(i) = p.resource {
                let r = &stack.resources[i];
                d = d.label(r.span, format!("`{}`", r.address));
            }
            match &p.help {
                Some(help) => d.help(help.clone()),
                None => d,
            }
        })
        .collect();

    let mut known = Known::from_refreshed(stack, refreshed);

    // What each live ARN of the stack's resources is called in the stack (`target-group.api`),
    // so that blocks labelled by one read as the address.
    let arns: HashMap<String, String> = refreshed
        .live
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let arn = l.as_ref()?.computed.get("arn")?.as_str()?;
            Some((arn.to_string(), stack.resources[i].address.to_string()))
        })
        .collect();
    // Owned resources no longer declared under their key; one that a declared resource of the
    // same address and kind replaces (its natural key changed: a rename) is taken by it.
    let mut orphans: Vec<Option<&(Kind, Live)>> = refreshed.orphans.iter().map(Some).collect();
    let mut changes = Vec::new();
    for i in graph.by_level().concat() {
        let resource = &stack.resources[i];
        let kind = resource.kind();
        if kind.is_lookup() {
            continue;
        }
        let Some(provider) = providers.get(kind) else {
            continue;
        };
        let address = resource.address.to_string();
        let live = refreshed.live[i].as_ref();
        if options.destroy {
            if let Some(live) =
                live.filter(|l| owned_by(l, &stack.name) && l.pending_deletion.is_none())
            {
                changes.push(deletion(
                    address,
                    kind,
                    Some(i),
                    live,
                    "the stack is destroyed",
                ));
            }
            continue;
        }
        let desired = known.desired(i);
        let renamed = match live {
            Some(_) => None,
            None => orphans
                .iter_mut()
                .find(|o| {
                    o.is_some_and(|(k, l)| {
                        *k == kind
                            && l.pending_deletion.is_none()
                            && matches!(&l.owner, Owner::Stack { stack: s, address: a }
                                if *s == stack.name && *a == address)
                    })
                })
                .and_then(Option::take),
        };
        let change = match (live, renamed) {
            (None, Some((_, old))) => rekeyed(
                address,
                kind,
                i,
                provider.as_ref(),
                &desired,
                old,
                &resource.lifecycle.ignore_changes,
            ),
            (None, None) => Change {
                address,
                kind,
                resource: Some(i),
                action: Action::Create,
                reasons: Vec::new(),
                attrs: created_attrs(kind, provider.as_ref(), &desired.attrs, desired.protected),
                live: None,
                create_before_destroy: false,
            },
            (Some(live), _) => {
                let mut attrs = attr_changes(
                    kind,
                    provider.as_ref(),
                    &desired.attrs,
                    &live.attrs,
                    &resource.lifecycle.ignore_changes,
                );
                if desired.protected != live.protected() {
                    attrs.push(protection_change(live.protected(), desired.protected));
                }
                let forcing: Vec<&str> = attrs
                    .iter()
                    .filter(|a| a.forces_replacement)
                    .map(|a| a.name.as_str())
                    .collect();
                let mut reasons = Vec::new();
                let action = match &live.owner {
                    Owner::Stack {
                        stack: s,
                        address: was,
                    } if s == &stack.name => {
                        if let Some(when) = &live.pending_deletion {
                            reasons
                                .push(format!("scheduled for deletion ({when}); it is restored"));
                        }
                        // The same AWS resource under another address of this stack (its old
                        // address is no longer declared: two declared resources with one key
                        // are refused at validate): moved, and its ownership says so.
                        let moved = !was.is_empty() && *was != address;
                        if moved {
                            reasons.push(format!(
                                "moved from `{was}`: the same {} under its new address",
                                kind.title()
                            ));
                        }
                        if !forcing.is_empty() {
                            Action::Replace
                        } else if attrs.is_empty() && live.pending_deletion.is_none() && !moved {
                            Action::NoOp
                        } else {
                            if provider.update_changes_identity() {
                                reasons.push("registers a new revision".into());
                            }
                            reasons.extend(restarts(&desired.attrs, &live.attrs));
                            if kind == Kind::TaskDefinition {
                                reasons.extend(removed_env(&desired.attrs, &live.attrs));
                            }
                            reasons.extend(count_owned_elsewhere(&desired.attrs, &live.attrs));
                            Action::Update
                        }
                    }
                    Owner::Stack {
                        stack: other,
                        address: theirs,
                    } => {
                        diags.push(
                            Diagnostic::new(
                                "infra::owned-elsewhere",
                                format!(
                                    "{} `{}` already exists and belongs to stack `{other}` (as `{theirs}`)",
                                    kind.title(),
                                    key_name(kind, live)
                                ),
                            )
                            .label(resource.span, format!("`{address}` wants the same {}", kind.title()))
                            .help(format!(
                                "infra never takes a resource from another stack: give `{address}` \
                                 another name, or remove it from stack `{other}` first"
                            )),
                        );
                        continue;
                    }
                    Owner::Nobody => {
                        // Several of one name, none owned: adopting one would be a guess.
                        if !live.alike.is_empty() && options.adopt.contains(&address) {
                            let id = live
                                .computed
                                .get("id")
                                .and_then(Value::as_str)
                                .unwrap_or("?");
                            diags.push(
                                Diagnostic::new(
                                    "infra::adopt-ambiguous",
                                    format!(
                                        "{} {}s `{}` exist and no stack owns any of them ({id}, {})",
                                        live.alike.len() + 1,
                                        kind.title(),
                                        key_name(kind, live),
                                        live.alike.join(", ")
                                    ),
                                )
                                .label(resource.span, format!("`{address}` cannot say which one to adopt"))
                                .help(format!(
                                    "infra adopts only what it can name exactly: delete or rename                                      the {}s you do not mean, then run again with `--adopt {address}`",
                                    kind.title()
                                )),
                            );
                            continue;
                        }
                        // Nothing is taken over unasked: an alarm or a log group someone made
                        // by hand is theirs until `--adopt` says otherwise.
                        if !options.adopt.contains(&address) {
                            diags.push(
                                Diagnostic::new(
                                    "infra::unowned",
                                    match &live.note {
                                        Some(note) => format!(
                                            "{} `{}` already exists and no stack owns it: {note}",
                                            kind.title(),
                                            key_name(kind, live)
                                        ),
                                        None => format!(
                                            "{} `{}` already exists and no stack owns it",
                                            kind.title(),
                                            key_name(kind, live)
                                        ),
                                    },
                                )
                                .label(resource.span, format!("`{address}` would overwrite it"))
                                .help(if kind == Kind::ListenerRule {
                                    format!(
                                        "the priority is taken by a rule no stack owns: give \
                                         `{address}` a free priority, or, if that rule is the one \
                                         you mean, run again with `--adopt {address}`"
                                    )
                                } else {
                                    format!(
                                        "infra does not overwrite what it did not create. If it \
                                         is the one you mean, run again with `--adopt {address}`: \
                                         the plan then shows what adopting changes"
                                    )
                                }),
                            );
                            continue;
                        }
                        if !forcing.is_empty() {
                            diags.push(
                                Diagnostic::new(
                                    "infra::adopt-replace",
                                    format!(
                                        "adopting {} `{}` would replace it: {} cannot change in place",
                                        kind.title(),
                                        key_name(kind, live),
                                        quoted(&forcing)
                                    ),
                                )
                                .label(resource.span, format!("`{address}`"))
                                .help("make the stack match the existing resource for these attributes, then adopt it"),
                            );
                            continue;
                        }
                        reasons.push(match &live.note {
                            Some(note) => {
                                format!("{note}; infra takes it over and manages it from now on")
                            }
                            None => "exists without ownership tags; infra tags it and manages it \
                                     from now on"
                                .into(),
                        });
                        Action::Adopt
                    }
                };
                if action == Action::Replace {
                    reasons.insert(0, format!("{} forces replacement", quoted(&forcing)));
                }
                for (name, note) in provider.notes(&desired.attrs, &live.attrs) {
                    if attrs.iter().any(|a| a.name == name) {
                        reasons.push(note);
                    }
                }
                Change {
                    address,
                    kind,
                    resource: Some(i),
                    action,
                    reasons,
                    attrs,
                    live: Some(live.clone()),
                    create_before_destroy: provider.create_before_destroy(),
                }
            }
        };
        let mut change = change;
        name_items(&mut change.attrs, kind, &resource.attrs, &known, &arns);
        if change.action == Action::Replace {
            change.reasons.push(if change.create_before_destroy {
                "the new one is made before the old one is deleted".into()
            } else {
                "the old one is deleted, and gone, before the new one is made: it is unavailable \
                 in between"
                    .into()
            });
        }
        if matches!(change.action, Action::Create | Action::Replace)
            || (change.action == Action::Update && provider.update_changes_identity())
        {
            known.forget(i);
        } else if kind == Kind::Secret
            && change.action == Action::Update
            && change.attrs.iter().any(|a| a.name == "value")
            && let Some(live) = &change.live
        {
            // A new value is a new version: the services that read it restart.
            let mut computed = live.computed.clone();
            computed.insert(VERSION_ID.into(), Value::Unknown);
            known.set(i, computed);
        }
        changes.push(change);
    }
    if options.destroy {
        changes.reverse();
    }
    for (kind, live) in orphans.into_iter().flatten() {
        if live.pending_deletion.is_some() {
            continue;
        }
        let address = match &live.owner {
            Owner::Stack { address, .. } if !address.is_empty() => address.clone(),
            _ => format!("{}.{}", kind.keyword(), key_name(*kind, live)),
        };
        let why = if options.destroy {
            "the stack is destroyed"
        } else {
            "no longer in the stack"
        };
        changes.push(deletion(address, *kind, None, live, why));
    }
    if diags.is_empty() {
        Ok(Plan {
            stack: stack.name.clone(),
            region: stack.region.clone(),
            changes,
            destroying: options.destroy,
            warnings: super::warnings::of(stack, refreshed, options.destroy),
        })
    } else {
        Err(diags)
    }
}

fn owned_by(live: &Live, stack: &str) -> bool {
    matches!(&live.owner, Owner::Stack { stack: s, .. } if s == stack)
}

fn deletion(
    address: String,
    kind: Kind,
    resource: Option<usize>,
    live: &Live,
    why: &str,
) -> Change {
    Change {
        address,
        kind,
        resource,
        action: Action::Delete,
        reasons: vec![why.into()],
        attrs: Vec::new(),
        live: Some(live.clone()),
        create_before_destroy: false,
    }
}

/// The name AWS knows a resource by, for messages: its name, or its natural key
/// (`priority 10 on listener app/shop/…/443`).
fn key_name(kind: Kind, live: &Live) -> String {
    if let Some(name) = live.str("name").or_else(|| live.str("family")) {
        return name.to_string();
    }
    let short = |v: &Value| match v {
        Value::String(s) => s.rsplit(':').next().unwrap_or(s).to_string(),
        other => other.to_string(),
    };
    let parts: Vec<String> = kind
        .schema()
        .natural_key
        .iter()
        .rev()
        .filter_map(|k| Some(format!("{k} {}", short(live.attrs.get(*k)?))))
        .collect();
    if parts.is_empty() {
        "?".into()
    } else {
        parts.join(" on ")
    }
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Names the items of repeated blocks labelled by a reference after the address they name
/// (`[target-group.api]`): after, from the stack's own references (still unknown ones in
/// order, which sorting keeps); before, from the resource each live ARN belongs to.
fn name_items(
    attrs: &mut [AttrChange],
    kind: Kind,
    raw: &BTreeMap<String, Value>,
    known: &Known<'_>,
    arns: &HashMap<String, String>,
) {
    for a in attrs.iter_mut() {
        let Some(Type::Blocks(block)) = kind.schema().body.attr(&a.name).map(|x| x.ty) else {
            continue;
        };
        let Some(label) = block.label else {
            continue;
        };
        let labels = |v: Option<&Value>| -> Vec<Value> {
            v.and_then(Value::as_list)
                .unwrap_or_default()
                .iter()
                .map(|item| {
                    item.as_map()
                        .and_then(|m| m.get(label))
                        .cloned()
                        .unwrap_or(Value::Null)
                })
                .collect()
        };
        // The stack's references: what each resolves to now, and the address it names.
        let mut written: Vec<(Value, String)> = labels(raw.get(&a.name))
            .into_iter()
            .filter_map(|v| match &v {
                Value::Ref(r) => Some((known.resolve(&v), format!("[{}]", r.address()?))),
                _ => None,
            })
            .collect();
        if written.is_empty() {
            continue;
        }
        let by_arn = |v: &Value| match v {
            Value::String(s) => arns.get(s).map(|a| format!("[{a}]")).unwrap_or_default(),
            _ => String::new(),
        };
        a.names.after = labels(a.after.as_ref())
            .iter()
            .map(
                |v| match written.iter().position(|(resolved, _)| resolved == v) {
                    Some(at) => written.remove(at).1,
                    None => by_arn(v),
                },
            )
            .collect();
        a.names.before = labels(a.before.as_ref()).iter().map(by_arn).collect();
    }
}

/// A declared resource whose natural key changed (a rename): the resource under its old key
/// is replaced, the new one made before the old one goes where both can exist at once.
fn rekeyed(
    address: String,
    kind: Kind,
    i: usize,
    provider: &dyn ResourceKind,
    desired: &crate::providers::Desired,
    old: &Live,
    ignore: &[String],
) -> Change {
    let mut attrs = attr_changes(kind, provider, &desired.attrs, &old.attrs, ignore);
    let key = kind.schema().natural_key;
    for a in attrs.iter_mut() {
        if key.contains(&a.name.as_str()) {
            a.forces_replacement = true;
        }
    }
    if desired.protected != old.protected() {
        attrs.push(protection_change(old.protected(), desired.protected));
    }
    let forcing: Vec<&str> = attrs
        .iter()
        .filter(|a| a.forces_replacement)
        .map(|a| a.name.as_str())
        .collect();
    let forcing = if forcing.is_empty() {
        "its AWS identity".to_string()
    } else {
        quoted(&forcing)
    };
    let first = provider.coexists(&old.attrs, &desired.attrs);
    Change {
        address,
        kind,
        resource: Some(i),
        action: Action::Replace,
        reasons: vec![format!("{forcing} forces replacement")],
        attrs,
        live: Some(old.clone()),
        create_before_destroy: first,
    }
}

fn created_attrs(
    kind: Kind,
    provider: &dyn ResourceKind,
    desired: &BTreeMap<String, Value>,
    protected: bool,
) -> Vec<AttrChange> {
    let mut d = desired.clone();
    provider.normalize(&mut d);
    strip_protection(&mut d);
    let protection = protected.then(|| AttrChange {
        before: None,
        ..protection_change(false, true)
    });
    kind.schema()
        .body
        .attrs
        .iter()
        .filter_map(|attr| {
            let after = d.get(attr.name).filter(|v| **v != Value::Null)?;
            Some(AttrChange {
                name: attr.name.to_string(),
                before: None,
                after: Some(after.clone()),
                sensitive: attr.sensitive,
                forces_replacement: false,
                names: Default::default(),
            })
        })
        .chain(protection)
        .collect()
}

/// Attributes whose desired value differs from the live one, in schema order.
pub fn attr_changes(
    kind: Kind,
    provider: &dyn ResourceKind,
    desired: &BTreeMap<String, Value>,
    live: &BTreeMap<String, Value>,
    ignore: &[String],
) -> Vec<AttrChange> {
    let schema = kind.schema();
    let mut d = desired.clone();
    let mut l = live.clone();
    for attr in schema.body.attrs {
        if let Some(default) = attr.default {
            l.entry(attr.name.to_string())
                .or_insert_with(|| default.to_value());
        }
    }
    provider.normalize(&mut d);
    provider.normalize(&mut l);
    strip_protection(&mut d);
    strip_protection(&mut l);
    for path in ignore {
        keep_live(&mut d, &l, path, Some(schema.body));
    }
    schema
        .body
        .attrs
        .iter()
        .filter_map(|attr| {
            // Left to AWS: what the stack does not say is not compared.
            if attr.unmanaged_when_omitted && omitted(desired.get(attr.name)) {
                return None;
            }
            let before = l.get(attr.name).filter(|v| **v != Value::Null);
            let after = d.get(attr.name).filter(|v| **v != Value::Null);
            if same(before, after) {
                return None;
            }
            Some(AttrChange {
                name: attr.name.to_string(),
                before: before.cloned(),
                after: after.cloned(),
                sensitive: attr.sensitive,
                forces_replacement: attr.force_new,
                names: Default::default(),
            })
        })
        .collect()
}

/// The `prevent-destroy` protection recorded on a live resource, as one attribute of the plan
/// (its tag is not shown among the tags).
pub const PROTECTION: &str = "prevent-destroy";

fn protection_change(before: bool, after: bool) -> AttrChange {
    AttrChange {
        name: PROTECTION.into(),
        before: Some(Value::Bool(before)),
        after: Some(Value::Bool(after)),
        sensitive: false,
        forces_replacement: false,
        names: Default::default(),
    }
}

/// Removes the protection tag: it is shown as its own attribute.
fn strip_protection(attrs: &mut BTreeMap<String, Value>) {
    if let Some(Value::Map(tags)) = attrs.get_mut("tags") {
        tags.remove(PROTECT_TAG);
    }
}

/// Not written in the stack (as the decoder leaves an attribute without a default).
fn omitted(v: Option<&Value>) -> bool {
    matches!(v, None | Some(Value::Null))
}

fn same(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (_, Some(Value::Unknown)) | (Some(Value::Unknown), _) => false,
        (Some(Value::Map(x)), None) | (None, Some(Value::Map(x))) => x.is_empty(),
        (Some(Value::List(x)), None) | (None, Some(Value::List(x))) => x.is_empty(),
        (a, b) => a == b,
    }
}

/// Applies `ignore-changes` to desired attributes: for each path the live value wins, so that
/// an update never sends what the stack said to leave alone.
pub fn keep_ignored(
    kind: Kind,
    desired: &mut BTreeMap<String, Value>,
    live: &BTreeMap<String, Value>,
    paths: &[String],
) {
    for path in paths {
        keep_live(desired, live, path, Some(kind.schema().body));
    }
}

/// `ignore-changes`: the live value wins for `path` (`desired-count`, `tags.team`,
/// `container.web.image`: repeated labelled blocks are addressed by label).
fn keep_live(
    desired: &mut BTreeMap<String, Value>,
    live: &BTreeMap<String, Value>,
    path: &str,
    block: Option<&'static BlockSchema>,
) {
    let (head, rest) = match path.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (path, None),
    };
    let Some(rest) = rest else {
        match live.get(head) {
            Some(v) => {
                desired.insert(head.to_string(), v.clone());
            }
            None => {
                desired.remove(head);
            }
        }
        return;
    };
    let ty = block.and_then(|b| b.attr(head)).map(|a| a.ty);
    match (ty, desired.get_mut(head), live.get(head)) {
        (Some(Type::Blocks(inner)), Some(Value::List(d)), Some(Value::List(l))) => {
            let Some(label) = inner.label else { return };
            let (name, rest) = match rest.split_once('.') {
                Some((n, r)) => (n, Some(r)),
                None => (rest, None),
            };
            let labelled = |v: &Value| {
                v.as_map()
                    .and_then(|m| m.get(label))
                    .is_some_and(|k| k.as_str() == Some(name) || k.to_string() == name)
            };
            let (Some(di), Some(li)) = (
                d.iter_mut().find(|v| labelled(v)),
                l.iter().find(|v| labelled(v)),
            ) else {
                return;
            };
            match (rest, di, li) {
                (None, di, li) => *di = li.clone(),
                (Some(rest), Value::Map(dm), Value::Map(lm)) => {
                    keep_live(dm, lm, rest, Some(inner))
                }
                _ => {}
            }
        }
        (Some(Type::Block(inner)), Some(Value::Map(d)), Some(Value::Map(l))) => {
            keep_live(d, l, rest, Some(inner));
        }
        (_, Some(Value::Map(d)), Some(Value::Map(l))) => keep_live(d, l, rest, None),
        _ => {}
    }
}

/// Why a service restarts: a secret its tasks read has a new value since they started (set in
/// AWS by someone, or written by this plan).
fn restarts(desired: &BTreeMap<String, Value>, live: &BTreeMap<String, Value>) -> Vec<String> {
    crate::providers::moved_secrets(desired, live)
        .into_iter()
        .map(|secret| {
            let written =
                desired.get("tags").and_then(Value::as_map).and_then(|t| {
                    t.get(&format!("{}{secret}", crate::providers::SECRET_VERSION_TAG))
                }) == Some(&Value::Unknown);
            if written {
                format!(
                    "restarts: this plan writes a new value of `{secret}`, which its tasks read; \
                     new tasks read it"
                )
            } else {
                format!(
                    "restarts: the value of `{secret}` changed since its tasks started; new tasks \
                     read the current one"
                )
            }
        })
        .collect()
}

/// A service whose count autoscaling or an operator owns: the plan says what runs, which apply
/// leaves alone.
fn count_owned_elsewhere(
    desired: &BTreeMap<String, Value>,
    live: &BTreeMap<String, Value>,
) -> Option<String> {
    let owner = desired.get("desired-count-owner").and_then(Value::as_str)?;
    if owner == "stack" {
        return None;
    }
    let running = live.get("desired-count").and_then(Value::as_int)?;
    let by = if owner == "hand" {
        "by hand"
    } else {
        "by autoscaling"
    };
    Some(format!(
        "desired-count is set {by}: {running} now, left as it is"
    ))
}

/// Environment names the running revision sets that the new one no longer does (in
/// `environment` or `secrets`): code that still reads one fails after the deploy.
fn removed_env(desired: &BTreeMap<String, Value>, live: &BTreeMap<String, Value>) -> Vec<String> {
    let containers = |attrs: &BTreeMap<String, Value>| -> BTreeMap<String, Vec<String>> {
        attrs
            .get("container")
            .and_then(Value::as_list)
            .unwrap_or_default()
            .iter()
            .filter_map(Value::as_map)
            .filter_map(|c| {
                let name = c.get("name").and_then(Value::as_str)?.to_string();
                let set = ["environment", "secrets"]
                    .iter()
                    .filter_map(|m| c.get(*m).and_then(Value::as_map))
                    .flat_map(|m| m.keys().cloned())
                    .collect();
                Some((name, set))
            })
            .collect()
    };
    let wanted = containers(desired);
    let mut out = Vec::new();
    for (name, running) in containers(live) {
        let Some(kept) = wanted.get(&name) else {
            continue;
        };
        for key in running.iter().filter(|k| !kept.contains(k)) {
            out.push(format!(
                "removes `{key}` from the environment of container `{name}`: the running \
                 revision sets it"
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_environment_name_the_running_revision_sets_and_the_new_one_drops_is_said() {
        let td = |env: &[&str], secrets: &[&str]| {
            let map =
                |keys: &[&str]| Value::Map(keys.iter().map(|k| (k.to_string(), s("x"))).collect());
            BTreeMap::from([(
                "container".to_string(),
                Value::List(vec![Value::Map(BTreeMap::from([
                    ("name".to_string(), s("web")),
                    ("environment".to_string(), map(env)),
                    ("secrets".to_string(), map(secrets)),
                ]))]),
            )])
        };
        let live = td(&["AI_MAX_TOKENS_IN", "MODE"], &["DB"]);
        assert_eq!(
            removed_env(&td(&["MODE"], &["DB"]), &live),
            [
                "removes `AI_MAX_TOKENS_IN` from the environment of container `web`: the running \
              revision sets it"
            ]
        );
        // Moved from plain environment to a secret: still set.
        assert!(removed_env(&td(&["MODE"], &["DB", "AI_MAX_TOKENS_IN"]), &live).is_empty());
    }

    fn s(text: &str) -> Value {
        Value::String(text.into())
    }

    fn containers(web: &str, worker: &str) -> BTreeMap<String, Value> {
        let container = |name: &str, image: &str| {
            Value::Map(BTreeMap::from([
                ("name".to_string(), s(name)),
                ("image".to_string(), s(image)),
            ]))
        };
        BTreeMap::from([
            ("desired-count".to_string(), Value::Int(2)),
            (
                "container".to_string(),
                Value::List(vec![container("web", web), container("worker", worker)]),
            ),
        ])
    }

    #[test]
    fn ignore_changes_reaches_into_labelled_blocks() {
        let mut desired = containers("web:2", "worker:2");
        let live = containers("web:1", "worker:1");
        keep_live(
            &mut desired,
            &live,
            "container.web.image",
            Some(Kind::TaskDefinition.schema().body),
        );
        assert_eq!(desired, containers("web:1", "worker:2"));
    }

    #[test]
    fn an_attribute_left_to_aws_is_compared_only_when_the_stack_sets_it() {
        let provider = crate::providers::fake::FakeKind::new(Kind::Cluster);
        let cluster = |insights: Option<&str>| {
            let mut m = BTreeMap::from([("name".to_string(), s("main"))]);
            if let Some(v) = insights {
                m.insert("container-insights".into(), s(v));
            }
            m
        };
        // The account turned Container Insights on; the stack says nothing: no change.
        let live = cluster(Some("enabled"));
        let changes = attr_changes(Kind::Cluster, &provider, &cluster(None), &live, &[]);
        assert!(changes.is_empty(), "{changes:?}");
        let changes = attr_changes(
            Kind::Cluster,
            &provider,
            &BTreeMap::from([
                ("name".to_string(), s("main")),
                ("container-insights".to_string(), Value::Null),
            ]),
            &live,
            &[],
        );
        assert!(changes.is_empty(), "null is omitted too: {changes:?}");
        // Said, it is compared like any other attribute.
        let changes = attr_changes(
            Kind::Cluster,
            &provider,
            &cluster(Some("disabled")),
            &live,
            &[],
        );
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].before, Some(s("enabled")));
        assert_eq!(changes[0].after, Some(s("disabled")));
        let changes = attr_changes(
            Kind::Cluster,
            &provider,
            &cluster(Some("enabled")),
            &cluster(None),
            &[],
        );
        assert_eq!(
            changes.len(),
            1,
            "no default stands in for what AWS did not report"
        );
    }

    #[test]
    fn a_value_compared_with_itself_is_no_change_and_unknown_is_always_a_change() {
        assert!(same(Some(&s("a")), Some(&s("a"))));
        assert!(same(None, Some(&Value::List(Vec::new()))));
        assert!(!same(Some(&s("a")), Some(&Value::Unknown)));
        assert!(!same(None, Some(&s("a"))));
    }
}
