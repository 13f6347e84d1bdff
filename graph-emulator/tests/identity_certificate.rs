//! Client credentials with a certificate `client_assertion` (RFC 7523 / Entra certificate credentials).

mod identity_support;

use identity_support::{
    CLIENT_CERT_PEM, CLIENT_KEY_PEM, GRAPH_DEFAULT, OTHER_KEY_PEM, assert_entra_error, now, start,
    thumbprints, token,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use msgraph_typed_emulator::seeded;

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

struct Assertion {
    alg: Algorithm,
    use_sha256: bool,
    thumbprint_override: Option<String>,
    key_pem: &'static str,
    aud: String,
    iss: String,
    exp: u64,
    jti: Option<String>,
}

impl Assertion {
    fn valid(token_endpoint: &str) -> Self {
        Assertion {
            alg: Algorithm::PS256,
            use_sha256: true,
            thumbprint_override: None,
            key_pem: CLIENT_KEY_PEM,
            aud: token_endpoint.to_owned(),
            iss: seeded::DAEMON_CLIENT_ID.to_owned(),
            exp: now() + 600,
            jti: Some(uuid::Uuid::new_v4().to_string()),
        }
    }

    fn sign(&self) -> String {
        let (sha1, sha256) = thumbprints();
        let mut header = Header::new(self.alg);
        if self.use_sha256 {
            header.x5t_s256 = Some(self.thumbprint_override.clone().unwrap_or(sha256));
        } else {
            header.x5t = Some(self.thumbprint_override.clone().unwrap_or(sha1));
        }
        let mut claims = serde_json::json!({
            "aud": self.aud, "iss": self.iss, "sub": self.iss,
            "nbf": now() - 5, "iat": now() - 5, "exp": self.exp,
        });
        if let Some(jti) = &self.jti {
            claims["jti"] = jti.clone().into();
        }
        let key = EncodingKey::from_rsa_pem(self.key_pem.as_bytes()).unwrap();
        jsonwebtoken::encode(&header, &claims, &key).unwrap()
    }
}

async fn redeem(
    emu: &msgraph_typed_emulator::Emulator,
    assertion: &str,
) -> (u16, serde_json::Value) {
    token(
        emu,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", seeded::DAEMON_CLIENT_ID),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", assertion),
            ("scope", GRAPH_DEFAULT),
        ],
    )
    .await
}

