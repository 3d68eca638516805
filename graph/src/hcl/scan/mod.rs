//! The fast path for reading facts from `.tf` files: a hand-written, validating scanner for
//! HCL native syntax that builds no syntax tree.
//!
//! The contract, held by the differential tests in `tests.rs`: the scanner accepts a strict subset
//! of what the reference parser (hcl-edit, see [`super::parse_tf_reference`]) accepts, and for
//! every file it accepts it returns exactly the facts the reference returns. Whenever it is
//! unsure, it gives up (`None`) and the caller parses the file with the reference parser,
//! which also writes the error message for a malformed file. It gives up on:
//! - carriage returns and NUL bytes anywhere in the file;
//! - identifiers that are not ASCII;
//! - newlines inside quoted strings and inside any interpolation or template directive (the
//!   reference refuses some of those, such as a traversal continued on the next line), and
//!   template directives with strip markers (`%{~ if }`) inside quoted strings;
//! - one-line `module` blocks, empty heredocs, a second computed key in an object (one whose
//!   key is neither a name nor a plain string: `(local.name) = ...`);
//! - a line that continues an expression (it starts with `.`, `[`, `?` or an operator);
//! - nesting deeper than [`MAX_DEPTH`] or more than [`MAX_OPERATORS`] binary operators in
//!   one attribute, well inside the reference parser's own limits;
//! - anything else it does not recognise, malformed input included.
//!
//! This file holds the scanner, its lexing helpers and the structure of bodies (attributes
//! and blocks); `expr.rs` the expressions, `strings.rs` quoted strings and heredocs,
//! `shape.rs` what an expression's shape says, `tests.rs` the differential tests.

mod choice;
mod expr;
mod shape;
mod strings;

use super::{HclFacts, ModuleCall, PathLocal};
use shape::{path_variable, static_path, Call, Elem, Named, Shape};
use std::borrow::Cow;
use std::cell::Cell;
use strings::unescape;

const MAX_DEPTH: usize = 40;
const MAX_OPERATORS: usize = 64;

/// `None`: give the file to the reference parser.
type Scan<T> = Option<T>;

/// Facts from `text`, or `None` when the reference parser must decide.
pub(super) fn scan(text: &str) -> Option<HclFacts> {
    scan_with(text, true)
}

/// [`scan`], with or without the shortcut for simple values (the tests compare the two).
fn scan_with(text: &str, shortcuts: bool) -> Option<HclFacts> {
    let bytes = text.as_bytes();
    if memchr::memchr2(b'\r', 0, bytes).is_some() {
        return None;
    }
    let mut scanner = Scanner {
        text,
        b: bytes,
        pos: 0,
        depth: 0,
        operators: 0,
        variable: None,
        calls: Vec::new(),
        facts: HclFacts::default(),
        line_cursor: (0, 1),
        keys: Vec::new(),
        key_sets: Vec::new(),
        shortcuts,
        skipped_sp: Cell::new((usize::MAX, 0)),
        skipped_ws: Cell::new((usize::MAX, 0)),
    };
    scanner.body(Body::Top)?;
    if scanner.has_unresolved_call() {
        return None;
    }
    Some(scanner.finish())
}

/// Which body is being read: facts come from the attributes of top-level `module` and
/// `locals` blocks.
#[derive(Clone, Copy, PartialEq)]
enum Body {
    Top,
    Module,
    Locals,
    /// A top-level `resource "helm_release"` or `data "helm_template"` block: its `chart` may
    /// be a local directory.
    HelmRelease,
    /// A top-level `variable` block: its `default` may be a path (`hcl::variable_default`).
    Variable,
    /// Another top-level `resource` block, a `data`, `ephemeral` or `provider` block, a
    /// `data` block in a `check` block, or a block nested in one of them or in a
    /// `helm_release`: its arguments may hand the provider a path (`hcl::provider_args`).
    Resource,
    /// A top-level `check` block: the `data` blocks in it read as top-level ones.
    Check,
    Other,
}

