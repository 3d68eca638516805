//! Filesystem primitives shared by every store that writes files: atomic writes, and sealed
//! files that carry a checksum of their content so a damaged or edited cache is never
//! trusted.

use std::io::Write;
use std::path::Path;

pub use tempfile::NamedTempFile;

/// How the names of the temporary files an atomic write makes beside its target start. A
/// killed process leaves its file behind, possibly in the checkout (`environments/dev/`):
/// strata's model of the work tree leaves such files out, so one never counts as an input.
pub const TEMP_PREFIX: &str = ".strata-tmp-";

/// Whether a file name is one of [`TEMP_PREFIX`]'s.
/// `path` with `.` left out and each `..` taking away the name before it, by its text only
/// (links are not followed: git and the tools name files the same way). A `..` above the
/// start of a relative path is kept.
pub fn lexically_normal(path: &Path) -> std::path::PathBuf {
    use std::path::Component;
    let mut out = std::path::PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                let last = out.components().next_back();
                match last {
                    Some(Component::Normal(_)) => {
                        out.pop();
                    }
                    Some(Component::RootDir) => {}
                    _ => out.push(".."),
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

pub fn is_temp_name(name: &str) -> bool {
    name.starts_with(TEMP_PREFIX)
}

/// A temporary file in `dir`, named with [`TEMP_PREFIX`].
pub fn temp_file_in(dir: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(dir)
}

/// `bytes` written and flushed to a temporary file beside `path`, to be renamed over it
/// (`persist`): a write that fails (a full disk) fails here, before anything changes.
pub fn prepare_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<tempfile::NamedTempFile> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = temp_file_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_data()?;
    Ok(tmp)
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, flushed,
/// then renamed over the target. Readers see the old or the new content, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    prepare_atomic(path, bytes)?
        .persist(path)
        .map_err(|e| e.error)?;
    Ok(())
}

/// [`write_atomic`] for a file only its owner may read (0600 from the start): it may hold
/// a credential or a value derived from one.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .permissions(private_permissions())
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_data()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Keeps what strata writes in the existing directory `dir` out of git, whatever the
/// repository's own ignore files say: a `.gitignore` in it that ignores everything, itself
/// included, so `git add -A` never stages a cache, a lock or a daemon's socket. Written
/// once (an existing one is left as it is); a directory that cannot take it is left alone,
/// since nothing strata does depends on it.
pub fn keep_out_of_git(dir: &Path) {
    let marker = dir.join(".gitignore");
    if dir.is_dir() && !marker.exists() {
        let _ = write_atomic(
            &marker,
            b"# Written by strata: nothing here belongs in git.\n*\n",
        );
    }
}

/// Creates `dir` (and its parents) if needed and makes it accessible to its owner only
/// (0700): it holds state, credentials or programs others must not plant.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// A temporary file holding `bytes` that may be secret: created readable and writable by
/// its owner only (0600), outside the checkout, and removed when the handle is dropped (also
/// when a task fails, is interrupted by Ctrl-C or panics; only a killed process leaves it).
pub fn secret_file(
    prefix: &str,
    suffix: &str,
    bytes: &[u8],
) -> std::io::Result<tempfile::NamedTempFile> {
    let mut file = tempfile::Builder::new()
        .prefix(prefix)
        .suffix(suffix)
        .permissions(private_permissions())
        .tempfile()?;
    file.write_all(bytes)?;
    file.as_file().sync_data()?;
    Ok(file)
}

#[cfg(unix)]
fn private_permissions() -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(0o600)
}

#[cfg(not(unix))]
fn private_permissions() -> std::fs::Permissions {
    std::fs::metadata(std::env::temp_dir())
        .map(|m| m.permissions())
        .expect("temp dir")
}

/// Length of the checksum a sealed file carries after its magic bytes.
const SEAL_LEN: usize = 32;

/// Writes a sealed file atomically: `magic`, the BLAKE3 of `body`, then `body`. A cache that
/// strata only trusts when it is intact (facts, baselines, tool versions) is written this
/// way and read with [`read_sealed`].
pub fn write_sealed(path: &Path, magic: &[u8; 8], body: &[u8]) -> std::io::Result<()> {
    write_sealed_with(path, magic, |w| w.write_all(body))
}

/// [`write_sealed`] with the body written by `body` as it is produced (an encoder writing
/// straight to the file): the body is never held in memory whole. The checksum is computed
/// on the way and written into its place before the file is renamed over `path`; a body
/// that fails to write leaves `path` as it was.
pub fn write_sealed_with(
    path: &Path,
    magic: &[u8; 8],
    body: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom};
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = temp_file_in(dir)?;
    let mut hasher = blake3::Hasher::new();
    {
        let file = tmp.as_file_mut();
        file.write_all(magic)?;
        file.write_all(&[0; SEAL_LEN])?;
        // Buffered before the hash, so the hasher and the file see large chunks however
        // small the encoder's writes are.
        let mut out = std::io::BufWriter::with_capacity(
            1 << 16,
            Hashing {
                inner: file,
                hasher: &mut hasher,
            },
        );
        body(&mut out)?;
        out.flush()?;
    }
    let file = tmp.as_file_mut();
    file.seek(SeekFrom::Start(magic.len() as u64))?;
    file.write_all(hasher.finalize().as_bytes())?;
    file.sync_data()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// A writer that hashes what passes through it.
struct Hashing<'a, W: Write> {
    inner: &'a mut W,
    hasher: &'a mut blake3::Hasher,
}

impl<W: Write> Write for Hashing<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The bytes of a sealed file: `magic`, checksum, body.
pub fn seal(magic: &[u8; 8], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(magic.len() + SEAL_LEN + body.len());
    out.extend_from_slice(magic);
    out.extend_from_slice(blake3::hash(body).as_bytes());
    out.extend_from_slice(body);
    out
}

