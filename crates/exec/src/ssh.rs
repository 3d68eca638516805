//! Promotion approvals signed and verified with OpenSSH's `ssh-keygen -Y` (OpenSSH 8.2 or
//! newer): the same SSHSIG signatures and `allowed_signers` files git uses for SSH-signed
//! commits, so approvers use the SSH keys (and ssh-agent) they already have.
//!
//! ssh-keygen runs through [`crate::process::run`] (its own process group, Ctrl-C, the
//! reaper), which gives every tool `/dev/null` as stdin. So the message and the signature
//! are handed over in files: each call creates a private temporary directory (mode 0700,
//! removed when the call returns), writes them there (mode 0600), and passes them as file
//! arguments; `-Y verify` reads the message only from stdin, so `/bin/sh` redirects the
//! message file to it and `exec`s ssh-keygen (same process, same group).
//!
//! ssh-keygen never prompts: verify and find-principals read nothing from the terminal, and
//! sign and `-y` are given an empty passphrase (`-P ''`), so a passphrase-protected key that
//! ssh-agent does not hold fails with [`SshError::KeyLocked`]. A prompt could not work anyway:
//! in its own (background) process group, ssh-keygen reading the terminal is stopped by
//! SIGTTIN/SIGTTOU and strata would wait for it forever.

use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::process::{self, Output};

/// The namespace every strata approval signature is made in.
pub const NAMESPACE: &str = "strata-promote";
/// The namespace of audit event signatures (`[audit] signed = true`).
pub const AUDIT_NAMESPACE: &str = "strata-audit";

/// Environment variable overriding the ssh-keygen binary (a path, or a name looked up on PATH).
pub const KEYGEN_ENV: &str = "STRATA_SSH_KEYGEN";

const SIGNATURE_HEADER: &str = "-----BEGIN SSH SIGNATURE-----";

/// ssh-keygen's exit status for a failed operation (`fatal()` and the `-Y` operations' -1).
const KEYGEN_FAILED: i32 = 255;

/// Why signing or verifying could not be done.
#[derive(Debug)]
pub enum SshError {
    /// No ssh-keygen on PATH (`env_override` is `None`), or `STRATA_SSH_KEYGEN` names none.
    KeygenNotFound { env_override: Option<PathBuf> },
    /// The ssh-keygen found does not know the `-Y` signature operations (OpenSSH < 8.2).
    KeygenTooOld { keygen: PathBuf, stderr: String },
    /// ssh-keygen (or `/bin/sh` for verify) could not be started.
    Spawn { program: PathBuf, source: io::Error },
    /// A file could not be read or written (`action` says which and why).
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// The private key is passphrase-protected and ssh-agent does not hold it.
    KeyLocked { key: PathBuf },
    /// ssh-keygen failed (`operation` is its arguments, like `-Y sign`).
    Failed {
        operation: &'static str,
        code: Option<i32>,
        stderr: String,
    },
    /// The run was interrupted (Ctrl-C) before ssh-keygen finished.
    Interrupted,
    /// The revoked keys file is neither a list of public keys nor a KRL ssh-keygen can read:
    /// ssh-keygen then rejects every signature, which would read as "revoked".
    BadRevocationFile {
        path: PathBuf,
        /// The first line that is not a public key (a list), or None (a KRL).
        line: Option<usize>,
        detail: String,
    },
}

impl fmt::Display for SshError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SshError::KeygenNotFound { env_override: None } => write!(
                f,
                "ssh-keygen not found on PATH: install OpenSSH's ssh-keygen (8.2 or newer), \
                 or set {KEYGEN_ENV} to its path"
            ),
            SshError::KeygenNotFound {
                env_override: Some(p),
            } => write!(
                f,
                "{KEYGEN_ENV}={} is not an executable ssh-keygen: install OpenSSH's \
                 ssh-keygen (8.2 or newer) and point {KEYGEN_ENV} at it, or unset it to use \
                 the one on PATH",
                p.display()
            ),
            SshError::KeygenTooOld { keygen, stderr } => write!(
                f,
                "{} does not support signatures (`ssh-keygen -Y`): install OpenSSH's \
                 ssh-keygen 8.2 or newer{}",
                keygen.display(),
                detail(stderr)
            ),
            SshError::Spawn { program, source } => {
                write!(f, "cannot run {}: {source}", program.display())
            }
            SshError::Io {
                action,
                path,
                source,
            } => write!(f, "cannot {action} {}: {source}", path.display()),
            SshError::KeyLocked { key } => write!(
                f,
                "the SSH key {} is passphrase-protected and not loaded in ssh-agent: add it \
                 with `ssh-add {}` (strata never prompts for passphrases)",
                key.display(),
                key.display()
            ),
            SshError::Failed {
                operation,
                code,
                stderr,
            } => {
                write!(f, "`ssh-keygen {operation}` failed")?;
                match code {
                    Some(c) => write!(f, " (exit status {c})")?,
                    None => write!(f, " (killed by a signal)")?,
                }
                write!(f, "{}", detail(stderr))
            }
            SshError::Interrupted => write!(f, "interrupted before ssh-keygen finished"),
            SshError::BadRevocationFile {
                path,
                line: Some(line),
                detail,
            } => write!(
                f,
                "{}:{line}: not a public key ({detail}): a revoked keys file lists one OpenSSH \
                 public key per line (`ssh-ed25519 AAAA... comment`; blank lines and `#` \
                 comments allowed), or is a KRL made with `ssh-keygen -k`; fix or remove the \
                 line (until then ssh-keygen rejects every signature)",
                path.display()
            ),
            SshError::BadRevocationFile {
                path,
                line: None,
                detail: why,
            } => write!(
                f,
                "{}: not a KRL ssh-keygen can read{}: make it again with `ssh-keygen -k -f {}` \
                 and the public keys to revoke (until then ssh-keygen rejects every signature)",
                path.display(),
                detail(why),
                path.display()
            ),
        }
    }
}

