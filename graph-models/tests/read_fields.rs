//! One-pass reading of generated structs (msgraph-typed-odata's `read_fields` module on `User`):
//! known properties into fields, the rest into `additional_data`.
#![cfg(feature = "identity")]

use serde_json::json;

use msgraph_typed_models::Patch;
use msgraph_typed_models::models::User;

#[test]
fn known_properties_fill_fields_and_the_rest_is_kept() {
    let text = r#"{"id":"u1","displayName":"Adele","mobilePhone":null,
        "assignedLicenses":[{"skuId":"00000000-0000-0000-0000-000000000001","disabledPlans":[]}],
        "@odata.etag":"W/1","newProperty":{"x":[1]}}"#;
    let user: User = serde_json::from_str(text).expect("user");
    assert_eq!(user.id, Patch::Value("u1".to_owned()));
    assert_eq!(user.display_name, Patch::Value("Adele".to_owned()));
    assert_eq!(user.mobile_phone, Patch::Null);
    assert_eq!(user.mail, Patch::Unset);
    let Patch::Value(licenses) = &user.assigned_licenses else {
        panic!("assignedLicenses not read: {:?}", user.assigned_licenses)
    };
    assert_eq!(licenses.len(), 1);
    assert_eq!(
        serde_json::to_value(&licenses[0]).expect("serialise"),
        json!({"skuId": "00000000-0000-0000-0000-000000000001", "disabledPlans": []})
    );
    assert_eq!(user.additional_data.get("@odata.etag"), Some(&json!("W/1")));
    assert_eq!(
        user.additional_data.get("newProperty"),
        Some(&json!({"x": [1]}))
    );
    let back = serde_json::to_value(&user).expect("serialise");
    assert_eq!(
        back,
        serde_json::from_str::<serde_json::Value>(text).expect("json")
    );
}

#[test]
fn reader_value_and_text_agree_and_a_repeated_property_keeps_the_last_value() {
    let text = r#"{"id":"first","id":"second","city":"Oslo"}"#;
    let a: User = serde_json::from_str(text).expect("str");
    let b: User = serde_json::from_reader(text.as_bytes()).expect("reader");
    let c: User = serde_json::from_value(serde_json::from_str(text).expect("json")).expect("value");
    assert_eq!(a.id, Patch::Value("second".to_owned()));
    assert_eq!(a, b);
    assert_eq!(a, c);
}

#[test]
fn wrong_types_are_errors_that_say_where() {
    let error = serde_json::from_str::<User>("{\"id\":\"u1\",\n\"accountEnabled\":\"yes\"}")
        .expect_err("accountEnabled is a boolean")
        .to_string();
    assert!(
        error.contains("expected a boolean") && error.contains("line 2"),
        "{error}"
    );
    let error = serde_json::from_str::<User>("[1]")
        .expect_err("not an object")
        .to_string();
    assert!(error.contains("microsoft.graph.user"), "{error}");
}
