//! Look-ups: things a stack reads but does not own.

use super::common::DNS_NAME;
use crate::model::Kind;
use crate::model::schema::{
    Attr, BlockSchema, Computed, Default, RefTo, ResourceSchema, Rule, Type,
};

const STRINGS: Type = Type::List(&Type::String);

pub static VPC: ResourceSchema = ResourceSchema {
    title: "VPC (look-up)",
    doc: "A VPC the stack reads but does not own: by id, by tags, or the region's default VPC. What is given narrows the search together (a tagged default VPC: `default #true` and `tags`); empty `tags` and `default #false` narrow nothing, so a stack can choose its network with variables (`default (var)\"default-vpc\"`, `tags (var)\"vpc-tags\"`). Exactly one VPC must match.",
    rules_doc: "at least one of `id`, `tags` or `default`.",
    body: &VPC_BODY,
    computed: &[Computed::new(
        "cidr-block",
        Type::String,
        "The VPC's primary CIDR block.",
    )],
    default_attribute: "id",
    taggable: false,
    natural_key: &["id"],
    delete_phase: 0,
};

static VPC_BODY: BlockSchema = BlockSchema::new(
    "vpc",
    &[
        Attr::string("id").doc("The VPC id (vpc-...)."),
        Attr::string_map("tags").doc("Tags the VPC carries; exactly one VPC may match."),
        Attr::bool("default")
            .doc("`#true` finds the region's default VPC; `#false` does not narrow the search."),
    ],
)
.rules(&[Rule::AtLeastOneOf(&["id", "tags", "default"])]);

pub static SUBNETS: ResourceSchema = ResourceSchema {
    title: "subnets (look-up)",
    doc: "Subnets the stack reads but does not own, by id or by tags.",
    rules_doc: "exactly one of `ids` or `tags`; `vpc` narrows a tag search.",
    body: &SUBNETS_BODY,
    computed: &[],
    default_attribute: "ids",
    taggable: false,
    natural_key: &["ids"],
    delete_phase: 0,
};

static SUBNETS_BODY: BlockSchema = BlockSchema::new(
    "subnets",
    &[
        Attr::strings("ids").doc("Subnet ids (subnet-...)."),
        Attr::string_map("tags").doc("Tags the subnets carry."),
        Attr::string("vpc")
            .refs(&[RefTo::new(Kind::LookupVpc, "id")])
            .doc("Only subnets of this VPC (usually a reference to a VPC look-up)."),
    ],
)
.rules(&[Rule::ExactlyOneOf(&["ids", "tags"])]);

pub static SECURITY_GROUPS: ResourceSchema = ResourceSchema {
    title: "security groups (look-up)",
    doc: "Security groups the stack reads but does not own, by id, name or tags.",
    rules_doc: "exactly one of `ids`, `names` or `tags`; `vpc` narrows the search.",
    body: &SECURITY_GROUPS_BODY,
    computed: &[],
    default_attribute: "ids",
    taggable: false,
    natural_key: &["ids"],
    delete_phase: 0,
};

static SECURITY_GROUPS_BODY: BlockSchema = BlockSchema::new(
    "security-groups",
    &[
        Attr::strings("ids").doc("Security group ids (sg-...)."),
        Attr::strings("names").doc("Security group names."),
        Attr::string_map("tags").doc("Tags the security groups carry."),
        Attr::string("vpc")
            .refs(&[RefTo::new(Kind::LookupVpc, "id")])
            .doc("Only security groups of this VPC (usually a reference to a VPC look-up)."),
    ],
)
.rules(&[Rule::ExactlyOneOf(&["ids", "names", "tags"])]);

pub static CERTIFICATE: ResourceSchema = ResourceSchema {
    title: "ACM certificate (look-up)",
    doc: "The newest ISSUED ACM certificate of a domain, in the stack's region.",
    rules_doc: "",
    body: &CERTIFICATE_BODY,
    computed: &[Computed::new(
        "arn",
        Type::String,
        "The newest ISSUED certificate's ARN.",
    )],
    default_attribute: "arn",
    taggable: false,
    natural_key: &["domain"],
    delete_phase: 0,
};

static CERTIFICATE_BODY: BlockSchema = BlockSchema::new(
    "certificate",
    &[Attr::string("domain")
        .required()
        .checks(&[DNS_NAME])
        .doc("The certificate's domain, e.g. \"*.example.com\".")],
);

pub static HOSTED_ZONE: ResourceSchema = ResourceSchema {
    title: "hosted zone (look-up)",
    doc: "A Route53 hosted zone by name.",
    rules_doc: "",
    body: &HOSTED_ZONE_BODY,
    computed: &[
        Computed::new("id", Type::String, "The zone id."),
        Computed::new("name-servers", STRINGS, "The zone's name servers."),
    ],
    default_attribute: "id",
    taggable: false,
    natural_key: &["name"],
    delete_phase: 0,
};

static HOSTED_ZONE_BODY: BlockSchema = BlockSchema::new(
    "hosted-zone",
    &[
        Attr::string("name")
            .required()
            .checks(&[DNS_NAME])
            .doc("The zone's domain name."),
        Attr::bool("private")
            .default(Default::Bool(false))
            .doc("Finds a private zone instead of a public one."),
    ],
);
