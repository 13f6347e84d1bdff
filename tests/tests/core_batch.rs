//! msgraph-typed-core's `$batch` against the emulator: 45 requests split into 20 + 20 + 5, `dependsOn`
//! chains, and item-level 429s re-sent in a follow-up batch.

use std::sync::Arc;
use std::time::{Duration, Instant};

use msgraph_typed_core::{BatchKey, NoContent};
use msgraph_typed_emulator::{Emulator, Fault, RetryAfter};
use serde::Deserialize;
use tests::core_support::{EmulatorCredential, client};

#[derive(Debug, Deserialize)]
struct User {
    id: String,
    #[serde(rename = "jobTitle")]
    job_title: Option<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_45_with_depends_on_and_item_429s() {
    let emu = Emulator::builder().users(30).start().await.unwrap();
    let client = client(&emu, Arc::new(EmulatorCredential::new(&emu)));
    let users: Vec<User> = client
        .collection::<User>("users")
        .select_raw(["id"])
        .top(15)
        .send()
        .await
        .unwrap()
        .items;
    assert_eq!(users.len(), 15);

    // 15 chains of three: PATCH a user's jobTitle, then (dependsOn) read it back, then
    // (dependsOn) read it again with $select.
    let mut batch = client.batch();
    let mut reads: Vec<(String, BatchKey<User>, BatchKey<User>)> = Vec::new();
    for (i, user) in users.iter().enumerate() {
        let path = format!(
            "users/{}",
            msgraph_typed_core::path::encode_segment(&user.id)
        );
        let title = format!("Batch title {i}");
        let patch = batch.add(
            client
                .request::<NoContent>(http::Method::PATCH, path.clone())
                .json_body(&serde_json::json!({ "jobTitle": title })),
        );
        let read = batch.add(
            client
                .entity::<User>(path.clone())
                .select_raw(["id", "jobTitle"]),
        );
        batch.depends_on(&read, [patch.id()]);
        let again = batch.add(client.entity::<User>(path).select_raw(["id", "jobTitle"]));
        batch.depends_on(&again, [read.id()]);
        reads.push((title, read, again));
    }
    assert_eq!(batch.len(), 45);

    let control = emu.control();
    control.reset_counters();
    // Three item-level 429s (on whichever user requests the emulator runs first).
    control.inject(
        Fault::status(429)
            .retry_after(RetryAfter::Seconds(1))
            .times(3)
            .method("GET")
            .matching("/v1.0/users/"),
    );
    let started = Instant::now();
    let answers = batch.send().await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited for Retry-After"
    );
    assert!(control.pending_faults().is_empty(), "the 429s were served");

    let batches = control.requests_to("/v1.0/$batch");
    eprintln!("{batches} $batch calls in {:?}", started.elapsed());
    assert!(
        (4..=6).contains(&batches),
        "20 + 20 + 5 split, then follow-ups for throttled items: {batches}"
    );
    for (title, read, again) in &reads {
        let first: User = answers.get(read).unwrap();
        let second: User = answers.get(again).unwrap();
        assert_eq!(
            first.job_title.as_deref(),
            Some(title.as_str()),
            "dependsOn ordered the read after the PATCH"
        );
        assert_eq!(second.id, first.id);
        assert_eq!(second.job_title.as_deref(), Some(title.as_str()));
    }
}
