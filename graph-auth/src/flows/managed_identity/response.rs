//! Managed identity answers in each source's shape: tokens with `expires_on` and/or
//! `expires_in` (numbers or strings of digits), and the sources' error bodies.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use super::ManagedIdentitySource;
use crate::endpoint::{TokenResponse, parse_retry_after};
use crate::{AccessToken, AuthError};

/// A token answer: the token and when it expires, as the source said it.
pub(crate) struct Answer {
    access_token: SecretString,
    /// Epoch seconds (`expires_on`).
    expires_on: Option<u64>,
    /// Seconds from now (`expires_in`).
    expires_in: Option<u64>,
}

impl Answer {
    /// The token, its expiry from `expires_on` when sent (App Service sends only that), else
    /// `expires_in`; refreshed ahead of expiry as every credential's token.
    pub(crate) fn access_token(
        &self,
        now: SystemTime,
        source: ManagedIdentitySource,
    ) -> Result<AccessToken, AuthError> {
        let expires_in = match (self.expires_on, self.expires_in) {
            (Some(on), _) => {
                let at = UNIX_EPOCH + Duration::from_secs(on);
                at.duration_since(now).unwrap_or(Duration::ZERO)
            }
            (None, Some(secs)) => Duration::from_secs(secs),
            (None, None) => {
                return Err(AuthError::InvalidResponse {
                    status: 200,
                    detail: format!(
                        "the managed identity ({source}) answer has neither a valid expires_on \
                         nor expires_in"
                    ),
                    retry_after: None,
                });
            }
        };
        let response = TokenResponse {
            access_token: SecretString::from(self.access_token.expose_secret().to_string()),
            expires_in,
            refresh_in: None,
            refresh_token: None,
            refresh_token_expires_in: None,
            id_token: None,
        };
        Ok(response.access_token(now))
    }
}

/// Seconds as a JSON number or a string of digits.
fn seconds(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A 2xx answer's token, or the typed error of any other answer.
pub(crate) fn parse(
    source: ManagedIdentitySource,
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Answer, AuthError> {
    let parsed: Option<Map<String, Value>> = serde_json::from_slice(body).ok();
    if (200..300).contains(&status) {
        let invalid = |detail: String| AuthError::InvalidResponse {
            status,
            detail,
            retry_after: None,
        };
        let map = parsed.ok_or_else(|| {
            invalid(format!(
                "the managed identity ({source}) answer is a {}-byte body that is not a JSON object",
                body.len()
            ))
        })?;
        let access_token = map
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                invalid(format!(
                    "the managed identity ({source}) answer has no access_token"
                ))
            })?;
        return Ok(Answer {
            access_token: SecretString::from(access_token.to_string()),
            expires_on: seconds(map.get("expires_on")),
            expires_in: seconds(map.get("expires_in")),
        });
    }
    let message = parsed.as_ref().and_then(error_message).unwrap_or_else(|| {
        if body.is_empty() {
            "an empty body".to_string()
        } else {
            format!("a {}-byte body that is not a JSON error", body.len())
        }
    });
    Err(AuthError::ManagedIdentity {
        source,
        status,
        message,
        retry_after: parse_retry_after(headers),
    })
}

/// What an error body says: IMDS's `error_description` / `error`, App Service's `message`,
/// or an OData-style `error.message`. At most 1,000 characters.
fn error_message(map: &Map<String, Value>) -> Option<String> {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let found = text(map.get("error_description"))
        .or_else(|| text(map.get("message")))
        .or_else(|| text(map.get("Message")))
        .or_else(|| match map.get("error") {
            Some(Value::Object(inner)) => text(inner.get("message")),
            other => text(other),
        })?;
    Some(found.chars().take(1000).collect())
}
