//! Paths a `module` block hands to its module: in its arguments, and through what its
//! `for_each` iterates over (see `HclFacts::module_args`).

use super::*;

/// Whether an argument of a `module` block may hand the module a path: an input variable,
/// or `for_each` (whose values reach the module through `each.value`); not another
/// meta-argument (`source`, `count`, ...) or the `chart` a wrapper module deploys (read as a
/// chart, see [`chart_refs_of`]).
pub(crate) fn is_module_input(key: &str) -> bool {
    !matches!(
        key,
        "source" | "version" | "count" | "providers" | "depends_on" | "chart"
    )
}

/// The fact for a module argument whose value is a static path (see `HclFacts::module_args`):
/// a path below `path.module`, `path.root`, `path.cwd` or a local (`"${local.dir}/x"`; what
/// follows starts with `/`, so `"${local.name}-app"` is a name), or a literal that starts
/// with `./` or `../` (other literals are taken for names). The directory alone
/// (`path.module`) gives nothing: its files are the caller's own, and a local alone
/// (`local.x`) gives nothing either (see docs/soundness.md).
pub(crate) fn module_arg_path(
    base: PathBase,
    path: String,
    dynamic_tail: bool,
    line: usize,
) -> Option<FileRef> {
    let keep = match base {
        // A path below the directory (`"${local.dir}/x"`); `"${local.name}-app"` is a name.
        PathBase::Module | PathBase::Local(_) => path.starts_with('/'),
        // `"${path.root}/x"` (`/x`) or a relative literal; `"x/y"` is taken for a name.
        PathBase::Root => path.starts_with('/') || is_relative_path(&path),
        PathBase::Absolute => false,
    };
    keep.then(|| FileRef {
        function: MODULE_ARGUMENT.to_string(),
        base,
        path,
        pattern: None,
        candidate: true,
        dynamic_tail,
        line,
        tail_local: None,
    })
}

/// The fact for a module's `for_each = local.files` (or `var.files`, recorded as the local
/// `var.files`, see [`VAR_PREFIX`]): what it iterates over reaches the module through
/// `each.value` and `each.key`, so each path the local (or the variable's default) may hold
/// is handed to the module.
pub(crate) fn for_each_of(name: String, line: usize) -> FileRef {
    FileRef {
        function: MODULE_ARGUMENT.to_string(),
        base: PathBase::Local(name),
        path: String::new(),
        pattern: None,
        candidate: true,
        dynamic_tail: false,
        line,
        tail_local: None,
    }
}

/// The facts for a module's `for_each`: the locals or variables it iterates over (on their
/// own, converted as in `toset(var.files)`, or walked by a `for` expression), see
/// [`for_each_of`], and the paths written in it, as any argument's (see
/// [`module_arg_paths`]).
pub(super) fn for_each_refs(value: &Expression, line: usize) -> Vec<FileRef> {
    if let Some(name) = iterated_name(value) {
        return vec![for_each_of(name, line)];
    }
    let mut found = module_arg_paths(value, line);
    let mut names = Vec::new();
    iterated_names(value, 0, &mut names);
    found.extend(names.into_iter().map(|name| for_each_of(name, line)));
    found
}

/// The locals and variables (see [`iterated_name`]) whose elements a collection built from
/// them may hold: the arguments of a collection function, the collection a `for`
/// expression walks, the branches of a conditional, nested up to 16 deep; an element of
/// one (`local.cfg.files`) stands for the whole local.
pub(super) fn iterated_names(expr: &Expression, depth: usize, out: &mut Vec<String>) {
    if depth > 16 {
        return;
    }
    if depth > 0 {
        if let Some(name) = iterated_name(expr) {
            out.push(name);
            return;
        }
    }
    // An element of a local or a variable (`local.cfg.files`) may hold any of its paths.
    if let Some(name) = element_of(expr) {
        out.push(name);
        return;
    }
    match unwrapped(expr) {
        Expression::FuncCall(call) if is_collection_call(unwrapped(expr)) => {
            for arg in call.args.iter() {
                iterated_names(arg, depth + 1, out);
            }
        }
        Expression::ForExpr(f) => iterated_names(&f.intro.collection_expr, depth + 1, out),
        Expression::Conditional(c) => {
            iterated_names(&c.true_expr, depth + 1, out);
            iterated_names(&c.false_expr, depth + 1, out);
        }
        Expression::Parenthesis(p) => iterated_names(p.inner(), depth + 1, out),
        _ => {}
    }
}

