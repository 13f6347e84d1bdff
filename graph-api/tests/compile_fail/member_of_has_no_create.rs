// memberOf references groups that live elsewhere: Graph has no create through it.
fn main() {
    let client = msgraph_typed::GraphClient::builder().build().unwrap();
    let group = msgraph_typed::models::DirectoryObject::default();
    let _ = client.me().member_of().create(&group);
}
