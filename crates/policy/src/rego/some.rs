//! `some x` declarations after a statement that iterates, moved to the start of their body
//! (see [`declared_first`]).

use super::Node;
use regorus::unstable::{Literal, Module};
use std::collections::BTreeMap;

/// OPA accepts `some i` anywhere in a body before `i` is used (`c := input.containers[_];
/// some i; c.command[i] == "y"`); regorus declares the variable again for each value the
/// statements before it iterate over and stops the whole evaluation at the second
/// (`duplicated definition of local variable i`), so a pod with two containers could not
/// be checked. Such a declaration is moved to the start of its body (of a rule, a
/// comprehension or an `every`), where it is made once, and `true` takes its place, so
/// every line keeps its number. A declaration of a name the statements before it already
/// mention (which OPA refuses), one with `with` modifiers, or one written over several
/// lines stays. Returns the rewritten text of each file that has such a declaration.
pub(super) fn declared_first(
    modules: &[regorus::unstable::Ref<Module>],
    texts: &[(String, String)],
) -> BTreeMap<String, String> {
    super::rewrite_nodes(modules, texts, &mut |text, node, edits| {
        let Node::Query(query) = node else { return };
        let Some(first) = query.stmts.first() else {
            return;
        };
        let start = first.span.start as usize;
        let mut moved = String::new();
        for stmt in query.stmts.iter().skip(1) {
            let Literal::SomeVars { vars, .. } = &stmt.literal else {
                continue;
            };
            let (from, to) = (stmt.span.start as usize, stmt.span.end as usize);
            let (Some(before), Some(written)) = (text.get(start..from), text.get(from..to)) else {
                continue;
            };
            let names: Vec<&str> = vars.iter().map(|v| v.text()).collect();
            if !stmt.with_mods.is_empty()
                || !written.starts_with("some")
                || written.contains('\n')
                || names.iter().any(|n| mentions(before, n))
            {
                continue;
            }
            moved.push_str(&format!("some {}; ", names.join(", ")));
            edits.push((from, to, "true".into()));
        }
        if !moved.is_empty() {
            edits.push((start, start, moved));
        }
    })
}

/// Whether `text` holds `name` as a word of its own.
fn mentions(text: &str, name: &str) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(name).any(|(at, _)| {
        !text[..at].chars().next_back().is_some_and(word)
            && !text[at + name.len()..].chars().next().is_some_and(word)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(text: &str) -> Option<String> {
        crate::rego::rewritten_once(declared_first, text)
    }

    #[test]
    fn a_declaration_after_an_iteration_moves_to_the_start_of_its_body() {
        let text = "package p\nimport rego.v1\n\ndeny contains c.name if {\n\tc := input.containers[_]\n\tsome i\n\tc.command[i] == \"y\"\n}\nall := [x | x := input.a[_]; some j, k; input.b[j][k] == x]\nfirst if { some i; input.a[i] }\nused if { i := 1; some i; input.a[i] }\n";
        assert_eq!(
            rewritten(text).unwrap(),
            "package p\nimport rego.v1\n\ndeny contains c.name if {\n\tsome i; c := input.containers[_]\n\ttrue\n\tc.command[i] == \"y\"\n}\nall := [x | some j, k; x := input.a[_]; true; input.b[j][k] == x]\nfirst if { some i; input.a[i] }\nused if { i := 1; some i; input.a[i] }\n"
        );
        assert_eq!(
            rewritten("package p\nimport rego.v1\n\nr if { some i; input.a[i] }\n"),
            None
        );
        assert!(mentions("x := a[i]", "i") && !mentions("x := ai[_]", "i"));
    }
}