/// [`for_each_refs`] of a value given as text (the fast scanner's way to the same facts):
/// `None` when the text is not one expression.
pub(super) fn for_each_refs_of_text(value: &str, line: usize) -> Option<Vec<FileRef>> {
    let expr = hcl_edit::parser::parse_expr(value).ok()?;
    Some(for_each_refs(&expr, line))
}

/// `local.NAME` or `var.NAME` on its own (or as `"${…}"`): the local's name, or `var.NAME`.
pub(super) fn iterated_name(expr: &Expression) -> Option<String> {
    let expr = unwrapped(expr);
    if let Some(var) = variable_name(expr) {
        return Some(format!("{VAR_PREFIX}{var}"));
    }
    match path_variable(expr)? {
        PathBase::Local(name) => Some(name),
        _ => None,
    }
}

/// The `function` of a [`FileRef`] that is a path handed to a module.
pub(crate) const MODULE_ARGUMENT: &str = "module argument";

/// Parts of argument names that say the argument holds a path (`source_dir`,
/// `config_path`, `filename`, `policy_file`, `templates_dir`, `program`, `pattern`,
/// `target`, `kubeconfig`).
const PATH_NAME_PARTS: &[&str] = &[
    "path",
    "file",
    "dir",
    "source",
    "script",
    "program",
    "pattern",
    "template",
    "target",
    "config",
    "credentials",
    "folder",
];

/// Whether an argument named `key` is named as one that holds a path. Asked of every
/// argument set to a local or a variable (tens of thousands in a large workspace): one pass
/// over the name, comparing only where a part's first letter stands.
pub(crate) fn named_as_a_path(key: &str) -> bool {
    const FIRST: [bool; 256] = {
        let mut table = [false; 256];
        let mut i = 0;
        while i < PATH_NAME_PARTS.len() {
            table[PATH_NAME_PARTS[i].as_bytes()[0] as usize] = true;
            i += 1;
        }
        table
    };
    let b = key.as_bytes();
    (0..b.len()).any(|i| {
        FIRST[b[i] as usize]
            && PATH_NAME_PARTS
                .iter()
                .any(|part| b[i..].starts_with(part.as_bytes()))
    })
}

/// The fact for an argument named as one holding a path ([`named_as_a_path`]) whose value
/// is a local or a variable on its own (`source_dir = local.src`, `policy_file =
/// var.policy`, also written `"${local.src}"`): each path the local (or the variable's
/// default or variable-file value) may hold is handed over, as through `for_each`
/// ([`for_each_of`]). Other names with such values (`tags = local.tags`, `name =
/// var.name`: tens of thousands in a large workspace) are not followed.
pub(crate) fn named_path_arg(key: &str, value: &Expression, line: usize) -> Vec<FileRef> {
    if !named_as_a_path(key) {
        return Vec::new();
    }
    let mut names = Vec::new();
    named_values(value, 0, &mut names);
    let mut seen = std::collections::BTreeSet::new();
    names
        .into_iter()
        .filter(|n| seen.insert(n.clone()))
        .map(|name| for_each_of(name, line))
        .collect()
}

