//! Dependency facts read from Terraform files (`*.tf` native syntax and `*.tf.json`):
//! `module` blocks with their `source`, and calls to file-reading functions whose path can be
//! resolved statically (`file("${path.module}/../shared/x.json")`).
//!
//! Facts are pure functions of a file's content, so they are cached by blob id
//! (see `facts`); resolving paths against directories happens later, in `model`.

mod backend;
mod decodes;
mod json;
mod module_args;
mod relaxed;
mod scan;
pub mod terragrunt;
pub mod tftest;
mod var_files;
pub use backend::{backend_block, cloud_block, BackendBlock};
use decodes::*;
pub use decodes::{DecodedLocal, Decoding};
pub use json::parse_tf_json;
use module_args::*;
pub use terragrunt::{
    parse_terragrunt, source_call as terragrunt_source_call, Lead, Led, Role, TerragruntFacts,
    TerragruntOnly, UNIT_FILE as TERRAGRUNT_UNIT_FILE,
};
pub use tftest::{is_test_file_name, is_test_file_of, parse_tftest};
pub use var_files::{parse_tfvars, parse_tfvars_json};

use crate::error::{line_of, Error, Location, Result};
use hcl_edit::expr::{Expression, FuncCall, TraversalOperator};
use hcl_edit::structure::{Block, Body, Structure};
use hcl_edit::template::{Element, ForTemplateExpr};
use hcl_edit::visit::{visit_func_call, Visit};
use hcl_edit::Span;
use serde::{Deserialize, Serialize};

/// What strata needs from one Terraform file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HclFacts {
    pub modules: Vec<ModuleCall>,
    /// File-function calls, and paths handed to modules (see [`HclFacts::module_args`]).
    pub file_refs: Vec<FileRef>,
    /// File-function calls whose path is computed at run time (e.g. `file(var.path)`).
    pub unresolved_refs: Vec<usize>,
    /// `locals` whose value is a static path, so `file("${local.dir}/x")` resolves.
    pub path_locals: Vec<PathLocal>,
    /// `chart` of top-level `resource "helm_release"`, `data "helm_template"` and `module`
    /// blocks with a static path:
    /// a chart directory the stack deploys from the workspace (`"${path.module}/charts/x"`).
    #[serde(default)]
    pub chart_refs: Vec<FileRef>,
    /// `locals` set to a decoded file (see [`DecodedLocal`]).
    #[serde(default)]
    pub decoded_locals: Vec<DecodedLocal>,
}

/// `<kind>.<name>` on its own (`var.region`, `local.conf`): the name.
fn name_of<'a>(expr: &'a Expression, kind: &str) -> Option<&'a str> {
    let Expression::Traversal(t) = expr else {
        return None;
    };
    let (Expression::Variable(v), [op]) = (&t.expr, t.operators.as_slice()) else {
        return None;
    };
    match &**op {
        TraversalOperator::GetAttr(name) if v.as_str() == kind => Some(name.as_str()),
        _ => None,
    }
}

impl HclFacts {
    /// Paths a `module` block hands to its module in an argument
    /// (`policy_file = "${path.module}/policy.json"`): the module may read them, so they
    /// are inputs of the calling target, whatever the module (local or remote) does with
    /// them. Each is a candidate: a file there is an input, a directory there gives every
    /// file below it, nothing there gives nothing. They are kept among `file_refs` (with
    /// the function [`MODULE_ARGUMENT`]), which costs no field of its own in the facts of
    /// every file.
    pub fn module_args(&self) -> impl Iterator<Item = &FileRef> {
        self.file_refs.iter().filter(|r| r.is_module_argument())
    }
}

impl FileRef {
    /// Whether this is a path handed to a module (see [`HclFacts::module_args`]).
    pub fn is_module_argument(&self) -> bool {
        self.function == MODULE_ARGUMENT
    }

    /// Whether this is a path handed to something that may read it, a module or a
    /// provider ([`PROVIDER_ARGUMENT`]), rather than read by a file function: a file
    /// there is an input, a directory there gives every file below it, nothing there
    /// gives nothing.
    pub fn is_path_argument(&self) -> bool {
        self.is_module_argument() || self.function == PROVIDER_ARGUMENT
    }
}

/// `locals { name = "${path.module}/../shared" }`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathLocal {
    pub name: String,
    pub base: PathBase,
    pub path: String,
    /// One of several paths the local may hold (a map or a `coalesce` of paths), not its
    /// value: followed only for reads strata cannot resolve exactly.
    #[serde(default)]
    pub candidate: bool,
}

/// `module "name" { source = "..." }`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModuleCall {
    pub name: String,
    pub source: String,
    pub line: usize,
}

impl ModuleCall {
    /// Local paths start with `./` or `../` (Terraform's rule); everything else is a registry,
    /// VCS or archive address and not part of the workspace graph.
    pub fn is_local(&self) -> bool {
        is_relative_path(&self.source)
    }

    /// A remote source whose content can change while its address stays the same: a git or
    /// Mercurial repository at a branch, a tag or no `ref` (only a full commit id is fixed),
    /// or an archive (HTTP, S3, GCS). A registry address is not: a published version does
    /// not change (the version a range resolves to is the sandbox's; see docs).
    pub fn is_floating(&self) -> bool {
        let source = self.source.as_str();
        if self.is_local() || source.starts_with('/') {
            return false;
        }
        let vcs = source.starts_with("git::")
            || source.starts_with("hg::")
            || source.starts_with("github.com/")
            || source.starts_with("bitbucket.org/")
            || source.starts_with("git@")
            || (source.contains("://")
                && source
                    .split('?')
                    .next()
                    .is_some_and(|a| a.ends_with(".git")));
        if vcs {
            let pinned = source.split_once('?').is_some_and(|(_, query)| {
                query.split('&').any(|kv| {
                    kv.strip_prefix("ref=").is_some_and(|r| {
                        (r.len() == 40 || r.len() == 64) && r.bytes().all(|b| b.is_ascii_hexdigit())
                    })
                })
            });
            return !pinned;
        }
        // Any other getter or URL fetches an archive or a bucket's objects.
        source.contains("::") || source.contains("://")
    }
}

/// Which directory a path in a file function is relative to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PathBase {
    /// `${path.module}`: the directory of the file's module.
    Module,
    /// `${path.root}`, `${path.cwd}` or a bare relative path: the root module's directory.
    Root,
    /// `${local.name}`: a local of the same module holding a static path.
    Local(String),
    /// A path that starts with `/`, or with `~` (terraform's file functions read `~/x` in
    /// the home directory): outside the workspace, whatever follows.
    Absolute,
}

impl PathBase {
    /// The base of a path that starts with the literal `text`.
    pub(crate) fn of_literal(text: &str) -> PathBase {
        if text.starts_with('/') || text == "~" || text.starts_with("~/") {
            PathBase::Absolute
        } else {
            PathBase::Root
        }
    }

    /// The local `var.<name>` this base is, when it is a variable (see [`VAR_PREFIX`]).
    pub(crate) fn variable(&self) -> Option<&str> {
        match self {
            PathBase::Local(n) if n.starts_with(VAR_PREFIX) => Some(n),
            _ => None,
        }
    }
}

