//! A promotion plan for people: text for the terminal, Markdown for the pull request, a
//! Mermaid diagram of its waves.

use crate::plan::{short, PromotionPlan, Rollback, StepAction};
use strata_run::report::{code, inline_text, markdown_text};

impl PromotionPlan {
    /// The plan for people: waves, gates, what is blocked.
    pub fn text(&self) -> String {
        let mut out = format!(
            "promotion {} -> {} (plan {})\n",
            self.from,
            self.to,
            short(&self.digest)
        );
        if self.waves.is_empty() {
            out.push_str("nothing to promote");
            if self.unchanged > 0 {
                out.push_str(&format!(
                    ": {} target(s) already at {}'s hash",
                    self.unchanged, self.from
                ));
            }
            out.push('\n');
        }
        for (n, wave) in self.waves.iter().enumerate() {
            out.push_str(&format!("wave {}:\n", n + 1));
            for s in wave {
                let what = match s.action {
                    StepAction::Apply => match &s.previous {
                        Some(p) => format!("{} -> {}", short(&p.hash), short(&s.hash)),
                        None => format!("new at {}", short(&s.hash)),
                    },
                    StepAction::Destroy => "destroy".to_string(),
                };
                out.push_str(&format!(
                    "  {} {} ({what}, commit {})\n",
                    if s.action == StepAction::Destroy {
                        "-"
                    } else {
                        "+"
                    },
                    s.label,
                    short(&s.commit)
                ));
                if let Some(r) = &s.rendered {
                    out.push_str(&format!("      rendered manifests: {}\n", short(r)));
                }
                for g in &s.gates {
                    out.push_str(&format!("      {}: {}\n", g.gate, g.detail));
                }
            }
        }
        if !self.blocked.is_empty() {
            out.push_str("blocked:\n");
            for b in &self.blocked {
                out.push_str(&format!("  {} ({}): {}\n", b.label, b.gate, b.reason));
            }
        }
        if !self.outside.is_empty() {
            out.push_str(&format!(
                "not in {} (apply in {} directly): {}\n",
                self.from,
                self.to,
                self.outside.join(", ")
            ));
        }
        if !self.reconfigured.is_empty() {
            out.push_str(&format!(
                "{}'s own files changed since these were applied there; no promotion carries that (apply them in {} directly, `strata apply LABEL --env {}`):\n",
                self.to, self.to, self.to
            ));
            for r in &self.reconfigured {
                out.push_str(&format!("  {} ({})\n", r.label, r.file));
            }
        }
        if self.approvals > 0 && self.steps().next().is_some() {
            out.push_str(&format!(
                "needs the signature of its author {} and {} approval(s) by others (`strata promote approve FILE`)\n",
                self.author, self.approvals
            ));
        }
        out
    }

    /// Mermaid flowchart of the waves (dependencies between steps as edges).
    pub fn mermaid(&self) -> String {
        let mut out = String::from("flowchart LR\n");
        // One node per label, numbered in the order they come: ids made of the labels'
        // characters would merge `stacks/a b` with `stacks/a_b`.
        let mut ids: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
        for label in self
            .waves
            .iter()
            .flatten()
            .map(|s| s.label.as_str())
            .chain(self.blocked.iter().map(|b| b.label.as_str()))
        {
            let next = ids.len();
            ids.entry(label).or_insert(next);
        }
        let id = |label: &str| format!("t{}", ids[label]);
        let text = strata_graph::text::mermaid_label;
        for (n, wave) in self.waves.iter().enumerate() {
            out.push_str(&format!("  subgraph wave{} [\"wave {}\"]\n", n + 1, n + 1));
            for s in wave {
                let verb = if s.action == StepAction::Destroy {
                    "destroy "
                } else {
                    ""
                };
                out.push_str(&format!(
                    "    {}[\"{verb}{}\"]\n",
                    id(&s.label),
                    text(&s.label)
                ));
            }
            out.push_str("  end\n");
        }
        for (n, pair) in self.waves.windows(2).enumerate() {
            if !pair[0].is_empty() && !pair[1].is_empty() {
                out.push_str(&format!("  wave{} --> wave{}\n", n + 1, n + 2));
            }
        }
        for b in &self.blocked {
            out.push_str(&format!(
                "  {}[\"{} (blocked: {})\"]:::blocked\n",
                id(&b.label),
                text(&b.label),
                text(&b.gate)
            ));
        }
        if !self.blocked.is_empty() {
            out.push_str("  classDef blocked stroke:#c00,stroke-dasharray:4\n");
        }
        out
    }

