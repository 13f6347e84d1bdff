//! The HTTP pipeline of the typed Microsoft Graph SDK.
//!
//! Every request, page, retry and batch item goes through one ordered chain:
//! telemetry, retry, auth (a fresh token from `graph-auth` before every attempt),
//! redirects, transport. This crate also maps Graph errors and pages through
//! collections as `futures::Stream`s.
//!
//! ```
//! assert!(!graph_core::USER_AGENT.is_empty());
//! ```

/// The product token this SDK sends in `User-Agent`.
pub const USER_AGENT: &str = concat!("graph-rs-typed/", env!("CARGO_PKG_VERSION"));
