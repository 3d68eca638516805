//! What a Terragrunt unit's `terragrunt.hcl` (and a configuration it includes) says about
//! the files and units it depends on, for a unit that strata models as a stack (one that
//! holds Terraform files of its own):
//! - `dependency "x" { config_path = "../vpc" }` and `dependencies { paths = [...] }`: units
//!   it depends on (edges, or inputs when no target owns the directory);
//! - `include { path = ... }` and `read_terragrunt_config(...)` with a written path, and any
//!   `find_in_parent_folders("name")`: configuration files it reads (inputs);
//! - `terraform { source = "../../modules//vpc" }` with a local path: a module call;
//! - file functions (`file("x.json")`), read as a root module's are;
//! - paths its `inputs` hand to its module (`source_path = "${get_terragrunt_dir()}/src"`),
//!   taken as a `module` block's path arguments are.
//!
//! Terragrunt evaluates all of these from the unit's directory, also inside an included
//! file, so the paths here are relative to the unit's directory wherever they are written;
//! only file functions take an included file's own directory as their base (see
//! `model::edges::terragrunt`).
//! A path may also start from a directory Terragrunt's functions name (see [`Lead`]):
//! `"${get_repo_root()}/modules//vpc"`, `"${get_parent_terragrunt_dir()}/common.hcl"`;
//! those are resolved with the workspace (see [`Led`]).

use super::{line_of_span, literal, parse_body, unit_file_refs_of, HclFacts, ModuleCall};
use crate::error::Result;
use hcl_edit::expr::{Expression, FuncCall};
use hcl_edit::structure::Body;
use hcl_edit::visit::{visit_func_call, Visit};
use hcl_edit::Span;
use serde::{Deserialize, Serialize};

/// The file that makes a directory a Terragrunt unit.
pub const UNIT_FILE: &str = "terragrunt.hcl";

/// What `find_in_parent_folders()` looks for when given no name.
const DEFAULT_PARENT_FILE: &str = "terragrunt.hcl";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TerragruntFacts {
    /// Module calls (`terraform { source }`), file reads (file functions, and the written
    /// paths of `include` and `read_terragrunt_config`), and the lines of reads whose path
    /// is computed: as a Terraform file's.
    pub hcl: HclFacts,
    /// The units it depends on, as written (`config_path`, `paths`), with their lines.
    pub dependencies: Vec<(String, usize)>,
    /// The file names `find_in_parent_folders` looks for in an `include` or a
    /// `read_terragrunt_config`, with their lines: the nearest directory above the
    /// context's that holds one gives the configuration read.
    pub parent_files: Vec<(String, usize)>,
    /// The file names `find_in_parent_folders` looks for anywhere else
    /// (`yamldecode(file(find_in_parent_folders("account.yaml")))`): the file found is an
    /// input, and no configuration.
    pub parent_reads: Vec<(String, usize)>,
    /// The configurations it reads by a written path (`include`, `read_terragrunt_config`),
    /// with their lines; `${get_terragrunt_dir()}/x.hcl` is written `./x.hcl`.
    pub configs: Vec<(String, usize)>,
    /// The configurations, module sources and dependencies whose path starts from a
    /// directory only the workspace tells (`"${get_repo_root()}/modules//vpc"`).
    pub led: Vec<Led>,
    /// The `include` blocks: each label (`""` for none) with the line of its `path`, which
    /// `get_parent_terragrunt_dir("label")` names the directory of.
    pub includes: Vec<(String, usize)>,
    /// The lines of the `include` paths whose block says `merge_strategy = "no_merge"`:
    /// Terragrunt reads that configuration without merging its blocks into the unit.
    pub unmerged: Vec<usize>,
    /// What only Terragrunt applies, with its line: a `terraform { source }`, `inputs`, a
    /// `generate` or `remote_state` block. strata runs terraform in the unit's directory,
    /// so a unit (or a configuration merged into it) that sets one of them cannot be run by
    /// strata as Terragrunt would run it.
    pub terragrunt_only: Vec<(TerragruntOnly, usize)>,
}

