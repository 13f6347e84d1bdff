//! The OData value types of the typed Microsoft Graph SDK, shared by `msgraph-typed-core` (the HTTP
//! pipeline) and `msgraph-typed-models` (the generated Graph types), so that neither has to wait
//! for the other to compile:
//!
//! - [`edm`]: OData primitive types as they travel in Graph's JSON (date-times kept as
//!   text, `Double` with `INF`/`NaN`, base64 `Binary`, flags sets, string enums, literals
//!   for `$filter` and function parameters).
//! - [`Patch`]: a tri-state field (unset, `null`, value), so writes tell "leave unchanged"
//!   from "clear it".
//! - [`Selectable`]: the link from a model to its generated `$select` field enum.
//! - `read_fields`, `polymorphic` and `write_fields` (hidden: used by generated code only):
//!   how generated structs and `AnyX` enums are read from JSON in one pass, keeping unknown
//!   properties in [`AdditionalData`], and written back.
//!
//! Applications use these through `msgraph-typed`, which re-exports `edm`, `Patch`,
//! `AdditionalData`, `ODataValue` and `Selectable`.
//!
//! ```
//! use msgraph_typed_odata::{AdditionalData, Patch};
//!
//! #[derive(serde::Serialize, Default)]
//! struct UserUpdate {
//!     #[serde(rename = "displayName", skip_serializing_if = "Patch::is_unset")]
//!     display_name: Patch<String>,
//!     #[serde(rename = "mobilePhone", skip_serializing_if = "Patch::is_unset")]
//!     mobile_phone: Patch<String>,
//!     #[serde(flatten)]
//!     additional_data: AdditionalData,
//! }
//!
//! let update = UserUpdate {
//!     mobile_phone: Patch::Null, // clear it; the display name stays as it is
//!     ..Default::default()
//! };
//! assert_eq!(serde_json::to_string(&update)?, r#"{"mobilePhone":null}"#);
//! # Ok::<(), serde_json::Error>(())
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod edm;
mod patch;

// Support for the generated models: public because `msgraph-typed-models` is another crate, hidden
// because only generated code should implement or call them (not a stable API).
#[doc(hidden)]
pub mod polymorphic;
#[doc(hidden)]
pub mod read_fields;
#[doc(hidden)]
pub mod write_fields;

pub use patch::Patch;

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