/// The locals and variables a value handed over under a path name may be: one on its own
/// or an element of one, or one among a choice's (`coalesce(var.dir, "x")`, `try(...)`,
/// `lookup`, `element`), a conditional's branches, a list's items, a collection call's
/// arguments, or what `abspath` or `pathexpand` is given (the same path).
fn named_values(value: &Expression, depth: usize, out: &mut Vec<String>) {
    if depth > 16 {
        return;
    }
    if let Some(name) = iterated_name(value).or_else(|| element_of(value)) {
        out.push(name);
        return;
    }
    match unwrapped(value) {
        Expression::FuncCall(call)
            if !call.name.is_namespaced()
                && (CHOICE_FUNCTIONS.contains(&call.name.name.as_str())
                    || COLLECTION_FUNCTIONS.contains(&call.name.name.as_str())
                    || matches!(call.name.name.as_str(), "abspath" | "pathexpand")) =>
        {
            for arg in call.args.iter() {
                named_values(arg, depth + 1, out);
            }
        }
        Expression::Conditional(c) => {
            named_values(&c.true_expr, depth + 1, out);
            named_values(&c.false_expr, depth + 1, out);
        }
        Expression::Array(items) => {
            for item in items.iter() {
                named_values(item, depth + 1, out);
            }
        }
        _ => {}
    }
}

/// An element of a local or a variable (`local.files[count.index]`, `local.cfg.files`,
/// `var.paths["web"]`): the local's name, or `var.NAME`, whose every path the element may
/// be.
pub(super) fn element_of(expr: &Expression) -> Option<String> {
    let Expression::Traversal(t) = unwrapped(expr) else {
        return None;
    };
    let (Expression::Variable(v), [first, _, ..]) = (&t.expr, t.operators.as_slice()) else {
        return None;
    };
    match (v.as_str(), &**first) {
        ("local", TraversalOperator::GetAttr(name)) => Some(name.as_str().to_string()),
        ("var", TraversalOperator::GetAttr(name)) => Some(format!("{VAR_PREFIX}{name}")),
        _ => None,
    }
}

/// Adds the facts for an argument `key` of a module block (or, with `resource`, of a
/// resource, data or provider block) to `facts`: a command line's (see [`command_paths`]),
/// else [`named_path_arg`], else the paths written in it.
pub(super) fn path_arg(
    key: &str,
    value: &Expression,
    line: usize,
    resource: bool,
    facts: &mut HclFacts,
) {
    if !resource {
        facts.chart_refs.extend(nested_chart_refs(value, line));
    }
    if resource && key == COMMAND {
        if let Some(command) = command_paths(value, line) {
            facts.file_refs.extend(command.paths);
            if command.runs_above {
                facts.unresolved_refs.push(line);
            }
            return;
        }
    }
    let named = named_path_arg(key, value, line);
    let chosen = !named.is_empty();
    for r in named {
        facts.file_refs.push(match resource {
            true => FileRef {
                function: PROVIDER_ARGUMENT.to_string(),
                ..r
            },
            false => r,
        });
    }
    // A name on its own is all there is; a choice may also hold paths written out
    // (`coalesce(var.dir, "${path.module}/default")`).
    if chosen && (iterated_name(value).is_some() || element_of(value).is_some()) {
        return;
    }
    match resource {
        true => facts.file_refs.extend(provider_arg_paths(value, line)),
        false => facts.file_refs.extend(module_arg_paths(value, line)),
    }
}

/// The argument of a `provisioner "local-exec"` that holds its command line.
pub(crate) const COMMAND: &str = "command";

