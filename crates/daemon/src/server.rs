//! The daemon process: one workspace, one socket, requests answered one at a time.

use super::client::call;
use super::watch::Watch;
use super::{
    build_id, check_socket_path, daemon_error, dir, failed_path, lock_held, lock_path, socket_path,
    Envelope, Request, Response, Status,
};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use strata_graph::affected::{affected_resident, Affected, BaseCache};
use strata_graph::error::Result;
use strata_graph::live::{LiveTree, Refresh};
use strata_graph::session::Session;

struct Server {
    session: Session,
    root: PathBuf,
    watch: Watch,
    live: Option<LiveTree>,
    bases: BaseCache,
    started: Instant,
    requests: u64,
    full_reads: u64,
    last_refresh: Option<Refresh>,
    /// WORKSPACE.toml changed and the workspace is not open again yet.
    reopen: bool,
}

/// Runs the daemon for the workspace at or above `start` until it is stopped, idle for
/// `idle`, or its socket or workspace disappears. `ready` is called once the socket
/// accepts requests. A daemon that cannot start records why in `failed`, unless another
/// daemon is the reason (it runs, or is starting).
pub fn serve(start: &Path, idle: Duration, ready: &dyn Fn(&Path)) -> Result<()> {
    let root = strata_graph::workspace::find_root(start)?;
    let failed = failed_path(&root);
    let served = serve_root(&root, idle, &|socket| {
        let _ = std::fs::remove_file(&failed);
        ready(socket);
    });
    if let Err(e) = &served {
        if !lock_held(&root) {
            let _ = std::fs::write(&failed, format!("{e}\n"));
        }
    }
    served
}

fn serve_root(start: &Path, idle: Duration, ready: &dyn Fn(&Path)) -> Result<()> {
    let session = Session::open(start, true)?;
    let root = session.root.clone();
    let socket = socket_path(&root);
    check_socket_path(&socket)?;
    let daemon_dir = dir(&root);
    std::fs::create_dir_all(&daemon_dir)
        .map_err(|e| strata_graph::error::Error::io(&daemon_dir, e))?;
    // Only the owner may reach the socket: it answers questions about the checkout and
    // takes a stop request.
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&daemon_dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| strata_graph::error::Error::io(&daemon_dir, e))?;
    }
    // One daemon per workspace: two started at once (two commands each starting one) race
    // for this lock, and the loser stops here, before it touches the socket. The lock goes
    // with the process.
    let lock_file = lock_path(&root);
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_file)
        .map_err(|e| strata_graph::error::Error::io(&lock_file, e))?;
    let _lock = exclusive_lock(lock).map_err(|_| {
        daemon_error(
            format!(
                "another daemon serves or is starting for {}",
                root.display()
            ),
            "see `strata daemon status`",
        )
    })?;
    if let Some(Response::Status(status)) = call(&root, Request::Status, Duration::from_secs(5)) {
        return Err(daemon_error(
            format!(
                "a daemon (pid {}) already serves {}",
                status.pid,
                root.display()
            ),
            "stop it first with `strata daemon stop`",
        ));
    }
    // A socket nobody answers on is left over from a daemon that died.
    let _ = std::fs::remove_file(&socket);
    let git_dir = session
        .repo
        .index_path()
        .parent()
        .and_then(|d| d.canonicalize().ok());
    // Watch before the first read, so a change made during it is seen afterwards.
    let watch = Watch::start(&root, git_dir.as_deref(), &daemon_dir)?;
    let listener =
        UnixListener::bind(&socket).map_err(|e| strata_graph::error::Error::io(&socket, e))?;
    let inode = std::fs::metadata(&socket).map(|m| m.ino()).unwrap_or(0);
    let mut server = Server {
        session,
        root: root.clone(),
        watch,
        live: None,
        bases: BaseCache::default(),
        started: Instant::now(),
        requests: 0,
        full_reads: 0,
        last_refresh: None,
        reopen: false,
    };
    // Read the tree now, so the first request finds it in memory.
    let _ = server.current();
    let last_request = Arc::new(AtomicU64::new(now_seconds()));
    spawn_guard(&root, &socket, inode, idle, Arc::clone(&last_request));
    ready(&socket);
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        last_request.store(now_seconds(), Ordering::Relaxed);
        let stop = server.answer(stream);
        last_request.store(now_seconds(), Ordering::Relaxed);
        if stop {
            break;
        }
    }
    // The fact cache is written before the socket goes, so `strata daemon stop` (which
    // waits for the socket to go) returns only when the daemon has stopped writing.
    server.session.finish();
    remove_socket(&socket, inode);
    Ok(())
}