struct Scanner<'a> {
    text: &'a str,
    b: &'a [u8],
    pos: usize,
    depth: usize,
    /// Binary operators in the current attribute's expression.
    operators: usize,
    /// The label of the `variable` block being read.
    variable: Option<(usize, usize, bool)>,
    calls: Vec<Call>,
    facts: HclFacts,
    /// (offset, line) of the last line lookup, so lookups in order cost one pass in total.
    line_cursor: (usize, usize),
    /// The attribute names of the bodies and the keys of the objects being read, innermost
    /// last, to refuse duplicates as the reference does.
    keys: Vec<Cow<'a, str>>,
    /// For the bodies and objects among `keys` with many keys, innermost last: where their
    /// keys start, and the keys as a set (a search of thousands of keys for each new one
    /// made a large `locals` block quadratic).
    key_sets: Vec<(usize, std::collections::HashSet<Cow<'a, str>>)>,
    /// Whether simple values take [`Scanner::simple_expr`] (always, but in tests).
    shortcuts: bool,
    /// (from, to) of the last [`Scanner::skip_sp`] and [`Scanner::skip_ws`]: an expression
    /// looks past its end for an operator or a continuation and steps back, so the same
    /// whitespace and comments would otherwise be skipped several times.
    skipped_sp: Cell<(usize, usize)>,
    skipped_ws: Cell<(usize, usize)>,
}

/// Byte classes, looked up rather than compared: identifiers are read a byte at a time.
const ID_START: u8 = 1;
const ID_CONTINUE: u8 = 2;
const CLASSES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        if b.is_ascii_alphabetic() || b == b'_' {
            t[c] = ID_START | ID_CONTINUE;
        } else if b.is_ascii_digit() || b == b'-' {
            t[c] = ID_CONTINUE;
        }
        c += 1;
    }
    t
};

fn is_id_start(c: u8) -> bool {
    CLASSES[c as usize] & ID_START != 0
}

fn is_id_continue(c: u8) -> bool {
    CLASSES[c as usize] & ID_CONTINUE != 0
}

/// The end of the identifier starting at `pos`; `None` when none starts there or it runs
/// into a non-ASCII character.
fn ident_end(b: &[u8], mut pos: usize) -> Option<usize> {
    if !b.get(pos).copied().is_some_and(is_id_start) {
        return None;
    }
    pos += 1;
    while b.get(pos).copied().is_some_and(is_id_continue) {
        pos += 1;
    }
    b.get(pos).is_none_or(|&c| c < 0x80).then_some(pos)
}

/// How many spaces `b` starts with, eight at a time.
fn spaces(b: &[u8]) -> usize {
    let mut n = 0;
    while let Some(chunk) = b.get(n..n + 8) {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let other = word ^ 0x2020_2020_2020_2020;
        if other != 0 {
            return n + (other.trailing_zeros() / 8) as usize;
        }
        n += 8;
    }
    n + b[n..].iter().take_while(|&&c| c == b' ').count()
}

impl<'a> Scanner<'a> {
    // --- bytes and trivia ------------------------------------------------------------------

    fn at(&self, pos: usize) -> Option<u8> {
        self.b.get(pos).copied()
    }

    fn peek(&self) -> Option<u8> {
        self.at(self.pos)
    }

    fn starts_with(&self, s: &[u8]) -> bool {
        self.b[self.pos..].starts_with(s)
    }

    fn expect(&mut self, c: u8) -> Scan<()> {
        (self.peek() == Some(c)).then(|| self.pos += 1)
    }

    /// The end of the `/* */` comment starting at `pos`.
    fn block_comment_end(&self, pos: usize) -> Scan<usize> {
        let mut from = pos + 2;
        loop {
            let star = from + memchr::memchr(b'*', &self.b[from..])?;
            if self.at(star + 1) == Some(b'/') {
                return Some(star + 2);
            }
            from = star + 1;
        }
    }

    /// The end of the line comment starting at `pos` (the newline itself is not included).
    fn line_end(&self, pos: usize) -> usize {
        memchr::memchr(b'\n', &self.b[pos..]).map_or(self.b.len(), |i| pos + i)
    }

    /// Spaces, tabs and `/* */` comments from `pos`.
    #[inline]
    fn skip_sp(&self, from: usize) -> Scan<usize> {
        // Most calls find nothing to skip: answered here, without the call below.
        match (self.at(from), self.at(from + 1)) {
            (Some(b' ' | b'\t' | b'/'), Some(b' ' | b'\t' | b'/')) => self.skip_sp_slow(from),
            (Some(b' ' | b'\t'), _) => Some(from + 1),
            (Some(b'/'), _) => self.skip_sp_slow(from),
            _ => Some(from),
        }
    }

    fn skip_sp_slow(&self, from: usize) -> Scan<usize> {
        let (last, to) = self.skipped_sp.get();
        if last == from {
            return Some(to);
        }
        let mut pos = from;
        loop {
            match self.at(pos) {
                Some(b' ') => pos += spaces(&self.b[pos..]),
                Some(b'\t') => pos += 1,
                Some(b'/') if self.at(pos + 1) == Some(b'*') => {
                    pos = self.block_comment_end(pos)?
                }
                _ => {
                    self.skipped_sp.set((from, pos));
                    return Some(pos);
                }
            }
        }
    }

