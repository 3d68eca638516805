//! A policy's Rego, loaded into the engine (regorus) and read from the parsed modules.
//!
//! Everything strata knows about a policy's rules comes from the engine's abstract syntax
//! trees, never from the text: a rule indented under a comment counts, a comment on the
//! `package` line does not rename the package, and a rule's name is the name OPA gives its
//! head (`deny contains`, `deny if`, `deny :=`, `default deny`, v0 `deny[msg] {}` are all
//! `deny`; `deny.x contains` and `deny["a"] :=` have no name and are never queried).
//!
//! Invariants checked at load, before any evaluation:
//! 1. Every module parses (the error names file, line and column).
//! 2. No rule uses conftest's rejected mixed form `deny[msg] if { ... }` (which Rego reads as
//!    a single-value rule whose value is `true`, never a set of messages).
//! 3. Every function called is a builtin the engine provides or a function the policy
//!    defines; anything else is named with its file and line (OPA rejects it at compile time
//!    too, while regorus would only fail when that rule runs).

use crate::Error;
use regorus::unstable::{Expr, Literal, Module, Query, Rule, RuleHead};
use std::collections::{BTreeMap, BTreeSet};

mod as_in_go;
mod go_fmt;
mod heads;
mod mocks;
mod patterns;
mod re2;
mod some;
mod to_number;
mod undefined;
pub mod v0;

/// Each module with the path and text of its file (a module whose file `texts` lacks is
/// left out): what a rewrite reads.
fn with_texts<'a>(
    modules: &'a [regorus::unstable::Ref<Module>],
    texts: &'a [(String, String)],
) -> impl Iterator<Item = (usize, &'a Module, &'a str, &'a str)> {
    modules
        .iter()
        .enumerate()
        .filter_map(move |(index, module)| {
            let file = module.package.span.source.get_path();
            texts
                .iter()
                .find(|(p, _)| p == file)
                .map(|(p, text)| (index, module.as_ref(), p.as_str(), text.as_str()))
        })
}

/// The file `p.rego` holding `text`, rewritten by one pass of `rewrite` (`None`: nothing to
/// rewrite); what it makes must load.
#[cfg(test)]
fn rewritten_once(rewrite: Rewrite, text: &str) -> Option<String> {
    let texts = vec![("p.rego".to_string(), text.to_string())];
    let mut engine = Loaded::engine(&texts, false, &Default::default()).unwrap();
    let out = rewrite(engine.get_modules(), &texts).remove("p.rego");
    if let Some(new) = &out {
        let new = vec![("p.rego".to_string(), new.clone())];
        assert!(
            Loaded::engine(&new, false, &Default::default()).is_ok(),
            "{}",
            new[0].1
        );
    }
    out
}

/// An edit of a file's text: the bytes `start..end` replaced by the string.
type Edit = (usize, usize, String);

/// A rewrite that looks at each node of each rule on its own: `f` gets the text of the
/// node's file and the node, and adds edits of that text (start, end, replacement).
fn rewrite_nodes(
    modules: &[regorus::unstable::Ref<Module>],
    texts: &[(String, String)],
    f: &mut dyn FnMut(&str, Node, &mut Vec<Edit>),
) -> BTreeMap<String, String> {
    let mut edits: BTreeMap<String, Vec<Edit>> = BTreeMap::new();
    for (_, module, file, text) in with_texts(modules, texts) {
        let mut mine = Vec::new();
        for rule in &module.policy {
            walk_rule(rule, &mut |node| f(text, node, &mut mine));
        }
        if !mine.is_empty() {
            edits.entry(file.to_string()).or_default().extend(mine);
        }
    }
    heads::edited(texts, edits)
}

/// A rewrite of a policy's files when it loads: the new text of each file it changes.
type Rewrite =
    fn(&[regorus::unstable::Ref<Module>], &[(String, String)]) -> BTreeMap<String, String>;
use heads::iterating_heads_moved;
use undefined::undefined_as_in_opa;

/// What a rule's name makes of its results (conftest's conventions, plus strata's
/// `unknown`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// `deny*` and `violation*`: a failure.
    Deny,
    /// `warn*`: reported, never a failure by itself.
    Warn,
    /// `unknown*` (a strata extension): the deciding value is known only after apply;
    /// reported separately, never counted as a pass or a failure.
    Unknown,
}

/// `deny`, `deny_public_bucket`, `violation_x_y`: a prefix and then `_word` groups of ASCII
/// letters and digits (conftest's `^(deny|violation)(_[a-zA-Z0-9]+)*$`); `deny_` and
/// `deny__x` are not rule names.
pub fn rule_outcome(name: &str) -> Option<Outcome> {
    let suffix_ok = |rest: &str| {
        rest.is_empty()
            || rest.strip_prefix('_').is_some_and(|r| {
                r.split('_')
                    .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric()))
            })
    };
    for (prefix, outcome) in [
        ("deny", Outcome::Deny),
        ("violation", Outcome::Deny),
        ("warn", Outcome::Warn),
        ("unknown", Outcome::Unknown),
    ] {
        if let Some(rest) = name.strip_prefix(prefix) {
            if suffix_ok(rest) {
                return Some(outcome);
            }
        }
    }
    None
}

