//! Route53 records, owned through a companion TXT record.
//!
//! Records cannot be tagged, so ownership lives in a TXT record next to each one (the registry
//! pattern of external-dns): `_infra-a.api.example.com` says
//! `"heritage=infra,infra:stack=shop,infra:address=record.api"`. A record is created together
//! with its claim in one atomic change batch and deleted the same way. A whole zone is read in
//! pages of 300 record sets, once per run, and shared by every record in it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use aws_sdk_route53::Client;
use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};
use tokio::sync::OnceCell;

use super::error::{aws, build};
use super::hosted_zone::{dns_key, zone_id};
use crate::model::schemas::route53::DEFAULT_TTL;
use crate::model::{Kind, Value};
use crate::providers::{BoxFuture, Desired, Live, Owner, ProviderError, ResourceKind, natural_key};

/// The page size ListResourceRecordSets allows at most.
const PAGE: i32 = 300;
/// A page loop that makes no progress stops after this many repeats (moto ignores
/// `StartRecordIdentifier`, which would otherwise loop forever on large weighted sets).
const MAX_PAGES: usize = 10_000;
/// TTL of the ownership records.
const CLAIM_TTL: i64 = 300;
const HERITAGE: &str = "heritage=infra";

type Zone = Arc<OnceCell<Vec<ResourceRecordSet>>>;

pub struct Records {
    client: Client,
    stack: String,
    zones: Mutex<HashMap<String, Zone>>,
}

impl Records {
    pub fn new(client: Client, stack: String) -> Self {
        Records {
            client,
            stack,
            zones: Mutex::new(HashMap::new()),
        }
    }

    /// Every record set of a zone, read once per run.
    async fn zone(&self, zone: &str) -> Result<Vec<ResourceRecordSet>, ProviderError> {
        let cell = {
            let mut zones = self
                .zones
                .lock()
                .map_err(|_| ProviderError::Input("zone cache poisoned".into()))?;
            zones.entry(zone.to_string()).or_default().clone()
        };
        cell.get_or_try_init(|| self.fetch_zone(zone))
            .await
            .cloned()
    }

    async fn fetch_zone(&self, zone: &str) -> Result<Vec<ResourceRecordSet>, ProviderError> {
        let mut out = Vec::new();
        let mut start: Option<(String, RrType, Option<String>)> = None;
        for _ in 0..MAX_PAGES {
            let (name, kind, id) = match &start {
                Some((n, t, i)) => (Some(n.clone()), Some(t.clone()), i.clone()),
                None => (None, None, None),
            };
            let page = self
                .client
                .list_resource_record_sets()
                .hosted_zone_id(zone)
                .max_items(PAGE)
                .set_start_record_name(name)
                .set_start_record_type(kind)
                .set_start_record_identifier(id)
                .send()
                .await
                .map_err(aws("ListResourceRecordSets"))?;
            out.extend(page.resource_record_sets().iter().cloned());
            if !page.is_truncated() {
                return Ok(out);
            }
            let next = match (page.next_record_name(), page.next_record_type()) {
                (Some(n), Some(t)) => (
                    n.to_string(),
                    t.clone(),
                    page.next_record_identifier().map(str::to_string),
                ),
                _ => return Ok(out),
            };
            if start.as_ref() == Some(&next) {
                // No progress: the server ignored the identifier. Keep what was read once.
                return Ok(dedupe(out));
            }
            start = Some(next);
        }
        Ok(dedupe(out))
    }

    fn claim(&self, address: &str) -> String {
        format!(
            "\"{HERITAGE},infra:stack={},infra:address={address}\"",
            self.stack
        )
    }

    /// The live record matching `attrs`' identity in `sets`, with its owner.
    fn find(
        &self,
        sets: &[ResourceRecordSet],
        zone: &str,
        attrs: &BTreeMap<String, Value>,
    ) -> Option<Live> {
        let name = dns_key(attrs.get("name")?.as_str()?);
        let kind = attrs.get("type")?.as_str()?;
        let id = attrs.get("set-identifier").and_then(Value::as_str);
        let set = sets.iter().find(|s| {
            dns_key(&unescape(s.name())) == name
                && s.r#type().as_str() == kind
                && s.set_identifier() == id
        })?;
        Some(live_record(set, zone, sets))
    }

