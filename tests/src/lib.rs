//! Shared helpers for the end-to-end suites in `tests/tests/`.

pub mod core_support;
pub mod downgrade_server;
pub mod external;
pub mod idp;
pub mod redis_server;
