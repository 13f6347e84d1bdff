//! The in-memory directory: users, groups (nested, security and Microsoft 365), directory roles,
//! administrative units, applications, service principals and devices; membership edges, owners,
//! managers, and the change log behind delta queries.
//!
//! Ids are GUID strings stored lower-case; lookups ignore case. Each kind is kept in its own `BTreeMap`
//! ordered by id, which is the default listing order and lets a page start right after the previous one
//! (key-set paging) without scanning what came before.

mod delta_log;
mod generate;
mod owners;
mod relations;
pub(crate) mod schema;
pub(crate) mod seed;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;

use serde_json::{Map, Value};

use delta_log::DeltaLog;
pub(crate) use delta_log::{Change, ChangeOp};
pub(crate) use owners::{OWNED_KINDS, OWNER_KINDS};
use schema::{Prop, Ty};

/// The concrete type of a directory object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `microsoft.graph.user`
    User,
    /// `microsoft.graph.group`
    Group,
    /// `microsoft.graph.directoryRole`
    DirectoryRole,
    /// `microsoft.graph.administrativeUnit`
    AdministrativeUnit,
    /// `microsoft.graph.application`
    Application,
    /// `microsoft.graph.servicePrincipal`
    ServicePrincipal,
    /// `microsoft.graph.device`
    Device,
}

impl Kind {
    /// Every kind, in table order.
    pub(crate) const ALL: [Kind; 7] = [
        Kind::User,
        Kind::Group,
        Kind::DirectoryRole,
        Kind::AdministrativeUnit,
        Kind::Application,
        Kind::ServicePrincipal,
        Kind::Device,
    ];

    fn index(self) -> usize {
        self as usize
    }

    /// The unqualified type name, e.g. `user`.
    pub(crate) fn type_name(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Group => "group",
            Kind::DirectoryRole => "directoryRole",
            Kind::AdministrativeUnit => "administrativeUnit",
            Kind::Application => "application",
            Kind::ServicePrincipal => "servicePrincipal",
            Kind::Device => "device",
        }
    }

    /// The `@odata.type` annotation value, e.g. `#microsoft.graph.user`.
    pub(crate) fn odata_type(self) -> String {
        format!("#microsoft.graph.{}", self.type_name())
    }

    /// The entity set name used in context URLs and paths, e.g. `users`.
    pub(crate) fn entity_set(self) -> &'static str {
        match self {
            Kind::User => "users",
            Kind::Group => "groups",
            Kind::DirectoryRole => "directoryRoles",
            Kind::AdministrativeUnit => "administrativeUnits",
            Kind::Application => "applications",
            Kind::ServicePrincipal => "servicePrincipals",
            Kind::Device => "devices",
        }
    }

    /// Parses `user`, `microsoft.graph.user` or `#microsoft.graph.user` (case-insensitive).
    pub(crate) fn from_type_name(name: &str) -> Option<Kind> {
        let name = name.trim_start_matches('#');
        let name = match (name.get(..16), name.get(16..)) {
            (Some(prefix), Some(rest)) if prefix.eq_ignore_ascii_case("microsoft.graph.") => rest,
            _ => name,
        };
        Kind::ALL
            .into_iter()
            .find(|k| k.type_name().eq_ignore_ascii_case(name))
    }

    /// The property schema of this type.
    pub(crate) fn schema(self) -> &'static [Prop] {
        match self {
            Kind::User => schema::USER,
            Kind::Group => schema::GROUP,
            Kind::DirectoryRole => schema::DIRECTORY_ROLE,
            Kind::AdministrativeUnit => schema::ADMINISTRATIVE_UNIT,
            Kind::Application => schema::APPLICATION,
            Kind::ServicePrincipal => schema::SERVICE_PRINCIPAL,
            Kind::Device => schema::DEVICE,
        }
    }

    /// Whether clients may update or delete objects of this kind (directory roles are activated from
    /// templates, not created or deleted).
    pub(crate) fn is_writable(self) -> bool {
        self != Kind::DirectoryRole
    }

    /// Whether objects of this kind can have members.
    pub(crate) fn is_container(self) -> bool {
        matches!(
            self,
            Kind::Group | Kind::DirectoryRole | Kind::AdministrativeUnit
        )
    }
}

