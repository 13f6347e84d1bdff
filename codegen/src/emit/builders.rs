//! Emission of fluent request builders: one single-item and one collection builder per
//! entity type (the URL path accumulates at run time), action bodies, and the
//! `GraphClient` entry points for entity sets and singletons.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

use super::models::area_module;
use super::types::{Ctx, MAIN_NS, doc_lines, doc_or, doc_paragraph, doc_text};
use crate::areas::Cfg;
use crate::csdl::{Diagnostic, OperationKind};
use crate::model::{Base, Kind, Operation, Primitive, TypeRef};
use crate::names;

/// Methods of `GraphClient` written by hand; generated entry points must not clash.
const CLIENT_RESERVED: &[&str] = &[
    "new",
    "from_client",
    "client",
    "request",
    "raw",
    "batch",
    "builder",
    "base_url",
    "administrative_units",
];

/// Casts are offered to every derived type when there are at most this many; beyond
/// (a root type such as `entity`), only direct derived types get one.
const MAX_CASTS: usize = 64;

/// Emits builder files into `files`.
pub fn emit(ctx: &mut Ctx<'_>, files: &mut BTreeMap<String, String>) {
    name_cast_sets(ctx);
    let mut bodies: BTreeMap<String, String> = BTreeMap::new();
    for t in 0..ctx.model.types.len() {
        if ctx.model.types[t].kind != Kind::Entity || !ctx.areas.is_used(t) {
            continue;
        }
        let file = format!(
            "builders/{}.rs",
            area_module(&ctx.areas.names[ctx.areas.home[t]])
        );
        let text = emit_type(ctx, t);
        bodies.entry(file).or_default().push_str(&text);
    }
    // Action bodies, once per action (derived builders reuse their base's body type).
    let mut body_names = HashSet::new();
    for op in &ctx.model.operations {
        if op.kind != OperationKind::Action
            || op.params.is_empty()
            || !ctx.areas.is_used(op.binding)
        {
            continue;
        }
        let name = body_struct_name(ctx, op, op.binding_collection);
        if !body_names.insert(name.clone()) {
            continue;
        }
        let text = emit_action_body(ctx, op);
        if text.is_empty() {
            continue;
        }
        // Bodies are models: they live next to their binding type.
        let file = super::models::file_of(ctx, op.binding);
        files.entry(file).or_default().push_str(&text);
    }
    let mut m = String::from(
        "//! Fluent request builders: `XBuilder` addresses one entity, `XCollectionBuilder` a\n\
         //! collection; navigation methods append to the path, and terminal methods return\n\
         //! msgraph-typed-core requests (`send()`, `pages()`, `stream()`).\n\nmod root;\n",
    );
    for (file, body) in bodies {
        let module = file
            .trim_start_matches("builders/")
            .trim_end_matches(".rs")
            .to_owned();
        let _ = writeln!(
            m,
            "mod {module};\n#[allow(unused_imports)] // empty when its feature is off\npub use {module}::*;"
        );
        files.insert(
            file,
            format!(
                "//! Builders of the `{}` area.\n\n{body}",
                module.replace('_', "-")
            ),
        );
    }
    m.push_str("mod references;\npub use references::*;\n");
    files.insert("builders/references.rs".into(), emit_references(ctx));
    files.insert("builders/mod.rs".into(), m);
    files.insert("builders/root.rs".into(), emit_roots(ctx));
}

fn emit_roots(ctx: &Ctx<'_>) -> String {
    let mut s = String::from(
        "//! Entry points on [`crate::GraphClient`] for Graph's entity sets and singletons.\n\n\
         impl crate::GraphClient {\n",
    );
    let mut used: HashSet<String> = CLIENT_RESERVED.iter().map(|s| (*s).to_owned()).collect();
    for r in &ctx.model.roots {
        let mut method = names::snake(&r.name);
        while !used.insert(method.clone()) {
            method.push_str("_root");
        }
        let (single, coll) = ctx.builder_names(r.ty);
        let def = &ctx.model.types[r.ty];
        s.push_str(&ctx.cfg(r.ty).attr(ctx.areas, &Cfg::always()));
        if r.singleton {
            let _ = writeln!(
                s,
                "/// The `/{}` singleton (a `{}`).\npub fn {method}(&self) -> crate::builders::{single} {{\n\
                 crate::builders::{single}::new(self.client().clone(), {:?})\n}}",
                r.name, def.name, r.name
            );
        } else {
            let _ = writeln!(
                s,
                "/// The `/{}` entity set (of `{}`).\npub fn {method}(&self) -> crate::builders::{coll} {{\n\
                 crate::builders::{coll}::new(self.client().clone(), {:?})\n}}",
                r.name, def.name, r.name
            );
        }
    }
    s.push_str("}\n");
    s
}

