//! The built-in rule pack, compiled into strata: the Rego of `crates/policy/builtin/`
//! (one policy per directory, each with its `policy.toml` and `*_test.rego` tests), so a
//! workspace, or a folder outside any workspace, has the rules without copying them.
//!
//! Invariants:
//! 1. The pack is the files of `crates/policy/builtin/` as they were when strata was built
//!    (`build.rs` embeds them, sorted by path); nothing is read from disk.
//! 2. [`version`] is strata's version plus a digest of every file's path and content, so two
//!    binaries with the same version string have the same rules, and any edit of the pack
//!    changes it. Policy task keys carry it: upgrading strata re-runs policy tasks.
//! 3. Built-in policies are labelled `builtin/<directory>` (`builtin/terraform-aws`);
//!    workspace policy labels are directories under the workspace's policy layout, so a
//!    workspace label wins where both could match (see [`named`]).

use crate::scan::Overrides;
use crate::{Error, Policy};
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use strata_graph::model::policy_meta::PolicyMeta;
use strata_graph::workspace::PolicyConfig;

/// Every file of the pack, by its path relative to `crates/policy/builtin/`, sorted.
static FILES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/builtin_files.rs"));

/// The label of the whole pack, and the prefix of each of its policies' labels.
pub const LABEL: &str = "builtin";

/// The pack's files: (path relative to the pack, text), sorted by path.
pub fn files() -> &'static [(&'static str, &'static str)] {
    FILES
}

/// The pack's version: strata's version, `+`, and the first 12 hex digits of the BLAKE3
/// digest of every file's path and content (`0.1.0+3f2a9c1e4b7d`).
pub fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let mut hasher = blake3::Hasher::new();
        for (path, text) in FILES {
            hasher.update(path.as_bytes());
            hasher.update(&[0]);
            hasher.update(&(text.len() as u64).to_le_bytes());
            hasher.update(text.as_bytes());
        }
        let digest = hasher.finalize().to_hex();
        format!("{}+{}", env!("CARGO_PKG_VERSION"), &digest[..12])
    })
}

/// One policy of the pack (a directory of `crates/policy/builtin/`).
#[derive(Debug, Clone)]
pub struct BuiltinPolicy {
    /// The directory: `terraform-aws`.
    pub name: String,
    /// `builtin/terraform-aws`: how findings, `--policy` and `policy test` name it.
    pub label: String,
    /// Its `policy.toml`.
    pub meta: PolicyMeta,
    /// Its `.rego` files, tests included, as (`builtin/terraform-aws/s3.rego`, text).
    rego: Vec<(String, String)>,
}

impl BuiltinPolicy {
    /// The policy's Rego without its tests.
    pub fn sources(&self) -> Vec<(String, String)> {
        self.rego
            .iter()
            .filter(|(p, _)| !p.ends_with("_test.rego"))
            .cloned()
            .collect()
    }

    /// Every `.rego` file, tests included (what `policy test` loads).
    pub fn rego_files(&self) -> &[(String, String)] {
        &self.rego
    }

    /// Loads the policy as its `policy.toml` says, plus what the command line adds.
    pub fn load(&self, overrides: &Overrides) -> Result<Policy, Error> {
        let mut options = crate::eval::Options::from_meta(&self.meta);
        options.show_builtin_errors |= overrides.show_builtin_errors;
        Policy::load(&self.label, &self.sources(), &overrides.data, &options)
    }
}

/// The pack's policies, in directory order.
pub fn policies() -> &'static [BuiltinPolicy] {
    static POLICIES: OnceLock<Vec<BuiltinPolicy>> = OnceLock::new();
    POLICIES.get_or_init(|| {
        let mut out: Vec<BuiltinPolicy> = Vec::new();
        for (path, text) in FILES {
            let Some((dir, file)) = path.split_once('/') else {
                continue;
            };
            let index = match out.iter().position(|p| p.name == dir) {
                Some(i) => i,
                None => {
                    out.push(BuiltinPolicy {
                        name: dir.to_string(),
                        label: format!("{LABEL}/{dir}"),
                        meta: PolicyMeta::default(),
                        rego: Vec::new(),
                    });
                    out.len() - 1
                }
            };
            let policy = &mut out[index];
            if file == "policy.toml" {
                let shown = format!("{}/policy.toml", policy.label);
                // The pack is compiled in and its unit tests parse every policy.toml.
                policy.meta = PolicyMeta::parse(text, &shown)
                    .unwrap_or_else(|e| panic!("the built-in {shown} is invalid: {e}"));
            } else if file.ends_with(".rego") {
                policy
                    .rego
                    .push((format!("{}/{file}", policy.label), text.to_string()));
            }
        }
        out.retain(|p| !p.rego.is_empty());
        out
    })
}