    /// Whitespace, newlines and every kind of comment from `pos`.
    #[inline]
    fn skip_ws(&self, from: usize) -> Scan<usize> {
        match self.at(from) {
            Some(b' ' | b'\t' | b'\n' | b'#' | b'/') => self.skip_ws_slow(from),
            _ => Some(from),
        }
    }

    fn skip_ws_slow(&self, from: usize) -> Scan<usize> {
        let (last, to) = self.skipped_ws.get();
        if last == from {
            return Some(to);
        }
        let to = self.skip_ws_uncached(from)?;
        self.skipped_ws.set((from, to));
        Some(to)
    }

    fn skip_ws_uncached(&self, mut pos: usize) -> Scan<usize> {
        loop {
            match self.at(pos) {
                Some(b' ') => pos += spaces(&self.b[pos..]),
                Some(b'\t' | b'\n') => pos += 1,
                Some(b'#') => pos = self.line_end(pos),
                Some(b'/') if self.at(pos + 1) == Some(b'/') => pos = self.line_end(pos),
                Some(b'/') if self.at(pos + 1) == Some(b'*') => {
                    pos = self.block_comment_end(pos)?
                }
                _ => return Some(pos),
            }
        }
    }

    fn sp(&mut self) -> Scan<()> {
        self.pos = self.skip_sp(self.pos)?;
        Some(())
    }

    fn ws(&mut self) -> Scan<()> {
        self.pos = self.skip_ws(self.pos)?;
        Some(())
    }

    /// Whitespace between the parts of an expression: newlines count only inside brackets.
    fn gap(&mut self, newlines: bool) -> Scan<()> {
        if newlines {
            self.ws()
        } else {
            self.sp()
        }
    }

    /// Skips a `#` or `//` comment; the newline stays.
    fn line_comment(&mut self) {
        if self.peek() == Some(b'#') || self.starts_with(b"//") {
            self.pos = self.line_end(self.pos);
        }
    }

    fn ident(&mut self) -> Scan<(usize, usize)> {
        let start = self.pos;
        self.pos = ident_end(self.b, start)?;
        Some((start, self.pos))
    }

    /// A keyword (`in`, `if`) that must not run on into an identifier.
    fn keyword(&mut self, word: &[u8]) -> Scan<()> {
        let end = self.pos + word.len();
        let after = self.at(end);
        if !self.starts_with(word) || after.is_some_and(|c| is_id_continue(c) || c >= 0x80) {
            return None;
        }
        self.pos = end;
        Some(())
    }