/// A directory object of any kind. `id`, `displayName` and (for users) `userPrincipalName` are typed
/// fields; every other property lives in a JSON property bag checked against the kind's schema.
#[derive(Debug, Clone)]
pub struct Entity {
    /// Object id (a lower-case GUID).
    pub id: String,
    /// The object's type.
    pub kind: Kind,
    /// User principal name (users only; empty for other kinds).
    pub user_principal_name: String,
    /// Display name.
    pub display_name: String,
    /// The other properties, by wire name.
    pub(crate) props: Map<String, Value>,
}

/// A directory user (an [`Entity`] of kind [`Kind::User`]).
pub type User = Entity;

impl Entity {
    /// A new object with no properties beyond its id, kind and display name.
    pub(crate) fn new(kind: Kind, id: &str, display_name: &str) -> Entity {
        Entity {
            id: id.to_ascii_lowercase(),
            kind,
            user_principal_name: String::new(),
            display_name: display_name.to_owned(),
            props: Map::new(),
        }
    }

    /// Sets a property without validation (seeding and generation).
    pub(crate) fn with(mut self, name: &str, value: Value) -> Entity {
        self.set_unchecked(name, value);
        self
    }

    fn set_unchecked(&mut self, name: &str, value: Value) {
        match (name, value) {
            ("displayName", Value::String(s)) => self.display_name = s,
            ("userPrincipalName", Value::String(s)) => self.user_principal_name = s,
            ("id", _) => {}
            // The password is checked on create and then forgotten: it must never be stored, rendered
            // or shown by Debug.
            ("passwordProfile", Value::Object(mut profile)) => {
                profile.remove("password");
                self.props
                    .insert("passwordProfile".to_owned(), Value::Object(profile));
            }
            (name, value) => {
                self.props.insert(name.to_owned(), value);
            }
        }
    }

    /// The value of a property (`None` when the object has no such value: rendered as `null` or `[]`).
    pub(crate) fn property(&self, name: &str) -> Option<Cow<'_, Value>> {
        match name {
            "id" => Some(Cow::Owned(Value::String(self.id.clone()))),
            "displayName" => Some(Cow::Owned(Value::String(self.display_name.clone()))),
            "userPrincipalName" if self.kind == Kind::User => {
                Some(Cow::Owned(Value::String(self.user_principal_name.clone())))
            }
            _ => self.props.get(name).map(Cow::Borrowed),
        }
    }

    /// The JSON rendering of this object: the default property set, or exactly the selected properties
    /// that exist on this type (groups and other non-user kinds always carry `id`, as Graph does).
    /// `with_type` adds `@odata.type` (polymorphic collections and directoryObject-typed navigations).
    pub(crate) fn to_json(&self, select: Option<&[String]>, with_type: bool) -> Map<String, Value> {
        let schema = self.kind.schema();
        let mut out = Map::new();
        if with_type {
            out.insert("@odata.type".into(), Value::String(self.kind.odata_type()));
        }
        if select.is_some() && self.kind != Kind::User {
            out.insert("id".into(), Value::String(self.id.clone()));
        }
        let mut put = |prop: &Prop| {
            if prop.name == "passwordProfile" {
                out.insert(prop.name.into(), Value::Null);
                return;
            }
            let value = match self.property(prop.name) {
                Some(v) => v.into_owned(),
                None => empty_value(prop.ty),
            };
            out.insert(prop.name.into(), value);
        };
        match select {
            None => schema.iter().filter(|p| p.default).for_each(&mut put),
            Some(names) => {
                for name in names {
                    if let Some(prop) = schema::find(schema, name) {
                        put(prop);
                    }
                }
            }
        }
        out
    }

    /// Validates and applies a set of property writes (create or PATCH). Nothing is applied on error.
    pub(crate) fn apply(&mut self, changes: &Map<String, Value>) -> Result<(), StoreError> {
        for (name, value) in changes {
            validate_write(self.kind, name, value)?;
        }
        for (name, value) in changes {
            self.set_unchecked(name, value.clone());
        }
        Ok(())
    }

    /// Whether this is a security-enabled group.
    pub(crate) fn is_security_group(&self) -> bool {
        self.kind == Kind::Group
            && self.props.get("securityEnabled").and_then(Value::as_bool) == Some(true)
    }
}