fn detail(stderr: &str) -> String {
    let s = stderr.trim();
    if s.is_empty() {
        String::new()
    } else {
        format!(": {s}")
    }
}

impl std::error::Error for SshError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SshError::Spawn { source, .. } | SshError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Signs `message` with the private key at `key` (or a public key whose private half is in
/// ssh-agent), in namespace `namespace`; returns the armored signature text
/// ("-----BEGIN SSH SIGNATURE-----...").
///
/// ssh-agent (`SSH_AUTH_SOCK`) is used when it holds the key; otherwise the private key file
/// must be unencrypted ([`SshError::KeyLocked`] when it is not: strata never prompts).
pub fn sign(key: &Path, namespace: &str, message: &[u8]) -> Result<String, SshError> {
    let keygen = keygen()?;
    let key = absolute(key)?;
    let scratch = Scratch::new()?;
    let msg = scratch.write("message", message)?;
    let mut cmd = Command::new(&keygen);
    cmd.args(["-Y", "sign", "-n", namespace, "-P", "", "-f"])
        .arg(&key)
        .arg(&msg);
    let out = run(cmd, &scratch, &keygen)?;
    if !out.success {
        let stderr = stderr_text(&out);
        if stderr.contains("incorrect passphrase") {
            return Err(SshError::KeyLocked { key });
        }
        return Err(failed("-Y sign", &out));
    }
    // `-Y sign FILE` writes FILE.sig.
    let sig_path = scratch.path("message.sig");
    let signature = std::fs::read_to_string(&sig_path).map_err(|source| SshError::Io {
        action: "read the signature ssh-keygen wrote to",
        path: sig_path,
        source,
    })?;
    if !signature.starts_with(SIGNATURE_HEADER) {
        return Err(SshError::Failed {
            operation: "-Y sign",
            code: out.code,
            stderr: format!("wrote no SSH signature: {:?}", signature.trim()),
        });
    }
    Ok(signature)
}

/// The principals of `allowed_signers` whose key made `signature`, from every line that lists
/// the key (ssh-keygen -Y find-principals). Empty when the key is not listed (and when
/// `signature` is not an SSH signature at all).
///
/// Only the signing key is matched: the signature is not verified, and ssh-keygen ignores the
/// `namespaces=` restrictions of `allowed_signers` here; [`verify`] checks both. ssh-keygen
/// names the principals of the first line that lists the key only, so a key listed again
/// under other names (`alice-laptop` and `alice`, or one name per namespace) is looked up
/// again without the lines already answered, until no line lists it.
pub fn find_principals(allowed_signers: &Path, signature: &str) -> Result<Vec<String>, SshError> {
    let keygen = keygen()?;
    let allowed = readable(allowed_signers, "read the allowed signers file")?;
    let text = std::fs::read(&allowed).map_err(|source| SshError::Io {
        action: "read the allowed signers file",
        path: allowed.clone(),
        source,
    })?;
    let text = String::from_utf8_lossy(&text);
    let mut lines: Vec<&str> = text.lines().collect();
    let scratch = Scratch::new()?;
    let sig = scratch.write("signature", armored(signature).as_bytes())?;
    let mut principals: Vec<String> = Vec::new();
    let mut file = allowed;
    for round in 0.. {
        let mut cmd = Command::new(&keygen);
        cmd.args(["-Y", "find-principals", "-s"])
            .arg(&sig)
            .arg("-f")
            .arg(&file);
        let out = run(cmd, &scratch, &keygen)?;
        let found: Vec<String> = match out.code {
            Some(0) => String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect(),
            // "No principal matched." (also for a signature ssh-keygen cannot parse).
            Some(KEYGEN_FAILED) => break,
            _ => return Err(failed("-Y find-principals", &out)),
        };
        for p in &found {
            if !principals.contains(p) {
                principals.push(p.clone());
            }
        }
        // Leave out the lines that name exactly what was found (the line that answered,
        // and any other with the same names: nothing new can come from them) and ask again.
        let before = lines.len();
        lines.retain(|line| line_principals(line).is_none_or(|names| names != found));
        if lines.len() == before || lines.iter().all(|l| line_principals(l).is_none()) {
            // A certificate authority's line answers with the certificate's names; or no
            // line is left: stop.
            break;
        }
        let mut rest = lines.join("\n");
        rest.push('\n');
        file = scratch.write(&format!("allowed_signers.{round}"), rest.as_bytes())?;
    }
    Ok(principals)
}

/// The principals a line of an allowed signers file names (its first field, split at
/// commas, quotes removed), or `None` for a comment or an empty line.
fn line_principals(line: &str) -> Option<Vec<String>> {
    let line = line.trim_start();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let field = match line.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next().unwrap_or_default(),
        None => line.split_whitespace().next().unwrap_or_default(),
    };
    Some(field.split(',').map(str::to_string).collect())
}

