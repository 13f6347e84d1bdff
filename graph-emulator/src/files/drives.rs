//! Drives and drive items with their content, in memory: a tree of folders and files per drive,
//! addressed by id or by path below the root.

use std::collections::{BTreeMap, HashMap};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use rand::Rng;
use sha2::{Digest, Sha256};

use super::FileError;

/// What a drive belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Owner {
    /// A user's OneDrive.
    User { id: String, display_name: String },
    /// A group's document library.
    Group { id: String, display_name: String },
}

/// A file or a folder.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub id: String,
    pub name: String,
    /// `None` for the root.
    pub parent: Option<String>,
    /// `None` for a folder.
    pub content: Option<Bytes>,
    pub mime_type: String,
    pub created: String,
    pub modified: String,
    /// Bumped on every change (`eTag`, `cTag`).
    pub version: u64,
}

impl Item {
    pub(crate) fn is_folder(&self) -> bool {
        self.content.is_none()
    }

    pub(crate) fn size(&self) -> u64 {
        self.content.as_ref().map_or(0, |c| c.len() as u64)
    }
}

/// One drive.
#[derive(Debug)]
pub(crate) struct Drive {
    pub id: String,
    pub owner: Owner,
    pub root: String,
    pub created: String,
    items: HashMap<String, Item>,
    /// Children by parent id, by lower-case name.
    children: HashMap<String, BTreeMap<String, String>>,
}

/// How a write treats an existing item with the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Conflict {
    /// 409 `nameAlreadyExists`.
    Fail,
    /// Overwrite it (the default).
    Replace,
    /// Pick a free name (`name 1.txt`).
    Rename,
}

impl Conflict {
    pub(crate) fn parse(value: Option<&str>) -> Result<Conflict, FileError> {
        match value.map(str::to_ascii_lowercase).as_deref() {
            None | Some("replace") => Ok(Conflict::Replace),
            Some("fail") => Ok(Conflict::Fail),
            Some("rename") => Ok(Conflict::Rename),
            Some(other) => Err(FileError::invalid(format!(
                "Invalid value '{other}' for @microsoft.graph.conflictBehavior."
            ))),
        }
    }
}

/// A new item id in the style of OneDrive for Business (`01` + 32 base32 characters).
pub(crate) fn new_item_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut rng = rand::thread_rng();
    let tail: String = (0..32)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect();
    format!("01{tail}")
}

/// The drive id of an owner: `b!` + 43 characters derived from the owner's id.
pub(crate) fn drive_id_for(owner_id: &str) -> String {
    let digest = Sha256::digest(owner_id.to_ascii_lowercase().as_bytes());
    format!("b!{}", URL_SAFE_NO_PAD.encode(digest))
}

/// A MIME type from a file name's extension.
pub(crate) fn mime_for(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("txt") => "text/plain",
        Some("json") => "application/json",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("pdf") => "application/pdf",
        Some("csv") => "text/csv",
        Some("docx") => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        Some("xlsx") => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        Some("zip") => "application/zip",
        _ => "application/octet-stream",
    }
}

fn valid_name(name: &str) -> Result<(), FileError> {
    let bad = name.is_empty()
        || name == "."
        || name == ".."
        || name
            .chars()
            .any(|c| matches!(c, '"' | '*' | ':' | '<' | '>' | '?' | '/' | '\\' | '|'));
    if bad {
        return Err(FileError::invalid(format!(
            "The name '{name}' is not valid."
        )));
    }
    Ok(())
}

impl Drive {
    pub(crate) fn new(owner: Owner, now: &str) -> Drive {
        let owner_id = match &owner {
            Owner::User { id, .. } | Owner::Group { id, .. } => id.clone(),
        };
        let root = new_item_id();
        let mut items = HashMap::new();
        items.insert(
            root.clone(),
            Item {
                id: root.clone(),
                name: "root".to_owned(),
                parent: None,
                content: None,
                mime_type: String::new(),
                created: now.to_owned(),
                modified: now.to_owned(),
                version: 1,
            },
        );
        Drive {
            id: drive_id_for(&owner_id),
            owner,
            root,
            created: now.to_owned(),
            items,
            children: HashMap::new(),
        }
    }

    pub(crate) fn item(&self, id: &str) -> Option<&Item> {
        self.items.get(id)
    }

    /// Bytes stored in this drive's files.
    pub(crate) fn used(&self) -> u64 {
        self.items.values().map(Item::size).sum()
    }

