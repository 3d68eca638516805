//! Release locks: per environment, what is deployed there and how it was verified.
//!
//! `environments/<env>/release.lock.toml` lists, per target, the target hash and the commit
//! whose code was applied, when and by whom, and the checks that passed for it there. It is
//! written by `strata apply` (for what succeeded and was verified) and `strata promote
//! apply`; sorted and deterministic, so a promotion reads as a small diff in a pull request.

use crate::clock;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use strata_graph::error::{Error, Location};
use strata_graph::manifest::RELEASE_LOCK_FILE;
use strata_graph::Result;

/// The format version this strata writes.
pub const LOCK_VERSION: u32 = 1;

/// A check's result in a lock entry.
pub const PASSED: &str = "passed";
/// A check that does not apply to the target (no tests, no policy governs it).
pub const NONE: &str = "none";
/// A quality check (fmt, validate, lint, policy) that failed after the apply: recorded, and
/// a promotion that requires it holds the target back.
pub const FAILED: &str = "failed";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseLock {
    pub version: u32,
    #[serde(default)]
    pub targets: BTreeMap<String, LockEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockEntry {
    /// `stack` or `chart`.
    pub kind: String,
    /// The target hash of what was applied.
    pub hash: String,
    /// The commit whose code was applied.
    pub commit: String,
    /// When, UTC (`2026-12-03T14:20:29Z`).
    pub applied_at: String,
    pub applied_by: String,
    /// The environment this entry was promoted from (absent for `strata apply`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promoted_from: Option<String>,
    /// The targets it depends on, at that commit.
    #[serde(default)]
    pub deps: Vec<String>,
    /// The checks run for it here after it was applied: action -> `passed` or `none`.
    #[serde(default)]
    pub checks: BTreeMap<String, String>,
    /// The highest severity among the policy findings on it here (absent: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_severity: Option<String>,
    /// Charts: the digest of the rendered manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rendered: Option<String>,
    /// What judged its policy checks here: a digest of the policies that governed it (their
    /// files) and the waivers in force for it ([`crate::verify::policy_basis`]); absent when
    /// no policy governed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<String>,
    /// The commit whose environment files (`environments/<env>/`: overrides, secrets files,
    /// env.toml) were applied with it, when not `commit`: a promotion applies the source's
    /// code with the destination's own files as HEAD held them then. What a rollback to
    /// this entry restores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_commit: Option<String>,
}

impl LockEntry {
    /// The commit whose environment files were applied with this entry.
    pub fn env_files_commit(&self) -> &str {
        self.env_commit.as_deref().unwrap_or(&self.commit)
    }

    /// The BLAKE3 digest of every field: what an audit event that wrote the entry attests.
    pub fn digest(&self) -> String {
        let bytes = serde_json::to_vec(self).expect("lock entries serialize");
        blake3::hash(&bytes).to_hex().to_string()
    }

    /// Seconds since the epoch it was applied at (validated when the lock was read).
    pub fn applied_secs(&self) -> i64 {
        clock::parse_utc(&self.applied_at).unwrap_or(0)
    }
}

/// Where `env`'s lock lives under the workspace root.
pub fn lock_path(root: &Path, env: &str) -> PathBuf {
    root.join("environments").join(env).join(RELEASE_LOCK_FILE)
}

fn rel(env: &str) -> String {
    format!("environments/{env}/{RELEASE_LOCK_FILE}")
}

impl ReleaseLock {
    /// `labels` and, transitively, the dependencies their entries record that `follow`
    /// accepts (entries it holds only), in the order found.
    pub fn with_what_they_read(
        &self,
        labels: &[String],
        follow: impl Fn(&LockEntry) -> bool,
    ) -> Vec<String> {
        let mut out: Vec<String> = labels.to_vec();
        let mut i = 0;
        while i < out.len() {
            if let Some(entry) = self.targets.get(&out[i]) {
                for dep in &entry.deps {
                    let followed = self.targets.get(dep).is_some_and(&follow);
                    if followed && !out.contains(dep) {
                        out.push(dep.clone());
                    }
                }
            }
            i += 1;
        }
        out
    }

    /// The stacks it records as applied.
    pub fn stacks(&self) -> std::collections::BTreeSet<String> {
        self.targets
            .iter()
            .filter(|(_, e)| e.kind == "stack")
            .map(|(label, _)| label.clone())
            .collect()
    }

    /// `env`'s lock; an empty one when the file does not exist yet.
    pub fn read(root: &Path, env: &str) -> Result<ReleaseLock> {
        let path = lock_path(root, env);
        let text = match strata_fs::read_regular_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(ReleaseLock {
                    version: LOCK_VERSION,
                    targets: BTreeMap::new(),
                })
            }
            Err(e) => return Err(Error::io(&path, e)),
        };
        ReleaseLock::parse(&text, &rel(env))
    }

    pub fn parse(text: &str, file: &str) -> Result<ReleaseLock> {
        let lock: ReleaseLock = strata_graph::workspace::parse_toml(text, file)?;
        let at = |needle: &str| {
            Location::new(
                file,
                text.lines().position(|l| l.contains(needle)).map(|n| n + 1),
            )
        };
        if lock.version != LOCK_VERSION {
            return Err(Error::Invalid {
                message: format!(
                    "release lock version {} is not one this strata reads ({LOCK_VERSION})",
                    lock.version
                ),
                location: at("version"),
                hint: "use the strata version that wrote it, or restore the file from git".into(),
            });
        }
        for (label, e) in &lock.targets {
            if clock::parse_utc(&e.applied_at).is_none() {
                return Err(Error::Invalid {
                    message: format!("{label}: applied_at `{}` is not a UTC time", e.applied_at),
                    location: at(&e.applied_at),
                    hint: "locks are written by strata: restore the file from git".into(),
                });
            }
            let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
            if !hex(&e.hash, 64) || !(hex(&e.commit, 40) || hex(&e.commit, 64)) {
                return Err(Error::Invalid {
                    message: format!("{label}: hash or commit is not a hex digest"),
                    location: at(&format!("\"{label}\"")),
                    hint: "locks are written by strata: restore the file from git".into(),
                });
            }
        }
        Ok(lock)
    }

    /// The lock's text: a header, then the entries sorted by label.
    pub fn render(&self, env: &str) -> String {
        let body = toml::to_string(self).expect("locks serialize");
        format!(
            "# The release lock of {env}: what is deployed there, from which commit, and how it\n# was verified. Written by `strata apply` and `strata promote apply`; do not edit.\n\n{body}"
        )
    }

    /// A digest of the entries (what a promotion plan pins: any change makes it stale).
    pub fn digest(&self) -> String {
        let bytes = serde_json::to_vec(self).expect("locks serialize");
        blake3::hash(&bytes).to_hex().to_string()
    }

    /// Writes `env`'s lock atomically (a reader sees the old or the new file, whole).
    pub fn write(&self, root: &Path, env: &str) -> Result<()> {
        let path = lock_path(root, env);
        strata_fs::write_atomic(&path, self.render(env).as_bytes())
            .map_err(|e| Error::write(&path, e))
    }

    /// Writes the lock, then runs `then` (which puts the environment's GitOps output in
    /// place): the two change together or not at all. When `then` fails, the lock file is
    /// put back as it was (removed when there was none) and `then`'s error returned.
    pub fn write_with(
        &self,
        root: &Path,
        env: &str,
        then: impl FnOnce() -> Result<()>,
    ) -> Result<()> {
        let path = lock_path(root, env);
        let before = match strata_fs::read_regular(&path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io(&path, e)),
        };
        self.write(root, env)?;
        let Err(failed) = then() else {
            return Ok(());
        };
        let restored = match &before {
            Some(bytes) => strata_fs::write_atomic(&path, bytes),
            None => std::fs::remove_file(&path),
        };
        match restored {
            Ok(()) => Err(failed),
            Err(e) => Err(Error::write(
                &path,
                std::io::Error::other(format!(
                    "{failed}; and the lock written before it could not be put back ({e}): restore it with `git checkout -- {}`",
                    path.strip_prefix(root).unwrap_or(&path).display()
                )),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(hash: char) -> LockEntry {
        LockEntry {
            policies: None,
            kind: "stack".into(),
            hash: hash.to_string().repeat(64),
            commit: "c".repeat(40),
            applied_at: "2026-12-03T14:20:29Z".into(),
            applied_by: "alice@example.com".into(),
            promoted_from: None,
            env_commit: None,
            deps: vec!["stacks/network".into()],
            checks: [("plan".to_string(), PASSED.to_string())].into(),
            max_severity: Some("low".into()),
            rendered: None,
        }
    }

    /// When the GitOps output cannot be put in place after the lock is written, the lock
    /// goes back to what it was: the file as it was, or no file.
    #[test]
    fn a_lock_written_with_an_output_that_fails_is_put_back() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        let path = lock_path(root, "dev");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut lock = ReleaseLock {
            version: LOCK_VERSION,
            ..ReleaseLock::default()
        };
        lock.targets.insert("stacks/a".into(), entry('a'));
        let failing = || {
            Err(Error::write(
                root.join("deploy/dev"),
                std::io::Error::other("no room"),
            ))
        };

        // No lock before: none after.
        let e = lock.write_with(root, "dev", failing).unwrap_err();
        assert!(e.to_string().contains("no room"), "{e}");
        assert!(!path.exists());

        // A lock before: the same bytes after.
        lock.write(root, "dev").unwrap();
        let before = std::fs::read(&path).unwrap();
        let mut next = lock.clone();
        next.targets.insert("stacks/b".into(), entry('b'));
        next.write_with(root, "dev", failing).unwrap_err();
        assert_eq!(std::fs::read(&path).unwrap(), before);

        // And when the output is put in place, the new lock stays.
        next.write_with(root, "dev", || Ok(())).unwrap();
        assert_eq!(ReleaseLock::read(root, "dev").unwrap().targets.len(), 2);
    }

    #[test]
    fn a_lock_renders_sorted_and_reads_back() {
        let mut lock = ReleaseLock {
            version: LOCK_VERSION,
            ..ReleaseLock::default()
        };
        lock.targets.insert("stacks/b".into(), entry('b'));
        lock.targets.insert("stacks/a".into(), entry('a'));
        let text = lock.render("dev");
        assert!(text.find("stacks/a").unwrap() < text.find("stacks/b").unwrap());
        let back = ReleaseLock::parse(&text, "environments/dev/release.lock.toml").unwrap();
        assert_eq!(back, lock);
        assert_eq!(back.digest(), lock.digest());
        // Same content, same bytes.
        assert_eq!(back.render("dev"), text);
    }

    #[test]
    fn a_damaged_lock_is_refused_with_its_line() {
        let mut lock = ReleaseLock {
            version: LOCK_VERSION,
            ..ReleaseLock::default()
        };
        lock.targets.insert("stacks/a".into(), entry('a'));
        let text = lock
            .render("dev")
            .replace("2026-12-03T14:20:29Z", "yesterday");
        let err = ReleaseLock::parse(&text, "environments/dev/release.lock.toml").unwrap_err();
        assert!(err.to_string().contains("applied_at `yesterday`"), "{err}");
        let text = lock.render("dev").replace("hash = \"", "hash = \"zz");
        assert!(ReleaseLock::parse(&text, "x").is_err());
        let err = ReleaseLock::parse("version = 1\n[targets.\"a\"]\nkind = 3\n", "x").unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }
}
