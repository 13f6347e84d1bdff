//! [`Patch`]: a tri-state field value (unset, null, value).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A model field: absent ([`Patch::Unset`]), explicitly `null` ([`Patch::Null`]) or a value.
///
/// Reading: a property missing from the response is `Unset`, a JSON `null` is `Null`, so a
/// model re-serialises exactly as it was received. Writing (create, `PATCH`): `Unset` fields
/// are omitted, `Null` fields are sent as `null` (this clears the property on the service),
/// and values are sent as they are.
///
/// ```
/// use msgraph_typed_odata::Patch;
///
/// #[derive(serde::Serialize, Default)]
/// #[serde(rename_all = "camelCase")]
/// struct User {
///     #[serde(skip_serializing_if = "Patch::is_unset")]
///     display_name: Patch<String>,
///     #[serde(skip_serializing_if = "Patch::is_unset")]
///     mobile_phone: Patch<String>,
///     #[serde(skip_serializing_if = "Patch::is_unset")]
///     job_title: Patch<String>,
/// }
///
/// let mut body = User::default();
/// body.display_name = Patch::from("Adele Vance".to_owned());
/// body.mobile_phone = Patch::Null; // clear it; job_title stays Unset and is not sent
/// let json = serde_json::to_value(&body)?;
/// assert_eq!(json, serde_json::json!({"displayName": "Adele Vance", "mobilePhone": null}));
/// assert_eq!(body.display_name.value().map(String::as_str), Some("Adele Vance"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum Patch<T> {
    /// Absent: not received, or not to be sent. Defaults to this.
    #[default]
    Unset,
    /// Explicitly `null`.
    Null,
    /// A value.
    Value(T),
}

impl<T> Patch<T> {
    /// `true` for [`Patch::Unset`] (used by `skip_serializing_if`).
    pub fn is_unset(&self) -> bool {
        matches!(self, Patch::Unset)
    }

    /// `true` for [`Patch::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Patch::Null)
    }

    /// The value, if there is one.
    pub fn value(&self) -> Option<&T> {
        match self {
            Patch::Value(v) => Some(v),
            _ => None,
        }
    }

    /// A mutable reference to the value, if there is one.
    pub fn value_mut(&mut self) -> Option<&mut T> {
        match self {
            Patch::Value(v) => Some(v),
            _ => None,
        }
    }

    /// The value, consuming the field.
    pub fn into_value(self) -> Option<T> {
        match self {
            Patch::Value(v) => Some(v),
            _ => None,
        }
    }

    /// Borrows the value (`Patch<&T>`), keeping the state.
    pub fn as_ref(&self) -> Patch<&T> {
        match self {
            Patch::Unset => Patch::Unset,
            Patch::Null => Patch::Null,
            Patch::Value(v) => Patch::Value(v),
        }
    }

    /// Maps the value, keeping `Unset` and `Null`.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Patch<U> {
        match self {
            Patch::Unset => Patch::Unset,
            Patch::Null => Patch::Null,
            Patch::Value(v) => Patch::Value(f(v)),
        }
    }
}

impl<T: std::ops::Deref> Patch<T> {
    /// The value dereferenced (`Patch<String>` gives `Option<&str>`).
    pub fn as_deref(&self) -> Option<&T::Target> {
        self.value().map(|v| &**v)
    }
}

impl<T> From<T> for Patch<T> {
    fn from(value: T) -> Self {
        Patch::Value(value)
    }
}

/// Structured properties (complex types, navigation targets) are boxed in the models, so a
/// model's size does not grow with what it could contain; this boxes the value for you:
/// `user.password_profile = profile.into()`.
impl<T> From<T> for Patch<Box<T>> {
    fn from(value: T) -> Self {
        Patch::Value(Box::new(value))
    }
}

impl<T> From<Option<T>> for Patch<T> {
    /// `None` becomes [`Patch::Unset`]: a DTO's missing value sends nothing.
    fn from(value: Option<T>) -> Self {
        match value {
            Some(v) => Patch::Value(v),
            None => Patch::Unset,
        }
    }
}

/// What a generated setter accepts: a value (set it), `None` (clear it: sent as `null`), or a
/// [`Patch`] (including [`Patch::Unset`]: leave it out of the body).
///
/// ```
/// use msgraph_typed_odata::{IntoPatch, Patch};
///
/// fn set(value: impl IntoPatch<String>) -> Patch<String> {
///     value.into_patch()
/// }
/// assert_eq!(set("Adele"), Patch::Value("Adele".to_owned()));
/// assert_eq!(set(None), Patch::Null); // clear it
/// assert_eq!(set(Patch::Unset), Patch::Unset); // leave it out
/// ```
pub trait IntoPatch<T> {
    /// The tri-state value.
    fn into_patch(self) -> Patch<T>;
}

impl<T> IntoPatch<T> for T {
    fn into_patch(self) -> Patch<T> {
        Patch::Value(self)
    }
}

impl<T> IntoPatch<T> for Option<T> {
    /// `None` clears the property (`null`), `Some` sets it.
    fn into_patch(self) -> Patch<T> {
        match self {
            Some(v) => Patch::Value(v),
            None => Patch::Null,
        }
    }
}

impl<T> IntoPatch<T> for Patch<T> {
    fn into_patch(self) -> Patch<T> {
        self
    }
}

impl IntoPatch<String> for &str {
    fn into_patch(self) -> Patch<String> {
        Patch::Value(self.to_owned())
    }
}

impl<T: Serialize> Serialize for Patch<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            // Unset fields are skipped by `skip_serializing_if`; elsewhere they mean null.
            Patch::Unset | Patch::Null => serializer.serialize_none(),
            Patch::Value(v) => serializer.serialize_some(v),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(deserializer)? {
            Some(v) => Patch::Value(v),
            None => Patch::Null,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize, Default, Debug, PartialEq)]
    #[serde(default)]
    struct Body {
        #[serde(skip_serializing_if = "Patch::is_unset")]
        a: Patch<String>,
        #[serde(skip_serializing_if = "Patch::is_unset")]
        b: Patch<i32>,
    }

    #[test]
    fn tri_state_round_trip() {
        let parsed: Body = serde_json::from_str(r#"{"a": null}"#).unwrap();
        assert_eq!(parsed.a, Patch::Null);
        assert_eq!(parsed.b, Patch::Unset);
        assert_eq!(serde_json::to_string(&parsed).unwrap(), r#"{"a":null}"#);
        let body = Body {
            a: Patch::Unset,
            b: 3.into(),
        };
        assert_eq!(serde_json::to_string(&body).unwrap(), r#"{"b":3}"#);
        let from_none: Patch<i32> = None.into();
        assert!(from_none.is_unset());
    }

    #[test]
    fn a_structured_value_is_boxed_by_into() {
        let boxed: Patch<Box<Body>> = Body::default().into();
        assert_eq!(boxed, Patch::Value(Box::new(Body::default())));
        let plain: Patch<i32> = 5.into();
        assert_eq!(plain, Patch::Value(5));
    }
}
