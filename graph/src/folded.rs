//! Roots a target folds in: a directory below a stack's or a module's own that holds
//! Terraform files and is a root of its own (it configures a backend, is a Terragrunt unit
//! or a Terramate stack), which no module call of the target names. The layout's tree globs
//! give such a directory to the target above it, so its files count as that target's and
//! nothing plans it: `strata list` names each, as it names the directories no target owns.

use crate::discover::{
    file_name, is_terraform_file, is_terramate_file, label_dir, parent_dir, Kind,
};
use crate::git::Repo;
use crate::hcl::{backend_block, cloud_block, parse_tf, parse_tf_json, TERRAGRUNT_UNIT_FILE};
use crate::model::join_normalized;
use crate::model::links::Resolved;
use crate::session::View;
use crate::Result;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// A directory inside a target that is a root of its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FoldedRoot {
    pub dir: String,
    /// The label of the target whose files it is counted among.
    pub target: String,
    /// What makes it a root: `backend "s3" in x/main.tf`, `x/terragrunt.hcl`, ...
    pub why: String,
}

/// Whether a Terramate file declares a `stack {}`.
fn declares_stack(text: &str) -> bool {
    crate::hcl::parse_body(text, "")
        .is_ok_and(|body| body.blocks().any(|b| b.ident.as_str() == "stack"))
}

/// The roots the model's stacks and modules fold in, sorted by directory.
pub fn folded_roots(view: &View, repo: &Repo) -> Result<Vec<FoldedRoot>> {
    let model = &view.model;
    // Per target, the directories below its own holding Terraform files, with their files.
    let mut nested: Vec<(&str, BTreeMap<&str, Vec<&str>>)> = Vec::new();
    for (_, t) in model.iter() {
        if !matches!(t.kind, Kind::Stack | Kind::Module) {
            continue;
        }
        let own = label_dir(&t.label);
        let mut dirs: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for f in &t.files {
            let dir = parent_dir(f);
            if dir != own {
                dirs.entry(dir).or_default().push(f.as_str());
            }
        }
        dirs.retain(|_, files| files.iter().any(|f| is_terraform_file(f)));
        if !dirs.is_empty() {
            nested.push((t.label.as_str(), dirs));
        }
    }
    if nested.is_empty() {
        return Ok(Vec::new());
    }
    let wanted: Vec<&str> = nested
        .iter()
        .flat_map(|(_, dirs)| dirs.values().flatten().copied())
        .filter(|f| is_terraform_file(f) || is_terramate_file(f))
        .collect();
    let texts: BTreeMap<String, String> = view.texts(repo, &wanted)?.into_iter().collect();
    let mut out = Vec::new();
    for (label, dirs) in &nested {
        let mut roots: BTreeMap<&str, String> = BTreeMap::new();
        for (dir, files) in dirs {
            let why = files.iter().find_map(|f| {
                let text = texts.get(*f)?;
                if is_terraform_file(f) {
                    let json = f.ends_with(".json");
                    match backend_block(text, json) {
                        Some(b) => Some(format!("backend \"{}\" in {f}", b.kind)),
                        None if cloud_block(text, json) => Some(format!("`cloud` block in {f}")),
                        None => None,
                    }
                } else if is_terramate_file(f) && declares_stack(text) {
                    Some(format!("a Terramate stack in {f}"))
                } else {
                    None
                }
            });
            let unit = files.iter().find(|f| file_name(f) == TERRAGRUNT_UNIT_FILE);
            if let Some(why) = why.or_else(|| unit.map(|f| format!("a Terragrunt unit ({f})"))) {
                roots.insert(dir, why);
            }
        }
        if roots.is_empty() {
            continue;
        }
        // A directory the target's own module calls name is one of its local modules.
        let called = called_dirs(view, repo, label)?;
        out.extend(
            roots
                .into_iter()
                .filter(|(dir, _)| !called.contains(*dir))
                .map(|(dir, why)| FoldedRoot {
                    dir: dir.to_string(),
                    target: label.to_string(),
                    why,
                }),
        );
    }
    out.sort_by(|a, b| a.dir.cmp(&b.dir));
    Ok(out)
}

/// The directories the local module calls of a target's Terraform files name.
fn called_dirs(view: &View, repo: &Repo, label: &str) -> Result<BTreeSet<String>> {
    let Some(i) = view.model.index(label) else {
        return Ok(BTreeSet::new());
    };
    let files: Vec<&str> = view.model.targets[i]
        .files
        .iter()
        .map(String::as_str)
        .filter(|f| is_terraform_file(f))
        .collect();
    let mut called = BTreeSet::new();
    for (file, text) in view.texts(repo, &files)? {
        let facts = match file.ends_with(".json") {
            true => parse_tf_json(&text, &file),
            false => parse_tf(&text, &file),
        };
        let Ok(facts) = facts else {
            continue;
        };
        for call in facts.modules.iter().filter(|c| c.is_local()) {
            if let Some(dir) = join_normalized(parent_dir(&file), &call.source) {
                // Called through a link: the directory it leads to is called.
                if let Resolved::Inside(to) = view.model.links.resolve(&dir) {
                    called.insert(to);
                }
                called.insert(dir);
            }
        }
    }
    Ok(called)
}
