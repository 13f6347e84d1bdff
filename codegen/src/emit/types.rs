//! Naming and type mapping shared by the model and builder emitters.

use crate::areas::{Areas, Cfg};
use crate::csdl::Diagnostic;
use crate::model::{Base, Kind, Model, Primitive, TypeRef};
use crate::names;

/// The namespace whose types live directly in `models` (others get a submodule).
pub const MAIN_NS: &str = "microsoft.graph";

/// Emission context.
pub struct Ctx<'a> {
    /// The model.
    pub model: &'a Model,
    /// The areas.
    pub areas: &'a Areas,
    /// Problems found during emission.
    pub diagnostics: Vec<Diagnostic>,
    /// An example URL path addressing one entity of each type (`/users/{id}`), for docs.
    examples: std::collections::HashMap<usize, String>,
    /// Entity types some referenced navigation or cast points to (they get `RefTarget`).
    pub ref_targets: std::collections::BTreeSet<usize>,
    /// Cast sets of referenced collections, by (declared target, castable types): the marker
    /// type's name and the navigations that use it.
    pub cast_sets: std::collections::BTreeMap<(usize, Vec<usize>), (String, Vec<String>)>,
    /// The id of every property (structural and navigation) by (declaring type, wire name),
    /// and the wire names by id: models store `(id, value)` pairs.
    pub property_ids: std::collections::HashMap<(usize, String), u16>,
    /// Wire names by property id.
    pub property_names: Vec<String>,
}

