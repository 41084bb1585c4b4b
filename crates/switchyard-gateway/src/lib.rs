//! Switchyard's Pingora side: the only crate that touches sockets.
//!
//! - [`proxy::Gateway`]: the `ProxyHttp` implementation; `request_filter` runs the request.
//! - [`handler`]: endpoint matching, gateway keys, body reading, planning.
//! - [`attempt`]: the attempt loop and the commit point.
//! - [`upstream`]: one exchange with a provider over Pingora's pooled connector.
//! - [`images`]: image URLs fetched and inlined for providers that take only image bytes.
//! - [`admin`]: `/health`, `/ready`, `/metrics`.
//! - [`server`]: assembling and running the Pingora server; [`shutdown`]: draining.
//!
//! Translation and routing decisions are not made here: they come from
//! `switchyard-providers` and `switchyard-router`, which are pure.

pub mod admin;
pub mod attempt;
pub mod ctx;
pub mod dns;
pub mod error;
pub mod handler;
pub mod health;
pub mod images;
pub mod metrics;
pub mod proxy;
pub mod respond;
pub mod server;
pub mod shutdown;
pub mod state;
pub mod upstream;

pub use server::{run, RunOptions};
