//! Per-target and per-environment configuration files: `stack.toml`, `chart.toml` and
//! `environments/<env>/env.toml`.

use crate::error::{line_of, Error, Location, Result};
use crate::workspace::parse_toml;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const STACK_MANIFEST: &str = "stack.toml";
pub const CHART_MANIFEST: &str = "chart.toml";
/// Makes any directory a module target (modules have no other settings of their own yet
/// beyond `deps` and `extra_inputs`).
pub const MODULE_MANIFEST: &str = "module.toml";
pub const ENV_FILE: &str = "env.toml";

/// Whether `path` is one of strata's own configuration files (WORKSPACE.toml, a target's
/// or an environment's TOML, a policy's `policy.toml`, the waivers, a release lock), which
/// strata reads and no tool of a target does.
pub fn is_strata_configuration(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    path == crate::workspace::WORKSPACE_FILE
        || path == crate::model::waivers::WAIVERS_FILE
        || [
            STACK_MANIFEST,
            CHART_MANIFEST,
            MODULE_MANIFEST,
            ENV_FILE,
            "policy.toml",
            RELEASE_LOCK_FILE,
        ]
        .contains(&name)
}

/// `stack.toml` / `chart.toml`, with the line of every label so errors can point at it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TargetManifest {
    pub deps: Vec<(String, usize)>,
    /// `None`: every environment.
    pub environments: Option<Vec<(String, usize)>>,
    pub inputs: Vec<InputBinding>,
    /// `extra_inputs`: globs, relative to the target's directory (`../` allowed), of files
    /// the target reads in ways no parser sees (a template path passed in a variable, a
    /// script), with their lines.
    pub extra_inputs: Vec<(String, usize)>,
}

/// `[inputs] var = "label:output"`: an upstream output passed as a variable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputBinding {
    pub variable: String,
    pub label: String,
    pub output: String,
    pub line: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestToml {
    #[serde(default)]
    deps: Vec<toml::Spanned<String>>,
    environments: Option<Vec<toml::Spanned<String>>>,
    #[serde(default)]
    inputs: BTreeMap<String, toml::Spanned<String>>,
    #[serde(default)]
    extra_inputs: Vec<toml::Spanned<String>>,
}

/// Whether `name` can name a terraform output (or variable), as HCL reads an identifier: a
/// letter (any script's) or `_`, then letters, digits, marks, `_` and `-`.
fn is_terraform_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '-' || unicode_mark(c))
}

/// Whether `c` is a combining mark (HCL's identifiers take Unicode's ID_Continue, which
/// holds them: `e` and U+0301 spell `é` too).
fn unicode_mark(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

pub fn parse_target_manifest(text: &str, file: &str) -> Result<TargetManifest> {
    let raw: ManifestToml = parse_toml(text, file)?;
    let lines = crate::error::Lines::new(text);
    let line = |s: &toml::Spanned<String>| lines.line(s.span().start);
    let mut inputs = Vec::new();
    for (variable, value) in &raw.inputs {
        // A chart input becomes one top-level values key, a stack input a variable (whose
        // name holds no dot): `"image.tag"` would be a key no template reads as
        // `.Values.image.tag`, where helm's `--set` would have nested it.
        if variable.contains('.') || variable.is_empty() {
            return Err(Error::Invalid {
                message: format!("input `{variable}` names no variable or top-level values key"),
                location: Location::at(file, line(value)),
                hint: "name a stack's variable, or a chart's top-level values key (`image_tag`, read in the templates as `.Values.image_tag`); keys nested with dots are not set from inputs".into(),
            });
        }
        let parts = value
            .get_ref()
            .rsplit_once(':')
            .filter(|(label, output)| !label.is_empty() && is_terraform_name(output));
        let Some((label, output)) = parts else {
            return Err(Error::Invalid {
                message: format!("input `{variable}` is `{}`", value.get_ref()),
                location: Location::at(file, line(value)),
                hint: "write inputs as `variable = \"<label>:<output>\"`, e.g. `vpc_id = \"stacks/network:vpc_id\"`".into(),
            });
        };
        inputs.push(InputBinding {
            variable: variable.clone(),
            label: label.trim_end_matches('/').to_string(),
            output: output.to_string(),
            line: line(value),
        });
    }
    Ok(TargetManifest {
        deps: raw
            .deps
            .iter()
            .map(|d| (d.get_ref().trim_end_matches('/').to_string(), line(d)))
            .collect(),
        environments: raw.environments.as_ref().map(|envs| {
            envs.iter()
                .map(|e| (e.get_ref().clone(), line(e)))
                .collect()
        }),
        inputs,
        extra_inputs: raw
            .extra_inputs
            .iter()
            .map(|g| (g.get_ref().clone(), line(g)))
            .collect(),
    })
}

/// `environments/<env>/env.toml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvConfig {
    /// The environment whose verified lock this one promotes from; absent for the first.
    pub promotes_from: Option<String>,
    #[serde(default)]
    pub gates: Gates,
    #[serde(default)]
    pub state: StateConfig,
    #[serde(default)]
    pub access: Access,
    /// Overrides of WORKSPACE.toml's `[gitops]` for this environment.
    #[serde(default)]
    pub gitops: GitopsConfig,
    /// Who can read the environment's secrets files.
    #[serde(default)]
    pub secrets: SecretsConfig,
    /// How the environment's audit trail is kept.
    #[serde(default)]
    pub audit: AuditConfig,
    /// What the environment's cluster offers charts' templates, over WORKSPACE.toml's.
    #[serde(default)]
    pub render: RenderConfig,
}

