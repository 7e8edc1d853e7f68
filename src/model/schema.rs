//! Schema types: what attributes a kind has, their types, AWS defaults, limits and flags.
//!
//! Schemas are static data built with `const fn` builders, so the catalogue in
//! [`super::schemas`] reads like a table. The decoder, the diff and the renderers are generic
//! over these types.

use std::collections::BTreeMap;

use super::kind::Kind;
use super::value::Value;

/// The type of an attribute, which also says how it is written in KDL.
#[derive(Debug, Clone, Copy)]
pub enum Type {
    /// `name "api"`
    String,
    /// `port 8080`
    Int,
    /// `threshold 2.5` (integers are accepted)
    Number,
    /// `deletion-protection #true`
    Bool,
    /// `subnets "a" "b"`: the node's arguments
    List(&'static Type),
    /// `tags { env "prod" }`: child nodes, one argument each
    Map(&'static Type),
    /// `health-check { path "/" }`: one nested block
    Block(&'static BlockSchema),
    /// `container "web" { ... }`, repeated: a list of blocks
    Blocks(&'static BlockSchema),
}

impl Type {
    /// The type with its article: "an integer", "a list of string".
    pub fn describe(&self) -> String {
        with_article(&self.noun())
    }

    fn noun(&self) -> String {
        match self {
            Type::String => "string".into(),
            Type::Int => "integer".into(),
            Type::Number => "number".into(),
            Type::Bool => "boolean (#true or #false)".into(),
            Type::List(t) => format!("list of {}", t.noun()),
            Type::Map(t) => format!("map of {}", t.noun()),
            Type::Block(b) => format!("`{}` block", b.name),
            Type::Blocks(b) => format!("repeated `{}` block", b.name),
        }
    }

    pub fn is_scalar(&self) -> bool {
        matches!(self, Type::String | Type::Int | Type::Number | Type::Bool)
    }
}

/// "a string", "an integer", "an application load balancer".
pub fn with_article(noun: &str) -> String {
    let vowel = noun.starts_with(['a', 'e', 'i', 'o', 'u', 'A', 'E', 'I', 'O', 'U']);
    format!("{} {noun}", if vowel { "an" } else { "a" })
}

/// The value AWS uses when an attribute is omitted.
#[derive(Debug, Clone, Copy)]
pub enum Default {
    Str(&'static str),
    Int(i64),
    Bool(bool),
    StrList(&'static [&'static str]),
}

impl Default {
    pub fn to_value(self) -> Value {
        match self {
            Default::Str(s) => Value::String(s.to_string()),
            Default::Int(i) => Value::Int(i),
            Default::Bool(b) => Value::Bool(b),
            Default::StrList(items) => {
                Value::List(items.iter().map(|s| Value::String(s.to_string())).collect())
            }
        }
    }
}

/// A limit on one value, checked locally before anything reaches AWS.
#[derive(Debug, Clone, Copy)]
pub enum Check {
    /// Inclusive integer range.
    Range(i64, i64),
    /// Length in characters, inclusive.
    Length(usize, usize),
    /// Allowed string values.
    OneOf(&'static [&'static str]),
    /// Allowed integer values.
    OneOfInt(&'static [i64]),
    /// Number of list items or map entries, inclusive.
    Count(usize, usize),
    /// A named rule with its own message (`Err((message, help))`), and the limit in words for
    /// the documentation: "1–255 letters, digits, `-`, `_`".
    Custom(fn(&Value) -> Result<(), (String, String)>, &'static str),
}

/// A rule across the attributes of one block.
#[derive(Debug, Clone, Copy)]
pub enum Rule {
    ExactlyOneOf(&'static [&'static str]),
    AtMostOneOf(&'static [&'static str]),
    AtLeastOneOf(&'static [&'static str]),
    /// When the first attribute is set, all of the others must be too.
    Requires(&'static str, &'static [&'static str]),
    /// A rule with its own logic; returns the attribute to point at, a message and a help line.
    Custom(fn(&BTreeMap<String, Value>) -> Option<Violation>),
}

/// A broken [`Rule::Custom`].
#[derive(Debug, Clone)]
pub struct Violation {
    pub attribute: &'static str,
    pub message: String,
    pub help: String,
}

/// What a reference written in an attribute may read: an attribute of a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefTo {
    pub kind: Kind,
    pub attribute: &'static str,
}

impl RefTo {
    pub const fn new(kind: Kind, attribute: &'static str) -> Self {
        RefTo { kind, attribute }
    }
}

/// One attribute of a block.
#[derive(Debug, Clone, Copy)]
pub struct Attr {
    pub name: &'static str,
    pub ty: Type,
    pub required: bool,
    pub default: Option<Default>,
    /// Changing it means replacing the resource.
    pub force_new: bool,
    /// Never shown in plans, logs or errors.
    pub sensitive: bool,
    /// Omitted means "leave AWS's value alone": the diff never compares it when the stack
    /// omits it, and infra never sends it. For settings whose AWS default is not one fixed
    /// value (an account setting, a default that changed over the years), where filling in a
    /// default would overwrite what AWS chose.
    pub unmanaged_when_omitted: bool,
    pub checks: &'static [Check],
    /// What a reference here may point at (for lists and maps: each item); empty when any
    /// reference of the right type will do.
    pub refs: &'static [RefTo],
    pub doc: &'static str,
}

impl Attr {
    pub const fn new(name: &'static str, ty: Type) -> Self {
        Attr {
            name,
            ty,
            required: false,
            default: None,
            force_new: false,
            sensitive: false,
            unmanaged_when_omitted: false,
            checks: &[],
            refs: &[],
            doc: "",
        }
    }
    pub const fn string(name: &'static str) -> Self {
        Attr::new(name, Type::String)
    }
    pub const fn int(name: &'static str) -> Self {
        Attr::new(name, Type::Int)
    }
    pub const fn number(name: &'static str) -> Self {
        Attr::new(name, Type::Number)
    }
    pub const fn bool(name: &'static str) -> Self {
        Attr::new(name, Type::Bool)
    }
    pub const fn strings(name: &'static str) -> Self {
        Attr::new(name, Type::List(&Type::String))
    }
    pub const fn string_map(name: &'static str) -> Self {
        Attr::new(name, Type::Map(&Type::String))
    }
    pub const fn block(name: &'static str, schema: &'static BlockSchema) -> Self {
        Attr::new(name, Type::Block(schema))
    }
    pub const fn blocks(name: &'static str, schema: &'static BlockSchema) -> Self {
        Attr::new(name, Type::Blocks(schema))
    }
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub const fn default(mut self, default: Default) -> Self {
        self.default = Some(default);
        self
    }
    pub const fn force_new(mut self) -> Self {
        self.force_new = true;
        self
    }
    pub const fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }
    /// See [`Attr::unmanaged_when_omitted`]; such an attribute has no default.
    pub const fn unmanaged_when_omitted(mut self) -> Self {
        self.unmanaged_when_omitted = true;
        self
    }
    pub const fn checks(mut self, checks: &'static [Check]) -> Self {
        self.checks = checks;
        self
    }
    pub const fn refs(mut self, refs: &'static [RefTo]) -> Self {
        self.refs = refs;
        self
    }
    pub const fn doc(mut self, doc: &'static str) -> Self {
        self.doc = doc;
        self
    }
}

/// A block: the body of a resource, or a nested block such as `health-check`.
#[derive(Debug)]
pub struct BlockSchema {
    pub name: &'static str,
    /// The attribute filled from the node's first argument (`container "web"` → `name`).
    pub label: Option<&'static str>,
    pub attrs: &'static [Attr],
    pub rules: &'static [Rule],
    /// Rewrites shorthand into its full form after decoding (e.g. an alias to a load balancer).
    pub expand: Option<fn(&mut BTreeMap<String, Value>)>,
    /// Repeated blocks without a label that plans name by their position, from 1
    /// (`statement[2].actions`), rather than as one list.
    pub by_position: bool,
}

impl BlockSchema {
    pub const fn new(name: &'static str, attrs: &'static [Attr]) -> Self {
        BlockSchema {
            name,
            label: None,
            attrs,
            rules: &[],
            expand: None,
            by_position: false,
        }
    }
    pub const fn label(mut self, label: &'static str) -> Self {
        self.label = Some(label);
        self
    }
    pub const fn rules(mut self, rules: &'static [Rule]) -> Self {
        self.rules = rules;
        self
    }
    /// See [`BlockSchema::by_position`].
    pub const fn by_position(mut self) -> Self {
        self.by_position = true;
        self
    }
    pub const fn expand(mut self, expand: fn(&mut BTreeMap<String, Value>)) -> Self {
        self.expand = Some(expand);
        self
    }

    pub fn attr(&self, name: &str) -> Option<&'static Attr> {
        self.attrs.iter().find(|a| a.name == name)
    }
}

/// An attribute AWS assigns: known only after the resource exists (or is looked up).
#[derive(Debug, Clone, Copy)]
pub struct Computed {
    pub name: &'static str,
    pub ty: Type,
    pub doc: &'static str,
}

impl Computed {
    pub const fn new(name: &'static str, ty: Type, doc: &'static str) -> Self {
        Computed { name, ty, doc }
    }
}

/// Everything infra knows about one kind.
#[derive(Debug)]
pub struct ResourceSchema {
    pub title: &'static str,
    /// One paragraph for people who write stacks: what the kind is and how infra treats it.
    /// Markdown-light: `code` in backticks, no links. `infra explain` and the reference in
    /// `docs/language.md` both print it.
    pub doc: &'static str,
    /// The rules across attributes ([`Rule`]) in words, or empty.
    pub rules_doc: &'static str,
    pub body: &'static BlockSchema,
    pub computed: &'static [Computed],
    /// What `(ref)"kind.name"` means without an attribute.
    pub default_attribute: &'static str,
    /// Whether the kind carries AWS tags (Route53 records do not).
    pub taggable: bool,
    /// The attributes that identify the live resource (its natural key).
    pub natural_key: &'static [&'static str],
    /// When resources of the kind that the stack no longer declares (orphans) are deleted:
    /// lower phases first, so what points at others goes before what it points at (a record
    /// before its load balancer, a service before its cluster). Look-ups are never deleted
    /// (0). Phases leave gaps for kinds to come.
    pub delete_phase: u8,
}

