//! Builders produce exactly the URL, method and body of documented requests (checked on
//! msgraph-typed-core's MockTransport, which records every call).

use futures::StreamExt as _;
use msgraph_typed::mock::{MockResponse, MockTransport, RecordedCall};
use msgraph_typed::models::{
    AnyDirectoryObject, DirectoryObjectCheckMemberGroupsBody,
    DirectoryObjectCollectionGetByIdsBody, DirectoryObjectGetMemberGroupsBody, User, UserField,
};
use msgraph_typed::{GraphClient, Method};
use serde_json::{Value, json};

fn client(mock: &MockTransport) -> GraphClient {
    GraphClient::builder()
        .transport(mock.clone())
        .build()
        .unwrap()
}

fn only_call(mock: &MockTransport) -> RecordedCall {
    let calls = mock.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    calls.into_iter().next().unwrap()
}

fn page(items: Value) -> MockResponse {
    MockResponse::json(200, json!({"@odata.context": "x", "value": items}))
}

#[tokio::test]
async fn list_users_with_select_filter_top_and_count() {
    let mock = MockTransport::new();
    mock.on(Method::GET, "/v1.0/users").respond(page(
        json!([{"id": "1", "displayName": "Adele", "mail": null}]),
    ));
    let users = client(&mock)
        .users()
        .list()
        .select([UserField::DisplayName, UserField::Mail])
        .filter("startswith(displayName,'A')")
        .top(5)
        .count(true)
        .send()
        .await
        .unwrap();
    assert_eq!(users.items().len(), 1);
    let call = only_call(&mock);
    assert_eq!(call.method, Method::GET);
    assert_eq!(call.url.path(), "/v1.0/users");
    assert_eq!(call.query("$select").as_deref(), Some("displayName,mail"));
    assert_eq!(
        call.query("$filter").as_deref(),
        Some("startswith(displayName,'A')")
    );
    assert_eq!(call.query("$top").as_deref(), Some("5"));
    assert_eq!(call.query("$count").as_deref(), Some("true"));
    assert_eq!(call.header("consistencylevel"), Some("eventual"));
}

#[tokio::test]
async fn get_user_by_id_and_by_upn_encodes_the_key() {
    let mock = MockTransport::new();
    mock.on_any().respond(MockResponse::json(
        200,
        json!({"id": "87d349ed", "displayName": "Adele"}),
    ));
    let c = client(&mock);
    let user = c
        .users()
        .by_id("87d349ed-44d7-43e1-9a83-5f2406dee5bd")
        .get()
        .send()
        .await
        .unwrap();
    assert!(matches!(user, msgraph_typed::models::AnyUser::User(_)));
    c.users()
        .by_id("adele#v@contoso.com")
        .get()
        .send()
        .await
        .unwrap();
    let calls = mock.calls();
    assert_eq!(
        calls[0].url.path(),
        "/v1.0/users/87d349ed-44d7-43e1-9a83-5f2406dee5bd"
    );
    assert_eq!(calls[1].url.path(), "/v1.0/users/adele%23v@contoso.com");
    assert!(calls.iter().all(|c| c.method == Method::GET));
}

#[tokio::test]
async fn me_member_of_and_transitive_member_of_are_polymorphic() {
    let mock = MockTransport::new();
    let items = json!([
        {"@odata.type": "#microsoft.graph.group", "id": "g"},
        {"@odata.type": "#microsoft.graph.directoryRole", "id": "r"},
        {"@odata.type": "#microsoft.graph.administrativeUnit", "id": "a"}
    ]);
    mock.on(Method::GET, "/v1.0/me/memberOf")
        .respond(page(items.clone()));
    mock.on(Method::GET, "/v1.0/me/transitiveMemberOf")
        .respond(page(items));
    let c = client(&mock);
    let direct = c.me().member_of().list().send().await.unwrap();
    let transitive = c.me().transitive_member_of().list().send().await.unwrap();
    for p in [direct, transitive] {
        let items = p.items();
        assert!(matches!(items[0], AnyDirectoryObject::Group(_)));
        assert!(matches!(items[1], AnyDirectoryObject::DirectoryRole(_)));
        assert!(matches!(
            items[2],
            AnyDirectoryObject::AdministrativeUnit(_)
        ));
    }
    assert_eq!(mock.calls().len(), 2);
}

#[tokio::test]
async fn cast_and_count() {
    let mock = MockTransport::new();
    mock.on(
        Method::GET,
        "/v1.0/users/u1/memberOf/microsoft.graph.group/$count",
    )
    .respond(MockResponse::text(200, "17"));
    let n = client(&mock)
        .users()
        .by_id("u1")
        .member_of()
        .groups()
        .count()
        .send()
        .await
        .unwrap();
    assert_eq!(n, 17);
    assert_eq!(
        only_call(&mock).header("consistencylevel"),
        Some("eventual")
    );
}

#[tokio::test]
async fn cast_list_is_typed() {
    let mock = MockTransport::new();
    mock.on(Method::GET, "/v1.0/users/u1/memberOf/microsoft.graph.group")
        .respond(page(
            json!([{"id": "g", "displayName": "Sales", "groupTypes": ["Unified"]}]),
        ));
    let groups = client(&mock)
        .users()
        .by_id("u1")
        .member_of()
        .groups()
        .list()
        .send()
        .await
        .unwrap();
    assert_eq!(groups.items()[0].display_name(), Some("Sales"));
}