    fn str(&self, (start, end): (usize, usize)) -> &'a str {
        &self.text[start..end]
    }

    /// The line (1-based) of `offset`, counted from the last offset asked about, forwards
    /// or backwards: a call of a file function asks for its name's line, then its
    /// argument's key's, a little earlier; counting that one again from the file's start
    /// made a file of many such calls quadratic to scan.
    fn line_at(&mut self, offset: usize) -> usize {
        let newlines = |s: &[u8]| s.iter().filter(|&&c| c == b'\n').count();
        let (at, line) = self.line_cursor;
        let line = if offset >= at {
            line + newlines(&self.b[at..offset])
        } else {
            line - newlines(&self.b[offset..at])
        };
        self.line_cursor = (offset, line);
        line
    }

    fn enter(&mut self) -> Scan<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    // --- structure -------------------------------------------------------------------------

    /// A body: the file (`Top`) or a block's, after the newline that follows its `{`. A
    /// block's body ends at its `}`, which is consumed.
    fn body(&mut self, kind: Body) -> Scan<()> {
        let top = kind == Body::Top;
        // This body's attribute names are the end of the shared stack (no allocation per
        // block); a scan that gives up leaves it as it is.
        let first_key = self.keys.len();
        loop {
            self.ws()?;
            match self.peek() {
                None if top => break,
                Some(b'}') if !top => {
                    self.pos += 1;
                    break;
                }
                Some(c) if is_id_start(c) => {}
                _ => return None,
            }
            self.structure(kind, first_key)?;
            self.sp()?;
            self.line_comment();
            match self.peek() {
                None if top => break,
                // Left for the loop's `ws`, which then finds the skip an expression's end
                // already made from this newline.
                Some(b'\n') => {}
                _ => return None,
            }
        }
        self.end_keys(first_key);
        Some(())
    }

    /// Adds `key` to the body or object whose keys start at `first_key`; `false` when it
    /// has that key already.
    fn add_key(&mut self, first_key: usize, key: Cow<'a, str>) -> bool {
        /// Keys searched one by one; past this many, kept in a set.
        const SEARCHED: usize = 16;
        if let Some((start, set)) = self.key_sets.last_mut() {
            if *start == first_key {
                if !set.insert(key.clone()) {
                    return false;
                }
                self.keys.push(key);
                return true;
            }
        }
        if self.keys[first_key..].contains(&key) {
            return false;
        }
        self.keys.push(key);
        if self.keys.len() - first_key >= SEARCHED {
            let set = self.keys[first_key..].iter().cloned().collect();
            self.key_sets.push((first_key, set));
        }
        true
    }

    /// Ends the body or object whose keys start at `first_key`.
    fn end_keys(&mut self, first_key: usize) {
        self.keys.truncate(first_key);
        while self
            .key_sets
            .last()
            .is_some_and(|(start, _)| *start >= first_key)
        {
            self.key_sets.pop();
        }
    }

    /// An attribute or a block, starting at its identifier; the body's attribute names so
    /// far are `self.keys[first_key..]`.
    fn structure(&mut self, kind: Body, first_key: usize) -> Scan<()> {
        let ident = self.ident()?;
        let name = self.str(ident);
        self.sp()?;
        if self.peek() == Some(b'=') {
            if !self.add_key(first_key, Cow::Borrowed(name)) {
                return None;
            }
            return self.attribute(kind, ident);
        }
        let mut first_label = None;
        loop {
            match self.peek() {
                Some(b'{') => break,
                Some(b'"') => match self.quoted()? {
                    Shape::Str(start, end) => {
                        first_label.get_or_insert((start, end, true));
                    }
                    _ => return None,
                },
                Some(c) if is_id_start(c) => {
                    let (start, end) = self.ident()?;
                    first_label.get_or_insert((start, end, false));
                }
                _ => return None,
            }
            self.sp()?;
        }
        let inner = match (kind, name) {
            (Body::Top, "module") => Body::Module,
            (Body::Top, "locals") => Body::Locals,
            (Body::Top, "resource" | "data") | (Body::Check, "data")
                if self.deploys_a_chart(name, first_label)? =>
            {
                Body::HelmRelease
            }
            (Body::Top, "variable") => Body::Variable,
            (Body::Top, "check") => Body::Check,
            (Body::Top, "resource" | "data" | "ephemeral" | "provider")
            | (Body::Check, "data")
            | (Body::Resource | Body::HelmRelease, _) => Body::Resource,
            _ => Body::Other,
        };
        self.block_body(inner, first_label)
    }

    /// Whether a `resource` or `data` block (`ident`) with this first label, quoted or
    /// not, deploys or renders a chart (`hcl::deploys_a_chart`).
    fn deploys_a_chart(&self, ident: &str, label: Option<(usize, usize, bool)>) -> Scan<bool> {
        Some(match label {
            Some((start, end, true)) => {
                crate::hcl::deploys_a_chart(ident, &unescape(&self.text[start..end])?)
            }
            Some((start, end, false)) => crate::hcl::deploys_a_chart(ident, &self.text[start..end]),
            None => false,
        })
    }

    /// `= expression`, and its facts.
    fn attribute(&mut self, kind: Body, key: (usize, usize)) -> Scan<()> {
        self.expect(b'=')?;
        self.sp()?;
        self.operators = 0;
        let source_line =
            (kind == Body::Module && self.str(key) == "source").then(|| self.line_at(key.0));
        let value_start = self.pos;
        let chart_line = (matches!(kind, Body::HelmRelease | Body::Module)
            && self.str(key) == "chart")
            .then(|| self.line_at(key.0));
        let shape = self.expr(false)?;
        match kind {
            Body::Module if source_line.is_some() => {
                // A template naming a path variable, a local or a variable is no constant:
                // a source strata cannot follow (`hcl::collect_modules`). Any other form
                // (`("../m")`, `"${"../m"}"`) the reference reads.
                if let Shape::Template(elements) = &shape {
                    let named = elements
                        .iter()
                        .any(|e| matches!(e, Elem::Interpolation(Some(_))));
                    let unnamed = elements
                        .iter()
                        .any(|e| matches!(e, Elem::Interpolation(None)));
                    if named && !unnamed {
                        self.facts.unresolved_refs.push(source_line.unwrap_or(0));
                        return Some(());
                    }
                }
                if !matches!(shape, Shape::Str(..)) {
                    return None;
                }
                if let (Shape::Str(start, end), Some(line)) = (shape, source_line) {
                    let source = unescape(&self.text[start..end])?.into_owned();
                    if let Some(module) = self.facts.modules.last_mut() {
                        if module.source.is_empty() && module.line == 0 {
                            module.source = source;
                            module.line = line;
                        }
                    }
                }
            }
            Body::Variable if self.str(key) == "default" => {
                let name = || {
                    Some(match self.variable {
                        Some((s, e, true)) => unescape(&self.text[s..e])?.into_owned(),
                        Some((s, e, false)) => self.text[s..e].to_string(),
                        None => String::new(),
                    })
                };
                match shape {
                    Shape::Str(start, end) => {
                        let default = unescape(&self.text[start..end])?;
                        let found = crate::hcl::variable_default(&name()?, &default);
                        self.facts.path_locals.extend(found);
                    }
                    // A list or a map of paths: only one holding `./` can hold a path the
                    // reference reader collects (`hcl::variable_candidates`).
                    Shape::Collection if may_be_relative(&self.text[value_start..self.pos]) => {
                        let value = &self.text[value_start..self.pos];
                        let found = crate::hcl::variable_candidates_of_text(&name()?, value)?;
                        self.facts.path_locals.extend(found);
                    }
                    _ => {}
                }
            }
            // Defaults a type gives its attributes (`optional(string, "../src")`): only a
            // type holding `optional` and a `/` can give one the reference reader collects
            // (`hcl::type_defaults`).
            Body::Variable if self.str(key) == "type" => {
                let value = &self.text[value_start..self.pos];
                if value.contains("optional") && value.contains('/') {
                    let name = match self.variable {
                        Some((s, e, true)) => unescape(&self.text[s..e])?.into_owned(),
                        Some((s, e, false)) => self.text[s..e].to_string(),
                        None => String::new(),
                    };
                    let found = crate::hcl::type_defaults_of_text(&name, value)?;
                    self.facts.path_locals.extend(found);
                }
            }
            Body::HelmRelease | Body::Module if chart_line.is_some() => {
                let path = static_path(self.text, &shape)?;
                let value = &self.text[value_start..self.pos];
                // A release made for each element of a collection (`chart = each.value`):
                // the reference reads it with the block's `for_each`.
                if kind == Body::HelmRelease && value.contains("each.") {
                    return None;
                }
                if path.is_none() && crate::hcl::chart_value_may_hold_paths(value) {
                    // A choice among chart paths (or `var.chart`, whose default may be
                    // one): that value alone read with the reference's rules.
                    let found = crate::hcl::chart_refs_of_text(value, chart_line.unwrap_or(0))?;
                    self.facts.chart_refs.extend(found);
                    return Some(());
                }
                if let Some(r) = crate::hcl::chart_ref(path, chart_line.unwrap_or(0)) {
                    self.facts.chart_refs.push(r);
                }
            }
            Body::Locals => {
                match static_path(self.text, &shape)? {
                    Some((base, path, false)) => self.facts.path_locals.push(PathLocal {
                        name: self.str(key).to_string(),
                        base,
                        path,
                        candidate: false,
                    }),
                    Some(_) => {}
                    // A variable (`p = var.policy_file`): its default, where that may be a path.
                    None if matches!(shape, Shape::Attr((s, e), _) if &self.text[s..e] == "var") => {
                        if let Shape::Attr(_, (s, e)) = shape {
                            let name = self.str(key);
                            let local = crate::hcl::variable_local(name, &self.text[s..e]);
                            self.facts.path_locals.push(local);
                        }
                    }
                    // A map, a list or a choice between paths: the reference reader collects
                    // the paths written in it as candidates (`hcl::candidate_form`): the
                    // templates that start with `path.module` or `path.root`, the literals
                    // that start with `./` or `../`, and the locals it names. Only such a
                    // value that names `path` or `local` or holds `./` (`"${X}"` also a
                    // variable) can hold one; that value alone (an attribute's, not the
                    // file) is read with the reference's own rules.
                    // A file decoded anywhere in the value, or read by the value
                    // (`hcl::DecodedLocal`): the value is read with the reference's rules
                    // (such values are rare).
                    None if may_read_a_file(&self.b[value_start..self.pos]) => {
                        let value = &self.text[value_start..self.pos];
                        crate::hcl::value_locals_of_text(self.str(key), value, &mut self.facts)?;
                    }
                    None => {
                        let value = &self.text[value_start..self.pos];
                        let relative = may_be_relative(value);
                        // `"${X}"` is X (how terraform 0.11 wrote any expression).
                        let wrapped = matches!(&shape, Shape::Template(e)
                            if matches!(e.as_slice(), [Elem::Interpolation(None | Some(Named::Var(_)))]));
                        let may_hold = match shape {
                            Shape::Collection | Shape::Choice | Shape::For => {
                                value.contains("path") || value.contains("local") || relative
                            }
                            _ if wrapped => {
                                value.contains("path")
                                    || value.contains("local")
                                    || value.contains("var")
                                    || relative
                            }
                            // A path built by `format` or `join` (`hcl::built_path`) from a
                            // path variable or literals (`format(".%s/x", "")`): any `/` in it.
                            Shape::Other
                                if value.starts_with("format") || value.starts_with("join") =>
                            {
                                value.contains("path") || value.contains('/') || relative
                            }
                            _ => false,
                        };
                        // A choice that can name nothing but locals: the locals it names,
                        // read here (the reference is slow on these, and they are common).
                        let named = match shape {
                            Shape::Choice if may_hold && !relative => choice::named_locals(value),
                            // A map or list that names locals and no path (`merge(local.tags,
                            // { Name = "x" })`, common): the locals it names.
                            Shape::Collection
                                if may_hold && !relative && !value.contains("path") =>
                            {
                                choice::collection_locals(value)
                            }
                            _ => None,
                        };
                        if let Some(named) = named {
                            let name = self.str(key);
                            self.facts
                                .path_locals
                                .extend(named.into_iter().map(|local| PathLocal {
                                    name: name.to_string(),
                                    base: crate::hcl::PathBase::Local(local.to_string()),
                                    path: String::new(),
                                    candidate: true,
                                }));
                        } else if may_hold {
                            let name = self.str(key);
                            let found = crate::hcl::local_candidates_of_text(name, value)?;
                            self.facts.path_locals.extend(found);
                        }
                    }
                }
            }
            Body::Module if crate::hcl::is_module_input(self.str(key)) => {
                // A chart under a `chart` key inside the value (`hcl::nested_chart_refs`):
                // only a value naming `chart` can hold one (or, in a quoted key, escapes).
                let value = &self.text[value_start..self.pos];
                if self.str(key) != "for_each" && (value.contains("chart") || value.contains('\\'))
                {
                    let line = self.line_at(key.0);
                    let found = crate::hcl::nested_chart_refs_of_text(value, line)?;
                    self.facts.chart_refs.extend(found);
                }
                if self.str(key) == "for_each" {
                    // What it iterates over: a local or a variable on its own, converted (`toset(var.files)`) or walked by a `for`
                    // expression: read with the reference's own rules (`hcl::for_each_refs`).
                    let value = &self.text[value_start..self.pos];
                    if value.contains("local.") || value.contains(crate::hcl::VAR_PREFIX) {
                        let line = self.line_at(key.0);
                        let found = crate::hcl::for_each_refs_of_text(value, line)?;
                        self.facts.file_refs.extend(found);
                        return Some(());
                    }
                }
                self.path_argument(key, &shape, value_start, false)?;
            }
            // Any argument of a resource or a data block (a helm_release's own `chart` is
            // read above).
            Body::Resource | Body::HelmRelease => {
                self.path_argument(key, &shape, value_start, true)?;
            }
            _ => {}
        }
        Some(())
    }

    /// The facts of the argument `key` whose value runs from `value_start` to here, read
    /// with the reference's own rules (`hcl::path_arg`).
    fn argument_by_reference(
        &mut self,
        key: (usize, usize),
        value_start: usize,
        resource: bool,
    ) -> Scan<()> {
        let value = &self.text[value_start..self.pos];
        let line = self.line_at(key.0);
        crate::hcl::path_arg_of_text(self.str(key), value, line, resource, &mut self.facts)
    }

    /// The facts for an argument that may hand a path to a module or (`resource`) a
    /// provider: `hcl::module_arg_paths` or `hcl::provider_arg_paths`.
    fn path_argument(
        &mut self,
        key: (usize, usize),
        shape: &Shape,
        value_start: usize,
        resource: bool,
    ) -> Scan<()> {
        // A command line (`hcl::COMMAND`): its words, read with the reference's own rules.
        if resource && self.str(key) == crate::hcl::COMMAND {
            return self.argument_by_reference(key, value_start, resource);
        }
        // A local or a variable on its own, in an argument named as one holding a path
        // (`hcl::named_path_arg`).
        let name = match shape {
            Shape::Attr(..) => path_variable(self.text, shape),
            Shape::Template(elements) => match elements.as_slice() {
                [Elem::Interpolation(named)] => *named,
                _ => None,
            },
            _ => None,
        };
        // The name is asked first: most arguments set to a local are no paths, and the
        // local's name is copied only for one that may be.
        let name = name
            .filter(|_| crate::hcl::named_as_a_path(self.str(key)))
            .and_then(Named::iterated);
        if let Some(name) = name {
            let mut r = crate::hcl::for_each_of(name, self.line_at(key.0));
            if resource {
                r.function = crate::hcl::PROVIDER_ARGUMENT.to_string();
            }
            self.facts.file_refs.push(r);
            return Some(());
        }
        // An element of a local or a variable in an argument named as one holding a path
        // (`policy_file = local.files[count.index]`, also written `"${…}"`), or one among a
        // choice, a conditional or a list (`coalesce(var.dir, "x")`): read with the
        // reference's own rules (`hcl::named_path_arg`).
        let element = match shape {
            Shape::Choice | Shape::Other | Shape::Collection | Shape::For => {
                let value = &self.text[value_start..self.pos];
                value.starts_with("local")
                    || value.starts_with("var")
                    || value.contains("var.")
                    || value.contains("local.")
            }
            Shape::Template(elements) => matches!(elements.as_slice(), [Elem::Interpolation(None)]),
            _ => false,
        };
        if element && crate::hcl::named_as_a_path(self.str(key)) {
            return self.argument_by_reference(key, value_start, resource);
        }
        // Most arguments are names: a string without escapes that does not start like a
        // relative path is one, and costs no copy; so is a template that does not start
        // like a path (`"${local.name}-app"`, `"arn:${var.p}"`), the rules of
        // `hcl::module_arg_path` on what `static_path` would give.
        match shape {
            Shape::Str(start, end) => {
                let raw = &self.text[*start..*end];
                if !raw.contains('\\') && !crate::hcl::is_relative_path(raw) {
                    return Some(());
                }
            }
            Shape::Template(elements) => {
                let may_be_kept = match elements.as_slice() {
                    [Elem::Literal(l), ..] => crate::hcl::is_relative_path(l),
                    [Elem::Interpolation(Some(named)), rest @ ..] if named.base().is_some() => {
                        match rest.first() {
                            Some(Elem::Literal(l)) => {
                                l.starts_with('/')
                                    || (matches!(named, Named::Root)
                                        && crate::hcl::is_relative_path(l))
                            }
                            _ => false,
                        }
                    }
                    // Not a static path: read below.
                    _ => true,
                };
                if !may_be_kept {
                    return Some(());
                }
            }
            // `var.region`, `local.tags`, `path.module` on its own: no path by those rules,
            // nor one written inside.
            Shape::Var(..) | Shape::Attr(..) => return Some(()),
            _ => {}
        }
        match static_path(self.text, shape)? {
            Some((base, path, dynamic)) => {
                // The line is looked up only for a path (most arguments are none).
                if let Some(mut r) = crate::hcl::module_arg_path(base, path, dynamic, 0) {
                    r.line = self.line_at(key.0);
                    if resource {
                        r.function = crate::hcl::PROVIDER_ARGUMENT.to_string();
                    }
                    self.facts.file_refs.push(r);
                }
            }
            // Anything else: the path templates and relative literals written in it, which
            // only a value naming `path` or holding `./` can hold, a path below a variable
            // (`"${var.dir}/x"`), or paths below a local or a variable written inside it
            // (`[{ path = "${local.src}/fn" }]`: an interpolation followed by `/`, or by an
            // escape), read with the reference's own rules.
            None => {
                let value = &self.text[value_start..self.pos];
                let below_variable = matches!(shape, Shape::Template(e)
                    if matches!(e.as_slice(), [Elem::Interpolation(None | Some(Named::Var(_))), Elem::Literal(l), ..]
                        if l.starts_with('/')))
                    && value.contains("var");
                // A local or a variable under a key named as a path inside an object
                // (`bundle_config = { path = var.source_dir }`, `hcl::Candidates`).
                let named_inside = matches!(shape, Shape::Collection)
                    && (value.contains("var.") || value.contains("local."))
                    && crate::hcl::named_as_a_path(value);
                if below_variable || named_inside || may_hold_a_path(value) {
                    let line = self.line_at(key.0);
                    let found = if resource {
                        crate::hcl::provider_arg_paths_of_text(value, line)?
                    } else {
                        crate::hcl::module_arg_paths_of_text(value, line)?
                    };
                    self.facts.file_refs.extend(found);
                }
            }
        }
        Some(())
    }

    /// A block's `{ ... }`: multi-line, empty, or one line with one attribute.
    fn block_body(&mut self, kind: Body, label: Option<(usize, usize, bool)>) -> Scan<()> {
        self.expect(b'{')?;
        self.enter()?;
        if kind == Body::Variable {
            self.variable = label;
        }
        let placeholder = kind == Body::Module;
        if placeholder {
            // The module's source is filled in when its attribute is read; a module without
            // a plain-string source is dropped again below.
            let name = match label {
                Some((start, end, true)) => unescape(&self.text[start..end])?.into_owned(),
                Some((start, end, false)) => self.text[start..end].to_string(),
                None => String::new(),
            };
            self.facts.modules.push(ModuleCall {
                name,
                source: String::new(),
                line: 0,
            });
        }
        self.sp()?;
        self.line_comment();
        match self.peek() {
            Some(b'\n') => {
                self.pos += 1;
                self.body(kind)?;
            }
            Some(b'}') => self.pos += 1,
            Some(c) if is_id_start(c) && kind != Body::Module => {
                let key = self.ident()?;
                self.sp()?;
                self.attribute(kind, key)?;
                self.sp()?;
                self.expect(b'}')?;
            }
            _ => return None,
        }
        if placeholder && self.facts.modules.last().is_some_and(|m| m.line == 0) {
            self.facts.modules.pop();
        }
        self.leave();
        Some(())
    }

    fn finish(self) -> HclFacts {
        let mut facts = self.facts;
        for call in self.calls {
            match call {
                Call::Resolved(file_ref) => facts.file_refs.push(file_ref),
                Call::Unresolved(line) => facts.unresolved_refs.push(line),
                Call::Pending => unreachable!("every call slot is filled when its `)` is read"),
            }
        }
        facts
    }

    /// Whether a file-function call's path was left unresolved: the reference reader then
    /// collects the candidate paths inside its argument, so the file is left to it.
    fn has_unresolved_call(&self) -> bool {
        self.calls.iter().any(|c| matches!(c, Call::Unresolved(_)))
    }
}

