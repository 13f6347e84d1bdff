//! JSON `$batch`: limits, dependsOn with 424, per-item faults, the caller's token on every item, and
//! responses that must be matched by id.

mod graph_support;

use base64::Engine as _;
use graph_support::*;
use msgraph_typed_emulator::{Fault, RetryAfter};
use reqwest::Method;
use serde_json::{Value, json};

fn by_id<'a>(r: &'a Resp, id: &str) -> &'a Value {
    r.body["responses"]
        .as_array()
        .unwrap_or_else(|| panic!("no responses: {:#}", r.body))
        .iter()
        .find(|x| x["id"] == id)
        .unwrap_or_else(|| panic!("no response {id}: {:#}", r.body))
}

#[tokio::test]
async fn depends_on_orders_and_424_fails_dependants() {
    let env = env().await;
    let batch = json!({"requests": [
        {"id": "1", "method": "GET", "url": format!("/users/{ADELE}?$select=displayName")},
        {"id": "2", "method": "GET", "url": "/users/00000000-0000-0000-0000-00000000beef"},
        {"id": "3", "method": "GET", "url": "/groups", "dependsOn": ["2"]},
        {"id": "4", "method": "GET", "url": "/groups?$top=1", "dependsOn": ["1"]},
        {"id": "5", "method": "GET", "url": "/me", "dependsOn": ["3"]}
    ]});
    let r = env.post("$batch", &batch).await;
    assert_eq!(r.status, 200, "{:#}", r.body);
    assert_eq!(by_id(&r, "1")["status"], 200);
    assert_eq!(by_id(&r, "1")["body"]["displayName"], "Adele Vance");
    assert_eq!(by_id(&r, "2")["status"], 404);
    assert_eq!(
        by_id(&r, "2")["body"]["error"]["code"],
        "Request_ResourceNotFound"
    );
    assert_eq!(by_id(&r, "3")["status"], 424);
    assert_eq!(
        by_id(&r, "5")["status"],
        424,
        "a failed dependency fails the whole chain"
    );
    assert_eq!(by_id(&r, "4")["status"], 200);
    assert!(by_id(&r, "4")["body"]["@odata.nextLink"].is_string());
    assert!(
        by_id(&r, "4")["headers"]["Content-Type"]
            .as_str()
            .unwrap()
            .starts_with("application/json")
    );
    // Responses are not in request order: clients must match by id.
    let order: Vec<&str> = r.body["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap())
        .collect();
    assert_ne!(order, ["1", "2", "3", "4", "5"]);
    assert_eq!(order.len(), 5);
}

#[tokio::test]
async fn invalid_batches_are_rejected_whole() {
    let env = env().await;
    let many: Vec<Value> = (0..21)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/users"}))
        .collect();
    env.post("$batch", &json!({"requests": many}))
        .await
        .assert_error(400, "BadRequest");
    let twenty: Vec<Value> = (0..20)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/users?$top=1"}))
        .collect();
    let ok = env.post("$batch", &json!({"requests": twenty})).await;
    assert_eq!(ok.body["responses"].as_array().unwrap().len(), 20);
    for bad in [
        json!({"requests": [{"id": "a", "method": "GET", "url": "/me"}, {"id": "A", "method": "GET", "url": "/users"}]}),
        json!({"requests": [{"id": "a", "method": "GET", "url": "/users", "dependsOn": ["zz"]}]}),
        json!({"requests": [{"id": "a", "method": "GET", "url": "/v1.0/users"}]}),
        json!({"requests": [{"id": "a", "method": "PATCH", "url": "/users/x", "body": {"jobTitle": "x"}}]}),
        json!({"requests": "nope"}),
    ] {
        env.post("$batch", &bad)
            .await
            .assert_error(400, "BadRequest");
    }
}

#[tokio::test]
async fn items_use_the_batch_token_and_can_write() {
    let env = env().await;
    let batch = json!({"requests": [
        {"id": "me", "method": "GET", "url": "/me?$select=id"},
        {"id": "patch", "method": "PATCH", "url": "/me", "headers": {"Content-Type": "application/json"}, "body": {"jobTitle": "Batch Pilot"}},
        {"id": "read", "method": "GET", "url": "/me?$select=jobTitle", "dependsOn": ["patch"]},
        {"id": "count", "method": "GET", "url": "/users/$count", "headers": {"ConsistencyLevel": "eventual"}}
    ]});
    let r = env
        .send(Method::POST, "$batch", &env.user, &[], Some(&batch))
        .await;
    assert_eq!(by_id(&r, "me")["body"]["id"], ADELE);
    assert_eq!(by_id(&r, "patch")["status"], 204);
    assert_eq!(by_id(&r, "read")["body"]["jobTitle"], "Batch Pilot");
    let count = by_id(&r, "count");
    assert!(
        count["headers"]["Content-Type"]
            .as_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(count["body"].as_str().unwrap())
        .unwrap();
    assert_eq!(String::from_utf8(decoded).unwrap(), "12");
    // With an app-only token, the /me item alone is refused.
    let r = env.post("$batch", &json!({"requests": [{"id": "1", "method": "GET", "url": "/me"}, {"id": "2", "method": "GET", "url": "/users?$top=1"}]})).await;
    assert_eq!(by_id(&r, "1")["status"], 403);
    assert_eq!(by_id(&r, "2")["status"], 200);
}

#[tokio::test]
async fn injected_faults_apply_to_matching_items() {
    let env = env().await;
    env.emu.control().inject(
        Fault::status(429)
            .retry_after(RetryAfter::Seconds(3))
            .times(1)
            .matching(format!("/v1.0/users/{MEGAN}")),
    );
    let batch = json!({"requests": [
        {"id": "1", "method": "GET", "url": format!("/users/{ADELE}")},
        {"id": "2", "method": "GET", "url": format!("/users/{MEGAN}")},
        {"id": "3", "method": "GET", "url": format!("/users/{MEGAN}/memberOf"), "dependsOn": ["2"]}
    ]});
    let r = env.post("$batch", &batch).await;
    assert_eq!(r.status, 200);
    assert_eq!(by_id(&r, "1")["status"], 200);
    let throttled = by_id(&r, "2");
    assert_eq!(throttled["status"], 429);
    assert_eq!(throttled["headers"]["Retry-After"], "3");
    assert_eq!(throttled["body"]["error"]["code"], "TooManyRequests");
    assert_eq!(by_id(&r, "3")["status"], 424);
    // The fault was used once: retrying the failed items succeeds.
    let retry = env
        .post(
            "$batch",
            &json!({"requests": [{"id": "2", "method": "GET", "url": format!("/users/{MEGAN}")}]}),
        )
        .await;
    assert_eq!(by_id(&retry, "2")["status"], 200);
}

#[tokio::test]
async fn other_sdks_wire_habits_absolute_batch_urls_count_and_prefer() {
    let env = env().await;
    // Absolute item URLs (as some SDKs build them) fail the whole batch with Graph's message.
    for url in [
        "https://graph.microsoft.com/v1.0/me".to_owned(),
        format!("{}/users", env.emu.graph_url()),
    ] {
        let r = env
            .post(
                "$batch",
                &json!({"requests": [{"id": "1", "method": "GET", "url": url}]}),
            )
            .await;
        assert_eq!(
            r.assert_error(400, "BadRequest"),
            "Invalid batch payload format."
        );
    }
    // $count is text/plain.
    let count = env.get_eventual("users/$count").await;
    assert_eq!(count.status, 200);
    assert!(
        count
            .header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(count.body, json!(12));
    // Prefer headers (return=minimal, odata.maxpagesize, outlook.timezone) are ignored without error.
    for prefer in [
        "return=minimal",
        "odata.maxpagesize=5",
        "outlook.timezone=\"Pacific Standard Time\"",
        "IdType=\"ImmutableId\"",
    ] {
        let r = env
            .send(
                Method::GET,
                "users?$top=2",
                &env.app,
                &[("Prefer", prefer)],
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{prefer}: {:#}", r.body);
        assert_eq!(r.body["value"].as_array().unwrap().len(), 2);
    }
    let r = env
        .send(
            Method::PATCH,
            &format!("users/{ADELE}"),
            &env.app,
            &[("Prefer", "return=representation")],
            Some(&json!({"jobTitle": "Product Manager"})),
        )
        .await;
    assert_eq!(r.status, 204, "{:#}", r.body);
    // $count and $search need ConsistencyLevel: eventual.
    env.get("users/$count")
        .await
        .assert_error(400, "Request_BadRequest");
    env.get("users?$search=\"displayName:Adele\"")
        .await
        .assert_error(400, "Request_UnsupportedQuery");
}
