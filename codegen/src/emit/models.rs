//! Emission of model types: structs, polymorphic wrappers, enums and `$select` fields.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

use super::types::{Ctx, MAIN_NS, doc_lines, doc_or};
use crate::areas::Cfg;
use crate::csdl::Diagnostic;
use crate::model::{Kind, Primitive};
use crate::names;

/// The file (under `generated/`) holding the model type `t`.
pub fn file_of(ctx: &Ctx<'_>, t: usize) -> String {
    let def = &ctx.model.types[t];
    if def.namespace == MAIN_NS {
        let mut module = area_module(&ctx.areas.names[ctx.areas.home[t]]);
        // An area named like a namespace module (`security`) keeps its own file.
        if ctx
            .model
            .namespaces
            .iter()
            .any(|(ns, _)| ns != MAIN_NS && names::namespace_module(ns) == module)
        {
            module.push_str("_area");
        }
        format!("models/{module}.rs")
    } else {
        format!("models/{}.rs", names::namespace_module(&def.namespace))
    }
}

/// `identity-governance` -> `identity_governance`.
pub fn area_module(area: &str) -> String {
    area.replace('-', "_")
}

/// Emits every model file into `files`.
pub fn emit(ctx: &mut Ctx<'_>, files: &mut BTreeMap<String, String>) {
    // Builders ran first and left action bodies in the model files.
    let names: Vec<String> = files
        .keys()
        .filter(|n| n.starts_with("models/"))
        .cloned()
        .collect();
    let mut bodies: BTreeMap<String, String> = BTreeMap::new();
    for name in names {
        if let Some(text) = files.remove(&name) {
            bodies.insert(name, text);
        }
    }
    for t in 0..ctx.model.types.len() {
        if !ctx.areas.is_used(t) {
            continue;
        }
        let text = emit_one(ctx, t);
        bodies.entry(file_of(ctx, t)).or_default().push_str(&text);
    }
    // models/mod.rs: area files are flattened, other namespaces are submodules.
    let mut m = String::from(
        "//! Typed models: one struct per entity and complex type, an `AnyX` enum per\n\
         //! polymorphic base type, and one enum per enum type.\n\n",
    );
    let mut ns_modules: Vec<(String, String)> = ctx
        .model
        .namespaces
        .iter()
        .filter(|(ns, _)| ns != MAIN_NS)
        .map(|(ns, _)| (names::namespace_module(ns), ns.clone()))
        .collect();
    ns_modules.sort();
    ns_modules.dedup();
    for (file, body) in &bodies {
        let module = file
            .trim_start_matches("models/")
            .trim_end_matches(".rs")
            .to_owned();
        let is_ns = ns_modules.iter().any(|(m, _)| *m == module);
        let doc = if let Some((_, ns)) = ns_modules.iter().find(|(m, _)| *m == module) {
            format!("//! Types of the `{ns}` namespace.\n\n")
        } else {
            format!(
                "//! Models of the `{}` area (`microsoft.graph` namespace).\n\n",
                module.replace('_', "-")
            )
        };
        files.insert(file.clone(), format!("{doc}{body}"));
        if is_ns {
            let _ = writeln!(m, "pub mod {module};");
        } else {
            let _ = writeln!(
                m,
                "mod {module};\n#[allow(unused_imports)] // empty when its feature is off\npub use {module}::*;"
            );
        }
    }
    m.push_str(
        "\nmod names;\n#[allow(unused_imports)] // nothing reads it when every area is off\n\
         pub(crate) use names::PROPERTY_NAMES;\n",
    );
    files.insert("models/mod.rs".into(), m);
    let mut names_file = String::from(
        "//! The wire name of every property, by the id models store it under.\n\n\
         /// Wire names by property id.\n\
         #[allow(dead_code)] // nothing reads it when every area is off\npub(crate) static PROPERTY_NAMES: &[&str] = &[\n",
    );
    for name in &ctx.property_names {
        let _ = writeln!(names_file, "{name:?},");
    }
    names_file.push_str("];\n");
    files.insert("models/names.rs".into(), names_file);
}