/// Whether the text of a value that is no static path may hold one by the reference's rules
/// for what is handed to a module or a provider (`hcl::module_arg_paths`): it names the
/// variable `path` (`path.module`; not `var.check.path`), or holds `./` (a relative literal) or `/` right after an interpolation of a local or a
/// variable (a path below it: `"${local.src}/fn"`, not `"${aws_s3_bucket.b.arn}/*"`), or
/// an escape in either place, which may decode to `/`. One pass over the bytes; a value it
/// lets through is read by the reference, so letting more through costs time, not facts.
fn may_hold_a_path(value: &str) -> bool {
    let b = value.as_bytes();
    let mut slash = false;
    let found = memchr::memchr3_iter(b'/', b'\\', b'p', b).any(|i| {
        slash |= b[i] == b'/';
        match (b[i], i.checked_sub(1)) {
            (b'p', before) => {
                b[i..].starts_with(b"path")
                    && before.is_none_or(|j| !is_id_continue(b[j]) && b[j] != b'.')
                    && b[i + 4..]
                        .iter()
                        .find(|c| !c.is_ascii_whitespace())
                        .is_none_or(|&c| c == b'.' || c == b'/')
            }
            // An escape that may decode to a relative path.
            (b'\\', _) => matches!(b.get(i + 1), Some(b'u' | b'U')),
            (_, Some(before)) if b[before] == b'.' => true,
            (_, Some(before)) if b[before] == b'}' => closes_a_name(&value[..before]),
            _ => false,
        }
    });
    // A path built by `format` or `join` has a `/` somewhere in it.
    found || (slash && (value.contains("format") || value.contains("join")))
}

