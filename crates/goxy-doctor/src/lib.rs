//! Client-side diagnostics for a Go developer's environment and network path;
//! mirror scoring; configuration writing; prewarming a goxy server.

pub mod cli;