#[tokio::test]
async fn group_members() {
    let mock = MockTransport::new();
    mock.on(Method::GET, "/v1.0/groups/g1/members")
        .respond(page(
            json!([{"@odata.type": "#microsoft.graph.user", "id": "u"}]),
        ));
    let members = client(&mock)
        .groups()
        .by_id("g1")
        .members()
        .list()
        .send()
        .await
        .unwrap();
    assert!(matches!(members.items()[0], AnyDirectoryObject::User(_)));
}

#[tokio::test]
async fn actions_post_their_documented_bodies() {
    let mock = MockTransport::new();
    mock.on(Method::POST, "/v1.0/directoryObjects/o1/getMemberGroups")
        .json_body(json!({"securityEnabledOnly": true}))
        .respond(MockResponse::json(200, json!({"value": ["g1", "g2"]})));
    mock.on(Method::POST, "/v1.0/me/checkMemberGroups")
        .json_body(json!({"groupIds": ["g1"]}))
        .respond(MockResponse::json(200, json!({"value": ["g1"]})));
    mock.on(Method::POST, "/v1.0/directoryObjects/getByIds")
        .json_body(json!({"ids": ["u1"], "types": ["user"]}))
        .respond(page(
            json!([{"@odata.type": "#microsoft.graph.user", "id": "u1"}]),
        ));
    let c = client(&mock);
    let groups = c
        .directory_objects()
        .by_id("o1")
        .get_member_groups(&DirectoryObjectGetMemberGroupsBody {
            security_enabled_only: Some(true),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(groups.value, ["g1", "g2"]);
    let checked = c
        .me()
        .check_member_groups(&DirectoryObjectCheckMemberGroupsBody {
            group_ids: Some(vec!["g1".into()]),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(checked.value, ["g1"]);
    let objects = c
        .directory_objects()
        .get_by_ids(&DirectoryObjectCollectionGetByIdsBody {
            ids: Some(vec!["u1".into()]),
            types: Some(vec!["user".into()]),
        })
        .send()
        .await
        .unwrap();
    assert!(matches!(objects.value[0], AnyDirectoryObject::User(_)));
    assert!(mock.calls().iter().all(|c| c.method == Method::POST));
}

#[tokio::test]
async fn delta_function() {
    let mock = MockTransport::new();
    mock.on(Method::GET, "/v1.0/users/delta").respond(MockResponse::json(
        200,
        json!({"value": [{"id": "u1"}], "@odata.deltaLink": "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=abc"}),
    ));
    let mut pages = client(&mock)
        .users()
        .delta()
        .select([UserField::DisplayName])
        .pages();
    let first = pages.next().await.unwrap().unwrap();
    assert_eq!(first.items().len(), 1);
    assert!(first.delta_link().is_some());
    let call = &mock.calls()[0];
    assert_eq!(call.url.path(), "/v1.0/users/delta");
    assert_eq!(call.query("$select").as_deref(), Some("displayName"));
}

#[tokio::test]
async fn create_update_with_null_and_delete() {
    let mock = MockTransport::new();
    mock.on(Method::POST, "/v1.0/users")
        .respond(MockResponse::json(
            201,
            json!({"id": "new", "displayName": "Adele"}),
        ));
    mock.on(Method::PATCH, "/v1.0/users/new")
        .respond(MockResponse::status(204));
    mock.on(Method::DELETE, "/v1.0/users/new")
        .respond(MockResponse::status(204));
    let c = client(&mock);
    let mut body = User::new();
    body.set_account_enabled(true)
        .set_display_name("Adele")
        .set_mail_nickname("adele");
    c.users().create(&body).send().await.unwrap();

    let mut patch = User::new();
    patch.set_mobile_phone(None).set_job_title("Boss");
    c.users().by_id("new").update(&patch).send().await.unwrap();
    c.users().by_id("new").delete().send().await.unwrap();

    let calls = mock.calls();
    assert_eq!(calls[0].method, Method::POST);
    assert_eq!(
        calls[0].json().unwrap(),
        json!({"accountEnabled": true, "displayName": "Adele", "mailNickname": "adele"})
    );
    assert_eq!(calls[1].method, Method::PATCH);
    assert_eq!(
        calls[1].json().unwrap(),
        json!({"jobTitle": "Boss", "mobilePhone": null})
    );
    assert_eq!(calls[2].method, Method::DELETE);
    assert!(calls[2].body.is_empty());
}

#[tokio::test]
async fn raw_escape_hatch_uses_the_same_pipeline() {
    let mock = MockTransport::new();
    mock.on(Method::GET, "/v1.0/organization")
        .respond(page(json!([{"id": "t", "displayName": "Contoso"}])));
    let org = client(&mock)
        .raw(Method::GET, "organization")
        .send()
        .await
        .unwrap();
    assert_eq!(org["value"][0]["displayName"], "Contoso");
    let call = only_call(&mock);
    assert!(call.header("client-request-id").is_some());
}
