//! Parsing and validating a request's OData query options, Graph's advanced-query rules, and the query
//! part of next links.

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use super::filter::{self, Expr};
use super::search::{self, Search};
use super::{QueryError, skiptoken};
use crate::store::{Kind, schema};

/// Characters percent-encoded in the query values we write into next links: everything that is not safe
/// in a query component, plus the separators `&`, `=`, `+` and `#`.
const QUERY_VALUE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b'<')
    .add(b'=')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Percent-encodes a query value for a link we hand out.
pub(crate) fn encode_value(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

/// `$orderby` (one property).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OrderBy {
    /// Canonical property name.
    pub property: String,
    /// `desc`.
    pub descending: bool,
}

/// One `$expand` item, e.g. `manager($select=id,displayName)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expand {
    /// The navigation property.
    pub property: String,
    /// A nested `$select`.
    pub select: Option<Vec<String>>,
}

/// The query options of one request.
#[derive(Debug, Clone, Default)]
pub(crate) struct QueryOptions {
    /// `$select` (canonical names after [`QueryOptions::resolve`]).
    pub select: Option<Vec<String>>,
    /// `$filter`.
    pub filter: Option<Expr>,
    /// `$orderby`.
    pub orderby: Option<OrderBy>,
    /// `$top`.
    pub top: Option<u32>,
    /// `$count`.
    pub count: Option<bool>,
    /// `$search`.
    pub search: Option<Search>,
    /// `$expand`.
    pub expand: Vec<Expand>,
    /// `$skiptoken`.
    pub skiptoken: Option<String>,
    /// `$deltatoken`.
    pub deltatoken: Option<String>,
    /// The options as received (without the page tokens), to repeat in next links.
    raw: Vec<(String, String)>,
}

fn once(seen: &mut Vec<String>, name: &str) -> Result<(), QueryError> {
    if seen.iter().any(|s| s == name) {
        return Err(QueryError::bad_request(
            "BadRequest",
            format!(
                "Query option '{name}' was specified more than once, but it must be specified at most once."
            ),
        ));
    }
    seen.push(name.to_owned());
    Ok(())
}

fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_expand(value: &str) -> Result<Vec<Expand>, QueryError> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = 0usize;
    let mut items = Vec::new();
    for (i, c) in value.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                items.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&value[start..]);
    let unbalanced = || {
        QueryError::bad_request(
            "BadRequest",
            format!("Invalid $expand clause '{value}': unbalanced parentheses."),
        )
    };
    for item in items.into_iter().map(str::trim).filter(|s| !s.is_empty()) {
        let (name, nested) = match item.split_once('(') {
            Some((name, rest)) => {
                let inner = rest.strip_suffix(')').ok_or_else(unbalanced)?;
                if inner.matches('(').count() != inner.matches(')').count() {
                    return Err(unbalanced());
                }
                (name.trim(), Some(inner))
            }
            None if item.contains(')') => return Err(unbalanced()),
            None => (item, None),
        };
        let mut select = None;
        for part in nested.into_iter().flat_map(|n| n.split(';')) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            match part.split_once('=') {
                Some((k, v)) if k.trim().eq_ignore_ascii_case("$select") => {
                    select = Some(split_list(v));
                }
                _ => {
                    return Err(QueryError::bad_request(
                        "Request_UnsupportedQuery",
                        format!("Nested query option '{part}' in $expand is not supported."),
                    ));
                }
            }
        }
        out.push(Expand {
            property: name.to_owned(),
            select,
        });
    }
    Ok(out)
}

