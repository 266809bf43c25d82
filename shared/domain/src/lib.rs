//! The domain of ilert for Microsoft Teams: identifiers, entities, the rules that govern them,
//! and the port traits (state store, work queue) the capabilities are written against.
//!
//! This crate must not know about AWS, HTTP, Teams wire formats or any concrete database:
//! adapters live in other crates (`store`, `queue`) and implement the traits declared here.

pub mod alerts;
pub mod ids;
pub mod model;
pub mod queue;
pub mod store;

pub use ids::{AadObjectId, AlertId, ConnectionId, ConversationId, GroupId, IdError, RouteId, TenantId};
