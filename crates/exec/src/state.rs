//! Terraform state per stack and environment: where it lives, its fingerprint (which enters
//! plan task keys, so a cached plan is never reused after the state changed) and the outputs
//! downstream targets consume.
//!
//! Supported backend: `local` (env.toml `[state] backend = "local"`), with the state file at
//! `.strata/state/<env>/<label>/terraform.tfstate` unless `[state.config] path` (a template
//! where `{env}` and `{label}` are replaced) says otherwise.

use std::path::{Path, PathBuf};
use strata_graph::error::{Error, Location, Result};
use strata_graph::model::Environment;

/// A stack output as the state holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub value: serde_json::Value,
    /// Marked `sensitive` in the configuration: it stays sensitive wherever it flows.
    pub sensitive: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Local { path: PathBuf },
}

pub fn backend(root: &Path, env: &Environment, label: &str) -> Result<Backend> {
    match env.config.state.backend.as_str() {
        "local" => {
            let path = match env.config.state.config.get("path").and_then(|v| v.as_str()) {
                Some(template) => root.join(
                    template
                        .replace("{env}", &env.name)
                        .replace("{label}", label),
                ),
                None => root
                    .join(".strata/state")
                    .join(&env.name)
                    .join(label)
                    .join("terraform.tfstate"),
            };
            Ok(Backend::Local { path })
        }
        other => Err(Error::Invalid {
            message: format!("state backend `{other}` is not supported by strata yet"),
            location: Location::new(env.file.clone(), None),
            hint: "use `backend = \"local\"` under [state]".into(),
        }),
    }
}

impl Backend {
    /// The override file strata adds to a stack's sandbox so terraform uses this backend.
    pub fn override_hcl(&self) -> String {
        match self {
            Backend::Local { path } => format!(
                "# Written by strata: the state location for this environment.\nterraform {{\n  backend \"local\" {{\n    path = {}\n  }}\n}}\n",
                serde_json::to_string(&path.display().to_string()).expect("string")
            ),
        }
    }

    /// The backend's settings in a form that does not depend on where the checkout is (for
    /// the init task's key: two clones share init results).
    pub fn settings(&self, root: &Path) -> String {
        match self {
            Backend::Local { path } => match path.strip_prefix(root) {
                Ok(rel) => format!("local:{}", rel.display()),
                Err(_) => format!("local:{}", path.display()),
            },
        }
    }

    /// Who holds the state's lock, when someone does: terraform's lock info (who, what
    /// operation, since when), so a run waiting for it can say so.
    pub fn lock_holder(&self) -> Option<String> {
        match self {
            Backend::Local { path } => {
                let info = path.with_file_name(format!(
                    ".{}.lock.info",
                    path.file_name()?.to_string_lossy()
                ));
                let text = std::fs::read_to_string(info).ok()?;
                let json: serde_json::Value = serde_json::from_str(&text).ok()?;
                let field = |k: &str| json[k].as_str().unwrap_or("?").to_string();
                Some(format!(
                    "{} ({} since {}, lock {})",
                    field("Who"),
                    field("Operation"),
                    field("Created"),
                    field("ID")
                ))
            }
        }
    }

    /// A fingerprint of the current state: its content hash, or `none`.
    pub fn fingerprint(&self) -> String {
        match self {
            Backend::Local { path } => match std::fs::read(path) {
                Ok(bytes) => format!("blake3:{}", blake3::hash(&bytes).to_hex()),
                Err(_) => "none".into(),
            },
        }
    }

    /// The stack's outputs by name, or `None` when it has no state yet.
    pub fn outputs(&self) -> Result<Option<std::collections::BTreeMap<String, Output>>> {
        match self {
            Backend::Local { path } => {
                let bytes = match std::fs::read(path) {
                    Ok(b) => b,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(Error::io(path, e)),
                };
                let state: serde_json::Value =
                    serde_json::from_slice(&bytes).map_err(|e| Error::Malformed {
                        what: "state JSON",
                        location: Location::new(path.display().to_string(), Some(e.line())),
                        message: e.to_string(),
                    })?;
                let outputs = state
                    .get("outputs")
                    .and_then(|o| o.as_object())
                    .map(|o| {
                        o.iter()
                            .map(|(k, v)| {
                                let output = Output {
                                    value: v.get("value").cloned().unwrap_or_default(),
                                    sensitive: v
                                        .get("sensitive")
                                        .and_then(serde_json::Value::as_bool)
                                        .unwrap_or(false),
                                };
                                (k.clone(), output)
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                Ok(Some(outputs))
            }
        }
    }
}
