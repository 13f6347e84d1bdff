//! A loopback server that speaks https *and* plain http on one port, for the case where a
//! redirect changes only the scheme: `https://127.0.0.1:P/...` answers 307 with
//! `Location: http://127.0.0.1:P/landing`, and the plain-http side records whether the request
//! that arrives there carries `Authorization`. A redirect-following HTTP client that kept the
//! header on a same-host, same-port downgrade would send the token in clear text here.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

/// What reached the plain-http side.
#[derive(Debug, Clone, Default)]
pub struct PlainRequest {
    /// The request line, e.g. `GET /landing HTTP/1.1`.
    pub request_line: String,
    /// Whether an `Authorization` header came with it.
    pub had_authorization: bool,
}

/// The server; dropping it stops accepting.
pub struct DowngradeServer {
    port: u16,
    certificate_pem: String,
    tls_requests: Arc<AtomicUsize>,
    plain: Arc<Mutex<Vec<PlainRequest>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for DowngradeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl DowngradeServer {
    /// Starts on a free loopback port with a fresh self-signed certificate for 127.0.0.1.
    pub async fn start() -> Self {
        let key = rcgen::KeyPair::generate().expect("a key pair");
        let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
            .expect("certificate parameters");
        let certificate = params.self_signed(&key).expect("a self-signed certificate");
        let certificate_pem = certificate.pem();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![certificate.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .expect("a TLS server configuration");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let port = listener.local_addr().expect("an address").port();
        let tls_requests = Arc::new(AtomicUsize::new(0));
        let plain = Arc::new(Mutex::new(Vec::new()));
        let (tls_count, plain_log) = (tls_requests.clone(), plain.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (acceptor, tls_count, plain_log) =
                    (acceptor.clone(), tls_count.clone(), plain_log.clone());
                tokio::spawn(async move {
                    let mut first = [0u8; 1];
                    if stream.peek(&mut first).await.unwrap_or(0) == 0 {
                        return;
                    }
                    if first[0] == 0x16 {
                        // A TLS ClientHello: the https side redirects to plain http.
                        let Ok(mut tls) = acceptor.accept(stream).await else {
                            return;
                        };
                        while read_head(&mut tls).await.is_some() {
                            tls_count.fetch_add(1, Ordering::SeqCst);
                            let answer = format!(
                                "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:{port}/landing\r\nContent-Length: 0\r\n\r\n"
                            );
                            if tls.write_all(answer.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                    } else {
                        let mut stream = stream;
                        while let Some(head) = read_head(&mut stream).await {
                            let request_line = head.lines().next().unwrap_or_default().to_string();
                            let had_authorization = head
                                .lines()
                                .any(|l| l.to_ascii_lowercase().starts_with("authorization:"));
                            plain_log.lock().push(PlainRequest {
                                request_line,
                                had_authorization,
                            });
                            let body = r#"{"value":[]}"#;
                            let answer = format!(
                                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                                body.len()
                            );
                            if stream.write_all(answer.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        Self {
            port,
            certificate_pem,
            tls_requests,
            plain,
            task,
        }
    }

    /// The https root, e.g. `https://127.0.0.1:PORT`.
    pub fn https_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// The self-signed certificate to trust (PEM).
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// Requests answered on the https side.
    pub fn tls_requests(&self) -> usize {
        self.tls_requests.load(Ordering::SeqCst)
    }

    /// Requests that reached the plain-http side.
    pub fn plain_requests(&self) -> Vec<PlainRequest> {
        self.plain.lock().clone()
    }
}

/// Reads one request head (up to the blank line), ignoring any body (the tests send GETs);
/// `None` at end of stream or on garbage.
async fn read_head<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 64 * 1024 || stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    String::from_utf8(head).ok()
}
