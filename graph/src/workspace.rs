//! The workspace root and its `WORKSPACE.toml`.
//!
//! The directory holding `WORKSPACE.toml` is the workspace root; every label and every path
//! strata prints is relative to it, with `/` separators.

use crate::error::{line_of, Error, Location, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const WORKSPACE_FILE: &str = "WORKSPACE.toml";

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceConfig {
    pub workspace: WorkspaceSection,
    #[serde(default)]
    pub toolchain: ToolchainConfig,
    #[serde(default)]
    pub cache: CacheConfig,
    #[serde(default)]
    pub layout: LayoutConfig,
    #[serde(default)]
    pub policy: PolicyConfig,
    /// `[gitops]`: present when the workspace delivers charts through GitOps.
    pub gitops: Option<crate::manifest::GitopsConfig>,
    /// `[render]`: the cluster charts are rendered for, unless an environment says otherwise.
    #[serde(default)]
    pub render: crate::manifest::RenderConfig,
}

/// `[policy]`: the built-in rule pack compiled into strata (see docs/policy.md).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Whether the built-in pack applies (default: yes), in `check` and `policy scan`.
    #[serde(default = "default_builtin")]
    pub builtin: bool,
    /// The pack version the workspace was reviewed against (`strata policy rules` prints
    /// it); a strata whose pack differs refuses to run it.
    pub builtin_version: Option<String>,
    /// The lines of `builtin` and `builtin_version` in WORKSPACE.toml, for errors.
    #[serde(skip)]
    pub builtin_line: Option<usize>,
    #[serde(skip)]
    pub builtin_version_line: Option<usize>,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            builtin: default_builtin(),
            builtin_version: None,
            builtin_line: None,
            builtin_version_line: None,
        }
    }
}

fn default_builtin() -> bool {
    true
}

/// `[layout]`: where each kind of target lives, as directory globs (see `discover`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LayoutConfig {
    #[serde(default = "default_stacks")]
    pub stacks: Vec<String>,
    #[serde(default = "default_modules")]
    pub modules: Vec<String>,
    #[serde(default = "default_charts")]
    pub charts: Vec<String>,
    #[serde(default = "default_policies")]
    pub policies: Vec<String>,
    /// Where a directory names its stack's or chart's environment, as a path pattern with
    /// `{env}` for that segment (`live/{env}`, `*/envs/{env}`): a target below `live/prod/`
    /// deploys to `prod` only, unless its marker file lists `environments`.
    #[serde(default)]
    pub environment_path: Option<String>,
}

impl Default for LayoutConfig {
    fn default() -> Self {
        LayoutConfig {
            stacks: default_stacks(),
            modules: default_modules(),
            charts: default_charts(),
            policies: default_policies(),
            environment_path: None,
        }
    }
}

fn default_stacks() -> Vec<String> {
    vec!["stacks/**".into()]
}

fn default_modules() -> Vec<String> {
    vec!["modules/**".into()]
}

fn default_charts() -> Vec<String> {
    vec!["**".into()]
}