/// A method of a builder under construction.
struct Methods {
    used: HashSet<String>,
    text: String,
}

impl Methods {
    fn new(reserved: &[&str]) -> Methods {
        Methods {
            used: reserved.iter().map(|s| (*s).to_owned()).collect(),
            text: String::new(),
        }
    }

    fn claim(&mut self, name: &str) -> bool {
        self.used.insert(name.to_owned())
    }
}

const SINGLE_RESERVED: &[&str] = &["new", "path", "client", "get", "update", "delete"];
const COLLECTION_RESERVED: &[&str] = &["new", "path", "client", "list", "by_id", "create", "count"];

fn builder_struct(name: &str, doc: &str, cfg: &str) -> String {
    format!(
        "{doc}{cfg}#[derive(Clone, Debug)]\n#[must_use = \"a builder does nothing until a request is sent\"]\n\
         pub struct {name} {{\npub(crate) client: msgraph_typed_core::Client,\npub(crate) path: String,\n}}\n\n"
    )
}

fn common_methods(name: &str) -> String {
    format!(
        "/// A builder for `path` (relative to the client's base URL, percent-encoded, no\n\
         /// leading slash). Generated navigation methods call this; it is public so that\n\
         /// paths the generator does not know can still use the typed terminals.\n\
         pub fn new(client: msgraph_typed_core::Client, path: impl Into<String>) -> {name} {{\n\
         {name} {{ client, path: path.into() }}\n}}\n\n\
         /// The path this builder addresses, relative to the base URL.\n\
         pub fn path(&self) -> &str {{\n&self.path\n}}\n\n"
    )
}

/// The body struct of an action with parameters (empty when it is never compiled).
pub fn emit_action_body(ctx: &Ctx<'_>, op: &Operation) -> String {
    let name = body_struct_name(ctx, op, op.binding_collection);
    let cfg = ctx
        .cfg(op.binding)
        .and(&ctx.cfg_refs(op.params.iter().map(|p| &p.ty)));
    if cfg.is_never() || op.params.is_empty() {
        return String::new();
    }
    emit_body(ctx, op, &name, &cfg.attr(ctx.areas, &Cfg::always()))
}

