//! A remote cache over HTTP in the Bazel HTTP cache layout: `GET`/`PUT {url}/ac/{key}` for
//! results and `{url}/cas/{sha256}` for blobs. 200 is a hit; 404 (and 204) a miss. Served
//! by nginx with WebDAV PUT, or bazel-remote with `--disable_http_ac_validation`.
//!
//! Every body read is bounded: a blob by the size the result naming it declares, a result
//! by [`HttpOptions::max_result_bytes`]. A body longer than that is an error, not a result,
//! and is never read to its end. Messages show the URL through [`crate::redact_url`].

use super::url::{redact_url, Redactor};
use super::{BlobRef, Store, StoreError};
use std::io::Read;
use std::time::Duration;
use strata_digest::{BlobDigest, TaskKey};

/// The environment variable that overrides [`HttpOptions::max_result_bytes`].
pub const MAX_RESULT_ENV: &str = "STRATA_REMOTE_CACHE_MAX_RESULT";
/// The environment variable that overrides [`HttpOptions::max_blob_bytes`].
pub const MAX_BLOB_ENV: &str = "STRATA_REMOTE_CACHE_MAX_BLOB";

#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Sent as `Authorization: Bearer <token>` when set.
    pub token: Option<String>,
    /// Bounds every request, body included.
    pub timeout: Duration,
    /// The largest result body read (results are small JSON documents; their size is not
    /// known before reading).
    pub max_result_bytes: u64,
    /// The largest blob a result may declare; a larger one is not downloaded.
    pub max_blob_bytes: u64,
    /// Whether the run was interrupted (Ctrl-C): a request in flight is then abandoned
    /// within a tenth of a second instead of holding the run until its timeout.
    pub cancelled: Option<fn() -> bool>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            token: None,
            timeout: Duration::from_secs(10),
            max_result_bytes: 16 << 20,
            max_blob_bytes: 512 << 20,
            cancelled: None,
        }
    }
}

/// A remote HTTP cache. Each request runs on a thread of its own while the caller waits for
/// its answer or an interrupt, whichever comes first.
pub struct HttpStore(std::sync::Arc<Http>);

struct Http {
    /// The URL up to its query: requests go to `{prefix}/ac/{key}{suffix}`.
    prefix: String,
    /// `?query` (sent with every request), or empty.
    suffix: String,
    redactor: Redactor,
    agent: ureq::Agent,
    /// The `Authorization` header: the bearer token, else the URL's user information.
    authorization: Option<String>,
    /// The URL as given (without a fragment), as shown.
    described: String,
    /// `prefix` as given, user information included (messages show it, redacted).
    given_prefix: String,
    options: HttpOptions,
}

/// How much of a body may be read, and why, for the message when a body is longer.
struct Limit {
    bytes: u64,
    why: String,
}

impl HttpStore {
    /// A store for the remote at `url` (`http://` or `https://`; user information is sent
    /// as Basic authentication, a query with every request).
    pub fn new(url: &str, options: HttpOptions) -> Result<HttpStore, StoreError> {
        Http::new(url, options).map(|http| HttpStore(std::sync::Arc::new(http)))
    }

    /// `request` on its own thread, unless the run is interrupted first.
    fn run<T: Send + 'static>(
        &self,
        method: &str,
        path: &str,
        request: impl FnOnce(&Http) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let Some(cancelled) = self.0.options.cancelled else {
            return request(&self.0);
        };
        if cancelled() {
            return Err(self.interrupted(method, path));
        }
        let http = self.0.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(request(&http));
        });
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(answer) => return answer,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) if cancelled() => {
                    return Err(self.interrupted(method, path))
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(StoreError::failed(self.0.message(
                        method,
                        &self.0.url(path),
                        "the request ended without an answer",
                    )))
                }
            }
        }
    }

    fn interrupted(&self, method: &str, path: &str) -> StoreError {
        StoreError::failed(self.0.message(method, &self.0.url(path), "interrupted"))
    }
}

