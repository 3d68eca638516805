//! Terraform state per stack and environment: where it lives, how strata reads it (its
//! fingerprint enters plan task keys, so a cached plan is never reused after the state
//! changed; its outputs flow to the stacks that consume them) and what strata tells
//! terraform about it.
//!
//! Three cases:
//! - `local` (env.toml `[state] backend = "local"`, the default): one state file per stack
//!   and environment, outside the checkout (see [`local_state_root`]) unless
//!   `[state.config] path` says otherwise; strata reads the file itself.
//! - any other terraform backend (`pg`, `s3`, `gcs`, `azurerm`, ...): strata writes the
//!   backend block into the stack's sandbox, with settings from env.toml in which `{env}`,
//!   `{label}` and `{label_id}` are replaced, so each stack has its own state; strata reads
//!   the state with `terraform state pull` from a directory holding only that block.
//! - a stack whose own files declare a `backend` block keeps it; strata reads its state the
//!   same way, through a copy of the block.

use crate::process;

mod conn;
mod document;
mod pg_lock;
use crate::Tools;
pub use conn::split_password;
use document::{empty_state, new_lineage};
pub use document::{Output, State};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use strata_graph::error::{Error, Location, Result};
use strata_graph::model::Environment;

/// Where a stack's state lives in an environment, and how terraform reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// A state file strata reads itself.
    Local { path: PathBuf },
    /// A backend strata configures from env.toml.
    Configured(Configured),
    /// The stack's own `backend` block, kept as written.
    Own { kind: String, block: String },
}

/// A terraform backend configured from env.toml for one stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Configured {
    pub kind: String,
    /// The settings written into the backend block.
    settings: BTreeMap<String, Setting>,
    /// Environment terraform gets for this backend (`PGPASSWORD`, `AWS_SECRET_ACCESS_KEY`):
    /// credentials that are never written to a file.
    pub tool_env: Vec<(String, String)>,
    /// The credential settings passed in `tool_env`, with the variable each was read from
    /// (`None`: written in env.toml itself).
    credentials: Vec<(String, Option<String>)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Setting {
    /// The HCL value.
    hcl: String,
    /// Where a value read from the environment came from (`$VAR`): shown and keyed instead
    /// of the value.
    from_env: Option<String>,
}

impl Setting {
    /// The text a string setting holds (its HCL literal decoded; empty for other values).
    fn text(&self) -> String {
        serde_json::from_str(&self.hcl.replace("$${", "${").replace("%%{", "%{"))
            .unwrap_or_default()
    }
}

/// Backend settings that are credentials, with the environment variable the backend reads
/// the same setting from (terraform 0.13.2 and later): strata hands them to terraform there,
/// never in the backend block, which terraform also records in its working directory.
const CREDENTIALS: &[(&str, &str, &str)] = &[
    ("s3", "access_key", "AWS_ACCESS_KEY_ID"),
    ("s3", "secret_key", "AWS_SECRET_ACCESS_KEY"),
    ("s3", "token", "AWS_SESSION_TOKEN"),
    ("s3", "sse_customer_key", "AWS_SSE_CUSTOMER_KEY"),
    ("gcs", "credentials", "GOOGLE_BACKEND_CREDENTIALS"),
    ("gcs", "access_token", "GOOGLE_OAUTH_ACCESS_TOKEN"),
    ("gcs", "encryption_key", "GOOGLE_ENCRYPTION_KEY"),
    ("azurerm", "access_key", "ARM_ACCESS_KEY"),
    ("azurerm", "sas_token", "ARM_SAS_TOKEN"),
    ("azurerm", "client_secret", "ARM_CLIENT_SECRET"),
    (
        "azurerm",
        "client_certificate_password",
        "ARM_CLIENT_CERTIFICATE_PASSWORD",
    ),
    ("consul", "access_token", "CONSUL_HTTP_TOKEN"),
    ("http", "password", "TF_HTTP_PASSWORD"),
    ("cos", "secret_id", "TENCENTCLOUD_SECRET_ID"),
    ("cos", "secret_key", "TENCENTCLOUD_SECRET_KEY"),
    ("oss", "access_key", "ALICLOUD_ACCESS_KEY"),
    ("oss", "secret_key", "ALICLOUD_SECRET_KEY"),
    ("oss", "security_token", "ALICLOUD_SECURITY_TOKEN"),
    ("swift", "password", "OS_PASSWORD"),
    ("kubernetes", "token", "KUBE_TOKEN"),
];

/// Whether a setting's name says it holds a credential.
fn looks_like_a_credential(name: &str) -> bool {
    [
        "secret",
        "password",
        "token",
        "credential",
        "private_key",
        "access_key",
        "customer_key",
        "encryption_key",
        "sas",
    ]
    .iter()
    .any(|w| name.contains(w))
}

/// The backends whose state key strata derives from the label when env.toml does not set
/// it: (backend, setting, template).
const DEFAULT_KEYS: &[(&str, &str, &str)] = &[
    ("pg", "schema_name", "strata_{env_id}_{label_id}"),
    ("s3", "key", "{env}/{label}/terraform.tfstate"),
    ("azurerm", "key", "{env}/{label}/terraform.tfstate"),
    ("gcs", "prefix", "{env}/{label}"),
    ("cos", "prefix", "{env}/{label}"),
    ("oss", "prefix", "{env}/{label}"),
    ("consul", "path", "strata/{env}/{label}"),
    ("kubernetes", "secret_suffix", "{env_dns}-{label_dns}"),
];

/// The placeholders that make a setting differ per stack.
const PER_STACK: &[&str] = &["{label}", "{label_id}", "{label_dns}"];

/// How long creating an empty pg state waits for the database's creation lock at least
/// (see [`Backend::create_if_absent`]).
pub const CREATE_WAIT_SECS: u64 = 10;

