//! A service that a `scaling` names has its count owned by autoscaling: its `desired-count`
//! is the count it is created with, the plan never shows it as a difference and apply never
//! resets it. Decided once, where the stack is resolved, so the diff and the service's
//! provider see an ordinary `desired-count-owner "autoscaling"` with the count ignored.

use std::collections::HashSet;

use crate::model::{Address, Kind, Resource, Value};

/// Marks every service a scaling names as counted by autoscaling.
pub fn hand_counts_to_autoscaling(resources: &mut [Resource]) {
    let scaled: HashSet<Address> = resources
        .iter()
        .filter(|r| r.kind() == Kind::Scaling)
        .filter_map(|r| match r.attrs.get("service") {
            Some(Value::Ref(reference)) => reference.address().cloned(),
            _ => None,
        })
        .collect();
    for service in resources
        .iter_mut()
        .filter(|r| r.kind() == Kind::Service && scaled.contains(&r.address))
    {
        service.attrs.insert(
            "desired-count-owner".into(),
            Value::String("autoscaling".into()),
        );
        let ignored = &mut service.lifecycle.ignore_changes;
        if !ignored.iter().any(|p| p == "desired-count") {
            ignored.push("desired-count".into());
        }
    }
}