impl ResourceSchema {
    /// The type of an attribute a reference may read: a written attribute or a computed one.
    /// An entry of a computed map reads as `map.key` (an EFS file system's
    /// `access-points.app`), with the map's item type.
    pub fn readable(&self, name: &str) -> Option<Type> {
        if let Some((map, _key)) = name.split_once('.') {
            return match self.computed.iter().find(|c| c.name == map)?.ty {
                Type::Map(item) => Some(*item),
                _ => None,
            };
        }
        self.body
            .attr(name)
            .map(|a| a.ty)
            .or_else(|| self.computed.iter().find(|c| c.name == name).map(|c| c.ty))
    }

    pub fn readable_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.body
            .attrs
            .iter()
            .map(|a| a.name)
            .chain(self.computed.iter().map(|c| c.name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every attribute of `block` and of the blocks inside it, with its path.
    fn walk(block: &'static BlockSchema, prefix: &str, out: &mut Vec<(String, &'static Attr)>) {
        for attr in block.attrs {
            let path = format!("{prefix}{}", attr.name);
            if let Type::Block(inner) | Type::Blocks(inner) = attr.ty {
                walk(inner, &format!("{path}."), out);
            }
            out.push((path, attr));
        }
    }

    #[test]
    fn an_entry_of_a_computed_map_is_readable_with_the_item_type() {
        let efs = Kind::Efs.schema();
        assert!(matches!(
            efs.readable("access-points.app"),
            Some(Type::String)
        ));
        assert!(efs.readable("id.app").is_none());
        assert!(
            efs.readable("tags.team").is_none(),
            "only computed maps have entries"
        );
    }

    #[test]
    fn attributes_left_to_aws_have_no_default_and_are_the_ones_whose_aws_default_varies() {
        let mut left = Vec::new();
        for kind in Kind::MANAGED {
            let mut attrs = Vec::new();
            walk(kind.schema().body, "", &mut attrs);
            for (path, attr) in attrs {
                if attr.unmanaged_when_omitted {
                    assert!(
                        attr.default.is_none(),
                        "{path}: a default would be filled in where AWS's choice should stand"
                    );
                    left.push(format!("{}.{path}", kind.keyword()));
                }
            }
        }
        left.sort();
        // The account's setting, a default that changed over the years, the key a secret was
        // given outside the stack, the outbound rules AWS gives every new security group.
        assert_eq!(
            left,
            [
                "cluster.container-insights",
                "efs.kms-key",
                "listener.ssl-policy",
                "secret.kms-key",
                "security-group.egress"
            ]
        );
    }
}
