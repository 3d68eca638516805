//! Waivers (policies/waivers.toml) applied to findings: a waiver in force that names a
//! finding's rule for its target marks the finding waived (not blocking); an expired waiver
//! that matches a target is reported, and fails that target.

use crate::Finding;
use std::collections::HashSet;
use strata_graph::model::waivers::{Waiver, WAIVERS_FILE};

/// How a waiver is shown beside the finding it accepts.
pub fn waived_by(w: &Waiver) -> String {
    format!(
        "{WAIVERS_FILE}:{} (owner {}, until {})",
        w.line, w.owner, w.expires
    )
}

/// Marks the findings of one target (`label`, in `env`) that a waiver in force accepts, and
/// returns the expired waivers that match the target.
pub fn apply<'w>(
    findings: &mut [Finding],
    waivers: &'w [Waiver],
    label: &str,
    env: Option<&str>,
    today: i64,
) -> Vec<&'w Waiver> {
    let applicable: Vec<&Waiver> = waivers
        .iter()
        .filter(|w| w.applies_to(label, env))
        .collect();
    for f in findings.iter_mut() {
        let ids = f.ids();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        if let Some(w) = applicable
            .iter()
            .find(|w| !w.expired(today) && w.covers(&ids))
        {
            f.waived_by = Some(waived_by(w));
        }
    }
    applicable
        .into_iter()
        .filter(|w| w.expired(today))
        .collect()
}

/// How an expired waiver is reported.
pub fn expired_message(w: &Waiver) -> String {
    format!(
        "waiver {WAIVERS_FILE}:{} for {} on {} (owner {}) expired on {}: renew it or fix the finding",
        w.line,
        w.rule,
        w.targets,
        strata_graph::text::plain(&w.owner),
        w.expires
    )
}

/// What the policies in use define, to tell whether a waiver's `rule` names anything: the
/// string literals of the Rego of the packages they evaluate (rule ids and Checkov ids are
/// written as literals there), and the `<policy>/<package>.<rule>` names of their rules.
#[derive(Debug, Default)]
pub struct KnownRules {
    literals: HashSet<String>,
    names: HashSet<String>,
}

impl KnownRules {
    /// Adds one loaded policy and its Rego files: the files of packages it does not
    /// evaluate (another namespace, `*_test.rego` files) define no rule a finding comes from.
    pub fn add_policy<'a>(
        &mut self,
        policy: &crate::Policy,
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) {
        let packages: HashSet<&str> = policy.packages().collect();
        for (path, text) in files {
            if path.ends_with("_test.rego") {
                continue;
            }
            let package = text.lines().find_map(|line| {
                let mut words = line.split_whitespace();
                match (words.next(), words.next()) {
                    (Some("package"), Some(name)) => Some(name),
                    _ => None,
                }
            });
            if package.is_some_and(|p| packages.contains(p)) {
                self.literals.extend(string_literals(text));
            }
        }
        for (package, rule) in policy.rule_names() {
            self.names
                .insert(format!("{}/{package}.{rule}", policy.label));
        }
    }

    /// Whether a waiver's `rule` names a rule of these policies: an id or Checkov id written
    /// in one of them, or `<policy>/<package>.<rule>` of one.
    pub fn knows(&self, rule: &str) -> bool {
        self.literals.contains(rule) || self.names.contains(rule)
    }
}

/// The contents of Rego's double-quoted strings in `text` (escapes kept as written: ids
/// have none).
fn string_literals(text: &str) -> impl Iterator<Item = String> + '_ {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = match line.find('#') {
            // A `#` inside a string is rare in ids; a comment's quotes are not definitions.
            Some(i) if !line[..i].contains('"') => &line[..i],
            _ => line,
        };
        let mut chars = line.char_indices();
        while let Some((i, c)) = chars.next() {
            if c != '"' {
                continue;
            }
            let mut escaped = false;
            for (j, c) in chars.by_ref() {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    out.push(line[i + 1..j].to_string());
                    break;
                }
            }
        }
    }
    out.into_iter()
}

/// Where a waiver stands today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    InForce,
    /// In force, and ending within the horizon asked for.
    EndingSoon,
    /// Past its date: a target it matches fails its policy task.
    Expired,
}

/// One waiver as reviewed: its standing, the targets it matches now, and what is wrong with
/// it (a rule no policy has, a glob matching no target, an environment that does not exist):
/// a waiver that accepts nothing is a typo or a leftover, and either way a reviewer's
/// false comfort.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Review<'w> {
    #[serde(flatten)]
    pub waiver: &'w Waiver,
    pub file: &'static str,
    pub standing: Standing,
    /// Days until it ends (negative once expired).
    pub days_left: i64,
    /// The target labels its glob (and environment) match now.
    pub matches: Vec<String>,
    pub problems: Vec<String>,
}