/// Whether `signature` is a valid signature over `message` by `principal` in `namespace` per
/// `allowed_signers`, and not made by a key listed in `revoked` (ssh-keygen -Y verify -r, a
/// KRL or a file of public keys). Ok(false) for a bad/foreign/revoked signature; Err only when
/// ssh-keygen cannot be run or the files cannot be read.
///
/// `principal` is matched against the principal patterns of `allowed_signers` (a line for
/// `*@example.com` accepts `anyone@example.com`).
pub fn verify(
    allowed_signers: &Path,
    revoked: Option<&Path>,
    principal: &str,
    namespace: &str,
    signature: &str,
    message: &[u8],
) -> Result<bool, SshError> {
    verify_at(
        allowed_signers,
        revoked,
        principal,
        namespace,
        signature,
        message,
        None,
    )
}

/// [`verify`], with the key's `valid-after`/`valid-before` of `allowed_signers` judged at
/// `time` (`YYYYMMDDHHMMSSZ`, ssh-keygen's `verify-time`) instead of now: a signature made
/// while the key was valid still verifies after its line was closed with `valid-before`.
pub fn verify_at(
    allowed_signers: &Path,
    revoked: Option<&Path>,
    principal: &str,
    namespace: &str,
    signature: &str,
    message: &[u8],
    time: Option<&str>,
) -> Result<bool, SshError> {
    let keygen = keygen()?;
    // ssh-keygen fails the same way, silently, for a missing allowed signers or revocation
    // file as for a bad signature: check them first so that is an error, not a rejection.
    let allowed = readable(allowed_signers, "read the allowed signers file")?;
    let revoked = revoked
        .map(|r| readable(r, "read the revoked keys file"))
        .transpose()?;
    let scratch = Scratch::new()?;
    let msg = scratch.write("message", message)?;
    let sig = scratch.write("signature", armored(signature).as_bytes())?;
    // `-Y verify` reads the message from stdin only, and `process::run` gives tools
    // /dev/null: the shell redirects the message file and `exec`s ssh-keygen in its place.
    let mut cmd = Command::new("/bin/sh");
    cmd.args([
        "-c",
        r#"m="$1"; shift; exec "$@" <"$m""#,
        "strata-ssh-verify",
    ])
    .arg(&msg)
    .arg(&keygen)
    .args(["-Y", "verify", "-f"])
    .arg(&allowed)
    .arg("-I")
    .arg(principal)
    .arg("-n")
    .arg(namespace)
    .arg("-s")
    .arg(&sig);
    if let Some(r) = &revoked {
        cmd.arg("-r").arg(r);
    }
    if let Some(t) = time {
        cmd.arg("-O").arg(format!("verify-time={t}"));
    }
    let out = run(cmd, &scratch, Path::new("/bin/sh"))?;
    match out.code {
        Some(0) => Ok(true),
        // "Could not verify signature.": bad, foreign, revoked, wrong namespace or principal,
        // or a revocation file ssh-keygen cannot read (which it does not say).
        Some(KEYGEN_FAILED) => match &revoked {
            Some(r) => revocation_file_check(&keygen, r, &scratch).map(|()| false),
            None => Ok(false),
        },
        // The shell could not redirect or exec (2, 126, 127), or ssh-keygen's usage error.
        _ => Err(failed("-Y verify", &out)),
    }
}

