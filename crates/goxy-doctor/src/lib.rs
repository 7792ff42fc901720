//! Client-side diagnostics for a Go developer's environment and network path;
//! mirror scoring; configuration writing; prewarming a goxy server.
//!
//! * `goxy doctor` ([`doctor`]): configuration traps ([`findings`]) and timed
//!   DNS/TCP/TLS/HTTP probes ([`probe`]) of every GOPROXY entry and the checksum database.
//! * `goxy mirrors` ([`mirrors`]): measure and score a catalog of mirrors, recommend and apply a GOPROXY.
//! * `goxy env` ([`shell`]): settings for a shell profile or the GOENV file.
//! * `goxy prewarm` ([`prewarm`]): fetch a go.mod/go.sum's modules through a server and check them.

pub mod cli;
pub mod doctor;
pub mod findings;
pub mod goenv;
pub mod goproxy;
pub mod mirrors;
pub mod pattern;
pub mod prewarm;
pub mod probe;
pub mod shell;
pub mod style;
