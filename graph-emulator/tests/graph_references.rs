//! Reference writes as typed SDKs send them: `owners` (listing, casts, `$count`, `$ref` add and
//! remove, `ownedObjects`), `members/$ref` and `manager/$ref` with `@odata.id` URLs on any host
//! and of any entity set, and Graph's errors for duplicates, unknown objects and bad references.

mod graph_support;

use graph_support::*;
use reqwest::Method;
use serde_json::{Value, json};

const ADMIN: &str = "4562bcc8-c436-4f95-b7c0-4f8ce89dca5e";
const GOLF_ASSIST: &str = "45b7d2e7-b882-4a80-ba97-10b7a63b8fa4";
const DUPLICATE_MEMBERS: &str = "One or more added object references already exist for the following modified properties: 'members'.";

fn ids(r: &Resp) -> Vec<String> {
    assert_eq!(r.status, 200, "{:#}", r.body);
    r.body["value"]
        .as_array()
        .expect("value")
        .iter()
        .map(|v| v["id"].as_str().expect("id").to_owned())
        .collect()
}

fn reference(base: &str, set: &str, id: &str) -> Value {
    json!({"@odata.id": format!("{base}/{set}/{id}")})
}

#[tokio::test]
async fn seeded_owners_are_listed_with_casts_and_count() {
    let env = env().await;
    let r = env.get(&format!("groups/{GOLF_ASSIST}/owners")).await;
    assert_eq!(ids(&r), [ADMIN, ADELE]);
    assert_eq!(r.body["value"][0]["@odata.type"], "#microsoft.graph.user");
    assert!(
        r.body["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#directoryObjects")
    );
    let cast = env
        .get(&format!(
            "groups/{GOLF_ASSIST}/owners/microsoft.graph.user?$select=displayName"
        ))
        .await;
    assert_eq!(cast.body["value"][1]["displayName"], "Adele Vance");
    assert!(
        cast.body["@odata.context"]
            .as_str()
            .unwrap()
            .contains("#users(displayName)")
    );
    let count = env
        .get_eventual(&format!("groups/{GOLF_ASSIST}/owners/$count"))
        .await;
    assert_eq!(count.status, 200);
    assert_eq!(count.body, json!(2));
    let sp = env
        .get_eventual(&format!(
            "groups/{GOLF_ASSIST}/owners/microsoft.graph.servicePrincipal/$count"
        ))
        .await;
    assert_eq!(sp.body, json!(0));
    env.get("groups/00000000-0000-0000-0000-00000000dead/owners")
        .await
        .assert_error(404, "Request_ResourceNotFound");
}

#[tokio::test]
async fn owners_ref_adds_and_removes_with_graph_answers() {
    let env = env().await;
    let own = env.emu.graph_url();
    for (base, set, user) in [
        (own.as_str(), "directoryObjects", GRADY),
        ("https://graph.microsoft.com/v1.0", "users", MEGAN),
        ("http://localhost:1/v1.0", "directoryObjects", JOSEPH),
    ] {
        let r = env
            .post(
                &format!("groups/{FINANCE}/owners/$ref"),
                &reference(base, set, user),
            )
            .await;
        assert_eq!(r.status, 204, "{set} {user}: {:#}", r.body);
        assert!(r.body.is_null());
    }
    let owners = ids(&env.get(&format!("groups/{FINANCE}/owners")).await);
    for id in [GRADY, MEGAN, JOSEPH, SARA] {
        assert!(
            owners.contains(&id.to_owned()),
            "{id} missing in {owners:?}"
        );
    }
    let dup = env
        .post(
            &format!("groups/{FINANCE}/owners/$ref"),
            &reference(&own, "users", GRADY),
        )
        .await;
    let message = dup.assert_error(400, "Request_BadRequest");
    assert_eq!(
        message,
        "One or more added object references already exist for the following modified properties: 'owners'."
    );
    let owned = ids(&env.get(&format!("users/{GRADY}/ownedObjects")).await);
    assert_eq!(owned, [FINANCE]);
    let cast = env
        .get(&format!("users/{GRADY}/ownedObjects/microsoft.graph.group"))
        .await;
    assert_eq!(ids(&cast), [FINANCE]);

    let r = env
        .delete(&format!("groups/{FINANCE}/owners/{GRADY}/$ref"))
        .await;
    assert_eq!(r.status, 204, "{:#}", r.body);
    assert!(!ids(&env.get(&format!("groups/{FINANCE}/owners")).await).contains(&GRADY.to_owned()));
    assert!(ids(&env.get(&format!("users/{GRADY}/ownedObjects")).await).is_empty());
    env.delete(&format!("groups/{FINANCE}/owners/{GRADY}/$ref"))
        .await
        .assert_error(404, "Request_ResourceNotFound");
}

