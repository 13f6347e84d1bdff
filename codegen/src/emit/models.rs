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
    files.insert("models/mod.rs".into(), m);
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

/// A field of a generated struct.
struct Field {
    rust: String,
    wire: String,
    ty: String,
    doc: String,
    cfg: String,
}

fn struct_fields(ctx: &mut Ctx<'_>, t: usize) -> Vec<Field> {
    let m = ctx.model;
    let own_cfg = ctx.cfg(t);
    let mut used: HashSet<String> = HashSet::new();
    used.insert("additional_data".into());
    let mut wire_seen: HashSet<String> = HashSet::new();
    let mut fields = Vec::new();
    let mut diags = Vec::new();
    for (owner, p) in m.all_props(t) {
        if !wire_seen.insert(p.name.clone()) {
            continue;
        }
        if matches!(p.ty.base, crate::model::Base::Prim(Primitive::Stream)) {
            // Media streams are separate resources, never inline JSON.
            continue;
        }
        let Some(ty) = ctx.field_type(&p.ty) else {
            continue;
        };
        let mut rust = names::snake(&p.name);
        while !used.insert(rust.clone()) {
            diags.push(Diagnostic {
                loc: m.types[owner].loc,
                message: format!(
                    "{}/{}: field name {rust} taken; suffixed",
                    m.types[owner].fqn, p.name
                ),
            });
            rust.push('_');
        }
        let cfg = ctx.cfg_refs([&p.ty]).attr(ctx.areas, &own_cfg);
        fields.push(Field {
            rust,
            wire: p.name.clone(),
            ty,
            doc: doc_or(p.doc.as_ref(), &format!("The `{}` property.", p.name)),
            cfg,
        });
    }
    for (owner, n) in m.all_navs(t) {
        if !wire_seen.insert(n.name.clone()) {
            continue;
        }
        let r = crate::model::TypeRef {
            base: crate::model::Base::Named(n.target),
            collection: n.collection,
        };
        let Some(ty) = ctx.field_type(&r) else {
            continue;
        };
        let mut rust = names::snake(&n.name);
        while !used.insert(rust.clone()) {
            diags.push(Diagnostic {
                loc: m.types[owner].loc,
                message: format!(
                    "{}/{}: field name {rust} taken; suffixed",
                    m.types[owner].fqn, n.name
                ),
            });
            rust.push('_');
        }
        let cfg = ctx.cfg(n.target).attr(ctx.areas, &own_cfg);
        let doc = doc_or(
            n.doc.as_ref(),
            &format!(
                "The `{}` navigation property (present when expanded).",
                n.name
            ),
        );
        fields.push(Field {
            rust,
            wire: n.name.clone(),
            ty,
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
    let lineage = ctx.model.lineage(t);
    if lineage.len() > 1 {
        let chain: Vec<String> = lineage
            .iter()
            .rev()
            .skip(1)
            .map(|&b| format!("`{}`", ctx.model.types[b].name))
            .collect();
        let _ = writeln!(
            s,
            "///\n/// Derived from {}; inherited properties are included.",
            chain.join(" < ")
        );
    }
    s.push_str(&cfg);
    s.push_str("#[derive(Clone, Debug, Default, PartialEq)]\n");
    let _ = writeln!(s, "pub struct {name} {{");
    for f in &fields {
        s.push_str(&f.doc);
        s.push_str(&f.cfg);
        let _ = writeln!(s, "pub {}: crate::Patch<{}>,", f.rust, f.ty);
    }
    s.push_str(
        "/// Properties this version of the SDK does not know and instance annotations\n\
         /// (`@odata.type`, `@odata.etag`, ...), kept so nothing is lost on a round trip.\n\
         pub additional_data: crate::AdditionalData,\n}\n\n",
    );
    s.push_str(&emit_write_fields(&name, &fields, &cfg));
    s.push_str(&emit_read_fields(&name, &def.fqn, &fields, &cfg));
    if def.kind == Kind::Entity {
        s.push_str(&emit_select(ctx, t, &fields, &cfg));
    }
    if ctx.is_poly(t) {
        s.push_str(&emit_any(ctx, t));
    }
    s
}

/// `Serialize` through `crate::write_fields`: one call per property (wire name), in order.
fn emit_write_fields(name: &str, fields: &[Field], cfg: &str) -> String {
    let mut s = String::new();
    s.push_str(cfg);
    let binding = if fields.is_empty() {
        "let writer"
    } else if fields.iter().all(|f| !f.cfg.is_empty()) {
        "#[allow(unused_mut)] // every property may be compiled out\nlet mut writer"
    } else {
        "let mut writer"
    };
    let _ = writeln!(
        s,
        "impl serde::Serialize for {name} {{\n\
         fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {{\n\
         {binding} = crate::write_fields::FieldWriter::new(serializer)?;"
    );
    for f in fields {
        let _ = writeln!(s, "{}writer.field({:?}, &self.{})?;", f.cfg, f.wire, f.rust);
    }
    s.push_str("writer.end(&self.additional_data)\n}\n}\n\n");
    s
}

/// `Deserialize` through `crate::read_fields`: one match arm per property (wire name).
fn emit_read_fields(name: &str, fqn: &str, fields: &[Field], cfg: &str) -> String {
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
         &mut self,\n\
         key: &str,\n\
         map: &mut A,\n\
         ) -> Result<bool, A::Error> {{"
    );
    if fields.is_empty() {
        s.push_str("let _ = (key, map);\nOk(false)\n}\n");
    } else {
        s.push_str("match key {\n");
        for f in fields {
            let _ = writeln!(
                s,
                "{}{:?} => self.{} = map.next_value()?,",
                f.cfg, f.wire, f.rust
            );
        }
        s.push_str("_ => return Ok(false),\n}\nOk(true)\n}\n");
    }
    s.push_str(
        "\nfn additional_data_mut(&mut self) -> &mut crate::AdditionalData {\n\
         &mut self.additional_data\n}\n}\n\n",
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
        "Self::Unknown(value) => value\n.additional_data\n.get(\"@odata.type\")\n.and_then(|t| t.as_str())\n\
         .map_or({:?}, |t| t.trim_start_matches('#')),\n}}\n}}\n",
        def.fqn
    );
    if has_id {
        let _ = writeln!(
            s,
            "/// The entity's `id`, whatever its type (`None` when it was not selected).\n\
             pub fn id(&self) -> Option<&str> {{\nmatch self {{\n\
             Self::{base_variant}(value) | Self::Unknown(value) => value.id.as_deref(),"
        );
        for (v, _, c) in variants {
            let _ = writeln!(s, "{c}Self::{v}(value) => value.id.as_deref(),");
        }
        s.push_str("}\n}\n\n");
    }
    let base_method = crate::names::snake(base_variant);
    let _ = writeln!(
        s,
        "/// The value as a [`{name}`]: the declared type, or a derived type this version does not\n\
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
         fn read_as<'de, D: serde::Deserializer<'de>>(\n\
         odata_type: Option<&str>,\n\
         deserializer: D,\n\
         ) -> Result<Self, D::Error> {{\n\
         let d = deserializer;\n\
         Ok(match odata_type {{\n\
         None | Some({:?}) => Self::{base_variant}(serde::Deserialize::deserialize(d)?),",
        def.fqn, def.fqn
    );
    for (v, d, c) in &variants {
        let _ = writeln!(
            s,
            "{c}Some({:?}) => Self::{v}(serde::Deserialize::deserialize(d)?),",
            ctx.model.types[*d].fqn
        );
    }
    let _ = writeln!(
        s,
        "Some(_) => Self::Unknown(serde::Deserialize::deserialize(d)?),\n}})\n}}\n\n\
         fn declared_data(&self) -> Option<&crate::AdditionalData> {{\n\
         match self {{\n\
         Self::{base_variant}(value) => Some(&value.additional_data),\n\
         _ => None,\n}}\n}}\n}}\n"
    );
    let _ = doc_lines;
    s
}
