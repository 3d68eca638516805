//! Encrypted secrets files.
//!
//! A secrets file is TOML whose keys stay readable and whose values are sealed, so a review
//! shows which secrets a change touched without showing them:
//!
//! ```toml
//! db_password = "ENC[chacha20poly1305,…]"
//!
//! [strata_secrets]
//! version = 1
//! recipients = ["age1…", "ssh-ed25519 AAAA… ops@example.com"]
//! data_key = """-----BEGIN AGE ENCRYPTED FILE----- …"""
//! mac = "ENC[chacha20poly1305,…]"
//! ```
//!
//! Every value (a string, number, boolean, date or array; tables are walked into) is
//! encrypted with ChaCha20-Poly1305 under one random 256-bit data key, with its own random
//! nonce and its key path as associated data, so a value moved to another key does not
//! decrypt. The data key is encrypted with age for every recipient (age X25519 keys and
//! SSH ed25519/RSA public keys). A MAC, sealed under the data key, covers every key path, its
//! sealed value and the recipients: a value added, removed or copied in from another file
//! is refused, as is a recipient list edited by hand.
//!
//! Editing keeps the sealed form of every value that did not change, so the diff of an edit
//! names exactly the keys that changed; [`rotate`] draws a new data key and re-encrypts
//! everything; [`update_keys`] re-encrypts only the data key for a new recipient list.

mod identity;
mod value;

pub use identity::{Identities, Recipients, KEY_ENV, KEY_FILE_ENV};
pub use value::to_json;

use age::armor::{ArmoredReader, ArmoredWriter, Format};
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use std::io::{Read, Write};
use std::path::Path;
use toml::{Table, Value};

