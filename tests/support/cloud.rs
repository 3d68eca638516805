//! Cloud object storage for the gcs and azurerm state backend tests, on this machine:
//! gcp-storage-emulator (a Google Cloud Storage JSON API server; started through
//! tests/support/gcs_emulator.py, which adds the write preconditions it ignores) and Azurite (Microsoft's
//! Azure Blob Storage emulator), both installed by scripts/cloud-storage/install, each on a
//! free loopback port. terraform 1.0.3's gcs and azurerm backends only reach the real hosts
//! (`storage.googleapis.com`, `<account>.blob.core.windows.net`) over HTTPS, so each server
//! sits behind a TLS-terminating CONNECT proxy (tests/support/tls_proxy.py) with a CA made
//! for the test: terraform gets `HTTPS_PROXY` and `SSL_CERT_FILE` (see [`Cloud::env`]).
//! Everything is killed on drop.
#![allow(dead_code)]

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const GCS_BUCKET: &str = "strata-tfstate";
/// The bearer token terraform sends to the emulator (which accepts any): tests grep
/// everything strata wrote for it.
pub const GCS_TOKEN: &str = "ya29.gcs-T0ken-strata-test-5e1f";
/// Not Azurite's well-known development account: terraform's storage client leaves that
/// one's name out of what it signs, as for Azurite's path-style addresses.
pub const AZURE_ACCOUNT: &str = "stratatest";
/// The account key (base64 of 32 bytes): tests grep everything strata wrote for it.
pub const AZURE_KEY: &str = "c3RyYXRhLXRlc3QtYXp1cmUta2V5LTdjMWUtOWEzYi0=";
pub const AZURE_CONTAINER: &str = "tfstate";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn installed(rel: &str) -> PathBuf {
    let path = root().join(".tools/cloud-storage").join(rel);
    assert!(
        path.exists(),
        "the cloud storage test servers are not installed, and the gcs and azurerm state \
         backend tests need them: run scripts/cloud-storage/install (scripts/test does) and \
         run the tests again"
    );
    path
}

fn support(file: &str) -> PathBuf {
    root().join("tests/support").join(file)
}

fn wait_listening(port: u16, what: &str) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{what} did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn quiet(cmd: &mut Command) -> &mut Command {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
}

fn run_ok(cmd: &mut Command, what: &str) -> Vec<u8> {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A storage server behind its TLS proxy.
pub struct Cloud {
    server: Child,
    proxy: Child,
    server_port: u16,
    proxy_port: u16,
    /// The CA and the proxy's key and certificate.
    pki: tempfile::TempDir,
    /// Azurite keeps its blobs here.
    _data: tempfile::TempDir,
}

/// A CA, and a certificate it signed for `hosts`, in `dir` (`ca.pem`, `host.pem`,
/// `host.key`), made with openssl.
fn make_pki(dir: &Path, hosts: &[&str]) {
    let ssl = |args: &[&str]| {
        run_ok(
            Command::new("openssl").args(args).current_dir(dir),
            &format!("openssl {}", args[0]),
        )
    };
    ssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=strata test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    ssl(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-subj",
        &format!("/CN={}", hosts[0]),
        "-keyout",
        "host.key",
        "-out",
        "host.csr",
    ]);
    let names: Vec<String> = hosts.iter().map(|h| format!("DNS:{h}")).collect();
    std::fs::write(
        dir.join("ext"),
        format!("subjectAltName={}\n", names.join(",")),
    )
    .unwrap();
    ssl(&[
        "x509",
        "-req",
        "-in",
        "host.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "ext",
        "-out",
        "host.pem",
    ]);
}

impl Cloud {
    fn behind_proxy(
        server: Child,
        server_port: u16,
        hosts: &[&str],
        data: tempfile::TempDir,
    ) -> Cloud {
        wait_listening(server_port, "the storage emulator");
        let pki = tempfile::tempdir().unwrap();
        make_pki(pki.path(), hosts);
        let proxy_port = crate::common::free_port();
        let proxy = quiet(Command::new("python3").arg(support("tls_proxy.py")).args([
            &proxy_port.to_string(),
            &server_port.to_string(),
            pki.path().join("host.pem").to_str().unwrap(),
            pki.path().join("host.key").to_str().unwrap(),
        ]))
        .spawn()
        .unwrap();
        wait_listening(proxy_port, "the TLS proxy");
        Cloud {
            server,
            proxy,
            server_port,
            proxy_port,
            pki,
            _data: data,
        }
    }