/// The directory local state lives under: `$STRATA_STATE_DIR`, else
/// `$XDG_STATE_HOME/strata`, else `~/.local/state/strata`; then one directory per
/// workspace (its name and a digest of its path). Outside the checkout, so `git add -A` and
/// `git clean -fdx` never reach it.
pub fn local_state_root(root: &Path, workspace: &str) -> PathBuf {
    let base = match std::env::var_os("STRATA_STATE_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => match std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
            Some(dir) => PathBuf::from(dir).join("strata"),
            None => std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(std::env::temp_dir)
                .join(".local/state/strata"),
        },
    };
    workspace_state_dir(&base, root, workspace)
}

/// The directory of one workspace's local state under `base`.
pub fn workspace_state_dir(base: &Path, root: &Path, workspace: &str) -> PathBuf {
    let canonical = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let id = blake3::hash(canonical.as_os_str().as_encoded_bytes()).to_hex();
    base.join(format!("{}-{}", ident(workspace, '-'), &id[..12]))
}

/// Lowercase ASCII letters, digits and `sep`, with runs of anything else as one `sep`.
fn ident(text: &str, sep: char) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with(sep) && !out.is_empty() {
            out.push(sep);
        }
    }
    out.trim_end_matches(sep).to_string()
}

/// A label as an identifier that stays unique (a digest of the label follows): for
/// database schema names and object keys. At most 48 characters.
pub fn label_id(label: &str, sep: char) -> String {
    let digest = blake3::hash(label.as_bytes()).to_hex();
    let mut readable = ident(label, sep);
    readable.truncate(39);
    let readable = readable.trim_end_matches(sep);
    if readable.is_empty() {
        format!("root{sep}{}", &digest[..8])
    } else {
        format!("{readable}{sep}{}", &digest[..8])
    }
}

/// The longest name a backend takes for the setting strata derives, with the separator
/// its names use: a PostgreSQL identifier (`schema_name`), a Kubernetes label value
/// (`secret_suffix`). Object keys and prefixes are not limited.
const NAME_LIMITS: &[(&str, usize, char)] = &[("pg", 63, '_'), ("kubernetes", 63, '-')];

/// `value`, a name derived for `kind`, within that backend's limit: a longer one is cut on
/// a character boundary and ends in a digest of the whole name, so two names that differ
/// only past the cut still name two states.
fn fit_name(kind: &str, value: String) -> String {
    let Some(&(_, max, sep)) = NAME_LIMITS.iter().find(|(k, _, _)| *k == kind) else {
        return value;
    };
    if value.len() <= max {
        return value;
    }
    let digest = blake3::hash(value.as_bytes()).to_hex();
    let mut cut = max - 9;
    while !value.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(
        "{}{sep}{}",
        value[..cut].trim_end_matches(sep),
        &digest[..8]
    )
}

fn expand(template: &str, env: &str, label: &str) -> String {
    template
        .replace("{env_id}", &ident(env, '_'))
        .replace("{env_dns}", &ident(env, '-'))
        .replace("{env}", env)
        .replace("{label_id}", &label_id(label, '_'))
        .replace("{label_dns}", &label_id(label, '-'))
        .replace("{label}", label)
}

/// An HCL string literal: the escapes HCL and JSON share (`\"`, `\\`, `\n`, `\r`, `\t`,
/// `\uXXXX` for other controls: JSON's `\b` and `\f` are no HCL), and template sequences
/// kept literal (`$${`, `%%{`).
pub fn hcl_string(text: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out.replace("${", "$${").replace("%{", "%%{")
}

/// A JSON value as terraform reads it from `TF_VAR_<name>`: literally for a variable
/// without a type or of type `string` (`literal`: a string is taken as it is), and as an
/// HCL expression otherwise (a string quoted, for `type = any`), whose strings keep `${`
/// and `%{` literal. JSON text would do but for those: terraform would evaluate a template
/// sequence inside a map or list value (a `${aws:username}` in a policy document, a secret
/// holding `%{`).
pub fn tf_var_text(value: &serde_json::Value, literal: bool) -> String {
    match value {
        serde_json::Value::String(s) if literal => s.clone(),
        other => hcl_expression(other),
    }
}

