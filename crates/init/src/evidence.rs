//! What the repository shows, directory by directory: which directories hold Terraform
//! files and what those files configure (a backend, providers, local module calls), the
//! marks other tools leave (Terramate `stack` blocks, `terragrunt.hcl`, dependency lock
//! files), charts, strata's own marker files and variable files.
//!
//! Everything here is read from one snapshot of the work tree, the one `strata list` reads
//! afterwards, so what `init` sees is what strata will model. Reading is a pure function of
//! the files' contents; deciding what they mean is `classify`'s job.

use std::collections::{BTreeMap, BTreeSet};

use hcl_edit::expr::Expression;
use hcl_edit::structure::{Body, Structure};
use hcl_edit::Span;
use strata_graph::chart::CHART_FILE;
use strata_graph::discover::{file_name, is_terraform_file, parent_dir, Kind};
use strata_graph::error::{line_of, Location, Problem};
use strata_graph::git::Repo;
use strata_graph::manifest::{CHART_MANIFEST, ENV_FILE, MODULE_MANIFEST, STACK_MANIFEST};
use strata_graph::model::links::{Links, Resolved};
use strata_graph::snapshot::{is_builtin_excluded, Snapshot};
use strata_graph::Result;

/// A directory holding Terraform files (`*.tf`, `*.tf.json`) directly.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TfDir {
    /// Its Terraform files, sorted.
    pub files: Vec<String>,
    /// `terraform { backend "<type>" {} }` (or `cloud {}`, as `cloud`), with the file.
    pub backend: Option<(String, String)>,
    /// Names of `provider "<name>" {}` blocks.
    pub providers: BTreeSet<String>,
    /// A Terramate `stack {}` block in a `*.tm.hcl` or `*.tm` file of the directory.
    pub terramate_stack: bool,
    /// A `terragrunt.hcl` beside the Terraform files.
    pub terragrunt: bool,
    /// A committed `.terraform.lock.hcl`: `terraform init` ran here as a root.
    pub lock_file: bool,
    /// `terraform.tfvars` or `*.auto.tfvars`: files only a root loads.
    pub auto_vars: bool,
    /// Local module calls (`source = "./..."` or `"../..."`).
    pub calls: Vec<Call>,
}

/// `module "x" { source = "../y" }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub file: String,
    pub line: usize,
    pub source: String,
    /// The directory it names, when that is a directory with Terraform files inside the
    /// workspace.
    pub dir: Option<String>,
}

/// An order between units that another tool declares and strata does not read: a
/// Terramate stack's `after`, `before`, `wants` or `wanted_by`, a Terragrunt unit's
/// `dependency` and `dependencies` blocks, and its `include`s (a change to an included file
/// changes the unit). strata orders and affects targets by module calls, file reads and the
/// `deps` of stack.toml only, so each of these must be carried over by hand.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Declared {
    pub file: String,
    pub line: usize,
    /// `after`, `before`, `wants`, `wanted_by`, `dependency`, `dependencies` or `include`.
    pub what: String,
    /// The path or selector as written (an expression as its source text).
    pub value: String,
    /// The directory it names, when it names one of the repository's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<String>,
}

/// Everything `init` reads from the repository.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// Directories with Terraform files, by path (`""` is the root).
    pub tf_dirs: BTreeMap<String, TfDir>,
    /// Directories holding a `Chart.yaml` (outside `environments/`, as strata discovers).
    pub chart_dirs: BTreeSet<String>,
    /// Directories holding strata's marker files (`stack.toml`, `module.toml`,
    /// `chart.toml`): they are targets of that kind whatever the layout says.
    pub markers: BTreeMap<String, Kind>,
    /// Directories with `terragrunt.hcl` and no Terraform files: Terragrunt fetches their
    /// code, so strata has nothing of theirs to model.
    pub terragrunt_only: Vec<String>,
    /// Orders Terramate and Terragrunt declare, which strata does not read.
    pub declared: Vec<Declared>,
    /// `environments/<env>/env.toml` files already there.
    pub env_files: Vec<String>,
    /// Every path of the snapshot, sorted (environment detection reads them).
    pub paths: Vec<String>,
    /// Files that could not be read.
    pub problems: Vec<Problem>,
}

