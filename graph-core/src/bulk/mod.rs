//! Bulk runs: many typed requests, each with the caller's key, run at the concurrency the
//! client's throttle gate allows, answered as a stream in completion order.
//!
//! Memory stays bounded whatever the input's size: the input is pulled only as requests can
//! start, at most the current concurrency is in flight, and each answer waits for the caller
//! to take it. Dropping the stream cancels what is in flight and sends nothing more.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use futures::stream::{BoxStream, FuturesUnordered};
use futures::{FutureExt as _, Stream, StreamExt as _};

use crate::batch::MAX_BATCH_SIZE;
use crate::client::Client;
use crate::error::Result;
use crate::pipeline::throttle::ThrottleGate;

mod item;
mod pack;

pub use item::{BulkItem, BulkRequest};
use item::{Finished, ItemKind, Packable};

/// The answers of a bulk run: `(key, result)` in completion order, every key exactly once.
/// One key's failure does not stop the others.
///
/// Requests that can travel together (reads, and the writes Graph accepts in a batch, made by
/// the client the run belongs to, without per-request options) are packed up to 20 to a
/// `$batch`; the batch re-sends its throttled items by the same retry rule as every request.
/// [`BulkRun::one_by_one`] sends every request on its own instead.
///
/// Concurrency counts requests, a `$batch` counting its items, so packing changes how many
/// HTTP calls carry the work, not how much of Graph's quota is asked for at once.
#[must_use = "a bulk run sends nothing until its stream is polled"]
pub struct BulkRun<K, O> {
    client: Client,
    input: Option<BoxStream<'static, (K, BulkItem<O>)>>,
    in_flight: FuturesUnordered<BoxFuture<'static, Done<K, O>>>,
    /// Answers not yet taken by the caller (a batch answers many keys at once).
    ready: VecDeque<(K, Result<O>)>,
    /// Requests in flight (a `$batch` counts its items).
    weight: usize,
    gate: Arc<ThrottleGate>,
    fixed: Option<usize>,
    packing: bool,
}

/// A finished future of the run: one key's answer, or a whole batch's.
enum Done<K, O> {
    One(K, Result<O>),
    Pack(Vec<(K, Finished<O>)>, usize),
}

impl<K, O> std::fmt::Debug for BulkRun<K, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BulkRun")
            .field("in_flight", &self.weight)
            .field("ready", &self.ready.len())
            .field("input_done", &self.input.is_none())
            .field("fixed", &self.fixed)
            .field("packing", &self.packing)
            .finish()
    }
}

impl<K: Send + 'static, O: Send + 'static> BulkRun<K, O> {
    pub(crate) fn new<R, S>(client: Client, requests: S, gate: Arc<ThrottleGate>) -> Self
    where
        R: BulkRequest<Output = O>,
        S: Stream<Item = (K, R)> + Send + 'static,
    {
        Self {
            client,
            input: Some(
                requests
                    .map(|(key, request)| (key, request.into_bulk_item()))
                    .boxed(),
            ),
            in_flight: FuturesUnordered::new(),
            ready: VecDeque::new(),
            weight: 0,
            gate,
            fixed: None,
            packing: true,
        }
    }

    /// Keeps exactly `n` requests in flight instead of following the client's concurrency
    /// estimate (the estimate grows while answers are healthy and halves on throttling).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.fixed = Some(n.max(1));
        self
    }

    /// Sends every request on its own instead of packing them into `$batch` calls (each then
    /// keeps its own options and retry budget).
    pub fn one_by_one(mut self) -> Self {
        self.packing = false;
        self
    }

    /// How many requests are in flight now (a `$batch` counts its items).
    pub fn in_flight(&self) -> usize {
        self.weight
    }

    fn start_one(&mut self, key: K, answer: BoxFuture<'static, Result<O>>) {
        self.weight += 1;
        self.in_flight
            .push(async move { Done::One(key, answer.await) }.boxed());
    }

    fn start_pack(&mut self, mut pack: Vec<(K, Packable<O>)>) {
        match pack.len() {
            0 => {}
            // A batch of one is only overhead.
            1 => {
                if let Some((key, item)) = pack.pop() {
                    self.start_one(key, item.send_alone());
                }
            }
            n => {
                self.weight += n;
                let client = self.client.clone();
                self.in_flight.push(
                    async move { Done::Pack(pack::send_pack(client, pack).await, n) }.boxed(),
                );
            }
        }
    }

    /// Pulls from the input while the concurrency allows, packing what can travel together.
    fn fill(&mut self, cx: &mut Context<'_>) {
        let limit = self.fixed.unwrap_or_else(|| self.gate.concurrency());
        let mut pack = Vec::new();
        while self.weight + pack.len() < limit {
            let Some(input) = self.input.as_mut() else {
                break;
            };
            match input.poll_next_unpin(cx) {
                Poll::Ready(Some((key, item))) => match item.kind {
                    ItemKind::Alone(answer) => self.start_one(key, answer),
                    ItemKind::Packable(item)
                        if self.packing && item.fits_batch_of(&self.client) =>
                    {
                        pack.push((key, *item));
                        if pack.len() == MAX_BATCH_SIZE {
                            self.start_pack(std::mem::take(&mut pack));
                        }
                    }
                    ItemKind::Packable(item) => self.start_one(key, item.send_alone()),
                },
                Poll::Ready(None) => self.input = None,
                Poll::Pending => break,
            }
        }
        self.start_pack(pack);
    }
}

// Nothing of the run is pinned in place: its futures are boxed.
impl<K, O> Unpin for BulkRun<K, O> {}

impl<K: Send + 'static, O: Send + 'static> Stream for BulkRun<K, O> {
    type Item = (K, Result<O>);

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(answer) = this.ready.pop_front() {
                return Poll::Ready(Some(answer));
            }
            this.fill(cx);
            match this.in_flight.poll_next_unpin(cx) {
                Poll::Ready(Some(Done::One(key, answer))) => {
                    this.weight -= 1;
                    return Poll::Ready(Some((key, answer)));
                }
                Poll::Ready(Some(Done::Pack(answers, weight))) => {
                    this.weight -= weight;
                    for (key, finished) in answers {
                        match finished {
                            Finished::Done(answer) => this.ready.push_back((key, answer)),
                            // A collection's next pages: an ordinary request of the run.
                            Finished::More(rest) => this.start_one(key, rest),
                        }
                    }
                }
                Poll::Ready(None) if this.input.is_none() => return Poll::Ready(None),
                // Nothing in flight: the input is pending (its waker is registered).
                Poll::Ready(None) | Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests;
