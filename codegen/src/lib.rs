//! Generates the `msgraph-typed-models` (typed models) and `msgraph-typed` (request builders) crates
//! from Microsoft Graph CSDL metadata.
//!
//! The pipeline is: [`csdl::parse`] (XML to plain structures, with locations) ->
//! [`model::Model::build`] (aliases resolved, types linked, operations bound) ->
//! [`areas::Areas::compute`] (cargo features) -> [`emit::generate`] (Rust source files,
//! formatted with rustfmt).
//!
//! ```no_run
//! let metadata = std::fs::read_to_string("codegen/metadata/cleanMetadata-v1.0.xml")?;
//! let doc = codegen::csdl::parse(&metadata).map_err(|d| d.to_string())?;
//! let model = codegen::model::Model::build(doc, &Default::default());
//! println!("{} types", model.types.len());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod areas;
pub mod csdl;
pub mod emit;
pub mod model;
pub mod names;