/// A setting of a Terragrunt configuration that only Terragrunt applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TerragruntOnly {
    /// `terraform { source = ... }`: the module Terragrunt copies and runs the unit in.
    Source,
    /// `inputs = { ... }`: the variables Terragrunt passes.
    Inputs,
    /// A `generate` block: a file Terragrunt writes before it runs terraform.
    Generate,
    /// A `remote_state` block or attribute: the backend Terragrunt configures.
    RemoteState,
    /// An `extra_arguments` block of the `terraform` block: arguments, environment
    /// variables and variable files Terragrunt passes to terraform.
    ExtraArguments,
    /// A `before_hook`, `after_hook` or `error_hook`: commands Terragrunt runs around
    /// terraform.
    Hook,
    /// `iam_role` (or another `iam_*` setting): the role Terragrunt assumes to run terraform.
    IamRole,
    /// A `run_cmd(...)` call: a command Terragrunt runs while it reads the configuration.
    RunCmd,
    /// An `include` whose configuration strata cannot find (a computed path, or one above
    /// the workspace): it may set any of these.
    Include,
    /// The unit is written `terragrunt.hcl.json`, which strata does not read.
    Json,
    /// `prevent_destroy = true`: Terragrunt refuses to destroy the unit (a refusal of
    /// `destroy` only).
    PreventDestroy,
}

impl TerragruntOnly {
    /// What running terraform without Terragrunt leaves out.
    pub fn left_out(self) -> &'static str {
        match self {
            TerragruntOnly::Source => {
                "the module its `terraform { source }` names would be neither planned nor applied"
            }
            TerragruntOnly::Inputs => "its `inputs` would not be passed to terraform",
            TerragruntOnly::Generate => "the file its `generate` block writes would be missing",
            TerragruntOnly::RemoteState => {
                "its `remote_state` would not configure the state, so terraform would plan against another"
            }
            TerragruntOnly::ExtraArguments => {
                "the arguments, environment variables and variable files its `extra_arguments` pass would not be passed"
            }
            TerragruntOnly::Hook => "the commands its hook runs around terraform would not run",
            TerragruntOnly::IamRole => {
                "terraform would not run as the IAM role it names, but with the caller's credentials"
            }
            TerragruntOnly::RunCmd => {
                "the command `run_cmd` runs while Terragrunt reads the configuration would not run"
            }
            TerragruntOnly::Include => {
                "strata cannot find the configuration this `include` names (its path is computed, or leads above the workspace or to no file), which may set what only Terragrunt applies"
            }
            TerragruntOnly::Json => {
                "strata does not read `terragrunt.hcl.json`, so it cannot tell what Terragrunt would apply"
            }
            TerragruntOnly::PreventDestroy => {
                "its `prevent_destroy` forbids destroying it, which Terragrunt would refuse"
            }
        }
    }
}

/// A path written after a directory a Terragrunt function names: `"${LEAD}REST"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Led {
    pub role: Role,
    pub lead: Lead,
    /// What follows the directory, starting with `/` (`/modules//vpc`).
    pub rest: String,
    pub line: usize,
}

/// What a [`Led`] path is to the unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// A configuration it includes or reads (an input, followed).
    Config,
    /// Its `terraform { source }`: a module call.
    Source,
    /// A unit it depends on.
    Dependency,
    /// A file a file function reads whole (`file`, `filebase64`, `sops_decrypt_file`...; not
    /// `templatefile` or `fileset`, whose reads go on): an input.
    Read,
    /// A file read when it is there (`optional_var_files`): an input when it is; its absence
    /// is no unresolved read (its later creation makes it an input, and the unit changed).
    ReadIfThere,
    /// A path its `inputs` hand to its module, which may read it: a file there is an input,
    /// a directory there gives every file below it, nothing there gives nothing (as a path
    /// a `module` block hands over, see `HclFacts::module_args`).
    Argument,
    /// The written start of such a path, a computed part following
    /// (`"${get_repo_root()}/code/${local.fn}"`): what is below it, or when nothing is
    /// there, below its directory.
    ArgumentPrefix,
}

/// The directory a path template starts with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Lead {
    /// `${get_terragrunt_dir()}`: the unit's, also inside an included configuration.
    UnitDir,
    /// `${dirname(find_in_parent_folders("name"))}`: that of the file found.
    BesideParentFile(String),
    /// `${get_repo_root()}` or `${get_path_to_repo_root()}`: the git repository's top level.
    RepoRoot,
    /// `${get_parent_terragrunt_dir()}`, with an include's label or none: in an included
    /// configuration its own directory, in the unit's file that of the configuration the
    /// (labelled) `include` names.
    ParentDir(Option<String>),
}

impl std::fmt::Display for Lead {
    /// The interpolation as a configuration may write it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Lead::UnitDir => f.write_str("${get_terragrunt_dir()}"),
            Lead::BesideParentFile(name) => {
                write!(f, "${{dirname(find_in_parent_folders(\"{name}\"))}}")
            }
            Lead::RepoRoot => f.write_str("${get_repo_root()}"),
            Lead::ParentDir(None) => f.write_str("${get_parent_terragrunt_dir()}"),
            Lead::ParentDir(Some(label)) => {
                write!(f, "${{get_parent_terragrunt_dir(\"{label}\")}}")
            }
        }
    }
}