/// The code of one model type.
pub fn emit_one(ctx: &mut Ctx<'_>, t: usize) -> String {
    match ctx.model.types[t].kind {
        Kind::Enum => emit_enum(ctx, t),
        Kind::Entity | Kind::Complex => emit_struct(ctx, t),
    }
}

fn emit_enum(ctx: &mut Ctx<'_>, t: usize) -> String {
    let def = &ctx.model.types[t];
    let name = ctx.type_name(t);
    let mut s = String::new();
    s.push_str(&ctx.cfg(t).attr(ctx.areas, &Cfg::always()));
    s.push_str("crate::macros::string_enum! {\n");
    // rustfmt does not format macro bodies: indent by hand.
    s.push_str(&indent(
        &doc_or(def.doc.as_ref(), &format!("The `{}` enumeration.", def.fqn)),
        1,
    ));
    if def.is_flags {
        s.push_str("    ///\n    /// A flags enumeration: properties of this type hold a [`crate::edm::Flags`] set.\n");
    }
    let _ = writeln!(s, "    pub enum {name} {{");
    let mut used = HashSet::new();
    used.insert("Unknown".to_owned());
    for (member, _, doc) in &def.members {
        let mut v = names::pascal(member);
        while !used.insert(v.clone()) {
            v.push('_');
        }
        s.push_str(&indent(&doc_or(doc.as_ref(), &format!("`{member}`")), 2));
        let _ = writeln!(s, "        {v} = {member:?},");
    }
    s.push_str("    }\n}\n\n");
    s
}

/// Indents every line by `levels` times four spaces.
fn indent(text: &str, levels: usize) -> String {
    let pad = "    ".repeat(levels);
    text.lines().map(|l| format!("{pad}{l}\n")).collect()
}