impl<'a> Ctx<'a> {
    /// Creates the context.
    pub fn new(model: &'a Model, areas: &'a Areas) -> Ctx<'a> {
        Ctx {
            model,
            areas,
            diagnostics: Vec::new(),
            examples: example_paths(model),
            ref_targets: Default::default(),
            cast_sets: Default::default(),
            property_ids: Default::default(),
            property_names: Vec::new(),
        }
        .with_property_ids()
    }

    /// Numbers every property of every structured type, in model order (stable for a given
    /// metadata, whatever features are enabled).
    fn with_property_ids(mut self) -> Self {
        for (t, def) in self.model.types.iter().enumerate() {
            if def.kind == Kind::Enum {
                continue;
            }
            let names = def
                .props
                .iter()
                .filter(|p| !matches!(p.ty.base, Base::Prim(Primitive::Stream)))
                .map(|p| p.name.clone())
                .chain(def.navs.iter().map(|n| n.name.clone()));
            for name in names {
                if self.property_ids.contains_key(&(t, name.clone())) {
                    continue;
                }
                // Ids are 16 bits (a model stores them beside each value); Graph's v1.0 has
                // about 12,000. Beyond that a property is not generated, and says so.
                let Ok(id) = u16::try_from(self.property_names.len()) else {
                    self.diagnostics.push(Diagnostic {
                        loc: def.loc,
                        message: format!(
                            "{}/{name}: more than 65,536 properties in the model; not generated",
                            def.fqn
                        ),
                    });
                    continue;
                };
                self.property_ids.insert((t, name.clone()), id);
                self.property_names.push(name);
            }
        }
        self
    }

    /// The id of property `name` declared by type `t`.
    pub fn property_id(&self, t: usize, name: &str) -> Option<u16> {
        self.property_ids.get(&(t, name.to_owned())).copied()
    }

    /// An example path of one entity of type `t` (e.g. `/users/{id}`, `/me/messages/{id}`),
    /// or `None` when no root reaches it through contained navigations.
    pub fn example_path(&self, t: usize) -> Option<&str> {
        self.examples.get(&t).map(String::as_str)
    }

    /// Where an entity of type `t` is addressed by id for `@odata.id`: `directoryObjects` for
    /// directory objects, else an entity set of `t` or a base type, else a collection of it
    /// contained in a singleton (`policies/tokenIssuancePolicies`).
    pub fn ref_address(&self, t: usize) -> Option<String> {
        let lineage = self.model.lineage(t);
        if lineage
            .iter()
            .any(|&b| self.model.types[b].fqn == "microsoft.graph.directoryObject")
        {
            return Some("directoryObjects".into());
        }
        for &b in lineage.iter().rev() {
            if let Some(root) = self.model.roots.iter().find(|r| !r.singleton && r.ty == b) {
                return Some(root.name.clone());
            }
        }
        for root in self.model.roots.iter().filter(|r| r.singleton) {
            for (_, nav) in self.model.all_navs(root.ty) {
                if nav.contained && nav.collection && lineage.contains(&nav.target) {
                    return Some(format!("{}/{}", root.name, nav.name));
                }
            }
        }
        None
    }

    /// Whether type `t` is polymorphic (has derived types): positions of it become `AnyX`.
    pub fn is_poly(&self, t: usize) -> bool {
        let def = &self.model.types[t];
        def.kind != Kind::Enum && !def.derived.is_empty()
    }

    /// The Rust type name of a model type (without module path).
    pub fn type_name(&self, t: usize) -> String {
        names::pascal(&self.model.types[t].name)
    }

    /// Module path of a model type relative to `crate::models` (e.g. `security::`), or empty.
    pub fn ns_prefix(&self, t: usize) -> String {
        let ns = &self.model.types[t].namespace;
        if ns == MAIN_NS {
            String::new()
        } else {
            format!("{}::", names::namespace_module(ns))
        }
    }

    /// The path of a model type from anywhere in the crate.
    pub fn model_path(&self, t: usize) -> String {
        format!("crate::models::{}{}", self.ns_prefix(t), self.type_name(t))
    }

    /// The path of the polymorphic wrapper of a model type.
    pub fn any_path(&self, t: usize) -> String {
        format!(
            "crate::models::{}Any{}",
            self.ns_prefix(t),
            self.type_name(t)
        )
    }

    /// The item type of reads of `t`: `AnyX` when polymorphic, else `X`.
    pub fn read_path(&self, t: usize) -> String {
        if self.is_poly(t) {
            self.any_path(t)
        } else {
            self.model_path(t)
        }
    }

    /// A unique, namespace-qualified Pascal name for builders and variants.
    pub fn qualified_pascal(&self, t: usize) -> String {
        let def = &self.model.types[t];
        if def.namespace == MAIN_NS {
            names::pascal(&def.name)
        } else {
            format!(
                "{}{}",
                names::pascal(&names::namespace_module(&def.namespace)),
                names::pascal(&def.name)
            )
        }
    }

    /// Builder names for an entity type: (single, collection).
    pub fn builder_names(&self, t: usize) -> (String, String) {
        let p = self.qualified_pascal(t);
        (format!("{p}Builder"), format!("{p}CollectionBuilder"))
    }

    /// The condition under which type `t` is compiled.
    pub fn cfg(&self, t: usize) -> Cfg {
        Cfg::of(self.areas, t)
    }

    /// The condition under which every named type in `refs` is compiled.
    pub fn cfg_refs<'r>(&self, refs: impl IntoIterator<Item = &'r TypeRef>) -> Cfg {
        let mut c = Cfg::always();
        for r in refs {
            if let Base::Named(t) = r.base {
                c = c.and(&self.cfg(t));
            }
        }
        c
    }

    /// The Rust type of a primitive, or `None` for streams (not inline in JSON).
    pub fn primitive(p: &Primitive) -> Option<&'static str> {
        Some(match p {
            Primitive::String => "String",
            Primitive::Boolean => "bool",
            Primitive::Byte => "u8",
            Primitive::SByte => "i8",
            Primitive::Int16 => "i16",
            Primitive::Int32 => "i32",
            Primitive::Int64 => "i64",
            Primitive::Single | Primitive::Double | Primitive::Decimal => "crate::edm::Double",
            Primitive::DateTimeOffset => "crate::edm::DateTimeOffset",
            Primitive::Date => "crate::edm::Date",
            Primitive::TimeOfDay => "crate::edm::TimeOfDay",
            Primitive::Duration => "crate::edm::Duration",
            Primitive::Guid => "crate::edm::Guid",
            Primitive::Binary => "crate::edm::Binary",
            Primitive::Untyped => "serde_json::Value",
            Primitive::Stream => return None,
        })
    }

    /// The Rust element type of a reference (no collection, no box).
    pub fn element_type(&self, r: &TypeRef) -> Option<String> {
        match &r.base {
            Base::Prim(p) => Self::primitive(p).map(str::to_owned),
            Base::Named(t) => {
                let def = &self.model.types[*t];
                Some(match def.kind {
                    Kind::Enum if def.is_flags => {
                        format!("crate::edm::Flags<{}>", self.model_path(*t))
                    }
                    Kind::Enum => self.model_path(*t),
                    _ => self.read_path(*t),
                })
            }
        }
    }

    /// The Rust type of a field holding `r` (collection and boxing applied).
    pub fn field_type(&self, r: &TypeRef) -> Option<String> {
        let el = self.element_type(r)?;
        if r.collection {
            return Some(format!("Vec<{el}>"));
        }
        if let Base::Named(t) = r.base
            && self.needs_box(t)
        {
            return Some(format!("Box<{el}>"));
        }
        Some(el)
    }

    /// Whether a single-valued field of type `t` is boxed: every structured type is, so a
    /// model's size is about 24 bytes per property whatever it holds (a `user` would
    /// otherwise carry its manager's whole `AnyDirectoryObject` and every complex value
    /// inline: 7.4 KB, mostly copied around empty), and recursive types need no special case.
    fn needs_box(&self, t: usize) -> bool {
        self.model.types[t].kind != Kind::Enum
    }
}

