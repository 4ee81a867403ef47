//! The root package of explainme: the gRPC transport and the command-line glue.
//!
//! Domain logic lives in the `crates/explainme-*` library crates; this package only parses
//! command lines, maps protocol messages to domain types and wires the crates together.

mod api;
mod audit;
pub mod auth;
pub mod cli;
mod convert;
#[cfg(fuzzing)]
pub mod fuzzing;
mod gate;
mod limits;
pub mod pb;
pub mod server;
pub mod tls;
mod web;
