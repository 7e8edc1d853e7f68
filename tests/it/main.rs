//! End-to-end tests of the `infra` binary. One test binary, one module per area.

mod canary;
mod docs;
mod explain;
mod faults;
mod fmt;
mod graph;
mod harness;
mod hostile;
mod invalid;
mod inventory;
mod limits;
mod live;
mod live_ecs;
mod live_elbv2;
mod lock;
mod lookups;
mod moto;
mod ownership;
mod plan_json;
mod promises;
mod proxy;
mod reference;
mod replacements;
mod saved;
mod scale;
mod select;
