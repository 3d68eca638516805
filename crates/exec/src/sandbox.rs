//! A sandbox is a private copy of exactly the files a task may read, laid out at their
//! workspace paths, under `.strata/work/<env or _>/<label>/src/`, with terraform's data
//! directory beside it (`data/`, used as TF_DATA_DIR). Running tools there means:
//! environments never share `.terraform/`, tools never write into the user's checkout (lock
//! files, vendored charts, plan files), and a file strata does not track as an input is not
//! there for the tool to read, so missing inputs show up as failures instead of stale cache
//! hits. A sandbox is rebuilt when its file set changes, and reused (with the providers
//! terraform installed) when it does not.

use std::path::{Path, PathBuf};
use strata_graph::error::{Error, Location, Result};
use strata_graph::git::Repo;
use strata_graph::snapshot::Snapshot;

#[derive(Debug)]
pub struct Sandbox {
    /// The mirror of the workspace root.
    pub src: PathBuf,
    /// The target's directory inside the mirror (where tools run).
    pub dir: PathBuf,
    /// TF_DATA_DIR.
    pub data: PathBuf,
    /// A digest of the file set: state kept in `data/` that depends on the sources (an
    /// initialised working directory) records it and is redone when it changes.
    pub generation: String,
}

/// `.strata/work/<env or _>/<label>`
///
/// The label is one path component there (`/` written `%2F`, `%` written `%25`), so no
/// target's sandbox lies inside another's (`stacks/a` and `stacks/a/src` would otherwise
/// share a directory).
pub fn location(work_root: &Path, env: Option<&str>, label: &str) -> PathBuf {
    let name = label.replace('%', "%25").replace('/', "%2F");
    let name = if name == "." { "%2E".to_string() } else { name };
    work_root.join(env.unwrap_or("_")).join(name)
}

/// The files by which version managers (tfenv, tenv, tfswitch, asdf, mise) choose which
/// terraform, OpenTofu or helm their shim runs, in the directory a tool runs in or above
/// it. strata checks the version from the workspace root, and sandboxes lie below it
/// (`.strata/work/`): left out of the sandbox, such a file in the target's own directory
/// (where its tools run) cannot make the shim run another version there than the one
/// checked and keyed. Deeper down (a chart's `files/mise.toml`) it is data, and stays.
pub const VERSION_FILES: &[&str] = &[
    ".terraform-version",
    ".opentofu-version",
    ".tool-versions",
    ".tfswitchrc",
    ".tfswitch.toml",
    "mise.toml",
    ".mise.toml",
    "mise.local.toml",
    ".mise.local.toml",
];

fn chooses_a_version(label: &str, path: &str) -> bool {
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    dir == strata_graph::discover::label_dir(label) && VERSION_FILES.contains(&name)
}

/// A file as committed or staged: its bytes on disk when they have its id (`verified`),
/// else git's blob of that id, if git has it.
fn committed<'b>(
    id: strata_graph::digest::FileId,
    verified: bool,
    on_disk: &'b [u8],
    from_git: &'b std::collections::HashMap<strata_graph::digest::FileId, Vec<u8>>,
) -> Option<&'b [u8]> {
    match verified {
        true => Some(on_disk),
        false => from_git
            .get(&id)
            .filter(|b| strata_graph::digest::FileId::of_content(b) == id)
            .map(Vec::as_slice),
    }
}