/// Why the host and port of `url` (`scheme://host[:port]/...`, no user information) cannot
/// be connected to, if they cannot.
fn authority_problem(url: &str) -> Result<(), String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err("has a space in its host: write it without (or percent-encoded)".into());
    }
    let (host, port) = match authority.strip_prefix('[') {
        // `[::1]:8080`
        Some(v6) => match v6.split_once(']') {
            Some((host, after)) => (host, after.strip_prefix(':')),
            None => return Err("has an unclosed `[` in its host".into()),
        },
        None => match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    if host.is_empty() {
        return Err("names no host: write it as http://HOST[:PORT]/PATH".into());
    }
    if let Some(port) = port {
        if !matches!(port.parse::<u16>(), Ok(p) if p > 0) {
            return Err(format!(
                "has the port `{port}`: a port is a number from 1 to 65535"
            ));
        }
    }
    Ok(())
}

/// A URL without its fragment, cut into its part up to the query (without a trailing `/`)
/// and `?query` (or nothing).
fn path_and_query(url: &str) -> (String, String) {
    let without_fragment = url.split_once('#').map_or(url, |(u, _)| u);
    let (path, query) = match without_fragment.split_once('?') {
        Some((p, q)) => (p, format!("?{q}")),
        None => (without_fragment, String::new()),
    };
    (path.trim_end_matches('/').to_string(), query)
}

impl Http {
    fn new(url: &str, options: HttpOptions) -> Result<Http, StoreError> {
        let shown = redact_url(url);
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        if !matches!(scheme.as_deref(), Some("http" | "https")) {
            return Err(StoreError::failed(format!(
                "the remote cache URL `{shown}` is not an http:// or https:// URL"
            )));
        }
        // User information is what stands before an `@` ahead of the first `/`; strata shows
        // (and hides) everything before the last `@` as such, so that a password written
        // with a raw `/` is never shown. An `@` in the path would make the two disagree
        // (what is shown would name another host than the one asked): refused.
        let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
        let path_and_rest = after_scheme
            .find('/')
            .map_or("", |slash| &after_scheme[slash..]);
        let path_only = path_and_rest.split(['?', '#']).next().unwrap_or("");
        if path_only.contains('@') {
            return Err(StoreError::failed(format!(
                "the remote cache URL `{shown}` has `@` in its path or a `/` in its user information: write them percent-encoded (`%40`, `%2F`)"
            )));
        }
        // User information is sent as Basic authentication, decoded (ureq would send it as
        // written, `%40` and all), unless a token is set.
        let (credentials, bare) = crate::url::split_credentials(url);
        // A URL no request can reach (no host, a port out of range, a space) is a mistake
        // to say now, not a fault of every request that would leave the run uncached.
        if let Err(why) = authority_problem(&bare) {
            return Err(StoreError::failed(format!(
                "the remote cache URL `{shown}` {why}"
            )));
        }
        let authorization = match (&options.token, credentials) {
            (Some(t), _) => Some(format!("Bearer {t}")),
            (None, Some(c)) => {
                use base64::Engine;
                Some(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(c)
                ))
            }
            (None, None) => None,
        };
        // Requests go to the URL without its user information; messages show it as given.
        let (path, query) = path_and_query(&bare);
        let (given_prefix, _) = path_and_query(url);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_connect(Some(options.timeout.min(Duration::from_secs(5))))
            .timeout_global(Some(options.timeout))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(Http {
            described: redact_url(&format!("{given_prefix}{query}")),
            given_prefix,
            prefix: path,
            suffix: query,
            redactor: Redactor::new(url),
            agent,
            authorization,
            options,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{path}{}", self.prefix, self.suffix)
    }

    /// What a request's fault says: the method, the URL as shown, and why (an HTTP client
    /// error may quote the URL: it is scrubbed too).
    fn message(&self, method: &str, url: &str, why: impl std::fmt::Display) -> String {
        // The URL as the user gave it (`https://***@host/...` when it has credentials).
        let given = match url.strip_prefix(&self.prefix) {
            Some(rest) => format!("{}{rest}", self.given_prefix),
            None => url.to_string(),
        };
        format!(
            "{method} {}: {}",
            redact_url(&given),
            self.redactor.scrub(&why.to_string())
        )
    }

    /// Why ureq failed, in words (a timeout names the setting that bounds it).
    fn reason(&self, e: &ureq::Error) -> String {
        match e {
            ureq::Error::Timeout(_) => format!(
                "timed out after {}s (remote_timeout_secs)",
                self.options.timeout.as_secs()
            ),
            ureq::Error::Io(io) => match io.get_ref().and_then(|i| i.downcast_ref()) {
                Some(inner @ ureq::Error::Timeout(_)) => self.reason(inner),
                _ => e.to_string(),
            },
            e => e.to_string(),
        }
    }

    fn get(&self, path: &str, limit: Limit) -> Result<Option<Vec<u8>>, StoreError> {
        let url = self.url(path);
        let mut req = self.agent.get(&url);
        if let Some(a) = &self.authorization {
            req = req.header("Authorization", a);
        }
        let resp = req
            .call()
            .map_err(|e| StoreError::failed(self.message("GET", &url, self.reason(&e))))?;
        match resp.status().as_u16() {
            200 => {
                let body = resp.into_body();
                let too_long = || format!("the body is larger than {}", limit.why);
                if body.content_length().is_some_and(|n| n > limit.bytes) {
                    return Err(StoreError::damaged(self.message("GET", &url, too_long())));
                }
                // Memory is taken as bytes arrive, not for what the server announces.
                let mut bytes = Vec::with_capacity(limit.bytes.min(1 << 20) as usize);
                body.into_reader()
                    .take(limit.bytes + 1)
                    .read_to_end(&mut bytes)
                    .map_err(|e| {
                        StoreError::failed(self.message(
                            "GET",
                            &url,
                            self.reason(&ureq::Error::Io(e)),
                        ))
                    })?;
                if bytes.len() as u64 > limit.bytes {
                    return Err(StoreError::damaged(self.message("GET", &url, too_long())));
                }
                Ok(Some(bytes))
            }
            404 | 204 => Ok(None),
            code => Err(StoreError::failed(self.message(
                "GET",
                &url,
                format!("HTTP {code}"),
            ))),
        }
    }

    fn put(&self, path: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let url = self.url(path);
        let mut req = self.agent.put(&url);
        if let Some(a) = &self.authorization {
            req = req.header("Authorization", a);
        }
        let resp = req
            .send(bytes)
            .map_err(|e| StoreError::failed(self.message("PUT", &url, self.reason(&e))))?;
        match resp.status().as_u16() {
            200 | 201 | 204 => Ok(()),
            code => Err(StoreError::failed(self.message(
                "PUT",
                &url,
                format!("HTTP {code}"),
            ))),
        }
    }
}

/// `n` bytes for people: `5 bytes`, `16 MiB`, `1.5 GiB`.
pub fn format_size(n: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (size, unit) in UNITS {
        if n >= size {
            return if n.is_multiple_of(size) {
                format!("{} {unit}", n / size)
            } else {
                format!("{:.1} {unit}", n as f64 / size as f64)
            };
        }
    }
    if n == 1 {
        "1 byte".into()
    } else {
        format!("{n} bytes")
    }
}

/// Parses a size: bytes, or a number with `K`, `M`, `G` or `T` (powers of 1024; `MB`,
/// `MiB` and `m` mean the same).
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let unit = unit.to_ascii_uppercase();
    let shift = match unit.trim_end_matches("IB").trim_end_matches('B') {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return None,
    };
    num.trim().parse::<u64>().ok()?.checked_mul(1 << shift)
}