    async fn change(&self, zone: &str, changes: Vec<Change>) -> Result<(), ProviderError> {
        let batch = ChangeBatch::builder()
            .set_changes(Some(changes))
            .comment("infra")
            .build()
            .map_err(build("ChangeResourceRecordSets"))?;
        self.client
            .change_resource_record_sets()
            .hosted_zone_id(zone)
            .change_batch(batch)
            .send()
            .await
            .map_err(aws("ChangeResourceRecordSets"))?;
        Ok(())
    }
}

fn dedupe(sets: Vec<ResourceRecordSet>) -> Vec<ResourceRecordSet> {
    let mut out: Vec<ResourceRecordSet> = Vec::new();
    for set in sets {
        if !out.iter().any(|s| {
            s.name() == set.name()
                && s.r#type() == set.r#type()
                && s.set_identifier() == set.set_identifier()
        }) {
            out.push(set);
        }
    }
    out
}

/// Route53 returns some characters as octal escapes (`\052` for `*`).
fn unescape(name: &str) -> String {
    let mut out = String::new();
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let digits: String = chars.clone().take(3).collect();
            if digits.len() == 3
                && let Ok(code) = u8::from_str_radix(&digits, 8)
            {
                out.push(code as char);
                chars.nth(2);
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// The name of the TXT record that claims a record.
fn claim_name(name: &str, kind: &str, set_identifier: Option<&str>) -> String {
    let name = dns_key(name);
    let mut label = format!("_infra-{}", kind.to_ascii_lowercase());
    if let Some(id) = set_identifier {
        let clean: String = id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .take(40)
            .collect();
        label.push('-');
        label.push_str(&clean);
    }
    match name.strip_prefix("*.") {
        Some(rest) => format!("{label}-wildcard.{rest}"),
        None => format!("{label}.{name}"),
    }
}

/// The owner written in a claim's values, if any value is a claim.
fn owner_of(values: &[ResourceRecord]) -> Owner {
    for v in values {
        let text = v.value().trim_matches('"');
        if let Some(rest) = text.strip_prefix(HERITAGE) {
            let field = |key: &str| {
                rest.split(',')
                    .find_map(|p| p.strip_prefix(key))
                    .map(str::to_string)
            };
            if let Some(stack) = field("infra:stack=") {
                return Owner::Stack {
                    stack,
                    address: field("infra:address=").unwrap_or_default(),
                };
            }
        }
    }
    Owner::Nobody
}

fn quoted_types(kind: &str) -> bool {
    matches!(kind, "TXT" | "SPF")
}

fn live_record(set: &ResourceRecordSet, zone: &str, all: &[ResourceRecordSet]) -> Live {
    let name = dns_key(&unescape(set.name()));
    let kind = set.r#type().as_str().to_string();
    let mut a = BTreeMap::new();
    a.insert("zone".into(), Value::String(zone.into()));
    a.insert("name".into(), Value::String(name.clone()));
    a.insert("type".into(), Value::String(kind.clone()));
    if let Some(ttl) = set.ttl() {
        a.insert("ttl".into(), Value::Int(ttl));
    }
    if !set.resource_records().is_empty() {
        let values = set
            .resource_records()
            .iter()
            .map(|r| {
                let v = r.value();
                let simple = v.len() >= 2
                    && v.starts_with('"')
                    && v.ends_with('"')
                    && !v[1..v.len() - 1].contains('"');
                Value::String(if quoted_types(&kind) && simple {
                    v[1..v.len() - 1].to_string()
                } else {
                    v.to_string()
                })
            })
            .collect();
        a.insert("values".into(), Value::List(values));
    }
    if let Some(alias) = set.alias_target() {
        let mut m = BTreeMap::new();
        m.insert("dns-name".into(), Value::String(alias.dns_name().into()));
        m.insert(
            "zone-id".into(),
            Value::String(alias.hosted_zone_id().into()),
        );
        m.insert(
            "evaluate-target-health".into(),
            Value::Bool(alias.evaluate_target_health()),
        );
        a.insert("alias".into(), Value::Map(m));
    }
    if let Some(w) = set.weight() {
        a.insert("weight".into(), Value::Int(w));
    }
    if let Some(id) = set.set_identifier() {
        a.insert("set-identifier".into(), Value::String(id.into()));
    }
    let claim = claim_name(&name, &kind, set.set_identifier());
    let companion = all
        .iter()
        .find(|s| s.r#type() == &RrType::Txt && dns_key(&unescape(s.name())) == claim);
    let mut live = Live::new(
        a,
        companion.map_or(Owner::Nobody, |c| owner_of(c.resource_records())),
    );
    live.computed.insert("fqdn".into(), Value::String(name));
    // What a DELETE must repeat exactly.
    live.private
        .insert("raw-name".into(), Value::String(set.name().into()));
    live.private.insert(
        "raw-values".into(),
        Value::List(
            set.resource_records()
                .iter()
                .map(|r| Value::String(r.value().into()))
                .collect(),
        ),
    );
    if let Some(c) = companion {
        live.private
            .insert("claim-name".into(), Value::String(c.name().into()));
        live.private
            .insert("claim-ttl".into(), Value::Int(c.ttl().unwrap_or(CLAIM_TTL)));
        live.private.insert(
            "claim-values".into(),
            Value::List(
                c.resource_records()
                    .iter()
                    .map(|r| Value::String(r.value().into()))
                    .collect(),
            ),
        );
    }
    live
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// A record set as Route53 takes it, from attributes in schema terms.
fn record_set(
    attrs: &BTreeMap<String, Value>,
    name: &str,
    values: &[String],
) -> Result<ResourceRecordSet, ProviderError> {
    let kind = attrs
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut set = ResourceRecordSet::builder()
        .name(name)
        .r#type(RrType::from(kind))
        .set_set_identifier(
            attrs
                .get("set-identifier")
                .and_then(Value::as_str)
                .map(str::to_string),
        )
        .set_weight(attrs.get("weight").and_then(Value::as_int));
    if let Some(alias) = attrs.get("alias").and_then(Value::as_map) {
        let s = |k: &str| alias.get(k).and_then(Value::as_str).unwrap_or_default();
        set = set.alias_target(
            AliasTarget::builder()
                .dns_name(s("dns-name"))
                .hosted_zone_id(s("zone-id"))
                .evaluate_target_health(
                    alias.get("evaluate-target-health") == Some(&Value::Bool(true)),
                )
                .build()
                .map_err(build("ChangeResourceRecordSets"))?,
        );
    } else {
        set = set.ttl(
            attrs
                .get("ttl")
                .and_then(Value::as_int)
                .unwrap_or(DEFAULT_TTL),
        );
        for v in values {
            set = set.resource_records(
                ResourceRecord::builder()
                    .value(v)
                    .build()
                    .map_err(build("ChangeResourceRecordSets"))?,
            );
        }
    }
    set.build().map_err(build("ChangeResourceRecordSets"))
}

/// Desired values as Route53 stores them (TXT values quoted).
fn wire_values(attrs: &BTreeMap<String, Value>) -> Vec<String> {
    let kind = attrs
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    strings(attrs.get("values"))
        .into_iter()
        .map(|v| {
            if quoted_types(kind) && !v.starts_with('"') {
                format!("\"{}\"", v.replace('"', "\\\""))
            } else {
                v
            }
        })
        .collect()
}

fn claim_set(name: &str, ttl: i64, values: &[String]) -> Result<ResourceRecordSet, ProviderError> {
    let mut set = ResourceRecordSet::builder()
        .name(name)
        .r#type(RrType::Txt)
        .ttl(ttl);
    for v in values {
        set = set.resource_records(
            ResourceRecord::builder()
                .value(v)
                .build()
                .map_err(build("ChangeResourceRecordSets"))?,
        );
    }
    set.build().map_err(build("ChangeResourceRecordSets"))
}

fn change(action: ChangeAction, set: ResourceRecordSet) -> Result<Change, ProviderError> {
    Change::builder()
        .action(action)
        .resource_record_set(set)
        .build()
        .map_err(build("ChangeResourceRecordSets"))
}

fn zone_of(attrs: &BTreeMap<String, Value>) -> Result<String, ProviderError> {
    attrs
        .get("zone")
        .and_then(Value::as_str)
        .map(|z| zone_id(z).to_string())
        .ok_or_else(|| ProviderError::Input("the record's hosted zone is not known".into()))
}

impl Records {
    fn is_ours(&self, live: &Live) -> bool {
        matches!(&live.owner, Owner::Stack { stack, .. } if *stack == self.stack)
    }

    fn claim_change(
        &self,
        action: ChangeAction,
        desired: &Desired,
    ) -> Result<Change, ProviderError> {
        let a = &desired.attrs;
        let name = claim_name(
            a.get("name").and_then(Value::as_str).unwrap_or_default(),
            a.get("type").and_then(Value::as_str).unwrap_or_default(),
            a.get("set-identifier").and_then(Value::as_str),
        );
        change(
            action,
            claim_set(&name, CLAIM_TTL, &[self.claim(&desired.address)])?,
        )
    }
}

impl ResourceKind for Records {
    fn kind(&self) -> Kind {
        Kind::Record
    }

    fn key(&self, attrs: &BTreeMap<String, Value>) -> Option<String> {
        let mut attrs = attrs.clone();
        self.normalize(&mut attrs);
        natural_key(Kind::Record, &attrs)
    }

    fn normalize(&self, attrs: &mut BTreeMap<String, Value>) {
        if let Some(Value::String(zone)) = attrs.get_mut("zone") {
            *zone = zone_id(zone).to_string();
        }
        if let Some(Value::String(name)) = attrs.get_mut("name") {
            *name = dns_key(&unescape(name));
        }
        let kind = attrs
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if let Some(Value::List(values)) = attrs.get_mut("values") {
            for v in values.iter_mut() {
                if let Value::String(s) = v
                    && matches!(kind.as_str(), "CNAME" | "MX" | "NS" | "SRV" | "PTR")
                {
                    *s = s.trim_end_matches('.').to_ascii_lowercase();
                }
            }
            values.sort_by_key(|v| v.to_string());
        }
        // An empty list of values counts as none, as it does in the diff.
        let has_values = attrs
            .get("values")
            .and_then(Value::as_list)
            .is_some_and(|v| !v.is_empty());
        if has_values && !attrs.contains_key("ttl") {
            attrs.insert("ttl".into(), Value::Int(DEFAULT_TTL));
        }
        if let Some(Value::Map(alias)) = attrs.get_mut("alias") {
            if let Some(Value::String(dns)) = alias.get_mut("dns-name") {
                *dns = dns_key(dns);
            }
            alias
                .entry("evaluate-target-health".into())
                .or_insert(Value::Bool(false));
        }
    }

    fn list_owned<'a>(
        &'a self,
        stack: &'a str,
        desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Live>, ProviderError>> {
        Box::pin(async move {
            let mut zones: Vec<String> = desired
                .iter()
                .filter_map(|d| zone_of(&d.attrs).ok())
                .collect();
            zones.sort();
            zones.dedup();
            let mut out = Vec::new();
            for zone in zones {
                let sets = self.zone(&zone).await?;
                for set in &sets {
                    if set.r#type() == &RrType::Txt && dns_key(set.name()).starts_with("_infra-") {
                        continue;
                    }
                    let live = live_record(set, &zone, &sets);
                    if matches!(&live.owner, Owner::Stack { stack: s, .. } if s == stack) {
                        out.push(live);
                    }
                }
            }
            Ok(out)
        })
    }

    fn read<'a>(
        &'a self,
        desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Option<Live>>, ProviderError>> {
        Box::pin(async move {
            let mut out = Vec::new();
            for d in desired {
                let Ok(zone) = zone_of(&d.attrs) else {
                    out.push(None);
                    continue;
                };
                let sets = self.zone(&zone).await?;
                out.push(self.find(&sets, &zone, &d.attrs));
            }
            Ok(out)
        })
    }

    fn create<'a>(&'a self, desired: &'a Desired) -> BoxFuture<'a, Result<Live, ProviderError>> {
        Box::pin(async move {
            let zone = zone_of(&desired.attrs)?;
            let name = desired.str("name").unwrap_or_default();
            let set = record_set(&desired.attrs, name, &wire_values(&desired.attrs))?;
            let changes = vec![
                change(ChangeAction::Create, set.clone())?,
                self.claim_change(ChangeAction::Upsert, desired)?,
            ];
            if let Err(error) = self.change(&zone, changes).await {
                if error.code() != Some("InvalidChangeBatch") {
                    return Err(error);
                }
                // "Already exists": read the zone again. A record that is ours and as wanted
                // (an earlier attempt whose answer was lost) is done; one that is verifiably
                // absent (moto remembers deleted records) is written; anything else is not ours.
                let sets = self.fetch_zone(&zone).await?;
                match self.find(&sets, &zone, &desired.attrs) {
                    Some(live) if self.is_ours(&live) => {}
                    Some(_) => return Err(error),
                    None => {
                        let changes = vec![
                            change(ChangeAction::Upsert, set)?,
                            self.claim_change(ChangeAction::Upsert, desired)?,
                        ];
                        self.change(&zone, changes).await?;
                    }
                }
            }
            let mut live = Live::new(desired.attrs.clone(), Owner::Nobody);
            live.computed
                .insert("fqdn".into(), Value::String(dns_key(name)));
            Ok(live)
        })
    }

    fn update<'a>(
        &'a self,
        desired: &'a Desired,
        live: &'a Live,
    ) -> BoxFuture<'a, Result<Live, ProviderError>> {
        Box::pin(async move {
            let zone = zone_of(&desired.attrs)?;
            let name = desired.str("name").unwrap_or_default();
            let set = record_set(&desired.attrs, name, &wire_values(&desired.attrs))?;
            let changes = vec![
                change(ChangeAction::Upsert, set)?,
                self.claim_change(ChangeAction::Upsert, desired)?,
            ];
            self.change(&zone, changes).await?;
            Ok(Live::converged(desired, live))
        })
    }

    fn delete<'a>(&'a self, live: &'a Live) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let zone = zone_of(&live.attrs)?;
            let raw_name = live
                .private
                .get("raw-name")
                .and_then(Value::as_str)
                .unwrap_or_else(|| live.str("name").unwrap_or_default());
            let values = strings(live.private.get("raw-values"));
            let mut changes = vec![change(
                ChangeAction::Delete,
                record_set(&live.attrs, raw_name, &values)?,
            )?];
            if let Some(claim) = live.private.get("claim-name").and_then(Value::as_str) {
                let ttl = live
                    .private
                    .get("claim-ttl")
                    .and_then(Value::as_int)
                    .unwrap_or(CLAIM_TTL);
                let values = strings(live.private.get("claim-values"));
                changes.push(change(
                    ChangeAction::Delete,
                    claim_set(claim, ttl, &values)?,
                )?);
            }
            self.change(&zone, changes).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_sit_beside_the_record_they_claim() {
        assert_eq!(
            claim_name("API.example.com.", "A", None),
            "_infra-a.api.example.com"
        );
        assert_eq!(
            claim_name("api.example.com", "A", Some("Blue #1")),
            "_infra-a-blue--1.api.example.com"
        );
        assert_eq!(
            claim_name("*.example.com", "CNAME", None),
            "_infra-cname-wildcard.example.com"
        );
    }

    #[test]
    fn octal_escapes_are_read_back() {
        assert_eq!(unescape("\\052.example.com."), "*.example.com.");
        assert_eq!(unescape("plain.example.com."), "plain.example.com.");
    }

    #[test]
    fn claims_name_their_owner() {
        let values = [ResourceRecord::builder()
            .value("\"heritage=infra,infra:stack=shop,infra:address=record.api\"")
            .build()
            .expect("value is set")];
        assert_eq!(
            owner_of(&values),
            Owner::Stack {
                stack: "shop".into(),
                address: "record.api".into()
            }
        );
        let other = [ResourceRecord::builder()
            .value("\"v=spf1 -all\"")
            .build()
            .expect("value is set")];
        assert_eq!(owner_of(&other), Owner::Nobody);
    }
}
