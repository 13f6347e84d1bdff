//! OData query options and their encoding.
//!
//! Names are written literally (`$select`, never `%24select`); values are percent-encoded so
//! that quotes, spaces, `+`, `&`, `#` and non-ASCII text arrive intact. `$count`, `$search` and
//! advanced filters (`ne`, `not`, `endsWith`, `/$count`, casts) need `ConsistencyLevel:
//! eventual`, which the request detects and adds itself.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use url::Url;

/// Characters left as they are in a query value; everything else is percent-encoded.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'$')
    .remove(b'(')
    .remove(b')')
    .remove(b',')
    .remove(b':')
    .remove(b'/')
    .remove(b'@')
    .remove(b'*');

/// Path helpers for builders (OData's path-segment rules live in `msgraph-typed-odata`, next to the
/// literals that use them).
pub use msgraph_typed_odata::path;

/// Percent-encodes one query value.
pub fn encode_query_value(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

/// Writes `value` as an OData string literal: single quotes around it, inner quotes doubled.
///
/// ```
/// assert_eq!(msgraph_typed_core::odata::quote("O'Brien"), "'O''Brien'");
/// let filter = format!("displayName eq {}", msgraph_typed_core::odata::quote("Zoë O'Neil"));
/// assert_eq!(filter, "displayName eq 'Zoë O''Neil'");
/// ```
pub fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// The OData system query options of one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryOptions {
    pub(crate) select: Vec<String>,
    pub(crate) expand: Vec<String>,
    pub(crate) filter: Option<String>,
    pub(crate) orderby: Vec<String>,
    pub(crate) search: Option<String>,
    pub(crate) top: Option<u32>,
    pub(crate) skip: Option<u32>,
    pub(crate) count: Option<bool>,
    pub(crate) extra: Vec<(String, String)>,
}

impl QueryOptions {
    /// Whether no option is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Whether the filter uses an operator that Graph serves only as an advanced query.
    pub(crate) fn has_advanced_filter(&self) -> bool {
        let Some(filter) = &self.filter else {
            return false;
        };
        let lower = filter.to_ascii_lowercase();
        let padded = format!(" {lower} ");
        padded.contains(" ne ")
            || padded.contains(" not ")
            || lower.contains("not(")
            || lower.contains("endswith(")
            || lower.contains("/$count")
    }

    /// Whether `ConsistencyLevel: eventual` must accompany this query.
    pub(crate) fn needs_eventual_consistency(&self, path: &str) -> bool {
        let cast = path
            .split('/')
            .any(|segment| segment.starts_with("microsoft.graph."));
        self.search.is_some()
            || self.count == Some(true)
            || self.has_advanced_filter()
            || (cast && (self.filter.is_some() || !self.orderby.is_empty()))
    }

    /// Appends the options to `url`'s query.
    pub(crate) fn apply(&self, url: &mut Url) {
        let mut pairs: Vec<(String, String)> = Vec::new();
        if !self.select.is_empty() {
            pairs.push(("$select".into(), self.select.join(",")));
        }
        if !self.expand.is_empty() {
            pairs.push(("$expand".into(), self.expand.join(",")));
        }
        if let Some(filter) = &self.filter {
            pairs.push(("$filter".into(), filter.clone()));
        }
        if !self.orderby.is_empty() {
            pairs.push(("$orderby".into(), self.orderby.join(",")));
        }
        if let Some(search) = &self.search {
            pairs.push(("$search".into(), search.clone()));
        }
        if let Some(top) = self.top {
            pairs.push(("$top".into(), top.to_string()));
        }
        if let Some(skip) = self.skip {
            pairs.push(("$skip".into(), skip.to_string()));
        }
        let count = match self.count {
            Some(count) => Some(count),
            // Advanced filters need $count=true as well as the header.
            None if self.has_advanced_filter() => Some(true),
            None => None,
        };
        if let Some(count) = count {
            pairs.push(("$count".into(), count.to_string()));
        }
        pairs.extend(self.extra.iter().cloned());
        if pairs.is_empty() {
            return;
        }
        let mut query = url.query().map(str::to_owned).unwrap_or_default();
        for (name, value) in pairs {
            if !query.is_empty() {
                query.push('&');
            }
            query.push_str(&utf8_percent_encode(&name, QUERY_VALUE).to_string());
            query.push('=');
            query.push_str(&encode_query_value(&value));
        }
        url.set_query(Some(&query));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url_with(options: &QueryOptions) -> Url {
        let mut url = Url::parse("https://graph.microsoft.com/v1.0/users").unwrap();
        options.apply(&mut url);
        url
    }

    #[test]
    fn names_stay_literal_and_values_are_encoded() {
        let options = QueryOptions {
            select: vec!["id".into(), "displayName".into()],
            filter: Some("displayName eq 'Zoë O''Neil' and city eq 'a+b&c=d#e'".into()),
            orderby: vec!["displayName desc".into()],
            top: Some(5),
            ..Default::default()
        };
        let url = url_with(&options);
        assert_eq!(
            url.query().unwrap(),
            "$select=id,displayName&$filter=displayName%20eq%20%27Zo%C3%AB%20O%27%27Neil%27%20and%20city%20eq%20%27a%2Bb%26c%3Dd%23e%27&$orderby=displayName%20desc&$top=5"
        );
        // A server decoding the query gets the exact text back.
        let filter = url.query_pairs().find(|(k, _)| k == "$filter").unwrap().1;
        assert_eq!(
            filter,
            "displayName eq 'Zoë O''Neil' and city eq 'a+b&c=d#e'"
        );
    }

    #[test]
    fn search_keeps_its_double_quotes() {
        let options = QueryOptions {
            search: Some("\"displayName:wa\" OR \"mail:wa\"".into()),
            count: Some(true),
            ..Default::default()
        };
        let url = url_with(&options);
        let search = url.query_pairs().find(|(k, _)| k == "$search").unwrap().1;
        assert_eq!(search, "\"displayName:wa\" OR \"mail:wa\"");
        assert!(options.needs_eventual_consistency("users"));
    }

    #[test]
    fn advanced_queries_are_detected() {
        let with_filter = |f: &str| QueryOptions {
            filter: Some(f.into()),
            ..Default::default()
        };
        assert!(with_filter("endsWith(mail,'@contoso.com')").needs_eventual_consistency("users"));
        assert!(with_filter("companyName ne null").needs_eventual_consistency("users"));
        assert!(
            with_filter("NOT(startswith(displayName,'a'))").needs_eventual_consistency("users")
        );
        assert!(with_filter("appRoleAssignments/$count gt 0").needs_eventual_consistency("groups"));
        assert!(!with_filter("startswith(displayName,'a')").needs_eventual_consistency("users"));
        assert!(!with_filter("displayName eq 'Renee'").needs_eventual_consistency("users"));
        assert!(
            with_filter("startswith(displayName,'a')")
                .needs_eventual_consistency("me/memberOf/microsoft.graph.group")
        );
        // Advanced filters get $count=true too, unless the caller said otherwise.
        let url = url_with(&with_filter("endsWith(mail,'@contoso.com')"));
        assert!(url.query().unwrap().ends_with("&$count=true"), "{url}");
        assert!(!QueryOptions::default().needs_eventual_consistency("users"));
    }
}
