//! Typed Microsoft Graph v1.0 models, generated from Microsoft's published metadata by the
//! `codegen` crate: one struct per entity and complex type (inherited properties flattened
//! in, every field a tri-state [`Patch`], unknown properties kept in `additional_data`), an
//! `AnyX` enum per polymorphic base type (chosen by `@odata.type`), one enum per enum type
//! (with `Unknown(String)`), and a `XField` enum per entity type for a typed `$select`.
//!
//! Applications use these through `msgraph-typed` (`msgraph_typed::models`), which adds the request
//! builders. They are a crate of their own so that they compile in parallel with the HTTP
//! stack instead of after it.
//!
//! ```
//! # #[cfg(feature = "identity")] {
//! use msgraph_typed_models::models::{AnyDirectoryObject, User};
//!
//! let json = r##"{"@odata.type": "#microsoft.graph.group", "id": "g1", "displayName": "Sales"}"##;
//! let object: AnyDirectoryObject = serde_json::from_str(json)?;
//! let AnyDirectoryObject::Group(group) = object else { panic!("not a group") };
//! assert_eq!(group.display_name.value().map(String::as_str), Some("Sales"));
//!
//! let user: User = serde_json::from_str(r#"{"id": "u1", "mobilePhone": null, "newProp": 1}"#)?;
//! assert!(user.mobile_phone.is_null());
//! assert_eq!(user.additional_data["newProp"], 1);
//! # }
//! # Ok::<(), serde_json::Error>(())
//! ```
//!
//! # Features
//!
//! One cargo feature per area of Graph (the same names as `msgraph-typed`'s). The default,
//! `identity`, covers users, `me`, groups, directory objects, applications, service
//! principals, directory roles and administrative units; a type needed by an enabled type
//! is compiled with it. `full` enables everything.
//!
//! Everything under `src/generated/` is written by `codegen` (`cargo run -p codegen`); do not
//! edit it by hand.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use msgraph_typed_odata::{AdditionalData, ODataValue, Patch, Selectable, edm};
// The generated code's support, reached as `crate::read_fields::...` and so on (unused when
// no area feature is enabled).
#[allow(unused_imports)]
use msgraph_typed_odata::{polymorphic, read_fields, write_fields};

// Unused when no area feature is enabled (then there are no models).
#[allow(unused_macros, unused_imports)]
mod macros;

#[allow(
    clippy::large_enum_variant,
    clippy::doc_lazy_continuation,
    clippy::too_many_arguments,
    clippy::module_inception,
    clippy::doc_overindented_list_items,
    // Descriptions from Microsoft's metadata hold bare URLs.
    rustdoc::bare_urls
)]
mod generated;

pub use generated::models;
