//! Benchmark 2's peer: graph-rs-sdk 3.x pages `/users?$top=999` with its `paging()` API.
//!
//! Run by `graph-bench run`, never by hand:
//! `graph-bench-peer <graph base url> <repetitions>` with the bearer token in `PEER_TOKEN`.
//! Prints one JSON line: `{"sdk":"graph-rs-sdk 3.0.1","items":N,"seconds":[...]}`.

use std::time::Instant;

use futures::StreamExt as _;
use graph_rs_sdk::http::Url;
use graph_rs_sdk::{GraphClient, GraphClientConfiguration, ODataQuery as _};
use serde::Deserialize;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The same user struct as the reqwest baseline of `graph-bench` (the properties the server sends).
#[allow(dead_code)] // Fields are read only by the deserialiser: that is the work measured.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct User {
    id: Option<String>,
    display_name: Option<String>,
    user_principal_name: Option<String>,
    given_name: Option<String>,
    surname: Option<String>,
    mail: Option<String>,
    mail_nickname: Option<String>,
    account_enabled: Option<bool>,
    department: Option<String>,
    job_title: Option<String>,
    business_phones: Option<Vec<String>>,
    mobile_phone: Option<String>,
    office_location: Option<String>,
    preferred_language: Option<String>,
}

/// One page of users.
#[derive(Debug, Deserialize)]
struct UsersPage {
    value: Vec<User>,
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .ok_or("usage: graph-bench-peer <graph base url> <repetitions>")?;
    let reps: usize = args.next().unwrap_or_else(|| "3".into()).parse()?;
    let token = std::env::var("PEER_TOKEN").map_err(|_| "PEER_TOKEN is not set")?;
    let url = Url::parse(&base)?;

    let mut seconds = Vec::new();
    let mut items = 0usize;
    for _ in 0..reps {
        // A new client per repetition, as ours; the connection pool starts cold each time.
        let configuration = GraphClientConfiguration::new()
            .access_token(token.clone())
            .https_only(false);
        let mut client = GraphClient::from(configuration);
        client.use_test_endpoint(&url);
        let started = Instant::now();
        let mut count = 0usize;
        let mut pages = client
            .users()
            .list_user()
            .top("999")
            .paging()
            .stream::<UsersPage>()?;
        while let Some(page) = pages.next().await {
            let page = page?;
            let status = page.status();
            let body = page
                .into_body()
                .map_err(|e| format!("HTTP {status}: {e:?}"))?;
            count += body.value.len();
        }
        seconds.push(started.elapsed().as_secs_f64());
        items = count;
    }
    let out = serde_json::json!({"sdk": "graph-rs-sdk 3.0.1", "items": items, "seconds": seconds});
    println!("{out}");
    Ok(())
}
