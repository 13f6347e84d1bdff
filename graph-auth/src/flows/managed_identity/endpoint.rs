//! The endpoints a managed identity token comes from: where each source is, how it is asked,
//! and the Azure Arc key-file challenge.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::response::{self, Answer};
use super::{Inner, ManagedIdentityId, ManagedIdentitySource};
use crate::AuthError;
use crate::http_client::{ReadBodyError, read_body_limited};

/// The IMDS address every Azure VM serves.
const IMDS_DEFAULT: &str = "http://169.254.169.254";
/// The path of IMDS's token endpoint.
const IMDS_TOKEN_PATH: &str = "metadata/identity/oauth2/token";
/// The largest Azure Arc key file read, as Azure.Identity checks it.
const ARC_KEY_FILE_MAX_BYTES: u64 = 4096;

/// One managed identity endpoint: its source, URL and (App Service) identity header.
///
/// The URL must be https, or plain http on loopback or the link-local metadata address
/// `169.254.169.254`: a managed identity token is never asked of anything else in clear.
#[derive(Clone)]
pub struct ManagedIdentityEndpoint {
    source: ManagedIdentitySource,
    url: Url,
    identity_header: Option<SecretString>,
}

impl fmt::Debug for ManagedIdentityEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManagedIdentityEndpoint")
            .field("source", &self.source)
            .field("url", &self.url.as_str())
            .field(
                "identity_header",
                &self.identity_header.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

impl ManagedIdentityEndpoint {
    /// IMDS at `base` (for example `http://169.254.169.254`, or an emulator's root); the token
    /// path `/metadata/identity/oauth2/token` is appended.
    ///
    /// # Errors
    /// [`AuthError::Configuration`] for a URL that is not usable (see the type's docs).
    pub fn imds(base: &str) -> Result<Self, AuthError> {
        let mut base = parse(base, ManagedIdentitySource::Imds)?;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let url = base
            .join(IMDS_TOKEN_PATH)
            .map_err(|e| AuthError::config(format!("ManagedIdentityCredential: IMDS URL: {e}")))?;
        Self::new(ManagedIdentitySource::Imds, url, None)
    }

    /// App Service, Functions or Container Apps: the full `IDENTITY_ENDPOINT` URL and the
    /// `IDENTITY_HEADER` secret.
    ///
    /// # Errors
    /// [`AuthError::Configuration`] for a URL that is not usable or an empty header.
    pub fn app_service(endpoint: &str, identity_header: &str) -> Result<Self, AuthError> {
        let source = ManagedIdentitySource::AppService;
        if identity_header.trim().is_empty() {
            return Err(AuthError::config(
                "ManagedIdentityCredential: App Service's IDENTITY_HEADER is empty",
            ));
        }
        let header = SecretString::from(identity_header.trim().to_string());
        Self::new(source, parse(endpoint, source)?, Some(header))
    }

    /// Azure Arc: the full `IDENTITY_ENDPOINT` URL.
    ///
    /// # Errors
    /// [`AuthError::Configuration`] for a URL that is not usable.
    pub fn azure_arc(endpoint: &str) -> Result<Self, AuthError> {
        let source = ManagedIdentitySource::AzureArc;
        Self::new(source, parse(endpoint, source)?, None)
    }

    /// Cloud Shell: the full `MSI_ENDPOINT` URL.
    ///
    /// # Errors
    /// [`AuthError::Configuration`] for a URL that is not usable.
    pub fn cloud_shell(endpoint: &str) -> Result<Self, AuthError> {
        let source = ManagedIdentitySource::CloudShell;
        Self::new(source, parse(endpoint, source)?, None)
    }

    /// The endpoint the environment names (see [`super::ManagedIdentityCredential`]).
    pub(crate) fn from_environment(
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, AuthError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let identity_endpoint = get("IDENTITY_ENDPOINT");
        if let (Some(endpoint), Some(header)) = (&identity_endpoint, get("IDENTITY_HEADER")) {
            if get("IDENTITY_SERVER_THUMBPRINT").is_some() {
                return Err(AuthError::config(
                    "ManagedIdentityCredential: Service Fabric's managed identity \
                     (IDENTITY_SERVER_THUMBPRINT) is not supported",
                ));
            }
            return Self::app_service(endpoint, &header);
        }
        if let Some(endpoint) = &identity_endpoint
            && get("IMDS_ENDPOINT").is_some()
        {
            return Self::azure_arc(endpoint);
        }
        if identity_endpoint.is_some() {
            return Err(AuthError::config(
                "ManagedIdentityCredential: IDENTITY_ENDPOINT is set without IDENTITY_HEADER \
                 (App Service) or IMDS_ENDPOINT (Azure Arc)",
            ));
        }
        if let Some(endpoint) = get("MSI_ENDPOINT") {
            if get("MSI_SECRET").is_some() {
                return Err(AuthError::config(
                    "ManagedIdentityCredential: App Service's retired 2017-09-01 protocol \
                     (MSI_ENDPOINT + MSI_SECRET) is not supported; the host also sets \
                     IDENTITY_ENDPOINT and IDENTITY_HEADER on current runtimes",
                ));
            }
            return Self::cloud_shell(&endpoint);
        }
        let base = get("AZURE_POD_IDENTITY_AUTHORITY_HOST").unwrap_or_else(|| IMDS_DEFAULT.into());
        Self::imds(&base)
    }

    fn new(
        source: ManagedIdentitySource,
        url: Url,
        identity_header: Option<SecretString>,
    ) -> Result<Self, AuthError> {
        Ok(Self {
            source,
            url,
            identity_header,
        })
    }

    /// The source.
    pub fn source(&self) -> ManagedIdentitySource {
        self.source
    }

    /// The token URL (without the request's query).
    pub fn url(&self) -> &Url {
        &self.url
    }

    pub(super) fn url_without_query(&self) -> String {
        let mut url = self.url.clone();
        url.set_query(None);
        url.to_string()
    }

    pub(super) fn cache_label(&self) -> String {
        let host = self.url.host_str().unwrap_or("none");
        match self.url.port() {
            Some(port) => format!("{}/{host}:{port}", self.source),
            None => format!("{}/{host}", self.source),
        }
    }

    /// IMDS answers 400 when the identity asked for is not assigned to the host (or there is
    /// none): the credential is then unavailable, as in Azure.Identity, so a chain moves on.
    pub(super) fn unavailable_if_unassigned(&self, error: AuthError) -> AuthError {
        match (&error, self.source) {
            (
                AuthError::ManagedIdentity {
                    status: 400,
                    message,
                    ..
                },
                ManagedIdentitySource::Imds,
            ) => AuthError::Unavailable(format!(
                "ManagedIdentityCredential: IMDS has no such identity for this host \
                 (the requested identity is not assigned to it): {message}"
            )),
            _ => error,
        }
    }

    /// One token request (two for Azure Arc's challenge), with its answer parsed.
    pub(super) async fn request_token(
        &self,
        inner: &Inner,
        resource: &str,
        timeout: Duration,
    ) -> Result<Answer, AuthError> {
        match self.source {
            ManagedIdentitySource::AzureArc => self.arc(inner, resource, timeout).await,
            _ => {
                let (status, headers, body) = self.send(inner, resource, None, timeout).await?;
                response::parse(self.source, status, &headers, &body)
            }
        }
    }

    async fn arc(
        &self,
        inner: &Inner,
        resource: &str,
        timeout: Duration,
    ) -> Result<Answer, AuthError> {
        let (status, headers, body) = self.send(inner, resource, None, timeout).await?;
        if status != 401 {
            // Not the challenge: an error (or a token from an endpoint that needs none).
            return response::parse(self.source, status, &headers, &body);
        }
        let realm = headers
            .get(header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().strip_prefix("Basic realm="))
            .map(|v| v.trim().trim_matches('"').to_string())
            .ok_or_else(|| AuthError::ManagedIdentity {
                source: self.source,
                status,
                message: "the 401 carries no `WWW-Authenticate: Basic realm=<key file>` challenge"
                    .into(),
                retry_after: None,
            })?;
        let key = read_arc_key(Path::new(&realm), &inner.arc_key_directory).await?;
        let (status, headers, body) = self.send(inner, resource, Some(&key), timeout).await?;
        response::parse(self.source, status, &headers, &body)
    }

    /// Sends one request; the status, headers and body (read up to the limit).
    async fn send(
        &self,
        inner: &Inner,
        resource: &str,
        arc_key: Option<&SecretString>,
        timeout: Duration,
    ) -> Result<(u16, HeaderMap, bytes::Bytes), AuthError> {
        let mut url = self.url.clone();
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        let http = inner.http.reqwest();
        let builder = match self.source {
            ManagedIdentitySource::CloudShell => {
                headers.insert("metadata", HeaderValue::from_static("true"));
                let form = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("resource", resource)
                    .finish();
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/x-www-form-urlencoded"),
                );
                http.post(url.clone()).body(form)
            }
            source => {
                {
                    let mut query = url.query_pairs_mut();
                    let (api_version, client_id, object_id, resource_id) = match source {
                        ManagedIdentitySource::AppService => {
                            ("2019-08-01", "client_id", "principal_id", "mi_res_id")
                        }
                        ManagedIdentitySource::AzureArc => {
                            ("2019-11-01", "client_id", "object_id", "msi_res_id")
                        }
                        _ => ("2018-02-01", "client_id", "object_id", "msi_res_id"),
                    };
                    query.append_pair("api-version", api_version);
                    query.append_pair("resource", resource);
                    match &inner.id {
                        ManagedIdentityId::SystemAssigned => {}
                        ManagedIdentityId::ClientId(id) => {
                            query.append_pair(client_id, id);
                        }
                        ManagedIdentityId::ObjectId(id) => {
                            query.append_pair(object_id, id);
                        }
                        ManagedIdentityId::ResourceId(id) => {
                            query.append_pair(resource_id, id);
                        }
                    }
                }
                match (&self.identity_header, source) {
                    (Some(secret), ManagedIdentitySource::AppService) => {
                        let mut value = HeaderValue::from_str(secret.expose_secret()).map_err(|_| {
                            AuthError::config(
                                "ManagedIdentityCredential: IDENTITY_HEADER is not a valid header value",
                            )
                        })?;
                        value.set_sensitive(true);
                        headers.insert("x-identity-header", value);
                    }
                    _ => {
                        headers.insert("metadata", HeaderValue::from_static("true"));
                    }
                }
                if let Some(key) = arc_key {
                    let mut value = HeaderValue::from_str(&format!(
                        "Basic {}",
                        key.expose_secret()
                    ))
                    .map_err(|_| {
                        AuthError::config(
                            "ManagedIdentityCredential: the Azure Arc key file does not hold \
                                 a valid header value",
                        )
                    })?;
                    value.set_sensitive(true);
                    headers.insert(header::AUTHORIZATION, value);
                }
                http.get(url.clone())
            }
        };
        tracing::debug!(source = %self.source, url = %self.url_without_query(), "managed identity token request");
        let response = builder
            .headers(headers)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| self.transport(e))?;
        let status = response.status().as_u16();
        if response.status().is_redirection() {
            url.set_query(None);
            return Err(AuthError::Redirected {
                status,
                location_host: response
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|l| url.join(l).ok())
                    .and_then(|t| t.host_str().map(str::to_string)),
            });
        }
        let headers = response.headers().clone();
        let body = read_body_limited(response, inner.max_response_bytes)
            .await
            .map_err(|error| match error {
                ReadBodyError::TooLarge { limit, .. } => {
                    AuthError::ResponseTooLarge { status, limit }
                }
                ReadBodyError::Transport(e) => self.transport(e),
            })?;
        Ok((status, headers, body))
    }
}

