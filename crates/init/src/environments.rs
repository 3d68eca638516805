//! Environments a repository already has, found from where its files live and how its
//! variable files are named:
//!
//! - any file under `environments/<env>/`, `envs/<env>/`, `env/<env>/` or `live/<env>/`
//!   (Terragrunt), and variable files directly in such a directory (`envs/prod.tfvars`);
//! - variable files (`*.tfvars`, `*.tfvars.json`, Helm's `values-*.yaml`) named after an
//!   environment (`prod.tfvars`, `network.staging.tfvars`, `values-prod.yaml`) or living
//!   in a directory named like one
//!   (`stacks/app/prod/terraform.tfvars`), and Terragrunt units (`terragrunt.hcl`) living
//!   in such a directory;
//! - Terragrunt's `env.hcl`: the directory holding it is an environment.
//!
//! Environment names are the usual ones: dev, development, qa, test, uat, stage, staging,
//! stg, preprod, prod, production, prd, sandbox. `test` alone is too common a directory and
//! file name to be believed: it counts when something else names an environment too, or
//! when it sits in one of the directories above.
//!
//! Environments are ordered into a promotion train by what their names say (dev before
//! qa/test, before uat, before staging, before prod).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use strata_graph::discover::file_name;

use crate::evidence;

/// Terraform variable files and Helm values files (`values.yaml`, `values-prod.yaml`,
/// `prod-values.yml`).
pub fn is_var_file(name: &str) -> bool {
    evidence::is_var_file(name) || {
        let stem = var_stem(name);
        stem != name && stem.split(['.', '-', '_']).any(|t| t == "values")
    }
}

/// Directories whose subdirectories are environments.
const CONTAINERS: &[&str] = &["environments", "envs", "env", "live"];

/// Names that mean an environment wherever they appear.
const NAMES: &[&str] = &[
    "dev",
    "development",
    "qa",
    "test",
    "uat",
    "stage",
    "staging",
    "stg",
    "preprod",
    "prod",
    "production",
    "prd",
    "sandbox",
];

/// Directories under a container that are shared settings, not environments.
const SHARED: &[&str] = &[
    "common",
    "shared",
    "global",
    "modules",
    "templates",
    "default",
    "base",
];

pub fn is_container(segment: &str) -> bool {
    CONTAINERS.contains(&segment)
}

fn is_name(segment: &str) -> bool {
    NAMES.contains(&segment.to_ascii_lowercase().as_str())
}

/// A cloud region name: `us-east-1`, `eu-west-2`, `us-gov-west-1` (AWS), `europe-west1`,
/// `us-central1` (Google Cloud).
fn is_region(segment: &str) -> bool {
    let parts: Vec<&str> = segment.split('-').collect();
    let alpha = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase());
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match parts[..] {
        [a, b, n] if a.len() == 2 && alpha(a) && alpha(b) && digits(n) => true,
        [a, "gov", b, n] if alpha(a) && alpha(b) && digits(n) => true,
        [a, b] if alpha(a) => {
            let split = b.find(|c: char| c.is_ascii_digit()).unwrap_or(b.len());
            let (word, num) = b.split_at(split);
            alpha(word) && digits(num)
        }
        _ => false,
    }
}

/// A path segment that varies between copies of the same thing: an environment or a
/// region name (a layout glob takes `*` there).
pub fn is_variable_segment(segment: &str) -> bool {
    is_name(segment) || is_region(segment)
}

/// A name that can be an environment's directory under `environments/`.
fn is_valid(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(['_', '.'])
        && !SHARED.contains(&name)
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The environment whose directory holds `dir` (`live/prod/eu-west-1/vpc` -> `prod`).
pub fn environment_of_dir(dir: &str) -> Option<String> {
    let segs: Vec<&str> = dir.split('/').collect();
    let i = segs.iter().position(|s| is_container(s))?;
    segs.get(i + 1)
        .filter(|s| is_valid(s))
        .map(|s| s.to_string())
}

/// The `[layout] environment_path` pattern of a directory inside an environment's
/// directory: `stacks/envs/stg/vpc` gives `stacks/envs/{env}`.
pub fn environment_path_of_dir(dir: &str) -> Option<String> {
    let segs: Vec<&str> = dir.split('/').collect();
    let i = segs.iter().position(|s| is_container(s))?;
    segs.get(i + 1).filter(|s| is_valid(s))?;
    let mut pattern: Vec<&str> = segs[..=i].to_vec();
    pattern.push("{env}");
    Some(pattern.join("/"))
}

/// An environment `init` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Environment {
    pub name: String,
    /// Files that say it exists, sorted.
    pub evidence: Vec<String>,
    /// The environment it is promoted from, by its name's place in the train.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promotes_from: Option<String>,
    /// `environments/<name>/env.toml` exists already.
    pub defined: bool,
}

