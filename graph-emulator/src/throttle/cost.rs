//! The resource-unit cost of a Graph request, after Microsoft Graph's published table for
//! identity and access resources: a base cost per operation and path (2 for `GET users`, 5 for
//! `POST directoryObjects/getByIds`, ...; 1 for any other), `$select` lowers it by 1, `$expand`
//! raises it by 1, `$top` under 20 lowers it by 1, never below 1. Writes (POST, PATCH, PUT, DELETE)
//! not in the table also cost 1 of the write quota. Rules for `me/...` apply to
//! `users/{id}/...` too.

use axum::http::Method;

/// What a request costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cost {
    /// Resource units.
    pub units: u64,
    /// Units of the write quota (0 or 1).
    pub writes: u64,
}

/// The base cost and whether the operation is a listed one (listed writes have write cost 0).
fn base(method: &Method, segments: &[&str]) -> Option<u64> {
    let get = *method == Method::GET;
    let post = *method == Method::POST;
    let action = |s: &str| s.strip_prefix("microsoft.graph.").unwrap_or(s).to_owned();
    // `me/...` and `users/{id}/...` share their costs.
    let user_rest: Option<&[&str]> = match segments {
        ["me", rest @ ..] => Some(rest),
        ["users", _, rest @ ..] => Some(rest),
        _ => None,
    };
    if let Some(rest) = user_rest
        && let Some(first) = rest.first()
    {
        let first = action(first);
        let cost = match (first.as_str(), get, post) {
            ("checkMemberGroups" | "checkMemberObjects", _, true) => Some(4),
            ("getMemberGroups" | "getMemberObjects", _, true) => Some(2),
            ("licenseDetails" | "memberOf" | "ownedObjects" | "transitiveMemberOf", true, _) => {
                Some(2)
            }
            _ => None,
        };
        if cost.is_some() {
            return cost;
        }
    }
    match segments {
        ["applications"] if get => Some(2),
        ["applications", _, "extensionProperties"] if get => Some(2),
        ["contracts"] if get => Some(3),
        ["directoryObjects", a] if post && action(a) == "getByIds" => Some(5),
        ["domains", _, "domainNameReferences"] if get => Some(4),
        [a] if post && action(a) == "getObjectsById" => Some(5),
        ["groups", _, "members", ..] if get => Some(3),
        ["groups", _, "transitiveMembers", ..] if get => Some(5),
        [.., a] if post && action(a) == "isMemberOf" => Some(4),
        ["oauth2PermissionGrants"] | ["oauth2PermissionGrants", _] if get => Some(2),
        ["servicePrincipals", _, "appRoleAssignments"] if get => Some(2),
        ["subscribedSkus"] if get => Some(3),
        ["users"] if get => Some(2),
        _ => None,
    }
}

/// The cost of `method` on `path` (below `/v1.0`, without the leading `/`) with `query`.
pub(crate) fn cost(method: &Method, path: &str, query: Option<&str>) -> Cost {
    let decoded: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
    let listed = base(method, &segments);
    let is_write = matches!(
        *method,
        Method::POST | Method::PATCH | Method::PUT | Method::DELETE
    );
    let writes = u64::from(is_write && listed.is_none());
    let mut units = i64::try_from(listed.unwrap_or(1)).unwrap_or(1);
    let (mut select, mut expand, mut small_top) = (false, false, false);
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.trim_start_matches('$').to_ascii_lowercase().as_str() {
            "select" if key.starts_with('$') => select = true,
            "expand" if key.starts_with('$') => expand = true,
            "top" if key.starts_with('$') => {
                small_top = value.trim().parse::<u64>().is_ok_and(|n| n < 20);
            }
            _ => {}
        }
    }
    let get_by_ids = matches!(segments.as_slice(), ["directoryObjects", a] if a.ends_with("getByIds"))
        || matches!(segments.as_slice(), [a] if a.ends_with("getObjectsById"));
    if select && get_by_ids && *method == Method::POST {
        // Documented: $select on getByIds / getObjectsById costs 2.
        return Cost { units: 2, writes };
    }
    if select {
        units -= 1;
    }
    if expand {
        units += 1;
    }
    if small_top {
        units -= 1;
    }
    Cost {
        units: u64::try_from(units.max(1)).unwrap_or(1),
        writes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(method: Method, path: &str, query: Option<&str>) -> u64 {
        cost(&method, path, query).units
    }

    #[test]
    fn the_published_table_and_its_modifiers() {
        assert_eq!(units(Method::GET, "users", None), 2);
        assert_eq!(units(Method::GET, "users", Some("$select=id")), 1);
        assert_eq!(
            units(Method::GET, "users", Some("$select=id&$top=5")),
            1,
            "never below 1"
        );
        assert_eq!(units(Method::GET, "users", Some("$expand=manager")), 3);
        assert_eq!(units(Method::GET, "users", Some("$top=50")), 2);
        assert_eq!(units(Method::GET, "users/abc", None), 1);
        assert_eq!(units(Method::GET, "groups/g/members", None), 3);
        assert_eq!(
            units(Method::GET, "groups/g/members/microsoft.graph.user", None),
            3
        );
        assert_eq!(units(Method::GET, "groups/g/transitiveMembers", None), 5);
        assert_eq!(units(Method::POST, "directoryObjects/getByIds", None), 5);
        assert_eq!(
            units(
                Method::POST,
                "directoryObjects/getByIds",
                Some("$select=id")
            ),
            2
        );
        assert_eq!(units(Method::GET, "me/memberOf", None), 2);
        assert_eq!(
            units(Method::GET, "users/x%40y/transitiveMemberOf", None),
            2
        );
        assert_eq!(units(Method::POST, "me/checkMemberGroups", None), 4);
        assert_eq!(units(Method::GET, "applications", None), 2);
        assert_eq!(units(Method::GET, "subscribedSkus", None), 3);
        assert_eq!(units(Method::GET, "drives/x/root", None), 1);
        assert_eq!(
            cost(&Method::PATCH, "users/a", None),
            Cost {
                units: 1,
                writes: 1
            }
        );
        assert_eq!(
            cost(&Method::POST, "directoryObjects/getByIds", None).writes,
            0
        );
    }
}