/// A statically resolvable call to `file`, `templatefile`, `fileset`, `filebase64`, ...
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRef {
    pub function: String,
    pub base: PathBase,
    /// The path after the base, e.g. `/../shared/x.json` or `templates/a.tpl`.
    pub path: String,
    /// `fileset`'s pattern.
    pub pattern: Option<String>,
    /// A path the call may read, found inside an argument strata cannot resolve
    /// (`templatefile(coalesce(var.t, "${path.module}/x.tpl"), ...)`, a map of paths): every
    /// file below its directory becomes an input, and the call stays unresolved too.
    #[serde(default)]
    pub candidate: bool,
    /// The path continues with a computed part (`"${path.module}/x/${var.name}.json"`):
    /// `path` is the static prefix, and every file below its directory may be read.
    pub dynamic_tail: bool,
    pub line: usize,
    /// The local the computed part starts with, when it is one on its own
    /// (`"${path.module}/${local.rel}"`): a path it holds may climb out of the prefix's
    /// directory (`rel = "../../shared/a.tpl"`). A variable (`${var.rel}`) is recorded as
    /// `var.rel` (see [`VAR_PREFIX`]), for its default.
    /// (Always written: the fact cache's format, postcard, cannot skip a field.)
    #[serde(default)]
    pub tail_local: Option<String>,
}

/// The resource type whose `chart` attribute may name a chart directory.
const HELM_RELEASE: &str = "helm_release";

/// The data source that renders a chart as `helm_release` would install it: its `chart` is
/// read as a `helm_release`'s.
const HELM_TEMPLATE: &str = "helm_template";

/// Whether a block of kind `ident` (`resource`, `data`) with the first label `label` deploys
/// or renders a chart named by its `chart` attribute.
pub(crate) fn deploys_a_chart(ident: &str, label: &str) -> bool {
    matches!(
        (ident, label),
        ("resource", HELM_RELEASE) | ("data", HELM_TEMPLATE)
    )
}

/// The fact for a `helm_release`'s `chart` value: a directory read when the value has a
/// static part and is not a remote address (`oci://`, `https://`). A plain name such as
/// `"nginx"` stays a directory read: helm loads a local directory of that name first.
pub(crate) fn chart_ref(path: Option<(PathBase, String, bool)>, line: usize) -> Option<FileRef> {
    let (base, path, dynamic_tail) = path?;
    if path.contains("://") {
        return None;
    }
    Some(FileRef {
        function: HELM_RELEASE.to_string(),
        base,
        path,
        pattern: None,
        dynamic_tail,
        candidate: false,
        line,
        tail_local: None,
    })
}

/// The facts for a `chart` value: the chart it names when the value is a static path, else
/// the paths written inside it as candidates (`var.canary ? "../../charts/web-canary" :
/// "../../charts/web"`, `coalesce(var.chart, "${path.module}/charts/x")`), each of which
/// the stack may deploy. A value with no path in it (`var.chart`, a name) gives nothing.
fn chart_refs_of(value: &Expression, line: usize) -> Vec<FileRef> {
    if let Some(r) = static_path(value) {
        return chart_ref(Some(r), line).into_iter().collect();
    }
    held_paths(value, line)
        .into_iter()
        .filter(|r| !r.path.contains("://"))
        .map(|r| FileRef {
            function: HELM_RELEASE.to_string(),
            ..r
        })
        .collect()
}

/// The charts written under a `chart` key inside a module argument's value (`helm_releases =
/// { web = { chart = "./charts/web" } }`, the map a wrapper module hands its
/// `helm_release`s): each chart one names is one the stack may deploy. Read as candidates:
/// a value that names no chart there is no problem (the module may use the key otherwise).
pub(super) fn nested_chart_refs(value: &Expression, line: usize) -> Vec<FileRef> {
    struct Charts {
        line: usize,
        found: Vec<FileRef>,
    }
    impl Visit for Charts {
        fn visit_object(&mut self, object: &hcl_edit::expr::Object) {
            for (key, value) in object.iter() {
                let chart = match key {
                    hcl_edit::expr::ObjectKey::Ident(ident) => ident.as_str() == "chart",
                    hcl_edit::expr::ObjectKey::Expression(Expression::String(s)) => {
                        s.as_str() == "chart"
                    }
                    hcl_edit::expr::ObjectKey::Expression(_) => false,
                };
                if chart {
                    let found = chart_refs_of(value.expr(), self.line);
                    self.found.extend(found.into_iter().map(|r| FileRef {
                        candidate: true,
                        ..r
                    }));
                }
            }
            hcl_edit::visit::visit_object(self, object);
        }
    }
    let mut charts = Charts {
        line,
        found: Vec::new(),
    };
    charts.visit_expr(value);
    charts.found
}

/// [`nested_chart_refs`] of a value given as text (the fast scanner's way to the same
/// facts): `None` when the text is not one expression.
pub(super) fn nested_chart_refs_of_text(value: &str, line: usize) -> Option<Vec<FileRef>> {
    let expr = hcl_edit::parser::parse_expr(value).ok()?;
    Some(nested_chart_refs(&expr, line))
}

/// [`chart_refs_of`] of a value given as text (the fast scanner's way to the same facts):
/// `None` when the text is not one expression.
pub(super) fn chart_refs_of_text(value: &str, line: usize) -> Option<Vec<FileRef>> {
    let expr = hcl_edit::parser::parse_expr(value).ok()?;
    Some(chart_refs_of(&expr, line))
}

/// Whether the text of a `chart` value that is not a static path may hold a candidate (see
/// [`chart_refs_of`]): the fast scanner reads such a value with the reference's rules.
pub(crate) fn chart_value_may_hold_paths(value: &str) -> bool {
    value.contains("path")
        || value.contains("local")
        || value.contains("./")
        || value.contains(VAR_PREFIX)
}

pub(crate) const FILE_FUNCTIONS: &[&str] = &[
    "file",
    "templatefile",
    "fileset",
    "filebase64",
    "filemd5",
    "filesha1",
    "filesha256",
    "filesha512",
    "filebase64sha256",
    "filebase64sha512",
    "fileexists",
];

/// Terragrunt's functions that read a file by path, beside Terraform's: what they read
/// reaches the run as a file function's value does.
pub(crate) const TERRAGRUNT_FILE_FUNCTIONS: &[&str] = &["sops_decrypt_file", "read_tfvars_file"];

/// Reads the facts of a native-syntax `.tf` file.
///
/// The hand-written scanner in `scan` reads most files; whatever it does not accept (a
/// malformed file, or syntax it leaves to the full parser) goes to
/// [`parse_tf_reference`], which decides, and names the line of any error.
pub fn parse_tf(text: &str, file: &str) -> Result<HclFacts> {
    match scan::scan(text) {
        Some(facts) => Ok(facts),
        None => parse_tf_reference(text, file),
    }
}

/// Reads the facts of a native-syntax `.tf` file with the full HCL parser (hcl-edit).
pub fn parse_tf_reference(text: &str, file: &str) -> Result<HclFacts> {
    let body = parse_body(text, file)?;
    let mut facts = HclFacts::default();
    collect_modules(&body, text, &mut facts);
    file_refs_of(&body, text, &mut facts);
    Ok(facts)
}