/// The rendering of an absent value of type `ty`.
fn empty_value(ty: Ty) -> Value {
    match ty {
        Ty::StrList | Ty::ComplexList => Value::Array(Vec::new()),
        _ => Value::Null,
    }
}

/// Checks one property write against the schema and returns the property.
fn validate_write(kind: Kind, name: &str, value: &Value) -> Result<(), StoreError> {
    let prop = kind
        .schema()
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| {
            StoreError::Invalid(format!(
                "Property '{name}' does not exist on type 'microsoft.graph.{}'.",
                kind.type_name()
            ))
        })?;
    if !prop.writable {
        return Err(StoreError::Invalid(format!(
            "Property '{name}' is read-only and cannot be set."
        )));
    }
    let ok = match (prop.ty, value) {
        (_, Value::Null) => !matches!(prop.name, "displayName" | "userPrincipalName"),
        (Ty::Str | Ty::DateTime, Value::String(_)) => true,
        (Ty::Bool, Value::Bool(_)) => true,
        (Ty::Int, Value::Number(n)) => n.is_i64(),
        (Ty::StrList, Value::Array(items)) => items.iter().all(Value::is_string),
        (Ty::Complex, Value::Object(_)) => true,
        (Ty::ComplexList, Value::Array(items)) => items.iter().all(Value::is_object),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "Invalid value specified for property '{name}' of resource '{}'.",
            capitalise(kind.type_name())
        )))
    }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Why a directory operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum StoreError {
    /// No object with this id (or of the expected kind).
    #[error(
        "Resource '{0}' does not exist or one of its queried reference-property objects are not present."
    )]
    NotFound(String),
    /// A uniqueness rule or an existing edge blocks the operation.
    #[error("{0}")]
    Conflict(String),
    /// Invalid input.
    #[error("{0}")]
    Invalid(String),
}

/// The directory.
#[derive(Debug, Default)]
pub struct Directory {
    tables: [BTreeMap<String, Entity>; 7],
    kind_of: HashMap<String, Kind>,
    upn_index: HashMap<String, String>,
    members: HashMap<String, BTreeSet<String>>,
    member_of: HashMap<String, BTreeSet<String>>,
    managers: HashMap<String, String>,
    owners: HashMap<String, BTreeSet<String>>,
    owned: HashMap<String, BTreeSet<String>>,
    log: DeltaLog,
    generated: u64,
    generated_groups: u64,
}

impl Directory {
    /// An empty directory.
    pub fn empty() -> Directory {
        Directory::default()
    }

    /// Finds a user by id or user principal name (case-insensitive).
    pub fn user(&self, id_or_upn: &str) -> Option<&User> {
        let key = id_or_upn.to_ascii_lowercase();
        let table = &self.tables[Kind::User.index()];
        table.get(&key).or_else(|| {
            self.upn_index
                .get(&key.to_lowercase())
                .and_then(|id| table.get(id))
        })
    }

    /// Finds an object of any kind by id (case-insensitive).
    pub fn object(&self, id: &str) -> Option<&Entity> {
        let key = id.to_ascii_lowercase();
        let kind = self.kind_of.get(&key)?;
        self.tables[kind.index()].get(&key)
    }

