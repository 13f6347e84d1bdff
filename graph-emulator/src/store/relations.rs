//! Membership edges (members / memberOf), their transitive closures, and manager links.

use std::collections::{BTreeSet, HashSet, VecDeque};

use super::{ChangeOp, Directory, Entity, Kind, StoreError};

impl Directory {
    /// Adds `member` to the group, directory role or administrative unit `container`.
    pub(crate) fn add_member(&mut self, container: &str, member: &str) -> Result<(), StoreError> {
        let (ckey, ckind) = self.container_key(container)?;
        let mkey = member.to_ascii_lowercase();
        let mkind = self
            .kind_of(&mkey)
            .ok_or_else(|| StoreError::NotFound(member.to_owned()))?;
        if ckey == mkey {
            return Err(StoreError::Invalid(
                "An object cannot be added as a member of itself.".into(),
            ));
        }
        if !matches!(
            mkind,
            Kind::User | Kind::Group | Kind::ServicePrincipal | Kind::Device
        ) {
            return Err(StoreError::Invalid(format!(
                "An object of type 'microsoft.graph.{}' cannot be added as a member.",
                mkind.type_name()
            )));
        }
        let set = self.members.entry(ckey.clone()).or_default();
        if !set.insert(mkey.clone()) {
            return Err(StoreError::Conflict(
                "One or more added object references already exist for the following modified properties: 'members'."
                    .into(),
            ));
        }
        self.member_of
            .entry(mkey.clone())
            .or_default()
            .insert(ckey.clone());
        self.log
            .record(ckind, &ckey, ChangeOp::MemberAdded(mkey, mkind));
        Ok(())
    }

    /// Removes `member` from `container`.
    pub(crate) fn remove_member(
        &mut self,
        container: &str,
        member: &str,
    ) -> Result<(), StoreError> {
        let (ckey, ckind) = self.container_key(container)?;
        let mkey = member.to_ascii_lowercase();
        let removed = self
            .members
            .get_mut(&ckey)
            .is_some_and(|set| set.remove(&mkey));
        if !removed {
            return Err(StoreError::NotFound(member.to_owned()));
        }
        if let Some(set) = self.member_of.get_mut(&mkey) {
            set.remove(&ckey);
        }
        let mkind = self.kind_of(&mkey).unwrap_or(Kind::User);
        self.log
            .record(ckind, &ckey, ChangeOp::MemberRemoved(mkey, mkind));
        Ok(())
    }

    fn container_key(&self, container: &str) -> Result<(String, Kind), StoreError> {
        let key = container.to_ascii_lowercase();
        match self.kind_of(&key) {
            Some(kind) if kind.is_container() => Ok((key, kind)),
            _ => Err(StoreError::NotFound(container.to_owned())),
        }
    }

    /// Direct members of a container, in id order (`None` when `container` does not exist).
    pub(crate) fn members_of(&self, container: &str) -> Option<Vec<&Entity>> {
        let key = container.to_ascii_lowercase();
        self.object(&key)?;
        Some(self.resolve(self.members.get(&key).into_iter().flatten()))
    }

    /// Containers `id` is a direct member of, in id order.
    pub(crate) fn member_of(&self, id: &str) -> Vec<&Entity> {
        let key = id.to_ascii_lowercase();
        self.resolve(self.member_of.get(&key).into_iter().flatten())
    }

    /// Every container `id` is a member of, directly or through nested groups, in id order.
    pub(crate) fn transitive_member_of(&self, id: &str) -> Vec<&Entity> {
        let found = closure(&id.to_ascii_lowercase(), |k| self.member_of.get(k));
        self.resolve(found.iter())
    }

    /// Every member of `container`, directly or through nested groups, in id order
    /// (`None` when `container` does not exist).
    pub(crate) fn transitive_members(&self, container: &str) -> Option<Vec<&Entity>> {
        let key = container.to_ascii_lowercase();
        self.object(&key)?;
        let found = closure(&key, |k| self.members.get(k));
        Some(self.resolve(found.iter()))
    }

    /// Ids of the groups `id` belongs to, transitively (`getMemberGroups`); only security-enabled ones
    /// when `security_only`. With `all_kinds`, directory roles and administrative units are included
    /// too (`getMemberObjects`).
    pub(crate) fn member_groups(
        &self,
        id: &str,
        security_only: bool,
        all_kinds: bool,
    ) -> Vec<String> {
        self.transitive_member_of(id)
            .into_iter()
            .filter(|e| all_kinds || e.kind == Kind::Group)
            .filter(|e| !security_only || e.kind != Kind::Group || e.is_security_group())
            .map(|e| e.id.clone())
            .collect()
    }

    /// The manager of a user.
    pub(crate) fn manager(&self, id: &str) -> Option<&Entity> {
        let key = self.user(id)?.id.clone();
        self.managers.get(&key).and_then(|m| self.object(m))
    }

    /// The users whose manager is `id`, in id order.
    pub(crate) fn direct_reports(&self, id: &str) -> Vec<&Entity> {
        let key = id.to_ascii_lowercase();
        let reports: BTreeSet<&String> = self
            .managers
            .iter()
            .filter(|(_, m)| **m == key)
            .map(|(u, _)| u)
            .collect();
        self.resolve(reports.into_iter())
    }