/// The name an `exception` uses for a rule: conftest strips `violation_`, then `deny_`, then
/// `warn_`, each at most once (`deny_run_as_root` -> `run_as_root`); `deny`, `violation` and
/// `warn` themselves are the empty name. strata's `unknown_` rules strip their prefix too.
pub fn exception_name(name: &str) -> &str {
    if matches!(name, "deny" | "violation" | "warn" | "unknown") {
        return "";
    }
    if let Some(rest) = name.strip_prefix("unknown_") {
        return rest;
    }
    let mut short = name;
    for prefix in ["violation_", "deny_", "warn_"] {
        if let Some(rest) = short.strip_prefix(prefix) {
            short = rest;
        }
    }
    short
}

/// One top-level rule definition, as the parsed module has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleDef {
    /// The package, without `data.` (`main`, `kubernetes.labels`).
    pub package: String,
    /// OPA's name for the rule head; empty for multi-part heads (`deny.x`, `deny["a"]`).
    pub name: String,
    /// The first name of the head (`deny` of `deny.x`, `test_cases` of `test_cases[n]`).
    pub head: String,
    pub file: String,
    pub line: u32,
}

/// A policy's modules, loaded and checked.
#[derive(Clone)]
pub struct Loaded {
    pub engine: regorus::Engine,
    /// Every top-level rule definition, in load order.
    pub rules: Vec<RuleDef>,
    /// The packages of the modules, without `data.`, distinct, in load order.
    pub packages: Vec<String>,
    /// Whether the policy may read `data.conftest` (so it is set per input file).
    pub reads_conftest_data: bool,
    /// Files strata could not rewrite to be read as OPA reads them (see [`heads`] and
    /// [`undefined`]): evaluated as written, which may differ from OPA.
    pub not_rewritten: Vec<String>,
    /// Whether a failing builtin of [`v0`] is an error (set with the engine's strict
    /// builtin errors) rather than undefined.
    pub v0_strict: v0::Strict,
}

