// memberOf is read only: membership is written from the group's side (members/$ref).
fn main() {
    let client = msgraph_typed::GraphClient::builder().build().unwrap();
    let _ = client.me().member_of().add_ref("group-id");
}
