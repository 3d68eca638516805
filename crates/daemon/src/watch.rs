//! The daemon's file watcher: collects the paths that changed since the last request, and
//! syncs with the kernel's event queue through cookie files.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use strata_graph::error::Result;
use strata_graph::snapshot::is_builtin_excluded;
use strata_graph::workspace::WORKSPACE_FILE;

/// What changed since the last [`Watch::sync`].
#[derive(Debug, Default)]
pub struct Pending {
    /// Workspace-relative paths of files or directories that may have changed.
    pub paths: BTreeSet<String>,
    /// Read the whole work tree again: the index, HEAD or ignore rules changed, or events
    /// were lost.
    pub full: bool,
    /// WORKSPACE.toml changed: open the workspace again.
    pub config: bool,
    /// The index was written (`git add`, `git commit`, or a `git status` refreshing it).
    pub index: bool,
    /// HEAD moved (commit, reset, checkout): what is staged may differ.
    pub head: bool,
    /// A directory made since the start could not be watched (why, naming it): changes
    /// below it would go unseen, so the daemon cannot answer any more.
    pub unwatched: Option<String>,
    /// git's configuration changed: it may name other ignore rules (`core.excludesFile`)
    /// than the ones watched, so the daemon stops once it has answered, and the next
    /// request starts one that watches what it names now.
    pub rewatch: bool,
    cookies: HashSet<String>,
}

pub struct Watch {
    shared: Arc<(Mutex<Pending>, Condvar)>,
    cookie_dir: PathBuf,
    next_cookie: u64,
}

/// How long a request waits for its cookie before it reads everything again instead.
const COOKIE_WAIT: Duration = Duration::from_secs(5);

/// Files outside the watched tree whose change matters.
#[derive(Debug, Default)]
pub struct Outside {
    /// Files whose change means a full read (`Repo::git_view_outside`).
    pub files: Vec<PathBuf>,
    /// Those of them that are git's configuration (`Repo::config_files`), whose change
    /// means a new daemon (see [`Pending::rewatch`]).
    pub config: Vec<PathBuf>,
}

/// Where events come from, to classify them.
struct Places {
    root: PathBuf,
    git_dir: Option<PathBuf>,
    cookie_dir: PathBuf,
    outside: Outside,
}

impl Watch {
    /// Watches `root` recursively (but not `.git`, `.strata` or `.terraform` directories,
    /// whose files strata never reads), the cookie directory, and the git directory holding
    /// the index (not recursively: only `index`, `HEAD`, `logs/HEAD` and `info/exclude`
    /// matter there), and the directories holding `outside`: files elsewhere whose change
    /// means a full read (the ignore rules and git configuration the work tree's reading
    /// depends on). The watcher's thread lives as long as the process.
    #[cfg(target_os = "linux")]
    pub fn start(
        root: &Path,
        git_dir: Option<&Path>,
        cookie_dir: &Path,
        outside: Outside,
    ) -> Result<Watch> {
        let shared: Arc<(Mutex<Pending>, Condvar)> = Arc::default();
        let mut tree = crate::tree::Tree::new().map_err(watch_error)?;
        tree.add_root(root, true).map_err(watch_error)?;
        std::fs::create_dir_all(cookie_dir).map_err(watch_error)?;
        tree.add_root(cookie_dir, false).map_err(watch_error)?;
        let mut watched: Vec<PathBuf> = Vec::new();
        if let Some(git_dir) = git_dir {
            tree.add_root(git_dir, false).map_err(watch_error)?;
            watched.push(git_dir.to_path_buf());
            for sub in ["info", "logs"] {
                let sub = git_dir.join(sub);
                if sub.is_dir() {
                    tree.add_root(&sub, false).map_err(watch_error)?;
                    watched.push(sub);
                }
            }
        }
        // A directory of the work tree is watched already (and a file there is read as
        // any other).
        let places = Places {
            root: root.to_path_buf(),
            git_dir: git_dir.map(Path::to_path_buf),
            cookie_dir: cookie_dir.to_path_buf(),
            outside,
        };
        let outside_dirs = places.outside.files.iter().chain(&places.outside.config);
        for dir in outside_dirs.filter_map(|f| f.parent()) {
            let inside = dir.starts_with(root) && !dir.starts_with(root.join(".git"));
            // A directory that does not exist yet (`~/.config/git` before the user's first
            // `git config --global`): its nearest existing ancestor is watched instead, and
            // its creation is a change of the file (see `classify`).
            let Some(dir) = dir.ancestors().find(|d| d.is_dir()) else {
                continue;
            };
            if inside || watched.iter().any(|w| w == dir) {
                continue;
            }
            tree.add_root(dir, false).map_err(watch_error)?;
            watched.push(dir.to_path_buf());
        }
        let sink = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("strata-watch".into())
            .spawn(move || loop {
                let changes = tree.read();
                let (lock, wake) = &*sink;
                let mut pending = lock.lock().unwrap_or_else(|e| e.into_inner());
                for change in changes {
                    match change {
                        crate::tree::Change::Path(path) => {
                            // `info` or `logs` made in the git directory after the start
                            // (the first commit makes `logs`): watched from now on.
                            if places.git_subdir(&path) && path.is_dir() {
                                let _ = tree.add_root(&path, false);
                            }
                            classify(&places, &path, &mut pending)
                        }
                        crate::tree::Change::Lost => pending.full = true,
                        crate::tree::Change::Unwatched(path, why) => {
                            pending.unwatched.get_or_insert_with(|| {
                                format!("cannot watch {}: {why}", path.display())
                            });
                        }
                    }
                }
                wake.notify_all();
            })
            .map_err(watch_error)?;
        Ok(Watch {
            shared,
            cookie_dir: cookie_dir.to_path_buf(),
            next_cookie: 0,
        })
    }

