//! A resident process per workspace that keeps the work tree's graph in memory, so that
//! `strata affected` answers from memory instead of reading the tree again.
//!
//! The daemon watches the workspace (inotify, so on Linux only; see [`tree`]) and reads
//! again only the paths that changed. Before it answers, it writes a cookie file into
//! the watched tree and waits until the watcher reports it: every change made before the
//! request was reported before the cookie, so none is missed. A lost event queue, a change
//! to the index, HEAD, a `.gitignore` or WORKSPACE.toml makes it read everything again.
//!
//! Clients talk to it over a Unix socket in `.strata/daemon/`, one JSON request and one JSON
//! response per connection, preceded by `working` lines while the daemon works on it. A
//! client built from a different strata binary is refused (and the daemon exits), and any
//! failure makes the client compute the answer itself: the daemon can make a command
//! faster, never different, and never much slower: a client gives up on a daemon that says
//! nothing for 2 s ([`client`]).
//!
//! [`client`] is everything a command does with the daemon: ask it, start it (in the
//! background, or by itself when the environment allows), stop it, say how it is.
//! [`serve`] is the daemon itself.

pub mod client;
mod lock;
mod memory;
pub use memory::{return_large_blocks, Memory};
mod server;
#[cfg(target_os = "linux")]
mod tree;
mod watch;

pub use server::serve;

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use strata_graph::affected::Affected;
use strata_graph::error::{Error, Result};
use strata_graph::live::Refresh;

/// Where the daemon of the workspace at `root` keeps its socket, log and cookies.
pub fn dir(root: &Path) -> PathBuf {
    root.join(strata_graph::workspace::STRATA_DIR)
        .join("daemon")
}

pub fn socket_path(root: &Path) -> PathBuf {
    dir(root).join("sock")
}

pub fn log_path(root: &Path) -> PathBuf {
    dir(root).join("log")
}

/// The file a daemon holds locked for as long as it runs, so only one serves a workspace; it
/// says which process holds it, and whether that one got ready (see `lock.rs`).
pub fn lock_path(root: &Path) -> PathBuf {
    dir(root).join("lock")
}

/// Written when a daemon failed to start (its error, or that it died before it was ready),
/// removed by one that starts: a daemon that cannot start is not started again by every
/// command for an hour (see [`client::autostart`]).
pub fn failed_path(root: &Path) -> PathBuf {
    dir(root).join("failed")
}

/// Unix socket paths are limited to about 108 bytes.
const MAX_SOCKET_PATH: usize = 100;

/// Identifies this strata binary: a daemon serves only clients built the same way.
pub fn build_id() -> String {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let exe = std::env::current_exe()
            .ok()
            .and_then(|p| std::fs::metadata(p).ok());
        let stamp = exe
            .map(|m| {
                let modified = m
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos());
                format!("{modified:x}-{:x}", m.len())
            })
            .unwrap_or_default();
        format!("{}+{stamp}", env!("CARGO_PKG_VERSION"))
    })
    .clone()
}

/// Identifies the variables that decide which configuration git reads (`HOME`,
/// `XDG_CONFIG_HOME`, and every `GIT_CONFIG*`: the user's and system's files, and settings
/// given in the environment). A daemon serves only clients whose git reads what its own git
/// reads. A digest, so that no value (a setting may hold a credential) leaves the process.
pub fn git_config_env() -> String {
    use std::hash::{Hash, Hasher};
    let mut vars: Vec<(std::ffi::OsString, std::ffi::OsString)> = std::env::vars_os()
        .filter(|(name, _)| {
            name.to_str().is_some_and(|name| {
                matches!(name, "HOME" | "XDG_CONFIG_HOME") || name.starts_with("GIT_CONFIG")
            })
        })
        .collect();
    vars.sort();
    let mut hasher = std::hash::DefaultHasher::new();
    vars.hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    pub build: String,
    /// The client's [`git_config_env`].
    #[serde(default)]
    pub git_env: String,
    pub request: Request,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Request {
    Status,
    /// Affected targets of the work tree against `base` (the default base when `None`).
    Affected {
        base: Option<String>,
    },
    Stop,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Response {
    Status(Status),
    Affected {
        affected: Affected,
        refresh: Refresh,
    },
    Stopping,
    /// Sent every 200 ms while a request waits for the daemon's work: the daemon is alive,
    /// and the answer follows.
    Working,
    /// The daemon has not finished reading the work tree yet; the client should compute the
    /// answer itself rather than wait for a full read.
    Busy,
    /// The client is another strata build; the daemon stops.
    Mismatch {
        build: String,
    },
    /// The daemon could not answer; the client should compute the answer itself (and get
    /// the error with its file, line and hint).
    Failed {
        message: String,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Status {
    pub pid: u32,
    pub root: String,
    pub build: String,
    pub uptime_seconds: u64,
    pub requests: u64,
    /// Complete reads of the work tree (at start, and after changes that need one).
    pub full_reads: u64,
    pub last_refresh: Option<Refresh>,
    /// Whether its first read of the work tree is done (until then, `affected` gets
    /// [`Response::Busy`]).
    #[serde(default = "ready_by_default")]
    pub ready: bool,
    /// Its memory when asked (absent from a daemon that cannot measure it).
    #[serde(default)]
    pub memory: Option<Memory>,
}

fn ready_by_default() -> bool {
    true
}

fn daemon_error(message: impl Into<String>, hint: impl Into<String>) -> Error {
    Error::Daemon {
        message: message.into(),
        hint: hint.into(),
    }
}

/// Checks that a socket can live at `path`.
fn check_socket_path(path: &Path) -> Result<()> {
    if path.as_os_str().len() > MAX_SOCKET_PATH {
        return Err(daemon_error(
            format!(
                "the socket path {} is longer than {MAX_SOCKET_PATH} bytes",
                path.display()
            ),
            "move the workspace to a shorter path to use the daemon; strata works without it",
        ));
    }
    Ok(())
}
