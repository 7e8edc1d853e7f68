//! The catalogue of schemas, one module per AWS service.

mod acm;
mod autoscaling;
mod cloudwatch;
pub mod common;
pub mod ec2;
mod ecr;
mod ecs;
mod efs;
mod elbv2;
pub mod iam;
mod logs;
mod lookups;
pub mod route53;
mod secrets;
mod sns;

pub use autoscaling::MAX_TASKS;
pub use logs::{METRIC_FILTERS_PER_LOG_GROUP, RETENTION_DAYS};
pub use route53::DEFAULT_TTL;

use super::kind::Kind;
use super::schema::ResourceSchema;

pub fn for_kind(kind: Kind) -> &'static ResourceSchema {
    match kind {
        Kind::Cluster => &ecs::CLUSTER,
        Kind::TaskDefinition => &ecs::TASK_DEFINITION,
        Kind::Service => &ecs::SERVICE,
        Kind::LoadBalancer => &elbv2::LOAD_BALANCER,
        Kind::TargetGroup => &elbv2::TARGET_GROUP,
        Kind::Listener => &elbv2::LISTENER,
        Kind::ListenerRule => &elbv2::LISTENER_RULE,
        Kind::Record => &route53::RECORD,
        Kind::Alarm => &cloudwatch::ALARM,
        Kind::Secret => &secrets::SECRET,
        Kind::LogGroup => &logs::LOG_GROUP,
        Kind::HostedZone => &route53::HOSTED_ZONE,
        Kind::SecurityGroup => &ec2::SECURITY_GROUP,
        Kind::SecurityGroupRule => &ec2::SECURITY_GROUP_RULE,
        Kind::EcrRepository => &ecr::REPOSITORY,
        Kind::IamRole => &iam::ROLE,
        Kind::SnsTopic => &sns::SNS_TOPIC,
        Kind::LogMetricFilter => &logs::METRIC_FILTER,
        Kind::Scaling => &autoscaling::SCALING,
        Kind::Efs => &efs::FILE_SYSTEM,
        Kind::Certificate => &acm::CERTIFICATE,
        Kind::LookupVpc => &lookups::VPC,
        Kind::LookupSubnets => &lookups::SUBNETS,
        Kind::LookupSecurityGroups => &lookups::SECURITY_GROUPS,
        Kind::LookupCertificate => &lookups::CERTIFICATE,
        Kind::LookupHostedZone => &lookups::HOSTED_ZONE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::schema::{BlockSchema, Type};

    fn undocumented(block: &BlockSchema, path: &str, out: &mut Vec<String>) {
        for attr in block.attrs {
            let here = format!("{path}.{}", attr.name);
            if attr.doc.is_empty() {
                out.push(here.clone());
            }
            if let Type::Block(inner) | Type::Blocks(inner) = attr.ty {
                undocumented(inner, &here, out);
            }
        }
    }

    /// `infra explain` and `docs/language.md` print these; a new attribute needs its words.
    #[test]
    fn every_kind_and_attribute_is_documented() {
        let mut missing = Vec::new();
        for kind in Kind::MANAGED.into_iter().chain(Kind::LOOKUPS) {
            let schema = for_kind(kind);
            if schema.doc.is_empty() {
                missing.push(kind.keyword().to_string());
            }
            undocumented(schema.body, kind.keyword(), &mut missing);
            for c in schema.computed {
                if c.doc.is_empty() {
                    missing.push(format!("{}.{}", kind.keyword(), c.name));
                }
            }
        }
        assert!(missing.is_empty(), "without a doc: {missing:?}");
    }
}