/// How a property is stored in a model's `Properties`, and what its getter returns.
#[derive(Clone, Debug, PartialEq)]
enum Slot {
    /// `Option<&str>`.
    Str,
    /// `Option<bool>`.
    Bool,
    /// `Option<{int type}>`.
    Int(&'static str),
    /// `Option<f64>` (Edm.Double, Single, Decimal).
    Double,
    /// `&[String]`.
    Strings,
    /// `Option<&T>` (boxed).
    One(String),
    /// `&[T]` (a boxed `Vec<T>`).
    Many(String),
}

/// A property of a generated model (its own or inherited).
struct Field {
    /// The Rust name of its getter.
    rust: String,
    wire: String,
    /// The type that declares it.
    owner: usize,
    id: u16,
    slot: Slot,
    doc: String,
    cfg: String,
}

fn slot_of(ctx: &Ctx<'_>, r: &crate::model::TypeRef) -> Option<Slot> {
    use crate::model::Base;
    Some(match (&r.base, r.collection) {
        (Base::Prim(Primitive::String), false) => Slot::Str,
        (Base::Prim(Primitive::String), true) => Slot::Strings,
        (Base::Prim(Primitive::Boolean), false) => Slot::Bool,
        (
            Base::Prim(
                p @ (Primitive::Int16
                | Primitive::Int32
                | Primitive::Int64
                | Primitive::Byte
                | Primitive::SByte),
            ),
            false,
        ) => Slot::Int(Ctx::primitive(p)?),
        (Base::Prim(Primitive::Double | Primitive::Single | Primitive::Decimal), false) => {
            Slot::Double
        }
        (_, false) => Slot::One(ctx.element_type(r)?),
        (_, true) => Slot::Many(ctx.element_type(r)?),
    })
}

/// Method names every model has (a property with one of these names gets a suffix).
const RESERVED_METHODS: &[&str] = &[
    "new",
    "additional_data",
    "additional_data_mut",
    "property_state",
    "props",
    "props_mut",
    "base",
    "base_mut",
    // Trait methods a getter would shadow on the value (`user.clone()` must clone).
    "default",
    "clone",
    "clone_from",
    "eq",
    "ne",
    "fmt",
    "serialize",
    "deserialize",
    "deref",
    "deref_mut",
    "into",
    "try_into",
    "to_owned",
    "to_string",
    "as_ref",
    "as_mut",
    "borrow",
    "borrow_mut",
    "type_id",
];

/// Every property of `t`, inherited ones first (the order of the wire contract).
fn struct_fields(ctx: &mut Ctx<'_>, t: usize) -> Vec<Field> {
    let m = ctx.model;
    let own_cfg = ctx.cfg(t);
    let mut used: HashSet<String> = RESERVED_METHODS.iter().map(|s| (*s).to_owned()).collect();
    let mut wire_seen: HashSet<String> = HashSet::new();
    let mut fields = Vec::new();
    let mut diags = Vec::new();
    let props = m.all_props(t).into_iter().filter_map(|(owner, p)| {
        if matches!(p.ty.base, crate::model::Base::Prim(Primitive::Stream)) {
            // Media streams are separate resources, never inline JSON.
            return None;
        }
        Some((
            owner,
            p.name.clone(),
            p.ty.clone(),
            doc_or(p.doc.as_ref(), &format!("The `{}` property.", p.name)),
        ))
    });
    let navs = m.all_navs(t).into_iter().map(|(owner, n)| {
        let r = crate::model::TypeRef {
            base: crate::model::Base::Named(n.target),
            collection: n.collection,
        };
        let doc = doc_or(
            n.doc.as_ref(),
            &format!(
                "The `{}` navigation property (present when expanded).",
                n.name
            ),
        );
        (owner, n.name.clone(), r, doc)
    });
    let all: Vec<_> = props.chain(navs).collect();
    for (owner, wire, ty, doc) in all {
        if !wire_seen.insert(wire.clone()) {
            continue;
        }
        let (Some(slot), Some(id)) = (slot_of(ctx, &ty), ctx.property_id(owner, &wire)) else {
            continue;
        };
        let mut rust = names::snake(&wire);
        while !used.insert(rust.trim_start_matches("r#").to_owned()) {
            diags.push(Diagnostic {
                loc: m.types[owner].loc,
                message: format!(
                    "{}/{}: method name {rust} taken; suffixed",
                    m.types[owner].fqn, wire
                ),
            });
            rust = format!("{}_property", rust.trim_start_matches("r#"));
        }
        let cfg = ctx.cfg_refs([&ty]).attr(ctx.areas, &own_cfg);
        fields.push(Field {
            rust,
            wire,
            owner,
            id,
            slot,
            doc,
            cfg,
        });
    }
    ctx.diagnostics.extend(diags);
    fields
}

fn emit_struct(ctx: &mut Ctx<'_>, t: usize) -> String {
    let fields = struct_fields(ctx, t);
    let def = &ctx.model.types[t];
    let name = ctx.type_name(t);
    let cfg = ctx.cfg(t).attr(ctx.areas, &Cfg::always());
    let mut s = String::new();
    s.push_str(&doc_or(
        def.doc.as_ref(),
        &format!("The `{}` {}.", def.fqn, kind_word(def.kind)),
    ));
    let base = def.base;
    if let Some(b) = base {
        let chain: Vec<String> = ctx
            .model
            .lineage(t)
            .iter()
            .rev()
            .skip(1)
            .map(|&b| format!("`{}`", ctx.model.types[b].name))
            .collect();
        let _ = writeln!(
            s,
            "///\n/// Derived from {}: the inherited properties' getters and setters are the\n\
             /// base's, reached through `Deref` ([`{}`]).",
            chain.join(" < "),
            ctx.model_path(b)
        );
    }
    s.push_str(
        "///\n/// Read with the getters (`None` or an empty slice when absent or `null`); build a\n\
         /// body with `new()` and the `set_` methods: only what is set is sent, `None` sends\n\
         /// `null` (clears the property).\n",
    );
    s.push_str(&cfg);
    s.push_str("#[derive(Clone, Default, PartialEq)]\n");
    match base {
        Some(b) => {
            let _ = writeln!(
                s,
                "pub struct {name} {{\nbase: {},\n}}\n",
                ctx.model_path(b)
            );
            s.push_str(&cfg);
            let _ = writeln!(
                s,
                "impl std::ops::Deref for {name} {{\ntype Target = {b};\n\nfn deref(&self) -> &{b} {{\n&self.base\n}}\n}}\n",
                b = ctx.model_path(b)
            );
            s.push_str(&cfg);
            let _ = writeln!(
                s,
                "impl std::ops::DerefMut for {name} {{\nfn deref_mut(&mut self) -> &mut {b} {{\n&mut self.base\n}}\n}}\n",
                b = ctx.model_path(b)
            );
        }
        None => {
            let _ = writeln!(
                s,
                "pub struct {name} {{\nprops: crate::properties::Properties,\n}}\n"
            );
        }
    }
    // Methods: new, the root's accessors, own getters and setters.
    s.push_str(&cfg);
    let _ = writeln!(s, "impl {name} {{");
    let _ = writeln!(
        s,
        "/// An empty `{}`: set properties with the `set_` methods.\npub fn new() -> Self {{\n<Self as Default>::default()\n}}\n",
        def.name
    );
    if base.is_none() {
        s.push_str(
            "/// Properties this version of the SDK does not know and instance annotations\n\
             /// (`@odata.type`, `@odata.etag`, ...), kept so nothing is lost on a round trip.\n\
             pub fn additional_data(&self) -> &crate::AdditionalData {\nself.props.additional_data()\n}\n\n\
             /// As `additional_data`, to change them.\n\
             pub fn additional_data_mut(&mut self) -> &mut crate::AdditionalData {\nself.props.additional_data_mut()\n}\n\n\
             /// Whether the property whose wire name is `name` is absent, `null` or set (the getters\n\
             /// answer `None` for both absent and `null`).\n\
             pub fn property_state(&self, name: &str) -> crate::PropertyState {\n\
             self.props.state_by_name(name, crate::models::PROPERTY_NAMES)\n}\n\n\
             pub(crate) fn props(&self) -> &crate::properties::Properties {\n&self.props\n}\n\n",
        );
        // Setters reach the storage through this (derived types' through `DerefMut`).
        let declares = |d: usize| {
            let d = &ctx.model.types[d];
            !d.navs.is_empty()
                || d.props
                    .iter()
                    .any(|p| !matches!(p.ty.base, crate::model::Base::Prim(Primitive::Stream)))
        };
        if !fields.is_empty() || ctx.model.all_derived(t).into_iter().any(declares) {
            s.push_str(
                "// Unused when every setter that needs it is behind a disabled feature.\n\
                 #[allow(dead_code)]\n\
                 pub(crate) fn props_mut(&mut self) -> &mut crate::properties::Properties {\n&mut self.props\n}\n\n",
            );
        }
    }
    for f in fields.iter().filter(|f| f.owner == t) {
        s.push_str(&emit_accessors(f));
    }
    s.push_str("}\n\n");
    // Traits: Debug, Serialize, Deserialize.
    s.push_str(&cfg);
    let _ = writeln!(
        s,
        "impl std::fmt::Debug for {name} {{\nfn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {{\n\
         self.props().fmt_as(f, {name:?}, crate::models::PROPERTY_NAMES)\n}}\n}}\n"
    );
    s.push_str(&cfg);
    let _ = writeln!(
        s,
        "impl serde::Serialize for {name} {{\nfn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {{\n\
         self.props().serialize(serializer, crate::models::PROPERTY_NAMES)\n}}\n}}\n"
    );
    let from = match base {
        Some(b) => format!(
            "Self {{\nbase: <{} as crate::read_fields::ReadFields>::from_properties(properties),\n}}",
            ctx.model_path(b)
        ),
        None => "Self { props: properties }".to_owned(),
    };
    s.push_str(&emit_read_fields(&name, &def.fqn, &fields, &cfg, &from));
    if def.kind == Kind::Entity {
        s.push_str(&emit_select(ctx, t, &fields, &cfg));
    }
    if ctx.is_poly(t) {
        s.push_str(&emit_any(ctx, t));
    }
    s
}

/// The getter and setter of one property.
fn emit_accessors(f: &Field) -> String {
    let (get_ty, get_body, set_ty, set_call) = match &f.slot {
        Slot::Str => (
            "Option<&str>".to_owned(),
            "str",
            "String".to_owned(),
            "set_str",
        ),
        Slot::Bool => (
            "Option<bool>".to_owned(),
            "bool",
            "bool".to_owned(),
            "set_bool",
        ),
        Slot::Int(ty) => (format!("Option<{ty}>"), "int", (*ty).to_owned(), "set_int"),
        Slot::Double => (
            "Option<f64>".to_owned(),
            "double",
            "f64".to_owned(),
            "set_double",
        ),
        Slot::Strings => (
            "&[String]".to_owned(),
            "strings",
            "Vec<String>".to_owned(),
            "set_strings",
        ),
        Slot::One(el) => (format!("Option<&{el}>"), "get", el.clone(), "set"),
        Slot::Many(el) => (format!("&[{el}]"), "list", format!("Vec<{el}>"), "set"),
    };
    let getter = f.rust.trim_start_matches("r#");
    let absent = match &f.slot {
        Slot::Strings | Slot::Many(_) => "an empty slice",
        _ => "`None`",
    };
    format!(
        "{doc}///\n/// `{wire}`: {absent} when absent or `null`.\n{cfg}pub fn {rust}(&self) -> {get_ty} {{\nself.props().{get_body}({id})\n}}\n\n\
         /// Sets `{wire}`; `None` sends `null` (clears it), `Patch::Unset` leaves it out.\n\
         {cfg}pub fn set_{getter}(&mut self, value: impl crate::IntoPatch<{set_ty}>) -> &mut Self {{\n\
         self.props_mut().{set_call}({id}, value.into_patch());\nself\n}}\n\n",
        doc = f.doc,
        wire = f.wire,
        cfg = f.cfg,
        rust = f.rust,
        id = f.id,
    )
}

/// `Deserialize` through `crate::read_fields`: one match arm per property (wire name),
/// inherited ones included, each storing its value in the model's properties.
fn emit_read_fields(name: &str, fqn: &str, fields: &[Field], cfg: &str, from: &str) -> String {
    let mut s = String::new();
    s.push_str(cfg);
    let _ = writeln!(
        s,
        "impl<'de> serde::Deserialize<'de> for {name} {{\n\
         fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {{\n\
         crate::read_fields::read(deserializer)\n}}\n}}\n"
    );
    s.push_str(cfg);
    // When every property is behind a feature, a build without them has only the `_` arm.
    let allow = if !fields.is_empty() && fields.iter().all(|f| !f.cfg.is_empty()) {
        "#[allow(unreachable_code, unused_variables)] // every property may be compiled out\n"
    } else {
        ""
    };
    let _ = writeln!(
        s,
        "impl crate::read_fields::ReadFields for {name} {{\n\
         const NAME: &'static str = {fqn:?};\n\n\
         {allow}fn read_field<'de, A: serde::de::MapAccess<'de>>(\n\
         key: &str,\n\
         map: &mut A,\n\
         into: &mut crate::properties::PropertiesReader,\n\
         ) -> Result<bool, A::Error> {{"
    );
    if fields.is_empty() {
        s.push_str("let _ = (key, map, into);\nOk(false)\n}\n");
    } else {
        s.push_str("match key {\n");
        for f in fields {
            let call = match &f.slot {
                Slot::Str => format!("into.str({}, map)?", f.id),
                Slot::Bool => format!("into.bool({}, map)?", f.id),
                Slot::Int(ty) => format!("into.int::<{ty}, _>({}, map)?", f.id),
                Slot::Double => format!("into.double({}, map)?", f.id),
                Slot::Strings => format!("into.strings({}, map)?", f.id),
                Slot::One(el) => format!("into.other::<{el}, _>({}, map)?", f.id),
                Slot::Many(el) => format!("into.other::<Vec<{el}>, _>({}, map)?", f.id),
            };
            let _ = writeln!(s, "{}{:?} => {call},", f.cfg, f.wire);
        }
        s.push_str("_ => return Ok(false),\n}\nOk(true)\n}\n");
    }
    let _ = writeln!(
        s,
        "\nfn from_properties(properties: crate::properties::Properties) -> Self {{\n{from}\n}}\n}}\n"
    );
    s
}

fn kind_word(k: Kind) -> &'static str {
    match k {
        Kind::Entity => "entity type",
        Kind::Complex => "complex type",
        Kind::Enum => "enumeration",
    }
}

