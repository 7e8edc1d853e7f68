//! Elastic Load Balancing v2: application load balancers, target groups, listeners and rules.

use std::sync::Arc;

use super::tagging::OwnedIndex;
use super::{Clients, Connection};
use crate::providers::Providers;

/// Adds the load-balancing kinds to `providers`.
pub fn register(
    _providers: &mut Providers,
    _clients: &Clients,
    _connection: &Connection,
    _owned: &Arc<OwnedIndex>,
) {
}