/// Reads a Terragrunt configuration (a unit's `terragrunt.hcl`, or a file it includes).
pub fn parse_terragrunt(text: &str, file: &str) -> Result<TerragruntFacts> {
    let body = parse_body(text, file)?;
    let mut facts = TerragruntFacts::default();
    for attr in body.attributes() {
        let what = match attr.key.as_str() {
            "inputs" => TerragruntOnly::Inputs,
            // Terragrunt takes both as attributes too (`remote_state = local.common.remote_state`).
            "remote_state" => TerragruntOnly::RemoteState,
            "generate" => TerragruntOnly::Generate,
            key if key.starts_with("iam_") => TerragruntOnly::IamRole,
            // `prevent_destroy = false` protects nothing.
            "prevent_destroy" if !matches!(bare(&attr.value), Expression::Bool(b) if !*b.value()) => {
                TerragruntOnly::PreventDestroy
            }
            _ => continue,
        };
        facts
            .terragrunt_only
            .push((what, line_of_span(text, attr.span())));
    }
    blocks(&body, text, &mut facts);
    if let Some(inputs) = body.get_attribute("inputs") {
        input_paths(&inputs.value, text, &mut facts);
    }
    unit_file_refs_of(&body, text, &mut facts.hcl);
    let mut calls = Calls {
        text,
        facts: &mut facts,
        configs: false,
        include: None,
    };
    calls.visit_body(&body);
    facts.terragrunt_only.sort_by_key(|&(_, line)| line);
    Ok(facts)
}

fn blocks(body: &Body, text: &str, facts: &mut TerragruntFacts) {
    let line = |span| line_of_span(text, span);
    for block in body.blocks() {
        match block.ident.as_str() {
            "dependency" | "dependencies" => {
                let key = if block.ident.as_str() == "dependency" {
                    "config_path"
                } else {
                    "paths"
                };
                // `enabled = false` leaves the dependency out (Terragrunt's own rule); a
                // computed `enabled` may hold true, so the dependency is kept.
                let disabled = block
                    .body
                    .get_attribute("enabled")
                    .is_some_and(|a| matches!(bare(&a.value), Expression::Bool(b) if !*b.value()));
                if disabled {
                    continue;
                }
                let Some(attr) = block.body.get_attribute(key) else {
                    continue;
                };
                for item in items(&attr.value) {
                    let at = line(item.span());
                    let item = bare(item);
                    match (literal(item), led_path(item)) {
                        (Some(path), _) => facts.dependencies.push((path, at)),
                        // `"${get_terragrunt_dir()}/../vpc"`, as a shared configuration
                        // included by many units writes it.
                        (None, Some((Lead::UnitDir, rest))) => {
                            facts.dependencies.push((format!(".{rest}"), at))
                        }
                        (None, Some((lead, rest))) => facts.led.push(Led {
                            role: Role::Dependency,
                            lead,
                            rest,
                            line: at,
                        }),
                        _ => facts.hcl.unresolved_refs.push(at),
                    }
                }
            }
            "include" => {
                let Some(attr) = block.body.get_attribute("path") else {
                    continue;
                };
                let label = block.labels.first().map(|l| l.to_string());
                let at = line(attr.span());
                facts.includes.push((label.unwrap_or_default(), at));
                let no_merge = block
                    .body
                    .get_attribute("merge_strategy")
                    .and_then(|a| literal(&a.value))
                    .is_some_and(|s| s == "no_merge");
                if no_merge {
                    facts.unmerged.push(at);
                }
                config_path(&attr.value, at, facts);
            }
            "terraform" => {
                var_files(&block.body, text, facts);
                for inner in block.body.blocks() {
                    let what = match inner.ident.as_str() {
                        "extra_arguments" => TerragruntOnly::ExtraArguments,
                        "before_hook" | "after_hook" | "error_hook" => TerragruntOnly::Hook,
                        _ => continue,
                    };
                    facts.terragrunt_only.push((what, line(inner.span())));
                }
                let Some(attr) = block.body.get_attribute("source") else {
                    continue;
                };
                let at = line(attr.span());
                facts.terragrunt_only.push((TerragruntOnly::Source, at));
                let source = literal(&attr.value);
                match (source, led_path(&attr.value)) {
                    // `../../modules//vpc`: the part after `//` is the module's directory
                    // inside the copied package.
                    (Some(source), _) if super::is_relative_path(&source) => {
                        facts.hcl.modules.push(source_call(&source, at))
                    }
                    // A remote source, fetched by Terragrunt.
                    (Some(_), _) => {}
                    (None, _) if written_remote(&attr.value) => {}
                    (None, Some((lead, rest))) => facts.led.push(Led {
                        role: Role::Source,
                        lead,
                        rest,
                        line: at,
                    }),
                    (None, None) => facts.hcl.unresolved_refs.push(at),
                }
            }
            "generate" => facts
                .terragrunt_only
                .push((TerragruntOnly::Generate, line(block.span()))),
            "remote_state" => facts
                .terragrunt_only
                .push((TerragruntOnly::RemoteState, line(block.span()))),
            _ => {}
        }
    }
}

