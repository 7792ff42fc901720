//! goxy's HTTP server: GOPROXY protocol routing, caching tiers, policy.

pub mod app;
pub mod config;
mod home;
pub mod hooks;
pub mod route;
mod serve;

pub use config::ServeArgs;
pub use serve::run;
