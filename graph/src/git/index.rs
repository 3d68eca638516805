//! Reads git's index file (`.git/index`) in process, instead of running `git ls-files`.
//!
//! Format: <https://git-scm.com/docs/index-format>. Versions 2, 3 and 4 (path prefix
//! compression) are read. Indexes this reader does not handle return `None` so the caller
//! falls back to `git ls-files`: a split index (`link` extension), a sparse index (`sdir`
//! extension or directory entries), and repositories whose object ids are not SHA-1.
//! Entries are checked against the file's bounds; a truncated or garbled index is `None`
//! too, never a wrong answer. Stat data is skipped: `git status` decides what changed.

use super::GitFile;
use crate::digest::FileId;

/// The stage-0 entries of an index below a prefix, with paths made relative to it.
/// Conflicted paths (stages 1–3) are left out, as `git ls-files --stage` would show them
/// with a non-zero stage: `git status` reports them, and they are read from the work tree.
#[derive(Debug, Clone)]
pub struct Index {
    pub entries: Vec<GitFile>,
    /// Paths in a merge conflict (entries of stages 1–3 only), in index order.
    pub unmerged: Vec<String>,
    /// BLAKE3 of every entry's path, stage, mode and object id, in order. Stat data and
    /// extensions are left out: git rewrites them (refreshing an entry, its caches) without
    /// changing what the index holds. Two indexes with the same digest hold the same
    /// entries.
    pub digest: [u8; 32],
    /// An entry is marked `assume-unchanged` or `skip-worktree`: git's view of those files
    /// is not what is on disk.
    pub flagged: bool,
    /// BLAKE3 of the path and flags of every flagged entry: it changes when a flag is set
    /// or taken off (which changes no entry's digest).
    pub flags: [u8; 32],
}

const SIGNATURE: &[u8; 4] = b"DIRC";
const HASH_LEN: usize = 20;

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }
    /// The offset-encoded varint of index version 4.
    fn varint(&mut self) -> Option<usize> {
        let mut byte = *self.take(1)?.first()?;
        let mut value = (byte & 0x7f) as usize;
        while byte & 0x80 != 0 {
            byte = *self.take(1)?.first()?;
            value = value.checked_add(1)?.checked_shl(7)? | (byte & 0x7f) as usize;
        }
        Some(value)
    }
}

