//! JSON `$batch` of typed requests; the behaviour is documented on [`BatchBuilder`].

use std::collections::HashMap;
use std::marker::PhantomData;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::options::{RequestOptions, RetryOptions};
use crate::paging::{CollectionRequest, Page};
use crate::pipeline::retry::{
    Decision, RetryProgress, decide, is_retryable_status, parse_retry_after,
};
use crate::pipeline::throttle::service_of;
use crate::request::{EntityRequest, Request, RequestSpec, check_status, decode_json};
use crate::transport::{Body, HttpRequest};

mod wire;

use wire::{WireEnvelope, WireRequest, follow_up, split, to_wire};

/// Graph's limit of requests per batch.
pub const MAX_BATCH_SIZE: usize = 20;

mod sealed {
    /// Only this crate's request types go into a batch.
    pub trait Sealed {
        fn into_batch_spec(self) -> BatchSpec;
    }

    /// A request on its way into a batch (opaque).
    pub struct BatchSpec(pub(crate) crate::request::RequestSpec);
}

/// A typed request that can go into a batch: [`EntityRequest`], [`Request`] and
/// [`CollectionRequest`] (its first page).
pub trait BatchRequest: sealed::Sealed {
    /// What the item decodes to.
    type Output: DeserializeOwned;
}

impl<T: DeserializeOwned + Send + 'static> sealed::Sealed for EntityRequest<T> {
    fn into_batch_spec(self) -> sealed::BatchSpec {
        sealed::BatchSpec(self.into_spec())
    }
}
impl<T: DeserializeOwned + Send + 'static> BatchRequest for EntityRequest<T> {
    type Output = T;
}

impl<T: DeserializeOwned + Send + 'static> sealed::Sealed for Request<T> {
    fn into_batch_spec(self) -> sealed::BatchSpec {
        sealed::BatchSpec(self.into_spec())
    }
}
impl<T: DeserializeOwned + Send + 'static> BatchRequest for Request<T> {
    type Output = T;
}

impl<T: DeserializeOwned + Send + 'static> sealed::Sealed for CollectionRequest<T> {
    fn into_batch_spec(self) -> sealed::BatchSpec {
        sealed::BatchSpec(self.into_spec())
    }
}
impl<T: DeserializeOwned + Send + 'static> BatchRequest for CollectionRequest<T> {
    type Output = Page<T>;
}

/// The handle of one batch item; [`BatchResponse::get`] decodes its answer as `T`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchKey<T> {
    id: String,
    _type: PhantomData<fn() -> T>,
}

impl<T> BatchKey<T> {
    /// The item's id in the batch.
    pub fn id(&self) -> &str {
        &self.id
    }
}

struct PendingItem {
    id: String,
    spec: RequestSpec,
    depends_on: Vec<String>,
}

/// JSON `$batch` of typed requests.
///
/// - More than 20 requests (or [`BatchBuilder::max_per_batch`]) are split into batches sent
///   one after another; items linked by `dependsOn` always travel in the same batch.
/// - Ids are unique case-insensitively; an item may depend only on items added before it.
/// - Responses are matched by id (they may arrive in any order); each item gives its own typed
///   result or error, since a 200 envelope says nothing about the items.
/// - Items answered 429, 503 or 504 are sent again in a follow-up batch after the largest
///   `Retry-After` among them (else backoff), together with the items that failed with 424
///   because of them, keeping their `dependsOn`. The wait follows the same rule as every
///   request ([`RetryOptions`]): retry count, `max_delay`, total budget (over every round of
///   the batch) and `should_retry`; when it says stop, the items keep their 429 answers.
/// - A batch of GET items may be sent again when the connection is lost before the answer; a
///   batch with any write is never sent twice.
///
/// ```
/// # #[derive(serde::Deserialize)] struct User { id: String }
/// # #[derive(serde::Deserialize)] struct Group { id: String }
/// # async fn demo(client: msgraph_typed_core::Client) -> msgraph_typed_core::Result<()> {
/// let mut batch = client.batch();
/// let me = batch.add(client.entity::<User>("me"));
/// let groups = batch.add(client.collection::<Group>("me/memberOf").top(5));
/// batch.depends_on(&groups, [me.id()]);
/// let responses = batch.send().await?;
/// let user: User = responses.get(&me)?;
/// let first_groups = responses.get(&groups)?; // a Page<Group>
/// println!("{} is in {} groups", user.id, first_groups.items.len());
/// # Ok(()) }
/// ```
#[must_use = "a batch does nothing until `send()` is awaited"]
pub struct BatchBuilder {
    client: Client,
    items: Vec<PendingItem>,
    max_per_batch: usize,
    options: RequestOptions,
    error: Option<Error>,
}

