//! Owner edges: the users and service principals that own a group, an application or a service
//! principal (`owners`), and the reverse (`ownedObjects`).

use super::{Directory, Entity, Kind, StoreError};

/// Kinds that can have owners.
pub(crate) const OWNED_KINDS: &[Kind] = &[Kind::Group, Kind::Application, Kind::ServicePrincipal];
/// Kinds that can be owners.
pub(crate) const OWNER_KINDS: &[Kind] = &[Kind::User, Kind::ServicePrincipal];

impl Directory {
    /// Adds `owner` (a user or service principal) to the owners of `object`.
    pub(crate) fn add_owner(&mut self, object: &str, owner: &str) -> Result<(), StoreError> {
        let okey = self.owned_key(object)?;
        let wkey = owner.to_ascii_lowercase();
        let wkind = self
            .kind_of(&wkey)
            .ok_or_else(|| StoreError::NotFound(owner.to_owned()))?;
        if !OWNER_KINDS.contains(&wkind) {
            return Err(StoreError::Invalid(format!(
                "An object of type 'microsoft.graph.{}' cannot be added as an owner.",
                wkind.type_name()
            )));
        }
        if !self
            .owners
            .entry(okey.clone())
            .or_default()
            .insert(wkey.clone())
        {
            return Err(StoreError::Conflict(
                "One or more added object references already exist for the following modified properties: 'owners'."
                    .into(),
            ));
        }
        self.owned.entry(wkey).or_default().insert(okey);
        Ok(())
    }

    /// Removes `owner` from the owners of `object`.
    pub(crate) fn remove_owner(&mut self, object: &str, owner: &str) -> Result<(), StoreError> {
        let okey = self.owned_key(object)?;
        let wkey = owner.to_ascii_lowercase();
        let removed = self
            .owners
            .get_mut(&okey)
            .is_some_and(|set| set.remove(&wkey));
        if !removed {
            return Err(StoreError::NotFound(owner.to_owned()));
        }
        if let Some(set) = self.owned.get_mut(&wkey) {
            set.remove(&okey);
        }
        Ok(())
    }

    /// The owners of `object`, in id order (`None` when `object` does not exist).
    pub(crate) fn owners_of(&self, object: &str) -> Option<Vec<&Entity>> {
        let key = object.to_ascii_lowercase();
        self.object(&key)?;
        Some(self.resolve(self.owners.get(&key).into_iter().flatten()))
    }

    /// The objects `owner` owns, in id order.
    pub(crate) fn owned_objects(&self, owner: &str) -> Vec<&Entity> {
        let key = owner.to_ascii_lowercase();
        self.resolve(self.owned.get(&key).into_iter().flatten())
    }

    fn owned_key(&self, object: &str) -> Result<String, StoreError> {
        let key = object.to_ascii_lowercase();
        match self.kind_of(&key) {
            Some(kind) if OWNED_KINDS.contains(&kind) && self.object(&key).is_some() => Ok(key),
            _ => Err(StoreError::NotFound(object.to_owned())),
        }
    }

    /// Removes every owner edge that touches a deleted object.
    pub(super) fn detach_owners(&mut self, key: &str) {
        for owner in self.owners.remove(key).unwrap_or_default() {
            if let Some(set) = self.owned.get_mut(&owner) {
                set.remove(key);
            }
        }
        for object in self.owned.remove(key).unwrap_or_default() {
            if let Some(set) = self.owners.get_mut(&object) {
                set.remove(key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dir() -> Directory {
        let mut d = Directory::empty();
        d.insert(Entity::new(Kind::User, "u1", "U1").with("userPrincipalName", json!("u1@x")))
            .unwrap();
        d.insert(Entity::new(Kind::Group, "g1", "G1")).unwrap();
        d.insert(Entity::new(Kind::Group, "g2", "G2")).unwrap();
        d
    }

    #[test]
    fn owners_are_kept_both_ways_and_detached_on_delete() {
        let mut d = dir();
        d.add_owner("g1", "U1").unwrap();
        d.add_owner("g2", "u1").unwrap();
        assert!(matches!(
            d.add_owner("g1", "u1"),
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            d.add_owner("g1", "g2"),
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            d.add_owner("u1", "u1"),
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            d.add_owner("g1", "nobody"),
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(d.owners_of("g1").unwrap()[0].id, "u1");
        assert_eq!(d.owned_objects("u1").len(), 2);
        d.remove_owner("g1", "u1").unwrap();
        assert!(matches!(
            d.remove_owner("g1", "u1"),
            Err(StoreError::NotFound(_))
        ));
        d.delete("g2", false).unwrap();
        assert!(d.owned_objects("u1").is_empty());
        d.add_owner("g1", "u1").unwrap();
        d.delete("u1", false).unwrap();
        assert!(d.owners_of("g1").unwrap().is_empty());
    }
}
