//! The directories the daemon watches with inotify, kept small: one watch per directory of
//! the work tree, except the directories strata never reads (`.git`, `.strata`,
//! `.terraform`, wherever they are), each known by its parent and its name rather than its
//! whole path (42,000 directories take about 3 MB, against 10 MB as paths twice over).
//!
//! A directory created or moved into the tree is watched with everything below it as soon
//! as its event is read, and reported as changed (the daemon then reads it whole, so files
//! made before its watch existed are not missed). A directory moved out is forgotten with
//! everything below it. When the kernel drops events (its queue overflowed),
//! [`Change::Lost`] asks for a full read; when a new directory cannot be watched (the
//! inotify watch limit, say), [`Change::Unwatched`] says that changes below it will go
//! unseen from now on.

use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, InotifyEvent, WatchDescriptor};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// What one event says.
#[derive(Debug, PartialEq, Eq)]
pub enum Change {
    /// This file or directory may have changed.
    Path(PathBuf),
    /// Changes may have been missed.
    Lost,
    /// This directory (new in the tree) cannot be watched, for the reason given: nothing
    /// that happens below it will be reported.
    Unwatched(PathBuf, String),
}

/// Directories under a recursive root that are never watched (nor what is below them).
fn skipped(name: &OsStr) -> bool {
    name == ".git" || name == ".strata" || name == ".terraform"
}

/// No parent: a root, whose name is its whole path.
const ROOT: u32 = u32::MAX;

struct Node {
    parent: u32,
    name: Box<OsStr>,
    wd: Option<WatchDescriptor>,
    /// Nodes whose parent this is (a node is freed once it has neither a watch nor children).
    children: u32,
    /// Directories created below it are watched too.
    recursive: bool,
    /// On the free list, to be reused.
    freed: bool,
}

pub struct Tree {
    inotify: Inotify,
    nodes: Vec<Node>,
    free: Vec<u32>,
    by_wd: HashMap<WatchDescriptor, u32>,
    /// The roots added, and whether each is recursive: what a rebuild watches again.
    roots: Vec<(PathBuf, bool)>,
    /// The tree no longer matches the disk (see [`Tree::watch`]): rebuilt after the events
    /// being read, which then ask for a full read.
    broken: bool,
}

fn mask() -> AddWatchFlags {
    AddWatchFlags::IN_MODIFY
        | AddWatchFlags::IN_ATTRIB
        | AddWatchFlags::IN_CLOSE_WRITE
        | AddWatchFlags::IN_CREATE
        | AddWatchFlags::IN_DELETE
        | AddWatchFlags::IN_DELETE_SELF
        | AddWatchFlags::IN_MOVE_SELF
        | AddWatchFlags::IN_MOVED_FROM
        | AddWatchFlags::IN_MOVED_TO
        | AddWatchFlags::IN_ONLYDIR
        | AddWatchFlags::IN_DONT_FOLLOW
}

impl Tree {
    pub fn new() -> std::io::Result<Tree> {
        Ok(Tree {
            inotify: Inotify::init(InitFlags::IN_CLOEXEC)?,
            nodes: Vec::new(),
            free: Vec::new(),
            by_wd: HashMap::new(),
            roots: Vec::new(),
            broken: false,
        })
    }

    /// Watches `dir`, and when `recursive` every directory below it that is not skipped.
    pub fn add_root(&mut self, dir: &Path, recursive: bool) -> std::io::Result<()> {
        self.watch_root(dir, recursive)?;
        self.roots.push((dir.to_path_buf(), recursive));
        Ok(())
    }

