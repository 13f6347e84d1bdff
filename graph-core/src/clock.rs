//! Time, injected: the pipeline reads the wall clock and waits only through
//! [`Clock`], so tests run retries and token expiry without waiting. The SDK has one clock
//! trait, defined in `msgraph-typed-auth` (the token manager decides expiry with the same clock).

pub use msgraph_typed_auth::{Clock, SystemClock, TestClock};
