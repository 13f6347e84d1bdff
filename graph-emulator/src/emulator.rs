//! Starting and stopping the server: [`Emulator`] and [`EmulatorBuilder`].

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;

use crate::config::{AppConfig, TenantConfig};
use crate::control::Control;
use crate::counters::Counters;
use crate::error::Error;
use crate::faults::Faults;
use crate::files::{FileLimits, FilesState};
use crate::identity::{Identity, IdentityConfig, SigningKey};
use crate::managed_identity::{
    ManagedIdentities, ManagedIdentity, ManagedIdentityState, seeded_identities,
};
use crate::server::{ServerTask, app, content_app, spawn};
use crate::state::AppState;
use crate::state_dir::StateDir;
use crate::store::Directory;
use crate::throttle::{Throttle, ThrottlingConfig};
use crate::tls::TlsIdentity;
use crate::{DEFAULT_TENANT, config, tls};

/// Configures and starts an [`Emulator`].
#[derive(Debug, Clone)]
#[must_use]
pub struct EmulatorBuilder {
    port: u16,
    https: bool,
    users: usize,
    groups: usize,
    token_lifetime: Duration,
    refresh_in: Option<Duration>,
    device_code_interval: Duration,
    device_code_pending_polls: u32,
    fresh_signing_key: bool,
    signing_key_pem: Option<String>,
    apps: Vec<AppConfig>,
    config: TenantConfig,
    tls_identity: Option<TlsIdentity>,
    state_dir: Option<PathBuf>,
    managed_identities: Vec<ManagedIdentity>,
    app_service_identity_header: Option<String>,
    arc_key_dir: Option<PathBuf>,
    content_port: u16,
    file_limits: FileLimits,
    throttling: Option<ThrottlingConfig>,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        EmulatorBuilder {
            port: 0,
            https: false,
            users: 0,
            groups: 0,
            token_lifetime: Duration::from_secs(3600),
            refresh_in: None,
            device_code_interval: Duration::from_secs(1),
            device_code_pending_polls: 1,
            fresh_signing_key: false,
            signing_key_pem: None,
            apps: Vec::new(),
            config: TenantConfig::default(),
            tls_identity: None,
            state_dir: None,
            managed_identities: Vec::new(),
            app_service_identity_header: None,
            arc_key_dir: None,
            content_port: 0,
            file_limits: FileLimits::default(),
            throttling: None,
        }
    }
}

impl EmulatorBuilder {
    /// The TCP port on 127.0.0.1. Defaults to 0 (a random free port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Serve HTTPS with a certificate for 127.0.0.1, localhost and ::1, signed by a local
    /// certificate authority generated at start (clients trust the authority's certificate,
    /// [`Emulator::tls_certificate_pem`]). Defaults to `false` (plain HTTP).
    ///
    /// rustls runs with the `ring` provider; if the process has no default rustls provider yet,
    /// ring is installed as the default.
    pub fn https(mut self, https: bool) -> Self {
        self.https = https;
        self
    }

    /// Extra generated users on top of the seeded tenant. Defaults to 0.
    pub fn users(mut self, users: usize) -> Self {
        self.users = users;
        self
    }

    /// Generated security groups on top of the seeded tenant, for directories of realistic
    /// shape: a quarter of them are divisions, the others teams each nested in one or two
    /// divisions, and every generated user ([`EmulatorBuilder::users`]) is a direct member of
    /// three teams, so its `transitiveMemberOf` lists about seven groups (with 100 or more
    /// groups). Names, ids and memberships are the same on every start. Defaults to 0.
    pub fn generated_groups(mut self, groups: usize) -> Self {
        self.groups = groups;
        self
    }

