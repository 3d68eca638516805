//! The daemon process: one workspace, one socket.
//!
//! Each connection has a thread of its own, which answers `status` and `stop` at once; the
//! work tree belongs to one thread (the worker, this function's caller's), which answers
//! `affected` requests one at a time, in order. While a request waits for the worker, its
//! connection gets a `working` line every 200 ms: a client tells a daemon that works from one
//! that is stuck (stopped, say) by that, not by how long the work takes. Until the first read
//! of the work tree is done, `affected` waits for it up to 1 s, then gets `busy`: the client
//! then answers by itself instead of waiting for a full read.

use super::client::{self, Answer};
use super::lock::{self, Phase};
use super::watch::{Outside, Watch};
use super::{
    build_id, check_socket_path, daemon_error, dir, git_config_env, lock_path, socket_path,
    Envelope, Request, Response, Status,
};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime};
use strata_graph::affected::{affected_resident, Affected, BaseCache};
use strata_graph::error::{Error, Result};
use strata_graph::live::{LiveTree, Refresh};
use strata_graph::session::Session;
use strata_graph::workspace::find_root;

/// How often a connection waiting for the worker is told that the daemon works.
const HEARTBEAT: Duration = Duration::from_millis(200);

/// How long `affected` waits for the first read of the work tree before it gets `busy`.
const READY_WAIT: Duration = Duration::from_secs(1);

/// How many more contents' facts than after the last pruning the daemon holds before it
/// forgets those of contents no longer in the work tree (each edit of a `.tf` file adds
/// one; about 2 KB each on realistic files).
const FACTS_SLACK: usize = 1000;

/// The worker's state: the workspace and the work tree in memory.
struct Server {
    session: Session,
    root: PathBuf,
    watch: Watch,
    live: Option<LiveTree>,
    bases: BaseCache,
    shared: Arc<Shared>,
    /// WORKSPACE.toml changed and the workspace is not open again yet.
    reopen: bool,
    /// Why the daemon can no longer know what changes (a directory it cannot watch): it
    /// answers no more requests and stops.
    blind: Option<String>,
    /// git's configuration changed (see `Pending::rewatch`): stop after this answer.
    rewatch: bool,
    /// How many contents' facts were held after the last pruning.
    facts_kept: usize,
}

/// What the connection threads and the worker share.
struct Shared {
    root: String,
    started: Instant,
    counts: Mutex<Counts>,
    ready: Mutex<bool>,
    became_ready: Condvar,
    /// Seconds since the epoch of the last request, for the idle limit.
    last_request: AtomicU64,
}

#[derive(Default)]
struct Counts {
    requests: u64,
    full_reads: u64,
    last_refresh: Option<Refresh>,
}

/// Work for the worker.
enum Job {
    Affected {
        base: Option<String>,
        reply: mpsc::Sender<Response>,
    },
    Stop,
}

/// Why a daemon did not start, which decides whether it is remembered (`failed`).
enum Failure {
    /// Another daemon serves or is starting: not this one's failure.
    Elsewhere(Error),
    /// Before the lock was taken: remembered unless another daemon holds it.
    BeforeLock(Error),
    /// With the lock held: always remembered.
    Here(Error),
}

/// Runs the daemon for the workspace at or above `start` until it is stopped, idle for
/// `idle`, or its socket or workspace disappears. `ready` is called once the first read of
/// the work tree is done. A daemon that cannot start records why in `failed` (unless another
/// daemon is the reason), and one that dies before it is ready is recorded by the next
/// client (see `lock.rs`).
pub fn serve(start: &Path, idle: Duration, ready: &dyn Fn(&Path)) -> Result<()> {
    let root = find_root(start)?;
    match serve_root(&root, idle, ready) {
        Ok(()) => Ok(()),
        Err(Failure::Elsewhere(e)) => Err(e),
        Err(Failure::BeforeLock(e)) => {
            if !lock::lock_held(&root) {
                lock::record_failure(&root, &e.to_string());
            }
            Err(e)
        }
        Err(Failure::Here(e)) => {
            lock::record_failure(&root, &e.to_string());
            Err(e)
        }
    }
}

