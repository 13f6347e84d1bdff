//! Delta queries; the behaviour is documented on [`DeltaRequest`].

use std::marker::PhantomData;

use futures::{Stream, StreamExt, stream};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::options::RequestOptions;
use crate::paging::{DeltaLink, Page, fetch_page, page_stream};
use crate::request::{RequestSpec, Selectable, common_setters, select_setters};

/// One item of a delta page.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DeltaItem<T> {
    /// Created or updated (with the selected properties that changed).
    Changed(T),
    /// Deleted or removed (`@removed`).
    Removed(Removed),
}

/// An item reported as removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removed {
    /// The id of the removed item.
    pub id: String,
    /// `changed` (can be restored, e.g. soft-deleted) or `deleted` (gone for good).
    pub reason: String,
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for DeltaItem<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        if let Some(removed) = value.get("@removed") {
            let id = value
                .get("id")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string();
            let reason = removed
                .get("reason")
                .and_then(|v| v.as_str())
                .unwrap_or("deleted")
                .to_string();
            return Ok(DeltaItem::Removed(Removed { id, reason }));
        }
        T::deserialize(value)
            .map(DeltaItem::Changed)
            .map_err(serde::de::Error::custom)
    }
}

/// What a delta stream yields: items, then one [`DeltaLink`] last.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DeltaEvent<T> {
    /// A changed or removed item.
    Item(DeltaItem<T>),
    /// The link for the next sync; always the last event of a complete round.
    Link(DeltaLink),
}

/// Delta queries as values: the stream yields changed and removed items and
/// ends with a typed [`DeltaLink`]; [`DeltaRequest::resume`] starts the next sync from it.
/// `syncStateNotFound` / `resyncRequired` surface as errors with
/// [`crate::Error::is_resync_required`]: start a new sync without the link.
///
/// ```
/// use futures::TryStreamExt;
/// use msgraph_typed_core::{DeltaEvent, DeltaItem, DeltaRequest};
/// # #[derive(serde::Deserialize)] struct User { id: String }
/// # async fn demo(client: msgraph_typed_core::Client) -> msgraph_typed_core::Result<()> {
/// let mut changes = client.delta::<User>("users/delta").select_raw(["id"]).stream();
/// let mut link = None;
/// while let Some(event) = changes.try_next().await? {
///     match event {
///         DeltaEvent::Item(DeltaItem::Changed(user)) => println!("changed {}", user.id),
///         DeltaEvent::Item(DeltaItem::Removed(removed)) => println!("removed {}", removed.id),
///         DeltaEvent::Link(delta_link) => link = Some(delta_link),
///         _ => {}
///     }
/// }
/// // Later: only what changed since.
/// if let Some(link) = link {
///     let _next_sync = DeltaRequest::<User>::resume(&client, link).stream();
/// }
/// # Ok(()) }
/// ```
///
/// A delta query (e.g. `users/delta`).
#[must_use = "a request does nothing until `send()`, `pages()` or `stream()` is used"]
#[derive(Debug)]
pub struct DeltaRequest<T> {
    client: Client,
    spec: RequestSpec,
    _type: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned + Send + 'static> DeltaRequest<T> {
    pub(crate) fn new(client: Client, spec: RequestSpec) -> Self {
        Self {
            client,
            spec,
            _type: PhantomData,
        }
    }

    /// Starts the next sync from a stored [`DeltaLink`] (with its headers).
    pub fn resume(client: &Client, link: DeltaLink) -> Self {
        Self::new(client.clone(), link.into_spec(RequestOptions::default()))
    }

    select_setters!();
    common_setters!();

    /// `$filter` (delta supports few filters; see the API's page).
    pub fn filter(mut self, filter: impl Into<String>) -> Self {
        self.spec.query.filter = Some(filter.into());
        self
    }

    /// `$top`: the page size.
    pub fn top(mut self, top: u32) -> Self {
        self.spec.query.top = Some(top);
        self
    }

    /// The first page only.
    ///
    /// # Errors
    /// As [`crate::CollectionRequest::send`]; [`Error::is_resync_required`] when the link expired.
    pub async fn send(self) -> Result<Page<DeltaItem<T>>> {
        fetch_page(&self.client, self.spec).await
    }

    /// Every page; the last one carries [`Page::delta_link`].
    pub fn pages(self) -> impl Stream<Item = Result<Page<DeltaItem<T>>>> + Send + Unpin + 'static {
        page_stream(self.client, self.spec)
    }

    /// Every item, then the [`DeltaLink`]. A round that ends without a delta link ends with a
    /// paging error.
    pub fn stream(self) -> impl Stream<Item = Result<DeltaEvent<T>>> + Send + Unpin + 'static {
        let events = self.pages().flat_map(|page| {
            let events: Vec<Result<DeltaEvent<T>>> = match page {
                Ok(page) => page
                    .items
                    .into_iter()
                    .map(|item| Ok(DeltaEvent::Item(item)))
                    .chain(page.delta_link.map(|link| Ok(DeltaEvent::Link(link))))
                    .collect(),
                Err(error) => vec![Err(error)],
            };
            stream::iter(events)
        });
        DeltaEnd::new(events)
    }
}

impl<T: Selectable + DeserializeOwned + Send + 'static> DeltaRequest<T> {
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

pin_project_lite::pin_project! {
    /// Adds a paging error when the underlying events end without a link or an error.
    struct DeltaEnd<S> {
        #[pin]
        inner: S,
        saw_end: bool,
        done: bool,
    }
}

impl<S> DeltaEnd<S> {
    fn new(inner: S) -> Self {
        Self {
            inner,
            saw_end: false,
            done: false,
        }
    }
}

impl<S, T> Stream for DeltaEnd<S>
where
    S: Stream<Item = Result<DeltaEvent<T>>>,
{
    type Item = Result<DeltaEvent<T>>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let this = self.project();
        if *this.done {
            return std::task::Poll::Ready(None);
        }
        match this.inner.poll_next(cx) {
            std::task::Poll::Ready(Some(item)) => {
                if matches!(item, Ok(DeltaEvent::Link(_)) | Err(_)) {
                    *this.saw_end = true;
                }
                std::task::Poll::Ready(Some(item))
            }
            std::task::Poll::Ready(None) => {
                *this.done = true;
                if *this.saw_end {
                    std::task::Poll::Ready(None)
                } else {
                    std::task::Poll::Ready(Some(Err(Error::new(ErrorKind::Paging(
                        "the delta round ended without an @odata.deltaLink".into(),
                    )))))
                }
            }
            std::task::Poll::Pending => std::task::Poll::Pending,
        }
    }
}
