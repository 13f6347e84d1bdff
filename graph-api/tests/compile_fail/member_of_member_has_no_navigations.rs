// A memberOf item is a reference: nothing can be navigated from it.
fn main() {
    let client = msgraph_typed::GraphClient::builder().build().unwrap();
    let _ = client.me().member_of().by_id("x").token_lifetime_policies();
}
