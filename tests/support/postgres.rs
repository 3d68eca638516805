//! A private PostgreSQL server (the distribution's server binaries) for a test: `initdb`
//! into a temporary directory, listening on a free loopback port, with a password for its
//! one user. Never the system service. As root (CI), the server runs as `nobody`, since
//! PostgreSQL refuses to run as root. Stopped (immediately) on drop.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub const USER: &str = "strata";
/// The server's password: tests grep everything strata wrote for it.
pub const PASSWORD: &str = "pg-Secr3t-w0rd-9f2c";

pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    running: bool,
}

/// The directory holding `initdb`, `pg_ctl` and `postgres`, or a failure that says how to
/// get them.
fn bindir() -> PathBuf {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && dir.join("postgres").is_file() {
            return dir;
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    versions.sort();
    if let Some(dir) = versions
        .into_iter()
        .rev()
        .find(|d| d.join("postgres").is_file())
    {
        return dir;
    }
    panic!(
        "the PostgreSQL server is not installed, and the state backend tests need a real one: \
         install it (Debian/Ubuntu: `apt-get install -y postgresql`) and run the tests again"
    );
}

fn is_root() -> bool {
    nix_like_geteuid() == 0
}

fn nix_like_geteuid() -> u32 {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(1)
}

impl Postgres {
    /// A server with one database, `tfstate`.
    pub fn start() -> Postgres {
        let bin = bindir();
        let dir = tempfile::Builder::new()
            .prefix("strata-pg-")
            .tempdir()
            .unwrap();
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, PASSWORD).unwrap();
        if is_root() {
            Command::new("chown")
                .args(["-R", "nobody"])
                .arg(dir.path())
                .status()
                .unwrap();
        }
        let mut pg = Postgres {
            dir,
            bin,
            port: crate::common::free_port(),
            running: false,
        };
        let data = pg.data();
        let out = pg
            .as_server_user(&pg.bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", USER, "-A", "scram-sha-256", "--no-sync", "--pwfile"])
            .arg(&pwfile)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        pg.start_server();
        let out = Command::new(pg.bin.join("createdb"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &pg.port.to_string(),
                "-U",
                USER,
                "tfstate",
            ])
            .env("PGPASSWORD", PASSWORD)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "createdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn as_server_user(&self, program: &Path) -> Command {
        if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "nobody", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        }
    }

    fn start_server(&mut self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let out = self
            .as_server_user(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.path().join("server.log"))
            .args(["-o", &options, "-w", "-t", "60", "start"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
        );
        self.running = true;
    }

    /// Stops the server at once (`immediate`: connections are cut, as when a server dies).
    pub fn stop(&mut self) {
        if !self.running {
            return;
        }
        let _ = self
            .as_server_user(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .output();
        self.running = false;
    }

    /// Starts the stopped server again, on the same port.
    pub fn restart(&mut self) {
        self.start_server();
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The connection string, password included, as a user exports it.
    pub fn url(&self) -> String {
        format!(
            "postgres://{USER}:{PASSWORD}@127.0.0.1:{}/tfstate?sslmode=disable",
            self.port
        )
    }

    fn psql(&self, query: &str) -> Command {
        let psql = if self.bin.join("psql").is_file() {
            self.bin.join("psql")
        } else {
            PathBuf::from("psql")
        };
        let mut cmd = Command::new(psql);
        cmd.args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", USER])
            .args(["-d", "tfstate", "-At", "-c", query])
            .env("PGPASSWORD", PASSWORD);
        cmd
    }

    /// A psql session running `query` in the background, named `name` in
    /// `pg_stat_activity` (kill it to end the session).
    pub fn session(&self, name: &str, query: &str) -> std::process::Child {
        self.psql(query)
            .env("PGAPPNAME", name)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    }

    /// Runs SQL with psql and returns its unaligned output.
    pub fn sql(&self, query: &str) -> String {
        let out = self.psql(query).output().unwrap();
        assert!(
            out.status.success(),
            "psql failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// The server's own log (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}
