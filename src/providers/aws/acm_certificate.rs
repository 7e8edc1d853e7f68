//! ACM certificates the stack requests (`certificate "web" { domain-name "example.com" ... }`),
//! validated through DNS records infra writes in one of the stack's hosted zones; the look-up
//! of an existing certificate is `certificate.rs`.
//!
//! ACM certificates have no name, so ownership is everything: the ownership tags go in the
//! request itself, the stack's certificates are listed from the shared tag index, and a
//! certificate is read by its domain and then its tags, so that one for the same domain that
//! the stack does not own is never read as the stack's (nor adopted, changed or deleted). ACM
//! does not know the zone the validation records went to: infra records it in one more tag,
//! [`ZONE_TAG`], which the plan shows as the `zone` attribute and never as a tag.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_acm::types::{CertificateDetail, CertificateStatus, Tag, ValidationMethod};
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};
use sha2::{Digest, Sha256};

use super::error::aws;
use super::hosted_zone::{dns_key, zone_id};
use super::kit;
use super::tagging::OwnedIndex;
use crate::model::{Kind, Value};
use crate::providers::{
    ADDRESS_TAG, BoxFuture, Changed, Desired, Live, Owner, ProviderError, ResourceKind, STACK_TAG,
    client_token, desired_tags, owner_from_tags, tags_value,
};

/// The tag that records the hosted zone the validation records were written to.
pub const ZONE_TAG: &str = "infra:validation-zone";

/// TTL of the validation records.
const RECORD_TTL: i64 = 300;

/// How often a wait asks ACM again unless `INFRA_POLL_INTERVAL_MS` says otherwise.
const POLL: Duration = Duration::from_secs(5);

/// How long a new certificate may take to name its validation records (ACM takes seconds).
const RECORDS_WAIT: Duration = Duration::from_secs(300);

/// ListTagsForCertificate calls a read sends at once.
const TAG_READS: usize = 10;

/// A validation record: its name and the CNAME's value.
pub type Record = (String, String);

pub struct AcmCertificates {
    acm: aws_sdk_acm::Client,
    route53: aws_sdk_route53::Client,
    owned: Arc<OwnedIndex>,
    stack: String,
}

impl AcmCertificates {
    pub fn new(
        acm: aws_sdk_acm::Client,
        route53: aws_sdk_route53::Client,
        owned: Arc<OwnedIndex>,
        stack: String,
    ) -> Self {
        AcmCertificates {
            acm,
            route53,
            owned,
            stack,
        }
    }

