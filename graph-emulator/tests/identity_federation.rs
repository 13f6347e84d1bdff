//! Workload identity federation (external tokens as client assertions) and subject name + issuer
//! certificate credentials (an `x5c` chain instead of a registered thumbprint).

mod identity_support;

use std::time::Duration;

use base64::Engine as _;
use identity_support::{
    CLIENT_KEY_PEM, GRAPH_DEFAULT, OTHER_KEY_PEM, assert_entra_error, http, now, token,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use msgraph_typed_emulator::{
    AppConfig, Emulator, FederatedCredential, SubjectNameCredential, TOKEN_EXCHANGE_AUDIENCE,
};
use serde_json::json;

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const WORKLOAD_APP: &str = "abababab-0000-4000-8000-000000000001";
const SNI_APP: &str = "cdcdcdcd-0000-4000-8000-000000000001";
const ISSUER: &str = "https://oidc.k8s.example/cluster-1";
const SUBJECT: &str = "system:serviceaccount:payroll:sync";

async fn redeem(emu: &Emulator, client_id: &str, assertion: &str) -> (u16, serde_json::Value) {
    token(
        emu,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", assertion),
            ("scope", GRAPH_DEFAULT),
        ],
    )
    .await
}

async fn graph_status(emu: &Emulator, token: &str) -> u16 {
    http()
        .get(format!("{}/users?$top=1", emu.graph_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn sign(key_pem: &str, kid: Option<&str>, claims: serde_json::Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_rsa_pem(key_pem.as_bytes()).unwrap(),
    )
    .unwrap()
}

fn public_pem(private_pem: &str) -> String {
    use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};
    rsa::RsaPrivateKey::from_pkcs8_pem(private_pem)
        .unwrap()
        .to_public_key()
        .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
        .unwrap()
}

async fn workload_emulator() -> Emulator {
    let mut app = AppConfig::new(WORKLOAD_APP).roles(["User.Read.All"]);
    app.federated_credentials
        .push(FederatedCredential::new(ISSUER, SUBJECT));
    Emulator::builder().app(app).start().await.unwrap()
}

#[tokio::test]
async fn a_minted_service_account_token_is_a_client_assertion() {
    let emu = workload_emulator().await;
    let control = emu.control();
    control.create_external_issuer(ISSUER).unwrap();
    let external = control
        .mint_external_token(
            ISSUER,
            SUBJECT,
            TOKEN_EXCHANGE_AUDIENCE,
            Duration::from_secs(600),
        )
        .unwrap();
    let (status, body) = redeem(&emu, WORKLOAD_APP, &external).await;
    assert_eq!(status, 200, "{body}");
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(graph_status(&emu, access).await, 200);

    let wrong_subject = control
        .mint_external_token(
            ISSUER,
            "system:serviceaccount:other:app",
            TOKEN_EXCHANGE_AUDIENCE,
            Duration::from_secs(600),
        )
        .unwrap();
    let (status, body) = redeem(&emu, WORKLOAD_APP, &wrong_subject).await;
    assert_eq!(status, 401);
    assert_entra_error(&body, "invalid_client", 700213);

    let wrong_audience = control
        .mint_external_token(
            ISSUER,
            SUBJECT,
            "api://something-else",
            Duration::from_secs(600),
        )
        .unwrap();
    let (_, body) = redeem(&emu, WORKLOAD_APP, &wrong_audience).await;
    assert_entra_error(&body, "invalid_client", 700212);

    control
        .create_external_issuer("https://other.example")
        .unwrap();
    let other_issuer = control
        .mint_external_token(
            "https://other.example",
            SUBJECT,
            TOKEN_EXCHANGE_AUDIENCE,
            Duration::from_secs(600),
        )
        .unwrap();
    let (_, body) = redeem(&emu, WORKLOAD_APP, &other_issuer).await;
    assert_entra_error(&body, "invalid_client", 700211);

    // A second credential for the other issuer: now accepted.
    control
        .register_federated_credential(
            WORKLOAD_APP,
            FederatedCredential::new("https://other.example", SUBJECT),
        )
        .unwrap();
    let (status, body) = redeem(&emu, WORKLOAD_APP, &other_issuer).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        control
            .mint_external_token(
                "https://never.example",
                SUBJECT,
                TOKEN_EXCHANGE_AUDIENCE,
                Duration::from_secs(60)
            )
            .is_err()
    );
}

