//! The hosted-zone look-up: a zone by name, public or private.

use std::collections::BTreeMap;

use aws_sdk_route53::Client;

use super::error::aws;
use crate::model::{Kind, Value};
use crate::providers::{BoxFuture, LookupKind, ProviderError};

pub struct HostedZones {
    client: Client,
}

impl HostedZones {
    pub fn new(client: Client) -> Self {
        HostedZones { client }
    }
}

/// `example.com.` and `Example.com` are the same zone.
pub fn dns_key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Zone ids come back as `/hostedzone/Z123`; records and aliases use `Z123`.
pub fn zone_id(id: &str) -> &str {
    id.strip_prefix("/hostedzone/").unwrap_or(id)
}

impl LookupKind for HostedZones {
    fn kind(&self) -> Kind {
        Kind::LookupHostedZone
    }

    fn lookup<'a>(
        &'a self,
        attrs: &'a BTreeMap<String, Value>,
    ) -> BoxFuture<'a, Result<BTreeMap<String, Value>, ProviderError>> {
        Box::pin(async move {
            let name = attrs
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let private = attrs.get("private") == Some(&Value::Bool(true));
            let visibility = if private { "private" } else { "public" };
            // AWS lists zones in name order starting at this one; compare names exactly.
            let page = self
                .client
                .list_hosted_zones_by_name()
                .dns_name(name)
                .max_items(100)
                .send()
                .await
                .map_err(aws("ListHostedZonesByName"))?;
            let matches: Vec<_> = page
                .hosted_zones()
                .iter()
                .filter(|z| dns_key(z.name()) == dns_key(name))
                .filter(|z| z.config().is_some_and(|c| c.private_zone()) == private)
                .collect();
            let zone = match matches.as_slice() {
                [zone] => *zone,
                [] => {
                    return Err(ProviderError::NotFound(format!(
                        "no {visibility} hosted zone named `{name}` exists in this account"
                    )));
                }
                several => {
                    return Err(ProviderError::NotFound(format!(
                        "{} {visibility} hosted zones are named `{name}`; infra cannot tell which \
                         one is meant",
                        several.len()
                    )));
                }
            };
            let id = zone_id(zone.id()).to_string();
            let details = self
                .client
                .get_hosted_zone()
                .id(&id)
                .send()
                .await
                .map_err(aws("GetHostedZone"))?;
            let servers = details
                .delegation_set()
                .map(|d| d.name_servers().to_vec())
                .unwrap_or_default();
            let mut out = attrs.clone();
            out.insert("id".into(), Value::String(id));
            out.insert(
                "name-servers".into(),
                Value::List(servers.into_iter().map(Value::String).collect()),
            );
            Ok(out)
        })
    }
}
