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
                let help = suggest_address(&dep.address, &loaded.addresses);
                loaded.diags.push(
                    Diagnostic::new(
                        "infra::unknown-reference",
                        format!(
                            "`depends-on` names `{}`, which is not declared",
                            dep.address
                        ),
                    )
                    .label(dep.span, "no such resource")
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
            let help = suggest_address(address, &loaded.addresses);
            loaded.diags.push(
                Diagnostic::new(
                    "infra::unknown-reference",
                    format!("reference to `{address}`, which is not declared"),
                )
                .label(r.span, "no such resource")
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
