// The manager is a reference: set or removed with $ref, never updated through it.
fn main() {
    let client = msgraph_typed::GraphClient::builder().build().unwrap();
    let user = msgraph_typed::models::DirectoryObject::default();
    let _ = client.users().by_id("u").manager().update(&user);
}
