//! Collections and paging; the behaviour is documented on [`CollectionRequest`].

use std::collections::{BTreeMap, HashSet};
use std::marker::PhantomData;

use futures::{Stream, TryStreamExt, stream};
use http::{HeaderMap, HeaderName, HeaderValue};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::options::RequestOptions;
use crate::request::{
    RequestSpec, Selectable, check_status, common_setters, decode_json, select_setters,
};

/// One page of a collection, with every page-level annotation it came with: it serialises
/// back to the JSON it was read from (`@odata.context`, `value`, `@odata.count`,
/// `@odata.nextLink`, `@odata.deltaLink` and any other annotation or property).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Page<T> {
    /// The items of this page (possibly none).
    pub items: Vec<T>,
    /// Where the next page is, when there is one.
    pub next_link: Option<NextLink>,
    /// `@odata.count`, when asked with `count(true)` (usually on the first page only).
    pub count: Option<u64>,
    /// `@odata.deltaLink`, on the last page of a delta query.
    pub delta_link: Option<DeltaLink>,
    /// `@odata.context`, when the service sent it.
    pub context: Option<String>,
    /// Every other page-level member (instance annotations such as
    /// `@microsoft.graph.tips`, properties Graph may add), kept as sent.
    pub annotations: serde_json::Map<String, serde_json::Value>,
}

impl<T> Page<T> {
    /// The items.
    pub fn items(&self) -> &[T] {
        &self.items
    }

    /// The next link.
    pub fn next_link(&self) -> Option<&NextLink> {
        self.next_link.as_ref()
    }

    /// The total count.
    pub fn count(&self) -> Option<u64> {
        self.count
    }

    /// The delta link.
    pub fn delta_link(&self) -> Option<&DeltaLink> {
        self.delta_link.as_ref()
    }

    /// The `@odata.context` URL.
    pub fn context(&self) -> Option<&str> {
        self.context.as_deref()
    }

    /// The items, by value.
    pub fn into_items(self) -> Vec<T> {
        self.items
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Page<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PageVisitor<T>(PhantomData<fn() -> T>);

        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for PageVisitor<T> {
            type Value = Page<T>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a collection page (an object with `value`)")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Page<T>, A::Error> {
                let mut page = Page {
                    items: Vec::new(),
                    next_link: None,
                    count: None,
                    delta_link: None,
                    context: None,
                    annotations: serde_json::Map::new(),
                };
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    match key.as_ref() {
                        "value" => page.items = map.next_value()?,
                        "@odata.nextLink" => {
                            page.next_link = map.next_value::<Option<String>>()?.map(NextLink::new)
                        }
                        "@odata.deltaLink" => {
                            page.delta_link =
                                map.next_value::<Option<String>>()?.map(DeltaLink::new)
                        }
                        "@odata.count" => page.count = map.next_value()?,
                        "@odata.context" => page.context = map.next_value()?,
                        _ => {
                            let value = map.next_value::<serde_json::Value>()?;
                            page.annotations.insert(key.into_owned(), value);
                        }
                    }
                }
                Ok(page)
            }
        }

        deserializer.deserialize_map(PageVisitor(PhantomData))
    }
}

impl<T: Serialize> Serialize for Page<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        if let Some(context) = &self.context {
            map.serialize_entry("@odata.context", context)?;
        }
        if let Some(count) = self.count {
            map.serialize_entry("@odata.count", &count)?;
        }
        map.serialize_entry("value", &self.items)?;
        if let Some(next) = &self.next_link {
            map.serialize_entry("@odata.nextLink", next.url())?;
        }
        if let Some(delta) = &self.delta_link {
            map.serialize_entry("@odata.deltaLink", delta.url())?;
        }
        for (key, value) in &self.annotations {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// Headers never stored in a continuation (secrets, per-request ids).
fn carried(name: &HeaderName) -> bool {
    !matches!(
        name.as_str(),
        "authorization" | "proxy-authorization" | "cookie" | "client-request-id" | "retry-attempt"
    )
}

fn headers_to_map(headers: &HeaderMap) -> BTreeMap<String, String> {
    headers
        .iter()
        .filter(|(name, _)| carried(name))
        .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_string())))
        .collect()
}

fn map_to_headers(map: &BTreeMap<String, String>) -> HeaderMap {
    map.iter()
        .filter_map(|(name, value)| {
            Some((
                HeaderName::from_bytes(name.as_bytes()).ok()?,
                HeaderValue::from_str(value).ok()?,
            ))
        })
        .filter(|(name, _)| carried(name))
        .collect()
}

