//! OData query options as Graph's directory understands them: parsing (`$select`, `$filter`, `$orderby`,
//! `$top`, `$count`, `$search`, `$expand`, `$skiptoken`, `$deltatoken`), the advanced-query rules, and the
//! opaque page tokens.

mod eval;
pub(crate) mod filter;
pub(crate) mod query;
pub(crate) mod search;
pub(crate) mod skiptoken;

pub(crate) use query::QueryOptions;

/// A rejected query option: always answered with HTTP 400 and Graph's error `code` and `message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QueryError {
    /// Graph's error code, e.g. `Request_UnsupportedQuery`.
    pub code: &'static str,
    /// The human-readable message.
    pub message: String,
}

impl QueryError {
    /// A 400 with this code and message.
    pub(crate) fn bad_request(code: &'static str, message: impl Into<String>) -> QueryError {
        QueryError {
            code,
            message: message.into(),
        }
    }
}
