//! The intermediate model: CSDL with aliases resolved, types linked by index,
//! inheritance and derived types known, and bound operations attached to their
//! binding type. Emission works only from this model.

use std::collections::{BTreeMap, HashMap};

use crate::csdl::{self, Diagnostic, Loc, OperationKind};

/// An EDM primitive type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Primitive {
    /// Edm.String
    String,
    /// Edm.Boolean
    Boolean,
    /// Edm.Byte
    Byte,
    /// Edm.SByte
    SByte,
    /// Edm.Int16
    Int16,
    /// Edm.Int32
    Int32,
    /// Edm.Int64
    Int64,
    /// Edm.Single
    Single,
    /// Edm.Double
    Double,
    /// Edm.Decimal
    Decimal,
    /// Edm.DateTimeOffset
    DateTimeOffset,
    /// Edm.Date
    Date,
    /// Edm.TimeOfDay
    TimeOfDay,
    /// Edm.Duration
    Duration,
    /// Edm.Guid
    Guid,
    /// Edm.Binary
    Binary,
    /// Edm.Stream (a media resource; never inline in JSON)
    Stream,
    /// Edm.Untyped, and anything without a precise mapping (kept as JSON).
    Untyped,
}

impl Primitive {
    fn parse(name: &str) -> Option<Primitive> {
        Some(match name {
            "String" => Primitive::String,
            "Boolean" => Primitive::Boolean,
            "Byte" => Primitive::Byte,
            "SByte" => Primitive::SByte,
            "Int16" => Primitive::Int16,
            "Int32" => Primitive::Int32,
            "Int64" => Primitive::Int64,
            "Single" => Primitive::Single,
            "Double" => Primitive::Double,
            "Decimal" => Primitive::Decimal,
            "DateTimeOffset" => Primitive::DateTimeOffset,
            "Date" => Primitive::Date,
            "TimeOfDay" => Primitive::TimeOfDay,
            "Duration" => Primitive::Duration,
            "Guid" => Primitive::Guid,
            "Binary" => Primitive::Binary,
            "Stream" => Primitive::Stream,
            "Untyped" | "PrimitiveType" | "ComplexType" | "EntityType" => Primitive::Untyped,
            _ => return None,
        })
    }
}

/// The element type of a property, parameter or return type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Base {
    /// A primitive.
    Prim(Primitive),
    /// A type of the model, by index into [`Model::types`].
    Named(usize),
}

/// A possibly collection-valued type reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeRef {
    /// The element type.
    pub base: Base,
    /// `Collection(...)`.
    pub collection: bool,
}

/// Entity, complex or enum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An entity type (has identity, addressable).
    Entity,
    /// A complex type (a value).
    Complex,
    /// An enum type.
    Enum,
}

/// A structural property.
#[derive(Clone, Debug)]
pub struct Prop {
    /// Name on the wire.
    pub name: String,
    /// Type.
    pub ty: TypeRef,
    /// Documentation, if known.
    pub doc: Option<String>,
}

/// A navigation property.
#[derive(Clone, Debug)]
pub struct Nav {
    /// Name on the wire and in URLs.
    pub name: String,
    /// Target entity type.
    pub target: usize,
    /// Collection-valued.
    pub collection: bool,
    /// `ContainsTarget`.
    pub contained: bool,
    /// What the capability annotations allow (inline and out-of-line, merged).
    pub caps: csdl::NavCapabilities,
    /// The types that can occur, from `DerivedTypeConstraint` (resolved; types the model does
    /// not know, or that do not derive from the target, are dropped).
    pub allowed: Option<Vec<usize>>,
    /// Documentation, if known.
    pub doc: Option<String>,
}

