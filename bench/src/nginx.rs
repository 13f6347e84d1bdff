//! The off-the-shelf static server: nginx serving pre-generated Graph pages from files, so the
//! server costs (almost) nothing and is not the project's own code.
//!
//! The users come from the emulator once (its `/users` pages, which carry Graph's default
//! properties); they are written as pages of 999 with next links to the site's own origin, and
//! the first users also one by one at `/v1.0/users/{id}`. Each site is one nginx `server` on
//! its own loopback port, so every client sees `http://127.0.0.1:PORT/v1.0` as its Graph root.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::BoxError;

/// One site: a tenant's users as static pages.
#[derive(Debug, Clone)]
pub struct Site {
    pub name: &'static str,
    pub port: u16,
    /// Users listed by `/v1.0/users`.
    pub users: usize,
    pub pages: usize,
    /// Bytes of all pages together.
    pub bytes: u64,
    /// Users also served one by one at `/v1.0/users/{id}` (the first ones), by id.
    pub single_ids: Vec<String>,
}

impl Site {
    /// The Graph root clients use.
    pub fn graph_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1.0", self.port)
    }
}

/// A free loopback port (bound and released; nginx binds it next).
fn free_port() -> Result<u16, BoxError> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Writes `users` as a site under `root/name`: pages of `page_size` at `/v1.0/users` (page 0)
/// and `/v1.0/users/pages/N`, and the first `singles` users at `/v1.0/users/{id}`.
pub fn write_site(
    root: &Path,
    name: &'static str,
    users: &[serde_json::Value],
    page_size: usize,
    singles: usize,
) -> Result<Site, BoxError> {
    let port = free_port()?;
    let dir = root.join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let pages_dir = dir.join("v1.0/users/pages");
    std::fs::create_dir_all(&pages_dir)?;
    let origin = format!("http://127.0.0.1:{port}");
    let chunks: Vec<&[serde_json::Value]> = users.chunks(page_size.max(1)).collect();
    let mut bytes = 0;
    for (i, chunk) in chunks.iter().enumerate() {
        let mut page = serde_json::json!({
            "@odata.context": format!("{origin}/v1.0/$metadata#users"),
            "value": chunk,
        });
        if i + 1 < chunks.len() {
            page["@odata.nextLink"] =
                serde_json::Value::String(format!("{origin}/v1.0/users/pages/{}", i + 1));
        }
        let body = serde_json::to_vec(&page)?;
        bytes += body.len() as u64;
        std::fs::write(pages_dir.join(i.to_string()), body)?;
    }
    let mut single_ids = Vec::new();
    for user in users.iter().take(singles) {
        let Some(id) = user["id"].as_str() else {
            continue;
        };
        std::fs::write(dir.join("v1.0/users").join(id), serde_json::to_vec(user)?)?;
        single_ids.push(id.to_owned());
    }
    Ok(Site {
        name,
        port,
        users: users.len(),
        pages: chunks.len(),
        bytes,
        single_ids,
    })
}

/// A running nginx (stopped on drop).
pub struct Nginx {
    child: Child,
    pub version: String,
}

impl Drop for Nginx {
    /// SIGTERM first: nginx's master then stops its workers (a SIGKILL would leave them
    /// running, orphaned, serving the ports and using CPU in the next measurements).
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The nginx binary: `NGINX` or the first `nginx` on the PATH or in `/usr/sbin`.
fn binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("NGINX") {
        return Some(path.into());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("nginx"))
        .find(|candidate| candidate.is_file())
}

/// Starts one nginx (one worker, no access log, keep-alive for the whole run) serving every
/// site under `root`, and waits until each port answers.
pub fn start(root: &Path, sites: &[&Site]) -> Result<Nginx, BoxError> {
    let bin = binary().ok_or(
        "nginx is not installed (./scripts/bench installs the Debian package nginx-light)",
    )?;
    let version = Command::new(&bin)
        .arg("-v")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_owned())
        .unwrap_or_default();
    let mut servers = String::new();
    for site in sites {
        servers.push_str(&format!(
            "  server {{\n    listen 127.0.0.1:{port};\n    root {root};\n\
             \x20   location = /v1.0/users {{ try_files /v1.0/users/pages/0 =404; }}\n\
             \x20   location / {{ try_files $uri =404; }}\n  }}\n",
            port = site.port,
            root = root.join(site.name).display(),
        ));
    }
    let conf = format!(
        "worker_processes 1;\ndaemon off;\nerror_log {dir}/error.log warn;\npid {dir}/nginx.pid;\n\
         events {{ worker_connections 1024; }}\nhttp {{\n  access_log off;\n  types {{ }}\n\
         \x20 default_type application/json;\n  sendfile on;\n  tcp_nopush on;\n\
         \x20 keepalive_requests 1000000;\n  keepalive_timeout 300s;\n\
         \x20 client_body_temp_path {dir}/tmp;\n  proxy_temp_path {dir}/tmp;\n\
         \x20 fastcgi_temp_path {dir}/tmp;\n  uwsgi_temp_path {dir}/tmp;\n  scgi_temp_path {dir}/tmp;\n\
         {servers}}}\n",
        dir = root.display(),
    );
    std::fs::create_dir_all(root.join("tmp"))?;
    let conf_path = root.join("nginx.conf");
    std::fs::write(&conf_path, conf)?;
    let child = Command::new(&bin)
        .arg("-p")
        .arg(root)
        .arg("-c")
        .arg(&conf_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?;
    let nginx = Nginx { child, version };
    for site in sites {
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", site.port)).is_err() {
            if Instant::now() > deadline {
                return Err(format!(
                    "nginx did not listen on {} (see {}/error.log)",
                    site.port,
                    root.display()
                )
                .into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    Ok(nginx)
}

/// Every user of a collection, following next links (to capture the emulator's users).
pub async fn capture_users(
    http: &reqwest::Client,
    first_url: &str,
    token: &str,
) -> Result<Vec<serde_json::Value>, BoxError> {
    let mut users = Vec::new();
    let mut next = Some(first_url.to_owned());
    while let Some(url) = next.take() {
        let mut page: serde_json::Value = http
            .get(&url)
            .bearer_auth(token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        if let Some(serde_json::Value::Array(items)) = page.get_mut("value").map(std::mem::take) {
            users.extend(items);
        }
        next = page["@odata.nextLink"].as_str().map(str::to_owned);
    }
    Ok(users)
}
