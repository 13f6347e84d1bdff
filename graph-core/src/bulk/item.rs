//! What a bulk run is made of: [`BulkRequest`] (a request that becomes one answer) and
//! [`BulkItem`] (how it joins the run: alone, or packed into `$batch` with others).

use futures::future::BoxFuture;
use futures::{FutureExt as _, TryStreamExt as _};
use http::Method;
use serde::de::DeserializeOwned;

use crate::batch::BatchItemResponse;
use crate::client::Client;
use crate::error::Result;
use crate::options::RequestOptions;
use crate::paging::{CollectionRequest, Page};
use crate::request::{CountRequest, EntityRequest, Request, RequestSpec};

/// A request a bulk run can send: it becomes one future of its whole answer. A collection's
/// answer is every item of every page (the pages are followed inside the run).
///
/// The SDK's request types implement it; so can your own (a future of anything), with the
/// provided [`BulkRequest::into_bulk_item`] sending it alone.
pub trait BulkRequest: Send + 'static {
    /// The whole answer.
    type Output: Send + 'static;

    /// Sends the request (and, for a collection, every next page).
    fn send_all(self) -> BoxFuture<'static, Result<Self::Output>>;

    /// How the request joins a bulk run. The SDK's requests may travel packed into a `$batch`
    /// with others; the default sends the request alone ([`BulkRequest::send_all`]).
    fn into_bulk_item(self) -> BulkItem<Self::Output>
    where
        Self: Sized,
    {
        BulkItem::alone(self.send_all())
    }
}

/// One request of a bulk run, ready to be sent alone or packed into a `$batch`.
#[must_use]
pub struct BulkItem<O> {
    pub(super) kind: ItemKind<O>,
}

impl<O> std::fmt::Debug for BulkItem<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.kind {
            ItemKind::Alone(_) => "alone",
            ItemKind::Packable(_) => "packable",
        };
        f.debug_struct("BulkItem").field("kind", &kind).finish()
    }
}

impl<O: Send + 'static> BulkItem<O> {
    /// An item sent on its own: any future of its whole answer.
    pub fn alone(answer: BoxFuture<'static, Result<O>>) -> Self {
        Self {
            kind: ItemKind::Alone(answer),
        }
    }

    fn packable(
        client: Client,
        spec: RequestSpec,
        alone: fn(Client, RequestSpec) -> BoxFuture<'static, Result<O>>,
        finish: Finish<O>,
    ) -> Self {
        Self {
            kind: ItemKind::Packable(Box::new(Packable {
                client,
                spec,
                alone,
                finish,
            })),
        }
    }
}

pub(super) enum ItemKind<O> {
    Alone(BoxFuture<'static, Result<O>>),
    // Boxed: a request's spec is large beside a boxed future.
    Packable(Box<Packable<O>>),
}

/// Turns an item's `$batch` answer into the request's whole answer.
pub(super) type Finish<O> = Box<dyn FnOnce(Result<BatchItemResponse>) -> Finished<O> + Send>;

/// A request that may travel in a `$batch`: its spec, how to send it alone instead, and how to
/// read its batch answer.
pub(super) struct Packable<O> {
    pub(super) client: Client,
    pub(super) spec: RequestSpec,
    alone: fn(Client, RequestSpec) -> BoxFuture<'static, Result<O>>,
    pub(super) finish: Finish<O>,
}

impl<O> Packable<O> {
    /// Sends the request on its own.
    pub(super) fn send_alone(self) -> BoxFuture<'static, Result<O>> {
        (self.alone)(self.client, self.spec)
    }

    /// Whether the request can go into a `$batch` sent by `batch_client`: the same client (its
    /// credential and pipeline), no per-request options (a batch item has only the batch's),
    /// no streaming body, and an address under the client's base URL.
    pub(super) fn fits_batch_of(&self, batch_client: &Client) -> bool {
        self.client.same_as(batch_client)
            && self.spec.options == RequestOptions::default()
            && self.spec.fits_batch(&self.client)
    }
}

/// What a batch answer became: the whole answer, or the rest still to fetch (a collection's
/// next pages).
pub(super) enum Finished<O> {
    Done(Result<O>),
    More(BoxFuture<'static, Result<O>>),
}

fn packable_read<T: DeserializeOwned + Send + 'static>(
    client: Client,
    spec: RequestSpec,
    alone: fn(Client, RequestSpec) -> BoxFuture<'static, Result<T>>,
) -> BulkItem<T> {
    let finish: Finish<T> =
        Box::new(|answer| Finished::Done(answer.and_then(BatchItemResponse::into_decoded)));
    BulkItem::packable(client, spec, alone, finish)
}

impl<T: DeserializeOwned + Send + 'static> BulkRequest for EntityRequest<T> {
    type Output = T;
    fn send_all(self) -> BoxFuture<'static, Result<T>> {
        self.send().boxed()
    }
    fn into_bulk_item(self) -> BulkItem<T> {
        let (client, spec) = self.into_parts();
        packable_read(client, spec, |client, spec| {
            EntityRequest::new(client, spec).send_all()
        })
    }
}

impl<T: DeserializeOwned + Send + 'static> BulkRequest for Request<T> {
    type Output = T;
    fn send_all(self) -> BoxFuture<'static, Result<T>> {
        self.send().boxed()
    }
    /// Reads and the writes Graph accepts in a batch (POST, PATCH, PUT, DELETE with a JSON or
    /// no body) may be packed.
    fn into_bulk_item(self) -> BulkItem<T> {
        let (client, spec) = self.into_parts();
        let batchable = [
            Method::GET,
            Method::POST,
            Method::PATCH,
            Method::PUT,
            Method::DELETE,
        ]
        .contains(&spec.method);
        if !batchable {
            return BulkItem::alone(Request::new(client, spec).send_all());
        }
        packable_read(client, spec, |client, spec| {
            Request::new(client, spec).send_all()
        })
    }
}

impl<T: DeserializeOwned + Send + 'static> BulkRequest for CollectionRequest<T> {
    type Output = Vec<T>;
    fn send_all(self) -> BoxFuture<'static, Result<Vec<T>>> {
        self.stream().try_collect().boxed()
    }
    /// The first page may be packed; the next pages follow as ordinary requests of the run.
    fn into_bulk_item(self) -> BulkItem<Vec<T>> {
        let (client, spec) = self.into_parts();
        let headers = spec.effective_headers();
        let pages_client = client.clone();
        let finish: Finish<Vec<T>> = Box::new(move |answer| {
            let page = match answer.and_then(BatchItemResponse::into_decoded::<Page<T>>) {
                Ok(page) => page,
                Err(error) => return Finished::Done(Err(error)),
            };
            let Some(next) = page.next_link else {
                return Finished::Done(Ok(page.items));
            };
            let mut items = page.items;
            let rest = CollectionRequest::<T>::resume(&pages_client, next.with_headers(&headers));
            Finished::More(
                async move {
                    items.extend(rest.stream().try_collect::<Vec<T>>().await?);
                    Ok(items)
                }
                .boxed(),
            )
        });
        BulkItem::packable(
            client,
            spec,
            |client, spec| CollectionRequest::new(client, spec).send_all(),
            finish,
        )
    }
}

impl BulkRequest for CountRequest {
    type Output = u64;
    fn send_all(self) -> BoxFuture<'static, Result<u64>> {
        self.send().boxed()
    }
}