/// A type of the model.
#[derive(Clone, Debug)]
pub struct TypeDef {
    /// Namespace-qualified name, e.g. `microsoft.graph.user`.
    pub fqn: String,
    /// Namespace.
    pub namespace: String,
    /// Simple name.
    pub name: String,
    /// Kind.
    pub kind: Kind,
    /// Base type index.
    pub base: Option<usize>,
    /// Direct derived types.
    pub derived: Vec<usize>,
    /// Abstract.
    pub is_abstract: bool,
    /// Open type.
    pub is_open: bool,
    /// `HasStream`: the entity is a media entity whose bytes are at `.../$value`.
    pub has_stream: bool,
    /// Own (not inherited) structural properties.
    pub props: Vec<Prop>,
    /// Own navigation properties.
    pub navs: Vec<Nav>,
    /// Enum members (name, value, doc).
    pub members: Vec<(String, Option<i64>, Option<String>)>,
    /// Flags enum.
    pub is_flags: bool,
    /// Documentation, if known.
    pub doc: Option<String>,
    /// Source location.
    pub loc: Loc,
}

/// A bound action or function.
#[derive(Clone, Debug)]
pub struct Operation {
    /// Action or function.
    pub kind: OperationKind,
    /// Name.
    pub name: String,
    /// Namespace the operation is declared in.
    pub namespace: String,
    /// Binding type.
    pub binding: usize,
    /// Bound to a collection of the binding type.
    pub binding_collection: bool,
    /// Non-binding parameters.
    pub params: Vec<Prop>,
    /// Return type.
    pub ret: Option<TypeRef>,
    /// Documentation, if known.
    pub doc: Option<String>,
    /// Source location.
    pub loc: Loc,
}

/// An entity set or singleton.
#[derive(Clone, Debug)]
pub struct Root {
    /// Name (the first URL segment).
    pub name: String,
    /// Entity type.
    pub ty: usize,
    /// Singleton rather than entity set.
    pub singleton: bool,
}

/// The linked model.
#[derive(Debug, Default)]
pub struct Model {
    /// Namespaces with their aliases.
    pub namespaces: Vec<(String, Option<String>)>,
    /// All types.
    pub types: Vec<TypeDef>,
    /// Index by fully qualified name.
    pub by_fqn: HashMap<String, usize>,
    /// Bound operations.
    pub operations: Vec<Operation>,
    /// Unbound operations (counted and reported; not generated).
    pub unbound_operations: usize,
    /// Entity sets and singletons.
    pub roots: Vec<Root>,
    /// Everything that could not be mapped.
    pub diagnostics: Vec<Diagnostic>,
}

