//! The notifier function: the consumer of the notifications queue (see the `notifications`
//! crate for what it does). This crate only builds the notifier from its parts, so the
//! Lambda `main` and the local runner construct it the same way.

use domain::queue::Queue;
use domain::store::Store;
use notifications::{ConnectorPoster, Notifier, NotifierOptions};
use std::sync::Arc;
use std::time::Duration;

/// How long one Bot Connector call may spend on retries before the job is re-queued instead.
pub const CONNECTOR_BUDGET: Duration = Duration::from_secs(20);

/// The notifier over a store, the queue it feeds deliveries back into, and Teams.
pub fn notifier(
    store: Arc<dyn Store>,
    queue: Arc<dyn Queue>,
    connector: Arc<botframework::ConnectorClient>,
) -> Notifier {
    Notifier::new(store, queue, Arc::new(ConnectorPoster::new(connector, CONNECTOR_BUDGET)), NotifierOptions::default())
}
