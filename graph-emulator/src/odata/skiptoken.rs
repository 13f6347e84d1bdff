//! Opaque page tokens: a small JSON state (position and a fingerprint of the query) encoded as base64url,
//! so clients must follow `@odata.nextLink` verbatim instead of building tokens.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::QueryError;

/// Encodes a token.
pub(crate) fn encode<T: Serialize>(state: &T) -> String {
    // Serialising a plain struct of strings and integers to JSON cannot fail; fall back to an empty token
    // (which decodes as invalid) rather than panic.
    let json = serde_json::to_vec(state).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// Decodes a token produced by [`encode`]; anything else is Graph's 400 for a bad page token.
pub(crate) fn decode<T: DeserializeOwned>(token: &str) -> Result<T, QueryError> {
    URL_SAFE_NO_PAD
        .decode(token.trim())
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(invalid)
}

/// The error for an unusable token.
pub(crate) fn invalid() -> QueryError {
    QueryError::bad_request(
        "Directory_ExpiredPageToken",
        "The specified page token value has expired and can no longer be included in your request.",
    )
}

/// FNV-1a: a stable fingerprint of the query a token belongs to (not a security measure).
pub(crate) fn fingerprint(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Pos {
        after: String,
        q: u64,
    }

    #[test]
    fn round_trips_and_rejects_garbage() {
        let p = Pos {
            after: "abc".into(),
            q: fingerprint("$top=5"),
        };
        let t = encode(&p);
        assert!(
            t.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(decode::<Pos>(&t).unwrap(), p);
        assert!(decode::<Pos>("not a token!").is_err());
        assert!(decode::<Pos>(&encode(&"just a string")).is_err());
        assert_ne!(fingerprint("a"), fingerprint("b"));
    }
}