macro_rules! link_type {
    ($name:ident, $what:literal) => {
        #[doc = concat!("A ", $what, " with the headers (`ConsistencyLevel`, `Prefer`, ...) that must go with it.")]
        ///
        /// Serialisable (serde) so a service can store it and resume after a restart. Never
        /// holds `Authorization` or per-request ids.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        pub struct $name {
            url: String,
            #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
            headers: BTreeMap<String, String>,
        }

        impl $name {
            #[doc = concat!("A ", $what, " from a URL with no extra headers.")]
            pub fn new(url: impl Into<String>) -> Self {
                Self {
                    url: url.into(),
                    headers: BTreeMap::new(),
                }
            }

            /// The URL, exactly as the service sent it.
            pub fn url(&self) -> &str {
                &self.url
            }

            /// The headers sent with it.
            pub fn headers(&self) -> &BTreeMap<String, String> {
                &self.headers
            }

            pub(crate) fn with_headers(mut self, headers: &HeaderMap) -> Self {
                self.headers = headers_to_map(headers);
                self
            }

            pub(crate) fn into_spec(self, options: RequestOptions) -> RequestSpec {
                let headers = map_to_headers(&self.headers);
                RequestSpec::absolute(self.url, headers, options)
            }
        }
    };
}

link_type!(NextLink, "next-page link (`@odata.nextLink`)");
link_type!(
    DeltaLink,
    "delta link (`@odata.deltaLink`) for the next sync"
);

/// Sends one page request and decodes it; links inherit `headers`.
pub(crate) async fn fetch_page<T: DeserializeOwned>(
    client: &Client,
    mut spec: RequestSpec,
) -> Result<Page<T>> {
    let request = spec.build_http(client, "application/json")?;
    let carried_headers = request.headers.clone();
    let response = check_status(client.execute(request, &spec.options).await?)?;
    let mut page: Page<T> = decode_json(&response)?;
    page.next_link = page.next_link.map(|l| l.with_headers(&carried_headers));
    page.delta_link = page.delta_link.map(|l| l.with_headers(&carried_headers));
    Ok(page)
}

/// A link must parse and stay on the service (see `Client::check_link`).
fn check_link(client: &Client, link: &str) -> Result<()> {
    let url = url::Url::parse(link).map_err(|e| {
        Error::new(ErrorKind::Paging(format!(
            "the service sent a link that is not a URL: {e}"
        )))
    })?;
    client.check_link(&url)
}

fn link_hash(link: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    link.hash(&mut hasher);
    hasher.finish()
}

struct Pager {
    client: Client,
    next: Option<RequestSpec>,
    /// Hashes of the links requested so far (8 bytes each, not the URLs).
    seen: HashSet<u64>,
    /// An error to yield after the page that caused it.
    failed: Option<Error>,
}

/// Every page from `spec` on, lazily. Boxed so that callers get an `Unpin` stream and can use
/// `try_next()` without pinning.
pub(crate) fn page_stream<T: DeserializeOwned + Send + 'static>(
    client: Client,
    spec: RequestSpec,
) -> impl Stream<Item = Result<Page<T>>> + Send + Unpin + 'static {
    let mut seen = HashSet::new();
    if let Ok(url) = spec.url(&client) {
        seen.insert(link_hash(url.as_str()));
    }
    let pager = Pager {
        client,
        next: Some(spec),
        seen,
        failed: None,
    };
    Box::pin(stream::unfold(pager, |mut pager| async move {
        if let Some(error) = pager.failed.take() {
            return Some((Err(error), pager));
        }
        let spec = pager.next.take()?;
        let options = spec.options.clone();
        match fetch_page::<T>(&pager.client, spec).await {
            Ok(mut page) => {
                // A link to another origin is not followed (its data is not this collection's):
                // this page is fine, the stream then ends with the error.
                if let Some(link) = &page.delta_link
                    && let Err(error) = check_link(&pager.client, link.url())
                {
                    page.delta_link = None;
                    pager.failed = Some(error);
                }
                if let Some(link) = &page.next_link {
                    if let Err(error) = check_link(&pager.client, link.url()) {
                        pager.failed = Some(error);
                    } else if pager.seen.insert(link_hash(&link.url)) {
                        pager.next = Some(link.clone().into_spec(options));
                    } else {
                        // This page is fine; following its link would loop.
                        pager.failed = Some(Error::new(ErrorKind::Paging(
                            "the service returned the same next link twice".into(),
                        )));
                    }
                }
                Some((Ok(page), pager))
            }
            // An error ends the stream: nothing further is requested.
            Err(error) => Some((Err(error), pager)),
        }
    }))
}