    /// Everything that changed before this call. Writes a cookie file and waits until the
    /// watcher reports it: events arrive in order, so every earlier change has arrived too.
    /// When the cookie does not come in time, asks for a full read.
    pub fn sync(&mut self) -> Pending {
        self.next_cookie += 1;
        let name = format!("cookie-{}-{}", std::process::id(), self.next_cookie);
        let path = self.cookie_dir.join(&name);
        let written = std::fs::write(&path, b"").is_ok();
        let (lock, wake) = &*self.shared;
        let mut pending = lock.lock().unwrap_or_else(|e| e.into_inner());
        let deadline = Instant::now() + COOKIE_WAIT;
        while written && !pending.cookies.contains(&name) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            pending = wake
                .wait_timeout(pending, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        let seen = pending.cookies.contains(&name);
        let mut taken = std::mem::take(&mut *pending);
        drop(pending);
        let _ = std::fs::remove_file(&path);
        if !seen {
            taken.full = true;
        }
        taken.cookies.clear();
        taken
    }
}

/// Without inotify there is no daemon: commands answer in process.
#[cfg(not(target_os = "linux"))]
pub fn start(
    _root: &Path,
    _git_dir: Option<&Path>,
    _cookie_dir: &Path,
    _outside: Outside,
) -> Result<Watch> {
    Err(super::daemon_error(
        "the daemon watches the workspace with inotify, which only Linux has".to_string(),
        "strata answers without a daemon here",
    ))
}

fn watch_error(e: std::io::Error) -> strata_graph::error::Error {
    super::daemon_error(
        format!("cannot watch the workspace: {e}"),
        "on Linux, raise fs.inotify.max_user_watches (sysctl) if the limit was reached",
    )
}

impl Places {
    /// `info` or `logs` in the git directory.
    fn git_subdir(&self, path: &Path) -> bool {
        self.git_dir.as_deref().is_some_and(|git_dir| {
            path.parent() == Some(git_dir)
                && matches!(
                    path.file_name().and_then(|n| n.to_str()),
                    Some("info" | "logs")
                )
        })
    }
}

/// Records what a change of `path` means.
fn classify(places: &Places, path: &Path, pending: &mut Pending) {
    if let Ok(rest) = path.strip_prefix(&places.cookie_dir) {
        if let Some(name) = rest.to_str() {
            pending.cookies.insert(name.to_string());
        }
        return;
    }
    if places.outside.files.iter().any(|f| f == path) {
        pending.full = true;
        pending.rewatch |= places.outside.config.iter().any(|f| f == path);
        return;
    }
    // A directory on the way to an outside file that did not exist at the start: the file
    // may be there now, and only a new daemon watches its directory.
    let outside = places.outside.files.iter().chain(&places.outside.config);
    let leads_to = |f: &PathBuf| f.starts_with(path) && f != path;
    if outside.clone().any(leads_to) && !path.starts_with(&places.root) {
        pending.full = true;
        pending.rewatch = true;
        return;
    }
    if let Some(git_dir) = &places.git_dir {
        if let Ok(rest) = path.strip_prefix(git_dir) {
            match rest.to_str() {
                Some("index") => pending.index = true,
                Some("HEAD" | "logs/HEAD") => pending.head = true,
                // Attributes change git's view of files no event here names.
                Some("info/exclude" | "info/attributes") => pending.full = true,
                _ => {}
            }
            return;
        }
    }
    let Ok(rest) = path.strip_prefix(&places.root) else {
        return;
    };
    let Some(rel) = rest.to_str() else {
        // Not UTF-8: let a full read (git) decide.
        pending.full = true;
        return;
    };
    if rel.ends_with("/.git") {
        // A repository inside the work tree appeared or went (`git init`, `git clone`, a
        // `.git` removed to vendor a clone): git now lists or hides everything below its
        // directory, which no event below it says.
        pending.full = true;
        return;
    }
    if rel == ".git" || rel.starts_with(".git/") || is_builtin_excluded(rel) {
        return;
    }
    if rel == WORKSPACE_FILE {
        pending.config = true;
        pending.full = true;
    } else if matches!(
        rel.rsplit('/').next(),
        Some(".gitignore" | ".gitattributes")
    ) {
        // Ignore rules and attributes change git's view of paths no event names.
        pending.full = true;
    } else {
        pending.paths.insert(rel.to_string());
    }
}