/// Adds the reads of the file functions called anywhere in `body` to `facts`.
fn file_refs_of(body: &Body, text: &str, facts: &mut HclFacts) {
    let mut visitor = FileRefVisitor {
        text,
        facts,
        for_values: Vec::new(),
        terragrunt: false,
    };
    visitor.visit_body(body);
}

/// [`file_refs_of`] for a Terragrunt configuration, where a path may also start with the
/// unit's directory as `${get_terragrunt_dir()}` names it: read as `path.module` is.
fn unit_file_refs_of(body: &Body, text: &str, facts: &mut HclFacts) {
    let mut visitor = FileRefVisitor {
        text,
        facts,
        for_values: Vec::new(),
        terragrunt: true,
    };
    visitor.visit_body(body);
}

/// The line an item's span starts on (the first line without one).
fn line_of_span(text: &str, span: Option<std::ops::Range<usize>>) -> usize {
    line_of(text, span.map(|s| s.start).unwrap_or(0))
}

/// Reads the file functions a template that `templatefile` renders calls itself
/// (`${file("scripts/setup.sh")}`): their paths, as [`parse_tf_reference`] reads those of a
/// `.tf` file (a template names no `path.module`, so a relative path is relative to the
/// working directory), and the calls whose path is computed.
pub fn parse_template(text: &str, file: &str) -> Result<HclFacts> {
    let template = hcl_edit::parser::parse_template(text).map_err(|e| Error::Malformed {
        what: "template",
        location: Location::at(file, e.location().line()),
        message: e.message().to_string(),
    })?;
    let mut facts = HclFacts::default();
    let mut visitor = FileRefVisitor {
        text,
        facts: &mut facts,
        for_values: Vec::new(),
        terragrunt: false,
    };
    visitor.visit_template(&template);
    Ok(facts)
}

/// The syntax tree of a native-syntax file, or the error naming its line.
/// What terraform reads and hcl-edit does not as written (see [`relaxed`]) is read too:
/// every reader of `.tf` files uses this one (`strata init` included), so that what one
/// reads another does.
pub fn parse_body(text: &str, file: &str) -> Result<Body> {
    hcl_edit::parser::parse_body(text).or_else(|e| {
        relaxed::parse(text).ok_or_else(|| Error::Malformed {
            what: "HCL",
            location: Location::at(file, e.location().line()),
            message: e.message().to_string(),
        })
    })
}

/// A literal written as a relative path: it starts with `./` or `../`, which no name does.
pub(crate) fn is_relative_path(text: &str) -> bool {
    text.starts_with("./") || text.starts_with("../")
}

fn collect_modules(body: &Body, text: &str, facts: &mut HclFacts) {
    for structure in body.iter() {
        let Structure::Block(block) = structure else {
            continue;
        };
        if block.ident.as_str() == "locals" {
            for attr in block.body.attributes() {
                let name = attr.key.as_str();
                match static_path(&attr.value) {
                    Some((base, path, false)) => facts.path_locals.push(PathLocal {
                        name: name.to_string(),
                        base,
                        path,
                        candidate: false,
                    }),
                    Some(_) => {}
                    // A map or a list of paths, or a choice between paths: each is a
                    // candidate value (see `candidate_form`, which the fast scanner mirrors);
                    // a decoded file: the paths written in it.
                    None => value_locals(name, &attr.value, facts),
                }
            }
            continue;
        }
        if block.ident.as_str() == "variable" {
            let name = block.labels.first().map(|l| l.as_str()).unwrap_or_default();
            match block.body.get_attribute("default").map(|a| &a.value) {
                Some(Expression::String(s)) => {
                    facts.path_locals.extend(variable_default(name, s.as_str()))
                }
                Some(value) => facts.path_locals.extend(variable_candidates(name, value)),
                None => {}
            }
            if let Some(ty) = block.body.get_attribute("type") {
                facts.path_locals.extend(type_defaults(name, &ty.value));
            }
            continue;
        }
        if block.ident.as_str() == "check" {
            // A check's `data` blocks read as top-level ones.
            for inner in block.body.blocks() {
                if inner.ident.as_str() == "data" {
                    provider_block(inner, text, facts);
                }
            }
            continue;
        }
        if matches!(
            block.ident.as_str(),
            "resource" | "data" | "ephemeral" | "provider"
        ) {
            provider_block(block, text, facts);
            continue;
        }
        if block.ident.as_str() != "module" {
            continue;
        }
        let name = block
            .labels
            .first()
            .map(|l| l.as_str().to_string())
            .unwrap_or_default();
        for attr in block.body.attributes() {
            // A wrapper module deploying a chart from the workspace (`chart =
            // "${path.module}/charts/x"` handed to a helm-release module) reads it as
            // helm_release would.
            if attr.key.as_str() == "chart" {
                let offset = attr.span().map(|s| s.start).unwrap_or(0);
                facts
                    .chart_refs
                    .extend(chart_refs_of(&attr.value, line_of(text, offset)));
                continue;
            }
            if !is_module_input(attr.key.as_str()) {
                continue;
            }
            let offset = attr.span().map(|s| s.start).unwrap_or(0);
            if attr.key.as_str() == "for_each" {
                let found = for_each_refs(&attr.value, line_of(text, offset));
                facts.file_refs.extend(found);
                continue;
            }
            let line = line_of(text, offset);
            path_arg(attr.key.as_str(), &attr.value, line, false, facts);
        }
        let Some(attr) = block.body.get_attribute("source") else {
            continue;
        };
        let offset = attr.span().map(|s| s.start).unwrap_or(0);
        // Terraform takes any constant string: `("../m")`, `"${"../m"}"` too. Anything else
        // it refuses; strata says it cannot follow it rather than drop the call.
        match literal(parenthesized(&attr.value)) {
            Some(source) => facts.modules.push(ModuleCall {
                name,
                source,
                line: line_of(text, offset),
            }),
            None => facts.unresolved_refs.push(line_of(text, offset)),
        }
    }
}

/// A `resource`, `data`, `ephemeral` or `provider` block: the paths its arguments hand the
/// provider, and the chart it deploys or renders if it is a `helm_release` or a
/// `helm_template`.
fn provider_block(block: &Block, text: &str, facts: &mut HclFacts) {
    let chart = block
        .labels
        .first()
        .is_some_and(|l| deploys_a_chart(block.ident.as_str(), l.as_str()));
    if chart {
        if let Some(attr) = block.body.get_attribute("chart") {
            let offset = attr.span().map(|s| s.start).unwrap_or(0);
            let line = line_of(text, offset);
            facts.chart_refs.extend(chart_refs_of(&attr.value, line));
            // `chart = each.value` (or an attribute of it) of a release made for each element
            // of a local or a variable: any chart path they may hold.
            if attr.value.to_string().contains("each.") {
                if let Some(for_each) = block.body.get_attribute("for_each") {
                    let mut names = Vec::new();
                    match iterated_name(&for_each.value) {
                        Some(name) => names.push(name),
                        None => iterated_names(&for_each.value, 0, &mut names),
                    }
                    facts
                        .chart_refs
                        .extend(names.into_iter().map(|name| FileRef {
                            function: HELM_RELEASE.to_string(),
                            base: PathBase::Local(name),
                            path: String::new(),
                            pattern: None,
                            candidate: true,
                            dynamic_tail: true,
                            line,
                            tail_local: None,
                        }));
                }
            }
        }
    }
    provider_args(&block.body, text, chart, 0, facts);
}

