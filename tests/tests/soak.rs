//! A bounded soak of a realistic service, outside CI's time budget: run by `./scripts/bench`
//! (or by hand: `cargo test -p tests --release --test soak -- --ignored --nocapture`).
//!
//! Several credentials (an app with client credentials, on-behalf-of for five users whose
//! incoming tokens are renewed every 30 s), 50 concurrent tasks, 60-second tokens refreshed
//! in the background after 30 s, random Graph faults (429, 503, 401, dropped connections)
//! and bursts of token-endpoint failures (500s, 429 with `Retry-After`), for `SOAK_SECONDS`
//! (default 120). It counts the calls that failed for want of a token while a usable token
//! (one with more than the skew left) existed for their credential, judged at the moment the
//! credential failed: there must be none. A call whose own token Graph rejected (401) and whose
//! forced refresh then failed is counted apart: its token was not usable.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use msgraph_typed_auth::{
    AccessToken, AuthError, ClientAuthentication, ClientSecretCredential, Cloud, CredentialOptions,
    ManagerOptions, OnBehalfOfCredential, TokenCredential, TokenRequest, UserAssertion,
};
use msgraph_typed_core::{Client, RequestOptions, RetryOptions};
use msgraph_typed_emulator::{Emulator, Fault, RetryAfter, seeded};
use parking_lot::Mutex;
use rand::{Rng, SeedableRng};

const SKEW: Duration = Duration::from_secs(10);
const TASKS: usize = 50;
const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";

/// A credential that remembers the longest-lived token it handed out, and counts its
/// failures: forced refreshes apart (their caller's token was rejected), and the others that
/// came while a usable token existed. That is judged when the failure happens: judged later,
/// a token another caller fetched after the endpoint recovered would count against a call
/// that failed when no usable token existed.
#[derive(Debug)]
struct Watched {
    inner: Arc<dyn TokenCredential>,
    best: Mutex<Option<SystemTime>>,
    forced_failures: AtomicU64,
    failed_while_usable: AtomicU64,
}

impl Watched {
    fn new(inner: Arc<dyn TokenCredential>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            best: Mutex::new(None),
            forced_failures: AtomicU64::new(0),
            failed_while_usable: AtomicU64::new(0),
        })
    }

    /// Whether a token with more than the skew left had been handed out.
    fn usable_token_existed(&self) -> bool {
        self.best
            .lock()
            .is_some_and(|expires| expires > SystemTime::now() + SKEW)
    }
}

#[async_trait]
impl TokenCredential for Watched {
    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, AuthError> {
        let outcome = self.inner.get_token(request).await;
        match &outcome {
            Ok(token) => {
                let mut best = self.best.lock();
                if best.is_none_or(|b| token.expires_on() > b) {
                    *best = Some(token.expires_on());
                }
            }
            Err(_) if request.force_refresh => {
                self.forced_failures.fetch_add(1, Ordering::SeqCst);
            }
            Err(error) if self.usable_token_existed() => {
                if self.failed_while_usable.fetch_add(1, Ordering::SeqCst) < 5 {
                    // Errors never carry a token or a secret.
                    println!("soak: the credential failed while a usable token existed: {error}");
                }
            }
            Err(_) => {}
        }
        outcome
    }
}

#[derive(Default)]
struct Tally {
    calls: AtomicU64,
    failed: AtomicU64,
    failed_auth: AtomicU64,
}

fn options(emu: &Emulator) -> CredentialOptions {
    CredentialOptions::default()
        .with_cloud(Cloud::custom(&emu.authority_url(), &emu.graph_url()).unwrap())
        .with_manager_options(ManagerOptions::default().with_skew(SKEW))
        .with_retry_delay(Duration::from_millis(200))
}

