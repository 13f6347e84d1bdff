//! State changes across requests: users and groups are created, patched and deleted for real;
//! memberships change memberOf, transitiveMemberOf, getMemberGroups and the next delta round.

mod graph_support;

use graph_support::*;
use reqwest::Method;
use serde_json::{Value, json};

fn new_user(upn: &str) -> Value {
    json!({
        "accountEnabled": true,
        "displayName": "Test User",
        "mailNickname": "testuser",
        "userPrincipalName": upn,
        "passwordProfile": {"forceChangePasswordNextSignIn": true, "password": "xWwvJ]6NMw+bWH-d"}
    })
}

fn ids(r: &Resp) -> Vec<String> {
    r.body["value"]
        .as_array()
        .unwrap_or_else(|| panic!("no value: {:#}", r.body))
        .iter()
        .map(|v| v["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn user_lifecycle_create_patch_delete() {
    let env = env().await;
    let created = env.post("users", &new_user("test.user@contoso.com")).await;
    assert_eq!(created.status, 201, "{:#}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let location = created.header("location").unwrap();
    assert_eq!(location, format!("{}/users/{id}", env.emu.graph_url()));
    assert!(
        created.body["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("#users/$entity")
    );
    assert!(created.body.get("passwordProfile").is_none());

    // Readable by id and by userPrincipalName (case-insensitive).
    let by_upn = env.get("users/TEST.USER@contoso.com").await;
    assert_eq!(by_upn.body["id"], id.as_str());

    let patched = env
        .patch(
            &format!("users/{id}"),
            &json!({"jobTitle": "Pilot", "displayName": "Renamed"}),
        )
        .await;
    assert_eq!(patched.status, 204);
    let got = env.get(&format!("users/{id}")).await;
    assert_eq!(got.body["jobTitle"], "Pilot");
    assert_eq!(got.body["displayName"], "Renamed");

    // A changed principal name moves the lookup.
    let moved = env
        .patch(
            &format!("users/{id}"),
            &json!({"userPrincipalName": "moved@contoso.com"}),
        )
        .await;
    assert_eq!(moved.status, 204);
    assert_eq!(
        env.get("users/moved@contoso.com").await.body["id"],
        id.as_str()
    );
    env.get("users/test.user@contoso.com")
        .await
        .assert_error(404, "Request_ResourceNotFound");

    assert_eq!(env.delete(&format!("users/{id}")).await.status, 204);
    let gone = env.get(&format!("users/{id}")).await;
    let message = gone.assert_error(404, "Request_ResourceNotFound");
    assert_eq!(
        message,
        format!(
            "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
        )
    );
    env.delete(&format!("users/{id}"))
        .await
        .assert_error(404, "Request_ResourceNotFound");
    env.patch(&format!("users/{id}"), &json!({"jobTitle": "x"}))
        .await
        .assert_error(404, "Request_ResourceNotFound");
}

#[tokio::test]
async fn user_create_validation() {
    let env = env().await;
    for missing in [
        "accountEnabled",
        "displayName",
        "mailNickname",
        "userPrincipalName",
        "passwordProfile",
    ] {
        let mut body = new_user("v@contoso.com");
        body.as_object_mut().unwrap().remove(missing);
        let r = env.post("users", &body).await;
        let message = r.assert_error(400, "Request_BadRequest");
        assert!(message.contains(missing), "{message}");
    }
    let r = env.post("users", &new_user("someone@fabrikam.com")).await;
    assert!(
        r.assert_error(400, "Request_BadRequest")
            .contains("domain portion")
    );
    let r = env.post("users", &new_user("AdeleV@contoso.com")).await;
    assert!(
        r.assert_error(400, "Request_BadRequest")
            .contains("already exists")
    );
    let mut bad_type = new_user("t@contoso.com");
    bad_type["accountEnabled"] = json!("yes");
    env.post("users", &bad_type)
        .await
        .assert_error(400, "Request_BadRequest");
    let mut unknown = new_user("u@contoso.com");
    unknown["favouriteColour"] = json!("red");
    env.post("users", &unknown)
        .await
        .assert_error(400, "Request_BadRequest");
    // Read-only and unknown properties on PATCH; a malformed body.
    env.patch(&format!("users/{ADELE}"), &json!({"id": "x"}))
        .await
        .assert_error(400, "Request_BadRequest");
    let r = env
        .send(
            Method::PATCH,
            &format!("users/{ADELE}"),
            &env.app,
            &[("Content-Type", "application/json")],
            None,
        )
        .await;
    r.assert_error(400, "BadRequest");
    let raw = env
        .http
        .post(env.url("users"))
        .bearer_auth(&env.app)
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
}

#[tokio::test]
async fn me_requires_a_delegated_token() {
    let env = env().await;
    let me = env.send(Method::GET, "me", &env.user, &[], None).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["id"], ADELE);
    assert!(
        me.body["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("#users/$entity")
    );
    env.get("me")
        .await
        .assert_error(403, "Authorization_RequestDenied");
    env.get("me/memberOf")
        .await
        .assert_error(403, "Authorization_RequestDenied");
    let manager = env
        .send(Method::GET, "me/manager", &env.user, &[], None)
        .await;
    assert_eq!(manager.body["id"], SARA);
    assert_eq!(manager.body["@odata.type"], "#microsoft.graph.user");
    assert!(
        manager.body["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("#directoryObjects/$entity")
    );
}

#[tokio::test]
async fn requests_without_a_valid_token_get_401() {
    let env = env().await;
    let r = env.http.get(env.url("users")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()
            .get("www-authenticate")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let r = env.send(Method::GET, "users", "not-a-jwt", &[], None).await;
    r.assert_error(401, "InvalidAuthenticationToken");
}

#[tokio::test]
async fn responses_carry_request_ids_and_echo_client_request_id() {
    let env = env().await;
    let r = env
        .send(
            Method::GET,
            "users/nope",
            &env.app,
            &[("client-request-id", "abc-123")],
            None,
        )
        .await;
    r.assert_error(404, "Request_ResourceNotFound");
    assert_eq!(r.header("client-request-id"), Some("abc-123"));
    assert_eq!(
        r.body["error"]["innerError"]["client-request-id"],
        "abc-123"
    );
    let ok = env.get("users?$top=1").await;
    assert!(ok.header("request-id").is_some());
    assert!(ok.header("x-ms-ags-diagnostic").is_some());
    assert!(ok.header("date").is_some());
    assert!(
        ok.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
}

#[tokio::test]
async fn membership_changes_show_everywhere() {
    let env = env().await;
    let group = env
        .post("groups", &json!({
            "displayName": "Pilots", "mailEnabled": false, "mailNickname": "pilots", "securityEnabled": true
        }))
        .await;
    assert_eq!(group.status, 201, "{:#}", group.body);
    let gid = group.body["id"].as_str().unwrap().to_owned();
    // Nest the new group in Finance, then add Grady to it.
    let r = env
        .post(&format!("groups/{FINANCE}/members/$ref"), &json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{gid}")}))
        .await;
    assert_eq!(r.status, 204, "{:#}", r.body);
    let delta_link = {
        let mut r = env.get("groups/delta").await;
        while let Some(next) = r.body["@odata.nextLink"].as_str().map(str::to_owned) {
            r = env.get(&next).await;
        }
        r.body["@odata.deltaLink"].as_str().unwrap().to_owned()
    };
    let add = env
        .post(
            &format!("groups/{gid}/members/$ref"),
            &json!({"@odata.id": format!("{}/directoryObjects/{GRADY}", env.emu.graph_url())}),
        )
        .await;
    assert_eq!(add.status, 204);
    let again = env
        .post(
            &format!("groups/{gid}/members/$ref"),
            &json!({"@odata.id": format!("{}/users/{GRADY}", env.emu.graph_url())}),
        )
        .await;
    again.assert_error(400, "Request_BadRequest");

    assert!(ids(&env.get(&format!("users/{GRADY}/memberOf")).await).contains(&gid));
    let transitive = ids(&env.get(&format!("users/{GRADY}/transitiveMemberOf")).await);
    assert!(transitive.contains(&gid) && transitive.contains(&FINANCE.to_owned()));
    assert!(ids(&env.get(&format!("groups/{gid}/members")).await).contains(&GRADY.to_owned()));
    assert!(
        ids(&env
            .get(&format!("groups/{FINANCE}/transitiveMembers"))
            .await)
        .contains(&GRADY.to_owned())
    );
    let groups = env
        .post(
            &format!("users/{GRADY}/getMemberGroups"),
            &json!({"securityEnabledOnly": true}),
        )
        .await;
    assert!(
        groups.body["value"]
            .as_array()
            .unwrap()
            .contains(&json!(FINANCE))
    );
    let check = env
        .post(
            &format!("directoryObjects/{GRADY}/checkMemberGroups"),
            &json!({"groupIds": [FINANCE, LIBRARY_ASSIST]}),
        )
        .await;
    assert_eq!(check.body["value"], json!([FINANCE]));

    // The next groups delta round reports the added member.
    let round = env.get(&delta_link).await;
    let changed = round.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == gid.as_str())
        .cloned()
        .expect("group in delta");
    assert_eq!(
        changed["members@delta"],
        json!([{"@odata.type": "#microsoft.graph.user", "id": GRADY}])
    );
    let next_link = round.body["@odata.deltaLink"].as_str().unwrap().to_owned();

    // Removal: gone from memberOf and transitiveMemberOf, reported as @removed in delta.
    let del = env
        .delete(&format!("groups/{gid}/members/{GRADY}/$ref"))
        .await;
    assert_eq!(del.status, 204);
    env.delete(&format!("groups/{gid}/members/{GRADY}/$ref"))
        .await
        .assert_error(404, "Request_ResourceNotFound");
    assert!(!ids(&env.get(&format!("users/{GRADY}/memberOf")).await).contains(&gid));
    assert!(
        !ids(&env.get(&format!("users/{GRADY}/transitiveMemberOf")).await)
            .contains(&FINANCE.to_owned())
    );
    let round = env.get(&next_link).await;
    let changed = round.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == gid.as_str())
        .cloned()
        .expect("group in delta");
    assert_eq!(
        changed["members@delta"],
        json!([{"@odata.type": "#microsoft.graph.user", "id": GRADY, "@removed": {"reason": "deleted"}}])
    );

    // Deleting the group removes it from Finance and reports it removed.
    let next_link = round.body["@odata.deltaLink"].as_str().unwrap().to_owned();
    assert_eq!(env.delete(&format!("groups/{gid}")).await.status, 204);
    assert!(!ids(&env.get(&format!("groups/{FINANCE}/members")).await).contains(&gid));
    let round = env.get(&next_link).await;
    let removed = round.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == gid.as_str())
        .cloned()
        .expect("removed group");
    assert_eq!(removed["@removed"], json!({"reason": "changed"}));
}

#[tokio::test]
async fn unified_group_creation_and_member_binding() {
    let env = env().await;
    let r = env
        .post("groups", &json!({
            "displayName": "Golf Fans", "mailEnabled": true, "mailNickname": "golffans", "securityEnabled": false,
            "groupTypes": ["Unified"],
            "members@odata.bind": [format!("https://graph.microsoft.com/v1.0/users/{ADELE}")]
        }))
        .await;
    assert_eq!(r.status, 201, "{:#}", r.body);
    assert_eq!(r.body["mail"], "golffans@contoso.com");
    assert_eq!(r.body["groupTypes"], json!(["Unified"]));
    let gid = r.body["id"].as_str().unwrap();
    assert_eq!(
        ids(&env.get(&format!("groups/{gid}/members")).await),
        [ADELE]
    );
    // Mail-enabled security groups cannot be created through Graph; required properties are checked.
    env.post("groups", &json!({"displayName": "x", "mailEnabled": true, "mailNickname": "x", "securityEnabled": true}))
        .await
        .assert_error(400, "Request_BadRequest");
    env.post(
        "groups",
        &json!({"displayName": "x", "mailNickname": "x", "securityEnabled": true}),
    )
    .await
    .assert_error(400, "Request_BadRequest");
    env.post(&format!("groups/{gid}/members/$ref"), &json!({"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/00000000-0000-0000-0000-00000000dead"}))
        .await
        .assert_error(404, "Request_ResourceNotFound");
    env.post(&format!("groups/{gid}/members/$ref"), &json!({"id": ADELE}))
        .await
        .assert_error(400, "Request_BadRequest");
}

#[tokio::test]
async fn manager_reference_can_be_set_and_removed() {
    let env = env().await;
    let r = env
        .send(
            Method::PUT,
            &format!("users/{JOSEPH}/manager/$ref"),
            &env.app,
            &[],
            Some(&json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/users/{SARA}")})),
        )
        .await;
    assert_eq!(r.status, 204, "{:#}", r.body);
    assert_eq!(
        env.get(&format!("users/{JOSEPH}/manager")).await.body["id"],
        SARA
    );
    let expanded = env
        .get(&format!(
            "users/{JOSEPH}?$expand=manager($select=id,displayName)"
        ))
        .await;
    assert_eq!(expanded.body["manager"]["displayName"], "Sara Davis");
    assert!(
        ids(&env.get(&format!("users/{SARA}/directReports")).await).contains(&JOSEPH.to_owned())
    );
    assert_eq!(
        env.delete(&format!("users/{JOSEPH}/manager/$ref"))
            .await
            .status,
        204
    );
    env.get(&format!("users/{JOSEPH}/manager"))
        .await
        .assert_error(404, "Request_ResourceNotFound");
}

#[tokio::test]
async fn get_by_ids_and_directory_objects_are_polymorphic() {
    let env = env().await;
    let r = env
        .post("directoryObjects/getByIds", &json!({"ids": [ADELE, FINANCE, "9ed3a0c4-53e1-498c-ab4d-2473476fde14", "00000000-0000-0000-0000-000000000000"]}))
        .await;
    let types: Vec<&str> = r.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["@odata.type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "#microsoft.graph.user",
            "#microsoft.graph.group",
            "#microsoft.graph.directoryRole"
        ]
    );
    let only_groups = env
        .post(
            "directoryObjects/getByIds",
            &json!({"ids": [ADELE, FINANCE], "types": ["group"]}),
        )
        .await;
    assert_eq!(ids(&only_groups), [FINANCE]);
    env.post(
        "directoryObjects/getByIds",
        &json!({"ids": [ADELE], "types": ["spaceship"]}),
    )
    .await
    .assert_error(400, "Request_BadRequest");
    env.post("directoryObjects/getByIds", &json!({"types": ["user"]}))
        .await
        .assert_error(400, "Request_BadRequest");
    let obj = env.get(&format!("directoryObjects/{FINANCE}")).await;
    assert_eq!(obj.body["@odata.type"], "#microsoft.graph.group");
    let objects = env
        .post(
            &format!("users/{ADELE}/getMemberObjects"),
            &json!({"securityEnabledOnly": false}),
        )
        .await;
    assert!(
        !objects.body["value"]
            .as_array()
            .unwrap()
            .contains(&json!("9ed3a0c4-53e1-498c-ab4d-2473476fde14"))
    );
    assert!(
        objects.body["value"]
            .as_array()
            .unwrap()
            .contains(&json!("fe8f10bf-c9c2-47eb-95cb-c26cc85f1830"))
    );
    let nested = env
        .post(
            &format!("groups/{AAD_CONTOSO_USERS}/getMemberGroups"),
            &json!({"securityEnabledOnly": false}),
        )
        .await;
    assert_eq!(nested.body["value"], json!([LICENSING]));
    let me = env
        .send(
            Method::POST,
            "me/checkMemberGroups",
            &env.user,
            &[],
            Some(&json!({"groupIds": [LICENSING, GOLF_DISCUSSION]})),
        )
        .await;
    assert_eq!(me.body["value"], json!([LICENSING]));
    let role = env
        .delete("directoryRoles/9ed3a0c4-53e1-498c-ab4d-2473476fde14")
        .await;
    assert_eq!(role.status, 405);
    env.post(&format!("users/{ADELE}/getMemberGroups"), &json!({}))
        .await
        .assert_error(400, "Request_BadRequest");
}