    /// Lifetime of issued access tokens (whole seconds). Defaults to 3600 s.
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = lifetime;
        self
    }

    /// Adds `refresh_in` (whole seconds) to token responses. Defaults to `None` (not sent).
    pub fn refresh_in(mut self, refresh_in: Option<Duration>) -> Self {
        self.refresh_in = refresh_in;
        self
    }

    /// The polling `interval` the device-code endpoint announces (at least 1 s). Defaults to 1 s.
    pub fn device_code_interval(mut self, interval: Duration) -> Self {
        self.device_code_interval = interval;
        self
    }

    /// How many device-code polls answer `authorization_pending` before the approval. Defaults to 1.
    pub fn device_code_pending_polls(mut self, polls: u32) -> Self {
        self.device_code_pending_polls = polls;
        self
    }

    /// Generate a signing key for this emulator alone instead of using the process-wide one.
    /// Defaults to `false`: emulators of one process share an RSA key (generating one takes
    /// seconds in debug builds), and tell their tokens apart by issuer.
    pub fn fresh_signing_key(mut self, fresh: bool) -> Self {
        self.fresh_signing_key = fresh;
        self
    }

    /// Signs tokens with this RSA private key (PKCS#8 PEM, as returned by
    /// [`Emulator::signing_key_pem`]) instead of a generated one, so tokens issued by an earlier
    /// emulator with the same key, port and tenant stay valid. Defaults to a generated key.
    pub fn signing_key_pem(mut self, pem: impl Into<String>) -> Self {
        self.signing_key_pem = Some(pem.into());
        self
    }

    /// Registers an app (client secret, certificates, roles, redirect URIs) in addition to the
    /// seeded ones.
    pub fn app(mut self, app: AppConfig) -> Self {
        self.apps.push(app);
        self
    }

    /// Seeds the tenant from a configuration (see [`TenantConfig::load`]): its apps, users and
    /// groups are added to the seeded tenant, its token lifetimes replace the builder's, its
    /// generated users add to [`EmulatorBuilder::users`].
    pub fn tenant_config(mut self, config: TenantConfig) -> Self {
        if let Some(secs) = config.tokens.lifetime_secs {
            self.token_lifetime = Duration::from_secs(secs);
        }
        if let Some(secs) = config.tokens.refresh_in_secs {
            self.refresh_in = Some(Duration::from_secs(secs));
        }
        self.users = self.users.saturating_add(config.generated_users);
        if let Some(throttling) = &config.throttling {
            self.throttling = Some(throttling.clone());
        }
        self.managed_identities
            .extend(config.managed_identities.iter().cloned());
        self.config = config;
        self
    }

    /// Serves HTTPS with this certificate chain (PEM, leaf first) and private key (PEM) instead
    /// of a generated certificate; implies [`EmulatorBuilder::https`].
    /// [`Emulator::tls_certificate_pem`] then returns the chain.
    pub fn tls_identity_pem(
        mut self,
        certificate_chain_pem: impl Into<String>,
        private_key_pem: impl Into<String>,
    ) -> Self {
        let chain_pem = certificate_chain_pem.into();
        self.tls_identity = Some(TlsIdentity {
            trust_pem: chain_pem.clone(),
            chain_pem,
            key_pem: private_key_pem.into(),
        });
        self.https = true;
        self
    }

    /// Keeps the token-signing key and (with HTTPS) the TLS certificate in this directory:
    /// created on the first start, reused afterwards, so that a restarted emulator on the same
    /// port serves the same certificate and accepts the tokens it issued before. Files:
    /// `signing-key.pem`, `tls-ca.pem` (the certificate to trust), `tls-cert.pem`, `tls-key.pem`.
    /// [`EmulatorBuilder::signing_key_pem`] and [`EmulatorBuilder::tls_identity_pem`] take
    /// precedence.
    pub fn state_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.state_dir = Some(dir.into());
        self
    }

    /// Adds a managed identity (or replaces the seeded one with the same client id) for the
    /// managed identity endpoints.
    pub fn managed_identity(mut self, identity: ManagedIdentity) -> Self {
        self.managed_identities.push(identity);
        self
    }

    /// The secret App Service clients send as `X-IDENTITY-HEADER` (their `IDENTITY_HEADER`).
    /// Defaults to a random value ([`Control::app_service_identity_header`]).
    pub fn app_service_identity_header(mut self, secret: impl Into<String>) -> Self {
        self.app_service_identity_header = Some(secret.into());
        self
    }

    /// Where the Azure Arc endpoint writes the key files its challenges name. Defaults to a
    /// directory named after the port in the system's temporary directory. (Microsoft's clients
    /// accept only `/var/opt/azcmagent/tokens` on Linux.)
    pub fn arc_key_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.arc_key_dir = Some(dir.into());
        self
    }

    /// The TCP port of the content origin (downloads and upload sessions) on 127.0.0.1.
    /// Defaults to 0 (a random free port).
    pub fn content_port(mut self, port: u16) -> Self {
        self.content_port = port;
        self
    }

    /// Bytes of file content (drive items, upload sessions, attachments, photos) kept in memory
    /// at most; writes past it answer 507 `quotaLimitReached`. Defaults to 1 GiB.
    pub fn file_storage_limit(mut self, bytes: u64) -> Self {
        self.file_limits.max_total_bytes = bytes;
        self
    }

    /// How long an upload session lives after its creation or last fragment; an expired
    /// session's URL answers 404. Defaults to one hour.
    pub fn upload_session_lifetime(mut self, lifetime: Duration) -> Self {
        self.file_limits.session_lifetime = lifetime;
        self
    }

    /// Turns on Graph's throttling model (resource-unit and write buckets per app+tenant and
    /// per tenant; 429 with `Retry-After` when empty). Off by default;
    /// [`ThrottlingConfig::graph_defaults`] has Graph's documented limits.
    pub fn throttling(mut self, config: ThrottlingConfig) -> Self {
        self.throttling = Some(config);
        self
    }

    /// Generates the keys, binds the socket and starts serving in the background.
    ///
    /// # Errors
    /// [`Error::Io`] if the port cannot be bound, [`Error::Key`] or [`Error::Tls`] if key or
    /// certificate generation fails, [`Error::Config`] if a configured app, user or group is
    /// invalid.
    pub async fn start(self) -> Result<Emulator, Error> {
        let state_dir = self.state_dir.as_ref().map(StateDir::new);
        let key = if let Some(pem) = &self.signing_key_pem {
            std::sync::Arc::new(SigningKey::from_pkcs8_pem(pem)?)
        } else if let Some(dir) = &state_dir {
            dir.signing_key().await?
        } else if self.fresh_signing_key {
            SigningKey::generate_blocking().await?
        } else {
            SigningKey::shared().await?
        };
        let mut registrations = Vec::new();
        for (i, app) in self.config.apps.iter().enumerate() {
            registrations.push(config::registration(app, &format!("apps[{i}]"))?);
        }
        for app in &self.apps {
            registrations.push(config::registration(app, &app.client_id)?);
        }
        let (users, groups) = (self.users, self.groups);
        let tenant = self.config.clone();
        let directory = tokio::task::spawn_blocking(move || {
            let mut directory = Directory::seeded();
            config::apply_directory(&tenant, &mut directory)?;
            if users > 0 {
                directory.generate_users(users);
            }
            if groups > 0 {
                directory.generate_groups(groups);
            }
            Ok::<_, Error>(directory)
        })
        .await
        .map_err(|e| Error::Io(std::io::Error::other(e.to_string())))??;
        let tls_identity = match (&self.tls_identity, &state_dir, self.https) {
            (Some(identity), _, _) => Some(identity.clone()),
            (None, Some(dir), true) => Some(dir.tls_identity()?),
            (None, None, true) => Some(tls::generate()?),
            (None, _, false) => None,
        };

        let listener =
            std::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, self.port)))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let scheme = if tls_identity.is_some() {
            "https"
        } else {
            "http"
        };
        let base_url = format!("{scheme}://{addr}");

        let config = IdentityConfig {
            tenant_id: DEFAULT_TENANT.to_owned(),
            token_lifetime: self.token_lifetime,
            refresh_in: self.refresh_in,
            device_code_interval: self.device_code_interval,
            device_code_pending_polls: self.device_code_pending_polls,
        };
        let identity = Identity::new(config, key);
        {
            let mut apps = identity.apps.write();
            for registration in registrations {
                apps.insert(registration);
            }
        }
        let mut identities = ManagedIdentities::new(seeded_identities());
        for mi in self.managed_identities {
            identities.upsert(mi);
        }
        let arc_key_dir = self.arc_key_dir.unwrap_or_else(|| {
            std::env::temp_dir().join(format!("msgraph-typed-emulator-arc-{}", addr.port()))
        });
        let managed_identity = ManagedIdentityState::new(
            identities,
            self.app_service_identity_header
                .unwrap_or_else(crate::identity::random_id_32),
            arc_key_dir,
        );
        let content_listener = std::net::TcpListener::bind(SocketAddr::from((
            Ipv4Addr::LOCALHOST,
            self.content_port,
        )))?;
        content_listener.set_nonblocking(true)?;
        let content_addr = content_listener.local_addr()?;
        let files = FilesState::new(self.file_limits);
        *files.content_base.write() = format!("{scheme}://{content_addr}");
        let state = AppState {
            directory: Arc::new(RwLock::new(directory)),
            identity: Arc::new(identity),
            files: Arc::new(files),
            throttle: Arc::new(Throttle::new(self.throttling)),
            managed_identity,
            faults: Arc::new(Faults::default()),
            counters: Arc::new(Counters::default()),
            base_url: base_url.clone(),
        };
        let handle = axum_server::Handle::new();
        let task = spawn(listener, app(state.clone()), tls_identity.as_ref(), &handle)?;
        let content_task = spawn(
            content_listener,
            content_app(state.clone()),
            tls_identity.as_ref(),
            &handle,
        )?;
        tracing::info!(%base_url, "msgraph-typed-emulator listening");
        Ok(Emulator {
            state,
            addr,
            handle,
            task: Some(task),
            content_task: Some(content_task),
            tls_certificate_pem: tls_identity.map(|identity| identity.trust_pem),
        })
    }
}

