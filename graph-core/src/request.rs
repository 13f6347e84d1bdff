//! Typed single requests: [`EntityRequest`], [`Request`], [`CountRequest`], and the shared
//! [`RequestSpec`] every builder fills. Builders never fail midway: the first problem (a bad
//! header, a body that does not serialise) is kept and returned by `send()`.

use std::marker::PhantomData;

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::odata::QueryOptions;
use crate::options::RequestOptions;
use crate::transport::{Body, HttpRequest, HttpResponse};

pub use msgraph_typed_odata::Selectable;

/// A response type for requests that answer with no body (204). It accepts any body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoContent;

impl<'de> Deserialize<'de> for NoContent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(deserializer)?;
        Ok(NoContent)
    }
}

/// A decoded success response with its status and headers (headers on success too).
#[derive(Debug, Clone)]
pub struct Response<T> {
    status: StatusCode,
    headers: HeaderMap,
    body: T,
}

impl<T> Response<T> {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The response headers (`request-id`, `ETag`, `Location`, ...).
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The decoded body.
    pub fn body(&self) -> &T {
        &self.body
    }

    /// The decoded body, by value.
    pub fn into_body(self) -> T {
        self.body
    }
}

/// Where a request goes: a path under the client's base URL, or an absolute URL followed
/// verbatim (next and delta links).
#[derive(Debug, Clone)]
pub(crate) enum Target {
    Path(String),
    Absolute(String),
}

/// Everything a builder collects; turned into an [`HttpRequest`] at send time.
#[derive(Debug)]
pub(crate) struct RequestSpec {
    pub(crate) method: Method,
    pub(crate) target: Target,
    pub(crate) query: QueryOptions,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<Body>,
    pub(crate) options: RequestOptions,
    pub(crate) error: Option<Error>,
}

impl RequestSpec {
    pub(crate) fn new(method: Method, path: String) -> Self {
        Self {
            method,
            target: Target::Path(path),
            query: QueryOptions::default(),
            headers: HeaderMap::new(),
            body: None,
            options: RequestOptions::default(),
            error: None,
        }
    }

    pub(crate) fn absolute(url: String, headers: HeaderMap, options: RequestOptions) -> Self {
        Self {
            method: Method::GET,
            target: Target::Absolute(url),
            query: QueryOptions::default(),
            headers,
            body: None,
            options,
            error: None,
        }
    }

    /// Keeps the first builder error.
    pub(crate) fn fail(&mut self, error: Error) {
        if self.error.is_none() {
            self.error = Some(error);
        }
    }

    pub(crate) fn header(&mut self, name: &str, value: &str) {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(name), Ok(mut value)) => {
                // A caller's own credentials never show in a request's Debug output.
                if matches!(
                    name.as_str(),
                    "authorization" | "proxy-authorization" | "cookie"
                ) {
                    value.set_sensitive(true);
                }
                self.headers.insert(name, value);
            }
            _ => self.fail(Error::invalid(format!("invalid header {name:?}"))),
        }
    }

    pub(crate) fn json_body<B: Serialize + ?Sized>(&mut self, body: &B) {
        match serde_json::to_vec(body) {
            Ok(bytes) => {
                self.body = Some(Body::from_bytes(bytes));
                self.headers
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            }
            Err(e) => self.fail(Error::invalid(format!(
                "the request body does not serialise: {e}"
            ))),
        }
    }

    /// The headers carried to every page: the caller's plus `ConsistencyLevel: eventual` when
    /// the query needs it, never replacing the caller's.
    pub(crate) fn effective_headers(&self) -> HeaderMap {
        let mut headers = self.headers.clone();
        let path = match &self.target {
            Target::Path(path) => path.as_str(),
            Target::Absolute(_) => "",
        };
        let counting = path.ends_with("/$count") || path == "$count";
        if (counting || self.query.needs_eventual_consistency(path))
            && !headers.contains_key("consistencylevel")
        {
            headers.insert(
                HeaderName::from_static("consistencylevel"),
                HeaderValue::from_static("eventual"),
            );
        }
        headers
    }

    /// The absolute URL: the base URL + path + query, or a link verbatim.
    pub(crate) fn url(&self, client: &Client) -> Result<Url> {
        match &self.target {
            Target::Path(path) => {
                let mut url = client.resolve(path)?;
                self.query.apply(&mut url);
                Ok(url)
            }
            Target::Absolute(link) => {
                let url = Url::parse(link).map_err(|e| {
                    Error::new(crate::error::ErrorKind::Paging(format!(
                        "the link is not a URL: {e}"
                    )))
                })?;
                client.check_link(&url)?;
                Ok(url)
            }
        }
    }

    /// Whether the request can travel as a `$batch` item of `client`: it was built without
    /// error, its body (if any) is in memory, and its address is under the base URL.
    pub(crate) fn fits_batch(&self, client: &Client) -> bool {
        self.error.is_none()
            && self.body.as_ref().is_none_or(Body::is_replayable)
            && match &self.target {
                Target::Path(_) => true,
                Target::Absolute(link) => link.starts_with(client.base_url().as_str()),
            }
    }

    /// Builds the HTTP request, consuming the body.
    pub(crate) fn build_http(
        &mut self,
        client: &Client,
        accept: &'static str,
    ) -> Result<HttpRequest> {
        if let Some(error) = self.error.take() {
            return Err(error);
        }
        let mut request = HttpRequest::new(self.method.clone(), self.url(client)?);
        request.headers = self.effective_headers();
        if !request.headers.contains_key(ACCEPT) {
            request
                .headers
                .insert(ACCEPT, HeaderValue::from_static(accept));
        }
        if let Some(body) = self.body.take() {
            request.body = body;
        }
        Ok(request)
    }
}