/// Whether `label` names a policy of the pack (`builtin/<directory>`).
pub fn is_builtin_label(label: &str) -> bool {
    label
        .strip_prefix(LABEL)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// The built-in policies a label names: `builtin` (all of them) or `builtin/<directory>`;
/// `None` for any other label.
pub fn named(label: &str) -> Option<Vec<&'static BuiltinPolicy>> {
    let label = label.trim_end_matches('/');
    if label == LABEL {
        return Some(policies().iter().collect());
    }
    policies()
        .iter()
        .find(|p| p.label == label)
        .map(|p| vec![p])
}

/// Whether a workspace applies the built-in pack (`[policy] builtin`, default yes). A
/// `builtin_version` pin that is not this binary's pack is bad input: exit 2, pointing at
/// the pin in WORKSPACE.toml.
pub fn enabled(config: &PolicyConfig) -> strata_graph::Result<bool> {
    if !config.builtin {
        return Ok(false);
    }
    check_pin(config)?;
    Ok(true)
}

/// Refuses a `builtin_version` pin that differs from this binary's pack.
pub fn check_pin(config: &PolicyConfig) -> strata_graph::Result<()> {
    match &config.builtin_version {
        Some(pin) if pin != version() => Err(strata_graph::Error::Invalid {
            message: format!(
                "WORKSPACE.toml pins the built-in policy pack to `{pin}`, but this strata has `{}`",
                version()
            ),
            location: strata_graph::error::Location::new(
                strata_graph::workspace::WORKSPACE_FILE,
                config.builtin_version_line,
            ),
            hint: format!(
                "run the strata that ships pack `{pin}`, or review the rules of this one (`strata policy rules`) and set builtin_version = \"{}\"",
                version()
            ),
        }),
        _ => Ok(()),
    }
}

/// One rule of the pack, as its metadata object in the Rego says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleInfo {
    /// `STRATA-AWS-002`.
    pub id: String,
    pub severity: String,
    pub title: String,
    /// The Checkov ids the rule's findings may carry (`checkov_ids`, else `checkov`).
    pub checkov: Vec<String>,
    pub remediation: String,
    /// `builtin/terraform-aws`.
    pub policy: String,
    /// `builtin.aws`.
    pub package: String,
    /// The check's name: `s3_public_acl` (its rules are `deny_s3_public_acl` and
    /// `unknown_s3_public_acl`, and an `exception` names it so).
    pub name: String,
}