/// The builders of one entity type.
pub fn emit_type(ctx: &mut Ctx<'_>, t: usize) -> String {
    let (single, coll) = ctx.builder_names(t);
    let def = &ctx.model.types[t];
    let own_cfg = ctx.cfg(t);
    let cfg = own_cfg.attr(ctx.areas, &Cfg::always());
    let read = ctx.read_path(t);
    let write = ctx.model_path(t);
    let fqn = def.fqn.clone();
    let mut s = String::new();

    // Single item.
    let example = ctx
        .example_path(t)
        .map(|p| format!(", for example `{p}`"))
        .unwrap_or_default();
    s.push_str(&builder_struct(
        &single,
        &format!("/// Requests on one `{}`{example}.\n", def.name),
        &cfg,
    ));
    let mut single_m = Methods::new(SINGLE_RESERVED);
    let _ = write!(
        single_m.text,
        "{}/// Reads this `{name}` (`GET`). `$select` takes typed field names.\n\
         pub fn get(&self) -> msgraph_typed_core::EntityRequest<{read}> {{\nself.client.entity(self.path.clone())\n}}\n\n\
         /// Updates this `{name}` (`PATCH`): only the fields that are set are sent; a field\n\
         /// set to [`crate::Patch::Null`] is sent as `null` to clear it.\n\
         pub fn update(&self, body: &{write}) -> msgraph_typed_core::Request<msgraph_typed_core::NoContent> {{\n\
         self.client.request(http::Method::PATCH, self.path.clone()).json_body(body)\n}}\n\n\
         /// Deletes this `{name}` (`DELETE`).\n\
         pub fn delete(&self) -> msgraph_typed_core::Request<msgraph_typed_core::NoContent> {{\n\
         self.client.request(http::Method::DELETE, self.path.clone())\n}}\n\n",
        common_methods(&single),
        name = def.name
    );
    emit_navs(ctx, t, &own_cfg, &mut single_m);
    emit_streams(ctx, t, &read, &mut single_m);
    emit_ops(ctx, t, false, &own_cfg, &mut single_m);

    // Collection.
    let mut coll_m = Methods::new(COLLECTION_RESERVED);
    let _ = write!(
        coll_m.text,
        "{}/// Lists the collection (`GET`): `send()` for one page, `pages()` or `stream()` for all.\n\
         pub fn list(&self) -> msgraph_typed_core::CollectionRequest<{read}> {{\nself.client.collection(self.path.clone())\n}}\n\n\
         /// Addresses one member by its key (percent-encoded here).\n\
         pub fn by_id(&self, id: impl AsRef<str>) -> {single} {{\n\
         {single}::new(self.client.clone(), format!(\"{{}}/{{}}\", self.path, msgraph_typed_core::path::encode_segment(id.as_ref())))\n}}\n\n\
         /// Creates a member (`POST`) and returns it as the service stored it.\n\
         pub fn create(&self, body: &{write}) -> msgraph_typed_core::Request<{read}> {{\n\
         self.client.request(http::Method::POST, self.path.clone()).json_body(body)\n}}\n\n\
         /// Counts the members (`GET .../$count`, sent with `ConsistencyLevel: eventual`).\n\
         pub fn count(&self) -> msgraph_typed_core::CountRequest {{\nself.client.count(self.path.clone())\n}}\n\n",
        common_methods(&coll)
    );
    emit_casts(ctx, t, &own_cfg, &mut coll_m);
    emit_ops(ctx, t, true, &own_cfg, &mut coll_m);

    s.push_str(&cfg);
    let _ = writeln!(s, "impl {single} {{\n{}}}\n", single_m.text);
    let coll_example = ctx
        .example_path(t)
        .and_then(|p| p.strip_suffix("/{id}"))
        .map(|p| format!(", for example `{p}`"))
        .unwrap_or_default();
    s.push_str(&builder_struct(
        &coll,
        &format!("/// Requests on a collection of `{fqn}`{coll_example}.\n"),
        &cfg,
    ));
    s.push_str(&cfg);
    let _ = writeln!(s, "impl {coll} {{\n{}}}\n", coll_m.text);
    s
}

/// The path a navigation method's doc shows: the owner's example path plus the segment.
fn nav_example(ctx: &Ctx<'_>, owner: usize, segment: &str) -> String {
    match ctx.example_path(owner) {
        Some(path) => format!("{path}/{segment}"),
        None => format!(".../{segment}"),
    }
}

fn emit_navs(ctx: &mut Ctx<'_>, t: usize, own_cfg: &Cfg, m: &mut Methods) {
    let navs: Vec<(usize, crate::model::Nav)> = ctx
        .model
        .all_navs(t)
        .into_iter()
        .map(|(o, n)| (o, n.clone()))
        .collect();
    for (owner, n) in navs {
        if n.caps.not_navigable {
            continue; // Navigability None: Graph exposes no path through it.
        }
        let method = names::snake(&n.name);
        if !m.claim(&method) {
            ctx.diagnostics.push(Diagnostic {
                loc: ctx.model.types[owner].loc,
                message: format!(
                    "{}/{}: builder method {method} taken; navigation not generated",
                    ctx.model.types[owner].fqn, n.name
                ),
            });
            continue;
        }
        let cfg = ctx.cfg(n.target).attr(ctx.areas, own_cfg);
        let doc = doc_or(
            n.doc.as_ref(),
            &format!("The `{}` navigation property.", n.name),
        );
        let example = nav_example(ctx, t, &n.name);
        let (target, how) = if n.contained {
            let (single, coll) = ctx.builder_names(n.target);
            let target = format!(
                "crate::builders::{}",
                if n.collection { coll } else { single }
            );
            let how = if n.collection {
                doc_paragraph(&format!(
                    "`GET {example}` lists them; contained, so they are created, read, updated \
                     and deleted through it."
                ))
            } else {
                doc_paragraph(&format!("`GET {example}`."))
            };
            (target, how)
        } else {
            reference_target(ctx, &n, &example)
        };
        // A generic type's constructor needs the qualified form: `<Type<A, B>>::new`.
        let ctor = if target.contains('<') {
            format!("<{target}>")
        } else {
            target.clone()
        };
        let _ = write!(
            m.text,
            "{doc}{how}{cfg}pub fn {method}(&self) -> {target} {{\n\
             {ctor}::new(self.client.clone(), format!(\"{{}}/{}\", self.path))\n}}\n\n",
            n.name
        );
    }
}