    /// Finds an object of `kind` by id, or a user by id or user principal name.
    pub(crate) fn get(&self, kind: Kind, id: &str) -> Option<&Entity> {
        if kind == Kind::User {
            return self.user(id);
        }
        self.tables[kind.index()].get(&id.to_ascii_lowercase())
    }

    /// Number of objects of `kind`.
    pub fn count(&self, kind: Kind) -> usize {
        self.tables[kind.index()].len()
    }

    /// Objects of `kind` in id order, starting strictly after `after` when given.
    pub(crate) fn iter_after<'a>(
        &'a self,
        kind: Kind,
        after: Option<&str>,
    ) -> impl Iterator<Item = &'a Entity> + 'a {
        let lower = match after {
            Some(id) => Bound::Excluded(id.to_ascii_lowercase()),
            None => Bound::Unbounded,
        };
        self.tables[kind.index()]
            .range((lower, Bound::Unbounded))
            .map(|(_, e)| e)
    }

    /// Adds a new object (validating uniqueness of id and user principal name) and logs its creation.
    pub(crate) fn insert(&mut self, entity: Entity) -> Result<(), StoreError> {
        if self.kind_of.contains_key(&entity.id) {
            return Err(StoreError::Conflict(format!(
                "Another object with the same value for property id already exists: '{}'.",
                entity.id
            )));
        }
        if entity.kind == Kind::User {
            let upn = entity.user_principal_name.to_lowercase();
            if upn.is_empty() {
                return Err(StoreError::Invalid(
                    "Invalid value specified for property 'userPrincipalName' of resource 'User'."
                        .into(),
                ));
            }
            if self.upn_index.contains_key(&upn) {
                return Err(StoreError::Conflict(
                    "Another object with the same value for property userPrincipalName already exists."
                        .into(),
                ));
            }
            self.upn_index.insert(upn, entity.id.clone());
        }
        self.log
            .record(entity.kind, &entity.id, ChangeOp::Upsert(None));
        self.kind_of.insert(entity.id.clone(), entity.kind);
        self.tables[entity.kind.index()].insert(entity.id.clone(), entity);
        Ok(())
    }

    /// Validates and applies a PATCH to an object and logs the update.
    pub(crate) fn update(
        &mut self,
        id: &str,
        changes: &Map<String, Value>,
    ) -> Result<(), StoreError> {
        let key = id.to_ascii_lowercase();
        let kind = *self
            .kind_of
            .get(&key)
            .ok_or_else(|| StoreError::NotFound(id.to_owned()))?;
        let new_upn = match changes.get("userPrincipalName") {
            Some(Value::String(upn)) if kind == Kind::User => Some(upn.to_lowercase()),
            _ => None,
        };
        if let Some(upn) = &new_upn
            && self.upn_index.get(upn).is_some_and(|owner| *owner != key)
        {
            return Err(StoreError::Conflict(
                "Another object with the same value for property userPrincipalName already exists."
                    .into(),
            ));
        }
        let entity = self.tables[kind.index()]
            .get_mut(&key)
            .ok_or_else(|| StoreError::NotFound(id.to_owned()))?;
        let old_upn = entity.user_principal_name.to_lowercase();
        entity.apply(changes)?;
        if let Some(upn) = new_upn {
            self.upn_index.remove(&old_upn);
            self.upn_index.insert(upn, key.clone());
        }
        let written = changes.keys().cloned().collect();
        self.log.record(kind, &key, ChangeOp::Upsert(Some(written)));
        Ok(())
    }

    /// Deletes an object, its membership edges and manager links, and logs the removal.
    /// `permanent: false` is Graph's soft delete of users and groups.
    pub(crate) fn delete(&mut self, id: &str, permanent: bool) -> Result<Entity, StoreError> {
        let key = id.to_ascii_lowercase();
        let kind = self
            .kind_of
            .remove(&key)
            .ok_or_else(|| StoreError::NotFound(id.to_owned()))?;
        let entity = self.tables[kind.index()]
            .remove(&key)
            .ok_or_else(|| StoreError::NotFound(id.to_owned()))?;
        if kind == Kind::User {
            self.upn_index
                .remove(&entity.user_principal_name.to_lowercase());
        }
        self.detach(&key, kind);
        self.log.record(kind, &key, ChangeOp::Removed { permanent });
        Ok(entity)
    }

    /// The sequence number of the latest change.
    pub(crate) fn change_seq(&self) -> u64 {
        self.log.current()
    }

    /// Changes in `(after, upto]`, oldest first.
    pub(crate) fn changes_between(&self, after: u64, upto: u64) -> &[Change] {
        self.log.between(after, upto)
    }

    /// Whether `id` names an object (of any kind) that was ever logged; used for `@removed` items whose
    /// object is gone.
    pub(crate) fn kind_of(&self, id: &str) -> Option<Kind> {
        self.kind_of.get(&id.to_ascii_lowercase()).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kind_parses_qualified_and_short_names() {
        assert_eq!(
            Kind::from_type_name("microsoft.graph.group"),
            Some(Kind::Group)
        );
        assert_eq!(
            Kind::from_type_name("#microsoft.graph.user"),
            Some(Kind::User)
        );
        assert_eq!(
            Kind::from_type_name("DirectoryRole"),
            Some(Kind::DirectoryRole)
        );
        assert_eq!(Kind::from_type_name("microsoft.graph.nothing"), None);
    }

    #[test]
    fn update_validates_before_applying_and_keeps_upn_index() {
        let mut dir = Directory::empty();
        let user = Entity::new(Kind::User, "A0000000-0000-0000-0000-000000000001", "A")
            .with("userPrincipalName", json!("a@contoso.com"));
        dir.insert(user).unwrap();
        let bad = json!({"jobTitle": "x", "accountEnabled": "yes"});
        let err = dir
            .update(
                "a0000000-0000-0000-0000-000000000001",
                bad.as_object().unwrap(),
            )
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)));
        assert!(
            dir.user("a@contoso.com")
                .unwrap()
                .props
                .get("jobTitle")
                .is_none()
        );
        let good = json!({"userPrincipalName": "b@contoso.com", "jobTitle": "Dev"});
        dir.update(
            "a0000000-0000-0000-0000-000000000001",
            good.as_object().unwrap(),
        )
        .unwrap();
        assert!(dir.user("a@contoso.com").is_none());
        assert_eq!(dir.user("B@contoso.com").unwrap().display_name, "A");
        let unknown = json!({"favouriteColour": "red"});
        assert!(
            dir.update(
                "a0000000-0000-0000-0000-000000000001",
                unknown.as_object().unwrap()
            )
            .is_err()
        );
    }

    #[test]
    fn passwords_are_not_kept() {
        let mut user = Entity::new(Kind::User, "1", "Ann");
        let change = json!({"passwordProfile": {"password": "s3cret!", "forceChangePasswordNextSignIn": true}});
        user.apply(change.as_object().unwrap()).unwrap();
        assert!(!format!("{user:?}").contains("s3cret!"));
        assert_eq!(
            user.to_json(Some(&["passwordProfile".into()]), false)["passwordProfile"],
            Value::Null
        );
    }

    #[test]
    fn to_json_renders_defaults_and_selection() {
        let user = Entity::new(Kind::User, "1", "Ann").with("userPrincipalName", json!("ann@x"));
        let all = user.to_json(None, false);
        assert_eq!(all["businessPhones"], json!([]));
        assert_eq!(all["givenName"], Value::Null);
        assert_eq!(all["userPrincipalName"], json!("ann@x"));
        assert!(!all.contains_key("accountEnabled"));
        let some = user.to_json(Some(&["displayName".into()]), true);
        assert_eq!(some.len(), 2);
        assert_eq!(some["@odata.type"], json!("#microsoft.graph.user"));
        let group = Entity::new(Kind::Group, "2", "G");
        assert_eq!(group.to_json(Some(&["displayName".into()]), false).len(), 2);
    }
}
