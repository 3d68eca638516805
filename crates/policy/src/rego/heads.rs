//! Rule heads that iterate, moved into bodies of their own so that regorus evaluates them
//! as OPA does (see [`iterating_heads_moved`]).

use super::{walk_expr, Node};
use regorus::unstable::{Expr, Module, Rule, RuleHead};
use std::collections::BTreeMap;

/// A rule without a body whose head iterates (`names contains input.items[_].name`, v0
/// `volumes[pod.spec.volumes[_]]`) is undefined in OPA when what it iterates is missing or
/// no collection; regorus stops the whole evaluation with "item cannot be indexed". Such a
/// head's expressions that iterate are moved, whole, into a body of their own, where
/// regorus iterates as OPA does: `names contains __strata_head_0 if { __strata_head_0 :=
/// (input.items[_].name) }` (an item without a `name`, or a builtin that fails on one, then
/// leaves out that item only; with the iteration alone moved, regorus would empty the set). Everything stays on its line, and each column before
/// the head's first moved reference stays where it was. Returns the rewritten text of each
/// file that has such a rule.
pub(super) fn iterating_heads_moved(
    modules: &[regorus::unstable::Ref<Module>],
    texts: &[(String, String)],
) -> BTreeMap<String, String> {
    let mut edits: BTreeMap<String, Vec<(usize, usize, String)>> = BTreeMap::new();
    let mut n = 0usize;
    for module in modules {
        for rule in &module.policy {
            let Rule::Spec { head, bodies, .. } = rule.as_ref() else {
                continue;
            };
            if !bodies.is_empty() {
                continue;
            }
            let outputs: Vec<&Expr> = match head {
                RuleHead::Set { key: Some(k), .. } => vec![k],
                RuleHead::Compr { refr, assign, .. } => {
                    let mut out: Vec<&Expr> = Vec::new();
                    // v0 `p[k]` or `p[k] = v`: the key is an output too.
                    if let Expr::RefBrack { index, .. } = refr.as_ref() {
                        out.push(index);
                    }
                    out.extend(assign.iter().map(|a| a.value.as_ref()));
                    out
                }
                _ => Vec::new(),
            };
            let moving: Vec<&Expr> = outputs
                .into_iter()
                .filter(|e| {
                    let mut found = Vec::new();
                    iterations(e, &mut found);
                    !found.is_empty()
                })
                .collect();
            let Some(last) = moving.last() else {
                continue;
            };
            let file = last.span().source.get_path().clone();
            let Some((_, text)) = texts.iter().find(|(p, _)| *p == file) else {
                continue;
            };
            // Where each is written. regorus's spans are not always whole (an object of
            // several fields starts at its last key): a range that does not read back as
            // an expression leaves the rule as it is.
            let ranges: Option<Vec<std::ops::Range<usize>>> = moving
                .iter()
                .map(|e| {
                    written_range(e, text)
                        .filter(|r| reads_as_expression(&text[r.clone()], module.rego_v1))
                })
                .collect();
            let Some(ranges) = ranges else {
                continue;
            };
            let end = ranges
                .iter()
                .map(|r| r.end)
                .chain([rule.span().end as usize])
                .max()
                .unwrap_or_default();
            let mut body = Vec::new();
            // The line breaks of what moves go after the body, so each later line keeps
            // its number.
            let mut breaks = String::new();
            for range in ranges {
                let var = format!("__strata_head_{n}");
                n += 1;
                let written = &text[range.clone()];
                let flat = one_line(written);
                // (A raw string's own line breaks stay in it.)
                let kept = flat.matches('\n').count();
                breaks.extend(written.matches('\n').skip(kept).map(|_| '\n'));
                body.push(format!("{var} := ({flat})"));
                edits
                    .entry(file.clone())
                    .or_default()
                    .push((range.start, range.end, var));
            }
            let keyword = if module.rego_v1 { " if" } else { "" };
            edits.entry(file).or_default().push((
                end,
                end,
                format!("{keyword} {{ {} }}{breaks}", body.join("; ")),
            ));
        }
    }
    edited(texts, edits)
}