    /// The certificate, or `None` when ACM no longer has it.
    async fn describe(&self, arn: &str) -> Result<Option<CertificateDetail>, ProviderError> {
        match self
            .acm
            .describe_certificate()
            .certificate_arn(arn)
            .send()
            .await
        {
            Ok(out) => Ok(out.certificate().cloned()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(aws("DescribeCertificate")(e)),
        }
    }

    /// The certificate's tags, or `None` when ACM no longer has it.
    async fn tags(&self, arn: &str) -> Result<Option<BTreeMap<String, String>>, ProviderError> {
        match self
            .acm
            .list_tags_for_certificate()
            .certificate_arn(arn)
            .send()
            .await
        {
            Ok(out) => Ok(Some(
                out.tags()
                    .iter()
                    .map(|t| {
                        (
                            t.key().to_string(),
                            t.value().unwrap_or_default().to_string(),
                        )
                    })
                    .collect(),
            )),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(aws("ListTagsForCertificate")(e)),
        }
    }

    /// The ARNs of every certificate of `domain` in the region, whatever its status or key.
    async fn of_domain(&self, domain: &str) -> Result<Vec<String>, ProviderError> {
        let all = super::certificate::every_certificate(&self.acm).await?;
        Ok(all
            .iter()
            .filter(|c| {
                c.domain_name()
                    .is_some_and(|d| dns_key(d) == dns_key(domain))
            })
            .filter_map(|c| c.certificate_arn().map(str::to_string))
            .collect())
    }

    /// The certificate as a live resource, `None` when ACM no longer has it.
    async fn live(
        &self,
        arn: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<Option<Live>, ProviderError> {
        Ok(self.describe(arn).await?.map(|d| live_of(&d, tags)))
    }

    /// Asks ACM until every name of the certificate has its validation record.
    async fn records(&self, arn: &str) -> Result<Vec<Record>, ProviderError> {
        let started = Instant::now();
        loop {
            let detail = self
                .describe(arn)
                .await?
                .ok_or_else(|| ProviderError::NotFound(format!("the certificate {arn} is gone")))?;
            if let Some(records) = validation_records(&detail) {
                return Ok(records);
            }
            if started.elapsed() > RECORDS_WAIT {
                return Err(ProviderError::TimedOut(format!(
                    "ACM named no DNS validation records for the certificate {arn} within {} \
                     seconds; apply again to wait again",
                    RECORDS_WAIT.as_secs()
                )));
            }
            tokio::time::sleep(poll_interval()).await;
        }
    }

    /// Writes (UPSERTs) the validation records in `zone`, in one change batch.
    async fn write_records(&self, zone: &str, records: &[Record]) -> Result<(), ProviderError> {
        let changes = records
            .iter()
            .map(|(name, value)| change(ChangeAction::Upsert, name, value))
            .collect::<Result<Vec<_>, _>>()?;
        self.change(zone, changes).await
    }

    /// Deletes the validation records from `zone` that still hold ACM's value; a record someone
    /// changed since, or a zone that is gone, is left alone.
    async fn delete_records(&self, zone: &str, records: &[Record]) -> Result<(), ProviderError> {
        let mut changes = Vec::new();
        for (name, value) in records {
            let found = self
                .route53
                .list_resource_record_sets()
                .hosted_zone_id(zone)
                .start_record_name(name)
                .start_record_type(RrType::Cname)
                .max_items(1)
                .send()
                .await;
            let page = match found {
                Ok(page) => page,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_no_such_hosted_zone()) =>
                {
                    return Ok(());
                }
                Err(e) => return Err(aws("ListResourceRecordSets")(e)),
            };
            let ours = page.resource_record_sets().iter().find(|set| {
                dns_key(set.name()) == dns_key(name)
                    && *set.r#type() == RrType::Cname
                    && set.set_identifier().is_none()
                    && set.resource_records().len() == 1
                    && dns_key(set.resource_records()[0].value()) == dns_key(value)
            });
            if let Some(set) = ours {
                let delete = Change::builder()
                    .action(ChangeAction::Delete)
                    .resource_record_set(set.clone())
                    .build()
                    .map_err(built)?;
                changes.push(delete);
            }
        }
        self.change(zone, changes).await
    }

    async fn change(&self, zone: &str, changes: Vec<Change>) -> Result<(), ProviderError> {
        if changes.is_empty() {
            return Ok(());
        }
        let batch = ChangeBatch::builder()
            .comment("DNS validation of an ACM certificate (infra)")
            .set_changes(Some(changes))
            .build()
            .map_err(built)?;
        self.route53
            .change_resource_record_sets()
            .hosted_zone_id(zone)
            .change_batch(batch)
            .send()
            .await
            .map_err(aws("ChangeResourceRecordSets"))?;
        Ok(())
    }

    /// Asks for the validation records and writes them in the desired zone.
    async fn validate(&self, arn: &str, desired: &Desired) -> Result<(), ProviderError> {
        let zone = zone_of(&desired.attrs)?;
        let records = self.records(arn).await?;
        self.write_records(&zone, &records).await
    }

    async fn retag(&self, arn: &str, desired: &Desired, live: &Live) -> Result<(), ProviderError> {
        kit::retag(
            &with_zone_tag(&desired.attrs),
            &with_zone_tag(&live.attrs),
            &[],
            |keys| async move {
                let tags = keys
                    .into_iter()
                    .map(|k| Tag::builder().key(k).build().map_err(built))
                    .collect::<Result<Vec<_>, _>>()?;
                self.acm
                    .remove_tags_from_certificate()
                    .certificate_arn(arn)
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map_err(aws("RemoveTagsFromCertificate"))?;
                Ok(())
            },
            |pairs| async move {
                self.acm
                    .add_tags_to_certificate()
                    .certificate_arn(arn)
                    .set_tags(Some(acm_tags(pairs)?))
                    .send()
                    .await
                    .map_err(aws("AddTagsToCertificate"))?;
                Ok(())
            },
        )
        .await
    }
}

fn built(e: impl std::fmt::Display) -> ProviderError {
    ProviderError::Input(format!("a request could not be built: {e}"))
}

fn change(action: ChangeAction, name: &str, value: &str) -> Result<Change, ProviderError> {
    let set = ResourceRecordSet::builder()
        .name(name)
        .r#type(RrType::Cname)
        .ttl(RECORD_TTL)
        .resource_records(
            ResourceRecord::builder()
                .value(value)
                .build()
                .map_err(built)?,
        )
        .build()
        .map_err(built)?;
    Change::builder()
        .action(action)
        .resource_record_set(set)
        .build()
        .map_err(built)
}

fn acm_tags(pairs: Vec<(String, String)>) -> Result<Vec<Tag>, ProviderError> {
    pairs
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build().map_err(built))
        .collect()
}

