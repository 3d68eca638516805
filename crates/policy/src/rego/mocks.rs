//! A test's mock of a rule named by its bare name, given its full path (see
//! [`rule_mocks_by_path`]).

use super::{walk_rule, Node};
use regorus::unstable::{Expr, Module, Rule, RuleHead};
use std::collections::{BTreeMap, BTreeSet};

/// `with allowed as {...}` in a test of `package main` mocks the rule `allowed` of that
/// package: OPA's compiler resolves the bare name to `data.main.allowed`. regorus looks the
/// bare name up as is, finds no such target, and stops the test with "undefined rule",
/// so a `conftest verify` suite that passes failed here. Such a name, when the package has
/// a rule (not a function) of that name, is written out as its path (a `with` target is
/// never a local variable); every line keeps its number. Returns the rewritten text of
/// each file that has such a mock.
pub(super) fn rule_mocks_by_path(
    modules: &[regorus::unstable::Ref<Module>],
    texts: &[(String, String)],
) -> BTreeMap<String, String> {
    // The rules of each package (by its path), functions left out: a bare function mock
    // is regorus's own.
    let mut rules: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for module in modules {
        let Ok(package) = regorus::utils::get_path_string(&module.package.refr, Some("data"))
        else {
            continue;
        };
        for rule in &module.policy {
            let function = matches!(
                rule.as_ref(),
                Rule::Spec {
                    head: RuleHead::Func { .. },
                    ..
                }
            );
            let name = super::first_name(rule);
            if !function && !name.is_empty() {
                rules.entry(package.clone()).or_default().insert(name);
            }
        }
    }
    let mut edits: BTreeMap<String, Vec<(usize, usize, String)>> = BTreeMap::new();
    for (_, module, file, text) in super::with_texts(modules, texts) {
        let Ok(package) = regorus::utils::get_path_string(&module.package.refr, Some("data"))
        else {
            continue;
        };
        let Some(names) = rules.get(&package) else {
            continue;
        };
        let mut mine = Vec::new();
        for rule in &module.policy {
            walk_rule(rule, &mut |node| {
                let Node::With(m) = node else { return };
                let Expr::Var { span, .. } = m.refr.as_ref() else {
                    return;
                };
                let name = span.text();
                let (start, end) = (span.start as usize, span.end as usize);
                if names.contains(name) && text.get(start..end) == Some(name) {
                    mine.push((start, end, format!("{package}.{name}")));
                }
            });
        }
        if !mine.is_empty() {
            edits.entry(file.to_string()).or_default().extend(mine);
        }
    }
    super::heads::edited(texts, edits)
}