/// What one Terraform or Terramate file says.
#[derive(Debug, Default)]
struct FileFacts {
    backend: Option<String>,
    providers: Vec<String>,
    calls: Vec<(String, usize)>,
    terramate_stack: bool,
    /// (what, value as written, line): see [`Declared`].
    declared: Vec<(String, String, usize)>,
}

fn is_terramate_file(name: &str) -> bool {
    name.ends_with(".tm.hcl") || name.ends_with(".tm")
}

pub use strata_graph::discover::{is_auto_var_file, is_var_file};

/// Reads the snapshot's Terraform, Terramate and marker files.
pub fn collect(repo: &Repo, snapshot: &Snapshot) -> Result<Evidence> {
    let mut ev = Evidence::default();
    let mut parse: Vec<&str> = Vec::new();
    let mut terragrunt: BTreeSet<&str> = BTreeSet::new();
    let mut lock_files: BTreeSet<&str> = BTreeSet::new();
    let mut auto_vars: BTreeSet<&str> = BTreeSet::new();
    for path in snapshot.files.keys() {
        if is_builtin_excluded(path) {
            continue;
        }
        ev.paths.push(path.clone());
        let name = file_name(path);
        let dir = parent_dir(path);
        if is_terraform_file(name) {
            ev.tf_dirs
                .entry(dir.to_string())
                .or_default()
                .files
                .push(path.clone());
            parse.push(path);
        } else if is_terramate_file(name) {
            parse.push(path);
        } else if name == TERRAGRUNT_FILE {
            terragrunt.insert(dir);
            parse.push(path);
        } else if name == ".terraform.lock.hcl" {
            lock_files.insert(dir);
        } else if name == CHART_FILE && !path.starts_with("environments/") {
            ev.chart_dirs.insert(dir.to_string());
        } else if name == ENV_FILE
            && path.starts_with("environments/")
            && path.matches('/').count() == 2
        {
            ev.env_files.push(path.clone());
        }
        if is_auto_var_file(name) {
            auto_vars.insert(dir);
        }
        let marker = match name {
            STACK_MANIFEST => Some(Kind::Stack),
            MODULE_MANIFEST => Some(Kind::Module),
            CHART_MANIFEST => Some(Kind::Chart),
            _ => None,
        };
        if let Some(kind) = marker {
            ev.markers.insert(dir.to_string(), kind);
        }
    }
    // A file that is a link is read from the file it points to, under its own name (the
    // way terraform reads it); one leading nowhere, or outside, is left to the model, which
    // reports it.
    let links = Links::read(repo, snapshot)?;
    let (linked, plain): (Vec<&str>, Vec<&str>) = parse.iter().partition(|p| links.is_link(p));
    let mut read = snapshot.map_contents(repo, &plain, |path, bytes, _| {
        let text = String::from_utf8_lossy(bytes);
        read_file(path, &text)
    })?;
    if !linked.is_empty() {
        let pointed: Vec<(&str, String)> = linked
            .iter()
            .filter_map(|&link| match links.resolve(link) {
                Resolved::Inside(to) => Some((link, to)),
                Resolved::Outside(_) | Resolved::Loop => None,
            })
            .collect();
        let targets: Vec<&str> = pointed.iter().map(|(_, to)| to.as_str()).collect();
        let texts: BTreeMap<&str, String> = snapshot
            .map_contents(repo, &targets, |_, bytes, _| {
                String::from_utf8_lossy(bytes).into_owned()
            })?
            .into_iter()
            .collect();
        for (link, to) in &pointed {
            if let Some(text) = texts.get(to.as_str()) {
                read.push((link, read_file(link, text)));
            }
        }
    }
    let mut terramate_stacks: BTreeSet<String> = BTreeSet::new();
    let mut facts: BTreeMap<&str, FileFacts> = BTreeMap::new();
    for (path, result) in read {
        match result {
            Ok(f) => {
                if f.terramate_stack {
                    terramate_stacks.insert(parent_dir(path).to_string());
                }
                let dir = parent_dir(path);
                for (what, value, line) in &f.declared {
                    // Terramate paths starting with `/` are from the repository's root.
                    let named = match value.strip_prefix('/') {
                        Some(rest) => join("", rest),
                        None if value.contains(':') || value.contains('(') => None,
                        None => join(dir, value),
                    };
                    ev.declared.push(Declared {
                        file: path.to_string(),
                        line: *line,
                        what: what.clone(),
                        value: value.clone(),
                        dir: named,
                    });
                }
                facts.insert(path, f);
            }
            Err(problem) => ev.problems.push(problem),
        }
    }
    let tf_dir_names: BTreeSet<String> = ev.tf_dirs.keys().cloned().collect();
    for (dir, tf) in ev.tf_dirs.iter_mut() {
        tf.files.sort();
        tf.terramate_stack = terramate_stacks.contains(dir);
        tf.terragrunt = terragrunt.contains(dir.as_str());
        tf.lock_file = lock_files.contains(dir.as_str());
        tf.auto_vars = auto_vars.contains(dir.as_str());
        for file in &tf.files {
            let Some(f) = facts.get(file.as_str()) else {
                continue;
            };
            if tf.backend.is_none() {
                if let Some(b) = &f.backend {
                    tf.backend = Some((b.clone(), file.clone()));
                }
            }
            tf.providers.extend(f.providers.iter().cloned());
            for (source, line) in &f.calls {
                if !(source.starts_with("./") || source.starts_with("../")) {
                    continue;
                }
                // A source leading nowhere is a problem of the calling target, which
                // strata's model reports (see `Check`).
                let target = join(dir, source).filter(|t| tf_dir_names.contains(t));
                tf.calls.push(Call {
                    file: file.clone(),
                    line: *line,
                    source: source.clone(),
                    dir: target,
                });
            }
        }
    }
    ev.terragrunt_only = terragrunt
        .iter()
        .filter(|d| !ev.tf_dirs.contains_key(**d))
        .map(|d| d.to_string())
        .collect();
    ev.problems
        .sort_by(|a, b| a.location.cmp(&b.location).then(a.message.cmp(&b.message)));
    Ok(ev)
}

