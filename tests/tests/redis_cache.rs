//! The Redis token cache (msgraph-typed-auth feature `redis`) against a real `redis-server` and the
//! emulator's token endpoint: sharing across instances, encryption at rest, tampering, key
//! rotation, outages and hangs, 10,000 OBO users, and the cross-instance refresh lock.
//!
//! `redis-server` must be installed (`./scripts/test` installs it); without it these tests fail.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use msgraph_typed_auth::{
    AccessToken, CacheKey, CachedToken, ClientAuthentication, ClientSecretCredential, Cloud,
    CredentialOptions, EncryptionKey, Keyring, LayeredTokenCache, ManagerOptions, MemoryTokenCache,
    OnBehalfOfCredential, RedisTokenCache, RedisTokenCacheBuilder, RefreshLock, SystemClock,
    TokenCache, TokenCredential, TokenManager, TokenRequest, UserAssertion,
};
use msgraph_typed_emulator::{Emulator, Fault, PathMatch, seeded};
use tests::redis_server::RedisServer;

const GRAPH_DEFAULT: &str = "https://graph.microsoft.com/.default";
const PREFIX: &str = "test-svc:";
/// Another resource for the daemon (Graph by its app id): another cache key.
const OTHER_SCOPE: &str = "00000003-0000-0000-c000-000000000000/.default";

fn options(emu: &Emulator, cache: Arc<dyn TokenCache>) -> CredentialOptions {
    CredentialOptions::default()
        .with_cloud(Cloud::custom(&emu.authority_url(), &emu.graph_url()).unwrap())
        .with_retry_delay(Duration::from_millis(100))
        .with_request_timeout(Duration::from_secs(10))
        .with_cache(cache)
}

/// One service instance: a daemon credential with its own caches and its own Redis connection.
fn daemon(emu: &Emulator, cache: Arc<dyn TokenCache>) -> ClientSecretCredential {
    ClientSecretCredential::with_options(
        emu.tenant_id(),
        seeded::DAEMON_CLIENT_ID,
        ClientAuthentication::secret(seeded::DAEMON_CLIENT_SECRET),
        options(emu, cache),
    )
    .unwrap()
}

/// The cache key the daemon credential uses for `scope` (the authority is `host:port`).
fn app_cache_key(emu: &Emulator, scope: &str) -> CacheKey {
    let url = emu.authority_url();
    let authority = url.trim_start_matches("http://").trim_end_matches('/');
    CacheKey::access_token(
        authority,
        emu.tenant_id(),
        seeded::DAEMON_CLIENT_ID,
        &[scope.to_string()],
        None,
        None,
    )
}

fn keyring(key: &EncryptionKey) -> Keyring {
    Keyring::new(key.clone())
}

fn redis(server: &RedisServer, keyring: Keyring) -> RedisTokenCacheBuilder {
    RedisTokenCache::builder(server.url())
        .key_prefix(PREFIX)
        .encryption(keyring)
}

fn layered(redis: &RedisTokenCache, l1_capacity: usize) -> LayeredTokenCache {
    LayeredTokenCache::new(
        MemoryTokenCache::with_capacity(l1_capacity),
        Arc::new(redis.clone()),
    )
}

