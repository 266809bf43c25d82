//! Stateful simulators of the remote services the product talks to, for tests only. Each is an
//! HTTP server on a random loopback port, started in-process, speaking the service's real wire
//! format (from `../shared/reference/` and `../shared/fixtures/`) including its failures.
//! Nothing outside tests may depend on this crate.

pub mod botframework_login;
pub mod connector;
pub mod graph;
pub mod ilert;
pub mod login;
mod server;

pub use server::Running;