fn poll_interval() -> Duration {
    std::env::var("INFRA_POLL_INTERVAL_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(POLL, Duration::from_millis)
}

/// The hosted zone id the desired certificate's records go to.
fn zone_of(attrs: &BTreeMap<String, Value>) -> Result<String, ProviderError> {
    attrs
        .get("zone")
        .and_then(Value::as_str)
        .map(|z| zone_id(z).to_string())
        .ok_or_else(|| ProviderError::Input("the certificate's zone is not known".into()))
}

/// Attributes whose tags also hold [`ZONE_TAG`] with the `zone`, as ACM keeps them.
fn with_zone_tag(attrs: &BTreeMap<String, Value>) -> BTreeMap<String, Value> {
    let mut tags = attrs
        .get("tags")
        .and_then(Value::as_map)
        .cloned()
        .unwrap_or_default();
    if let Some(zone) = attrs.get("zone").and_then(Value::as_str) {
        tags.insert(ZONE_TAG.into(), Value::String(zone_id(zone).to_string()));
    }
    BTreeMap::from([("tags".to_string(), Value::Map(tags))])
}

/// The validation records ACM asks for, one per record name (a wildcard and its apex share
/// one); `None` while some name has none yet.
pub fn validation_records(detail: &CertificateDetail) -> Option<Vec<Record>> {
    let options = detail.domain_validation_options();
    if options.is_empty() {
        return None;
    }
    let pairs = options
        .iter()
        .map(|o| {
            o.resource_record()
                .map(|r| (r.name().to_string(), r.value().to_string()))
        })
        .collect::<Option<Vec<_>>>()?;
    Some(unique_records(pairs))
}

/// Records by name, once each, in name order.
pub fn unique_records(pairs: Vec<Record>) -> Vec<Record> {
    let mut by_name: BTreeMap<String, Record> = BTreeMap::new();
    for (name, value) in pairs {
        by_name.entry(dns_key(&name)).or_insert((name, value));
    }
    by_name.into_values().collect()
}

/// The live certificate in schema terms: `zone` from [`ZONE_TAG`], which `tags` leaves out.
fn live_of(detail: &CertificateDetail, tags: &BTreeMap<String, String>) -> Live {
    let mut attrs = BTreeMap::new();
    let domain = detail.domain_name().unwrap_or_default();
    attrs.insert("domain-name".into(), Value::String(domain.to_string()));
    // ACM lists the domain name among the alternative names.
    let sans: Vec<Value> = detail
        .subject_alternative_names()
        .iter()
        .filter(|n| dns_key(n) != dns_key(domain))
        .map(|n| Value::String(n.clone()))
        .collect();
    if !sans.is_empty() {
        attrs.insert("subject-alternative-names".into(), Value::List(sans));
    }
    if let Some(zone) = tags.get(ZONE_TAG) {
        attrs.insert("zone".into(), Value::String(zone.clone()));
    }
    let pairs = tags
        .iter()
        .filter(|(k, _)| k.as_str() != ZONE_TAG)
        .map(|(k, v)| (k.as_str(), v.as_str()));
    attrs.insert("tags".into(), tags_value(pairs.clone()));
    let mut live = Live::new(attrs, owner_from_tags(pairs));
    if let Some(arn) = detail.certificate_arn() {
        live.computed
            .insert("arn".into(), Value::String(arn.into()));
    }
    live.computed.insert(
        "status".into(),
        Value::String(detail.status().map_or("UNKNOWN", |s| s.as_str()).into()),
    );
    live
}

/// The idempotency token of a certificate request: the same for a request tried again within
/// this run (ACM then answers with the certificate it made), different for another stack,
/// address, set of names or run (a certificate requested again after a replacement or a
/// destroy is a new one). ACM takes 32 word characters.
fn idempotency_token(stack: &str, address: &str, names: &[&str]) -> String {
    let seed = format!(
        "{stack}|{address}|{}|{}",
        client_token(address),
        names.join(",")
    );
    let digest = Sha256::digest(seed.as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Who the tags say owns a certificate: `stack|address`, the key the stack's certificates are
/// matched by (they have no name).
fn owner_key(attrs: &BTreeMap<String, Value>) -> Option<String> {
    let tags = attrs.get("tags")?.as_map()?;
    let stack = tags.get(STACK_TAG)?.as_str()?;
    let address = tags.get(ADDRESS_TAG)?.as_str()?;
    Some(format!("{stack}|{address}"))
}

/// What a status means for a wait: `Ok(true)` issued, `Ok(false)` not yet, `Err` never.
fn settled(status: &CertificateStatus) -> Result<bool, ()> {
    match status {
        CertificateStatus::Issued => Ok(true),
        CertificateStatus::PendingValidation => Ok(false),
        _ => Err(()),
    }
}

impl ResourceKind for AcmCertificates {
    fn kind(&self) -> Kind {
        Kind::Certificate
    }

    fn key(&self, attrs: &BTreeMap<String, Value>) -> Option<String> {
        owner_key(attrs)
    }

    fn normalize(&self, attrs: &mut BTreeMap<String, Value>) {
        if let Some(Value::String(name)) = attrs.get_mut("domain-name") {
            *name = dns_key(name);
        }
        if let Some(Value::String(zone)) = attrs.get_mut("zone") {
            *zone = zone_id(zone).to_string();
        }
        let mut empty = false;
        if let Some(Value::List(names)) = attrs.get_mut("subject-alternative-names") {
            // Names not known yet stay as written.
            if names.iter().all(|n| n.as_str().is_some()) {
                for name in names.iter_mut() {
                    if let Value::String(s) = name {
                        *s = dns_key(s);
                    }
                }
                names.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            }
            empty = names.is_empty();
        }
        if empty {
            attrs.remove("subject-alternative-names");
        }
    }

    fn prefetch<'a>(&'a self, _stack: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(self.owned.warm_up("acm"))
    }

    fn list_owned<'a>(
        &'a self,
        _stack: &'a str,
        _desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Live>, ProviderError>> {
        Box::pin(async move {
            let owned = self.owned.of("acm", "certificate/").await?;
            let found = futures::future::try_join_all(
                owned
                    .iter()
                    .map(|(_, tagged)| self.live(&tagged.arn, &tagged.tags)),
            )
            .await?;
            Ok(found.into_iter().flatten().collect())
        })
    }

    fn read<'a>(
        &'a self,
        desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Option<Live>>, ProviderError>> {
        Box::pin(async move {
            futures::future::try_join_all(desired.iter().map(|d| async move {
                let Some(domain) = d.str("domain-name") else {
                    return Ok(None);
                };
                let want = Owner::Stack {
                    stack: self.stack.clone(),
                    address: d.address.clone(),
                };
                // Every certificate of the domain, then the one whose tags name this stack
                // and address: a look-alike is never read as the stack's.
                let arns = self.of_domain(domain).await?;
                for chunk in arns.chunks(TAG_READS) {
                    let tags =
                        futures::future::try_join_all(chunk.iter().map(|a| self.tags(a))).await?;
                    for (arn, tags) in chunk.iter().zip(tags) {
                        let Some(tags) = tags else { continue };
                        let owner =
                            owner_from_tags(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                        if owner == want {
                            return self.live(arn, &tags).await;
                        }
                    }
                }
                Ok(None)
            }))
            .await
        })
    }

    fn create<'a>(&'a self, desired: &'a Desired) -> BoxFuture<'a, Result<Live, ProviderError>> {
        Box::pin(async move {
            let domain = desired.str("domain-name").unwrap_or_default();
            let sans: Vec<String> = desired
                .attrs
                .get("subject-alternative-names")
                .and_then(Value::as_list)
                .map(|l| {
                    l.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            let zone = zone_of(&desired.attrs)?;
            let mut tags = desired_tags(&desired.attrs);
            tags.push((ZONE_TAG.into(), zone.clone()));
            let mut names = vec![domain];
            names.extend(sans.iter().map(String::as_str));
            // ACM lists the domain name among the alternative names: sent there too, so that
            // a certificate with alternative names covers its domain name.
            let subject = (!sans.is_empty()).then(|| {
                let mut all = vec![domain.to_string()];
                all.extend(sans.iter().cloned());
                all
            });
            let out = self
                .acm
                .request_certificate()
                .domain_name(domain)
                .validation_method(ValidationMethod::Dns)
                .set_subject_alternative_names(subject)
                .idempotency_token(idempotency_token(&self.stack, &desired.address, &names))
                .set_tags(Some(acm_tags(tags.clone())?))
                .send()
                .await
                .map_err(aws("RequestCertificate"))?;
            let arn = out
                .certificate_arn()
                .ok_or_else(|| {
                    ProviderError::Input("RequestCertificate returned no certificate ARN".into())
                })?
                .to_string();
            self.validate(&arn, desired).await?;
            let mut live = Live::new(
                desired.attrs.clone(),
                owner_from_tags(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            );
            live.computed.insert("arn".into(), Value::String(arn));
            live.computed.insert(
                "status".into(),
                Value::String(CertificateStatus::PendingValidation.as_str().into()),
            );
            Ok(live)
        })
    }

    fn update<'a>(
        &'a self,
        desired: &'a Desired,
        live: &'a Live,
        changed: &'a Changed,
    ) -> BoxFuture<'a, Result<Live, ProviderError>> {
        Box::pin(async move {
            let arn = kit::live_arn(live, "certificate")?;
            let issued = live.computed.get("status").and_then(Value::as_str)
                == Some(CertificateStatus::Issued.as_str());
            // A certificate found rather than planned (its create's answer was lost), or not
            // validated yet, gets its records; a new zone gets them before the old loses them.
            if changed.contains("zone") || !issued {
                self.validate(arn, desired).await?;
            }
            if changed.contains("zone")
                && let (Some(old), Ok(new)) = (live.str("zone"), zone_of(&desired.attrs))
                && zone_id(old) != new
            {
                let records = self.records(arn).await?;
                self.delete_records(zone_id(old), &records).await?;
            }
            if changed.any_of(&["tags", "zone"]) {
                self.retag(arn, desired, live).await?;
            }
            Ok(Live::converged(desired, live))
        })
    }

    fn delete<'a>(&'a self, live: &'a Live) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let arn = kit::live_arn(live, "certificate")?;
            let domain = live.str("domain-name").unwrap_or_default();
            let Some(detail) = self.describe(arn).await? else {
                return Ok(());
            };
            // ACM lists the listeners that use a certificate (`InUseBy`) and clears them a while
            // after they are deleted: a destroy that has just deleted them meets a refusal that
            // goes away, so the delete is tried again for a while before it is an error.
            let records = validation_records(&detail).unwrap_or_default();
            let zone = live.str("zone").map(zone_id);
            if let Some(zone) = zone {
                self.delete_records(zone, &records).await?;
            }
            let mut tries = 0;
            loop {
                let deleted = self
                    .acm
                    .delete_certificate()
                    .certificate_arn(arn)
                    .send()
                    .await;
                match deleted {
                    Ok(_) => return Ok(()),
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|s| s.is_resource_in_use_exception()) =>
                    {
                        tries += 1;
                        if tries < IN_USE_TRIES {
                            tokio::time::sleep(IN_USE_PAUSE).await;
                            continue;
                        }
                        // Put the records back: the certificate stays, and renews through them.
                        if let Some(zone) = zone {
                            self.write_records(zone, &records).await?;
                        }
                        let users = self
                            .describe(arn)
                            .await?
                            .map(|d| d.in_use_by().to_vec())
                            .unwrap_or_default();
                        return Err(in_use_error(domain, arn, &users));
                    }
                    Err(e) => return Err(aws("DeleteCertificate")(e)),
                }
            }
        })
    }

    fn owner_now<'a>(
        &'a self,
        live: &'a Live,
    ) -> BoxFuture<'a, Result<Option<Owner>, ProviderError>> {
        Box::pin(async move {
            let arn = kit::live_arn(live, "certificate")?;
            Ok(self
                .tags(arn)
                .await?
                .map(|tags| owner_from_tags(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))))
        })
    }

    fn wait_stable<'a>(
        &'a self,
        _desired: &'a Desired,
        live: &'a Live,
        timeout: Duration,
        progress: &'a (dyn Fn(String) + Send + Sync),
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let arn = kit::live_arn(live, "certificate")?;
            let domain = live.str("domain-name").unwrap_or_default();
            let started = Instant::now();
            loop {
                let detail = self.describe(arn).await?.ok_or_else(|| {
                    ProviderError::NotFound(format!(
                        "the certificate for `{domain}` ({arn}) is gone"
                    ))
                })?;
                let status = detail
                    .status()
                    .cloned()
                    .unwrap_or(CertificateStatus::PendingValidation);
                match settled(&status) {
                    Ok(true) => return Ok(()),
                    Ok(false) => {}
                    Err(()) => {
                        let why = detail
                            .failure_reason()
                            .map(|r| format!(" ({})", r.as_str()))
                            .unwrap_or_default();
                        return Err(ProviderError::Refused(format!(
                            "the certificate for `{domain}` ({arn}) is {}{why}, not ISSUED: \
                             check that the validation records in its zone are served by the \
                             domain's name servers (the zone must be delegated to), then \
                             replace the certificate",
                            status.as_str()
                        )));
                    }
                }
                if started.elapsed() >= timeout {
                    return Err(ProviderError::TimedOut(format!(
                        "the certificate for `{domain}` ({arn}) is still {} after {} seconds: \
                         ACM validates once the domain's name servers serve the validation \
                         records (the zone must be delegated to); raise --wait-timeout or \
                         apply again later",
                        status.as_str(),
                        timeout.as_secs()
                    )));
                }
                progress(format!("certificate for {domain} is {}", status.as_str()));
                tokio::time::sleep(poll_interval().min(timeout)).await;
            }
        })
    }
}

