//! Files: upload and download throughput of the SDK against a raw reqwest loop on the
//! emulator, in one run, and the peak memory of a 200 MiB download in a process of its own.
//!
//! - Upload: ours is `LargeFileUpload` (an upload session, 5 MiB slices from an `AsyncRead`);
//!   the baseline creates the same session with reqwest and `PUT`s the same slices.
//! - Download: ours is `client.download(".../content").send()` read as a stream; the baseline
//!   GETs `.../content` without following the redirect, then streams the pre-authenticated
//!   URL with `bytes_stream()`. Neither keeps the body.
//! - Peak memory: `graph-bench child download-ours|download-raw URL` reads the 200 MiB file
//!   and exits; `/usr/bin/time` gives its peak RSS.

use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::TryStreamExt as _;
use msgraph_typed::{ConflictBehavior, LargeFileUpload, UploadTarget};

use crate::common::{BoxError, Identity, raw_token, sdk_client};
use crate::process::{measure, median};
use crate::report::{Row, at_most, table};

/// The file size of every run.
pub const FILE_BYTES: usize = 200 * 1024 * 1024;
/// The slice both sides upload with.
const SLICE: usize = 5 * 1024 * 1024;

/// What the parent hands the benchmark.
pub struct Setup<'a> {
    pub exe: &'a Path,
    pub scratch: &'a Path,
    pub identity: &'a Identity,
    pub graph_url: &'a str,
    pub token: &'a str,
    pub user: &'a str,
    pub rounds: usize,
}

fn item_path(user: &str, name: &str) -> String {
    format!("users/{user}/drive/root:/bench/{name}:")
}