/// The table holding a sealed file's metadata; no secret may use this name.
pub const META: &str = "strata_secrets";
/// What starts every sealed value.
const PREFIX: &str = "ENC[chacha20poly1305,";
const FORMAT_VERSION: i64 = 1;
const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{file} is not valid TOML: {message}")]
    Malformed {
        file: String,
        line: Option<usize>,
        message: String,
    },
    #[error("{file} is not encrypted")]
    NotSealed { file: String },
    #[error("{file} is already encrypted")]
    AlreadySealed { file: String },
    #[error("{file}: `{META}` is strata's own table in a secrets file")]
    Reserved { file: String },
    #[error("{file}: no recipients to encrypt for")]
    NoRecipients { file: String },
    #[error("`{recipient}` is not an age or SSH public key: {why}")]
    BadRecipient { recipient: String, why: String },
    #[error("{source_name} holds no usable identity: {why}")]
    BadIdentity { source_name: String, why: String },
    #[error("no identity to decrypt with (looked at {})", tried.join(", "))]
    NoIdentity { tried: Vec<String> },
    #[error("{file}: none of the identities given can decrypt it (it is encrypted for {})", recipients.join(", "))]
    NotARecipient {
        file: String,
        recipients: Vec<String>,
    },
    #[error("{file}: `{key}` does not decrypt under its name: it was altered, or moved from another key or file")]
    Tampered { file: String, key: String },
    #[error("{file}: the file's MAC does not match: keys were added, removed or changed, or the recipients edited, outside strata")]
    MacMismatch { file: String },
    #[error("{file}: {message}")]
    Format { file: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// What to do about it.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Error::NotSealed { file } => format!("encrypt it first: `strata secrets encrypt {file}`"),
            Error::AlreadySealed { file } => {
                format!("change it with `strata secrets edit {file}`")
            }
            Error::Reserved { .. } => format!("rename the `{META}` table"),
            Error::NoRecipients { .. } => "list the public keys that may read the environment's secrets in its env.toml: `[secrets] recipients = [\"age1…\"]` (or pass --recipient)".into(),
            Error::BadRecipient { .. } => "use an age public key (`age1…`, from `age-keygen -y`) or one line of an SSH public key (`ssh-ed25519 AAAA…`)".into(),
            Error::NoIdentity { .. } => format!("set {KEY_FILE_ENV} to an age identity file or an unencrypted SSH private key, or {KEY_ENV} to the key itself, or pass --identity"),
            Error::NotARecipient { .. } => "ask someone who can decrypt it to add your public key to the environment's `[secrets] recipients` and run `strata secrets updatekeys`".into(),
            Error::Tampered { .. } | Error::MacMismatch { .. } => "take the file from a commit you trust (git log -p), and change secrets only with `strata secrets edit`".into(),
            _ => return None,
        })
    }

    /// The line of the file the error is about, when known.
    pub fn line(&self) -> Option<usize> {
        match self {
            Error::Malformed { line, .. } => *line,
            _ => None,
        }
    }

    fn io(path: impl AsRef<Path>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Whether `text` is a sealed secrets file (it has the metadata table).
pub fn is_sealed(text: &str) -> bool {
    text.parse::<Table>().is_ok_and(|t| {
        t.get(META)
            .and_then(Value::as_table)
            .is_some_and(|m| m.contains_key("data_key"))
    })
}

/// The recipients a sealed file names.
pub fn recipients_of(file: &str, sealed: &str) -> Result<Vec<String>> {
    Ok(Sealed::parse(file, sealed)?.recipients)
}

/// The recipients a sealed file names, once its data key is read with `identities` and its
/// MAC (which covers the list) matches: a list edited by hand is an error, not an answer.
pub fn verified_recipients(
    file: &str,
    sealed: &str,
    identities: &Identities,
) -> Result<Vec<String>> {
    let sealed = Sealed::parse(file, sealed)?;
    let key = sealed.data_key(file, identities)?;
    sealed.verify(file, &key)?;
    Ok(sealed.recipients)
}

/// Seals the plain TOML `plain` for `recipients`: the text of the sealed file.
pub fn seal(file: &str, plain: &str, recipients: &Recipients) -> Result<String> {
    let table = parse_plain(file, plain)?;
    if table.contains_key(META) {
        return Err(if is_sealed(plain) {
            Error::AlreadySealed { file: file.into() }
        } else {
            Error::Reserved { file: file.into() }
        });
    }
    seal_table(file, &table, &new_key(), recipients, None)
}

/// The plain values of a sealed file.
pub fn open(file: &str, sealed: &str, identities: &Identities) -> Result<Table> {
    let sealed = Sealed::parse(file, sealed)?;
    let key = sealed.data_key(file, identities)?;
    sealed.verify(file, &key)?;
    sealed.decrypt(file, &key)
}

/// The plain text of a sealed file, as TOML.
pub fn open_text(file: &str, sealed: &str, identities: &Identities) -> Result<String> {
    Ok(toml::to_string(&open(file, sealed, identities)?).expect("a TOML table serializes"))
}

/// Seals `plain` (the edited plain text of the sealed file `old`) for `recipients` (`old`'s
/// own when `None`), keeping the sealed form of every value that did not change, under
/// `old`'s data key. When `recipients` drops anyone `old` was sealed for, who knew that
/// key, it is replaced and every value encrypted again, as [`update_keys`] does.
pub fn reseal(
    file: &str,
    old: &str,
    plain: &str,
    identities: &Identities,
    recipients: Option<&Recipients>,
) -> Result<String> {
    let sealed = Sealed::parse(file, old)?;
    let key = sealed.data_key(file, identities)?;
    sealed.verify(file, &key)?;
    let before = sealed.decrypt(file, &key)?;
    let table = parse_plain(file, plain)?;
    if table.contains_key(META) {
        return Err(Error::Reserved { file: file.into() });
    }
    let own = Recipients::parse(&sealed.recipients)?;
    let recipients = recipients.unwrap_or(&own);
    if drops_anyone(&sealed.recipients, recipients) {
        return seal_table(file, &table, &new_key(), recipients, None);
    }
    let keep = Keep {
        before: &before,
        sealed: &sealed.values,
        wrapped: (&sealed.data_key, &sealed.recipients),
    };
    seal_table(file, &table, &key, recipients, Some(&keep))
}

/// A new data key for `sealed`, every value encrypted again, for `recipients`.
pub fn rotate(
    file: &str,
    sealed: &str,
    identities: &Identities,
    recipients: &Recipients,
) -> Result<String> {
    let table = open(file, sealed, identities)?;
    seal_table(file, &table, &new_key(), recipients, None)
}

/// `sealed` with its data key encrypted for `recipients` instead; the values are kept as
/// they are while recipients are only added. When the list drops anyone, who could read the
/// data key until now, the data key is replaced and every value encrypted again (as
/// [`rotate`] does): kept, it would let the removed key read every later edit.
pub fn update_keys(
    file: &str,
    sealed: &str,
    identities: &Identities,
    recipients: &Recipients,
) -> Result<String> {
    let parsed = Sealed::parse(file, sealed)?;
    let key = parsed.data_key(file, identities)?;
    parsed.verify(file, &key)?;
    let before = parsed.decrypt(file, &key)?;
    if drops_anyone(&parsed.recipients, recipients) {
        return seal_table(file, &before, &new_key(), recipients, None);
    }
    let keep = Keep {
        before: &before,
        sealed: &parsed.values,
        wrapped: (&parsed.data_key, &parsed.recipients),
    };
    seal_table(file, &before, &key, recipients, Some(&keep))
}

/// Whether someone on the list `was` is not among `recipients`.
pub fn drops_anyone(was: &[String], recipients: &Recipients) -> bool {
    was.iter().any(|r| !recipients.names().contains(r))
}

/// Reads, changes and atomically replaces a file (its mode kept): nothing is written when
/// `change` fails. Writers of one directory's secrets files take turns (see
/// [`write_if_unchanged`]), so `change` sees what an earlier writer wrote.
pub fn rewrite(path: &Path, change: impl FnOnce(&str) -> Result<String>) -> Result<()> {
    let _turn = turn(path)?;
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let new = change(&text)?;
    if new == text {
        return Ok(());
    }
    let mode = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    strata_fs::write_atomic(path, new.as_bytes()).map_err(|e| Error::io(path, e))?;
    std::fs::set_permissions(path, mode.permissions()).map_err(|e| Error::io(path, e))
}

/// Writes `new` at `path` (atomically) only if the file still holds `expected` (`None`: it
/// still does not exist), and says whether it did. Writers take turns: the check and the
/// write happen while holding a lock on the file's directory (`flock`, released by the
/// kernel however the process ends), so of two writers racing for one file the later sees
/// what the first wrote, instead of writing over it unseen.
pub fn write_if_unchanged(path: &Path, expected: Option<&str>, new: &str) -> Result<bool> {
    let _turn = turn(path)?;
    let now = match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io(path, e)),
    };
    if now.as_deref() != expected {
        return Ok(false);
    }
    // An existing file keeps its mode (a group-readable file stays so), as in [`rewrite`].
    let mode = now
        .is_some()
        .then(|| std::fs::metadata(path).map(|m| m.permissions()))
        .transpose()
        .map_err(|e| Error::io(path, e))?;
    strata_fs::write_atomic(path, new.as_bytes()).map_err(|e| Error::io(path, e))?;
    if let Some(mode) = mode {
        std::fs::set_permissions(path, mode).map_err(|e| Error::io(path, e))?;
    }
    Ok(true)
}

