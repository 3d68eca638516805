//! `strata policy`: evaluate (`eval`), scan files (`scan`), test policies (`test`), list the
//! built-in rules (`rules`), review the waivers (`waivers`) and write the built-in pack out
//! (`vendor`).
use crate::say;

use super::Context;
use crate::output::print_json;
use std::path::{Path, PathBuf};
use strata_graph::discover::Kind;
use strata_graph::id::TargetId;
use strata_graph::Result;
use strata_policy::builtin::{self, BuiltinPolicy};
use strata_policy::test;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Evaluate the policies over the selected targets (their plans and renders run or come
    /// from the cache first) and print the findings grouped by target.
    Eval(super::run::CheckArgs),
    /// Evaluate policies over files directly, as `conftest test` does: Terraform files
    /// (`*.tf`, in conftest's HCL2 JSON shape) and YAML manifests (each document). No
    /// terraform or helm runs. The built-in rule pack applies unless the workspace turns it
    /// off; outside a workspace it applies alone.
    Scan(ScanArgs),
    /// Run `test_*` rules in the policies' `*_test.rego` files (`builtin` names the built-in
    /// pack's own tests).
    Test {
        /// Policies to test: workspace policy labels, `builtin` or `builtin/<name>`
        /// (default: every policy of the workspace; outside one, the built-in pack).
        labels: Vec<String>,
    },
    /// List the rules of the built-in pack: id, severity, Checkov ids, title, remediation.
    Rules,
    /// Review policies/waivers.toml: each waiver's standing (in force, ending soon, expired),
    /// the targets it matches, and waivers that accept nothing (a rule no policy has, a glob
    /// matching no target, an unknown environment). Exit 1 when any waiver is expired or
    /// accepts nothing.
    Waivers {
        /// Days ahead within which a waiver counts as ending soon.
        #[arg(long, default_value_t = 30, value_name = "DAYS")]
        within: i64,
    },
    /// Write the built-in pack (rules, tests, policy.toml files) into DIR, to fork it; then
    /// turn the built-in pack off with `[policy] builtin = false` in WORKSPACE.toml.
    Vendor {
        /// A new or empty directory, usually under `policies/`.
        dir: std::path::PathBuf,
    },
}

#[derive(clap::Args)]
pub struct ScanArgs {
    /// Files or directories to scan (directories recursively).
    #[arg(required = true)]
    paths: Vec<std::path::PathBuf>,
    /// Policies to apply: workspace policy labels, `builtin` or `builtin/<name>` (default:
    /// every policy of the workspace and the built-in pack unless the workspace turns it off).
    #[arg(long = "policy")]
    policies: Vec<String>,
    /// Leave the built-in pack out (when no --policy names it).
    #[arg(long)]
    no_builtin: bool,
    /// Data documents (JSON or YAML files, or directories of them) for every policy, as
    /// `conftest --data`.
    #[arg(long = "data", value_name = "PATH")]
    data: Vec<std::path::PathBuf>,
    /// Evaluate all files as one input: an array of `{"path", "contents"}` (conftest's
    /// `--combine`).
    #[arg(long)]
    combine: bool,
    /// What `--combine` shows a policy: each path asked for (as the scan reads it) with
    /// the path as the user gave it, and the user's directory (see [`scan_from`]).
    #[arg(skip)]
    shown: Vec<(String, String)>,
    #[arg(skip)]
    user_dir: String,
    /// Fail (exit 1) on warnings too.
    #[arg(long)]
    fail_on_warn: bool,
    /// A failing builtin call is an error instead of undefined.
    #[arg(long)]
    show_builtin_errors: bool,
    /// Write the findings as SARIF 2.1.0.
    #[arg(long, value_name = "FILE")]
    sarif: Option<std::path::PathBuf>,
}

