//! OAuth 2.0 and Microsoft Entra ID credentials for the typed Microsoft Graph SDK.
//!
//! `msgraph-typed-auth` speaks OAuth 2.0, not Graph: it turns an application's identity
//! (the Azure host's managed identity, a workload identity token, a developer's `az login`,
//! a client secret, a certificate, a federated assertion, a user's incoming token,
//! an authorization code, a refresh token, a device code) into access tokens, and keeps
//! them fresh. Every credential implements one object-safe async trait, [`TokenCredential`],
//! which `msgraph-typed-core` asks for a token before every HTTP attempt.
//!
//! A long-running service creates its credential once and never writes refresh code:
//!
//! ```no_run
//! use msgraph_typed_auth::{ClientSecretCredential, TokenCredential, TokenRequest};
//!
//! # async fn demo() -> Result<(), msgraph_typed_auth::AuthError> {
//! let credential = ClientSecretCredential::new("contoso.onmicrosoft.com", "client-id", "secret")?;
//! let request = TokenRequest::new(["https://graph.microsoft.com/.default"]);
//! loop {
//!     // From the cache while more than 5 minutes remain; refreshed in the background from
//!     // the server's refresh_in (or half-life); one token request however many callers.
//!     let token = credential.get_token(&request).await?;
//!     # let _ = token; break;
//! }
//! # Ok(()) }
//! ```
//!
//! # Credentials
//! | credential | flow |
//! |---|---|
//! | [`DefaultAzureCredential`] | the first configured of: environment, workload identity, managed identity, Azure CLI, Azure Developer CLI |
//! | [`ManagedIdentityCredential`] | the Azure host's identity: IMDS, App Service / Functions / Container Apps, Azure Arc, Cloud Shell |
//! | [`WorkloadIdentityCredential`] | AKS workload identity (`AZURE_FEDERATED_TOKEN_FILE`) |
//! | [`AzureCliCredential`] / [`AzureDeveloperCliCredential`] | `az login` / `azd auth login` on a developer's machine |
//! | [`ClientSecretCredential`] | client credentials with a secret (body or HTTP Basic) |
//! | [`ClientCertificateCredential`] | client credentials with a certificate-signed assertion (PS256 / `x5t#S256`, or RS256 / `x5t`) |
//! | [`ClientAssertionCredential`] | client credentials with a federated assertion (callback or file) |
//! | [`OnBehalfOfCredential`] | on-behalf-of for web APIs; one instance for all users |
//! | [`AuthorizationCodeFlow`] / [`AuthorizationCodeCredential`] | auth code + PKCE, then refresh-token rotation |
//! | [`RefreshTokenCredential`] | a stored refresh token, rotated |
//! | [`DeviceCodeCredential`] | device code |
//! | [`EnvironmentCredential`] | Azure.Identity's `AZURE_*` variables |
//! | [`ChainedTokenCredential`] | several, tried in order |
//! | [`StaticTokenCredential`] | a token obtained elsewhere |
//!
//! # Tokens, cache and manager
//! Each credential owns a [`TokenManager`] over a [`TokenCache`] (by default a bounded
//! [`MemoryTokenCache`]); pass your own cache, HTTP client, cloud or clock through
//! [`CredentialOptions`]. Errors are [`AuthError`]: decide with its predicates
//! (`is_retryable`, `is_interaction_required`, `is_configuration`) and accessors (`claims`,
//! `entra_error`). No secret, token or assertion appears in any `Debug`, `Display`, error
//! or log line of this crate.
//!
//! # Guarantees
//!
//! - **Token requests never follow redirects**: a 3xx from a token or device-code endpoint is
//!   [`AuthError::Redirected`] (status and `Location` host, never a secret), whatever HTTP
//!   configuration you gave ([`HttpClient`] switches redirects off after applying it).
//! - **Bounded memory**: a token answer is read up to 1 MiB
//!   ([`CredentialOptions::with_max_response_bytes`]) and a Redis cache value up to 64 KiB;
//!   beyond that it is a typed error or a cache miss, before the memory is spent.
//! - **One failure never becomes an outage**: the cached token is replaced only by a newer
//!   one, never removed on the way (a forced refresh that fails leaves other callers on the
//!   still-valid token); a failed background refresh delays only background work; calls fail
//!   only when no usable token exists and the token endpoint cannot give one.
//! - **Parsers survive arbitrary input**: token answers, Entra errors, `Retry-After` and
//!   stored cache values are property-tested: a typed error, never a panic.
//!
//! # Sharing tokens across instances (feature `redis`)
//! With `msgraph-typed-auth = { version = "0.1", features = ["redis"] }`, every instance of a service
//! reuses the tokens the fleet already holds: a `RedisTokenCache` (AES-256-GCM at rest by
//! default; a Redis failure or timeout is only a cache miss and a warning), optionally behind
//! an in-memory [`LayeredTokenCache`], passed to any credential:
//!
#![cfg_attr(feature = "redis", doc = "```no_run")]
#![cfg_attr(not(feature = "redis"), doc = "```ignore")]
//! # use msgraph_typed_auth::*; use std::sync::Arc;
//! # fn demo(key_base64: &str) -> Result<(), Box<dyn std::error::Error>> {
//! let redis = RedisTokenCache::builder("rediss://:password@cache.internal:6380")
//!     .encryption(Keyring::new(EncryptionKey::from_base64("2026-11", key_base64)?))
//!     .refresh_lock(RefreshLock::default()) // optional: about one token request per fleet
//!     .build()?;
//! let cache = LayeredTokenCache::new(MemoryTokenCache::with_capacity(10_000), Arc::new(redis));
//! let options = CredentialOptions::default().with_cache(Arc::new(cache));
//! # let _ = options; Ok(()) }
//! ```
//!
//! ```
//! use msgraph_typed_auth::{AccessToken, StaticTokenCredential, TokenCredential, TokenRequest};
//! use std::time::{Duration, SystemTime};
//!
//! # async fn demo() -> Result<(), msgraph_typed_auth::AuthError> {
//! let credential = StaticTokenCredential::new(AccessToken::new(
//!     "eyJ0eXAi...",
//!     SystemTime::now() + Duration::from_secs(3600),
//! ));
//! let token = credential
//!     .get_token(&TokenRequest::new(["https://graph.microsoft.com/.default"]))
//!     .await?;
//! assert!(!token.is_expired_at(SystemTime::now(), Duration::from_secs(300)));
//! # Ok(()) }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