/// The body of a sealed file, or `None` when the file is missing, starts with other magic
/// bytes, or its body does not match its checksum (a torn write, a disk fault, an edit).
pub fn read_sealed(path: &Path, magic: &[u8; 8]) -> Option<Vec<u8>> {
    let mut bytes = std::fs::read(path).ok()?;
    unseal(magic, &bytes)?;
    // The body in place: no second copy of a large file.
    bytes.drain(..magic.len() + SEAL_LEN);
    Some(bytes)
}

/// The body of sealed bytes, when intact.
pub fn unseal<'a>(magic: &[u8; 8], bytes: &'a [u8]) -> Option<&'a [u8]> {
    let rest = bytes.strip_prefix(magic.as_slice())?;
    let (sum, body) = rest.split_at_checked(SEAL_LEN)?;
    (blake3::hash(body).as_bytes() == sum).then_some(body)
}

/// Opens a file to read that a tool or a person may have replaced: never through a link
/// (`O_NOFOLLOW`: a committed link to `/dev/zero` would be read without end), and without
/// waiting for a writer (`O_NONBLOCK`: a FIFO would block for ever; it reads as empty).
pub fn open_unfollowed(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use nix::fcntl::OFlag;
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags((OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK).bits());
    }
    options.open(path)
}

/// Reads a file strata keeps in the repository or is handed (a release lock, an audit
/// ledger, a promotion plan or record, the allowed signers), which a pull request can turn
/// into a link to a device or a FIFO: only what is a regular file once links are followed
/// is read, whole; a FIFO is not waited on (`O_NONBLOCK`), a device (`/dev/zero`, read
/// without end) is refused.
pub fn read_regular(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits());
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_regular());
    }
    // No more than the file says it holds: a kernel file (`/proc/self/pagemap`) is
    // "regular", says it holds nothing, and gives bytes without end. One that gives more
    // than its size is refused.
    let kernel_file = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file: it holds more than its size says (a file of the kernel's, through a link?); strata reads only a plain file here; replace it with the file itself",
        )
    };
    let mut bytes = Vec::new();
    file.take(meta.len().saturating_add(1))
        .read_to_end(&mut bytes)
        // Such a file may also refuse a read of a size it does not serve.
        .map_err(|e| if meta.len() == 0 { kernel_file() } else { e })?;
    if bytes.len() as u64 > meta.len() {
        return Err(kernel_file());
    }
    Ok(bytes)
}

/// [`read_regular`] as text: invalid UTF-8 is an error of kind `InvalidData`.
pub fn read_regular_to_string(path: &Path) -> std::io::Result<String> {
    String::from_utf8(read_regular(path)?)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

fn not_regular() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        "not a regular file (a FIFO, a device, or a link to one): strata reads only a plain file here; replace it with the file itself",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ledger or lock turned into a link to /dev/zero (read without end) or a FIFO
    /// (blocks for ever) is refused at once; a plain file is read, also through a link.
    #[cfg(unix)]
    #[test]
    fn only_a_regular_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        std::fs::write(&plain, b"ok").unwrap();
        assert_eq!(read_regular(&plain).unwrap(), b"ok");
        let to_plain = dir.path().join("to-plain");
        std::os::unix::fs::symlink("plain", &to_plain).unwrap();
        assert_eq!(read_regular(&to_plain).unwrap(), b"ok");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let err = read_regular(&link).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
        let kernel = dir.path().join("kernel");
        std::os::unix::fs::symlink("/proc/self/pagemap", &kernel).unwrap();
        let err = read_regular(&kernel).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let err = read_regular(&fifo).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
        assert_eq!(
            read_regular(&dir.path().join("absent")).unwrap_err().kind(),
            std::io::ErrorKind::NotFound
        );
    }

    #[test]
    fn lexically_normal_paths() {
        for (given, normal) in [
            ("stacks/../stacks/net", "stacks/net"),
            ("./a/./b/", "a/b"),
            ("/w/stacks/../x/..", "/w"),
            ("/..", "/"),
            ("../a/../../b", "../../b"),
            ("a/..", ""),
        ] {
            assert_eq!(
                lexically_normal(Path::new(given)),
                Path::new(normal),
                "{given}"
            );
        }
    }

    #[test]
    fn sealed_files_reject_any_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.bin");
        write_sealed(&path, b"TESTMAGI", b"hello world").unwrap();
        assert_eq!(read_sealed(&path, b"TESTMAGI").unwrap(), b"hello world");
        assert_eq!(read_sealed(&path, b"OTHERMAG"), None);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(read_sealed(&path, b"TESTMAGI"), None);
        std::fs::write(&path, b"TESTMAGI").unwrap();
        assert_eq!(read_sealed(&path, b"TESTMAGI"), None);
        assert_eq!(read_sealed(&dir.path().join("missing"), b"TESTMAGI"), None);
    }

    /// A body written as it is produced seals the same bytes as one given whole; a body
    /// that fails leaves the file as it was.
    #[test]
    fn a_streamed_body_is_sealed_like_a_whole_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.bin");
        let body: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
        write_sealed_with(&path, b"TESTMAGI", |w| {
            for chunk in body.chunks(777) {
                w.write_all(chunk)?;
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), seal(b"TESTMAGI", &body));
        assert_eq!(read_sealed(&path, b"TESTMAGI").unwrap(), body);
        let failed = write_sealed_with(&path, b"TESTMAGI", |w| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("encoder failed"))
        });
        assert!(failed.is_err());
        assert_eq!(read_sealed(&path, b"TESTMAGI").unwrap(), body);
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "the temporary file is removed");
    }
}