/// Opens the workspace around the current directory, or none outside any workspace.
fn optional_session(ctx: &Context) -> Result<Option<strata_graph::session::Session>> {
    match ctx.session() {
        Ok(s) => Ok(Some(s)),
        Err(strata_graph::Error::NoWorkspace { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Workspace policy targets and built-in policies named by `labels`; a workspace label
/// wins over a built-in name.
fn resolve(
    session: Option<&strata_graph::session::Session>,
    model: Option<&strata_graph::model::Model>,
    labels: &[String],
) -> Result<(Vec<TargetId>, Vec<&'static BuiltinPolicy>)> {
    let mut workspace = Vec::new();
    let mut builtins: Vec<&'static BuiltinPolicy> = Vec::new();
    for label in labels {
        if let Some(i) = model.and_then(|m| m.index(label)) {
            workspace.push(i);
        } else if let Some(named) = builtin::named(label) {
            for b in named {
                if !builtins.iter().any(|x| x.label == b.label) {
                    builtins.push(b);
                }
            }
        } else if let (Some(session), Some(model)) = (session, model) {
            // A path typed from a subdirectory, or the error naming the closest label.
            workspace.extend(session.resolve_labels(model, std::slice::from_ref(label))?);
        } else {
            return Err(strata_graph::Error::Usage {
                message: format!("no policy `{label}`: there is no workspace here"),
                hint: format!(
                    "outside a workspace only the built-in pack applies: `builtin` or one of {}",
                    builtin::policies()
                        .iter()
                        .map(|p| format!("`{}`", p.label))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
    }
    Ok((workspace, builtins))
}

/// A policy whose policy.toml cannot be read is bad input, as in `check` and `list`.
fn refuse_broken(model: &strata_graph::model::Model, policies: &[TargetId]) -> Result<()> {
    let broken: Vec<(String, strata_graph::error::Problem)> = policies
        .iter()
        .flat_map(|&p| {
            let t = &model[p];
            t.problems.iter().map(|pr| (t.label.clone(), pr.clone()))
        })
        .collect();
    if broken.is_empty() {
        Ok(())
    } else {
        Err(strata_graph::Error::Broken { problems: broken })
    }
}

pub fn run(ctx: &Context, cmd: Command) -> Result<u8> {
    let labels = match cmd {
        Command::Eval(args) => return super::run::policy_eval(ctx, args),
        Command::Scan(args) => return scan(ctx, args),
        Command::Rules => return rules(ctx),
        Command::Vendor { dir } => return vendor(ctx, &dir),
        Command::Waivers { within } => return waivers(ctx, within),
        Command::Test { labels } => labels,
    };
    let session = optional_session(ctx)?;
    let view = match &session {
        Some(s) => Some(s.work_tree()?),
        None => None,
    };
    if let Some(s) = &session {
        s.finish();
    }
    let model = view.as_ref().map(|v| &v.model);
    let (indices, builtins): (Vec<TargetId>, Vec<&BuiltinPolicy>) = if labels.is_empty() {
        match model {
            Some(model) => (
                model
                    .ids()
                    .filter(|&i| model[i].kind == Kind::Policy)
                    .collect(),
                Vec::new(),
            ),
            None => (Vec::new(), builtin::policies().iter().collect()),
        }
    } else {
        resolve(session.as_ref(), model, &labels)?
    };
    let mut reports = Vec::new();
    if let (Some(model), Some(view), Some(session)) = (model, &view, &session) {
        // Its tests passing would say nothing of what `check` runs.
        refuse_broken(model, &indices)?;
        for i in indices {
            let t = &model.targets[i];
            let paths: Vec<&str> = t
                .files
                .iter()
                .map(String::as_str)
                .filter(|f| f.ends_with(".rego"))
                .collect();
            let files = view.snapshot.texts(&session.repo, &paths)?;
            let v0 = model
                .policies
                .iter()
                .find(|(p, _)| *p == i)
                .is_some_and(|(_, m)| m.rego_version == "v0");
            let read = |paths: &[&str]| view.snapshot.texts(&session.repo, paths);
            reports.push(match strata_policy::scan::policy_data(model, i, &read) {
                Ok(data) => test::run(&t.label, &files, &data, v0),
                Err(e) => test::PolicyTests::not_loaded(&t.label, e.to_string()),
            });
        }
    }
    for b in builtins {
        let v0 = b.meta.rego_version == "v0";
        reports.push(test::run(&b.label, b.rego_files(), &[], v0));
    }
    let ok = reports.iter().all(|r| r.ok());
    if ctx.json {
        print_json(&serde_json::json!({ "ok": ok, "policies": reports }));
    } else {
        for r in &reports {
            crate::out!("{}", r.policy);
            if let Some(e) = &r.error {
                crate::out!("  ERROR {e}");
            }
            for t in &r.tests {
                let mark = match t.result.as_str() {
                    "pass" => "PASS",
                    "skipped" => "SKIP",
                    _ => "FAIL",
                };
                crate::out!("  {mark}  {} ({})", t.name, t.file);
                if !matches!(t.result.as_str(), "pass" | "fail" | "skipped") {
                    crate::out!("        {}", t.result);
                }
            }
            for c in &r.coverage {
                let pct = if c.lines == 0 {
                    100.0
                } else {
                    100.0 * c.covered as f64 / c.lines as f64
                };
                crate::out!(
                    "  coverage {:5.1}%  {} ({}/{} lines)",
                    pct,
                    c.file,
                    c.covered,
                    c.lines
                );
            }
        }
        let passed: usize = reports
            .iter()
            .map(|r| r.tests.iter().filter(|t| t.result == "pass").count())
            .sum();
        let failed: usize = reports
            .iter()
            .map(|r| {
                r.tests
                    .iter()
                    .filter(|t| t.result != "pass" && t.result != "skipped")
                    .count()
                    + usize::from(r.error.is_some())
            })
            .sum();
        say!("{passed} passed, {failed} failed");
    }
    // A policy that does not load is bad input; a test that fails is a failed check.
    Ok(if reports.iter().any(|r| r.error.is_some()) {
        2
    } else if ok {
        0
    } else {
        1
    })
}

/// Where a scan reads from: its relative paths (the ones to scan, `--data`, `--sarif`) are
/// relative to `-C DIR`, as if started there. Inside a workspace the scan then runs from its
/// root, each path given relative to it with `..` resolved, so findings, waivers and SARIF
/// name files as `check` does (`stacks/net/main.tf`); outside one, from DIR.
fn scan_from(ctx: &Context, root: Option<&Path>, args: &mut ScanArgs) -> Result<()> {
    let io = |p: &Path, e| strata_graph::Error::io(p, e);
    let base = std::fs::canonicalize(&ctx.dir).map_err(|e| io(&ctx.dir, e))?;
    let absolute = |p: &Path| strata_fs::lexically_normal(&base.join(p));
    args.data = args.data.iter().map(|d| absolute(d)).collect();
    args.sarif = args.sarif.as_deref().map(absolute);
    // conftest's `--combine` names each file by the path the user gave (a directory's
    // files joined to it), and its directory is where the user is: a policy keyed on them
    // sees the same here.
    args.user_dir = base.display().to_string();
    let given: Vec<String> = args.paths.iter().map(|p| user_form(p)).collect();
    let Some(root) = root else {
        args.shown = args
            .paths
            .iter()
            .zip(&given)
            .map(|(p, g)| (p.display().to_string(), g.clone()))
            .collect();
        return std::env::set_current_dir(&base).map_err(|e| io(&base, e));
    };
    let root = std::fs::canonicalize(root).map_err(|e| io(root, e))?;
    args.paths = args
        .paths
        .iter()
        .map(|p| {
            let full = absolute(p);
            match full.strip_prefix(&root) {
                Ok(rel) if rel.as_os_str().is_empty() => PathBuf::from("."),
                Ok(rel) => rel.to_path_buf(),
                Err(_) => full,
            }
        })
        .collect();
    args.shown = args
        .paths
        .iter()
        .zip(given)
        .map(|(p, g)| (p.display().to_string(), g))
        .collect();
    std::env::set_current_dir(&root).map_err(|e| io(&root, e))
}

/// A path as Go's `filepath.Clean` writes it, `.` as empty (a directory's files are named
/// without it): the form conftest names a file of a combined scan by.
fn user_form(p: &Path) -> String {
    let text = p.display().to_string();
    let absolute = text.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in text.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|l| *l != "..") => {
                parts.pop();
            }
            ".." if absolute => {}
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

fn scan(ctx: &Context, mut args: ScanArgs) -> Result<u8> {
    use strata_policy::scan;
    // A workspace is optional: outside one, the built-in pack applies alone, without waivers.
    let session = optional_session(ctx)?;
    scan_from(ctx, session.as_ref().map(|s| s.root.as_path()), &mut args)?;
    let view = match &session {
        Some(s) => Some(s.work_tree()?),
        None => None,
    };
    if let Some(s) = &session {
        s.finish();
    }
    let model = view.as_ref().map(|v| &v.model);
    let (chosen, builtins) = if args.policies.is_empty() {
        // Every policy target, those whose policy.toml cannot be read included (an error
        // below, not a policy left out).
        let workspace: Vec<TargetId> = model
            .map(|m| {
                m.ids()
                    .filter(|&i| m[i].kind == strata_graph::discover::Kind::Policy)
                    .collect()
            })
            .unwrap_or_default();
        let on = !args.no_builtin && model.is_none_or(|m| m.config.policy.builtin);
        let builtins: Vec<&BuiltinPolicy> = if on {
            builtin::policies().iter().collect()
        } else {
            Vec::new()
        };
        (workspace, builtins)
    } else {
        resolve(session.as_ref(), model, &args.policies)?
    };
    if chosen.is_empty() && builtins.is_empty() {
        let hint = match model {
            None => "drop --no-builtin: outside a workspace the built-in pack is the only policy".to_string(),
            Some(m) if !m.config.policy.builtin => format!(
                "add Rego policies under the workspace's policies/ directory, or turn the built-in pack on: `[policy] builtin = true` in WORKSPACE.toml{}",
                m.config
                    .policy
                    .builtin_line
                    .map(|l| format!(" (line {l})"))
                    .unwrap_or_default()
            ),
            Some(_) => "add Rego policies under the workspace's policies/ directory, or drop --no-builtin".to_string(),
        };
        return Err(strata_graph::Error::Usage {
            message: "no policy to apply: nothing would be checked".into(),
            hint,
        });
    }
    if !builtins.is_empty() {
        if let Some(m) = model {
            builtin::check_pin(&m.config.policy)?;
        }
    }
    let mut errors = Vec::new();
    let overrides = strata_policy::Overrides {
        data: match strata_policy::data::files_on_disk(&args.data) {
            Ok(d) => d,
            Err(e) => {
                errors.push(e);
                Vec::new()
            }
        },
        show_builtin_errors: args.show_builtin_errors,
    };
    let mut policies = Vec::new();
    if let (Some(model), Some(view), Some(session)) = (model, &view, &session) {
        let read = |paths: &[&str]| view.snapshot.texts(&session.repo, paths);
        // Scanning without it would pass what it was meant to catch.
        refuse_broken(model, &chosen)?;
        for p in chosen {
            let Some((_, meta)) = model.policies.iter().find(|(i, _)| *i == p) else {
                continue;
            };
            match strata_policy::load_policy(model, p, &read, &overrides) {
                Ok(policy) => policies.push((policy, meta.kinds.clone())),
                Err(e) => errors.push(e),
            }
        }
    }
    let applied: Vec<String> = policies
        .iter()
        .map(|(p, _)| p.label.clone())
        .chain(builtins.iter().map(|b| b.label.clone()))
        .collect();
    for b in &builtins {
        match b.load(&overrides) {
            Ok(policy) => policies.push((policy, b.meta.kinds.clone())),
            Err(e) => errors.push(e),
        }
    }
    // Policies that loaded and hold no rule strata reports (tests only): a scan with them
    // alone would read as a clean result, as one with no policy at all would.
    if errors.is_empty() && !policies.is_empty() && policies.iter().all(|(p, _)| p.finds_nothing())
    {
        return Err(strata_graph::Error::Usage {
            message: format!(
                "no policy to apply: {} find{} nothing (no deny, warn or violation rule in the namespaces applied), so nothing would be checked{}",
                applied.join(", "),
                if applied.len() == 1 { "s" } else { "" },
                policies
                    .iter()
                    .flat_map(|(p, _)| p.load_warnings())
                    .map(|w| format!("\n  {w}"))
                    .collect::<String>()
            ),
            hint: "`*_test.rego` files are tests, not policy, and `namespaces` in policy.toml may match no package: add the rules, fix the namespaces, or choose other policies with --policy".into(),
        });
    }
    let request = scan::Request {
        paths: args.paths.clone(),
        combine: args.combine,
        shown: args.shown.clone(),
        user_dir: args.user_dir.clone(),
    };
    let workspace = match (&session, model) {
        (Some(session), Some(model)) => Some(scan::Workspace {
            root: &session.root,
            model,
            today: strata_graph::model::waivers::today(),
        }),
        _ => None,
    };
    let report = scan::scan(&policies, errors, &request, workspace.as_ref());
    let ok = report.ok(args.fail_on_warn);
    if let Some(path) = &args.sarif {
        // Reuse the run report's SARIF writer: one synthetic policy task holding the findings.
        let mut run = strata_run::RunReport::new(
            vec![strata_run::TaskReport::findings_only(
                "scan",
                &report.findings,
            )],
            false,
            false,
        );
        // What kept the scan from checking everything (a file that does not parse, a
        // policy that does not load, an expired waiver): no clean, successful run.
        let not_checked = |reason: String| strata_run::NotRunTask {
            label: "scan".into(),
            action: strata_run::task::Action::Policy,
            env: None,
            reason,
            left_behind: false,
        };
        run.not_run(
            report
                .errors
                .iter()
                .map(|e| not_checked(e.to_string()))
                .chain(
                    report
                        .expired_waivers
                        .iter()
                        .map(|w| not_checked(format!("expired waiver: {w}"))),
                )
                .collect(),
        );
        let prefix = session.as_ref().map_or("", |s| s.repo.prefix());
        strata_fs::write_atomic(path, strata_run::report::sarif(&run, prefix).as_bytes())
            .map_err(|e| strata_graph::Error::write(path, e))?;
    }
    if ctx.json {
        let mut json = serde_json::to_value(&report).unwrap_or_default();
        json["ok"] = serde_json::json!(ok);
        json["policies"] = serde_json::json!(applied);
        json["builtin_version"] = if builtins.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::json!(builtin::version())
        };
        json["errors"] = serde_json::json!(report
            .errors
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>());
        print_json(&json);
    } else {
        for f in &report.findings {
            let at = match (&f.file, f.line) {
                (Some(file), Some(line)) => format!("{file}:{line}"),
                (Some(file), None) => file.clone(),
                _ => "Combined".to_string(),
            };
            let id = f
                .details
                .get("id")
                .and_then(|v| v.as_str())
                .unwrap_or(&f.rule);
            let mark = match f.outcome {
                _ if f.waived_by.is_some() => "WAIVED".to_string(),
                o => format!("{o:?}").to_uppercase(),
            };
            let waived = f
                .waived_by
                .as_deref()
                .map(|w| format!(" (waived by {w})"))
                .unwrap_or_default();
            crate::out!(
                "{mark:<7} {:<8} {id:<16} {at}: {}{waived}",
                f.severity,
                f.msg
            );
        }
        for x in &report.exceptions {
            let at = x.file.as_deref().unwrap_or("Combined");
            crate::out!("{:<7} {:<8} {:<16} {at}: {}", "EXCP", "", x.rule, x.query);
        }
        for w in &report.warnings {
            say!("warning: {w}");
        }
        for w in &report.expired_waivers {
            say!("error: {w}");
        }
        for e in &report.errors {
            say!("error: {e}");
            if let Some(hint) = &e.hint {
                say!("hint: {hint}");
            }
        }
        say!(
            "{} ({} file{}, {} blocking)",
            report.counts,
            report.files,
            if report.files == 1 { "" } else { "s" },
            report.blocking()
        );
    }
    Ok(if !report.errors.is_empty() {
        2
    } else if ok {
        0
    } else {
        1
    })
}

/// `strata policy rules`: the built-in pack's rules, from the metadata objects of its Rego.
fn rules(ctx: &Context) -> Result<u8> {
    let rules = builtin::rules().map_err(|e| strata_graph::Error::Usage {
        message: format!("the built-in pack cannot be read: {e}"),
        hint: "this is a defect of this strata build; report it".into(),
    })?;
    if ctx.json {
        print_json(&serde_json::json!({
            "version": builtin::version(),
            "rules": rules,
        }));
        return Ok(0);
    }
    for r in &rules {
        let checkov = if r.checkov.is_empty() {
            "-".to_string()
        } else {
            r.checkov.join(", ")
        };
        crate::out!("{:<16} {:<8} {:<24} {}", r.id, r.severity, checkov, r.title);
        crate::out!("{:<16} {}", "", r.remediation);
    }
    say!(
        "{} rules in {} policies, built-in pack {}",
        rules.len(),
        builtin::policies().len(),
        builtin::version()
    );
    Ok(0)
}

/// `strata policy waivers`: every waiver reviewed against the workspace at the work tree.
fn waivers(ctx: &Context, within: i64) -> Result<u8> {
    use strata_policy::waivers::{review, KnownRules, Standing};
    let session = ctx.session()?;
    let view = session.work_tree()?;
    session.finish();
    let model = &view.model;
    // The rules are those the policies evaluate: each policy loaded as `check` loads it.
    let mut rules = KnownRules::default();
    let read = |paths: &[&str]| view.snapshot.texts(&session.repo, paths);
    let overrides = strata_policy::Overrides::default();
    let unreadable = |e: strata_policy::Error| strata_graph::Error::Usage {
        message: format!("a policy cannot be loaded, so its rules are unknown: {e}"),
        hint: "fix the policy (`strata policy test` names the problem)".into(),
    };
    let workspace: Vec<TargetId> = model.policies.iter().map(|(p, _)| *p).collect();
    refuse_broken(model, &workspace)?;
    for p in workspace {
        let policy = strata_policy::load_policy(model, p, &read, &overrides).map_err(unreadable)?;
        let texts = read(&model.policy_files(p))?;
        rules.add_policy(&policy, texts.iter().map(|(p, t)| (p.as_str(), t.as_str())));
    }
    if model.config.policy.builtin {
        for b in builtin::policies() {
            let policy = b.load(&overrides).map_err(unreadable)?;
            let texts = b.rego_files().iter();
            rules.add_policy(&policy, texts.map(|(p, t)| (p.as_str(), t.as_str())));
        }
    }
    let labels: Vec<&str> = model
        .targets
        .iter()
        .filter(|t| t.kind != Kind::Policy)
        .map(|t| t.label.as_str())
        .collect();
    let envs: Vec<&str> = model.environments.iter().map(|e| e.name.as_str()).collect();
    let today = strata_graph::model::waivers::today();
    let reviews = review(&model.waivers, &labels, &envs, &rules, today, within);
    let failing = reviews
        .iter()
        .filter(|r| r.standing == Standing::Expired || !r.problems.is_empty())
        .count();
    if ctx.json {
        print_json(&serde_json::json!({ "ok": failing == 0, "waivers": reviews }));
    } else {
        for r in &reviews {
            let w = r.waiver;
            let standing = match r.standing {
                Standing::InForce => format!("in force, {} days left", r.days_left),
                Standing::EndingSoon => format!("ENDING SOON, {} days left", r.days_left),
                Standing::Expired => format!("EXPIRED {} days ago", -r.days_left),
            };
            let line = format!(
                "{}:{}  {} on {}{}  owner {}  until {} ({standing})",
                r.file,
                w.line,
                w.rule,
                w.targets,
                w.environment
                    .as_deref()
                    .map(|e| format!(" [{e}]"))
                    .unwrap_or_default(),
                w.owner,
                w.expires
            );
            crate::out!("{line}");
            match r.matches.len() {
                0 => {}
                n if n <= 5 => crate::out!("  matches {}", r.matches.join(", ")),
                n => crate::out!("  matches {n} targets: {}, ...", r.matches[..5].join(", ")),
            }
            for p in &r.problems {
                crate::out!("  PROBLEM {p}");
            }
        }
        say!(
            "{} waivers: {} in force, {} ending within {within} days, {} expired, {} accepting nothing",
            reviews.len(),
            reviews.iter().filter(|r| r.standing == Standing::InForce).count(),
            reviews.iter().filter(|r| r.standing == Standing::EndingSoon).count(),
            reviews.iter().filter(|r| r.standing == Standing::Expired).count(),
            reviews.iter().filter(|r| !r.problems.is_empty()).count(),
        );
    }
    Ok(u8::from(failing > 0))
}

/// `strata policy vendor DIR`: the built-in pack written out, to fork it.
fn vendor(ctx: &Context, dir: &std::path::Path) -> Result<u8> {
    let dir = if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        ctx.dir.join(dir)
    };
    let written = builtin::vendor(&dir)?;
    // As given, without the `./` of the directory it was run in.
    let shown = |p: &std::path::Path| {
        p.components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .collect::<std::path::PathBuf>()
            .display()
            .to_string()
    };
    if ctx.json {
        print_json(&serde_json::json!({
            "version": builtin::version(),
            "dir": shown(&dir),
            "files": written.iter().map(|p| shown(p)).collect::<Vec<_>>(),
        }));
    } else {
        for p in &written {
            crate::out!("{}", shown(p));
        }
        say!(
            "wrote the built-in pack {} ({} files) to {}",
            builtin::version(),
            written.len(),
            shown(&dir)
        );
        say!("hint: turn the built-in pack off so its rules do not run twice: `[policy] builtin = false` in WORKSPACE.toml");
    }
    Ok(0)
}
