//! ACM rules across resources: the names of a certificate lie in the hosted zone its DNS
//! validation records are written to (Route53 refuses a record outside its zone, halfway
//! through an apply).

use super::unique::dns;
use super::{Ctx, text};
use crate::model::{Kind, Value};

pub(super) fn check(ctx: &mut Ctx<'_>) {
    for cert in ctx.all(Kind::Certificate) {
        let Some(zone) = cert
            .attrs
            .get("zone")
            .and_then(|z| ctx.target(z))
            .filter(|z| matches!(z.kind(), Kind::LookupHostedZone | Kind::HostedZone))
            .and_then(|z| text(&z.attrs, "name"))
        else {
            continue;
        };
        let zone = dns(zone);
        let mut names: Vec<(&str, &str)> = Vec::new();
        if let Some(name) = text(&cert.attrs, "domain-name") {
            names.push(("domain-name", name));
        }
        if let Some(Value::List(sans)) = cert.attrs.get("subject-alternative-names") {
            names.extend(
                sans.iter()
                    .filter_map(Value::as_str)
                    .map(|n| ("subject-alternative-names", n)),
            );
        }
        let outside = names.into_iter().find(|(_, name)| {
            let full = dns(name);
            let full = full.strip_prefix("*.").unwrap_or(&full);
            full != zone && !full.ends_with(&format!(".{zone}"))
        });
        if let Some((attr, name)) = outside {
            ctx.error(
                ctx.at(cert, attr),
                format!(
                    "`{name}` is not in the hosted zone `{zone}`, where the certificate's \
                     validation records go"
                ),
                "outside the zone",
                format!(
                    "validate the certificate through a zone that holds every name (the zone of \
                     the domain), or move `{name}` to a certificate validated in its own zone"
                ),
            );
        }
    }
}
