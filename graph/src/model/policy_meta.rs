//! `policies/<name>/policy.toml`: what a policy governs and how its Rego is read.

use crate::discover::Kind;
use crate::error::{line_of, Result};
use crate::workspace::parse_toml;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyMeta {
    /// Kinds of target governed (default: stacks and charts).
    #[serde(default = "default_kinds")]
    pub kinds: Vec<Kind>,
    /// Label globs of governed targets (default: all).
    #[serde(default)]
    pub labels: Vec<String>,
    /// Environments the policy applies in (default: all).
    #[serde(default)]
    pub environments: Vec<String>,
    /// Rego packages whose rules are evaluated (default: `main`, as conftest).
    #[serde(default = "default_namespaces")]
    pub namespaces: Vec<String>,
    /// Evaluate every package, as `conftest --all-namespaces`.
    #[serde(default)]
    pub all_namespaces: bool,
    /// `v1` (default) or `v0`.
    #[serde(default = "default_rego")]
    pub rego_version: String,
    /// The JSON shape Terraform files are given in: `hcl2json` (default, conftest's) or
    /// `strata` (a block body is an object, an array only when the block repeats).
    #[serde(default = "default_shape")]
    pub input_shape: String,
    /// Data documents (JSON or YAML files, or directories of them, relative to the policy's
    /// directory) merged into `data`, as `conftest --data`.
    #[serde(default)]
    pub data: Vec<String>,
    /// A failing builtin call is an error instead of undefined (`--show-builtin-errors`).
    #[serde(default)]
    pub show_builtin_errors: bool,
}

/// The values of policy.toml that errors point at, with their positions.
#[derive(Deserialize)]
struct ValueLines {
    #[serde(default)]
    labels: Vec<toml::Spanned<String>>,
    #[serde(default)]
    environments: Vec<toml::Spanned<String>>,
}

fn default_kinds() -> Vec<Kind> {
    vec![Kind::Stack, Kind::Chart]
}

fn default_namespaces() -> Vec<String> {
    vec!["main".into()]
}

fn default_rego() -> String {
    "v1".into()
}

fn default_shape() -> String {
    "hcl2json".into()
}

impl Default for PolicyMeta {
    fn default() -> Self {
        PolicyMeta {
            kinds: default_kinds(),
            labels: Vec::new(),
            environments: Vec::new(),
            namespaces: default_namespaces(),
            all_namespaces: false,
            rego_version: default_rego(),
            input_shape: default_shape(),
            data: Vec::new(),
            show_builtin_errors: false,
        }
    }
}

impl PolicyMeta {
    pub fn parse(text: &str, file: &str) -> Result<PolicyMeta> {
        let meta: PolicyMeta = parse_toml(text, file)?;
        // `labels = []` and `environments = []` mean all; an empty `kinds` would govern
        // nothing, silently.
        if meta.kinds.iter().all(|k| *k == Kind::Policy) {
            return Err(crate::error::Error::Invalid {
                message: if meta.kinds.is_empty() {
                    "`kinds` is empty: the policy would govern nothing".into()
                } else {
                    "`kinds` names only `policy`: policies govern stacks, modules and charts, so it would govern nothing".into()
                },
                location: crate::error::Location::new(
                    file,
                    crate::workspace::key_line(text, "kinds"),
                ),
                hint: "name the kinds it governs (`kinds = [\"stack\", \"chart\"]`, the default, or some of stack, module, chart), or remove the line for the default".into(),
            });
        }
        if meta.rego_version != "v1" && meta.rego_version != "v0" {
            return Err(crate::error::Error::Invalid {
                message: format!("`rego_version` is `{}`", meta.rego_version),
                location: crate::error::Location::new(
                    file,
                    crate::workspace::key_line(text, "rego_version"),
                ),
                hint: "use \"v1\" or \"v0\"".into(),
            });
        }
        let lines: ValueLines = crate::workspace::parse_toml(text, file)?;
        for glob in &lines.labels {
            if let Err(e) = globset::GlobBuilder::new(glob.get_ref())
                .literal_separator(true)
                .build()
            {
                return Err(crate::error::Error::Invalid {
                    message: format!("label glob `{}` is invalid: {}", glob.get_ref(), e.kind()),
                    location: crate::error::Location::at(file, line_of(text, glob.span().start)),
                    hint: "write label globs such as `stacks/**` or `charts/web-*`".into(),
                });
            }
        }
        if meta.input_shape != "hcl2json" && meta.input_shape != "strata" {
            return Err(crate::error::Error::Invalid {
                message: format!("`input_shape` is `{}`", meta.input_shape),
                location: crate::error::Location::new(
                    file,
                    crate::workspace::key_line(text, "input_shape"),
                ),
                hint: "use \"hcl2json\" (conftest's shape) or \"strata\"".into(),
            });
        }
        if let Some(bad) = meta
            .data
            .iter()
            .find(|d| d.starts_with('/') || d.split('/').any(|c| c == ".."))
        {
            return Err(crate::error::Error::Invalid {
                message: format!("data path `{bad}` leaves the policy's directory"),
                location: crate::error::Location::new(
                    file,
                    crate::workspace::key_line(text, "data"),
                ),
                hint: "keep data documents inside the policy's directory, so they are part of its hash".into(),
            });
        }
        Ok(meta)
    }

