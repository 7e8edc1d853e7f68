//! Route53 records, owned through a companion TXT record.
//!
//! Records cannot be tagged, so ownership lives in a TXT record next to each one (the registry
//! pattern of external-dns), the claim: `_infra-a.api.example.com` (with a hash of the set
//! identifier for weighted, latency, ... sets: `_infra-a-3f09c1d2b8e4a7c6.api.example.com`)
//! holds `heritage=infra,infra:stack=shop,infra:region=eu-west-1,infra:address=record.api,
//! infra:set=<hash>,infra:content=<hash>`. A claim counts only when it names exactly the record
//! set it sits beside (name, type and set identifier, hashed in `infra:set`) and that set still
//! holds what infra wrote (`infra:content`): a leftover claim never hands over a record someone
//! made later, and two identifiers that differ only in case or punctuation never share a claim.
//! Route53 is global, so a claim names the region of its stack: the same stack name in another
//! region is another owner.
//!
//! A record is created together with its claim in one atomic change batch; an update deletes
//! the exact old record and claim and creates the new ones in one batch (AWS refuses the batch
//! if either changed since it was read), and a delete does the same without the creates. A
//! whole zone is read in pages of 300 record sets, once per run, and shared by every record in
//! it; the ownership check before a delete reads it again.

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
use crate::providers::Changed;
use crate::providers::{
    BoxFuture, Desired, Live, Owner, PROTECT_TAG, ProviderError, ResourceKind, natural_key,
};

/// The page size ListResourceRecordSets allows at most.
const PAGE: i32 = 300;
/// A page loop that makes no progress stops after this many repeats (moto ignores
/// `StartRecordIdentifier`, which would otherwise loop forever on large weighted sets).
const MAX_PAGES: usize = 10_000;
/// TTL of the ownership records.
const CLAIM_TTL: i64 = 300;
const HERITAGE: &str = "heritage=infra";

type Zone = Arc<OnceCell<Vec<ResourceRecordSet>>>;

/// The longest string a TXT record value may hold; longer claims are split into several.
const TXT_STRING: usize = 255;

pub struct Records {
    client: Client,
    stack: String,
    /// The stack's region: Route53 is global, so a claim says which region's stack it is.
    region: String,
    zones: Mutex<HashMap<String, Zone>>,
}

