//! conftest's evaluation of a policy over input documents.
//!
//! For each input file, each selected namespace (package) and each document of the file:
//! 1. the rules of that package whose names are failure, warning (or strata's unknown)
//!    names are queried once per distinct name, in the order they are defined;
//! 2. before a rule is queried, `data.<ns>.exception[_][_] == "<short name>"` is; each
//!    solution is one exception, and a rule with any exception produces nothing else;
//! 3. a rule's value counts as conftest reads it: in a set or an array, a non-empty string
//!    or an object with a non-empty string `msg` is a failure (deny, violation) or a warning
//!    (warn); `""`, an object whose `msg` is `""` and an empty collection are passes; other
//!    elements are ignored; any other value (`true` from `deny if ...`, a string, a number,
//!    an object) is one pass; an undefined rule gives nothing. An object without a string
//!    `msg` is an error;
//! 4. when fewer results were found than the package has rule definitions, the difference
//!    is added to the passes (conftest's padding), so every definition counts as a test.
//!
//! A failing builtin call makes its expression undefined (conftest's default) unless
//! builtin errors are shown, in which case it is an error.

use crate::rego::{exception_name, rule_outcome, Loaded, Outcome, RuleDef};
use crate::{data, Error, Finding, InputFile, Shape};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use strata_graph::model::policy_meta::PolicyMeta;

/// conftest's tallies: `T tests, P passed, W warnings, F failures, E exceptions`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub tests: usize,
    pub passed: usize,
    pub warnings: usize,
    pub failures: usize,
    pub exceptions: usize,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.tests += o.tests;
        self.passed += o.passed;
        self.warnings += o.warnings;
        self.failures += o.failures;
        self.exceptions += o.exceptions;
    }
}

impl std::fmt::Display for Counts {
    /// conftest's summary line: a plural `s` is dropped when a count is exactly 1.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = |n: usize| if n == 1 { "" } else { "s" };
        write!(
            f,
            "{} test{}, {} passed, {} warning{}, {} failure{}, {} exception{}",
            self.tests,
            s(self.tests),
            self.passed,
            self.warnings,
            s(self.warnings),
            self.failures,
            s(self.failures),
            self.exceptions,
            s(self.exceptions)
        )
    }
}

/// A rule skipped for a document because an `exception` names it (one per solution of the
/// exception query, as conftest counts them).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExceptionHit {
    pub policy: String,
    pub namespace: String,
    pub rule: String,
    pub file: Option<String>,
    /// The query that matched: `data.main.exception[_][_] == "run_as_root"`.
    pub query: String,
}

/// What evaluating a policy over some inputs gave.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Evaluation {
    pub findings: Vec<Finding>,
    pub exceptions: Vec<ExceptionHit>,
    pub counts: Counts,
    /// Things worth knowing that are not findings (a namespace that matches no package).
    pub warnings: Vec<String>,
}

impl Evaluation {
    pub fn extend(&mut self, other: Evaluation) {
        self.findings.extend(other.findings);
        self.exceptions.extend(other.exceptions);
        self.counts += other.counts;
        for w in other.warnings {
            if !self.warnings.contains(&w) {
                self.warnings.push(w);
            }
        }
    }
}

/// The rules of one namespace that are queried.
#[derive(Debug, Clone)]
struct Namespace {
    name: String,
    /// Distinct rule names, in definition order, with the first definition.
    rules: Vec<(String, Outcome, RuleDef)>,
    /// Definitions of failure and warning rules (conftest's padding counts them).
    definitions: usize,
    /// The first `exception` definition, if the package has one.
    exception: Option<RuleDef>,
}

/// A policy (a directory of Rego), loaded and ready to evaluate.
#[derive(Clone)]
pub struct Policy {
    pub label: String,
    loaded: Loaded,
    namespaces: Vec<Namespace>,
    shape: Shape,
    show_builtin_errors: bool,
    /// The data documents, merged (`data`, without `strata` and `conftest.file`).
    data: serde_json::Map<String, Value>,
    warnings: Vec<String>,
}

/// How a policy is read: from policy.toml, plus what a command line adds.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub namespaces: Vec<String>,
    pub all_namespaces: bool,
    pub rego_v0: bool,
    pub shape: Shape,
    pub show_builtin_errors: bool,
}

impl Options {
    pub fn from_meta(meta: &PolicyMeta) -> Options {
        Options {
            namespaces: meta.namespaces.clone(),
            all_namespaces: meta.all_namespaces,
            rego_v0: meta.rego_version == "v0",
            shape: Shape::named(&meta.input_shape),
            show_builtin_errors: meta.show_builtin_errors,
        }
    }
}

/// `*`, `?` and `[...]` make a namespace a pattern (conftest's `--namespace` globs, Go's
/// `path.Match`, where `*` also matches dots: see [`crate::namespace`]). When one of them is
/// a pattern, all are (as in conftest, `c\a` then matches `ca`); otherwise they are names.
fn is_pattern(ns: &str) -> bool {
    ns.contains(['*', '?', '['])
}

/// Refuses a policy that imports a package none of its files defines and no data document
/// provides: every rule using it would be undefined and never fire (conftest loads every
/// `.rego` file below `--policy`; in strata a subdirectory holding `.rego` files is a policy
/// of its own, so a library kept there is not part of the policy importing it).
fn check_imports(
    label: &str,
    files: &[(String, String)],
    packages: &[String],
    data: &serde_json::Map<String, Value>,
) -> Result<(), Error> {
    for (path, text) in files {
        for (i, line) in text.lines().enumerate() {
            let Some(rest) = line.trim_start().strip_prefix("import ") else {
                continue;
            };
            let Some(imported) = rest
                .split_whitespace()
                .next()
                .and_then(|r| r.strip_prefix("data."))
            else {
                continue;
            };
            let first = imported.split('.').next().unwrap_or(imported);
            // `data.conftest` and `data.strata` are given at evaluation time.
            let defined = first == "conftest"
                || first == "strata"
                || data.contains_key(first)
                || packages.iter().any(|p| {
                    p == imported
                        || p.starts_with(&format!("{imported}."))
                        || imported.starts_with(&format!("{p}."))
                });
            if !defined {
                return Err(Error::in_file(
                    path,
                    Some(u32::try_from(i + 1).unwrap_or(u32::MAX)),
                    format!(
                        "imports data.{imported}, which no file or data document of {label} defines: the rules using it would never fire"
                    ),
                )
                .with_hint("keep a policy's libraries in its own directory (a subdirectory holding .rego files is a policy of its own), or give the data with `data = [...]` in policy.toml or `--data`"));
            }
        }
    }
    Ok(())
}

