//! The OData value types of the typed Microsoft Graph SDK, shared by `msgraph-typed-core` (the HTTP
//! pipeline) and `msgraph-typed-models` (the generated Graph types), so that neither has to wait
//! for the other to compile:
//!
//! - [`edm`]: OData primitive types as they travel in Graph's JSON (date-times kept as
//!   text, `Double` with `INF`/`NaN`, base64 `Binary`, flags sets, string enums, literals
//!   for `$filter` and function parameters).
//! - [`Patch`]: a tri-state value (unset, `null`, value) and [`IntoPatch`], what generated
//!   setters take, so a write tells "leave unchanged" from "clear it"; [`PropertyState`]
//!   tells the three apart on a model that was read.
//! - [`Selectable`]: the link from a model to its generated `$select` field enum.
//! - `properties`, `read_fields` and `polymorphic` (hidden: used by generated code only): the
//!   compact storage of a generated model (only the properties present), how generated
//!   structs and `AnyX` enums are read from JSON in one pass, keeping unknown properties in
//!   [`AdditionalData`], and how they are written back.
//!
//! Applications use these through `msgraph-typed`, which re-exports `edm`, `Patch`,
//! `IntoPatch`, `PropertyState`, `AdditionalData`, `ODataValue` and `Selectable`.
//!
//! ```
//! use msgraph_typed_odata::{IntoPatch, Patch};
//!
//! // What a generated setter such as `User::set_mobile_phone` accepts:
//! fn patch(value: impl IntoPatch<String>) -> Patch<String> {
//!     value.into_patch()
//! }
//! assert_eq!(patch("+1 425 555 0109"), Patch::Value("+1 425 555 0109".to_owned()));
//! assert_eq!(patch(None), Patch::Null); // clear it: sent as `null`
//! assert_eq!(patch(Patch::Unset), Patch::Unset); // leave it out of the body
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod edm;
mod patch;

// Support for the generated models: public because `msgraph-typed-models` is another crate, hidden
// because only generated code should implement or call them (not a stable API).
#[doc(hidden)]
pub mod polymorphic;
#[doc(hidden)]
pub mod properties;
#[doc(hidden)]
pub mod read_fields;

pub use patch::{IntoPatch, Patch};
pub use properties::PropertyState;

/// Characters left as they are in a path segment.
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

/// Path helpers: one URL path segment as OData and Graph expect it.
pub mod path {
    use super::PATH_SEGMENT;

    /// Percent-encodes one path segment (an id, a UPN, a key): `/`, `?`, `#`, `%`, spaces,
    /// `+` and non-ASCII are encoded. `.` and `..` become `%2E` and `%2E%2E`; URL parsing still
    /// reads those as dot segments, so a request whose path holds one fails with an
    /// invalid-request error instead of climbing out of the API version.
    ///
    /// ```
    /// use msgraph_typed_odata::path::encode_segment;
    /// assert_eq!(encode_segment("alice@contoso.com"), "alice@contoso.com");
    /// assert_eq!(encode_segment("bob_contoso.com#EXT#@x.onmicrosoft.com"), "bob_contoso.com%23EXT%23@x.onmicrosoft.com");
    /// assert_eq!(encode_segment("a/b c+é"), "a%2Fb%20c%2B%C3%A9");
    /// assert_eq!(encode_segment(".."), "%2E%2E");
    /// ```
    pub fn encode_segment(segment: &str) -> String {
        match segment {
            "." => "%2E".to_string(),
            ".." => "%2E%2E".to_string(),
            _ => percent_encoding::utf8_percent_encode(segment, PATH_SEGMENT).to_string(),
        }
    }
}

/// Unknown properties and instance annotations of a model, by wire name.
pub type AdditionalData = serde_json::Map<String, serde_json::Value>;

/// Implemented by generated models so that `select` takes typed field names: a typo is a
/// compile error.
pub trait Selectable {
    /// The model's field names (their wire names via `AsRef<str>`).
    type Field: AsRef<str> + Copy;
}

/// The `{"value": ...}` envelope of an action or function that returns a primitive or a
/// collection (for example `getMemberGroups`).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ODataValue<T> {
    /// The result.
    pub value: T,
    /// `@odata.context` and anything else the service sent.
    #[serde(flatten)]
    pub additional_data: AdditionalData,
}