/// The paths `inputs` hand to the unit's module, at any depth of their value (an object's
/// values, a list's items, a function's arguments as in `jsonencode("${…}/src")`, either
/// branch of a conditional): a literal starting with `./` or `../`, from the unit's
/// directory, or a path led by one of Terragrunt's directory functions
/// (`"${get_parent_terragrunt_dir()}/src/function"`). The module may read what it is
/// handed (a function's source code it zips, a policy document), so the unit depends on it.
fn input_paths(value: &Expression, text: &str, facts: &mut TerragruntFacts) {
    let line = || line_of_span(text, value.span());
    match value {
        Expression::Object(object) => {
            for (_, v) in object.iter() {
                input_paths(v.expr(), text, facts);
            }
        }
        Expression::Array(items) => {
            for item in items.iter() {
                input_paths(item, text, facts);
            }
        }
        Expression::FuncCall(call) => {
            for arg in call.args.iter() {
                input_paths(arg, text, facts);
            }
        }
        Expression::Conditional(c) => {
            input_paths(&c.true_expr, text, facts);
            input_paths(&c.false_expr, text, facts);
        }
        Expression::Parenthesis(p) => input_paths(p.inner(), text, facts),
        other => {
            if let Some((lead, rest, computed)) = led_prefix(other) {
                // Nothing written after the directory (`"${get_repo_root()}/${local.x}"`):
                // any file below it, which for the repository is every file; a read strata
                // cannot resolve, named as such.
                if computed && rest == "/" {
                    facts.hcl.unresolved_refs.push(line());
                    return;
                }
                facts.led.push(Led {
                    role: if computed {
                        Role::ArgumentPrefix
                    } else {
                        Role::Argument
                    },
                    lead,
                    rest,
                    line: line(),
                });
            } else if let Some((super::PathBase::Root, path, computed)) = super::static_path(other)
            {
                // Relative to the unit's directory (`get_terragrunt_dir()`), also when
                // written in a configuration the unit includes: Terragrunt evaluates
                // `inputs` for the unit.
                if super::is_relative_path(&path) {
                    let from_unit = format!("/{path}");
                    if let Some(r) = super::module_args::module_arg_path(
                        super::PathBase::Module,
                        from_unit,
                        computed,
                        line(),
                    ) {
                        facts.hcl.file_refs.push(r);
                    }
                }
            }
        }
    }
}

