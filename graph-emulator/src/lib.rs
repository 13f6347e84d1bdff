//! A local Microsoft Graph v1.0 and Microsoft Entra ID v2.0 emulator, for tests, demos and
//! benchmarks of Graph clients.
//!
//! It is an independent server implementation (axum) of the wire contract, sharing no code with
//! the SDK crates, so it can catch their mistakes. It serves:
//!
//! - **Identity** (`/{tenant}/...`, where `{tenant}` is [`DEFAULT_TENANT`], `common` or
//!   `organizations`): OpenID discovery, a JWKS, and a token endpoint supporting client
//!   credentials (secret in the body or HTTP Basic, or a certificate `client_assertion` with `x5t`
//!   or `x5t#S256`, base64url padded or not),
//!   workload identity federation (an external issuer's token as the assertion,
//!   [`FederatedCredential`]), subject name + issuer certificates (an `x5c` chain,
//!   [`SubjectNameCredential`]), on-behalf-of, authorization code with PKCE S256, refresh tokens with rotation and the device
//!   code flow; a non-interactive `/authorize` and `/devicecode`. Tokens are RS256 JWTs with
//!   Entra-like claims; errors have Entra's shape (`AADSTS` codes, `error_codes`, `trace_id`,
//!   `correlation_id`, `suberror`, `claims`); `client_info` (`uid`, `utid`) for flows with a user
//!   when asked with `client_info=1`, as MSAL does.
//! - **Files**: drives and drive items with content in memory, simple uploads, upload sessions,
//!   downloads through pre-authenticated URLs on a second origin ([`Emulator::content_url`]),
//!   Outlook attachment upload sessions and profile photos.
//! - **Managed identity** endpoints in the IMDS, App Service, Cloud Shell and Azure Arc shapes
//!   ([`Emulator::imds_endpoint`] and the others), for the seeded [`ManagedIdentity`]s.
//! - **Graph** under `/v1.0`: users, groups, memberships, owners, delta, `$batch`, OData queries, on a
//!   seeded demo tenant with stateful changes. Every request needs a valid emulator token for
//!   Microsoft Graph.
//! - **Throttling**: Graph's identity-and-access token-bucket model in resource units
//!   ([`ThrottlingConfig`], off by default), `x-ms-resource-unit` on every Graph response.
//! - **Faults and counters**: throttling with `Retry-After` in every form, 401s, CAE claims
//!   challenges, delays, dropped connections, truncated bodies, a failing token endpoint; counts
//!   of requests per path and per grant type. From a test through [`Control`], from outside
//!   through the admin routes under `/_emulator/` (see the binary's `--help`).
//!
//! The seeded app registrations are in [`seeded`]; the signed-in user of the non-interactive
//! flows is [`DEFAULT_SIGNED_IN_USER`] unless [`Control::set_signed_in_user`] picks another.
//! More apps, users and groups come from [`EmulatorBuilder::app`],
//! [`EmulatorBuilder::tenant_config`] (a TOML or JSON file, [`TenantConfig::load`]) or
//! [`Control::register_app`].
//!
//! # Microsoft's clients
//!
//! MSAL and azure-identity need an `https` authority: [`EmulatorBuilder::https`] serves a
//! certificate signed by a local authority ([`Emulator::tls_certificate_pem`] is what clients
//! trust), [`EmulatorBuilder::tls_identity_pem`] serves a given one, and
//! [`EmulatorBuilder::state_dir`] keeps the certificate and the signing key across restarts. The
//! README lists the settings of each client (MSAL Python and Node are checked by the conformance
//! suite).
//!
//! # Faults
//!
//! [`Fault`] builders: [`Fault::status`] (429/503/504 with [`RetryAfter`] as delta-seconds,
//! decimal seconds, an HTTP-date or a raw value), [`Fault::unauthorized`],
//! [`Fault::claims_challenge`], [`Fault::delay`], [`Fault::drop_connection`],
//! [`Fault::truncated_body`], [`Fault::drop_after_bytes`], [`Fault::token_endpoint_server_error`],
//! [`Fault::token_endpoint_throttled`] and [`Fault::token_endpoint_html`]; then `.times(n)`,
//! `.matching(path_prefix)`, `.method(m)` and `.after(k)` (let `k` matching requests pass first). Faults apply to Graph requests (`/v1.0`) unless
//! matched otherwise; the token-endpoint kinds apply to every tenant's token endpoint.
//!
//! # Admin routes
//!
//! The same from outside, for the binary: `POST /_emulator/faults` with a fault as JSON (e.g.
//! `{"kind":"status","status":429,"retry_after":{"seconds":2},"times":2,"path":{"prefix":"/v1.0/users"}}`),
//! `GET`/`DELETE /_emulator/faults`, `GET /_emulator/counters`, `POST /_emulator/counters/reset`,
//! `POST /_emulator/reset`, `POST /_emulator/users` (`{"count": N}`), `GET /_emulator/apps` and
//! `POST /_emulator/apps` (an [`AppConfig`] as JSON).
//! They are neither counted nor faulted.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use msgraph_typed_emulator::{Emulator, Fault, RetryAfter, seeded};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let emu = Emulator::builder()
//!     .token_lifetime(Duration::from_secs(5))
//!     .start()
//!     .await?;
//!
//! // Two throttled answers for /v1.0/users, then normal service.
//! emu.control()
//!     .inject(Fault::status(429).retry_after(RetryAfter::Seconds(1)).times(2).matching("/v1.0/users"));
//!
//! // A client-credentials token, with any HTTP client.
//! let http = reqwest::Client::new();
//! let token: serde_json::Value = http
//!     .post(emu.token_endpoint())
//!     .form(&[
//!         ("grant_type", "client_credentials"),
//!         ("client_id", seeded::DAEMON_CLIENT_ID),
//!         ("client_secret", seeded::DAEMON_CLIENT_SECRET),
//!         ("scope", "https://graph.microsoft.com/.default"),
//!     ])
//!     .send()
//!     .await?
//!     .json()
//!     .await?;
//! assert_eq!(token["token_type"], "Bearer");
//! assert_eq!(emu.control().token_requests_for_grant("client_credentials"), 1);
//! # Ok(())
//! # }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

mod admin;
mod config;
mod control;
mod counters;
mod emulator;
mod error;
mod faults;
mod files;
mod graph;
mod identity;
mod managed_identity;
mod odata;
mod server;
mod state;
mod state_dir;
mod store;
mod throttle;
mod tls;

pub use config::{AppConfig, GroupConfig, TenantConfig, TokenConfig, UserConfig};
pub use control::{AppSummary, Control, UserSummary};
pub use counters::Counts;
pub use emulator::{Emulator, EmulatorBuilder};
pub use error::Error;
pub use faults::{Fault, FaultKind, PathMatch, RetryAfter};
pub use files::UploadSessionInfo;
pub use identity::{
    DEFAULT_SIGNED_IN_USER, FederatedCredential, InteractionRequirement, SubjectNameCredential,
    TOKEN_EXCHANGE_AUDIENCE, seeded,
};
pub use managed_identity::ManagedIdentity;
pub use throttle::ThrottlingConfig;

/// The tenant id of the seeded demo tenant.
pub const DEFAULT_TENANT: &str = "00000000-0000-0000-0000-000000000001";

/// This crate's README, compiled as doctests so its examples stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
