//! The management API: ilert's admin side of the product, under `/admin/v1`.
//!
//! It owns connections (one ilert account ↔ one Microsoft tenant: the ilert API key kept in
//! the secret vault, the webhook secret shown once and stored as a hash), lists the
//! conversations the bot is installed in for a connection's tenant and the tenant's teams and
//! channels (from the teams directory the directory sync keeps), and owns routes (which
//! alerts go to which conversation). Every route needs `Authorization: Bearer <ADMIN_TOKEN>`.
//! The contract is `openapi.json` beside this crate's `Cargo.toml`; a test holds the router
//! to it.
//!
//! The library is [`router`] over an [`AdminState`]; the `management-api` binary serves it on
//! Lambda, the local runner mounts it as is. It works only through the domain's store port
//! and the `secrets` vault trait: it must not know DynamoDB, Secrets Manager, Teams' wire
//! formats or ilert's API (it never calls ilert; it only keeps the key).

mod connections;
mod conversations;
mod handlers;
mod routes;
mod state;
mod teams;
mod validate;
mod views;
mod webhook_secret;

pub use state::AdminState;
pub use webhook_secret::sha256_hex as webhook_secret_sha256;

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodRouter, any, delete, get, patch, post};
use httpapi::{RequestSpanLayer, method_not_allowed, no_route, require_bearer};

/// Where every route of this API lives.
pub const BASE_PATH: &str = "/admin/v1";

/// The operation name on this API's request spans (and so on its log lines).
pub const OPERATION: &str = "management-api";

/// The HTTP methods the API uses; each endpoint has exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    Get,
    Post,
    Patch,
    Delete,
}

impl Verb {
    fn method(self) -> Method {
        match self {
            Verb::Get => Method::GET,
            Verb::Post => Method::POST,
            Verb::Patch => Method::PATCH,
            Verb::Delete => Method::DELETE,
        }
    }

    fn route<H: Handler<T, AdminState>, T: 'static>(self, handler: H) -> MethodRouter<AdminState> {
        match self {
            Verb::Get => get(handler),
            Verb::Post => post(handler),
            Verb::Patch => patch(handler),
            Verb::Delete => delete(handler),
        }
    }
}

struct Endpoint {
    verb: Verb,
    /// Relative to [`BASE_PATH`], in axum's (and OpenAPI's) `{param}` syntax.
    path: &'static str,
    route: MethodRouter<AdminState>,
}

fn endpoint<H: Handler<T, AdminState>, T: 'static>(verb: Verb, path: &'static str, handler: H) -> Endpoint {
    Endpoint { verb, path, route: verb.route(handler) }
}

/// The one list of endpoints: [`router`] serves exactly these and [`endpoints`] reports
/// them, so the two cannot drift apart.
fn table() -> Vec<Endpoint> {
    use Verb::*;
    use handlers::*;
    vec![
        endpoint(Post, "/connections", create_connection),
        endpoint(Get, "/connections", list_connections),
        endpoint(Get, "/connections/{id}", get_connection),
        endpoint(Patch, "/connections/{id}", patch_connection),
        endpoint(Delete, "/connections/{id}", delete_connection),
        endpoint(Post, "/connections/{id}/webhook-secret", rotate_webhook_secret),
        endpoint(Get, "/connections/{id}/conversations", list_conversations),
        endpoint(Get, "/connections/{id}/teams", list_teams),
        endpoint(Get, "/connections/{id}/teams/{teamId}/channels", list_team_channels),
        endpoint(Post, "/connections/{id}/routes", create_route),
        endpoint(Get, "/connections/{id}/routes", list_routes),
        endpoint(Get, "/connections/{id}/routes/{routeId}", get_route),
        endpoint(Delete, "/connections/{id}/routes/{routeId}", delete_route),
    ]
}

/// Every `(method, full path)` the router serves, e.g. `(GET, "/admin/v1/connections/{id}")`.
pub fn endpoints() -> Vec<(Method, String)> {
    table().into_iter().map(|e| (e.verb.method(), format!("{BASE_PATH}{}", e.path))).collect()
}

/// The management API. Everything under [`BASE_PATH`] requires the admin bearer token first
/// (so nothing, not even which paths exist, is told to an unauthenticated caller), then
/// answers JSON: a wrong method is 405, an unknown path 404. It claims no router-wide
/// fallback, so it can be merged into the local runner's router as is.
pub fn router(state: AdminState) -> Router {
    let auth = state.bearer_auth();
    let mut api = Router::new();
    for e in table() {
        api = api.route(&format!("{BASE_PATH}{}", e.path), e.route);
    }
    // Everything else under the base is a JSON 404 (behind the token too). A catch-all does
    // not match an empty remainder, hence the bare base with and without its slash.
    api.route(BASE_PATH, any(no_route))
        .route(&format!("{BASE_PATH}/"), any(no_route))
        .route(&format!("{BASE_PATH}/{{*rest}}"), any(no_route))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(auth, require_bearer))
        .layer(RequestSpanLayer::new(OPERATION))
        .with_state(state)
}
