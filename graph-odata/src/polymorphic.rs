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
pub trait Polymorphic: Sized + Serialize {
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