impl std::fmt::Debug for BatchBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchBuilder")
            .field(
                "items",
                &self.items.iter().map(|i| &i.id).collect::<Vec<_>>(),
            )
            .field("max_per_batch", &self.max_per_batch)
            .finish()
    }
}

/// One item's answer.
#[derive(Debug, Clone)]
pub struct BatchItemResponse {
    id: String,
    status: StatusCode,
    headers: HeaderMap,
    body: Option<Value>,
}

impl BatchItemResponse {
    /// The item's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The item's status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The item's headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The item's raw body.
    pub fn body(&self) -> Option<&Value> {
        self.body.as_ref()
    }

    /// The item as an HTTP answer, for the retry rule (and its `should_retry` predicate).
    fn as_http_response(&self) -> crate::transport::HttpResponse {
        crate::transport::HttpResponse::with_body(
            self.status,
            self.headers.clone(),
            self.body_bytes().into(),
        )
    }

    fn body_bytes(&self) -> Vec<u8> {
        match &self.body {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(text)) => text.clone().into_bytes(),
            Some(value) => value.to_string().into_bytes(),
        }
    }

    /// The item as a result: a service error for a non-success status (424 included), else
    /// the body decoded as `T`.
    ///
    /// # Errors
    /// A service error or a decode error.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T> {
        if !self.status.is_success() {
            return Err(Error::service(
                self.status,
                self.headers.clone(),
                &self.body_bytes(),
            ));
        }
        let value = self.body.clone().unwrap_or(Value::Null);
        serde_json::from_value(value).map_err(|e| {
            Error::decode(
                self.status,
                &self.headers,
                format!("batch item {:?}: {e}", self.id),
                &self.body_bytes(),
            )
        })
    }
}

impl BatchItemResponse {
    /// As [`BatchItemResponse::decode`], reading the body in place.
    pub(crate) fn into_decoded<T: DeserializeOwned>(self) -> Result<T> {
        if !self.status.is_success() {
            let body = self.body_bytes();
            return Err(Error::service(self.status, self.headers, &body));
        }
        let value = self.body.as_ref().unwrap_or(&Value::Null);
        T::deserialize(value).map_err(|e| {
            Error::decode(
                self.status,
                &self.headers,
                format!("batch item {:?}: {e}", self.id),
                &self.body_bytes(),
            )
        })
    }
}

/// The answers of every item, by id (case-insensitive).
#[derive(Debug, Clone, Default)]
pub struct BatchResponse {
    items: HashMap<String, BatchItemResponse>,
}

impl BatchResponse {
    /// The typed result of an item.
    ///
    /// # Errors
    /// The item's service error (its status, code, message and request-id), a decode error, or
    /// an invalid-request error when the service sent no answer for the id.
    pub fn get<T: DeserializeOwned>(&self, key: &BatchKey<T>) -> Result<T> {
        self.item(&key.id)
            .ok_or_else(|| Error::invalid(format!("the batch response has no item {:?}", key.id)))?
            .decode()
    }

    /// Takes an item's answer out of the response.
    pub(crate) fn take(&mut self, id: &str) -> Option<BatchItemResponse> {
        self.items.remove(&id.to_lowercase())
    }

    /// The raw answer of an item.
    pub fn item(&self, id: &str) -> Option<&BatchItemResponse> {
        self.items.get(&id.to_lowercase())
    }

    /// Every answer, in no particular order.
    pub fn items(&self) -> impl Iterator<Item = &BatchItemResponse> {
        self.items.values()
    }