/// A turn at writing the secrets files of `path`'s directory (which must exist).
fn turn(path: &Path) -> Result<std::fs::File> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let handle = std::fs::File::open(dir).map_err(|e| Error::io(dir, e))?;
    handle.lock().map_err(|e| Error::io(dir, e))?;
    Ok(handle)
}

struct Keep<'a> {
    before: &'a Table,
    sealed: &'a Vec<(Vec<String>, String)>,
    /// The data key as it is sealed now, and for whom: kept as written while the key and
    /// its recipients stay (a fresh wrapping would change every line of it, and a diff
    /// could no longer tell an edit of values from a new data key).
    wrapped: (&'a str, &'a [String]),
}

impl Keep<'_> {
    /// The sealed form of `path` when its value is the same as before.
    fn sealed_if_same(&self, path: &[String], value: &Value) -> Option<&str> {
        let mut table = self.before;
        let (last, parents) = path.split_last()?;
        for p in parents {
            table = table.get(p)?.as_table()?;
        }
        (table.get(last)? == value).then(|| {
            self.sealed
                .iter()
                .find(|(p, _)| p == path)
                .map(|(_, s)| s.as_str())
        })?
    }
}

fn parse(file: &str, text: &str) -> Result<Table> {
    text.parse::<Table>().map_err(|e| Error::Malformed {
        file: file.into(),
        line: e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1),
        message: e.message().to_string(),
    })
}