fn serve_root(
    root: &Path,
    idle: Duration,
    ready: &dyn Fn(&Path),
) -> std::result::Result<(), Failure> {
    let session = Session::open(root, true).map_err(Failure::BeforeLock)?;
    let root = session.root.clone();
    let socket = socket_path(&root);
    check_socket_path(&socket).map_err(Failure::BeforeLock)?;
    let daemon_dir = dir(&root);
    std::fs::create_dir_all(&daemon_dir)
        .map_err(|e| Failure::BeforeLock(Error::io(&daemon_dir, e)))?;
    // Only the owner may reach the socket: it answers questions about the checkout and
    // takes a stop request.
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&daemon_dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| Failure::BeforeLock(Error::io(&daemon_dir, e)))?;
    }
    // One daemon per workspace: two started at once (two commands each starting one) race
    // for this lock, and the loser stops here, before it touches the socket. The lock goes
    // with the process.
    let lock_file = lock_path(&root);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_file)
        .map_err(|e| Failure::BeforeLock(Error::io(&lock_file, e)))?;
    let _lock = lock::exclusive(file).map_err(|e| match e {
        lock::LockError::Held => Failure::Elsewhere(lock::lock_error(&root, e)),
        lock::LockError::Failed(_) => Failure::Here(lock::lock_error(&root, e)),
    })?;
    lock::set_phase(&root, Phase::Starting);
    let _phase = PhaseGuard { root: &root };
    serve_locked(session, &socket, idle, ready)
}

/// Empties the lock file when the daemon returns, so that only a daemon that died (a
/// panic unwinding, or no return at all) leaves `starting` in it.
struct PhaseGuard<'a> {
    root: &'a Path,
}

impl Drop for PhaseGuard<'_> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            lock::clear(self.root);
        }
    }
}

/// The rest of [`serve`], with the lock held.
fn serve_locked(
    session: Session,
    socket: &Path,
    idle: Duration,
    ready: &dyn Fn(&Path),
) -> std::result::Result<(), Failure> {
    let root = session.root.clone();
    if let Answer::Response(Response::Status(status)) = client::call(&root, Request::Status) {
        return Err(Failure::Elsewhere(daemon_error(
            format!(
                "a daemon (pid {}) already serves {}",
                status.pid,
                root.display()
            ),
            "stop it first with `strata daemon stop`",
        )));
    }
    // A socket nobody answers on is left over from a daemon that died.
    let _ = std::fs::remove_file(socket);
    let listener = UnixListener::bind(socket).map_err(|e| Failure::Here(Error::io(socket, e)))?;
    let bound = Bound {
        socket: socket.to_path_buf(),
        inode: std::fs::metadata(socket).map(|m| m.ino()).unwrap_or(0),
    };
    let shared = Arc::new(Shared {
        root: root.display().to_string(),
        started: Instant::now(),
        counts: Mutex::default(),
        ready: Mutex::new(false),
        became_ready: Condvar::new(),
        last_request: AtomicU64::new(now_seconds()),
    });
    let (jobs, work) = mpsc::channel();
    // From here on the socket answers `status` (not ready yet) while the tree is read.
    spawn_acceptor(listener, Arc::clone(&shared), jobs);
    let git_dir = session
        .repo
        .index_path()
        .parent()
        .and_then(|d| d.canonicalize().ok());
    // Watch before the first read, so a change made during it is seen afterwards.
    let canonical = |files: Vec<PathBuf>| -> Vec<PathBuf> {
        files
            .into_iter()
            .map(|f| match f.parent().and_then(|d| d.canonicalize().ok()) {
                Some(dir) => dir.join(f.file_name().unwrap_or_default()),
                None => f,
            })
            .collect()
    };
    let outside = Outside {
        files: canonical(session.repo.git_view_outside()),
        config: canonical(session.repo.config_files()),
    };
    let watch =
        Watch::start(&root, git_dir.as_deref(), &dir(&root), outside).map_err(Failure::Here)?;
    let mut server = Server {
        session,
        root: root.clone(),
        watch,
        live: None,
        bases: BaseCache::default(),
        shared: Arc::clone(&shared),
        reopen: false,
        blind: None,
        rewatch: false,
        facts_kept: 0,
    };
    // Read the tree now, so the first request finds it in memory.
    let _ = server.current();
    crate::memory::release_freed();
    spawn_guard(&root, &bound, idle, Arc::clone(&shared));
    lock::set_phase(&root, Phase::Ready);
    lock::forget_failure(&root);
    *shared.ready.lock().unwrap_or_else(|e| e.into_inner()) = true;
    shared.became_ready.notify_all();
    ready(socket);
    for job in work {
        match job {
            Job::Affected { base, reply } => {
                let response = match server.affected(base.as_deref()) {
                    Ok((affected, refresh)) => Response::Affected { affected, refresh },
                    Err(e) => Response::Failed {
                        message: e.to_string(),
                    },
                };
                shared.touch();
                // The client may have given up; nothing to do then.
                let _ = reply.send(response);
                server.prune_facts();
                crate::memory::release_freed();
                if let Some(why) = &server.blind {
                    // Commands answer in process, and do not start a daemon again for a
                    // while (a new one would meet the same limit); `daemon status` says why.
                    lock::record_failure(&root, &format!("the daemon stopped: it {why}"));
                    break;
                }
                if server.rewatch {
                    // Answered from a full read; the next request starts a daemon that
                    // watches the ignore rules git's configuration names now.
                    break;
                }
            }
            Job::Stop => break,
        }
    }
    // The fact cache is written before the socket goes, so `strata daemon stop` (which
    // waits for the socket to go) returns only when the daemon has stopped writing.
    server.session.finish();
    drop(bound);
    Ok(())
}

