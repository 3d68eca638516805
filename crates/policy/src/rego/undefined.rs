//! Expressions OPA makes undefined where regorus would not: rewritten when a policy loads so
//! that regorus evaluates them as OPA does (see [`undefined_as_in_opa`]).

use super::heads::{comment_start, edited, reads_as_expression, written_range};
use super::{walk_rule, Node};
use regorus::unstable::{Expr, Literal, Module};
use std::collections::{BTreeMap, BTreeSet};

/// Two places where OPA's compiler makes an expression undefined and regorus does not:
///
/// - **A call inside `not`.** OPA moves every call nested in an expression into a statement
///   of its own before it (`not object.get(x, "a", "d") == "d"` becomes `__local0__ =
///   object.get(x, "a", "d"); not __local0__ == "d"`), so a call that is undefined (a
///   builtin that fails on its arguments, a function without a value for them) makes the
///   whole body undefined. regorus evaluates the call inside the `not`, which is then
///   true: konstraint's `has_field` and `missing_field` helpers passed every object whose
///   field held `null`. Such calls are moved out here as OPA does: `__strata_not_0 :=
///   (object.get(x, "a", "d")); not __strata_not_0 == "d"`, with the statement's `with`
///   modifiers copied onto each, and a body written without braces (`f(x) if not ...`)
///   given them. The call a `not` applies to itself (`not startswith(x, "a")`) stays, as in
///   OPA. A call that iterates (`lower(xs[_])`) moves too, as in OPA, and so iterates
///   outside the `not`.
/// - **`some x in` over a value that is no collection.** OPA reads it as `x = xs[_]`,
///   undefined for `null`, a string or a number; regorus stops the whole evaluation (`some
///   .. in collection expects array/set/object`). The collection is passed through a
///   function of the file's own, defined only for arrays, objects and sets.
///
/// A call holding a comprehension whose own body is rewritten moves in a later pass, once
/// that body is: call this until it returns nothing. Every line keeps its number (a moved
/// call takes its line breaks with it, and the function is added after the file's last
/// line); the columns of a rewritten line change. Returns the rewritten text of each file
/// that has such an expression left.
pub(super) fn undefined_as_in_opa(
    modules: &[regorus::unstable::Ref<Module>],
    texts: &[(String, String)],
) -> BTreeMap<String, String> {
    let mut edits: BTreeMap<String, Vec<(usize, usize, String)>> = BTreeMap::new();
    // The names of the rules (a name used as a key is a reference to one of them).
    let rules: BTreeSet<String> = modules
        .iter()
        .flat_map(|m| m.policy.iter().map(|r| super::first_name(r)))
        .filter(|n| !n.is_empty())
        .collect();
    for (index, module, file, text) in super::with_texts(modules, texts) {
        let collection_fn = format!("__strata_in_{index}");
        let mut n = next_free(text, NOT_PREFIX);
        let mut groups: Vec<Group> = Vec::new();
        for rule in &module.policy {
            walk_rule(rule, &mut |node| {
                let Node::Stmt(stmt) = node else { return };
                match &stmt.literal {
                    Literal::NotExpr { expr, .. } => {
                        if let Some(group) =
                            moved_calls(stmt, expr, text, module.rego_v1, &rules, &mut n)
                        {
                            groups.push(group);
                        }
                    }
                    Literal::SomeIn { collection, .. } => {
                        let wrapped = matches!(collection.as_ref(), Expr::Call { fcn, .. }
                            if fcn.span().text().starts_with("__strata_in_"));
                        let Some(range) = written_range(collection, text)
                            .filter(|r| reads_as_expression(&text[r.clone()], module.rego_v1))
                            .filter(|_| !wrapped)
                        else {
                            return;
                        };
                        groups.push(Group {
                            edits: vec![
                                (range.start, range.start, format!("{collection_fn}(")),
                                (range.end, range.end, ")".into()),
                            ],
                            moved: Vec::new(),
                            wraps: true,
                        });
                    }
                    _ => {}
                }
            });
        }
        // A call whose text holds another rewrite moves once that one is in (a later pass).
        let starts: Vec<(usize, usize)> = groups
            .iter()
            .enumerate()
            .flat_map(|(i, g)| g.edits.iter().map(move |e| (i, e.0)))
            .collect();
        let mut file_edits: Vec<(usize, usize, String)> = Vec::new();
        let mut wraps_collections = false;
        for (i, group) in groups.into_iter().enumerate() {
            let holds_another = group.moved.iter().any(|r| {
                starts
                    .iter()
                    .any(|&(j, at)| j != i && r.start <= at && at < r.end)
            });
            if holds_another {
                continue;
            }
            wraps_collections |= group.wraps;
            file_edits.extend(group.edits);
        }
        let defined = text.contains(&format!("\n{collection_fn}(c) "));
        if wraps_collections && !defined {
            let mut definitions = String::new();
            if !text.ends_with('\n') {
                definitions.push('\n');
            }
            // `type_name`, not `is_array` and the like: a policy may define a function of
            // one of those names (its own `is_set(obj, field)`), which its package's calls
            // then reach.
            for kind in ["array", "object", "set"] {
                definitions.push_str(&if module.rego_v1 {
                    format!("{collection_fn}(c) := c if {{ type_name(c) == \"{kind}\" }}\n")
                } else {
                    format!("{collection_fn}(c) = c {{ type_name(c) == \"{kind}\" }}\n")
                });
            }
            file_edits.push((text.len(), text.len(), definitions));
        }
        if !file_edits.is_empty() {
            edits
                .entry(file.to_string())
                .or_default()
                .extend(file_edits);
        }
    }
    edited(texts, edits)
}

