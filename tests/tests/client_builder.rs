//! `GraphClient::builder()`, the one entry point: the cloud set once (authority, Graph host and
//! default scope together), one HTTP configuration for Graph and token traffic over one
//! connection pool, and a credential configured for another cloud refused at build time.

use msgraph_typed::auth::{
    ClientAuthentication, ClientSecretCredential, CredentialOptions, OnBehalfOfCredential,
};
use msgraph_typed::{Cloud, GraphClient, HttpClient, UserAssertion};
use msgraph_typed_emulator::{Emulator, seeded};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn daemon(emu: &Emulator, options: CredentialOptions) -> ClientSecretCredential {
    ClientSecretCredential::with_options(
        emu.tenant_id(),
        seeded::DAEMON_CLIENT_ID,
        ClientAuthentication::secret(seeded::DAEMON_CLIENT_SECRET),
        options,
    )
    .unwrap()
}

#[tokio::test]
async fn the_cloud_is_set_once_for_the_authority_the_graph_host_and_the_scope() {
    let emu = Emulator::start().await.unwrap();
    // The credential knows nothing of the emulator; no scopes are given anywhere. The custom
    // cloud's scope is Microsoft Graph's, which the emulator issues tokens for.
    let client = GraphClient::builder()
        .credential(daemon(&emu, CredentialOptions::default()))
        .cloud(Cloud::custom(&emu.authority_url(), emu.url()).unwrap())
        .build()
        .unwrap();
    let page = client.users().list().top(2).send().await.unwrap();
    assert_eq!(page.items.len(), 2);
    let control = emu.control();
    assert_eq!(control.token_requests_for_grant("client_credentials"), 1);
    // The same for an on-behalf-of client and its per-user views.
    let obo = OnBehalfOfCredential::new(
        emu.tenant_id(),
        seeded::WEB_API_CLIENT_ID,
        ClientAuthentication::secret(seeded::WEB_API_CLIENT_SECRET),
    )
    .unwrap();
    let api = GraphClient::builder()
        .on_behalf_of(obo)
        .cloud(Cloud::custom(&emu.authority_url(), emu.url()).unwrap())
        .build()
        .unwrap();
    let incoming = control
        .issue_user_token(
            "AdeleV@contoso.com",
            seeded::WEB_API_APP_ID_URI,
            &["access_as_user"],
        )
        .unwrap();
    let me = api
        .on_behalf_of(UserAssertion::new(incoming))
        .me()
        .get()
        .send()
        .await;
    assert!(me.is_ok(), "{me:?}");
}

#[tokio::test]
async fn a_credential_of_another_cloud_is_refused_when_the_client_is_built() {
    let emu = Emulator::start().await.unwrap();
    let other = Cloud::custom("https://login.example.net/", "https://graph.example.net/").unwrap();
    let error = GraphClient::builder()
        .credential(daemon(&emu, CredentialOptions::default().with_cloud(other)))
        .cloud(Cloud::custom(&emu.authority_url(), emu.url()).unwrap())
        .build()
        .unwrap_err();
    assert!(error.is_auth(), "{error}");
    assert!(error.to_string().contains("set the cloud once"), "{error}");
    // A view of a client built without an on-behalf-of credential fails at send, typed.
    let client = GraphClient::builder()
        .cloud(Cloud::custom(&emu.authority_url(), emu.url()).unwrap())
        .build()
        .unwrap();
    let error = client
        .on_behalf_of(UserAssertion::new("incoming"))
        .me()
        .get()
        .send()
        .await
        .unwrap_err();
    assert!(
        error.is_auth() && error.to_string().contains("on_behalf_of"),
        "{error}"
    );
    assert_eq!(emu.control().graph_requests(), 0);
}

const MARKER: &str = "x-shared-http-config";

#[tokio::test]
async fn one_http_configuration_carries_graph_and_token_traffic() {
    let server = MockServer::start().await;
    // Both endpoints answer only requests made with the caller's configuration (its default
    // header); anything else gets wiremock's 404 and the test fails.
    Mock::given(method("POST"))
        .and(path("/tenant-a/oauth2/v2.0/token"))
        .and(header(MARKER, "yes"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "token_type": "Bearer", "expires_in": 3600, "access_token": "shared-token"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/organization"))
        .and(header(MARKER, "yes"))
        .and(header("authorization", "Bearer shared-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"value": []})))
        .expect(1)
        .mount(&server)
        .await;
    // The credential is given no HTTP client and no cloud: it takes the client's.
    let credential = ClientSecretCredential::new("tenant-a", "client-a", "secret-a").unwrap();
    let client = GraphClient::builder()
        .credential(credential)
        .cloud(Cloud::custom(&server.uri(), &server.uri()).unwrap())
        .http_config(|builder| {
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert(MARKER, reqwest::header::HeaderValue::from_static("yes"));
            builder.default_headers(headers)
        })
        .build()
        .unwrap();
    let answer = client
        .raw(msgraph_typed::Method::GET, "organization")
        .send()
        .await
        .unwrap();
    assert_eq!(answer["value"], serde_json::json!([]));
    // A credential with its own HTTP client keeps it (no marker: the token request 404s).
    let own = ClientSecretCredential::with_options(
        "tenant-a",
        "client-a",
        ClientAuthentication::secret("secret-a"),
        CredentialOptions::default().with_http_client(HttpClient::new().unwrap()),
    )
    .unwrap();
    let client = GraphClient::builder()
        .credential(own)
        .cloud(Cloud::custom(&server.uri(), &server.uri()).unwrap())
        .http_config(|builder| builder)
        .build()
        .unwrap();
    let error = client
        .raw(msgraph_typed::Method::GET, "organization")
        .send()
        .await
        .unwrap_err();
    assert!(error.is_auth(), "{error}");
}