/// The socket this daemon bound; removed when the daemon returns, if it is still ours.
struct Bound {
    socket: PathBuf,
    inode: u64,
}

impl Bound {
    fn ours(&self) -> bool {
        std::fs::metadata(&self.socket).map(|m| m.ino()).ok() == Some(self.inode)
    }
}

impl Drop for Bound {
    fn drop(&mut self) {
        if self.ours() {
            let _ = std::fs::remove_file(&self.socket);
        }
    }
}

impl Shared {
    fn touch(&self) {
        self.last_request.store(now_seconds(), Ordering::Relaxed);
    }

    fn status(&self) -> Status {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        Status {
            pid: std::process::id(),
            root: self.root.clone(),
            build: build_id(),
            uptime_seconds: self.started.elapsed().as_secs(),
            requests: counts.requests,
            full_reads: counts.full_reads,
            last_refresh: counts.last_refresh,
            ready: *self.ready.lock().unwrap_or_else(|e| e.into_inner()),
            memory: crate::memory::measure(),
        }
    }

    /// Waits up to `limit` for the first read of the work tree, calling `beat` every
    /// [`HEARTBEAT`] meanwhile (false from it stops the wait); true once ready.
    fn wait_ready(&self, limit: Duration, beat: &mut dyn FnMut() -> bool) -> bool {
        let deadline = Instant::now() + limit;
        let mut ready = self.ready.lock().unwrap_or_else(|e| e.into_inner());
        while !*ready {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            ready = self
                .became_ready
                .wait_timeout(ready, left.min(HEARTBEAT))
                .unwrap_or_else(|e| e.into_inner())
                .0;
            if !*ready && !beat() {
                return false;
            }
        }
        true
    }
}

/// Takes connections, each on a thread of its own.
fn spawn_acceptor(listener: UnixListener, shared: Arc<Shared>, jobs: mpsc::Sender<Job>) {
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            shared.touch();
            let (shared, jobs) = (Arc::clone(&shared), jobs.clone());
            // A connection that cannot get a thread is closed: its client answers itself.
            let _ = std::thread::Builder::new()
                .name("strata-daemon-connection".into())
                .spawn(move || answer(stream, &shared, &jobs));
        }
    });
}

