//! ECS: clusters, task definitions and services.

use std::sync::Arc;

use super::tagging::OwnedIndex;
use super::{Clients, Connection};
use crate::providers::Providers;

/// Adds the ECS kinds to `providers`.
pub fn register(
    _providers: &mut Providers,
    _clients: &Clients,
    _connection: &Connection,
    _owned: &Arc<OwnedIndex>,
) {
}