/// Takes the daemon lock. A command checking whether a daemon runs holds it shared for an
/// instant (`super::lock_held`), so a lock taken that way is tried again for a moment; one
/// held by another daemon stays held.
fn exclusive_lock(
    file: std::fs::File,
) -> std::result::Result<nix::fcntl::Flock<std::fs::File>, ()> {
    use nix::fcntl::{Flock, FlockArg};
    let mut file = file;
    for _ in 0..10 {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => return Ok(lock),
            Err((back, _)) => file = back,
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(())
}

impl Server {
    /// Answers one connection; true when the daemon should stop.
    fn answer(&mut self, stream: UnixStream) -> bool {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let mut reader = BufReader::new(&stream);
        let mut line = String::new();
        if reader.read_line(&mut line).is_err() {
            return false;
        }
        let (response, stop) = match serde_json::from_str::<Envelope>(&line) {
            Err(e) => (
                Response::Failed {
                    message: format!("unreadable request: {e}"),
                },
                false,
            ),
            Ok(envelope) if envelope.build != build_id() => {
                (Response::Mismatch { build: build_id() }, true)
            }
            Ok(envelope) => {
                self.requests += 1;
                match envelope.request {
                    Request::Status => (Response::Status(self.status()), false),
                    Request::Stop => (Response::Stopping, true),
                    Request::Affected { base } => match self.affected(base.as_deref()) {
                        Ok((affected, refresh)) => {
                            (Response::Affected { affected, refresh }, false)
                        }
                        Err(e) => (
                            Response::Failed {
                                message: e.to_string(),
                            },
                            false,
                        ),
                    },
                }
            }
        };
        let mut out = serde_json::to_vec(&response).unwrap_or_default();
        out.push(b'\n');
        let _ = (&stream).write_all(&out);
        stop
    }

    fn status(&self) -> Status {
        Status {
            pid: std::process::id(),
            root: self.root.display().to_string(),
            build: build_id(),
            uptime_seconds: self.started.elapsed().as_secs(),
            requests: self.requests,
            full_reads: self.full_reads,
            last_refresh: self.last_refresh,
        }
    }

    /// Brings the work tree up to date: reads what changed, or everything when needed.
    fn current(&mut self) -> Result<&LiveTree> {
        let pending = self.watch.sync();
        // A WORKSPACE.toml that does not parse is reported (by the client, in process) until
        // it is fixed: nothing is answered from the configuration before it.
        self.reopen |= pending.config;
        if self.reopen {
            self.live = None;
            self.bases = BaseCache::default();
            self.session = Session::open(&self.root, true)?;
            self.reopen = false;
        }
        if pending.full {
            self.live = None;
        }
        let moved = pending.index || pending.head;
        let refresh = match self.live.as_mut() {
            Some(live) if moved || !pending.paths.is_empty() => {
                let session = &self.session;
                let mut paths = pending.paths;
                let refreshed = (|| {
                    if pending.index {
                        paths.extend(live.reindex(session)?);
                    } else if pending.head {
                        live.restage(session)?;
                    }
                    live.refresh(session, &paths)
                })();
                match refreshed {
                    Ok(refresh) => refresh,
                    Err(e) => {
                        self.live = None;
                        return Err(e);
                    }
                }
            }
            Some(_) => Refresh::default(),
            None => {
                self.full_reads += 1;
                self.live = Some(LiveTree::read(&self.session)?);
                self.session.facts.save();
                Refresh {
                    rebuilt: true,
                    ..Refresh::default()
                }
            }
        };
        self.last_refresh = Some(refresh);
        Ok(self.live.as_ref().expect("read above"))
    }

    fn affected(&mut self, base: Option<&str>) -> Result<(Affected, Refresh)> {
        self.current()?;
        let base = base
            .map(str::to_string)
            .unwrap_or_else(|| self.session.default_base());
        let live = self.live.as_ref().expect("current() read it");
        let affected = affected_resident(&self.session, &base, &live.view, &mut self.bases)?;
        Ok((affected, self.last_refresh.unwrap_or_default()))
    }
}

fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Removes the socket if it is still ours.
fn remove_socket(socket: &Path, inode: u64) {
    if std::fs::metadata(socket).map(|m| m.ino()).ok() == Some(inode) {
        let _ = std::fs::remove_file(socket);
    }
}

/// Ends the process when it has been idle too long, or when its socket or workspace is
/// gone (someone removed `.strata`, or the checkout).
fn spawn_guard(root: &Path, socket: &Path, inode: u64, idle: Duration, last: Arc<AtomicU64>) {
    let (root, socket) = (root.to_path_buf(), socket.to_path_buf());
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_secs(2));
        let ours = std::fs::metadata(&socket).map(|m| m.ino()).ok() == Some(inode);
        let idle_for = now_seconds().saturating_sub(last.load(Ordering::Relaxed));
        if !ours || !root.join(strata_graph::workspace::WORKSPACE_FILE).exists() {
            std::process::exit(0);
        }
        if idle_for > idle.as_secs() {
            remove_socket(&socket, inode);
            std::process::exit(0);
        }
    });
}
