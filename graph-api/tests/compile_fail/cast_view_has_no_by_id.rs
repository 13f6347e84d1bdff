// A cast of a referenced collection lists and counts only.
fn main() {
    let client = msgraph_typed::GraphClient::builder().build().unwrap();
    let _ = client.me().member_of().groups().by_id("g");
}