/// Makes a source OPA accepts acceptable to regorus without changing what it means:
/// `import future.keywords...` lines that an `import rego.v1` (or a broader
/// `future.keywords` import) already covers are blanked. OPA treats them as no-ops; regorus
/// rejects them as shadowing imports. Line and column numbers stay the same.
pub fn compatible_imports(text: &str) -> std::borrow::Cow<'_, str> {
    // (line index, what it imports): "v1", "all" (future.keywords) or a keyword.
    let mut imports: Vec<(usize, String)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let code = line.split('#').next().unwrap_or("").trim();
        let Some(path) = code.strip_prefix("import ").map(str::trim) else {
            continue;
        };
        if path == "rego.v1" {
            imports.push((i, "v1".into()));
        } else if path == "future.keywords" {
            imports.push((i, "all".into()));
        } else if let Some(kw) = path.strip_prefix("future.keywords.") {
            if kw.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                imports.push((i, kw.to_string()));
            }
        }
    }
    let has_v1 = imports.iter().any(|(_, k)| k == "v1");
    let first_all = imports.iter().find(|(_, k)| k == "all").map(|(i, _)| *i);
    let mut blank = BTreeSet::new();
    let mut seen = BTreeSet::new();
    for (i, kw) in &imports {
        let redundant = match kw.as_str() {
            "v1" => false,
            _ if has_v1 => true,
            "all" => Some(*i) != first_all,
            kw => first_all.is_some() || !seen.insert(kw.to_string()),
        };
        if redundant {
            blank.insert(*i);
        }
    }
    if blank.is_empty() {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if blank.contains(&i) {
            let (body, end) = match line.strip_suffix("\r\n") {
                Some(b) => (b, "\r\n"),
                None => match line.strip_suffix('\n') {
                    Some(b) => (b, "\n"),
                    None => (line, ""),
                },
            };
            // Keep any comment after the import, and every column after it, where it was.
            let code_len = body.find('#').unwrap_or(body.len());
            out.push_str(&" ".repeat(body[..code_len].chars().count()));
            out.push_str(&body[code_len..]);
            out.push_str(end);
        } else {
            out.push_str(line);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The parts of a rule head's reference: `Var` names and `.field`s are names, `[x]` an index.
#[derive(Debug)]
enum Part {
    Name(String),
    Index { var: bool },
}

fn head_parts(refr: &Expr, out: &mut Vec<Part>) {
    match refr {
        Expr::Var { span, .. } => out.push(Part::Name(span.text().to_string())),
        Expr::RefDot { refr, field, .. } => {
            head_parts(refr, out);
            out.push(Part::Name(field.0.text().to_string()));
        }
        Expr::RefBrack { refr, index, .. } => {
            head_parts(refr, out);
            out.push(Part::Index {
                var: matches!(index.as_ref(), Expr::Var { .. }),
            });
        }
        _ => out.push(Part::Index { var: false }),
    }
}

/// The first name of a rule's head.
pub(crate) fn first_name(rule: &Rule) -> String {
    let refr = match rule {
        Rule::Spec { head, .. } => match head {
            RuleHead::Compr { refr, .. }
            | RuleHead::Set { refr, .. }
            | RuleHead::Func { refr, .. } => refr,
        },
        Rule::Default { refr, .. } => refr,
    };
    let mut parts = Vec::new();
    head_parts(refr, &mut parts);
    match parts.first() {
        Some(Part::Name(n)) => n.clone(),
        _ => String::new(),
    }
}

/// OPA's name for a rule head, and whether it is the mixed `deny[msg] if` form.
fn head_name(rule: &Rule) -> (String, bool) {
    let (refr, set_head, assigned) = match rule {
        Rule::Spec { head, .. } => match head {
            RuleHead::Compr { refr, assign, .. } => (refr, false, assign.is_some()),
            RuleHead::Set { refr, .. } => (refr, true, false),
            RuleHead::Func { refr, .. } => (refr, false, true),
        },
        Rule::Default { refr, .. } => (refr, false, true),
    };
    let mut parts = Vec::new();
    head_parts(refr, &mut parts);
    match parts.as_slice() {
        [Part::Name(n)] => (n.clone(), false),
        // `p[x] = y if ...`: OPA keeps the name `p`.
        [Part::Name(n), Part::Index { var: true }] if !set_head && assigned => (n.clone(), false),
        // `p[x] if ...`: a single-value rule `p[x] = true`, no name.
        [Part::Name(n), Part::Index { .. }] if !set_head && !assigned => (
            String::new(),
            rule_outcome(n).is_some_and(|o| o != Outcome::Unknown),
        ),
        _ => (String::new(), false),
    }
}

/// A Rego parse error as one line at its file and line. regorus writes it as a snippet:
/// `--> file:line:column`, the source line with a caret, and `error: what`; kept whole when
/// it is not in that form.
fn parse_error(path: &str, message: &str) -> Error {
    let position = message.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("-->")?.trim().strip_prefix(path)?;
        let mut numbers = rest.split(':').skip(1);
        let line: u32 = numbers.next()?.trim().parse().ok()?;
        let column: u32 = numbers.next()?.trim().parse().ok()?;
        Some((line, column))
    });
    let what = message
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error:"))
        .map(str::trim);
    match (position, what) {
        (Some((line, column)), Some(what)) => {
            Error::in_file(path, Some(line), format!("{what} (column {column})"))
        }
        _ => Error::in_file(path, None, message.trim()),
    }
}

fn package_of(components: &[String]) -> String {
    components.join(".")
}

/// How deep `[`/`{` may nest in a policy file: regorus's parser tries a comprehension at
/// each level before an array, and its time doubles about every level (24 levels took
/// minutes), so a file of a hundred bytes could stall every run that loads policies.
const MAX_NESTING: usize = 16;

/// The line where `[` or `{` first nests deeper than [`MAX_NESTING`] in `text`, outside
/// strings and comments; `None` when it never does.
fn nested_too_deep(text: &str) -> Option<u32> {
    strata_graph::text::nested_beyond(text, MAX_NESTING, strata_graph::text::Syntax::Rego)
        .map(|line| line as u32)
}

impl Loaded {
    fn engine(
        texts: &[(String, String)],
        rego_v0: bool,
        strict: &v0::Strict,
    ) -> Result<regorus::Engine, Error> {
        let mut engine = regorus::Engine::new();
        engine.set_rego_v0(rego_v0);
        if rego_v0 {
            v0::add(&mut engine, strict)
                .map_err(|e| Error::in_file("(engine)", None, e.to_string()))?;
        }
        to_number::add(&mut engine, strict)
            .map_err(|e| Error::in_file("(engine)", None, e.to_string()))?;
        as_in_go::add(&mut engine, strict)
            .map_err(|e| Error::in_file("(engine)", None, e.to_string()))?;
        // conftest's default: a failing builtin makes its expression undefined.
        engine.set_strict_builtin_errors(false);
        for (path, text) in texts {
            if let Some(line) = nested_too_deep(text) {
                return Err(Error::in_file(
                    path,
                    Some(line),
                    format!("arrays, objects and sets nested more than {MAX_NESTING} deep"),
                )
                .with_hint("the Rego parser's time grows exponentially with such nesting: flatten the literal (build it from named parts, or move it to a data file)"));
            }
            engine
                .add_policy(path.clone(), text.clone())
                .map_err(|e| parse_error(path, &e.to_string()))?;
        }
        Ok(engine)
    }