/// The elements of a list of paths, or the one path written instead of a list.
fn items(value: &Expression) -> Vec<&Expression> {
    match value {
        Expression::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

/// The variable files `extra_arguments` blocks pass to terraform (`required_var_files`,
/// `optional_var_files`, and `-var-file=` among its `arguments`): inputs when their path
/// starts from a directory Terragrunt names (`"${get_parent_terragrunt_dir()}/common.tfvars"`,
/// the usual way to write them), else unresolved (Terragrunt reads a relative one from its
/// working copy of the module).
fn var_files(terraform: &Body, text: &str, facts: &mut TerragruntFacts) {
    for block in terraform.blocks() {
        if block.ident.as_str() != "extra_arguments" {
            continue;
        }
        if let Some(attr) = block.body.get_attribute("arguments") {
            // `"-var-file=${...}/x.tfvars"`, or `"-var-file"` then the path.
            let mut next_is_file = false;
            for item in items(&attr.value) {
                let at = line_of_span(text, item.span());
                let item = bare(item);
                let led = if std::mem::take(&mut next_is_file) {
                    (!is_parent_file_call(item)).then(|| led_path(item))
                } else {
                    match item {
                        Expression::String(s) if s.value().as_str() == "-var-file" => {
                            next_is_file = true;
                            None
                        }
                        Expression::String(s) if s.value().starts_with("-var-file=") => Some(None),
                        Expression::StringTemplate(t) => {
                            let mut elements = t.iter();
                            match elements.next() {
                                Some(hcl_edit::template::Element::Literal(l))
                                    if l.as_str() == "-var-file=" =>
                                {
                                    let rest: Vec<_> = elements.collect();
                                    match rest.as_slice() {
                                        // Found as `find_in_parent_folders` finds it
                                        // (`TerragruntFacts::parent_reads`).
                                        [hcl_edit::template::Element::Interpolation(i)]
                                            if is_parent_file_call(&i.expr) =>
                                        {
                                            None
                                        }
                                        _ => Some(led_elements(rest.into_iter())),
                                    }
                                }
                                Some(hcl_edit::template::Element::Literal(l))
                                    if l.as_str().starts_with("-var-file") =>
                                {
                                    Some(None)
                                }
                                _ => None,
                            }
                        }
                        _ => None,
                    }
                };
                match led {
                    Some(Some((lead, rest))) => facts.led.push(Led {
                        role: Role::Read,
                        lead,
                        rest,
                        line: at,
                    }),
                    Some(None) => facts.hcl.unresolved_refs.push(at),
                    None => {}
                }
            }
        }
        for (key, role) in [
            ("required_var_files", Role::Read),
            ("optional_var_files", Role::ReadIfThere),
        ] {
            let Some(attr) = block.body.get_attribute(key) else {
                continue;
            };
            for item in items(&attr.value) {
                let at = line_of_span(text, item.span());
                match led_path(bare(item)) {
                    Some((lead, rest)) => facts.led.push(Led {
                        role,
                        lead,
                        rest,
                        line: at,
                    }),
                    // Found as `find_in_parent_folders` finds it (a parent read).
                    None if is_parent_file_call(item) => {}
                    None => facts.hcl.unresolved_refs.push(at),
                }
            }
        }
    }
}

/// The file `name` in the nearest directory above `dir` (a workspace path) that holds one,
/// as Terragrunt's `find_in_parent_folders` finds it; `exists` says which files there are.
pub fn in_parent_folders(dir: &str, name: &str, exists: impl Fn(&str) -> bool) -> Option<String> {
    let mut at = dir;
    while !at.is_empty() {
        at = crate::discover::parent_dir(at);
        let path = match at {
            "" => name.to_string(),
            at => format!("{at}/{name}"),
        };
        if exists(&path) {
            return Some(path);
        }
    }
    None
}

/// The workspace path of `"${get_repo_root()}REST"` in a workspace that lies at `prefix` in
/// its repository (`""` at the top), or `None` when it leads outside the workspace.
pub fn repo_root_path(prefix: &str, rest: &str) -> Option<String> {
    let in_repo = crate::model::join_normalized("", rest)?;
    let prefix = prefix.trim_end_matches('/');
    match in_repo.strip_prefix(prefix) {
        _ if prefix.is_empty() => Some(in_repo),
        Some("") => Some(String::new()),
        Some(inside) => inside.strip_prefix('/').map(str::to_string),
        None => None,
    }
}

/// The module call a local `terraform { source }` is: the part after `//` is the module's
/// directory inside the package Terragrunt copies.
pub fn source_call(source: &str, line: usize) -> ModuleCall {
    ModuleCall {
        name: "terraform".into(),
        source: source.replacen("//", "/", 1),
        line,
    }
}

/// Whether a computed source is remote by what is written of it: a version reference
/// (`"${local.base_url}?ref=v0.8.0"`, git's) or an address scheme (`git::`, `https://`,
/// `tfr://`, `s3::`, `gcs::`) in its written text. A local path can hold neither.
fn written_remote(value: &Expression) -> bool {
    let Expression::StringTemplate(t) = value else {
        return false;
    };
    t.iter()
        .any(|element| match super::literal_element(element) {
            Some(text) => text.contains("?ref=") || text.contains("::") || text.contains("://"),
            None => false,
        })
}

/// The path of an `include` or a `read_terragrunt_config`: written out (a file read), or
/// found by `find_in_parent_folders` (recorded where that call is met), else unresolved.
fn config_path(value: &Expression, at: usize, facts: &mut TerragruntFacts) {
    let value = bare(value);
    if let Some(path) = literal(value) {
        facts.configs.push((path, at));
    } else if let Some((lead, rest)) = led_path(value) {
        match lead {
            Lead::UnitDir => facts.configs.push((format!(".{rest}"), at)),
            lead => facts.led.push(Led {
                role: Role::Config,
                lead,
                rest,
                line: at,
            }),
        }
    } else if !matches!(value, Expression::FuncCall(call) if call.name.name.as_str() == "find_in_parent_folders")
    {
        facts.hcl.unresolved_refs.push(at);
    }
}

/// `value` without parentheses or a string template around it that holds only one
/// interpolation:
/// `"${find_in_parent_folders("root.hcl")}"` is the call (an older style of writing it),
/// and `"${true}"` the boolean.
fn bare(value: &Expression) -> &Expression {
    if let Expression::Parenthesis(p) = value {
        return bare(p.inner());
    }
    if let Expression::StringTemplate(t) = value {
        let mut elements = t.iter();
        if let (Some(hcl_edit::template::Element::Interpolation(only)), None) =
            (elements.next(), elements.next())
        {
            return bare(&only.expr);
        }
    }
    value
}

/// `"${LEAD}/rest"` with `rest` written out: the lead and `rest`.
pub(super) fn led_path(value: &Expression) -> Option<(Lead, String)> {
    let Expression::StringTemplate(t) = value else {
        return None;
    };
    led_elements(t.iter())
}

/// [`led_path`], or its written part when a computed part follows
/// (`"${get_repo_root()}/code/${local.fn}"` gives `/code/` and `true`).
fn led_prefix(value: &Expression) -> Option<(Lead, String, bool)> {
    let Expression::StringTemplate(t) = value else {
        return None;
    };
    let mut elements = t.iter();
    let lead = led_lead(elements.next()?)?;
    let mut rest = String::new();
    let mut computed = false;
    for element in elements {
        match super::literal_element(element) {
            Some(text) => rest.push_str(&text),
            None => {
                computed = true;
                break;
            }
        }
    }
    rest.starts_with('/').then_some((lead, rest, computed))
}

/// [`led_path`] of a template's elements.
fn led_elements<'e>(
    mut elements: impl Iterator<Item = &'e hcl_edit::template::Element>,
) -> Option<(Lead, String)> {
    let first = elements.next()?;
    let mut rest = String::new();
    for element in elements {
        rest.push_str(&super::literal_element(element)?);
    }
    if !rest.starts_with('/') {
        return None;
    }
    Some((led_lead(first)?, rest))
}

/// The directory a template's first element names, when it is one of Terragrunt's
/// directory functions.
fn led_lead(first: &hcl_edit::template::Element) -> Option<Lead> {
    let hcl_edit::template::Element::Interpolation(first) = first else {
        return None;
    };
    let Expression::FuncCall(call) = &first.expr else {
        return None;
    };
    let lead = match (call.name.name.as_str(), call.args.iter().next()) {
        ("get_terragrunt_dir", None) => Lead::UnitDir,
        ("get_repo_root" | "get_path_to_repo_root", None) => Lead::RepoRoot,
        ("get_parent_terragrunt_dir", None) => Lead::ParentDir(None),
        ("get_parent_terragrunt_dir", Some(label)) => Lead::ParentDir(Some(literal(label)?)),
        ("dirname", Some(Expression::FuncCall(inner)))
            if inner.name.name.as_str() == "find_in_parent_folders" =>
        {
            let name = match inner.args.iter().next() {
                None => DEFAULT_PARENT_FILE.to_string(),
                Some(name) => literal(name).filter(|n| !n.is_empty())?,
            };
            Lead::BesideParentFile(name)
        }
        _ => return None,
    };
    Some(lead)
}

/// `find_in_parent_folders` and `read_terragrunt_config` calls, wherever they are written.
struct Calls<'a> {
    text: &'a str,
    facts: &'a mut TerragruntFacts,
    /// Inside an `include` block or a `read_terragrunt_config` call: a file found is a
    /// configuration.
    configs: bool,
    /// Inside an `include` block: the line of its `path`, which names what it includes
    /// (wherever in the expression `find_in_parent_folders` is written).
    include: Option<usize>,
}