/// Parses an index file's bytes; `prefix` is the workspace's path inside the repository
/// (`""` or `"dir/sub/"`). `None` when the index uses a feature this reader leaves to git.
pub fn parse(bytes: &[u8], prefix: &str) -> Option<Index> {
    let mut r = Reader { bytes, pos: 0 };
    if r.take(4)? != SIGNATURE {
        return None;
    }
    let version = r.u32()?;
    if !(2..=4).contains(&version) {
        return None;
    }
    let count = r.u32()? as usize;
    let mut entries = Vec::with_capacity(count);
    let mut unmerged: Vec<String> = Vec::new();
    let mut path: Vec<u8> = Vec::new();
    // What the digest covers, gathered and hashed in one call.
    let mut held: Vec<u8> = Vec::with_capacity(bytes.len() / 2);
    let mut flagged = false;
    let mut flags_held: Vec<u8> = Vec::new();
    for _ in 0..count {
        let start = r.pos;
        // ctime, mtime (seconds, nanoseconds), dev, ino, mode, uid, gid, size.
        let stat = r.take(40)?;
        let mode = u32::from_be_bytes(stat[24..28].try_into().ok()?);
        let id: [u8; HASH_LEN] = r.take(HASH_LEN)?.try_into().ok()?;
        let flags = r.u16()?;
        let extended = flags & 0x4000 != 0;
        // assume-valid (assume-unchanged) in the flags, skip-worktree in the extended ones.
        let assumed = flags & 0x8000 != 0;
        let mut skipped = false;
        if extended {
            if version < 3 {
                return None;
            }
            skipped = r.u16()? & 0x4000 != 0;
        }
        flagged |= assumed || skipped;
        let name_len = (flags & 0x0fff) as usize;
        if version == 4 {
            let strip = r.varint()?;
            path.truncate(path.len().checked_sub(strip)?);
            let rest = &r.bytes[r.pos..];
            let nul = rest.iter().position(|&b| b == 0)?;
            path.extend_from_slice(&rest[..nul]);
            r.pos += nul + 1;
        } else {
            let rest = &r.bytes[r.pos..];
            let nul = if name_len < 0x0fff {
                (rest.get(name_len) == Some(&0)).then_some(name_len)?
            } else {
                rest.iter().position(|&b| b == 0)?
            };
            path.clear();
            path.extend_from_slice(&rest[..nul]);
            // Entries are padded with 1–8 NULs to a multiple of 8 bytes.
            let len = r.pos + nul - start;
            r.pos = start + (len + 8) / 8 * 8;
            if r.pos > bytes.len() {
                return None;
            }
        }
        if assumed || skipped {
            flags_held.extend_from_slice(&path);
            flags_held.push(0);
            flags_held.push(u8::from(assumed) | u8::from(skipped) << 1);
        }
        let stage = (flags >> 12) & 0x3;
        held.extend_from_slice(&stat[24..28]);
        held.extend_from_slice(&id);
        held.extend_from_slice(&stage.to_be_bytes());
        held.extend_from_slice(&path);
        held.push(0);
        if mode == 0o040000 {
            return None; // a sparse-index directory entry
        }
        let Some(rel) = path.strip_prefix(prefix.as_bytes()) else {
            continue;
        };
        if mode == 0o160000 {
            continue; // gitlinks (submodules) are not inputs
        }
        if stage != 0 {
            // A conflicted path has one entry per stage, consecutive.
            let rel = crate::text::lossy_utf8(rel);
            if unmerged.last().map(String::as_str) != Some(&*rel) {
                unmerged.push(rel.into_owned());
            }
            continue;
        }
        entries.push(GitFile {
            path: crate::text::lossy_utf8(rel).into_owned(),
            mode,
            id: FileId(id),
        });
    }
    let digest = *blake3::hash(&held).as_bytes();
    // Extensions: a signature and a length each, then the trailing checksum.
    while bytes.len().saturating_sub(r.pos) > HASH_LEN {
        let sig = r.take(4)?;
        let len = r.u32()? as usize;
        if sig == b"link" || sig == b"sdir" {
            return None;
        }
        r.take(len)?;
    }
    Some(Index {
        entries,
        unmerged,
        digest,
        flagged,
        flags: *blake3::hash(&flags_held).as_bytes(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, version: u32, prev: &str, flags_extra: Option<u16>) -> Vec<u8> {
        let mut e = Vec::new();
        for w in [1u32, 2, 3, 4, 5, 6, 0o100644, 7, 8, 9] {
            e.extend_from_slice(&w.to_be_bytes());
        }
        e.extend_from_slice(&[0xab; 20]);
        let mut flags = path.len().min(0xfff) as u16;
        if flags_extra.is_some() {
            flags |= 0x4000;
        }
        e.extend_from_slice(&flags.to_be_bytes());
        if let Some(x) = flags_extra {
            e.extend_from_slice(&x.to_be_bytes());
        }
        if version == 4 {
            let common = prev
                .bytes()
                .zip(path.bytes())
                .take_while(|(a, b)| a == b)
                .count();
            e.push((prev.len() - common) as u8);
            e.extend_from_slice(&path.as_bytes()[common..]);
            e.push(0);
        } else {
            e.extend_from_slice(path.as_bytes());
            let len = 62 + if flags_extra.is_some() { 2 } else { 0 } + path.len();
            let padded = (len + 8) / 8 * 8;
            e.resize(e.len() + (padded - len), 0);
        }
        e
    }

    fn index(version: u32, paths: &[&str], extra: Option<u16>) -> Vec<u8> {
        let mut b = b"DIRC".to_vec();
        b.extend_from_slice(&version.to_be_bytes());
        b.extend_from_slice(&(paths.len() as u32).to_be_bytes());
        let mut prev = "";
        for p in paths {
            b.extend_from_slice(&entry(p, version, prev, extra));
            prev = p;
        }
        b.extend_from_slice(&[0; 20]);
        b
    }

    #[test]
    fn reads_every_version() {
        let paths = ["a/b.tf", "a/c.tf", "ws/x/main.tf", "ws/y.tf"];
        for (version, extra) in [(2, None), (3, Some(0)), (4, None)] {
            let idx = parse(&index(version, &paths, extra), "").unwrap();
            let got: Vec<&str> = idx.entries.iter().map(|e| e.path.as_str()).collect();
            assert_eq!(got, paths, "version {version}");
            assert_eq!(idx.entries[0].mode, 0o100644);
            assert_eq!(idx.entries[0].id, FileId([0xab; 20]));
            let sub = parse(&index(version, &paths, extra), "ws/").unwrap();
            let got: Vec<&str> = sub.entries.iter().map(|e| e.path.as_str()).collect();
            assert_eq!(got, ["x/main.tf", "y.tf"]);
        }
    }

    #[test]
    fn skip_worktree_entries_are_kept_and_flagged() {
        let idx = parse(&index(3, &["a"], Some(0x4000)), "").unwrap();
        assert_eq!(idx.entries.len(), 1);
        assert!(idx.flagged);
        // intent-to-add (0x2000) is no flag on git's view of the file on disk.
        assert!(!parse(&index(3, &["a"], Some(0x2000)), "").unwrap().flagged);
        assert!(!parse(&index(2, &["a"], None), "").unwrap().flagged);
        // assume-valid sits in the first flags.
        let mut bytes = index(2, &["a"], None);
        bytes[12 + 60] |= 0x80;
        assert!(parse(&bytes, "").unwrap().flagged);
        // The flags' digest tells one flag from another, and which entry holds it; the
        // entries' digest does not move with a flag.
        let flags = |bytes: &[u8]| parse(bytes, "").unwrap().flags;
        let skip_a = index(3, &["a"], Some(0x4000));
        let skip_b = index(3, &["b"], Some(0x4000));
        let none = index(3, &["a"], Some(0));
        assert_ne!(flags(&skip_a), flags(&none));
        assert_ne!(flags(&skip_a), flags(&skip_b));
        assert_ne!(flags(&skip_a), flags(&bytes));
        assert_eq!(
            parse(&skip_a, "").unwrap().digest,
            parse(&none, "").unwrap().digest
        );
    }

    /// Against real git: every version git writes reads back as `git ls-files --stage`.
    #[test]
    #[allow(clippy::disallowed_methods)]
    fn reads_what_git_writes() {
        let dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            let out = std::process::Command::new("git")
                .current_dir(dir.path())
                .args(args)
                .output()
                .unwrap();
            assert!(out.status.success(), "git {args:?}");
            out.stdout
        };
        git(&["init", "-q"]);
        for (path, body) in [
            ("a.tf", "x"),
            ("stacks/net/main.tf", "y"),
            ("stacks/net/variables.tf", "z"),
            ("stacks/network/main.tf", "w"),
            ("z/deep/er/file with space.txt", "v"),
        ] {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, body).unwrap();
        }
        git(&["add", "-A"]);
        let listed = String::from_utf8(git(&["ls-files", "--stage", "-z"])).unwrap();
        let expected: Vec<(String, u32, String)> = listed
            .split('\0')
            .filter(|r| !r.is_empty())
            .map(|r| {
                let (meta, path) = r.split_once('\t').unwrap();
                let parts: Vec<&str> = meta.split(' ').collect();
                (
                    path.to_string(),
                    u32::from_str_radix(parts[0], 8).unwrap(),
                    parts[1].to_string(),
                )
            })
            .collect();
        for version in ["2", "3", "4"] {
            git(&["update-index", "--index-version", version]);
            let bytes = std::fs::read(dir.path().join(".git/index")).unwrap();
            let idx = parse(&bytes, "").expect("readable");
            let got: Vec<(String, u32, String)> = idx
                .entries
                .iter()
                .map(|e| (e.path.clone(), e.mode, e.id.to_hex()))
                .collect();
            assert_eq!(got, expected, "index version {version}");
        }
        git(&["update-index", "--split-index"]);
        let bytes = std::fs::read(dir.path().join(".git/index")).unwrap();
        assert!(parse(&bytes, "").is_none(), "a split index is left to git");
    }

    #[test]
    fn rejects_what_it_does_not_read() {
        let good = index(2, &["a/b"], None);
        assert!(parse(&good[..good.len() - 30], "").is_none(), "truncated");
        assert!(parse(b"DIRC\0\0\0\x05\0\0\0\0", "").is_none(), "version 5");
        let mut split = good[..good.len() - 20].to_vec();
        split.extend_from_slice(b"link");
        split.extend_from_slice(&0u32.to_be_bytes());
        split.extend_from_slice(&[0; 20]);
        assert!(parse(&split, "").is_none(), "split index");
    }
}
