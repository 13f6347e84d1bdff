//! Sends a pack of bulk items as one `$batch` with the batch builder (its re-batching of
//! throttled items and its retry rule included) and hands each item its own answer.

use crate::batch::BatchBuilder;
use crate::client::Client;
use crate::error::Error;

use super::item::{Finished, Packable};

/// Sends `pack` as one `$batch` through `client`; every key gets its answer. When the
/// `$batch` call itself fails, every item fails with that error.
pub(super) async fn send_pack<K, O>(
    client: Client,
    pack: Vec<(K, Packable<O>)>,
) -> Vec<(K, Finished<O>)> {
    let mut batch = BatchBuilder::new(client);
    let mut waiting = Vec::with_capacity(pack.len());
    for (index, (key, item)) in pack.into_iter().enumerate() {
        let id = (index + 1).to_string();
        batch.add_spec(id.clone(), item.spec);
        waiting.push((key, id, item.finish));
    }
    match batch.send().await {
        Ok(mut answers) => waiting
            .into_iter()
            .map(|(key, id, finish)| {
                let answer = answers.take(&id).ok_or_else(|| {
                    Error::invalid(format!("the $batch response has no item {id:?}"))
                });
                (key, finish(answer))
            })
            .collect(),
        Err(error) => waiting
            .into_iter()
            .map(|(key, _, finish)| (key, finish(Err(error.replicate()))))
            .collect(),
    }
}
