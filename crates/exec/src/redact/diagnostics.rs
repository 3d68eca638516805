//! Terraform diagnostics about a sensitive value. Terraform hides a sensitive value in the
//! expression context of a diagnostic (`var.pw has a sensitive value`), but some versions
//! quote what a function made of it in the detail below (`no file exists at <the value
//! with "-" replaced>`, `Two different items produced the key "<it>"`). A value derived
//! that way is in no form the redactor can know, so the detail of a diagnostic about a
//! sensitive value is withheld, with the summary, the location and the source line above
//! it kept. Of a function's error (summary `Invalid function argument` or `Error in
//! function call`) the detail's first words up to the first `: ` stay too (`Invalid value
//! for "path" parameter:`, `Call to function "cidrsubnet" failed:`). Terraform's own
//! explanation of what a sensitive value may not do (`Sensitive values, or values derived
//! from sensitive values, cannot be used as for_each arguments.`) is fixed text, and stays.
//!
//! Terraform does not always say so: terraform 1.0's `Duplicate object key` names no
//! sensitive value in its context, and its detail quotes the key a `for` expression
//! computed (`strrev(var.pw)`). A diagnostic is about a sensitive value too when a source
//! line it shows reads one of the stack's sensitive variables (`var.pw`), and, in a stack
//! with any, every diagnostic that may quote a computed value is (`Duplicate object key`,
//! a function's error, `Invalid index`: the value may come from one through a local).

/// What replaces the withheld detail.
pub const WITHHELD: &str =
    "(the rest is withheld by strata: it may quote a value derived from a sensitive one)";

/// `log` with the detail of every diagnostic about a sensitive value withheld: one whose
/// context names a sensitive value, one whose source line reads a variable among
/// `sensitive_names`, and, when there are such variables, every one that quotes a value a
/// `for` expression computed. `None` when it has none.
pub fn withhold_sensitive_details(log: &str, sensitive_names: &[String]) -> Option<String> {
    if !log.contains("has a sensitive value")
        && (sensitive_names.is_empty()
            || !log.contains("var.") && !QUOTES_VALUES.iter().any(|s| log.contains(s)))
    {
        return None;
    }
    let reads_sensitive = |line: &str| {
        sensitive_names.iter().any(|name| {
            let needle = format!("var.{name}");
            line.match_indices(&needle).any(|(at, _)| {
                let before = line[..at].chars().next_back();
                let after = line[at + needle.len()..].chars().next();
                !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
                    && !after.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-')
            })
        })
    };

    let mut out = String::with_capacity(log.len());
    let mut state = State::Outside;
    for line in log.split_inclusive('\n') {
        let (margin, text) = split_margin(line);
        let body = text.trim_end_matches(['\n', '\r']);
        if starts_diagnostic(body) || line.starts_with('╵') || line.starts_with('╷') {
            if matches!(state, State::Withheld) && starts_diagnostic(body) {
                // The blank line between two diagnostics went with the detail.
                out.push_str(margin);
                out.push('\n');
            }
            state = if starts_diagnostic(body) {
                State::Context {
                    sensitive: !sensitive_names.is_empty()
                        && QUOTES_VALUES.contains(&summary(body)),
                    function: is_function_error(body),
                }
            } else {
                State::Outside
            };
            out.push_str(line);
            continue;
        }
        match state {
            State::Outside => out.push_str(line),
            State::Context {
                sensitive,
                function,
            } => {
                let sensitive = sensitive
                    || body.trim_end().ends_with("has a sensitive value")
                    || (body.starts_with(' ') && reads_sensitive(body));
                // The context is indented (`  on main.tf line 2`, the source line, `│ ...`);
                // the detail starts at the first line written from the margin after it.
                let detail = !body.trim().is_empty() && !body.starts_with(' ');
                if detail && sensitive && !body.starts_with(FIXED_TEXT) {
                    out.push_str(margin);
                    // A function's detail starts by naming the function or its parameter.
                    if let Some(at) = body.find(": ").filter(|at| function && *at <= 80) {
                        out.push_str(&body[..at + 2]);
                    }
                    out.push_str(WITHHELD);
                    out.push('\n');
                    state = State::Withheld;
                } else {
                    state = if detail {
                        State::Outside
                    } else {
                        State::Context {
                            sensitive,
                            function,
                        }
                    };
                    out.push_str(line);
                }
            }
            // Until the next diagnostic or the end of this one's box.
            State::Withheld => {}
        }
    }
    Some(out)
}

/// The summary of a diagnostic that quotes, in its detail, a key a `for` expression
/// computed.
const DERIVED_KEY: &str = "Duplicate object key";