/// [`parse`] of plain text to be sealed: a value that no tool could be given as written
/// (`inf`, `nan`: JSON, in which terraform and helm get values, has no such number) is an
/// error naming its key, never a `null` a tool would get instead.
fn parse_plain(file: &str, text: &str) -> Result<Table> {
    fn check(file: &str, text: &str, path: &mut Vec<String>, value: &Value) -> Result<()> {
        match value {
            Value::Float(f) if !f.is_finite() => {
                let key = path.join(".");
                // The line of the key (of the list, for an item of one).
                let name = path
                    .iter()
                    .rev()
                    .find(|p| p.parse::<usize>().is_err())
                    .cloned()
                    .unwrap_or_default();
                // Only when one line sets that name: never another key's line.
                let setting: Vec<usize> = text
                    .lines()
                    .enumerate()
                    .filter(|(_, l)| {
                        let l = l.trim_start();
                        l.strip_prefix(name.as_str())
                            .or_else(|| l.strip_prefix(&format!("\"{name}\"")))
                            .is_some_and(|rest| rest.trim_start().starts_with('='))
                    })
                    .map(|(n, _)| n + 1)
                    .collect();
                let line = match setting.as_slice() {
                    [one] => Some(*one),
                    _ => None,
                };
                Err(Error::Malformed {
                    file: file.into(),
                    line,
                    message: format!(
                        "`{key}` is {f}, which no tool can be given as a number (JSON has none such): write it as a string (\"{f}\")"
                    ),
                })
            }
            Value::Table(t) => {
                for (k, v) in t {
                    path.push(k.clone());
                    check(file, text, path, v)?;
                    path.pop();
                }
                Ok(())
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    path.push(i.to_string());
                    check(file, text, path, v)?;
                    path.pop();
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
    let table = parse(file, text)?;
    for (k, v) in &table {
        check(file, text, &mut vec![k.clone()], v)?;
    }
    Ok(table)
}

fn new_key() -> Key {
    ChaCha20Poly1305::generate_key(&mut OsRng)
}

/// A sealed file, parsed.
struct Sealed {
    /// Every sealed value with its key path, in the file's order.
    values: Vec<(Vec<String>, String)>,
    /// The plain structure (tables), sealed values as strings.
    table: Table,
    recipients: Vec<String>,
    data_key: String,
    mac: String,
}

impl Sealed {
    fn parse(file: &str, text: &str) -> Result<Sealed> {
        let mut table = parse(file, text)?;
        let Some(Value::Table(meta)) = table.remove(META) else {
            return Err(Error::NotSealed { file: file.into() });
        };
        let bad = |message: &str| Error::Format {
            file: file.into(),
            message: format!("[{META}] {message}"),
        };
        match meta.get("version").and_then(Value::as_integer) {
            Some(FORMAT_VERSION) => {}
            Some(v) => {
                return Err(bad(&format!(
                    "has version {v}; this strata reads version {FORMAT_VERSION}: upgrade strata"
                )))
            }
            None => return Err(bad("has no `version`")),
        }
        let recipients = meta
            .get("recipients")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("has no `recipients` list"))?
            .iter()
            .map(|r| r.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad("`recipients` holds something other than strings"))?;
        let data_key = meta
            .get("data_key")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("has no `data_key`"))?
            .to_string();
        let mac = meta
            .get("mac")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("has no `mac`"))?
            .to_string();
        let mut values = Vec::new();
        collect_sealed(file, &table, &mut Vec::new(), &mut values)?;
        Ok(Sealed {
            values,
            table,
            recipients,
            data_key,
            mac,
        })
    }

    fn data_key(&self, file: &str, identities: &Identities) -> Result<Key> {
        let reader = ArmoredReader::new(self.data_key.as_bytes());
        let format = |message: String| Error::Format {
            file: file.into(),
            message: format!("[{META}] data_key: {message}"),
        };
        let decryptor = age::Decryptor::new_buffered(reader).map_err(|e| format(e.to_string()))?;
        let mut reader = decryptor.decrypt(identities.iter()).map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => Error::NotARecipient {
                file: file.into(),
                recipients: self.recipients.clone(),
            },
            other => format(other.to_string()),
        })?;
        let mut key = Vec::new();
        reader
            .read_to_end(&mut key)
            .map_err(|e| format(e.to_string()))?;
        if key.len() != 32 {
            return Err(format(format!(
                "holds {} bytes, not a 32-byte key",
                key.len()
            )));
        }
        Ok(*Key::from_slice(&key))
    }

    fn verify(&self, file: &str, key: &Key) -> Result<()> {
        let expected = mac(&self.values, &self.recipients);
        let found = unseal_bytes(key, &self.mac, MAC_AAD.as_bytes())
            .ok_or_else(|| Error::MacMismatch { file: file.into() })?;
        if found != expected.as_bytes() {
            return Err(Error::MacMismatch { file: file.into() });
        }
        Ok(())
    }

    fn decrypt(&self, file: &str, key: &Key) -> Result<Table> {
        let mut table = self.table.clone();
        for (path, sealed) in &self.values {
            let plain =
                unseal_bytes(key, sealed, &value_aad(path)).ok_or_else(|| Error::Tampered {
                    file: file.into(),
                    key: path.join("."),
                })?;
            let value = value::decode(&plain).ok_or_else(|| Error::Tampered {
                file: file.into(),
                key: path.join("."),
            })?;
            set(&mut table, path, value);
        }
        Ok(table)
    }
}

