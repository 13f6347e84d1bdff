//! `graph-bench decode`: the parse step alone. One real `/users?$top=999` page from the
//! emulator, parsed again and again into the baseline's struct, into msgraph-typed's `AnyUser`
//! and `User`, and into `serde_json::Value`; prints nanoseconds per item. A profile of the
//! paging benchmark's parse cost without any I/O (run it under `perf record`).

use std::time::Instant;

use msgraph_typed::models::{AnyUser, User};
use msgraph_typed_emulator::Emulator;
use serde::de::DeserializeOwned;

use crate::common::{BoxError, GRAPH_SCOPE, RawPage, RawUser, raw_token};

/// Fetches one page and times `rounds` parses of it per target type.
pub async fn run(rounds: usize) -> Result<(), BoxError> {
    let emulator = Emulator::builder().users(999).start().await?;
    let http = reqwest::Client::new();
    let token = raw_token(&http, &emulator.token_endpoint()).await?;
    let page = http
        .get(format!("{}/users?$top=999", emulator.graph_url()))
        .bearer_auth(&token)
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    let items = serde_json::from_slice::<RawPage<serde_json::Value>>(&page)?
        .value
        .len();
    println!(
        "one page: {} bytes, {items} users; {rounds} rounds each (scope {GRAPH_SCOPE})",
        page.len()
    );
    println!(
        "sizes: User {} bytes, AnyUser {} bytes, RawUser {} bytes",
        std::mem::size_of::<User>(),
        std::mem::size_of::<AnyUser>(),
        std::mem::size_of::<RawUser>()
    );
    let only = std::env::var("DECODE_ONLY").ok();
    for (name, parse) in [
        (
            "baseline RawUser",
            parse::<RawUser> as fn(&[u8]) -> Result<usize, BoxError>,
        ),
        ("baseline FullUser", parse::<crate::full_user::FullUser>),
        ("msgraph-typed AnyUser", parse::<AnyUser>),
        ("msgraph-typed User", parse::<User>),
        ("serde_json::Value", parse::<serde_json::Value>),
    ] {
        if only.as_deref().is_some_and(|o| !name.contains(o)) {
            continue;
        }
        let start = Instant::now();
        let mut total = 0;
        for _ in 0..rounds {
            total += parse(&page)?;
        }
        let per_item = start.elapsed().as_nanos() as f64 / total.max(1) as f64;
        println!("{name:>20}: {per_item:8.0} ns per user");
    }
    emulator.shutdown().await;
    Ok(())
}

fn parse<T: DeserializeOwned>(page: &[u8]) -> Result<usize, BoxError> {
    Ok(serde_json::from_slice::<RawPage<T>>(page)?.value.len())
}