impl QueryOptions {
    /// Parses a raw query string (`None` or empty means no options).
    pub(crate) fn parse(query: Option<&str>) -> Result<QueryOptions, QueryError> {
        let mut opts = QueryOptions::default();
        let mut seen = Vec::new();
        let Some(query) = query.filter(|q| !q.is_empty()) else {
            return Ok(opts);
        };
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let key = key.trim();
            if !key.starts_with('$') {
                continue; // non-OData parameters are ignored, as Graph does
            }
            let name = key.to_ascii_lowercase();
            once(&mut seen, &name)?;
            let value = value.trim().to_owned();
            match name.as_str() {
                "$select" => opts.select = Some(split_list(&value)),
                "$filter" => opts.filter = Some(filter::parse(&value)?),
                "$orderby" => opts.orderby = Some(parse_orderby(&value)?),
                "$top" => {
                    opts.top = Some(value.parse::<u32>().map_err(|_| {
                        QueryError::bad_request(
                            "BadRequest",
                            format!("Invalid value '{value}' for $top query option found. The $top query option requires a non-negative integer value."),
                        )
                    })?)
                }
                "$count" => {
                    opts.count = Some(match value.to_ascii_lowercase().as_str() {
                        "true" => true,
                        "false" => false,
                        _ => {
                            return Err(QueryError::bad_request(
                                "BadRequest",
                                format!("Invalid value '{value}' for $count query option found. Valid values are 'true' and 'false'."),
                            ));
                        }
                    })
                }
                "$search" => opts.search = Some(search::parse(&value)?),
                "$expand" => opts.expand = parse_expand(&value)?,
                "$skiptoken" => {
                    opts.skiptoken = Some(value);
                    continue;
                }
                "$deltatoken" => {
                    opts.deltatoken = Some(value);
                    continue;
                }
                "$skip" => {
                    return Err(QueryError::bad_request(
                        "Request_BadRequest",
                        "'$skip' is not supported by the service.",
                    ));
                }
                _ => {
                    return Err(QueryError::bad_request(
                        "BadRequest",
                        format!("Query option '{key}' is not supported."),
                    ));
                }
            }
            opts.raw.push((key.to_owned(), value));
        }
        Ok(opts)
    }

    /// Resolves `$select`, `$filter` and `$orderby` names against the schemas of `kinds`; `type_name`
    /// names the collection's type in messages. Unknown names are Graph's 400s.
    pub(crate) fn resolve(&mut self, kinds: &[Kind], type_name: &str) -> Result<(), QueryError> {
        if let Some(select) = &mut self.select {
            for name in select.iter_mut() {
                let prop = kinds
                    .iter()
                    .find_map(|k| schema::find(k.schema(), name))
                    .ok_or_else(|| {
                        QueryError::bad_request(
                            "Request_BadRequest",
                            format!("Could not find a property named '{name}' on type 'microsoft.graph.{type_name}'."),
                        )
                    })?;
                *name = prop.name.to_owned();
            }
        }
        if let Some(filter) = &mut self.filter {
            filter.resolve(kinds)?;
        }
        if let Some(order) = &mut self.orderby {
            let prop = kinds
                .iter()
                .find_map(|k| schema::find(k.schema(), &order.property))
                .ok_or_else(|| {
                    QueryError::bad_request(
                        "Request_BadRequest",
                        format!("Could not find a property named '{}' on type 'microsoft.graph.{type_name}'.", order.property),
                    )
                })?;
            if !matches!(
                prop.ty,
                schema::Ty::Str | schema::Ty::DateTime | schema::Ty::Bool | schema::Ty::Int
            ) {
                return Err(QueryError::bad_request(
                    "Request_UnsupportedQuery",
                    format!("Sorting by '{}' is not supported.", prop.name),
                ));
            }
            order.property = prop.name.to_owned();
        }
        Ok(())
    }

    /// Rejects `$expand` items other than those in `allowed`, the way Graph does.
    pub(crate) fn check_expand(&self, kind: Kind, allowed: &[&str]) -> Result<(), QueryError> {
        const NAVIGATIONS: &[&str] = &[
            "manager",
            "directReports",
            "memberOf",
            "transitiveMemberOf",
            "members",
            "transitiveMembers",
            "owners",
            "ownedObjects",
            "registeredOwners",
            "photo",
            "extensions",
            "appRoleAssignments",
            "createdOnBehalfOf",
        ];
        for item in &self.expand {
            if allowed
                .iter()
                .any(|a| a.eq_ignore_ascii_case(&item.property))
            {
                continue;
            }
            if item.property.eq_ignore_ascii_case("photo") {
                return Err(QueryError::bad_request(
                    "ExpandNotSupported",
                    "Expand is not allowed for property 'Photo' according to the entity schema.",
                ));
            }
            if NAVIGATIONS
                .iter()
                .any(|n| n.eq_ignore_ascii_case(&item.property))
            {
                return Err(QueryError::bad_request(
                    "Request_UnsupportedQuery",
                    format!(
                        "Expanding '{}' is not supported here by the emulator.",
                        item.property
                    ),
                ));
            }
            return Err(QueryError::bad_request(
                "BadRequest",
                format!(
                    "Could not find a property named '{}' on type 'microsoft.graph.{}'.",
                    item.property,
                    kind.type_name()
                ),
            ));
        }
        Ok(())
    }

    /// Whether `$expand` names `property`; returns its nested `$select`.
    pub(crate) fn expands(&self, property: &str) -> Option<&Expand> {
        self.expand
            .iter()
            .find(|e| e.property.eq_ignore_ascii_case(property))
    }

    /// The page size: `$top` within `1..=max`, else `default`. Out of range is Graph's 400.
    pub(crate) fn page_size(&self, default: u32, max: u32) -> Result<usize, QueryError> {
        match self.top {
            None => Ok(default as usize),
            Some(n) if (1..=max).contains(&n) => Ok(n as usize),
            Some(n) => Err(QueryError::bad_request(
                "Request_BadRequest",
                format!(
                    "Invalid page size specified: '{n}'. Must be between 1 and {max} inclusive."
                ),
            )),
        }
    }

    /// Applies Graph's advanced-query rules for directory objects and tells whether `@odata.count` is to be
    /// returned. `eventual` is whether the request carries `ConsistencyLevel: eventual`.
    ///
    /// - `$search` needs the header.
    /// - `ne`, `not` and `endswith` need the header and `$count=true`.
    /// - `$orderby` together with `$filter` needs the header and `$count=true`.
    /// - `$count=true` without the header is accepted but no count is returned.
    pub(crate) fn check_advanced(&self, eventual: bool) -> Result<bool, QueryError> {
        let count = self.count == Some(true);
        if self.search.is_some() && !eventual {
            return Err(QueryError::bad_request(
                "Request_UnsupportedQuery",
                "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'",
            ));
        }
        let advanced = eventual && count;
        if self.filter.as_ref().is_some_and(Expr::is_advanced) && !advanced {
            return Err(QueryError::bad_request(
                "Request_UnsupportedQuery",
                "Unsupported Query.",
            ));
        }
        if self.filter.is_some() && self.orderby.is_some() && !advanced {
            return Err(QueryError::bad_request(
                "Request_UnsupportedQuery",
                "Sorting not supported for current query.",
            ));
        }
        Ok(count && eventual)
    }

    /// A fingerprint of the options (without page tokens): a page token is only valid for the query it
    /// was issued for.
    pub(crate) fn fingerprint(&self) -> u64 {
        let text: Vec<String> = self.raw.iter().map(|(k, v)| format!("{k}={v}")).collect();
        skiptoken::fingerprint(&text.join("&"))
    }

    /// The query string of a next link: the request's options, then `$skiptoken`.
    pub(crate) fn next_link_query(&self, token_name: &str, token: &str) -> String {
        let mut parts: Vec<String> = self
            .raw
            .iter()
            .map(|(k, v)| format!("{k}={}", encode_value(v)))
            .collect();
        parts.push(format!("{token_name}={}", encode_value(token)));
        parts.join("&")
    }

    /// The `$select` list, if any.
    pub(crate) fn selected(&self) -> Option<&[String]> {
        self.select.as_deref()
    }
}