/// The summaries of diagnostics whose detail may quote a value an expression computed
/// (through a local, which no source line shows as reading a sensitive variable): in a
/// stack with sensitive variables, their detail is withheld.
const QUOTES_VALUES: &[&str] = &[
    DERIVED_KEY,
    "Invalid function argument",
    "Error in function call",
    "Invalid index",
    "Invalid template interpolation value",
];

/// A diagnostic's summary, from its first line.
fn summary(body: &str) -> &str {
    body.trim_end()
        .trim_start_matches("Error: ")
        .trim_start_matches("Warning: ")
}

#[derive(Clone, Copy)]
enum State {
    Outside,
    /// In a diagnostic, above its detail: whether its context named a sensitive value,
    /// and whether it is a function's error.
    Context {
        sensitive: bool,
        function: bool,
    },
    Withheld,
}

fn starts_diagnostic(body: &str) -> bool {
    body.starts_with("Error: ") || body.starts_with("Warning: ")
}

/// How terraform's own explanations of what a sensitive value may not do begin (`...
/// cannot be used as for_each arguments`): fixed text, kept.
const FIXED_TEXT: &str = "Sensitive values, or values derived from sensitive values";

/// A diagnostic's first line whose detail is a function's own message.
fn is_function_error(body: &str) -> bool {
    matches!(
        summary(body),
        "Invalid function argument" | "Error in function call"
    )
}