fn emit_select(ctx: &Ctx<'_>, t: usize, fields: &[Field], cfg: &str) -> String {
    let name = ctx.type_name(t);
    let mut s = String::new();
    s.push_str(cfg);
    s.push_str("crate::macros::select_fields! {\n");
    let _ = writeln!(
        s,
        "    /// Property names of [`{name}`] for a typed `$select`."
    );
    let targets = if ctx.is_poly(t) {
        format!("{name}, Any{name}")
    } else {
        name.clone()
    };
    let _ = writeln!(s, "    pub enum {name}Field for {targets} {{");
    let mut used = HashSet::new();
    for f in fields {
        if !f.cfg.is_empty() {
            // Navigation properties into disabled areas: select by string if needed.
            continue;
        }
        let mut v = names::pascal(&f.wire);
        while !used.insert(v.clone()) {
            v.push('_');
        }
        let _ = writeln!(s, "        {v} = {:?},", f.wire);
    }
    s.push_str("    }\n}\n\n");
    s
}

/// The accessors of an `AnyX` enum: `odata_type()`, `id()` (entities), `as_x()` / `into_x()`
/// per variant, and `From` / `TryFrom` between the enum and each variant's type.
fn emit_any_accessors(
    ctx: &Ctx<'_>,
    t: usize,
    name: &str,
    base_variant: &str,
    variants: &[(String, usize, String)],
    cfg: &str,
) -> String {
    let def = &ctx.model.types[t];
    let has_id = ctx.model.all_props(t).iter().any(|(_, p)| {
        p.name == "id" && p.ty.base == crate::model::Base::Prim(crate::model::Primitive::String)
    });
    let mut s = String::new();
    s.push_str(cfg);
    // The `_` arms are unreachable when every derived variant's feature is off.
    let _ = writeln!(s, "#[allow(unreachable_patterns)]\nimpl Any{name} {{");
    // odata_type
    let _ = writeln!(
        s,
        "/// The value's type without the leading `#`, e.g. `{}`: the variant's, or for\n\
         /// [`Any{name}::Unknown`] the `@odata.type` it arrived with.\n\
         pub fn odata_type(&self) -> &str {{\nmatch self {{\nSelf::{base_variant}(_) => {:?},",
        def.fqn, def.fqn
    );
    for (v, d, c) in variants {
        let _ = writeln!(s, "{c}Self::{v}(_) => {:?},", ctx.model.types[*d].fqn);
    }
    let _ = writeln!(
        s,
        "Self::Unknown(value) => value\n.additional_data()\n.get(\"@odata.type\")\n.and_then(|t| t.as_str())\n\
         .map_or({:?}, |t| t.trim_start_matches('#')),\n}}\n}}\n",
        def.fqn
    );
    if has_id {
        let _ = writeln!(
            s,
            "/// The entity's `id`, whatever its type (`None` when it was not selected).\n\
             pub fn id(&self) -> Option<&str> {{\nmatch self {{\n\
             Self::{base_variant}(value) | Self::Unknown(value) => value.id(),"
        );
        for (v, _, c) in variants {
            let _ = writeln!(s, "{c}Self::{v}(value) => value.id(),");
        }
        s.push_str("}\n}\n\n");
    }
    // base(): every variant is a `name` (derived types reach it through `Deref`).
    let _ = writeln!(
        s,
        "/// The value read as [`{name}`] whatever its variant: a derived type's base properties\n\
         /// read the same, so reading the `{}` properties needs no `match`.\n\
         pub fn base(&self) -> &{name} {{\nmatch self {{\n\
         Self::{base_variant}(value) | Self::Unknown(value) => value,",
        def.name
    );
    for (v, _, c) in variants {
        let _ = writeln!(s, "{c}Self::{v}(value) => value,");
    }
    s.push_str("}\n}\n\n");
    let _ = writeln!(
        s,
        "/// As [`Any{name}::base`], to change the `{}` properties of any variant.\n\
         pub fn base_mut(&mut self) -> &mut {name} {{\nmatch self {{\n\
         Self::{base_variant}(value) | Self::Unknown(value) => value,",
        def.name
    );
    for (v, _, c) in variants {
        let _ = writeln!(s, "{c}Self::{v}(value) => value,");
    }
    s.push_str("}\n}\n\n");
    let base_method = crate::names::snake(base_variant);
    let _ = writeln!(
        s,
        "/// The value as [`{name}`] if it is the declared type, or a derived type this version does not\n\
         /// know (read as the declared type). `None` for the known derived types.\n\
         pub fn as_{m}(&self) -> Option<&{name}> {{\nmatch self {{\n\
         Self::{base_variant}(value) | Self::Unknown(value) => Some(value),\n_ => None,\n}}\n}}\n\n\
         /// As [`Any{name}::as_{m}`], by value.\n\
         pub fn into_{m}(self) -> Option<{name}> {{\nmatch self {{\n\
         Self::{base_variant}(value) | Self::Unknown(value) => Some(value),\n_ => None,\n}}\n}}\n",
        m = base_method.trim_start_matches("r#")
    );
    for (v, d, c) in variants {
        let m = crate::names::snake(v);
        let m = m.trim_start_matches("r#");
        let ty = ctx.model_path(*d);
        let _ = writeln!(
            s,
            "/// The value if it is a `{fqn}`.\n{c}pub fn as_{m}(&self) -> Option<&{ty}> {{\n\
             match self {{\nSelf::{v}(value) => Some(value),\n_ => None,\n}}\n}}\n\n\
             /// The value if it is a `{fqn}`, by value.\n{c}pub fn into_{m}(self) -> Option<{ty}> {{\n\
             match self {{\nSelf::{v}(value) => Some(value),\n_ => None,\n}}\n}}\n",
            fqn = ctx.model.types[*d].fqn
        );
    }
    s.push_str("}\n\n");
    // From and TryFrom
    let _ = writeln!(
        s,
        "{cfg}impl From<{name}> for Any{name} {{\nfn from(value: {name}) -> Self {{\nSelf::{base_variant}(value)\n}}\n}}\n\n\
         {cfg}#[allow(unreachable_patterns)]\nimpl TryFrom<Any{name}> for {name} {{\ntype Error = Any{name};\n\n\
         /// The declared type, or an unknown derived type read as it; the value back otherwise.\n\
         fn try_from(value: Any{name}) -> Result<Self, Any{name}> {{\nmatch value {{\n\
         Any{name}::{base_variant}(v) | Any{name}::Unknown(v) => Ok(v),\nother => Err(other),\n}}\n}}\n}}\n"
    );
    for (v, d, c) in variants {
        let ty = ctx.model_path(*d);
        let vcfg = if c.is_empty() {
            cfg.to_string()
        } else {
            c.clone()
        };
        let _ = writeln!(
            s,
            "{vcfg}impl From<{ty}> for Any{name} {{\nfn from(value: {ty}) -> Self {{\nSelf::{v}(value)\n}}\n}}\n\n\
             {vcfg}impl TryFrom<Any{name}> for {ty} {{\ntype Error = Any{name};\n\n\
             fn try_from(value: Any{name}) -> Result<Self, Any{name}> {{\nmatch value {{\n\
             Any{name}::{v}(v) => Ok(v),\nother => Err(other),\n}}\n}}\n}}\n"
        );
    }
    s
}