    /// Parses and checks the sources (path, text); `rego_v0` selects v0 syntax.
    pub fn load(files: &[(String, String)], rego_v0: bool) -> Result<Loaded, Error> {
        // A byte-order mark (an editor's on Windows) is no Rego, and OPA reads past it.
        let texts: Vec<(String, String)> = files
            .iter()
            .map(|(path, text)| {
                let text = text.strip_prefix('\u{feff}').unwrap_or(text);
                (path.clone(), compatible_imports(text).into_owned())
            })
            .collect();
        let v0_strict = v0::Strict::default();
        let mut engine = Self::engine(&texts, rego_v0, &v0_strict)?;
        // The rewrites, each of what the one before made (the last in passes, until it has
        // nothing left). A file whose rewrite does not load is not the policy's fault: it
        // runs as it was before that rewrite, and is named.
        let mut texts = texts;
        let mut not_rewritten: Vec<String> = Vec::new();
        let stages: [(Rewrite, usize); 5] = [
            (mocks::rule_mocks_by_path, 1),
            (re2::ascii_classes, 1),
            (iterating_heads_moved, 1),
            (some::declared_first, 1),
            (undefined_as_in_opa, 16),
        ];
        let passes = stages
            .into_iter()
            .flat_map(|(rewrite, times)| (0..times).map(move |pass| (rewrite, pass)));
        let mut stage_done = false;
        for (rewrite, pass) in passes {
            if pass == 0 {
                stage_done = false;
            } else if stage_done {
                continue;
            }
            let rewritten = rewrite(engine.get_modules(), &texts);
            let rewritten: BTreeMap<String, String> = rewritten
                .into_iter()
                .filter(|(path, _)| !not_rewritten.contains(path))
                .collect();
            // A pass with nothing left to do ends its stage.
            if rewritten.is_empty() {
                stage_done = true;
                continue;
            }
            let with = |files: &BTreeMap<String, String>| -> Vec<(String, String)> {
                texts
                    .iter()
                    .map(|(path, text)| (path.clone(), files.get(path).unwrap_or(text).clone()))
                    .collect()
            };
            let new = with(&rewritten);
            match Self::engine(&new, rego_v0, &v0_strict) {
                Ok(loaded) => {
                    engine = loaded;
                    texts = new;
                }
                // Which file's rewrite does not load: each alone.
                Err(_) => {
                    for path in rewritten.keys() {
                        let one: BTreeMap<String, String> =
                            [(path.clone(), rewritten[path].clone())].into();
                        if Self::engine(&with(&one), rego_v0, &v0_strict).is_err() {
                            not_rewritten.push(path.clone());
                        }
                    }
                }
            }
        }
        let packages_by_module: Vec<String> = engine
            .get_policy_package_components()
            .map_err(|e| Error::new(e.to_string()))?
            .iter()
            .map(|p| package_of(&p.components))
            .collect();
        let modules: Vec<_> = engine.get_modules().clone();
        let mut rules = Vec::new();
        let mut packages: Vec<String> = Vec::new();
        for (module, package) in modules.iter().zip(&packages_by_module) {
            if !packages.contains(package) {
                packages.push(package.clone());
            }
            for rule in &module.policy {
                let span = rule.span();
                let file = span.source.get_path().clone();
                let (name, mixed) = head_name(rule);
                let head = first_name(rule);
                if mixed {
                    return Err(Error::in_file(
                        &file,
                        Some(span.line),
                        format!(
                            "`{}` uses `if` without `contains`: Rego reads it as a single value `true`, not a set of messages (conftest rejects it too)",
                            span.text().lines().next().unwrap_or("").trim_end_matches(['{', ' '])
                        ),
                    )
                    .with_hint("write `deny contains msg if { ... }`"));
                }
                rules.push(RuleDef {
                    package: package.clone(),
                    name,
                    head,
                    file,
                    line: span.line,
                });
            }
        }
        check_functions(&modules, &packages_by_module, rego_v0)?;
        patterns::check_object_patterns(&modules)?;
        Ok(Loaded {
            engine,
            rules,
            packages,
            reads_conftest_data: reads_conftest_data(&modules),
            not_rewritten,
            v0_strict,
        })
    }

