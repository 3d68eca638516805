//! Object patterns, refused when a policy loads (see [`check_object_patterns`]).

use super::{walk_rule, Node};
use crate::Error;
use regorus::unstable::{AssignOp, Expr, Literal, Module, Rule, RuleHead};

/// In OPA an object pattern (`{"Effect": "Allow", "Action": a} := statement`, a function's
/// argument `allowed({"Effect": "Allow"})`, `some {"k": k} in xs`, `{"app": x} =
/// input.labels`) unifies only with an object holding exactly its keys. The engine
/// (regorus) matches any object holding those keys among others, so a rule allowing one
/// exact statement allowed every statement with more keys, and a policy passed where
/// conftest fails it. Such a pattern is refused, naming its line, with the fix: compare the
/// fields (`s.Effect == "Allow"`), which means the same in both. An object written on one
/// side of `=` whose other side is a variable is a value being built (`msg = {"msg":
/// m}`), and stays.
pub(super) fn check_object_patterns(
    modules: &[regorus::unstable::Ref<Module>],
) -> Result<(), Error> {
    for module in modules {
        for rule in &module.policy {
            let mut found: Option<regorus::unstable::Span> = None;
            let mut note = |expr: &Expr| {
                if found.is_none() {
                    found = object_in(expr);
                }
            };
            if let Rule::Spec {
                head: RuleHead::Func { args, .. },
                ..
            } = rule.as_ref()
            {
                args.iter().for_each(|a| note(a));
            }
            walk_rule(rule, &mut |node| match node {
                Node::Expr(Expr::AssignExpr { op, lhs, rhs, .. }) => match op {
                    AssignOp::ColEq => note(lhs),
                    AssignOp::Eq => {
                        for (side, other) in [(lhs, rhs), (rhs, lhs)] {
                            if !matches!(other.as_ref(), Expr::Var { .. }) {
                                note(side);
                            }
                        }
                    }
                },
                Node::Stmt(stmt) => {
                    if let Literal::SomeIn { key, value, .. } = &stmt.literal {
                        if let Some(k) = key {
                            note(k);
                        }
                        note(value);
                    }
                }
                _ => {}
            });
            if let Some(span) = found {
                return Err(Error::in_file(
                    span.source.get_path(),
                    Some(span.line),
                    format!(
                        "`{}` matches an object pattern: OPA matches it only against an object with exactly its keys, strata's Rego engine (regorus) against any object holding them, so the rule could pass where conftest fails it",
                        span.source.line(span.line.saturating_sub(1)).trim()
                    ),
                )
                .with_hint("compare the fields instead (`s.Effect == \"Allow\"`; add `count(s) == N` for exactly these keys)"));
            }
        }
    }
    Ok(())
}

/// The first object written in `pattern` (itself, or inside the arrays and objects it is
/// made of).
fn object_in(pattern: &Expr) -> Option<regorus::unstable::Span> {
    match pattern {
        Expr::Object { span, .. } => Some(span.clone()),
        Expr::Array { items, .. } => items.iter().find_map(|i| object_in(i)),
        _ => None,
    }
}