/// Typed content requests for the entity's `Edm.Stream` properties (`content()` of a drive
/// item) and, for a media entity (`HasStream`), its `$value` (`value()` of a profile photo).
fn emit_streams(ctx: &mut Ctx<'_>, t: usize, read: &str, m: &mut Methods) {
    let streams: Vec<(usize, String, Option<String>)> = ctx
        .model
        .all_props(t)
        .into_iter()
        .filter(|(_, p)| !p.ty.collection && matches!(p.ty.base, Base::Prim(Primitive::Stream)))
        .map(|(owner, p)| (owner, p.name.clone(), p.doc.clone()))
        .collect();
    for (owner, name, doc) in streams {
        let method = names::snake(&name);
        if !m.claim(&method) {
            ctx.diagnostics.push(Diagnostic {
                loc: ctx.model.types[owner].loc,
                message: format!(
                    "{}/{name}: builder method {method} taken; stream not generated",
                    ctx.model.types[owner].fqn
                ),
            });
            continue;
        }
        let example = nav_example(ctx, t, &name);
        let doc = doc_or(doc.as_ref(), &format!("The `{name}` stream."));
        let how = doc_paragraph(&format!(
            "`GET {example}` streams it (`download()`, following a redirect to a \
             pre-authenticated URL without the token); `PUT {example}` replaces it (`put()`)."
        ));
        let _ = write!(
            m.text,
            "{doc}{how}pub fn {method}(&self) -> msgraph_typed_core::ContentRequest<{read}> {{\n\
             msgraph_typed_core::ContentRequest::new(self.client.clone(), format!(\"{{}}/{name}\", self.path))\n}}\n\n"
        );
    }
    let media = std::iter::successors(Some(t), |&i| ctx.model.types[i].base)
        .any(|i| ctx.model.types[i].has_stream);
    if media && m.claim("value") {
        let example = nav_example(ctx, t, "$value");
        let doc = doc_text(&format!(
            "The media content of this `{}`: `GET {example}` streams it (`download()`), `PUT \
             {example}` replaces it (`put()`).",
            ctx.model.types[t].name
        ));
        let _ = write!(
            m.text,
            "{doc}pub fn value(&self) -> msgraph_typed_core::ContentRequest<msgraph_typed_core::NoContent> {{\n\
             msgraph_typed_core::ContentRequest::new(self.client.clone(), format!(\"{{}}/$value\", self.path))\n}}\n\n"
        );
    }
}

/// The builder type of a referenced (non-contained) navigation, and the doc lines saying what
/// it allows.
fn reference_target(ctx: &mut Ctx<'_>, n: &crate::model::Nav, example: &str) -> (String, String) {
    let linked = n.caps.referenceable == Some(true);
    let creatable = n.caps.insertable == Some(true);
    let access = match (linked, creatable) {
        (false, false) => "ReadOnly",
        (true, false) => "Linked",
        (false, true) => "Creatable",
        (true, true) => "LinkedCreatable",
    };
    ctx.ref_targets.insert(n.target);
    let model = ctx.model_path(n.target);
    if !n.collection {
        let how = if linked {
            doc_paragraph(&format!(
                "A reference: `GET {example}` reads it, `PUT {example}/$ref` sets it \
                 (`set_ref`), `DELETE {example}/$ref` removes it (`remove_ref`)."
            ))
        } else {
            doc_paragraph(&format!("A reference, read only: `GET {example}`."))
        };
        return (
            format!("crate::references::ReferenceSingle<{model}, crate::references::{access}>"),
            how,
        );
    }
    let casts = castable(ctx, n);
    let marker = match ctx.cast_sets.get(&(n.target, casts.clone())) {
        Some((name, _)) if !casts.is_empty() => {
            for &c in &casts {
                ctx.ref_targets.insert(c);
            }
            format!("crate::builders::{name}")
        }
        _ => "crate::references::NoCasts".to_owned(),
    };
    let mut how = format!("References to entities that live elsewhere: `GET {example}` lists them");
    if linked {
        how.push_str(&format!(
            ", `POST {example}/$ref` adds one (`add_ref`), `DELETE {example}/{{id}}/$ref` \
             removes one (`by_id(..).remove_ref()`)"
        ));
    } else {
        how.push_str(", read only");
    }
    if creatable {
        how.push_str(&format!("; `POST {example}` creates one"));
    }
    how.push('.');
    let how = doc_paragraph(&how);
    (
        format!(
            "crate::references::ReferenceCollection<{model}, crate::references::{access}, {marker}>"
        ),
        how,
    )
}