    /// The children of a folder, by name.
    pub(crate) fn children(&self, id: &str) -> Vec<&Item> {
        self.children
            .get(id)
            .into_iter()
            .flat_map(|c| c.values())
            .filter_map(|child| self.items.get(child))
            .collect()
    }

    /// The child of `parent` called `name` (case-insensitive, as OneDrive).
    pub(crate) fn child(&self, parent: &str, name: &str) -> Option<&Item> {
        self.children
            .get(parent)
            .and_then(|c| c.get(&name.to_lowercase()))
            .and_then(|id| self.items.get(id))
    }

    /// The item at `path` (`a/b/c.txt`) below `from`.
    pub(crate) fn resolve(&self, from: &str, path: &[String]) -> Option<&Item> {
        let mut current = self.items.get(from)?;
        for segment in path {
            current = self.child(&current.id, segment)?;
        }
        Some(current)
    }

    /// The path of an item's parent as Graph writes it: `/drive/root:` or `/drive/root:/a/b`.
    pub(crate) fn parent_path(&self, item: &Item) -> Option<String> {
        let mut names = Vec::new();
        let mut current = self.items.get(item.parent.as_deref()?)?;
        while let Some(parent) = &current.parent {
            names.push(current.name.clone());
            current = self.items.get(parent)?;
        }
        names.reverse();
        Some(if names.is_empty() {
            "/drive/root:".to_owned()
        } else {
            format!("/drive/root:/{}", names.join("/"))
        })
    }

    /// Creates the folders of `path` below `from` that do not exist; returns the last one.
    pub(crate) fn ensure_folders(
        &mut self,
        from: &str,
        path: &[String],
        now: &str,
    ) -> Result<String, FileError> {
        let mut current = from.to_owned();
        for segment in path {
            current = match self.child(&current, segment) {
                Some(existing) if existing.is_folder() => existing.id.clone(),
                Some(_) => {
                    return Err(FileError::conflict(format!(
                        "'{segment}' is a file, not a folder."
                    )));
                }
                None => self
                    .create_folder(&current, segment, Conflict::Fail, now)?
                    .id
                    .clone(),
            };
        }
        Ok(current)
    }

    /// Creates a folder.
    pub(crate) fn create_folder(
        &mut self,
        parent: &str,
        name: &str,
        conflict: Conflict,
        now: &str,
    ) -> Result<&Item, FileError> {
        let name = self.free_name(parent, name, conflict, true)?;
        let id = new_item_id();
        self.attach(Item {
            id: id.clone(),
            name,
            parent: Some(parent.to_owned()),
            content: None,
            mime_type: String::new(),
            created: now.to_owned(),
            modified: now.to_owned(),
            version: 1,
        });
        self.items
            .get(&id)
            .ok_or_else(|| FileError::not_found("The resource could not be found."))
    }

    /// Writes a file under `parent`: replaces an existing file's content (keeping its id) or
    /// creates one. Returns the item and whether it was created.
    pub(crate) fn write_file(
        &mut self,
        parent: &str,
        name: &str,
        content: Bytes,
        conflict: Conflict,
        now: &str,
    ) -> Result<(&Item, bool), FileError> {
        valid_name(name)?;
        if !self.items.get(parent).is_some_and(Item::is_folder) {
            return Err(FileError::not_found("The parent folder does not exist."));
        }
        if conflict == Conflict::Replace
            && let Some(existing) = self.child(parent, name).map(|i| i.id.clone())
        {
            let item = self
                .items
                .get_mut(&existing)
                .ok_or_else(|| FileError::not_found("The resource could not be found."))?;
            if item.is_folder() {
                return Err(FileError::conflict(
                    "A folder with that name already exists.",
                ));
            }
            item.content = Some(content);
            item.modified = now.to_owned();
            item.version += 1;
            return Ok((&*item, false));
        }
        let name = self.free_name(parent, name, conflict, false)?;
        let id = new_item_id();
        let mime = mime_for(&name).to_owned();
        self.attach(Item {
            id: id.clone(),
            name,
            parent: Some(parent.to_owned()),
            content: Some(content),
            mime_type: mime,
            created: now.to_owned(),
            modified: now.to_owned(),
            version: 1,
        });
        let item = self
            .items
            .get(&id)
            .ok_or_else(|| FileError::not_found("The resource could not be found."))?;
        Ok((item, true))
    }