struct FileRefVisitor<'a> {
    text: &'a str,
    facts: &'a mut HclFacts,
    /// The variables of the `for` expressions around the node visited, innermost last:
    /// each name, with the path base its elements stand on when it is the value variable
    /// of one over a local or a variable (`for f in local.files`, see [`for_element`]).
    for_values: Vec<(String, Option<PathBase>)>,
    /// The file is a Terragrunt configuration (see [`unit_file_refs_of`]).
    terragrunt: bool,
}

/// The base a `for` expression's value variable stands for when it iterates over a local
/// or a variable (`local.files`, `var.files`, or either through `toset`, `tolist` or
/// `values`): a file function given the variable (`file(f)`) reads one of the paths the
/// local may hold, as `file(local.files)` would.
fn for_element(collection: &Expression) -> Option<PathBase> {
    let collection = match unwrapped(collection) {
        Expression::FuncCall(call)
            if !call.name.is_namespaced()
                && matches!(call.name.name.as_str(), "toset" | "tolist" | "values")
                && call.args.len() == 1 =>
        {
            unwrapped(call.args.iter().next()?)
        }
        other => other,
    };
    if let Some(var) = variable_name(collection) {
        return Some(PathBase::Local(format!("{VAR_PREFIX}{var}")));
    }
    path_variable(collection).filter(|base| matches!(base, PathBase::Local(_)))
}

/// hcl-edit's walk of a `%{ for }` directive skips the collection it iterates over: a file
/// function read there (`%{ for k in fileset(path.module, "*") }`) is a read all the same.
fn visit_for_directive_fully<V: Visit>(v: &mut V, node: &ForTemplateExpr) {
    v.visit_expr(&node.collection_expr);
    hcl_edit::visit::visit_for_template_expr(v, node);
}

impl Visit for FileRefVisitor<'_> {
    fn visit_for_template_expr(&mut self, node: &ForTemplateExpr) {
        visit_for_directive_fully(self, node);
    }

    fn visit_for_expr(&mut self, node: &hcl_edit::expr::ForExpr) {
        self.visit_expr(&node.intro.collection_expr);
        let outer = self.for_values.len();
        if let Some(key) = &node.intro.key_var {
            self.for_values.push((key.as_str().to_string(), None));
        }
        self.for_values.push((
            node.intro.value_var.as_str().to_string(),
            for_element(&node.intro.collection_expr),
        ));
        if let Some(key_expr) = &node.key_expr {
            self.visit_expr(key_expr);
        }
        self.visit_expr(&node.value_expr);
        if let Some(cond) = &node.cond {
            self.visit_expr(&cond.expr);
        }
        self.for_values.truncate(outer);
    }

    fn visit_func_call(&mut self, call: &FuncCall) {
        let name = call.name.name.as_str();
        let reads = FILE_FUNCTIONS.contains(&name)
            || (self.terragrunt && TERRAGRUNT_FILE_FUNCTIONS.contains(&name));
        if !call.name.is_namespaced() && reads {
            let line = line_of(self.text, call.span().map(|s| s.start).unwrap_or(0));
            let path = call.args.get(0).and_then(|a| {
                static_path(a)
                    .or_else(|| built_path(a))
                    .or_else(|| self.for_value(a))
                    .or_else(|| self.in_unit_dir(a))
            });
            let pattern = if name == "fileset" {
                call.args.get(1).map(literal)
            } else {
                None
            };
            match path {
                Some((base, path, dynamic)) => self.facts.file_refs.push(FileRef {
                    function: name.to_string(),
                    base,
                    path,
                    // A computed fileset pattern may match anything below the directory.
                    dynamic_tail: dynamic || matches!(pattern, Some(None)),
                    pattern: pattern.flatten(),
                    candidate: false,
                    line,
                    tail_local: call.args.get(0).and_then(tail_local),
                }),
                // `file(find_in_parent_folders("account.yaml"))`: the file is found as
                // Terragrunt finds it (`TerragruntFacts::parent_reads`).
                None if self.terragrunt
                    && call
                        .args
                        .get(0)
                        .is_some_and(terragrunt::is_parent_file_call) => {}
                // `file("${get_repo_root()}/x.json")`: resolved with the workspace
                // (`terragrunt::Role::Read`).
                None if self.terragrunt
                    && call
                        .args
                        .get(0)
                        .is_some_and(|a| terragrunt::led_read(name, a).is_some()) => {}
                None => {
                    self.facts.unresolved_refs.push(line);
                    // What the argument may be: the paths written inside it.
                    if let Some(arg) = call.args.get(0) {
                        self.facts
                            .file_refs
                            .extend(held_paths(arg, line).into_iter().map(|r| FileRef {
                                function: name.to_string(),
                                ..r
                            }));
                    }
                }
            }
        }
        visit_func_call(self, call);
    }
}

impl FileRefVisitor<'_> {
    /// In a Terragrunt configuration, `"${get_terragrunt_dir()}/x"`: `x` in the unit's
    /// directory, which is the module's.
    fn in_unit_dir(&self, expr: &Expression) -> Option<(PathBase, String, bool)> {
        match terragrunt::led_path(expr).filter(|_| self.terragrunt)? {
            (terragrunt::Lead::UnitDir, rest) => Some((PathBase::Module, rest, false)),
            _ => None,
        }
    }

    /// `f` on its own, the value variable of a `for` around it over a local (see
    /// [`for_element`]): the local's paths.
    fn for_value(&self, expr: &Expression) -> Option<(PathBase, String, bool)> {
        let Expression::Variable(name) = unwrapped(expr) else {
            return None;
        };
        let (_, base) = self
            .for_values
            .iter()
            .rev()
            .find(|(var, _)| var == name.as_str())?;
        Some((base.clone()?, String::new(), false))
    }
}

/// The functions whose value is one of their arguments: a local set with one of them may
/// hold any path written in it (`coalesce(var.t, local.default_tpl)`).
pub(crate) const CHOICE_FUNCTIONS: &[&str] = &["coalesce", "try", "lookup", "element"];

/// The functions whose value is a collection of their arguments' values: a local set with
/// one of them (`toset(["./a.json", "./b.json"])`) may hold any path written in it, as one
/// written as a collection does.
pub(crate) const COLLECTION_FUNCTIONS: &[&str] = &[
    "toset", "tolist", "tomap", "concat", "distinct", "flatten", "compact", "merge", "setunion",
    "values",
];

fn is_collection_call(expr: &Expression) -> bool {
    matches!(expr, Expression::FuncCall(call) if !call.name.is_namespaced()
        && COLLECTION_FUNCTIONS.contains(&call.name.name.as_str()))
}