    /// The `test_*` rules of every module, by (package, name), each once, in load order;
    /// `todo_test_*` rules are listed as skipped. A rule whose head holds a key
    /// (`test_cases[name] if ...`) is listed as a parameterized test, by its first name.
    pub fn tests(&self) -> Vec<TestRule> {
        let mut out: Vec<TestRule> = Vec::new();
        for r in &self.rules {
            let parameterized = r.name.is_empty();
            let name = if parameterized { &r.head } else { &r.name };
            let skipped = name.starts_with("todo_test_");
            if !(name.starts_with("test_") || skipped) {
                continue;
            }
            if out
                .iter()
                .any(|t| t.package == r.package && t.name == *name)
            {
                continue;
            }
            out.push(TestRule {
                file: r.file.clone(),
                package: r.package.clone(),
                name: name.clone(),
                skipped,
                parameterized,
            });
        }
        out
    }
}

/// One test rule: package and name, and the file it is defined in.
#[derive(Debug, Clone, PartialEq)]
pub struct TestRule {
    pub file: String,
    pub package: String,
    pub name: String,
    /// `todo_test_*`: reported as skipped, not run.
    pub skipped: bool,
    /// A head with a key (`test_cases[name] if ...`): one rule standing for many cases.
    pub parameterized: bool,
}

/// Invariant 3: every call names a builtin or a function of the policy, and no function
/// calls itself, directly or through others (the engine would recurse without end; OPA
/// refuses such a policy when it compiles it).
fn check_functions(
    modules: &[regorus::unstable::Ref<Module>],
    packages: &[String],
    rego_v0: bool,
) -> Result<(), Error> {
    let defined: BTreeSet<String> = regorus::utils::gather_functions(modules)
        .map(|t| t.into_keys().collect())
        .unwrap_or_default();
    // Function (full path) -> where it is defined, and the functions it calls.
    let mut calls_of: BTreeMap<String, (regorus::unstable::Span, BTreeSet<String>)> =
        BTreeMap::new();
    for (module, package) in modules.iter().zip(packages) {
        let mut imports = BTreeMap::new();
        for import in &module.imports {
            let Ok(target) = regorus::utils::get_path_string(&import.refr, None) else {
                continue;
            };
            let alias = match &import.r#as {
                Some(a) => a.text().to_string(),
                None => target.rsplit('.').next().unwrap_or("").to_string(),
            };
            imports.insert(alias, target);
        }
        // The policy's function a call names, by its full path.
        let function = |path: &str| -> Option<String> {
            if path.starts_with("data.") {
                return defined.contains(path).then(|| path.to_string());
            }
            let (root, rest) = path.split_once('.').unwrap_or((path, ""));
            if let Some(target) = imports.get(root) {
                let full = if rest.is_empty() {
                    target.clone()
                } else {
                    format!("{target}.{rest}")
                };
                if defined.contains(&full) {
                    return Some(full);
                }
            }
            let local = format!("data.{package}.{path}");
            defined.contains(&local).then_some(local)
        };
        let known = |path: &str| {
            path == "print"
                || regorus::unstable::BUILTINS.contains_key(path)
                || (rego_v0 && v0::is_builtin(path))
                || function(path).is_some()
        };
        for rule in &module.policy {
            let Rule::Spec {
                head: RuleHead::Func { refr, span, .. },
                ..
            } = rule.as_ref()
            else {
                continue;
            };
            let Some(name) = regorus::utils::get_path_string(refr, None)
                .ok()
                .and_then(|n| function(&n))
            else {
                continue;
            };
            let entry = calls_of
                .entry(name)
                .or_insert_with(|| (span.clone(), BTreeSet::new()));
            walk_rule(rule, &mut |node| {
                if let Node::Expr(Expr::Call { fcn, .. }) = node {
                    if let Some(callee) = regorus::utils::get_path_string(fcn, None)
                        .ok()
                        .and_then(|p| function(&p))
                    {
                        entry.1.insert(callee);
                    }
                }
            });
        }
        let mut calls = Vec::new();
        let mut mocked = BTreeSet::new();
        // Mocks of a policy's function named by a path (`with data.main.f as ...`, or
        // through an import, `with main.f as ...`): regorus keeps such a mock under the
        // path and looks a call inside the package up by the bare name, so the mock is
        // never applied and the test runs the real function. (OPA applies it.)
        let mut unapplied = Vec::new();
        for rule in &module.policy {
            walk_rule(rule, &mut |node| match node {
                Node::Expr(Expr::Call { span, fcn, .. }) => {
                    if let Ok(path) = regorus::utils::get_path_string(fcn, None) {
                        calls.push((path, span.clone()));
                    }
                }
                // `with f as g` replaces `f`: a test may mock a function the policy lacks.
                Node::With(m) => {
                    if let Ok(path) = regorus::utils::get_path_string(&m.refr, None) {
                        if path.contains('.') {
                            if let Some(full) = function(&path) {
                                unapplied.push((path.clone(), full, m.span.clone()));
                            }
                        }
                        mocked.insert(path);
                    }
                }
                _ => {}
            });
        }
        if let Some((path, full, span)) = unapplied.first() {
            return Err(Error::in_file(
                span.source.get_path(),
                Some(span.line),
                format!(
                    "`with {path} as ...` mocks the function {full}: strata's Rego engine (regorus) does not apply a mock of a policy's function named by its path, so the test would run the real function"
                ),
            )
            .with_hint("mock what the function reads instead (`with input as ...`, `with data.x as ...`), or a builtin it calls"));
        }
        for (path, span) in calls {
            if !known(&path) && !mocked.contains(&path) {
                return Err(Error::in_file(
                    span.source.get_path(),
                    Some(span.line),
                    format!("`{path}` is neither a builtin of strata's Rego engine (regorus) nor a function of this policy"),
                )
                .with_hint("define the function in the policy, or use a builtin regorus provides (see docs/policy.md)"));
            }
        }
    }
    if let Some(cycle) = call_cycle(&calls_of) {
        let span = &calls_of[&cycle[0]].0;
        return Err(Error::in_file(
            span.source.get_path(),
            Some(span.line),
            format!("function `{}` is recursive: {}", cycle[0], cycle.join(" -> ")),
        )
        .with_hint("Rego functions may not call themselves, directly or through other functions; iterate with comprehensions or `walk` instead"));
    }
    Ok(())
}

