//! A real `redis-server` for the Redis token cache suites: started on a free loopback port
//! without persistence, stopped (killed) on drop, restartable on the same port.
//!
//! The binary comes from Debian's `redis-server` package, which `./scripts/test` installs when
//! it is missing. The suites check [`crate::external::redis_available`] first: plain
//! `cargo test` without it skips them with one line, `./scripts/test` fails instead.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `redis-server` child process.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    password: Option<String>,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts `redis-server` on a free port of 127.0.0.1 and waits until it answers.
    ///
    /// # Panics
    /// When `redis-server` is not installed (run `./scripts/test`, which installs it), or it
    /// does not start within 10 s.
    pub fn start() -> Self {
        Self::launch(None)
    }

    /// Like [`Self::start`], with `requirepass` set: clients must authenticate.
    pub fn start_with_password(password: &str) -> Self {
        Self::launch(Some(password.to_string()))
    }

    fn launch(password: Option<String>) -> Self {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("no free loopback port");
        let dir = tempfile::tempdir().expect("temp dir for redis-server");
        let mut server = Self {
            port,
            password,
            dir,
            child: None,
        };
        server.spawn();
        server
    }

    /// `redis://127.0.0.1:{port}`, with `:{password}@` when one is required.
    pub fn url(&self) -> String {
        match &self.password {
            Some(password) => format!("redis://:{password}@127.0.0.1:{}", self.port),
            None => format!("redis://127.0.0.1:{}", self.port),
        }
    }

    /// Freezes the server (SIGSTOP): connections stay open but nothing answers, as with a hung
    /// or overloaded Redis.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Unfreezes the server (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("redis-server is not running");
        let status = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .expect("cannot run kill");
        assert!(status.success(), "kill {signal} failed");
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (as a crash or an outage would) and waits for the port to close.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.answers() {
            assert!(Instant::now() < deadline, "redis-server did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the server again on the same port (empty: no persistence).
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Runs `redis-cli -p {port} <args>` and returns its standard output.
    ///
    /// # Panics
    /// When `redis-cli` is missing or fails.
    pub fn cli(&self, args: &[&str]) -> String {
        let mut command = Command::new("redis-cli");
        command.arg("-p").arg(self.port.to_string());
        if let Some(password) = &self.password {
            command.env("REDISCLI_AUTH", password);
        }
        let output = command.args(args).output().unwrap_or_else(|e| {
            panic!(
                "cannot run redis-cli ({e}); ./scripts/test installs redis-server and redis-tools"
            )
        });
        assert!(
            output.status.success(),
            "redis-cli {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Every key and its value as `redis-cli` prints them (`--scan`, then `GET` per key).
    pub fn dump(&self) -> String {
        let mut dump = String::new();
        for key in self.cli(&["--scan"]).lines().filter(|k| !k.is_empty()) {
            dump.push_str(key);
            dump.push_str(" => ");
            dump.push_str(&self.cli(&["--no-raw", "GET", key]));
        }
        dump
    }

    fn spawn(&mut self) {
        let binary = find_binary("redis-server").unwrap_or_else(|| {
            panic!(
                "redis-server is not installed: the Redis token cache tests need a real Redis. \
                 Run ./scripts/test, which installs it (Debian package redis-server), \
                 or apt-get install -y redis-server"
            )
        });
        let child = Command::new(binary)
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(
                self.password
                    .as_deref()
                    .map(|p| ["--requirepass", p])
                    .into_iter()
                    .flatten(),
            )
            .arg("--dir")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start redis-server: {e}"));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.ping() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn answers(&self) -> bool {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
    }

    /// A raw RESP `PING` answered (by `+PONG`, or `-NOAUTH` with a password).
    fn ping(&self) -> bool {
        use std::io::{Read, Write};
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
        // With a password, an unauthenticated PING answers -NOAUTH: the server is up all the same.
        let mut reply = [0u8; 1];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut reply).is_ok()
            && matches!(&reply, b"+" | b"-")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn find_binary(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([
            "/usr/bin".into(),
            "/usr/local/bin".into(),
            "/usr/sbin".into(),
        ])
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}
