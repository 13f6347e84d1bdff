//! Quickstart: what a Rust service does with this SDK.
//!
//! ```sh
//! cargo run --example quickstart                 # against the built-in emulator
//! AZURE_TENANT_ID=... AZURE_CLIENT_ID=... AZURE_CLIENT_SECRET=... \
//!     cargo run --example quickstart             # (a) and (c) against the real Microsoft Graph
//! ```
//!
//! Options:
//! - `--users N`: emulator only, how many generated users to page through in (c) (default 20000);
//! - `--redis URL`: share tokens through Redis (encrypted). Run it twice: the second run makes no
//!   client-credentials token request, because it reads the first run's token from Redis. The
//!   encryption key is read from `QUICKSTART_CACHE_KEY` (base64 of 32 bytes); without it a demo
//!   key is kept in the system's temporary folder. Against the emulator, the emulator's port and
//!   signing key are kept there too, so the second run's emulator accepts the first run's token.
//!
//! (a) a background service lists users with client credentials, paging them as a stream;
//! (b) a web API receives a signed-in user's token and resolves that user's groups
//!     (memberOf and transitiveMemberOf) on behalf of the user;
//! (c) a large collection is paged as a stream with visible progress;
//! (d) the groups of many users at once, as a bulk job: what (b) becomes when a service does it
//!     for a whole tenant (an access review, a sync, a nightly report).
//!
//! It prints how many token requests and Graph requests were made.

use std::error::Error;
use std::sync::Arc;
use std::time::Instant;

use msgraph_typed::auth::{
    ClientAuthentication, ClientSecretCredential, CredentialOptions, EncryptionKey, Keyring,
    LayeredTokenCache, MemoryTokenCache, OnBehalfOfCredential, RedisTokenCache, TokenCache,
};
use msgraph_typed::futures::{StreamExt as _, TryStreamExt as _};
use msgraph_typed::models::{AnyDirectoryObject, AnyUser, UserField};
use msgraph_typed::{Cloud, GraphClient, UserAssertion};
use msgraph_typed_emulator::{Emulator, seeded};

type BoxError = Box<dyn Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let options = Options::from_args()?;
    match RealTenant::from_env() {
        Some(tenant) => run_against_microsoft_graph(tenant, options).await,
        None => run_against_emulator(options).await,
    }
}

/// Command-line options.
struct Options {
    users: usize,
    redis: Option<String>,
}

impl Options {
    fn from_args() -> Result<Self, BoxError> {
        let mut options = Options {
            users: 20_000,
            redis: None,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--users" => {
                    let value = args.next().ok_or("--users needs a number")?;
                    options.users = value
                        .parse()
                        .map_err(|_| format!("--users: {value:?} is not a number"))?;
                }
                "--redis" => {
                    options.redis = Some(
                        args.next()
                            .ok_or("--redis needs a URL, e.g. redis://127.0.0.1:6379")?,
                    );
                }
                "-h" | "--help" => {
                    println!("usage: cargo run --example quickstart [-- --users N] [--redis URL]");
                    std::process::exit(0);
                }
                other => return Err(format!("unknown argument {other:?} (try --help)").into()),
            }
        }
        Ok(options)
    }
}

/// A tenant configured with Azure.Identity's variables.
struct RealTenant {
    tenant_id: String,
    client_id: String,
    client_secret: String,
}

impl RealTenant {
    fn from_env() -> Option<Self> {
        let var = |name| std::env::var(name).ok().filter(|v| !v.is_empty());
        Some(RealTenant {
            tenant_id: var("AZURE_TENANT_ID")?,
            client_id: var("AZURE_CLIENT_ID")?,
            client_secret: var("AZURE_CLIENT_SECRET")?,
        })
    }
}