/// Reviews every waiver against the workspace's target labels, environment names and the
/// rules of the policies in use, on day `today`, with `soon` days as the horizon of
/// [`Standing::EndingSoon`].
pub fn review<'w>(
    waivers: &'w [Waiver],
    labels: &[&str],
    environments: &[&str],
    rules: &KnownRules,
    today: i64,
    soon: i64,
) -> Vec<Review<'w>> {
    waivers
        .iter()
        .map(|w| {
            let end = strata_graph::model::waivers::parse_date(&w.expires).unwrap_or(i64::MIN);
            let days_left = end.saturating_sub(today);
            let standing = if w.expired(today) {
                Standing::Expired
            } else if days_left <= soon {
                Standing::EndingSoon
            } else {
                Standing::InForce
            };
            let matcher = w.matcher();
            let matches: Vec<String> = labels
                .iter()
                .filter(|l| matcher.applies_to(l, w.environment.as_deref()))
                .map(|l| l.to_string())
                .collect();
            let mut problems = Vec::new();
            if !rules.knows(&w.rule) {
                problems.push(format!(
                    "no policy in use has a rule `{}` (an id, a Checkov id or <policy>/<package>.<rule>)",
                    w.rule
                ));
            }
            if matches.is_empty() {
                problems.push(format!("`{}` matches no target", w.targets));
            }
            if let Some(env) = &w.environment {
                if !environments.contains(&env.as_str()) {
                    problems.push(format!("there is no environment `{env}`"));
                }
            }
            Review {
                waiver: w,
                file: WAIVERS_FILE,
                standing,
                days_left,
                matches,
                problems,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_rules_are_ids_written_in_policies_or_their_rule_names() {
        let mut rules = KnownRules::default();
        let rego = "package acme.tags # \"NOT-AN-ID\"\n\nmeta := {\"id\": \"ACME-001\", \"checkov_ids\": [\"CKV_X_1\"]}\n\ndeny_untagged contains msg if {\n\tmsg := \"a \\\"quoted\\\" word\"\n}\n";
        let test = "package acme.tags\n\ntest_x if { \"ACME-TEST\" == \"ACME-TEST\" }\n";
        // A package the policy's namespaces leave out is never evaluated.
        let other = "package lib.other\n\nmeta := {\"id\": \"ACME-OTHER\"}\n\ndeny contains \"x\" if { true }\n";
        let files: Vec<(String, String)> = [
            ("policies/tags/tags.rego", rego),
            ("policies/tags/tags_test.rego", test),
            ("policies/tags/other.rego", other),
        ]
        .iter()
        .map(|(p, t)| (p.to_string(), t.to_string()))
        .collect();
        let options = crate::eval::Options {
            namespaces: vec!["acme.tags".into()],
            ..Default::default()
        };
        let policy = crate::Policy::load("policies/tags", &files, &[], &options).unwrap();
        rules.add_policy(&policy, files.iter().map(|(p, t)| (p.as_str(), t.as_str())));
        assert!(rules.knows("ACME-001"));
        assert!(rules.knows("CKV_X_1"));
        assert!(rules.knows("policies/tags/acme.tags.deny_untagged"));
        assert!(!rules.knows("policies/tags/acme.tags.deny_untaged"));
        assert!(!rules.knows("policies/tags/acme.deny_untagged"));
        assert!(!rules.knows("policies/other/acme.tags.deny_untagged"));
        assert!(!rules.knows("ACME-002"));
        // Tests define no rule, and a comment's quotes are no literal.
        assert!(!rules.knows("ACME-TEST"));
        assert!(!rules.knows("NOT-AN-ID"));
        assert!(!rules.knows("ACME-OTHER"));
        assert!(!rules.knows("policies/tags/lib.other.deny"));
    }

    fn waiver(targets: &str, environment: Option<&str>, expires: &str) -> Waiver {
        Waiver {
            rule: "ACME-001".into(),
            targets: targets.into(),
            environment: environment.map(str::to_string),
            owner: "o".into(),
            reason: "r".into(),
            expires: expires.into(),
            line: 1,
        }
    }

    #[test]
    fn reviews_give_standing_targets_and_problems() {
        let mut rules = KnownRules::default();
        rules.literals.insert("ACME-001".into());
        let today = strata_graph::model::waivers::parse_date("2026-12-06").unwrap();
        let waivers = [
            waiver("stacks/*", None, "2027-01-31"),
            waiver("stacks/a", Some("dev"), "2026-12-06"),
            waiver("stacks/zz*", Some("qa"), "2026-12-05"),
        ];
        let r = review(
            &waivers,
            &["stacks/a", "stacks/b", "charts/c"],
            &["dev"],
            &rules,
            today,
            30,
        );
        assert_eq!((r[0].standing, r[0].days_left), (Standing::InForce, 56));
        assert_eq!(r[0].matches, ["stacks/a", "stacks/b"]);
        assert!(r[0].problems.is_empty());
        // Its last day is still in force.
        assert_eq!((r[1].standing, r[1].days_left), (Standing::EndingSoon, 0));
        assert_eq!((r[2].standing, r[2].days_left), (Standing::Expired, -1));
        assert_eq!(r[2].problems.len(), 2, "{:?}", r[2].problems);
    }
}