fn default_policies() -> Vec<String> {
    vec!["policies/**".into()]
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceSection {
    pub name: String,
    #[serde(default = "default_branch")]
    pub default_branch: String,
    /// Globs: a change to a matching file affects every target.
    #[serde(default)]
    pub global_inputs: Vec<String>,
    /// The line of each of `global_inputs`, for errors.
    #[serde(skip)]
    pub global_inputs_lines: Vec<Option<usize>>,
    /// Globs never treated as inputs.
    #[serde(default)]
    pub ignore: Vec<String>,
}

fn default_branch() -> String {
    "main".into()
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ToolchainConfig {
    /// Pinned terraform version (also used for `tofu` when `terraform_binary = "tofu"`).
    pub terraform: Option<String>,
    pub helm: Option<String>,
    /// Which Terraform-compatible binary to run: `terraform` (default) or `tofu`.
    pub terraform_binary: Option<String>,
    /// A directory searched before PATH, relative to the workspace root.
    pub tools_dir: Option<String>,
    /// A terraform CLI configuration file (provider mirrors, plugin cache), relative to the
    /// root; when set, strata passes it as TF_CLI_CONFIG_FILE, overriding the environment.
    pub terraform_cli_config: Option<String>,
}

impl ToolchainConfig {
    /// The pinned versions, by tool name, as they enter target hashes.
    pub fn versions(&self) -> BTreeMap<String, String> {
        let mut v = BTreeMap::new();
        if let Some(t) = &self.terraform {
            v.insert(self.terraform_tool().to_string(), t.clone());
        }
        if let Some(h) = &self.helm {
            v.insert("helm".into(), h.clone());
        }
        v
    }

    pub fn terraform_tool(&self) -> &str {
        self.terraform_binary.as_deref().unwrap_or("terraform")
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    #[serde(default = "default_cache_dir")]
    pub dir: String,
    /// A shared HTTP cache (Bazel HTTP cache layout).
    pub remote: Option<String>,
    /// Only read from the remote (for untrusted contributors' runs).
    #[serde(default)]
    pub remote_read_only: bool,
    /// The environment variable holding a bearer token for the remote.
    pub remote_token_env: Option<String>,
    /// Seconds before a remote request is abandoned.
    #[serde(default = "default_remote_timeout")]
    pub remote_timeout_secs: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            dir: default_cache_dir(),
            remote: None,
            remote_read_only: false,
            remote_token_env: None,
            remote_timeout_secs: default_remote_timeout(),
        }
    }
}

fn default_remote_timeout() -> u64 {
    10
}

/// strata's directory in the checkout: caches, locks, sandboxes' bookkeeping and the
/// daemon's files, kept out of git (see [`strata_fs::keep_out_of_git`]).
pub const STRATA_DIR: &str = ".strata";

fn default_cache_dir() -> String {
    format!("{STRATA_DIR}/cache")
}

impl WorkspaceConfig {
    /// Parses WORKSPACE.toml text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<WorkspaceConfig> {
        let mut cfg: WorkspaceConfig = parse_toml(text, file)?;
        cfg.policy.builtin_line = key_line(text, "builtin");
        cfg.policy.builtin_version_line = key_line(text, "builtin_version");
        cfg.workspace.global_inputs_lines = cfg
            .workspace
            .global_inputs
            .iter()
            .map(|g| value_line(text, g))
            .collect();
        for (key, globs) in [
            ("global_inputs", &cfg.workspace.global_inputs),
            ("ignore", &cfg.workspace.ignore),
        ] {
            for g in globs {
                if let Err(e) = globset::Glob::new(g) {
                    return Err(Error::Invalid {
                        message: format!("`{key}` has an invalid glob `{g}`: {e}"),
                        location: Location::new(file, value_line(text, g)),
                        hint: "globs use `*`, `**`, `?`, `[...]` and `{a,b}`".into(),
                    });
                }
            }
        }
        if let Err((kind, glob, why)) = crate::discover::Layout::new(&cfg.layout) {
            return Err(Error::Invalid {
                message: format!("[layout] `{kind}` has an invalid glob `{glob}`: {why}"),
                location: Location::new(file, value_line(text, &glob)),
                hint: "globs name directories: `stacks/*`, `live/*/*/*`, `modules/**`, `.` for the root, `!x/**` to exclude".into(),
            });
        }
        if let Some(pattern) = &cfg.layout.environment_path {
            if !pattern.trim_matches('/').split('/').any(|s| s == "{env}") {
                return Err(Error::Invalid {
                    message: format!(
                        "[layout] environment_path `{pattern}` has no `{{env}}` segment"
                    ),
                    location: Location::new(file, key_line(text, "environment_path")),
                    hint: "name the directory level that is the environment, e.g. `environment_path = \"live/{env}\"`".into(),
                });
            }
        }
        let gitops = cfg.gitops.as_ref().map_or(Ok(()), |g| g.check());
        if let Err((key, message, hint)) = gitops.and_then(|()| cfg.render.check()) {
            return Err(Error::Invalid {
                message,
                location: Location::new(file, key_line(text, key)),
                hint,
            });
        }
        // No request can finish in no time: 0 would fail every remote request (or, read
        // as "no limit", let a stalled remote hang a run).
        if cfg.cache.remote_timeout_secs == 0 {
            return Err(Error::Invalid {
                message: "`remote_timeout_secs` is 0".into(),
                location: Location::new(file, key_line(text, "remote_timeout_secs")),
                hint: "give the seconds a remote cache request may take (default 10)".into(),
            });
        }
        if let Some(bin) = &cfg.toolchain.terraform_binary {
            if bin != "terraform" && bin != "tofu" {
                return Err(Error::Invalid {
                    message: format!("`terraform_binary` is `{bin}`"),
                    location: Location::new(file, key_line(text, "terraform_binary")),
                    hint: "use \"terraform\" or \"tofu\"".into(),
                });
            }
        }
        Ok(cfg)
    }
}

