//! The certificate look-up: the newest ISSUED ACM certificate for a domain.

use std::collections::BTreeMap;

use aws_sdk_acm::Client;
use aws_sdk_acm::types::{CertificateStatus, CertificateSummary, Filters, KeyAlgorithm};

use super::error::aws;
use super::kit;
use crate::model::{Kind, Value};
use crate::providers::{BoxFuture, LookupKind, ProviderError};

pub struct Certificates {
    client: Client,
}

impl Certificates {
    pub fn new(client: Client) -> Self {
        Certificates { client }
    }
}

/// Every certificate of the region, whatever its status or key type (without `Includes`,
/// ListCertificates returns RSA-2048 certificates only), page after page.
pub(super) async fn every_certificate(
    client: &Client,
) -> Result<Vec<CertificateSummary>, ProviderError> {
    let key_types = Filters::builder()
        .key_types(KeyAlgorithm::Rsa2048)
        .key_types(KeyAlgorithm::Rsa3072)
        .key_types(KeyAlgorithm::Rsa4096)
        .key_types(KeyAlgorithm::EcPrime256v1)
        .key_types(KeyAlgorithm::EcSecp384r1)
        .key_types(KeyAlgorithm::EcSecp521r1)
        .build();
    let key_types = &key_types;
    kit::pages(|token| async move {
        let page = client
            .list_certificates()
            .includes(key_types.clone())
            .set_next_token(token)
            .send()
            .await
            .map_err(aws("ListCertificates"))?;
        Ok((
            page.certificate_summary_list().to_vec(),
            page.next_token().map(str::to_string),
        ))
    })
    .await
}

impl LookupKind for Certificates {
    fn kind(&self) -> Kind {
        Kind::LookupCertificate
    }

    fn lookup<'a>(
        &'a self,
        attrs: &'a BTreeMap<String, Value>,
    ) -> BoxFuture<'a, Result<BTreeMap<String, Value>, ProviderError>> {
        Box::pin(async move {
            let domain = attrs
                .get("domain")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let all = every_certificate(&self.client).await?;
            let same = |d: Option<&str>| d.is_some_and(|d| d.eq_ignore_ascii_case(domain));
            let matching: Vec<_> = all.iter().filter(|c| same(c.domain_name())).collect();
            let newest = matching
                .iter()
                .filter(|c| c.status() == Some(&CertificateStatus::Issued))
                .max_by_key(|c| {
                    c.issued_at()
                        .or(c.imported_at())
                        .or(c.created_at())
                        .map(|t| (t.secs(), t.subsec_nanos()))
                });
            let Some(cert) = newest else {
                return Err(ProviderError::NotFound(match matching.first() {
                    Some(other) => format!(
                        "the certificate for `{domain}` is {}, not ISSUED: complete its DNS \
                         validation in ACM (or wait for it), then plan again",
                        other.status().map_or("in an unknown state", |s| s.as_str())
                    ),
                    None => format!(
                        "no ACM certificate for `{domain}` exists in this region: request one \
                         (a load balancer's certificate must be in the load balancer's region)"
                    ),
                }));
            };
            let mut out = attrs.clone();
            out.insert(
                "arn".into(),
                Value::String(cert.certificate_arn().unwrap_or_default().into()),
            );
            Ok(out)
        })
    }
}