    fn watch_root(&mut self, dir: &Path, recursive: bool) -> std::io::Result<()> {
        let Some(node) = self.watch(dir, ROOT, dir.as_os_str(), recursive)? else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{} is not a directory", dir.display()),
            ));
        };
        if recursive {
            self.walk(node, dir)?;
        }
        Ok(())
    }

    /// How many directories are watched.
    pub fn len(&self) -> usize {
        self.by_wd.len()
    }

    /// Adds a watch on `path` as `name` under `parent`; `None` when it is gone or not a
    /// directory (it went between being listed and being watched).
    fn watch(
        &mut self,
        path: &Path,
        parent: u32,
        name: &OsStr,
        recursive: bool,
    ) -> std::io::Result<Option<u32>> {
        let wd = match self.inotify.add_watch(path, mask()) {
            Ok(wd) => wd,
            Err(nix::errno::Errno::ENOENT | nix::errno::Errno::ENOTDIR) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if let Some(&known) = self.by_wd.get(&wd) {
            // The same directory under another name: it was moved within the tree. Events
            // are read after the fact, so the tree's names may lag behind the disk: the
            // directory may now be below a node the tree still places below it (`a` moved
            // into a new `a/q/x` made since). Moving it there would make a loop; the tree
            // is rebuilt instead.
            if parent != ROOT && (parent == known || self.descends(parent, known)) {
                self.broken = true;
                return Ok(None);
            }
            self.reparent(known, parent, name);
            return Ok(Some(known));
        }
        let node = Node {
            parent,
            name: name.into(),
            wd: Some(wd),
            children: 0,
            recursive,
            freed: false,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = node;
                i
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        };
        if parent != ROOT {
            self.nodes[parent as usize].children += 1;
        }
        self.by_wd.insert(wd, i);
        Ok(Some(i))
    }

    fn reparent(&mut self, node: u32, parent: u32, name: &OsStr) {
        let old = self.nodes[node as usize].parent;
        if old != parent {
            if parent != ROOT {
                self.nodes[parent as usize].children += 1;
            }
            self.nodes[node as usize].parent = parent;
            if old != ROOT {
                self.nodes[old as usize].children -= 1;
                self.release(old);
            }
        }
        self.nodes[node as usize].name = name.into();
    }

    /// Watches every directory below `node` (at `path`) that is not skipped.
    fn walk(&mut self, node: u32, path: &Path) -> std::io::Result<()> {
        let mut stack = vec![(node, path.to_path_buf())];
        while let Some((parent, dir)) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
                let name = entry.file_name();
                if !is_dir || skipped(&name) {
                    continue;
                }
                let path = dir.join(&name);
                if let Some(child) = self.watch(&path, parent, &name, true)? {
                    stack.push((child, path));
                }
            }
        }
        Ok(())
    }

    /// The path of `node`.
    fn path(&self, node: u32) -> PathBuf {
        let mut names: Vec<&OsStr> = Vec::new();
        let mut at = node;
        while at != ROOT {
            let n = &self.nodes[at as usize];
            names.push(&n.name);
            at = n.parent;
        }
        let mut path = PathBuf::new();
        for name in names.into_iter().rev() {
            path.push(name);
        }
        path
    }

    /// Stops watching `node` and everything below it.
    fn forget_subtree(&mut self, node: u32) {
        let below: Vec<u32> = (0..self.nodes.len() as u32)
            .filter(|&i| self.nodes[i as usize].wd.is_some() && self.descends(i, node))
            .collect();
        for i in below {
            if let Some(wd) = self.nodes[i as usize].wd.take() {
                let _ = self.inotify.rm_watch(wd);
                self.by_wd.remove(&wd);
            }
        }
        // Freed leaves first: a parent goes once its children have.
        let mut order: Vec<u32> = (0..self.nodes.len() as u32)
            .filter(|&i| self.descends(i, node))
            .collect();
        order.sort_by_key(|&i| std::cmp::Reverse(self.depth(i)));
        for i in order {
            self.release(i);
        }
    }

    fn descends(&self, mut i: u32, ancestor: u32) -> bool {
        if self.nodes[i as usize].freed {
            return false;
        }
        while i != ROOT {
            if i == ancestor {
                return true;
            }
            i = self.nodes[i as usize].parent;
        }
        false
    }

    fn depth(&self, mut i: u32) -> usize {
        let mut d = 0;
        while i != ROOT {
            d += 1;
            i = self.nodes[i as usize].parent;
        }
        d
    }

    /// Frees `node` when it has neither a watch nor children, then its parent likewise.
    fn release(&mut self, mut node: u32) {
        while node != ROOT {
            let n = &self.nodes[node as usize];
            if n.wd.is_some() || n.children > 0 || n.freed {
                return;
            }
            let parent = n.parent;
            let n = &mut self.nodes[node as usize];
            n.name = OsStr::new("").into();
            n.freed = true;
            self.free.push(node);
            if parent != ROOT {
                self.nodes[parent as usize].children -= 1;
            }
            node = parent;
        }
    }

    /// Blocks until events arrive, then returns what they say (and keeps watching new
    /// directories).
    pub fn read(&mut self) -> Vec<Change> {
        match self.inotify.read_events() {
            Ok(events) => {
                let mut changes: Vec<Change> =
                    events.into_iter().filter_map(|e| self.event(e)).collect();
                if self.broken {
                    self.rebuild();
                    changes.push(Change::Lost);
                }
                changes
            }
            Err(nix::errno::Errno::EINTR) => Vec::new(),
            Err(_) => {
                std::thread::sleep(std::time::Duration::from_millis(100));
                vec![Change::Lost]
            }
        }
    }

    /// Watches every root again from scratch (the tree stopped matching the disk).
    fn rebuild(&mut self) {
        for wd in self.by_wd.keys() {
            let _ = self.inotify.rm_watch(*wd);
        }
        self.by_wd.clear();
        self.nodes.clear();
        self.free.clear();
        self.broken = false;
        for (dir, recursive) in self.roots.clone() {
            // A root that is gone stays unwatched; the full read that follows still sees
            // what is there.
            let _ = self.watch_root(&dir, recursive);
        }
    }

    fn event(&mut self, event: InotifyEvent) -> Option<Change> {
        if event.mask.contains(AddWatchFlags::IN_Q_OVERFLOW) {
            return Some(Change::Lost);
        }
        let &node = self.by_wd.get(&event.wd)?;
        if event.mask.contains(AddWatchFlags::IN_IGNORED) {
            // The directory is gone (or its watch was removed): so is its node.
            self.by_wd.remove(&event.wd);
            self.nodes[node as usize].wd = None;
            self.release(node);
            return None;
        }
        let dir = self.path(node);
        let Some(name) = event.name else {
            return Some(Change::Path(dir));
        };
        let path = dir.join(&name);
        if event.mask.contains(AddWatchFlags::IN_ISDIR)
            && event.mask.intersects(
                AddWatchFlags::IN_CREATE
                    | AddWatchFlags::IN_MOVED_TO
                    | AddWatchFlags::IN_MOVED_FROM,
            )
            && self.nodes[node as usize].recursive
            && !skipped(&name)
        {
            if let Err(e) = self.settle(node, &path, &name) {
                return Some(Change::Unwatched(path, e.to_string()));
            }
        }
        Some(Change::Path(path))
    }

    /// After a directory event for `name` under `parent`: the node by that name becomes the
    /// directory now at `path`, whatever the event said. Events are read after the fact and
    /// name no inode: two directories swapped (`renameat2` with `RENAME_EXCHANGE`, `mv
    /// --exchange`) report a move from and a move to each name, in an order that says
    /// nothing of which directory is where. So the directory at the path decides: its watch
    /// (inotify gives one inode one watch) is a node already, renamed here, or a new one,
    /// watched with everything below it. Any other node by that name is stale (its
    /// directory left the tree, or is under another name whose own event places it again:
    /// it is then watched anew), and is forgotten with everything below it.
    fn settle(&mut self, parent: u32, path: &Path, name: &OsStr) -> std::io::Result<()> {
        let here = if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
            let before = self.by_wd.len();
            let node = self.watch(path, parent, name, true)?;
            if let Some(node) = node.filter(|_| self.by_wd.len() > before) {
                self.walk(node, path)?;
            }
            node
        } else {
            None
        };
        for stale in self.children_named(parent, name) {
            if Some(stale) != here {
                self.forget_subtree(stale);
            }
        }
        Ok(())
    }

    fn children_named(&self, parent: u32, name: &OsStr) -> Vec<u32> {
        (0..self.nodes.len() as u32)
            .filter(|&i| {
                let n = &self.nodes[i as usize];
                !n.freed && n.parent == parent && &*n.name == name
            })
            .collect()
    }
}

