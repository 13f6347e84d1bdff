//! Entra's scope rules: `{resource}/.default` for client credentials (one resource), delegated
//! scopes (optionally prefixed with the resource) for user flows, and the OpenID Connect scopes.

use super::apps::{AppRegistry, seeded};
use super::errors::OAuthError;

/// Microsoft Graph's resource URI.
pub(crate) const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";
/// Microsoft Graph's application id (also accepted as audience).
pub(crate) const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

const OIDC_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

/// The resource a token is issued for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resource {
    /// Microsoft Graph.
    Graph,
    /// An app registration of the tenant (by client id).
    App(String),
}

impl Resource {
    /// The `aud` claim of a token for this resource.
    pub(crate) fn audience(&self) -> String {
        match self {
            Resource::Graph => GRAPH_RESOURCE.to_owned(),
            Resource::App(client_id) => client_id.clone(),
        }
    }

    /// How scopes of this resource are written in a token response's `scope`.
    fn prefix(&self, apps: &AppRegistry) -> String {
        match self {
            Resource::Graph => format!("{GRAPH_RESOURCE}/"),
            Resource::App(id) => apps
                .get(id)
                .and_then(|app| app.identifier_uris.first().cloned())
                .map_or_else(|| format!("{id}/"), |uri| format!("{uri}/")),
        }
    }
}

/// Resolves a resource identifier (`https://graph.microsoft.com`, Graph's app id, `api://...` or a client id).
fn resolve_resource(resource: &str, apps: &AppRegistry) -> Option<Resource> {
    let trimmed = resource.trim_end_matches('/');
    if trimmed.eq_ignore_ascii_case(GRAPH_RESOURCE) || trimmed.eq_ignore_ascii_case(GRAPH_APP_ID) {
        return Some(Resource::Graph);
    }
    apps.resource(trimmed)
        .map(|app| Resource::App(app.client_id.clone()))
}

fn split_scope(scope: &str) -> (Option<&str>, &str) {
    match scope.rfind('/') {
        Some(i) if i > 0 => (Some(&scope[..i]), &scope[i + 1..]),
        _ => (None, scope),
    }
}

