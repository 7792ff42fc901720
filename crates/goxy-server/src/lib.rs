//! goxy's HTTP server: GOPROXY protocol routing, caching tiers, policy.

pub mod app;
pub mod audit;
pub mod auth;
pub mod config;
pub mod direct;
pub mod example;
pub mod forwarded;
pub mod front;
mod home;
pub mod hooks;
pub mod limits;
pub mod metrics;
pub mod opsconfig;
pub mod private;
pub mod route;
mod sendfile;
mod serve;
pub mod sumdb;
pub mod tls;

pub use config::ServeArgs;
pub use serve::run;