impl ManagedIdentityEndpoint {
    fn transport(&self, error: reqwest::Error) -> AuthError {
        let timeout = error.is_timeout();
        AuthError::Transport {
            message: format!(
                "managed identity ({}): {}",
                self.source,
                error.without_url()
            ),
            timeout,
        }
    }
}

/// Parses an endpoint URL and checks where it may be asked in clear.
fn parse(raw: &str, source: ManagedIdentitySource) -> Result<Url, AuthError> {
    let url = Url::parse(raw.trim()).map_err(|e| {
        AuthError::config(format!(
            "ManagedIdentityCredential: the {source} endpoint {raw:?} is not a URL: {e}"
        ))
    })?;
    let host = url.host_str().unwrap_or_default();
    let clear_allowed = crate::is_loopback_host(host) || host == "169.254.169.254";
    match url.scheme() {
        "https" => Ok(url),
        "http" if clear_allowed => Ok(url),
        _ => Err(AuthError::config(format!(
            "ManagedIdentityCredential: the {source} endpoint must be https, or http on \
             loopback or 169.254.169.254, not {}://{host}",
            url.scheme()
        ))),
    }
}

/// The Azure Connected Machine agent's key-file directory on this OS.
pub(super) fn default_arc_key_directory(lookup: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    if cfg!(windows) {
        let program_data = lookup("ProgramData").unwrap_or_else(|| r"C:\ProgramData".into());
        PathBuf::from(program_data)
            .join("AzureConnectedMachineAgent")
            .join("Tokens")
    } else {
        PathBuf::from("/var/opt/azcmagent/tokens")
    }
}