fn emit_any(ctx: &Ctx<'_>, t: usize) -> String {
    let def = &ctx.model.types[t];
    let name = ctx.type_name(t);
    let own_cfg = ctx.cfg(t);
    let cfg = own_cfg.attr(ctx.areas, &Cfg::always());
    let mut variants = Vec::new();
    let mut used: HashSet<String> = HashSet::new();
    used.insert("Unknown".into());
    let base_variant = ctx.qualified_pascal(t);
    used.insert(base_variant.clone());
    for d in ctx.model.all_derived(t) {
        if !ctx.areas.is_used(d) {
            continue;
        }
        let mut v = ctx.qualified_pascal(d);
        while !used.insert(v.clone()) {
            v.push('_');
        }
        variants.push((v, d, ctx.cfg(d).attr(ctx.areas, &own_cfg)));
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "/// A `{}` or any type derived from it, chosen by `@odata.type` when reading.\n///\n\
         /// Without `@odata.type` the value is read as [`{name}`]; an `@odata.type` this\n\
         /// version does not know, or whose area feature is disabled, is read as\n\
         /// [`Any{name}::Unknown`], keeping every property. New variants may come with new\n\
         /// versions of Graph or with more features enabled, so a `match` needs a `_` arm:\n\
         /// prefer the accessors (`as_...`, `into_...`, `odata_type()`).",
        def.name
    );
    s.push_str(&cfg);
    s.push_str("#[derive(Clone, Debug, PartialEq, serde::Serialize)]\n#[serde(untagged)]\n#[non_exhaustive]\n");
    let _ = writeln!(s, "pub enum Any{name} {{");
    let _ = writeln!(
        s,
        "/// A `{}` (the declared type).\n{base_variant}({name}),",
        def.fqn
    );
    for (v, d, c) in &variants {
        let _ = writeln!(
            s,
            "/// A `{}`.\n{c}{v}({}),",
            ctx.model.types[*d].fqn,
            ctx.model_path(*d)
        );
    }
    let _ = writeln!(
        s,
        "/// A type derived from `{}` that this version does not know (or whose area\n\
         /// feature is disabled); its properties beyond the base are in `additional_data`.\nUnknown({name}),\n}}\n",
        def.name
    );
    s.push_str(&emit_any_accessors(
        ctx,
        t,
        &name,
        &base_variant,
        &variants,
        &cfg,
    ));
    s.push_str(&cfg);
    let _ = writeln!(
        s,
        "impl<'de> serde::Deserialize<'de> for Any{name} {{\n\
         fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {{\n\
         crate::polymorphic::read(deserializer)\n}}\n}}\n"
    );
    s.push_str(&cfg);
    let _ = writeln!(
        s,
        "impl crate::polymorphic::Polymorphic for Any{name} {{\n\
         const DECLARED: &'static str = {:?};\n\n\
         fn read_rest<'de, A: serde::de::MapAccess<'de>>(\n\
         odata_type: Option<&str>,\n\
         ahead: crate::read_fields::Ahead<'de>,\n\
         map: &mut A,\n\
         ) -> Result<Self, A::Error> {{\n\
         use crate::read_fields::read_rest as rest;\n\
         Ok(match odata_type {{\n\
         None | Some({:?}) => Self::{base_variant}(rest(ahead, map)?),",
        def.fqn, def.fqn
    );
    for (v, d, c) in &variants {
        let _ = writeln!(
            s,
            "{c}Some({:?}) => Self::{v}(rest(ahead, map)?),",
            ctx.model.types[*d].fqn
        );
    }
    let _ = writeln!(
        s,
        "Some(_) => Self::Unknown(rest(ahead, map)?),\n}})\n}}\n\n\
         fn declared_data(&self) -> Option<&crate::AdditionalData> {{\n\
         match self {{\n\
         Self::{base_variant}(value) => Some(value.additional_data()),\n\
         _ => None,\n}}\n}}\n}}\n"
    );
    let _ = doc_lines;
    s
}
