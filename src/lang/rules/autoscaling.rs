//! Rules of a `scaling` across resources: it scales a service of the stack, one scaling per
//! service, and the service's count at creation lies within the scaling's bounds.

use std::collections::HashMap;

use super::{Ctx, text};
use crate::model::{Address, Kind, Value};

pub(super) fn check(ctx: &mut Ctx<'_>) {
    let mut scaled: HashMap<Address, Address> = HashMap::new();
    for scaling in ctx.all(Kind::Scaling).collect::<Vec<_>>() {
        let Some(value) = scaling.attrs.get("service") else {
            continue;
        };
        let Some(service) = ctx.target(value).filter(|t| t.kind() == Kind::Service) else {
            ctx.error(
                ctx.at(scaling, "service"),
                "a scaling scales a service of this stack, named by a reference".into(),
                "not a reference to a service",
                "write `service (ref)\"service.<name>\"`: infra scales only services it owns"
                    .into(),
            );
            continue;
        };
        if let Some(first) = scaled.insert(service.address.clone(), scaling.address.clone()) {
            ctx.error(
                ctx.at(scaling, "service"),
                format!("`{}` is already scaled by `{first}`", service.address),
                "a second scaling of the same service",
                "AWS keeps one scalable target per service: put every policy and scheduled \
                 action in one scaling"
                    .into(),
            );
            continue;
        }
        let written = |attr: &str| {
            ctx.spans
                .get(&service.address)
                .is_some_and(|s| s.contains_key(attr))
        };
        if written("desired-count-owner")
            && let Some(owner) = text(&service.attrs, "desired-count-owner")
            && owner != "autoscaling"
        {
            ctx.error(
                ctx.at(service, "desired-count-owner"),
                format!(
                    "`{}` is scaled by `{}`, so autoscaling sets its count, not the {}",
                    service.address,
                    scaling.address,
                    if owner == "hand" { "hand" } else { "stack" }
                ),
                "contradicts the scaling",
                "remove `desired-count-owner`: a scaled service's count belongs to autoscaling"
                    .into(),
            );
        }
        let (Some(min), Some(max)) = (
            scaling.attrs.get("min").and_then(Value::as_int),
            scaling.attrs.get("max").and_then(Value::as_int),
        ) else {
            continue;
        };
        let count = service
            .attrs
            .get("desired-count")
            .and_then(Value::as_int)
            .unwrap_or(1);
        if (count < min || count > max) && min <= max {
            ctx.error(
                ctx.at(service, "desired-count"),
                format!(
                    "`{}` starts with {count} tasks, outside `{}`'s {min} to {max}",
                    service.address, scaling.address
                ),
                "the count the service is created with",
                format!(
                    "set `desired-count` between {min} and {max}: autoscaling would move it \
                     there at once"
                ),
            );
        }
    }
}