/// Names every cast set of referenced collections before emission: after its types when there
/// are at most three (`GroupAdministrativeUnitDirectoryRoleCasts`), else after the first
/// navigation (by name) that uses it (`GroupMembersCasts`).
pub(crate) fn name_cast_sets(ctx: &mut Ctx<'_>) {
    let mut sets: BTreeMap<(usize, Vec<usize>), Vec<String>> = BTreeMap::new();
    for t in 0..ctx.model.types.len() {
        if ctx.model.types[t].kind != Kind::Entity || !ctx.areas.is_used(t) {
            continue;
        }
        for nav in &ctx.model.types[t].navs {
            if nav.contained || !nav.collection || nav.caps.not_navigable {
                continue;
            }
            let casts = castable(ctx, nav);
            if !casts.is_empty() {
                sets.entry((nav.target, casts))
                    .or_default()
                    .push(format!("{}.{}", ctx.model.types[t].name, nav.name));
            }
        }
    }
    // Named after the navigation users meet first: on users and groups, then on the types of
    // entity sets, then any; alphabetically within each.
    let rank = |label: &String| -> (u8, String) {
        let owner = label.split('.').next().unwrap_or_default();
        let prominent = matches!(owner, "user" | "group");
        let has_set = ctx
            .model
            .roots
            .iter()
            .any(|r| !r.singleton && ctx.model.types[r.ty].name == owner);
        (
            if prominent {
                0
            } else if has_set {
                1
            } else {
                2
            },
            label.clone(),
        )
    };
    for ((target, casts), mut users) in sets {
        users.sort_by_key(rank);
        users.dedup();
        let name = if casts.len() <= 3 {
            let parts: String = casts.iter().map(|&c| ctx.qualified_pascal(c)).collect();
            format!("{parts}Casts")
        } else {
            let first = &users[0];
            let (owner, nav) = first.split_once('.').unwrap_or((first, ""));
            format!("{}{}Casts", names::pascal(owner), names::pascal(nav))
        };
        ctx.cast_sets.insert((target, casts), (name, users));
    }
}

/// The types a cast of a referenced collection may name: the metadata's
/// `DerivedTypeConstraint` (derived types only), else every derived type (direct ones only
/// for very wide hierarchies), those compiled in some area.
fn castable(ctx: &Ctx<'_>, n: &crate::model::Nav) -> Vec<usize> {
    let mut types = match &n.allowed {
        Some(allowed) => allowed.clone(),
        None => {
            let all = ctx.model.all_derived(n.target);
            if all.len() <= MAX_CASTS {
                all
            } else {
                ctx.model.types[n.target].derived.clone()
            }
        }
    };
    types.retain(|&t| ctx.areas.is_used(t));
    types.sort_unstable();
    types.dedup();
    types
}