/// Answers one connection.
fn answer(stream: UnixStream, shared: &Shared, jobs: &mpsc::Sender<Job>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
    let mut line = String::new();
    if BufReader::new(&stream).read_line(&mut line).is_err() {
        return;
    }
    let send = |response: &Response| {
        let mut out = serde_json::to_vec(response).unwrap_or_default();
        out.push(b'\n');
        (&stream).write_all(&out).is_ok()
    };
    let envelope = match serde_json::from_str::<Envelope>(&line) {
        Ok(envelope) => envelope,
        Err(e) => {
            send(&Response::Failed {
                message: format!("unreadable request: {e}"),
            });
            return;
        }
    };
    // Another build, or a client whose git reads other configuration (and so may see other
    // files ignored) asking what is affected: this daemon stops, and the client answers
    // itself. Its status, or a request to stop, does not depend on git's configuration.
    let other_git = envelope.git_env != git_config_env()
        && matches!(envelope.request, Request::Affected { .. });
    if envelope.build != build_id() || other_git {
        send(&Response::Mismatch { build: build_id() });
        let _ = jobs.send(Job::Stop);
        return;
    }
    shared
        .counts
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .requests += 1;
    match envelope.request {
        Request::Status => {
            send(&Response::Status(shared.status()));
        }
        Request::Stop => {
            send(&Response::Stopping);
            let _ = jobs.send(Job::Stop);
        }
        Request::Affected { base } => {
            let mut beat = || send(&Response::Working);
            if !shared.wait_ready(READY_WAIT, &mut beat) {
                send(&Response::Busy);
                return;
            }
            let (reply, answered) = mpsc::channel();
            if jobs.send(Job::Affected { base, reply }).is_err() {
                return;
            }
            loop {
                match answered.recv_timeout(HEARTBEAT) {
                    Ok(response) => {
                        send(&response);
                        return;
                    }
                    Err(RecvTimeoutError::Timeout) => {
                        if !beat() {
                            // The client went away.
                            return;
                        }
                    }
                    // The daemon stops without answering: the client answers itself.
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
        }
    }
}

impl Server {
    /// Brings the work tree up to date: reads what changed, or everything when needed.
    fn current(&mut self) -> Result<&LiveTree> {
        let pending = self.watch.sync();
        if let Some(why) = pending.unwatched {
            self.blind = Some(why);
        }
        self.rewatch |= pending.rewatch;
        if let Some(why) = &self.blind {
            // Answering from what it can still see would miss changes below that directory.
            self.live = None;
            return Err(daemon_error(
                format!("the daemon stops: it {why}"),
                "on Linux, raise fs.inotify.max_user_watches (sysctl) if the limit was reached",
            ));
        }
        // A WORKSPACE.toml that does not parse is reported (by the client, in process) until
        // it is fixed: nothing is answered from the configuration before it.
        self.reopen |= pending.config;
        // WORKSPACE.toml may be a link, whose target's edits no event on WORKSPACE.toml
        // says: the text is read again (one small file) and compared.
        let path = self.root.join(strata_graph::workspace::WORKSPACE_FILE);
        if !self.reopen
            && std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink())
            && std::fs::read_to_string(&path).ok().as_deref() != Some(self.session.config_text())
        {
            self.reopen = true;
            self.live = None;
        }
        if self.reopen {
            self.live = None;
            self.bases = BaseCache::default();
            self.session = Session::open(&self.root, true)?;
            self.reopen = false;
        }
        if pending.full {
            self.live = None;
        }
        // HEAD can move with no event the watcher saw (see `LiveTree::head_moved`).
        let head = pending.head
            || (!pending.index
                && self
                    .live
                    .as_ref()
                    .is_some_and(|live| live.head_moved(&self.session)));
        let moved = pending.index || head;
        let refresh = match self.live.as_mut() {
            Some(live) if moved || !pending.paths.is_empty() => {
                let session = &self.session;
                let mut paths = pending.paths;
                let refreshed = (|| {
                    if pending.index {
                        paths.extend(live.reindex(session)?);
                    } else if head {
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
                self.count(|c| c.full_reads += 1);
                self.live = Some(LiveTree::read(&self.session)?);
                self.session.facts.save();
                Refresh {
                    rebuilt: true,
                    ..Refresh::default()
                }
            }
        };
        self.count(|c| c.last_refresh = Some(refresh));
        Ok(self.live.as_ref().expect("read above"))
    }

    /// Forgets the facts of contents the work tree no longer holds, once enough have
    /// gathered: memory follows the workspace, not how long the daemon has run.
    fn prune_facts(&mut self) {
        let Some(live) = &self.live else { return };
        let facts = &self.session.facts;
        if facts.len() < self.facts_kept + FACTS_SLACK {
            return;
        }
        let files = &live.view.snapshot.files;
        facts.retain_current(files.iter().map(|(path, entry)| (path.as_str(), entry.id)));
        self.facts_kept = facts.len();
    }

    fn count(&self, update: impl FnOnce(&mut Counts)) {
        update(&mut self.shared.counts.lock().unwrap_or_else(|e| e.into_inner()));
    }

    fn affected(&mut self, base: Option<&str>) -> Result<(Affected, Refresh)> {
        self.current()?;
        let base = base
            .map(str::to_string)
            .unwrap_or_else(|| self.session.default_base());
        let live = self.live.as_ref().expect("current() read it");
        let affected = affected_resident(&self.session, &base, &live.view, &mut self.bases)?;
        let refresh = self
            .shared
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .last_refresh;
        Ok((affected, refresh.unwrap_or_default()))
    }
}

fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Ends the process when it has been idle too long, or when its socket or workspace is
/// gone (someone removed `.strata`, or the checkout).
fn spawn_guard(root: &Path, bound: &Bound, idle: Duration, shared: Arc<Shared>) {
    let root = root.to_path_buf();
    let (socket, inode) = (bound.socket.clone(), bound.inode);
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_secs(2));
        let ours = std::fs::metadata(&socket).map(|m| m.ino()).ok() == Some(inode);
        let idle_for = now_seconds().saturating_sub(shared.last_request.load(Ordering::Relaxed));
        if !ours || !root.join(strata_graph::workspace::WORKSPACE_FILE).exists() {
            lock::clear(&root);
            std::process::exit(0);
        }
        if idle_for > idle.as_secs() {
            if std::fs::metadata(&socket).map(|m| m.ino()).ok() == Some(inode) {
                let _ = std::fs::remove_file(&socket);
            }
            lock::clear(&root);
            std::process::exit(0);
        }
    });
}