/// Whether a value is a form whose candidate paths are collected: a map or a list
/// (`Some(false)`), or a choice function or an element of another local (`Some(true)`).
/// From a local's value, the paths written in it and the locals it names are collected
/// (see [`local_candidates`]); from a variable's default, a map's or list's paths only.
fn candidate_form(expr: &Expression) -> Option<bool> {
    match expr {
        Expression::Parenthesis(p) => candidate_form(p.inner()),
        Expression::Object(_) | Expression::Array(_) => Some(false),
        // A map or list made from another (`{ for k, v in local.defaults : k => merge(v,
        // {}) }`): it holds what that one holds.
        Expression::ForExpr(_) => Some(false),
        _ if is_collection_call(expr) => Some(false),
        // An element of a collection written in place (`{ a = "…", b = "…" }[var.x]`, `[for
        // …][0]`, also in parentheses).
        Expression::Traversal(t)
            if matches!(
                parenthesized(&t.expr),
                Expression::Object(_) | Expression::Array(_) | Expression::ForExpr(_)
            ) || is_collection_call(parenthesized(&t.expr)) =>
        {
            Some(false)
        }
        // One of two values (`var.canary ? "…/a.tpl" : local.default`).
        Expression::Conditional(_) => Some(true),
        // An element of another local (`local.by_type[var.ami_type]`).
        Expression::Traversal(t) if matches!(&t.expr, Expression::Variable(v) if v.as_str() == "local") => {
            Some(true)
        }
        Expression::FuncCall(call)
            if !call.name.is_namespaced()
                && CHOICE_FUNCTIONS.contains(&call.name.name.as_str()) =>
        {
            Some(true)
        }
        _ => None,
    }
}

/// The values of local `name` whose value is not a static path: a path built by `format`
/// or `join` (see [`built_path`]); for a map, a list or a choice (see [`candidate_form`]), the
/// paths written in it and the locals it names (a map of settings merged from another
/// local's, `merge(local.defaults, var.extra)`, holds what that one holds), as candidates;
/// nothing otherwise.
fn local_candidates(name: &str, value: &Expression) -> Vec<PathLocal> {
    let value = unwrapped(value);
    // A static path built by `format` (`format("%s/../shared", path.module)`) or `join`: its value,
    // when it is built on a path variable or a relative literal (not a name such as
    // `format("%s-app", local.name)`; the fast scanner reads only those forms here).
    if let Some((base, path, false)) = built_path(value).filter(|(base, path, _)| match base {
        PathBase::Module => true,
        PathBase::Root => path.starts_with('/') || is_relative_path(path),
        PathBase::Local(_) | PathBase::Absolute => false,
    }) {
        return vec![PathLocal {
            name: name.to_string(),
            base,
            path,
            candidate: false,
        }];
    }
    // A variable (`p = var.policy_file`): its default, where that may be a path.
    if let Some(var) = variable_name(value) {
        return vec![variable_local(name, var)];
    }
    if candidate_form(value).is_none() {
        return Vec::new();
    }
    let mut found = Vec::new();
    Candidates {
        line: 0,
        locals: true,
        vars: false,
        below_names: false,
        found: &mut found,
    }
    .visit_expr(value);
    found
        .into_iter()
        .map(|r| PathLocal {
            name: name.to_string(),
            base: r.base,
            path: r.path,
            candidate: true,
        })
        .collect()
}

/// The expression inside any parentheses around `expr`.
fn parenthesized(expr: &Expression) -> &Expression {
    let mut expr = expr;
    while let Expression::Parenthesis(p) = expr {
        expr = p.inner();
    }
    expr
}

/// `"${X}"` is the expression X: terraform 0.11's way of writing any expression, and how
/// `*.tf.json` writes every one.
fn unwrapped(expr: &Expression) -> &Expression {
    let mut expr = expr;
    while let Expression::StringTemplate(t) = expr {
        let mut elements = t.iter();
        match (elements.next(), elements.next()) {
            (Some(Element::Interpolation(i)), None) => expr = &i.expr,
            _ => break,
        }
    }
    expr
}

/// `"${var.NAME}/rest"`: the variable's name, the literal text after it (which starts with
/// `/`) up to the next interpolation, and whether one follows.
fn below_variable(expr: &Expression) -> Option<(&str, String, bool)> {
    let Expression::StringTemplate(t) = expr else {
        return None;
    };
    let mut elements = t.iter();
    let Some(Element::Interpolation(first)) = elements.next() else {
        return None;
    };
    let var = variable_name(&first.expr)?;
    let mut rest = String::new();
    let mut dynamic = false;
    for element in elements {
        match literal_element(element) {
            Some(text) => rest.push_str(&text),
            None => {
                dynamic = true;
                break;
            }
        }
    }
    rest.starts_with('/').then_some((var, rest, dynamic))
}

/// `var.NAME` on its own: the variable's name.
fn variable_name(expr: &Expression) -> Option<&str> {
    name_of(expr, "var")
}

/// The candidate fact for `locals { name = var.<var> }`: the local may hold the variable's
/// default, recorded (when it may be a path) as the local `var.<var>` (see [`VAR_PREFIX`]).
pub(crate) fn variable_local(name: &str, var: &str) -> PathLocal {
    PathLocal {
        name: name.to_string(),
        base: PathBase::Local(format!("{VAR_PREFIX}{var}")),
        path: String::new(),
        candidate: true,
    }
}

/// [`local_candidates`] of a value given as text (the fast scanner's way to the same facts):
/// `None` when the text is not one expression.
pub(super) fn local_candidates_of_text(name: &str, value: &str) -> Option<Vec<PathLocal>> {
    let expr = hcl_edit::parser::parse_expr(value).ok()?;
    Some(local_candidates(name, &expr))
}

/// The paths an expression strata cannot resolve may hold, read where a path is expected
/// (a file function's argument, a `chart`): see [`Candidates`], with locals and variables.
fn held_paths(expr: &Expression, line: usize) -> Vec<FileRef> {
    let mut found = Vec::new();
    Candidates {
        line,
        locals: true,
        vars: true,
        below_names: false,
        found: &mut found,
    }
    .visit_expr(expr);
    found
}

/// Collects the paths written inside an expression strata cannot resolve: templates that
/// start with `${path.module}`, `${path.root}` or `${path.cwd}`, literals that start with
/// `./` or `../` (relative to the root module, as terraform reads them), and (with
/// `locals`) the locals it names (`local.paths[var.type]`), and (with `vars`) the variables
/// it names, whose defaults may be paths (see [`VAR_PREFIX`]). Other plain literals are not
/// paths here: too many are names.
struct Candidates<'a> {
    line: usize,
    locals: bool,
    vars: bool,
    /// Also a template led by a local or a variable and continued by a path
    /// (`"${local.src}/fn"`, `"${var.dir}/app.py"`), which is written as a path below what
    /// the local or the variable's default holds: read so in what is handed to a module or
    /// a provider (`source_path = [{ path = "${local.src}/fn" }]`), where names so written
    /// are rare.
    below_names: bool,
    found: &'a mut Vec<FileRef>,
}

/// A variable whose default is a path-like string (it holds a `/`) is recorded as a
/// candidate local named `var.<name>`, which no local can be named: a file read or a chart
/// that names the variable may read its default (`file(var.policy_file)`,
/// `chart = var.chart`). A value given by a caller or a tfvars file is not known here.
pub(crate) const VAR_PREFIX: &str = "var.";