/// Parses a TOML file into `T`. Bad syntax is `Malformed`; valid TOML with a missing,
/// unknown or mistyped field is `Invalid`, with the line of the field and a hint naming
/// the reference page.
pub fn parse_toml<T: serde::de::DeserializeOwned>(text: &str, file: &str) -> Result<T> {
    let location =
        |e: &toml::de::Error| Location::new(file, e.span().map(|s| line_of(text, s.start)));
    // One parse when the file is right; a second only to tell bad syntax from bad content.
    let err = match toml::from_str::<T>(text) {
        Ok(value) => return Ok(value),
        Err(e) => e,
    };
    if let Err(e) = text.parse::<toml::Table>() {
        return Err(Error::Malformed {
            what: "TOML",
            location: location(&e),
            message: e.message().trim().to_string(),
        });
    }
    Err(Error::Invalid {
        message: err.message().trim().to_string(),
        location: location(&err),
        hint: "see docs/configuration.md for the fields this file takes".into(),
    })
}

/// The line where TOML key `key` is set (`key =` at the start of a line, comments and
/// other keys that merely contain it skipped), for errors about values without a span.
pub(crate) fn key_line(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map(|i| i + 1)
}

/// The line where the quoted string `value` appears outside a comment.
pub(crate) fn value_line(text: &str, value: &str) -> Option<usize> {
    let quoted = format!("\"{value}\"");
    text.lines()
        .position(|l| {
            let code = l.split_once('#').map_or(l, |(c, _)| c);
            code.contains(&quoted)
        })
        .map(|i| i + 1)
}

