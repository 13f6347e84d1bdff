//! Compact storage of a generated model's properties: only the properties that arrived (or
//! were set) are stored, each as a small id and its value, in arrival order. A `user` that
//! came with 14 properties costs 14 entries of 32 bytes, not a field for each of its ~150
//! properties, and a model is 48 bytes whatever its type, so pages and streams move small
//! values.
//!
//! Strings, booleans, integers, doubles and string lists (most of what Graph sends) are stored
//! inline; anything else (complex values, enums, Edm values, expanded navigations,
//! collections of those) is boxed once. Reads go through generated getters, writes through
//! generated setters with the three states of [`Patch`]: unset (absent), `null`, a value.
//! Properties this version does not know, and instance annotations, are kept beside them, so a
//! model serialises back to what it was read from.
//!
//! Used by generated code only; applications use the getters and setters.

use std::any::Any;
use std::fmt;

use serde::Serialize;
use serde::de::{Deserialize, MapAccess};
use serde::ser::{Error as _, SerializeMap, Serializer};

use crate::{AdditionalData, Patch};

/// A value of a property that is not stored inline: a complex value, an enum, an Edm value,
/// an expanded navigation, a collection of those. Implemented for every type that can be one.
pub trait Stored: Any + Send + Sync + fmt::Debug {
    /// A copy, boxed.
    fn clone_box(&self) -> Box<dyn Stored>;
    /// Whether `other` is an equal value of the same type.
    fn eq_stored(&self, other: &dyn Stored) -> bool;
    /// The value, to serialise it into any serializer.
    fn as_serialize(&self) -> &dyn erased_serde::Serialize;
    /// The value as `Any`, to read it back as its type.
    fn as_any(&self) -> &dyn Any;
}

impl<T> Stored for T
where
    T: Any + Clone + PartialEq + fmt::Debug + Serialize + Send + Sync,
{
    fn clone_box(&self) -> Box<dyn Stored> {
        Box::new(self.clone())
    }

    fn eq_stored(&self, other: &dyn Stored) -> bool {
        other.as_any().downcast_ref::<T>() == Some(self)
    }

    fn as_serialize(&self) -> &dyn erased_serde::Serialize {
        self
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// One stored property value.
#[derive(Debug)]
enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Double(f64),
    Str(Box<str>),
    Strings(Box<[String]>),
    Other(Box<dyn Stored>),
}

impl Clone for Value {
    fn clone(&self) -> Self {
        match self {
            Value::Null => Value::Null,
            Value::Bool(v) => Value::Bool(*v),
            Value::Int(v) => Value::Int(*v),
            Value::Double(v) => Value::Double(*v),
            Value::Str(v) => Value::Str(v.clone()),
            Value::Strings(v) => Value::Strings(v.clone()),
            Value::Other(v) => Value::Other(v.clone_box()),
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Double(a), Value::Double(b)) => a == b || (a.is_nan() && b.is_nan()),
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Strings(a), Value::Strings(b)) => a == b,
            (Value::Other(a), Value::Other(b)) => a.eq_stored(b.as_ref()),
            _ => false,
        }
    }
}

/// A property and its value.
#[derive(Clone, Debug, PartialEq)]
struct Entry {
    value: Value,
    id: u16,
}

/// Whether a property is absent, `null` or has a value (reads do not tell absent from `null`;
/// this does, for delta queries and PATCH bodies).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PropertyState {
    /// Not in the payload (or never set).
    Absent,
    /// Explicitly `null`.
    Null,
    /// A value.
    Present,
}

/// The properties of one model: the stored ones, and those this version does not know.
#[derive(Clone, Default)]
pub struct Properties {
    entries: Vec<Entry>,
    extra: AdditionalData,
}

impl fmt::Debug for Properties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Properties")
            .field("entries", &self.entries)
            .field("additional_data", &self.extra)
            .finish()
    }
}