/// The first cycle among the functions' calls, as the path from a function back to it.
fn call_cycle(
    calls_of: &BTreeMap<String, (regorus::unstable::Span, BTreeSet<String>)>,
) -> Option<Vec<String>> {
    fn visit(
        f: &str,
        calls_of: &BTreeMap<String, (regorus::unstable::Span, BTreeSet<String>)>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == f) {
            let mut cycle = path[at..].to_vec();
            cycle.push(f.to_string());
            return Some(cycle);
        }
        if done.contains(f) {
            return None;
        }
        path.push(f.to_string());
        for callee in calls_of.get(f).map(|(_, c)| c).into_iter().flatten() {
            if let Some(cycle) = visit(callee, calls_of, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(f.to_string());
        None
    }
    let mut done = BTreeSet::new();
    calls_of
        .keys()
        .find_map(|f| visit(f, calls_of, &mut Vec::new(), &mut done))
}

/// What the syntax walk visits: every expression, every `with` modifier, and every
/// statement of a body (before what it holds).
pub(crate) enum Node<'a> {
    /// A rule body, a comprehension's or an `every`'s: before its statements.
    Query(&'a Query),
    Expr(&'a Expr),
    With(&'a regorus::unstable::WithModifier),
    Stmt(&'a regorus::unstable::LiteralStmt),
}

pub(crate) fn walk_rule(rule: &Rule, f: &mut dyn FnMut(Node)) {
    match rule {
        Rule::Spec { head, bodies, .. } => {
            match head {
                RuleHead::Compr { refr, assign, .. } => {
                    walk_expr(refr, f);
                    if let Some(a) = assign {
                        walk_expr(&a.value, f);
                    }
                }
                RuleHead::Set { refr, key, .. } => {
                    walk_expr(refr, f);
                    if let Some(k) = key {
                        walk_expr(k, f);
                    }
                }
                RuleHead::Func { args, assign, .. } => {
                    for a in args {
                        walk_expr(a, f);
                    }
                    if let Some(a) = assign {
                        walk_expr(&a.value, f);
                    }
                }
            }
            for body in bodies {
                if let Some(a) = &body.assign {
                    walk_expr(&a.value, f);
                }
                walk_query(&body.query, f);
            }
        }
        Rule::Default { value, .. } => walk_expr(value, f),
    }
}

fn walk_query(query: &Query, f: &mut dyn FnMut(Node)) {
    f(Node::Query(query));
    for stmt in &query.stmts {
        f(Node::Stmt(stmt));
        for m in &stmt.with_mods {
            f(Node::With(m));
            walk_expr(&m.r#as, f);
        }
        match &stmt.literal {
            Literal::SomeVars { .. } => {}
            Literal::SomeIn {
                key,
                value,
                collection,
                ..
            } => {
                if let Some(k) = key {
                    walk_expr(k, f);
                }
                walk_expr(value, f);
                walk_expr(collection, f);
            }
            Literal::Expr { expr, .. } | Literal::NotExpr { expr, .. } => walk_expr(expr, f),
            Literal::Every { domain, query, .. } => {
                walk_expr(domain, f);
                walk_query(query, f);
            }
        }
    }
}

pub(crate) fn walk_expr(expr: &Expr, f: &mut dyn FnMut(Node)) {
    f(Node::Expr(expr));
    for child in children(expr) {
        walk_expr(child, f);
    }
    match expr {
        Expr::ArrayCompr { query, .. }
        | Expr::SetCompr { query, .. }
        | Expr::ObjectCompr { query, .. } => walk_query(query, f),
        _ => {}
    }
}

/// The expressions `expr` is made of, in the order written (a comprehension's term, or key
/// and value; not its body, which holds statements).
pub(crate) fn children(expr: &Expr) -> Vec<&Expr> {
    match expr {
        Expr::String { .. }
        | Expr::RawString { .. }
        | Expr::Number { .. }
        | Expr::Bool { .. }
        | Expr::Null { .. }
        | Expr::Var { .. } => Vec::new(),
        Expr::Array { items, .. } | Expr::Set { items, .. } => items.iter().map(|i| &**i).collect(),
        Expr::Object { fields, .. } => fields.iter().flat_map(|(_, k, v)| [&**k, &**v]).collect(),
        Expr::ArrayCompr { term, .. } | Expr::SetCompr { term, .. } => vec![term],
        Expr::ObjectCompr { key, value, .. } => vec![key, value],
        Expr::Call { fcn, params, .. } => std::iter::once(&**fcn)
            .chain(params.iter().map(|p| &**p))
            .collect(),
        Expr::UnaryExpr { expr, .. } => vec![expr],
        Expr::RefDot { refr, .. } => vec![refr],
        Expr::RefBrack { refr, index, .. } => vec![refr, index],
        Expr::BinExpr { lhs, rhs, .. }
        | Expr::BoolExpr { lhs, rhs, .. }
        | Expr::ArithExpr { lhs, rhs, .. }
        | Expr::AssignExpr { lhs, rhs, .. } => vec![lhs, rhs],
        Expr::Membership {
            key,
            value,
            collection,
            ..
        } => key
            .iter()
            .map(|k| &**k)
            .chain([&**value, &**collection])
            .collect(),
    }
}

fn is_data(e: &Expr) -> bool {
    matches!(e, Expr::Var { span, .. } if span.text() == "data")
}

/// Whether the modules may read `data.conftest` (which then changes with every input
/// file): a reference or import starting `data.conftest`, a computed key right under
/// `data`, or `data` used whole.
fn reads_conftest_data(modules: &[regorus::unstable::Ref<Module>]) -> bool {
    let mut data_vars = 0usize;
    let mut first_level = 0usize;
    let mut reads = false;
    for module in modules {
        for import in &module.imports {
            let Ok(path) = regorus::utils::get_path_string(&import.refr, None) else {
                continue;
            };
            if path == "data" || path == "data.conftest" || path.starts_with("data.conftest.") {
                reads = true;
            }
        }
        for rule in &module.policy {
            walk_rule(rule, &mut |node| {
                let Node::Expr(e) = node else { return };
                match e {
                    _ if is_data(e) => data_vars += 1,
                    Expr::RefDot { refr, field, .. } if is_data(refr) => {
                        first_level += 1;
                        reads |= field.0.text() == "conftest";
                    }
                    Expr::RefBrack { refr, index, .. } if is_data(refr) => {
                        first_level += 1;
                        reads |= match index.as_ref() {
                            Expr::String { value, .. } | Expr::RawString { value, .. } => {
                                value.as_string().is_ok_and(|s| s.as_ref() == "conftest")
                            }
                            _ => true,
                        };
                    }
                    _ => {}
                }
            });
        }
    }
    reads || data_vars > first_level
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deeply nested literals are refused before regorus's parser, whose time grows
    /// exponentially with them; brackets in strings and comments do not count.
    #[test]
    fn literals_nested_too_deep_are_refused_at_their_line() {
        let deep = format!(
            "package main\n\nx := {}1{}\n",
            "[".repeat(30),
            "]".repeat(30)
        );
        let err = Loaded::load(&[("p.rego".into(), deep)], false)
            .err()
            .expect("refused");
        assert_eq!(
            (err.file.as_deref(), err.line),
            (Some("p.rego"), Some(3)),
            "{err:?}"
        );
        assert!(err.message.contains("nested more than 16 deep"), "{err:?}");
        let fine = format!(
            "package main\n\n# {}\nx := \"{}\"\ny := `{}`\nz := {}1{}\n",
            "[".repeat(40),
            "{".repeat(40),
            "[".repeat(40),
            "[".repeat(8),
            "]".repeat(8)
        );
        assert!(Loaded::load(&[("p.rego".into(), fine)], false).is_ok());
    }

    fn load(text: &str) -> Result<Loaded, Error> {
        Loaded::load(&[("p.rego".into(), text.into())], false)
    }

    #[test]
    fn a_syntax_error_names_its_file_line_and_column() {
        let e = load("package p\n\ndeny contains msg if {\n  msg := \n}\npackage q\n")
            .err()
            .expect("a syntax error");
        assert_eq!(e.file.as_deref(), Some("p.rego"));
        assert!(e.line.is_some_and(|l| (4..=6).contains(&l)), "{e:?}");
        assert!(e.message.contains("(column "), "{e:?}");
        assert!(!e.message.contains('\n'), "one line: {e:?}");
    }

    #[test]
    fn a_byte_order_mark_is_read_past_as_opa_does() {
        let loaded = load("\u{feff}package main\r\n\r\ndeny contains \"no\" if true\r\n");
        assert!(loaded.is_ok(), "{:?}", loaded.err());
    }

    #[test]
    fn rule_names_follow_conftest() {
        for ok in [
            "deny",
            "violation",
            "warn",
            "deny_x",
            "deny_1",
            "deny_x_y_z",
            "warn_Foo9",
        ] {
            assert!(rule_outcome(ok).is_some(), "{ok}");
        }
        for no in ["deny_", "denyXYZ", "deny__x", "Deny", "warning", "deny_x-y"] {
            assert!(rule_outcome(no).is_none(), "{no}");
        }
        assert_eq!(rule_outcome("unknown_backend"), Some(Outcome::Unknown));
        assert_eq!(exception_name("deny_run_as_root"), "run_as_root");
        assert_eq!(exception_name("violation_foo_bar"), "foo_bar");
        assert_eq!(exception_name("deny_warn_x"), "x");
        assert_eq!(exception_name("deny"), "");
        assert_eq!(exception_name("warn_latest"), "latest");
    }

    #[test]
    fn rules_come_from_the_parsed_modules() {
        let l = load(
            "package main # not part of the name\n\nimport rego.v1\n\n  deny_indented contains \"x\" if true\n\ndeny if true\n\ndefault deny_y := false\n\ndeny.sub contains \"y\" if true\n\nviolation := [1] if true\n",
        )
        .unwrap();
        assert_eq!(l.packages, vec!["main"]);
        let names: Vec<&str> = l.rules.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            vec!["deny_indented", "deny", "deny_y", "", "violation"]
        );
        assert_eq!(l.rules[0].line, 5);
    }

    #[test]
    fn the_mixed_if_form_is_rejected_with_its_line() {
        let err = load("package main\n\ndeny[msg] if {\n\tmsg := \"foo\"\n}\n")
            .err()
            .unwrap();
        assert_eq!(err.line, Some(3), "{err}");
        assert!(err.to_string().contains("without `contains`"), "{err}");
    }

    #[test]
    fn unknown_functions_are_named_at_load() {
        let err = load("package main\n\nimport rego.v1\n\ndeny contains \"x\" if {\n\thttp.send({\"url\": \"u\"})\n}\n")
            .err()
            .unwrap();
        assert_eq!(err.line, Some(6), "{err}");
        assert!(err.to_string().contains("`http.send`"), "{err}");
        // functions of the policy, in other packages and through imports, are fine
        let files = vec![
            ("lib.rego".to_string(), "package lib.util\n\nimport rego.v1\n\nshout(s) := upper(s)\n".to_string()),
            ("p.rego".to_string(), "package main\n\nimport rego.v1\nimport data.lib.util\n\nlocal(x) := x\n\ndeny contains util.shout(local(\"x\")) if true\n\nwarn contains data.lib.util.shout(\"y\") if true\n".to_string()),
        ];
        Loaded::load(&files, false).unwrap();
    }

    #[test]
    fn reading_data_conftest_is_recognised() {
        let reads = |body: &str| {
            load(&format!("package main\n\nimport rego.v1\n\n{body}\n"))
                .unwrap()
                .reads_conftest_data
        };
        assert!(reads("deny contains data.conftest.file.name if true"));
        assert!(reads("deny contains x if { some k; x := data[k] }"));
        assert!(reads("deny contains \"x\" if { d := data; d.conftest }"));
        assert!(!reads("deny contains \"x\" if walk(input, [_, _])"));
        assert!(reads("deny contains \"x\" if data[\"conftest\"].file"));
        assert!(!reads(
            "deny contains \"x\" if data.services.ports[_] == 22"
        ));
        assert!(!reads("deny contains \"x\" if input.a"));
    }

    #[test]
    fn redundant_future_imports_are_blanked_in_place() {
        let text = "package main\n\nimport rego.v1\nimport future.keywords.in # old\nimport future.keywords\n\ndeny contains \"x\" if true\n";
        let fixed = compatible_imports(text);
        assert_eq!(fixed.lines().count(), text.lines().count());
        assert!(!fixed.contains("import future"));
        assert!(fixed.contains("# old"));
        load(text).unwrap();
        let v0 = "package main\n\nimport future.keywords\nimport future.keywords.in\nimport future.keywords.if\n\ndeny contains \"x\" if true\n";
        Loaded::load(&[("p.rego".into(), v0.into())], true).unwrap();
        let plain = "package main\n\nimport rego.v1\n";
        assert!(matches!(
            compatible_imports(plain),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
