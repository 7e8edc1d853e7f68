//! The closed set of resource kinds infra manages or looks up.

use super::schema::ResourceSchema;
use super::schemas;

/// A kind of resource. Managed kinds are created and owned by a stack; look-up kinds are only
/// read (`lookup "vpc" "main" { ... }`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Cluster,
    TaskDefinition,
    Service,
    LoadBalancer,
    TargetGroup,
    Listener,
    ListenerRule,
    Record,
    Alarm,
    Secret,
    LogGroup,
    HostedZone,
    SecurityGroup,
    SecurityGroupRule,
    EcrRepository,
    IamRole,
    SnsTopic,
    LogMetricFilter,
    Scaling,
    Efs,
    Certificate,
    LookupVpc,
    LookupSubnets,
    LookupSecurityGroups,
    LookupCertificate,
    LookupHostedZone,
}

impl Kind {
    pub const MANAGED: [Kind; 21] = [
        Kind::Cluster,
        Kind::TaskDefinition,
        Kind::Service,
        Kind::LoadBalancer,
        Kind::TargetGroup,
        Kind::Listener,
        Kind::ListenerRule,
        Kind::Record,
        Kind::Alarm,
        Kind::Secret,
        Kind::LogGroup,
        Kind::HostedZone,
        Kind::SecurityGroup,
        Kind::SecurityGroupRule,
        Kind::EcrRepository,
        Kind::IamRole,
        Kind::SnsTopic,
        Kind::LogMetricFilter,
        Kind::Scaling,
        Kind::Efs,
        Kind::Certificate,
    ];

    pub const LOOKUPS: [Kind; 5] = [
        Kind::LookupVpc,
        Kind::LookupSubnets,
        Kind::LookupSecurityGroups,
        Kind::LookupCertificate,
        Kind::LookupHostedZone,
    ];

    /// The word used in addresses: `target-group`, `lookup.vpc`.
    pub fn keyword(self) -> &'static str {
        match self {
            Kind::Cluster => "cluster",
            Kind::TaskDefinition => "task-definition",
            Kind::Service => "service",
            Kind::LoadBalancer => "load-balancer",
            Kind::TargetGroup => "target-group",
            Kind::Listener => "listener",
            Kind::ListenerRule => "listener-rule",
            Kind::Record => "record",
            Kind::Alarm => "alarm",
            Kind::Secret => "secret",
            Kind::LogGroup => "log-group",
            Kind::HostedZone => "hosted-zone",
            Kind::SecurityGroup => "security-group",
            Kind::SecurityGroupRule => "security-group-rule",
            Kind::EcrRepository => "ecr-repository",
            Kind::IamRole => "iam-role",
            Kind::SnsTopic => "sns-topic",
            Kind::LogMetricFilter => "log-metric-filter",
            Kind::Scaling => "scaling",
            Kind::Efs => "efs",
            Kind::Certificate => "certificate",
            Kind::LookupVpc => "lookup.vpc",
            Kind::LookupSubnets => "lookup.subnets",
            Kind::LookupSecurityGroups => "lookup.security-groups",
            Kind::LookupCertificate => "lookup.certificate",
            Kind::LookupHostedZone => "lookup.hosted-zone",
        }
    }

    /// The word after `lookup` for look-up kinds: `lookup "vpc" "main"`.
    pub fn lookup_word(self) -> Option<&'static str> {
        self.keyword().strip_prefix("lookup.")
    }

    pub fn is_lookup(self) -> bool {
        self.lookup_word().is_some()
    }

    pub fn from_node_name(name: &str) -> Option<Kind> {
        Kind::MANAGED.into_iter().find(|k| k.keyword() == name)
    }

    pub fn from_lookup_word(word: &str) -> Option<Kind> {
        Kind::LOOKUPS
            .into_iter()
            .find(|k| k.lookup_word() == Some(word))
    }

    /// A human name for the kind, used in plans and the graph.
    pub fn title(self) -> &'static str {
        self.schema().title
    }

    pub fn schema(self) -> &'static ResourceSchema {
        schemas::for_kind(self)
    }
}