impl PartialEq for Properties {
    /// The same properties with equal values, in any order.
    fn eq(&self, other: &Self) -> bool {
        self.entries.len() == other.entries.len()
            && self.entries.iter().all(|e| {
                other
                    .entries
                    .iter()
                    .any(|o| o.id == e.id && o.value == e.value)
            })
            && self.extra == other.extra
    }
}

impl Properties {
    /// No properties.
    pub fn new() -> Self {
        Self::default()
    }

    fn find(&self, id: u16) -> Option<&Value> {
        self.entries.iter().find(|e| e.id == id).map(|e| &e.value)
    }

    /// A string property.
    pub fn str(&self, id: u16) -> Option<&str> {
        match self.find(id)? {
            Value::Str(v) => Some(v),
            _ => None,
        }
    }

    /// A boolean property.
    pub fn bool(&self, id: u16) -> Option<bool> {
        match self.find(id)? {
            Value::Bool(v) => Some(*v),
            _ => None,
        }
    }

    /// An integer property, as the property's type (values were read as that type).
    pub fn int<T: TryFrom<i64>>(&self, id: u16) -> Option<T> {
        match self.find(id)? {
            Value::Int(v) => T::try_from(*v).ok(),
            _ => None,
        }
    }

    /// A floating-point property (`Edm.Double`, `Edm.Single`, `Edm.Decimal`).
    pub fn double(&self, id: u16) -> Option<f64> {
        match self.find(id)? {
            Value::Double(v) => Some(*v),
            _ => None,
        }
    }

    /// A collection of strings; empty when absent or `null`.
    pub fn strings(&self, id: u16) -> &[String] {
        match self.find(id) {
            Some(Value::Strings(v)) => v,
            _ => &[],
        }
    }

