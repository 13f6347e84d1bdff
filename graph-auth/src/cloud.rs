//! National clouds: one value sets the authority host, the Graph host and the default scope.

use std::fmt;

use url::Url;

/// Which Microsoft cloud to talk to: the authority host, the Graph host and the default scope
/// always change together, so a token is never asked of one cloud for another.
/// See Microsoft Graph's national cloud deployments documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cloud {
    /// The global cloud (also used by GCC): `login.microsoftonline.com`, `graph.microsoft.com`.
    Global,
    /// US Government L4: `login.microsoftonline.us`, `graph.microsoft.us`.
    UsGovernment,
    /// US Government L5 (DoD): `login.microsoftonline.us`, `dod-graph.microsoft.us`.
    UsGovernmentDod,
    /// China, operated by 21Vianet: `login.chinacloudapi.cn`, `microsoftgraph.chinacloudapi.cn`.
    China,
    /// Any other authority and Graph endpoint, for example a local emulator or a proxy. Build it
    /// with [`Cloud::custom`] or [`Cloud::custom_with_scope`].
    Custom(CustomCloud),
}

/// A validated custom authority and Graph endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomCloud {
    authority_host: Url,
    graph_endpoint: Url,
    graph_scope: String,
}

/// A custom cloud that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudError(String);

impl fmt::Display for CloudError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid cloud configuration: {}", self.0)
    }
}

impl std::error::Error for CloudError {}

impl Cloud {
    /// A custom cloud: another route to global Microsoft Graph (an emulator, a proxy), whose
    /// tokens are for `https://graph.microsoft.com/.default` whatever the endpoint's host is.
    /// Both URLs must be https unless their host is loopback.
    ///
    /// ```
    /// use msgraph_typed_auth::Cloud;
    ///
    /// let local = Cloud::custom("http://127.0.0.1:8080/", "http://127.0.0.1:8080/")?;
    /// assert_eq!(local.graph_default_scope(), "https://graph.microsoft.com/.default");
    /// # Ok::<(), msgraph_typed_auth::CloudError>(())
    /// ```
    ///
    /// # Errors
    /// [`CloudError`] when a URL does not parse, has no host, or is plain http to a non-loopback host.
    pub fn custom(authority_host: &str, graph_endpoint: &str) -> Result<Self, CloudError> {
        Self::custom_with_scope(
            authority_host,
            graph_endpoint,
            "https://graph.microsoft.com/.default",
        )
    }

    /// A custom cloud whose Graph tokens are for `graph_scope` (for example
    /// `https://graph.microsoft.us/.default` behind a proxy of the US Government cloud).
    ///
    /// # Errors
    /// As [`Cloud::custom`], and when the scope is empty.
    pub fn custom_with_scope(
        authority_host: &str,
        graph_endpoint: &str,
        graph_scope: &str,
    ) -> Result<Self, CloudError> {
        if graph_scope.trim().is_empty() {
            return Err(CloudError("the Graph scope is empty".into()));
        }
        Ok(Cloud::Custom(CustomCloud {
            authority_host: parse_endpoint("authority host", authority_host)?,
            graph_endpoint: parse_endpoint("graph endpoint", graph_endpoint)?,
            graph_scope: graph_scope.trim().to_string(),
        }))
    }

    /// The authority host with a trailing slash, for example `https://login.microsoftonline.com/`.
    pub fn authority_host(&self) -> &str {
        match self {
            Cloud::Global => "https://login.microsoftonline.com/",
            Cloud::UsGovernment | Cloud::UsGovernmentDod => "https://login.microsoftonline.us/",
            Cloud::China => "https://login.chinacloudapi.cn/",
            Cloud::Custom(custom) => custom.authority_host.as_str(),
        }
    }

    /// The Graph root without a version, with a trailing slash, e.g. `https://graph.microsoft.com/`.
    pub fn graph_endpoint(&self) -> &str {
        match self {
            Cloud::Global => "https://graph.microsoft.com/",
            Cloud::UsGovernment => "https://graph.microsoft.us/",
            Cloud::UsGovernmentDod => "https://dod-graph.microsoft.us/",
            Cloud::China => "https://microsoftgraph.chinacloudapi.cn/",
            Cloud::Custom(custom) => custom.graph_endpoint.as_str(),
        }
    }

    /// The Graph host (and port, when not the default), lower case, for the token allow-list.
    pub fn graph_host(&self) -> String {
        match self {
            Cloud::Custom(custom) => {
                let host = custom.graph_endpoint.host_str().unwrap_or_default();
                match custom.graph_endpoint.port() {
                    Some(port) => format!("{host}:{port}"),
                    None => host.to_string(),
                }
                .to_ascii_lowercase()
            }
            _ => self
                .graph_endpoint()
                .trim_start_matches("https://")
                .trim_end_matches('/')
                .to_string(),
        }
    }

    /// The default scope for Graph in this cloud, e.g. `https://graph.microsoft.com/.default`
    /// or `https://graph.microsoft.us/.default`; for a custom cloud, the one it was built with.
    pub fn graph_default_scope(&self) -> String {
        match self {
            Cloud::Custom(custom) => custom.graph_scope.clone(),
            _ => format!("{}/.default", self.graph_endpoint().trim_end_matches('/')),
        }
    }
}

/// Whether a host is a loopback address or `localhost`, where plain http is allowed.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

fn parse_endpoint(what: &str, raw: &str) -> Result<Url, CloudError> {
    let url =
        Url::parse(raw).map_err(|e| CloudError(format!("{what} {raw:?} is not a URL: {e}")))?;
    let host = url
        .host_str()
        .ok_or_else(|| CloudError(format!("{what} {raw:?} has no host")))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback_host(host) => Ok(url),
        "http" => Err(CloudError(format!(
            "{what} {raw:?} must use https (plain http is allowed only on loopback)"
        ))),
        other => Err(CloudError(format!(
            "{what} {raw:?} has unsupported scheme {other:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_clouds_switch_authority_graph_and_scope_together() {
        let cases = [
            (
                Cloud::Global,
                "https://login.microsoftonline.com/",
                "graph.microsoft.com",
            ),
            (
                Cloud::UsGovernment,
                "https://login.microsoftonline.us/",
                "graph.microsoft.us",
            ),
            (
                Cloud::UsGovernmentDod,
                "https://login.microsoftonline.us/",
                "dod-graph.microsoft.us",
            ),
            (
                Cloud::China,
                "https://login.chinacloudapi.cn/",
                "microsoftgraph.chinacloudapi.cn",
            ),
        ];
        for (cloud, authority, graph) in cases {
            assert_eq!(cloud.authority_host(), authority);
            assert_eq!(cloud.graph_host(), graph);
            assert_eq!(
                cloud.graph_default_scope(),
                format!("https://{graph}/.default")
            );
        }
    }

    #[test]
    fn custom_cloud_requires_https_except_loopback() {
        assert!(Cloud::custom("http://127.0.0.1:8080", "http://localhost:9000").is_ok());
        assert!(Cloud::custom("https://login.example.com", "https://graph.example.com").is_ok());
        let err =
            Cloud::custom("http://login.example.com", "https://graph.example.com").unwrap_err();
        assert!(err.to_string().contains("https"), "{err}");
        assert!(Cloud::custom("not a url", "https://graph.example.com").is_err());
    }
}