/// The SHA-256 (hex) and size a git LFS pointer file names; `None` for any other content.
/// (A pointer is a small text: `version https://git-lfs.github.com/spec/v1`, then
/// `oid sha256:<64 hex digits>` and `size <bytes>`, one key per line.)
fn lfs_pointer(bytes: &[u8]) -> Option<(String, u64)> {
    if bytes.len() > 1024 {
        return None;
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let mut lines = text.lines();
    if lines.next()? != "version https://git-lfs.github.com/spec/v1" {
        return None;
    }
    let (mut oid, mut size) = (None, None);
    for line in lines {
        if let Some(hex) = line.strip_prefix("oid sha256:") {
            oid = Some(hex.to_string()).filter(|h| {
                h.len() == 64
                    && h.bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            });
        } else if let Some(n) = line.strip_prefix("size ") {
            size = n.parse().ok();
        }
    }
    Some((oid?, size?))
}

/// Builds (or reuses) the sandbox holding `files` (workspace-relative) for a task.
pub fn prepare(
    work_root: &Path,
    env: Option<&str>,
    label: &str,
    repo: &Repo,
    snapshot: &Snapshot,
    files: &[String],
) -> Result<Sandbox> {
    let base = location(work_root, env, label);
    // Terraform's working data (backend settings, plan files) is the owner's alone.
    std::fs::create_dir_all(&base).map_err(|e| Error::write(&base, e))?;
    crate::state::private_dir(&base);
    let src = base.join("src");
    let data = base.join("data");
    let marker_path = base.join("src.marker");
    let mut marker = String::new();
    // Each file's id and mode: a change of the executable bit alone must rebuild it too.
    for f in files {
        let entry = snapshot
            .files
            .get(f)
            .map(|e| format!("{} {:o}", e.id.to_hex(), e.mode))
            .unwrap_or_else(|| "missing".into());
        marker.push_str(&format!("{entry} {f}\n"));
    }
    let current = std::fs::read_to_string(&marker_path).unwrap_or_default();
    let dir = src.join(strata_graph::discover::label_dir(label));
    let generation = blake3::hash(marker.as_bytes()).to_hex().to_string();
    if current == marker && dir.is_dir() {
        return Ok(Sandbox {
            src,
            dir,
            data,
            generation,
        });
    }
    // The marker says the sandbox is whole: it goes before the rebuild starts and comes back
    // only once every file is written, so a rebuild that stops part-way (a crash, Ctrl-C, a
    // file gone for a moment) is built again next time, never reused half-empty.
    match std::fs::remove_file(&marker_path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::write(&marker_path, e)),
    }
    if src.exists() {
        std::fs::remove_dir_all(&src).map_err(|e| Error::write(&src, e))?;
    }
    std::fs::create_dir_all(&dir).map_err(|e| Error::write(&dir, e))?;
    std::fs::create_dir_all(&data).map_err(|e| Error::write(&data, e))?;
    let present: Vec<&str> = files
        .iter()
        .map(String::as_str)
        .filter(|f| snapshot.files.contains_key(*f) && !chooses_a_version(label, f))
        .collect();
    // The task's key holds each file's id as `git status` saw it when the run began: bytes
    // that are not those (the file was edited, reverted or replaced since) would be
    // planned, cached and recorded under a key that does not describe them.
    let read = snapshot.map_contents(repo, &present, |_, bytes, verified| {
        (verified, bytes.to_vec())
    })?;
    // A file that differs from its id is taken from git when git has that blob: the file as
    // it was committed or staged (also a file a checkout filter rewrites, such as
    // `eol=crlf`). A git LFS pointer is the exception: tools need the content it stands
    // for, which the work tree holds once checked out (its SHA-256 and size are the
    // pointer's, so the task's key, which covers the pointer, describes it).
    let differs: Vec<strata_graph::digest::FileId> = read
        .iter()
        .filter(|(_, (verified, _))| !verified)
        .map(|(f, _)| snapshot.files[*f].id)
        .collect();
    let from_git = if differs.is_empty() {
        Default::default()
    } else {
        repo.read_blobs(&differs)?
    };
    // Pointers only of files git stores through LFS: a file that merely holds a pointer's
    // text is that text.
    let mut pointers: std::collections::HashMap<&str, (String, u64)> = read
        .iter()
        .filter_map(|(f, (verified, on_disk))| {
            let bytes = committed(snapshot.files[*f].id, *verified, on_disk, &from_git);
            Some((*f, bytes.and_then(lfs_pointer)?))
        })
        .collect();
    let lfs = repo.lfs_tracked(&pointers.keys().copied().collect::<Vec<_>>())?;
    pointers.retain(|f, _| lfs.contains(*f));
    let mut contents = std::collections::HashMap::new();
    for (f, (verified, on_disk)) in read {
        let bytes = match pointers.remove(f) {
            Some((sha256, size)) => {
                let smudged = on_disk.len() as u64 == size
                    && strata_graph::digest::BlobDigest::of(&on_disk).to_hex() == sha256;
                if !smudged {
                    return Err(Error::Invalid {
                        message: format!(
                            "`{f}` is stored with git LFS, and its content is not checked out here: the work tree holds {}",
                            if verified { "the pointer" } else { "other bytes than the pointer's" }
                        ),
                        location: Location::new(f, None),
                        hint: "install git-lfs and run `git lfs pull` (in CI, check out with LFS), so that tools get the file and not its pointer".into(),
                    });
                }
                Some(on_disk)
            }
            None => {
                committed(snapshot.files[f].id, verified, &on_disk, &from_git).map(<[u8]>::to_vec)
            }
        };
        match bytes {
            Some(bytes) => {
                contents.insert(f, bytes);
            }
            None => {
                return Err(Error::Invalid {
                    message: format!(
                        "`{f}` changed while strata was running: it is not what `git status` saw when the run began"
                    ),
                    location: Location::new(f, None),
                    hint: "run again once the work tree is settled (an editor, a branch switch or `git stash` changed it)".into(),
                })
            }
        }
    }
    for f in present {
        let entry = snapshot.files[f];
        let to = src.join(f);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::write(parent, e))?;
        }
        let bytes = contents.get(f).map(Vec::as_slice).unwrap_or_default();
        if entry.mode == 0o120000 {
            // Symlinks are materialised as links to the same relative target.
            let target = String::from_utf8_lossy(bytes).into_owned();
            #[cfg(unix)]
            std::os::unix::fs::symlink(&target, &to).map_err(|e| Error::write(&to, e))?;
            continue;
        }
        std::fs::write(&to, bytes).map_err(|e| Error::write(&to, e))?;
        #[cfg(unix)]
        if entry.mode == 0o100755 {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o755));
        }
    }
    strata_fs::write_atomic(&marker_path, marker.as_bytes())
        .map_err(|e| Error::io(&marker_path, e))?;
    Ok(Sandbox {
        src,
        dir,
        data,
        generation,
    })
}