impl std::fmt::Debug for Tree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tree({} directories watched)", self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads events until `sentinel` (a file written last) is reported: every earlier
    /// event has been read by then.
    fn until(tree: &mut Tree, sentinel: &Path) -> Vec<Change> {
        std::fs::write(sentinel, b"").unwrap();
        let mut seen = Vec::new();
        loop {
            let changes = tree.read();
            let done = changes.contains(&Change::Path(sentinel.to_path_buf()));
            seen.extend(changes);
            if done {
                return seen;
            }
        }
    }

    /// A batch of moves read after the fact can show a directory below a node the tree
    /// still places below it (`a` moved into a new `a/q/x`): the tree is rebuilt and a full
    /// read asked for, instead of a loop that would hang the watcher.
    #[test]
    fn moves_that_would_make_a_loop_rebuild_the_tree() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("ws");
        std::fs::create_dir_all(root.join("a/q")).unwrap();
        let mut tree = Tree::new().unwrap();
        tree.add_root(&root, true).unwrap();
        std::fs::create_dir(root.join("a/q/x")).unwrap();
        std::fs::write(root.join("a/q/f"), b"").unwrap();
        std::fs::rename(root.join("a"), root.join("zz")).unwrap();
        std::fs::create_dir_all(root.join("a/q/x")).unwrap();
        std::fs::rename(root.join("zz"), root.join("a/q/x/zz")).unwrap();
        let (done, finished) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let sentinel = root.join("sentinel");
            let changes = until(&mut tree, &sentinel);
            std::fs::write(root.join("a/q/x/zz/q/g.tf"), b"x").unwrap();
            let later = until(&mut tree, &sentinel);
            done.send((changes, later, root)).unwrap();
        });
        let (changes, later, root) = finished
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("the watcher does not hang");
        reader.join().unwrap();
        assert!(changes.contains(&Change::Lost), "{changes:?}");
        assert!(
            later.contains(&Change::Path(root.join("a/q/x/zz/q/g.tf"))),
            "{later:?}"
        );
    }

    #[test]
    fn directories_are_watched_as_they_come_and_forgotten_as_they_go() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("ws");
        for d in [
            "a/b",
            ".git/objects/aa",
            "a/.terraform/providers",
            ".strata/work/x",
        ] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        let mut tree = Tree::new().unwrap();
        tree.add_root(&root, true).unwrap();
        // The root, a and a/b: nothing below .git, .strata or .terraform.
        assert_eq!(tree.len(), 3, "{tree:?}");
        let sentinel = root.join("sentinel");

        // A tree made at once: all of it watched, and a file deep in it seen.
        std::fs::create_dir_all(root.join("x/y/z")).unwrap();
        until(&mut tree, &sentinel);
        assert_eq!(tree.len(), 6, "{tree:?}");
        std::fs::write(root.join("x/y/z/f.tf"), b"x").unwrap();
        let changes = until(&mut tree, &sentinel);
        assert!(
            changes.contains(&Change::Path(root.join("x/y/z/f.tf"))),
            "{changes:?}"
        );

        // Moved out: no longer watched. Moved back in under another name: watched again,
        // reported under the new name.
        let outside = dir.path().join("outside");
        std::fs::rename(root.join("x"), &outside).unwrap();
        until(&mut tree, &sentinel);
        assert_eq!(tree.len(), 3, "{tree:?}");
        std::fs::rename(&outside, root.join("a/moved")).unwrap();
        let changes = until(&mut tree, &sentinel);
        assert!(
            changes.contains(&Change::Path(root.join("a/moved"))),
            "{changes:?}"
        );
        assert_eq!(tree.len(), 6, "{tree:?}");
        std::fs::write(root.join("a/moved/y/z/g.tf"), b"x").unwrap();
        let changes = until(&mut tree, &sentinel);
        assert!(
            changes.contains(&Change::Path(root.join("a/moved/y/z/g.tf"))),
            "{changes:?}"
        );

        // Renamed within the tree: reported under the new name.
        std::fs::rename(root.join("a/moved"), root.join("renamed")).unwrap();
        until(&mut tree, &sentinel);
        std::fs::write(root.join("renamed/y/h.tf"), b"x").unwrap();
        let changes = until(&mut tree, &sentinel);
        assert!(
            changes.contains(&Change::Path(root.join("renamed/y/h.tf"))),
            "{changes:?}"
        );
        assert_eq!(tree.len(), 6, "{tree:?}");

        // Removed: its watches go, and so do its nodes (reused by the next directories).
        std::fs::remove_dir_all(root.join("renamed")).unwrap();
        until(&mut tree, &sentinel);
        assert_eq!(tree.len(), 3, "{tree:?}");
        std::fs::create_dir_all(root.join("n1/n2/n3")).unwrap();
        until(&mut tree, &sentinel);
        assert_eq!(tree.len(), 6, "{tree:?}");
        assert!(
            tree.nodes.len() <= 7,
            "nodes are reused: {}",
            tree.nodes.len()
        );
    }
}
