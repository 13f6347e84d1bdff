//! The structured cache key: everything that makes two tokens different.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::digest::{SHA256, digest};
use serde::{Deserialize, Serialize};

/// What a cache entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// An access token.
    AccessToken,
    /// A refresh token (delegated flows; rotated on every use).
    RefreshToken,
}

/// Identifies one token: authority, tenant, client id, sorted scopes, a hash of the claims
/// and a partition (the user or the hash of the user's assertion).
///
/// Requests with different scopes or claims never share a token; the raw assertion of an
/// on-behalf-of request is never part of the key, only its SHA-256.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CacheKey {
    kind: TokenKind,
    authority: String,
    tenant: String,
    client_id: String,
    scopes: Vec<String>,
    claims_hash: Option<String>,
    partition: Option<String>,
}

impl CacheKey {
    /// A key for an access token. Scopes are sorted and de-duplicated; claims are hashed.
    pub fn access_token(
        authority: &str,
        tenant: &str,
        client_id: &str,
        scopes: &[String],
        claims: Option<&str>,
        partition: Option<String>,
    ) -> Self {
        let mut scopes: Vec<String> = scopes.iter().map(|s| s.trim().to_string()).collect();
        scopes.sort();
        scopes.dedup();
        Self {
            kind: TokenKind::AccessToken,
            authority: authority.to_ascii_lowercase(),
            tenant: tenant.to_ascii_lowercase(),
            client_id: client_id.to_ascii_lowercase(),
            scopes,
            claims_hash: claims.filter(|c| !c.is_empty()).map(hash_secret),
            partition,
        }
    }

    /// A key for a refresh token: no scopes and no claims (a refresh token serves every scope).
    pub fn refresh_token(
        authority: &str,
        tenant: &str,
        client_id: &str,
        partition: Option<String>,
    ) -> Self {
        Self {
            kind: TokenKind::RefreshToken,
            authority: authority.to_ascii_lowercase(),
            tenant: tenant.to_ascii_lowercase(),
            client_id: client_id.to_ascii_lowercase(),
            scopes: Vec::new(),
            claims_hash: None,
            partition,
        }
    }

    /// What the entry holds.
    pub fn kind(&self) -> TokenKind {
        self.kind
    }

    /// The authority host (lower case), e.g. `login.microsoftonline.com`.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// The tenant (lower case).
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// The client id (lower case).
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The sorted scopes.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// base64url(SHA-256(claims)), when the token was requested with claims.
    pub fn claims_hash(&self) -> Option<&str> {
        self.claims_hash.as_deref()
    }

    /// The user partition: base64url(SHA-256(user assertion)) for on-behalf-of, an account for
    /// delegated flows, none for app tokens.
    pub fn partition(&self) -> Option<&str> {
        self.partition.as_deref()
    }

    /// The partition a distributed store should group entries by: the user
    /// partition when there is one, else `{client_id}_{tenant}_AppTokenCache`.
    pub fn partition_key(&self) -> String {
        match &self.partition {
            Some(partition) => partition.clone(),
            None => format!("{}_{}_AppTokenCache", self.client_id, self.tenant),
        }
    }

    /// One flat, lower-case string naming this entry, for key-value stores such as Redis.
    /// It holds no secret (the claims and assertions appear only as hashes).
    pub fn storage_key(&self) -> String {
        let kind = match self.kind {
            TokenKind::AccessToken => "accesstoken",
            TokenKind::RefreshToken => "refreshtoken",
        };
        format!(
            "{kind}|{}|{}|{}|{}|{}|{}",
            self.authority,
            self.tenant,
            self.client_id,
            self.scopes.join(" ").to_ascii_lowercase(),
            self.claims_hash.as_deref().unwrap_or("-"),
            self.partition.as_deref().unwrap_or("-"),
        )
    }
}

impl fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.storage_key())
    }
}

/// base64url(SHA-256(value)): how assertions and claims appear in keys and logs.
pub fn hash_secret(value: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, value.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_sorted_and_claims_hashed() {
        let a = CacheKey::access_token(
            "Login.Example",
            "T",
            "C",
            &["b".into(), "a".into(), "a".into()],
            None,
            None,
        );
        let b = CacheKey::access_token(
            "login.example",
            "t",
            "c",
            &["a".into(), "b".into()],
            None,
            None,
        );
        assert_eq!(a, b);
        let with_claims =
            CacheKey::access_token("l", "t", "c", &["a".into()], Some("{\"x\":1}"), None);
        let without = CacheKey::access_token("l", "t", "c", &["a".into()], None, None);
        assert_ne!(with_claims, without);
        assert!(!with_claims.storage_key().contains("\"x\""));
        assert_eq!(without.partition_key(), "c_t_AppTokenCache");
    }
}
