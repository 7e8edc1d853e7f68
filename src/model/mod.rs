//! The data model every stage shares: addresses, values, schemas and the resolved stack.
//!
//! Depends on nothing else in the crate.

pub mod address;
pub mod duration;
pub mod kind;
pub mod policy;
pub mod probe;
pub mod regions;
pub mod schema;
pub mod schemas;
pub mod span;
pub mod stack;
pub mod value;
pub mod warning;

pub use address::Address;
pub use kind::Kind;
pub use probe::Probe;
pub use span::{SourceId, Sources, Span};
pub use stack::{DependsOn, Lifecycle, Resource, Stack};
pub use value::{RefTarget, Reference, Value};
pub use warning::Warning;