impl Records {
    pub fn new(client: Client, stack: String, region: String) -> Self {
        Records {
            client,
            stack,
            region,
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

    /// The claim of `desired` as it must be written: the TXT value, in strings of at most 255
    /// characters.
    fn claim(&self, desired: &Desired) -> String {
        let mut attrs = desired.attrs.clone();
        self.normalize(&mut attrs);
        let mut text = format!(
            "{HERITAGE},infra:stack={},infra:region={},infra:address={},infra:set={},infra:content={}",
            self.stack,
            self.region,
            crate::model::address::to_tag(&desired.address),
            set_hash(&attrs),
            content_hash(&attrs)
        );
        if desired.protected {
            text.push_str(&format!(",{PROTECT_TAG}=true"));
        }
        txt_value(&text)
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
        Some(self.live_record(set, zone, sets))
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

/// The name of the TXT record that claims a record set: its type and, for a set with an
/// identifier, a hash of the identifier exactly as written (identifiers are case-sensitive and
/// may hold any character; DNS labels are neither).
fn claim_name(name: &str, kind: &str, set_identifier: Option<&str>) -> String {
    let name = dns_key(name);
    let mut label = format!("_infra-{}", kind.to_ascii_lowercase());
    if let Some(id) = set_identifier {
        label.push('-');
        label.push_str(&short_hash(id));
    }
    match name.strip_prefix("*.") {
        Some(rest) => format!("{label}-wildcard.{rest}"),
        None => format!("{label}.{name}"),
    }
}

/// 16 hex digits of the SHA-256 of `text`.
fn short_hash(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Which record set a claim covers: name, type and set identifier, exactly (normalised
/// attributes).
fn set_hash(attrs: &BTreeMap<String, Value>) -> String {
    let s = |k: &str| attrs.get(k).and_then(Value::as_str).unwrap_or_default();
    short_hash(&format!(
        "{}|{}|{}",
        dns_key(s("name")),
        s("type"),
        s("set-identifier")
    ))
}

/// The prefix of an alias target's name that also answers IPv6 (`dualstack.<load balancer>`).
const DUALSTACK: &str = "dualstack.";

/// The desired attributes to write over `live`: an alias to the same target as the live one,
/// which AWS names `dualstack.<name>`, keeps that name, so that rewriting the record for
/// another reason does not drop its IPv6 answers.
fn keeping_dualstack(
    desired: &BTreeMap<String, Value>,
    live: &BTreeMap<String, Value>,
) -> BTreeMap<String, Value> {
    let dns = |m: &BTreeMap<String, Value>| {
        m.get("alias")
            .and_then(Value::as_map)
            .and_then(|a| a.get("dns-name"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let mut out = desired.clone();
    let (Some(want), Some(have)) = (dns(desired), dns(live)) else {
        return out;
    };
    let have_key = dns_key(&have);
    let same_target = have_key.strip_prefix(DUALSTACK) == Some(dns_key(&want).as_str());
    if same_target && let Some(Value::Map(alias)) = out.get_mut("alias") {
        alias.insert("dns-name".into(), Value::String(have));
    }
    out
}

/// What the record set holds (normalised attributes): its values, or its alias target. A
/// claim whose record no longer holds this was written for another record.
fn content_hash(attrs: &BTreeMap<String, Value>) -> String {
    if let Some(alias) = attrs.get("alias").and_then(Value::as_map) {
        let dns = alias
            .get("dns-name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let dns = dns.trim_end_matches('.').to_ascii_lowercase();
        return short_hash(&format!(
            "alias|{}",
            dns.strip_prefix(DUALSTACK).unwrap_or(&dns)
        ));
    }
    // Compared leniently (quoting, case and trailing dots aside), so that only a real change
    // of what the record answers counts.
    let kind = attrs
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut values: Vec<String> = strings(attrs.get("values"))
        .into_iter()
        .map(|v| {
            let v = if quoted_types(kind) { txt_text(&v) } else { v };
            v.trim_end_matches('.').to_ascii_lowercase()
        })
        .collect();
    values.sort();
    short_hash(&format!("values|{}", values.join("\n")))
}

/// A TXT value of one or more quoted strings, each at most 255 characters.
fn txt_value(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    chars
        .chunks(TXT_STRING)
        .map(|c| format!("\"{}\"", c.iter().collect::<String>()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The strings of a TXT value, joined: `"a" "b"` is `ab`.
fn txt_text(value: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match (c, inside) {
            ('"', _) => inside = !inside,
            ('\\', true) => out.extend(chars.next()),
            (c, true) => out.push(c),
            (_, false) => {}
        }
    }
    if !value.contains('"') {
        return value.to_string();
    }
    out
}

/// What a claim says, field by field.
#[derive(Debug, Default, PartialEq, Eq)]
struct Claim {
    stack: String,
    region: Option<String>,
    address: String,
    set: Option<String>,
    content: Option<String>,
    protected: bool,
}

/// The claim written in a TXT record's values, if any value is one.
fn parse_claim(values: &[ResourceRecord]) -> Option<Claim> {
    for v in values {
        let text = txt_text(v.value());
        let Some(rest) = text.strip_prefix(HERITAGE) else {
            continue;
        };
        let field = |key: &str| {
            rest.split(',')
                .find_map(|p| p.strip_prefix(key))
                .map(str::to_string)
        };
        return Some(Claim {
            stack: field("infra:stack=")?,
            region: field("infra:region="),
            address: field("infra:address=")
                .map(|a| crate::model::address::from_tag(&a))
                .unwrap_or_default(),
            set: field("infra:set="),
            content: field("infra:content="),
            protected: field(&format!("{PROTECT_TAG}=")).as_deref() == Some("true"),
        });
    }
    None
}

fn quoted_types(kind: &str) -> bool {
    matches!(kind, "TXT" | "SPF")
}

/// A record set as infra reads it: attributes in schema terms, the name and values a DELETE
/// must repeat exactly, and its companion claim, if any.
fn record_live(
    set: &ResourceRecordSet,
    zone: &str,
    all: &[ResourceRecordSet],
) -> (Live, Option<Claim>) {
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
    let claim = companion.and_then(|c| parse_claim(c.resource_records()));
    let mut live = Live::new(a, Owner::Nobody);
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
    (live, claim)
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

    /// A live record set, owned by what its claim says when the claim holds: it names exactly
    /// this record set, which still holds what its stack wrote. A stack of the same name in
    /// another region is another owner (`shop@us-east-1`).
    fn live_record(&self, set: &ResourceRecordSet, zone: &str, all: &[ResourceRecordSet]) -> Live {
        let (mut live, claim) = record_live(set, zone, all);
        let Some(claim) = claim else {
            return live;
        };
        let mut attrs = live.attrs.clone();
        self.normalize(&mut attrs);
        let by = format!("stack `{}` (`{}`)", claim.stack, claim.address);
        let region = match &claim.region {
            Some(region) if claim.set.is_some() => region,
            _ => {
                live.note = Some(format!(
                    "its claim by {by} was written by an earlier version of infra and does not \
                     say which region's stack wrote it, nor exactly which record set it covers"
                ));
                return live;
            }
        };
        if claim.set.as_deref() != Some(set_hash(&attrs).as_str()) {
            live.note = Some(format!("its claim by {by} names another record set"));
            return live;
        }
        if claim.content.as_deref() != Some(content_hash(&attrs).as_str()) {
            live.note = Some(format!(
                "it no longer holds what {by} wrote: someone changed it since, so it may not be \
                 that stack's any more"
            ));
            return live;
        }
        live.owner = Owner::Stack {
            stack: if *region == self.region {
                claim.stack
            } else {
                format!("{}@{region}", claim.stack)
            },
            address: claim.address,
        };
        if claim.protected {
            live.private.insert(PROTECT_TAG.into(), Value::Bool(true));
        }
        live
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
        change(action, claim_set(&name, CLAIM_TTL, &[self.claim(desired)])?)
    }

    /// The changes that delete `live` and its claim exactly as they were read: AWS refuses the
    /// whole batch if either changed since.
    fn deletions(&self, live: &Live) -> Result<Vec<Change>, ProviderError> {
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
        Ok(changes)
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
            // `dualstack.<name>` is the load balancer `<name>` names (the form the console
            // writes, and the one that answers IPv6 too): the same target either way.
            if let Some(Value::String(dns)) = alias.get_mut("dns-name") {
                let key = dns_key(dns);
                *dns = key.strip_prefix(DUALSTACK).unwrap_or(&key).to_string();
            }
            alias
                .entry("evaluate-target-health".into())
                .or_insert(Value::Bool(false));
        }
    }

    /// A record at the same name with another type cannot be created first when either is a
    /// CNAME (a CNAME shares its name with nothing).
    fn coexists(&self, old: &BTreeMap<String, Value>, new: &BTreeMap<String, Value>) -> bool {
        let name = |a: &BTreeMap<String, Value>| a.get("name").and_then(Value::as_str).map(dns_key);
        let cname =
            |a: &BTreeMap<String, Value>| a.get("type").and_then(Value::as_str) == Some("CNAME");
        name(old) != name(new) || !(cname(old) || cname(new))
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
                    let live = self.live_record(set, &zone, &sets);
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
        _changed: &'a Changed,
    ) -> BoxFuture<'a, Result<Live, ProviderError>> {
        Box::pin(async move {
            let zone = zone_of(&desired.attrs)?;
            let name = desired.str("name").unwrap_or_default();
            let attrs = keeping_dualstack(&desired.attrs, &live.attrs);
            let set = record_set(&attrs, name, &wire_values(&attrs))?;
            // Never an UPSERT: the exact old record and claim are deleted in the same batch, so
            // a record someone changed since the plan read it is not overwritten.
            let mut changes = self.deletions(live)?;
            changes.push(change(ChangeAction::Create, set.clone())?);
            changes.push(self.claim_change(ChangeAction::Create, desired)?);
            match self.change(&zone, changes).await {
                Ok(()) => {}
                // AWS deletes, then creates, within one batch. The emulator checks a CREATE
                // against every CREATE it ever saw, before the DELETE: where the record is
                // still exactly as read, it is written in place.
                Err(error)
                    if error.code() == Some("InvalidChangeBatch")
                        && error.to_string().contains("already exists") =>
                {
                    let sets = self.fetch_zone(&zone).await?;
                    let unchanged = self.find(&sets, &zone, &live.attrs).is_some_and(|now| {
                        now.owner == live.owner
                            && now.private.get("raw-values") == live.private.get("raw-values")
                            && now.private.get("claim-values") == live.private.get("claim-values")
                    });
                    if !unchanged {
                        return Err(error);
                    }
                    let changes = vec![
                        change(ChangeAction::Upsert, set)?,
                        self.claim_change(ChangeAction::Upsert, desired)?,
                    ];
                    self.change(&zone, changes).await?;
                }
                Err(error) => return Err(error),
            }
            Ok(Live::converged(desired, live))
        })
    }

    fn delete<'a>(&'a self, live: &'a Live) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let zone = zone_of(&live.attrs)?;
            self.change(&zone, self.deletions(live)?).await
        })
    }

    fn owner_now<'a>(
        &'a self,
        live: &'a Live,
    ) -> BoxFuture<'a, Result<Option<Owner>, ProviderError>> {
        Box::pin(async move {
            let zone = zone_of(&live.attrs)?;
            // Past this run's copy of the zone: read it again.
            let sets = self.fetch_zone(&zone).await?;
            Ok(self.find(&sets, &zone, &live.attrs).map(|l| l.owner))
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
            claim_name("*.example.com", "CNAME", None),
            "_infra-cname-wildcard.example.com"
        );
        let weighted = claim_name("api.example.com", "A", Some("Blue #1"));
        assert!(weighted.starts_with("_infra-a-"), "{weighted}");
        assert!(weighted.ends_with(".api.example.com"), "{weighted}");
    }

    /// Identifiers that a lossy transform would merge (case, punctuation, a long common
    /// prefix) each get a claim of their own.
    #[test]
    fn set_identifiers_that_look_alike_never_share_a_claim() {
        let ids = [
            "Blue_1",
            "blue-1",
            "blue_1",
            "BLUE-1",
            "blue 1",
            &format!("{}-a", "x".repeat(40)),
            &format!("{}-b", "x".repeat(40)),
        ];
        let names: std::collections::BTreeSet<String> = ids
            .iter()
            .map(|id| claim_name("api.example.com", "A", Some(id)))
            .collect();
        assert_eq!(names.len(), ids.len(), "{names:?}");
        for name in &names {
            let label = name.split('.').next().unwrap_or_default();
            assert!(label.len() <= 63, "{label}");
        }
    }

    fn alias(dns: &str, evaluate: bool) -> BTreeMap<String, Value> {
        BTreeMap::from([
            ("name".to_string(), Value::String("api.example.com".into())),
            ("type".to_string(), Value::String("A".into())),
            (
                "alias".to_string(),
                Value::Map(BTreeMap::from([
                    ("dns-name".to_string(), Value::String(dns.into())),
                    (
                        "zone-id".to_string(),
                        Value::String("Z35SXDOTRQ7X7K".into()),
                    ),
                    ("evaluate-target-health".to_string(), Value::Bool(evaluate)),
                ])),
            ),
        ])
    }

    #[test]
    fn an_alias_with_or_without_dualstack_is_the_same_target_and_keeps_aws_form() {
        let lb = "shop-123.us-east-1.elb.amazonaws.com";
        let aws = "dualstack.shop-123.us-east-1.elb.amazonaws.com.";
        let records = Records::new(
            aws_sdk_route53::Client::from_conf(
                aws_sdk_route53::Config::builder()
                    .behavior_version(aws_sdk_route53::config::BehaviorVersion::latest())
                    .build(),
            ),
            "s".into(),
            "us-east-1".into(),
        );
        let (mut d, mut l) = (alias(lb, true), alias(aws, true));
        records.normalize(&mut d);
        records.normalize(&mut l);
        assert_eq!(d, l);
        // Rewritten for another reason, the record keeps the name AWS gave it.
        let written = keeping_dualstack(&alias(lb, false), &alias(aws, true));
        assert_eq!(written, alias(aws, false));
        // Another target is written as the stack says.
        let other = "other-9.us-east-1.elb.amazonaws.com";
        assert_eq!(
            keeping_dualstack(&alias(other, true), &alias(aws, true)),
            alias(other, true)
        );
    }

    #[test]
    fn octal_escapes_are_read_back() {
        assert_eq!(unescape("\\052.example.com."), "*.example.com.");
        assert_eq!(unescape("plain.example.com."), "plain.example.com.");
    }

    fn value(text: &str) -> [ResourceRecord; 1] {
        [ResourceRecord::builder()
            .value(text)
            .build()
            .expect("value is set")]
    }

    #[test]
    fn claims_are_read_field_by_field_across_strings() {
        let long = txt_value(&format!(
            "{HERITAGE},infra:stack=shop,infra:region=eu-west-1,infra:address=module.{}.record.api,\
             infra:set=0011223344556677,infra:content=8899aabbccddeeff,{PROTECT_TAG}=true",
            "m".repeat(300)
        ));
        assert!(long.matches('"').count() >= 4, "split into strings: {long}");
        let claim = parse_claim(&value(&long)).expect("a claim");
        assert_eq!(claim.stack, "shop");
        assert_eq!(claim.region.as_deref(), Some("eu-west-1"));
        assert!(claim.address.ends_with(".record.api"));
        assert_eq!(claim.set.as_deref(), Some("0011223344556677"));
        assert_eq!(claim.content.as_deref(), Some("8899aabbccddeeff"));
        assert!(claim.protected);
        assert_eq!(parse_claim(&value("\"v=spf1 -all\"")), None);
    }

    fn records() -> Records {
        let config = aws_sdk_route53::Config::builder()
            .behavior_version(aws_sdk_route53::config::BehaviorVersion::latest())
            .build();
        Records::new(Client::from_conf(config), "shop".into(), "eu-west-1".into())
    }

    fn set(name: &str, id: Option<&str>, values: &[&str]) -> ResourceRecordSet {
        let mut b = ResourceRecordSet::builder()
            .name(name)
            .r#type(RrType::A)
            .ttl(60)
            .set_set_identifier(id.map(str::to_string))
            .set_weight(id.map(|_| 10));
        for v in values {
            b = b.resource_records(ResourceRecord::builder().value(*v).build().expect("value"));
        }
        b.build().expect("a record set")
    }

    /// The claim stack `stack` of `region` writes for `record`.
    fn claim_for(stack: &str, region: &str, record: &ResourceRecordSet) -> ResourceRecordSet {
        let (live, _) = record_live(record, "Z1", &[]);
        let desired = Desired {
            address: "record.api".into(),
            attrs: live.attrs,
            protected: false,
            pending: BTreeMap::new(),
        };
        let writer = Records {
            stack: stack.into(),
            region: region.into(),
            ..records()
        };
        let text = txt_text(&writer.claim(&desired));
        let name = claim_name(record.name(), "A", record.set_identifier());
        claim_set(&name, 300, &[txt_value(&text)]).expect("a claim")
    }

    #[test]
    fn a_claim_counts_only_for_its_own_set_its_own_content_and_its_own_region() {
        let r = records();
        let record = set("api.example.com.", None, &["192.0.2.1"]);
        let ours = claim_for("shop", "eu-west-1", &record);
        let live = r.live_record(&record, "Z1", &[record.clone(), ours.clone()]);
        assert_eq!(
            live.owner,
            Owner::Stack {
                stack: "shop".into(),
                address: "record.api".into()
            }
        );
        // The same stack name in another region is another owner.
        let theirs = claim_for("shop", "us-east-1", &record);
        let live = r.live_record(&record, "Z1", &[record.clone(), theirs]);
        assert_eq!(
            live.owner,
            Owner::Stack {
                stack: "shop@us-east-1".into(),
                address: "record.api".into()
            }
        );
        // A claim left behind: the record someone made since holds something else.
        let replaced = set("api.example.com.", None, &["198.51.100.7"]);
        let live = r.live_record(&replaced, "Z1", &[replaced.clone(), ours]);
        assert_eq!(live.owner, Owner::Nobody);
        assert!(live.note.is_some_and(|n| n.contains("changed")));
    }

    #[test]
    fn an_earlier_claim_without_region_or_set_is_not_ownership() {
        let r = records();
        let record = set("api.example.com.", None, &["192.0.2.1"]);
        let legacy = claim_set(
            "_infra-a.api.example.com",
            300,
            &["\"heritage=infra,infra:stack=shop,infra:address=record.api\"".into()],
        )
        .expect("a claim");
        let live = r.live_record(&record, "Z1", &[record.clone(), legacy]);
        assert_eq!(live.owner, Owner::Nobody);
        assert!(live.note.is_some_and(|n| n.contains("earlier version")));
    }
}