/// Warnings for rules that can never be reported: a rule named almost as conftest's (one
/// letter apart, `denny`, `dney` is two; a plural, `violations`; another case, `Deny`;
/// `deny_` or `deny__x`), and selected namespaces that hold no rule strata reports at all,
/// so the policy finds nothing. Helpers that only start like one (`denylist`,
/// `warnings_enabled`) are not named.
fn nothing_to_find(label: &str, rules: &[RuleDef], namespaces: &[Namespace]) -> Vec<String> {
    let mut out = Vec::new();
    for ns in namespaces {
        for r in rules.iter().filter(|r| r.package == ns.name) {
            let lower = r.name.to_ascii_lowercase();
            let near = ["deny", "warn", "violation"].iter().any(|k| {
                edits_apart(&lower, k) <= 1
                    || lower.strip_suffix('s') == Some(k)
                    || lower
                        .strip_prefix(k)
                        .is_some_and(|rest| rest.starts_with('_'))
            });
            if near && rule_outcome(&r.name).is_none() {
                let said = format!(
                    "{}:{}: rule `{}` is not one conftest counts (`deny`, `warn`, `violation`, alone or followed by `_` and a name): it is never reported",
                    r.file, r.line, r.name
                );
                if !out.contains(&said) {
                    out.push(said);
                }
            }
        }
    }
    if !namespaces.is_empty() && namespaces.iter().all(|n| n.rules.is_empty()) {
        let names: Vec<&str> = namespaces.iter().map(|n| n.name.as_str()).collect();
        out.push(format!(
            "{label}: namespace {} holds no deny, warn or violation rule: the policy can find nothing",
            names.join(", ")
        ));
    }
    out
}

/// Whether two short names are one insertion, deletion or substitution apart (1), equal
/// (0), or further (2).
fn edits_apart(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a == b {
        return 0;
    }
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if long.len() - short.len() > 1 {
        return 2;
    }
    let prefix = short.iter().zip(long).take_while(|(x, y)| x == y).count();
    let one = if short.len() == long.len() {
        short[prefix + 1..] == long[prefix + 1..]
    } else {
        short[prefix..] == long[prefix + 1..]
    };
    if one {
        1
    } else {
        2
    }
}

impl Policy {
    /// The packages the policy evaluates (its namespaces), each with the rules its findings
    /// come from: (package, rule).
    pub fn rule_names(&self) -> impl Iterator<Item = (&str, &str)> {
        self.namespaces.iter().flat_map(|n| {
            n.rules
                .iter()
                .map(move |(rule, _, _)| (n.name.as_str(), rule.as_str()))
        })
    }

    /// The packages the policy evaluates.
    pub fn packages(&self) -> impl Iterator<Item = &str> {
        self.namespaces.iter().map(|n| n.name.as_str())
    }

    /// What loading found worth a warning (a namespace that matches no package, a rule
    /// named almost as conftest's, a policy that can find nothing).
    pub fn load_warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Whether the policy can find nothing: its namespaces hold no `deny`, `warn` or
    /// `violation` rule (a directory of tests only, say).
    pub fn finds_nothing(&self) -> bool {
        self.namespaces.iter().all(|n| n.rules.is_empty())
    }

    /// Loads a policy: `files` are its Rego sources (tests excluded), `data` its data
    /// documents.
    pub fn load(
        label: &str,
        files: &[(String, String)],
        data: &[data::DataFile],
        options: &Options,
    ) -> Result<Policy, Error> {
        let loaded = Loaded::load(files, options.rego_v0)?;
        let mut data = data::merge(data)?;
        check_imports(label, files, &loaded.packages, &data)?;
        // conftest sets `data.conftest.file` itself, over anything a data file says.
        if let Some(Value::Object(c)) = data.get_mut("conftest") {
            c.remove("file");
        }
        let mut warnings: Vec<String> = loaded
            .not_rewritten
            .iter()
            .map(|file| format!("{file}: strata could not rewrite it to be read as OPA reads it (see docs/policy.md, heads that iterate and calls inside `not`): it is evaluated as written, where a failing call inside `not` or a `some .. in` over no collection may differ from conftest; please report it"))
            .collect();
        let selected: Vec<String> = if options.all_namespaces {
            loaded.packages.clone()
        } else if options.namespaces.iter().any(|n| is_pattern(n)) {
            let mut globs = Vec::new();
            for n in &options.namespaces {
                let g = crate::namespace::Pattern::parse(n).map_err(|_| {
                    Error::new(format!("{label}: namespace pattern `{n}` is not a valid pattern"))
                        .with_hint("use `*`, `?`, `[...]` (`[^...]` for none of) and `\\` before a character meant as itself, as conftest's `--namespace`")
                })?;
                globs.push((n, g));
            }
            for (n, g) in &globs {
                if !loaded.packages.iter().any(|p| g.matches(p)) {
                    warnings.push(format!(
                        "{label}: namespace `{n}` matches no package of the policy"
                    ));
                }
            }
            loaded
                .packages
                .iter()
                .filter(|p| globs.iter().any(|(_, g)| g.matches(p)))
                .cloned()
                .collect()
        } else {
            let mut out: Vec<String> = Vec::new();
            for n in &options.namespaces {
                if !loaded.packages.contains(n) {
                    warnings.push(format!(
                        "{label}: namespace `{n}` matches no package of the policy"
                    ));
                } else if !out.contains(n) {
                    out.push(n.clone());
                }
            }
            out
        };
        let namespaces: Vec<Namespace> = selected
            .into_iter()
            .map(|name| {
                let defs: Vec<&RuleDef> =
                    loaded.rules.iter().filter(|r| r.package == name).collect();
                let mut rules: Vec<(String, Outcome, RuleDef)> = Vec::new();
                let mut definitions = 0;
                for d in &defs {
                    let Some(outcome) = rule_outcome(&d.name) else {
                        continue;
                    };
                    if outcome != Outcome::Unknown {
                        definitions += 1;
                    }
                    if !rules.iter().any(|(n, _, _)| *n == d.name) {
                        rules.push((d.name.clone(), outcome, (*d).clone()));
                    }
                }
                let exception = defs
                    .iter()
                    .find(|d| d.name == "exception")
                    .map(|d| (*d).clone());
                Namespace {
                    name,
                    rules,
                    definitions,
                    exception,
                }
            })
            .collect();
        warnings.extend(nothing_to_find(label, &loaded.rules, &namespaces));
        Ok(Policy {
            label: label.to_string(),
            loaded,
            namespaces,
            shape: options.shape,
            show_builtin_errors: options.show_builtin_errors,
            data,
            warnings,
        })
    }