#[tokio::test]
async fn ps256_with_x5t_s256_and_rs256_with_x5t_are_accepted() {
    let emu = start().await;
    emu.control()
        .register_certificate(seeded::DAEMON_CLIENT_ID, CLIENT_CERT_PEM)
        .unwrap();
    let endpoint = emu.token_endpoint();

    let (status, body) = redeem(&emu, &Assertion::valid(&endpoint).sign()).await;
    assert_eq!(status, 200, "{body}");
    let claims = identity_support::verify_with_jwks(
        &emu,
        body["access_token"].as_str().unwrap(),
        "https://graph.microsoft.com",
    )
    .await;
    assert_eq!(claims["appid"], seeded::DAEMON_CLIENT_ID);
    assert_eq!(claims["azpacr"], "1", "the daemon app also has a secret");

    let legacy = Assertion {
        alg: Algorithm::RS256,
        use_sha256: false,
        ..Assertion::valid(&endpoint)
    };
    let (status, body) = redeem(&emu, &legacy.sign()).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn assertion_failures_are_invalid_client() {
    let emu = start().await;
    let endpoint = emu.token_endpoint();

    // Not registered yet: the thumbprint is unknown.
    let (status, body) = redeem(&emu, &Assertion::valid(&endpoint).sign()).await;
    assert_eq!(status, 401);
    assert_entra_error(&body, "invalid_client", 700027);

    emu.control()
        .register_certificate(seeded::DAEMON_CLIENT_ID, CLIENT_CERT_PEM)
        .unwrap();
    let cases = [
        (
            Assertion {
                key_pem: OTHER_KEY_PEM,
                ..Assertion::valid(&endpoint)
            },
            700027,
            "signed by another key",
        ),
        (
            Assertion {
                thumbprint_override: Some("AAAA".into()),
                ..Assertion::valid(&endpoint)
            },
            700027,
            "wrong thumbprint",
        ),
        (
            Assertion {
                aud: "https://login.microsoftonline.com/x/oauth2/v2.0/token".into(),
                ..Assertion::valid(&endpoint)
            },
            700212,
            "wrong audience",
        ),
        (
            Assertion {
                exp: now() - 120,
                ..Assertion::valid(&endpoint)
            },
            700024,
            "expired",
        ),
        (
            Assertion {
                iss: seeded::WEB_API_CLIENT_ID.into(),
                ..Assertion::valid(&endpoint)
            },
            700021,
            "iss is another app",
        ),
        (
            Assertion {
                jti: None,
                ..Assertion::valid(&endpoint)
            },
            50027,
            "no jti",
        ),
        (
            Assertion {
                alg: Algorithm::RS384,
                ..Assertion::valid(&endpoint)
            },
            5002738,
            "unsupported alg",
        ),
    ];
    for (assertion, code, what) in cases {
        let (status, body) = redeem(&emu, &assertion.sign()).await;
        assert_eq!(status, 401, "{what}: {body}");
        assert_entra_error(&body, "invalid_client", code);
    }
}

#[tokio::test]
async fn registering_garbage_is_an_error() {
    let emu = start().await;
    assert!(
        emu.control()
            .register_certificate(seeded::DAEMON_CLIENT_ID, "not a pem")
            .is_err()
    );
    assert!(
        emu.control()
            .register_certificate(seeded::DAEMON_CLIENT_ID, CLIENT_KEY_PEM)
            .is_err()
    );
    assert!(
        emu.control()
            .register_certificate("no-such-app", CLIENT_CERT_PEM)
            .is_err()
    );
}

/// An assertion for the seeded certificate app with an exact thumbprint header value.
fn seeded_app_assertion(endpoint: &str, header_name: &str, value: &str, alg: Algorithm) -> String {
    let mut header = Header::new(alg);
    match header_name {
        "x5t" => header.x5t = Some(value.to_owned()),
        _ => header.x5t_s256 = Some(value.to_owned()),
    }
    let claims = serde_json::json!({
        "aud": endpoint, "iss": seeded::CERTIFICATE_APP_CLIENT_ID,
        "sub": seeded::CERTIFICATE_APP_CLIENT_ID, "jti": uuid::Uuid::new_v4().to_string(),
        "nbf": now() - 5, "iat": now() - 5, "exp": now() + 600,
    });
    let key =
        EncodingKey::from_rsa_pem(seeded::CERTIFICATE_APP_PRIVATE_KEY_PEM.as_bytes()).unwrap();
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

#[tokio::test]
async fn thumbprints_are_accepted_with_or_without_padding() {
    use base64::Engine;
    use sha1::Digest as _;
    let emu = start().await;
    let endpoint = emu.token_endpoint();
    let der = pem::parse(seeded::CERTIFICATE_APP_CERTIFICATE_PEM)
        .unwrap()
        .into_contents();
    let padded = base64::engine::general_purpose::URL_SAFE;
    let unpadded = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let sha1 = sha1::Sha1::digest(&der);
    let sha256 = sha2::Sha256::digest(&der);
    assert!(padded.encode(sha1).ends_with('='));
    for (name, value, alg) in [
        ("x5t", padded.encode(sha1), Algorithm::RS256),
        ("x5t", unpadded.encode(sha1), Algorithm::RS256),
        ("x5t#S256", padded.encode(sha256), Algorithm::PS256),
        ("x5t#S256", unpadded.encode(sha256), Algorithm::PS256),
    ] {
        let assertion = seeded_app_assertion(&endpoint, name, &value, alg);
        let (status, body) = token(
            &emu,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", seeded::CERTIFICATE_APP_CLIENT_ID),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", &assertion),
                ("scope", GRAPH_DEFAULT),
            ],
        )
        .await;
        assert_eq!(status, 200, "{name}={value}: {body}");
    }
    // A wrong thumbprint, padded or not, is still refused.
    for value in [padded.encode([7u8; 20]), unpadded.encode([7u8; 20])] {
        let assertion = seeded_app_assertion(&endpoint, "x5t", &value, Algorithm::RS256);
        let (status, body) = token(
            &emu,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", seeded::CERTIFICATE_APP_CLIENT_ID),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", &assertion),
                ("scope", GRAPH_DEFAULT),
            ],
        )
        .await;
        assert_eq!(status, 401, "{body}");
        assert_entra_error(&body, "invalid_client", 700027);
    }
}
