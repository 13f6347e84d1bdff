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
//! Either way the chosen type reads the rest of the object from the same map, with no
//! wrapper in between (see `read_fields::read_rest`).
//!
//! Works with any self-describing deserializer (a JSON string, bytes, reader or
//! `serde_json::Value`), and deserialization errors keep serde_json's line and column.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Serialize;
use serde::de::value::MapDeserializer;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use crate::AdditionalData;
use crate::read_fields::{Ahead, Key};

/// The annotation that names an instance's type.
const TYPE_KEY: &str = "@odata.type";

/// A generated `AnyX` enum: the declared type, the derived types this build knows, and
/// `Unknown` (implemented by generated code only).
pub trait Polymorphic: Sized + Serialize {
    /// The declared type's qualified name, e.g. `microsoft.graph.user`.
    const DECLARED: &'static str;

    /// Reads the rest of an object, after what was read `ahead`, as the variant for a
    /// normalised type name (`None`: the declared type; a name this build does not know:
    /// `Unknown`), with `read_fields::read_rest`.
    ///
    /// # Errors
    /// The deserializer's error.
    fn read_rest<'de, A: MapAccess<'de>>(
        odata_type: Option<&str>,
        ahead: Ahead<'de>,
        map: &mut A,
    ) -> Result<Self, A::Error>;

    /// The unknown properties and annotations of a value read as the declared type;
    /// `None` for every other variant.
    fn declared_data(&self) -> Option<&AdditionalData>;
}

/// Deserializes an `AnyX` enum (the body of its generated `Deserialize` impl).
pub fn read<'de, T: Polymorphic, D: Deserializer<'de>>(deserializer: D) -> Result<T, D::Error> {
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
        let Some(Key(first)) = map.next_key::<Key<'de>>()? else {
            return T::read_rest(None, Ahead::Ended, &mut map);
        };
        if first == TYPE_KEY {
            let annotation: serde_json::Value = map.next_value()?;
            let name = annotation.as_str().map(normalise).map(Cow::into_owned);
            let ahead = Ahead::Entry(first.into_owned(), annotation);
            return T::read_rest(name.as_deref(), ahead, &mut map);
        }
        let value = T::read_rest(None, Ahead::Key(first), &mut map)?;
        let late_type = value
            .declared_data()
            .and_then(|data| data.get(TYPE_KEY))
            .and_then(serde_json::Value::as_str)
            .map(normalise);
        match late_type {
            Some(name) if name != T::DECLARED => {
                let name = name.into_owned();
                reread(&value, &name).map_err(de::Error::custom)
            }
            _ => Ok(value),
        }
    }
}

/// Reads a value read as the declared type again as the type `name` (the rare late
/// `@odata.type`): through its JSON, which lost nothing.
fn reread<T: Polymorphic>(value: &T, name: &str) -> Result<T, serde_json::Error> {
    let serde_json::Value::Object(object) = serde_json::to_value(value)? else {
        return Err(de::Error::custom("a model did not serialise as an object"));
    };
    let mut map = MapDeserializer::<_, serde_json::Error>::new(object.into_iter());
    T::read_rest(Some(name), Ahead::Nothing, &mut map)
}