/// Maps a non-success status to a service error.
pub(crate) fn check_status(response: HttpResponse) -> Result<HttpResponse> {
    if response.status.is_success() {
        Ok(response)
    } else {
        Err(Error::service(
            response.status,
            response.headers,
            &response.body,
        ))
    }
}

/// Decodes a JSON success body; an empty body decodes as `null` (so [`NoContent`] and
/// `Option<_>` accept a 204).
pub(crate) fn decode_json<T: DeserializeOwned>(response: &HttpResponse) -> Result<T> {
    let body: &[u8] = if response.body.iter().all(u8::is_ascii_whitespace) {
        b"null"
    } else {
        &response.body
    };
    serde_json::from_slice(body).map_err(|e| {
        Error::decode(
            response.status,
            &response.headers,
            e.to_string(),
            &response.body,
        )
    })
}

pub(crate) async fn send_spec(
    client: &Client,
    mut spec: RequestSpec,
    accept: &'static str,
) -> Result<HttpResponse> {
    let request = spec.build_http(client, accept)?;
    check_status(client.execute(request, &spec.options).await?)
}

/// Sends `spec` expecting JSON and decodes the body as `T`, keeping status and headers.
async fn send_json_spec<T: DeserializeOwned>(
    client: &Client,
    spec: RequestSpec,
) -> Result<Response<T>> {
    let response = send_spec(client, spec, "application/json").await?;
    let body = decode_json(&response)?;
    Ok(Response {
        status: response.status,
        headers: response.headers,
        body,
    })
}

macro_rules! common_setters {
    () => {
        /// Adds a header to the request (and, for collections, to every page). An invalid name
        /// or value surfaces from `send()`.
        pub fn with_header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
            self.spec.header(name.as_ref(), value.as_ref());
            self
        }

        /// Overrides the client's retry, redirect, timeout or scopes for this request only.
        pub fn with_options(mut self, options: $crate::RequestOptions) -> Self {
            self.spec.options = options;
            self
        }
    };
}
pub(crate) use common_setters;

macro_rules! select_setters {
    () => {
        /// `$select` by wire names. Defaults to the service's default property set.
        pub fn select_raw<I, S>(mut self, fields: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: AsRef<str>,
        {
            self.spec
                .query
                .select
                .extend(fields.into_iter().map(|f| f.as_ref().to_string()));
            self
        }

        /// `$expand`, e.g. `manager($select=id)`. Can be called several times.
        pub fn expand(mut self, expand: impl Into<String>) -> Self {
            self.spec.query.expand.push(expand.into());
            self
        }
    };
}
pub(crate) use select_setters;

/// A GET of one entity.
#[must_use = "a request does nothing until `send()` is awaited"]
#[derive(Debug)]
pub struct EntityRequest<T> {
    client: Client,
    spec: RequestSpec,
    _type: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned + Send + 'static> EntityRequest<T> {
    pub(crate) fn new(client: Client, spec: RequestSpec) -> Self {
        Self {
            client,
            spec,
            _type: PhantomData,
        }
    }

    select_setters!();
    common_setters!();

    /// Sends the request.
    ///
    /// # Errors
    /// A service error for a non-success status, a decode error when the body is not a `T`,
    /// and transport or auth errors.
    pub async fn send(self) -> Result<T> {
        Ok(self.send_response().await?.into_body())
    }

    /// Sends the request and keeps the status and headers.
    ///
    /// # Errors
    /// As [`EntityRequest::send`].
    pub async fn send_response(self) -> Result<Response<T>> {
        send_json_spec(&self.client, self.spec).await
    }

    pub(crate) fn into_spec(self) -> RequestSpec {
        self.spec
    }

    pub(crate) fn into_parts(self) -> (Client, RequestSpec) {
        (self.client, self.spec)
    }
}

impl<T: Selectable + DeserializeOwned + Send + 'static> EntityRequest<T> {
    /// `$select` by typed field names.
    pub fn select(self, fields: impl IntoIterator<Item = T::Field>) -> Self {
        self.select_raw(
            fields
                .into_iter()
                .map(|f| f.as_ref().to_string())
                .collect::<Vec<_>>(),
        )
    }
}