#[tokio::test]
async fn seeded_owner_duplicate_and_unknown_objects() {
    let env = env().await;
    // Sara Davis is a seeded owner of Finance.
    let dup = env
        .post(
            &format!("groups/{FINANCE}/owners/$ref"),
            &reference("https://graph.microsoft.com/v1.0", "directoryObjects", SARA),
        )
        .await;
    dup.assert_error(400, "Request_BadRequest");
    env.post(
        &format!("groups/{FINANCE}/owners/$ref"),
        &reference(
            "https://graph.microsoft.com/v1.0",
            "directoryObjects",
            "00000000-0000-0000-0000-00000000dead",
        ),
    )
    .await
    .assert_error(404, "Request_ResourceNotFound");
    env.post(
        "groups/00000000-0000-0000-0000-00000000dead/owners/$ref",
        &reference("https://graph.microsoft.com/v1.0", "users", SARA),
    )
    .await
    .assert_error(404, "Request_ResourceNotFound");
    // A user reference that names a group id is not that user.
    env.post(
        &format!("groups/{FINANCE}/owners/$ref"),
        &reference("https://graph.microsoft.com/v1.0", "users", TIER),
    )
    .await
    .assert_error(404, "Request_ResourceNotFound");
}

#[tokio::test]
async fn members_ref_accepts_any_base_url_and_entity_set() {
    let env = env().await;
    let own = env.emu.graph_url();
    let r = env
        .post(
            &format!("groups/{GOLF_DISCUSSION}/members/$ref"),
            &reference(&own, "users", ADELE),
        )
        .await;
    assert_eq!(r.status, 204, "{:#}", r.body);
    let r = env
        .post(
            &format!("groups/{GOLF_DISCUSSION}/members/$ref"),
            &reference("https://graph.microsoft.com/v1.0", "groups", TIER),
        )
        .await;
    assert_eq!(r.status, 204, "{:#}", r.body);
    let r = env
        .post(
            &format!("groups/{GOLF_DISCUSSION}/members/$ref"),
            &reference("https://127.0.0.1:9/v1.0", "directoryObjects", MEGAN),
        )
        .await;
    assert_eq!(r.status, 204, "{:#}", r.body);
    let members = ids(&env.get(&format!("groups/{GOLF_DISCUSSION}/members")).await);
    for id in [ADELE, TIER, MEGAN] {
        assert!(
            members.contains(&id.to_owned()),
            "{id} missing in {members:?}"
        );
    }
    let dup = env
        .post(
            &format!("groups/{GOLF_DISCUSSION}/members/$ref"),
            &reference(
                "https://graph.microsoft.com/v1.0",
                "directoryObjects",
                ADELE,
            ),
        )
        .await;
    assert_eq!(
        dup.assert_error(400, "Request_BadRequest"),
        DUPLICATE_MEMBERS
    );
}

#[tokio::test]
async fn reference_bodies_are_validated() {
    let env = env().await;
    let path = format!("groups/{GOLF_DISCUSSION}/members/$ref");
    for body in [
        json!({}),
        json!({"@odata.id": 42}),
        json!({"@odata.id": "not a url"}),
        json!({"@odata.id": "https://graph.microsoft.com/v1.0/"}),
        json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/things/{ADELE}")}),
    ] {
        env.post(&path, &body)
            .await
            .assert_error(400, "Request_BadRequest");
    }
    env.post(
        &path,
        &reference(
            "https://graph.microsoft.com/v1.0",
            "users",
            "00000000-0000-0000-0000-00000000dead",
        ),
    )
    .await
    .assert_error(404, "Request_ResourceNotFound");
    env.delete(&format!("groups/{GOLF_DISCUSSION}/members/{ADELE}/$ref"))
        .await
        .assert_error(404, "Request_ResourceNotFound");
}

#[tokio::test]
async fn manager_ref_accepts_directory_object_urls_on_any_host() {
    let env = env().await;
    for (base, set) in [
        (env.emu.graph_url(), "directoryObjects"),
        ("https://graph.microsoft.com/v1.0".to_owned(), "users"),
    ] {
        let r = env
            .send(
                Method::PUT,
                &format!("users/{JOSEPH}/manager/$ref"),
                &env.app,
                &[],
                Some(&reference(&base, set, MEGAN)),
            )
            .await;
        assert_eq!(r.status, 204, "{:#}", r.body);
        assert_eq!(
            env.get(&format!("users/{JOSEPH}/manager")).await.body["id"],
            MEGAN
        );
    }
    env.send(
        Method::PUT,
        &format!("users/{JOSEPH}/manager/$ref"),
        &env.app,
        &[],
        Some(&reference(
            "https://graph.microsoft.com/v1.0",
            "directoryObjects",
            "00000000-0000-0000-0000-00000000dead",
        )),
    )
    .await
    .assert_error(404, "Request_ResourceNotFound");
    env.send(
        Method::PUT,
        &format!("users/{JOSEPH}/manager/$ref"),
        &env.app,
        &[],
        Some(&json!({"@odata.id": ""})),
    )
    .await
    .assert_error(400, "Request_BadRequest");
}

#[tokio::test]
async fn group_create_binds_owners() {
    let env = env().await;
    let r = env
        .post(
            "groups",
            &json!({
                "displayName": "Owned", "mailEnabled": false, "mailNickname": "owned",
                "securityEnabled": true,
                "owners@odata.bind": [format!("https://graph.microsoft.com/v1.0/users/{MEGAN}")]
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{:#}", r.body);
    let gid = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        ids(&env.get(&format!("groups/{gid}/owners")).await),
        [MEGAN]
    );
    // Deleting the group removes it from its owner's ownedObjects.
    assert_eq!(env.delete(&format!("groups/{gid}")).await.status, 204);
    assert!(!ids(&env.get(&format!("users/{MEGAN}/ownedObjects")).await).contains(&gid));
}
