//! `$search` for directory objects: `"property:term"` clauses joined by `AND` / `OR` (`AND` binds tighter).
//! `displayName` and `description` match when any word starts with the term (words split at spaces,
//! punctuation and case changes, as Graph tokenises them); other properties match by prefix.

use super::QueryError;
use crate::store::Entity;

/// Properties that `$search` accepts.
const SEARCHABLE: &[&str] = &[
    "displayName",
    "description",
    "mail",
    "userPrincipalName",
    "givenName",
    "surname",
    "mailNickname",
    "jobTitle",
    "proxyAddresses",
];

/// One `"property:term"` clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Term {
    /// Canonical property name.
    pub property: &'static str,
    /// The lower-cased search term.
    pub term: String,
}

/// A parsed `$search`: an OR of AND-groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Search {
    any_of: Vec<Vec<Term>>,
}

fn invalid(detail: &str) -> QueryError {
    QueryError::bad_request(
        "Request_BadRequest",
        format!(
            "Invalid $search query: {detail}. Expected \"property:term\" clauses joined by AND or OR."
        ),
    )
}

/// Parses a `$search` value.
pub(crate) fn parse(input: &str) -> Result<Search, QueryError> {
    let mut any_of: Vec<Vec<Term>> = vec![Vec::new()];
    let mut rest = input.trim();
    let mut expect_clause = true;
    while !rest.is_empty() {
        if expect_clause {
            let body = rest
                .strip_prefix('"')
                .ok_or_else(|| invalid("a clause must be in double quotes"))?;
            let end = body
                .find('"')
                .ok_or_else(|| invalid("unterminated quoted clause"))?;
            let clause = &body[..end];
            let (prop, term) = clause
                .split_once(':')
                .ok_or_else(|| invalid("a clause needs 'property:term'"))?;
            let property = SEARCHABLE
                .iter()
                .find(|p| p.eq_ignore_ascii_case(prop.trim()))
                .ok_or_else(|| invalid(&format!("property '{}' is not searchable", prop.trim())))?;
            let term = term.trim().to_lowercase();
            if term.is_empty() {
                return Err(invalid("empty search term"));
            }
            if let Some(group) = any_of.last_mut() {
                group.push(Term { property, term });
            }
            rest = body[end + 1..].trim_start();
            expect_clause = false;
        } else {
            let (word, tail) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            match word {
                "OR" => any_of.push(Vec::new()),
                "AND" => {}
                other => return Err(invalid(&format!("unexpected '{other}'"))),
            }
            rest = tail.trim_start();
            expect_clause = true;
        }
    }
    if expect_clause {
        return Err(invalid("missing clause"));
    }
    Ok(Search { any_of })
}

/// Splits a value into lower-cased words at non-alphanumeric characters and lower-to-upper case changes.
fn words(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in value.chars() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        prev_lower = c.is_lowercase();
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

impl Term {
    fn matches(&self, e: &Entity) -> bool {
        let values: Vec<String> = match e.property(self.property).as_deref() {
            Some(serde_json::Value::String(s)) => vec![s.clone()],
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        values.iter().any(|v| {
            let lower = v.to_lowercase();
            if lower.starts_with(&self.term) {
                return true;
            }
            matches!(self.property, "displayName" | "description")
                && words(v).iter().any(|w| w.starts_with(&self.term))
        })
    }
}

impl Search {
    /// Whether an object matches.
    pub(crate) fn matches(&self, e: &Entity) -> bool {
        self.any_of
            .iter()
            .any(|group| !group.is_empty() && group.iter().all(|t| t.matches(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Kind;
    use serde_json::json;

    #[test]
    fn matches_words_and_prefixes() {
        let g = Entity::new(Kind::Group, "1", "Contoso-tier Query Notification")
            .with("mail", json!("tier@contoso.com"));
        assert!(parse("\"displayName:tier\"").unwrap().matches(&g));
        assert!(parse("\"displayName:query\"").unwrap().matches(&g));
        assert!(!parse("\"displayName:otif\"").unwrap().matches(&g));
        assert!(
            parse("\"displayName:zzz\" OR \"mail:TIER\"")
                .unwrap()
                .matches(&g)
        );
        assert!(
            !parse("\"displayName:tier\" AND \"mail:x\"")
                .unwrap()
                .matches(&g)
        );
        let u = Entity::new(Kind::User, "2", "AdeleVance");
        assert!(parse("\"displayName:vance\"").unwrap().matches(&u));
    }

    #[test]
    fn rejects_malformed_search() {
        for bad in [
            "displayName:x",
            "\"displayName:x",
            "\"nope:x\"",
            "\"displayName:x\" XOR \"mail:y\"",
            "\"displayName:x\" OR",
            "\"displayName:\"",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
