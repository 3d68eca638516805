//! The locals a choice names: the candidates the reference reader collects from a local set
//! to a choice (`hcl::local_candidates` with `hcl::candidate_form`), read from the value's
//! text without building a syntax tree.
//!
//! A local set to a conditional, a choice function (`try`, `lookup`, ...) or an element of
//! another local (`local.settings[var.env]`) may hold what each local named in it holds,
//! except the locals named in a conditional's condition or in a file function's arguments.
//! The reference walks the expression in order, so the names come in the order they are
//! written. This reads only values in which nothing but such names can be a candidate: no
//! template, no relative literal (the caller checks), no `format`, no `for`, no object, no
//! splat, no comment; anything else is `None`, and the reference reads the value.

use super::{ident_end, is_id_start};
use crate::hcl::{CHOICE_FUNCTIONS, FILE_FUNCTIONS};

/// The locals a value of choice form names where the reference reader takes them as
/// candidates, in its order; `None` when the value is not of that form or holds anything
/// this does not read.
pub(super) fn named_locals(value: &str) -> Option<Vec<&str>> {
    let mut reader = Reader {
        text: value,
        b: value.as_bytes(),
        pos: 0,
        found: Vec::new(),
        depth: 0,
    };
    reader.space();
    let form = reader.expr()?;
    reader.space();
    (reader.pos == reader.b.len() && form == Form::Choice).then_some(reader.found)
}

/// The locals a map or a list names where the reference reader takes them as candidates
/// (`hcl::local_candidates`: every `local.NAME` of the value, in order), for a value that
/// names no path (the caller checks: no `path`, nothing relative, no file function): every
/// `local.NAME` outside its string literals. `None` when the value holds anything else the
/// reference reads otherwise: an interpolation or directive, a heredoc, a comment, a
/// conditional (its condition names no candidate), a `for`, a `format` or `join` (a path
/// built of literals), a character beyond ASCII, or `local` not followed by `.NAME`.
pub(super) fn collection_locals(value: &str) -> Option<Vec<&str>> {
    if !value.is_ascii()
        || ["${", "%{", "<<", "#", "//", "/*", "?", "format", "join"]
            .iter()
            .any(|s| value.contains(s))
    {
        return None;
    }
    let b = value.as_bytes();
    let mut found = Vec::new();
    let mut pos = 0;
    while pos < b.len() {
        match b[pos] {
            b'"' => {
                pos += 1;
                while pos < b.len() && b[pos] != b'"' {
                    pos += if b[pos] == b'\\' { 2 } else { 1 };
                }
                pos += 1;
            }
            c if is_id_start(c) => {
                let end = ident_end(b, pos)?;
                let word = &value[pos..end];
                let after_dot = pos > 0 && b[pos - 1] == b'.';
                if word == "for" {
                    return None;
                }
                if word == "local" && !after_dot {
                    if b.get(end) != Some(&b'.') {
                        return None;
                    }
                    let name_end = ident_end(b, end + 1)?;
                    found.push(&value[end + 1..name_end]);
                    pos = name_end;
                    continue;
                }
                pos = end;
            }
            _ => pos += 1,
        }
    }
    Some(found)
}

/// What an expression is at its top, as far as `hcl::candidate_form` asks.
#[derive(Clone, Copy, PartialEq)]
enum Form {
    /// A conditional, a call of a choice function, or an element of a local
    /// (`local.NAME` followed by more).
    Choice,
    Other,
}

struct Reader<'a> {
    text: &'a str,
    b: &'a [u8],
    pos: usize,
    found: Vec<&'a str>,
    depth: usize,
}