#[tokio::test]
async fn issuer_keys_from_pem_or_jwks_are_checked_with_exp() {
    let emu = workload_emulator().await;
    let control = emu.control();
    control
        .trust_external_issuer_key(ISSUER, &public_pem(CLIENT_KEY_PEM))
        .unwrap();
    let claims = |exp: u64| {
        json!({"iss": ISSUER, "sub": SUBJECT, "aud": TOKEN_EXCHANGE_AUDIENCE,
               "iat": now() - 10, "nbf": now() - 10, "exp": exp, "jti": uuid::Uuid::new_v4().to_string()})
    };
    let (status, body) = redeem(
        &emu,
        WORKLOAD_APP,
        &sign(CLIENT_KEY_PEM, None, claims(now() + 300)),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = redeem(
        &emu,
        WORKLOAD_APP,
        &sign(CLIENT_KEY_PEM, None, claims(now() - 120)),
    )
    .await;
    assert_entra_error(&body, "invalid_client", 700024);
    let (_, body) = redeem(
        &emu,
        WORKLOAD_APP,
        &sign(OTHER_KEY_PEM, None, claims(now() + 300)),
    )
    .await;
    assert_entra_error(&body, "invalid_client", 700027);

    // The other key, published as a JWKS document.
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::traits::PublicKeyParts;
    let other = rsa::RsaPrivateKey::from_pkcs8_pem(OTHER_KEY_PEM)
        .unwrap()
        .to_public_key();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let jwks = json!({"keys": [{"kty": "RSA", "kid": "k2", "use": "sig",
        "n": b64.encode(other.n().to_bytes_be()), "e": b64.encode(other.e().to_bytes_be())}]});
    control
        .trust_external_issuer_jwks(ISSUER, &jwks.to_string())
        .unwrap();
    let (status, body) = redeem(
        &emu,
        WORKLOAD_APP,
        &sign(OTHER_KEY_PEM, Some("k2"), claims(now() + 300)),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        control
            .trust_external_issuer_jwks(ISSUER, "{\"keys\": []}")
            .is_err()
    );
}

/// A CA (ECDSA) and an RSA leaf for `subject` it signs, with the leaf's private key PEM.
fn chain(subject: &str) -> (rcgen::Certificate, rcgen::KeyPair, rcgen::Certificate) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Contoso Test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key =
        rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(CLIENT_KEY_PEM, &rcgen::PKCS_RSA_SHA256)
            .unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, subject);
    let leaf = params.signed_by(&leaf_key, &ca, &ca_key).unwrap();
    (ca, ca_key, leaf)
}

fn x5c_assertion(emu: &Emulator, x5c: Vec<String>, x5t_s256: Option<String>) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.x5c = Some(x5c);
    header.x5t_s256 = x5t_s256;
    let claims = json!({"aud": emu.token_endpoint(), "iss": SNI_APP, "sub": SNI_APP,
        "jti": uuid::Uuid::new_v4().to_string(), "nbf": now() - 5, "exp": now() + 300});
    jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_rsa_pem(CLIENT_KEY_PEM.as_bytes()).unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn subject_name_and_issuer_accept_an_x5c_chain_without_a_thumbprint() {
    let (ca, ca_key, leaf) = chain("app.contoso.com");
    let mut app = AppConfig::new(SNI_APP).roles(["User.Read.All"]);
    app.subject_name_credentials
        .push(SubjectNameCredential::new("app.contoso.com", ca.pem()));
    let emu = Emulator::builder().app(app).start().await.unwrap();
    let std = base64::engine::general_purpose::STANDARD;
    let leaf_b64 = std.encode(leaf.der());
    let ca_b64 = std.encode(ca.der());

    let (status, body) = redeem(
        &emu,
        SNI_APP,
        &x5c_assertion(&emu, vec![leaf_b64.clone(), ca_b64.clone()], None),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        graph_status(&emu, body["access_token"].as_str().unwrap()).await,
        200
    );
    // Certificates wrapped at 64 columns, as MSAL Python copies them out of the PEM.
    let wrapped: String = leaf_b64
        .as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("\n");
    let (status, body) = redeem(
        &emu,
        SNI_APP,
        &x5c_assertion(&emu, vec![wrapped, ca_b64.clone()], None),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // The leaf alone (signed by the registered issuer), with an unregistered x5t#S256 as MSAL sends.
    let (status, body) = redeem(
        &emu,
        SNI_APP,
        &x5c_assertion(
            &emu,
            vec![leaf_b64.clone()],
            Some("bm90LXJlZ2lzdGVyZWQ".to_owned()),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // Another subject from the same CA, and the right subject from another CA: refused.
    let (_, _, intruder) = {
        let (other_ca, other_key, _) = chain("x");
        let leaf_key =
            rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(CLIENT_KEY_PEM, &rcgen::PKCS_RSA_SHA256)
                .unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "app.contoso.com");
        let forged = params.signed_by(&leaf_key, &other_ca, &other_key).unwrap();
        (other_ca, other_key, forged)
    };
    let (status, body) = redeem(
        &emu,
        SNI_APP,
        &x5c_assertion(&emu, vec![std.encode(intruder.der())], None),
    )
    .await;
    assert_eq!(status, 401, "{body}");
    assert_entra_error(&body, "invalid_client", 700027);

    let same_ca_other_subject = {
        let leaf_key =
            rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(CLIENT_KEY_PEM, &rcgen::PKCS_RSA_SHA256)
                .unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "other.contoso.com");
        params.signed_by(&leaf_key, &ca, &ca_key).unwrap()
    };
    let (_, body) = redeem(
        &emu,
        SNI_APP,
        &x5c_assertion(
            &emu,
            vec![std.encode(same_ca_other_subject.der()), ca_b64],
            None,
        ),
    )
    .await;
    assert_entra_error(&body, "invalid_client", 700027);
    // The subject may also be written as a distinguished name.
    let mut app = AppConfig::new(SNI_APP);
    app.subject_name_credentials
        .push(SubjectNameCredential::new("CN=app.contoso.com", ca.pem()));
    let emu2 = Emulator::builder().app(app).start().await.unwrap();
    let (status, body) = redeem(&emu2, SNI_APP, &x5c_assertion(&emu2, vec![leaf_b64], None)).await;
    assert_eq!(status, 200, "{body}");
    // Garbage in x5c.
    let (_, body) = redeem(
        &emu2,
        SNI_APP,
        &x5c_assertion(&emu2, vec!["not base64!".to_owned()], None),
    )
    .await;
    assert_entra_error(&body, "invalid_client", 700027);
    assert!(
        emu.control()
            .register_subject_name_credential(SNI_APP, &SubjectNameCredential::new("x", "not pem"))
            .is_err()
    );
}
