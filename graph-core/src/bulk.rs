//! Bulk runs: many typed requests, each with the caller's key, run at the concurrency the
//! client's throttle gate allows, answered as a stream in completion order.
//!
//! Memory stays bounded whatever the input's size: the input is pulled only as requests can
//! start, at most the current concurrency is in flight, and each answer waits for the caller
//! to take it. Dropping the stream cancels what is in flight and sends nothing more.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use futures::stream::{BoxStream, FuturesUnordered};
use futures::{FutureExt as _, Stream, StreamExt as _, TryStreamExt as _};
use serde::de::DeserializeOwned;

use crate::error::Result;
use crate::paging::CollectionRequest;
use crate::pipeline::throttle::ThrottleGate;
use crate::request::{CountRequest, EntityRequest, Request};

/// A request a bulk run can send: it becomes one future of its whole answer. A collection's
/// answer is every item of every page (the pages are followed inside the run).
pub trait BulkRequest: Send + 'static {
    /// The whole answer.
    type Output: Send + 'static;

    /// Sends the request (and, for a collection, every next page).
    fn send_all(self) -> BoxFuture<'static, Result<Self::Output>>;
}

impl<T: DeserializeOwned + Send + 'static> BulkRequest for EntityRequest<T> {
    type Output = T;
    fn send_all(self) -> BoxFuture<'static, Result<T>> {
        self.send().boxed()
    }
}

impl<T: DeserializeOwned + Send + 'static> BulkRequest for Request<T> {
    type Output = T;
    fn send_all(self) -> BoxFuture<'static, Result<T>> {
        self.send().boxed()
    }
}

impl<T: DeserializeOwned + Send + 'static> BulkRequest for CollectionRequest<T> {
    type Output = Vec<T>;
    fn send_all(self) -> BoxFuture<'static, Result<Vec<T>>> {
        self.stream().try_collect().boxed()
    }
}

impl BulkRequest for CountRequest {
    type Output = u64;
    fn send_all(self) -> BoxFuture<'static, Result<u64>> {
        self.send().boxed()
    }
}

/// The answers of a bulk run: `(key, result)` in completion order, every key exactly once.
/// One key's failure does not stop the others.
#[must_use = "a bulk run sends nothing until its stream is polled"]
pub struct BulkRun<K, O> {
    input: Option<BoxStream<'static, (K, BoxFuture<'static, Result<O>>)>>,
    in_flight: FuturesUnordered<BoxFuture<'static, (K, Result<O>)>>,
    gate: Arc<ThrottleGate>,
    fixed: Option<usize>,
}

impl<K, O> std::fmt::Debug for BulkRun<K, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BulkRun")
            .field("in_flight", &self.in_flight.len())
            .field("input_done", &self.input.is_none())
            .field("fixed", &self.fixed)
            .finish()
    }
}

impl<K: Send + 'static, O: Send + 'static> BulkRun<K, O> {
    pub(crate) fn new<R, S>(requests: S, gate: Arc<ThrottleGate>) -> Self
    where
        R: BulkRequest<Output = O>,
        S: Stream<Item = (K, R)> + Send + 'static,
    {
        Self {
            input: Some(
                requests
                    .map(|(key, request)| (key, request.send_all()))
                    .boxed(),
            ),
            in_flight: FuturesUnordered::new(),
            gate,
            fixed: None,
        }
    }

    /// Keeps exactly `n` requests in flight instead of following the client's concurrency
    /// estimate (the estimate grows while answers are healthy and halves on throttling).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.fixed = Some(n.max(1));
        self
    }

    /// How many requests are in flight now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }
}

impl<K: Send + 'static, O: Send + 'static> Stream for BulkRun<K, O> {
    type Item = (K, Result<O>);

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let limit = this.fixed.unwrap_or_else(|| this.gate.concurrency());
        while this.in_flight.len() < limit {
            let Some(input) = this.input.as_mut() else {
                break;
            };
            match input.poll_next_unpin(cx) {
                Poll::Ready(Some((key, answer))) => this
                    .in_flight
                    .push(async move { (key, answer.await) }.boxed()),
                Poll::Ready(None) => this.input = None,
                Poll::Pending => break,
            }
        }
        match this.in_flight.poll_next_unpin(cx) {
            Poll::Ready(Some(item)) => Poll::Ready(Some(item)),
            Poll::Ready(None) if this.input.is_none() => Poll::Ready(None),
            // Nothing in flight: the input is pending (its waker is registered).
            Poll::Ready(None) | Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
#[path = "bulk_tests.rs"]
mod tests;