fn client_for(emu: &Emulator, credential: Arc<Watched>) -> Client {
    Client::builder()
        .base_url(&emu.graph_url())
        .scopes([GRAPH_SCOPE])
        .credential(credential)
        .retry(
            RetryOptions::new()
                .base_delay(Duration::from_millis(100))
                .max_delay(Duration::from_secs(2)),
        )
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a soak of minutes: run by ./scripts/bench"]
async fn one_failure_never_becomes_an_outage() {
    let seconds: u64 = std::env::var("SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(120);
    let emu = Emulator::builder()
        .token_lifetime(Duration::from_secs(60))
        .refresh_in(Some(Duration::from_secs(30)))
        .start()
        .await
        .unwrap();
    let control = emu.control();
    let app = Watched::new(Arc::new(
        ClientSecretCredential::with_options(
            emu.tenant_id(),
            seeded::DAEMON_CLIENT_ID,
            ClientAuthentication::secret(seeded::DAEMON_CLIENT_SECRET),
            options(&emu),
        )
        .unwrap(),
    ));
    let obo = OnBehalfOfCredential::with_options(
        emu.tenant_id(),
        seeded::WEB_API_CLIENT_ID,
        ClientAuthentication::secret(seeded::WEB_API_CLIENT_SECRET),
        options(&emu),
    )
    .unwrap();
    let users: Vec<String> = [
        "AdeleV@contoso.com",
        "MeganB@contoso.com",
        "GradyA@contoso.com",
        "PrestonM@contoso.com",
        "TrevorJ@contoso.com",
    ]
    .iter()
    .filter_map(|u| control.user(u).map(|s| s.id))
    .collect();
    assert!(users.len() >= 2, "seeded users: {users:?}");

    // Per user: the current incoming token's client, renewed every 30 s (as a web API's
    // callers renew theirs).
    type Current = Arc<Mutex<HashMap<String, (Instant, Arc<Watched>, Client)>>>;
    let current: Current = Arc::new(Mutex::new(HashMap::new()));
    // Every on-behalf-of credential ever made, for the counts at the end.
    let every_obo: Arc<Mutex<Vec<Arc<Watched>>>> = Arc::default();
    let obo_client = |user: &str| -> (Arc<Watched>, Client) {
        let mut map = current.lock();
        if let Some((since, watched, client)) = map.get(user)
            && since.elapsed() < Duration::from_secs(30)
        {
            return (watched.clone(), client.clone());
        }
        let assertion = control
            .issue_user_token(user, seeded::WEB_API_APP_ID_URI, &["access_as_user"])
            .unwrap();
        let watched = Watched::new(Arc::new(obo.for_user(UserAssertion::new(assertion))));
        let client = client_for(&emu, watched.clone());
        every_obo.lock().push(watched.clone());
        map.insert(
            user.to_string(),
            (Instant::now(), watched.clone(), client.clone()),
        );
        (watched, client)
    };
    let app_client = client_for(&emu, app.clone());

    let tally = Arc::new(Tally::default());
    let deadline = Instant::now() + Duration::from_secs(seconds);
    for user in &users {
        let _ = obo_client(user);
    }
    let mut tasks = Vec::new();
    for n in 0..TASKS {
        let tally = tally.clone();
        let app_client = app_client.clone();
        let users = users.clone();
        let get_obo = {
            let current = current.clone();
            move |user: &str| current.lock().get(user).map(|(_, _, c)| c.clone())
        };
        tasks.push(tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::seed_from_u64(n as u64);
            while Instant::now() < deadline {
                let (client, path) = if rng.gen_bool(0.5) {
                    (app_client.clone(), "users")
                } else {
                    let user = &users[rng.gen_range(0..users.len())];
                    match get_obo(user) {
                        Some(client) => (client, "me/memberOf"),
                        None => continue,
                    }
                };
                tally.calls.fetch_add(1, Ordering::SeqCst);
                let outcome = client
                    .collection::<serde_json::Value>(path)
                    .top(1)
                    .with_options(RequestOptions::new().with_timeout(Duration::from_secs(10)))
                    .send()
                    .await;
                if let Err(error) = outcome {
                    tally.failed.fetch_add(1, Ordering::SeqCst);
                    if error.is_auth() {
                        tally.failed_auth.fetch_add(1, Ordering::SeqCst);
                    }
                }
                tokio::time::sleep(Duration::from_millis(rng.gen_range(5..50))).await;
            }
        }));
    }

    // Faults: every second something goes wrong with Graph; every 15 s the token endpoint
    // fails for a while. The renewal of incoming tokens runs here too.
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut tick = 0u64;
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(1)).await;
        tick += 1;
        for user in &users {
            let _ = obo_client(user);
        }
        let fault = match rng.gen_range(0..4) {
            0 => Fault::status(429).retry_after(RetryAfter::Seconds(1)),
            1 => Fault::status(503),
            2 => Fault::unauthorized(),
            _ => Fault::drop_connection(),
        };
        control.inject(fault.times(rng.gen_range(1..4)).matching("/v1.0/"));
        if tick.is_multiple_of(15) {
            if rng.gen_bool(0.5) {
                control.inject(Fault::token_endpoint_server_error().times(6));
            } else {
                control.inject(Fault::token_endpoint_throttled(RetryAfter::Seconds(2)).times(4));
            }
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    let watched: Vec<Arc<Watched>> = every_obo
        .lock()
        .iter()
        .cloned()
        .chain(std::iter::once(app.clone()))
        .collect();
    let forced_failures: u64 = watched
        .iter()
        .map(|w| w.forced_failures.load(Ordering::SeqCst))
        .sum();
    let counted: u64 = watched
        .iter()
        .map(|w| w.failed_while_usable.load(Ordering::SeqCst))
        .sum();
    let calls = tally.calls.load(Ordering::SeqCst);
    let failed = tally.failed.load(Ordering::SeqCst);
    let failed_auth = tally.failed_auth.load(Ordering::SeqCst);
    println!(
        "soak: {seconds} s, {TASKS} tasks, {} credentials: {calls} calls, {failed} failed \
         ({failed_auth} for want of a token, {forced_failures} after a rejected token's forced \
         refresh failed), {counted} failed while a usable token existed; {} token requests, \
         {} Graph requests",
        1 + users.len(),
        control.token_requests(),
        control.graph_requests(),
    );
    assert_eq!(counted, 0, "calls failed while a usable token existed");
    assert!(calls > 1000, "the soak ran: {calls} calls");
}
