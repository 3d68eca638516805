//! The sample workspace at the repository root stays real: every stack initialises,
//! validates, plans and applies offline with the pinned terraform (in dependency order,
//! feeding declared upstream outputs as variables), every module validates, and every chart
//! lints and renders with each environment's values, with the pinned helm.
//!
//! Needs the tools from `scripts/bootstrap` in `.tools/`.
#![allow(clippy::disallowed_methods)] // tests drive git, the real strata binary and tools

mod common;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Tools {
    bin: PathBuf,
    rc: PathBuf,
}

fn tools() -> Tools {
    let root = common::repo_root();
    let bin = root.join(".tools/bin");
    assert!(
        bin.join("terraform").exists() && bin.join("helm").exists(),
        "pinned tools missing: run scripts/bootstrap first"
    );
    Tools {
        bin,
        rc: root.join(".tools/terraform.rc"),
    }
}

fn run(
    tools: &Tools,
    dir: &Path,
    program: &str,
    args: &[&str],
    env: &[(String, String)],
) -> String {
    let path = format!(
        "{}:{}",
        tools.bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new(tools.bin.join(program))
        .current_dir(dir)
        .args(args)
        .env("PATH", path)
        .env("TF_CLI_CONFIG_FILE", &tools.rc)
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_IN_AUTOMATION", "1")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{program} {args:?} in {} failed:\n{stdout}\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn sample_workspace_runs_for_real_with_the_pinned_tools() {
    let tools = tools();
    let root = common::repo_root();
    let graph = common::strata(&root, &["--json", "graph"]);
    graph.assert_ok();
    let graph = graph.json();
    let list = common::strata(&root, &["--json", "list"]).json();
    let envs_of = |label: &str| -> Vec<String> {
        list["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["label"] == label)
            .unwrap()["environments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap().to_string())
            .collect()
    };
    let mut nodes: Vec<(u64, String, String)> = graph["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["depth"].as_u64().unwrap(),
                n["label"].as_str().unwrap().to_string(),
                n["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    nodes.sort();
    let count = |kind: &str| nodes.iter().filter(|n| n.2 == kind).count();
    assert!(
        count("stack") >= 5 && count("module") >= 3 && count("chart") >= 4,
        "{nodes:?}"
    );

    let repo = common::sample_repo();
    let ws = repo.path();
    for dir in ["stacks", "modules"] {
        run(
            &tools,
            &ws.join(dir),
            "terraform",
            &["fmt", "-check", "-recursive"],
            &[],
        );
    }

    // Outputs of applied stacks, to feed declared [inputs] downstream.
    let mut outputs: std::collections::HashMap<String, serde_json::Value> = Default::default();
    for (_, label, kind) in &nodes {
        let dir = ws.join(label);
        match kind.as_str() {
            "module" => {
                run(
                    &tools,
                    &dir,
                    "terraform",
                    &["init", "-input=false", "-backend=false"],
                    &[],
                );
                run(&tools, &dir, "terraform", &["validate"], &[]);
            }
            "stack" => {
                let env = envs_of(label)[0].clone();
                let manifest: toml::Value = toml::from_str(
                    &std::fs::read_to_string(dir.join("stack.toml")).unwrap_or_default(),
                )
                .unwrap();
                let mut vars = Vec::new();
                if let Some(inputs) = manifest.get("inputs").and_then(|i| i.as_table()) {
                    for (var, binding) in inputs {
                        let (from, output) = binding.as_str().unwrap().rsplit_once(':').unwrap();
                        let value = &outputs[from][output]["value"];
                        let text = match value {
                            serde_json::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        vars.push((format!("TF_VAR_{var}"), text));
                    }
                }
                let var_file = ws.join(format!("environments/{env}/{label}/terraform.tfvars"));
                let var_arg = format!("-var-file={}", var_file.display());
                run(&tools, &dir, "terraform", &["init", "-input=false"], &[]);
                run(&tools, &dir, "terraform", &["validate"], &[]);
                run(
                    &tools,
                    &dir,
                    "terraform",
                    &["plan", "-input=false", "-out=plan.bin", &var_arg],
                    &vars,
                );
                let plan: serde_json::Value = serde_json::from_str(&run(
                    &tools,
                    &dir,
                    "terraform",
                    &["show", "-json", "plan.bin"],
                    &[],
                ))
                .unwrap();
                assert!(
                    !plan["resource_changes"].as_array().unwrap().is_empty(),
                    "{label}: empty plan"
                );
                run(
                    &tools,
                    &dir,
                    "terraform",
                    &["apply", "-input=false", "plan.bin"],
                    &vars,
                );
                let out: serde_json::Value = serde_json::from_str(&run(
                    &tools,
                    &dir,
                    "terraform",
                    &["output", "-json"],
                    &[],
                ))
                .unwrap();
                outputs.insert(label.clone(), out);
            }
            "chart" => {
                let chart_yaml = std::fs::read_to_string(dir.join("Chart.yaml")).unwrap();
                if is_library_chart(&chart_yaml) {
                    run(&tools, ws, "helm", &["lint", label], &[]);
                    continue;
                }
                run(&tools, ws, "helm", &["dependency", "build", label], &[]);
                for env in envs_of(label) {
                    let values = format!("environments/{env}/{label}/values.yaml");
                    let mut args = vec!["lint", label.as_str()];
                    if ws.join(&values).exists() {
                        args.extend(["-f", values.as_str()]);
                    }
                    run(&tools, ws, "helm", &args, &[]);
                    let mut args = vec!["template", "rel", label.as_str()];
                    if ws.join(&values).exists() {
                        args.extend(["-f", values.as_str()]);
                    }
                    let rendered = run(&tools, ws, "helm", &args, &[]);
                    assert!(
                        rendered.contains("kind: Deployment"),
                        "{label} in {env} renders no Deployment"
                    );
                }
            }
            _ => {}
        }
    }
    assert!(outputs.len() >= 5);
}

/// Whether Chart.yaml declares `type: library`.
fn is_library_chart(chart_yaml: &str) -> bool {
    chart_yaml
        .lines()
        .filter_map(|l| l.strip_prefix("type:"))
        .any(|v| v.trim().trim_matches('"') == "library")
}