async fn run_against_emulator(options: Options) -> Result<(), BoxError> {
    println!("No tenant configured (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET):");
    println!(
        "starting the built-in Microsoft Graph + Entra ID emulator with {} extra users...",
        options.users
    );
    let mut builder = Emulator::builder().users(options.users);
    if options.redis.is_some() {
        // A stable port and signing key: the token cached in Redis names this authority and
        // must verify against this key on the next run.
        let state = DemoState::load()?;
        builder = builder.port(state.emulator_port);
        if let Some(pem) = state.emulator_key_pem {
            builder = builder.signing_key_pem(pem);
        }
    }
    let emulator = builder.start().await?;
    if options.redis.is_some() {
        DemoState::save_emulator_key(emulator.signing_key_pem())?;
    }
    let control = emulator.control();
    println!("emulator listening on {}\n", emulator.url());

    // The cloud, once: the emulator's authority and Graph endpoint (its tokens are for
    // Microsoft Graph's scope, whatever its host).
    let cloud = Cloud::custom(&emulator.authority_url(), emulator.url())?;

    // (a) A background service: client credentials, one client for the process lifetime.
    let memory = MemoryTokenCache::new();
    let cache = token_cache(memory.clone(), options.redis.as_deref())?;
    let credential = ClientSecretCredential::with_options(
        emulator.tenant_id(),
        seeded::DAEMON_CLIENT_ID,
        ClientAuthentication::secret(seeded::DAEMON_CLIENT_SECRET),
        CredentialOptions::default().with_cache(cache),
    )?;
    let service = GraphClient::builder()
        .credential(credential)
        .cloud(cloud.clone())
        .build()?;
    println!("(a) background service, client credentials: listing users as a stream");
    let first: Vec<AnyUser> = service
        .users()
        .list()
        .select([
            UserField::Id,
            UserField::DisplayName,
            UserField::UserPrincipalName,
        ])
        .top(5)
        .stream()
        .take(5)
        .try_collect()
        .await?;
    for user in &first {
        print_user(user);
    }
    let app_tokens = control.token_requests_for_grant("client_credentials");
    println!("    token requests so far: {app_tokens} (client_credentials)");
    if options.redis.is_some() {
        if app_tokens == 0 {
            println!(
                "    the app token came from Redis: an earlier run stored it (no token request)"
            );
        } else {
            println!(
                "    the app token was requested and stored in Redis: run again to see it reused"
            );
        }
    }

    // (b) A web API: one client with an on-behalf-of credential; each incoming request gets
    // a cheap per-user view of it (same connection pool, pipeline and token cache), and the
    // tokens are cached per user. `cargo run --example web_api` serves this over HTTP.
    println!("\n(b) web API, on-behalf-of: resolving the signed-in users' groups");
    let obo = OnBehalfOfCredential::new(
        emulator.tenant_id(),
        seeded::WEB_API_CLIENT_ID,
        ClientAuthentication::secret(seeded::WEB_API_CLIENT_SECRET),
    )?;
    let api = GraphClient::builder()
        .on_behalf_of(obo)
        .cloud(cloud.clone())
        .build()?;
    for upn in signed_in_users(&emulator) {
        // What the web API receives from its client (a SPA, a mobile app) in `Authorization`.
        let incoming =
            control.issue_user_token(&upn, seeded::WEB_API_APP_ID_URI, &["access_as_user"])?;
        // Two incoming requests from the same user: the second is served from the OBO cache.
        for _ in 0..2 {
            let user = api.on_behalf_of(UserAssertion::new(incoming.clone()));
            let direct: Vec<AnyDirectoryObject> =
                user.me().member_of().list().stream().try_collect().await?;
            let transitive: Vec<AnyDirectoryObject> = user
                .me()
                .transitive_member_of()
                .list()
                .stream()
                .try_collect()
                .await?;
            println!(
                "    {upn}: memberOf {} ({}), transitiveMemberOf {}",
                direct.len(),
                names(&direct),
                transitive.len()
            );
        }
    }
    println!(
        "    token requests for on-behalf-of: {} (one per user; repeated calls hit the cache)",
        control.token_requests_for_grant("urn:ietf:params:oauth:grant-type:jwt-bearer")
    );

    // (c) A large collection, paged as a stream with progress.
    println!("\n(c) paging every user in 999-item pages");
    page_all_users(&service).await?;

    // (d) The same lookup as (b), for many users at once: a bulk job.
    println!("\n(d) bulk job: the transitive groups of the first 2000 users");
    let batches_before = control.requests_to("/v1.0/$batch");
    groups_of_users(&service, 2000).await?;
    println!(
        "    $batch calls: {} (up to 20 requests each)",
        control.requests_to("/v1.0/$batch") - batches_before
    );

    println!("\nsummary");
    println!("    token requests:  {} in total", control.token_requests());
    println!("    graph requests:  {}", control.graph_requests());
    let stats = memory.stats();
    println!(
        "    service token cache (in memory): {} hits, {} misses, {} entries",
        stats.hits, stats.misses, stats.entries
    );
    emulator.shutdown().await;
    Ok(())
}

