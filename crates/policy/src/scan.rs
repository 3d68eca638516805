//! `strata policy scan`: policies applied to files directly, as `conftest test` applies
//! them: no graph, terraform or helm.
//!
//! - Paths are walked recursively (hidden files and directories skipped); Terraform files
//!   (`.tf`, `.tfvars`, `.hcl`) go to the policies that govern stacks or modules, YAML to
//!   those that govern charts, JSON to every policy.
//! - Each file is evaluated on its own (its documents summed), or, with `combine`, all files
//!   together as one input (conftest's `--combine`). Policies reading strata's shape (the
//!   built-in pack) evaluate the `.tf` files of each directory as one module instead.
//! - Counts are conftest's; findings in workspace files are subject to the waivers of the
//!   target that owns them.

use crate::data::DataFile;
use crate::eval::Options;
use crate::input::Format;
use crate::{
    data, waivers, Counts, Error, Evaluation, ExceptionHit, FileInfo, Finding, InputFile, Policy,
    Shape,
};
use serde::Serialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use strata_graph::discover::Kind;
use strata_graph::id::TargetId;
use strata_graph::model::waivers::Waiver;
use strata_graph::model::Model;

/// What a command line adds to every policy's own settings.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Data documents for every policy (`--data`).
    pub data: Vec<DataFile>,
    /// Builtin errors are errors (`--show-builtin-errors`).
    pub show_builtin_errors: bool,
}

/// Reads workspace files: (path, text) of each path given.
pub type ReadFiles<'a> = dyn Fn(&[&str]) -> strata_graph::Result<Vec<(String, String)>> + 'a;

/// Loads a policy target of the workspace model: its Rego (tests excluded) and the data
/// documents its policy.toml lists; `read` gives the texts of workspace files.
pub fn load_policy(
    model: &Model,
    index: TargetId,
    read: &ReadFiles,
    overrides: &Overrides,
) -> Result<Policy, Error> {
    let target = &model.targets[index];
    let meta = model
        .policies
        .iter()
        .find(|(i, _)| *i == index)
        .map(|(_, m)| m.clone())
        .unwrap_or_default();
    let io = |e: strata_graph::Error| Error::new(format!("{}: {e}", target.label));
    let files = read(&model.policy_files(index)).map_err(io)?;
    let mut docs = policy_data(model, index, read)?;
    docs.extend(overrides.data.iter().cloned());
    let mut options = Options::from_meta(&meta);
    options.show_builtin_errors |= overrides.show_builtin_errors;
    Policy::load(&target.label, &files, &docs, &options)
}

/// The data documents the policy.toml of a policy target of the workspace model lists
/// (what its scans and its tests see as `data`); `read` gives the texts of workspace files.
pub fn policy_data(
    model: &Model,
    index: TargetId,
    read: &ReadFiles,
) -> Result<Vec<DataFile>, Error> {
    let target = &model.targets[index];
    let entries = model
        .policies
        .iter()
        .find(|(i, _)| *i == index)
        .map(|(_, m)| m.data.as_slice())
        .unwrap_or_default();
    let placed = data::policy_data_files(&target.label, entries, &target.files)?;
    let paths: Vec<&str> = placed.iter().map(|(p, _)| p.as_str()).collect();
    let texts = read(&paths).map_err(|e| Error::new(format!("{}: {e}", target.label)))?;
    Ok(placed
        .into_iter()
        .zip(texts)
        .map(|((path, under), (_, text))| DataFile { path, text, under })
        .collect())
}

/// A scan's request.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub paths: Vec<PathBuf>,
    /// All files as one input (conftest's `--combine`).
    pub combine: bool,
    /// For `combine`: each of `paths` (as written there) with the path the user gave for
    /// it; a file below one is named by the user's path joined with the rest, as conftest
    /// names it. Empty: files are named as the scan reads them.
    pub shown: Vec<(String, String)>,
    /// For `combine`: the user's directory, the combined input's `dir` (empty: the current
    /// directory).
    pub user_dir: String,
}

