// A group's member is addressed only to remove the reference: no read, no delete of the user.
fn main() {
    let client = msgraph_typed::GraphClient::builder().build().unwrap();
    let member = client.groups().by_id("g").members().by_id("u");
    let _ = member.get();
    let _ = member.delete();
}