/// The cast-set markers of referenced collections, their cast methods, and `RefTarget` for
/// every type a referenced navigation or cast points to.
fn emit_references(ctx: &Ctx<'_>) -> String {
    let mut s = String::from(
        "//! What referenced navigations point to: `RefTarget` (and `RefAddress`) for their\n\
         //! target types, and one marker per set of casts that can occur in a referenced\n\
         //! collection, whose methods are those casts.\n\n",
    );
    for &t in &ctx.ref_targets {
        let cfg = ctx.cfg(t).attr(ctx.areas, &Cfg::always());
        let model = ctx.model_path(t);
        let _ = writeln!(
            s,
            "{cfg}impl crate::references::RefTarget for {model} {{\ntype Read = {};\ntype Write = {model};\n}}\n",
            ctx.read_path(t)
        );
        if let Some(address) = ctx.ref_address(t) {
            let _ = writeln!(
                s,
                "{cfg}impl crate::references::RefAddress for {model} {{\nconst ADDRESS: &'static str = {address:?};\n}}\n"
            );
        }
    }
    for ((target, casts), (name, used_by)) in &ctx.cast_sets {
        let target_model = ctx.model_path(*target);
        let _ = writeln!(
            s,
            "{}#[derive(Clone, Copy, Debug)]\npub enum {name} {{}}\n",
            doc_text(&format!(
                "The casts that can occur in {}.",
                used_by
                    .iter()
                    .map(|u| format!("`{u}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        );
        let mut coll = String::new();
        let mut member = String::new();
        for &c in casts {
            let def = &ctx.model.types[c];
            let cfg = ctx.cfg(c).attr(ctx.areas, &Cfg::always());
            let base = if def.namespace == MAIN_NS {
                names::snake(&def.name)
            } else {
                format!(
                    "{}_{}",
                    names::namespace_module(&def.namespace),
                    names::snake(&def.name)
                )
            };
            let model = ctx.model_path(c);
            let _ = write!(
                coll,
                "{}{cfg}\
                 pub fn {plural}(&self) -> crate::references::ReferenceCollection<{model}, crate::references::CastView> {{\n\
                 crate::references::ReferenceCollection::new(self.client().clone(), format!(\"{{}}/{fqn}\", self.path()))\n}}\n\n",
                doc_text(&format!(
                    "Only the targets that are a `{fqn}` (`GET .../{fqn}`, and `$count`).",
                    fqn = def.fqn
                )),
                fqn = def.fqn,
                plural = names::plural(&base),
            );
            let _ = write!(
                member,
                "{}{cfg}\
                 pub fn as_{single}(&self) -> crate::references::ReferenceSingle<{model}> {{\n\
                 crate::references::ReferenceSingle::new(self.client().clone(), format!(\"{{}}/{fqn}\", self.path()))\n}}\n\n",
                doc_text(&format!(
                    "The target as a `{fqn}` (`GET .../{{id}}/{fqn}`; an error if it is another type).",
                    fqn = def.fqn
                )),
                fqn = def.fqn,
                single = base.trim_start_matches("r#"),
            );
        }
        let target_cfg = ctx.cfg(*target).attr(ctx.areas, &Cfg::always());
        let _ = writeln!(
            s,
            "{target_cfg}impl<A: crate::references::Access> crate::references::ReferenceCollection<{target_model}, A, {name}> {{\n{coll}}}\n\n\
             {target_cfg}impl<A: crate::references::Indexed> crate::references::ReferenceMember<{target_model}, A, {name}> {{\n{member}}}\n"
        );
    }
    s
}

fn emit_casts(ctx: &mut Ctx<'_>, t: usize, own_cfg: &Cfg, m: &mut Methods) {
    let all = ctx.model.all_derived(t);
    let derived = if all.len() <= MAX_CASTS {
        all
    } else {
        ctx.model.types[t].derived.clone()
    };
    for d in derived {
        if !ctx.areas.is_used(d) {
            continue;
        }
        let def = &ctx.model.types[d];
        let base = if def.namespace == MAIN_NS {
            names::snake(&def.name)
        } else {
            format!(
                "{}_{}",
                names::namespace_module(&def.namespace),
                names::snake(&def.name)
            )
        };
        let method = names::plural(&base);
        if !m.claim(&method) {
            ctx.diagnostics.push(Diagnostic {
                loc: def.loc,
                message: format!(
                    "cast to {} on {}: method {method} taken; not generated",
                    def.fqn, ctx.model.types[t].fqn
                ),
            });
            continue;
        }
        let coll = format!("crate::builders::{}", ctx.builder_names(d).1);
        let cfg = ctx.cfg(d).attr(ctx.areas, own_cfg);
        let _ = write!(
            m.text,
            "/// Only the members that are a `{fqn}` (OData cast `/{fqn}`).\n{cfg}pub fn {method}(&self) -> {coll} {{\n\
             {coll}::new(self.client.clone(), format!(\"{{}}/{fqn}\", self.path))\n}}\n\n",
            fqn = def.fqn
        );
    }
}

/// How one function parameter is passed.
fn param_rust_type(ctx: &Ctx<'_>, r: &TypeRef) -> Option<String> {
    if r.collection {
        return None;
    }
    match &r.base {
        Base::Prim(Primitive::String) => Some("&str".into()),
        Base::Prim(Primitive::Boolean) => Some("bool".into()),
        Base::Prim(
            p @ (Primitive::Int16
            | Primitive::Int32
            | Primitive::Int64
            | Primitive::Byte
            | Primitive::SByte),
        ) => Ctx::primitive(p).map(str::to_owned),
        Base::Prim(
            p @ (Primitive::DateTimeOffset
            | Primitive::Date
            | Primitive::Guid
            | Primitive::TimeOfDay
            | Primitive::Duration),
        ) => Ctx::primitive(p).map(|s| format!("&{s}")),
        Base::Named(t)
            if ctx.model.types[*t].kind == Kind::Enum && !ctx.model.types[*t].is_flags =>
        {
            Some(format!("&{}", ctx.model_path(*t)))
        }
        _ => None,
    }
}

fn emit_ops(ctx: &mut Ctx<'_>, t: usize, collection: bool, own_cfg: &Cfg, m: &mut Methods) {
    let lineage = ctx.model.lineage(t);
    let ops: Vec<(usize, Operation)> = lineage
        .iter()
        .rev()
        .flat_map(|&b| {
            ctx.model
                .operations
                .iter()
                .enumerate()
                .filter(move |(_, op)| op.binding == b && op.binding_collection == collection)
                .map(|(i, op)| (i, op.clone()))
        })
        .collect();
    for (_, op) in ops {
        let method = names::snake(&op.name);
        if m.used.contains(&method) {
            // An overload (or a derived type's own version) was generated already.
            if op.binding == t {
                ctx.diagnostics.push(Diagnostic {
                    loc: op.loc,
                    message: format!(
                        "{}.{} bound to {}{}: overload not generated (method {method} exists)",
                        op.namespace,
                        op.name,
                        if collection { "a collection of " } else { "" },
                        ctx.model.types[t].fqn
                    ),
                });
            }
            continue;
        }
        let segment = if op.namespace == MAIN_NS {
            op.name.clone()
        } else {
            format!("{}.{}", op.namespace, op.name)
        };
        let mut cfg = own_cfg.clone();
        cfg = cfg.and(&ctx.cfg_refs(op.params.iter().map(|p| &p.ty).chain(op.ret.iter())));
        if cfg.is_never() {
            continue;
        }
        let Some((ret_ty, call)) = return_shape(ctx, &op) else {
            ctx.diagnostics.push(Diagnostic {
                loc: op.loc,
                message: format!(
                    "{}.{}: return type not mappable; not generated",
                    op.namespace, op.name
                ),
            });
            continue;
        };
        let doc = doc_or(
            op.doc.as_ref(),
            &format!(
                "Calls the `{}` {} (`{} .../{segment}`).",
                op.name,
                if op.kind == OperationKind::Action {
                    "action"
                } else {
                    "function"
                },
                if op.kind == OperationKind::Action {
                    "POST"
                } else {
                    "GET"
                }
            ),
        );
        let verb = if op.kind == OperationKind::Action {
            "POST"
        } else {
            "GET"
        };
        let owner_path = ctx.example_path(t).map(|p| {
            if collection {
                p.strip_suffix("/{id}").unwrap_or(p).to_owned()
            } else {
                p.to_owned()
            }
        });
        let doc = match owner_path {
            Some(path) => format!(
                "{doc}{}",
                doc_paragraph(&format!("`{verb} {path}/{segment}`."))
            ),
            None => doc,
        };
        let cfg_attr = cfg.attr(ctx.areas, own_cfg);
        match op.kind {
            OperationKind::Action => {
                let (arg, body) = if op.params.is_empty() {
                    (String::new(), String::new())
                } else {
                    let body_name = format!(
                        "crate::models::{}{}",
                        ctx.ns_prefix(op.binding),
                        body_struct_name(ctx, &op, op.binding_collection)
                    );
                    (
                        format!(", body: &{body_name}"),
                        ".json_body(body)".to_owned(),
                    )
                };
                m.claim(&method);
                let _ = write!(
                    m.text,
                    "{doc}{cfg_attr}pub fn {method}(&self{arg}) -> {ret_ty} {{\n\
                     self.client.{call}format!(\"{{}}/{segment}\", self.path)){body}\n}}\n\n"
                );
            }
            OperationKind::Function => {
                let mut args = String::new();
                let mut parts = Vec::new();
                let mut ok = true;
                let mut arg_names = HashSet::new();
                for p in &op.params {
                    let Some(ty) = param_rust_type(ctx, &p.ty) else {
                        ok = false;
                        break;
                    };
                    let mut a = names::snake(&p.name);
                    while !arg_names.insert(a.clone()) {
                        a.push('_');
                    }
                    let _ = write!(args, ", {a}: {ty}");
                    parts.push(format!("{}={{}}", p.name));
                }
                if !ok {
                    ctx.diagnostics.push(Diagnostic {
                        loc: op.loc,
                        message: format!(
                            "{}.{}: a parameter type cannot be written as a URL literal; function not generated",
                            op.namespace, op.name
                        ),
                    });
                    continue;
                }
                m.claim(&method);
                let path = if op.params.is_empty() {
                    "format!(\"{}/SEGMENT\", self.path)".replace("SEGMENT", &segment)
                } else {
                    let lits: Vec<String> = op
                        .params
                        .iter()
                        .zip(arg_names_in_order(&op))
                        .map(|(_, a)| format!("crate::edm::literal(&{a})"))
                        .collect();
                    format!(
                        "format!(\"{{}}/{segment}({})\", self.path, {})",
                        parts.join(","),
                        lits.join(", ")
                    )
                };
                let _ = write!(
                    m.text,
                    "{doc}{cfg_attr}pub fn {method}(&self{args}) -> {ret_ty} {{\nself.client.{call}{path})\n}}\n\n"
                );
            }
        }
    }
}

fn arg_names_in_order(op: &Operation) -> Vec<String> {
    let mut seen = HashSet::new();
    op.params
        .iter()
        .map(|p| {
            let mut a = names::snake(&p.name);
            while !seen.insert(a.clone()) {
                a.push('_');
            }
            a
        })
        .collect()
}

fn body_struct_name(ctx: &Ctx<'_>, op: &Operation, collection: bool) -> String {
    format!(
        "{}{}{}Body",
        ctx.qualified_pascal(op.binding),
        if collection { "Collection" } else { "" },
        names::pascal(&op.name)
    )
}

fn emit_body(ctx: &Ctx<'_>, op: &Operation, name: &str, cfg: &str) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "/// The body of the `{}` action bound to `{}`.\n{cfg}\
         #[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]\n\
         #[serde(rename_all = \"camelCase\")]\npub struct {name} {{\n",
        op.name, ctx.model.types[op.binding].fqn
    );
    let mut used = HashSet::new();
    for p in &op.params {
        let Some(ty) = ctx.field_type(&p.ty) else {
            continue;
        };
        let mut f = names::snake(&p.name);
        while !used.insert(f.clone()) {
            f.push('_');
        }
        let rename = if names::serde_camel(&f) != p.name {
            format!("rename = {:?}, ", p.name)
        } else {
            String::new()
        };
        let _ = write!(
            s,
            "/// The `{}` parameter.\n#[serde({rename}skip_serializing_if = \"Option::is_none\")]\npub {f}: Option<{ty}>,\n",
            p.name
        );
    }
    s.push_str("}\n\n");
    let _ = doc_lines;
    s
}

/// The request type and the `msgraph_typed_core::Client` call for an operation's result.
fn return_shape(ctx: &Ctx<'_>, op: &Operation) -> Option<(String, String)> {
    let is_fn = op.kind == OperationKind::Function;
    let method = if is_fn { "GET" } else { "POST" };
    let Some(r) = &op.ret else {
        return Some((
            "msgraph_typed_core::Request<msgraph_typed_core::NoContent>".into(),
            format!("request(http::Method::{method}, "),
        ));
    };
    if matches!(r.base, Base::Prim(Primitive::Stream)) {
        return None;
    }
    let el = ctx.element_type(&TypeRef {
        base: r.base.clone(),
        collection: false,
    })?;
    let structured = matches!(r.base, Base::Named(t) if ctx.model.types[t].kind != Kind::Enum);
    if r.collection && structured && is_fn {
        if op.name == "delta" {
            return Some((
                format!("msgraph_typed_core::DeltaRequest<{el}>"),
                "delta(".into(),
            ));
        }
        return Some((
            format!("msgraph_typed_core::CollectionRequest<{el}>"),
            "collection(".into(),
        ));
    }
    let ty = if r.collection {
        format!("crate::ODataValue<Vec<{el}>>")
    } else if structured {
        el
    } else {
        format!("crate::ODataValue<{el}>")
    };
    Some((
        format!("msgraph_typed_core::Request<{ty}>"),
        format!("request(http::Method::{method}, "),
    ))
}