/// The candidate fact for `variable "name" { default = "<text>" }`: a default that holds a
/// `/` may be a path.
pub(crate) fn variable_default(name: &str, default: &str) -> Option<PathLocal> {
    default.contains('/').then(|| PathLocal {
        name: format!("{VAR_PREFIX}{name}"),
        base: PathBase::of_literal(default),
        path: default.to_string(),
        candidate: true,
    })
}

/// The candidate facts for a variable whose default is a list or a map
/// (`default = ["./a.json", "../shared/b.json"]`): each relative path written in it, as the
/// local `var.<name>` (see [`VAR_PREFIX`]), which `for_each = var.<name>` hands to a module.
pub(super) fn variable_candidates(name: &str, default: &Expression) -> Vec<PathLocal> {
    if candidate_form(default) != Some(false) {
        return Vec::new();
    }
    let mut found = Vec::new();
    Candidates {
        line: 0,
        locals: false,
        vars: false,
        below_names: false,
        found: &mut found,
    }
    .visit_expr(default);
    found
        .into_iter()
        .map(|r| PathLocal {
            name: format!("{VAR_PREFIX}{name}"),
            base: r.base,
            path: r.path,
            candidate: true,
        })
        .collect()
}

/// The candidate facts for the defaults a variable's `type` gives its attributes
/// (`object({ source_dir = optional(string, "../src") })`): each read as a default of the
/// variable, since an element of it may hold one (`var.cfg.source_dir`).
pub(super) fn type_defaults(name: &str, ty: &Expression) -> Vec<PathLocal> {
    struct Optionals(Vec<Expression>);
    impl Visit for Optionals {
        fn visit_func_call(&mut self, call: &FuncCall) {
            if !call.name.is_namespaced() && call.name.name.as_str() == "optional" {
                if let Some(default) = call.args.iter().nth(1) {
                    self.0.push(default.clone());
                }
            }
            visit_func_call(self, call);
        }
    }
    let mut optionals = Optionals(Vec::new());
    optionals.visit_expr(ty);
    optionals
        .0
        .iter()
        .flat_map(|default| match default {
            Expression::String(s) => variable_default(name, s.as_str()).into_iter().collect(),
            value => variable_candidates(name, value),
        })
        .collect()
}

/// [`type_defaults`] of a type given as text (the fast scanner's way to the same facts):
/// `None` when the text is not one expression.
pub(super) fn type_defaults_of_text(name: &str, ty: &str) -> Option<Vec<PathLocal>> {
    let expr = hcl_edit::parser::parse_expr(ty).ok()?;
    Some(type_defaults(name, &expr))
}

/// [`variable_candidates`] of a default given as text (the fast scanner's way to the same
/// facts): `None` when the text is not one expression.
pub(super) fn variable_candidates_of_text(name: &str, default: &str) -> Option<Vec<PathLocal>> {
    let expr = hcl_edit::parser::parse_expr(default).ok()?;
    Some(variable_candidates(name, &expr))
}

impl Candidates<'_> {
    fn push(&mut self, base: PathBase, path: String) {
        self.found.push(FileRef {
            function: String::new(),
            base,
            path,
            pattern: None,
            dynamic_tail: true,
            candidate: true,
            line: self.line,
            tail_local: None,
        });
    }
}

impl Visit for Candidates<'_> {
    fn visit_for_template_expr(&mut self, node: &ForTemplateExpr) {
        visit_for_directive_fully(self, node);
    }

    fn visit_expr(&mut self, expr: &Expression) {
        // A file function's value is the file's content, not a path (its own argument is
        // a read of its own, found by the file-reference visitor).
        if let Expression::FuncCall(call) = expr {
            if !call.name.is_namespaced() && FILE_FUNCTIONS.contains(&call.name.name.as_str()) {
                return;
            }
        }
        if let Some(path) = relative_literal_path(expr) {
            self.push(PathBase::Root, path);
            return;
        }
        // A conditional's value is one of its branches; its condition is no path.
        if let Expression::Conditional(c) = expr {
            self.visit_expr(&c.true_expr);
            self.visit_expr(&c.false_expr);
            return;
        }
        // `format("%s/x.json", path.module)` or `join("/", [path.module, "x.json"])`, read as
        // `"${path.module}/x.json"` is.
        if let Some((base @ (PathBase::Module | PathBase::Root), path, _)) = built_path(expr) {
            let relative = is_relative_path(&path);
            if base == PathBase::Module || path.starts_with('/') || relative {
                self.push(base, path);
                return;
            }
        }
        if let Expression::StringTemplate(t) = expr {
            if let Some(Element::Interpolation(i)) = t.iter().next() {
                if let Some(base @ (PathBase::Module | PathBase::Root)) = path_variable(&i.expr) {
                    if let Some((_, path, _)) = static_path(expr) {
                        self.push(base, path);
                        return;
                    }
                }
            }
            if self.below_names {
                if let Some((base @ PathBase::Local(_), path, _)) = static_path(expr) {
                    if path.starts_with('/') {
                        self.push(base, path);
                        return;
                    }
                }
                if let Some((var, path, _)) = below_variable(expr) {
                    self.push(PathBase::Local(format!("{VAR_PREFIX}{var}")), path);
                    return;
                }
            }
        }
        // What is handed to a module or a provider under a name that says it is a path,
        // inside an object (`bundle_config = { path = var.source_dir }`): every path the
        // local or variable named may hold, as for such a name at the top.
        if let (true, Expression::Object(object)) = (self.below_names, expr) {
            for (key, value) in object.iter() {
                let key = match key {
                    hcl_edit::expr::ObjectKey::Ident(ident) => ident.as_str(),
                    hcl_edit::expr::ObjectKey::Expression(Expression::String(s)) => s.as_str(),
                    hcl_edit::expr::ObjectKey::Expression(key) => {
                        self.visit_expr(key);
                        ""
                    }
                };
                let named = named_path_arg(key, value.expr(), self.line);
                let alone = !named.is_empty()
                    && (iterated_name(value.expr()).is_some()
                        || element_of(value.expr()).is_some());
                self.found.extend(named);
                if !alone {
                    self.visit_expr(value.expr());
                }
            }
            return;
        }
        if let Expression::Traversal(t) = expr {
            if let (Expression::Variable(v), Some(first)) = (&t.expr, t.operators.first()) {
                match (v.as_str(), &**first) {
                    ("local", TraversalOperator::GetAttr(name)) if self.locals => {
                        self.push(PathBase::Local(name.as_str().to_string()), String::new());
                    }
                    ("var", TraversalOperator::GetAttr(name)) if self.vars => {
                        let local = format!("{VAR_PREFIX}{}", name.as_str());
                        self.push(PathBase::Local(local), String::new());
                    }
                    _ => {}
                }
            }
        }
        hcl_edit::visit::visit_expr(self, expr);
    }
}

/// A path written relative to the working directory (the root module's): a literal, or a
/// template led by one, that starts with `./` or `../`, which no name does.
fn relative_literal_path(expr: &Expression) -> Option<String> {
    let (base, path, _) = static_path(expr)?;
    (base == PathBase::Root && is_relative_path(&path)).then_some(path)
}