/// `[render]`, in WORKSPACE.toml and per environment in env.toml (its keys override the
/// workspace's): the cluster a chart is rendered for, as helm's templates see it through
/// `.Capabilities`. helm renders offline, so without it templates see helm's built-in
/// Kubernetes version and API versions only (see docs/configuration.md).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenderConfig {
    /// The cluster's Kubernetes version (`.Capabilities.KubeVersion`): `1.30`, `v1.30.2`.
    pub kube_version: Option<String>,
    /// API versions the cluster serves besides helm's built-in ones
    /// (`.Capabilities.APIVersions`): `monitoring.coreos.com/v1`, or with a kind,
    /// `monitoring.coreos.com/v1/ServiceMonitor`.
    pub api_versions: Option<Vec<String>>,
}

impl RenderConfig {
    /// Checks both keys; `Err(key, message, hint)` when one is wrong.
    pub fn check(&self) -> std::result::Result<(), (&'static str, String, String)> {
        if let Some(v) = &self.kube_version {
            if !is_kube_version(v) {
                return Err((
                    "kube_version",
                    format!("[render] kube_version `{v}` is not a Kubernetes version"),
                    "write the cluster's version as helm's --kube-version takes it: `1.30`, `v1.30.2`".into(),
                ));
            }
        }
        for api in self.api_versions.iter().flatten() {
            if !is_api_version(api) {
                return Err((
                    "api_versions",
                    format!("[render] api_versions holds `{api}`, which is not an API version"),
                    "write `group/version` (`monitoring.coreos.com/v1`), optionally with a kind (`monitoring.coreos.com/v1/ServiceMonitor`), one per list item".into(),
                ));
            }
        }
        Ok(())
    }

    /// `self` with `over`'s keys where it sets them.
    pub fn overridden_by(&self, over: &RenderConfig) -> RenderConfig {
        RenderConfig {
            kube_version: over
                .kube_version
                .clone()
                .or_else(|| self.kube_version.clone()),
            api_versions: over
                .api_versions
                .clone()
                .or_else(|| self.api_versions.clone()),
        }
    }

    /// Whether it sets nothing (helm's defaults).
    pub fn is_empty(&self) -> bool {
        self.kube_version.is_none() && self.api_versions.is_none()
    }
}