/// Client credentials: exactly one `{resource}/.default` scope.
pub(crate) fn parse_default_scope(
    scope: Option<&str>,
    apps: &AppRegistry,
) -> Result<Resource, OAuthError> {
    let scope = scope
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            OAuthError::invalid_scope(
                70011,
                "The provided request must include a 'scope' input parameter.",
            )
        })?;
    let items: Vec<&str> = scope.split_whitespace().collect();
    let [single] = items.as_slice() else {
        return Err(OAuthError::invalid_scope(
            70011,
            format!(
                "The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier and only one resource."
            ),
        ));
    };
    let (resource, name) = split_scope(single);
    let Some(resource) = resource.filter(|_| name == ".default") else {
        return Err(OAuthError::invalid_scope(
            1002012,
            format!(
                "The provided value for scope {single} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        ));
    };
    resolve_resource(resource, apps).ok_or_else(|| {
        OAuthError::invalid_resource(
            500011,
            format!("The resource principal named {resource} was not found in the tenant. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant."),
        )
    })
}

/// The outcome of parsing a delegated `scope` parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DelegatedScopes {
    pub resource: Resource,
    /// Scope names without the resource prefix (`User.Read`, `access_as_user`).
    pub scopes: Vec<String>,
    /// The OpenID Connect scopes that were requested (`openid`, `profile`, `email`, `offline_access`).
    pub oidc: Vec<String>,
}

impl DelegatedScopes {
    pub(crate) fn wants_refresh_token(&self) -> bool {
        self.oidc.iter().any(|s| s == "offline_access")
    }

    pub(crate) fn wants_id_token(&self) -> bool {
        self.oidc.iter().any(|s| s == "openid")
    }

    /// The `scp` claim.
    pub(crate) fn scp(&self) -> String {
        self.scopes.join(" ")
    }

    /// The `scope` field of a token response.
    pub(crate) fn response_scope(&self, apps: &AppRegistry) -> String {
        let prefix = self.resource.prefix(apps);
        self.scopes
            .iter()
            .map(|s| format!("{prefix}{s}"))
            .chain(self.oidc.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// User flows: delegated scopes of one resource plus OpenID Connect scopes.
pub(crate) fn parse_delegated(
    scope: Option<&str>,
    apps: &AppRegistry,
) -> Result<DelegatedScopes, OAuthError> {
    let scope = scope
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            OAuthError::invalid_scope(
                70011,
                "The provided request must include a 'scope' input parameter.",
            )
        })?;
    let mut resource: Option<Resource> = None;
    let mut scopes: Vec<String> = Vec::new();
    let mut oidc: Vec<String> = Vec::new();
    for item in scope.split_whitespace() {
        if let Some(known) = OIDC_SCOPES.iter().find(|s| s.eq_ignore_ascii_case(item)) {
            if !oidc.iter().any(|s| s == known) {
                oidc.push((*known).to_owned());
            }
            continue;
        }
        let (prefix, name) = split_scope(item);
        let this = match prefix {
            None => Resource::Graph,
            Some(prefix) => resolve_resource(prefix, apps).ok_or_else(|| {
                OAuthError::invalid_resource(
                    500011,
                    format!("The resource principal named {prefix} was not found in the tenant."),
                )
            })?,
        };
        if name.is_empty() {
            return Err(OAuthError::invalid_scope(
                70011,
                format!(
                    "The provided value for the input parameter 'scope' is not valid. The scope '{item}' is not valid."
                ),
            ));
        }
        match &resource {
            Some(existing) if *existing != this => {
                return Err(OAuthError::invalid_scope(
                    28000,
                    "Provided value for the input parameter scope is not valid because it contains more than one resource. Scope "
                        .to_owned()
                        + scope
                        + " is not valid.",
                ));
            }
            _ => resource = Some(this.clone()),
        }
        if name == ".default" {
            let defaults: Vec<String> = match this {
                Resource::Graph => seeded::DEFAULT_DELEGATED_SCOPES
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect(),
                Resource::App(id) => match apps.get(&id) {
                    Some(app) if !app.exposed_scopes.is_empty() => app.exposed_scopes.clone(),
                    _ => vec!["access_as_user".to_owned()],
                },
            };
            for d in defaults {
                if !scopes.contains(&d) {
                    scopes.push(d);
                }
            }
        } else if !scopes.iter().any(|s| s.eq_ignore_ascii_case(name)) {
            scopes.push(name.to_owned());
        }
    }
    let resource = resource.unwrap_or(Resource::Graph);
    if scopes.is_empty() {
        // Only OpenID Connect scopes: Entra issues a Graph token for User.Read.
        scopes.push("User.Read".to_owned());
    }
    Ok(DelegatedScopes {
        resource,
        scopes,
        oidc,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_credentials_needs_one_default_scope() {
        let apps = AppRegistry::seeded();
        assert_eq!(
            parse_default_scope(Some("https://graph.microsoft.com/.default"), &apps).ok(),
            Some(Resource::Graph)
        );
        assert_eq!(
            parse_default_scope(
                Some("api://22222222-2222-4222-8222-222222222222/.default"),
                &apps
            )
            .ok(),
            Some(Resource::App(seeded::WEB_API_CLIENT_ID.to_owned()))
        );
        let err = parse_default_scope(Some("User.Read"), &apps)
            .err()
            .map(|e| e.code);
        assert_eq!(err, Some(1002012));
        let err = parse_default_scope(
            Some("https://graph.microsoft.com/.default api://x/.default"),
            &apps,
        )
        .err()
        .map(|e| e.code);
        assert_eq!(err, Some(70011));
        let err = parse_default_scope(Some("https://unknown.example/.default"), &apps)
            .err()
            .map(|e| e.error);
        assert_eq!(err, Some("invalid_resource"));
    }

    #[test]
    fn delegated_scopes_single_resource() {
        let apps = AppRegistry::seeded();
        let parsed = parse_delegated(
            Some("User.Read https://graph.microsoft.com/Mail.Read openid offline_access"),
            &apps,
        )
        .ok();
        let parsed = parsed.as_ref();
        assert_eq!(
            parsed.map(|p| p.scp()),
            Some("User.Read Mail.Read".to_owned())
        );
        assert_eq!(parsed.map(DelegatedScopes::wants_refresh_token), Some(true));
        let mixed = parse_delegated(
            Some("User.Read api://22222222-2222-4222-8222-222222222222/access_as_user"),
            &apps,
        );
        assert_eq!(mixed.err().map(|e| e.code), Some(28000));
    }
}
