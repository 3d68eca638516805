//! Expressions OPA makes undefined where regorus would not: rewritten when a policy loads so
//! that regorus evaluates them as OPA does (see [`undefined_as_in_opa`]).

use super::heads::{edited, reads_as_expression, written_range};
use super::{walk_rule, Node};
use regorus::unstable::{Expr, Literal, Module};
use std::collections::BTreeMap;

/// Two places where OPA's compiler makes an expression undefined and regorus does not:
///
/// - **A call inside `not`.** OPA moves every call nested in an expression into a statement
///   of its own before it (`not object.get(x, "a", "d") == "d"` becomes `__local0__ =
///   object.get(x, "a", "d"); not __local0__ == "d"`), so a call that is undefined (a
///   builtin that fails on its arguments, a function without a value for them) makes the
///   whole body undefined. regorus evaluates the call inside the `not`, which is then
///   true: konstraint's `has_field` and `missing_field` helpers passed every object whose
///   field held `null`. Such calls are moved out here as OPA does: `__strata_not_0 :=
///   (object.get(x, "a", "d")); not __strata_not_0 == "d"`. The call a `not` applies to
///   itself (`not startswith(x, "a")`) stays, as in OPA; so do calls that iterate (`_`) or
///   hold a comprehension, and every call of a statement with `with` modifiers.
/// - **`some x in` over a value that is no collection.** OPA reads it as `x = xs[_]`,
///   undefined for `null`, a string or a number; regorus stops the whole evaluation (`some
///   .. in collection expects array/set/object`). The collection is passed through a
///   function of the file's own, defined only for arrays, objects and sets.
///
/// Every line keeps its number (a moved call takes its line breaks with it, and the
/// function is added after the file's last line); the columns of a rewritten line change.
/// Returns the rewritten text of each file that has such an expression.
pub(super) fn undefined_as_in_opa(
    modules: &[regorus::unstable::Ref<Module>],
    texts: &[(String, String)],
) -> BTreeMap<String, String> {
    let mut edits: BTreeMap<String, Vec<(usize, usize, String)>> = BTreeMap::new();
    let mut n = 0usize;
    for (index, module) in modules.iter().enumerate() {
        let file = module.package.span.source.get_path().clone();
        let Some((_, text)) = texts.iter().find(|(p, _)| *p == file) else {
            continue;
        };
        let collection_fn = format!("__strata_in_{index}");
        let mut wraps_collections = false;
        let mut file_edits: Vec<(usize, usize, String)> = Vec::new();
        for rule in &module.policy {
            walk_rule(rule, &mut |node| {
                let Node::Stmt(stmt) = node else { return };
                match &stmt.literal {
                    Literal::NotExpr { expr, .. } if stmt.with_mods.is_empty() => {
                        let start = stmt.span.start as usize;
                        if !text[start.min(text.len())..].starts_with("not") {
                            return;
                        }
                        let mut calls = Vec::new();
                        match expr.as_ref() {
                            Expr::Call { params, .. } => {
                                params.iter().for_each(|p| nested_calls(p, &mut calls))
                            }
                            e => nested_calls(e, &mut calls),
                        }
                        let mut moved = String::new();
                        for call in calls.into_iter().filter(|c| movable(c)) {
                            let Some(range) = written_range(call, text)
                                .filter(|r| reads_as_expression(&text[r.clone()], module.rego_v1))
                            else {
                                continue;
                            };
                            let var = format!("__strata_not_{n}");
                            n += 1;
                            moved.push_str(&format!("{var} := ({}); ", &text[range.clone()]));
                            file_edits.push((range.start, range.end, var));
                        }
                        if !moved.is_empty() {
                            file_edits.push((start, start, moved));
                        }
                    }
                    Literal::SomeIn { collection, .. } => {
                        let Some(range) = written_range(collection, text)
                            .filter(|r| reads_as_expression(&text[r.clone()], module.rego_v1))
                        else {
                            return;
                        };
                        wraps_collections = true;
                        file_edits.push((range.start, range.start, format!("{collection_fn}(")));
                        file_edits.push((range.end, range.end, ")".into()));
                    }
                    _ => {}
                }
            });
        }
        if wraps_collections {
            let mut definitions = String::new();
            if !text.ends_with('\n') {
                definitions.push('\n');
            }
            for is in ["is_array", "is_object", "is_set"] {
                definitions.push_str(&if module.rego_v1 {
                    format!("{collection_fn}(c) := c if {{ {is}(c) }}\n")
                } else {
                    format!("{collection_fn}(c) = c {{ {is}(c) }}\n")
                });
            }
            file_edits.push((text.len(), text.len(), definitions));
        }
        if !file_edits.is_empty() {
            edits.entry(file).or_default().extend(file_edits);
        }
    }
    edited(texts, edits)
}

