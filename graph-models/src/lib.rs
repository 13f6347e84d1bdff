//! Typed Microsoft Graph v1.0 models, generated from Microsoft's published metadata by the
//! `codegen` crate: one struct per entity and complex type, an `AnyX` enum per polymorphic
//! base type (chosen by `@odata.type`, with `base()` for the declared type's view), one enum
//! per enum type (with `Unknown(String)`), and a `XField` enum per entity type for a typed
//! `$select`.
//!
//! A model stores only the properties that arrived (about 32 bytes each, the model itself 48
//! bytes), read with getters (`user.display_name()`: `None` or an empty slice when absent or
//! `null`) and written with setters (`user.set_display_name("Adele")`; `None` sends `null`,
//! clearing the property; what is not set is not sent). A derived type reaches its base's
//! getters and setters through `Deref`. Unknown properties and annotations are kept in
//! `additional_data()`.
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
//! assert_eq!(object.base().id(), Some("g1")); // the directoryObject view of any variant
//! let group = object.as_group().expect("a group");
//! assert_eq!(group.display_name(), Some("Sales"));
//! assert_eq!(group.id(), Some("g1")); // inherited from `entity`, through `Deref`
//!
//! let user: User = serde_json::from_str(r#"{"id": "u1", "mobilePhone": null, "newProp": 1}"#)?;
//! assert_eq!(user.mobile_phone(), None);
//! assert_eq!(user.property_state("mobilePhone"), msgraph_typed_models::PropertyState::Null);
//! assert_eq!(user.additional_data()["newProp"], 1);
//!
//! // A PATCH body: only what is set is sent; `None` clears.
//! let mut body = User::new();
//! body.set_display_name("Adele").set_mobile_phone(None);
//! assert_eq!(serde_json::to_string(&body)?, r#"{"displayName":"Adele","mobilePhone":null}"#);
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

pub use msgraph_typed_odata::{
    AdditionalData, IntoPatch, ODataValue, Patch, PropertyState, Selectable, edm,
};
// The generated code's support, reached as `crate::read_fields::...` and so on (unused when
// no area feature is enabled).
#[allow(unused_imports)]
use msgraph_typed_odata::{polymorphic, properties, read_fields};

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