    /// Sets the manager of user `id` (the manager must be a user and not the user itself).
    pub(crate) fn set_manager(&mut self, id: &str, manager: &str) -> Result<(), StoreError> {
        let user = self
            .user(id)
            .ok_or_else(|| StoreError::NotFound(id.to_owned()))?
            .id
            .clone();
        let manager = self
            .user(manager)
            .ok_or_else(|| StoreError::NotFound(manager.to_owned()))?
            .id
            .clone();
        if user == manager {
            return Err(StoreError::Invalid(
                "A user cannot be their own manager.".into(),
            ));
        }
        self.managers.insert(user.clone(), manager);
        self.log
            .record(Kind::User, &user, ChangeOp::Upsert(Some(Vec::new())));
        Ok(())
    }

    /// Removes the manager of user `id`.
    pub(crate) fn remove_manager(&mut self, id: &str) -> Result<(), StoreError> {
        let user = self
            .user(id)
            .ok_or_else(|| StoreError::NotFound(id.to_owned()))?
            .id
            .clone();
        self.managers
            .remove(&user)
            .ok_or_else(|| StoreError::NotFound(format!("{user}/manager")))?;
        self.log
            .record(Kind::User, &user, ChangeOp::Upsert(Some(Vec::new())));
        Ok(())
    }

    /// Removes every edge that touches a deleted object.
    pub(super) fn detach(&mut self, key: &str, kind: Kind) {
        if let Some(containers) = self.member_of.remove(key) {
            for c in containers {
                if let Some(set) = self.members.get_mut(&c) {
                    set.remove(key);
                }
                if let Some(ckind) = self.kind_of(&c) {
                    self.log
                        .record(ckind, &c, ChangeOp::MemberRemoved(key.to_owned(), kind));
                }
            }
        }
        if let Some(members) = self.members.remove(key) {
            for m in members {
                if let Some(set) = self.member_of.get_mut(&m) {
                    set.remove(key);
                }
            }
        }
        self.managers.remove(key);
        self.managers.retain(|_, m| m != key);
        self.detach_owners(key);
    }

    pub(super) fn resolve<S: AsRef<str>>(&self, ids: impl Iterator<Item = S>) -> Vec<&Entity> {
        ids.filter_map(|id| self.object(id.as_ref())).collect()
    }
}

/// Breadth-first closure over an edge map, excluding the start; cycles are tolerated. Sorted by id.
fn closure<'a>(
    start: &str,
    next: impl Fn(&str) -> Option<&'a BTreeSet<String>>,
) -> BTreeSet<String> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut queue: VecDeque<String> = VecDeque::from([start.to_owned()]);
    let mut out = BTreeSet::new();
    while let Some(current) = queue.pop_front() {
        for n in next(&current).into_iter().flatten() {
            if n != start && seen.insert(n.clone()) {
                out.insert(n.clone());
                queue.push_back(n.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dir() -> Directory {
        let mut d = Directory::empty();
        d.insert(Entity::new(Kind::User, "u1", "U1").with("userPrincipalName", json!("u1@x")))
            .unwrap();
        for (g, sec) in [("g1", true), ("g2", false), ("g3", true)] {
            d.insert(Entity::new(Kind::Group, g, g).with("securityEnabled", json!(sec)))
                .unwrap();
        }
        d.add_member("g1", "u1").unwrap();
        d.add_member("g2", "g1").unwrap();
        d.add_member("g3", "g2").unwrap();
        d.add_member("g1", "g3").unwrap(); // a cycle
        d
    }

    #[test]
    fn transitive_closures_follow_nesting_and_survive_cycles() {
        let d = dir();
        let ids = |v: Vec<&Entity>| v.into_iter().map(|e| e.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(d.member_of("u1")), ["g1"]);
        assert_eq!(ids(d.transitive_member_of("u1")), ["g1", "g2", "g3"]);
        assert_eq!(ids(d.transitive_members("g3").unwrap()), ["g1", "g2", "u1"]);
        assert_eq!(d.member_groups("u1", true, false), ["g1", "g3"]);
        assert_eq!(d.member_groups("u1", false, false).len(), 3);
    }

    #[test]
    fn duplicate_and_missing_edges_are_refused_and_delete_detaches() {
        let mut d = dir();
        assert!(matches!(
            d.add_member("g1", "u1"),
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            d.add_member("nope", "u1"),
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            d.add_member("u1", "g1"),
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            d.remove_member("g2", "u1"),
            Err(StoreError::NotFound(_))
        ));
        d.delete("g1", false).unwrap();
        assert!(d.member_of("u1").is_empty());
        assert!(d.members_of("g2").unwrap().is_empty());
        assert_eq!(d.members_of("g3").unwrap().len(), 1);
    }

    #[test]
    fn managers_link_users() {
        let mut d = dir();
        d.insert(Entity::new(Kind::User, "m1", "M").with("userPrincipalName", json!("m@x")))
            .unwrap();
        d.set_manager("u1@x", "m1").unwrap();
        assert_eq!(d.manager("u1").unwrap().id, "m1");
        assert_eq!(d.direct_reports("m1").len(), 1);
        assert!(d.set_manager("u1", "u1").is_err());
        d.remove_manager("u1").unwrap();
        assert!(d.manager("u1").is_none());
        assert!(d.remove_manager("u1").is_err());
    }
}