fn hcl_expression(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::String(s) => hcl_string(s),
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(hcl_expression)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{} = {}", hcl_string(k), hcl_expression(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

fn hcl_value(value: &toml::Value, env: &str, label: &str) -> String {
    match value {
        toml::Value::String(s) => hcl_string(&expand(s, env, label)),
        toml::Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(|v| hcl_value(v, env, label))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

/// Where `label`'s state lives in `env`. `own`: the stack's own backend block (kind, HCL
/// text), when its files declare one.
pub fn backend(
    root: &Path,
    workspace: &str,
    env: &Environment,
    label: &str,
    own: Option<(&str, &str)>,
) -> Result<Backend> {
    if let Some((kind, block)) = own {
        return Ok(Backend::Own {
            kind: kind.to_string(),
            block: block.to_string(),
        });
    }
    let state = &env.config.state;
    let mut config = state.config.clone();
    let overridden = state.stacks.get(label);
    if let Some(over) = overridden {
        config.extend(over.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    let at = || env.section_location("state.config");
    let at_key = |key: &str| match env.line_of(key) {
        Some(line) => Location::new(env.file.clone(), Some(line)),
        None => at(),
    };
    if state.backend == "local" {
        let path = match config.get("path").and_then(|v| v.as_str()) {
            Some(template) => root.join(expand(template, &env.name, label)),
            None => {
                let path = local_state_root(root, workspace)
                    .join(&env.name)
                    .join(label)
                    .join("terraform.tfstate");
                // Earlier versions kept local state in the checkout: never plan against an
                // empty state while the real one sits there.
                let old = root
                    .join(".strata/state")
                    .join(&env.name)
                    .join(label)
                    .join("terraform.tfstate");
                let workspace_dir = local_state_root(root, workspace);
                if std::fs::create_dir_all(&workspace_dir).is_ok() {
                    private_dir(&workspace_dir);
                }
                if old.exists() && !path.exists() {
                    return Err(Error::Invalid {
                        message: format!(
                            "the local state of {label} in {} is at {}, inside the checkout, where strata no longer reads it",
                            env.name,
                            old.display()
                        ),
                        location: Location::new(env.file.clone(), None),
                        hint: format!(
                            "move it out of reach of `git clean`: mkdir -p {} && mv {} {}",
                            path.parent().unwrap_or(&path).display(),
                            old.display(),
                            path.display()
                        ),
                    });
                }
                path
            }
        };
        return Ok(Backend::Local { path });
    }
    let kind = state.backend.as_str();
    let mut settings: BTreeMap<String, Setting> = BTreeMap::new();
    // Credentials passed in the environment: (setting, the variable it was read from).
    let mut settings_from_env: Vec<(String, Option<String>)> = Vec::new();
    // The setting that names a stack's state where strata knows it (`key` of s3): only it
    // tells two stacks' states apart (s3's `workspace_key_prefix`, say, applies to other
    // terraform workspaces only); for other backends, any setting that depends on the stack.
    let state_key = DEFAULT_KEYS
        .iter()
        .find(|(k, _, _)| *k == state.backend)
        .map(|(_, key, _)| *key);
    let mut per_stack = overridden.is_some();
    for (key, value) in &config {
        if let Some(name) = key.strip_suffix("_env") {
            let var = value.as_str().unwrap_or_default();
            let text = std::env::var(var).map_err(|_| Error::Invalid {
                message: format!(
                    "the {kind} state settings of {} read `{name}` from the environment variable {var}, which is not set",
                    env.name
                ),
                location: at_key(key),
                hint: format!("export {var} (CI: from its secret store) before running strata"),
            })?;
            settings.insert(
                name.to_string(),
                Setting {
                    hcl: hcl_string(&text),
                    from_env: Some(var.to_string()),
                },
            );
            continue;
        }
        per_stack |= state_key.is_none_or(|k| k == key)
            && value
                .as_str()
                .is_some_and(|s| PER_STACK.iter().any(|p| s.contains(p)));
        // A name the backend cuts (PostgreSQL keeps 63 bytes of a schema's name): stacks
        // whose names agree in those bytes would share one state.
        if let (Some(&(_, max, _)), Some(text)) = (
            NAME_LIMITS.iter().find(|(k, _, _)| *k == kind),
            value.as_str().filter(|_| state_key == Some(key.as_str())),
        ) {
            let name = expand(text, &env.name, label);
            if name.len() > max {
                return Err(Error::Invalid {
                    message: format!(
                        "the {kind} `{key}` of {label} in {} is `{name}`, {} bytes: the backend keeps {max}, so stacks whose names agree in them would share one state",
                        env.name,
                        name.len()
                    ),
                    location: at_key(key),
                    hint: format!(
                        "shorten it (`{{label_id}}` ends in a digest of the label, and is at most 48 bytes), or leave `{key}` out: strata's own name fits"
                    ),
                });
            }
        }
        settings.insert(
            key.clone(),
            Setting {
                hcl: hcl_value(value, &env.name, label),
                from_env: None,
            },
        );
    }
    if let Some((_, key, template)) = DEFAULT_KEYS.iter().find(|(k, _, _)| *k == kind) {
        if !settings.contains_key(*key) {
            let value = fit_name(kind, expand(template, &env.name, label));
            settings.insert(
                key.to_string(),
                Setting {
                    hcl: hcl_string(&value),
                    from_env: None,
                },
            );
            per_stack = true;
        }
    }
    if !per_stack {
        let key = DEFAULT_KEYS
            .iter()
            .find(|(k, _, _)| *k == kind)
            .map_or("a setting", |(_, key, _)| key);
        return Err(Error::Invalid {
            message: format!(
                "every stack in {} would share one {kind} state: {}",
                env.name,
                match state_key {
                    Some(key) => format!("its `{key}` does not depend on the stack"),
                    None => "no state setting depends on the stack".into(),
                }
            ),
            location: at(),
            hint: format!(
                "put `{{label}}` or `{{label_id}}` in {key} under [state.config] (e.g. `{key} = \"{{env}}/{{label}}\"`), or give single stacks their own under [state.stacks.\"<label>\"]"
            ),
        });
    }
    let mut tool_env = Vec::new();
    for (_, name, var) in CREDENTIALS.iter().filter(|(k, _, _)| *k == kind) {
        if let Some(setting) = settings.remove(*name) {
            tool_env.push((var.to_string(), setting.text()));
            // Keyed (and shown) by where it came from, never by its value.
            settings_from_env.push((name.to_string(), setting.from_env));
        }
    }
    if let Some((name, setting)) = settings.iter().find(|(name, setting)| {
        kind != "pg" && setting.from_env.is_some() && looks_like_a_credential(name)
    }) {
        return Err(Error::Invalid {
            message: format!(
                "the {kind} state setting `{name}` of {} holds a credential that strata would have to write into the backend configuration terraform keeps in its working directory",
                env.name
            ),
            location: at_key(&format!("{name}_env")),
            hint: format!(
                "remove `{name}_env` and export the environment variable the {kind} backend reads `{name}` from instead (it reaches terraform, never a file); `{}` stays unset",
                setting.from_env.as_deref().unwrap_or_default()
            ),
        });
    }
    if kind == "pg" {
        if !settings.contains_key("conn_str") && std::env::var_os("PG_CONN_STR").is_none() {
            return Err(Error::Invalid {
                message: format!("the pg state of {} has no connection string", env.name),
                location: at(),
                hint: "set `conn_str_env = \"MY_PG_URL\"` under [state.config] and export MY_PG_URL=postgres://user:password@host/db (the password stays out of every file strata writes)".into(),
            });
        }
        // A server that accepts connections and never answers (stopped, overloaded) must
        // not hold every run forever: the driver gives up on connecting after this, unless
        // the connection string or the environment say otherwise.
        let timeout_given = std::env::var_os("PGCONNECT_TIMEOUT").is_some()
            || settings
                .get("conn_str")
                .is_some_and(|s| s.text().contains("connect_timeout"));
        if !timeout_given {
            tool_env.push((
                "PGCONNECT_TIMEOUT".to_string(),
                PG_CONNECT_TIMEOUT.to_string(),
            ));
        }
        // The password travels in PGPASSWORD (which the pg backend's driver reads), never
        // in the backend block terraform records in its working directory.
        if let Some(setting) = settings.get_mut("conn_str") {
            if let Some((without, password)) = split_password(&setting.text()) {
                setting.hcl = hcl_string(&without);
                tool_env.push(("PGPASSWORD".to_string(), password));
            }
        }
    }
    Ok(Backend::Configured(Configured {
        kind: kind.to_string(),
        settings,
        tool_env,
        credentials: settings_from_env,
    }))
}

/// A damaged local state file moved aside (see [`Backend::set_aside_damaged`]).
#[derive(Debug)]
pub struct SetAside {
    pub from: PathBuf,
    pub to: PathBuf,
}

impl SetAside {
    /// Puts the file back where it was, unless a state was written there since.
    pub fn put_back(&self) -> std::io::Result<bool> {
        if let Ok(bytes) = std::fs::read(&self.from) {
            if State::parse(&bytes, "").is_ok() {
                return Ok(false);
            }
        }
        std::fs::rename(&self.to, &self.from)?;
        Ok(true)
    }
}

impl Backend {
    /// A local state file strata places that is no state (terraform cut it short on a
    /// full disk): terraform cannot start against it, so it is renamed aside
    /// (`terraform.tfstate.damaged-<millis>`). One another terraform holds locked (it may
    /// be writing it) is left alone: an error.
    pub fn set_aside_damaged(&self) -> Result<Option<SetAside>> {
        let Backend::Local { path } = self else {
            return Ok(None);
        };
        let Ok(file) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
        else {
            return Ok(None);
        };
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        if State::parse(&bytes, "").is_ok() {
            return Ok(None);
        }
        // terraform's local backend locks the state file itself (an fcntl lock) while it
        // reads or writes it; held here until the rename is done.
        if !process::try_lock_file(&file) {
            return Err(Error::Failed {
                message: format!(
                    "the local state {} is no state and another process holds it locked (a terraform still writing it?)",
                    path.display()
                ),
                location: Location::new(path.display().to_string(), None),
                hint: "wait for that process to end, then run again".into(),
            });
        }
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        let to = path.with_extension(format!("tfstate.damaged-{millis}"));
        std::fs::rename(path, &to).map_err(|e| Error::write(&to, e))?;
        drop(file);
        Ok(Some(SetAside {
            from: path.clone(),
            to,
        }))
    }

    /// The backend's type.
    pub fn kind(&self) -> &str {
        match self {
            Backend::Local { .. } => "local",
            Backend::Configured(c) => &c.kind,
            Backend::Own { kind, .. } => kind,
        }
    }

    /// The `backend` block, or `None` for a stack's own (its files hold it).
    fn block(&self) -> Option<String> {
        match self {
            Backend::Local { path } => Some(format!(
                "  backend \"local\" {{\n    path = {}\n  }}\n",
                hcl_string(&path.display().to_string())
            )),
            Backend::Configured(c) => {
                let mut hcl = format!("  backend \"{}\" {{\n", c.kind);
                for (k, s) in &c.settings {
                    hcl.push_str(&format!("    {k} = {}\n", s.hcl));
                }
                hcl.push_str("  }\n");
                Some(hcl)
            }
            Backend::Own { .. } => None,
        }
    }

    /// The override file strata adds to a stack's sandbox so terraform uses this backend;
    /// `None` when the stack's own block stays in charge.
    pub fn override_hcl(&self) -> Option<String> {
        self.block().map(|b| {
            format!("# Written by strata: the state of this stack in this environment.\nterraform {{\n{b}}}\n")
        })
    }

    /// The configuration of a directory that only reads the state.
    fn reader_hcl(&self) -> String {
        match self {
            Backend::Own { block, .. } => format!("terraform {{\n{block}\n}}\n"),
            other => other.override_hcl().unwrap_or_default(),
        }
    }

    /// Environment terraform needs for this backend (credentials strata never writes).
    pub fn tool_env(&self) -> &[(String, String)] {
        match self {
            Backend::Configured(c) => &c.tool_env,
            _ => &[],
        }
    }

    /// The values to keep out of every log and report.
    pub fn secrets(&self) -> Vec<String> {
        let mut secrets: Vec<String> = self.tool_env().iter().map(|(_, v)| v.clone()).collect();
        if let Backend::Configured(c) = self {
            secrets.extend(
                c.settings
                    .values()
                    .filter(|s| s.from_env.is_some())
                    .map(Setting::text),
            );
        }
        secrets.retain(|s| s.len() >= 3);
        secrets
    }

    /// The backend's settings without credentials and in a form that does not depend on
    /// where the checkout is (for the init task's key: two clones share init results).
    pub fn settings(&self, root: &Path) -> String {
        match self {
            Backend::Local { path } => match path.strip_prefix(root) {
                Ok(rel) => format!("local:{}", rel.display()),
                Err(_) => "local".to_string(),
            },
            Backend::Configured(c) => {
                let mut text = c.kind.clone();
                for (k, s) in &c.settings {
                    match &s.from_env {
                        Some(var) => text.push_str(&format!(" {k}=${var}")),
                        None => text.push_str(&format!(" {k}={}", s.hcl)),
                    }
                }
                for (k, from) in &c.credentials {
                    text.push_str(&format!(" {k}=${}", from.as_deref().unwrap_or("env.toml")));
                }
                text
            }
            Backend::Own { kind, block } => {
                format!("own {kind} {}", blake3::hash(block.as_bytes()).to_hex())
            }
        }
    }

    /// Where the state is, for messages.
    pub fn describe(&self) -> String {
        match self {
            Backend::Local { path } => path.display().to_string(),
            Backend::Configured(c) => {
                let key = DEFAULT_KEYS
                    .iter()
                    .find(|(k, _, _)| *k == c.kind)
                    .and_then(|(_, key, _)| c.settings.get(*key))
                    .map(|s| format!(" {}", s.hcl))
                    .unwrap_or_default();
                format!("{}{key}", c.kind)
            }
            Backend::Own { kind, .. } => format!("{kind} (the stack's own backend block)"),
        }
    }

    /// Who holds the state's lock, when the backend says: for local state, terraform's lock
    /// info beside the file (who, what operation, since when).
    pub fn lock_holder(&self) -> Option<String> {
        match self {
            Backend::Local { path } => {
                let info = path.with_file_name(format!(
                    ".{}.lock.info",
                    path.file_name()?.to_string_lossy()
                ));
                let text = std::fs::read_to_string(info).ok()?;
                let json: serde_json::Value = serde_json::from_str(&text).ok()?;
                Some(describe_lock(&json))
            }
            _ => None,
        }
    }

    /// Reads the state: `None` when there is none yet. `reader` is a directory strata owns
    /// for this stack and environment (a non-local backend is initialised there once).
    pub fn pull(&self, tools: &Tools, reader: &Path) -> Result<Option<State>> {
        if let Backend::Local { path } = self {
            let bytes = match std::fs::read(path) {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(Error::io(path, e)),
            };
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Ok(None);
            }
            return State::parse(&bytes, &path.display().to_string()).map(Some);
        }
        let out = self.in_reader(tools, reader, &["state", "pull"])?;
        if out.interrupted {
            return Err(interrupted(self.kind(), reader));
        }
        if !out.success {
            return Err(Error::Invalid {
                message: format!(
                    "cannot read the {} state: {}",
                    self.kind(),
                    last_error(&self.redact(&out.combined()))
                ),
                location: Location::new(reader.display().to_string(), None),
                hint: "check that the backend is reachable from here, then run again".into(),
            });
        }
        if out.stdout.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        State::parse(&out.stdout, &self.describe()).map(Some)
    }

    /// `terraform state push FILE` to this backend, waiting up to `lock_timeout_secs` for
    /// a lock another run holds.
    pub fn push(
        &self,
        tools: &Tools,
        reader: &Path,
        file: &Path,
        lock_timeout_secs: u64,
    ) -> Result<()> {
        let file = file.canonicalize().map_err(|e| Error::io(file, e))?;
        let path = file.display().to_string();
        let timeout = format!("-lock-timeout={lock_timeout_secs}s");
        let out = self.in_reader(tools, reader, &["state", "push", &timeout, &path])?;
        if out.success {
            return Ok(());
        }
        let log = self.redact(&out.combined());
        Err(Error::Invalid {
            message: match lock_holder_in(&log) {
                Some(holder) => format!("{LOCKED_BY}{holder}"),
                None => last_error(&log),
            },
            location: Location::new(path, None),
            hint: String::new(),
        })
    }

    /// `terraform force-unlock -force ID` on this backend: releases a lock a run left behind
    /// (killed, or cut off from the backend mid-apply). Local state's locks are the
    /// holder's own (terraform cannot release them from another process), and pg's end
    /// with the holder's session: neither is left behind.
    pub fn force_unlock(&self, tools: &Tools, reader: &Path, id: &str) -> Result<()> {
        if matches!(self, Backend::Local { .. }) || self.kind() == "pg" {
            return Err(Error::Usage {
                message: format!(
                    "a {} state's lock ends with the run that holds it: there is none to release",
                    self.kind()
                ),
                hint: "stop the run that holds it (its lock info names the host and pid)".into(),
            });
        }
        let out = self.in_reader(tools, reader, &["force-unlock", "-force", id])?;
        if out.success {
            return Ok(());
        }
        Err(Error::Invalid {
            message: last_error(&self.redact(&out.combined())),
            location: Location::new(self.describe(), None),
            hint: "give the lock ID terraform printed (`ID:` in its lock info); check that the backend is reachable".into(),
        })
    }

    /// Creates this pg state, empty, when it has none yet; `Ok(false)` for other backends.
    ///
    /// terraform's pg backend locks a state that has no row yet with its database-wide
    /// creation lock (advisory key -1), and holds that lock for the whole first plan or
    /// apply: meanwhile every plan and apply of any state in the database fails, or waits up
    /// to its lock timeout, so stacks that have never been applied can only be planned one
    /// at a time, and one long first apply makes all others give up. A state created here
    /// (`terraform state push` of an empty state, under the creation lock for a moment) is
    /// locked by its own row from then on. The caller reads the state again afterwards,
    /// whether this succeeded or not: another run may have created it meanwhile (terraform
    /// lets a push replace a state that is still empty, never one that holds anything of
    /// another lineage).
    ///
    /// The push waits for the creation lock at least [`CREATE_WAIT_SECS`], whatever
    /// `lock_timeout_secs` says: other runs' pushes hold it only for a moment, and a push
    /// that gave up at once would leave its state to terraform, which then holds the
    /// creation lock through a whole plan (measured: four new stacks applied side by side
    /// with a lock timeout of 0 s failed now and then on a busy machine).
    pub fn create_if_absent(
        &self,
        tools: &Tools,
        reader: &Path,
        lock_timeout_secs: u64,
    ) -> Result<bool> {
        if self.kind() != "pg" {
            return Ok(false);
        }
        let file = reader.join("empty.tfstate");
        std::fs::create_dir_all(reader).map_err(|e| Error::write(reader, e))?;
        strata_fs::write_private(&file, empty_state(&new_lineage()).as_bytes())
            .map_err(|e| Error::write(&file, e))?;
        let path = file.display().to_string();
        let timeout = format!("-lock-timeout={}s", lock_timeout_secs.max(CREATE_WAIT_SECS));
        let out = self.in_reader(tools, reader, &["state", "push", &timeout, &path]);
        let _ = std::fs::remove_file(&file);
        let out = out?;
        if out.success {
            return Ok(true);
        }
        Err(Error::Invalid {
            message: format!(
                "cannot create the {} state: {}",
                self.kind(),
                last_error(&self.redact(&out.combined()))
            ),
            location: Location::new(reader.display().to_string(), None),
            hint: String::new(),
        })
    }

    fn redact(&self, text: &[u8]) -> String {
        let mut text = String::from_utf8_lossy(text).into_owned();
        for secret in self.secrets() {
            text = text.replace(&secret, "(sensitive)");
        }
        text.trim().to_string()
    }

    /// Runs terraform with `args` in `reader`, a directory holding only this backend's
    /// block, initialised once (again when the block changes).
    fn in_reader(&self, tools: &Tools, reader: &Path, args: &[&str]) -> Result<process::Output> {
        let bin = tools.terraform.as_deref().ok_or_else(|| Error::Invalid {
            message: "terraform is not installed".into(),
            location: Location::new("WORKSPACE.toml", None),
            hint: "install the pinned version and put it on PATH, or set [toolchain] tools_dir to the directory holding it".into(),
        })?;
        let hcl = self.reader_hcl();
        let data = reader.join("data");
        std::fs::create_dir_all(&data).map_err(|e| Error::write(&data, e))?;
        private_dir(reader);
        let main = reader.join("backend.tf");
        let marker = data.join("strata-reader.marker");
        let want = blake3::hash(hcl.as_bytes()).to_hex().to_string();
        let command = |args: &[&str]| {
            let mut cmd = tools.command(bin);
            cmd.args(args).env("TF_DATA_DIR", &data);
            for (k, v) in self.tool_env() {
                cmd.env(k, v);
            }
            process::run(cmd, reader).map_err(|e| Error::io(bin, e))
        };
        if std::fs::read_to_string(&marker).ok().as_deref() != Some(want.as_str()) {
            strata_fs::write_private(&main, hcl.as_bytes()).map_err(|e| Error::write(&main, e))?;
            let out = command(&["init", "-input=false", "-no-color", "-reconfigure"])?;
            if out.interrupted {
                let _ = std::fs::remove_file(&marker);
                return Err(interrupted(self.kind(), reader));
            }
            if !out.success {
                let _ = std::fs::remove_file(&marker);
                return Err(Error::Invalid {
                    message: format!(
                        "cannot reach the {} state: terraform init failed: {}",
                        self.kind(),
                        last_error(&self.redact(&out.combined()))
                    ),
                    location: Location::new(reader.display().to_string(), None),
                    hint: "check the backend settings in env.toml and that the backend is reachable from here".into(),
                });
            }
            let _ = std::fs::write(&marker, &want);
        }
        command(args)
    }
}

/// Reading a state was interrupted (Ctrl-C): not the backend's fault.
fn interrupted(kind: &str, reader: &Path) -> Error {
    Error::Invalid {
        message: format!("interrupted while reading the {kind} state"),
        location: Location::new(reader.display().to_string(), None),
        hint: "run again".into(),
    }
}

/// Terraform's lock info as one line: who, what operation, since when, which lock.
pub fn describe_lock(json: &serde_json::Value) -> String {
    let field = |k: &str| json[k].as_str().unwrap_or("?").to_string();
    format!(
        "{} ({} since {}, lock {})",
        field("Who"),
        field("Operation"),
        field("Created"),
        field("ID")
    )
}

/// How a refusal for a lock another run holds begins: the holder follows.
pub const LOCKED_BY: &str = "the state is locked by ";

/// The lock holder terraform names in a failed run's output ("Lock Info: ... Who: ..."),
/// when it names one.
pub fn lock_holder_in(log: &str) -> Option<String> {
    let start = log.find("Lock Info:")?;
    let mut fields = serde_json::Map::new();
    for line in log[start..].lines().skip(1).take(8) {
        // In colour and in a box (`│   ID: …`) when terraform is not told otherwise.
        let line = strata_graph::text::plain(line);
        let line = line.trim().trim_start_matches(['│', '╷', '╵']).trim();
        let Some((k, v)) = line.split_once(':') else {
            break;
        };
        fields.insert(k.trim().to_string(), v.trim().into());
    }
    fields
        .contains_key("Who")
        .then(|| describe_lock(&serde_json::Value::Object(fields)))
}

/// The `Error: ...` lines of terraform's output, or its last line.
fn last_error(log: &str) -> String {
    // terraform's diagnostics may come in colour and in a box (`│ Error: …`).
    let lines: Vec<String> = log
        .lines()
        .map(|l| {
            strata_graph::text::plain(l)
                .trim_start_matches([' ', '│', '╷', '╵'])
                .trim_end()
                .to_string()
        })
        .filter(|l| !l.is_empty())
        .collect();
    let errors: Vec<&str> = lines
        .iter()
        .map(String::as_str)
        .filter(|l| l.starts_with("Error"))
        .collect();
    if errors.is_empty() {
        lines
            .last()
            .map_or("(no output)", |l| l.as_str())
            .to_string()
    } else {
        errors.join("; ")
    }
}

/// Seconds terraform's pg driver waits for a server to answer a new connection
/// (`PGCONNECT_TIMEOUT`), unless the user set it.
const PG_CONNECT_TIMEOUT: u32 = 30;

/// Makes a directory private to its owner.
pub fn private_dir(dir: &Path) {
    let _ = strata_fs::create_private_dir(dir);
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_given_as_tf_var_keep_template_sequences_and_escape_as_hcl() {
        use serde_json::json;
        // A string is taken as it is by a variable without a type or of type string, and
        // quoted for one of another type (`any`).
        assert_eq!(super::tf_var_text(&json!("a${b}"), true), "a${b}");
        assert_eq!(super::tf_var_text(&json!("a${b}"), false), r#""a$${b}""#);
        assert_eq!(
            super::tf_var_text(
                &json!({"k${x}": ["a${b}", "%{ if c }", "q\"\\\n\u{8}"], "n": 1, "z": null}),
                false
            ),
            r#"{"k$${x}" = ["a$${b}", "%%{ if c }", "q\"\\\n\u0008"], "n" = 1, "z" = null}"#
        );
        assert_eq!(super::hcl_string("$${x}"), r#""$$${x}""#);
    }

    use super::*;

    #[test]
    fn terraforms_error_is_found_in_colour_and_in_a_box() {
        let log = "\u{1b}[31m╷\u{1b}[0m\u{1b}[0m\n\u{1b}[31m│\u{1b}[0m \u{1b}[0m\u{1b}[1m\u{1b}[31mError: \u{1b}[0m\u{1b}[0m\u{1b}[1mFailed to get existing workspaces: dial tcp 127.0.0.1:5432: connect: connection refused\u{1b}[0m\n\u{1b}[31m│\u{1b}[0m \u{1b}[0m\n\u{1b}[31m╵\u{1b}[0m\u{1b}[0m\n\u{1b}[0m\u{1b}[0m\n";
        assert_eq!(
            last_error(log),
            "Error: Failed to get existing workspaces: dial tcp 127.0.0.1:5432: connect: connection refused"
        );
        assert_eq!(last_error("a\nlast words\n\n"), "last words");
        assert_eq!(last_error(""), "(no output)");
    }

    fn env(toml: &str) -> strata_graph::model::Environment {
        let file = "environments/dev/env.toml";
        let config = strata_graph::manifest::parse_env(toml, file).unwrap();
        strata_graph::model::Environment::new("dev", file, config)
    }

    /// Credentials reach terraform in the environment variables its backends read, never in
    /// the backend block (which terraform copies into its working directory); they are keyed
    /// and shown by where they came from.
    #[test]
    fn credentials_travel_in_the_environment_not_in_the_backend_block() {
        std::env::set_var("STRATA_UNIT_S3_SECRET", "s3-Secr3t-unit-a1b2");
        let dir = tempfile::tempdir().unwrap();
        let backend = backend(
            dir.path(),
            "w",
            &env("[state]\nbackend = \"s3\"\n[state.config]\nbucket = \"tf\"\naccess_key = \"AKIDUNIT\"\nsecret_key_env = \"STRATA_UNIT_S3_SECRET\"\n"),
            "stacks/network",
            None,
        )
        .unwrap();
        let block = backend.override_hcl().unwrap();
        assert!(!block.contains("s3-Secr3t-unit-a1b2"), "{block}");
        assert!(!block.contains("AKIDUNIT"), "{block}");
        assert!(
            !block.contains("secret_key") && !block.contains("access_key"),
            "{block}"
        );
        assert!(
            block.contains("key = \"dev/stacks/network/terraform.tfstate\""),
            "{block}"
        );
        let mut env_vars = backend.tool_env().to_vec();
        env_vars.sort();
        assert_eq!(
            env_vars,
            vec![
                ("AWS_ACCESS_KEY_ID".to_string(), "AKIDUNIT".to_string()),
                (
                    "AWS_SECRET_ACCESS_KEY".to_string(),
                    "s3-Secr3t-unit-a1b2".to_string()
                ),
            ]
        );
        let key = backend.settings(dir.path());
        assert!(key.contains("secret_key=$STRATA_UNIT_S3_SECRET"), "{key}");
        assert!(!key.contains("s3-Secr3t-unit-a1b2"), "{key}");
        assert!(backend
            .secrets()
            .contains(&"s3-Secr3t-unit-a1b2".to_string()));
    }

    /// A pg server that never answers does not hold a run forever: the driver's connect
    /// timeout is set unless the user set one.
    #[test]
    fn pg_connections_give_up_unless_told_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let timeout = |conn: &str| {
            let backend = backend(
                dir.path(),
                "w",
                &env(&format!(
                    "[state]\nbackend = \"pg\"\n[state.config]\nconn_str = \"{conn}\"\n"
                )),
                "stacks/network",
                None,
            )
            .unwrap();
            backend
                .tool_env()
                .iter()
                .find(|(k, _)| k == "PGCONNECT_TIMEOUT")
                .map(|(_, v)| v.clone())
        };
        if std::env::var_os("PGCONNECT_TIMEOUT").is_none() {
            assert_eq!(timeout("postgres://db.example/tf").as_deref(), Some("30"));
        }
        assert_eq!(timeout("postgres://db.example/tf?connect_timeout=5"), None);
    }

    /// Only the setting that names a stack's state tells stacks apart: s3's
    /// `workspace_key_prefix` with `{label}` beside a fixed `key` still shares one state.
    #[test]
    fn a_state_key_shared_by_every_stack_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let shared = env("[state]\nbackend = \"s3\"\n[state.config]\nbucket = \"b\"\nworkspace_key_prefix = \"{label}\"\nkey = \"dev/terraform.tfstate\"\n");
        let err = backend(dir.path(), "w", &shared, "stacks/network", None).unwrap_err();
        assert!(
            err.to_string()
                .contains("its `key` does not depend on the stack"),
            "{err}"
        );
        let own = env("[state]\nbackend = \"s3\"\n[state.config]\nbucket = \"b\"\nkey = \"dev/{label}.tfstate\"\n");
        assert!(backend(dir.path(), "w", &own, "stacks/network", None).is_ok());
        let derived = env("[state]\nbackend = \"s3\"\n[state.config]\nbucket = \"b\"\n");
        assert!(backend(dir.path(), "w", &derived, "stacks/network", None).is_ok());
    }

    /// A credential strata cannot pass in the environment is refused, not written to a file.
    #[test]
    fn a_credential_with_no_environment_variable_is_refused() {
        std::env::set_var("STRATA_UNIT_REMOTE_TOKEN", "remote-token-unit");
        let dir = tempfile::tempdir().unwrap();
        let err = backend(
            dir.path(),
            "w",
            &env("[state]\nbackend = \"remote\"\n[state.config]\norganization = \"o\"\nworkspaces = \"{label_id}\"\ntoken_env = \"STRATA_UNIT_REMOTE_TOKEN\"\n"),
            "stacks/network",
            None,
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("`token`") && text.contains("credential"),
            "{text}"
        );
        assert!(!text.contains("remote-token-unit"), "{text}");
    }

    #[test]
    fn label_ids_are_identifiers_and_unique() {
        let a = label_id("stacks/a-b", '_');
        let b = label_id("stacks/a_b", '_');
        assert!(a.starts_with("stacks_a_b_"));
        assert_ne!(a, b);
        assert!(label_id(".", '_').starts_with("root_"));
        assert!(label_id(&"x/".repeat(60), '_').len() <= 48);
        assert!(label_id("Stacks/Net", '-')
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
    }

    /// Long labels and environment names keep one state per stack: object keys are never
    /// cut (two labels sharing their first 63 bytes shared one key, and the second stack's
    /// apply replaced the first's resources; a cut inside a character panicked), and a
    /// name a backend limits keeps a digest of the whole name.
    #[test]
    fn long_labels_and_environments_name_distinct_states() {
        let dir = tempfile::tempdir().unwrap();
        let derived = |env_toml: &str, env_name: &str, label: &str| {
            let file = format!("environments/{env_name}/env.toml");
            let config = strata_graph::manifest::parse_env(env_toml, &file).unwrap();
            let environment = strata_graph::model::Environment::new(env_name, &file, config);
            backend(dir.path(), "w", &environment, label, None)
                .unwrap()
                .override_hcl()
                .unwrap()
        };
        let a = "stacks/platform/eu-west-1/observability/prometheus-operator";
        let b = "stacks/platform/eu-west-1/observability/prometheus-operator-crds";
        let s3 = "[state]\nbackend = \"s3\"\n[state.config]\nbucket = \"tf\"\n";
        assert!(derived(s3, "dev", a).contains(&format!("key = \"dev/{a}/terraform.tfstate\"")));
        assert!(derived(s3, "dev", b).contains(&format!("key = \"dev/{b}/terraform.tfstate\"")));
        let unicode = "stacks/équipe-données/observabilité/tableaux-de-bords-réseau";
        assert!(derived(s3, "dev", unicode).contains(unicode));
        let pg = "[state]\nbackend = \"pg\"\n[state.config]\nconn_str = \"postgres://x\"\n";
        let env = "production-eu-west-1";
        let (x, y) = (derived(pg, env, a), derived(pg, env, b));
        assert_ne!(x, y);
        for block in [&x, &y] {
            let schema = block
                .lines()
                .find_map(|l| l.trim().strip_prefix("schema_name = "))
                .unwrap()
                .trim_matches('"');
            assert!(schema.len() <= 63, "{schema}");
            assert!(
                schema.starts_with("strata_production_eu_west_1_stacks_"),
                "{schema}"
            );
        }
        assert_eq!(fit_name("pg", "short".into()), "short");
        // A name written in env.toml that the backend would cut is refused, naming it.
        let written = format!("{pg}schema_name = \"tf_{{env_id}}_{{label_id}}\"\n");
        let file = "environments/production-eu-west-1-secondary/env.toml";
        let config = strata_graph::manifest::parse_env(&written, file).unwrap();
        let environment =
            strata_graph::model::Environment::new("production-eu-west-1-secondary", file, config);
        let Err(Error::Invalid { message, .. }) = backend(dir.path(), "w", &environment, a, None)
        else {
            panic!("a schema name over 63 bytes was accepted");
        };
        assert!(message.contains("the backend keeps 63"), "{message}");
        assert!(derived(&written, "dev", a).contains("schema_name = \"tf_dev_stacks_"));
        let cut = fit_name("kubernetes", "é".repeat(40));
        assert!(
            cut.len() <= 63 && cut.ends_with(|c: char| c.is_ascii_hexdigit()),
            "{cut}"
        );
    }

    #[test]
    fn hcl_strings_keep_template_sequences_literal() {
        assert_eq!(hcl_string("a${b}\"c"), r#""a$${b}\"c""#);
    }

    #[test]
    fn lock_holders_from_terraform_output() {
        let log = "Error: Error acquiring the state lock\n\nLock Info:\n  ID:        1234\n  Path:      x\n  Operation: OperationTypeApply\n  Who:       ci@runner-a\n  Version:   1.0.3\n  Created:   2026-12-03 10:00:00\n  Info:\n";
        assert_eq!(
            lock_holder_in(log).as_deref(),
            Some("ci@runner-a (OperationTypeApply since 2026-12-03 10:00:00, lock 1234)")
        );
        assert_eq!(lock_holder_in("no lock here"), None);
        // In colour and in a box, as `state push` prints it.
        let boxed = "\u{1b}[31m╷\u{1b}[0m\n│ Error: Error acquiring the state lock\n│ \n│ Lock Info:\n│   ID:        1234\n│   Path:      x\n│   Operation: OperationTypeApply\n│   Who:       ci@runner-a\n│   Version:   1.0.3\n│   Created:   2026-12-03 10:00:00\n│   Info:\n╵\n";
        assert_eq!(
            lock_holder_in(boxed).as_deref(),
            Some("ci@runner-a (OperationTypeApply since 2026-12-03 10:00:00, lock 1234)")
        );
    }
}