    /// Replaces the content of an existing file.
    pub(crate) fn replace_content(
        &mut self,
        id: &str,
        content: Bytes,
        now: &str,
    ) -> Result<&Item, FileError> {
        let item = self
            .items
            .get_mut(id)
            .ok_or_else(|| FileError::not_found("The resource could not be found."))?;
        if item.is_folder() {
            return Err(FileError::invalid("A folder has no content."));
        }
        item.content = Some(content);
        item.modified = now.to_owned();
        item.version += 1;
        Ok(&*item)
    }

    /// Deletes an item and everything below it.
    pub(crate) fn delete(&mut self, id: &str) -> Result<(), FileError> {
        let item = self
            .items
            .get(id)
            .ok_or_else(|| FileError::not_found("The resource could not be found."))?;
        let Some(parent) = item.parent.clone() else {
            return Err(FileError::invalid("The root of a drive cannot be deleted."));
        };
        let name = item.name.to_lowercase();
        if let Some(siblings) = self.children.get_mut(&parent) {
            siblings.remove(&name);
        }
        let mut stack = vec![id.to_owned()];
        while let Some(next) = stack.pop() {
            self.items.remove(&next);
            if let Some(children) = self.children.remove(&next) {
                stack.extend(children.into_values());
            }
        }
        Ok(())
    }

    fn attach(&mut self, item: Item) {
        if let Some(parent) = &item.parent {
            self.children
                .entry(parent.clone())
                .or_default()
                .insert(item.name.to_lowercase(), item.id.clone());
        }
        self.items.insert(item.id.clone(), item);
    }

    /// The name a new item gets under `conflict`.
    fn free_name(
        &self,
        parent: &str,
        name: &str,
        conflict: Conflict,
        folder: bool,
    ) -> Result<String, FileError> {
        valid_name(name)?;
        if self.child(parent, name).is_none() {
            return Ok(name.to_owned());
        }
        match conflict {
            Conflict::Fail => Err(FileError::name_exists()),
            Conflict::Replace if folder => Err(FileError::name_exists()),
            Conflict::Replace => Ok(name.to_owned()),
            Conflict::Rename => {
                let (stem, ext) = match name.rsplit_once('.') {
                    Some((stem, ext)) if !folder && !stem.is_empty() => (stem, format!(".{ext}")),
                    _ => (name, String::new()),
                };
                (1..10_000)
                    .map(|n| format!("{stem} {n}{ext}"))
                    .find(|candidate| self.child(parent, candidate).is_none())
                    .ok_or_else(FileError::name_exists)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drive() -> Drive {
        Drive::new(
            Owner::User {
                id: "u1".into(),
                display_name: "U".into(),
            },
            "2024-01-01T00:00:00Z",
        )
    }

    #[test]
    fn paths_conflicts_and_deletes() {
        let mut d = drive();
        let root = d.root.clone();
        let folder = d
            .ensure_folders(&root, &["a".into(), "b".into()], "t")
            .unwrap();
        let (file, created) = d
            .write_file(
                &folder,
                "x.txt",
                Bytes::from_static(b"1"),
                Conflict::Replace,
                "t",
            )
            .unwrap();
        assert!(created);
        let id = file.id.clone();
        let (again, created) = d
            .write_file(
                &folder,
                "X.TXT",
                Bytes::from_static(b"22"),
                Conflict::Replace,
                "t",
            )
            .unwrap();
        assert!(!created);
        assert_eq!(again.id, id);
        assert_eq!(again.size(), 2);
        assert!(matches!(
            d.write_file(&folder, "x.txt", Bytes::new(), Conflict::Fail, "t"),
            Err(e) if e.code == "nameAlreadyExists"
        ));
        let (renamed, _) = d
            .write_file(&folder, "x.txt", Bytes::new(), Conflict::Rename, "t")
            .unwrap();
        assert_eq!(renamed.name, "x 1.txt");
        let found = d
            .resolve(&root, &["A".into(), "b".into(), "x.txt".into()])
            .unwrap();
        assert_eq!(found.id, id);
        assert_eq!(d.parent_path(found).unwrap(), "/drive/root:/a/b");
        assert_eq!(d.used(), 2);
        let a = d.child(&root, "a").unwrap().id.clone();
        d.delete(&a).unwrap();
        assert!(d.item(&id).is_none());
        assert!(d.children(&root).is_empty());
        assert!(d.delete(&root).is_err());
        assert!(
            d.write_file(&root, "bad:name", Bytes::new(), Conflict::Replace, "t")
                .is_err()
        );
    }
}