/// Walks a sealed table: every leaf must be a sealed string.
fn collect_sealed(
    file: &str,
    table: &Table,
    path: &mut Vec<String>,
    out: &mut Vec<(Vec<String>, String)>,
) -> Result<()> {
    for (k, v) in table {
        path.push(k.clone());
        if k.contains('\0') {
            return Err(nul_in_key(file, &path.join(".")));
        }
        match v {
            // An empty table holds no sealed value, so the MAC cannot cover it: taken as
            // it stands it would reach a tool as a value (`{}`) nobody sealed.
            Value::Table(t) if t.is_empty() => {
                return Err(Error::Format {
                    file: file.into(),
                    message: format!(
                        "`{}` is an empty table, which no encrypted file holds (the file was edited by hand?): change secrets with `strata secrets edit {file}`",
                        path.join(".")
                    ),
                })
            }
            Value::Table(t) => collect_sealed(file, t, path, out)?,
            Value::String(s) if s.starts_with(PREFIX) && s.ends_with(']') => {
                out.push((path.clone(), s.clone()))
            }
            _ => {
                return Err(Error::Format {
                    file: file.into(),
                    message: format!(
                        "`{}` is in clear text in an encrypted file: add or change secrets with `strata secrets edit {file}`",
                        path.join(".")
                    ),
                })
            }
        }
        path.pop();
    }
    Ok(())
}

fn set(table: &mut Table, path: &[String], value: Value) {
    let (last, parents) = path.split_last().expect("a key path is never empty");
    let mut t = table;
    for p in parents {
        t = t
            .get_mut(p)
            .and_then(Value::as_table_mut)
            .expect("parents of a sealed value are tables");
    }
    t.insert(last.clone(), value);
}

const MAC_AAD: &str = "strata-secrets v1 mac";

fn value_aad(path: &[String]) -> Vec<u8> {
    let mut aad = b"strata-secrets v1 value".to_vec();
    for p in path {
        aad.push(0);
        aad.extend_from_slice(p.as_bytes());
    }
    aad
}

/// What the MAC covers: every key path with its sealed value, and the recipients.
fn mac(values: &[(Vec<String>, String)], recipients: &[String]) -> blake3::Hash {
    let mut sorted: Vec<&(Vec<String>, String)> = values.iter().collect();
    sorted.sort();
    let mut h = blake3::Hasher::new_derive_key("strata-secrets v1 mac");
    let mut put = |b: &[u8]| {
        h.update(&(b.len() as u64).to_le_bytes());
        h.update(b);
    };
    for (path, sealed) in sorted {
        put(&value_aad(path));
        put(sealed.as_bytes());
    }
    let mut recipients: Vec<&String> = recipients.iter().collect();
    recipients.sort();
    for r in recipients {
        put(b"recipient");
        put(r.as_bytes());
    }
    h.finalize()
}

