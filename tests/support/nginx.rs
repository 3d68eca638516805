//! A private nginx (from the system package) serving a Bazel-layout HTTP cache for a test:
//! its own config, logs, temp paths and document root in a temporary directory, listening on
//! a free loopback port. Never the system service. The process is killed on drop.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What `/cache/` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// `GET` and WebDAV `PUT` on files under `www/`: a working remote cache.
    ReadWrite,
    /// Files under `www/` can be read, but every `PUT` is refused (405).
    NoUploads,
    /// Every request gets HTTP 500.
    Error500,
    /// Like `ReadWrite`, but only for requests carrying `Authorization: Bearer <TOKEN>`;
    /// others get 401.
    Token,
    /// Like `ReadWrite`, but only for requests carrying Basic authentication of
    /// [`BASIC_USER`] with [`BASIC_PASSWORD`]; others get 401.
    Basic,
}

/// The user and password the `Basic` flavor accepts: the password holds characters a URL
/// must carry percent-encoded (`p%40ss%3Aw%2Frd`).
pub const BASIC_USER: &str = "ci";
pub const BASIC_PASSWORD: &str = "p@ss:w/rd";
/// `base64("ci:p@ss:w/rd")`.
const BASIC_HEADER: &str = "Basic Y2k6cEBzczp3L3Jk";

/// The bearer token the `Token` flavor accepts.
pub const TOKEN: &str = "s3cret-cache-token";

pub struct Nginx {
    dir: tempfile::TempDir,
    child: Option<Child>,
    port: u16,
}

/// The nginx binary, or a failure that says how to get one.
fn binary() -> PathBuf {
    for candidate in ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"] {
        if Path::new(candidate).is_file() {
            return PathBuf::from(candidate);
        }
    }
    if let Ok(out) = Command::new("sh").args(["-c", "command -v nginx"]).output() {
        let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if out.status.success() && !path.is_empty() {
            return PathBuf::from(path);
        }
    }
    panic!(
        "nginx is not installed, and the remote cache tests need a real one: \
         install it (Debian/Ubuntu: `apt-get install -y nginx`) and run the tests again"
    );
}

impl Nginx {
    pub fn start(flavor: Flavor) -> Nginx {
        let bin = binary();
        let dir = tempfile::Builder::new()
            .prefix("strata-nginx-")
            .tempdir()
            .unwrap();
        std::fs::create_dir_all(dir.path().join("www")).unwrap();
        std::fs::create_dir_all(dir.path().join("tmp")).unwrap();
        let mut last_error = String::new();
        // The port is free when picked but may be taken before nginx binds it: retry.
        for _ in 0..10 {
            let port = crate::common::free_port();
            let conf = config(dir.path(), port, flavor);
            let conf_path = dir.path().join("nginx.conf");
            std::fs::write(&conf_path, conf).unwrap();
            let stderr = std::fs::File::create(dir.path().join("stderr.log")).unwrap();
            let mut child = Command::new(&bin)
                .arg("-e")
                .arg(dir.path().join("error.log"))
                .arg("-p")
                .arg(dir.path())
                .arg("-c")
                .arg(&conf_path)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(stderr)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
            let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if let Some(status) = child.try_wait().unwrap() {
                    last_error = format!(
                        "nginx exited ({status}):\n{}\n{}",
                        std::fs::read_to_string(dir.path().join("stderr.log")).unwrap_or_default(),
                        std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
                    );
                    break;
                }
                if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                    return Nginx {
                        dir,
                        child: Some(child),
                        port,
                    };
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "nginx did not accept connections on {addr} within 10s:\n{}",
                        std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
                    );
                }
                std::thread::sleep(Duration::from_millis(25));
            }
        }
        panic!("could not start nginx: {last_error}");
    }

    /// The remote cache URL to give strata.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/cache", self.port)
    }

    /// The port it listens on (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory `/cache/` serves: `ac/` and `cas/` appear here.
    pub fn www(&self) -> PathBuf {
        self.dir.path().join("www")
    }

    pub fn access_log_path(&self) -> PathBuf {
        self.dir.path().join("access.log")
    }

    /// The access log's lines, once nginx has stopped adding to it (it logs a request just
    /// after answering it, so a client can finish before the last line is written).
    pub fn access_log(&self) -> Vec<String> {
        let read = || {
            std::fs::read_to_string(self.access_log_path())
                .unwrap_or_default()
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        let mut lines = read();
        loop {
            std::thread::sleep(Duration::from_millis(300));
            let again = read();
            if again == lines {
                return lines;
            }
            lines = again;
        }
    }

    /// Empties the access log (nginx appends, so it carries on at the start).
    pub fn clear_access_log(&self) {
        std::fs::write(self.access_log_path(), b"").unwrap();
    }

    /// Kills nginx: the port no longer accepts connections afterwards.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let addr: SocketAddr = format!("127.0.0.1:{}", self.port).parse().unwrap();
        assert!(
            TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err(),
            "something still listens on {addr}"
        );
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One process (no master/worker split: it runs as the invoking user, root or not, and dies
/// with one kill), everything it writes inside `dir`.
fn config(dir: &Path, port: u16, flavor: Flavor) -> String {
    let d = dir.display();
    let location = match flavor {
        Flavor::ReadWrite => format!(
            "alias {d}/www/;\n      dav_methods PUT;\n      create_full_put_path on;\n      client_max_body_size 512m;"
        ),
        Flavor::NoUploads => format!("alias {d}/www/;"),
        Flavor::Error500 => "return 500;".to_string(),
        Flavor::Token => format!(
            "if ($http_authorization != \"Bearer {TOKEN}\") {{ return 401; }}\n      alias {d}/www/;\n      dav_methods PUT;\n      create_full_put_path on;\n      client_max_body_size 512m;"
        ),
        Flavor::Basic => format!(
            "if ($http_authorization != \"{BASIC_HEADER}\") {{ return 401; }}\n      alias {d}/www/;\n      dav_methods PUT;\n      create_full_put_path on;\n      client_max_body_size 512m;"
        ),
    };
    format!(
        r#"daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{
  worker_connections 128;
}}
http {{
  access_log {d}/access.log;
  client_body_temp_path {d}/tmp/body;
  proxy_temp_path {d}/tmp/proxy;
  fastcgi_temp_path {d}/tmp/fastcgi;
  uwsgi_temp_path {d}/tmp/uwsgi;
  scgi_temp_path {d}/tmp/scgi;
  server {{
    listen 127.0.0.1:{port};
    location /cache/ {{
      {location}
    }}
  }}
}}
"#
    )
}