/// How often, and how far apart, a delete refused because the certificate is in use is tried:
/// about two minutes in all.
const IN_USE_TRIES: u32 = 12;
const IN_USE_PAUSE: Duration = Duration::from_secs(10);

fn in_use_error(domain: &str, arn: &str, by: &[String]) -> ProviderError {
    let by = if by.is_empty() {
        String::new()
    } else {
        format!(" by {}", by.join(", "))
    };
    ProviderError::Refused(format!(
        "the certificate for `{domain}` ({arn}) is still in use{by}: AWS refuses to delete it \
         until its listeners stop using it; move them to another certificate first"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(name: &str, value: &str) -> Record {
        (name.to_string(), value.to_string())
    }

    #[test]
    fn a_wildcard_and_its_apex_share_one_record() {
        let records = unique_records(vec![
            rec("_x.example.com.", "_v.acm-validations.aws."),
            rec("_y.www.example.com.", "_w.acm-validations.aws."),
            rec("_X.example.com", "_v.acm-validations.aws."),
        ]);
        assert_eq!(
            records,
            [
                rec("_x.example.com.", "_v.acm-validations.aws."),
                rec("_y.www.example.com.", "_w.acm-validations.aws."),
            ]
        );
    }

    #[test]
    fn records_wait_until_every_name_has_one() {
        use aws_sdk_acm::types::{DomainValidation, RecordType};
        let with = |record: bool| {
            let mut dv = DomainValidation::builder().domain_name("example.com");
            if record {
                dv = dv.resource_record(
                    aws_sdk_acm::types::ResourceRecord::builder()
                        .name("_x.example.com.")
                        .r#type(RecordType::Cname)
                        .value("_v.acm-validations.aws.")
                        .build()
                        .expect("a record"),
                );
            }
            dv.build().expect("a validation")
        };
        let detail = |options: Vec<DomainValidation>| {
            CertificateDetail::builder()
                .set_domain_validation_options(Some(options))
                .build()
        };
        assert_eq!(validation_records(&detail(vec![])), None);
        assert_eq!(
            validation_records(&detail(vec![with(true), with(false)])),
            None
        );
        assert_eq!(
            validation_records(&detail(vec![with(true), with(true)])),
            Some(vec![rec("_x.example.com.", "_v.acm-validations.aws.")])
        );
    }

    #[test]
    fn tokens_are_acm_words_and_differ_per_address_and_names() {
        let token = idempotency_token("shop", "certificate.web", &["example.com"]);
        assert_eq!(token.len(), 32);
        assert!(token.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(
            token,
            idempotency_token("shop", "certificate.web", &["example.com"])
        );
        assert_ne!(
            token,
            idempotency_token("shop", "certificate.api", &["example.com"])
        );
        assert_ne!(
            token,
            idempotency_token("shop", "certificate.web", &["www.example.com"])
        );
    }

    #[test]
    fn the_zone_lives_in_a_tag_that_the_plan_never_shows() {
        let detail = CertificateDetail::builder()
            .certificate_arn("arn:aws:acm:us-east-1:1:certificate/x")
            .domain_name("example.com")
            .subject_alternative_names("example.com")
            .subject_alternative_names("www.example.com")
            .status(CertificateStatus::Issued)
            .build();
        let tags = BTreeMap::from([
            (STACK_TAG.to_string(), "shop".to_string()),
            (ADDRESS_TAG.to_string(), "certificate.web".to_string()),
            (ZONE_TAG.to_string(), "Z1".to_string()),
        ]);
        let live = live_of(&detail, &tags);
        assert_eq!(live.str("zone"), Some("Z1"));
        let shown = live.attrs["tags"].as_map().expect("tags");
        assert!(!shown.contains_key(ZONE_TAG));
        assert_eq!(
            live.attrs["subject-alternative-names"],
            Value::List(vec![Value::String("www.example.com".into())])
        );
        assert_eq!(
            owner_key(&live.attrs).as_deref(),
            Some("shop|certificate.web")
        );
        assert_eq!(
            with_zone_tag(&live.attrs)["tags"].as_map().expect("tags")[ZONE_TAG],
            Value::String("Z1".into())
        );
    }
}