/// Every rule of the pack, read from the metadata objects of its Rego (a rule whose value
/// is an object with `id`, `severity` and `title`), sorted by id.
pub fn rules() -> Result<Vec<RuleInfo>, Error> {
    let mut out = Vec::new();
    for policy in policies() {
        let loaded =
            crate::rego::Loaded::load(&policy.sources(), policy.meta.rego_version == "v0")?;
        for package in &loaded.packages {
            let mut engine = loaded.engine.clone();
            let query = format!("data.{package}");
            let results = engine
                .eval_query(query.clone(), false)
                .map_err(|e| Error::new(format!("{}: {query}: {e}", policy.label)))?;
            let value = results
                .result
                .first()
                .and_then(|r| r.expressions.first())
                .map(|e| serde_json::to_value(&e.value).unwrap_or(Value::Null))
                .unwrap_or(Value::Null);
            let Value::Object(rules) = value else {
                continue;
            };
            for (name, meta) in rules {
                let text = |key: &str| meta.get(key).and_then(Value::as_str).map(str::to_string);
                let (Some(id), Some(severity), Some(title)) =
                    (text("id"), text("severity"), text("title"))
                else {
                    continue;
                };
                let checkov = match meta.get("checkov_ids").and_then(Value::as_array) {
                    Some(ids) => ids
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect(),
                    None => text("checkov").into_iter().collect(),
                };
                out.push(RuleInfo {
                    id,
                    severity,
                    title,
                    checkov,
                    remediation: text("remediation").unwrap_or_default(),
                    policy: policy.label.clone(),
                    package: package.clone(),
                    name,
                });
            }
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// Writes the pack out under `dir` (for a team that forks it and turns the built-in pack
/// off): every file, tests and `policy.toml` included, and a README that names the pack
/// version it came from. Refuses to overwrite a file; returns the files written.
pub fn vendor(dir: &Path) -> strata_graph::Result<Vec<PathBuf>> {
    let targets: Vec<PathBuf> = FILES.iter().map(|(p, _)| dir.join(p)).collect();
    if let Some(existing) = targets.iter().find(|t| t.exists()) {
        return Err(strata_graph::Error::Usage {
            message: format!("{} already exists", existing.display()),
            hint: "vendor the pack into a new or empty directory (then diff and merge by hand to take a newer pack)".into(),
        });
    }
    for ((path, text), target) in FILES.iter().zip(&targets) {
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| strata_graph::Error::write(parent, e))?;
        }
        let text = if *path == "README.md" {
            format!(
                "<!-- Vendored from strata's built-in policy pack {} by `strata policy vendor`. -->\n\n{text}",
                version()
            )
        } else {
            text.to_string()
        };
        std::fs::write(target, text).map_err(|e| strata_graph::Error::write(target, e))?;
    }
    Ok(targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pack_is_compiled_in_with_a_version_of_its_content() {
        let names: Vec<&str> = policies().iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "kubernetes",
                "terraform-aws",
                "terraform-azure",
                "terraform-common",
                "terraform-gcp"
            ]
        );
        for p in policies() {
            assert!(p.meta.data.is_empty(), "{}: no data documents", p.label);
            assert!(!p.sources().is_empty() && p.sources().len() < p.rego.len());
        }
        let v = version();
        let (crate_version, digest) = v.split_once('+').unwrap();
        assert_eq!(crate_version, env!("CARGO_PKG_VERSION"));
        assert_eq!(digest.len(), 12);
        assert!(digest.chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn labels_name_the_pack_or_one_policy() {
        assert_eq!(named("builtin").unwrap().len(), policies().len());
        assert_eq!(
            named("builtin/terraform-aws").unwrap()[0].name,
            "terraform-aws"
        );
        assert!(named("builtin/nope").is_none());
        assert!(named("policies/builtin").is_none());
    }

    #[test]
    fn a_pin_must_be_this_binarys_pack() {
        let mut config = PolicyConfig::default();
        assert!(enabled(&config).unwrap());
        config.builtin_version = Some(version().to_string());
        assert!(enabled(&config).unwrap());
        config.builtin_version = Some("0.0.1+000000000000".into());
        config.builtin_version_line = Some(7);
        let err = enabled(&config).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert_eq!(err.location().and_then(|l| l.line), Some(7));
        assert!(err.to_string().contains("0.0.1+000000000000"), "{err}");
        // A pack that is off is not run, so its pin does not matter.
        config.builtin = false;
        assert!(!enabled(&config).unwrap());
    }

    #[test]
    fn every_rule_has_metadata_a_check_and_tests() {
        let rules = rules().unwrap();
        let mut ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
        ids.dedup();
        assert_eq!(ids.len(), rules.len(), "rule ids are unique");
        for r in &rules {
            assert!(r.id.starts_with("STRATA-"), "{r:?}");
            assert!(
                strata_graph::manifest::SEVERITIES.contains(&r.severity.as_str()),
                "{r:?}"
            );
            assert!(!r.title.is_empty() && !r.remediation.is_empty(), "{r:?}");
            assert!(r.checkov.iter().all(|c| c.starts_with("CKV")), "{r:?}");
            let policy = policies().iter().find(|p| p.label == r.policy).unwrap();
            let deny = format!("deny_{} contains", r.name);
            let sources = policy.sources();
            assert!(
                sources.iter().any(|(_, t)| t.contains(&deny)),
                "{}: no deny_{} rule",
                r.id,
                r.name
            );
            let tested = policy
                .rego_files()
                .iter()
                .filter(|(p, _)| p.ends_with("_test.rego"))
                .any(|(_, t)| t.contains(&format!("deny_{}", r.name)));
            assert!(tested, "{}: no test names deny_{}", r.id, r.name);
        }
    }

    /// The pack's README lists every rule with the id, severity and title of its metadata.
    #[test]
    fn the_readme_lists_every_rule() {
        let readme = files().iter().find(|(p, _)| *p == "README.md").unwrap().1;
        for r in rules().unwrap() {
            let row = format!("| {} | {} | {} |", r.id, r.severity, r.title);
            let severity_varies = format!("| {} | {} (", r.id, r.severity);
            assert!(
                readme.contains(&row)
                    || (readme.contains(&severity_varies) && readme.contains(&r.title)),
                "README.md has no row {row}"
            );
        }
    }

    #[test]
    fn vendoring_writes_the_pack_and_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("pack");
        let written = vendor(&out).unwrap();
        assert_eq!(written.len(), files().len());
        let readme = std::fs::read_to_string(out.join("README.md")).unwrap();
        assert!(readme.contains(version()), "{readme}");
        assert_eq!(
            std::fs::read_to_string(out.join("terraform-aws/policy.toml")).unwrap(),
            files()
                .iter()
                .find(|(p, _)| *p == "terraform-aws/policy.toml")
                .unwrap()
                .1
        );
        let err = vendor(&out).unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
    }
}
