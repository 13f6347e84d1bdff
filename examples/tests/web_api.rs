//! The web API example end to end against the emulator: the right groups for two users, the
//! step-up path, and one on-behalf-of token request per user however many concurrent requests.

#[allow(dead_code)]
#[path = "../web_api.rs"]
mod web_api;

use std::collections::BTreeSet;

use msgraph_typed::auth::{ClientAuthentication, OnBehalfOfCredential};
use msgraph_typed::{Cloud, GraphClient};
use msgraph_typed_emulator::{Emulator, InteractionRequirement, seeded};

const OBO_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The emulator, and the web API serving on a free loopback port.
async fn start() -> (Emulator, String) {
    let emulator = Emulator::start().await.unwrap();
    let obo = OnBehalfOfCredential::new(
        emulator.tenant_id(),
        seeded::WEB_API_CLIENT_ID,
        ClientAuthentication::secret(seeded::WEB_API_CLIENT_SECRET),
    )
    .unwrap();
    let graph = GraphClient::builder()
        .on_behalf_of(obo)
        .cloud(Cloud::custom(&emulator.authority_url(), emulator.url()).unwrap())
        .build()
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/me/groups", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, web_api::app(graph)).await });
    (emulator, url)
}

fn caller_token(emulator: &Emulator, user: &str) -> String {
    emulator
        .control()
        .issue_user_token(user, seeded::WEB_API_APP_ID_URI, &["access_as_user"])
        .unwrap()
}

/// The ids Graph itself lists for the user at `path` (asked directly with a Graph token for
/// the user, without the web API): the independent expectation.
async fn ids_from_graph(emulator: &Emulator, user: &str, path: &str) -> BTreeSet<String> {
    let token = emulator
        .control()
        .issue_user_token(
            user,
            "https://graph.microsoft.com",
            &["GroupMember.Read.All"],
        )
        .unwrap();
    let page: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/{path}?$top=999", emulator.graph_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    page["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_string())
        .collect()
}

fn ids(answer: &serde_json::Value, list: &str) -> BTreeSet<String> {
    answer[list]
        .as_array()
        .unwrap_or_else(|| panic!("{list} in {answer}"))
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn answers_each_users_groups() {
    let (emulator, url) = start().await;
    let http = reqwest::Client::new();
    for user in ["AdeleV@contoso.com", "MeganB@contoso.com"] {
        let response = http
            .get(&url)
            .bearer_auth(caller_token(&emulator, user))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{user}");
        let answer: serde_json::Value = response.json().await.unwrap();
        assert_eq!(
            ids(&answer, "memberOf"),
            ids_from_graph(&emulator, user, "me/memberOf").await,
            "{user}"
        );
        assert_eq!(
            ids(&answer, "transitiveMemberOf"),
            ids_from_graph(&emulator, user, "me/transitiveMemberOf").await,
            "{user}"
        );
        assert!(
            answer["memberOf"]
                .as_array()
                .unwrap()
                .iter()
                .any(|g| g["displayName"] == "All Users"
                    && g["odataType"] == "#microsoft.graph.group"),
            "{answer}"
        );
    }
    // The two users differ: Adele is in more groups than Megan.
    assert_ne!(
        ids_from_graph(&emulator, "AdeleV@contoso.com", "me/memberOf").await,
        ids_from_graph(&emulator, "MeganB@contoso.com", "me/memberOf").await
    );
}

#[tokio::test]
async fn a_user_who_must_step_up_gets_401_with_the_claims() {
    let (emulator, url) = start().await;
    let http = reqwest::Client::new();
    let user = "MeganB@contoso.com";
    emulator
        .control()
        .require_interaction(user, InteractionRequirement::Mfa)
        .unwrap();
    let response = http
        .get(&url)
        .bearer_auth(caller_token(&emulator, user))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        challenge.starts_with("Bearer ") && challenge.contains("claims=\""),
        "{challenge}"
    );
    // Once the user has stepped up (here: the requirement lifted), the same call works.
    emulator.control().clear_interaction(user);
    let response = http
        .get(&url)
        .bearer_auth(caller_token(&emulator, user))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // No token: 401 with a Bearer challenge, and nothing sent to the token endpoint for it.
    let before = emulator.control().token_requests();
    let response = http.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_eq!(emulator.control().token_requests(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_of_m_users_make_m_token_requests() {
    let (emulator, url) = start().await;
    let users = [
        "AdeleV@contoso.com",
        "MeganB@contoso.com",
        "GradyA@contoso.com",
        "PrestonM@contoso.com",
    ];
    let tokens: Vec<String> = users.iter().map(|u| caller_token(&emulator, u)).collect();
    let http = reqwest::Client::new();
    // 10 concurrent requests per user, 40 in all, all at once.
    let requests = (0..40).map(|i| {
        let (http, url, token) = (http.clone(), url.clone(), tokens[i % users.len()].clone());
        tokio::spawn(async move {
            http.get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        })
    });
    for status in futures_join(requests).await {
        assert_eq!(status, 200);
    }
    assert_eq!(
        emulator.control().token_requests_for_grant(OBO_GRANT),
        users.len() as u64,
        "one on-behalf-of token request per user"
    );
}

async fn futures_join<T>(tasks: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}
