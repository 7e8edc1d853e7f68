//! Look-ups: things a stack reads but does not own.

use super::common::dns_name;
use crate::model::Kind;
use crate::model::schema::{
    Attr, BlockSchema, Check, Computed, Default, RefTo, ResourceSchema, Rule, Type,
};

const STRINGS: Type = Type::List(&Type::String);

pub static VPC: ResourceSchema = ResourceSchema {
    title: "VPC (look-up)",
    body: &VPC_BODY,
    computed: &[Computed::new(
        "cidr-block",
        Type::String,
        "The VPC's primary CIDR block.",
    )],
    default_attribute: "id",
    taggable: false,
    natural_key: &["id"],
};

static VPC_BODY: BlockSchema = BlockSchema::new(
    "vpc",
    &[
        Attr::string("id"),
        Attr::string_map("tags"),
        Attr::bool("default"),
    ],
)
.rules(&[Rule::ExactlyOneOf(&["id", "tags", "default"])]);

pub static SUBNETS: ResourceSchema = ResourceSchema {
    title: "subnets (look-up)",
    body: &SUBNETS_BODY,
    computed: &[],
    default_attribute: "ids",
    taggable: false,
    natural_key: &["ids"],
};

static SUBNETS_BODY: BlockSchema = BlockSchema::new(
    "subnets",
    &[
        Attr::strings("ids"),
        Attr::string_map("tags"),
        Attr::string("vpc").refs(&[RefTo::new(Kind::LookupVpc, "id")]),
    ],
)
.rules(&[Rule::ExactlyOneOf(&["ids", "tags"])]);

pub static SECURITY_GROUPS: ResourceSchema = ResourceSchema {
    title: "security groups (look-up)",
    body: &SECURITY_GROUPS_BODY,
    computed: &[],
    default_attribute: "ids",
    taggable: false,
    natural_key: &["ids"],
};

static SECURITY_GROUPS_BODY: BlockSchema = BlockSchema::new(
    "security-groups",
    &[
        Attr::strings("ids"),
        Attr::strings("names"),
        Attr::string_map("tags"),
        Attr::string("vpc").refs(&[RefTo::new(Kind::LookupVpc, "id")]),
    ],
)
.rules(&[Rule::ExactlyOneOf(&["ids", "names", "tags"])]);

pub static CERTIFICATE: ResourceSchema = ResourceSchema {
    title: "ACM certificate (look-up)",
    body: &CERTIFICATE_BODY,
    computed: &[Computed::new(
        "arn",
        Type::String,
        "The newest ISSUED certificate's ARN.",
    )],
    default_attribute: "arn",
    taggable: false,
    natural_key: &["domain"],
};

static CERTIFICATE_BODY: BlockSchema = BlockSchema::new(
    "certificate",
    &[Attr::string("domain")
        .required()
        .checks(&[Check::Custom(dns_name)])
        .doc("The certificate's domain, e.g. \"*.example.com\".")],
);

pub static HOSTED_ZONE: ResourceSchema = ResourceSchema {
    title: "hosted zone (look-up)",
    body: &HOSTED_ZONE_BODY,
    computed: &[
        Computed::new("id", Type::String, "The zone id."),
        Computed::new("name-servers", STRINGS, "The zone's name servers."),
    ],
    default_attribute: "id",
    taggable: false,
    natural_key: &["name"],
};

static HOSTED_ZONE_BODY: BlockSchema = BlockSchema::new(
    "hosted-zone",
    &[
        Attr::string("name")
            .required()
            .checks(&[Check::Custom(dns_name)]),
        Attr::bool("private").default(Default::Bool(false)),
    ],
);