/// The outermost calls in `expr`, outside comprehensions.
fn nested_calls<'e>(expr: &'e Expr, out: &mut Vec<&'e Expr>) {
    match expr {
        Expr::Call { .. } => out.push(expr),
        Expr::ArrayCompr { .. } | Expr::SetCompr { .. } | Expr::ObjectCompr { .. } => {}
        _ => super::children(expr)
            .into_iter()
            .for_each(|c| nested_calls(c, out)),
    }
}

/// Whether a call can leave its `not`: nothing in it iterates (`_` would iterate outside
/// the `not`) or is a comprehension (whose own body may be rewritten).
fn movable(call: &Expr) -> bool {
    let mut ok = true;
    super::walk_expr(call, &mut |node| {
        if let Node::Expr(e) = node {
            match e {
                Expr::Var { span, .. } if span.text() == "_" => ok = false,
                Expr::ArrayCompr { .. } | Expr::SetCompr { .. } | Expr::ObjectCompr { .. } => {
                    ok = false
                }
                _ => {}
            }
        }
    });
    ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rego::Loaded;

    fn rewritten(text: &str) -> Option<String> {
        let texts = vec![("p.rego".to_string(), text.to_string())];
        let mut engine = Loaded::engine(&texts, false).unwrap();
        undefined_as_in_opa(engine.get_modules(), &texts).remove("p.rego")
    }

    #[test]
    fn calls_inside_not_are_moved_before_it_on_their_lines() {
        let text = "package p\nimport rego.v1\n\nhas_field(obj, field) if {\n\tnot object.get(obj, field, \"N\") == \"N\"\n}\nkeep if not startswith(input.a, \"x\")\ninner if not startswith(lower(input.a), \"x\")\nloop if not lower(input.a[_]) == \"x\"\nmod if not lower(input.a) == \"x\" with input as {}\nmulti if {\n  not object.get(input,\n    \"a\", 1) == 1\n  input.b\n}\n";
        assert_eq!(
            rewritten(text).unwrap(),
            "package p\nimport rego.v1\n\nhas_field(obj, field) if {\n\t__strata_not_0 := (object.get(obj, field, \"N\")); not __strata_not_0 == \"N\"\n}\nkeep if not startswith(input.a, \"x\")\ninner if __strata_not_1 := (lower(input.a)); not startswith(__strata_not_1, \"x\")\nloop if not lower(input.a[_]) == \"x\"\nmod if not lower(input.a) == \"x\" with input as {}\nmulti if {\n  __strata_not_2 := (object.get(input,\n    \"a\", 1)); not __strata_not_2 == 1\n  input.b\n}\n"
        );
        assert_eq!(
            rewritten("package p\nimport rego.v1\n\nkeep if not startswith(input.a, \"x\")\n"),
            None
        );
    }

    #[test]
    fn a_collection_of_some_in_goes_through_a_function_defined_for_collections_only() {
        let v1 = "package p\nimport rego.v1\n\ndeny contains c if {\n  some c in input.spec.containers\n}";
        assert_eq!(
            rewritten(v1).unwrap(),
            "package p\nimport rego.v1\n\ndeny contains c if {\n  some c in __strata_in_0(input.spec.containers)\n}\n__strata_in_0(c) := c if { is_array(c) }\n__strata_in_0(c) := c if { is_object(c) }\n__strata_in_0(c) := c if { is_set(c) }\n"
        );
        let texts = vec![(
            "p.rego".to_string(),
            "package p\nimport future.keywords.in\n\ndeny[c] {\n  some k, c in input.x\n}\n"
                .to_string(),
        )];
        let mut engine = Loaded::engine(&texts, true).unwrap();
        assert_eq!(
            undefined_as_in_opa(engine.get_modules(), &texts)["p.rego"],
            "package p\nimport future.keywords.in\n\ndeny[c] {\n  some k, c in __strata_in_0(input.x)\n}\n__strata_in_0(c) = c { is_array(c) }\n__strata_in_0(c) = c { is_object(c) }\n__strata_in_0(c) = c { is_set(c) }\n"
        );
    }
}
