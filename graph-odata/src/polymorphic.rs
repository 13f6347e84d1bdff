//! Reading the generated `AnyX` enums by `@odata.type` without buffering the object.
//!
//! Graph writes `@odata.type` first in an object when it writes it at all (OData's JSON
//! format puts control information before the properties), and a collection of the declared
//! type usually carries none. So the object is read in one pass:
//!
//! - first key `@odata.type`: the variant is chosen from it and the rest of the object is
//!   read straight into that type (the annotation is handed to it too, so it is kept);
//! - any other first key (or an empty object): the object is read as the declared type.
//!   Should an `@odata.type` naming another type turn up later in the object, the declared
//!   value, which lost nothing (unknown properties land in `additional_data`), is read again
//!   as that type. Only this rare case buffers.
//!
//! Works with any self-describing deserializer (a JSON string, bytes, reader or
//! `serde_json::Value`), and deserialization errors keep serde_json's line and column.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Serialize;
use serde::de::value::{BorrowedStrDeserializer, MapAccessDeserializer, StringDeserializer};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};

use crate::AdditionalData;
use crate::read_fields::Key;

/// The annotation that names an instance's type.
const TYPE_KEY: &str = "@odata.type";

/// A generated `AnyX` enum: the declared type, the derived types this build knows, and
/// `Unknown` (implemented by generated code only).
pub(crate) trait Polymorphic: Sized + Serialize {
    /// The declared type's qualified name, e.g. `microsoft.graph.user`.
    const DECLARED: &'static str;

    /// Reads the variant for a normalised type name (`None`: the declared type; a name
    /// this build does not know: `Unknown`).
    fn read_as<'de, D: Deserializer<'de>>(
        odata_type: Option<&str>,
        deserializer: D,
    ) -> Result<Self, D::Error>;

    /// The unknown properties and annotations of a value read as the declared type;
    /// `None` for every other variant.
    fn declared_data(&self) -> Option<&AdditionalData>;
}

/// Deserializes an `AnyX` enum (the body of its generated `Deserialize` impl).
pub(crate) fn read<'de, T: Polymorphic, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    deserializer.deserialize_map(PolymorphicVisitor(PhantomData))
}

/// `#microsoft.graph.user`, `graph.user` and `microsoft.graph.user` all name one type.
fn normalise(odata_type: &str) -> Cow<'_, str> {
    let name = odata_type.trim_start_matches('#');
    match name.strip_prefix("graph.") {
        Some(rest) => Cow::Owned(format!("microsoft.graph.{rest}")),
        None => Cow::Borrowed(name),
    }
}

struct PolymorphicVisitor<T>(PhantomData<T>);

impl<'de, T: Polymorphic> Visitor<'de> for PolymorphicVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a JSON object (a {} or a derived type)", T::DECLARED)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let Some(first) = map.next_key::<Key<'de>>()? else {
            return T::read_as(None, MapAccessDeserializer::new(Replay::new(None, map)));
        };
        if first.0 == TYPE_KEY {
            let annotation: serde_json::Value = map.next_value()?;
            let name = annotation.as_str().map(normalise).map(Cow::into_owned);
            let rest = Replay::new(Some(Pending::Entry(first, annotation)), map);
            return T::read_as(name.as_deref(), MapAccessDeserializer::new(rest));
        }
        let rest = Replay::new(Some(Pending::Key(first)), map);
        let value = T::read_as(None, MapAccessDeserializer::new(rest))?;
        let late_type = value
            .declared_data()
            .and_then(|data| data.get(TYPE_KEY))
            .and_then(serde_json::Value::as_str)
            .map(normalise);
        match late_type {
            Some(name) if name != T::DECLARED => {
                let name = name.into_owned();
                let json = serde_json::to_value(&value).map_err(de::Error::custom)?;
                T::read_as(Some(&name), json).map_err(de::Error::custom)
            }
            _ => Ok(value),
        }
    }
}

/// What was read ahead of the chosen type's deserializer and must be handed to it.
enum Pending<'de> {
    /// A key whose value is still unread in the underlying map.
    Key(Key<'de>),
    /// The `@odata.type` entry, read whole.
    Entry(Key<'de>, serde_json::Value),
}

/// The rest of a map with what was read ahead put back in front.
struct Replay<'de, A> {
    pending: Option<Pending<'de>>,
    value: Option<serde_json::Value>,
    /// `Some` until the underlying map reported its end (never asked again afterwards).
    inner: Option<A>,
}

impl<'de, A> Replay<'de, A> {
    fn new(pending: Option<Pending<'de>>, inner: A) -> Self {
        // An empty object's map has already said it is done.
        let ended = pending.is_none();
        Self {
            pending,
            value: None,
            inner: if ended { None } else { Some(inner) },
        }
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Replay<'de, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let key = match self.pending.take() {
            Some(Pending::Key(key)) => key,
            Some(Pending::Entry(key, value)) => {
                self.value = Some(value);
                key
            }
            None => {
                let Some(inner) = self.inner.as_mut() else {
                    return Ok(None);
                };
                let next = inner.next_key_seed(seed)?;
                if next.is_none() {
                    self.inner = None;
                }
                return Ok(next);
            }
        };
        match key.0 {
            Cow::Borrowed(text) => seed
                .deserialize(BorrowedStrDeserializer::<A::Error>::new(text))
                .map(Some),
            Cow::Owned(text) => seed
                .deserialize(StringDeserializer::<A::Error>::new(text))
                .map(Some),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        if let Some(value) = self.value.take() {
            return seed.deserialize(value).map_err(de::Error::custom);
        }
        match self.inner.as_mut() {
            Some(inner) => inner.next_value_seed(seed),
            None => Err(de::Error::custom(
                "a value was asked for after the object ended",
            )),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        let ahead = usize::from(self.pending.is_some());
        match &self.inner {
            Some(inner) => inner.size_hint().map(|n| n + ahead),
            None => Some(ahead),
        }
    }
}

#[cfg(all(test, feature = "identity"))]
mod tests {
    use serde_json::json;

    use crate::Patch;
    use crate::models::{AnyDirectoryObject, AnyUser};

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
            AnyDirectoryObject::Group(group) => match &group.display_name {
                Patch::Value(name) => Some(name.clone()),
                _ => None,
            },
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
        assert_eq!(group.additional_data.get("x-new"), Some(&json!([1, 2])));
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
            assert_eq!(object.id, Patch::Value("d1".to_owned()), "{text}");
            assert_eq!(object.deleted_date_time, Patch::Null, "{text}");
        }
    }

    #[test]
    fn empty_object_is_the_declared_type_with_nothing_set() {
        let AnyDirectoryObject::DirectoryObject(object) = read_all_ways("{}") else {
            panic!("not the declared type")
        };
        assert_eq!(object.id, Patch::Unset);
        assert!(object.additional_data.is_empty());
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
            assert_eq!(base.id, Patch::Value("f1".to_owned()));
            assert_eq!(base.additional_data.get("newProp"), Some(&json!({"a": 1})));
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
        assert_eq!(user.account_enabled, Patch::Value(true));
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
        let bad_annotation = serde_json::from_str::<AnyDirectoryObject>(
            r##"{"@odata.type":"#microsoft.graph.group""##,
        )
        .expect_err("truncated");
        assert!(bad_annotation.is_eof(), "{bad_annotation}");
    }
}