impl Visit for Calls<'_> {
    fn visit_block(&mut self, block: &hcl_edit::structure::Block) {
        let (configs, include) = (self.configs, self.include);
        if block.ident.as_str() == "include" {
            self.configs = true;
            self.include = block
                .body
                .get_attribute("path")
                .map(|a| line_of_span(self.text, a.span()));
        }
        hcl_edit::visit::visit_block(self, block);
        (self.configs, self.include) = (configs, include);
    }

    fn visit_func_call(&mut self, call: &FuncCall) {
        let at = line_of_span(self.text, call.span());
        let outer = self.configs;
        match call.name.name.as_str() {
            "find_in_parent_folders" => match parent_file_name(call) {
                Some(name) if self.configs => self
                    .facts
                    .parent_files
                    .push((name, self.include.unwrap_or(at))),
                Some(name) => self.facts.parent_reads.push((name, at)),
                None => self.facts.hcl.unresolved_refs.push(at),
            },
            "read_terragrunt_config" => {
                if let Some(path) = call.args.iter().next() {
                    config_path(path, at, self.facts);
                }
                self.configs = true;
            }
            "run_cmd" => self
                .facts
                .terragrunt_only
                .push((TerragruntOnly::RunCmd, at)),
            name => {
                if let Some((lead, rest)) = call.args.iter().next().and_then(|a| led_read(name, a))
                {
                    self.facts.led.push(Led {
                        role: Role::Read,
                        lead,
                        rest,
                        line: at,
                    });
                }
            }
        }
        visit_func_call(self, call);
        self.configs = outer;
    }
}