/// Any request: a method, a path, optional query parameters, headers and a body.
#[must_use = "a request does nothing until `send()` is awaited"]
#[derive(Debug)]
pub struct Request<T> {
    client: Client,
    spec: RequestSpec,
    _type: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned + Send + 'static> Request<T> {
    pub(crate) fn new(client: Client, spec: RequestSpec) -> Self {
        Self {
            client,
            spec,
            _type: PhantomData,
        }
    }

    common_setters!();

    /// A JSON body, serialised at once (an error surfaces from `send()`).
    pub fn json_body<B: Serialize + ?Sized>(mut self, body: &B) -> Self {
        self.spec.json_body(body);
        self
    }

    /// A buffered body with its content type (replayable, so retries may resend it).
    pub fn body_bytes(mut self, body: impl Into<Bytes>, content_type: &str) -> Self {
        self.spec.body = Some(Body::from_bytes(body));
        self.spec.header("content-type", content_type);
        self
    }

    /// A streaming body: sent once, never retried or redirected with its body.
    pub fn body_stream(
        mut self,
        body: futures::stream::BoxStream<'static, std::io::Result<Bytes>>,
        content_type: &str,
    ) -> Self {
        self.spec.body = Some(Body::from_stream(body));
        self.spec.header("content-type", content_type);
        self
    }

    /// A query parameter (function parameters, `$select` on actions, ...); the value is encoded.
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.spec.query.extra.push((name.into(), value.into()));
        self
    }

    /// Sends the request.
    ///
    /// # Errors
    /// As [`EntityRequest::send`].
    pub async fn send(self) -> Result<T> {
        Ok(self.send_response().await?.into_body())
    }

    /// Sends the request and keeps the status and headers.
    ///
    /// # Errors
    /// As [`EntityRequest::send`].
    pub async fn send_response(self) -> Result<Response<T>> {
        send_json_spec(&self.client, self.spec).await
    }

    pub(crate) fn into_spec(self) -> RequestSpec {
        self.spec
    }

    pub(crate) fn into_parts(self) -> (Client, RequestSpec) {
        (self.client, self.spec)
    }
}

/// `GET {path}/$count`: a number in text/plain, with `ConsistencyLevel: eventual`.
#[must_use = "a request does nothing until `send()` is awaited"]
#[derive(Debug)]
pub struct CountRequest {
    client: Client,
    spec: RequestSpec,
}

impl CountRequest {
    pub(crate) fn new(client: Client, spec: RequestSpec) -> Self {
        Self { client, spec }
    }

    common_setters!();

    /// `$filter`.
    pub fn filter(mut self, filter: impl Into<String>) -> Self {
        self.spec.query.filter = Some(filter.into());
        self
    }

    /// `$search` (keep Graph's double quotes: `"displayName:room"`).
    pub fn search(mut self, search: impl Into<String>) -> Self {
        self.spec.query.search = Some(search.into());
        self
    }

    /// Sends the request.
    ///
    /// # Errors
    /// As [`EntityRequest::send`]; a decode error when the body is not a number.
    pub async fn send(self) -> Result<u64> {
        let response = send_spec(&self.client, self.spec, "text/plain").await?;
        let text = String::from_utf8_lossy(&response.body);
        let text = text.trim_start_matches('\u{feff}').trim();
        text.parse::<u64>().map_err(|e| {
            Error::decode(
                response.status,
                &response.headers,
                format!("not a count: {e}"),
                &response.body,
            )
        })
    }
}
