//! The schema catalogue as documentation: `infra explain` in the terminal and the reference of
//! every kind in `docs/language.md`, both rendered from [`crate::model::schemas`], so that the
//! two cannot say different things.
//!
//! [`resolve`] turns `KIND[.ATTRIBUTE...]` into a [`Topic`]; [`text`] renders topics for the
//! terminal and [`markdown`] renders and rewrites the generated regions of the reference. Pure
//! functions of the schema: nothing here prints.

pub(crate) mod describe;
pub mod markdown;
pub mod text;
mod topic;

pub use topic::{Topic, all_kinds, resolve};