impl Model {
    /// Builds the model from a parsed document and optional descriptions.
    pub fn build(doc: csdl::Document, descriptions: &csdl::Descriptions) -> Model {
        let mut m = Model {
            diagnostics: doc.diagnostics,
            ..Model::default()
        };
        let mut aliases: Vec<(String, String)> = Vec::new();
        for s in &doc.schemas {
            m.namespaces.push((s.namespace.clone(), s.alias.clone()));
            if let Some(a) = &s.alias {
                aliases.push((a.clone(), s.namespace.clone()));
            }
        }
        // Longest prefix first, so `microsoft.graph.security.x` resolves to its own namespace.
        let mut ns_sorted: Vec<String> = doc.schemas.iter().map(|s| s.namespace.clone()).collect();
        ns_sorted.sort_by_key(|n| std::cmp::Reverse(n.len()));
        let resolve = |name: &str| -> String {
            for (alias, ns) in &aliases {
                if let Some(rest) = name.strip_prefix(alias.as_str())
                    && rest.starts_with('.')
                    && !rest[1..].contains('.')
                {
                    return format!("{ns}{rest}");
                }
            }
            name.to_owned()
        };
        let doc_of = |key: &str| descriptions.get(key).cloned();
        // Out-of-line navigation annotations by `namespace.Type/nav`.
        let mut nav_annotations: HashMap<String, Vec<csdl::NavCapabilities>> = HashMap::new();
        for s in &doc.schemas {
            for (target, caps) in &s.navigation_annotations {
                nav_annotations
                    .entry(resolve(target))
                    .or_default()
                    .push(caps.clone());
            }
        }

        // Pass 1: declare every type.
        for s in &doc.schemas {
            let ns = &s.namespace;
            let structured = s
                .entity_types
                .iter()
                .map(|t| (t, Kind::Entity))
                .chain(s.complex_types.iter().map(|t| (t, Kind::Complex)));
            for (t, kind) in structured {
                if t.name.is_empty() {
                    continue;
                }
                m.declare(TypeDef {
                    fqn: format!("{ns}.{}", t.name),
                    namespace: ns.clone(),
                    name: t.name.clone(),
                    kind,
                    base: None,
                    derived: Vec::new(),
                    is_abstract: t.is_abstract,
                    is_open: t.is_open,
                    has_stream: t.has_stream,
                    props: Vec::new(),
                    navs: Vec::new(),
                    members: Vec::new(),
                    is_flags: false,
                    doc: doc_of(&format!("{ns}.{}", t.name)),
                    loc: t.loc,
                });
            }
            for e in &s.enum_types {
                if e.name.is_empty() {
                    continue;
                }
                let fqn = format!("{ns}.{}", e.name);
                let members = e
                    .members
                    .iter()
                    .map(|mem| {
                        (
                            mem.name.clone(),
                            mem.value,
                            doc_of(&format!("{fqn}/{}", mem.name)),
                        )
                    })
                    .collect();
                m.declare(TypeDef {
                    fqn: fqn.clone(),
                    namespace: ns.clone(),
                    name: e.name.clone(),
                    kind: Kind::Enum,
                    base: None,
                    derived: Vec::new(),
                    is_abstract: false,
                    is_open: false,
                    has_stream: false,
                    props: Vec::new(),
                    navs: Vec::new(),
                    members,
                    is_flags: e.is_flags,
                    doc: doc_of(&fqn),
                    loc: e.loc,
                });
            }
        }

        // Pass 2: link bases, properties and navigations.
        for s in &doc.schemas {
            let ns = &s.namespace;
            for t in s.entity_types.iter().chain(s.complex_types.iter()) {
                let fqn = format!("{ns}.{}", t.name);
                let Some(&idx) = m.by_fqn.get(&fqn) else {
                    continue;
                };
                if let Some(b) = &t.base_type {
                    match m.by_fqn.get(&resolve(b)) {
                        Some(&bi) if bi != idx && m.types[bi].kind == m.types[idx].kind => {
                            m.types[idx].base = Some(bi);
                        }
                        _ => m.diagnostics.push(Diagnostic {
                            loc: t.loc,
                            message: format!("{fqn}: base type {b} is unknown or of another kind; treated as a root type"),
                        }),
                    }
                }
                let mut props = Vec::new();
                for p in &t.properties {
                    let Some(ty) = m.type_ref(&p.type_name, &resolve, p.loc, &fqn) else {
                        continue;
                    };
                    props.push(Prop {
                        name: p.name.clone(),
                        ty,
                        doc: doc_of(&format!("{fqn}/{}", p.name)),
                    });
                }
                let mut navs = Vec::new();
                for n in &t.navigations {
                    let Some(ty) = m.type_ref(&n.type_name, &resolve, n.loc, &fqn) else {
                        continue;
                    };
                    match ty.base {
                        Base::Named(target) if m.types[target].kind == Kind::Entity => {
                            let mut caps = n.capabilities.clone();
                            for extra in nav_annotations
                                .get(&format!("{fqn}/{}", n.name))
                                .into_iter()
                                .flatten()
                            {
                                caps.referenceable = extra.referenceable.or(caps.referenceable);
                                caps.not_navigable |= extra.not_navigable;
                                caps.insertable = extra.insertable.or(caps.insertable);
                                caps.updatable = extra.updatable.or(caps.updatable);
                                caps.deletable = extra.deletable.or(caps.deletable);
                                caps.indexable_by_key =
                                    extra.indexable_by_key.or(caps.indexable_by_key);
                                if extra.derived_type_constraint.is_some() {
                                    caps.derived_type_constraint =
                                        extra.derived_type_constraint.clone();
                                }
                            }
                            navs.push(Nav {
                                name: n.name.clone(),
                                target,
                                collection: ty.collection,
                                contained: n.contains_target,
                                caps,
                                allowed: None,
                                doc: doc_of(&format!("{fqn}/{}", n.name)),
                            })
                        }
                        _ => m.diagnostics.push(Diagnostic {
                            loc: n.loc,
                            message: format!(
                                "{fqn}/{}: navigation to a non-entity type {} skipped",
                                n.name, n.type_name
                            ),
                        }),
                    }
                }
                m.types[idx].props = props;
                m.types[idx].navs = navs;
            }
        }
        // Break inheritance cycles defensively, then record derived types.
        for i in 0..m.types.len() {
            let mut seen = vec![i];
            let mut cur = m.types[i].base;
            while let Some(b) = cur {
                if seen.contains(&b) {
                    m.diagnostics.push(Diagnostic {
                        loc: m.types[i].loc,
                        message: format!(
                            "{}: inheritance cycle; base type dropped",
                            m.types[i].fqn
                        ),
                    });
                    m.types[i].base = None;
                    break;
                }
                seen.push(b);
                cur = m.types[b].base;
            }
        }
        for i in 0..m.types.len() {
            if let Some(b) = m.types[i].base {
                m.types[b].derived.push(i);
            }
        }
        // Resolve derived-type constraints now that derived types are known.
        for i in 0..m.types.len() {
            for k in 0..m.types[i].navs.len() {
                let nav = &m.types[i].navs[k];
                let Some(names) = nav.caps.derived_type_constraint.clone() else {
                    continue;
                };
                let derived = m.all_derived(nav.target);
                let allowed: Vec<usize> = names
                    .iter()
                    .filter_map(|n| m.by_fqn.get(&resolve(n)).copied())
                    .filter(|t| derived.contains(t))
                    .collect();
                m.types[i].navs[k].allowed = Some(allowed);
            }
        }

        // Pass 3: operations and the container.
        for s in &doc.schemas {
            for op in &s.operations {
                m.add_operation(op, &s.namespace, &resolve, descriptions);
            }
            if let Some(c) = &s.container {
                for (name, ty, loc, singleton) in c
                    .entity_sets
                    .iter()
                    .map(|(n, t, l)| (n, t, l, false))
                    .chain(c.singletons.iter().map(|(n, t, l)| (n, t, l, true)))
                {
                    match m.by_fqn.get(&resolve(ty)) {
                        Some(&t) if m.types[t].kind == Kind::Entity => m.roots.push(Root {
                            name: name.clone(),
                            ty: t,
                            singleton,
                        }),
                        _ => m.diagnostics.push(Diagnostic {
                            loc: *loc,
                            message: format!("{name}: unknown entity type {ty}; skipped"),
                        }),
                    }
                }
            }
        }
        m
    }

