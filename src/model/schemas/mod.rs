//! The catalogue of schemas, one module per AWS service.

mod cloudwatch;
pub mod common;
mod ecs;
mod elbv2;
mod logs;
mod lookups;
pub mod route53;
mod secrets;

pub use logs::RETENTION_DAYS;
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
        Kind::LookupVpc => &lookups::VPC,
        Kind::LookupSubnets => &lookups::SUBNETS,
        Kind::LookupSecurityGroups => &lookups::SECURITY_GROUPS,
        Kind::LookupCertificate => &lookups::CERTIFICATE,
        Kind::LookupHostedZone => &lookups::HOSTED_ZONE,
    }
}
