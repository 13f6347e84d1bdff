//! Typed Microsoft Graph v1.0 models and fluent request builders.
//!
//! The code under `src/generated/` is written by the `codegen` crate from
//! Microsoft's published metadata; do not edit it by hand.
//!
//! ```
//! let _ = graph_api::GRAPH_VERSION;
//! ```

/// The Graph API version this crate was generated for.
pub const GRAPH_VERSION: &str = "v1.0";