    fn declare(&mut self, t: TypeDef) {
        if let Some(&existing) = self.by_fqn.get(&t.fqn) {
            self.diagnostics.push(Diagnostic {
                loc: t.loc,
                message: format!(
                    "{} declared twice (first at {}); second declaration ignored",
                    t.fqn, self.types[existing].loc
                ),
            });
            return;
        }
        self.by_fqn.insert(t.fqn.clone(), self.types.len());
        self.types.push(t);
    }

    fn type_ref(
        &mut self,
        raw: &str,
        resolve: &dyn Fn(&str) -> String,
        loc: Loc,
        owner: &str,
    ) -> Option<TypeRef> {
        let raw = raw.trim();
        let (inner, collection) = match raw
            .strip_prefix("Collection(")
            .and_then(|r| r.strip_suffix(')'))
        {
            Some(inner) => (inner.trim(), true),
            None => (raw, false),
        };
        if let Some(prim) = inner.strip_prefix("Edm.") {
            return match Primitive::parse(prim) {
                Some(p) => Some(TypeRef {
                    base: Base::Prim(p),
                    collection,
                }),
                None => {
                    self.diagnostics.push(Diagnostic {
                        loc,
                        message: format!(
                            "{owner}: primitive type {inner} has no precise mapping; kept as JSON"
                        ),
                    });
                    Some(TypeRef {
                        base: Base::Prim(Primitive::Untyped),
                        collection,
                    })
                }
            };
        }
        match self.by_fqn.get(&resolve(inner)) {
            Some(&i) => Some(TypeRef {
                base: Base::Named(i),
                collection,
            }),
            None => {
                self.diagnostics.push(Diagnostic {
                    loc,
                    message: format!("{owner}: unknown type {raw}; member skipped"),
                });
                None
            }
        }
    }

