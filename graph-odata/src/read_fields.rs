//! Reading the generated models: one pass over the JSON object, every known property stored
//! as it is read, everything else (properties added to Graph later, instance annotations such
//! as `@odata.type` and `@odata.etag`) kept as additional data.
//!
//! A generated model implements [`ReadFields`] with one `match` arm per property, instead
//! of deriving `Deserialize`: each value read goes straight into the model's compact
//! [`Properties`] (the allocation the model keeps), and nothing
//! is built for the properties that did not arrive. A property that appears twice keeps its
//! last value, as `serde_json::Value` does.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use crate::properties::{Properties, PropertiesReader};

/// A generated model, read property by property (implemented by generated code only).
pub trait ReadFields: Sized {
    /// The qualified type name, for error messages (`microsoft.graph.user`).
    const NAME: &'static str;

    /// Reads the value of property `key` into `into`. `Ok(false)`: `key` is not a property
    /// of this type and its value is still unread.
    fn read_field<'de, A: MapAccess<'de>>(
        key: &str,
        map: &mut A,
        into: &mut PropertiesReader,
    ) -> Result<bool, A::Error>;

    /// The model holding `properties`.
    fn from_properties(properties: Properties) -> Self;
}

/// Deserializes a generated model (the body of its `Deserialize` impl).
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
        read_rest(Ahead::Nothing, &mut map)
    }
}

/// What a caller already read of an object before handing the rest to [`read_rest`] (the
/// `AnyX` reader looks at the first key for `@odata.type`).
#[non_exhaustive]
pub enum Ahead<'de> {
    /// Nothing: the object is read from its first key.
    Nothing,
    /// The map has already reported its end (an empty object): it is not asked again, as
    /// some deserializers do not allow.
    Ended,
    /// A key whose value is still unread in the map.
    Key(Cow<'de, str>),
    /// A whole entry (the `@odata.type` annotation), kept as additional data.
    Entry(String, serde_json::Value),
}

/// Reads the rest of an object as `T`, after what was read `ahead`: one pass, every value
/// straight into the model's storage.
///
/// # Errors
/// The deserializer's error (malformed JSON, a value of the wrong type).
pub fn read_rest<'de, T: ReadFields, A: MapAccess<'de>>(
    ahead: Ahead<'de>,
    map: &mut A,
) -> Result<T, A::Error> {
    let mut reader = PropertiesReader::new();
    match ahead {
        Ahead::Nothing => {}
        Ahead::Ended => return Ok(T::from_properties(reader.finish())),
        Ahead::Key(key) => field::<T, A>(key, map, &mut reader)?,
        Ahead::Entry(key, value) => reader.extra(key, value),
    }
    while let Some(Key(key)) = map.next_key()? {
        field::<T, A>(key, map, &mut reader)?;
    }
    Ok(T::from_properties(reader.finish()))
}

fn field<'de, T: ReadFields, A: MapAccess<'de>>(
    key: Cow<'de, str>,
    map: &mut A,
    reader: &mut PropertiesReader,
) -> Result<(), A::Error> {
    if !T::read_field(&key, map, reader)? {
        let extra: serde_json::Value = map.next_value()?;
        reader.extra(key.into_owned(), extra);
    }
    Ok(())
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