impl Store for HttpStore {
    fn describe(&self) -> String {
        self.0.described.clone()
    }
    fn get_result(&self, key: &TaskKey) -> Result<Option<Vec<u8>>, StoreError> {
        let max = self.0.options.max_result_bytes;
        let limit = Limit {
            bytes: max,
            why: format!(
                "{}, the limit for results ({MAX_RESULT_ENV})",
                format_size(max)
            ),
        };
        let path = format!("ac/{}", key.to_hex());
        self.run("GET", &path.clone(), move |http| http.get(&path, limit))
    }
    fn put_result(&self, key: &TaskKey, bytes: &[u8]) -> Result<(), StoreError> {
        let path = format!("ac/{}", key.to_hex());
        let bytes = bytes.to_vec();
        self.run("PUT", &path.clone(), move |http| http.put(&path, &bytes))
    }
    fn get_blob(&self, blob: &BlobRef) -> Result<Option<Vec<u8>>, StoreError> {
        let path = format!("cas/{}", blob.digest.to_hex());
        let max = self.0.options.max_blob_bytes;
        if blob.size > max {
            return Err(StoreError::damaged(self.0.message(
                "GET",
                &self.0.url(&path),
                format!(
                    "not downloaded: its result declares {}, more than {}, the limit for blobs ({MAX_BLOB_ENV})",
                    format_size(blob.size),
                    format_size(max)
                ),
            )));
        }
        let limit = Limit {
            bytes: blob.size,
            why: format!("{}, the size its result declares", format_size(blob.size)),
        };
        self.run("GET", &path.clone(), move |http| http.get(&path, limit))
    }
    fn put_blob(&self, digest: &BlobDigest, bytes: &[u8]) -> Result<(), StoreError> {
        let path = format!("cas/{}", digest.to_hex());
        let bytes = bytes.to_vec();
        self.run("PUT", &path.clone(), move |http| http.put(&path, &bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("16M"), Some(16 << 20));
        assert_eq!(parse_size("2GiB"), Some(2 << 30));
        assert_eq!(parse_size("1mb"), Some(1 << 20));
        assert_eq!(parse_size("1048576"), Some(1 << 20));
        assert_eq!(parse_size("10X"), None);
        assert_eq!(parse_size(""), None);
        assert_eq!(parse_size("99999999999T"), None);
        assert_eq!(format_size(5), "5 bytes");
        assert_eq!(format_size(16 << 20), "16 MiB");
        assert_eq!(format_size(3 << 29), "1.5 GiB");
    }

    #[test]
    fn urls_no_request_can_reach_are_refused_up_front() {
        for (url, why) in [
            ("http://", "names no host"),
            ("http:///cache", "names no host"),
            ("http://:8080/cache", "names no host"),
            ("http://user:pw@/cache", "names no host"),
            ("http://127.0.0.1:99999/cache", "port `99999`"),
            ("http://127.0.0.1:0/cache", "port `0`"),
            ("http://127.0.0.1:x/cache", "port `x`"),
            ("http://bad host/cache", "space"),
            ("http://[::1/cache", "unclosed"),
        ] {
            let e = HttpStore::new(url, HttpOptions::default())
                .err()
                .unwrap_or_else(|| panic!("{url} accepted"));
            assert!(e.to_string().contains(why), "{url}: {e}");
        }
        for url in [
            "http://127.0.0.1:8080/cache",
            "https://cache.example.com/c?token=x",
            "http://[::1]:9090/c",
            "http://u:p@host/c",
            "http://host",
        ] {
            assert!(HttpStore::new(url, HttpOptions::default()).is_ok(), "{url}");
        }
    }

    /// Serves one canned answer per connection to `answers.len()` connections.
    fn serve(answers: Vec<Vec<u8>>) -> String {
        use std::io::Write;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/c", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for answer in answers {
                let (mut stream, _) = listener.accept().unwrap();
                let mut head = [0u8; 4096];
                let _ = stream.read(&mut head);
                let _ = stream.write_all(&answer);
            }
        });
        url
    }

    fn answer(headers: &str, body: &[u8]) -> Vec<u8> {
        let mut out = format!("HTTP/1.1 200 OK\r\nConnection: close\r\n{headers}\r\n").into_bytes();
        out.extend_from_slice(body);
        out
    }

    static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

    fn interrupted() -> bool {
        INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
    }

    #[test]
    fn an_interrupt_abandons_a_request_that_gets_no_answer() {
        // A server that accepts and never answers.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/c", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept() {
                held.push(stream);
            }
        });
        let options = HttpOptions {
            timeout: Duration::from_secs(30),
            cancelled: Some(interrupted),
            ..HttpOptions::default()
        };
        let store = HttpStore::new(&url, options).unwrap();
        std::thread::spawn(|| {
            std::thread::sleep(Duration::from_millis(300));
            INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        let start = std::time::Instant::now();
        let err = store.get_result(&TaskKey([2; 32])).unwrap_err();
        assert!(err.message.contains("interrupted"), "{}", err.message);
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
        // Once interrupted, no request starts.
        let err = store.put_blob(&BlobDigest::of(b"x"), b"x").unwrap_err();
        assert!(err.message.contains("interrupted"), "{}", err.message);
    }

    #[test]
    fn bodies_are_read_up_to_their_limit_and_no_further() {
        let blob = |size| BlobRef {
            digest: BlobDigest::of(b"abcde"),
            size,
        };
        let url = serve(vec![
            answer("", b"abcde"),
            answer("", b"abcdef"),
            answer("Content-Length: 1000000000\r\n", b"abc"),
            answer("", &[b'x'; 4096]),
        ]);
        let options = HttpOptions {
            max_result_bytes: 1000,
            max_blob_bytes: 100,
            ..HttpOptions::default()
        };
        let store = HttpStore::new(&url, options).unwrap();
        assert_eq!(store.get_blob(&blob(5)).unwrap().unwrap(), b"abcde");
        // Longer than allowed: the server answered, with something that cannot be the entry.
        let damaged = |e: StoreError| {
            assert!(e.damaged, "{}", e.message);
            e.message
        };
        let err = damaged(store.get_blob(&blob(5)).unwrap_err());
        assert!(
            err.contains("the body is larger than 5 bytes, the size its result declares"),
            "{err}"
        );
        let err = damaged(store.get_blob(&blob(5)).unwrap_err());
        assert!(err.contains("larger than 5 bytes"), "{err}");
        let err = damaged(store.get_result(&TaskKey([1; 32])).unwrap_err());
        assert!(
            err.contains("larger than 1000 bytes, the limit for results"),
            "{err}"
        );
        // Too large to ask for at all.
        let err = damaged(store.get_blob(&blob(101)).unwrap_err());
        assert!(err.contains("not downloaded"), "{err}");
    }

    #[test]
    fn only_http_urls_are_accepted_and_errors_hide_credentials() {
        let err = HttpStore::new("ftp://u:secret-pw@h/c", HttpOptions::default())
            .err()
            .unwrap()
            .message;
        assert!(err.contains("ftp://***@h/c"), "{err}");
        assert!(!err.contains("secret-pw"), "{err}");
        let store = HttpStore::new(
            "http://u:secret-pw@h/c/?token=tk-1234#x",
            HttpOptions::default(),
        )
        .unwrap();
        // The user information goes in the Authorization header, not in the request's URL.
        assert_eq!(store.0.url("ac/00"), "http://h/c/ac/00?token=tk-1234");
        assert_eq!(store.describe(), "http://***@h/c?token=***");
        // However short the password, the request's URL is shown without it.
        let store = HttpStore::new("http://u:pw@127.0.0.1:1/c", HttpOptions::default()).unwrap();
        let err = store.get_result(&TaskKey([0; 32])).unwrap_err();
        assert!(!err.damaged, "a refused connection is a failed request");
        let err = err.message;
        assert!(
            err.starts_with("GET http://***@127.0.0.1:1/c/ac/000"),
            "{err}"
        );
        assert!(!err.contains("pw"), "{err}");
    }

    /// A password holding `@` or `:` can only be written percent-encoded in a URL: it is
    /// sent decoded, as Basic authentication means it; a bearer token takes its place.
    #[test]
    fn user_information_is_sent_decoded_as_basic_authentication() {
        use base64::Engine;
        let sent = |url: &str, token: Option<&str>| {
            let options = HttpOptions {
                token: token.map(str::to_string),
                ..HttpOptions::default()
            };
            HttpStore::new(url, options)
                .unwrap()
                .0
                .authorization
                .clone()
        };
        let basic = |creds: &str| {
            Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(creds)
            ))
        };
        assert_eq!(sent("https://ci:p%40ss@h/c", None), basic("ci:p@ss"));
        assert_eq!(sent("https://c%3Ai:a%3Ab%2F@h/c", None), basic("c:i:a:b/"));
        assert_eq!(sent("https://tok@h/c", None), basic("tok:"));
        assert_eq!(
            sent("https://ci:pw@h/c", Some("t")),
            Some("Bearer t".into())
        );
        assert_eq!(sent("https://h/c", None), None);
        // An `@` after the host: the URL names another host than the one it seems to.
        for url in [
            "http://127.0.0.1:1/open/@127.0.0.2:1/elsewhere",
            "http://u:pa/ss@h/c",
        ] {
            let err = HttpStore::new(url, HttpOptions::default())
                .err()
                .unwrap()
                .message;
            assert!(err.contains("percent-encoded"), "{err}");
            assert!(!err.contains("pa/ss"), "{err}");
        }
        assert!(HttpStore::new("http://h/c%40x?q=a@b", HttpOptions::default()).is_ok());
    }
}
