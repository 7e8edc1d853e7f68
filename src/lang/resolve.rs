//! Resolves references once every file is loaded: module outputs are substituted, targets must
//! exist, `depends-on` must name real resources. A reference into something that could not be
//! read (a node with a syntax error or an unknown kind, a missing module) is not reported: the
//! real mistake already is.

use std::collections::HashMap;

use super::diagnostic::Diagnostic;
use super::loader::Loaded;
use super::suggest::did_you_mean;
use crate::model::{Address, RefTarget, Span, Value};

/// Outputs may forward other outputs; deeper chains than this are a loop.
const MAX_OUTPUT_DEPTH: usize = 64;

pub fn resolve(loaded: &mut Loaded) {
    let outputs = std::mem::take(&mut loaded.outputs);
    let mut resources = std::mem::take(&mut loaded.resources);
    for resource in &mut resources {
        for value in resource.attrs.values_mut() {
            substitute(value, &outputs, loaded, 0);
        }
        for dep in &resource.depends_on {
            if !loaded.addresses.contains_key(&dep.address) && !loaded.maybe_in_broken(&dep.address)
            {
                let (message, label, help) = missing(&dep.address, loaded, "`depends-on` names");
                loaded.diags.push(
                    Diagnostic::new("infra::unknown-reference", message)
                        .label(dep.span, label)
                        .help(help),
                );
            }
        }
    }
    for resource in &resources {
        for value in resource.attrs.values() {
            check_targets(value, loaded);
        }
    }
    // Outputs are checked even when nothing reads them.
    let mut checked: Vec<Value> = outputs.values().map(|(v, _)| v.clone()).collect();
    for value in &mut checked {
        substitute(value, &outputs, loaded, 0);
        check_targets(value, loaded);
    }
    loaded.resources = resources;
    loaded.outputs = outputs;
}

/// Every resource a value references must be declared.
fn check_targets(value: &Value, loaded: &mut Loaded) {
    value.visit_refs(&mut |r| {
        if let RefTarget::Resource { address, .. } = &r.target
            && !loaded.addresses.contains_key(address)
            && !loaded.maybe_in_broken(address)
        {
            let (message, label, help) = missing(address, loaded, "reference to");
            loaded.diags.push(
                Diagnostic::new("infra::unknown-reference", message)
                    .label(r.span, label)
                    .help(help),
            );
        }
    });
}

fn substitute(
    value: &mut Value,
    outputs: &HashMap<(Vec<String>, String), (Value, Span)>,
    loaded: &mut Loaded,
    depth: usize,
) {
    value.visit_refs_mut(&mut |v| {
        let Value::Ref(r) = v else { return };
        let RefTarget::Output { module, name } = &r.target else {
            return;
        };
        let span = r.span;
        match outputs.get(&(module.clone(), name.clone())) {
            Some((out, _)) if depth < MAX_OUTPUT_DEPTH => {
                let mut out = out.clone();
                substitute(&mut out, outputs, loaded, depth + 1);
                *v = out;
            }
            Some(_) => loaded.diags.push(
                Diagnostic::new(
                    "infra::cycle",
                    format!("module output `{name}` refers to itself"),
                )
                .label(span, "this output never resolves")
                .help("an output must end at a resource attribute or a value"),
            ),
            // A module that could not be read is reported once, where it is used.
            None if loaded.module_broken(module) => {}
            None if loaded.module_groups.contains_key(module) => {
                let keys = &loaded.module_groups[module].1;
                let name_of = |k: &str| {
                    let mut path = module.clone();
                    if let Some(last) = path.last_mut() {
                        *last = crate::model::address::instance(last, Some(k));
                    }
                    let shown: String = path.iter().map(|m| format!("module.{m}.")).collect();
                    format!("`{shown}{name}`")
                };
                let shown: Vec<String> = keys.iter().map(|k| name_of(k)).collect();
                loaded.diags.push(
                    Diagnostic::new(
                        "infra::unknown-reference",
                        format!(
                            "module `{}` has `for-each`: its output `{name}` is one per key",
                            module.last().map_or("", String::as_str)
                        ),
                    )
                    .label(span, "name one instance")
                    .help(if shown.is_empty() {
                        "its `for-each` has no items".to_string()
                    } else {
                        format!("name the instance to read: {}", shown.join(", "))
                    }),
                );
            }
            None => {
                let (message, help) = if loaded.modules.contains_key(module) {
                    let names: Vec<&str> = outputs
                        .keys()
                        .filter(|(m, _)| m == module)
                        .map(|(_, n)| n.as_str())
                        .collect();
                    (
                        format!("module `{}` has no output `{name}`", module.join(".")),
                        did_you_mean(name, names, "outputs"),
                    )
                } else {
                    let names: Vec<String> = loaded
                        .modules
                        .keys()
                        .filter_map(|m| m.last().cloned())
                        .collect();
                    (
                        format!(
                            "there is no module `{}`",
                            module.last().map_or("", String::as_str)
                        ),
                        did_you_mean(
                            module.last().map_or("", String::as_str),
                            names.iter().map(String::as_str),
                            "modules",
                        ),
                    )
                };
                loaded.diags.push(
                    Diagnostic::new("infra::unknown-reference", message)
                        .label(span, "in this reference")
                        .help(help),
                );
            }
        }
    });
}

/// Why `address` names nothing (after `lead`: "reference to"), a label and a help line: a
/// `for-each` group named without a key or with a key it does not have lists its keys.
fn missing(address: &Address, loaded: &Loaded, lead: &str) -> (String, &'static str, String) {
    let Some((_, keys)) = loaded.groups.get(&address.group()) else {
        return (
            format!("{lead} `{address}`, which is not declared"),
            "no such resource",
            suggest_address(address, &loaded.addresses),
        );
    };
    let group = address.group();
    let instances = || {
        keys.iter()
            .map(|k| format!("`{}`", group.clone().with_key(k.clone()).local()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match &address.key {
        None if keys.is_empty() => (
            format!("{lead} `{address}`, a `for-each` with no instances"),
            "no instance to read",
            "add items to its `for-each`, or reference something else".into(),
        ),
        None => (
            format!("{lead} `{address}`, which has `for-each`: one resource per key"),
            "name one instance",
            format!("name the instance to read: {}", instances()),
        ),
        Some(key) => (
            format!("{lead} `{address}`, but `{group}` has no key `{key}`"),
            "no such key",
            match super::suggest::closest(key, keys.iter().map(String::as_str)) {
                Some(near) => format!("did you mean `{}`?", group.with_key(near).local()),
                None if keys.is_empty() => "its `for-each` has no items".into(),
                None => format!("its instances are {}", instances()),
            },
        ),
    }
}

/// "did you mean" over the addresses visible from the reference's module.
fn suggest_address(address: &Address, known: &HashMap<Address, Span>) -> String {
    let wanted = address.local();
    let mut local: Vec<String> = known
        .keys()
        .filter(|a| a.module == address.module)
        .map(Address::local)
        .collect();
    local.sort();
    did_you_mean(
        &wanted,
        local.iter().map(String::as_str),
        "declared resources",
    )
}