    fn add_operation(
        &mut self,
        op: &csdl::Operation,
        ns: &str,
        resolve: &dyn Fn(&str) -> String,
        descriptions: &csdl::Descriptions,
    ) {
        if !op.is_bound {
            self.unbound_operations += 1;
            self.diagnostics.push(Diagnostic {
                loc: op.loc,
                message: format!("unbound operation {ns}.{} not generated", op.name),
            });
            return;
        }
        let Some(binding_param) = op.parameters.first() else {
            self.diagnostics.push(Diagnostic {
                loc: op.loc,
                message: format!(
                    "bound operation {ns}.{} has no binding parameter; skipped",
                    op.name
                ),
            });
            return;
        };
        let owner = format!("{ns}.{}", op.name);
        let Some(binding) =
            self.type_ref(&binding_param.type_name, resolve, binding_param.loc, &owner)
        else {
            return;
        };
        let binding_idx = match binding.base {
            Base::Named(i) if self.types[i].kind == Kind::Entity => i,
            _ => {
                self.diagnostics.push(Diagnostic {
                    loc: op.loc,
                    message: format!(
                        "{owner}: bound to a non-entity type {}; skipped",
                        binding_param.type_name
                    ),
                });
                return;
            }
        };
        let mut params = Vec::new();
        for p in &op.parameters[1..] {
            let Some(ty) = self.type_ref(&p.type_name, resolve, p.loc, &owner) else {
                return;
            };
            params.push(Prop {
                name: p.name.clone(),
                ty,
                doc: None,
            });
        }
        let ret = match &op.return_type {
            Some(r) => match self.type_ref(&r.type_name, resolve, r.loc, &owner) {
                Some(t) => Some(t),
                None => return,
            },
            None => None,
        };
        let binding_fqn = self.types[binding_idx].fqn.clone();
        self.operations.push(Operation {
            kind: op.kind,
            name: op.name.clone(),
            namespace: ns.to_owned(),
            binding: binding_idx,
            binding_collection: binding.collection,
            params,
            ret,
            doc: descriptions
                .get(&format!("{binding_fqn}/{}", op.name))
                .cloned(),
            loc: op.loc,
        });
    }

    /// The chain of types from the root base to `idx` (inclusive), root first.
    pub fn lineage(&self, idx: usize) -> Vec<usize> {
        let mut chain = vec![idx];
        let mut cur = self.types[idx].base;
        while let Some(b) = cur {
            chain.push(b);
            cur = self.types[b].base;
        }
        chain.reverse();
        chain
    }

    /// All structural properties of a type including inherited ones, base first.
    pub fn all_props(&self, idx: usize) -> Vec<(usize, &Prop)> {
        self.lineage(idx)
            .into_iter()
            .flat_map(|t| self.types[t].props.iter().map(move |p| (t, p)))
            .collect()
    }

    /// All navigation properties of a type including inherited ones, base first.
    pub fn all_navs(&self, idx: usize) -> Vec<(usize, &Nav)> {
        self.lineage(idx)
            .into_iter()
            .flat_map(|t| self.types[t].navs.iter().map(move |n| (t, n)))
            .collect()
    }

    /// All transitive derived types, depth first, in declaration order.
    pub fn all_derived(&self, idx: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut stack: Vec<usize> = self.types[idx].derived.iter().rev().copied().collect();
        while let Some(d) = stack.pop() {
            out.push(d);
            stack.extend(self.types[d].derived.iter().rev().copied());
        }
        out
    }

    /// Simple names that occur in more than one namespace.
    pub fn duplicated_names(&self) -> BTreeMap<String, Vec<usize>> {
        let mut by_name: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, t) in self.types.iter().enumerate() {
            by_name.entry(t.name.clone()).or_default().push(i);
        }
        by_name.retain(|_, v| {
            let mut ns: Vec<&str> = v
                .iter()
                .map(|&i| self.types[i].namespace.as_str())
                .collect();
            ns.sort_unstable();
            ns.dedup();
            ns.len() > 1
        });
        by_name
    }
}