/// Reads the key file the Arc challenge names, after Azure.Identity's checks: a `.key` file
/// directly in the agent's directory, at most 4 KiB.
async fn read_arc_key(path: &Path, directory: &Path) -> Result<SecretString, AuthError> {
    let refuse = |why: String| {
        AuthError::config(format!(
            "ManagedIdentityCredential: the Azure Arc challenge names the key file {}, {why}",
            path.display()
        ))
    };
    if path.extension().and_then(|e| e.to_str()) != Some("key") {
        return Err(refuse("which is not a .key file".into()));
    }
    let canonical = tokio::fs::canonicalize(path)
        .await
        .map_err(|e| refuse(format!("which cannot be opened: {e}")))?;
    let expected = tokio::fs::canonicalize(directory).await.map_err(|e| {
        refuse(format!(
            "but the agent's directory {} cannot be opened: {e}",
            directory.display()
        ))
    })?;
    if canonical.parent() != Some(expected.as_path()) {
        return Err(refuse(format!(
            "which is not in the agent's directory {}",
            directory.display()
        )));
    }
    let metadata = tokio::fs::metadata(&canonical)
        .await
        .map_err(|e| refuse(format!("which cannot be read: {e}")))?;
    if !metadata.is_file() || metadata.len() > ARC_KEY_FILE_MAX_BYTES {
        return Err(refuse(format!(
            "which is not a file of at most {ARC_KEY_FILE_MAX_BYTES} bytes"
        )));
    }
    let key = tokio::fs::read_to_string(&canonical)
        .await
        .map_err(|e| refuse(format!("which cannot be read: {e}")))?;
    let key = key.trim();
    if key.is_empty() {
        return Err(refuse("which is empty".into()));
    }
    Ok(SecretString::from(key.to_string()))
}