impl Sandbox {
    fn marker(&self) -> PathBuf {
        self.src
            .parent()
            .map(|base| base.join("src.marker"))
            .unwrap_or_else(|| self.src.with_extension("marker"))
    }

    /// Marks the sandbox as no longer holding just the workspace's files, while a tool
    /// changes its sources (a chart's dependency build writes into its `charts/`, and may
    /// remove archives there). Returns what to give [`Sandbox::changed_as_meant`] when the
    /// tool succeeds; when it does not (it failed, was interrupted, or strata died), the
    /// sandbox is built again from the workspace the next time it is prepared, never reused
    /// with files the tool removed or left half-written.
    pub fn changing(&self) -> Result<Option<String>> {
        let path = self.marker();
        let marker = std::fs::read_to_string(&path).ok();
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(marker),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::write(&path, e)),
        }
    }

    /// The tool that [`Sandbox::changing`] was for succeeded: the sandbox may be reused
    /// with what it made.
    pub fn changed_as_meant(&self, marker: Option<String>) -> Result<()> {
        let Some(marker) = marker else {
            return Ok(());
        };
        let path = self.marker();
        strata_fs::write_atomic(&path, marker.as_bytes()).map_err(|e| Error::write(&path, e))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_targets_own_version_files_are_left_out() {
        use super::chooses_a_version;
        assert!(chooses_a_version("stacks/a", "stacks/a/.terraform-version"));
        assert!(chooses_a_version("stacks/a", "stacks/a/.tool-versions"));
        assert!(chooses_a_version(".", ".terraform-version"));
        assert!(!chooses_a_version("charts/c", "charts/c/files/mise.toml"));
        assert!(!chooses_a_version(
            "stacks/a",
            "modules/m/.terraform-version"
        ));
        assert!(!chooses_a_version("stacks/a", "stacks/a/main.tf"));
    }
}
