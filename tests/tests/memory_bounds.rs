//! Bounded memory on any response: a server that never stops sending (no `Content-Length`,
//! chunked) gets a typed error once the limit is passed, and the process never holds more than
//! about the limit. This binary's allocator refuses (and so aborts the test) any allocation
//! past a hard cap set around each request, so an SDK that buffered without a limit could not
//! pass.

use std::time::Duration;

use msgraph_typed_auth::{
    AuthError, ClientAuthentication, ClientSecretCredential, Cloud, CredentialOptions,
    TokenCredential, TokenRequest,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[global_allocator]
static ALLOCATOR: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);

/// Serves, to every connection, a 200 whose chunked JSON body goes on for up to 1 GiB.
async fn endless_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = [0u8; 4096];
                let _ = stream.read(&mut head).await;
                let start = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
                if stream.write_all(start.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, " ".repeat(64 * 1024));
                let opening = "1\r\n[\r\n";
                if stream.write_all(opening.as_bytes()).await.is_err() {
                    return;
                }
                for _ in 0..16 * 1024 {
                    if stream.write_all(chunk.as_bytes()).await.is_err() {
                        return; // the client stopped reading: what we want
                    }
                }
            });
        }
    });
    format!("http://{address}")
}

/// One capped test at a time: the cap is process-wide.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs `work` with allocations capped at what is allocated now plus `headroom`.
async fn with_headroom<T>(headroom: usize, work: impl std::future::Future<Output = T>) -> T {
    let _serial = SERIAL.lock().await;
    ALLOCATOR
        .set_limit(ALLOCATOR.allocated() + headroom)
        .unwrap();
    let out = work.await;
    ALLOCATOR.set_limit(usize::MAX).unwrap();
    out
}

#[tokio::test(flavor = "current_thread")]
async fn an_endless_graph_response_stops_at_the_limit_and_memory_stays_bounded() {
    let server = endless_server().await;
    let client = msgraph_typed_core::Client::builder()
        .base_url(&format!("{server}/v1.0"))
        .max_response_bytes(16 * 1024 * 1024)
        .build()
        .unwrap();
    // 16 MiB of body allowed, 48 MiB of headroom in all; the server would send 1 GiB.
    let error = with_headroom(
        48 * 1024 * 1024,
        client
            .collection::<serde_json::Value>("users")
            .with_options(
                msgraph_typed_core::RequestOptions::new().with_timeout(Duration::from_secs(30)),
            )
            .send(),
    )
    .await
    .unwrap_err();
    assert!(error.is_response_too_large(), "{error}");
}

#[tokio::test(flavor = "current_thread")]
async fn an_endless_token_response_stops_at_the_limit_and_memory_stays_bounded() {
    let server = endless_server().await;
    let credential = ClientSecretCredential::with_options(
        "tenant",
        "app",
        ClientAuthentication::secret("secret"),
        CredentialOptions::default()
            .with_cloud(Cloud::custom(&format!("{server}/"), &format!("{server}/")).unwrap()),
    )
    .unwrap();
    // The default token limit is 1 MiB: 16 MiB of headroom is plenty.
    let error = with_headroom(
        16 * 1024 * 1024,
        credential.get_token(&TokenRequest::new(["https://graph.microsoft.com/.default"])),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, AuthError::ResponseTooLarge { status: 200, .. }),
        "{error:?}"
    );
}