/// What helm's `--kube-version` accepts (a semantic version with at least a minor, the patch
/// optional, no leading zeros, `v` in front allowed): `1.30`, `v1.30.2`, `1.30.2-gke.1200`.
fn is_kube_version(v: &str) -> bool {
    let v = v.strip_prefix('v').unwrap_or(v);
    let (core, rest) = match v.find(['-', '+']) {
        Some(i) => (&v[..i], &v[i + 1..]),
        None => (v, ""),
    };
    let numbers: Vec<&str> = core.split('.').collect();
    (2..=3).contains(&numbers.len())
        && numbers.iter().all(|n| {
            !n.is_empty()
                && n.bytes().all(|b| b.is_ascii_digit())
                && (n.len() == 1 || !n.starts_with('0'))
        })
        && (core.len() == v.len()
            || (!rest.is_empty()
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.+".contains(&b))))
}

/// `version`, `group/version` or `group/version/Kind`: no spaces, and no comma (helm splits
/// the flag's value at commas).
fn is_api_version(v: &str) -> bool {
    let parts: Vec<&str> = v.split('/').collect();
    parts.len() <= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        })
}

/// `[audit]` in env.toml (see docs/promotion.md#the-audit-trail).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// Every event is signed with an SSH key `environments/allowed_signers` lists, and
    /// `[access]` is checked against that key's principals instead of the claimed identity.
    #[serde(default)]
    pub signed: bool,
    /// With `signed`: the number of the first event that must be signed (events before it
    /// were written before signing was switched on). Absent: every event must be.
    #[serde(default)]
    pub signed_from: Option<u64>,
}

/// `[secrets]` in env.toml (see docs/security.md#secrets-files).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsConfig {
    /// The public keys the environment's secrets files are encrypted for: age recipients
    /// (`age1…`) and SSH public keys (`ssh-ed25519 …`).
    #[serde(default)]
    pub recipients: Vec<String>,
}

/// `[gitops]` in WORKSPACE.toml (and, per environment, in env.toml): how an environment's
/// charts are delivered (see docs/gitops.md). Unset keys take the defaults there.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitopsConfig {
    /// `argocd`, `argocd-appset`, `flux-kustomize` or `flux-helm`.
    pub format: Option<String>,
    /// The repository Argo CD or Flux read the output from.
    pub repo_url: Option<String>,
    /// The branch they read.
    pub revision: Option<String>,
    /// Where each environment's output lives in the repository; `{env}` is replaced.
    pub path: Option<String>,
    /// The cluster's API server.
    pub server: Option<String>,
    pub argocd_namespace: Option<String>,
    pub flux_namespace: Option<String>,
    /// A command that validates the output before anything is written (program, then
    /// arguments; the directory holding the output is appended). A program with a `/` is
    /// relative to the workspace root; otherwise it is looked up on PATH.
    pub validate: Option<Vec<String>>,
}

/// The GitOps output formats (strata-gitops's `Format` names; the release layer's tests
/// keep the two lists equal).
pub const GITOPS_FORMATS: &[&str] = &["argocd", "argocd-appset", "flux-kustomize", "flux-helm"];

impl GitopsConfig {
    /// Checks the format name, the path and the validator; `Err(key, message, hint)` when
    /// one is wrong.
    pub fn check(&self) -> std::result::Result<(), (&'static str, String, String)> {
        if let Some(path) = &self.path {
            // The output is committed with the lock, and Argo CD and Flux read it from the
            // repository: it must be inside it.
            let mut depth: i64 = 0;
            let mut leaves =
                path.starts_with('/') || path.starts_with('\\') || path.trim().is_empty();
            for part in path.split('/') {
                match part {
                    "" | "." => {}
                    ".." => depth -= 1,
                    // git's own directory: nothing there can be committed.
                    ".git" => leaves = true,
                    _ => depth += 1,
                }
                leaves |= depth < 0;
            }
            if leaves || depth == 0 {
                return Err((
                    "path",
                    format!("[gitops] path `{path}` is not a directory inside the workspace"),
                    "give a directory relative to the workspace root, below it (e.g. `deploy/{env}`): the output is committed with the release lock, and Argo CD or Flux read it from the repository".into(),
                ));
            }
        }
        match &self.format {
            Some(f) if !GITOPS_FORMATS.contains(&f.as_str()) => Err((
                "format",
                format!("[gitops] format `{f}` is not an output format"),
                crate::error::did_you_mean(f, GITOPS_FORMATS)
                    .unwrap_or_else(|| format!("use one of: {}", GITOPS_FORMATS.join(", "))),
            )),
            _ if self
                .validate
                .as_ref()
                .is_some_and(|v| v.first().is_none_or(|p| p.trim().is_empty())) =>
            {
                Err((
                    "validate",
                    "[gitops] validate names no program".into(),
                    "give the command as a list, program first: `validate = [\"scripts/validate-gitops\"]`".into(),
                ))
            }
            _ => Ok(()),
        }
    }