    /// A boxed property, as its type.
    pub fn get<T: 'static>(&self, id: u16) -> Option<&T> {
        match self.find(id)? {
            Value::Other(v) => v.as_any().downcast_ref::<T>(),
            _ => None,
        }
    }

    /// A boxed collection; empty when absent or `null`.
    pub fn list<T: 'static>(&self, id: u16) -> &[T] {
        self.get::<Vec<T>>(id).map_or(&[], Vec::as_slice)
    }

    /// Whether property `id` is absent, `null` or set.
    pub fn state(&self, id: u16) -> PropertyState {
        match self.find(id) {
            None => PropertyState::Absent,
            Some(Value::Null) => PropertyState::Null,
            Some(_) => PropertyState::Present,
        }
    }

    /// The state of the property whose wire name is `name` (`names` maps ids to wire names);
    /// properties this version does not know are looked up among the additional data.
    pub fn state_by_name(&self, name: &str, names: &[&str]) -> PropertyState {
        let stored = self
            .entries
            .iter()
            .find(|e| names.get(usize::from(e.id)) == Some(&name));
        match stored.map(|e| &e.value) {
            Some(Value::Null) => PropertyState::Null,
            Some(_) => PropertyState::Present,
            None => match self.extra.get(name) {
                None => PropertyState::Absent,
                Some(serde_json::Value::Null) => PropertyState::Null,
                Some(_) => PropertyState::Present,
            },
        }
    }

    /// How many properties are stored (known and unknown).
    pub fn len(&self) -> usize {
        self.entries.len() + self.extra.len()
    }

    /// Whether no property is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn put(&mut self, id: u16, value: Option<Value>) {
        let at = self.entries.iter().position(|e| e.id == id);
        match (at, value) {
            (Some(i), Some(value)) => self.entries[i].value = value,
            (None, Some(value)) => self.entries.push(Entry { value, id }),
            (Some(i), None) => {
                self.entries.remove(i);
            }
            (None, None) => {}
        }
    }

    fn put_patch<T>(&mut self, id: u16, patch: Patch<T>, wrap: impl FnOnce(T) -> Value) {
        let value = match patch {
            Patch::Unset => None,
            Patch::Null => Some(Value::Null),
            Patch::Value(v) => Some(wrap(v)),
        };
        self.put(id, value);
    }

    /// Sets (or clears, or removes) a string property.
    pub fn set_str(&mut self, id: u16, value: Patch<String>) {
        self.put_patch(id, value, |v| Value::Str(v.into_boxed_str()));
    }

    /// Sets (or clears, or removes) a boolean property.
    pub fn set_bool(&mut self, id: u16, value: Patch<bool>) {
        self.put_patch(id, value, Value::Bool);
    }

    /// Sets (or clears, or removes) an integer property.
    pub fn set_int<T: Into<i64>>(&mut self, id: u16, value: Patch<T>) {
        self.put_patch(id, value, |v| Value::Int(v.into()));
    }

    /// Sets (or clears, or removes) a floating-point property.
    pub fn set_double(&mut self, id: u16, value: Patch<f64>) {
        self.put_patch(id, value, Value::Double);
    }

    /// Sets (or clears, or removes) a collection of strings.
    pub fn set_strings(&mut self, id: u16, value: Patch<Vec<String>>) {
        self.put_patch(id, value, |v| Value::Strings(v.into_boxed_slice()));
    }

    /// Sets (or clears, or removes) a boxed property.
    pub fn set<T: Stored>(&mut self, id: u16, value: Patch<T>) {
        self.put_patch(id, value, |v| Value::Other(Box::new(v)));
    }

    /// Properties this version does not know, and instance annotations, by wire name.
    pub fn additional_data(&self) -> &AdditionalData {
        &self.extra
    }

    /// As [`Properties::additional_data`], to change them.
    pub fn additional_data_mut(&mut self) -> &mut AdditionalData {
        &mut self.extra
    }

    /// Writes the properties as one JSON object: the stored ones in order (`names` maps ids to
    /// wire names), then the additional data.
    ///
    /// # Errors
    /// The serializer's error.
    pub fn serialize<S: Serializer>(
        &self,
        serializer: S,
        names: &[&str],
    ) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for entry in &self.entries {
            let name = names
                .get(usize::from(entry.id))
                .ok_or_else(|| S::Error::custom(format!("no property with id {}", entry.id)))?;
            match &entry.value {
                Value::Null => map.serialize_entry(name, &())?,
                Value::Bool(v) => map.serialize_entry(name, v)?,
                Value::Int(v) => map.serialize_entry(name, v)?,
                Value::Double(v) => map.serialize_entry(name, &crate::edm::Double(*v))?,
                Value::Str(v) => map.serialize_entry(name, v.as_ref())?,
                Value::Strings(v) => map.serialize_entry(name, v.as_ref())?,
                Value::Other(v) => map.serialize_entry(name, v.as_serialize())?,
            }
        }
        for (name, value) in &self.extra {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }

    /// Formats the properties as a map of wire names (`type_name { name: value, .. }`).
    ///
    /// # Errors
    /// The formatter's error.
    pub fn fmt_as(
        &self,
        f: &mut fmt::Formatter<'_>,
        type_name: &str,
        names: &[&str],
    ) -> fmt::Result {
        let mut out = f.debug_struct(type_name);
        for entry in &self.entries {
            let name = names.get(usize::from(entry.id)).copied().unwrap_or("?");
            match &entry.value {
                Value::Null => out.field(name, &Option::<()>::None),
                Value::Bool(v) => out.field(name, v),
                Value::Int(v) => out.field(name, v),
                Value::Double(v) => out.field(name, v),
                Value::Str(v) => out.field(name, v),
                Value::Strings(v) => out.field(name, v),
                Value::Other(v) => out.field(name, v),
            };
        }
        if !self.extra.is_empty() {
            out.field("additional_data", &self.extra);
        }
        out.finish()
    }
}

