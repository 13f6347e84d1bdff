//! The runnable examples of the typed Microsoft Graph SDK (`cargo run --example quickstart`,
//! `cargo run --example web_api`) and their end-to-end tests. This crate depends on
//! `msgraph-typed` alone (plus the emulator and the application's own libraries), which proves
//! that one dependency is enough: the README's examples are compiled here too.

/// The repository README's Rust examples, compiled as doctests against `msgraph-typed` alone.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