    /// Every environment the policy names must exist: a typo would make it govern nothing.
    pub fn check_environments(&self, text: &str, file: &str, known: &[String]) -> Result<()> {
        let lines: ValueLines = crate::workspace::parse_toml(text, file)?;
        for env in &lines.environments {
            let name = env.get_ref();
            if !known.contains(name) {
                return Err(crate::error::Error::Invalid {
                    message: format!("environment `{name}` does not exist"),
                    location: crate::error::Location::at(file, line_of(text, env.span().start)),
                    hint: crate::error::did_you_mean(name, known)
                        .unwrap_or_else(|| format!("environments are: {}", known.join(", "))),
                });
            }
        }
        Ok(())
    }

    /// The `labels` globs that match no target of the kinds the policy governs among
    /// `targets` (kind, label): a typo there (`chart/**`) would leave the policy governing
    /// nothing through it, without a word.
    pub fn unmatched_labels<'a>(
        &'a self,
        targets: impl Iterator<Item = (Kind, &'a str)> + Clone,
    ) -> Vec<&'a str> {
        self.labels
            .iter()
            .filter(|g| {
                let Ok(glob) = globset::GlobBuilder::new(g).literal_separator(true).build() else {
                    return false;
                };
                let glob = glob.compile_matcher();
                !targets
                    .clone()
                    .any(|(kind, label)| self.kinds.contains(&kind) && glob.is_match(label))
            })
            .map(String::as_str)
            .collect()
    }

    /// Whether the policy governs a target in an environment.
    pub fn governs(&self, kind: Kind, label: &str, env: Option<&str>) -> bool {
        if !self.kinds.contains(&kind) {
            return false;
        }
        if let Some(env) = env {
            if !self.environments.is_empty() && !self.environments.iter().any(|e| e == env) {
                return false;
            }
        }
        self.labels.is_empty()
            || self.labels.iter().any(|g| {
                globset::GlobBuilder::new(g)
                    .literal_separator(true)
                    .build()
                    .map(|g| g.compile_matcher().is_match(label))
                    .unwrap_or(false)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection() {
        let m = PolicyMeta::parse(
            "kinds = [\"chart\"]\nlabels = [\"charts/**\"]\nenvironments = [\"prod\"]\n",
            "p.toml",
        )
        .unwrap();
        assert!(m.governs(Kind::Chart, "charts/api", Some("prod")));
        assert!(!m.governs(Kind::Chart, "charts/api", Some("dev")));
        assert!(!m.governs(Kind::Stack, "stacks/network", Some("prod")));
        let all = PolicyMeta::parse("", "p.toml").unwrap();
        assert!(all.governs(Kind::Stack, "stacks/x", Some("dev")));
        assert!(PolicyMeta::parse("rego_version = \"v2\"\n", "p.toml").is_err());
        assert!(PolicyMeta::parse("kind = []\n", "p.toml").is_err());
        // An empty list of kinds would govern nothing: refused at its line.
        match PolicyMeta::parse("labels = []\nkinds = []\n", "p.toml") {
            Err(crate::error::Error::Invalid { location, .. }) => {
                assert_eq!(location.line, Some(2))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(all.input_shape, "hcl2json");
        assert!(PolicyMeta::parse("input_shape = \"hcl1\"\n", "p.toml").is_err());
        assert!(PolicyMeta::parse("data = [\"../x.yaml\"]\n", "p.toml").is_err());
        let m = PolicyMeta::parse(
            "input_shape = \"strata\"\ndata = [\"exclusions\"]\nshow_builtin_errors = true\n",
            "p.toml",
        )
        .unwrap();
        assert_eq!(m.data, vec!["exclusions".to_string()]);
        assert!(m.show_builtin_errors);
    }
}
