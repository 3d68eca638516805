//! Filesystem primitives shared by every store that writes files: atomic writes, and sealed
//! files that carry a checksum of their content so a damaged or edited cache is never
//! trusted.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, flushed,
/// then renamed over the target. Readers see the old or the new content, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_data()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// [`write_atomic`] for a file only its owner may read (0600 from the start): it may hold
/// a credential or a value derived from one.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .permissions(private_permissions())
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_data()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
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
    write_atomic(path, &seal(magic, body))
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
    let bytes = std::fs::read(path).ok()?;
    unseal(magic, &bytes).map(<[u8]>::to_vec)
}

/// The body of sealed bytes, when intact.
pub fn unseal<'a>(magic: &[u8; 8], bytes: &'a [u8]) -> Option<&'a [u8]> {
    let rest = bytes.strip_prefix(magic.as_slice())?;
    let (sum, body) = rest.split_at_checked(SEAL_LEN)?;
    (blake3::hash(body).as_bytes() == sum).then_some(body)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
