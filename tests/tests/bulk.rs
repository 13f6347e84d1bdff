//! Bulk runs against the emulator with Graph's throttling model on and a small quota (a few
//! seconds of work): every key answered exactly once, none failed, the quota really hit, and
//! after every throttling answer nothing sent (by the run or by ordinary requests of the same
//! client) until its `Retry-After` has passed, packed into `$batch` (the default) and one by one.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use msgraph_typed::auth::{ClientAuthentication, ClientSecretCredential};
use msgraph_typed::futures::{StreamExt as _, TryStreamExt as _, stream};
use msgraph_typed::{
    Cloud, GraphClient, HttpRequest, HttpResponse, ReqwestTransport, Result, Transport,
};
use msgraph_typed_emulator::{Emulator, ThrottlingConfig, seeded};
use parking_lot::Mutex;
use serde_json::Value;

/// What the client sent and heard, as the transport saw it (below the throttle gate).
#[derive(Debug, Default)]
struct Log {
    /// When each HTTP call left.
    sent: Vec<Instant>,
    /// When each throttling answer (a 429, alone or as a `$batch` item) arrived, and its
    /// `Retry-After`.
    throttled: Vec<(Instant, Duration)>,
}

#[derive(Debug)]
struct Recording {
    inner: ReqwestTransport,
    log: Arc<Mutex<Log>>,
}

fn retry_after(value: Option<&str>) -> Duration {
    Duration::from_secs(value.and_then(|v| v.trim().parse().ok()).unwrap_or(0))
}

#[async_trait]
impl Transport for Recording {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse> {
        self.log.lock().sent.push(Instant::now());
        let response = self.inner.send(request).await?;
        let now = Instant::now();
        let mut log = self.log.lock();
        if response.status.as_u16() == 429 {
            log.throttled
                .push((now, retry_after(response.header("retry-after"))));
        }
        // A `$batch` answer: its throttled items.
        if let Ok(envelope) = serde_json::from_slice::<Value>(&response.body)
            && let Some(items) = envelope["responses"].as_array()
        {
            let worst = items
                .iter()
                .filter(|item| item["status"] == 429)
                .map(|item| {
                    let headers = &item["headers"];
                    let value = headers["Retry-After"]
                        .as_str()
                        .or(headers["retry-after"].as_str());
                    retry_after(value)
                })
                .max();
            if let Some(wait) = worst {
                log.throttled.push((now, wait));
            }
        }
        Ok(response)
    }
}

async fn setup(users: usize) -> (Emulator, GraphClient, Arc<Mutex<Log>>, Vec<String>) {
    // 300 resource units a second; `transitiveMemberOf` costs 2.
    let emu = Emulator::builder()
        .throttling(ThrottlingConfig::graph_defaults().resource_units(300, Duration::from_secs(1)))
        .start()
        .await
        .unwrap();
    emu.control().generate_users(users);
    let log = Arc::new(Mutex::new(Log::default()));
    let transport = Recording {
        inner: ReqwestTransport::new().unwrap(),
        log: log.clone(),
    };
    let credential = ClientSecretCredential::with_options(
        emu.tenant_id(),
        seeded::DAEMON_CLIENT_ID,
        ClientAuthentication::secret(seeded::DAEMON_CLIENT_SECRET),
        Default::default(),
    )
    .unwrap();
    let client = GraphClient::builder()
        .credential(credential)
        .cloud(Cloud::custom(&emu.authority_url(), emu.url()).unwrap())
        .transport(transport)
        // Several batches in flight from the start: a pause must hold them all.
        .bulk_concurrency(60, 100)
        .build()
        .unwrap();
    let ids: Vec<String> = client
        .users()
        .list()
        .select_raw(["id"])
        .top(999)
        .stream()
        .try_filter_map(|u| async move { Ok(u.id().map(str::to_owned)) })
        .take(users)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids.len(), users);
    // Start with a full bucket and an empty log.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    *log.lock() = Log::default();
    (emu, client, log, ids)
}

async fn run_against_a_small_quota(one_by_one: bool) {
    let (emu, client, log, ids) = setup(600).await;
    let c = client.clone();
    let requests = stream::iter(ids.clone()).map(move |id| {
        let groups = c.users().by_id(&id).transitive_member_of().groups().list();
        (id, groups)
    });
    let run = client.bulk(requests);
    let run = if one_by_one { run.one_by_one() } else { run };
    // Beside the run, ordinary requests of the same client: they keep to its pauses too.
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let side = {
        let (client, done, id) = (client.clone(), done.clone(), ids[0].clone());
        tokio::spawn(async move {
            let mut sent = 0u32;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                client.users().by_id(&id).get().send().await.unwrap();
                sent += 1;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            sent
        })
    };
    let answers: Vec<_> = run.collect().await;
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(side.await.unwrap() >= 2, "the side requests ran");

    assert_eq!(answers.len(), ids.len());
    let keys: HashSet<&String> = answers.iter().map(|(k, _)| k).collect();
    assert_eq!(keys.len(), ids.len(), "every key exactly once");
    let failed: Vec<String> = answers
        .iter()
        .filter_map(|(k, r)| r.as_ref().err().map(|e| format!("{k}: {e}")))
        .collect();
    assert!(failed.is_empty(), "failed items: {failed:?}");
    assert!(
        emu.control().throttled_requests() > 0,
        "the quota was hit (1,200 units against 300 a second)"
    );

    let log = log.lock();
    assert!(!log.throttled.is_empty());
    for (heard, wait) in &log.throttled {
        assert!(*wait >= Duration::from_secs(1), "{wait:?}");
        let paused = *heard + Duration::from_millis(15)..*heard + *wait - Duration::from_millis(50);
        let during: Vec<_> = log.sent.iter().filter(|t| paused.contains(*t)).collect();
        assert!(
            during.is_empty(),
            "{} calls sent during a {wait:?} pause",
            during.len()
        );
    }
    let calls = log.sent.len();
    if one_by_one {
        assert!(calls >= ids.len(), "{calls}");
    } else {
        assert!(calls < ids.len() / 3, "packed into $batch: {calls} calls");
    }
}

#[tokio::test]
async fn packed_bulk_runs_answer_every_key_and_pause_on_every_429() {
    run_against_a_small_quota(false).await;
}

#[tokio::test]
async fn one_by_one_bulk_runs_answer_every_key_and_pause_on_every_429() {
    run_against_a_small_quota(true).await;
}
