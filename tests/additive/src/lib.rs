//! Code a user's crate writes against `AnyDirectoryObject` and the accessors. It must compile
//! unchanged whatever features another crate in the build enables (`AnyX` enums are
//! `#[non_exhaustive]`, so enabling an area that adds variants breaks no `match`).

use msgraph_typed::models::AnyDirectoryObject;

/// What kind of directory object this is, in words.
pub fn describe(object: &AnyDirectoryObject) -> String {
    let kind = match object {
        AnyDirectoryObject::User(_) => "user",
        AnyDirectoryObject::Group(_) => "group",
        AnyDirectoryObject::ServicePrincipal(_) => "service principal",
        AnyDirectoryObject::Unknown(_) => "something this version does not know",
        _ => "another directory object",
    };
    format!(
        "{kind} {} ({})",
        object.id().unwrap_or("-"),
        object.odata_type()
    )
}

/// The group, if the object is one.
pub fn group_id(object: AnyDirectoryObject) -> Option<String> {
    let group = msgraph_typed::models::Group::try_from(object).ok()?;
    group.id().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_the_variants_it_knows_and_the_others() {
        let user: AnyDirectoryObject =
            serde_json::from_str(r##"{"@odata.type":"#microsoft.graph.user","id":"u1"}"##).unwrap();
        assert_eq!(describe(&user), "user u1 (microsoft.graph.user)");
        // A type this version does not know arrives intact as Unknown.
        let future: AnyDirectoryObject = serde_json::from_str(
            r##"{"@odata.type":"#microsoft.graph.futureThing","id":"f1","shape":"new"}"##,
        )
        .unwrap();
        assert_eq!(
            describe(&future),
            "something this version does not know f1 (microsoft.graph.futureThing)"
        );
        let back = serde_json::to_value(&future).unwrap();
        assert_eq!(back["shape"], "new");
        let group: AnyDirectoryObject =
            serde_json::from_str(r##"{"@odata.type":"#microsoft.graph.group","id":"g1"}"##)
                .unwrap();
        assert_eq!(group_id(group).as_deref(), Some("g1"));
        assert_eq!(group_id(user), None);
    }
}
