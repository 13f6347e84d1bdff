//! Grouping of the model into cargo features ("areas").
//!
//! An area is seeded by entity sets, singletons, type names and namespaces (the table
//! below is domain knowledge about Graph's workloads, not about one metadata file:
//! entity sets and namespaces it does not list get an area of their own). Entity
//! types are then *claimed* by a breadth-first walk over contained navigations and
//! derived types, so every type belongs to the nearest seed. Finally each area *needs*
//! the structural closure of what it claims (base types, property types, operation
//! parameter types); a type is compiled when any area that needs it is enabled.

use std::collections::{BTreeSet, VecDeque};

use crate::model::{Base, Kind, Model};

/// Area definitions in priority order: (feature, roots, seed type names, namespaces, doc).
type AreaDef = (
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
    &'static str,
);

const AREAS: &[AreaDef] = &[
    (
        "identity",
        &[
            "users",
            "me",
            "groups",
            "directoryObjects",
            "applications",
            "servicePrincipals",
            "directoryRoles",
            "administrativeUnits",
        ],
        &["administrativeUnit"],
        &[],
        "Users, groups, directory objects, `me`, applications, service principals, directory roles, administrative units (default).",
    ),
    (
        "mail",
        &[],
        &[
            "message",
            "mailFolder",
            "inferenceClassification",
            "outlookUser",
            "messageRule",
        ],
        &[],
        "Outlook mail: messages, mail folders, rules.",
    ),
    (
        "calendar",
        &["places"],
        &[
            "event",
            "calendar",
            "calendarGroup",
            "calendarPermission",
            "place",
        ],
        &[],
        "Outlook calendars, events, places.",
    ),
    (
        "personal-contacts",
        &[],
        &["contact", "contactFolder"],
        &[],
        "Outlook personal contacts and contact folders.",
    ),
    (
        "files",
        &["drives", "shares"],
        &["drive", "driveItem"],
        &[],
        "OneDrive and SharePoint files: drives, drive items, shares.",
    ),
    (
        "sites",
        &["sites"],
        &["site", "list", "listItem"],
        &["microsoft.graph.termStore"],
        "SharePoint sites, lists and the term store.",
    ),
    (
        "onenote",
        &[],
        &[
            "onenote",
            "notebook",
            "onenoteSection",
            "onenotePage",
            "sectionGroup",
        ],
        &[],
        "OneNote notebooks, sections and pages.",
    ),
    (
        "planner",
        &["planner"],
        &[
            "plannerUser",
            "plannerGroup",
            "plannerPlan",
            "plannerTask",
            "plannerBucket",
        ],
        &[],
        "Planner plans, buckets and tasks.",
    ),
    (
        "todo",
        &[],
        &["todo", "todoTaskList", "todoTask"],
        &[],
        "Microsoft To Do lists and tasks.",
    ),
    (
        "teams",
        &[
            "teams",
            "chats",
            "teamwork",
            "teamsTemplates",
            "appCatalogs",
        ],
        &[
            "team",
            "chat",
            "channel",
            "userTeamwork",
            "chatMessage",
            "teamsApp",
        ],
        &["microsoft.graph.teamsAdministration"],
        "Teams, channels, chats and the Teams app catalog.",
    ),
    (
        "communications",
        &["communications"],
        &[
            "onlineMeeting",
            "presence",
            "call",
            "callRecording",
            "callTranscript",
        ],
        &["microsoft.graph.callRecords"],
        "Calls, online meetings, presence and call records.",
    ),
    (
        "security",
        &[
            "security",
            "identityProtection",
            "informationProtection",
            "dataPolicyOperations",
        ],
        &[],
        &["microsoft.graph.security"],
        "Security, identity protection and information protection.",
    ),
    (
        "device-management",
        &["deviceManagement", "deviceAppManagement"],
        &[
            "managedDevice",
            "managedAppRegistration",
            "deviceManagementTroubleshootingEvent",
        ],
        &[],
        "Intune device and app management.",
    ),
    (
        "education",
        &["education"],
        &[],
        &[],
        "Education: schools, classes, assignments.",
    ),
    (
        "identity-governance",
        &["identityGovernance", "agreements", "agreementAcceptances"],
        &[],
        &[
            "microsoft.graph.identityGovernance",
            "microsoft.graph.customDataProvidedResourcePayloads",
        ],
        "Identity governance: entitlement management, access reviews, lifecycle workflows, terms of use.",
    ),
    (
        "identity-access",
        &[
            "policies",
            "identity",
            "authenticationMethodsPolicy",
            "authenticationMethodConfigurations",
            "roleManagement",
            "certificateBasedAuthConfiguration",
            "identityProviders",
            "invitations",
            "oauth2PermissionGrants",
            "permissionGrants",
            "scopedRoleMemberships",
        ],
        &["authentication", "authenticationMethod"],
        &[],
        "Policies, authentication methods, role management, identity providers, invitations, grants.",
    ),
    (
        "directory",
        &[
            "directory",
            "domains",
            "domainDnsRecords",
            "organization",
            "subscribedSkus",
            "contracts",
            "contacts",
            "devices",
            "directoryRoleTemplates",
            "schemaExtensions",
            "groupSettings",
            "groupSettingTemplates",
            "groupLifecyclePolicies",
            "applicationTemplates",
            "tenantRelationships",
            "admin",
        ],
        &[],
        &["microsoft.graph.entraRecoveryServices"],
        "Tenant directory: domains, organization, SKUs, devices, org contacts, settings, tenant relationships, admin.",
    ),
    (
        "reports",
        &["reports", "auditLogs"],
        &[],
        &[],
        "Usage reports and audit logs.",
    ),
    (
        "search",
        &["search", "connections", "external"],
        &[],
        &[
            "microsoft.graph.search",
            "microsoft.graph.externalConnectors",
        ],
        "Microsoft Search and Graph connectors.",
    ),
];