async fn run_against_microsoft_graph(tenant: RealTenant, options: Options) -> Result<(), BoxError> {
    println!(
        "Tenant {} configured: running (a) and (c) against Microsoft Graph\n",
        tenant.tenant_id
    );
    let memory = MemoryTokenCache::new();
    let credential = ClientSecretCredential::with_options(
        &tenant.tenant_id,
        &tenant.client_id,
        ClientAuthentication::secret(tenant.client_secret),
        CredentialOptions::default()
            .with_cache(token_cache(memory.clone(), options.redis.as_deref())?),
    )?;
    let client = GraphClient::builder().credential(credential).build()?;

    println!("(a) listing users as a stream");
    let first: Vec<AnyUser> = client
        .users()
        .list()
        .select([
            UserField::Id,
            UserField::DisplayName,
            UserField::UserPrincipalName,
        ])
        .top(5)
        .stream()
        .take(5)
        .try_collect()
        .await?;
    for user in &first {
        print_user(user);
    }
    println!("\n(c) paging every user in 999-item pages");
    page_all_users(&client).await?;
    println!("\n(d) bulk job: the transitive groups of the first 100 users");
    groups_of_users(&client, 100).await?;
    let stats = memory.stats();
    println!("\nsummary");
    println!(
        "    token cache: {} hits, {} misses (token requests to Entra ID, or Redis reads with --redis)",
        stats.hits, stats.misses
    );
    Ok(())
}

/// The service's token cache: in memory, or in memory in front of encrypted Redis.
fn token_cache(
    memory: MemoryTokenCache,
    redis: Option<&str>,
) -> Result<Arc<dyn TokenCache>, BoxError> {
    let Some(url) = redis else {
        return Ok(Arc::new(memory));
    };
    let key = match std::env::var("QUICKSTART_CACHE_KEY") {
        Ok(key) => EncryptionKey::from_base64("quickstart", &key)?,
        Err(_) => {
            println!(
                "(QUICKSTART_CACHE_KEY not set: using a demo encryption key kept in {})",
                DemoState::dir().display()
            );
            EncryptionKey::from_base64("quickstart-demo", &DemoState::load()?.cache_key_b64)?
        }
    };
    let redis = RedisTokenCache::builder(url)
        .key_prefix("msgraph-typed-quickstart:")
        .encryption(Keyring::new(key))
        .build()?;
    println!(
        "sharing tokens through Redis at {} (values encrypted with AES-256-GCM)\n",
        redact_url(url)
    );
    Ok(Arc::new(LayeredTokenCache::new(memory, Arc::new(redis))))
}

