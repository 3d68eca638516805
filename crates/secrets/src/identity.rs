//! Who a secrets file is encrypted for (recipients) and what decrypts it (identities).

use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// The environment variable naming identity files (age identity files or unencrypted SSH
/// private keys), separated by `:`.
pub const KEY_FILE_ENV: &str = "STRATA_AGE_KEY_FILE";
/// The environment variable holding an identity itself (an age identity file's text), for
/// CI runners whose secrets arrive as variables.
pub const KEY_ENV: &str = "STRATA_AGE_KEY";

/// Public keys a data key is encrypted for: age X25519 recipients (`age1…`) and SSH
/// public keys (`ssh-ed25519 …`, `ssh-rsa …`).
pub struct Recipients {
    names: Vec<String>,
    keys: Vec<Box<dyn age::Recipient + Send>>,
}

impl Recipients {
    /// Parses each recipient; duplicates are dropped, the order kept.
    pub fn parse(list: &[String]) -> Result<Recipients> {
        let mut names = Vec::new();
        let mut keys: Vec<Box<dyn age::Recipient + Send>> = Vec::new();
        for raw in list {
            let r = raw.trim();
            if names.iter().any(|n| n == r) {
                continue;
            }
            let bad = |why: String| Error::BadRecipient {
                recipient: r.to_string(),
                why,
            };
            if r.starts_with("age1") {
                let key: age::x25519::Recipient = r.parse().map_err(|e: &str| bad(e.into()))?;
                keys.push(Box::new(key));
            } else if r.starts_with("ssh-") {
                let key: age::ssh::Recipient = r.parse().map_err(|e| bad(format!("{e:?}")))?;
                keys.push(Box::new(key));
            } else {
                return Err(bad("it starts with neither `age1` nor `ssh-`".into()));
            }
            names.push(r.to_string());
        }
        Ok(Recipients { names, keys })
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &dyn age::Recipient> {
        self.keys.iter().map(|k| k.as_ref() as &dyn age::Recipient)
    }
}

/// Private keys that may decrypt a data key.
#[derive(Default)]
pub struct Identities {
    keys: Vec<Box<dyn age::Identity>>,
}

impl Identities {
    /// The identities in `text`: an age identity file (`AGE-SECRET-KEY-1…` lines, comments
    /// allowed) or an unencrypted SSH private key. `source` names it in errors.
    pub fn from_text(text: &str, source: &str) -> Result<Identities> {
        let bad = |why: String| Error::BadIdentity {
            source_name: source.to_string(),
            why,
        };
        if text.contains("-----BEGIN OPENSSH PRIVATE KEY-----")
            || text.contains("-----BEGIN RSA PRIVATE KEY-----")
        {
            let key = age::ssh::Identity::from_buffer(text.as_bytes(), Some(source.to_string()))
                .map_err(|e| bad(e.to_string()))?;
            return match key {
                age::ssh::Identity::Unencrypted(k) => Ok(Identities {
                    keys: vec![Box::new(age::ssh::Identity::from(k))],
                }),
                age::ssh::Identity::Encrypted(_) => Err(bad(
                    "the SSH key is protected by a passphrase, which strata does not ask for: use an age identity (`age-keygen`) or an unencrypted deploy key".into(),
                )),
                age::ssh::Identity::Unsupported(k) => Err(bad(format!("unsupported SSH key: {k:?}"))),
            };
        }
        let keys = age::IdentityFile::from_buffer(text.as_bytes())
            .map_err(|e| bad(e.to_string()))?
            .into_identities()
            .map_err(|e| bad(e.to_string()))?;
        if keys.is_empty() {
            return Err(bad("it holds no `AGE-SECRET-KEY-1…` line".into()));
        }
        Ok(Identities { keys })
    }

    /// The identities in a file.
    pub fn from_file(path: &Path) -> Result<Identities> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        Identities::from_text(&text, &path.display().to_string())
    }

    /// The identities of this process: the files given (`--identity`), else
    /// [`KEY_ENV`], the files in [`KEY_FILE_ENV`], and `~/.config/strata/age/keys.txt` when
    /// it exists.
    pub fn find(given: &[PathBuf]) -> Result<Identities> {
        let mut ids = Identities::default();
        for path in given {
            ids.keys.extend(Identities::from_file(path)?.keys);
        }
        if !given.is_empty() {
            return Ok(ids);
        }
        let mut tried = Vec::new();
        if let Some(text) = std::env::var(KEY_ENV).ok().filter(|t| !t.trim().is_empty()) {
            ids.keys.extend(Identities::from_text(&text, KEY_ENV)?.keys);
        } else {
            tried.push(KEY_ENV.to_string());
        }
        match std::env::var_os(KEY_FILE_ENV).filter(|v| !v.is_empty()) {
            Some(list) => {
                // An empty entry (`a:`, `:b`, `a::b`) names no file.
                for path in std::env::split_paths(&list).filter(|p| !p.as_os_str().is_empty()) {
                    ids.keys.extend(Identities::from_file(&path)?.keys);
                }
            }
            None => tried.push(KEY_FILE_ENV.to_string()),
        }
        if ids.keys.is_empty() {
            if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
                let default = Path::new(&home).join(".config/strata/age/keys.txt");
                if default.exists() {
                    ids.keys.extend(Identities::from_file(&default)?.keys);
                } else {
                    tried.push(default.display().to_string());
                }
            }
        }
        if ids.keys.is_empty() {
            return Err(Error::NoIdentity { tried });
        }
        Ok(ids)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &dyn age::Identity> {
        self.keys.iter().map(|k| k.as_ref() as &dyn age::Identity)
    }
}