/// Directories of test data (`tests/fixtures/scenarios/env/...` in cloudposse/atmos): what
/// they hold describes the tests' workspaces, not this one's environments. (`test` itself
/// is a common environment's name.)
fn is_test_data(dir: &str) -> bool {
    matches!(
        dir,
        "tests" | "testdata" | "test-fixtures" | "fixtures" | "__fixtures__"
    )
}

/// The environments the paths show, with `environments/<env>/env.toml` files already
/// there (`env_files`) counted as defined.
pub fn detect(paths: &[String], env_files: &[String]) -> Vec<Environment> {
    // name -> (files, believed on its own)
    let mut found: BTreeMap<String, (BTreeSet<String>, bool)> = BTreeMap::new();
    // What a chart holds below its own directory (`ci/test-values.yaml`, an `environments/`
    // of its own) is the chart's business, not the workspace's environments.
    let charts: BTreeSet<&str> = paths
        .iter()
        .filter_map(|p| p.strip_suffix("/Chart.yaml"))
        .collect();
    // A file in a directory below a chart's (its own files, `values-prod.yaml`, count).
    let inside_a_chart = |path: &str| {
        let mut dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        while let Some((parent, _)) = dir.rsplit_once('/') {
            if charts.contains(parent) {
                return true;
            }
            dir = parent;
        }
        false
    };
    let mut add = |name: &str, path: &str, strong: bool| {
        let e = found.entry(name.to_string()).or_default();
        e.0.insert(path.to_string());
        e.1 |= strong;
    };
    for path in paths {
        let segs: Vec<&str> = path.split('/').collect();
        let dirs = &segs[..segs.len() - 1];
        if dirs.iter().any(|s| s.starts_with('.') || is_test_data(s)) || inside_a_chart(path) {
            continue;
        }
        let name = file_name(path);
        if let Some(i) = dirs.iter().position(|s| is_container(s)) {
            if let Some(env) = dirs.get(i + 1).filter(|s| is_valid(s)) {
                add(env, path, true);
                continue;
            }
            if i + 1 == dirs.len() && evidence::is_var_file(name) {
                let stem = var_stem(name);
                if is_valid(stem) {
                    add(stem, path, true);
                    continue;
                }
            }
        }
        if name == "env.hcl" {
            if let Some(env) = dirs.last().filter(|s| is_valid(s)) {
                add(env, path, true);
                continue;
            }
        }
        let unit = name == "terragrunt.hcl";
        if !is_var_file(name) && !unit {
            continue;
        }
        // A file in a directory named like an environment (`variables/production/
        // synthetic-test.tfvars`) is that environment's: its name names a stack, not
        // another environment.
        let in_named_dir = dirs.iter().any(|s| is_name(s));
        for token in var_stem(name)
            .split(['.', '-', '_'])
            .filter(|_| !unit && !in_named_dir)
        {
            if is_name(token) {
                let token = token.to_ascii_lowercase();
                add(&token, path, token != "test");
            }
        }
        for seg in dirs {
            if is_name(seg) {
                add(seg, path, !seg.eq_ignore_ascii_case("test"));
            }
        }
    }
    let defined: BTreeSet<&str> = env_files
        .iter()
        .filter_map(|f| f.split('/').nth(1))
        .collect();
    for name in &defined {
        found.entry(name.to_string()).or_default().1 = true;
    }
    let others = found.values().filter(|(_, strong)| *strong).count();
    let mut envs: Vec<Environment> = found
        .into_iter()
        .filter(|(_, (_, strong))| *strong || others > 0)
        .map(|(name, (files, _))| Environment {
            defined: defined.contains(name.as_str()),
            name,
            evidence: files.into_iter().collect(),
            promotes_from: None,
        })
        .collect();
    order(&mut envs);
    envs
}