/// Escapes text for a `///` doc comment (one paragraph, no HTML surprises in rustdoc).
pub fn doc_lines(text: &str) -> String {
    let cleaned = text
        .replace(['\r', '\n'], " ")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('[', "\\[")
        .replace(']', "\\]")
        .replace('`', "'");
    let mut out = String::new();
    // Wrap long descriptions for readability.
    let mut line = String::new();
    for word in cleaned.split_whitespace() {
        if !line.is_empty() && line.len() + word.len() > 96 {
            out.push_str("/// ");
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str("/// ");
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Generator-written rustdoc (already valid markdown) as `///` lines wrapped at about 96
/// columns, after an empty `///` line that separates it from the description above.
pub fn doc_paragraph(text: &str) -> String {
    format!("///\n{}", doc_text(text))
}

/// Generator-written rustdoc (already valid markdown) as `///` lines wrapped at about 96
/// columns.
pub fn doc_text(text: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + word.len() > 96 {
            out.push_str("/// ");
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str("/// ");
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Doc comment from an optional description, with a fallback.
pub fn doc_or(doc: Option<&String>, fallback: &str) -> String {
    match doc {
        Some(d) if !d.trim().is_empty() => doc_lines(d),
        // Fallbacks are written by the generator: already valid rustdoc.
        _ => format!("/// {fallback}\n"),
    }
}

/// Example paths per entity type: entity sets first (`/users/{id}`), then singletons (`/me`),
/// then contained navigations from those (breadth first), then casts of a base type's path.
fn example_paths(model: &Model) -> std::collections::HashMap<usize, String> {
    let mut out: std::collections::HashMap<usize, String> = std::collections::HashMap::new();
    let mut queue: std::collections::VecDeque<usize> = std::collections::VecDeque::new();
    for root in model.roots.iter().filter(|r| !r.singleton) {
        if let std::collections::hash_map::Entry::Vacant(e) = out.entry(root.ty) {
            e.insert(format!("/{}/{{id}}", root.name));
            queue.push_back(root.ty);
        }
    }
    for root in model.roots.iter().filter(|r| r.singleton) {
        if let std::collections::hash_map::Entry::Vacant(e) = out.entry(root.ty) {
            e.insert(format!("/{}", root.name));
            queue.push_back(root.ty);
        }
    }
    while let Some(t) = queue.pop_front() {
        let base = out[&t].clone();
        if base.matches('/').count() > 8 {
            continue;
        }
        for (_, nav) in model.all_navs(t) {
            if !nav.contained || out.contains_key(&nav.target) {
                continue;
            }
            let path = if nav.collection {
                format!("{base}/{}/{{id}}", nav.name)
            } else {
                format!("{base}/{}", nav.name)
            };
            out.insert(nav.target, path);
            queue.push_back(nav.target);
        }
    }
    // Derived types without a path of their own: their base's path with a cast.
    for t in 0..model.types.len() {
        if model.types[t].kind != Kind::Entity || out.contains_key(&t) {
            continue;
        }
        let mut cur = model.types[t].base;
        while let Some(b) = cur {
            if let Some(path) = out.get(&b) {
                let path = format!("{path}/{}", model.types[t].fqn);
                out.insert(t, path);
                break;
            }
            cur = model.types[b].base;
        }
    }
    out
}