    /// The Terraform shape this policy reads.
    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// Evaluates the policy over each input file; `context` becomes `data.strata`.
    pub fn evaluate(&self, inputs: &[InputFile], context: &Value) -> Result<Evaluation, Error> {
        let mut engine = self.loaded.engine.clone();
        engine.set_strict_builtin_errors(self.show_builtin_errors);
        self.loaded.v0_strict.set(self.show_builtin_errors);
        let mut out = Evaluation {
            warnings: self.warnings.clone(),
            ..Evaluation::default()
        };
        // Setting data makes the engine prepare the policy again: do it per file only for
        // policies that read `data.conftest`.
        let per_file = self.loaded.reads_conftest_data;
        if !per_file {
            self.set_data(&mut engine, context, None)?;
        }
        // Exceptions a data document gives (`main: {exception: [[latest]]}` in a `--data`
        // file): conftest queries `data.<ns>.exception` whatever defines it. Asked once,
        // of the namespaces without an `exception` rule.
        let mut from_data: Option<Vec<bool>> = None;
        for file in inputs {
            if per_file {
                self.set_data(&mut engine, context, file.info.as_ref())?;
            }
            let from_data = match &from_data {
                Some(f) => f.clone(),
                None => {
                    let found: Vec<bool> = self
                        .namespaces
                        .iter()
                        .map(|ns| {
                            ns.exception.is_none()
                                && engine
                                    .eval_query(format!("data.{}.exception", ns.name), false)
                                    .is_ok_and(|r| !r.result.is_empty())
                        })
                        .collect();
                    from_data = Some(found.clone());
                    found
                }
            };
            let docs = file.documents(self.shape);
            let before = out.findings.len();
            for (ns, &data_exception) in self.namespaces.iter().zip(&from_data) {
                for (k, doc) in docs.iter().enumerate() {
                    engine.set_input(doc.clone());
                    let line = file.lines.get(k).copied().flatten();
                    self.check(
                        &mut engine,
                        ns,
                        data_exception,
                        file.path.as_deref(),
                        line,
                        &mut out,
                    )?;
                }
            }
            if !file.blocks.is_empty() {
                locate_in_module(&mut out.findings[before..], &file.blocks);
            }
        }
        Ok(out)
    }