/// Applies `edits` (byte range replaced, and by what; ranges never overlap but where one
/// holds another's insertions) to the texts they are of.
pub(super) fn edited(
    texts: &[(String, String)],
    edits: BTreeMap<String, Vec<(usize, usize, String)>>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (path, mut edits) in edits {
        let Some((_, text)) = texts.iter().find(|(p, _)| *p == path) else {
            continue;
        };
        // From the end, so each edit's offsets still hold; at one offset, the edit listed
        // last goes first (it ends up after the others).
        edits.reverse();
        edits.sort_by_key(|(start, _, _)| std::cmp::Reverse(*start));
        let mut new = text.clone();
        for (start, end, with) in edits {
            if start <= end
                && end <= new.len()
                && new.is_char_boundary(start)
                && new.is_char_boundary(end)
            {
                new.replace_range(start..end, &with);
            }
        }
        out.insert(path, new);
    }
    out
}

/// The bytes of `text` that `expr` is written in: from the first to the last byte of any
/// part of it (a string's quotes included), and for an object, set or array its brackets
/// too. A range regorus's spans do not give whole is caught by [`reads_as_expression`].
pub(super) fn written_range(expr: &Expr, text: &str) -> Option<std::ops::Range<usize>> {
    // The outermost bytes, and whether a string's span gave them (it holds what is between
    // its quotes, the quotes not).
    let (mut start, mut end) = (usize::MAX, 0usize);
    let (mut starts_in_string, mut ends_in_string) = (false, false);
    walk_expr(expr, &mut |node| {
        if let Node::Expr(e) = node {
            let span = e.span();
            let string = matches!(e, Expr::String { .. } | Expr::RawString { .. });
            // (An expression ending in a string may end where the string's span does, at
            // its closing quote, or one short of it: the string decides.)
            if (span.start as usize) < start || (string && span.start as usize == start) {
                start = span.start as usize;
                starts_in_string = string;
            }
            if span.end as usize > end || (string && span.end as usize == end) {
                end = span.end as usize;
                ends_in_string = string;
            }
        }
    });
    let bytes = text.as_bytes();
    let quote = |b: Option<&u8>| matches!(b, Some(b'"' | b'`'));
    if starts_in_string && start > 0 && quote(bytes.get(start - 1)) {
        start -= 1;
    }
    if ends_in_string && quote(bytes.get(end)) {
        end += 1;
    }
    let brackets = match expr {
        Expr::Object { .. }
        | Expr::Set { .. }
        | Expr::ObjectCompr { .. }
        | Expr::SetCompr { .. } => Some((b'{', b'}')),
        Expr::Array { .. } | Expr::ArrayCompr { .. } => Some((b'[', b']')),
        _ => None,
    };
    if let Some((open, close)) = brackets {
        if bytes.get(start) != Some(&open) {
            // Back over blanks and comments to the opening bracket.
            let mut i = start.min(bytes.len());
            loop {
                while i > 0 && bytes[i - 1].is_ascii_whitespace() {
                    i -= 1;
                }
                if i > 0 && bytes[i - 1] == open {
                    start = i - 1;
                    break;
                }
                let line = text[..i].rfind('\n').map_or(0, |p| p + 1);
                i = line + comment_start(&text[line..i])?;
            }
        }
        if end == 0 || bytes.get(end - 1) != Some(&close) {
            // On over blanks and comments to the closing bracket.
            let mut j = end;
            loop {
                while bytes.get(j).is_some_and(u8::is_ascii_whitespace) {
                    j += 1;
                }
                match bytes.get(j) {
                    Some(&b) if b == close => {
                        end = j + 1;
                        break;
                    }
                    Some(b'#') => {
                        j = text[j..].find('\n').map_or(text.len(), |n| j + n);
                    }
                    _ => return None,
                }
            }
        }
    }
    (start < end && end <= text.len() && text.is_char_boundary(start) && text.is_char_boundary(end))
        .then_some(start..end)
}

/// Where a comment starts on `line` (a `#` outside strings), if it has one.
pub(super) fn comment_start(line: &str) -> Option<usize> {
    let mut quote: Option<u8> = None;
    let mut escaped = false;
    for (i, b) in line.bytes().enumerate() {
        match quote {
            Some(b'"') if escaped => escaped = false,
            Some(b'"') if b == b'\\' => escaped = true,
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'`' => quote = Some(b),
            None if b == b'#' => return Some(i),
            None => {}
        }
    }
    None
}

/// Whether `text` parses as one Rego expression on its own.
pub(super) fn reads_as_expression(text: &str, rego_v1: bool) -> bool {
    let mut engine = regorus::Engine::new();
    engine.set_rego_v0(!rego_v1);
    engine
        .add_policy(
            "strata-head-check.rego".into(),
            format!(
                "package strata_head_check\n\n__strata_x := ({})\n",
                one_line(text)
            ),
        )
        .is_ok()
}