fn literal(expr: &Expression) -> Option<String> {
    match expr {
        Expression::String(s) => Some(s.as_str().to_string()),
        Expression::StringTemplate(t) => {
            let mut out = String::new();
            for element in t.iter() {
                out.push_str(&literal_element(element)?);
            }
            Some(out)
        }
        _ => None,
    }
}

/// A template's part when it is written text: a literal, or an interpolation of a string
/// written out (`"${path.module}/${"../shared"}/x"`, a nested template literal).
fn literal_element(element: &Element) -> Option<String> {
    match element {
        Element::Literal(l) => Some(l.as_str().to_string()),
        Element::Interpolation(i) => literal(&i.expr),
        Element::Directive(_) => None,
    }
}

/// A path written relative to its module's directory, wholly static: a literal (`"../a/x"`)
/// or one led by `${path.module}` (`"${path.module}/../a/x"`, given as `./../a/x`).
pub fn module_relative_path(expr: &Expression) -> Option<String> {
    match static_path(expr)? {
        (PathBase::Module, path, false) => Some(format!(".{path}")),
        (PathBase::Root, path, false) if path.starts_with('/') => Some(format!(".{path}")),
        (PathBase::Root, path, false) if !path.is_empty() => Some(path),
        _ => None,
    }
}

/// `"x/y"`, `"${path.module}/x"`, `"${local.dir}/x"`, with `true` when a computed part
/// follows the static prefix; `None` when nothing static leads the path.
fn static_path(expr: &Expression) -> Option<(PathBase, String, bool)> {
    if let Some(s) = literal(expr) {
        return Some((PathBase::of_literal(&s), s, false));
    }
    // A path variable on its own: `templatefile(local.tpl, {})`, `fileset(path.module, ...)`.
    if let Some(base) = path_variable(expr) {
        return Some((base, String::new(), false));
    }
    let Expression::StringTemplate(t) = expr else {
        return None;
    };
    let mut elements = t.iter().peekable();
    let base = match elements.peek()? {
        Element::Interpolation(i) if literal(&i.expr).is_none() => {
            let base = path_variable(&i.expr)?;
            elements.next();
            base
        }
        first => PathBase::of_literal(&literal_element(first)?),
    };
    let mut rest = String::new();
    for element in elements {
        match literal_element(element) {
            Some(text) => rest.push_str(&text),
            None => return Some((base, rest, true)),
        }
    }
    Some((base, rest, false))
}

/// A path built by a function, read as the template it stands for: by `format` (see
/// [`formatted_path`]) or by `join` (see [`joined_path`]).
fn built_path(expr: &Expression) -> Option<(PathBase, String, bool)> {
    formatted_path(expr).or_else(|| joined_path(expr))
}

/// A path built by `join` (`join("/", [path.module, "files", "a.txt"])`), read as the
/// template it stands for (`"${path.module}/files/a.txt"`) is by [`static_path`]: the first
/// element gives the base (a path variable or a local, else a literal that starts the
/// path), each later literal element follows the separator, and the first computed element
/// ends the static path with a computed tail (after its separator).
fn joined_path(expr: &Expression) -> Option<(PathBase, String, bool)> {
    let Expression::FuncCall(call) = unwrapped(expr) else {
        return None;
    };
    if call.name.is_namespaced() || call.name.name.as_str() != "join" || call.args.len() != 2 {
        return None;
    }
    let mut args = call.args.iter();
    let separator = literal(args.next()?)?;
    let Expression::Array(items) = args.next()? else {
        return None;
    };
    let mut items = items.iter();
    let first = items.next()?;
    let (base, mut path) = match literal(first) {
        Some(text) => (PathBase::of_literal(&text), text),
        None => (path_variable(first)?, String::new()),
    };
    for item in items {
        path.push_str(&separator);
        match literal(item) {
            Some(text) => path.push_str(&text),
            None => return Some((base, path, true)),
        }
    }
    Some((base, path, false))
}

/// A path built by `format` (`format("%s/../shared/x.json", path.module)`), read as the
/// template it stands for (`"${path.module}/../shared/x.json"`) is by [`static_path`]: a
/// specification that starts with a verb takes its base from the first value (a path
/// variable or a local, else `None`), one that starts with text from that text; a later
/// `%s` or `%v` whose value is written as a literal string is that string
/// (`format("%s/%s", path.module, "../shared/x.json")`), and any other verb ends the static
/// path with a computed tail. `%%` is a `%`.
fn formatted_path(expr: &Expression) -> Option<(PathBase, String, bool)> {
    let Expression::FuncCall(call) = unwrapped(expr) else {
        return None;
    };
    if call.name.is_namespaced() || call.name.name.as_str() != "format" {
        return None;
    }
    let mut args = call.args.iter();
    let spec = literal(args.next()?)?;
    let (base, text) = match spec.strip_prefix("%s").or_else(|| spec.strip_prefix("%v")) {
        Some(text) => (path_variable(args.next()?)?, text),
        None if spec.starts_with('%') && !spec.starts_with("%%") => return None,
        None => (PathBase::of_literal(&spec), spec.as_str()),
    };
    let mut path = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            path.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => path.push('%'),
            Some('s' | 'v') => match args.next().and_then(literal) {
                Some(value) => path.push_str(&value),
                None => return Some((base, path, true)),
            },
            _ => return Some((base, path, true)),
        }
    }
    Some((base, path, false))
}

/// The local (or the variable, as `var.<name>`) a path template's computed part starts with,
/// when that part is the local on its own (see `FileRef::tail_local`): the element after the static prefix that
/// [`static_path`] reads.
fn tail_local(expr: &Expression) -> Option<String> {
    let Expression::StringTemplate(t) = expr else {
        return None;
    };
    let mut elements = t.iter().peekable();
    if let Some(Element::Interpolation(i)) = elements.peek() {
        path_variable(&i.expr)?;
        elements.next();
    }
    let first_computed = elements.find(|e| literal_element(e).is_none())?;
    let Element::Interpolation(i) = first_computed else {
        return None;
    };
    // A variable: its default, where that may be a path (see [`VAR_PREFIX`]).
    if let Some(var) = variable_name(&i.expr) {
        return Some(format!("{VAR_PREFIX}{var}"));
    }
    match path_variable(&i.expr)? {
        PathBase::Local(name) => Some(name),
        _ => None,
    }
}