    /// conftest's `--combine`: every document of every file in one input, an array of
    /// `{"path": ..., "contents": ...}` sorted by path, evaluated once per namespace.
    pub fn evaluate_combined(
        &self,
        inputs: &[InputFile],
        context: &Value,
        dir: &str,
        shown: &dyn Fn(&str) -> String,
    ) -> Result<Evaluation, Error> {
        let mut entries: Vec<(String, regorus::Value)> = Vec::new();
        for file in inputs {
            let path = file.path.as_deref().map_or_else(|| "-".into(), shown);
            for doc in file.documents(self.shape) {
                entries.push((path.clone(), doc));
            }
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let items: Vec<regorus::Value> = entries
            .into_iter()
            .map(|(path, contents)| {
                let mut m = BTreeMap::new();
                m.insert(regorus::Value::from("path"), regorus::Value::from(path));
                m.insert(regorus::Value::from("contents"), contents);
                regorus::Value::from(m)
            })
            .collect();
        let combined = InputFile {
            path: None,
            info: Some(crate::FileInfo {
                name: "Combined".into(),
                dir: dir.to_string(),
            }),
            format: crate::input::Format::Json,
            documents: crate::Documents::Parsed(vec![regorus::Value::from(items)]),
            lines: Vec::new(),
            blocks: Vec::new(),
        };
        self.evaluate(std::slice::from_ref(&combined), context)
    }

    fn set_data(
        &self,
        engine: &mut regorus::Engine,
        context: &Value,
        info: Option<&crate::FileInfo>,
    ) -> Result<(), Error> {
        let mut data = self.data.clone();
        data.insert("strata".into(), context.clone());
        if let Some(info) = info {
            let file = serde_json::to_value(info).unwrap_or(Value::Null);
            match data
                .entry("conftest")
                .or_insert_with(|| Value::Object(Default::default()))
            {
                Value::Object(c) => {
                    c.insert("file".into(), file);
                }
                other => *other = serde_json::json!({ "file": file }),
            }
        }
        engine.clear_data();
        engine
            .add_data(regorus::Value::from(Value::Object(data)))
            .map_err(|e| Error::new(format!("{}: data: {e}", self.label)))
    }

    fn eval_error(&self, def: &RuleDef, query: &str, e: anyhow::Error) -> Error {
        let message = if self.show_builtin_errors {
            format!("{query}: built-in error: {e}")
        } else {
            format!("{query}: {e}")
        };
        Error::in_file(&def.file, Some(def.line), message)
    }

    /// One document, one namespace; `data_exception`: a data document gives the namespace
    /// its `exception`.
    fn check(
        &self,
        engine: &mut regorus::Engine,
        ns: &Namespace,
        data_exception: bool,
        file: Option<&str>,
        doc_line: Option<usize>,
        out: &mut Evaluation,
    ) -> Result<(), Error> {
        let mut counts = Counts::default();
        if let Some(def) = &ns.exception {
            self.check_exception_shape(engine, ns, def)?;
        }
        for (name, outcome, def) in &ns.rules {
            let exception = ns.exception.as_ref().or(data_exception.then_some(def));
            if let Some(exception) = exception {
                let short = exception_name(name);
                let query = format!(
                    "data.{}.exception[_][_] == {}",
                    ns.name,
                    serde_json::to_string(short).unwrap_or_default()
                );
                let hits = engine
                    .eval_query(query.clone(), false)
                    .map_err(|e| self.eval_error(exception, &query, e))?
                    .result
                    .len();
                if hits > 0 {
                    if *outcome != Outcome::Unknown {
                        counts.exceptions += hits;
                        for _ in 0..hits {
                            out.exceptions.push(ExceptionHit {
                                policy: self.label.clone(),
                                namespace: ns.name.clone(),
                                rule: name.clone(),
                                file: file.map(str::to_string),
                                query: query.clone(),
                            });
                        }
                    }
                    continue;
                }
            }
            let query = format!("data.{}.{}", ns.name, name);
            let value = engine
                .eval_rule(query.clone())
                .map_err(|e| self.eval_error(def, &query, e))?;
            let items = match &value {
                regorus::Value::Undefined => continue,
                regorus::Value::Set(_) | regorus::Value::Array(_) => {
                    match serde_json::to_value(&value) {
                        Ok(Value::Array(items)) => items,
                        _ => Vec::new(),
                    }
                }
                // `deny if ...`, `violation := "x"`, a number, an object: one pass.
                _ => {
                    if *outcome != Outcome::Unknown {
                        counts.passed += 1;
                    }
                    continue;
                }
            };
            if items.is_empty() && *outcome != Outcome::Unknown {
                counts.passed += 1;
            }
            for item in items {
                let (msg, details, at) = match item {
                    Value::String(s) => (s, Value::Null, None),
                    Value::Object(mut o) => {
                        let Some(Value::String(msg)) = o.remove("msg") else {
                            return Err(Error::in_file(
                                &def.file,
                                Some(def.line),
                                format!(
                                    "{query}: a result object must have a string `msg` field: {}",
                                    Value::Object(o)
                                ),
                            )
                            .with_hint(
                                "add `\"msg\": <message>` to the object the rule produces",
                            ));
                        };
                        let at = o.remove("_loc");
                        (msg, Value::Object(o), at)
                    }
                    // numbers, booleans, null, arrays: conftest ignores them.
                    _ => continue,
                };
                if msg.is_empty() {
                    if *outcome != Outcome::Unknown {
                        counts.passed += 1;
                    }
                    continue;
                }
                match outcome {
                    Outcome::Deny => counts.failures += 1,
                    Outcome::Warn => counts.warnings += 1,
                    Outcome::Unknown => {}
                }
                let severity = details
                    .get("severity")
                    .and_then(Value::as_str)
                    .filter(|s| strata_graph::manifest::SEVERITIES.contains(s))
                    .unwrap_or(match outcome {
                        Outcome::Deny => "critical",
                        _ => "info",
                    })
                    .to_string();
                let (loc_file, loc_line) = match &at {
                    Some(Value::Object(l)) => (
                        l.get("file").and_then(Value::as_str).map(str::to_string),
                        l.get("line").and_then(Value::as_u64).map(|n| n as usize),
                    ),
                    _ => (None, None),
                };
                out.findings.push(Finding {
                    policy: self.label.clone(),
                    namespace: ns.name.clone(),
                    rule: name.clone(),
                    outcome: *outcome,
                    msg,
                    severity,
                    // A finding on a document of a file it names no line in is at the
                    // document's start.
                    line: loc_line.or(if loc_file.is_none() { doc_line } else { None }),
                    file: loc_file.or_else(|| file.map(str::to_string)),
                    details,
                    waived_by: None,
                });
            }
        }
        let found = counts.passed + counts.failures + counts.warnings + counts.exceptions;
        if found < ns.definitions {
            counts.passed += ns.definitions - found;
        }
        counts.tests = counts.passed + counts.failures + counts.warnings + counts.exceptions;
        out.counts += counts;
        Ok(())
    }

    /// `exception` names rules in collections (`exception contains ["a"] if ...`); a bare
    /// string member (`exception contains "a" if ...`) never exempts anything in conftest,
    /// which rejects it when it can tell: strata always does.
    fn check_exception_shape(
        &self,
        engine: &mut regorus::Engine,
        ns: &Namespace,
        def: &RuleDef,
    ) -> Result<(), Error> {
        let query = format!("data.{}.exception", ns.name);
        let value = engine
            .eval_rule(query.clone())
            .map_err(|e| self.eval_error(def, &query, e))?;
        let members: Vec<Value> = match serde_json::to_value(&value) {
            Ok(Value::Array(items)) => items,
            Ok(Value::Object(o)) => o.into_iter().map(|(_, v)| v).collect(),
            _ => Vec::new(),
        };
        if let Some(s) = members.iter().find(|m| m.is_string()) {
            return Err(Error::in_file(
                &def.file,
                Some(def.line),
                format!("{query} holds the bare string {s}: exceptions are lists of rule names"),
            )
            .with_hint("write `exception contains rules if { ...; rules := [\"name\"] }`"));
        }
        Ok(())
    }
}

/// Points each finding of a module that names a block (`resource`) and has no location of
/// its own at that block, in the file that holds it: at `attribute` when the block sets it
/// once (set more than once, as `user_data` and `tags.user_data`, which one the finding is
/// about is not known here: the block's line, never another's). Of several blocks with one
/// address (a provider and its aliases), `provider.aws[1]` names the second; otherwise the
/// first that sets `attribute` is meant.
fn locate_in_module(findings: &mut [Finding], blocks: &[crate::hcl_input::BlockLocation]) {
    for f in findings {
        if f.line.is_some() {
            continue;
        }
        let Some(address) = f.details.get("resource").and_then(Value::as_str) else {
            continue;
        };
        let (address, index) = crate::block_index(address);
        let mut same: Vec<&crate::hcl_input::BlockLocation> =
            blocks.iter().filter(|b| b.address == address).collect();
        if let Some(n) = index {
            same = same.get(n).into_iter().copied().collect();
        }
        let Some(first) = same.first() else {
            continue;
        };
        let attribute = f.details.get("attribute").and_then(Value::as_str);
        let (block, line) = attribute
            .and_then(|a| {
                same.iter().find_map(|b| {
                    let mut lines = b.attributes.iter().filter(|(n, _)| n == a);
                    match (lines.next(), lines.next()) {
                        (Some((_, l)), None) => Some((*b, *l)),
                        (Some(_), Some(_)) => Some((*b, b.line)),
                        _ => None,
                    }
                })
            })
            .unwrap_or((first, first.line));
        f.file = Some(block.file.clone());
        f.line = Some(line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy(files: &[(&str, &str)], options: Options) -> Result<Policy, Error> {
        let files: Vec<(String, String)> = files
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect();
        Policy::load("policies/p", &files, &[], &options)
    }

    fn main_ns() -> Options {
        Options {
            namespaces: vec!["main".into()],
            ..Options::default()
        }
    }

    fn eval(p: &Policy, docs: Vec<Value>) -> Result<Evaluation, Error> {
        p.evaluate(
            &[InputFile::parsed(Some("in.yaml".into()), docs)],
            &json!({}),
        )
    }

    const V1: &str = r#"package main

import rego.v1

deny contains msg if {
	input.kind == "Deployment"
	not input.spec.template.spec.securityContext.runAsNonRoot
	msg := sprintf("%s must not run as root", [input.metadata.name])
}

deny_latest_tag contains msg if {
	some c in input.spec.template.spec.containers
	endswith(c.image, ":latest")
	msg := sprintf("%s uses a latest tag", [c.name])
}

violation contains {"msg": "replicas must be set", "id": "K8S-001", "severity": "medium"} if {
	input.kind == "Deployment"
	not input.spec.replicas
}

warn contains "prefer a PodDisruptionBudget" if input.kind == "Deployment"

exception contains rules if {
	input.metadata.name == "legacy"
	rules := ["latest_tag"]
}
"#;

    fn deployment(name: &str, image: &str) -> Value {
        json!({"kind": "Deployment", "metadata": {"name": name},
               "spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}})
    }

    #[test]
    fn conftest_rules_messages_objects_and_warnings() {
        let p = policy(&[("policies/p/k8s.rego", V1)], main_ns()).unwrap();
        let e = eval(&p, vec![deployment("web", "nginx:latest")]).unwrap();
        let got: Vec<(&str, Outcome, &str)> = e
            .findings
            .iter()
            .map(|f| (f.rule.as_str(), f.outcome, f.msg.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("deny", Outcome::Deny, "web must not run as root"),
                ("deny_latest_tag", Outcome::Deny, "app uses a latest tag"),
                ("violation", Outcome::Deny, "replicas must be set"),
                ("warn", Outcome::Warn, "prefer a PodDisruptionBudget"),
            ]
        );
        assert_eq!(e.findings[2].details["id"], "K8S-001");
        assert_eq!(e.findings[2].severity, "medium");
        assert_eq!(
            e.findings[0].severity, "critical",
            "a plain deny always blocks"
        );
        assert_eq!(e.findings[3].severity, "info");
        assert_eq!(
            e.counts.to_string(),
            "4 tests, 0 passed, 1 warning, 3 failures, 0 exceptions"
        );
    }

    #[test]
    fn regular_expressions_take_re2_classes_and_flags() {
        // Perl classes and `(?i)` are RE2 syntax OPA accepts; without the regex crate's
        // Unicode features they were invalid and every such match undefined (a deny that
        // never fired).
        let rego = r#"package main

import rego.v1

deny contains "whole cores" if regex.match(`^\d+$`, input.cpu)

deny contains "latest" if regex.match(`(?i):latest$`, input.image)

deny contains "word" if regex.match(`\bweb\b`, input.name)

deny contains "spaces" if regex.match(`\s`, input.name)
"#;
        let p = policy(&[("p.rego", rego)], main_ns()).unwrap();
        let input = serde_json::json!({"cpu": "4", "image": "envoy:LATEST", "name": "a web app"});
        let e = eval(&p, vec![input]).unwrap();
        let mut got: Vec<&str> = e.findings.iter().map(|f| f.msg.as_str()).collect();
        got.sort();
        assert_eq!(got, ["latest", "spaces", "whole cores", "word"]);
    }

    #[test]
    fn imports_of_what_strata_gives_at_evaluation_are_not_refused() {
        let rego = "package main\n\nimport data.strata\nimport data.conftest.file\nimport rego.v1\n\ndeny contains \"a stack\" if strata.kind == \"stack\"\n";
        assert!(policy(&[("p.rego", rego)], main_ns()).is_ok());
        let rego = "package main\n\nimport data.lib.k8s\n";
        let Err(err) = policy(&[("p.rego", rego)], main_ns()) else {
            panic!("a policy importing a package it does not have loaded");
        };
        assert!(err.to_string().contains("imports data.lib.k8s"), "{err}");
    }

    #[test]
    fn exceptions_skip_named_rules_and_are_counted() {
        let p = policy(&[("k8s.rego", V1)], main_ns()).unwrap();
        let e = eval(&p, vec![deployment("legacy", "nginx:latest")]).unwrap();
        assert!(
            e.findings.iter().all(|f| f.rule != "deny_latest_tag"),
            "{e:?}"
        );
        assert_eq!(e.exceptions.len(), 1);
        assert_eq!(
            e.exceptions[0].query,
            "data.main.exception[_][_] == \"latest_tag\""
        );
        assert_eq!(e.counts.exceptions, 1);
    }

    #[test]
    fn values_count_as_conftest_reads_them() {
        let rego = r#"package main

import rego.v1

deny_bool if true

deny_const := "a string is not a set"

deny_number contains 42 if true

deny_empty contains "" if true

deny_empty_msg contains {"msg": ""} if true

warn_array := ["from an array"] if true

deny_none contains msg if {
	false
	msg := "never"
}
"#;
        let p = policy(&[("p.rego", rego)], main_ns()).unwrap();
        let e = eval(&p, vec![json!({})]).unwrap();
        let msgs: Vec<&str> = e.findings.iter().map(|f| f.msg.as_str()).collect();
        assert_eq!(msgs, vec!["from an array"]);
        // 7 definitions: bool, const, empty, empty_msg and none pass; the number is ignored
        // and padded into a pass; the array warns.
        assert_eq!(
            e.counts.to_string(),
            "7 tests, 6 passed, 1 warning, 0 failures, 0 exceptions"
        );
    }

    #[test]
    fn an_object_without_msg_is_an_error_naming_the_rule() {
        let rego = "package main\n\nimport rego.v1\n\ndeny contains {\"id\": 1} if true\n";
        let p = policy(&[("p.rego", rego)], main_ns()).unwrap();
        let err = eval(&p, vec![json!({})]).unwrap_err();
        assert_eq!((err.file.as_deref(), err.line), (Some("p.rego"), Some(5)));
        assert!(err.message.contains("string `msg`"), "{err}");
    }

    #[test]
    fn a_bare_string_exception_is_an_error() {
        let rego = "package main\n\nimport rego.v1\n\ndeny_x contains \"x\" if true\n\nexception contains \"x\" if true\n";
        let p = policy(&[("p.rego", rego)], main_ns()).unwrap();
        let err = eval(&p, vec![json!({})]).unwrap_err();
        assert_eq!(err.line, Some(7), "{err}");
    }

    #[test]
    fn builtin_errors_are_undefined_unless_shown() {
        let rego = "package main\n\nimport rego.v1\n\ndeny contains \"old\" if to_number(input.version) < 3.5\n\ndeny contains \"bad\" if input.bad\n";
        let p = policy(&[("p.rego", rego)], main_ns()).unwrap();
        let e = eval(&p, vec![json!({"version": "x", "bad": true})]).unwrap();
        assert_eq!(e.findings.len(), 1);
        assert_eq!(e.findings[0].msg, "bad");
        let shown = Options {
            show_builtin_errors: true,
            ..main_ns()
        };
        let p = policy(&[("p.rego", rego)], shown).unwrap();
        let err = eval(&p, vec![json!({"version": "x"})]).unwrap_err();
        assert!(err.message.contains("built-in error"), "{err}");
    }

    /// `to_number` as OPA reads a string: a zero-padded date part, a sign, a bare point. The
    /// engine's own read them as JSON (undefined), and such a rule never fired.
    #[test]
    fn to_number_reads_strings_as_opa_does() {
        let rego = "package main\n\nimport rego.v1\n\ndeny contains sprintf(\"month %v\", [n]) if {\n\tparts := split(input.tag, \".\")\n\tn := to_number(parts[1])\n\tn > 6\n}\n\ndeny contains \"spaces\" if to_number(\" 5\") == 5\n";
        let p = policy(&[("p.rego", rego)], main_ns()).unwrap();
        let e = eval(&p, vec![json!({"tag": "2024.08.01"})]).unwrap();
        let msgs: Vec<&str> = e.findings.iter().map(|f| f.msg.as_str()).collect();
        assert_eq!(msgs, ["month 8"]);
    }

    /// `sprintf` as OPA's Go writes it. With one argument too few, a `%d` of a string, a
    /// width or a `%T`, the engine's own `sprintf` stopped the evaluation or left the place
    /// empty: the denial vanished, and the policy passed where conftest fails it.
    #[test]
    fn sprintf_writes_what_opa_writes() {
        let rego = "package main\n\nimport rego.v1\n\ndeny contains msg if {\n\tsome c in input.containers\n\tnot c.limits\n\tmsg := sprintf(\"container %s in %s has no limits\", [c.name])\n}\n\ndeny contains sprintf(\"cpu (%d) of %-4s|\", [c.cpu, c.name]) if some c in input.containers\n\ndeny contains sprintf(\"%T %q %v %.2f\", [1, 2, [\"a\", {\"k\": null}], 1.005]) if true\n";
        let p = policy(&[("p.rego", rego)], main_ns()).unwrap();
        let e = eval(
            &p,
            vec![json!({"containers": [{"name": "app", "cpu": "150m"}]})],
        )
        .unwrap();
        let mut msgs: Vec<&str> = e.findings.iter().map(|f| f.msg.as_str()).collect();
        msgs.sort();
        assert_eq!(
            msgs,
            [
                "container app in %!s(MISSING) has no limits",
                "cpu (%!d(string=150m)) of app |",
                "int '\\x02' [\"a\", {\"k\": null}] 1.00",
            ]
        );
    }

    /// Builtins the engine computed otherwise than OPA, evaluated as OPA does: a word
    /// boundary between ASCII word characters, every glob metacharacter quoted, one pass
    /// of replacements. Each rule here fires in OPA and used to stay silent.
    #[test]
    fn builtins_give_opas_results() {
        let rego = "package main\n\nimport rego.v1\n\ndeny contains \"boundary\" if regex.match(`(?i)\\bsecret\\b`, input.name)\n\ndeny contains sprintf(\"placeholder %s\", [v]) if {\n\tsome v in input.values\n\tglob.match(glob.quote_meta(v), [], v)\n}\n\ndeny contains \"renamed\" if strings.replace_n({\"production\": \"prd\", \"prod\": \"production\"}, input.env) == \"production\"\n";
        let p = policy(&[("p.rego", rego)], main_ns()).unwrap();
        let e = eval(
            &p,
            vec![
                json!({"name": "CLÉSECRET", "values": ["{{REPLACE_ME}}", "[TODO]"], "env": "prod"}),
            ],
        )
        .unwrap();
        let mut msgs: Vec<&str> = e.findings.iter().map(|f| f.msg.as_str()).collect();
        msgs.sort();
        assert_eq!(
            msgs,
            [
                "boundary",
                "placeholder [TODO]",
                "placeholder {{REPLACE_ME}}",
                "renamed"
            ]
        );
    }

    /// An object pattern matches in OPA only an object with exactly its keys; the engine
    /// matched any object holding them, and a rule allowing one exact statement allowed
    /// every statement with more keys. Such patterns are refused when the policy loads;
    /// an object built with `=` beside a variable is no pattern and loads.
    #[test]
    fn object_patterns_are_refused_and_built_objects_load() {
        let head = "package main\n\nimport rego.v1\n\n";
        for (body, line) in [
            ("allowed({\"Effect\": \"Allow\"}) if true\n\ndeny contains \"x\" if not allowed(input)\n", 5),
            ("deny contains a if {\n\t{\"app\": a} := input.labels\n}\n", 6),
            ("deny contains a if {\n\t{\"app\": a} = input.labels\n}\n", 6),
            ("deny contains a if {\n\tsome {\"app\": a} in input.items\n}\n", 6),
            ("deny contains a if {\n\t[{\"app\": a}] := input.items\n}\n", 6),
        ] {
            let rego = format!("{head}{body}");
            let Err(err) = policy(&[("p.rego", &rego)], main_ns()) else {
                panic!("loaded: {rego}");
            };
            assert_eq!(err.line, Some(line), "{rego}\n{err}");
            assert!(err.message.contains("object pattern"), "{err}");
        }
        let built = format!(
            "{head}deny contains msg if {{\n\tm := \"no\"\n\tmsg = {{\"msg\": m}}\n}}\n\nwarn contains w if {{\n\tw := {{\"msg\": \"w\"}}\n\tinput.x == {{\"a\": 1}}\n}}\n"
        );
        let p = policy(&[("p.rego", &built)], main_ns()).unwrap();
        let e = eval(&p, vec![json!({"x": {"a": 1}})]).unwrap();
        assert_eq!(e.findings.len(), 2, "{:?}", e.findings);
    }

    /// A head that iterates over something missing is undefined, as in OPA: it neither
    /// stops the evaluation nor hides the package's other rules (regorus alone errors).
    #[test]
    fn a_rule_head_iterating_over_nothing_is_undefined() {
        let lib = "package lib.pods\nimport rego.v1\n\ndefault pod := false\n\npod := input.spec.template if input.kind == \"Deployment\"\n\nvolumes contains pod.spec.volumes[_]\nnames contains input.items[_].name\nby_name[input.items[_].name] := input.kind\n";
        let rego = "package main\nimport rego.v1\nimport data.lib.pods\n\ndeny contains msg if {\n\tpods.pod\n\tnot pods.pod.spec.securityContext.runAsNonRoot\n\tmsg := sprintf(\"%s: may run as root\", [input.metadata.name])\n}\n\ndeny contains \"nodeport\" if input.spec.type == \"NodePort\"\n\ndeny contains sprintf(\"volume %s\", [v.name]) if some v in pods.volumes\n\ndeny contains sprintf(\"item %s\", [n]) if some n in pods.names\n\ndeny contains sprintf(\"keyed %s\", [k]) if some k, _ in pods.by_name\n";
        let p = policy(&[("lib.rego", lib), ("p.rego", rego)], main_ns()).unwrap();
        let msgs = |input: serde_json::Value| {
            let mut m: Vec<String> = eval(&p, vec![input])
                .unwrap()
                .findings
                .into_iter()
                .map(|f| f.msg)
                .collect();
            m.sort();
            m
        };
        assert_eq!(
            msgs(
                json!({"kind": "Service", "metadata": {"name": "web"}, "spec": {"type": "NodePort"}})
            ),
            ["nodeport"]
        );
        assert_eq!(
            msgs(
                json!({"kind": "Deployment", "metadata": {"name": "api"}, "spec": {"template": {"spec": {}}}})
            ),
            ["api: may run as root"]
        );
        assert_eq!(
            msgs(
                json!({"kind": "Deployment", "metadata": {"name": "api"}, "items": [{"name": "a"}, {"name": "b"}],
                "spec": {"template": {"spec": {"securityContext": {"runAsNonRoot": true}, "volumes": [{"name": "data"}]}}}})
            ),
            ["item a", "item b", "keyed a", "keyed b", "volume data"]
        );
        // v0 syntax, as konstraint's library writes it.
        let v0 = "package main\n\ndefault pod = false\n\npod = input.spec.template\n\nvolumes[pod.spec.volumes[_]]\n\ndeny[\"svc\"] { input.kind == \"Service\" }\n\ndeny[v.name] { v := volumes[_] }\n";
        let opts = Options {
            rego_v0: true,
            ..main_ns()
        };
        let p = policy(&[("v0.rego", v0)], opts).unwrap();
        let e = eval(&p, vec![json!({"kind": "Service"})]).unwrap();
        assert_eq!(e.findings.len(), 1, "{:?}", e.findings);
        let e = eval(
            &p,
            vec![json!({"kind": "Pod", "spec": {"template": {"spec": {"volumes": [{"name": "v"}]}}}})],
        )
        .unwrap();
        assert_eq!(e.findings[0].msg, "v");
    }

    /// An item without the field, or one a builtin fails on, leaves out that item only, as
    /// in OPA (regorus alone empties the whole set, or stops); the spacing `[ _ ]` is the
    /// same iteration.
    #[test]
    fn a_head_leaves_out_only_the_items_it_cannot_make() {
        let rego = "package main\nimport rego.v1\n\nprivileged contains input.spec.containers[_].securityContext.privileged\nlow contains lower(input.x[_])\nspaced contains input.items[ _ ]\nnamed contains input.spec.containers[_].name != \"\"\nimages contains { # one per container\n  \"n\": input.spec.containers[_].name, \"k\": input.kind}\n\ndeny contains \"privileged\" if true in privileged\ndeny contains sprintf(\"low %s\", [l]) if some l in low\ndeny contains sprintf(\"item %v\", [i]) if some i in spaced\ndeny contains sprintf(\"named %v\", [n]) if some n in named\ndeny contains sprintf(\"image %s\", [i.n]) if some i in images\n";
        let p = policy(&[("p.rego", rego)], main_ns()).unwrap();
        let e = eval(
            &p,
            vec![json!({"kind": "Pod", "spec": {"containers": [{"name": "sidecar"}, {"securityContext": {"privileged": true}}]},
                "x": ["A", 5, "B"], "items": 5})],
        )
        .unwrap();
        let mut msgs: Vec<&str> = e.findings.iter().map(|f| f.msg.as_str()).collect();
        msgs.sort();
        assert_eq!(
            msgs,
            [
                "image sidecar",
                "low a",
                "low b",
                "named true",
                "privileged"
            ]
        );
    }

    /// regorus's span of an object of several fields starts at its last key: the head is
    /// moved as it is written all the same, so it still loads and evaluates.
    #[test]
    fn a_head_building_an_object_of_several_fields_iterates_too() {
        let rego = "package main\nimport rego.v1\n\nimages contains {\"container\": input.spec.containers[_].name, \"kind\": input.kind}\n\ndeny contains sprintf(\"%s in %s\", [i.container, i.kind]) if some i in images\n";
        let p = policy(&[("p.rego", rego)], main_ns()).unwrap();
        let e = eval(
            &p,
            vec![json!({"kind": "Pod", "spec": {"containers": [{"name": "a"}]}})],
        )
        .unwrap();
        assert_eq!(e.findings[0].msg, "a in Pod");
        let e = eval(&p, vec![json!({"kind": "Service"})]).unwrap();
        assert!(e.findings.is_empty());
    }

    /// A rule named almost as conftest's, and a policy holding no rule conftest counts,
    /// are named: such a policy would otherwise pass every input in silence.
    #[test]
    fn a_policy_that_can_find_nothing_says_so() {
        let typo =
            "package main\n\nimport rego.v1\n\ndenny contains \"x\" if true\n\nhelper if true\n";
        let p = policy(&[("p.rego", typo)], main_ns()).unwrap();
        let e = eval(&p, vec![json!({})]).unwrap();
        assert!(e.findings.is_empty());
        assert_eq!(
            e.warnings,
            [
                "p.rego:5: rule `denny` is not one conftest counts (`deny`, `warn`, `violation`, alone or followed by `_` and a name): it is never reported",
                "policies/p: namespace main holds no deny, warn or violation rule: the policy can find nothing",
            ]
        );
        // Beside a rule that counts, the near miss is still named; helpers are not.
        let mixed = "package main\n\nimport rego.v1\n\ndeny contains \"x\" if input.x\n\nwarns contains \"y\" if true\n\ndeny_ok contains \"z\" if input.z\n\nviolations contains 1 if true\n\ndescribe if true\n\ndenylist := {\"a\"}\n\nwarnings_enabled if true\n\nDeny contains 1 if true\n\ndeny__x contains 1 if true\n";
        let p = policy(&[("p.rego", mixed)], main_ns()).unwrap();
        let e = eval(&p, vec![json!({})]).unwrap();
        let named: Vec<&str> = e
            .warnings
            .iter()
            .map(|w| w.split('`').nth(1).unwrap_or(""))
            .collect();
        assert_eq!(
            named,
            ["warns", "violations", "Deny", "deny__x"],
            "{:?}",
            e.warnings
        );
        // A policy of `unknown_*` rules alone reports what it finds: no warning.
        let unknown = "package main\n\nimport rego.v1\n\nunknown_public contains \"x\" if true\n";
        let p = policy(&[("p.rego", unknown)], main_ns()).unwrap();
        assert!(eval(&p, vec![json!({})]).unwrap().warnings.is_empty());
        assert_eq!(edits_apart("deny", "dney"), 2);
        assert_eq!(edits_apart("deny", "deby"), 1);
        assert_eq!(edits_apart("warn", "warns"), 1);
    }

    #[test]
    fn v0_syntax_namespaces_and_globs() {
        let v0 = "package kubernetes.security\n\ndeny[msg] {\n  input.kind == \"Service\"\n  msg := \"NodePort services are not allowed\"\n}\n";
        let svc = json!({"kind": "Service"});
        let opts = |ns: &[&str]| Options {
            namespaces: ns.iter().map(|s| s.to_string()).collect(),
            rego_v0: true,
            ..Options::default()
        };
        let p = policy(&[("sec.rego", v0)], opts(&["main"])).unwrap();
        let e = eval(&p, vec![svc.clone()]).unwrap();
        assert!(e.findings.is_empty());
        assert_eq!(
            e.warnings,
            vec!["policies/p: namespace `main` matches no package of the policy"]
        );
        let p = policy(&[("sec.rego", v0)], opts(&["kubernetes.*"])).unwrap();
        let e = eval(&p, vec![svc.clone()]).unwrap();
        assert_eq!(e.findings.len(), 1);
        assert_eq!(e.findings[0].namespace, "kubernetes.security");
        assert!(e.warnings.is_empty());
        // v0 syntax without the v0 switch is a parse error naming the file
        let err = policy(&[("sec.rego", v0)], main_ns()).err().unwrap();
        assert!(err.to_string().starts_with("sec.rego"), "{err}");
    }

    /// Namespace patterns are Go's `path.Match`, as conftest's: `[!a]` is `!` or `a`.
    #[test]
    fn namespace_patterns_match_as_conftest_matches_them() {
        let files = [
            (
                "ca.rego",
                "package ca\n\nimport rego.v1\n\ndeny contains \"ca\" if true\n",
            ),
            (
                "cb.rego",
                "package cb\n\nimport rego.v1\n\ndeny contains \"cb\" if true\n",
            ),
        ];
        let opts = |ns: &str| Options {
            namespaces: vec![ns.to_string()],
            ..Options::default()
        };
        for (pattern, fired) in [("c[!a]", "ca"), ("c[^a]", "cb"), ("c?", "ca cb")] {
            let p = policy(&files, opts(pattern)).unwrap();
            let e = eval(&p, vec![json!({})]).unwrap();
            let got: Vec<&str> = e.findings.iter().map(|f| f.msg.as_str()).collect();
            assert_eq!(got.join(" "), fired, "{pattern}");
        }
        let err = policy(&files, opts("c[")).err().unwrap();
        assert!(
            err.to_string().contains("`c[` is not a valid pattern"),
            "{err}"
        );
        // Without `*`, `?` or `[` anywhere, namespaces are names, taken as written.
        let p = policy(&files, opts("c\\a")).unwrap();
        let e = eval(&p, vec![json!({})]).unwrap();
        assert!(e.findings.is_empty());
        assert_eq!(
            e.warnings,
            vec!["policies/p: namespace `c\\a` matches no package of the policy"]
        );
    }

    #[test]
    fn conftest_file_is_the_input_file() {
        let rego =
            "package main\n\nimport rego.v1\n\ndeny contains data.conftest.file.name if true\n";
        let p = policy(&[("p.rego", rego)], main_ns()).unwrap();
        let mut file = InputFile::parsed(Some("k8s/dep.yaml".into()), vec![json!({})]);
        file.info = Some(crate::FileInfo::of(std::path::Path::new("/w/k8s/dep.yaml")));
        let e = p.evaluate(&[file], &json!({})).unwrap();
        assert_eq!(e.findings[0].msg, "dep.yaml");
    }
}