impl Request {
    /// The name a combined input gives the file read as `path`.
    fn shown(&self, path: &str) -> String {
        for (read, given) in &self.shown {
            let rest = match read.as_str() {
                "." => Some(path),
                r if path == r => Some(""),
                r => path.strip_prefix(r).and_then(|rest| rest.strip_prefix('/')),
            };
            if let Some(rest) = rest {
                return match (given.is_empty(), rest.is_empty()) {
                    (true, _) => rest.to_string(),
                    (false, true) => given.clone(),
                    (false, false) => format!("{given}/{rest}"),
                };
            }
        }
        path.to_string()
    }
}

impl Request {
    /// The paths asked for, as one text naming them in an error.
    fn named(&self) -> String {
        self.paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Where waivers come from for files inside the workspace.
pub struct Workspace<'a> {
    pub root: &'a Path,
    pub model: &'a Model,
    pub today: i64,
}

/// A scan's outcome.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub files: usize,
    pub findings: Vec<Finding>,
    pub exceptions: Vec<ExceptionHit>,
    pub counts: Counts,
    /// Not findings, worth knowing (a namespace that matches no package).
    pub warnings: Vec<String>,
    /// Expired waivers matching a scanned target (each fails the scan).
    pub expired_waivers: Vec<String>,
    /// Bad input: files or policies that could not be read (each names file and line).
    pub errors: Vec<Error>,
}

impl Report {
    /// Denies that are not waived.
    pub fn blocking(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| crate::blocks(f, None))
            .count()
    }

    /// Warnings that are not waived.
    pub fn warned(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.outcome == crate::Outcome::Warn && f.waived_by.is_none())
            .count()
    }

    /// Whether the scan passes: no bad input, no blocking deny, no expired waiver (and no
    /// warning when `fail_on_warn`).
    pub fn ok(&self, fail_on_warn: bool) -> bool {
        self.errors.is_empty()
            && self.blocking() == 0
            && self.expired_waivers.is_empty()
            && !(fail_on_warn && self.warned() > 0)
    }
}

/// Whether `dir` is a Helm chart's `templates/` directory: its files are Go templates that
/// become manifests only when rendered, so reading them as YAML reports syntax, not policy.
fn helm_templates(dir: &Path) -> bool {
    dir.file_name().is_some_and(|n| n == "templates")
        && dir
            .parent()
            .is_some_and(|chart| chart.join("Chart.yaml").is_file())
}

/// Whether `path` is in a Helm chart's `templates/` directory, at any depth (Helm renders
/// its subdirectories too), or is that directory.
fn in_helm_templates(path: &Path) -> bool {
    path.ancestors().any(helm_templates)
}

/// What a scan says of the Helm templates it leaves out.
fn templates_skipped(dir: &str) -> String {
    format!(
        "{dir}: Helm templates are manifests only once rendered; left out (`strata check` renders the chart and applies the policies to what it renders, or scan `helm template` output)"
    )
}

/// Whether conftest would read `path` (a type it parses that strata does not: a
/// Dockerfile, TOML, INI, dotenv, XML, CUE, ...): a scan of a directory that leaves such
/// files out says so, lest a policy written for them pass having seen nothing.
fn conftest_reads(path: &Path) -> bool {
    const TYPES: &[&str] = &[
        "toml",
        "ini",
        "env",
        "xml",
        "cue",
        "properties",
        "jsonnet",
        "textproto",
        "vcl",
        "hocon",
        "edn",
        "dockerfile",
        "spdx",
    ];
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    name == "dockerfile"
        || name.starts_with("dockerfile.")
        || path
            .extension()
            .is_some_and(|x| TYPES.contains(&x.to_string_lossy().to_lowercase().as_str()))
}

/// What a scan of directories left out that conftest would have read.
fn others_skipped(others: &[String]) -> String {
    let shown: Vec<&str> = others.iter().take(5).map(String::as_str).collect();
    format!(
        "{} file(s) of types conftest reads and strata does not were left out ({}{}): strata's policies read Terraform, YAML and JSON; a policy written for those files checked nothing here",
        others.len(),
        shown.join(", "),
        if others.len() > 5 { ", ..." } else { "" }
    )
}