/// The paths written in a command line (`command = "bash ${path.module}/scripts/run.sh
/// --env ${var.env}"`, a heredoc script): each word that is a path by the rules of
/// [`module_arg_path`] (`${path.module}/x`, `${path.root}/x`, `${local.dir}/x`, `./x`,
/// `../x`), cut at the next space, quote, `=`, `;`, `|`, `&`, `<`, `>` or parenthesis, its
/// static part up to the first interpolation inside it. A word that names the module's own
/// directory or one above it (`cd ${path.module}/..`) is where a command runs, not what it
/// reads, and is left out. After `cd DIR` (or `pushd DIR`) with `DIR` such a path, the
/// relative words that follow are read from `DIR` (`cd ${path.module}/../.. &&
/// ./shared/build.sh`, or `bash shared/build.sh`: after a `cd`, a word with a `/` inside
/// it is taken for a path too). A `cd` to a directory above the module's
/// (`cd ${path.module}/.. && npm run build`) runs what follows where strata cannot tell
/// what it reads: `runs_above`, an unresolved read. `None` when the value is no string.
fn command_paths(value: &Expression, line: usize) -> Option<CommandLine> {
    let template = match value {
        Expression::String(s) => {
            return Some(words_of(&[Piece::Text(s.as_str().into())], line));
        }
        Expression::StringTemplate(t) => &**t,
        Expression::HeredocTemplate(h) => &h.template,
        _ => return None,
    };
    let pieces: Vec<Piece> = template
        .iter()
        .map(|element| match super::literal_element(element) {
            Some(text) => Piece::Text(text.into()),
            None => match element {
                Element::Interpolation(i) => Piece::Value(path_variable(&i.expr)),
                _ => Piece::Value(None),
            },
        })
        .collect();
    Some(words_of(&pieces, line))
}

/// A part of a command line: written text, or a computed value (a path variable, or
/// anything else).
enum Piece<'a> {
    Text(std::borrow::Cow<'a, str>),
    Value(Option<PathBase>),
}

/// A word of a command line: written text, or led by a computed value (`Some`, with the
/// path variable it is, if any) and the text written right after it; whether a computed
/// part continues it.
struct Word<'p> {
    lead: Option<Option<PathBase>>,
    text: &'p str,
    continued: bool,
}

/// What a command line reads: the paths written in it, and whether it changes to a
/// directory above the module's.
struct CommandLine {
    paths: Vec<FileRef>,
    runs_above: bool,
}

fn words_of(pieces: &[Piece], line: usize) -> CommandLine {
    let mut reader = CommandReader {
        line,
        found: Vec::new(),
        after_cd: false,
        cwd: None,
        runs_above: false,
    };
    for word in command_words(pieces) {
        reader.word(word);
    }
    CommandLine {
        paths: reader.found,
        runs_above: reader.runs_above,
    }
}

/// The words of a command line, in order (see [`command_paths`] for where they break).
fn command_words<'p>(pieces: &'p [Piece]) -> Vec<Word<'p>> {
    const BREAKS: &[char] = &['"', '\'', '`', '=', ';', '|', '&', '<', '>', '(', ')'];
    let breaks = |c: char| c.is_whitespace() || BREAKS.contains(&c);
    let mut words = Vec::new();
    // Whether the next piece starts a word (the line's start, or right after a break).
    let mut at_word = true;
    for (n, piece) in pieces.iter().enumerate() {
        match piece {
            Piece::Text(text) => {
                let mut rest: &str = text;
                while !rest.is_empty() {
                    let word_end = rest.find(breaks).unwrap_or(rest.len());
                    if at_word && word_end > 0 {
                        // A computed part right after the word's text continues it.
                        let continued = word_end == rest.len()
                            && matches!(pieces.get(n + 1), Some(Piece::Value(_)));
                        words.push(Word {
                            lead: None,
                            text: &rest[..word_end],
                            continued,
                        });
                    }
                    match rest[word_end..].chars().next() {
                        Some(c) => {
                            rest = &rest[word_end + c.len_utf8()..];
                            at_word = true;
                        }
                        None => {
                            rest = "";
                            at_word = word_end == 0 && at_word;
                        }
                    }
                }
            }
            Piece::Value(base) => {
                if at_word {
                    let (text, continued) = match pieces.get(n + 1) {
                        Some(Piece::Text(next)) => {
                            let next: &str = next;
                            let word = &next[..next.find(breaks).unwrap_or(next.len())];
                            let continued = word.len() == next.len()
                                && matches!(pieces.get(n + 2), Some(Piece::Value(_)));
                            (word, continued)
                        }
                        _ => ("", true),
                    };
                    words.push(Word {
                        lead: Some(base.clone()),
                        text,
                        continued,
                    });
                }
                at_word = false;
            }
        }
    }
    words
}