/// Whether a value's text may decode a file or read one: it calls a function whose name
/// holds `decode` or `file`. A call needs a `(`, which most values have not; the searchers
/// are built once.
fn may_read_a_file(value: &[u8]) -> bool {
    type Finder = std::sync::LazyLock<memchr::memmem::Finder<'static>>;
    static DECODE: Finder = Finder::new(|| memchr::memmem::Finder::new("decode"));
    static FILE: Finder = Finder::new(|| memchr::memmem::Finder::new("file"));
    memchr::memchr(b'(', value).is_some()
        && (DECODE.find(value).is_some() || FILE.find(value).is_some())
}

/// Whether a value's text may hold a relative path: `./` in it, or an escape that may decode
/// to one (`"\u002e/x"`).
fn may_be_relative(value: &str) -> bool {
    value.contains("./") || value.contains("\\u") || value.contains("\\U")
}

/// Whether the interpolation whose `}` follows `before` may be a local or a variable on its
/// own (`${local.src`, `${ var .dir`, `${/*c*/ local.x`): not when it starts with another
/// name or a literal; when no `${` opens one, it may.
fn closes_a_name(before: &str) -> bool {
    let Some(at) = before.rfind("${") else {
        return true;
    };
    let inner = before[at + 2..].trim_start_matches(['~', ' ', '\t']);
    let name_len = inner.bytes().take_while(|&c| is_id_continue(c)).count();
    match &inner[..name_len] {
        "" => !inner.starts_with(['"', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']),
        "local" | "var" => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests;