fn seal_bytes(key: &Key, plain: &[u8], aad: &[u8]) -> String {
    use base64::Engine;
    let cipher = ChaCha20Poly1305::new(key);
    let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
    let ct = cipher
        .encrypt(&nonce, Payload { msg: plain, aad })
        .expect("encryption of a value in memory cannot fail");
    let mut bytes = nonce.to_vec();
    bytes.extend_from_slice(&ct);
    format!(
        "{PREFIX}{}]",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

fn unseal_bytes(key: &Key, sealed: &str, aad: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine;
    let body = sealed.strip_prefix(PREFIX)?.strip_suffix(']')?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(body)
        .ok()?;
    if bytes.len() < NONCE_LEN {
        return None;
    }
    let (nonce, ct) = bytes.split_at(NONCE_LEN);
    ChaCha20Poly1305::new(key)
        .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
        .ok()
}

fn seal_table(
    file: &str,
    plain: &Table,
    key: &Key,
    recipients: &Recipients,
    keep: Option<&Keep>,
) -> Result<String> {
    if recipients.is_empty() {
        return Err(Error::NoRecipients { file: file.into() });
    }
    if let Some(path) = key_with_nul(plain, &mut Vec::new()) {
        return Err(nul_in_key(file, &path));
    }
    if let Some(path) = empty_table(plain, &mut Vec::new()) {
        return Err(Error::Format {
            file: file.into(),
            message: format!(
                "`{path}` is an empty table: a secrets file holds values (remove the table, or give it a key)"
            ),
        });
    }
    let mut values = Vec::new();
    let mut table = plain.clone();
    seal_leaves(&mut table, &mut Vec::new(), key, keep, &mut values);
    let data_key = match keep {
        Some(Keep {
            wrapped: (data_key, names),
            ..
        }) if *names == recipients.names() => data_key.to_string(),
        _ => wrap(file, key, recipients)?,
    };
    let mac = seal_bytes(
        key,
        mac(&values, recipients.names()).as_bytes(),
        MAC_AAD.as_bytes(),
    );
    // The metadata last, in reading order (a table would sort its keys).
    let recipients = Value::Array(
        recipients
            .names()
            .iter()
            .map(|r| Value::String(r.clone()))
            .collect(),
    );
    let mut text = toml::to_string(&table).expect("a TOML table serializes");
    if !text.is_empty() && !text.ends_with("\n\n") {
        text.push('\n');
    }
    text.push_str(&format!("[{META}]\n"));
    for (key, value) in [
        ("version", Value::Integer(FORMAT_VERSION)),
        ("recipients", recipients),
        ("data_key", Value::String(data_key)),
        ("mac", Value::String(mac)),
    ] {
        let mut one = Table::new();
        one.insert(key.into(), value);
        text.push_str(&toml::to_string(&one).expect("a TOML value serializes"));
    }
    Ok(text)
}

/// The key path of the first key in `table` that holds a NUL character, if any: a value's
/// associated data joins its key path with NULs, so `["a", "b"]` and `["a\0b"]` would seal
/// alike, and a value could be moved from one to the other unseen.
fn key_with_nul(table: &Table, path: &mut Vec<String>) -> Option<String> {
    for (k, v) in table {
        path.push(k.clone());
        if k.contains('\0') {
            return Some(path.join("."));
        }
        if let Value::Table(t) = v {
            if let Some(found) = key_with_nul(t, path) {
                return Some(found);
            }
        }
        path.pop();
    }
    None
}

fn nul_in_key(file: &str, path: &str) -> Error {
    Error::Format {
        file: file.into(),
        message: format!(
            "the key `{}` holds a NUL character (\\u0000), which no secrets file may: rename it",
            path.escape_debug()
        ),
    }
}

/// The key path of the first empty table in `table`, if any.
fn empty_table(table: &Table, path: &mut Vec<String>) -> Option<String> {
    for (k, v) in table {
        if let Value::Table(t) = v {
            path.push(k.clone());
            if t.is_empty() {
                return Some(path.join("."));
            }
            if let Some(found) = empty_table(t, path) {
                return Some(found);
            }
            path.pop();
        }
    }
    None
}

fn seal_leaves(
    table: &mut Table,
    path: &mut Vec<String>,
    key: &Key,
    keep: Option<&Keep>,
    out: &mut Vec<(Vec<String>, String)>,
) {
    for (k, v) in table.iter_mut() {
        path.push(k.clone());
        if let Value::Table(t) = v {
            seal_leaves(t, path, key, keep, out);
        } else {
            let sealed = match keep.and_then(|keep| keep.sealed_if_same(path, v)) {
                Some(s) => s.to_string(),
                None => seal_bytes(key, &value::encode(v), &value_aad(path)),
            };
            out.push((path.clone(), sealed.clone()));
            *v = Value::String(sealed);
        }
        path.pop();
    }
}

fn wrap(file: &str, key: &Key, recipients: &Recipients) -> Result<String> {
    let io = |e: std::io::Error| Error::io(file, e);
    let encryptor =
        age::Encryptor::with_recipients(recipients.iter()).map_err(|e| Error::Format {
            file: file.into(),
            message: format!("cannot encrypt the data key: {e}"),
        })?;
    let mut out = Vec::new();
    let armor = ArmoredWriter::wrap_output(&mut out, Format::AsciiArmor).map_err(io)?;
    let mut writer = encryptor.wrap_output(armor).map_err(io)?;
    writer.write_all(key.as_slice()).map_err(io)?;
    writer.finish().and_then(|a| a.finish()).map_err(io)?;
    Ok(String::from_utf8(out).expect("armor is ASCII"))
}

#[cfg(test)]
mod tests;