/// The rows and the section of the report.
pub async fn run(s: &Setup<'_>) -> Result<(Vec<Row>, (String, String)), BoxError> {
    let data = Bytes::from(
        (0..FILE_BYTES)
            .map(|i| (i.wrapping_mul(31) ^ (i >> 9)) as u8)
            .collect::<Vec<u8>>(),
    );
    let client = sdk_client(s.identity, s.graph_url)?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let mut up = (Vec::new(), Vec::new());
    let mut down = (Vec::new(), Vec::new());
    for round in 0..s.rounds {
        for ours_first in [round % 2 == 0, round % 2 != 0] {
            if ours_first {
                up.0.push(upload_ours(&client, s.user, &data).await?);
            } else {
                up.1.push(upload_raw(&http, s, &data).await?);
            }
        }
        for ours_first in [round % 2 == 0, round % 2 != 0] {
            if ours_first {
                down.0
                    .push(download_ours(&client, &item_path(s.user, "ours.bin")).await?);
            } else {
                down.1.push(
                    download_raw(&http, s.graph_url, s.token, &item_path(s.user, "raw.bin"))
                        .await?,
                );
            }
        }
    }
    let secs = |d: &[Duration]| median(&d.iter().map(Duration::as_secs_f64).collect::<Vec<_>>());
    let mib_s = |t: f64| FILE_BYTES as f64 / (1024.0 * 1024.0) / t;
    let (up_ours, up_raw) = (secs(&up.0), secs(&up.1));
    let (down_ours, down_raw) = (secs(&down.0), secs(&down.1));

    // Peak memory of a 200 MiB download, a process each.
    let mut env = s.identity.to_env();
    env.push(("BENCH_DOWNLOAD_PATH".into(), item_path(s.user, "ours.bin")));
    env.push(("BENCH_TOKEN".into(), s.token.to_owned()));
    let mut rss = (Vec::new(), Vec::new());
    for mode in [
        "download-ours",
        "download-raw",
        "download-ours",
        "download-raw",
    ] {
        let args = ["child".to_owned(), mode.to_owned(), s.graph_url.to_owned()];
        let run = measure(s.exe, &args, &env, &[], s.scratch)?;
        if run.stdout.trim() != FILE_BYTES.to_string() {
            return Err(
                format!("{mode} read {} bytes, not {FILE_BYTES}", run.stdout.trim()).into(),
            );
        }
        let mib = run.max_rss_kb as f64 / 1024.0;
        if mode == "download-ours" {
            rss.0.push(mib)
        } else {
            rss.1.push(mib)
        }
    }
    let (rss_ours, rss_raw) = (median(&rss.0), median(&rss.1));

    let mb = FILE_BYTES / (1024 * 1024);
    let rows = vec![
        Row {
            number: "F",
            measurement: format!(
                "upload of {mb} MiB through an upload session (5 MiB slices), emulator: time"
            ),
            ours: format!("{up_ours:.2} s ({:.0} MiB/s)", mib_s(up_ours)),
            reference: format!("{up_raw:.2} s ({:.0} MiB/s)", mib_s(up_raw)),
            ratio: format!("{:.3}x", up_ours / up_raw),
            goal: "-".into(),
            result: "-".into(),
        },
        Row {
            number: "F",
            measurement: format!(
                "download of {mb} MiB as a stream (302 to the content origin), emulator: time"
            ),
            ours: format!("{down_ours:.2} s ({:.0} MiB/s)", mib_s(down_ours)),
            reference: format!("{down_raw:.2} s ({:.0} MiB/s)", mib_s(down_raw)),
            ratio: format!("{:.3}x", down_ours / down_raw),
            goal: "-".into(),
            result: "-".into(),
        },
        Row {
            number: "F",
            measurement: format!("download of {mb} MiB as a stream: peak RSS of the process"),
            ours: format!("{rss_ours:.1} MiB"),
            reference: format!("{rss_raw:.1} MiB"),
            ratio: format!("{:.3}x", rss_ours / rss_raw),
            goal: "flat: <= 32 MiB".into(),
            result: at_most(rss_ours, 32.0),
        },
    ];
    let each = |v: &[Duration]| {
        v.iter()
            .map(|d| format!("{:.2}", d.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let detail = table(
        &["step", "ours s (each round)", "baseline s (each round)"],
        &[
            vec!["upload".into(), each(&up.0), each(&up.1)],
            vec!["download".into(), each(&down.0), each(&down.1)],
        ],
    );
    let section = format!(
        "A {mb} MiB file on the emulator (in memory, loopback), {} rounds alternating which side goes first; medians. Upload: ours `LargeFileUpload::create` + `upload(&bytes[..])` (slices read from an `AsyncRead`, no `Authorization` on the content origin); baseline: reqwest creating the same session and `PUT`ting 5 MiB `Bytes` slices with `Content-Range`. Download: ours `client.download(path).send()` consumed as a stream; baseline: reqwest `GET .../content` (redirects off), then the `Location` streamed with `bytes_stream()`. Peak RSS: `graph-bench child download-ours|download-raw` (a process each, twice, median), reading the whole file and keeping none of it.\n\n{detail}\n\nPeak RSS (MiB, each run): ours {:?}, baseline {:?}.",
        s.rounds, rss.0, rss.1
    );
    Ok((
        rows,
        ("F. Files: uploads and downloads".to_owned(), section),
    ))
}

async fn upload_ours(
    client: &msgraph_typed::GraphClient,
    user: &str,
    data: &Bytes,
) -> Result<Duration, BoxError> {
    let started = Instant::now();
    let body = serde_json::json!({"item": {"@microsoft.graph.conflictBehavior": ConflictBehavior::Replace.as_str()}});
    let mut upload = LargeFileUpload::create(
        client.client(),
        &format!("{}/createUploadSession", item_path(user, "ours.bin")),
        &body,
        UploadTarget::DriveItem,
        data.len() as u64,
    )
    .await?;
    let done = upload.upload::<_, serde_json::Value>(&data[..]).await?;
    std::hint::black_box(done.item);
    Ok(started.elapsed())
}

async fn upload_raw(
    http: &reqwest::Client,
    s: &Setup<'_>,
    data: &Bytes,
) -> Result<Duration, BoxError> {
    let started = Instant::now();
    let created: serde_json::Value = http
        .post(format!(
            "{}/{}/createUploadSession",
            s.graph_url,
            item_path(s.user, "raw.bin")
        ))
        .bearer_auth(s.token)
        .json(&serde_json::json!({"item": {"@microsoft.graph.conflictBehavior": "replace"}}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let url = created["uploadUrl"]
        .as_str()
        .ok_or("no uploadUrl")?
        .to_owned();
    let total = data.len();
    let mut start = 0;
    while start < total {
        let end = (start + SLICE).min(total);
        let answer = http
            .put(&url)
            .header(
                "content-range",
                format!("bytes {start}-{}/{total}", end - 1),
            )
            .body(data.slice(start..end))
            .send()
            .await?
            .error_for_status()?;
        std::hint::black_box(answer.bytes().await?);
        start = end;
    }
    Ok(started.elapsed())
}

/// Ours: the SDK's streaming download; bytes read.
pub async fn download_ours(
    client: &msgraph_typed::GraphClient,
    item: &str,
) -> Result<Duration, BoxError> {
    let started = Instant::now();
    let n = read_ours(client, item).await?;
    if n != FILE_BYTES {
        return Err(format!("read {n} bytes").into());
    }
    Ok(started.elapsed())
}

pub async fn read_ours(client: &msgraph_typed::GraphClient, item: &str) -> Result<usize, BoxError> {
    let stream = client
        .client()
        .download(format!("{item}/content"))
        .send()
        .await?;
    Ok(stream
        .try_fold(0usize, |n, chunk| async move { Ok(n + chunk.len()) })
        .await?)
}

async fn download_raw(
    http: &reqwest::Client,
    graph_url: &str,
    token: &str,
    item: &str,
) -> Result<Duration, BoxError> {
    let started = Instant::now();
    let n = read_raw(http, graph_url, token, item).await?;
    if n != FILE_BYTES {
        return Err(format!("read {n} bytes").into());
    }
    Ok(started.elapsed())
}

/// The baseline: the redirect by hand (no token to the content origin), then a stream.
pub async fn read_raw(
    http: &reqwest::Client,
    graph_url: &str,
    token: &str,
    item: &str,
) -> Result<usize, BoxError> {
    let redirect = http
        .get(format!("{graph_url}/{item}/content"))
        .bearer_auth(token)
        .send()
        .await?;
    let location = redirect
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .ok_or("no Location")?
        .to_owned();
    let response = http.get(location).send().await?.error_for_status()?;
    let n = response
        .bytes_stream()
        .try_fold(0usize, |n, chunk| async move { Ok(n + chunk.len()) })
        .await?;
    Ok(n)
}

/// `graph-bench child download-ours|download-raw URL`: the bytes read.
pub async fn child(mode: &str, graph_url: &str, identity: &Identity) -> Result<usize, BoxError> {
    let item =
        std::env::var("BENCH_DOWNLOAD_PATH").map_err(|_| "BENCH_DOWNLOAD_PATH is not set")?;
    match mode {
        "download-ours" => read_ours(&sdk_client(identity, graph_url)?, &item).await,
        _ => {
            let http = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()?;
            let token = raw_token(&http, &identity.token_endpoint()).await?;
            read_raw(&http, graph_url, &token, &item).await
        }
    }
}