    /// `self` with `over`'s keys where it sets them.
    /// The directory, relative to the workspace root, the output of `env` is written to
    /// (`path`, `deploy/{env}` by default).
    pub fn output_path(&self, env: &str) -> String {
        self.path
            .as_deref()
            .unwrap_or("deploy/{env}")
            .replace("{env}", env)
            .trim_matches('/')
            .to_string()
    }

    pub fn overridden_by(&self, over: &GitopsConfig) -> GitopsConfig {
        let pick = |a: &Option<String>, b: &Option<String>| b.clone().or_else(|| a.clone());
        GitopsConfig {
            format: pick(&self.format, &over.format),
            repo_url: pick(&self.repo_url, &over.repo_url),
            revision: pick(&self.revision, &over.revision),
            path: pick(&self.path, &over.path),
            server: pick(&self.server, &over.server),
            argocd_namespace: pick(&self.argocd_namespace, &over.argocd_namespace),
            flux_namespace: pick(&self.flux_namespace, &over.flux_namespace),
            validate: over.validate.clone().or_else(|| self.validate.clone()),
        }
    }
}

/// Who may change an environment. Identities are those strata records in release locks:
/// `git config user.email`, or the CI system's user (see docs/promotion.md). Empty lists
/// allow everyone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Access {
    /// May run `strata apply` / `strata destroy` here.
    #[serde(default)]
    pub apply: Vec<String>,
    /// May run `strata promote apply` into this environment.
    #[serde(default)]
    pub promote: Vec<String>,
    /// Principals (of `environments/allowed_signers`) whose approvals count here; empty:
    /// every principal listed there.
    #[serde(default)]
    pub approvers: Vec<String>,
    /// Principals who may no longer act here but whose earlier signed events stand:
    /// `strata audit verify` checks each signed event's signer against `apply` or
    /// `promote` as the checkout has them, and someone taken off those lists is named here
    /// so that the record they left still verifies.
    #[serde(default)]
    pub former: Vec<String>,
}

/// Each environment's release lock: `environments/<env>/release.lock.toml`. Written by
/// `strata apply` and `strata promote apply`; it is not an input of any target.
pub const RELEASE_LOCK_FILE: &str = "release.lock.toml";

/// Whether `path` is an environment's release lock (`environments/<env>/release.lock.toml`).
pub fn is_release_lock(path: &str) -> bool {
    path.starts_with("environments/")
        && path.split('/').count() == 3
        && path.ends_with(RELEASE_LOCK_FILE)
        && path.rsplit('/').next() == Some(RELEASE_LOCK_FILE)
}

/// An environment's audit ledger (`environments/<env>/audit.jsonl`, written by strata).
pub const AUDIT_FILE: &str = "audit.jsonl";

