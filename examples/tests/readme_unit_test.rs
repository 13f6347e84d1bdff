use msgraph_typed::GraphClient;
use msgraph_typed::futures::TryStreamExt as _;
use msgraph_typed::mock::MockTransport;
use msgraph_typed::models::AnyUser;
use msgraph_typed::serde_json::json;

/// The code under test: the display name of every user.
async fn user_names(client: &GraphClient) -> msgraph_typed::Result<Vec<String>> {
    let users: Vec<AnyUser> = client.users().list().stream().try_collect().await?;
    Ok(users
        .iter()
        .filter_map(|user| user.base().display_name().map(str::to_owned))
        .collect())
}

#[tokio::test]
async fn lists_every_user_across_pages() {
    let mock = MockTransport::new();
    let users = ["Adele", "Megan"].map(|name| json!({ "displayName": name }));
    mock.serve_pages("/v1.0/users", users.to_vec(), 1);
    let client = GraphClient::with_transport(mock.clone()).unwrap();
    let names = user_names(&client).await.unwrap();
    assert_eq!(names, ["Adele", "Megan"]);
    assert_eq!(mock.calls().len(), 2, "one request per page");
}
