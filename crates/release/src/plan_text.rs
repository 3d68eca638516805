//! A promotion plan for people: text for the terminal, Markdown for the pull request, a
//! Mermaid diagram of its waves.

use crate::plan::{short, PromotionPlan, StepAction};

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
        let id = |label: &str| {
            label
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect::<String>()
        };
        for (n, wave) in self.waves.iter().enumerate() {
            out.push_str(&format!("  subgraph wave{} [\"wave {}\"]\n", n + 1, n + 1));
            for s in wave {
                let verb = if s.action == StepAction::Destroy {
                    "destroy "
                } else {
                    ""
                };
                out.push_str(&format!("    {}[\"{verb}{}\"]\n", id(&s.label), s.label));
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
                b.label,
                b.gate
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
            self.author,
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
                        "| {} | `{}` | {} | {} | {} | `{}` |\n",
                        n + 1,
                        s.label,
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
        }
        if !self.blocked.is_empty() {
            out.push_str("### Blocked\n\n| target | gate | reason |\n|---|---|---|\n");
            for b in &self.blocked {
                out.push_str(&format!(
                    "| `{}` | {} | {} |\n",
                    b.label,
                    b.gate,
                    b.reason.replace('|', "\\|")
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