/// `dir` joined with a relative `source`, normalized; `None` when it climbs out of the root.
pub fn join(dir: &str, source: &str) -> Option<String> {
    let mut parts: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
    for seg in source.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

/// Terragrunt's configuration file.
pub const TERRAGRUNT_FILE: &str = "terragrunt.hcl";

fn read_file(path: &str, text: &str) -> std::result::Result<FileFacts, Problem> {
    if path.ends_with(".tf.json") {
        return read_json(path, text);
    }
    if file_name(path) == TERRAGRUNT_FILE {
        let mut facts = FileFacts::default();
        // A unit Terragrunt itself cannot read is its problem, not strata's: what could be
        // read is reported.
        if let Ok(body) = hcl_edit::parser::parse_body(text) {
            read_terragrunt(&body, text, &mut facts);
        }
        return Ok(facts);
    }
    let body = hcl_edit::parser::parse_body(text).map_err(|e| Problem {
        message: format!("HCL is malformed: {}", e.message()),
        location: Some(Location::at(path, e.location().line())),
        hint: Some("fix the HCL syntax at the line shown".into()),
    })?;
    let mut facts = FileFacts::default();
    read_body(&body, text, is_terramate_file(file_name(path)), &mut facts);
    Ok(facts)
}

fn read_body(body: &Body, text: &str, terramate: bool, facts: &mut FileFacts) {
    for structure in body.iter() {
        let Structure::Block(block) = structure else {
            continue;
        };
        let label = || block.labels.first().map(|l| l.as_str().to_string());
        match block.ident.as_str() {
            "stack" if terramate => {
                facts.terramate_stack = true;
                for what in ["after", "before", "wants", "wanted_by"] {
                    if let Some(attr) = block.body.get_attribute(what) {
                        declared_values(what, &attr.value, text, &mut facts.declared);
                    }
                }
            }
            "terraform" if !terramate => {
                for inner in block.body.blocks() {
                    match inner.ident.as_str() {
                        "backend" => {
                            let kind = inner.labels.first().map(|l| l.as_str().to_string());
                            facts.backend = Some(kind.unwrap_or_else(|| "backend".into()));
                        }
                        "cloud" => facts.backend = Some("cloud".into()),
                        _ => {}
                    }
                }
            }
            "provider" if !terramate => facts.providers.extend(label()),
            "module" if !terramate => {
                if let Some(attr) = block.body.get_attribute("source") {
                    if let Expression::String(s) = &attr.value {
                        let offset = attr.span().map(|s| s.start).unwrap_or(0);
                        facts
                            .calls
                            .push((s.as_str().to_string(), line_of(text, offset)));
                    }
                }
            }
            _ => {}
        }
    }
}

/// A Terragrunt unit's `dependency "x" { config_path }`, `dependencies { paths }` and
/// `include { path }`.
fn read_terragrunt(body: &Body, text: &str, facts: &mut FileFacts) {
    for block in body.blocks() {
        let (what, attr) = match block.ident.as_str() {
            "dependency" => ("dependency", "config_path"),
            "dependencies" => ("dependencies", "paths"),
            "include" => ("include", "path"),
            _ => continue,
        };
        match block.body.get_attribute(attr) {
            Some(a) => declared_values(what, &a.value, text, &mut facts.declared),
            None => {
                let offset = block.span().map(|s| s.start).unwrap_or(0);
                facts
                    .declared
                    .push((what.into(), String::new(), line_of(text, offset)));
            }
        }
    }
}

/// Each string of a list (or the one string) as written, and any other expression as its
/// source text.
fn declared_values(
    what: &str,
    value: &Expression,
    text: &str,
    out: &mut Vec<(String, String, usize)>,
) {
    let line = |e: &Expression| line_of(text, e.span().map(|s| s.start).unwrap_or(0));
    let items: Vec<&Expression> = match value {
        Expression::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    for item in items {
        let written = match item {
            Expression::String(s) => s.as_str().to_string(),
            other => other
                .span()
                .and_then(|s| text.get(s))
                .unwrap_or("an expression")
                .trim()
                .to_string(),
        };
        out.push((what.into(), written, line(item)));
    }
}

fn read_json(path: &str, text: &str) -> std::result::Result<FileFacts, Problem> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| Problem {
        message: format!("JSON is malformed: {e}"),
        location: Some(Location::at(path, e.line())),
        hint: Some("fix the JSON syntax at the line shown".into()),
    })?;
    let mut facts = FileFacts::default();
    // Blocks are objects, or arrays of objects when one is given more than once.
    let objects =
        |v: Option<&serde_json::Value>| -> Vec<serde_json::Map<String, serde_json::Value>> {
            match v {
                Some(serde_json::Value::Object(m)) => vec![m.clone()],
                Some(serde_json::Value::Array(items)) => items
                    .iter()
                    .filter_map(|i| i.as_object().cloned())
                    .collect(),
                _ => Vec::new(),
            }
        };
    for terraform in objects(value.get("terraform")) {
        if let Some(backend) = objects(terraform.get("backend")).first() {
            facts.backend = Some(
                backend
                    .keys()
                    .next()
                    .cloned()
                    .unwrap_or_else(|| "backend".into()),
            );
        } else if terraform.contains_key("cloud") {
            facts.backend = Some("cloud".into());
        }
    }
    for providers in objects(value.get("provider")) {
        facts.providers.extend(providers.keys().cloned());
    }
    for modules in objects(value.get("module")) {
        for (_, block) in modules {
            let blocks = match block {
                serde_json::Value::Array(items) => items,
                b => vec![b],
            };
            for b in blocks {
                if let Some(source) = b.get("source").and_then(|s| s.as_str()) {
                    let line = text
                        .find(&format!("\"{source}\""))
                        .map(|o| line_of(text, o))
                        .unwrap_or(1);
                    facts.calls.push((source.to_string(), line));
                }
            }
        }
    }
    Ok(facts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_relative_sources() {
        assert_eq!(join("examples/complete", "../..").as_deref(), Some(""));
        assert_eq!(
            join("modules/eks", "../account-map/modules/iam-roles").as_deref(),
            Some("modules/account-map/modules/iam-roles")
        );
        assert_eq!(join("", "./modules/x/").as_deref(), Some("modules/x"));
        assert_eq!(join("a", "../../b"), None);
    }

    #[test]
    fn reads_backends_providers_calls_and_terramate_stacks() {
        let tf = r#"
terraform {
  required_version = ">= 1.5"
  backend "s3" {}
}
provider "aws" { region = "eu-west-1" }
provider "aws" {
  alias = "us"
}
module "vpc" {
  source = "../../modules/vpc"
}
module "remote" {
  source = "terraform-aws-modules/vpc/aws"
}
"#;
        let f = read_file("stacks/net/main.tf", tf).unwrap();
        assert_eq!(f.backend.as_deref(), Some("s3"));
        assert_eq!(f.providers, vec!["aws", "aws"]);
        assert_eq!(
            f.calls,
            vec![
                ("../../modules/vpc".to_string(), 11),
                ("terraform-aws-modules/vpc/aws".to_string(), 14)
            ]
        );
        let f = read_file("x/stack.tm.hcl", "stack {\n  name = \"x\"\n}\n").unwrap();
        assert!(f.terramate_stack);
        let f = read_file("terramate.tm.hcl", "terramate {\n  config {}\n}\n").unwrap();
        assert!(!f.terramate_stack);
        let f = read_file("a/main.tf", "terraform {\n  cloud {}\n}\n").unwrap();
        assert_eq!(f.backend.as_deref(), Some("cloud"));
        let err = read_file("a/bad.tf", "module \"x\" {\n  source = \n").unwrap_err();
        assert_eq!(err.location.unwrap().file, "a/bad.tf");
    }

    #[test]
    fn reads_the_orders_terramate_and_terragrunt_declare() {
        let tm = "stack {\n  name  = \"eks\"\n  after = [\"/stacks/vpc\", \"tag:network\"]\n  before = [\"../apps\"]\n}\n";
        let f = read_file("stacks/eks/stack.tm.hcl", tm).unwrap();
        assert!(f.terramate_stack);
        assert_eq!(
            f.declared,
            vec![
                ("after".to_string(), "/stacks/vpc".to_string(), 3),
                ("after".to_string(), "tag:network".to_string(), 3),
                ("before".to_string(), "../apps".to_string(), 4),
            ]
        );
        let tg = "include \"root\" {\n  path = find_in_parent_folders(\"root.hcl\")\n}\n\ndependency \"vpc\" {\n  config_path = \"../vpc\"\n}\n\ndependencies {\n  paths = [\"../dns\", \"../iam\"]\n}\n\ninputs = {\n  vpc_id = dependency.vpc.outputs.id\n}\n";
        let f = read_file("live/dev/app/terragrunt.hcl", tg).unwrap();
        assert_eq!(
            f.declared,
            vec![
                (
                    "include".to_string(),
                    "find_in_parent_folders(\"root.hcl\")".to_string(),
                    2
                ),
                ("dependency".to_string(), "../vpc".to_string(), 6),
                ("dependencies".to_string(), "../dns".to_string(), 10),
                ("dependencies".to_string(), "../iam".to_string(), 10),
            ]
        );
        // Terragrunt's own syntax errors are not strata's to report.
        assert!(read_file("x/terragrunt.hcl", "dependency {")
            .unwrap()
            .declared
            .is_empty());
    }

    #[test]
    fn reads_json_configuration() {
        let json = r#"{
  "terraform": {"backend": {"gcs": {"bucket": "b"}}},
  "provider": {"google": {"project": "p"}},
  "module": {"net": {"source": "./modules/net"}}
}"#;
        let f = read_file("root/main.tf.json", json).unwrap();
        assert_eq!(f.backend.as_deref(), Some("gcs"));
        assert_eq!(f.providers, vec!["google"]);
        assert_eq!(f.calls, vec![("./modules/net".to_string(), 4)]);
    }
}