mod cache;
mod clock;
mod cloud;
mod credential;
mod endpoint;
mod error;
mod flows;
pub mod http_client;
mod manager;
mod token;

#[cfg(test)]
#[path = "../../testdata/fuzz_support.rs"]
mod fuzz_support;

pub use cache::LayeredTokenCache;
pub use cache::{
    CacheError, CacheKey, CacheStats, CachedToken, MemoryTokenCache, TokenCache, TokenKind,
    hash_secret,
};
#[cfg(feature = "redis")]
pub use cache::{
    EncryptionKey, Keyring, KeyringError, RedisCacheConfigError, RedisCacheStats, RedisTokenCache,
    RedisTokenCacheBuilder, RefreshLock,
};
pub use clock::{Clock, SystemClock, TestClock};
pub use cloud::{Cloud, CloudError, CustomCloud, is_loopback_host};
pub use credential::{StaticTokenCredential, TokenCredential, TokenRequest};
pub use endpoint::{LIBRARY_SKU, LIBRARY_VERSION};
pub use error::{AuthError, ChainAttempt, EntraError};
pub use flows::authorization_code::{
    AuthorizationCodeCredential, AuthorizationCodeFlow, AuthorizationSession, ResponseMode,
};
pub use flows::chain::ChainedTokenCredential;
pub use flows::client_assertion::{AssertionSource, ClientAssertionCredential};
pub use flows::client_auth::ClientAuthentication;
pub use flows::client_certificate::{
    AssertionAlgorithm, ClientCertificate, ClientCertificateCredential,
};
pub use flows::client_secret::ClientSecretCredential;
pub use flows::default_chain::{
    DefaultAzureCredential, DefaultAzureCredentialOptions, DefaultSource,
};
pub use flows::developer_cli::{
    AzureCliCredential, AzureDeveloperCliCredential, DeveloperCliOptions,
};
pub use flows::device_code::{DeviceCodeCredential, DeviceCodeInfo};
pub use flows::environment::EnvironmentCredential;
pub use flows::managed_identity::{
    ManagedIdentityCredential, ManagedIdentityEndpoint, ManagedIdentityId, ManagedIdentityOptions,
    ManagedIdentityRetry, ManagedIdentitySource,
};
pub use flows::on_behalf_of::{OnBehalfOfCredential, OnBehalfOfUser, UserAssertion};
pub use flows::refresh_token::RefreshTokenCredential;
pub use flows::workload_identity::WorkloadIdentityCredential;
pub use flows::{CredentialEnvironment, CredentialOptions, DEFAULT_MAX_TOKEN_RESPONSE_BYTES};
pub use http_client::{HttpClient, HttpClientError};
pub use manager::{ManagerOptions, TokenManager};
pub use token::AccessToken;

/// This crate's README, compiled as doctests so its examples stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