/// A line of a diagnostic in a box (`│ Error: ...`): the margin and the rest.
fn split_margin(line: &str) -> (&str, &str) {
    match line.strip_prefix("│ ") {
        Some(rest) => (&line[..line.len() - rest.len()], rest),
        None => match line.strip_prefix('│') {
            Some(rest) => (&line[..line.len() - rest.len()], rest),
            None => ("", line),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: &str = "null_resource.c: Refreshing state... [id=1]\n\nError: Invalid function argument\n\n  on stacks/consumer/fail.tf line 6, in output \"b\":\n   6:   value     = file(replace(var.pw, \"-\", \"_\"))\n    ├────────────────\n    │ var.pw has a sensitive value\n\nInvalid value for \"path\" parameter: no file exists at CANARY_x;\nthis function works only with files that are distributed as part of the\nconfiguration source code.\n\nError: Missing required argument\n\n  on main.tf line 1:\n   1: x\n\nThe argument \"y\" is required.\n";

    #[test]
    fn the_detail_of_a_diagnostic_about_a_sensitive_value_is_withheld_and_nothing_else() {
        let out = withhold_sensitive_details(PLAIN, &[]).unwrap();
        assert!(!out.contains("CANARY"), "{out}");
        assert!(!out.contains("configuration source code"), "{out}");
        assert!(
            out.contains(&format!(
                "Invalid value for \"path\" parameter: {WITHHELD}\n\nError: Missing"
            )),
            "{out}"
        );
        // The summary, location and source line stay; so does the next diagnostic.
        for kept in [
            "Error: Invalid function argument",
            "on stacks/consumer/fail.tf line 6",
            "var.pw has a sensitive value",
            "Refreshing state... [id=1]",
            "Error: Missing required argument",
            "The argument \"y\" is required.",
        ] {
            assert!(out.contains(kept), "{kept}: {out}");
        }
    }

    #[test]
    fn a_boxed_diagnostic_is_withheld_to_the_end_of_its_box() {
        let boxed = "╷\n│ Error: Invalid function argument\n│ \n│   on main.tf line 2, in output \"o\":\n│    2:   value = file(var.pw)\n│     ├────────────────\n│     │ var.pw has a sensitive value\n│ \n│ Invalid value for \"path\" parameter: no file exists at CANARY;\n│ this function works only with files\n╵\nafter the box\n";
        let out = withhold_sensitive_details(boxed, &[]).unwrap();
        assert!(!out.contains("CANARY"), "{out}");
        assert!(
            out.contains(&format!(
                "│ Invalid value for \"path\" parameter: {WITHHELD}\n╵\nafter the box\n"
            )),
            "{out}"
        );
    }

    #[test]
    fn the_fixed_text_of_other_diagnostics_about_a_sensitive_value_stays() {
        let for_each = "Error: Invalid for_each argument\n\n  on main.tf line 5, in resource \"null_resource\" \"x\":\n   5:   for_each = var.names\n    ├────────────────\n    │ var.names has a sensitive value\n\nSensitive values, or values derived from sensitive values, cannot be used as\nfor_each arguments. If used, the sensitive value could be exposed as a\nresource instance key.\n";
        let out = withhold_sensitive_details(for_each, &[]).unwrap();
        assert_eq!(out, for_each);
        let call = "Error: Error in function call\n\n  on main.tf line 2:\n   2:   v = cidrsubnet(var.net, 8, 1)\n    │ var.net has a sensitive value\n\nCall to function \"cidrsubnet\" failed: invalid CIDR expression: invalid CIDR\naddress: s3cr3t.\n";
        let out = withhold_sensitive_details(call, &[]).unwrap();
        assert!(!out.contains("s3cr3t"), "{out}");
        assert!(
            out.contains(&format!(
                "Call to function \"cidrsubnet\" failed: {WITHHELD}"
            )),
            "{out}"
        );
    }

    #[test]
    fn the_detail_of_any_other_diagnostic_about_a_sensitive_value_goes_whole() {
        let dup = "Error: Duplicate object key\n\n  on main.tf line 7, in locals:\n   7:   conn = { for r in [\"a\", \"a\"] : replace(var.pw, \"-\", \"_\") => r }\n    ├────────────────\n    │ var.pw has a sensitive value\n\nTwo different items produced the key \"hunter_Zq9x\" in this 'for' expression.\nIf duplicates are expected, use the ellipsis (...) after the value expression\nto enable grouping by key.\n";
        let out = withhold_sensitive_details(dup, &[]).unwrap();
        assert!(!out.contains("hunter_Zq9x"), "{out}");
        assert!(
            out.ends_with(&format!("│ var.pw has a sensitive value\n\n{WITHHELD}\n")),
            "{out}"
        );
    }

    /// Terraform 1.0's `Duplicate object key` says nothing of a sensitive value, yet quotes
    /// the key the expression computed from one.
    const UNMARKED: &str = "Error: Duplicate object key\n\n  on stacks/s/main.tf line 7, in output \"keys\":\n   7:   value     = { for c in [strrev(var.pw), strrev(var.pw)] : c => 1 }\n\nTwo different items produced the key \"N5rTp9WmL3xKv8qZ\" in this 'for'\nexpression. If duplicates are expected, use the ellipsis (...) after the\nvalue expression to enable grouping by key.\n";

    #[test]
    fn a_diagnostic_whose_source_reads_a_sensitive_variable_is_withheld_unmarked() {
        let names = vec!["pw".to_string()];
        let out = withhold_sensitive_details(UNMARKED, &names).unwrap();
        assert!(!out.contains("N5rTp9WmL3xKv8qZ"), "{out}");
        assert!(out.ends_with(&format!("=> 1 }}\n\n{WITHHELD}\n")), "{out}");
        // Through a local the source line names no variable: a duplicate key of a stack
        // with sensitive variables is withheld all the same.
        let local = UNMARKED.replace("strrev(var.pw)", "local.rev");
        let out = withhold_sensitive_details(&local, &names).unwrap();
        assert!(!out.contains("N5rTp9WmL3xKv8qZ"), "{out}");
        // Another variable whose name starts the same is not the sensitive one.
        let other = "Error: Unsupported attribute\n\n  on main.tf line 2:\n   2:   value = var.pwd_file.x\n\nThis value does not have any attributes.\n";
        let out = withhold_sensitive_details(other, &names).unwrap();
        assert!(
            out.contains("This value does not have any attributes."),
            "{out}"
        );
        // Without sensitive variables, nothing is withheld.
        assert_eq!(withhold_sensitive_details(UNMARKED, &[]), None);
        // A function's error through a local quotes the derived value too: in a stack with
        // sensitive variables its detail goes, after the parameter it names.
        let lookup = "Error: Invalid function argument\n\n  on stacks/s/main.tf line 6, in locals:\n   6:   x = lookup({ a = 1 }, local.l)\n\nInvalid value for \"inputMap\" parameter: the given object has no attribute\n\"wp2retnuh\".\n";
        let out = withhold_sensitive_details(lookup, &names).unwrap();
        assert!(!out.contains("wp2retnuh"), "{out}");
        assert!(
            out.contains(&format!(
                "Invalid value for \"inputMap\" parameter: {WITHHELD}"
            )),
            "{out}"
        );
    }

    #[test]
    fn a_diagnostic_about_other_values_is_left_whole() {
        let other = "Error: Invalid function argument\n\n  on main.tf line 2:\n   2:   value = file(var.path)\n    │ var.path is \"x\"\n\nInvalid value for \"path\" parameter: no file exists at x.\n";
        assert_eq!(withhold_sensitive_details(other, &[]), None);
        let both = format!("{other}\n{PLAIN}");
        let out = withhold_sensitive_details(&both, &[]).unwrap();
        assert!(out.contains("no file exists at x."), "{out}");
        assert!(!out.contains("CANARY"), "{out}");
    }
}