/// Collections: one page with `send()`, or every page lazily as a `futures::Stream` with
/// `pages()` and `stream()`.
///
/// - Lazy with backpressure: a page is requested only when the previous one was consumed, so
///   about one page is in memory however large the collection; dropping the stream sends
///   nothing more.
/// - `@odata.nextLink` is followed verbatim through the same pipeline (fresh token, retry,
///   allow-list), with the first request's headers (`ConsistencyLevel`, `Prefer`, yours) and
///   options.
/// - A next or delta link to another origin (scheme, host or port) than the service's, or a
///   host not on the token allow-list, is not followed: the stream ends with a paging error
///   after the page that carried it.
/// - A next link seen twice ends the stream with a paging error. Empty pages are fine.
/// - [`NextLink`] is serialisable, so paging can resume after a restart.
///
/// ```
/// use futures::TryStreamExt;
/// # #[derive(serde::Deserialize)] struct User { id: String }
/// # async fn demo(client: msgraph_typed_core::Client) -> msgraph_typed_core::Result<()> {
/// // Every user, one page in memory at a time.
/// let mut users = client
///     .collection::<User>("users")
///     .select_raw(["id", "displayName"])
///     .top(999)
///     .stream();
/// while let Some(user) = users.try_next().await? {
///     println!("{}", user.id);
/// }
///
/// // Or page by page, keeping the continuation to resume later.
/// let first = client.collection::<User>("users").top(100).send().await?;
/// if let Some(next) = first.next_link.clone() {
///     let saved = serde_json::to_string(&next).expect("a next link serialises");
///     let next: msgraph_typed_core::NextLink = serde_json::from_str(&saved).expect("and comes back");
///     let second = msgraph_typed_core::CollectionRequest::<User>::resume(&client, next).send().await?;
///     assert!(second.items.len() <= 100);
/// }
/// # Ok(()) }
/// ```
///
/// A collection GET: one page, every page, or every item.
#[must_use = "a request does nothing until `send()`, `pages()` or `stream()` is used"]
#[derive(Debug)]
pub struct CollectionRequest<T> {
    client: Client,
    spec: RequestSpec,
    _type: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned + Send + 'static> CollectionRequest<T> {
    pub(crate) fn new(client: Client, spec: RequestSpec) -> Self {
        Self {
            client,
            spec,
            _type: PhantomData,
        }
    }

    /// Continues from a stored [`NextLink`] (with its headers). Options can be set again with
    /// [`CollectionRequest::with_options`].
    pub fn resume(client: &Client, link: NextLink) -> Self {
        Self::new(client.clone(), link.into_spec(RequestOptions::default()))
    }

    select_setters!();
    common_setters!();

    /// `$filter`; advanced operators add `ConsistencyLevel: eventual` and `$count=true`.
    pub fn filter(mut self, filter: impl Into<String>) -> Self {
        self.spec.query.filter = Some(filter.into());
        self
    }

    /// `$top`: the page size. Defaults to the service's.
    pub fn top(mut self, top: u32) -> Self {
        self.spec.query.top = Some(top);
        self
    }

    /// `$skip`, where the API allows it.
    pub fn skip(mut self, skip: u32) -> Self {
        self.spec.query.skip = Some(skip);
        self
    }

    /// `$orderby`, e.g. `displayName desc`. Can be called several times.
    pub fn orderby(mut self, orderby: impl Into<String>) -> Self {
        self.spec.query.orderby.push(orderby.into());
        self
    }

    /// `$search` (with Graph's double quotes); adds `ConsistencyLevel: eventual`.
    pub fn search(mut self, search: impl Into<String>) -> Self {
        self.spec.query.search = Some(search.into());
        self
    }

    /// `$count`; `true` adds `ConsistencyLevel: eventual` and fills [`Page::count`].
    pub fn count(mut self, count: bool) -> Self {
        self.spec.query.count = Some(count);
        self
    }

    /// The first page only.
    ///
    /// # Errors
    /// A service error for a non-success status, a decode error when the body is not a page
    /// of `T`, and transport or auth errors.
    pub async fn send(self) -> Result<Page<T>> {
        fetch_page(&self.client, self.spec).await
    }

    /// Every page, lazily. The stream ends after the last page or after the first error.
    pub fn pages(self) -> impl Stream<Item = Result<Page<T>>> + Send + Unpin + 'static {
        page_stream(self.client, self.spec)
    }

    /// Every item of every page, lazily, one page in memory.
    pub fn stream(self) -> impl Stream<Item = Result<T>> + Send + Unpin + 'static {
        self.pages()
            .map_ok(|page| stream::iter(page.items.into_iter().map(Ok)))
            .try_flatten()
    }

    pub(crate) fn into_spec(self) -> RequestSpec {
        self.spec
    }

    pub(crate) fn into_parts(self) -> (Client, RequestSpec) {
        (self.client, self.spec)
    }
}

impl<T: Selectable + DeserializeOwned + Send + 'static> CollectionRequest<T> {
    /// `$select` by typed field names (a typo is a compile error).
    pub fn select(self, fields: impl IntoIterator<Item = T::Field>) -> Self {
        self.select_raw(
            fields
                .into_iter()
                .map(|f| f.as_ref().to_string())
                .collect::<Vec<_>>(),
        )
    }
}

#[cfg(test)]
#[path = "paging_tests.rs"]
mod tests;