/// Whether `path` is a record strata writes about an environment (its release lock or its
/// audit ledger): not an input of any target or task, so committing it affects nothing.
pub fn is_environment_record(path: &str) -> bool {
    is_release_lock(path)
        || (path.starts_with("environments/")
            && path.split('/').count() == 3
            && path.rsplit('/').next() == Some(AUDIT_FILE))
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gates {
    /// Task actions that must have passed: `plan`, `policy`, `test`, ...
    #[serde(default)]
    pub require: Vec<String>,
    /// Highest policy finding severity allowed: info, low, medium, high, critical.
    pub max_severity: Option<String>,
    #[serde(default)]
    pub approvals: u32,
    /// Minimum time in the source environment before promotion, e.g. `30m`, `2h`, `1h30m`.
    pub soak: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateConfig {
    /// `local` (default) or a Terraform backend type such as `s3`, `gcs`, `pg`.
    #[serde(default = "default_backend")]
    pub backend: String,
    /// Backend settings, templates in which `{env}`, `{label}` and `{label_id}` are
    /// replaced per stack; a setting named `<name>_env` takes `<name>`'s value from that
    /// environment variable.
    #[serde(default)]
    pub config: BTreeMap<String, toml::Value>,
    /// How long a plan or apply waits for the state lock another run holds (`60s`).
    pub lock_timeout: Option<String>,
    /// Settings of single stacks, by label, over `config` (a stack whose state already
    /// lives under another key).
    #[serde(default)]
    pub stacks: BTreeMap<String, BTreeMap<String, toml::Value>>,
}

impl Default for StateConfig {
    fn default() -> Self {
        StateConfig {
            backend: default_backend(),
            config: BTreeMap::new(),
            lock_timeout: None,
            stacks: BTreeMap::new(),
        }
    }
}

impl StateConfig {
    /// The lock timeout in seconds (default 60).
    pub fn lock_timeout_secs(&self) -> u64 {
        self.lock_timeout
            .as_deref()
            .and_then(parse_duration)
            .unwrap_or(60)
    }
}

fn default_backend() -> String {
    "local".into()
}

pub const SEVERITIES: &[&str] = &["info", "low", "medium", "high", "critical"];

/// The tasks a gate may require to have passed (the run layer's actions that check; its
/// tests keep the two lists equal).
pub const GATE_ACTIONS: &[&str] = &[
    "fmt", "validate", "init", "plan", "deps", "lint", "render", "test", "policy",
];

/// The state backends strata can drive: terraform's own (strata passes the settings on).
pub const STATE_BACKENDS: &[&str] = &[
    "local",
    "pg",
    "s3",
    "gcs",
    "azurerm",
    "consul",
    "cos",
    "http",
    "kubernetes",
    "oss",
    "swift",
    "remote",
];

/// The gate and state values errors point at, with their positions.
#[derive(Deserialize, Default)]
struct GateLines {
    #[serde(default)]
    gates: RequireLines,
    #[serde(default)]
    state: BackendLine,
}

#[derive(Deserialize, Default)]
struct BackendLine {
    backend: Option<toml::Spanned<String>>,
}

#[derive(Deserialize, Default)]
struct RequireLines {
    #[serde(default)]
    require: Vec<toml::Spanned<String>>,
}

pub fn parse_env(text: &str, file: &str) -> Result<EnvConfig> {
    if let Some(from) = text
        .parse::<toml::Table>()
        .ok()
        .and_then(|t| t.get("promotes_from").cloned())
    {
        if !from.is_str() {
            return Err(Error::Invalid {
                message: format!("`promotes_from` is {from}: an environment promotes from one environment"),
                location: Location::new(file, crate::workspace::key_line(text, "promotes_from")),
                hint: "name one source (`promotes_from = \"dev\"`): a train is a chain, and an environment fed by two would receive two versions of the same target".into(),
            });
        }
    }
    let env: EnvConfig = parse_toml(text, file)?;
    let at = |needle: &str| Location::new(file, crate::workspace::key_line(text, needle));
    let lines: GateLines = parse_toml(text, file)?;
    if let Some(backend) = &lines.state.backend {
        if !STATE_BACKENDS.contains(&backend.get_ref().as_str()) {
            return Err(Error::Invalid {
                message: format!("`{}` is not a state backend strata configures (a stack can keep any other in its own `backend` block)", backend.get_ref()),
                location: Location::at(file, line_of(text, backend.span().start)),
                hint: crate::error::did_you_mean(backend.get_ref(), STATE_BACKENDS)
                    .unwrap_or_else(|| format!("use one of: {}", STATE_BACKENDS.join(", "))),
            });
        }
    }
    for action in lines.gates.require {
        let name = action.get_ref();
        if !GATE_ACTIONS.contains(&name.as_str()) {
            return Err(Error::Invalid {
                message: format!("`require` names `{name}`, which is not a task"),
                location: Location::at(file, line_of(text, action.span().start)),
                hint: crate::error::did_you_mean(name, GATE_ACTIONS)
                    .unwrap_or_else(|| format!("use any of: {}", GATE_ACTIONS.join(", "))),
            });
        }
    }
    if let Err((key, message, hint)) = env.gitops.check().and_then(|()| env.render.check()) {
        return Err(Error::Invalid {
            message,
            location: at(key),
            hint,
        });
    }
    if let Some(sev) = &env.gates.max_severity {
        if !SEVERITIES.contains(&sev.as_str()) {
            return Err(Error::Invalid {
                message: format!("`max_severity` is `{sev}`"),
                location: at("max_severity"),
                hint: format!("use one of: {}", SEVERITIES.join(", ")),
            });
        }
    }
    if let Some(timeout) = &env.state.lock_timeout {
        if parse_duration(timeout).is_none() {
            return Err(Error::Invalid {
                message: format!("`lock_timeout` is `{timeout}`, not a duration"),
                location: at("lock_timeout"),
                hint: "write durations like `30s`, `5m` or `1h`".into(),
            });
        }
    }
    for (key, value) in env
        .state
        .config
        .iter()
        .chain(env.state.stacks.values().flat_map(|s| s.iter()))
    {
        let scalar = |v: &toml::Value| {
            matches!(
                v,
                toml::Value::String(_) | toml::Value::Integer(_) | toml::Value::Boolean(_)
            )
        };
        let ok = match value {
            toml::Value::Array(items) => items.iter().all(scalar),
            v => scalar(v),
        };
        if !ok || (key.ends_with("_env") && !value.is_str()) {
            return Err(Error::Invalid {
                message: format!(
                    "state setting `{key}` is not a string, number, boolean or list of them"
                ),
                location: at(key),
                hint: if key.ends_with("_env") {
                    format!("`{key}` names an environment variable: `{key} = \"MY_VARIABLE\"`")
                } else {
                    "nested settings are not supported: set them with the backend's environment variables".into()
                },
            });
        }
    }
    if let Some(soak) = &env.gates.soak {
        if parse_duration(soak).is_none() {
            return Err(Error::Invalid {
                message: format!("`soak` is `{soak}`, not a duration"),
                location: at("soak"),
                hint: "write durations like `0m`, `30m`, `2h`, `1h30m` or `1d` (at most 36500d)"
                    .into(),
            });
        }
    }
    Ok(env)
}

/// The longest duration strata takes (100 years of 365 days): longer ones would overflow
/// the times they are added to.
pub const MAX_DURATION_SECS: u64 = 36_500 * 86_400;

/// Parses `30m`, `2h`, `1h30m`, `45s`, `1d` into seconds; `None` for anything else, and for
/// a duration longer than [`MAX_DURATION_SECS`].
pub fn parse_duration(text: &str) -> Option<u64> {
    let mut total = 0u64;
    let mut digits = String::new();
    if text.is_empty() {
        return None;
    }
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: u64 = digits.parse().ok()?;
        digits.clear();
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    (digits.is_empty() && total <= MAX_DURATION_SECS).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_lines() {
        let m = parse_target_manifest(
            "deps = [\n  \"stacks/network\",\n]\n[inputs]\nvpc_id = \"stacks/network:vpc_id\"\n",
            "stacks/db/stack.toml",
        )
        .unwrap();
        assert_eq!(m.deps, vec![("stacks/network".to_string(), 2)]);
        assert_eq!(m.inputs[0].label, "stacks/network");
        assert_eq!(m.inputs[0].output, "vpc_id");
        assert_eq!(m.inputs[0].line, 5);
        assert_eq!(m.environments, None);
    }

    #[test]
    fn bad_input_and_unknown_field() {
        let err = parse_target_manifest("[inputs]\nx = \"nolabel\"\n", "s.toml").unwrap_err();
        assert_eq!(err.location().unwrap().line, Some(2));
        // No output (or none terraform could have), no label: refused at their line, not
        // first found out by a plan that asks the state for an output named "".
        for bad in ["stacks/app:", ":vpc_id", "stacks/app:1st", "stacks/app:a b"] {
            let text = format!("[inputs]\n\nx = \"{bad}\"\n");
            let err = parse_target_manifest(&text, "s.toml").unwrap_err();
            assert_eq!(err.location().unwrap().line, Some(3), "{bad}");
        }
        let ok = parse_target_manifest("[inputs]\nx = \"a/b:_v-2\"\n", "s.toml").unwrap();
        assert_eq!(ok.inputs[0].output, "_v-2");
        // HCL's identifiers are Unicode's: an output terraform accepts is accepted.
        let ok = parse_target_manifest("[inputs]\nx = \"a/b:größe\"\n", "s.toml").unwrap();
        assert_eq!(ok.inputs[0].output, "größe");
        let err = parse_target_manifest("dep = []\n", "s.toml").unwrap_err();
        assert_eq!(err.location().unwrap().line, Some(1));
        // A dotted name would be one values key `image.tag`, never `.Values.image.tag`.
        let err =
            parse_target_manifest("[inputs]\n\"image.tag\" = \"a/b:tag\"\n", "c.toml").unwrap_err();
        assert_eq!(err.location().unwrap().line, Some(2));
        assert!(err.to_string().contains("`image.tag`"), "{err}");
    }

    #[test]
    fn env_validation() {
        let env = parse_env(
            "promotes_from = \"dev\"\n[gates]\nrequire = [\"plan\"]\nmax_severity = \"medium\"\napprovals = 1\nsoak = \"1h30m\"\n",
            "env.toml",
        )
        .unwrap();
        assert_eq!(env.promotes_from.as_deref(), Some("dev"));
        assert_eq!(
            parse_duration(env.gates.soak.as_deref().unwrap()),
            Some(5400)
        );
        let err = parse_env("[gates]\nmax_severity = \"severe\"\n", "env.toml").unwrap_err();
        assert_eq!(err.location().unwrap().line, Some(2));
        assert!(parse_duration("30x").is_none());
        // Too long for the times it is added to: refused, never wrapped.
        assert!(parse_duration("999999999999999999d").is_none());
        assert!(parse_duration("213503982334602d").is_none());
        assert_eq!(parse_duration("36500d"), Some(MAX_DURATION_SECS));
        assert!(parse_duration("36501d").is_none());
        assert!(parse_duration("30").is_none());
    }

    #[test]
    fn the_cluster_a_render_is_for_is_checked_and_env_toml_overrides_it_key_by_key() {
        let env = parse_env(
            "[render]\nkube_version = \"v1.30.2-gke.1200\"\napi_versions = [\"monitoring.coreos.com/v1/ServiceMonitor\", \"v1\"]\n",
            "env.toml",
        )
        .unwrap();
        assert_eq!(env.render.kube_version.as_deref(), Some("v1.30.2-gke.1200"));
        for ok in ["1.30", "v1.30.2", "1.30.0+k3s1", "1.0"] {
            assert!(is_kube_version(ok), "{ok}");
        }
        for bad in [
            "", "v", "1", "01.30", "1.30.2.1", "latest", "1..2", "1.30-", ">=1.30",
        ] {
            assert!(!is_kube_version(bad), "{bad}");
        }
        for (text, line) in [
            ("[render]\nkube_version = \"one-thirty\"\n", 2),
            (
                "\n[render]\napi_versions = [\n  \"apps/v1\",\n  \"a,b/v1\",\n]\n",
                3,
            ),
            (
                "[render]\napi_versions = [\"monitoring.coreos.com/v1 \"]\n",
                2,
            ),
            ("[render]\napi_versions = [\"a/b/c/d\"]\n", 2),
            ("[render]\nkube = \"1.30\"\n", 2),
        ] {
            let err = parse_env(text, "env.toml").unwrap_err();
            assert_eq!(err.location().unwrap().line, Some(line), "{text}: {err}");
        }
        let workspace = RenderConfig {
            kube_version: Some("1.29".into()),
            api_versions: Some(vec!["cert-manager.io/v1".into()]),
        };
        let over = RenderConfig {
            kube_version: Some("1.31".into()),
            api_versions: None,
        };
        let both = workspace.overridden_by(&over);
        assert_eq!(both.kube_version.as_deref(), Some("1.31"));
        assert_eq!(both.api_versions, workspace.api_versions);
        // An empty list says the cluster has none beyond helm's: it overrides too.
        let none = RenderConfig {
            api_versions: Some(Vec::new()),
            ..Default::default()
        };
        assert_eq!(
            workspace.overridden_by(&none).api_versions,
            Some(Vec::new())
        );
        assert!(RenderConfig::default().is_empty());
    }
}