/// A running emulator. Dropping it stops the server; [`Emulator::shutdown`] stops it gracefully
/// and waits.
#[derive(Debug)]
pub struct Emulator {
    state: AppState,
    addr: SocketAddr,
    handle: axum_server::Handle,
    task: Option<ServerTask>,
    content_task: Option<ServerTask>,
    tls_certificate_pem: Option<String>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// A builder with the defaults (random port, HTTP, seeded tenant only, 3600 s tokens).
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// Starts an emulator with the defaults.
    ///
    /// # Errors
    /// See [`EmulatorBuilder::start`].
    pub async fn start() -> Result<Emulator, Error> {
        Self::builder().start().await
    }

    /// The base URL, e.g. `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> &str {
        &self.state.base_url
    }

    /// The socket address the emulator listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The Graph base URL, e.g. `http://127.0.0.1:PORT/v1.0`.
    pub fn graph_url(&self) -> String {
        format!("{}/v1.0", self.state.base_url)
    }

    /// The authority host, e.g. `http://127.0.0.1:PORT/` (the tenant path segment follows).
    pub fn authority_url(&self) -> String {
        format!("{}/", self.state.base_url)
    }

    /// The token endpoint of the seeded tenant.
    pub fn token_endpoint(&self) -> String {
        format!(
            "{}/{}/oauth2/v2.0/token",
            self.state.base_url, DEFAULT_TENANT
        )
    }

    /// The seeded tenant id (the path segments `common` and `organizations` are accepted too).
    pub fn tenant_id(&self) -> &str {
        DEFAULT_TENANT
    }

    /// The certificate (PEM) a client trusts to reach this emulator over HTTPS: the local
    /// authority's certificate, or the chain given to [`EmulatorBuilder::tls_identity_pem`].
    /// `None` for plain HTTP.
    pub fn tls_certificate_pem(&self) -> Option<&str> {
        self.tls_certificate_pem.as_deref()
    }

    /// The token-signing private key (PKCS#8 PEM), to start a later emulator with
    /// [`EmulatorBuilder::signing_key_pem`] so that tokens it issued stay valid. A test key.
    pub fn signing_key_pem(&self) -> &str {
        self.state.identity.key.private_pem()
    }

    /// The IMDS token endpoint (`GET`, `Metadata: true`), e.g.
    /// `http://127.0.0.1:PORT/metadata/identity/oauth2/token`.
    pub fn imds_endpoint(&self) -> String {
        format!("{}/metadata/identity/oauth2/token", self.state.base_url)
    }

    /// The App Service managed identity endpoint (`IDENTITY_ENDPOINT`; with
    /// [`Control::app_service_identity_header`] as `IDENTITY_HEADER`).
    pub fn app_service_endpoint(&self) -> String {
        format!("{}/msi/token", self.state.base_url)
    }

    /// The Cloud Shell managed identity endpoint (`MSI_ENDPOINT`; `POST`, `Metadata: true`).
    pub fn cloud_shell_endpoint(&self) -> String {
        format!("{}/cloudshell/token", self.state.base_url)
    }

    /// The Azure Arc managed identity endpoint (`IDENTITY_ENDPOINT`; a 401 challenge names a key
    /// file, the retry sends its content as `Authorization: Basic`).
    pub fn arc_endpoint(&self) -> String {
        format!("{}/arc/metadata/identity/oauth2/token", self.state.base_url)
    }

    /// The content origin (downloads and upload sessions), e.g. `http://127.0.0.1:PORT2`.
    pub fn content_url(&self) -> String {
        self.state.files.content_base()
    }

    /// The control handle: faults, counters, users, apps and token minting.
    pub fn control(&self) -> Control {
        Control::new(self.state.clone())
    }

    /// Stops accepting connections, lets in-flight requests finish (up to 5 s) and waits.
    pub async fn shutdown(mut self) {
        self.handle.graceful_shutdown(Some(Duration::from_secs(5)));
        for task in [self.task.take(), self.content_task.take()]
            .into_iter()
            .flatten()
        {
            let _ = task.await;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if self.task.is_some() {
            self.handle.graceful_shutdown(Some(Duration::from_secs(1)));
        }
    }
}