    /// How many items answered.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether no item answered.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

impl BatchBuilder {
    pub(crate) fn new(client: Client) -> Self {
        Self {
            client,
            items: Vec::new(),
            max_per_batch: MAX_BATCH_SIZE,
            options: RequestOptions::default(),
            error: None,
        }
    }

    /// Adds a request with the next free numeric id (`"1"`, `"2"`, ...).
    pub fn add<R: BatchRequest>(&mut self, request: R) -> BatchKey<R::Output> {
        let mut n = self.items.len() + 1;
        while self.has_id(&n.to_string()) {
            n += 1;
        }
        self.add_with_id(n.to_string(), request)
    }

    /// Adds a request with a chosen id (unique, compared case-insensitively; a duplicate
    /// surfaces from `send()`).
    pub fn add_with_id<R: BatchRequest>(
        &mut self,
        id: impl Into<String>,
        request: R,
    ) -> BatchKey<R::Output> {
        let id = id.into();
        if self.has_id(&id) && self.error.is_none() {
            self.error = Some(Error::invalid(format!(
                "batch id {id:?} is used twice (ids are compared case-insensitively)"
            )));
        }
        self.items.push(PendingItem {
            id: id.clone(),
            spec: request.into_batch_spec().0,
            depends_on: Vec::new(),
        });
        BatchKey {
            id,
            _type: PhantomData,
        }
    }

    /// Adds a request already taken apart (a bulk run's pack), with an id of the caller's.
    pub(crate) fn add_spec(&mut self, id: String, spec: RequestSpec) {
        self.items.push(PendingItem {
            id,
            spec,
            depends_on: Vec::new(),
        });
    }

    /// Makes `item` wait for the items `on` (which must have been added before it).
    pub fn depends_on<'a, T>(&mut self, item: &BatchKey<T>, on: impl IntoIterator<Item = &'a str>) {
        let position = self.position(&item.id);
        let mut problems = Vec::new();
        let mut resolved = Vec::new();
        for dependency in on {
            match self.position(dependency) {
                Some(p) if position.is_some_and(|me| p < me) => {
                    resolved.push(self.items[p].id.clone())
                }
                _ => problems.push(dependency.to_string()),
            }
        }
        if !problems.is_empty() && self.error.is_none() {
            self.error = Some(Error::invalid(format!(
                "batch item {:?} depends on {problems:?}, which are not items added before it",
                item.id
            )));
        }
        if let Some(me) = position {
            self.items[me].depends_on.extend(resolved);
        }
    }

    /// The most requests per `$batch` call. Defaults to 20 (Graph's limit), which is also the
    /// maximum.
    pub fn max_per_batch(mut self, max: usize) -> Self {
        self.max_per_batch = max.clamp(1, MAX_BATCH_SIZE);
        self
    }

    /// Options for the `$batch` calls (retry of the envelope and of throttled items, timeout).
    pub fn with_options(mut self, options: RequestOptions) -> Self {
        self.options = options;
        self
    }

