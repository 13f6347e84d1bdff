//! Helpers shared by the identity and fault tests: start an emulator, call the token endpoint,
//! verify tokens against the JWKS.

#![allow(dead_code)]

use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use msgraph_typed_emulator::{Emulator, seeded};
use serde_json::Value;

pub const GRAPH_DEFAULT: &str = "https://graph.microsoft.com/.default";

pub async fn start() -> Emulator {
    Emulator::start().await.expect("emulator starts")
}

/// A client that does not follow redirects (for `/authorize`).
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// POSTs a form to the seeded tenant's token endpoint; returns status and JSON body.
pub async fn token(emu: &Emulator, form: &[(&str, &str)]) -> (u16, Value) {
    let response = http()
        .post(emu.token_endpoint())
        .form(form)
        .send()
        .await
        .expect("token request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

pub async fn client_credentials(emu: &Emulator) -> String {
    let (status, body) = token(
        emu,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", seeded::DAEMON_CLIENT_ID),
            ("client_secret", seeded::DAEMON_CLIENT_SECRET),
            ("scope", GRAPH_DEFAULT),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

/// Checks the Entra error shape and returns the first error code.
pub fn assert_entra_error(body: &Value, error: &str, code: u64) {
    assert_eq!(body["error"], error, "{body}");
    let description = body["error_description"]
        .as_str()
        .expect("error_description");
    assert!(
        description.starts_with(&format!("AADSTS{code}: ")),
        "{description}"
    );
    assert_eq!(body["error_codes"][0], code, "{body}");
    for field in ["timestamp", "trace_id", "correlation_id"] {
        assert!(body[field].is_string(), "missing {field}: {body}");
    }
}

/// Verifies a token with the emulator's JWKS (signature, exp, aud) and returns its claims.
pub async fn verify_with_jwks(emu: &Emulator, token: &str, audience: &str) -> Value {
    let jwks: JwkSet = http()
        .get(format!(
            "{}/{}/discovery/v2.0/keys",
            emu.url(),
            emu.tenant_id()
        ))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("jwks json");
    let header = jsonwebtoken::decode_header(token).expect("header");
    let kid = header.kid.expect("kid");
    let jwk = jwks.find(&kid).expect("key in JWKS");
    let key = DecodingKey::from_jwk(jwk).expect("decoding key");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[format!("{}/{}/v2.0", emu.url(), emu.tenant_id())]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("token verifies with the JWKS")
        .claims
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    use base64::Engine;
    use sha2::Digest;
    let verifier = format!(
        "verifier-{}-0123456789abcdefghijklmnopqrstuvwxyz",
        uuid::Uuid::new_v4()
    );
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

pub const CLIENT_CERT_PEM: &str = include_str!("test_client_cert.pem");
pub const CLIENT_KEY_PEM: &str = include_str!("test_client_key.pem");
pub const OTHER_KEY_PEM: &str = include_str!("test_other_key.pem");

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Base64url SHA-1 and SHA-256 thumbprints of the test certificate.
pub fn thumbprints() -> (String, String) {
    use base64::Engine;
    use sha1::Digest as _;
    let der = pem::parse(CLIENT_CERT_PEM).unwrap().into_contents();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    (
        b64.encode(sha1::Sha1::digest(&der)),
        b64.encode(sha2::Sha256::digest(&der)),
    )
}
