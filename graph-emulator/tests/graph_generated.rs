//! Generated directories through Graph: `EmulatorBuilder::users` with
//! `EmulatorBuilder::generated_groups` gives every generated user three teams nested in
//! divisions, the same on every start.

use std::time::Duration;

use msgraph_typed_emulator::{Emulator, seeded};
use serde_json::Value;

async fn get(http: &reqwest::Client, emu: &Emulator, token: &str, path: &str) -> Value {
    let r = http
        .get(format!("{}/{path}", emu.graph_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.unwrap()
}

fn ids(page: &Value) -> Vec<String> {
    page["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn generated_users_belong_to_nested_generated_groups_reproducibly() {
    let start = || Emulator::builder().users(300).generated_groups(40).start();
    let (a, b) = (start().await.unwrap(), start().await.unwrap());
    let http = reqwest::Client::new();
    let token = |emu: &Emulator| {
        emu.control()
            .issue_app_token(seeded::DAEMON_CLIENT_ID, Duration::from_secs(600))
            .unwrap()
    };
    let (ta, tb) = (token(&a), token(&b));

    let (users, total) = a.control().users(1000);
    assert_eq!(total, users.len());
    // Generated display names end in their number; seeded users keep their seeded groups.
    let generated: Vec<_> = users
        .iter()
        .filter(|u| {
            u.display_name
                .rsplit(' ')
                .next()
                .is_some_and(|n| n.parse::<u64>().is_ok())
        })
        .collect();
    assert_eq!(generated.len(), 300);
    for user in generated.iter().take(25) {
        let direct = get(&http, &a, &ta, &format!("users/{}/memberOf", user.id)).await;
        assert_eq!(ids(&direct).len(), 3, "{}", user.id);
        let path = format!("users/{}/transitiveMemberOf", user.id);
        let transitive = get(&http, &a, &ta, &path).await;
        let groups = ids(&transitive);
        assert!((4..=9).contains(&groups.len()), "{}: {groups:?}", user.id);
        for g in transitive["value"].as_array().unwrap() {
            assert_eq!(g["@odata.type"], "#microsoft.graph.group");
            assert_eq!(g["securityEnabled"], true);
        }
        // The other emulator has the same user in the same groups.
        assert_eq!(ids(&get(&http, &b, &tb, &path).await), groups);
    }
    let divisions = get(
        &http,
        &a,
        &ta,
        "groups?$filter=startswith(displayName,'Division ')&$top=999",
    )
    .await;
    assert_eq!(ids(&divisions).len(), 10);
}
