//! The cold token path: many concurrent requests on a brand-new client.

use std::sync::Arc;
use std::time::Instant;

use msgraph_typed::GraphClient;

use crate::common::BoxError;

/// What 1,000 concurrent requests on a cold token cache did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ColdBurst {
    pub requests: usize,
    pub failures: usize,
    pub token_requests: u64,
    pub seconds_to_last: f64,
}

/// `n` concurrent `users().by_id(id).get()` on a brand-new client (empty token cache);
/// `token_requests` reads the emulator's client-credentials counter.
pub async fn cold_burst(
    client: GraphClient,
    ids: &[String],
    n: usize,
    token_requests: &dyn Fn() -> u64,
) -> Result<ColdBurst, BoxError> {
    let before = token_requests();
    let client = Arc::new(client);
    let started = Instant::now();
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let client = client.clone();
            let id = ids[i % ids.len()].clone();
            tokio::spawn(async move {
                client
                    .users()
                    .by_id(id.as_str())
                    .get()
                    .send()
                    .await
                    .map(|_| ())
            })
        })
        .collect();
    let mut failures = 0;
    let mut first_error = None;
    for task in tasks {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                failures += 1;
                first_error.get_or_insert_with(|| e.to_string());
            }
            Err(e) => {
                failures += 1;
                first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    let seconds_to_last = started.elapsed().as_secs_f64();
    if let Some(e) = first_error {
        eprintln!("cold burst: {failures} failures, first: {e}");
    }
    Ok(ColdBurst {
        requests: n,
        failures,
        token_requests: token_requests() - before,
        seconds_to_last,
    })
}