    /// How many requests were added.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether no request was added.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn has_id(&self, id: &str) -> bool {
        self.position(id).is_some()
    }

    fn position(&self, id: &str) -> Option<usize> {
        self.items
            .iter()
            .position(|i| i.id.eq_ignore_ascii_case(id))
    }

    /// Sends every batch in turn and returns every item's answer.
    ///
    /// # Errors
    /// An invalid-request error for a bad batch (duplicate id, unknown dependency, a dependency
    /// group larger than one batch, a streaming body, a URL outside the client's base URL); a
    /// service, transport or auth error when a `$batch` call itself fails.
    pub async fn send(mut self) -> Result<BatchResponse> {
        if let Some(error) = self.error.take() {
            return Err(error);
        }
        let mut wire = Vec::with_capacity(self.items.len());
        for mut item in std::mem::take(&mut self.items) {
            wire.push(to_wire(
                &self.client,
                &item.id,
                &mut item.spec,
                item.depends_on,
            )?);
        }
        let retry = self
            .options
            .retry
            .clone()
            .unwrap_or_else(|| self.client.retry_defaults().clone());
        let mut response = BatchResponse::default();
        for chunk in split(wire, self.max_per_batch)? {
            self.send_chunk(chunk, &retry, &mut response).await?;
        }
        Ok(response)
    }

    async fn send_chunk(
        &self,
        chunk: Vec<WireRequest>,
        retry: &RetryOptions,
        into: &mut BatchResponse,
    ) -> Result<()> {
        let mut pending = chunk;
        let mut progress = RetryProgress::default();
        loop {
            let answers = self.post(&pending).await?;
            for answer in answers {
                into.items.insert(answer.id.to_lowercase(), answer);
            }
            for request in &pending {
                into.items
                    .entry(request.id.to_lowercase())
                    .or_insert_with(|| BatchItemResponse {
                        id: request.id.clone(),
                        status: StatusCode::BAD_GATEWAY,
                        headers: HeaderMap::new(),
                        body: Some(serde_json::json!({"error": {
                        "code": "missingBatchResponse",
                        "message": "the $batch response had no answer for this item"}})),
                    });
            }
            // The throttled item that asks for the longest wait decides, by the same rule as
            // every other request (retry count, max_delay, total budget, should_retry).
            let now = self.client.clock().now();
            let Some(worst) = pending
                .iter()
                .filter_map(|r| into.item(&r.id))
                .filter(|a| is_retryable_status(a.status))
                .map(BatchItemResponse::as_http_response)
                .max_by_key(|r| {
                    r.header("retry-after")
                        .and_then(|v| parse_retry_after(v, now))
                })
            else {
                return Ok(());
            };
            let wait = match decide(retry, progress, Some(&worst), now) {
                Decision::Retry(wait) => wait,
                Decision::Stop | Decision::Throttled(_) => return Ok(()),
            };
            // Throttled items pause every send of the client to the service, as a throttled
            // request does (the follow-up batch waits the same delay).
            let throttled = worst.status == StatusCode::TOO_MANY_REQUESTS
                || (worst.status == StatusCode::SERVICE_UNAVAILABLE
                    && worst.header("retry-after").is_some());
            if throttled
                && wait > Duration::ZERO
                && let Ok(url) = self.client.resolve("$batch")
                && let Some(until) = now.checked_add(wait)
            {
                self.client.gate().pause(&service_of(&url), until);
            }
            pending = follow_up(&pending, into);
            tracing::debug!(
                items = pending.len(),
                wait_ms = wait.as_millis() as u64,
                "re-sending throttled batch items"
            );
            if wait > Duration::ZERO {
                self.client.clock().sleep(wait).await;
            }
            progress.attempt += 1;
            progress.waited += wait;
        }
    }

    async fn post(&self, requests: &[WireRequest]) -> Result<Vec<BatchItemResponse>> {
        let body = serde_json::to_vec(&serde_json::json!({ "requests": requests }))
            .map_err(|e| Error::invalid(format!("the batch does not serialise: {e}")))?;
        let mut request = HttpRequest::new(Method::POST, self.client.resolve("$batch")?);
        request.headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        request.headers.insert(
            http::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        request.body = Body::from_bytes(body);
        // A batch of reads may be sent twice (a connection lost before the answer is retried);
        // one with any write never is.
        let reads_only = requests
            .iter()
            .all(|r| r.method.eq_ignore_ascii_case("GET") || r.method.eq_ignore_ascii_case("HEAD"));
        let options = match self.options.idempotent {
            None if reads_only => self.options.clone().with_idempotent(true),
            _ => self.options.clone(),
        };
        let response = check_status(self.client.execute(request, &options).await?)?;
        let envelope: WireEnvelope = decode_json(&response)?;
        Ok(envelope
            .responses
            .into_iter()
            .map(|r| BatchItemResponse {
                id: r.id,
                status: StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_GATEWAY),
                headers: r
                    .headers
                    .iter()
                    .filter_map(|(k, v)| {
                        Some((
                            HeaderName::from_bytes(k.as_bytes()).ok()?,
                            HeaderValue::from_str(v).ok()?,
                        ))
                    })
                    .collect(),
                body: r.body,
            })
            .collect())
    }
}

#[cfg(test)]
#[path = "batch_tests.rs"]
mod tests;
