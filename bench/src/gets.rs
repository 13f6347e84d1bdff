//! `graph-bench gets [N]`: benchmark 4 alone against the static server, for profiles:
//! `N` sequential `GET /users/{id}` through the SDK and through plain reqwest, printing
//! microseconds per request. `GETS_ONLY=ours` (or `raw`) runs one side only.

use msgraph_typed_emulator::Emulator;

use crate::common::{BoxError, Identity, raw_token, sdk_client, sdk_client_over};
use crate::scenarios::{Getter, sequential_gets};
use crate::servers;

/// Runs `n` sequential gets per side, twice, after a warm-up.
pub async fn run(n: usize, server_handle: tokio::runtime::Handle) -> Result<(), BoxError> {
    let emulator = server_handle
        .spawn(async move { Emulator::builder().users(n).start().await })
        .await??;
    let identity = Identity {
        authority: emulator.authority_url(),
        origin: emulator.url().to_owned(),
        tenant: emulator.tenant_id().to_owned(),
    };
    let http = reqwest::Client::new();
    let token = raw_token(&http, &emulator.token_endpoint()).await?;
    let first = format!("{}/users?$top=999", emulator.graph_url());
    let (server, ids) = servers::start_static(&server_handle, &http, &first, &token, n).await?;
    let ids = &ids[..n.min(ids.len())];
    let client = sdk_client(&identity, &server.graph_url)?;
    client.users().by_id(ids[0].as_str()).get().send().await?;
    // The SDK over reqwest's defaults (no total timeout, no connect timeout): tells how
    // much of the difference is the SDK's own HTTP client settings.
    let plain_http = sdk_client_over(&identity, &server.graph_url, reqwest::Client::new())?;
    plain_http
        .users()
        .by_id(ids[0].as_str())
        .get()
        .send()
        .await?;
    let only = std::env::var("GETS_ONLY").ok();
    for round in 0..2 {
        for (name, getter, sdk) in [
            ("ours", Getter::Ours, &client),
            ("ours-plain-http", Getter::Ours, &plain_http),
            ("raw", Getter::Raw, &client),
        ] {
            if only.as_deref().is_some_and(|o| o != name) {
                continue;
            }
            let elapsed =
                sequential_gets(getter, sdk, &http, &server.graph_url, &token, ids).await?;
            println!(
                "round {round} {name:>15}: {:7.1} us per request",
                elapsed.as_secs_f64() * 1e6 / ids.len() as f64
            );
        }
    }
    emulator.shutdown().await;
    Ok(())
}
