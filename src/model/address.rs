//! Resource addresses: `service.api`, `lookup.vpc.main`, `module.web.service.api`.

use std::fmt;

use super::kind::Kind;

/// Where a resource lives in a stack: its module path, its kind and its name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    pub module: Vec<String>,
    pub kind: Kind,
    pub name: String,
}

impl Address {
    pub fn new(module: Vec<String>, kind: Kind, name: impl Into<String>) -> Self {
        Address {
            module,
            kind,
            name: name.into(),
        }
    }

    /// The address without its module prefix, as written inside the module.
    pub fn local(&self) -> String {
        format!("{}.{}", self.kind.keyword(), self.name)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for m in &self.module {
            write!(f, "module.{m}.")?;
        }
        write!(f, "{}.{}", self.kind.keyword(), self.name)
    }
}
