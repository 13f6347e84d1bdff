//! Cached-token lookup cost per call (issue 7, benchmark 5): `ClientSecretCredential::get_token`
//! on a warm in-memory cache, as the pipeline's auth step calls it before every request.
//! The first token comes from a local emulator; every measured call is a cache hit.

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use msgraph_typed_auth::{
    ClientAuthentication, ClientSecretCredential, Cloud, CredentialOptions, MemoryTokenCache,
    TokenCredential, TokenRequest,
};
use msgraph_typed_emulator::{Emulator, seeded};

const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";

fn cached_token_lookup(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let (emulator, credential) = rt.block_on(async {
        let emulator = Emulator::builder()
            .start()
            .await
            .expect("the emulator starts");
        let cloud =
            Cloud::custom(&emulator.authority_url(), emulator.url()).expect("loopback cloud");
        let credential = ClientSecretCredential::with_options(
            emulator.tenant_id(),
            seeded::DAEMON_CLIENT_ID,
            ClientAuthentication::secret(seeded::DAEMON_CLIENT_SECRET),
            CredentialOptions::default()
                .with_cloud(cloud)
                .with_cache(Arc::new(MemoryTokenCache::new())),
        )
        .expect("a credential");
        (emulator, credential)
    });
    let request = TokenRequest::new([GRAPH_SCOPE]);
    rt.block_on(credential.get_token(&request))
        .expect("the first token");
    let before = emulator.control().token_requests();

    c.bench_function("cached_token_lookup", |b| {
        b.to_async(&rt).iter(|| async {
            let token = credential
                .get_token(&request)
                .await
                .expect("a cached token");
            std::hint::black_box(token);
        })
    });
    assert_eq!(
        emulator.control().token_requests(),
        before,
        "every measured call was a cache hit"
    );
    rt.block_on(emulator.shutdown());
}

criterion_group!(benches, cached_token_lookup);
criterion_main!(benches);
