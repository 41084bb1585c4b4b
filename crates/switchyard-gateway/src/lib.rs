//! Switchyard's Pingora side: the only crate that touches sockets.
//!
//! - [`proxy::Gateway`]: the `ProxyHttp` implementation; `request_filter` runs the request.
//! - [`request`]: one request from arrival to completion — the pipeline's stages in order.
//! - [`intake`]: endpoint matching, headers, the body read and parsed once.
//! - [`plan`]: which route tree a request walks; how a target's provider is reached.
//! - [`attempt`]: the attempt loop; [`commit`]: the commit point and the response body.
//! - [`stages`]: the built-in stages (gateway keys, metrics, access log) and their
//!   registration from config.
//! - [`upstream`]: one exchange with a provider over Pingora's pooled connector.
//! - [`front`] and [`guard`]: every client connection bounded in number, time and head size
//!   before Pingora's HTTP code reads it.
//! - [`images`]: image URLs fetched and inlined for providers that take only image bytes.
//! - [`tls`]: the gateway listener's certificate, reloaded when its files change.
//! - [`admin`]: `/health`, `/ready`, `/metrics`.
//! - [`listeners`]: the listening sockets, bound before the server starts, and their
//!   hand-over to a new process on upgrade.
//! - [`server`]: assembling and running the Pingora server; [`shutdown`]: signals and draining.
//!
//! Translation and routing decisions are not made here: they come from
//! `switchyard-providers` and `switchyard-router`, which are pure.

pub mod admin;
pub mod attempt;
pub mod budget;
pub mod commit;
pub mod ctx;
pub mod dns;
pub mod error;
pub mod facts;
pub mod failure;
pub mod front;
pub mod guard;
pub mod health;
pub mod images;
pub mod intake;
pub mod listeners;
pub mod metrics;
pub mod netguard;
pub mod plan;
pub mod proxy;
pub mod redact;
pub mod request;
pub mod respond;
pub mod server;
pub mod shutdown;
pub mod stages;
pub mod state;
pub mod tls;
pub mod upstream;

pub use server::{check, run, RunOptions};
pub use switchyard_pipeline::Plugin;