/// The result of grouping: feature names and, per type, its home area and the areas needing it.
#[derive(Debug)]
pub struct Areas {
    /// Feature names in priority order.
    pub names: Vec<String>,
    /// Feature docs.
    pub docs: Vec<String>,
    /// Per type: the area whose module holds it.
    pub home: Vec<usize>,
    /// Per type: the areas that need it (the type is compiled when any is enabled).
    pub needed_by: Vec<BTreeSet<usize>>,
}

/// The name of the catch-all area for types no seed reaches.
pub const OTHER: &str = "other";

impl Areas {
    /// Groups `model` into areas.
    pub fn compute(model: &Model) -> Areas {
        let mut names: Vec<String> = Vec::new();
        let mut docs: Vec<String> = Vec::new();
        let n = model.types.len();
        let mut claim: Vec<Option<usize>> = vec![None; n];
        let mut queue: VecDeque<usize> = VecDeque::new();
        let find = |simple: &str| {
            model
                .by_fqn
                .get(&format!("microsoft.graph.{simple}"))
                .copied()
        };
        let claim_seed =
            |t: usize, a: usize, claim: &mut Vec<Option<usize>>, q: &mut VecDeque<usize>| {
                if claim[t].is_none() {
                    claim[t] = Some(a);
                    q.push_back(t);
                }
            };
        let mut root_covered = vec![false; model.roots.len()];
        for (a, (name, roots, seeds, namespaces, doc)) in AREAS.iter().enumerate() {
            names.push((*name).to_owned());
            docs.push((*doc).to_owned());
            for (ri, r) in model.roots.iter().enumerate() {
                if roots.contains(&r.name.as_str()) {
                    root_covered[ri] = true;
                    claim_seed(r.ty, a, &mut claim, &mut queue);
                }
            }
            for s in *seeds {
                if let Some(t) = find(s) {
                    claim_seed(t, a, &mut claim, &mut queue);
                }
            }
            for (t, def) in model.types.iter().enumerate() {
                if def.kind == Kind::Entity && namespaces.contains(&def.namespace.as_str()) {
                    claim_seed(t, a, &mut claim, &mut queue);
                }
            }
        }
        // Entity sets and singletons the table does not know get an area each.
        for (ri, r) in model.roots.iter().enumerate() {
            if !root_covered[ri] {
                let a = names.len();
                names.push(feature_name(&r.name));
                docs.push(format!(
                    "The `{}` {}.",
                    r.name,
                    if r.singleton {
                        "singleton"
                    } else {
                        "entity set"
                    }
                ));
                claim_seed(r.ty, a, &mut claim, &mut queue);
            }
        }
        // Namespaces the table does not know get an area each.
        let mut extra_ns: Vec<&str> = Vec::new();
        for def in &model.types {
            let ns = def.namespace.as_str();
            let known = ns == "microsoft.graph" || AREAS.iter().any(|a| a.3.contains(&ns));
            if !known && !extra_ns.contains(&ns) {
                extra_ns.push(ns);
            }
        }
        for ns in extra_ns {
            let a = names.len();
            names.push(feature_name(&crate::names::namespace_module(ns)));
            docs.push(format!("Types of the `{ns}` namespace."));
            for (t, def) in model.types.iter().enumerate() {
                if def.kind == Kind::Entity && def.namespace == ns {
                    claim_seed(t, a, &mut claim, &mut queue);
                }
            }
        }
        // Breadth first over contained navigations and derived entity types.
        while let Some(t) = queue.pop_front() {
            let Some(a) = claim[t] else { continue };
            let def = &model.types[t];
            let next = def
                .navs
                .iter()
                .filter(|nav| nav.contained)
                .map(|nav| nav.target)
                .chain(def.derived.iter().copied());
            for x in next.collect::<Vec<_>>() {
                claim_seed(x, a, &mut claim, &mut queue);
            }
        }
        // Whatever no seed reaches lands in a catch-all area.
        let other = names.len();
        let mut used_other = false;
        for (t, def) in model.types.iter().enumerate() {
            if def.kind == Kind::Entity && claim[t].is_none() {
                claim[t] = Some(other);
                used_other = true;
            }
        }
        if used_other {
            names.push(OTHER.to_owned());
            docs.push("Entity types no workload area reaches.".to_owned());
        }

        // Needs: the structural closure of each area's claimed types.
        let mut needed_by: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
        let mut ops_by_binding: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, op) in model.operations.iter().enumerate() {
            ops_by_binding[op.binding].push(i);
        }
        for a in 0..names.len() {
            let mut stack: Vec<usize> = (0..n).filter(|&t| claim[t] == Some(a)).collect();
            while let Some(t) = stack.pop() {
                if !needed_by[t].insert(a) {
                    continue;
                }
                let def = &model.types[t];
                let mut push = |base: &Base| {
                    if let Base::Named(x) = base
                        && model.types[*x].kind != Kind::Entity
                        && !needed_by[*x].contains(&a)
                    {
                        stack.push(*x);
                    }
                };
                for p in &def.props {
                    push(&p.ty.base);
                }
                for &op in &ops_by_binding[t] {
                    let op = &model.operations[op];
                    for p in &op.params {
                        push(&p.ty.base);
                    }
                    if let Some(r) = &op.ret {
                        push(&r.base);
                    }
                }
                if let Some(b) = def.base {
                    stack.push(b);
                }
                if def.kind == Kind::Complex {
                    stack.extend(def.derived.iter().copied());
                }
            }
        }
        // Types nothing references (dead in this model) still compile under the catch-all.
        if (0..n).any(|t| needed_by[t].is_empty()) {
            if !used_other {
                names.push(OTHER.to_owned());
                docs.push("Entity types no workload area reaches.".to_owned());
            }
            for set in needed_by.iter_mut().filter(|s| s.is_empty()) {
                set.insert(other);
            }
        }
        let home = (0..n)
            .map(|t| {
                claim[t]
                    .or_else(|| needed_by[t].iter().next().copied())
                    .unwrap_or(other.min(names.len().saturating_sub(1)))
            })
            .collect();
        Areas {
            names,
            docs,
            home,
            needed_by,
        }
    }

    /// Whether a type is compiled under at least one feature.
    pub fn is_used(&self, t: usize) -> bool {
        !self.needed_by[t].is_empty()
    }
}

