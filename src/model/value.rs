//! The one value type shared by desired state, live state, diffs and plan files.

use std::collections::BTreeMap;
use std::fmt;

use super::address::Address;
use super::span::Span;

/// An attribute value. Blocks decode to `Map`, repeated blocks to `List` of `Map`.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    List(Vec<Value>),
    Map(BTreeMap<String, Value>),
    /// An attribute of another resource, known once that resource exists.
    Ref(Box<Reference>),
    /// A value only AWS can tell, once the resource it comes from exists.
    Unknown,
}

/// What a reference points at before module outputs are substituted.
#[derive(Debug, Clone, PartialEq)]
pub enum RefTarget {
    /// `kind.name[.attribute]`, qualified with its module path.
    Resource {
        address: Address,
        attribute: Option<String>,
    },
    /// `module.<name>.<output>`, qualified with the module path it was written in.
    Output { module: Vec<String>, name: String },
}

/// A typed reference written as `(ref)"target-group.api.arn"`.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    pub target: RefTarget,
    /// Where the reference was written (the edge of the graph points here).
    pub span: Span,
}

impl Reference {
    /// The resource this reference depends on, once outputs are substituted.
    pub fn address(&self) -> Option<&Address> {
        match &self.target {
            RefTarget::Resource { address, .. } => Some(address),
            RefTarget::Output { .. } => None,
        }
    }

    pub fn attribute(&self) -> Option<&str> {
        match &self.target {
            RefTarget::Resource { attribute, .. } => attribute.as_deref(),
            RefTarget::Output { .. } => None,
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.target {
            RefTarget::Resource { address, attribute } => {
                write!(f, "{address}")?;
                if let Some(attr) = attribute {
                    write!(f, ".{attr}")?;
                }
                Ok(())
            }
            RefTarget::Output { module, name } => {
                for m in module {
                    write!(f, "module.{m}.")?;
                }
                write!(f, "{name}")
            }
        }
    }
}

impl Value {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "integer",
            Value::Float(_) => "number",
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Map(_) => "block",
            Value::Ref(_) => "reference",
            Value::Unknown => "unknown",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// Calls `f` on every reference inside this value, depth first.
    pub fn visit_refs<'a>(&'a self, f: &mut impl FnMut(&'a Reference)) {
        match self {
            Value::Ref(r) => f(r),
            Value::List(items) => items.iter().for_each(|v| v.visit_refs(f)),
            Value::Map(map) => map.values().for_each(|v| v.visit_refs(f)),
            _ => {}
        }
    }

    /// Calls `f` on every reference inside this value, allowing it to replace the reference.
    pub fn visit_refs_mut(&mut self, f: &mut impl FnMut(&mut Value)) {
        match self {
            Value::Ref(_) => f(self),
            Value::List(items) => items.iter_mut().for_each(|v| v.visit_refs_mut(f)),
            Value::Map(map) => map.values_mut().for_each(|v| v.visit_refs_mut(f)),
            _ => {}
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::String(s) => write!(f, "{s:?}"),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Value::Map(map) => {
                f.write_str("{")?;
                for (i, (k, v)) in map.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k} = {v}")?;
                }
                f.write_str("}")
            }
            Value::Ref(r) => write!(f, "(ref){r}"),
            Value::Unknown => f.write_str("(known after apply)"),
        }
    }
}