/// `prod.tfvars` -> `prod`, `dev.auto.tfvars.json` -> `dev`, `values-qa.yaml` ->
/// `values-qa`.
fn var_stem(name: &str) -> &str {
    let stem = name
        .strip_suffix(".tfvars.json")
        .or_else(|| name.strip_suffix(".tfvars"))
        .or_else(|| name.strip_suffix(".yaml"))
        .or_else(|| name.strip_suffix(".yml"))
        .unwrap_or(name);
    stem.strip_suffix(".auto").unwrap_or(stem)
}

/// An environment's place in a promotion train (dev 0 ... prod 4), from its name.
pub fn rank(name: &str) -> Option<u8> {
    let lower = name.to_ascii_lowercase();
    // Before production, not production: `nonproduction`, `non-prod`, `pre-prod`.
    let joined: String = lower.chars().filter(|c| !"-_.".contains(*c)).collect();
    if joined.contains("nonprod") || joined.contains("preprod") {
        return Some(3);
    }
    let tokens: Vec<&str> = lower.split(['-', '_', '.']).collect();
    let of = |t: &str| match t {
        "dev" | "development" | "sandbox" | "sbx" => Some(0),
        "test" | "qa" | "tst" => Some(1),
        "uat" => Some(2),
        "stage" | "staging" | "stg" | "preprod" => Some(3),
        "prod" | "production" | "prd" => Some(4),
        _ => None,
    };
    if let Some(r) = tokens.iter().find_map(|t| of(t)) {
        return Some(r);
    }
    if lower.contains("preprod") || lower.contains("stag") {
        Some(3)
    } else if lower.contains("prod") {
        Some(4)
    } else if lower.contains("dev") {
        Some(0)
    } else {
        None
    }
}

/// Orders environments by rank (unranked last, by name) and sets `promotes_from`: each
/// ranked environment promotes from the first environment of the nearest lower rank.
fn order(envs: &mut [Environment]) {
    envs.sort_by(|a, b| {
        let ra = rank(&a.name).unwrap_or(u8::MAX);
        let rb = rank(&b.name).unwrap_or(u8::MAX);
        ra.cmp(&rb).then(a.name.cmp(&b.name))
    });
    let mut previous: Option<(u8, String)> = None;
    let mut current: Option<(u8, String)> = None;
    for env in envs.iter_mut() {
        let Some(r) = rank(&env.name) else {
            continue;
        };
        if current.as_ref().is_none_or(|(cr, _)| *cr != r) {
            previous = current.take();
            current = Some((r, env.name.clone()));
        }
        env.promotes_from = previous.as_ref().map(|(_, n)| n.clone());
    }
}