/// Deeper than any choice worth reading here; the reference reads the rest.
const MAX_DEPTH: usize = 16;

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn at(&self, offset: usize) -> Option<u8> {
        self.b.get(self.pos + offset).copied()
    }

    /// Spaces, tabs and newlines (the scanner accepted the value, so newlines stand only
    /// where they may).
    fn space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n')) {
            self.pos += 1;
        }
    }

    fn ident(&mut self) -> Option<&'a str> {
        let start = self.pos;
        self.pos = ident_end(self.b, start)?;
        Some(&self.text[start..self.pos])
    }

    /// An expression, and its form.
    fn expr(&mut self) -> Option<Form> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let condition_from = self.found.len();
        let single = self.chain()?;
        let form = if self.peek() == Some(b'?') {
            // The condition names no candidate.
            self.found.truncate(condition_from);
            self.pos += 1;
            self.space();
            self.expr()?;
            if self.peek() != Some(b':') {
                return None;
            }
            self.pos += 1;
            self.space();
            self.expr()?;
            Form::Choice
        } else {
            single
        };
        self.depth -= 1;
        Some(form)
    }

    /// Operands joined by binary operators, up to a `?`, `:`, `,`, `)` or `]`: the form of a
    /// lone operand (a chain of several is `Other`).
    fn chain(&mut self) -> Option<Form> {
        let mut form = self.operand()?;
        loop {
            self.space();
            let len = match (self.peek(), self.at(1)) {
                (Some(b'=' | b'!' | b'<' | b'>'), Some(b'=')) => 2,
                (Some(b'&'), Some(b'&')) | (Some(b'|'), Some(b'|')) => 2,
                (Some(b'<' | b'>' | b'+' | b'-' | b'%'), _) => 1,
                // `*` and `/` also open splats and comments: not read here.
                _ => return Some(form),
            };
            self.pos += len;
            self.space();
            self.operand()?;
            form = Form::Other;
        }
    }

    /// A unary operator's operand, or a term.
    fn operand(&mut self) -> Option<Form> {
        match self.peek()? {
            b'!' | b'-' => {
                self.pos += 1;
                self.space();
                self.operand()?;
                Some(Form::Other)
            }
            _ => self.term(),
        }
    }

    fn term(&mut self) -> Option<Form> {
        let form = match self.peek()? {
            b'"' => {
                self.string()?;
                Form::Other
            }
            b'0'..=b'9' => {
                while matches!(self.peek(), Some(b'0'..=b'9' | b'.')) {
                    self.pos += 1;
                }
                Form::Other
            }
            b'(' => {
                self.pos += 1;
                self.space();
                self.expr()?;
                self.close(b')')?;
                Form::Other
            }
            b'[' => {
                self.pos += 1;
                self.space();
                self.list(b']')?;
                Form::Other
            }
            c if is_id_start(c) => {
                let name = self.ident()?;
                match (name, self.peek()) {
                    ("for", _) => return None,
                    (_, Some(b'(')) => self.call(name)?,
                    (_, Some(b':')) if self.at(1) == Some(b':') => return None,
                    _ => self.traversal(name)?,
                }
            }
            _ => return None,
        };
        Some(form)
    }

    /// `"..."` without interpolations, directives or escapes.
    fn string(&mut self) -> Option<()> {
        let rest = &self.b[self.pos + 1..];
        let end = memchr::memchr3(b'"', b'\\', b'\n', rest)?;
        if rest[end] != b'"' || memchr::memchr(b'{', &rest[..end]).is_some() {
            return None;
        }
        self.pos += end + 2;
        Some(())
    }

    /// A call of `name`, at its `(`.
    fn call(&mut self, name: &str) -> Option<Form> {
        if name == "format" || name == "join" {
            return None;
        }
        self.pos += 1;
        self.space();
        let args_from = self.found.len();
        self.list(b')')?;
        // A file function's value is a file's content: nothing in its arguments is one.
        if FILE_FUNCTIONS.contains(&name) {
            self.found.truncate(args_from);
        }
        Some(if CHOICE_FUNCTIONS.contains(&name) {
            Form::Choice
        } else {
            Form::Other
        })
    }

    /// Expressions separated by commas up to `close` (a trailing comma allowed), after the
    /// opening bracket.
    fn list(&mut self, close: u8) -> Option<()> {
        loop {
            if self.peek() == Some(close) {
                self.pos += 1;
                return Some(());
            }
            self.expr()?;
            self.space();
            match self.peek()? {
                b',' => {
                    self.pos += 1;
                    self.space();
                }
                c if c == close => {}
                _ => return None,
            }
        }
    }

    fn close(&mut self, c: u8) -> Option<()> {
        self.space();
        (self.peek() == Some(c)).then(|| self.pos += 1)
    }

    /// A variable and what follows it: `.name`, `.0` and `[index]` (no splat). `local.NAME`
    /// names the local `NAME`, before any local its indexes name.
    fn traversal(&mut self, root: &'a str) -> Option<Form> {
        let mut operators = 0;
        loop {
            match self.peek() {
                Some(b'.') => {
                    self.pos += 1;
                    match self.peek()? {
                        b'0'..=b'9' => {
                            while matches!(self.peek(), Some(b'0'..=b'9')) {
                                self.pos += 1;
                            }
                        }
                        _ => {
                            let name = self.ident()?;
                            if operators == 0 && root == "local" {
                                self.found.push(name);
                            }
                        }
                    }
                }
                Some(b'[') => {
                    if operators == 0 {
                        // `local[...]` names no local.
                        return None;
                    }
                    self.pos += 1;
                    self.space();
                    if self.peek() == Some(b'*') {
                        return None;
                    }
                    self.expr()?;
                    self.close(b']')?;
                }
                _ => break,
            }
            operators += 1;
        }
        Some(match root {
            // `path.module` and friends: the reference reads these as paths elsewhere.
            "path" => return None,
            "local" if operators > 1 => Form::Choice,
            _ => Form::Other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The locals the reference reader collects from a local set to `value`, which must
    /// be all it collects.
    fn reference_locals(value: &str) -> Vec<String> {
        crate::hcl::local_candidates_of_text("x", value)
            .expect("parses")
            .iter()
            .map(|l| match &l.base {
                crate::hcl::PathBase::Local(name) if l.path.is_empty() && l.candidate => {
                    name.clone()
                }
                other => panic!("{value}: the reference found {other:?} {:?}", l.path),
            })
            .collect()
    }

    #[test]
    fn the_locals_a_choice_names_are_read_in_order_but_not_from_its_condition() {
        let cases: &[(&str, Option<&[&str]>)] = &[
            (
                "var.env == \"prod\" ? local.settings.prod : (\n    var.env == \"staging\" ? local.settings.staging : local.settings.dev\n  )",
                Some(&["settings", "settings", "settings"]),
            ),
            (
                "try(local.settings[var.env], local.settings.dev)",
                Some(&["settings", "settings"]),
            ),
            (
                "lookup(local.m, var.k, local.m[\"dev\"])",
                Some(&["m", "m"]),
            ),
            ("local.by_type[local.kind]", Some(&["by_type", "kind"])),
            ("local.a != null ? local.b : local.c", Some(&["b", "c"])),
            (
                "coalesce(file(local.p), local.q)",
                Some(&["q"]),
            ),
            ("element([local.a, local.b], 0)", Some(&["a", "b"])),
            // Not of choice form at the top: the reference's business.
            ("local.a", None),
            ("upper(local.a)", None),
            ("local.a == 1", None),
            // Forms not read here.
            ("var.x ? \"${local.a}\" : local.b", None),
            ("var.x ? format(\"%s\", local.a) : local.b", None),
            ("var.x ? { a = local.a } : local.b", None),
            ("try(local.a[*].b, null)", None),
            ("var.x ? path.module : local.b", None),
            ("var.x ? local.a : local.b # c", None),
            ("var.x ? [for a in local.a : a] : []", None),
            ("var.x ? provider::p::f(local.a) : local.b", None),
        ];
        for (value, want) in cases {
            assert_eq!(named_locals(value).as_deref(), *want, "{value}");
        }
    }

    /// Whatever this reads, the reference reads the same: on the cases above and on every
    /// value made from them by deleting one byte or inserting one of a few bytes that change
    /// the structure.
    #[test]
    fn what_is_read_here_is_what_the_reference_collects() {
        let seeds = [
            "var.env == \"prod\" ? local.settings.prod : (var.env == \"staging\" ? local.settings.staging : local.settings.dev)",
            "try(local.settings[var.env], local.settings.dev)",
            "lookup(local.m, var.k, local.m[\"dev\"])",
            "local.by_type[local.kind].name",
            "local.a != null && !local.f ? [local.b, 1] : element(local.c, 0)",
            "coalesce(file(local.p), local.q, -1)",
            "var.a ? var.b ? local.c : local.d : local.e",
        ];
        let inserts = [
            " ", "(", ")", "?", ":", ",", "[", "]", ".", "!", "\"", "local.", "x", "1",
        ];
        let mut values: Vec<String> = Vec::new();
        for seed in seeds {
            values.push(seed.to_string());
            for at in 0..=seed.len() {
                if at < seed.len() {
                    values.push(format!("{}{}", &seed[..at], &seed[at + 1..]));
                }
                for insert in inserts {
                    values.push(format!("{}{insert}{}", &seed[..at], &seed[at..]));
                }
            }
        }
        let mut read = 0;
        for value in &values {
            let Some(named) = named_locals(value) else {
                continue;
            };
            // The scanner hands over only values that are one expression.
            if hcl_edit::parser::parse_expr(value).is_err() {
                continue;
            }
            read += 1;
            assert_eq!(named, reference_locals(value), "{value}");
        }
        assert!(read > 500, "only {read} of {} values read", values.len());
    }

    /// The locals a map or list names, read from its text, are those the reference
    /// collects, in its order; a value this does not read is `None`, never a wrong answer.
    #[test]
    fn collection_locals_agree_with_the_reference() {
        let values = [
            "merge(local.common_tags, { Name = \"x\" })",
            "merge(local.defaults, var.extra)",
            "{ chart = local.chart_dir, values = [local.a, local.b.c] }",
            "[local.x[0], local.y[\"k\"], local.x]",
            "concat(local.a, [\"local.not_a_name\", \"b\\\"local.z\"])",
            "{ a = var.local.x, b = local.q }",
            "tomap({ \"k\" = local.v })",
            "merge(local.a, { b = upper(local.c) })",
            "{ x = 1, y = true, z = null }",
            "[for k in local.a : k]",
            "{ a = local.b ? 1 : 2 }",
            "merge(local.a, { b = \"${local.c}\" })",
            "merge(local.a, { b = format(\"%s\", local.c) })",
            "{ local = 1 }",
            "[local .x]",
        ];
        let mut read = 0;
        for value in values {
            let Some(named) = collection_locals(value) else {
                continue;
            };
            read += 1;
            assert_eq!(named, reference_locals(value), "{value}");
        }
        assert_eq!(read, 9, "values read on the fast path");
    }
}
