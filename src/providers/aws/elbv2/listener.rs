//! Listeners, keyed by load balancer ARN and port.
//!
//! Listeners are not in the tag index: the ones a stack owns are found on the load balancers
//! it owns and on those its listeners name, one DescribeListeners per load balancer (shared
//! with the rules of the same run), and their ownership read with DescribeTags.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use aws_sdk_elasticloadbalancingv2::types::{Certificate, Listener, ProtocolEnum};
use futures::future::try_join_all;

use super::actions::{ACTIONS, from_actions, normalize_actions, to_action};
use super::{Elb, gone_is_done, int_of, live_arn, tags};
use crate::model::{Kind, Value};
use crate::providers::Changed;
use crate::providers::aws::error::aws;
use crate::providers::{
    BoxFuture, Desired, Live, Owner, ProviderError, ResourceKind, desired_tags, owner_from_tags,
    tags_value,
};

pub struct Listeners {
    elb: Arc<Elb>,
}

impl Listeners {
    pub fn new(elb: Arc<Elb>) -> Self {
        Listeners { elb }
    }

    /// The listeners of these load balancers, each listed once per run.
    async fn on(&self, lb_arns: BTreeSet<String>) -> Result<Vec<Listener>, ProviderError> {
        let lists = try_join_all(lb_arns.iter().map(|arn| self.elb.listeners_of(arn))).await?;
        Ok(lists.into_iter().flatten().flatten().collect())
    }

    /// Live listeners with their tags.
    async fn lives(&self, listeners: &[Listener]) -> Result<Vec<Live>, ProviderError> {
        let arns: Vec<String> = listeners
            .iter()
            .filter_map(|l| l.listener_arn().map(str::to_string))
            .collect();
        let tags = self.elb.tags(&arns).await?;
        Ok(listeners.iter().map(|l| live(l, &tags)).collect())
    }
}

fn live(listener: &Listener, tags: &HashMap<String, BTreeMap<String, String>>) -> Live {
    let text = |s: &str| Value::String(s.to_string());
    let mut a = BTreeMap::new();
    if let Some(lb) = listener.load_balancer_arn() {
        a.insert("load-balancer".to_string(), text(lb));
    }
    if let Some(port) = listener.port() {
        a.insert("port".into(), Value::Int(port.into()));
    }
    if let Some(p) = listener.protocol() {
        a.insert("protocol".into(), text(p.as_str()));
    }
    // The default certificate; more are added with AddListenerCertificates.
    if let Some(cert) = listener
        .certificates()
        .iter()
        .find(|c| c.is_default() != Some(false))
        .and_then(|c| c.certificate_arn())
    {
        a.insert("certificate".into(), text(cert));
    }
    if let Some(policy) = listener.ssl_policy() {
        a.insert("ssl-policy".into(), text(policy));
    }
    if let Some((name, value)) = from_actions(listener.default_actions()) {
        a.insert(name.to_string(), value);
    }
    let empty = BTreeMap::new();
    let own = listener
        .listener_arn()
        .and_then(|arn| tags.get(arn))
        .unwrap_or(&empty);
    let pairs = own.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    a.insert("tags".into(), tags_value(pairs.clone()));
    let mut live = Live::new(a, owner_from_tags(pairs));
    if let Some(arn) = listener.listener_arn() {
        live.computed.insert("arn".into(), text(arn));
    }
    live
}

/// Load balancer ARNs written literally in desired listeners (an ARN passed in, not a
/// reference to a load balancer of this stack).
fn named_load_balancers(desired: &[Desired]) -> impl Iterator<Item = String> + '_ {
    desired
        .iter()
        .filter_map(|d| d.str("load-balancer").map(str::to_string))
}

impl ResourceKind for Listeners {
    fn kind(&self) -> Kind {
        Kind::Listener
    }

    fn normalize(&self, attrs: &mut BTreeMap<String, Value>) {
        if let Some(port) = attrs.get("port").and_then(int_of) {
            attrs.insert("port".into(), Value::Int(port));
        }
        // An HTTPS listener without a policy leaves it to AWS (`unmanaged_when_omitted`): its
        // default is `ELBSecurityPolicy-2016-08` through the API but a TLS 1.3 policy in the
        // console, so filling one in would downgrade a listener made there.
        if attrs.get("protocol").and_then(Value::as_str) != Some("HTTPS") {
            // AWS reports a TLS policy on plain HTTP listeners too; it means nothing there.
            attrs.remove("ssl-policy");
            attrs.remove("certificate");
        }
        normalize_actions(attrs);
    }