fn parse_orderby(value: &str) -> Result<OrderBy, QueryError> {
    let clauses = split_list(value);
    if clauses.len() != 1 {
        return Err(QueryError::bad_request(
            "Request_UnsupportedQuery",
            "Sorting by more than one property, or by nothing, is not supported.",
        ));
    }
    let mut words = clauses[0].split_whitespace();
    let property = words.next().unwrap_or_default().to_owned();
    let descending = match words.next().map(str::to_ascii_lowercase).as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(other) => {
            return Err(QueryError::bad_request(
                "BadRequest",
                format!("Invalid $orderby direction '{other}'; use 'asc' or 'desc'."),
            ));
        }
    };
    if words.next().is_some() {
        return Err(QueryError::bad_request(
            "BadRequest",
            format!("Invalid $orderby clause '{value}'."),
        ));
    }
    Ok(OrderBy {
        property,
        descending,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_options_and_repeats_them_in_next_links() {
        let q = "$select=displayName,id&$filter=startswith(displayName,'a')&$orderby=displayName desc&$top=5&$count=true&$search=%22displayName:a%22&$expand=manager($select=id)&api-version=1";
        let mut o = QueryOptions::parse(Some(q)).unwrap();
        o.resolve(&[Kind::User], "user").unwrap();
        assert_eq!(o.top, Some(5));
        assert_eq!(o.count, Some(true));
        assert!(o.orderby.as_ref().unwrap().descending);
        assert_eq!(
            o.expands("manager").unwrap().select.as_ref().unwrap(),
            &["id"]
        );
        let next = o.next_link_query("$skiptoken", "abc");
        assert!(next.starts_with("$select=displayName,id&$filter=startswith(displayName,'a')&$orderby=displayName%20desc&$top=5"));
        assert!(next.ends_with("&$skiptoken=abc"));
        let again = QueryOptions::parse(Some(&next)).unwrap();
        assert_eq!(again.fingerprint(), o.fingerprint());
        assert_eq!(again.skiptoken.as_deref(), Some("abc"));
    }

    #[test]
    fn rejects_bad_options() {
        for q in [
            "$top=abc",
            "$top=1&$top=2",
            "$count=maybe",
            "$skip=3",
            "$foo=1",
            "$orderby=a,b",
            "$orderby=a sideways",
        ] {
            assert!(QueryOptions::parse(Some(q)).is_err(), "{q}");
        }
        let mut o = QueryOptions::parse(Some("$select=nope")).unwrap();
        let err = o.resolve(&[Kind::User], "user").unwrap_err();
        assert_eq!(
            err.message,
            "Could not find a property named 'nope' on type 'microsoft.graph.user'."
        );
        let o = QueryOptions::parse(Some("$top=1000")).unwrap();
        assert!(o.page_size(100, 999).is_err());
        let o = QueryOptions::parse(Some("$top=0")).unwrap();
        assert!(o.page_size(100, 999).is_err());
    }

    #[test]
    fn advanced_query_rules() {
        let o = QueryOptions::parse(Some("$filter=endswith(mail,'a')")).unwrap();
        assert_eq!(
            o.check_advanced(true).unwrap_err().message,
            "Unsupported Query."
        );
        let o = QueryOptions::parse(Some("$filter=endswith(mail,'a')&$count=true")).unwrap();
        assert!(o.check_advanced(false).is_err());
        assert!(o.check_advanced(true).unwrap());
        let o = QueryOptions::parse(Some("$search=\"displayName:a\"")).unwrap();
        assert_eq!(
            o.check_advanced(false).unwrap_err().code,
            "Request_UnsupportedQuery"
        );
        assert!(!o.check_advanced(true).unwrap());
        let o = QueryOptions::parse(Some("$count=true")).unwrap();
        assert!(!o.check_advanced(false).unwrap());
        let o = QueryOptions::parse(Some("$filter=mail eq 'a'&$orderby=displayName")).unwrap();
        assert!(o.check_advanced(false).is_err());
    }
}