/// Whether `path` is a revocation file ssh-keygen can read: a KRL (its magic, then
/// `ssh-keygen -Q -l` lists it) or lines that are each blank, a `#` comment or a public key
/// whose blob decodes and names the line's key type. Checked only after a signature was
/// rejected, so a sound file costs nothing.
fn revocation_file_check(keygen: &Path, path: &Path, scratch: &Scratch) -> Result<(), SshError> {
    const KRL_MAGIC: &[u8] = b"SSHKRL\n\0";
    let bad = |line, detail: String| SshError::BadRevocationFile {
        path: path.to_path_buf(),
        line,
        detail,
    };
    let bytes = std::fs::read(path).map_err(|source| SshError::Io {
        action: "read the revoked keys file",
        path: path.to_path_buf(),
        source,
    })?;
    if bytes.starts_with(KRL_MAGIC) {
        let mut cmd = Command::new(keygen);
        cmd.args(["-Q", "-l", "-f"]).arg(path);
        let out = run(cmd, scratch, keygen)?;
        return match out.code {
            Some(0) => Ok(()),
            Some(_) => Err(bad(None, stderr_text(&out).trim().to_string())),
            None => Err(failed("-Q -l", &out)),
        };
    }
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Err(bad(Some(1), "not text, and not a KRL".to_string()));
    };
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Err(why) = public_key_fields(line) {
            return Err(bad(Some(n + 1), why.to_string()));
        }
        // Well formed is not yet a key (a blob cut short after its type): ssh-keygen reads
        // each line as it reads the file.
        let one = scratch.path("revoked-line.pub");
        std::fs::write(&one, format!("{line}\n")).map_err(|source| SshError::Io {
            action: "write",
            path: one.clone(),
            source,
        })?;
        let mut cmd = Command::new(keygen);
        cmd.args(["-l", "-f"]).arg(&one);
        let out = run(cmd, scratch, keygen)?;
        match out.code {
            Some(0) => {}
            Some(_) => {
                return Err(bad(
                    Some(n + 1),
                    format!(
                        "ssh-keygen cannot read it as a key: {}",
                        stderr_text(&out).trim()
                    ),
                ))
            }
            None => return Err(failed("-l", &out)),
        }
    }
    Ok(())
}

/// Checks `TYPE BASE64 [comment]`: the blob decodes and begins with `TYPE` (the wire
/// format's length-prefixed key type name).
fn public_key_fields(line: &str) -> Result<(), &'static str> {
    use base64::Engine as _;
    let mut fields = line.split_whitespace();
    let kind = fields.next().ok_or("empty")?;
    let blob = fields.next().ok_or("no key after the key type")?;
    let blob = base64::engine::general_purpose::STANDARD
        .decode(blob)
        .map_err(|_| "the key is not base64")?;
    let len = blob
        .get(..4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or("the key is too short")?;
    match blob.get(4..4 + len) {
        Some(name) if name == kind.as_bytes() => Ok(()),
        Some(_) => {
            Err("the key does not match its key type (options before the key are not allowed here)")
        }
        None => Err("the key is too short"),
    }
}

/// The public key line (`ssh-ed25519 AAAA... comment`) of a private key file (ssh-keygen -y
/// -f), for messages.
///
/// When ssh-keygen cannot read the private key (passphrase-protected) or `key` is itself a
/// public key (signing through ssh-agent), the line of `key` or `key.pub` is returned.
pub fn public_key(key: &Path) -> Result<String, SshError> {
    let keygen = keygen()?;
    let key = absolute(key)?;
    let scratch = Scratch::new()?;
    let mut cmd = Command::new(&keygen);
    cmd.args(["-y", "-P", "", "-f"]).arg(&key);
    let out = run(cmd, &scratch, &keygen)?;
    if out.success {
        if let Some(line) = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
        {
            return Ok(line.to_string());
        }
    }
    let mut pub_path = key.clone().into_os_string();
    pub_path.push(".pub");
    for candidate in [key.clone(), PathBuf::from(pub_path)] {
        if let Some(line) = std::fs::read_to_string(&candidate)
            .ok()
            .and_then(|text| public_key_line(&text))
        {
            return Ok(line);
        }
    }
    if stderr_text(&out).contains("incorrect passphrase") {
        return Err(SshError::KeyLocked { key });
    }
    Err(failed("-y", &out))
}

/// The first OpenSSH public key line of `text` (`TYPE BASE64 [comment]`; every key blob's
/// base64 starts with `AAAA`, its type name's length).
fn public_key_line(text: &str) -> Option<String> {
    text.lines().map(str::trim).find_map(|line| {
        let mut fields = line.split_whitespace();
        let kind = fields.next()?;
        let blob = fields.next()?;
        let plausible = !kind.starts_with('#')
            && !kind.starts_with('-')
            && kind
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-@.".contains(c))
            && blob.starts_with("AAAA");
        plausible.then(|| line.to_string())
    })
}