/// A URL without its password, for printing.
fn redact_url(url: &str) -> String {
    match msgraph_typed::url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

/// What the `--redis` demo keeps between runs in the system's temporary folder.
struct DemoState {
    emulator_port: u16,
    /// Absent on the first run.
    emulator_key_pem: Option<String>,
    cache_key_b64: String,
}

impl DemoState {
    fn dir() -> std::path::PathBuf {
        std::env::temp_dir().join("msgraph-typed-quickstart")
    }

    /// Loads the state, creating it on the first run.
    fn load() -> Result<DemoState, BoxError> {
        use base64::Engine as _;
        let dir = Self::dir();
        std::fs::create_dir_all(&dir)?;
        let cache_key_path = dir.join("cache-key.b64");
        let cache_key_b64 = match std::fs::read_to_string(&cache_key_path) {
            Ok(key) => key.trim().to_string(),
            Err(_) => {
                let bytes: [u8; 32] = rand::random();
                let key = base64::engine::general_purpose::STANDARD.encode(bytes);
                std::fs::write(&cache_key_path, &key)?;
                key
            }
        };
        let emulator_key_pem = std::fs::read_to_string(dir.join("emulator-key.pem")).ok();
        Ok(DemoState {
            emulator_port: 7357,
            emulator_key_pem,
            cache_key_b64,
        })
    }

    fn save_emulator_key(pem: &str) -> Result<(), BoxError> {
        std::fs::write(Self::dir().join("emulator-key.pem"), pem)?;
        Ok(())
    }
}

/// Streams every user page by page, printing progress after each page.
async fn page_all_users(client: &GraphClient) -> Result<(), BoxError> {
    let started = Instant::now();
    let mut pages = Box::pin(
        client
            .users()
            .list()
            .select([UserField::Id, UserField::DisplayName])
            .top(999)
            .pages(),
    );
    let (mut items, mut page_count) = (0usize, 0usize);
    while let Some(page) = pages.try_next().await? {
        items += page.items.len();
        page_count += 1;
        if page_count % 5 == 1 || page.next_link.is_none() {
            println!("    page {page_count:>3}: {items:>7} users so far");
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "    {items} users in {page_count} pages, {seconds:.2} s ({:.0} users/s), one page in memory at a time",
        items as f64 / seconds.max(f64::EPSILON)
    );
    Ok(())
}

/// The transitive groups of the first `limit` users, as one bulk run. Use `bulk` for work
/// over many keys: it packs the requests 20 to a `$batch`, keeps as many in flight as Graph's
/// throttling allows (pausing every send on a `Retry-After`), answers each key exactly once
/// and never lets one key's failure stop the others. For one user's groups, as in a web API's
/// request handler, await the request itself, as (b) does.
async fn groups_of_users(client: &GraphClient, limit: usize) -> Result<(), BoxError> {
    let started = Instant::now();
    let ids: Vec<String> = client
        .users()
        .list()
        .select([UserField::Id])
        .top(999)
        .stream()
        .take(limit)
        .try_filter_map(|user| async move { Ok(user.id().map(str::to_owned)) })
        .try_collect()
        .await?;
    let builder = client.clone();
    let requests = futures_iter(ids).map(move |id| {
        let groups = builder
            .users()
            .by_id(&id)
            .transitive_member_of()
            .groups()
            .list();
        (id, groups)
    });
    let mut answers = client.bulk(requests);
    let (mut users, mut groups, mut failed) = (0usize, 0usize, 0usize);
    while let Some((id, answer)) = answers.next().await {
        match answer {
            Ok(list) => {
                users += 1;
                groups += list.len();
            }
            Err(error) => {
                failed += 1;
                eprintln!("    {id}: {error}");
            }
        }
    }
    let (concurrency, throttled) = client.client().throttle_state();
    println!(
        "    {users} users, {groups} group memberships, {failed} failed, {:.2} s; \
         {throttled} throttled answers, concurrency now {concurrency}",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn futures_iter<T>(items: Vec<T>) -> msgraph_typed::futures::stream::Iter<std::vec::IntoIter<T>> {
    msgraph_typed::futures::stream::iter(items)
}

/// Two users of the seeded tenant who belong to nested groups.
fn signed_in_users(emulator: &Emulator) -> Vec<String> {
    let control = emulator.control();
    [
        msgraph_typed_emulator::DEFAULT_SIGNED_IN_USER,
        "MeganB@contoso.com",
    ]
    .into_iter()
    .filter_map(|user| control.user(user).map(|u| u.user_principal_name))
    .collect()
}

/// Prints a user's name and sign-in name, whichever kind of user it is.
fn print_user(user: &AnyUser) {
    // Agent users and users this version does not know read as `User` too.
    let user = user.base();
    println!(
        "    {:<28} {}",
        user.display_name().unwrap_or("-"),
        user.user_principal_name().unwrap_or("-")
    );
}

fn names(objects: &[AnyDirectoryObject]) -> String {
    let names: Vec<String> = objects
        .iter()
        .map(|object| match object {
            AnyDirectoryObject::Group(group) => group.display_name().unwrap_or("group").to_owned(),
            AnyDirectoryObject::DirectoryRole(role) => {
                format!("role {}", role.display_name().unwrap_or("-"))
            }
            AnyDirectoryObject::AdministrativeUnit(unit) => {
                format!("unit {}", unit.display_name().unwrap_or("-"))
            }
            _ => "other".to_owned(),
        })
        .collect();
    names.join(", ")
}
