//! Look-ups of the network a stack runs in: a VPC, subnets and security groups, by id, name,
//! tags or (for a VPC) being the default one.

use std::collections::BTreeMap;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::Filter;

use super::error::aws;
use super::kit;
use crate::model::{Kind, Value};
use crate::providers::{BoxFuture, LookupKind, ProviderError};

fn filter(name: &str, values: impl IntoIterator<Item = String>) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.into_iter().collect()))
        .build()
}

/// `tags { Name "x" }` as `tag:Name=x` filters.
fn tag_filters(attrs: &BTreeMap<String, Value>) -> Vec<Filter> {
    attrs
        .get("tags")
        .and_then(Value::as_map)
        .map(|tags| {
            tags.iter()
                .filter_map(|(k, v)| Some(filter(&format!("tag:{k}"), [v.as_str()?.to_string()])))
                .collect()
        })
        .unwrap_or_default()
}

fn strings(attrs: &BTreeMap<String, Value>, name: &str) -> Vec<String> {
    attrs
        .get(name)
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

fn vpc_filter(attrs: &BTreeMap<String, Value>) -> Option<Filter> {
    let vpc = attrs.get("vpc").and_then(Value::as_str)?;
    Some(filter("vpc-id", [vpc.to_string()]))
}

/// How a look-up was written, for messages: `tags Name=hirebest`, `ids subnet-1, subnet-2`.
fn described(attrs: &BTreeMap<String, Value>) -> String {
    let mut parts = Vec::new();
    for (k, v) in attrs {
        match v {
            Value::Map(m) => parts.push(format!(
                "{k} {}",
                m.iter()
                    .map(|(a, b)| format!("{a}={}", b.as_str().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Value::List(items) => parts.push(format!(
                "{k} {}",
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Value::String(s) => parts.push(format!("{k} {s}")),
            Value::Bool(true) => parts.push(k.clone()),
            _ => {}
        }
    }
    parts.join("; ")
}

pub struct Vpcs {
    client: Client,
}

impl Vpcs {
    pub fn new(client: Client) -> Self {
        Vpcs { client }
    }
}

impl LookupKind for Vpcs {
    fn kind(&self) -> Kind {
        Kind::LookupVpc
    }

    fn lookup<'a>(
        &'a self,
        attrs: &'a BTreeMap<String, Value>,
    ) -> BoxFuture<'a, Result<BTreeMap<String, Value>, ProviderError>> {
        Box::pin(async move {
            let mut filters = tag_filters(attrs);
            if let Some(id) = attrs.get("id").and_then(Value::as_str) {
                filters.push(filter("vpc-id", [id.to_string()]));
            }
            if attrs.get("default") == Some(&Value::Bool(true)) {
                filters.push(filter("isDefault", ["true".to_string()]));
            }
            let filters = &filters;
            let vpcs = kit::pages(|token| async move {
                let page = self
                    .client
                    .describe_vpcs()
                    .set_filters(Some(filters.clone()))
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(aws("DescribeVpcs"))?;
                Ok((page.vpcs().to_vec(), page.next_token().map(str::to_string)))
            })
            .await?;
            let vpc = match vpcs.as_slice() {
                [one] => one,
                [] => {
                    return Err(ProviderError::NotFound(format!(
                        "no VPC matches {}",
                        described(attrs)
                    )));
                }
                many => {
                    return Err(ProviderError::NotFound(format!(
                        "{} VPCs match {}; infra cannot tell which one is meant",
                        many.len(),
                        described(attrs)
                    )));
                }
            };
            let mut out = attrs.clone();
            out.insert(
                "id".into(),
                Value::String(vpc.vpc_id().unwrap_or_default().into()),
            );
            out.insert(
                "cidr-block".into(),
                Value::String(vpc.cidr_block().unwrap_or_default().into()),
            );
            Ok(out)
        })
    }
}

pub struct Subnets {
    client: Client,
}

impl Subnets {
    pub fn new(client: Client) -> Self {
        Subnets { client }
    }
}

impl LookupKind for Subnets {
    fn kind(&self) -> Kind {
        Kind::LookupSubnets
    }

    fn lookup<'a>(
        &'a self,
        attrs: &'a BTreeMap<String, Value>,
    ) -> BoxFuture<'a, Result<BTreeMap<String, Value>, ProviderError>> {
        Box::pin(async move {
            let wanted = strings(attrs, "ids");
            let mut filters = tag_filters(attrs);
            filters.extend(vpc_filter(attrs));
            if !wanted.is_empty() {
                filters.push(filter("subnet-id", wanted.clone()));
            }
            let filters = &filters;
            let mut ids = kit::pages(|token| async move {
                let page = self
                    .client
                    .describe_subnets()
                    .set_filters(Some(filters.clone()))
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(aws("DescribeSubnets"))?;
                let ids = page
                    .subnets()
                    .iter()
                    .filter_map(|s| s.subnet_id().map(str::to_string))
                    .collect();
                Ok((ids, page.next_token().map(str::to_string)))
            })
            .await?;
            ids.sort();
            if let Some(missing) = wanted.iter().find(|w| !ids.contains(w)) {
                return Err(ProviderError::NotFound(format!(
                    "subnet `{missing}` does not exist{}",
                    attrs
                        .get("vpc")
                        .and_then(Value::as_str)
                        .map(|v| format!(" in {v}"))
                        .unwrap_or_default()
                )));
            }
            if ids.is_empty() {
                return Err(ProviderError::NotFound(format!(
                    "no subnet matches {}",
                    described(attrs)
                )));
            }
            let mut out = attrs.clone();
            out.insert(
                "ids".into(),
                Value::List(ids.into_iter().map(Value::String).collect()),
            );
            Ok(out)
        })
    }
}

pub struct SecurityGroups {
    client: Client,
}

impl SecurityGroups {
    pub fn new(client: Client) -> Self {
        SecurityGroups { client }
    }
}

impl LookupKind for SecurityGroups {
    fn kind(&self) -> Kind {
        Kind::LookupSecurityGroups
    }

    fn lookup<'a>(
        &'a self,
        attrs: &'a BTreeMap<String, Value>,
    ) -> BoxFuture<'a, Result<BTreeMap<String, Value>, ProviderError>> {
        Box::pin(async move {
            let ids = strings(attrs, "ids");
            let names = strings(attrs, "names");
            let mut filters = tag_filters(attrs);
            filters.extend(vpc_filter(attrs));
            if !ids.is_empty() {
                filters.push(filter("group-id", ids.clone()));
            }
            if !names.is_empty() {
                filters.push(filter("group-name", names.clone()));
            }
            let filters = &filters;
            let groups = kit::pages(|token| async move {
                let page = self
                    .client
                    .describe_security_groups()
                    .set_filters(Some(filters.clone()))
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(aws("DescribeSecurityGroups"))?;
                Ok((
                    page.security_groups().to_vec(),
                    page.next_token().map(str::to_string),
                ))
            })
            .await?;
            for id in &ids {
                if !groups.iter().any(|g| g.group_id() == Some(id)) {
                    return Err(ProviderError::NotFound(format!(
                        "security group `{id}` does not exist"
                    )));
                }
            }
            for name in &names {
                let n = groups
                    .iter()
                    .filter(|g| g.group_name() == Some(name))
                    .count();
                if n != 1 {
                    return Err(ProviderError::NotFound(if n == 0 {
                        format!("no security group is named `{name}`")
                    } else {
                        format!("{n} security groups are named `{name}`; give the look-up a `vpc`")
                    }));
                }
            }
            let mut found: Vec<String> = groups
                .iter()
                .filter_map(|g| g.group_id().map(str::to_string))
                .collect();
            found.sort();
            found.dedup();
            if found.is_empty() {
                return Err(ProviderError::NotFound(format!(
                    "no security group matches {}",
                    described(attrs)
                )));
            }
            let mut out = attrs.clone();
            out.insert(
                "ids".into(),
                Value::List(found.into_iter().map(Value::String).collect()),
            );
            Ok(out)
        })
    }
}