/// Collects the properties of one object while it is read, straight into the allocation the
/// model keeps (trimmed at the end when much is left over).
pub struct PropertiesReader {
    entries: Vec<Entry>,
    /// One bit per `id % 64` already read: a property seen again (rare) is looked for only
    /// when its bit is set.
    seen: u64,
    extra: AdditionalData,
}

impl Default for PropertiesReader {
    fn default() -> Self {
        Self::new()
    }
}

/// Entries reserved at the first property: Graph's default `user` has 14 properties.
const FIRST_RESERVE: usize = 16;

impl PropertiesReader {
    /// An empty reader.
    pub fn new() -> Self {
        Self {
            entries: Vec::new(),
            seen: 0,
            extra: AdditionalData::new(),
        }
    }

    fn push(&mut self, id: u16, value: Value) {
        let bit = 1u64 << (id % 64);
        // A property that appears twice keeps its last value, as `serde_json::Value` does.
        if self.seen & bit != 0
            && let Some(entry) = self.entries.iter_mut().find(|e| e.id == id)
        {
            entry.value = value;
            return;
        }
        self.seen |= bit;
        if self.entries.capacity() == 0 {
            self.entries.reserve_exact(FIRST_RESERVE);
        }
        self.entries.push(Entry { value, id });
    }

    /// Reads a string property's value (or `null`).
    ///
    /// # Errors
    /// The deserializer's error (a value of another type).
    pub fn str<'de, A: MapAccess<'de>>(&mut self, id: u16, map: &mut A) -> Result<(), A::Error> {
        let value = map.next_value::<Option<String>>()?;
        self.push(
            id,
            value.map_or(Value::Null, |v| Value::Str(v.into_boxed_str())),
        );
        Ok(())
    }

    /// Reads a boolean property's value (or `null`).
    ///
    /// # Errors
    /// The deserializer's error.
    pub fn bool<'de, A: MapAccess<'de>>(&mut self, id: u16, map: &mut A) -> Result<(), A::Error> {
        let value = map.next_value::<Option<bool>>()?;
        self.push(id, value.map_or(Value::Null, Value::Bool));
        Ok(())
    }

    /// Reads an integer property's value as `T` (range-checked), or `null`.
    ///
    /// # Errors
    /// The deserializer's error (not a `T`).
    pub fn int<'de, T, A>(&mut self, id: u16, map: &mut A) -> Result<(), A::Error>
    where
        T: Deserialize<'de> + Into<i64>,
        A: MapAccess<'de>,
    {
        let value = map.next_value::<Option<T>>()?;
        self.push(id, value.map_or(Value::Null, |v| Value::Int(v.into())));
        Ok(())
    }

    /// Reads a floating-point property's value (a number, or `INF`, `-INF`, `NaN`), or `null`.
    ///
    /// # Errors
    /// The deserializer's error.
    pub fn double<'de, A: MapAccess<'de>>(&mut self, id: u16, map: &mut A) -> Result<(), A::Error> {
        let value = map.next_value::<Option<crate::edm::Double>>()?;
        self.push(id, value.map_or(Value::Null, |v| Value::Double(v.0)));
        Ok(())
    }

    /// Reads a collection of strings, or `null`.
    ///
    /// # Errors
    /// The deserializer's error.
    pub fn strings<'de, A: MapAccess<'de>>(
        &mut self,
        id: u16,
        map: &mut A,
    ) -> Result<(), A::Error> {
        let value = map.next_value::<Option<Vec<String>>>()?;
        self.push(
            id,
            value.map_or(Value::Null, |v| Value::Strings(v.into_boxed_slice())),
        );
        Ok(())
    }

    /// Reads any other property's value as `T` (boxed), or `null`.
    ///
    /// # Errors
    /// The deserializer's error.
    pub fn other<'de, T, A>(&mut self, id: u16, map: &mut A) -> Result<(), A::Error>
    where
        T: Deserialize<'de> + Stored,
        A: MapAccess<'de>,
    {
        let value = map.next_value::<Option<T>>()?;
        self.push(id, value.map_or(Value::Null, |v| Value::Other(Box::new(v))));
        Ok(())
    }

