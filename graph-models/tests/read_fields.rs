//! One-pass reading of generated models (`User`): the properties that arrived are stored and
//! read back through getters, the rest kept in `additional_data`, and everything serialises
//! back to what was read.
#![cfg(feature = "identity")]

use serde_json::json;

use msgraph_typed_models::models::{AssignedLicense, User};
use msgraph_typed_models::{Patch, PropertyState};

#[test]
fn known_properties_are_read_through_getters_and_the_rest_is_kept() {
    let text = r#"{"id":"u1","displayName":"Adele","mobilePhone":null,"accountEnabled":true,
        "businessPhones":["+1 425 555 0109"],
        "assignedLicenses":[{"skuId":"00000000-0000-0000-0000-000000000001","disabledPlans":[]}],
        "@odata.etag":"W/1","newProperty":{"x":[1]}}"#;
    let user: User = serde_json::from_str(text).expect("user");
    assert_eq!(user.id(), Some("u1"));
    assert_eq!(user.display_name(), Some("Adele"));
    assert_eq!(user.account_enabled(), Some(true));
    assert_eq!(user.business_phones(), ["+1 425 555 0109"]);
    // Absent and null both read as None; property_state tells them apart.
    assert_eq!(user.mobile_phone(), None);
    assert_eq!(user.mail(), None);
    assert_eq!(user.property_state("mobilePhone"), PropertyState::Null);
    assert_eq!(user.property_state("mail"), PropertyState::Absent);
    assert_eq!(user.property_state("displayName"), PropertyState::Present);
    assert_eq!(user.property_state("noSuchProperty"), PropertyState::Absent);
    let licenses = user.assigned_licenses();
    assert_eq!(licenses.len(), 1);
    assert_eq!(
        serde_json::to_value(&licenses[0]).expect("serialise"),
        json!({"skuId": "00000000-0000-0000-0000-000000000001", "disabledPlans": []})
    );
    assert_eq!(
        user.additional_data().get("@odata.etag"),
        Some(&json!("W/1"))
    );
    assert_eq!(
        user.additional_data().get("newProperty"),
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
    assert_eq!(a.id(), Some("second"));
    assert_eq!(a, b);
    assert_eq!(a, c);
    assert_eq!(
        serde_json::to_value(&a).expect("serialise"),
        json!({"id": "second", "city": "Oslo"})
    );
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

#[test]
fn setters_write_exactly_the_three_states() {
    let mut user = User::new();
    user.set_display_name("Adele")
        .set_mobile_phone(None)
        .set_account_enabled(true)
        .set_business_phones(vec!["+1 425 555 0109".to_owned()])
        .set_assigned_licenses(vec![AssignedLicense::new()]);
    // Only what was set is sent; None sends null.
    assert_eq!(
        serde_json::to_value(&user).expect("serialise"),
        json!({
            "displayName": "Adele",
            "mobilePhone": null,
            "accountEnabled": true,
            "businessPhones": ["+1 425 555 0109"],
            "assignedLicenses": [{}],
        })
    );
    // Setting again replaces in place; Patch::Unset leaves the property out again.
    user.set_display_name(String::from("Adele Vance"))
        .set_mobile_phone(Patch::Unset)
        .set_account_enabled(Patch::Null);
    assert_eq!(user.display_name(), Some("Adele Vance"));
    assert_eq!(user.property_state("mobilePhone"), PropertyState::Absent);
    assert_eq!(user.property_state("accountEnabled"), PropertyState::Null);
    assert_eq!(
        serde_json::to_value(&user).expect("serialise"),
        json!({
            "displayName": "Adele Vance",
            "accountEnabled": null,
            "businessPhones": ["+1 425 555 0109"],
            "assignedLicenses": [{}],
        })
    );
    // An empty model is an empty body.
    assert_eq!(
        serde_json::to_value(User::new()).expect("serialise"),
        json!({})
    );
}

#[test]
fn a_model_costs_what_arrived_not_what_could() {
    // Every generated model is one small value whatever its type; the properties live in a
    // list sized to those present.
    use msgraph_typed_models::models::{AnyDirectoryObject, AnyUser, Group};
    let sizes = [
        ("User", std::mem::size_of::<User>()),
        ("AnyUser", std::mem::size_of::<AnyUser>()),
        ("Group", std::mem::size_of::<Group>()),
        (
            "AnyDirectoryObject",
            std::mem::size_of::<AnyDirectoryObject>(),
        ),
    ];
    println!("size_of: {sizes:?}");
    for (name, size) in sizes {
        assert!(size <= 64, "{name} is {size} bytes");
    }
    let mut user = User::new();
    user.set_id("u1");
    let one = format!("{user:?}");
    assert!(one.contains("id: \"u1\""), "{one}");
    assert!(
        !one.contains("displayName"),
        "absent properties are not listed: {one}"
    );
}

#[test]
fn debug_names_the_type_and_its_present_properties_only() {
    let user: User = serde_json::from_str(r#"{"id":"u1","mail":null,"x":1}"#).expect("user");
    assert_eq!(
        format!("{user:?}"),
        r#"User { id: "u1", mail: None, additional_data: {"x": Number(1)} }"#
    );
}