/// Reads a command line's words in order, following its `cd`s.
struct CommandReader {
    line: usize,
    found: Vec<FileRef>,
    /// The last word was `cd` or `pushd`.
    after_cd: bool,
    /// Where a `cd` went, when it named a path (its base and path); `None` before any, or
    /// after one to a place not written out.
    cwd: Option<(PathBase, String)>,
    /// A `cd` went to a directory above the module's.
    runs_above: bool,
}

impl CommandReader {
    fn word(&mut self, word: Word) {
        if word.lead.is_none() && matches!(word.text, "cd" | "pushd") {
            self.after_cd = true;
            return;
        }
        let after_cd = std::mem::take(&mut self.after_cd);
        // The path the word names, if it is one.
        let path = match &word.lead {
            Some(Some(base)) => Some((base.clone(), word.text.to_string())),
            Some(None) => None,
            None if is_relative_path(word.text) || (after_cd && is_name_path(word.text)) => {
                Some(match &self.cwd {
                    Some((base, dir)) => (base.clone(), format!("{dir}/{}", word.text)),
                    None => (PathBase::Root, relative(word.text)),
                })
            }
            None => match &self.cwd {
                Some((base, dir)) if is_name_path(word.text) && word.text.contains('/') => {
                    Some((base.clone(), format!("{dir}/{}", word.text)))
                }
                _ => None,
            },
        };
        if after_cd {
            self.cwd = path.clone().filter(|_| !word.continued);
            self.runs_above |= matches!(&self.cwd, Some((PathBase::Module | PathBase::Root, dir))
                if levels_up(dir).is_some_and(|n| n > 0));
        }
        if let Some((base, path)) = path {
            self.keep(base, &path, word.continued);
        }
    }

    fn keep(&mut self, base: PathBase, path: &str, dynamic: bool) {
        // The module's own directory or one above it: where a command runs.
        if levels_up(path).is_some() && !matches!(base, PathBase::Local(_)) {
            return;
        }
        if let Some(mut r) = module_arg_path(base, path.to_string(), dynamic, self.line) {
            r.function = PROVIDER_ARGUMENT.to_string();
            if !self.found.contains(&r) {
                self.found.push(r);
            }
        }
    }
}