/// `text` on one line: comments dropped (outside strings), line breaks made spaces, so what
/// follows it on its line stays code and every later line keeps its number.
fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match quote {
            Some('"') if c == '\\' => {
                out.push(c);
                if let Some(next) = chars.next() {
                    out.push(next);
                }
                continue;
            }
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '`' => quote = Some(c),
            None if c == '#' => {
                while chars.peek().is_some_and(|&n| n != '\n') {
                    chars.next();
                }
                continue;
            }
            None => {}
        }
        out.push(if quote.is_none() && (c == '\n' || c == '\r') {
            ' '
        } else {
            c
        });
    }
    out
}

/// The references in `expr` that iterate (`x[_]`, outermost first: `input.a[_].b[_]` is one),
/// outside any comprehension (a comprehension's own iteration stays inside it).
fn iterations<'e>(expr: &'e Expr, out: &mut Vec<&'e Expr>) {
    match expr {
        Expr::RefBrack { index, .. } if matches!(index.as_ref(), Expr::Var { span, .. } if span.text() == "_") => {
            out.push(expr)
        }
        Expr::ArrayCompr { .. } | Expr::SetCompr { .. } | Expr::ObjectCompr { .. } => {}
        _ => super::children(expr)
            .into_iter()
            .for_each(|c| iterations(c, out)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rego::Loaded;

    #[test]
    fn a_head_that_iterates_gets_a_body_of_its_own_on_its_line() {
        let text = "package p\nimport rego.v1\n\nnames contains input.items[_].name # a comment\nkeep contains input.name\nby[input.a[_]] := input.b[_]\nlen := count([x | x := input.c[_]])\nimages contains {\"c\": input.spec.containers[_].name, \"k\": input.kind}\n";
        let texts = vec![("p.rego".to_string(), text.to_string())];
        let mut engine = Loaded::engine(&texts, false, &Default::default()).unwrap();
        let moved = iterating_heads_moved(engine.get_modules(), &texts);
        assert_eq!(
            moved["p.rego"],
            "package p\nimport rego.v1\n\nnames contains __strata_head_0 if { __strata_head_0 := (input.items[_].name) } # a comment\nkeep contains input.name\nby[__strata_head_1] := __strata_head_2 if { __strata_head_1 := (input.a[_]); __strata_head_2 := (input.b[_]) }\nlen := count([x | x := input.c[_]])\nimages contains __strata_head_3 if { __strata_head_3 := ({\"c\": input.spec.containers[_].name, \"k\": input.kind}) }\n"
        );
        // Over lines, with a comment: moved onto the head's last line without it, so every
        // later line keeps its number.
        let text = "package p\nimport rego.v1\n\nitems contains {\n  \"n\": input.x[ _ ].n, # why\n  \"s\": \"a#b\",\n}\nafter := 1\n";
        let texts = vec![("p.rego".to_string(), text.to_string())];
        let mut engine = Loaded::engine(&texts, false, &Default::default()).unwrap();
        let moved = iterating_heads_moved(engine.get_modules(), &texts);
        assert_eq!(
            moved["p.rego"],
            "package p\nimport rego.v1\n\nitems contains __strata_head_0 if { __strata_head_0 := ({   \"n\": input.x[ _ ].n,    \"s\": \"a#b\", }) }\n\n\n\nafter := 1\n"
        );
        // A raw string's own line breaks stay in it, and are not added again.
        let text = "package p\nimport rego.v1\n\nnames contains concat(`\nx\ny`, [input.items[_].name])\nafter := 1\n";
        let texts = vec![("p.rego".to_string(), text.to_string())];
        let mut engine = Loaded::engine(&texts, false, &Default::default()).unwrap();
        let moved = iterating_heads_moved(engine.get_modules(), &texts);
        assert_eq!(
            moved["p.rego"].lines().position(|l| l == "after := 1"),
            text.lines().position(|l| l == "after := 1"),
            "{}",
            moved["p.rego"]
        );
        let plain = vec![(
            "q.rego".to_string(),
            "package q\nimport rego.v1\n\nkeep contains input.name\n".to_string(),
        )];
        let mut engine = Loaded::engine(&plain, false, &Default::default()).unwrap();
        assert!(iterating_heads_moved(engine.get_modules(), &plain).is_empty());
    }
}