/// The files a scan reads: paths walked recursively in name order; hidden entries, files
/// of other types and Helm charts' `templates/` directories are skipped inside directories
/// (returned third; files of types conftest reads, fourth), while a file named directly
/// must be of a type strata reads.
pub fn collect(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Error>, Vec<String>, Vec<String>) {
    /// Directories are followed through symbolic links, each once (a link back up the
    /// tree would otherwise repeat it until the path is too long); one that cannot be
    /// listed is an error, never a directory without files.
    struct Walk {
        files: Vec<PathBuf>,
        errors: Vec<Error>,
        templates: Vec<String>,
        others: Vec<String>,
        seen: HashSet<PathBuf>,
    }
    impl Walk {
        fn dir(&mut self, dir: &Path) {
            let unreadable = |e: std::io::Error| {
                Error::in_file(
                    &dir.display().to_string(),
                    None,
                    format!("cannot be read: {e}"),
                )
            };
            match std::fs::canonicalize(dir) {
                Ok(real) => {
                    if !self.seen.insert(real) {
                        return;
                    }
                }
                Err(e) => return self.errors.push(unreadable(e)),
            }
            let mut entries = match std::fs::read_dir(dir).and_then(|d| {
                d.map(|e| e.map(|e| e.path()))
                    .collect::<std::io::Result<Vec<_>>>()
            }) {
                Ok(entries) => entries,
                Err(e) => return self.errors.push(unreadable(e)),
            };
            entries.sort();
            for e in entries {
                if e.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                {
                    continue;
                }
                if e.is_dir() && helm_templates(&e) {
                    self.templates.push(e.display().to_string());
                } else if e.is_dir() {
                    self.dir(&e);
                } else if InputFile::format_of(&e).is_some() {
                    self.files.push(e);
                } else if conftest_reads(&e) {
                    self.others.push(e.display().to_string());
                }
            }
        }
    }
    let mut walk = Walk {
        files: Vec::new(),
        errors: Vec::new(),
        templates: Vec::new(),
        others: Vec::new(),
        seen: HashSet::new(),
    };
    for p in paths {
        let shown = p.display().to_string();
        if shown.is_empty() {
            continue;
        }
        if p.is_dir() && in_helm_templates(p) {
            walk.templates.push(shown);
        } else if p.is_dir() {
            walk.dir(p);
        } else if let Err(e) = std::fs::metadata(p) {
            let why = if e.kind() == std::io::ErrorKind::NotFound {
                "no such file or directory".to_string()
            } else {
                format!("cannot be read: {e}")
            };
            walk.errors.push(Error::in_file(&shown, None, why));
        } else if InputFile::format_of(p).is_none() {
            walk.errors.push(
                Error::in_file(&shown, None, "not a file type strata reads")
                    .with_hint("scan .tf, .tfvars, .hcl, .yaml, .yml or .json files"),
            );
        } else if in_helm_templates(p) {
            walk.errors.push(
                Error::in_file(&shown, None, "a Helm template, not a manifest")
                    .with_hint("render the chart first (`helm template`), or run `strata check` on it, which renders it and applies the policies"),
            );
        } else {
            walk.files.push(p.clone());
        }
    }
    (walk.files, walk.errors, walk.templates, walk.others)
}

/// Reads and parses the files: their inputs, the texts of the Terraform files (to point
/// findings at blocks), and the files that could not be read.
pub fn read_inputs(files: &[PathBuf]) -> (Vec<InputFile>, Vec<(String, String)>, Vec<Error>) {
    let mut inputs = Vec::new();
    let mut texts = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        let shown = file.display().to_string();
        let Some(format) = InputFile::format_of(file) else {
            continue;
        };
        let text = match std::fs::read_to_string(file) {
            // A byte-order mark is no part of the first key (YAML and JSON readers skip it).
            Ok(t) => match t.strip_prefix('\u{feff}') {
                Some(rest) => rest.to_string(),
                None => t,
            },
            Err(e) => {
                errors.push(Error::in_file(&shown, None, e.to_string()));
                continue;
            }
        };
        match InputFile::read(&shown, &text, format, Some(FileInfo::of(file))) {
            Ok(input) => inputs.push(input),
            Err(e) => errors.push(e),
        }
        // Terraform in HCL, as JSON and variables files: what findings are located in.
        if format == Format::Terraform
            || [".tf.json", ".tofu.json", ".tfvars.json"]
                .iter()
                .any(|s| shown.ends_with(s))
        {
            texts.push((shown, text));
        }
    }
    (inputs, texts, errors)
}