/// The file a file function `function` reads whole, when its path `arg` starts from a
/// directory only the workspace tells (`file("${get_repo_root()}/shared/tags.json")`);
/// `get_terragrunt_dir()` is the file reader's own (`PathBase::Module`).
pub(super) fn led_read(function: &str, arg: &Expression) -> Option<(Lead, String)> {
    let whole = super::FILE_FUNCTIONS.contains(&function)
        || super::TERRAGRUNT_FILE_FUNCTIONS.contains(&function);
    if !whole || matches!(function, "templatefile" | "fileset") {
        return None;
    }
    led_path(bare(arg)).filter(|(lead, _)| *lead != Lead::UnitDir)
}

/// The file name a `find_in_parent_folders` call looks for, when written out.
fn parent_file_name(call: &FuncCall) -> Option<String> {
    match call.args.iter().next() {
        None => Some(DEFAULT_PARENT_FILE.into()),
        Some(name) => literal(name).filter(|n| !n.is_empty()),
    }
}

/// Whether `value` is a `find_in_parent_folders` call with its file name written out (as
/// a file function's argument: the file it finds is read, see
/// [`TerragruntFacts::parent_reads`]).
pub(super) fn is_parent_file_call(value: &Expression) -> bool {
    matches!(bare(value), Expression::FuncCall(call)
        if call.name.name.as_str() == "find_in_parent_folders"
            && parent_file_name(call).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hcl::PathBase;

    #[test]
    fn a_unit_names_its_dependencies_configuration_and_module() {
        let text = r#"include "root" {
  path = find_in_parent_folders("root.hcl")
}

locals {
  env    = read_terragrunt_config(find_in_parent_folders("env.hcl"))
  common = read_terragrunt_config("../common.hcl")
  any    = find_in_parent_folders()
  own    = read_terragrunt_config("${get_terragrunt_dir()}/own.hcl")
}

include "envcommon" {
  path = "${dirname(find_in_parent_folders("root.hcl"))}/_envcommon/vpc.hcl"
}

terraform {
  source = "../../modules//vpc"
}

dependency "dns" {
  config_path = "../dns"
}

dependencies {
  paths = ["../iam", local.other, "${get_terragrunt_dir()}/../kms"]
}

inputs = {
  policy = file("policy.json")
}

dependency "legacy" {
  config_path = "../legacy"
  enabled     = false
}

dependency "maybe" {
  config_path = "${"../maybe"}"
  enabled     = local.maybe
}

locals {
  account = yamldecode(file(find_in_parent_folders("account.yaml")))
  secrets = yamldecode(sops_decrypt_file("secrets.enc.yaml"))
  tfvars  = read_tfvars_file("../common.tfvars")
}
"#;
        let facts = parse_terragrunt(text, "live/app/terragrunt.hcl").unwrap();
        assert_eq!(
            facts.dependencies,
            [
                ("../dns".to_string(), 21),
                ("../iam".to_string(), 25),
                ("./../kms".to_string(), 25),
                // `legacy` is disabled; `maybe` may not be.
                ("../maybe".to_string(), 38),
            ]
        );
        assert_eq!(
            facts.parent_files,
            [
                ("root.hcl".to_string(), 2),
                ("env.hcl".to_string(), 6),
                ("root.hcl".to_string(), 13),
            ]
        );
        // Found, and read as files, not as configurations.
        assert_eq!(
            facts.parent_reads,
            [
                ("terragrunt.hcl".to_string(), 8),
                ("account.yaml".to_string(), 43)
            ]
        );
        assert_eq!(
            facts.led,
            [Led {
                role: Role::Config,
                lead: Lead::BesideParentFile("root.hcl".into()),
                rest: "/_envcommon/vpc.hcl".into(),
                line: 13
            }]
        );
        assert_eq!(
            facts.includes,
            [("root".to_string(), 2), ("envcommon".to_string(), 13)]
        );
        let modules: Vec<_> = facts
            .hcl
            .modules
            .iter()
            .map(|m| (m.source.as_str(), m.line))
            .collect();
        assert_eq!(modules, [("../../modules/vpc", 17)]);
        let reads: Vec<_> = facts
            .hcl
            .file_refs
            .iter()
            .map(|r| (r.function.as_str(), r.base.clone(), r.path.as_str(), r.line))
            .collect();
        assert_eq!(
            reads,
            [
                ("file", PathBase::Root, "policy.json", 29),
                ("sops_decrypt_file", PathBase::Root, "secrets.enc.yaml", 44),
                ("read_tfvars_file", PathBase::Root, "../common.tfvars", 45)
            ]
        );
        assert_eq!(
            facts.configs,
            [
                ("../common.hcl".to_string(), 7),
                ("./own.hcl".to_string(), 9)
            ]
        );
        // `local.other` in `dependencies`.
        assert_eq!(facts.hcl.unresolved_refs, [25]);
    }

    #[test]
    fn a_computed_source_written_as_remote_is_no_unresolved_read() {
        for (source, unresolved) in [
            (
                "${include.envcommon.locals.base_source_url}?ref=v0.8.0",
                false,
            ),
            ("git::${local.repo}//modules/vpc", false),
            ("${local.registry}://vpc", false),
            ("${local.modules}/vpc", true),
            ("${get_repo_root()}/modules/vpc", false),
        ] {
            let text = format!("terraform {{\n  source = \"{source}\"\n}}\n");
            let facts = parse_terragrunt(&text, "terragrunt.hcl").unwrap();
            assert!(facts.hcl.modules.is_empty(), "{source}");
            assert_eq!(facts.hcl.unresolved_refs == [2], unresolved, "{source}");
        }
    }

    #[test]
    fn paths_led_by_terragrunt_directories_are_kept_with_their_lead() {
        let text = r#"include "root" {
  path = find_in_parent_folders("root.hcl")
}
terraform {
  source = "${get_repo_root()}//modules/vpc"
}
locals {
  common = read_terragrunt_config("${get_parent_terragrunt_dir("root")}/common.hcl")
  conf   = jsondecode(file("${get_terragrunt_dir()}/conf.json"))
}
dependency "dns" {
  config_path = "${dirname(find_in_parent_folders("root.hcl"))}/dev/dns"
}
dependencies {
  paths = ["${get_path_to_repo_root()}/live/iam"]
}
"#;
        let facts = parse_terragrunt(text, "live/dev/vpc/terragrunt.hcl").unwrap();
        let led = |role, lead, rest: &str, line| Led {
            role,
            lead,
            rest: rest.into(),
            line,
        };
        assert_eq!(
            facts.led,
            [
                led(Role::Source, Lead::RepoRoot, "//modules/vpc", 5),
                led(
                    Role::Dependency,
                    Lead::BesideParentFile("root.hcl".into()),
                    "/dev/dns",
                    12
                ),
                led(Role::Dependency, Lead::RepoRoot, "/live/iam", 15),
                led(
                    Role::Config,
                    Lead::ParentDir(Some("root".into())),
                    "/common.hcl",
                    8
                ),
            ]
        );
        let reads: Vec<_> = facts
            .hcl
            .file_refs
            .iter()
            .map(|r| (r.base.clone(), r.path.as_str(), r.line))
            .collect();
        assert_eq!(reads, [(PathBase::Module, "/conf.json", 9)]);
        assert!(facts.hcl.unresolved_refs.is_empty());
        assert!(facts.hcl.modules.is_empty());
    }

    #[test]
    fn a_remote_module_is_no_call_and_a_computed_path_is_unresolved() {
        let text = "terraform {\n  source = \"git::https://example.com/m.git//vpc?ref=v1\"\n}\n\ninclude {\n  path = \"${local.dir}/x.hcl\"\n}\n";
        let facts = parse_terragrunt(text, "terragrunt.hcl").unwrap();
        assert!(facts.hcl.modules.is_empty());
        assert_eq!(facts.hcl.unresolved_refs, [6]);
    }
}