    /// Keeps a property this version does not know (or an annotation) as JSON.
    pub fn extra(&mut self, name: String, value: serde_json::Value) {
        self.extra.insert(name, value);
    }

    /// The properties read.
    pub fn finish(mut self) -> Properties {
        // Small objects (a complex value with two properties) give back what they did not
        // use (a shrinking reallocation, usually in place).
        if self.entries.capacity() - self.entries.len() > 4 {
            self.entries.shrink_to_fit();
        }
        Properties {
            entries: self.entries,
            extra: self.extra,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: &[&str] = &[
        "id",
        "displayName",
        "accountEnabled",
        "businessPhones",
        "age",
    ];

    #[test]
    fn setters_keep_the_three_states_and_serialise_what_was_set() {
        let mut p = Properties::new();
        p.set_str(0, Patch::from("u1".to_owned()));
        p.set_str(1, Patch::Null);
        p.set_bool(2, Patch::from(true));
        p.set_strings(3, Patch::from(vec!["+1 555".to_owned()]));
        p.set_int(4, Patch::<i32>::from(42));
        assert_eq!(p.str(0), Some("u1"));
        assert_eq!(p.str(1), None);
        assert_eq!(p.state(1), PropertyState::Null);
        assert_eq!(p.state_by_name("displayName", NAMES), PropertyState::Null);
        assert_eq!(p.int::<i32>(4), Some(42));
        assert_eq!(p.strings(3), ["+1 555".to_owned()]);
        // Unset removes.
        p.set_bool(2, Patch::Unset);
        assert_eq!(p.state(2), PropertyState::Absent);
        let json = serde_json::to_string(&Wrapper(&p)).unwrap();
        assert_eq!(
            json,
            r#"{"id":"u1","displayName":null,"businessPhones":["+1 555"],"age":42}"#
        );
    }

    struct Wrapper<'a>(&'a Properties);

    impl Serialize for Wrapper<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            self.0.serialize(s, NAMES)
        }
    }

    #[test]
    fn equality_ignores_order_and_boxed_values_compare_by_type() {
        let mut a = Properties::new();
        a.set_str(0, Patch::from("x".to_owned()));
        a.set(1, Patch::Value(vec![1u8, 2]));
        let mut b = Properties::new();
        b.set(1, Patch::Value(vec![1u8, 2]));
        b.set_str(0, Patch::from("x".to_owned()));
        assert_eq!(a, b);
        b.set(1, Patch::Value(vec![1u16, 2]));
        assert_ne!(a, b, "another type with the same JSON is another value");
        assert_eq!(a.get::<Vec<u8>>(1), Some(&vec![1u8, 2]));
        assert_eq!(a.get::<Vec<u16>>(1), None);
    }

    #[test]
    fn a_repeated_id_keeps_the_last_value_and_ids_sharing_a_bit_stay_apart() {
        let mut reader = PropertiesReader::new();
        // 3 and 67 share a bit of the 64-bit mask (67 % 64 == 3); 3 then comes again.
        reader.push(3, Value::Int(1));
        reader.push(67, Value::Int(2));
        reader.push(3, Value::Int(3));
        reader.push(131, Value::Null);
        let p = reader.finish();
        assert_eq!(p.entries.len(), 3);
        assert_eq!(p.int::<i64>(3), Some(3));
        assert_eq!(p.int::<i64>(67), Some(2));
        assert_eq!(p.state(131), PropertyState::Null);
        // Trimmed: 3 entries kept of the 16 reserved at the first property.
        assert!(p.entries.capacity() - p.entries.len() <= 4);
    }

    #[test]
    fn an_entry_is_small() {
        assert_eq!(std::mem::size_of::<Entry>(), 32);
        assert_eq!(std::mem::size_of::<Properties>(), 48);
    }
}