    fn list_owned<'a>(
        &'a self,
        stack: &'a str,
        desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Live>, ProviderError>> {
        Box::pin(async move {
            let mut lbs: BTreeSet<String> = self
                .elb
                .owned_load_balancers()
                .await?
                .into_iter()
                .map(|(arn, _)| arn)
                .collect();
            lbs.extend(named_load_balancers(desired));
            let listeners = self.on(lbs).await?;
            let lives = self.lives(&listeners).await?;
            Ok(lives
                .into_iter()
                .filter(|l| matches!(&l.owner, Owner::Stack { stack: s, .. } if s == stack))
                .collect())
        })
    }

    fn read<'a>(
        &'a self,
        desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Option<Live>>, ProviderError>> {
        Box::pin(async move {
            let lbs: BTreeSet<String> = named_load_balancers(desired).collect();
            let listeners = self.on(lbs).await?;
            let wanted: Vec<Listener> = listeners
                .into_iter()
                .filter(|l| {
                    desired.iter().any(|d| {
                        d.str("load-balancer") == l.load_balancer_arn()
                            && d.attrs.get("port").and_then(int_of) == l.port().map(i64::from)
                    })
                })
                .collect();
            let lives = self.lives(&wanted).await?;
            Ok(desired
                .iter()
                .map(|d| {
                    let key = self.key(&d.attrs);
                    lives
                        .iter()
                        .find(|l| key.is_some() && self.key(&l.attrs) == key)
                        .cloned()
                })
                .collect())
        })
    }

    fn create<'a>(&'a self, desired: &'a Desired) -> BoxFuture<'a, Result<Live, ProviderError>> {
        Box::pin(async move {
            let mut d = desired.attrs.clone();
            self.normalize(&mut d);
            let text = |name: &str| d.get(name).and_then(Value::as_str).map(str::to_string);
            let lb = text("load-balancer")
                .ok_or_else(|| ProviderError::Input("the load balancer is not known yet".into()))?;
            let out = self
                .elb
                .client
                .create_listener()
                .load_balancer_arn(lb)
                .set_port(d.get("port").and_then(int_of).map(|p| p as i32))
                .set_protocol(text("protocol").map(|p| ProtocolEnum::from(p.as_str())))
                .set_certificates(certificates(&d))
                .set_ssl_policy(text("ssl-policy"))
                .default_actions(to_action(&d)?)
                .set_tags(Some(tags(desired_tags(&d))))
                .send()
                .await
                .map_err(aws("CreateListener"))?;
            let arn = out
                .listeners()
                .first()
                .and_then(|l| l.listener_arn())
                .ok_or_else(|| {
                    ProviderError::NotFound("CreateListener returned no listener".into())
                })?;
            let mut live = Live::new(desired.attrs.clone(), Owner::Nobody);
            live.computed
                .insert("arn".into(), Value::String(arn.to_string()));
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
            let arn = live_arn(live)?;
            let mut d = desired.attrs.clone();
            self.normalize(&mut d);
            let settings = ["protocol", "certificate", "ssl-policy"];
            if changed.any_of(&settings) || changed.any_of(&ACTIONS) {
                let text = |name: &str| d.get(name).and_then(Value::as_str).map(str::to_string);
                self.elb
                    .client
                    .modify_listener()
                    .listener_arn(arn)
                    .set_protocol(text("protocol").map(|p| ProtocolEnum::from(p.as_str())))
                    .set_certificates(certificates(&d))
                    .set_ssl_policy(text("ssl-policy"))
                    .default_actions(to_action(&d)?)
                    .send()
                    .await
                    .map_err(aws("ModifyListener"))?;
            }
            self.elb.retag(arn, &d, &live.attrs, &[]).await?;
            Ok(Live::converged(desired, live))
        })
    }

