//! Reading the generated model structs: one pass over the JSON object, every known property
//! assigned in place, everything else (properties added to Graph later, instance
//! annotations such as `@odata.type` and `@odata.etag`) kept in `additional_data`.
//!
//! A generated struct implements [`ReadFields`] with one `match` arm per property, instead
//! of deriving `Deserialize`: serde's derive keeps an `Option` per property on the stack,
//! builds a second default value for the missing ones and buffers unknown keys for
//! `#[serde(flatten)]`, which costs a `user` (about 150 properties) several times the parse
//! itself, and compiles to much more code. A property that appears twice keeps its last
//! value, as `serde_json::Value` does.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use crate::AdditionalData;

/// A generated model struct, read field by field (implemented by generated code only).
pub(crate) trait ReadFields: Default {
    /// The qualified type name, for error messages (`microsoft.graph.user`).
    const NAME: &'static str;

    /// Reads the value of property `key` into its field. `Ok(false)`: `key` is not a
    /// property of this type and its value is still unread.
    fn read_field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
    ) -> Result<bool, A::Error>;

    /// Where properties without a field go.
    fn additional_data_mut(&mut self) -> &mut AdditionalData;
}

/// Deserializes a generated struct (the body of its `Deserialize` impl).
pub(crate) fn read<'de, T: ReadFields, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    deserializer.deserialize_map(FieldsVisitor(PhantomData))
}

struct FieldsVisitor<T>(PhantomData<T>);

impl<'de, T: ReadFields> Visitor<'de> for FieldsVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a JSON object (a {})", T::NAME)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let mut value = T::default();
        while let Some(Key(key)) = map.next_key()? {
            if !value.read_field(&key, &mut map)? {
                let extra: serde_json::Value = map.next_value()?;
                value.additional_data_mut().insert(key.into_owned(), extra);
            }
        }
        Ok(value)
    }
}

/// A property name, borrowed from the input when the deserializer allows it.
pub(crate) struct Key<'de>(pub(crate) Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a property name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(all(test, feature = "identity"))]
mod tests {
    use serde_json::json;

    use crate::Patch;
    use crate::models::User;

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
        let c: User =
            serde_json::from_value(serde_json::from_str(text).expect("json")).expect("value");
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
}
