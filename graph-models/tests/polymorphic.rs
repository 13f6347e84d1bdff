//! `AnyX` enums chosen by `@odata.type` wherever it appears, read from text, readers and
//! `serde_json::Value` alike (msgraph-typed-odata's `polymorphic` module on real generated types).
#![cfg(feature = "identity")]

use serde_json::json;

use msgraph_typed_models::PropertyState;
use msgraph_typed_models::models::{AnyDirectoryObject, AnyUser};

/// Reads one JSON text every way a caller can: borrowed text, a reader (owned keys)
/// and a `serde_json::Value`; all three must agree.
fn read_all_ways(text: &str) -> AnyDirectoryObject {
    let from_str: AnyDirectoryObject = serde_json::from_str(text).expect("from_str");
    let from_reader: AnyDirectoryObject =
        serde_json::from_reader(text.as_bytes()).expect("from_reader");
    let value: serde_json::Value = serde_json::from_str(text).expect("valid JSON");
    let from_value: AnyDirectoryObject = serde_json::from_value(value).expect("from_value");
    assert_eq!(from_str, from_reader);
    assert_eq!(from_str, from_value);
    from_str
}

fn group_name(object: &AnyDirectoryObject) -> Option<String> {
    match object {
        AnyDirectoryObject::Group(group) => group.display_name().map(str::to_owned),
        _ => None,
    }
}

#[test]
fn type_first_reads_the_derived_type_and_keeps_the_annotation() {
    let text = r##"{"@odata.type":"#microsoft.graph.group","id":"g1","displayName":"Sales"}"##;
    let object = read_all_ways(text);
    assert_eq!(group_name(&object).as_deref(), Some("Sales"));
    assert_eq!(
        serde_json::to_value(&object).expect("serialise"),
        serde_json::from_str::<serde_json::Value>(text).expect("json")
    );
}

#[test]
fn alias_and_bare_type_names_are_the_same_type() {
    for name in ["#graph.group", "microsoft.graph.group", "graph.group"] {
        let text = format!(r#"{{"@odata.type":"{name}","displayName":"Sales"}}"#);
        assert_eq!(
            group_name(&read_all_ways(&text)).as_deref(),
            Some("Sales"),
            "{name}"
        );
    }
}

#[test]
fn type_after_other_properties_still_chooses_the_derived_type() {
    let text = r##"{"id":"g1","displayName":"Sales","@odata.type":"#microsoft.graph.group","x-new":[1,2]}"##;
    let object = read_all_ways(text);
    assert_eq!(group_name(&object).as_deref(), Some("Sales"));
    let AnyDirectoryObject::Group(group) = &object else {
        unreachable!("checked above")
    };
    assert_eq!(group.additional_data().get("x-new"), Some(&json!([1, 2])));
    assert_eq!(
        serde_json::to_value(&object).expect("serialise"),
        serde_json::from_str::<serde_json::Value>(text).expect("json")
    );
}

#[test]
fn no_type_or_the_declared_type_reads_the_declared_type() {
    for text in [
        r#"{"id":"d1","deletedDateTime":null}"#,
        r##"{"id":"d1","@odata.type":"#microsoft.graph.directoryObject","deletedDateTime":null}"##,
        r##"{"@odata.type":"#microsoft.graph.directoryObject","id":"d1","deletedDateTime":null}"##,
    ] {
        let AnyDirectoryObject::DirectoryObject(object) = read_all_ways(text) else {
            panic!("not the declared type: {text}")
        };
        assert_eq!(object.id(), Some("d1"), "{text}");
        assert_eq!(object.deleted_date_time(), None, "{text}");
        assert_eq!(
            object.property_state("deletedDateTime"),
            PropertyState::Null,
            "{text}"
        );
    }
}

#[test]
fn empty_object_is_the_declared_type_with_nothing_set() {
    let AnyDirectoryObject::DirectoryObject(object) = read_all_ways("{}") else {
        panic!("not the declared type")
    };
    assert_eq!(object.property_state("id"), PropertyState::Absent);
    assert!(object.additional_data().is_empty());
}

#[test]
fn unknown_type_keeps_every_property_wherever_the_annotation_is() {
    for text in [
        r##"{"@odata.type":"#microsoft.graph.futureThing","id":"f1","newProp":{"a":1}}"##,
        r##"{"id":"f1","newProp":{"a":1},"@odata.type":"#microsoft.graph.futureThing"}"##,
    ] {
        let object = read_all_ways(text);
        let AnyDirectoryObject::Unknown(base) = &object else {
            panic!("not Unknown: {object:?}")
        };
        assert_eq!(base.id(), Some("f1"));
        assert_eq!(
            base.additional_data().get("newProp"),
            Some(&json!({"a": 1}))
        );
        assert_eq!(
            serde_json::to_value(&object).expect("serialise"),
            serde_json::from_str::<serde_json::Value>(text).expect("json")
        );
    }
}

#[test]
fn mixed_page_items_come_out_as_their_variants() {
    let page = r##"[{"@odata.type":"#microsoft.graph.user","id":"u"},
        {"@odata.type":"#microsoft.graph.group","id":"g"},
        {"@odata.type":"#microsoft.graph.directoryRole","id":"r"},
        {"id":"plain"}]"##;
    let items: Vec<AnyDirectoryObject> = serde_json::from_str(page).expect("page");
    assert!(matches!(items[0], AnyDirectoryObject::User(_)));
    assert!(matches!(items[1], AnyDirectoryObject::Group(_)));
    assert!(matches!(items[2], AnyDirectoryObject::DirectoryRole(_)));
    assert!(matches!(items[3], AnyDirectoryObject::DirectoryObject(_)));
}

#[test]
fn a_user_collection_without_annotations_reads_users() {
    let AnyUser::User(user) = serde_json::from_str::<AnyUser>(
        r#"{"id":"u1","displayName":"Adele","accountEnabled":true}"#,
    )
    .expect("user") else {
        panic!("not a user")
    };
    assert_eq!(user.account_enabled(), Some(true));
}

#[test]
fn errors_say_what_was_wrong_and_where() {
    let not_object = serde_json::from_str::<AnyDirectoryObject>(r#""text""#)
        .expect_err("a string is not an object")
        .to_string();
    assert!(not_object.contains("JSON object"), "{not_object}");
    let bad_field = serde_json::from_str::<AnyDirectoryObject>(
        "{\"@odata.type\":\"#microsoft.graph.group\",\n\"displayName\":5}",
    )
    .expect_err("displayName is a string")
    .to_string();
    assert!(bad_field.contains("line 2"), "{bad_field}");
    let bad_annotation =
        serde_json::from_str::<AnyDirectoryObject>(r##"{"@odata.type":"#microsoft.graph.group""##)
            .expect_err("truncated");
    assert!(bad_annotation.is_eof(), "{bad_annotation}");
}