/// `deviceManagement` -> `device-management`.
pub fn feature_name(name: &str) -> String {
    crate::names::snake(name)
        .trim_start_matches("r#")
        .replace('_', "-")
}

/// A cfg condition: all of several "any of these features".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cfg(Vec<BTreeSet<usize>>);

impl Cfg {
    /// The condition under which type `t` is compiled.
    pub fn of(areas: &Areas, t: usize) -> Cfg {
        Cfg(vec![areas.needed_by[t].clone()])
    }

    /// Always true.
    pub fn always() -> Cfg {
        Cfg(Vec::new())
    }

    /// Both conditions.
    pub fn and(mut self, other: &Cfg) -> Cfg {
        for set in &other.0 {
            // any(A) implies any(B) when A is a subset of B: keep only the strongest terms.
            if self.0.iter().any(|s| s.is_subset(set)) {
                continue;
            }
            self.0.retain(|s| !set.is_subset(s));
            self.0.push(set.clone());
        }
        self
    }

    /// Never true (no area needs it).
    pub fn is_never(&self) -> bool {
        self.0.iter().any(BTreeSet::is_empty)
    }

    /// Whether `self` holds whenever `outer` holds (so an inner attribute is redundant).
    pub fn implied_by(&self, outer: &Cfg) -> bool {
        self.0
            .iter()
            .all(|need| outer.0.iter().any(|have| have.is_subset(need)))
    }

    /// Renders `#[cfg(...)]`, or nothing when always true or implied by `outer`.
    pub fn attr(&self, areas: &Areas, outer: &Cfg) -> String {
        if self.implied_by(outer) {
            return String::new();
        }
        let terms: Vec<String> = self
            .0
            .iter()
            .filter(|need| !outer.0.iter().any(|have| have.is_subset(need)))
            .map(|set| {
                let feats: Vec<String> = set
                    .iter()
                    .map(|&a| format!("feature = \"{}\"", areas.names[a]))
                    .collect();
                if feats.len() == 1 {
                    feats[0].clone()
                } else {
                    format!("any({})", feats.join(", "))
                }
            })
            .collect();
        match terms.len() {
            0 => String::new(),
            1 => format!("#[cfg({})]\n", terms[0]),
            _ => format!("#[cfg(all({}))]\n", terms.join(", ")),
        }
    }
}