/// Finds the workspace root: the nearest directory at or above `start` with WORKSPACE.toml.
pub fn find_root(start: &Path) -> Result<PathBuf> {
    let start = start
        .canonicalize()
        .map_err(|e| Error::io(start.to_path_buf(), e))?;
    let mut dir = start.as_path();
    loop {
        if dir.join(WORKSPACE_FILE).is_file() {
            return Ok(dir.to_path_buf());
        }
        match dir.parent() {
            Some(parent) => dir = parent,
            None => return Err(Error::NoWorkspace { start }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_minimal_and_defaults() {
        let cfg = WorkspaceConfig::parse("[workspace]\nname = \"x\"\n", "WORKSPACE.toml").unwrap();
        assert_eq!(cfg.workspace.default_branch, "main");
        assert_eq!(cfg.cache.dir, ".strata/cache");
        assert!(cfg.toolchain.versions().is_empty());
        assert!(cfg.policy.builtin, "the built-in pack is on by default");
        assert_eq!(cfg.policy.builtin_version, None);
    }

    #[test]
    fn a_remote_timeout_of_zero_is_refused_at_its_line() {
        let err = WorkspaceConfig::parse(
            "[workspace]\nname = \"x\"\n\n[cache]\nremote = \"http://127.0.0.1:1/c\"\nremote_timeout_secs = 0\n",
            "WORKSPACE.toml",
        )
        .unwrap_err();
        assert_eq!(err.location().unwrap().line, Some(6));
        assert!(err.to_string().contains("remote_timeout_secs"), "{err}");
    }

    #[test]
    fn policy_section_turns_the_builtin_pack_off_or_pins_it() {
        let text = "[workspace]\nname = \"x\"\n\n[policy]\nbuiltin = false\nbuiltin_version = \"0.1.0+abc\"\n";
        let cfg = WorkspaceConfig::parse(text, "WORKSPACE.toml").unwrap();
        assert!(!cfg.policy.builtin);
        assert_eq!(cfg.policy.builtin_version.as_deref(), Some("0.1.0+abc"));
        assert_eq!(cfg.policy.builtin_line, Some(5));
        assert_eq!(cfg.policy.builtin_version_line, Some(6));
        let err = WorkspaceConfig::parse(
            "[workspace]\nname = \"x\"\n[policy]\nbuiltins = true\n",
            "WORKSPACE.toml",
        )
        .unwrap_err();
        assert_eq!(err.location().and_then(|l| l.line), Some(4), "{err}");
    }

    #[test]
    fn lines_of_keys_and_values_skip_comments_and_longer_keys() {
        let text = "# soak = \"30m\" is typical\nsoak_extra = 1\nsoak = \"forever\"\n";
        assert_eq!(key_line(text, "soak"), Some(3));
        let text = "# see \"a/{b\"\nignore = [\"a/{b\"]\n";
        assert_eq!(value_line(text, "a/{b"), Some(2));
    }

    /// The output is committed with the lock and read by Argo CD or Flux from the
    /// repository: a path leaving the workspace, absolute or the root itself is refused at
    /// its line.
    #[test]
    fn a_gitops_path_outside_the_workspace_is_refused_at_its_line() {
        for path in [
            "../outside/{env}",
            "/srv/deploy/{env}",
            "deploy/../../x",
            ".",
            "",
            ".git/deploy/{env}",
        ] {
            let text = format!("[workspace]\nname = \"x\"\n\n[gitops]\npath = \"{path}\"\n");
            let err = WorkspaceConfig::parse(&text, "WORKSPACE.toml").unwrap_err();
            assert_eq!(
                err.location().unwrap().to_string(),
                "WORKSPACE.toml:5",
                "{path}: {err}"
            );
            assert!(
                err.to_string()
                    .contains("is not a directory inside the workspace"),
                "{err}"
            );
        }
        for path in ["deploy/{env}", "./gitops/{env}/out", "a/../b/{env}"] {
            let text = format!("[workspace]\nname = \"x\"\n\n[gitops]\npath = \"{path}\"\n");
            WorkspaceConfig::parse(&text, "WORKSPACE.toml")
                .unwrap_or_else(|e| panic!("{path}: {e}"));
        }
    }

    #[test]
    fn a_gitops_validator_needs_a_program_and_env_toml_overrides_it() {
        let text = "[workspace]\nname = \"x\"\n\n[gitops]\nformat = \"argocd\"\nvalidate = []\n";
        let err = WorkspaceConfig::parse(text, "WORKSPACE.toml").unwrap_err();
        assert_eq!(
            err.location().unwrap().to_string(),
            "WORKSPACE.toml:6",
            "{err}"
        );
        let text = "[workspace]\nname = \"x\"\n\n[gitops]\nvalidate = [\"scripts/v\", \"-q\"]\n";
        let cfg = WorkspaceConfig::parse(text, "WORKSPACE.toml").unwrap();
        let gitops = cfg.gitops.unwrap();
        assert_eq!(
            gitops.validate.as_deref(),
            Some(&["scripts/v".to_string(), "-q".to_string()][..])
        );
        let env = crate::manifest::GitopsConfig {
            validate: Some(vec!["kubeconform".into()]),
            ..Default::default()
        };
        assert_eq!(
            gitops.overridden_by(&env).validate,
            Some(vec!["kubeconform".to_string()])
        );
        assert_eq!(
            gitops.overridden_by(&Default::default()).validate,
            gitops.validate
        );
    }

    #[test]
    fn unknown_key_names_line() {
        let err = WorkspaceConfig::parse(
            "[workspace]\nname = \"x\"\nglobal_input = []\n",
            "WORKSPACE.toml",
        )
        .unwrap_err();
        assert_eq!(err.location().unwrap().to_string(), "WORKSPACE.toml:3");
        assert!(err.to_string().contains("global_input"), "{err}");
    }

    #[test]
    fn bad_glob_is_invalid() {
        let err = WorkspaceConfig::parse(
            "[workspace]\nname = \"x\"\nignore = [\"a/{b\"]\n",
            "WORKSPACE.toml",
        )
        .unwrap_err();
        assert_eq!(err.location().unwrap().line, Some(3));
    }
}
