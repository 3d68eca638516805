//! Regular expressions written as literals, read with RE2's ASCII classes (see
//! [`ascii_classes`]).

use super::heads::written_range;
use super::Node;
use regorus::unstable::{Expr, Module};
use std::collections::BTreeMap;

/// The regex builtins and which of their arguments is the pattern.
const PATTERN_ARGUMENT: &[(&str, usize)] = &[
    ("regex.match", 0),
    ("re_match", 0),
    ("regex.split", 0),
    ("regex.find_n", 0),
    ("regex.find_all_string_submatch_n", 0),
    ("regex.replace", 1),
];

/// OPA compiles patterns with Go's RE2, where `\d`, `\w` and `\s` are ASCII classes; the
/// engine's are Unicode classes, which match more and are large: `^[\w.-]{1,63}$` exceeds
/// its size limit for a compiled pattern, and the whole evaluation stops. A pattern written
/// as a string literal in a call of a regex builtin gets RE2's classes spelt out
/// (`[0-9A-Za-z_]`, or `0-9A-Za-z_` inside a bracket), so it matches what it matches in OPA.
/// A literal written over several lines stays as it is (every line keeps its number), and
/// so does a pattern built at run time. Returns the rewritten text of each file that has
/// such a literal.
pub(super) fn ascii_classes(
    modules: &[regorus::unstable::Ref<Module>],
    texts: &[(String, String)],
) -> BTreeMap<String, String> {
    super::rewrite_nodes(modules, texts, &mut |text, node, edits| {
        let Node::Expr(Expr::Call { fcn, params, .. }) = node else {
            return;
        };
        let name = fcn.span().text();
        let Some(&(_, at)) = PATTERN_ARGUMENT.iter().find(|(f, _)| **f == *name) else {
            return;
        };
        let Some(pattern) = params.get(at) else {
            return;
        };
        let (Expr::String { value, .. } | Expr::RawString { value, .. }) = pattern.as_ref() else {
            return;
        };
        let Some(ascii) = value.as_string().ok().and_then(|w| re2_classes(w)) else {
            return;
        };
        let Some(range) = written_range(pattern, text) else {
            return;
        };
        if text[range.clone()].contains('\n') {
            return;
        }
        if let Ok(literal) = serde_json::to_string(&ascii) {
            edits.push((range.start, range.end, literal));
        }
    })
}

/// `pattern` with RE2's ASCII meaning of `\d`, `\D`, `\w`, `\W`, `\s`, `\S`, `\b` and `\B`
/// spelt out, or `None` when it has none of them.
fn re2_classes(pattern: &str) -> Option<String> {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut changed = false;
    let mut in_class = false;
    // Right after `[` or `[^`, where a `]` is a character of the class, not its end.
    let mut class_start = false;
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        let at_start = std::mem::take(&mut class_start);
        match c {
            '\\' => {
                let Some(n) = chars.next() else {
                    out.push('\\');
                    break;
                };
                // A word boundary is one between RE2's ASCII word characters too.
                if matches!(n, 'b' | 'B') && !in_class {
                    out.push_str(if n == 'b' { "(?-u:\\b)" } else { "(?-u:\\B)" });
                    changed = true;
                    continue;
                }
                let (outside, inside) = match n {
                    'd' => ("[0-9]", "0-9"),
                    'D' => ("[^0-9]", "[:^digit:]"),
                    'w' => ("[0-9A-Za-z_]", "0-9A-Za-z_"),
                    'W' => ("[^0-9A-Za-z_]", "[:^word:]"),
                    's' => ("[\\t\\n\\f\\r ]", "\\t\\n\\f\\r "),
                    'S' => ("[^\\t\\n\\f\\r ]", "[:^space:]"),
                    _ => {
                        out.push('\\');
                        out.push(n);
                        continue;
                    }
                };
                out.push_str(if in_class { inside } else { outside });
                changed = true;
            }
            '[' if in_class => {
                out.push('[');
                // A POSIX class (`[:alpha:]`) inside a bracket, copied whole.
                if chars.peek() == Some(&':') {
                    for p in chars.by_ref() {
                        out.push(p);
                        if p == ']' {
                            break;
                        }
                    }
                }
            }
            '[' => {
                in_class = true;
                class_start = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
            }
            ']' if in_class && !at_start => {
                in_class = false;
                out.push(']');
            }
            _ => out.push(c),
        }
    }
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perl_classes_become_re2s_ascii_classes() {
        for (pattern, ascii) in [
            (r"^[\w.-]{1,63}$", "^[0-9A-Za-z_.-]{1,63}$"),
            (r"\d+\s\w", r"[0-9]+[\t\n\f\r ][0-9A-Za-z_]"),
            (r"[^\W\d]", r"[^[:^word:]0-9]"),
            (r"[]\d]", r"[]0-9]"),
            (r"[^]\S]x\D", r"[^][:^space:]]x[^0-9]"),
            (r"[[:alpha:]\d]\.\\w", r"[[:alpha:]0-9]\.\\w"),
        ] {
            assert_eq!(re2_classes(pattern).as_deref(), Some(ascii), "{pattern}");
            let re = regex::Regex::new(ascii).unwrap_or_else(|e| panic!("{ascii}: {e}"));
            assert!(re.as_str() == ascii);
        }
        assert_eq!(re2_classes(r"^[a-z]+\.\$$"), None);
        // A word boundary between ASCII word characters, as RE2 has it: `É` is none.
        let boundary = re2_classes(r"(?i)\bsecret\b").unwrap();
        assert_eq!(boundary, r"(?i)(?-u:\b)secret(?-u:\b)");
        let re = regex::Regex::new(&boundary).unwrap();
        assert!(re.is_match("CLÉSECRET") && re.is_match("a secret") && !re.is_match("xsecret"));
        let inside = regex::Regex::new(&re2_classes(r"\Bfoo").unwrap()).unwrap();
        assert!(!inside.is_match("éfoo") && inside.is_match("xfoo"));
        // RE2's classes are ASCII: no other script's digits or letters.
        let re = regex::Regex::new(&re2_classes(r"^\w+\d$").unwrap()).unwrap();
        assert!(re.is_match("ab_1") && !re.is_match("é1") && !re.is_match("a٣"));
    }

    /// Literal patterns of the regex builtins are rewritten on their line; a pattern in a
    /// variable, a multi-line literal and other strings stay.
    #[test]
    fn literal_patterns_are_rewritten_where_they_are_written() {
        let text = "package p\nimport rego.v1\n\nname_ok if regex.match(`^[\\w.-]{1,63}$`, input.name)\ndigits if regex.match(\"^\\\\d+$\", input.n)\nrep := regex.replace(input.s, `\\s+`, \" \")\nmsg := \"use \\\\w\"\np := `\\w`\nvia if regex.match(p, input.name)\n";
        let out = crate::rego::rewritten_once(ascii_classes, text).unwrap();
        assert_eq!(
            out,
            "package p\nimport rego.v1\n\nname_ok if regex.match(\"^[0-9A-Za-z_.-]{1,63}$\", input.name)\ndigits if regex.match(\"^[0-9]+$\", input.n)\nrep := regex.replace(input.s, \"[\\\\t\\\\n\\\\f\\\\r ]+\", \" \")\nmsg := \"use \\\\w\"\np := `\\w`\nvia if regex.match(p, input.name)\n"
        );
    }
}
