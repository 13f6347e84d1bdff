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
pub trait ReadFields: Default {
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
pub fn read<'de, T: ReadFields, D: Deserializer<'de>>(deserializer: D) -> Result<T, D::Error> {
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
