//! infra: infrastructure as code for AWS web services.
//!
//! The pipeline runs one way: `lang` (load → resolve) produces a `model::Stack`, `graph` builds
//! the dependency DAG; later stages refresh, diff, render and apply. Only `ui` prints.

pub mod apply;
pub mod cli;
pub mod explain;
pub mod graph;
pub mod init;
pub mod known;
pub mod lang;
pub mod model;
pub mod outputs;
pub mod plan;
pub mod preflight;
pub mod providers;
pub mod refresh;
pub mod rollback;
pub mod runbook;
pub mod status;
pub mod ui;
pub mod verify;