    /// Markdown for the promotion pull request.
    pub fn markdown(&self) -> String {
        let steps: usize = self.waves.iter().map(Vec::len).sum();
        let mut out = format!(
            "## Promotion {} → {}\n\nPlan `{}` by {}: {} step(s) in {} wave(s), {} blocked, {} unchanged. Needs {} approval(s).\n\n",
            self.from,
            self.to,
            short(&self.digest),
            inline_text(&self.author),
            steps,
            self.waves.len(),
            self.blocked.len(),
            self.unchanged,
            self.approvals
        );
        if steps > 0 {
            out.push_str(
                "| wave | target | action | from | to | commit |\n|---|---|---|---|---|---|\n",
            );
            for (n, wave) in self.waves.iter().enumerate() {
                for s in wave {
                    out.push_str(&format!(
                        "| {} | {} | {} | {} | {} | `{}` |\n",
                        n + 1,
                        code(&s.label),
                        if s.action == StepAction::Destroy {
                            "destroy"
                        } else {
                            "apply"
                        },
                        s.previous
                            .as_ref()
                            .map(|p| format!("`{}`", short(&p.hash)))
                            .unwrap_or_else(|| "new".into()),
                        if s.action == StepAction::Destroy {
                            "-".to_string()
                        } else {
                            format!("`{}`", short(&s.hash))
                        },
                        short(&s.commit)
                    ));
                }
            }
            out.push('\n');
            // What the approvers sign off: each step's gates, and what a failure of a later
            // wave does to it.
            out.push_str("### Gates and rollback\n\n");
            for (n, wave) in self.waves.iter().enumerate() {
                for s in wave {
                    out.push_str(&format!("- {} (wave {})\n", code(&s.label), n + 1));
                    for g in &s.gates {
                        out.push_str(&format!(
                            "  - {} {}: {}\n",
                            if g.ok { "✅" } else { "❌" },
                            g.gate,
                            markdown_text(&g.detail)
                        ));
                    }
                    let rollback = match (s.rollback, &s.previous) {
                        (Rollback::Previous, Some(p)) => format!(
                            "re-applied at its previous commit `{}` (hash `{}`)",
                            short(&p.commit),
                            short(&p.hash)
                        ),
                        (Rollback::Previous, None) => "re-applied at its previous commit".into(),
                        (Rollback::Destroy, _) => "destroyed (it is new here)".into(),
                        (Rollback::Keep, _) => {
                            "kept as applied (it is new here, and the plan may not destroy)".into()
                        }
                    };
                    out.push_str(&format!("  - if a later wave fails: {rollback}\n"));
                }
            }
            out.push('\n');
        }
        if !self.outside.is_empty() {
            out.push_str(&format!(
                "Not in {} (no promotion carries them; apply them in {} directly): {}\n\n",
                self.from,
                self.to,
                self.outside
                    .iter()
                    .map(|l| code(l))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !self.reconfigured.is_empty() {
            out.push_str(&format!(
                "{}'s own files changed since these were applied there (no promotion carries that; apply them in {} directly): {}\n\n",
                markdown_text(&self.to),
                markdown_text(&self.to),
                self.reconfigured
                    .iter()
                    .map(|r| format!("{} ({})", code(&r.label), code(&r.file)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !self.blocked.is_empty() {
            out.push_str("### Blocked\n\n| target | gate | reason |\n|---|---|---|\n");
            for b in &self.blocked {
                out.push_str(&format!(
                    "| {} | {} | {} |\n",
                    code(&b.label),
                    b.gate,
                    markdown_text(&b.reason).replace('|', "\\|")
                ));
            }
            out.push('\n');
        }
        out.push_str("```mermaid\n");
        out.push_str(&self.mermaid());
        out.push_str("```\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::plan::{
        GateResult, Previous, PromotionPlan, Reconfigured, Rollback, Step, StepAction,
    };

    fn step(label: &str, previous: Option<&str>, rollback: Rollback, ok: bool) -> Step {
        Step {
            label: label.into(),
            kind: "stack".into(),
            action: StepAction::Apply,
            hash: "b".repeat(64),
            commit: "c".repeat(40),
            previous: previous.map(|p| Previous {
                hash: p.repeat(64),
                commit: p.repeat(40),
            }),
            rollback,
            rendered: None,
            env_files: None,
            gates: vec![GateResult {
                gate: "max_severity".into(),
                ok,
                detail: "no policy findings in dev (at most medium allowed)".into(),
            }],
        }
    }

    /// A plan from dev to staging of `waves`, nothing else in it.
    fn plan(waves: Vec<Vec<Step>>) -> PromotionPlan {
        PromotionPlan {
            version: 1,
            from: "dev".into(),
            to: "staging".into(),
            author: "alice@example.com".into(),
            source_lock: String::new(),
            destination_lock: String::new(),
            labels: Vec::new(),
            allow_destroy: false,
            approvals: 1,
            waves,
            blocked: Vec::new(),
            unchanged: 0,
            outside: Vec::new(),
            reconfigured: Vec::new(),
            digest: "d".repeat(64),
        }
    }

    /// The pull request's description shows what approvers sign off: every step's gates,
    /// what a failure of a later wave does to it, and the targets no promotion carries.
    #[test]
    fn the_markdown_shows_gates_rollback_and_what_is_not_carried() {
        let plan = PromotionPlan {
            outside: vec!["stacks/dns".into()],
            reconfigured: vec![Reconfigured {
                label: "stacks/db".into(),
                file: "environments/staging/stacks/db/terraform.tfvars".into(),
            }],
            ..plan(vec![
                vec![step("stacks/network", Some("a"), Rollback::Previous, true)],
                vec![step("stacks/app", None, Rollback::Keep, true)],
            ])
        };
        let md = plan.markdown();
        for expected in [
            "### Gates and rollback",
            "- <code>stacks/network</code> (wave 1)\n  - ✅ max_severity: no policy findings in dev (at most medium allowed)\n  - if a later wave fails: re-applied at its previous commit `aaaaaaaaaaaa` (hash `aaaaaaaaaaaa`)",
            "- <code>stacks/app</code> (wave 2)",
            "kept as applied (it is new here, and the plan may not destroy)",
            "Not in dev (no promotion carries them; apply them in staging directly): <code>stacks/dns</code>",
            "staging's own files changed since these were applied there (no promotion carries that; apply them in staging directly): <code>stacks/db</code> (<code>environments/staging/stacks/db/terraform.tfvars</code>)",
        ] {
            assert!(md.contains(expected), "{expected}\n---\n{md}");
        }
    }

    /// Each step is a node of its own, whatever characters its label holds, and a label
    /// cannot end its node: ids made of the labels' characters merged `stacks/a b` with
    /// `stacks/a_b`, and `stacks/中文` with `stacks/日本`.
    #[test]
    fn the_mermaid_chart_has_a_node_per_target() {
        let labels = [
            "stacks/a b",
            "stacks/a_b",
            "stacks/中文",
            "stacks/日本",
            "stacks/\"q\"",
        ];
        let plan = plan(vec![labels
            .iter()
            .map(|l| step(l, None, Rollback::Keep, true))
            .collect()]);
        let chart = plan.mermaid();
        let nodes: std::collections::BTreeSet<&str> = chart
            .lines()
            .filter_map(|l| l.trim().split_once("[\"").map(|(id, _)| id))
            .filter(|id| id.starts_with('t'))
            .collect();
        assert_eq!(nodes.len(), labels.len(), "{chart}");
        assert!(chart.contains("[\"stacks/#quot;q#quot;\"]"), "{chart}");
    }
}
