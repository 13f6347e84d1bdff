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
    /// Strongly connected component of each structured type in the "contains by value" graph.
    scc: Vec<usize>,
    /// Problems found during emission.
    pub diagnostics: Vec<Diagnostic>,
}

impl<'a> Ctx<'a> {
    /// Creates the context.
    pub fn new(model: &'a Model, areas: &'a Areas) -> Ctx<'a> {
        let mut ctx = Ctx {
            model,
            areas,
            scc: Vec::new(),
            diagnostics: Vec::new(),
        };
        ctx.scc = ctx.components();
        ctx
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

    /// The Rust type of a field of `owner` holding `r` (collection and boxing applied).
    pub fn field_type(&self, owner: usize, r: &TypeRef) -> Option<String> {
        let el = self.element_type(r)?;
        if r.collection {
            return Some(format!("Vec<{el}>"));
        }
        if let Base::Named(t) = r.base
            && self.needs_box(owner, t)
        {
            return Some(format!("Box<{el}>"));
        }
        Some(el)
    }

    /// Whether a single-valued field of type `t` inside `owner` must be boxed (recursive type).
    fn needs_box(&self, owner: usize, t: usize) -> bool {
        if self.model.types[t].kind == Kind::Enum {
            return false;
        }
        std::iter::once(t)
            .chain(self.model.all_derived(t))
            .any(|x| self.scc[x] == self.scc[owner])
    }

    /// Types directly contained by value in `t` (single-valued fields, with variants).
    fn by_value_edges(&self, t: usize) -> Vec<usize> {
        let m = self.model;
        let mut out = Vec::new();
        if m.types[t].kind == Kind::Enum {
            return out;
        }
        let mut add = |x: usize| {
            if m.types[x].kind != Kind::Enum {
                out.push(x);
                out.extend(m.all_derived(x));
            }
        };
        for (_, p) in m.all_props(t) {
            if let (Base::Named(x), false) = (&p.ty.base, p.ty.collection) {
                add(*x);
            }
        }
        for (_, n) in m.all_navs(t) {
            if !n.collection {
                add(n.target);
            }
        }
        out
    }

    /// Kosaraju's algorithm over the by-value graph (iterative).
    fn components(&self) -> Vec<usize> {
        let n = self.model.types.len();
        let edges: Vec<Vec<usize>> = (0..n).map(|t| self.by_value_edges(t)).collect();
        let mut rev: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (a, es) in edges.iter().enumerate() {
            for &b in es {
                rev[b].push(a);
            }
        }
        let mut order = Vec::with_capacity(n);
        let mut seen = vec![false; n];
        for s in 0..n {
            if seen[s] {
                continue;
            }
            seen[s] = true;
            let mut stack = vec![(s, 0usize)];
            while let Some((v, i)) = stack.pop() {
                if i < edges[v].len() {
                    stack.push((v, i + 1));
                    let w = edges[v][i];
                    if !seen[w] {
                        seen[w] = true;
                        stack.push((w, 0));
                    }
                } else {
                    order.push(v);
                }
            }
        }
        let mut comp = vec![usize::MAX; n];
        let mut c = 0;
        for &s in order.iter().rev() {
            if comp[s] != usize::MAX {
                continue;
            }
            let mut stack = vec![s];
            comp[s] = c;
            while let Some(v) = stack.pop() {
                for &w in &rev[v] {
                    if comp[w] == usize::MAX {
                        comp[w] = c;
                        stack.push(w);
                    }
                }
            }
            c += 1;
        }
        comp
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

/// Doc comment from an optional description, with a fallback.
pub fn doc_or(doc: Option<&String>, fallback: &str) -> String {
    match doc {
        Some(d) if !d.trim().is_empty() => doc_lines(d),
        // Fallbacks are written by the generator: already valid rustdoc.
        _ => format!("/// {fallback}\n"),
    }
}