    fn delete<'a>(&'a self, live: &'a Live) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let result = self
                .elb
                .client
                .delete_listener()
                .listener_arn(live_arn(live)?)
                .send()
                .await
                .map(|_| ())
                .map_err(aws("DeleteListener"));
            // Gone with its parent: what deleting wanted.
            gone_is_done(result, "ListenerNotFound")
        })
    }

    fn owner_now<'a>(
        &'a self,
        live: &'a Live,
    ) -> BoxFuture<'a, Result<Option<Owner>, ProviderError>> {
        Box::pin(self.elb.owner_now(live))
    }
}

fn certificates(attrs: &BTreeMap<String, Value>) -> Option<Vec<Certificate>> {
    let arn = attrs.get("certificate").and_then(Value::as_str)?;
    Some(vec![Certificate::builder().certificate_arn(arn).build()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_elasticloadbalancingv2::types::{
        Action, ActionTypeEnum, RedirectActionConfig, RedirectActionStatusCodeEnum,
    };

    #[test]
    fn a_plain_http_listener_as_moto_reports_it_matches_the_stack() {
        let listener = Listener::builder()
            .listener_arn("arn:l")
            .load_balancer_arn("arn:lb")
            .port(80)
            .protocol(ProtocolEnum::Http)
            .ssl_policy("ELBSecurityPolicy-2016-08")
            .default_actions(
                Action::builder()
                    .r#type(ActionTypeEnum::Redirect)
                    .redirect_config(
                        RedirectActionConfig::builder()
                            .protocol("HTTPS")
                            .port("443")
                            .status_code(RedirectActionStatusCodeEnum::Http301)
                            .build(),
                    )
                    .build(),
            )
            .build();
        let tags = HashMap::from([(
            "arn:l".to_string(),
            BTreeMap::from([("infra:stack".to_string(), "s".to_string())]),
        )]);
        let mut l = live(&listener, &tags).attrs;
        let text = |s: &str| Value::String(s.to_string());
        let mut d = BTreeMap::from([
            ("load-balancer".to_string(), text("arn:lb")),
            ("port".to_string(), Value::Int(80)),
            ("protocol".to_string(), text("HTTP")),
            (
                "redirect".to_string(),
                Value::Map(BTreeMap::from([
                    ("protocol".to_string(), text("HTTPS")),
                    ("port".to_string(), text("443")),
                    ("status-code".to_string(), text("HTTP_301")),
                ])),
            ),
            (
                "tags".to_string(),
                Value::Map(BTreeMap::from([("infra:stack".to_string(), text("s"))])),
            ),
        ]);
        let provider = Listeners::new(Arc::new(super::super::tests::elb()));
        provider.normalize(&mut l);
        provider.normalize(&mut d);
        assert_eq!(l, d);
        assert_eq!(provider.key(&l).as_deref(), Some("arn:lb|80"));
    }

    #[test]
    fn an_https_listener_without_a_policy_leaves_the_policy_to_aws() {
        let provider = Listeners::new(Arc::new(super::super::tests::elb()));
        let https = |policy: Option<&str>| {
            let mut m = BTreeMap::from([("protocol".to_string(), Value::String("HTTPS".into()))]);
            if let Some(p) = policy {
                m.insert("ssl-policy".into(), Value::String(p.into()));
            }
            m
        };
        let mut d = https(None);
        provider.normalize(&mut d);
        assert_eq!(d.get("ssl-policy"), None, "no default is filled in");
        // A listener made in the console keeps its policy when the stack names none (the diff
        // skips an omitted attribute that is `unmanaged_when_omitted`).
        let mut live = https(Some("ELBSecurityPolicy-TLS13-1-2-2021-06"));
        provider.normalize(&mut live);
        assert_eq!(
            live.get("ssl-policy"),
            Some(&Value::String("ELBSecurityPolicy-TLS13-1-2-2021-06".into()))
        );
        assert!(
            Kind::Listener
                .schema()
                .body
                .attr("ssl-policy")
                .is_some_and(|a| a.unmanaged_when_omitted)
        );
        let changed = super::super::changed(&provider, &https(None), &live);
        assert!(changed.is_empty(), "no ModifyListener for it: {changed:?}");
    }
}