/// The ssh-keygen to run: `STRATA_SSH_KEYGEN`, else `ssh-keygen` on PATH.
fn keygen() -> Result<PathBuf, SshError> {
    locate(
        std::env::var_os(KEYGEN_ENV).as_deref(),
        std::env::var_os("PATH").as_deref(),
    )
}

fn locate(env_override: Option<&OsStr>, path_var: Option<&OsStr>) -> Result<PathBuf, SshError> {
    let on_path = |name: &OsStr| -> Option<PathBuf> {
        std::env::split_paths(path_var?)
            .filter(|dir| !dir.as_os_str().is_empty())
            .map(|dir| dir.join(name))
            .find(|p| is_executable(p))
    };
    match env_override.filter(|v| !v.is_empty()) {
        Some(v) => {
            let p = Path::new(v);
            let found = if p.components().count() > 1 {
                std::path::absolute(p).ok().filter(|p| is_executable(p))
            } else {
                on_path(v)
            };
            found.ok_or_else(|| SshError::KeygenNotFound {
                env_override: Some(p.to_path_buf()),
            })
        }
        None => {
            on_path(OsStr::new("ssh-keygen")).ok_or(SshError::KeygenNotFound { env_override: None })
        }
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// `path` made absolute (ssh-keygen runs in the private temporary directory).
fn absolute(path: &Path) -> Result<PathBuf, SshError> {
    std::path::absolute(path).map_err(|source| SshError::Io {
        action: "resolve",
        path: path.to_path_buf(),
        source,
    })
}

/// `path` made absolute, after checking it is a file that can be read.
fn readable(path: &Path, action: &'static str) -> Result<PathBuf, SshError> {
    let io_err = |source| SshError::Io {
        action,
        path: path.to_path_buf(),
        source,
    };
    // Reading (not just opening) also refuses a directory.
    std::fs::read(path).map_err(io_err)?;
    absolute(path)
}

/// The signature with the final newline ssh-keygen writes (callers may have trimmed it).
fn armored(signature: &str) -> String {
    let mut s = signature.trim().to_string();
    s.push('\n');
    s
}

fn run(cmd: Command, scratch: &Scratch, program: &Path) -> Result<Output, SshError> {
    let out = process::run(cmd, scratch.dir.path()).map_err(|source| SshError::Spawn {
        program: program.to_path_buf(),
        source,
    })?;
    // Stopped by the interrupt, or not started after it. (A tool that exits with a code
    // after an interrupt counts as interrupted too; ssh-keygen answers "no" with one, as
    // `find-principals` does for a key no line lists, which bookkeeping after an
    // interrupt must still hear as "no".)
    if out.interrupted && out.code.is_none() {
        return Err(SshError::Interrupted);
    }
    let stderr = stderr_text(&out);
    // OpenSSH before 8.1: "unknown option -- Y"; 8.1 has no find-principals.
    if !out.success
        && (stderr.contains("option -- Y") || stderr.contains("Unsupported operation for -Y"))
    {
        return Err(SshError::KeygenTooOld {
            keygen: program.to_path_buf(),
            stderr: stderr.lines().next().unwrap_or_default().to_string(),
        });
    }
    Ok(out)
}

fn stderr_text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn failed(operation: &'static str, out: &Output) -> SshError {
    SshError::Failed {
        operation,
        code: out.code,
        stderr: stderr_text(out).trim().to_string(),
    }
}

/// A private temporary directory (0700) for the files handed to ssh-keygen; it and
/// everything in it are removed when the value is dropped (on every return path).
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Result<Self, SshError> {
        use std::os::unix::fs::PermissionsExt;
        // Created 0700 (mkdir's mode, not a chmod after): the message is never readable by others.
        let dir = tempfile::Builder::new()
            .prefix("strata-ssh-")
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir()
            .map_err(|source| SshError::Io {
                action: "create a temporary directory in",
                path: std::env::temp_dir(),
                source,
            })?;
        Ok(Scratch { dir })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a new owner-only file `name`.
    fn write(&self, name: &str, bytes: &[u8]) -> Result<PathBuf, SshError> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.path(name);
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .and_then(|mut f| f.write_all(bytes))
            .map_err(|source| SshError::Io {
                action: "write the temporary file",
                path: path.clone(),
                source,
            })?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two ed25519 keys (alice, listed in allowed_signers; bob, not) and a passphrase-protected
    /// one (carol), in a temporary directory.
    struct Keys {
        dir: tempfile::TempDir,
        keygen: PathBuf,
    }

    impl Keys {
        fn path(&self, name: &str) -> PathBuf {
            self.dir.path().join(name)
        }

        fn allowed(&self) -> PathBuf {
            self.path("allowed_signers")
        }

        fn alice_pub(&self) -> String {
            self.public("alice")
        }

        fn bob_pub(&self) -> String {
            self.public("bob")
        }

        fn public(&self, name: &str) -> String {
            std::fs::read_to_string(self.path(&format!("{name}.pub")))
                .unwrap()
                .trim()
                .to_string()
        }
    }

    fn generate(keygen: &Path, dir: &Path, name: &str, passphrase: &str) {
        let out = Command::new(keygen)
            .args(["-q", "-t", "ed25519", "-N", passphrase, "-C"])
            .arg(format!("{name}@example.com"))
            .arg("-f")
            .arg(dir.join(name))
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }

    /// `None` (with a note) when ssh-keygen is not installed.
    fn keys() -> Option<Keys> {
        let keygen = match keygen() {
            Ok(k) => k,
            Err(e) => {
                eprintln!("skipped: {e}");
                return None;
            }
        };
        let dir = tempfile::tempdir().unwrap();
        generate(&keygen, dir.path(), "alice", "");
        generate(&keygen, dir.path(), "bob", "");
        generate(&keygen, dir.path(), "carol", "secret");
        let keys = Keys { dir, keygen };
        std::fs::write(
            keys.allowed(),
            format!(
                "alice@example.com namespaces=\"{NAMESPACE}\" {}\n",
                keys.alice_pub()
            ),
        )
        .unwrap();
        Some(keys)
    }

    const MESSAGE: &[u8] = b"promote stacks/network from dev to prod at 3f2a9c\n\x00\xff";

    #[test]
    fn ssh_sign_verify_roundtrip_and_principals() {
        let Some(k) = keys() else { return };
        let sig = sign(&k.path("alice"), NAMESPACE, MESSAGE).unwrap();
        assert!(sig.starts_with("-----BEGIN SSH SIGNATURE-----"), "{sig}");
        assert!(
            sig.trim_end().ends_with("-----END SSH SIGNATURE-----"),
            "{sig}"
        );
        let ok = |principal: &str, ns: &str, sig: &str, msg: &[u8]| {
            verify(&k.allowed(), None, principal, ns, sig, msg).unwrap()
        };
        assert!(ok("alice@example.com", NAMESPACE, &sig, MESSAGE));
        // Stored trimmed, still accepted.
        assert!(ok("alice@example.com", NAMESPACE, sig.trim(), MESSAGE));
        assert_eq!(
            find_principals(&k.allowed(), &sig).unwrap(),
            vec!["alice@example.com".to_string()]
        );
        // Another message, namespace or principal.
        assert!(!ok(
            "alice@example.com",
            NAMESPACE,
            &sig,
            b"promote to prod"
        ));
        assert!(!ok("alice@example.com", NAMESPACE, &sig, b""));
        assert!(!ok("alice@example.com", "git", &sig, MESSAGE));
        assert!(!ok("bob@example.com", NAMESPACE, &sig, MESSAGE));
        // Signed in another namespace: the allowed_signers line is for strata-promote only.
        let git_sig = sign(&k.path("alice"), "git", MESSAGE).unwrap();
        assert!(!ok("alice@example.com", "git", &git_sig, MESSAGE));
        assert!(!ok("alice@example.com", NAMESPACE, &git_sig, MESSAGE));
        // Not a signature at all.
        assert!(!ok("alice@example.com", NAMESPACE, "garbage", MESSAGE));
        assert!(find_principals(&k.allowed(), "garbage").unwrap().is_empty());
        // An empty message signs and verifies too.
        let empty = sign(&k.path("alice"), NAMESPACE, b"").unwrap();
        assert!(ok("alice@example.com", NAMESPACE, &empty, b""));
        assert!(!ok("alice@example.com", NAMESPACE, &empty, b"\n"));
    }

    #[test]
    fn a_key_on_several_lines_has_the_names_of_every_line() {
        let Some(k) = keys() else { return };
        let alice = k.alice_pub();
        let bob = std::fs::read_to_string(k.path("bob.pub")).unwrap();
        // ssh-keygen -Y find-principals alone names the first line's principals only.
        let listed = format!(
            "# team keys\n\nalice-laptop {alice}\nbob {bob}\"ci,deploy\" namespaces=\"strata-audit\" {alice}\nalice-laptop {alice}\nalice,admin namespaces=\"strata-promote\" {alice}\n"
        );
        let file = k.path("several");
        std::fs::write(&file, listed).unwrap();
        let sig = sign(&k.path("alice"), NAMESPACE, MESSAGE).unwrap();
        assert_eq!(
            find_principals(&file, &sig).unwrap(),
            ["alice-laptop", "ci", "deploy", "alice", "admin"]
        );
        // Each name still verifies only where its line allows it.
        let ok =
            |principal: &str| verify(&file, None, principal, NAMESPACE, &sig, MESSAGE).unwrap();
        assert!(ok("alice") && ok("alice-laptop") && !ok("ci") && !ok("bob"));
        let bobs = sign(&k.path("bob"), NAMESPACE, MESSAGE).unwrap();
        assert_eq!(find_principals(&file, &bobs).unwrap(), ["bob"]);
        assert_eq!(line_principals("  # x"), None);
        assert_eq!(
            line_principals("\"a b,c\" ssh-ed25519 AAAA"),
            Some(vec!["a b".to_string(), "c".to_string()])
        );
    }

    #[test]
    fn ssh_keygen_itself_accepts_the_signature() {
        let Some(k) = keys() else { return };
        let sig = sign(&k.path("alice"), NAMESPACE, MESSAGE).unwrap();
        std::fs::write(k.path("message"), MESSAGE).unwrap();
        std::fs::write(k.path("message.sig"), &sig).unwrap();
        let out = Command::new(&k.keygen)
            .args(["-Y", "verify", "-f"])
            .arg(k.allowed())
            .args(["-I", "alice@example.com", "-n", NAMESPACE, "-s"])
            .arg(k.path("message.sig"))
            .stdin(std::fs::File::open(k.path("message")).unwrap())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Good \"strata-promote\" signature"),
            "{out:?}"
        );
    }

    #[test]
    fn ssh_unlisted_key_is_not_accepted() {
        let Some(k) = keys() else { return };
        let sig = sign(&k.path("bob"), NAMESPACE, MESSAGE).unwrap();
        assert!(find_principals(&k.allowed(), &sig).unwrap().is_empty());
        for principal in ["alice@example.com", "bob@example.com"] {
            assert!(!verify(&k.allowed(), None, principal, NAMESPACE, &sig, MESSAGE).unwrap());
        }
    }

    #[test]
    fn ssh_revoked_key_is_not_accepted() {
        let Some(k) = keys() else { return };
        let sig = sign(&k.path("alice"), NAMESPACE, MESSAGE).unwrap();
        let check = |revoked: &Path| {
            verify(
                &k.allowed(),
                Some(revoked),
                "alice@example.com",
                NAMESPACE,
                &sig,
                MESSAGE,
            )
            .unwrap()
        };
        // A file of public keys: alice's revokes, bob's does not.
        std::fs::write(k.path("revoked"), format!("{}\n", k.alice_pub())).unwrap();
        assert!(!check(&k.path("revoked")));
        assert!(check(&k.path("bob.pub")));
        // A KRL revoking alice's key.
        let out = Command::new(&k.keygen)
            .args(["-q", "-k", "-f"])
            .arg(k.path("revoked.krl"))
            .arg(k.path("alice.pub"))
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert!(!check(&k.path("revoked.krl")));
    }

    #[test]
    fn ssh_a_revoked_keys_file_ssh_keygen_cannot_read_is_an_error_not_a_rejection() {
        let Some(k) = keys() else { return };
        let sig = sign(&k.path("alice"), NAMESPACE, MESSAGE).unwrap();
        let check = |revoked: &Path| {
            verify(
                &k.allowed(),
                Some(revoked),
                "alice@example.com",
                NAMESPACE,
                &sig,
                MESSAGE,
            )
        };
        // bob's key, a comment and a blank line: alice's signature verifies.
        let list = k.path("revoked-list");
        std::fs::write(&list, format!("# left\n\n{}\n", k.bob_pub())).unwrap();
        assert!(check(&list).unwrap());
        // One damaged line makes ssh-keygen reject every signature: an error naming it.
        std::fs::write(&list, format!("{}\nssh-ed25519 AAAAbad\n", k.bob_pub())).unwrap();
        let e = check(&list).unwrap_err();
        assert!(
            matches!(e, SshError::BadRevocationFile { line: Some(2), .. }),
            "{e}"
        );
        assert!(
            e.to_string().contains("revoked-list:2: not a public key"),
            "{e}"
        );
        // A well-formed line whose blob holds no key (its type, then nothing).
        std::fs::write(
            &list,
            format!(
                "{}\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== cut\n",
                k.bob_pub()
            ),
        )
        .unwrap();
        let e = check(&list).unwrap_err();
        assert!(
            matches!(e, SshError::BadRevocationFile { line: Some(2), .. }),
            "{e}"
        );
        // A line with options ssh-keygen does not take here.
        std::fs::write(&list, format!("cert-authority {}\n", k.bob_pub())).unwrap();
        let e = check(&list).unwrap_err();
        assert!(
            matches!(e, SshError::BadRevocationFile { line: Some(1), .. }),
            "{e}"
        );
        // A damaged KRL.
        let krl = k.path("revoked-bad.krl");
        std::fs::write(&krl, b"SSHKRL\n\0garbage").unwrap();
        let e = check(&krl).unwrap_err();
        assert!(
            matches!(e, SshError::BadRevocationFile { line: None, .. }),
            "{e}"
        );
        assert!(e.to_string().contains("ssh-keygen -k"), "{e}");
        // A revoked key still reads as a rejection, not an error.
        std::fs::write(&list, format!("{}\n", k.alice_pub())).unwrap();
        assert!(!check(&list).unwrap());
    }

    #[test]
    fn ssh_unreadable_files_are_errors_not_rejections() {
        let Some(k) = keys() else { return };
        let sig = sign(&k.path("alice"), NAMESPACE, MESSAGE).unwrap();
        let missing = k.path("missing");
        let e = verify(
            &missing,
            None,
            "alice@example.com",
            NAMESPACE,
            &sig,
            MESSAGE,
        )
        .unwrap_err();
        assert!(matches!(e, SshError::Io { .. }), "{e}");
        assert!(e.to_string().contains("allowed signers"), "{e}");
        let e = verify(
            &k.allowed(),
            Some(&missing),
            "alice@example.com",
            NAMESPACE,
            &sig,
            MESSAGE,
        )
        .unwrap_err();
        assert!(e.to_string().contains("revoked keys"), "{e}");
        // A directory is no revocation list either (ssh-keygen would just say "no").
        let e = verify(
            &k.allowed(),
            Some(k.dir.path()),
            "alice@example.com",
            NAMESPACE,
            &sig,
            MESSAGE,
        )
        .unwrap_err();
        assert!(matches!(e, SshError::Io { .. }), "{e}");
        assert!(matches!(
            find_principals(&missing, &sig),
            Err(SshError::Io { .. })
        ));
    }

    #[test]
    fn ssh_passphrase_protected_key_fails_without_prompting() {
        let Some(k) = keys() else { return };
        let key = k.path("carol");
        match sign(&key, NAMESPACE, MESSAGE) {
            Err(SshError::KeyLocked { key: reported }) => assert_eq!(reported, key),
            other => panic!("{other:?}"),
        }
        // Its public key still comes from carol.pub.
        let line = public_key(&key).unwrap();
        assert!(line.starts_with("ssh-ed25519 AAAA"), "{line}");
        assert!(line.ends_with("carol@example.com"), "{line}");
    }

    #[test]
    fn ssh_public_key_of_a_private_key() {
        let Some(k) = keys() else { return };
        assert_eq!(public_key(&k.path("alice")).unwrap(), k.alice_pub());
        // A public key file (signing through ssh-agent) is its own public key.
        assert_eq!(public_key(&k.path("alice.pub")).unwrap(), k.alice_pub());
        let e = public_key(&k.path("missing")).unwrap_err();
        assert!(matches!(e, SshError::Failed { .. }), "{e}");
        assert!(e.to_string().contains("ssh-keygen -y"), "{e}");
    }

    #[test]
    fn ssh_missing_keygen_is_a_clear_error() {
        let empty = tempfile::tempdir().unwrap();
        let e = locate(None, Some(empty.path().as_os_str())).unwrap_err();
        assert!(matches!(e, SshError::KeygenNotFound { env_override: None }));
        let text = e.to_string();
        assert!(
            text.contains("install OpenSSH's ssh-keygen (8.2 or newer)"),
            "{text}"
        );
        let e = locate(None, None).unwrap_err();
        assert!(matches!(e, SshError::KeygenNotFound { .. }));
        let bogus = empty.path().join("ssh-keygen");
        let e = locate(Some(bogus.as_os_str()), None).unwrap_err();
        assert!(e.to_string().contains(KEYGEN_ENV), "{e}");
        // The override wins over PATH, by path or by name.
        std::fs::write(&bogus, "#!/bin/sh\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&bogus, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(locate(Some(bogus.as_os_str()), None).unwrap(), bogus);
        assert_eq!(
            locate(
                Some(OsStr::new("ssh-keygen")),
                Some(empty.path().as_os_str())
            )
            .unwrap(),
            bogus
        );
        assert_eq!(
            locate(Some(OsStr::new("")), Some(empty.path().as_os_str())).unwrap(),
            bogus
        );
    }

    #[test]
    fn ssh_scratch_files_are_private_and_removed() {
        use std::os::unix::fs::PermissionsExt;
        let scratch = Scratch::new().unwrap();
        let dir = scratch.dir.path().to_path_buf();
        let file = scratch.write("message", b"x").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&file), 0o600);
        drop(scratch);
        assert!(!dir.exists());
    }
}