fn path_variable(expr: &Expression) -> Option<PathBase> {
    // `abspath(path.root)` names the same directory, written out in full.
    if let Expression::FuncCall(call) = expr {
        if !call.name.is_namespaced()
            && call.name.name.as_str() == "abspath"
            && call.args.len() == 1
        {
            return path_variable(call.args.iter().next()?)
                .filter(|b| matches!(b, PathBase::Module | PathBase::Root));
        }
        return None;
    }
    let Expression::Traversal(t) = expr else {
        return None;
    };
    let Expression::Variable(v) = &t.expr else {
        return None;
    };
    if t.operators.len() != 1 {
        return None;
    }
    let TraversalOperator::GetAttr(attr) = &*t.operators[0] else {
        return None;
    };
    match (v.as_str(), attr.as_str()) {
        ("path", "module") => Some(PathBase::Module),
        ("path", "root" | "cwd") => Some(PathBase::Root),
        ("local", name) => Some(PathBase::Local(name.to_string())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_sources_that_can_move_under_the_same_address() {
        let floating = |source: &str| {
            ModuleCall {
                name: "m".into(),
                source: source.into(),
                line: 1,
            }
            .is_floating()
        };
        let sha = "0123456789abcdef0123456789abcdef01234567";
        for moving in [
            "git::https://example.com/m.git?ref=main",
            "git::https://example.com/m.git?ref=v1.2.0",
            "git::https://example.com/m.git",
            "github.com/acme/m",
            "git@github.com:acme/m.git?ref=v1",
            "https://example.com/m.git",
            "https://example.com/m.zip",
            "s3::https://s3.amazonaws.com/b/m.zip",
            "hg::https://example.com/m",
        ] {
            assert!(floating(moving), "{moving}");
        }
        for fixed in [
            "../modules/vpc",
            "./m",
            "terraform-aws-modules/vpc/aws",
            "app.terraform.io/acme/vpc/aws",
        ] {
            assert!(!floating(fixed), "{fixed}");
        }
        assert!(!floating(&format!(
            "git::https://example.com/m.git?ref={sha}"
        )));
        assert!(!floating(&format!("github.com/acme/m?depth=1&ref={sha}")));
    }

    #[test]
    fn backend_blocks() {
        let text = "variable \"x\" {}\n\nterraform {\n  required_version = \">= 1.0\"\n  backend \"s3\" {\n    bucket = \"b\"\n    key    = \"k\"\n  }\n}\n";
        let b = backend_block(text, false).unwrap();
        assert_eq!(b.kind, "s3");
        assert_eq!(b.line, 5);
        assert!(b.text.starts_with("backend \"s3\" {"), "{}", b.text);
        assert!(b.text.contains("key    = \"k\""));
        assert_eq!(
            backend_block("terraform {\n  required_version = \"1\"\n}\n", false),
            None
        );
        assert_eq!(backend_block("# backend \"s3\"\n", false), None);
        let json = r#"{"terraform": {"backend": {"gcs": {"bucket": "b", "prefix": "p"}}}}"#;
        let b = backend_block(json, true).unwrap();
        assert_eq!(b.kind, "gcs");
        assert!(b.text.contains("prefix = \"p\""));
    }

    #[test]
    fn finds_local_and_remote_modules_with_lines() {
        let tf = r#"
module "vpc" {
  source = "../../modules/vpc"
  cidr   = var.cidr
}

module "remote" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "5.0.0"
}
"#;
        let facts = parse_tf(tf, "main.tf").unwrap();
        assert_eq!(facts.modules.len(), 2);
        assert_eq!(facts.modules[0].source, "../../modules/vpc");
        assert_eq!(facts.modules[0].line, 3);
        assert!(facts.modules[0].is_local());
        assert!(!facts.modules[1].is_local());
    }

    #[test]
    fn finds_static_file_references() {
        let tf = r#"
locals {
  a = file("${path.module}/../../shared/a.json")
  b = templatefile("templates/b.tpl", { x = 1 })
  c = [for f in fileset("${path.module}/../../shared/dash", "*.json") : file("${path.module}/../../shared/dash/${f}")]
  d = file(var.path)
  shared = "${path.module}/../../shared"
  e = file("${local.shared}/e.txt")
}
"#;
        let facts = parse_tf(tf, "main.tf").unwrap();
        let refs: Vec<_> = facts
            .file_refs
            .iter()
            .map(|r| {
                (
                    r.function.as_str(),
                    r.base.clone(),
                    r.path.as_str(),
                    r.dynamic_tail,
                    r.line,
                )
            })
            .collect();
        assert_eq!(
            refs,
            vec![
                ("file", PathBase::Module, "/../../shared/a.json", false, 3),
                ("templatefile", PathBase::Root, "templates/b.tpl", false, 4),
                ("fileset", PathBase::Module, "/../../shared/dash", false, 5),
                ("file", PathBase::Module, "/../../shared/dash/", true, 5),
                // What `var.path` may hold: its default, if that may be a path.
                ("file", PathBase::Local("var.path".into()), "", true, 6),
                ("file", PathBase::Local("shared".into()), "/e.txt", false, 8),
            ]
        );
        assert_eq!(facts.file_refs[2].pattern.as_deref(), Some("*.json"));
        // `file(var.path)` cannot be resolved at all.
        assert_eq!(facts.unresolved_refs, vec![6]);
        assert_eq!(
            facts.path_locals,
            vec![PathLocal {
                name: "shared".into(),
                base: PathBase::Module,
                path: "/../../shared".into(),
                candidate: false,
            }]
        );
    }

    #[test]
    fn syntax_error_names_line() {
        let err = parse_tf(
            "variable \"a\" {\n  type = string\n\n  default = \n}\n",
            "x.tf",
        )
        .unwrap_err();
        assert_eq!(err.location().unwrap().file, "x.tf");
        assert!(err.location().unwrap().line.unwrap() >= 4, "{err:?}");
    }

    #[test]
    fn json_modules() {
        let json = r#"{"module": {"net": {"source": "../../modules/vpc"}}}"#;
        let facts = parse_tf_json(json, "main.tf.json").unwrap();
        assert_eq!(facts.modules[0].source, "../../modules/vpc");
    }

    #[test]
    fn json_syntax_file_reads_path_locals_and_helm_charts() {
        let json = r#"{
          "locals": {"tpl_dir": "${path.module}/../shared/templates"},
          "resource": {
            "aws_instance": {"web": {
              "user_data": "${file(\"${path.module}/../../shared/user_data.sh\")}",
              "tags": {"Note": "say \"hi\" \\ $${not.a.reference}"}
            }},
            "helm_release": {"web": [{"name": "web", "chart": "../../charts/web"}]}
          },
          "output": {"motd": {"value": "${templatefile(\"${local.tpl_dir}/motd.tpl\", {})}"}}
        }"#;
        let facts = parse_tf_json(json, "main.tf.json").unwrap();
        let reads: Vec<(&str, &PathBase, &str)> = facts
            .file_refs
            .iter()
            .map(|r| (r.function.as_str(), &r.base, r.path.as_str()))
            .collect();
        assert!(
            reads.contains(&("file", &PathBase::Module, "/../../shared/user_data.sh")),
            "{reads:?}"
        );
        assert!(
            reads.iter().any(|(f, b, p)| *f == "templatefile"
                && matches!(b, PathBase::Local(n) if n == "tpl_dir")
                && *p == "/motd.tpl"),
            "{reads:?}"
        );
        assert_eq!(facts.path_locals[0].name, "tpl_dir");
        assert_eq!(facts.chart_refs.len(), 1, "{:?}", facts.chart_refs);
        assert_eq!(facts.chart_refs[0].path, "../../charts/web");
        assert!(
            facts.unresolved_refs.is_empty(),
            "{:?}",
            facts.unresolved_refs
        );
    }
}
