//! A remote cache over HTTP in the Bazel HTTP cache layout: `GET`/`PUT {url}/ac/{key}` for
//! results and `{url}/cas/{sha256}` for blobs. 200 is a hit; 404 (and 204) a miss. Served
//! by nginx with WebDAV PUT, or bazel-remote with `--disable_http_ac_validation`.

use super::{Store, StoreError};
use std::io::Read;
use std::time::Duration;
use strata_digest::{BlobDigest, TaskKey};

/// The largest blob strata downloads (a render or plan JSON is far smaller).
const MAX_BODY: u64 = 512 * 1024 * 1024;

pub struct HttpStore {
    base: String,
    agent: ureq::Agent,
    token: Option<String>,
    timeout: Duration,
}

impl HttpStore {
    /// `token`: sent as `Authorization: Bearer <token>` when set.
    pub fn new(url: &str, token: Option<String>, timeout: Duration) -> HttpStore {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_connect(Some(timeout.min(Duration::from_secs(5))))
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        HttpStore {
            base: url.trim_end_matches('/').to_string(),
            agent,
            token,
            timeout,
        }
    }

    /// Why ureq failed, in words (a timeout names the setting that bounds it).
    fn reason(&self, e: &ureq::Error) -> String {
        match e {
            ureq::Error::Timeout(_) => format!(
                "timed out after {}s (remote_timeout_secs)",
                self.timeout.as_secs()
            ),
            ureq::Error::Io(io) => match io.get_ref().and_then(|i| i.downcast_ref()) {
                Some(inner @ ureq::Error::Timeout(_)) => self.reason(inner),
                _ => e.to_string(),
            },
            e => e.to_string(),
        }
    }

    fn get(&self, path: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let url = format!("{}/{path}", self.base);
        let mut req = self.agent.get(&url);
        if let Some(t) = &self.token {
            req = req.header("Authorization", &format!("Bearer {t}"));
        }
        let resp = req
            .call()
            .map_err(|e| StoreError(format!("GET {url}: {}", self.reason(&e))))?;
        match resp.status().as_u16() {
            200 => {
                let mut body = Vec::new();
                resp.into_body()
                    .into_reader()
                    .take(MAX_BODY)
                    .read_to_end(&mut body)
                    .map_err(|e| {
                        StoreError(format!("GET {url}: {}", self.reason(&ureq::Error::Io(e))))
                    })?;
                Ok(Some(body))
            }
            404 | 204 => Ok(None),
            code => Err(StoreError(format!("GET {url}: HTTP {code}"))),
        }
    }

    fn put(&self, path: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let url = format!("{}/{path}", self.base);
        let mut req = self.agent.put(&url);
        if let Some(t) = &self.token {
            req = req.header("Authorization", &format!("Bearer {t}"));
        }
        let resp = req
            .send(bytes)
            .map_err(|e| StoreError(format!("PUT {url}: {}", self.reason(&e))))?;
        match resp.status().as_u16() {
            200 | 201 | 204 => Ok(()),
            code => Err(StoreError(format!("PUT {url}: HTTP {code}"))),
        }
    }
}

impl Store for HttpStore {
    fn describe(&self) -> String {
        self.base.clone()
    }
    fn get_result(&self, key: &TaskKey) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(&format!("ac/{}", key.to_hex()))
    }
    fn put_result(&self, key: &TaskKey, bytes: &[u8]) -> Result<(), StoreError> {
        self.put(&format!("ac/{}", key.to_hex()), bytes)
    }
    fn get_blob(&self, digest: &BlobDigest) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(&format!("cas/{}", digest.to_hex()))
    }
    fn put_blob(&self, digest: &BlobDigest, bytes: &[u8]) -> Result<(), StoreError> {
        self.put(&format!("cas/{}", digest.to_hex()), bytes)
    }
}
