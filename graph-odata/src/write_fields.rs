//! Writing the generated model structs: the set fields in declaration order (unset ones
//! omitted, `Patch::Null` as `null`), then `additional_data`, as one JSON object.
//!
//! Generated `Serialize` impls are one [`FieldWriter::field`] call per property instead of
//! serde's derive, whose `skip_serializing_if` and `#[serde(flatten)]` expansion is several
//! times more code for the compiler to check (the models are most of a clean build).

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::{AdditionalData, Patch};

/// Writes one model object field by field (used by generated `Serialize` impls).
///
/// ```
/// use msgraph_typed_odata::{AdditionalData, Patch, write_fields::FieldWriter};
///
/// struct Contact { name: Patch<String>, phone: Patch<String>, extra: AdditionalData }
///
/// impl serde::Serialize for Contact {
///     fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
///         let mut writer = FieldWriter::new(serializer)?;
///         writer.field("name", &self.name)?;
///         writer.field("phone", &self.phone)?;
///         writer.end(&self.extra)
///     }
/// }
///
/// let mut extra = AdditionalData::new();
/// extra.insert("@odata.etag".into(), "W/\"1\"".into());
/// let contact = Contact { name: Patch::from("Ana".to_owned()), phone: Patch::Null, extra };
/// assert_eq!(
///     serde_json::to_string(&contact)?,
///     r#"{"name":"Ana","phone":null,"@odata.etag":"W/\"1\""}"#
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
#[must_use = "call `end` to finish the object"]
pub struct FieldWriter<M> {
    map: M,
}

impl<M: SerializeMap> FieldWriter<M> {
    /// Starts the object.
    ///
    /// # Errors
    /// The serializer's error.
    pub fn new<S>(serializer: S) -> Result<Self, S::Error>
    where
        S: Serializer<SerializeMap = M, Ok = M::Ok, Error = M::Error>,
    {
        Ok(Self {
            map: serializer.serialize_map(None)?,
        })
    }

    /// Writes property `name` unless it is [`Patch::Unset`] (`Patch::Null` is written as
    /// `null`).
    ///
    /// # Errors
    /// The serializer's error, or the value's.
    pub fn field<T: Serialize>(
        &mut self,
        name: &'static str,
        value: &Patch<T>,
    ) -> Result<(), M::Error> {
        if value.is_unset() {
            return Ok(());
        }
        self.map.serialize_entry(name, value)
    }

    /// Writes the unknown properties and annotations kept from a read, and ends the object.
    ///
    /// # Errors
    /// The serializer's error.
    pub fn end(mut self, additional_data: &AdditionalData) -> Result<M::Ok, M::Error> {
        for (name, value) in additional_data {
            self.map.serialize_entry(name, value)?;
        }
        self.map.end()
    }
}