/// How many levels above a module's directory `dir`, relative to it, names (`""` and
/// `/x/..` 0, `/..` 1, `../x/../..` 2); `None` for a directory below or beside it
/// (`../../shared`, whose files a `cd` there makes inputs).
fn levels_up(dir: &str) -> Option<usize> {
    let mut segments: Vec<&str> = Vec::new();
    for segment in dir.split('/') {
        match segment {
            "" | "." => {}
            ".." if segments.last().is_some_and(|s| *s != "..") => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    segments
        .iter()
        .all(|s| *s == "..")
        .then_some(segments.len())
}

/// A word that may name a file or directory below where the command runs (`shared/x.sh`,
/// `build`): no option, variable, home, URL or absolute path.
fn is_name_path(word: &str) -> bool {
    !word.is_empty()
        && !word.starts_with(['-', '/', '$', '~'])
        && !word.contains(':')
        && !word.contains('*')
}

/// A relative word as the root-relative path [`module_arg_path`] takes (`shared/x` is
/// `./shared/x`).
fn relative(word: &str) -> String {
    if is_relative_path(word) {
        word.to_string()
    } else {
        format!("./{word}")
    }
}

/// [`path_arg`] of a value given as text (the fast scanner's way to the same facts): `None`
/// when the text is not one expression.
pub(super) fn path_arg_of_text(
    key: &str,
    value: &str,
    line: usize,
    resource: bool,
    facts: &mut HclFacts,
) -> Option<()> {
    let expr = hcl_edit::parser::parse_expr(value).ok()?;
    path_arg(key, &expr, line, resource, facts);
    Some(())
}

/// The `function` of a [`FileRef`] that is a path in an argument of a `resource`, `data` or
/// `provider` block (`source_dir` of an `archive_file`, `source` of an `aws_s3_object`, a
/// script in an `external` data source's `program`, a provider's `config_path`): the
/// provider may read it, as a module may read a path handed to it, so it is read by the
/// same rules ([`module_arg_paths`]).
pub(crate) const PROVIDER_ARGUMENT: &str = "provider argument";

/// The facts for the arguments of a `resource`, `data` or `provider` block's `body`, nested blocks
/// (`provisioner`, `source`, `dynamic` content) included, in the order they are written:
/// each path one may hand to its provider (see [`PROVIDER_ARGUMENT`]). A `helm_release`'s
/// own `chart` is read as a chart instead (`in_helm_release` at depth 0).
pub(super) fn provider_args(
    body: &Body,
    text: &str,
    in_helm_release: bool,
    depth: usize,
    facts: &mut HclFacts,
) {
    for structure in body.iter() {
        match structure {
            Structure::Attribute(attr) => {
                if in_helm_release && depth == 0 && attr.key.as_str() == "chart" {
                    continue;
                }
                let offset = attr.span().map(|s| s.start).unwrap_or(0);
                let line = line_of(text, offset);
                path_arg(attr.key.as_str(), &attr.value, line, true, facts);
            }
            Structure::Block(block) => {
                provider_args(&block.body, text, in_helm_release, depth + 1, facts)
            }
        }
    }
}

/// The paths an argument of a `resource`, `data` or `provider` block hands to its provider: as for a
/// module's argument ([`module_arg_paths`]).
pub(super) fn provider_arg_paths(value: &Expression, line: usize) -> Vec<FileRef> {
    let mut found = module_arg_paths(value, line);
    for r in &mut found {
        r.function = PROVIDER_ARGUMENT.to_string();
    }
    found
}

/// [`provider_arg_paths`] of a value given as text (the fast scanner's way to the same
/// facts): `None` when the text is not one expression.
pub(super) fn provider_arg_paths_of_text(value: &str, line: usize) -> Option<Vec<FileRef>> {
    let expr = hcl_edit::parser::parse_expr(value).ok()?;
    Some(provider_arg_paths(&expr, line))
}

/// The paths an argument of a `module` block hands to the module: its value when that is a
/// static path (see [`module_arg_path`]) or a path below a variable's default
/// (`"${var.dir}/x.json"`), else the path templates and relative literals written anywhere
/// in it (a collection, a choice, a function of them: see [`Candidates`]).
pub(super) fn module_arg_paths(value: &Expression, line: usize) -> Vec<FileRef> {
    let value = unwrapped(value);
    if let Some((base, path, dynamic)) = static_path(value) {
        return module_arg_path(base, path, dynamic, line)
            .into_iter()
            .collect();
    }
    if let Some((var, path, dynamic)) = below_variable(value) {
        let base = PathBase::Local(format!("{VAR_PREFIX}{var}"));
        return module_arg_path(base, path, dynamic, line)
            .into_iter()
            .collect();
    }
    let mut found = Vec::new();
    Candidates {
        line,
        locals: false,
        vars: false,
        below_names: true,
        found: &mut found,
    }
    .visit_expr(value);
    found
        .into_iter()
        .map(|r| FileRef {
            function: MODULE_ARGUMENT.to_string(),
            ..r
        })
        .collect()
}

/// [`module_arg_paths`] of a value given as text (the fast scanner's way to the same facts):
/// `None` when the text is not one expression.
pub(super) fn module_arg_paths_of_text(value: &str, line: usize) -> Option<Vec<FileRef>> {
    let expr = hcl_edit::parser::parse_expr(value).ok()?;
    Some(module_arg_paths(&expr, line))
}