    /// gcp-storage-emulator with the state bucket, in memory, and the write preconditions
    /// terraform's gcs locks need (tests/support/gcs_emulator.py).
    pub fn gcs() -> Cloud {
        Cloud::gcs_with(None)
    }

    /// [`Cloud::gcs`] that also issues access tokens to the service account whose public
    /// key is the PEM file `service_account`, as Google's token endpoint does, and answers
    /// 401 to storage requests without one.
    pub fn gcs_with(service_account: Option<&Path>) -> Cloud {
        let port = crate::common::free_port();
        let mut command = Command::new(installed("venv/bin/python"));
        command
            .arg(support("gcs_emulator.py"))
            .args([&port.to_string(), GCS_BUCKET]);
        if let Some(key) = service_account {
            command.arg(key);
        }
        let server = quiet(&mut command).spawn().unwrap();
        Cloud::behind_proxy(
            server,
            port,
            &["storage.googleapis.com", "oauth2.googleapis.com"],
            tempfile::tempdir().unwrap(),
        )
    }

    /// Azurite's blob service with the test account and the state container.
    pub fn azure() -> Cloud {
        let port = crate::common::free_port();
        let data = tempfile::tempdir().unwrap();
        let server = quiet(
            Command::new(installed("node_modules/.bin/azurite-blob"))
                .args([
                    "--blobHost",
                    "127.0.0.1",
                    "--blobPort",
                    &port.to_string(),
                    "--location",
                    data.path().to_str().unwrap(),
                    "--disableTelemetry",
                    "--silent",
                ])
                .env("AZURITE_ACCOUNTS", format!("{AZURE_ACCOUNT}:{AZURE_KEY}")),
        )
        .spawn()
        .unwrap();
        let host = format!("{AZURE_ACCOUNT}.blob.core.windows.net");
        let cloud = Cloud::behind_proxy(server, port, &[&host], data);
        cloud.azure_blob(&["create-container", AZURE_CONTAINER]);
        cloud
    }

    /// What terraform needs to reach the server: the proxy and the test's CA.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "HTTPS_PROXY",
                format!("http://127.0.0.1:{}", self.proxy_port),
            ),
            (
                "SSL_CERT_FILE",
                self.pki.path().join("ca.pem").display().to_string(),
            ),
        ]
    }

    /// Runs tests/support/azure_blob.py against Azurite; its stdout.
    pub fn azure_blob(&self, args: &[&str]) -> Vec<u8> {
        run_ok(
            Command::new("python3")
                .arg(support("azure_blob.py"))
                .args([&self.server_port.to_string(), AZURE_ACCOUNT, AZURE_KEY])
                .args(args),
            &format!("azure_blob.py {}", args.join(" ")),
        )
    }

    /// The names of the objects in the gcs bucket, from the emulator's JSON API.
    pub fn gcs_objects(&self) -> Vec<String> {
        let body = self.gcs_get(&format!("/storage/v1/b/{GCS_BUCKET}/o"));
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let mut names: Vec<String> = json["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|i| i["name"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// The gcs object `name`, parsed as JSON (a state).
    pub fn gcs_state(&self, name: &str) -> serde_json::Value {
        let path = format!(
            "/download/storage/v1/b/{GCS_BUCKET}/o/{}?alt=media",
            name.replace('/', "%2F")
        );
        serde_json::from_slice(&self.gcs_get(&path)).unwrap()
    }

    fn gcs_get(&self, path: &str) -> Vec<u8> {
        let code = format!(
            "import sys, urllib.request\nr = urllib.request.Request('http://127.0.0.1:{}{}', headers={{'Authorization': 'Bearer strata-test-inspector'}})\nsys.stdout.buffer.write(urllib.request.urlopen(r).read())",
            self.server_port, path
        );
        run_ok(
            Command::new("python3").args(["-c", &code]),
            "a GET from the gcs emulator",
        )
    }

    /// The azurerm blob `name`, parsed as JSON (a state).
    pub fn azure_state(&self, name: &str) -> serde_json::Value {
        serde_json::from_slice(&self.azure_blob(&["get", AZURE_CONTAINER, name])).unwrap()
    }

    /// The blobs in the state container.
    pub fn azure_blobs(&self) -> Vec<String> {
        let out = self.azure_blob(&["list", AZURE_CONTAINER]);
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Cloud {
    fn drop(&mut self) {
        for child in [&mut self.proxy, &mut self.server] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