async fn raw(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

async fn keys(conn: &mut redis::aio::MultiplexedConnection, pattern: &str) -> Vec<String> {
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg(pattern)
        .query_async(conn)
        .await
        .unwrap();
    keys.sort();
    keys
}

async fn get_raw(conn: &mut redis::aio::MultiplexedConnection, key: &str) -> Vec<u8> {
    let value: Option<Vec<u8>> = redis::cmd("GET").arg(key).query_async(conn).await.unwrap();
    value.unwrap_or_else(|| panic!("no value under {key}"))
}

async fn token(credential: &impl TokenCredential) -> String {
    credential
        .get_token(&TokenRequest::new([GRAPH_DEFAULT]))
        .await
        .unwrap()
        .secret()
        .to_string()
}

/// Captures this thread's tracing output (use with the current-thread runtime).
#[derive(Clone, Default)]
struct Logs(Arc<std::sync::Mutex<Vec<u8>>>);

impl Logs {
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        let subscriber = tracing_subscriber::fmt()
            .with_writer(self.clone())
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    fn warnings(&self) -> Vec<String> {
        self.text()
            .lines()
            .filter(|l| l.contains(" WARN "))
            .map(str::to_string)
            .collect()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn two_instances_sharing_only_redis_share_one_app_token_and_l1_hits_stay_local() {
    if !tests::external::redis_available() {
        return;
    }
    let server = RedisServer::start();
    let emu = Emulator::start().await.unwrap();
    let key = EncryptionKey::generate("k1").unwrap();

    let redis_a = redis(&server, keyring(&key)).build().unwrap();
    let a = daemon(&emu, Arc::new(layered(&redis_a, 100)));
    let token_a = token(&a).await;
    assert_eq!(emu.control().token_requests(), 1);

    // A second instance: its own credential, manager, L1 and Redis connection.
    let redis_b = redis(&server, keyring(&key)).build().unwrap();
    let b = daemon(&emu, Arc::new(layered(&redis_b, 100)));
    let token_b = token(&b).await;
    assert_eq!(
        token_b, token_a,
        "the second instance uses the first one's token"
    );
    assert_eq!(
        emu.control().token_requests(),
        1,
        "the second instance made no token request"
    );
    assert_eq!(redis_b.stats().hits, 1);

    // The shared token works against Graph.
    let status = reqwest::Client::new()
        .get(format!("{}/users?$top=1", emu.graph_url()))
        .bearer_auth(&token_b)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);

    // Now in B's L1: further requests cost no Redis round trip.
    let trips = redis_b.stats().round_trips;
    for _ in 0..20 {
        assert_eq!(token(&b).await, token_a);
    }
    assert_eq!(
        redis_b.stats().round_trips,
        trips,
        "an L1 hit must not reach Redis"
    );

    // Without an L1, every request reads Redis (and still makes no token request).
    let redis_c = redis(&server, keyring(&key)).build().unwrap();
    let c = daemon(&emu, Arc::new(redis_c.clone()));
    for _ in 0..3 {
        assert_eq!(token(&c).await, token_a);
    }
    assert_eq!(redis_c.stats().hits, 3);
    assert_eq!(emu.control().token_requests(), 1);
}

#[tokio::test]
async fn redis_holds_no_token_and_keys_hold_no_assertion() {
    if !tests::external::redis_available() {
        return;
    }
    let server = RedisServer::start();
    let emu = Emulator::start().await.unwrap();
    let key = EncryptionKey::generate("k1").unwrap();
    let redis_a = redis(&server, keyring(&key)).build().unwrap();
    let app_token = token(&daemon(&emu, Arc::new(redis_a.clone()))).await;

    // Two OBO users through the same web API credential.
    let obo = OnBehalfOfCredential::with_options(
        emu.tenant_id(),
        seeded::WEB_API_CLIENT_ID,
        ClientAuthentication::secret(seeded::WEB_API_CLIENT_SECRET),
        options(&emu, Arc::new(redis_a.clone())),
    )
    .unwrap();
    let mut secrets = vec![app_token.clone(), seeded::DAEMON_CLIENT_SECRET.to_string()];
    let mut partitions = Vec::new();
    for upn in ["AdeleV@contoso.com", "admin@contoso.com"] {
        let incoming = emu
            .control()
            .issue_user_token(upn, seeded::WEB_API_CLIENT_ID, &["access_as_user"])
            .unwrap();
        let assertion = UserAssertion::new(incoming.clone());
        partitions.push(assertion.partition().to_string());
        let obo_token = obo
            .get_token_for(&assertion, &TokenRequest::new([GRAPH_DEFAULT]))
            .await
            .unwrap();
        secrets.push(obo_token.secret().to_string());
        secrets.push(incoming);
    }
    assert_eq!(emu.control().token_requests(), 3);

    let dump = server.dump();
    let mut conn = raw(&server).await;
    let all = keys(&mut conn, "*").await;
    assert_eq!(all.len(), 3, "{all:?}");
    for k in &all {
        assert!(k.starts_with(&format!("{PREFIX}accesstoken|")), "{k}");
    }
    for partition in &partitions {
        assert!(
            all.iter().any(|k| k.ends_with(partition.as_str())),
            "OBO keys use the assertion hash"
        );
    }
    assert!(!dump.contains("eyJ"), "a JWT is readable in Redis:\n{dump}");
    for secret in &secrets {
        // any 16-character piece of a token, assertion or client secret
        for piece in secret.as_bytes().chunks(16).filter(|c| c.len() == 16) {
            let piece = std::str::from_utf8(piece).unwrap();
            assert!(!dump.contains(piece), "a secret piece is readable in Redis");
            assert!(
                !all.iter().any(|k| k.contains(piece)),
                "a secret piece is in a key"
            );
        }
    }
    // Every value is the documented format: version 1 and the key id in clear.
    for k in &all {
        assert_eq!(
            RedisTokenCache::value_key_id(&get_raw(&mut conn, k).await),
            Some("k1")
        );
    }
}

#[tokio::test]
async fn tampered_or_copied_values_are_misses_with_a_warning_and_a_new_token() {
    if !tests::external::redis_available() {
        return;
    }
    let logs = Logs::default();
    let _guard = logs.install();
    let server = RedisServer::start();
    let emu = Emulator::start().await.unwrap();
    let key = EncryptionKey::generate("k1").unwrap();
    let redis_a = redis(&server, keyring(&key)).build().unwrap();
    let first = token(&daemon(&emu, Arc::new(redis_a.clone()))).await;
    let mut conn = raw(&server).await;
    let stored = keys(&mut conn, "*").await;
    assert_eq!(stored.len(), 1);

    // Flip one bit of the ciphertext, keeping the TTL.
    let mut value = get_raw(&mut conn, &stored[0]).await;
    let last = value.len() - 1;
    value[last - 20] ^= 0x04;
    let _: () = redis::cmd("SET")
        .arg(&stored[0])
        .arg(&value)
        .arg("KEEPTTL")
        .query_async(&mut conn)
        .await
        .unwrap();
    let redis_b = redis(&server, keyring(&key)).build().unwrap();
    let second = token(&daemon(&emu, Arc::new(redis_b.clone()))).await;
    assert_ne!(second, first, "the tampered value was not used");
    assert_eq!(
        emu.control().token_requests(),
        2,
        "the miss fetched a new token"
    );
    assert_eq!(redis_b.stats().rejected, 1);
    assert!(
        logs.warnings()
            .iter()
            .any(|l| l.contains("refused a cached token value")
                && l.contains("failed authentication")),
        "{}",
        logs.text()
    );
    // The new token replaced the tampered value.
    let redis_c = redis(&server, keyring(&key)).build().unwrap();
    assert_eq!(token(&daemon(&emu, Arc::new(redis_c))).await, second);
    assert_eq!(emu.control().token_requests(), 2);

    // A valid value copied under another key (another scope) does not decrypt there.
    let other_scope = OTHER_SCOPE;
    let other_key = format!("{PREFIX}{}", app_cache_key(&emu, other_scope).storage_key());
    let valid = get_raw(&mut conn, &stored[0]).await;
    let _: () = redis::cmd("SET")
        .arg(&other_key)
        .arg(&valid)
        .arg("PX")
        .arg(600_000)
        .query_async(&mut conn)
        .await
        .unwrap();
    let redis_d = redis(&server, keyring(&key)).build().unwrap();
    let copied = daemon(&emu, Arc::new(redis_d.clone()))
        .get_token(&TokenRequest::new([other_scope]))
        .await
        .unwrap();
    assert_ne!(
        copied.secret(),
        second,
        "a value copied to another key must not decrypt"
    );
    assert_eq!(
        redis_d.stats().rejected,
        1,
        "the copy was found under the credential's key and refused"
    );
    assert_eq!(emu.control().token_requests(), 3);
    let text = logs.text();
    for secret in [first.as_str(), second.as_str(), copied.secret()] {
        assert!(!text.contains(secret), "a token reached the logs");
    }
}

#[tokio::test]
async fn an_oversized_value_planted_in_redis_is_read_no_further_and_is_a_miss() {
    if !tests::external::redis_available() {
        return;
    }
    let logs = Logs::default();
    let _guard = logs.install();
    let server = RedisServer::start();
    let emu = Emulator::start().await.unwrap();
    let key = EncryptionKey::generate("k1").unwrap();
    let redis_a = redis(&server, keyring(&key)).build().unwrap();
    token(&daemon(&emu, Arc::new(redis_a))).await;
    let mut conn = raw(&server).await;
    let stored = keys(&mut conn, "*").await;
    // 32 MiB where a token entry (a few kilobytes) belongs.
    let planted = vec![b'x'; 32 * 1024 * 1024];
    let _: () = redis::cmd("SET")
        .arg(&stored[0])
        .arg(&planted)
        .arg("KEEPTTL")
        .query_async(&mut conn)
        .await
        .unwrap();
    let redis_b = redis(&server, keyring(&key)).build().unwrap();
    token(&daemon(&emu, Arc::new(redis_b.clone()))).await;
    assert_eq!(redis_b.stats().rejected, 1);
    assert_eq!(
        emu.control().token_requests(),
        2,
        "the miss fetched a new token"
    );
    assert!(
        logs.warnings()
            .iter()
            .any(|l| l.contains("larger than the limit")),
        "{}",
        logs.text()
    );
}

#[tokio::test]
async fn after_a_key_rotation_old_entries_still_read_and_new_writes_use_the_new_key() {
    if !tests::external::redis_available() {
        return;
    }
    let server = RedisServer::start();
    let emu = Emulator::start().await.unwrap();
    let old = EncryptionKey::generate("2026-10").unwrap();
    let new = EncryptionKey::generate("2026-11").unwrap();
    let before = redis(&server, keyring(&old)).build().unwrap();
    let first = token(&daemon(&emu, Arc::new(before.clone()))).await;
    let mut conn = raw(&server).await;
    let app_key = keys(&mut conn, "*").await.remove(0);
    assert_eq!(
        RedisTokenCache::value_key_id(&get_raw(&mut conn, &app_key).await),
        Some("2026-10")
    );

    // Rotated instance: new key current, old key still accepted.
    let rotated_ring = Keyring::new(new.clone())
        .with_previous(old.clone())
        .unwrap();
    let rotated = redis(&server, rotated_ring).build().unwrap();
    let credential = daemon(&emu, Arc::new(rotated.clone()));
    assert_eq!(
        token(&credential).await,
        first,
        "the old entry is still read"
    );
    assert_eq!(emu.control().token_requests(), 1);

    // New writes carry the new key id: another scope, and a forced refresh of the old entry.
    credential
        .get_token(&TokenRequest::new([OTHER_SCOPE]))
        .await
        .unwrap();
    let refreshed = credential
        .get_token(&TokenRequest::new([GRAPH_DEFAULT]).with_force_refresh(true))
        .await
        .unwrap();
    assert_ne!(refreshed.secret(), first);
    for k in keys(&mut conn, "*").await {
        assert_eq!(
            RedisTokenCache::value_key_id(&get_raw(&mut conn, &k).await),
            Some("2026-11"),
            "{k}"
        );
    }
    // An instance on the new key only reads them; one still on the old key alone cannot.
    let new_only = redis(&server, keyring(&new)).build().unwrap();
    assert_eq!(
        token(&daemon(&emu, Arc::new(new_only))).await,
        refreshed.secret()
    );
    let requests = emu.control().token_requests();
    let stale = redis(&server, keyring(&old)).build().unwrap();
    token(&daemon(&emu, Arc::new(stale.clone()))).await;
    assert_eq!(stale.stats().rejected, 1);
    assert_eq!(emu.control().token_requests(), requests + 1);
}

#[tokio::test]
async fn forced_refresh_invalidates_both_layers() {
    if !tests::external::redis_available() {
        return;
    }
    let server = RedisServer::start();
    let emu = Emulator::start().await.unwrap();
    let key = EncryptionKey::generate("k1").unwrap();
    let redis_a = redis(&server, keyring(&key)).build().unwrap();
    let cache_a = layered(&redis_a, 10);
    let a = daemon(&emu, Arc::new(cache_a.clone()));
    let first = token(&a).await;
    let refreshed = a
        .get_token(&TokenRequest::new([GRAPH_DEFAULT]).with_force_refresh(true))
        .await
        .unwrap();
    assert_ne!(refreshed.secret(), first);
    assert_eq!(
        token(&a).await,
        refreshed.secret(),
        "L1 holds the new token"
    );
    let redis_b = redis(&server, keyring(&key)).build().unwrap();
    assert_eq!(
        token(&daemon(&emu, Arc::new(redis_b))).await,
        refreshed.secret(),
        "so does Redis"
    );
    assert_eq!(emu.control().token_requests(), 2);

    // remove (what the manager calls on a forced refresh or a rejected token) clears both.
    let cache_key = CacheKey::access_token("login", "t", "c", &["s".into()], None, None);
    let value = CachedToken::new("v", SystemTime::now() + Duration::from_secs(3600), None);
    cache_a
        .set(&cache_key, &value, Duration::from_secs(3600))
        .await
        .unwrap();
    cache_a.remove(&cache_key).await.unwrap();
    assert!(cache_a.l1().get(&cache_key).await.unwrap().is_none());
    assert!(redis_a.get(&cache_key).await.unwrap().is_none());
}

#[tokio::test]
async fn redis_down_mid_run_keeps_requests_succeeding_with_warnings_and_is_used_again_when_back() {
    if !tests::external::redis_available() {
        return;
    }
    let logs = Logs::default();
    let _guard = logs.install();
    let mut server = RedisServer::start();
    let emu = Emulator::start().await.unwrap();
    let key = EncryptionKey::generate("k1").unwrap();
    let build = |server: &RedisServer| {
        redis(server, keyring(&key))
            .retry_interval(Duration::from_millis(200))
            .build()
            .unwrap()
    };
    let redis_a = build(&server);
    let a = daemon(&emu, Arc::new(layered(&redis_a, 10)));
    let first = token(&a).await;

    server.stop();
    // L1 still serves the running instance.
    assert_eq!(token(&a).await, first);
    // A new instance (empty L1) gets its token from the token endpoint.
    let redis_b = build(&server);
    let b = daemon(&emu, Arc::new(layered(&redis_b, 10)));
    let started = Instant::now();
    let second = token(&b).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "an outage must not slow requests much"
    );
    assert_eq!(token(&b).await, second);
    // A forced refresh while Redis is down still succeeds.
    a.get_token(&TokenRequest::new([GRAPH_DEFAULT]).with_force_refresh(true))
        .await
        .unwrap();
    assert_eq!(emu.control().token_requests(), 3);
    let warnings = logs.warnings();
    assert!(
        warnings
            .iter()
            .any(|l| l.contains("Redis token cache unavailable")),
        "{}",
        logs.text()
    );
    assert!(redis_b.stats().failures >= 1);

    // Redis is back (same port, empty): the caches use it again.
    server.restart();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let c = daemon(&emu, Arc::new(layered(&build(&server), 10)));
    let third = token(&c).await;
    let mut reused = false;
    for _ in 0..20 {
        // b's connection reconnects in the background; its next write lands in Redis.
        let redis_d = build(&server);
        if token(&daemon(&emu, Arc::new(redis_d.clone()))).await == third
            && redis_d.stats().hits == 1
        {
            reused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reused, "Redis was not used again after the restart");
    // The old instances reconnect too (within about two retry intervals): b's writes land again.
    let mut conn = raw(&server).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        b.get_token(&TokenRequest::new([OTHER_SCOPE]).with_force_refresh(true))
            .await
            .unwrap();
        if keys(&mut conn, "*").await.len() == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the old connection never came back:\n{}",
            logs.text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let text = logs.text();
    for secret in [&first, &second, &third] {
        assert!(!text.contains(secret.as_str()), "a token reached the logs");
    }
}

#[tokio::test]
async fn a_hung_redis_times_out_as_a_miss() {
    if !tests::external::redis_available() {
        return;
    }
    let logs = Logs::default();
    let _guard = logs.install();
    let server = RedisServer::start();
    let emu = Emulator::start().await.unwrap();
    let key = EncryptionKey::generate("k1").unwrap();
    let redis_a = redis(&server, keyring(&key)).build().unwrap();
    let a = daemon(&emu, Arc::new(redis_a.clone()));
    let first = token(&a).await;

    server.pause();
    let redis_b = redis(&server, keyring(&key))
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let b = daemon(&emu, Arc::new(redis_b.clone()));
    let started = Instant::now();
    let second = token(&b).await;
    let elapsed = started.elapsed();
    server.resume();
    assert_ne!(second, first);
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
    assert!(redis_b.stats().failures >= 1);
    assert!(
        logs.text().contains("Redis did not answer within 200ms"),
        "{}",
        logs.text()
    );
}

#[tokio::test]
async fn a_password_protected_redis_works_and_a_wrong_password_is_only_a_miss() {
    if !tests::external::redis_available() {
        return;
    }
    let logs = Logs::default();
    let _guard = logs.install();
    let server = RedisServer::start_with_password("s3cr3t-pass");
    let emu = Emulator::start().await.unwrap();
    let key = EncryptionKey::generate("k1").unwrap();
    let good = redis(&server, keyring(&key)).build().unwrap();
    let first = token(&daemon(&emu, Arc::new(good.clone()))).await;
    assert_eq!(server.cli(&["DBSIZE"]).trim(), "1");
    let wrong_url = server.url().replace("s3cr3t-pass", "bad-pass-9731");
    let wrong = RedisTokenCache::builder(wrong_url)
        .key_prefix(PREFIX)
        .encryption(keyring(&key))
        .build()
        .unwrap();
    assert!(
        !format!("{wrong:?}").contains("bad-pass-9731"),
        "the password is not shown"
    );
    let second = token(&daemon(&emu, Arc::new(wrong.clone()))).await;
    assert_ne!(second, first);
    assert!(wrong.stats().failures >= 1);
    assert_eq!(emu.control().token_requests(), 2);
    assert!(
        logs.text().contains("Redis token cache unavailable"),
        "{}",
        logs.text()
    );
    for secret in [
        "s3cr3t-pass",
        "bad-pass-9731",
        first.as_str(),
        second.as_str(),
    ] {
        assert!(
            !logs.text().contains(secret),
            "a password or token reached the logs"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_obo_users_have_ten_thousand_keys_with_ttls_and_a_bounded_l1() {
    if !tests::external::redis_available() {
        return;
    }
    const USERS: usize = 10_000;
    const L1: usize = 1_000;
    let server = RedisServer::start();
    let key = EncryptionKey::generate("k1").unwrap();
    let redis_a = redis(&server, keyring(&key))
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let cache = layered(&redis_a, L1);
    // The manager every credential uses, with the OBO credential's keys: the partition is the
    // SHA-256 of each user's assertion. (The token endpoint is replaced by a local function:
    // 10,000 RSA-signed emulator tokens would take minutes in a debug build.)
    let manager = TokenManager::new(
        Arc::new(cache.clone()),
        Arc::new(SystemClock),
        ManagerOptions::default(),
    );
    let results: Vec<()> = futures::stream::iter(0..USERS)
        .map(|i| {
            let manager = manager.clone();
            async move {
                let assertion = UserAssertion::new(format!("eyJhbGciOi.user-{i}-assertion.sig"));
                let key = CacheKey::access_token(
                    "login.microsoftonline.com",
                    "contoso",
                    seeded::WEB_API_CLIENT_ID,
                    &[GRAPH_DEFAULT.to_string()],
                    None,
                    Some(assertion.partition().to_string()),
                );
                let token = manager
                    .get_token(&key, false, move || async move {
                        Ok(AccessToken::new(
                            format!("obo-token-{i}"),
                            SystemTime::now() + Duration::from_secs(3600),
                        ))
                    })
                    .await
                    .unwrap();
                assert_eq!(token.secret(), format!("obo-token-{i}"));
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    assert_eq!(results.len(), USERS);

    let mut conn = raw(&server).await;
    let stored = keys(&mut conn, &format!("{PREFIX}*")).await;
    assert_eq!(stored.len(), USERS);
    let mut pipe = redis::pipe();
    for k in &stored {
        pipe.cmd("PTTL").arg(k);
    }
    let ttls: Vec<i64> = pipe.query_async(&mut conn).await.unwrap();
    assert!(
        ttls.iter().all(|&ms| ms > 3_000_000 && ms <= 3_600_000),
        "every key expires with its token"
    );
    let l1 = cache.l1().stats();
    assert!(l1.entries <= L1, "{l1:?}");
    assert_eq!(l1.evictions as usize, USERS - L1);
    assert_eq!(redis_a.stats().writes as usize, USERS);
    assert!(
        !stored.iter().any(|k| k.contains("assertion")),
        "keys hold hashes, not assertions"
    );
}

/// Four instances (separate credentials, managers, L1s and Redis connections) ask for one cold
/// key at the same moment, ten requests each, while each token request takes 300 ms. Returns
/// the token requests and the 40 tokens handed out.
async fn four_instances_on_a_cold_key(lock: Option<RefreshLock>) -> (u64, Vec<String>) {
    let server = RedisServer::start();
    let emu = Emulator::start().await.unwrap();
    let mut slow = Fault::delay(Duration::from_millis(300)).times(100);
    slow.path = Some(PathMatch::TokenEndpoint);
    emu.control().inject(slow);
    let key = EncryptionKey::generate("k1").unwrap();
    let barrier = Arc::new(tokio::sync::Barrier::new(4));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let mut builder = redis(&server, keyring(&key));
        if let Some(lock) = lock {
            builder = builder.refresh_lock(lock);
        }
        let redis = builder.build().unwrap();
        let credential = daemon(&emu, Arc::new(layered(&redis, 10)));
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            // ten concurrent requests per instance
            futures::future::join_all((0..10).map(|_| token(&credential))).await
        }));
    }
    let mut tokens = Vec::new();
    for task in tasks {
        tokens.extend(task.await.unwrap());
    }
    (emu.control().token_requests(), tokens)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_instances_on_a_cold_key_make_one_token_request_with_the_refresh_lock() {
    if !tests::external::redis_available() {
        return;
    }
    let (without, _) = four_instances_on_a_cold_key(None).await;
    let (with, tokens) = four_instances_on_a_cold_key(Some(RefreshLock::default())).await;
    println!(
        "N = 4 instances x 10 requests, cold key: {without} token requests without the lock, {with} with it"
    );
    // Without the lock each instance fetches once (single flight per instance): 4 when all
    // start together, fewer only if an instance starts after another's 300 ms fetch ended.
    assert!((2..=4).contains(&without), "{without}");
    assert_eq!(with, 1, "with the lock the fleet fetches once");
    assert_eq!(tokens.len(), 40);
    assert!(
        tokens.iter().all(|t| t == &tokens[0]),
        "every request got the one token"
    );
}

#[tokio::test]
async fn a_dead_lock_holder_delays_but_never_fails_a_request() {
    if !tests::external::redis_available() {
        return;
    }
    let logs = Logs::default();
    let _guard = logs.install();
    let server = RedisServer::start();
    let emu = Emulator::start().await.unwrap();
    let key = EncryptionKey::generate("k1").unwrap();
    let lock = RefreshLock::default()
        .with_ttl(Duration::from_secs(1))
        .with_max_wait(Duration::from_millis(400));
    let cache = redis(&server, keyring(&key))
        .refresh_lock(lock)
        .build()
        .unwrap();
    let credential = daemon(&emu, Arc::new(cache.clone()));
    let cache_key = app_cache_key(&emu, GRAPH_DEFAULT);
    // Another "instance" took the lock and died: it expires in 10 s, longer than max_wait.
    let lock_key = format!("{PREFIX}lock|{}", cache_key.storage_key());
    server.cli(&["SET", &lock_key, "dead-instance", "PX", "10000"]);
    let started = Instant::now();
    token(&credential).await;
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(400) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    assert_eq!(cache.stats().lock_wait_timeouts, 1);
    assert_eq!(emu.control().token_requests(), 1);
    assert!(
        logs.text().contains("did not finish in time"),
        "{}",
        logs.text()
    );
    assert_eq!(
        server.cli(&["EXISTS", &lock_key]).trim(),
        "1",
        "a foreign lock is never deleted"
    );
}

/// Four warm instances whose shared token passes its `refresh_on` (the emulator's
/// `refresh_in`) ask for it at once. Returns the token requests made for the refresh.
async fn four_instances_at_refresh_time(lock: Option<RefreshLock>) -> u64 {
    let server = RedisServer::start();
    let emu = Emulator::builder()
        .refresh_in(Some(Duration::from_secs(3)))
        .start()
        .await
        .unwrap();
    let key = EncryptionKey::generate("k1").unwrap();
    let mut instances = Vec::new();
    for _ in 0..4 {
        let mut builder = redis(&server, keyring(&key));
        if let Some(lock) = lock {
            builder = builder.refresh_lock(lock);
        }
        let credential = daemon(&emu, Arc::new(layered(&builder.build().unwrap(), 10)));
        token(&credential).await; // warm: the first fetches, the others read Redis
        instances.push(credential);
    }
    assert_eq!(emu.control().token_requests(), 1);
    tokio::time::sleep(Duration::from_millis(3_200)).await;
    let barrier = Arc::new(tokio::sync::Barrier::new(4));
    let tasks: Vec<_> = instances
        .into_iter()
        .map(|credential| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                // served at once from the cache while the refresh runs in the background
                futures::future::join_all((0..5).map(|_| token(&credential))).await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(700)).await; // let background refreshes finish
    emu.control().token_requests() - 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_due_proactive_refresh_is_done_by_one_instance_with_the_refresh_lock() {
    if !tests::external::redis_available() {
        return;
    }
    let without = four_instances_at_refresh_time(None).await;
    let with = four_instances_at_refresh_time(Some(RefreshLock::default())).await;
    println!(
        "N = 4 warm instances past refresh_on: {without} refresh requests without the lock, {with} with it"
    );
    assert!((2..=4).contains(&without), "{without}");
    assert_eq!(
        with, 1,
        "with the lock one instance refreshes, the others keep serving"
    );
}
