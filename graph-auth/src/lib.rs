//! OAuth 2.0 and Microsoft Entra ID credentials for the typed Microsoft Graph SDK.
//!
//! `graph-auth` speaks OAuth 2.0, not Graph: it turns an application's identity
//! (a client secret, a certificate, a federated assertion, a user's incoming token,
//! an authorization code, a refresh token) into access tokens, and keeps them fresh.
//! Every credential implements one object-safe async trait, [`TokenCredential`],
//! which `graph-core` asks for a token before every HTTP attempt.
//!
//! ```
//! use graph_auth::{AccessToken, StaticTokenCredential, TokenCredential, TokenRequest};
//! use std::time::{Duration, SystemTime};
//!
//! # async fn demo() -> Result<(), graph_auth::AuthError> {
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

mod cloud;
mod credential;
mod error;
mod token;

pub use cloud::{Cloud, CloudError, CustomCloud, is_loopback_host};
pub use credential::{StaticTokenCredential, TokenCredential, TokenRequest};
pub use error::AuthError;
pub use token::AccessToken;
