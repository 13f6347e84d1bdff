//! `graph-bench child MODE GRAPH_URL`: one client in a process of its own, so that wall time,
//! CPU and peak RSS are those of that client alone. Every mode gets its own token first (one
//! client-credentials request to the emulator named by `BENCH_*`), then reads every user of
//! `GRAPH_URL/users` with `$top=999`, and prints how many it read. The `throttled-*` modes
//! run a job of the bulk benchmark instead (see `bulk.rs`) and print a JSON summary.

use futures::TryStreamExt as _;
use msgraph_typed::models::AnyUser;
use serde::de::DeserializeOwned;

use crate::common::{BoxError, Identity, LinkOnly, RawPage, RawUser, raw_token, sdk_client};

/// The modes, with what each measures.
pub const MODES: &[(&str, &str)] = &[
    (
        "raw-stream",
        "baseline: reqwest + serde_json into a 14-property struct, page by page",
    ),
    (
        "raw-collect",
        "baseline: reqwest + serde_json into a 14-property struct, every user kept in a Vec",
    ),
    (
        "ours-stream",
        "ours: `users().list().top(999).stream()`, generated `AnyUser`",
    ),
    (
        "ours-collect",
        "ours: `users().list().top(999).stream().try_collect::<Vec<AnyUser>>()`",
    ),
    (
        "ours-narrow",
        "ours, the same pipeline into the 14-property struct (`collection::<T>()`)",
    ),
    (
        "raw-page",
        "baseline: one page (no next link) into a Vec of the 14-property struct",
    ),
    ("ours-page", "ours: one page, `users().list().send()`"),
    (
        "download-ours",
        "ours: the 200 MiB file of `BENCH_DOWNLOAD_PATH` as a stream (bytes read)",
    ),
    (
        "download-raw",
        "baseline: the same file with reqwest's `bytes_stream()` (bytes read)",
    ),
    (
        "fetch-only",
        "ceiling: fetch every page, read only the next link",
    ),
];

/// Runs one mode; prints the number of users read.
pub async fn run(args: &[String]) -> Result<(), BoxError> {
    let [mode, graph_url] = args else {
        return Err("usage: graph-bench child MODE GRAPH_URL (BENCH_* set by the parent)".into());
    };
    let identity = Identity::from_env()?;
    if mode.starts_with("throttled-") {
        return crate::bulk::child(mode, graph_url, &identity).await;
    }
    let first = format!("{graph_url}/users?$top=999");
    let count = match mode.as_str() {
        "raw-stream" => raw_pages::<RawUser>(&identity, &first, false).await?,
        "raw-collect" => raw_pages::<RawUser>(&identity, &first, true).await?,
        "raw-page" => raw_pages::<RawUser>(&identity, &format!("{graph_url}/users"), true).await?,
        "fetch-only" => {
            let http = reqwest::Client::new();
            let token = raw_token(&http, &identity.token_endpoint()).await?;
            let mut next = Some(first);
            let mut items = 0;
            while let Some(url) = next.take() {
                let body = get(&http, &url, &token).await?;
                let page = serde_json::from_slice::<LinkOnly>(&body)?;
                items += page.value.len();
                next = page.next_link;
            }
            items
        }
        "ours-stream" => {
            let client = sdk_client(&identity, graph_url)?;
            count(client.users().list().top(999).stream()).await?
        }
        "ours-collect" => {
            let client = sdk_client(&identity, graph_url)?;
            let users: Vec<AnyUser> = client
                .users()
                .list()
                .top(999)
                .stream()
                .try_collect()
                .await?;
            std::hint::black_box(&users);
            users.len()
        }
        "ours-narrow" => {
            let client = sdk_client(&identity, graph_url)?;
            count(
                client
                    .client()
                    .collection::<RawUser>("users")
                    .top(999)
                    .stream(),
            )
            .await?
        }
        "ours-page" => {
            let client = sdk_client(&identity, graph_url)?;
            let page = client.users().list().send().await?;
            std::hint::black_box(&page);
            page.items().len()
        }
        "download-ours" | "download-raw" => crate::files::child(mode, graph_url, &identity).await?,
        other => return Err(format!("unknown mode {other:?}").into()),
    };
    println!("{count}");
    Ok(())
}

/// Reads every item of a stream, keeping none; how many there were.
async fn count<T, E>(items: impl futures::Stream<Item = Result<T, E>>) -> Result<usize, E> {
    items
        .try_fold(0usize, |n, item| async move {
            std::hint::black_box(&item);
            Ok(n + 1)
        })
        .await
}

async fn get(http: &reqwest::Client, url: &str, token: &str) -> Result<bytes::Bytes, BoxError> {
    Ok(http
        .get(url)
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?)
}

/// The baseline: GET, read the body, `serde_json::from_slice` into a page of `T`, follow
/// `@odata.nextLink`; `keep` keeps every item until the end.
async fn raw_pages<T: DeserializeOwned>(
    identity: &Identity,
    first: &str,
    keep: bool,
) -> Result<usize, BoxError> {
    let http = reqwest::Client::new();
    let token = raw_token(&http, &identity.token_endpoint()).await?;
    let mut next = Some(first.to_owned());
    let mut kept: Vec<T> = Vec::new();
    let mut count = 0;
    while let Some(url) = next.take() {
        let body = get(&http, &url, &token).await?;
        let page: RawPage<T> = serde_json::from_slice(&body)?;
        count += page.value.len();
        next = page.next_link;
        if keep {
            kept.extend(page.value);
        } else {
            std::hint::black_box(&page.value);
        }
    }
    std::hint::black_box(&kept);
    Ok(count)
}