/// What names a call moved out of a `not` (`__strata_not_0`).
const NOT_PREFIX: &str = "__strata_not_";

/// The edits of one rewrite: replacements and insertions, and the ranges of the calls it
/// moves (whose text must hold no other rewrite's edit).
struct Group {
    edits: Vec<(usize, usize, String)>,
    moved: Vec<std::ops::Range<usize>>,
    /// It passes a collection through the file's function.
    wraps: bool,
}

/// The calls nested in the `not` statement `stmt` (whose expression is `expr`), moved into
/// statements of their own before it; `None` when there is none to move, or the statement
/// is not written as expected.
fn moved_calls(
    stmt: &regorus::unstable::LiteralStmt,
    expr: &Expr,
    text: &str,
    rego_v1: bool,
    rules: &BTreeSet<String>,
    n: &mut usize,
) -> Option<Group> {
    let start = stmt.span.start as usize;
    if !text.get(start..)?.starts_with("not") {
        return None;
    }
    let mut calls = Vec::new();
    match expr {
        // The call the `not` applies to stays; a reference it is given moves out, as OPA
        // moves it (`not startswith(input.x, "a")` is undefined, not true, without
        // `input.x`). Comparisons (`not input.x == "a"`) are no calls here, and stay.
        Expr::Call { params, .. } => params.iter().for_each(|p| {
            if is_reference(p, rules) {
                calls.push(p.as_ref());
            } else {
                nested_calls(p, rules, &mut calls)
            }
        }),
        e => nested_calls(e, rules, &mut calls),
    }
    // The statement's `with` modifiers, as written: they apply to the moved calls too.
    // Where the last `with` ends: its value's written range holds a string's closing
    // quote, which the modifier's span may leave out.
    let with_end = stmt.with_mods.last().map_or(0, |m| {
        (m.span.end as usize).max(written_range(&m.r#as, text).map_or(0, |r| r.end))
    });
    let with = match stmt.with_mods.first() {
        Some(first) => {
            let written = text.get(first.span.start as usize..with_end)?;
            if !written.starts_with("with") {
                return None;
            }
            format!(" {}", written.replace(['\n', '\r'], " "))
        }
        _ => String::new(),
    };
    let mut group = Group {
        edits: Vec::new(),
        moved: Vec::new(),
        wraps: false,
    };
    let mut hoisted = String::new();
    for call in calls {
        let Some(range) =
            written_range(call, text).filter(|r| reads_as_expression(&text[r.clone()], rego_v1))
        else {
            continue;
        };
        let var = format!("{NOT_PREFIX}{n}");
        *n += 1;
        hoisted.push_str(&format!("{var} := ({}){with}; ", &text[range.clone()]));
        group.edits.push((range.start, range.end, var));
        group.moved.push(range);
    }
    if hoisted.is_empty() {
        return None;
    }
    // A body of one statement written without braces (`f(x) if not ...`) takes braces
    // around the statements it now has.
    let before = code_before(&text[..start]);
    let braceless = before.ends_with("if")
        && !before[..before.len() - 2]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
    if braceless {
        let end = [
            stmt.span.end as usize,
            written_range(expr, text).map_or(0, |r| r.end),
            with_end,
        ]
        .into_iter()
        .max()
        .unwrap_or(start);
        group.edits.push((start, start, format!("{{ {hoisted}")));
        group.edits.push((end, end, " }".into()));
    } else {
        group.edits.push((start, start, hoisted));
    }
    Some(group)
}

/// `text` without the blanks, line breaks and comments at its end: what stands before the
/// next statement (`deny if # why` then `not ...` on the next line: `deny if`).
fn code_before(text: &str) -> &str {
    let mut code = text.trim_end();
    loop {
        let line_start = code.rfind('\n').map_or(0, |i| i + 1);
        match comment_start(&code[line_start..]) {
            Some(at) => code = code[..line_start + at].trim_end(),
            None => return code,
        }
    }
}

/// The first number `prefix` followed by digits is not followed by in `text`.
fn next_free(text: &str, prefix: &str) -> usize {
    text.match_indices(prefix)
        .filter_map(|(at, _)| {
            let digits: String = text[at + prefix.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse::<usize>().ok()
        })
        .max()
        .map_or(0, |m| m + 1)
}

/// The outermost calls in `expr`, outside comprehensions.
/// A reference OPA moves into a statement of its own: `a.b`, `a[k]`, or a rule's name.
fn is_reference(expr: &Expr, rules: &BTreeSet<String>) -> bool {
    match expr {
        Expr::RefDot { .. } | Expr::RefBrack { .. } => true,
        Expr::Var { span, .. } => rules.contains(span.text()),
        _ => false,
    }
}

fn nested_calls<'e>(expr: &'e Expr, rules: &BTreeSet<String>, out: &mut Vec<&'e Expr>) {
    match expr {
        // Arithmetic (`+ - * / %`) and set operators (`| &`) are calls in OPA too (`plus`,
        // `minus`, `or`, `and`, ...).
        Expr::Call { .. } | Expr::ArithExpr { .. } | Expr::BinExpr { .. } => out.push(expr),
        // A reference used as another's key (`allowed[input.name]`) is a nested reference,
        // which OPA also moves out: `not allowed[input.name]` is undefined, not true, when
        // `input.name` is.
        // A rule's name (`not banned[name]`, `name := input.metadata.name`) is a reference
        // too.
        Expr::RefBrack { refr, index, .. } if is_reference(index, rules) => {
            nested_calls(refr, rules, out);
            out.push(index);
        }
        Expr::ArrayCompr { .. } | Expr::SetCompr { .. } | Expr::ObjectCompr { .. } => {}
        _ => super::children(expr)
            .into_iter()
            .for_each(|c| nested_calls(c, rules, out)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rego::Loaded;

    /// The file rewritten by one pass; it must load.
    fn rewritten(text: &str) -> Option<String> {
        crate::rego::rewritten_once(undefined_as_in_opa, text)
    }

    #[test]
    fn calls_inside_not_are_moved_before_it_on_their_lines() {
        let text = "package p\nimport rego.v1\n\nhas_field(obj, field) if {\n\tnot object.get(obj, field, \"N\") == \"N\"\n}\nkeep if not startswith(input.a, \"x\")\ninner if not startswith(lower(input.a), \"x\")\nloop if not lower(input.a[_]) == \"x\"\nmod if not lower(input.a) == \"x\" with input as {}\nmulti if {\n  not object.get(input,\n    \"a\", 1) == 1\n  input.b\n}\n";
        assert_eq!(
            rewritten(text).unwrap(),
            "package p\nimport rego.v1\n\nhas_field(obj, field) if {\n\t__strata_not_0 := (object.get(obj, field, \"N\")); not __strata_not_0 == \"N\"\n}\nkeep if { __strata_not_1 := (input.a); not startswith(__strata_not_1, \"x\") }\ninner if { __strata_not_2 := (lower(input.a)); not startswith(__strata_not_2, \"x\") }\nloop if { __strata_not_3 := (lower(input.a[_])); not __strata_not_3 == \"x\" }\nmod if { __strata_not_4 := (lower(input.a)) with input as {}; not __strata_not_4 == \"x\" with input as {} }\nmulti if {\n  __strata_not_5 := (object.get(input,\n    \"a\", 1)); not __strata_not_5 == 1\n  input.b\n}\n"
        );
        assert_eq!(
            rewritten("package p\nimport rego.v1\n\nkeep if { x := input.a; not startswith(x, \"x\") }\nop if not input.a == \"x\"\n"),
            None
        );
    }

    /// A comment between a braceless `if` and its `not`, and operators, which are calls in
    /// OPA (`plus`, `or`).
    #[test]
    fn operators_move_and_a_comment_after_if_keeps_the_body_braced() {
        let text = "package p\nimport rego.v1\n\ndeny contains \"a\" if # why\n  not lower(input.m) == \"x\"\nsum if not input.m + 1 == 2\nset if not input.m | {1} == {1}\n";
        assert_eq!(
            rewritten(text).unwrap(),
            "package p\nimport rego.v1\n\ndeny contains \"a\" if # why\n  { __strata_not_0 := (lower(input.m)); not __strata_not_0 == \"x\" }\nsum if { __strata_not_1 := (input.m + 1); not __strata_not_1 == 2 }\nset if { __strata_not_2 := (input.m | {1}); not __strata_not_2 == {1} }\n"
        );
    }

    /// A reference used as another's key moves out of a `not`, as OPA moves nested
    /// references; a variable or a constant key stays.
    #[test]
    fn a_reference_used_as_a_key_moves_out_of_not() {
        let text = "package p\nimport rego.v1\n\nallowed := {\"a\"}\nset if not allowed[input.spec.name]\nobj if not input.o[input.k[0]]\nvar if { some x in input.xs; not allowed[x] }\nconst if not input.o[\"k\"]\n";
        assert_eq!(
            rewritten(text).unwrap(),
            "package p\nimport rego.v1\n\nallowed := {\"a\"}\nset if { __strata_not_0 := (input.spec.name); not allowed[__strata_not_0] }\nobj if { __strata_not_1 := (input.k[0]); not input.o[__strata_not_1] }\nvar if { some x in __strata_in_0(input.xs); not allowed[x] }\nconst if not input.o[\"k\"]\n__strata_in_0(c) := c if { type_name(c) == \"array\" }\n__strata_in_0(c) := c if { type_name(c) == \"object\" }\n__strata_in_0(c) := c if { type_name(c) == \"set\" }\n"
        );
    }

    /// A rule's name used as a key is a reference and moves; a `with` whose value is a
    /// string keeps its closing quote on the moved statement.
    #[test]
    fn a_rule_used_as_a_key_moves_and_with_strings_stay_whole() {
        let text = "package p\nimport rego.v1\n\nbanned := {\"m\": true}\nname := input.metadata.name\nok if not banned[name]\nw if not banned[input.n] with input.n as \"b\"\nlocal if { k := input.k; not banned[k] }\n";
        assert_eq!(
            rewritten(text).unwrap(),
            "package p\nimport rego.v1\n\nbanned := {\"m\": true}\nname := input.metadata.name\nok if { __strata_not_0 := (name); not banned[__strata_not_0] }\nw if { __strata_not_1 := (input.n) with input.n as \"b\"; not banned[__strata_not_1] with input.n as \"b\" }\nlocal if { k := input.k; not banned[k] }\n"
        );
    }

    /// A call holding a comprehension whose body is rewritten moves in the pass after it.
    #[test]
    fn a_comprehension_inside_a_moved_call_is_rewritten_first() {
        let text = "package p\nimport rego.v1\n\nr if not count([x | some x in input.a; not lower(x) == \"b\"]) == 0\n";
        let first = rewritten(text).unwrap();
        assert_eq!(
            first,
            "package p\nimport rego.v1\n\nr if not count([x | some x in __strata_in_0(input.a); __strata_not_1 := (lower(x)); not __strata_not_1 == \"b\"]) == 0\n__strata_in_0(c) := c if { type_name(c) == \"array\" }\n__strata_in_0(c) := c if { type_name(c) == \"object\" }\n__strata_in_0(c) := c if { type_name(c) == \"set\" }\n"
        );
        let second = rewritten(&first).unwrap();
        assert!(
            second.starts_with("package p\nimport rego.v1\n\nr if { __strata_not_2 := (count([x | some x in __strata_in_0(input.a); __strata_not_1 := (lower(x)); not __strata_not_1 == \"b\"])); not __strata_not_2 == 0 }\n__strata_in_0(c) := c if { type_name(c) == \"array\" }\n"),
            "{second}"
        );
        assert_eq!(second.matches("__strata_in_0(c) :=").count(), 3, "{second}");
        assert_eq!(rewritten(&second), None);
    }

    #[test]
    fn a_collection_of_some_in_goes_through_a_function_defined_for_collections_only() {
        let v1 = "package p\nimport rego.v1\n\ndeny contains c if {\n  some c in input.spec.containers\n}";
        assert_eq!(
            rewritten(v1).unwrap(),
            "package p\nimport rego.v1\n\ndeny contains c if {\n  some c in __strata_in_0(input.spec.containers)\n}\n__strata_in_0(c) := c if { type_name(c) == \"array\" }\n__strata_in_0(c) := c if { type_name(c) == \"object\" }\n__strata_in_0(c) := c if { type_name(c) == \"set\" }\n"
        );
        let texts = vec![(
            "p.rego".to_string(),
            "package p\nimport future.keywords.in\n\ndeny[c] {\n  some k, c in input.x\n}\n"
                .to_string(),
        )];
        let mut engine = Loaded::engine(&texts, true, &Default::default()).unwrap();
        assert_eq!(
            undefined_as_in_opa(engine.get_modules(), &texts)["p.rego"],
            "package p\nimport future.keywords.in\n\ndeny[c] {\n  some k, c in __strata_in_0(input.x)\n}\n__strata_in_0(c) = c { type_name(c) == \"array\" }\n__strata_in_0(c) = c { type_name(c) == \"object\" }\n__strata_in_0(c) = c { type_name(c) == \"set\" }\n"
        );
    }
}