/// Whether a policy governing `kinds` reads an input of `format`.
fn applies(kinds: &[Kind], format: Format) -> bool {
    match format {
        Format::Terraform => kinds.contains(&Kind::Stack) || kinds.contains(&Kind::Module),
        Format::Yaml => kinds.contains(&Kind::Chart),
        Format::Json => true,
    }
}

/// Runs the scan: `policies` (loaded, with the kinds each governs) over the files of
/// `request`.
pub fn scan(
    policies: &[(Policy, Vec<Kind>)],
    mut errors: Vec<Error>,
    request: &Request,
    workspace: Option<&Workspace>,
) -> Report {
    let (files, mut walk_errors, templates, others) = collect(&request.paths);
    errors.append(&mut walk_errors);
    // Nothing to read is bad input, not a pass: every path was an empty directory or held
    // only files of other types (or Helm templates).
    if files.is_empty() && errors.is_empty() && !templates.is_empty() {
        errors.extend(templates.iter().map(|dir| {
            Error::in_file(dir, None, "nothing to scan but Helm templates, which are manifests only once rendered")
                .with_hint("run `strata check` on the chart (it renders it and applies the policies), or scan `helm template` output")
        }));
    }
    if files.is_empty() && errors.is_empty() {
        errors.push(
            Error::in_file(
                &request.named(),
                None,
                "no file to scan: no .tf, .tfvars, .hcl, .yaml, .yml or .json file there",
            )
            .with_hint("name the files or directories holding the configuration to check"),
        );
    }
    let (inputs, texts, mut read_errors) = read_inputs(&files);
    errors.append(&mut read_errors);
    // Policies reading strata's shape (the built-in pack) see each directory's `.tf` files
    // as one module.
    let modules = if policies.iter().any(|(p, _)| p.shape() == Shape::Strata) {
        match crate::input::by_module(&inputs, &texts, |dir| Some(FileInfo::of_dir(dir))) {
            Ok(m) => m,
            Err(e) => {
                errors.push(e);
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    // Every object of the scan's YAML files, as `data.strata.objects` (rules that relate
    // objects, such as pods and the NetworkPolicies selecting them, read it).
    let objects: Vec<serde_json::Value> = inputs
        .iter()
        .filter(|i| i.format == Format::Yaml)
        .flat_map(|i| i.documents(Shape::Hcl2json))
        .filter_map(|d| serde_json::to_value(&d).ok())
        .filter(serde_json::Value::is_object)
        .collect();
    use rayon::prelude::*;
    // Each policy's findings, and whether any file reached it.
    let results: Vec<Result<(Evaluation, bool), Error>> = policies
        .par_iter()
        .map(|(policy, kinds)| {
            let source = match policy.shape() {
                Shape::Strata => &modules,
                Shape::Hcl2json => &inputs,
            };
            let mine: Vec<InputFile> = source
                .iter()
                .filter(|i| applies(kinds, i.format))
                // The built-in pack's Terraform rules, over JSON that is Terraform only.
                .filter(|i| {
                    !(policy.shape() == Shape::Strata && i.format == Format::Json)
                        || i.is_terraform_json()
                })
                .cloned()
                .collect();
            let mut out = Evaluation::default();
            if mine.is_empty() {
                return Ok((out, false));
            }
            // conftest's `--combine` gives a policy the array of every file; the built-in
            // pack's policies read one module or object at a time, and evaluated on the
            // array would find nothing in it: they are evaluated file by file.
            if request.combine && !crate::builtin::is_builtin_label(&policy.label) {
                let cwd = match request.user_dir.as_str() {
                    "" => std::env::current_dir()
                        .map(|d| d.display().to_string())
                        .unwrap_or_default(),
                    dir => dir.to_string(),
                };
                out.extend(policy.evaluate_combined(
                    &mine,
                    &context(None, &objects),
                    &cwd,
                    &|p| request.shown(p),
                )?);
                return Ok((out, true));
            }
            for format in [Format::Terraform, Format::Yaml, Format::Json] {
                let group: Vec<InputFile> = mine
                    .iter()
                    .filter(|i| i.format == format)
                    .cloned()
                    .collect();
                if !group.is_empty() {
                    out.extend(policy.evaluate(&group, &context(Some(format), &objects))?);
                }
            }
            Ok((out, true))
        })
        .collect();
    let mut report = Report {
        files: files.len(),
        ..Report::default()
    };
    let mut all = Evaluation::default();
    let mut reached = false;
    for r in results {
        match r {
            Ok((e, any)) => {
                all.extend(e);
                reached |= any;
            }
            Err(e) => errors.push(e),
        }
    }
    // Files were read, and none is of a kind any policy governs: nothing was checked,
    // which must not read as a clean result.
    if !reached && !files.is_empty() && errors.is_empty() && !policies.is_empty() {
        let mut kinds: Vec<&str> = policies
            .iter()
            .flat_map(|(_, k)| k.iter().map(|k| k.as_str()))
            .collect();
        kinds.sort_unstable();
        kinds.dedup();
        errors.push(
            Error::in_file(
                &request.named(),
                None,
                format!(
                    "no file there reached a policy: the policies applied govern {} (`kinds` in their policy.toml), and none of the {} file(s) read is of such a kind (Terraform for stacks and modules, YAML for charts, JSON for any)",
                    kinds.join(", "),
                    files.len()
                ),
            )
            .with_hint("scan files of the kinds the policies govern, or choose other policies with --policy"),
        );
    }
    let mut findings = all.findings;
    crate::locate(&mut findings, &texts);
    if let Some(ws) = workspace {
        report.expired_waivers = apply_waivers(&mut findings, &files, ws);
    }
    findings.sort_by(|a, b| {
        (&a.file, a.line, &a.rule, &a.msg).cmp(&(&b.file, b.line, &b.rule, &b.msg))
    });
    report.findings = findings;
    report.exceptions = all.exceptions;
    report.counts = all.counts;
    report.warnings = all.warnings;
    report
        .warnings
        .extend(templates.iter().map(|d| templates_skipped(d)));
    if !others.is_empty() {
        report.warnings.push(others_skipped(&others));
    }
    report.errors = errors;
    report
}

/// `data.strata` in a scan: no target or environment, the kind by the input's type, and
/// for YAML the objects of every YAML file scanned.
fn context(format: Option<Format>, objects: &[serde_json::Value]) -> serde_json::Value {
    let kind = match format {
        Some(Format::Terraform) => serde_json::json!("stack"),
        Some(Format::Yaml) => serde_json::json!("chart"),
        _ => serde_json::Value::Null,
    };
    let mut context =
        serde_json::json!({ "label": null, "kind": kind, "environment": null, "dependencies": [] });
    if format != Some(Format::Terraform) {
        context["objects"] = serde_json::Value::Array(objects.to_vec());
    }
    context
}

/// Applies the waivers of the targets owning the scanned files (no environment); returns
/// the expired waivers that match one of them.
fn apply_waivers(findings: &mut [Finding], files: &[PathBuf], ws: &Workspace) -> Vec<String> {
    let root = std::path::absolute(ws.root).unwrap_or_else(|_| ws.root.to_path_buf());
    let owner = |shown: &str| -> Option<&str> {
        let abs = std::path::absolute(shown).ok()?;
        let rel = abs
            .strip_prefix(&root)
            .ok()?
            .to_string_lossy()
            .replace('\\', "/");
        let mut best: Option<&str> = None;
        for t in &ws.model.targets {
            let l = t.label.as_str();
            let inside = l.is_empty() || rel.starts_with(&format!("{l}/"));
            if inside && best.is_none_or(|b| l.len() > b.len()) {
                best = Some(l);
            }
        }
        best
    };
    let mut expired: Vec<String> = Vec::new();
    let labels: std::collections::BTreeSet<&str> = files
        .iter()
        .filter_map(|f| owner(&f.display().to_string()))
        .collect();
    let waivers: &[Waiver] = &ws.model.waivers;
    for label in labels {
        let mut idx: Vec<usize> = Vec::new();
        for (i, f) in findings.iter().enumerate() {
            if f.file.as_deref().and_then(owner) == Some(label) {
                idx.push(i);
            }
        }
        let mut mine: Vec<Finding> = idx.iter().map(|&i| findings[i].clone()).collect();
        for w in waivers::apply(&mut mine, waivers, label, None, ws.today) {
            let m = waivers::expired_message(w);
            if !expired.contains(&m) {
                expired.push(m);
            }
        }
        for (k, &i) in idx.iter().enumerate() {
            findings[i].waived_by = mine[k].waived_by.clone();
        }
    }
    expired
}