/// The text of `environments/<env>/env.toml` for an environment `init` found.
pub fn env_toml(env: &Environment) -> String {
    let mut text = format!(
        "# Environment `{}`, written by `strata init` from",
        crate::files::in_comment(&env.name)
    );
    match env.evidence.len() {
        0 => text.push_str(" its name.\n"),
        n => {
            text.push_str(":\n");
            for f in env.evidence.iter().take(3) {
                text.push_str(&format!("#   {}\n", crate::files::in_comment(f)));
            }
            if n > 3 {
                text.push_str(&format!("#   and {} more\n", n - 3));
            }
        }
    }
    text.push_str("# See docs/configuration.md (env.toml) for gates and state.\n");
    match (&env.promotes_from, rank(&env.name)) {
        (Some(from), _) => {
            text.push_str(&format!("promotes_from = {}\n", crate::files::quote(from)))
        }
        (None, None) => text.push_str(
            "# promotes_from = \"...\"   # its name does not say where it stands in the train\n",
        ),
        (None, Some(_)) => {}
    }
    text.push_str("\n[gates]\nrequire = [\"plan\"]\n");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(envs: &[Environment]) -> Vec<(&str, Option<&str>)> {
        envs.iter()
            .map(|e| (e.name.as_str(), e.promotes_from.as_deref()))
            .collect()
    }

    fn paths(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn environments_from_directories_and_variable_files() {
        let envs = detect(
            &paths(&[
                "live/prod/eu-west-1/vpc/main.tf",
                "live/_envcommon/vpc.hcl",
                "live/terragrunt.hcl",
                "stacks/app/staging.tfvars",
                "stacks/db/dev/terraform.tfvars",
                "examples/x/main.tf",
                ".github/prod/x.tfvars",
                "non-prod/us-east-1/qa/env.hcl",
                "non-prod/us-east-1/qa/mysql/terragrunt.hcl",
                "test/terragrunt.hcl",
            ]),
            &[],
        );
        assert_eq!(
            names(&envs),
            vec![
                ("dev", None),
                ("qa", Some("dev")),
                ("test", Some("dev")),
                ("staging", Some("qa")),
                ("prod", Some("staging"))
            ]
        );
        assert_eq!(envs[4].evidence, vec!["live/prod/eu-west-1/vpc/main.tf"]);
    }

    #[test]
    fn test_alone_is_not_an_environment() {
        assert!(detect(&paths(&["modules/x/test/terraform.tfvars"]), &[]).is_empty());
        assert!(detect(&paths(&["charts/x/ci/device-values.yaml"]), &[]).is_empty());
        let envs = detect(
            &paths(&[
                "deploy/helm/api/values-prod.yaml",
                "deploy/helm/api/values-dev.yaml",
            ]),
            &[],
        );
        assert_eq!(names(&envs), vec![("dev", None), ("prod", Some("dev"))]);
        let envs = detect(&paths(&["vars/test.tfvars", "vars/prod.tfvars"]), &[]);
        assert_eq!(names(&envs), vec![("test", None), ("prod", Some("test"))]);
        let envs = detect(&paths(&["envs/test/main.tf"]), &[]);
        assert_eq!(names(&envs), vec![("test", None)]);
    }

    #[test]
    fn what_a_chart_holds_below_its_directory_is_no_environment() {
        let envs = detect(
            &paths(&[
                "charts/metrics/Chart.yaml",
                "charts/metrics/environments/large/main.jsonnet",
                "charts/metrics/environments/small/main.jsonnet",
                "charts/metrics/ci/test-values.yaml",
                "charts/metrics/values-prod.yaml",
                "charts/metrics/values-dev.yaml",
            ]),
            &[],
        );
        assert_eq!(names(&envs), vec![("dev", None), ("prod", Some("dev"))]);
    }

    /// cloudposse/atmos's fixtures hold an `env/` of their own.
    #[test]
    fn test_data_holds_no_environment() {
        let envs = detect(
            &paths(&[
                "tests/fixtures/scenarios/env/stacks/deploy/dev.yaml",
                "pkg/testdata/live/staging/terragrunt.hcl",
                "environments/test/env.toml",
                "environments/prod/env.toml",
            ]),
            &[],
        );
        assert_eq!(names(&envs), vec![("test", None), ("prod", Some("test"))]);
    }

    #[test]
    fn defined_environments_and_ranks() {
        let envs = detect(
            &paths(&["environments/qa/env.toml", "envs/eu-prod.tfvars"]),
            &paths(&["environments/qa/env.toml"]),
        );
        assert_eq!(names(&envs), vec![("qa", None), ("eu-prod", Some("qa"))]);
        assert!(envs[0].defined && !envs[1].defined);
        assert_eq!(rank("prd"), Some(4));
        assert_eq!(rank("preprod"), Some(3));
        // terraform-example-foundation's environments, and their spelled-out forms.
        for before_prod in [
            "nonproduction",
            "non-prod",
            "non_production",
            "pre-prod",
            "NonProd-eu",
        ] {
            assert_eq!(rank(before_prod), Some(3), "{before_prod}");
        }
        assert_eq!(rank("production"), Some(4));
        assert_eq!(rank("prod-eu"), Some(4));
        assert_eq!(rank("blue"), None);
        assert!(is_region("us-east-1") && is_region("europe-west1") && is_region("us-gov-west-1"));
        assert!(!is_region("eks") && !is_region("node-groups"));
        assert_eq!(
            environment_of_dir("live/prod/eu-west-1/vpc").as_deref(),
            Some("prod")
        );
        assert_eq!(environment_of_dir("live/_envcommon"), None);
    }

    #[test]
    fn env_toml_says_where_it_came_from() {
        let env = Environment {
            name: "staging".into(),
            evidence: paths(&["a.tfvars", "b.tfvars", "c.tfvars", "d.tfvars"]),
            promotes_from: Some("dev".into()),
            defined: false,
        };
        let text = env_toml(&env);
        assert!(text.contains("#   and 1 more\n"), "{text}");
        assert!(text.contains("promotes_from = \"dev\"\n"), "{text}");
        strata_graph::manifest::parse_env(&text, "env.toml").unwrap();
    }
}
