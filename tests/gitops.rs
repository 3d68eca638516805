//! GitOps delivery and drift, end to end with the real terraform and helm: `strata gitops
//! render` writes each environment's rendered charts with Argo CD or Flux objects in graph
//! order, deterministically and schema-valid; no sensitive value reaches the output; `strata
//! drift` finds changes to stacks and to delivered manifests; apply and promotion write the
//! output with the lock, and a rolled-back promotion leaves it as it was.
#![allow(clippy::disallowed_methods)] // tests drive git, ssh-keygen, the real strata binary and tools

mod common;

use common::{
    files_containing, json_run, on_terminal, repo_root, sample_repo, tools_repo, Repo, Run,
    NULL_PROVIDER,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const FORMATS: [&str; 4] = ["argocd", "argocd-appset", "flux-kustomize", "flux-helm"];

fn yaml(path: &Path) -> Value {
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every file under `dir`, relative, with its bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    common::files_under(dir)
        .into_iter()
        .map(|p| {
            (
                p.strip_prefix(dir).unwrap().display().to_string(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

/// `scripts/validate-gitops DIR`: every object against the Argo CD / Flux CRD schemas and
/// the Kubernetes OpenAPI schema.
fn assert_valid(dirs: &[PathBuf]) {
    let out = Command::new(repo_root().join("scripts/validate-gitops"))
        .args(dirs)
        .output()
        .expect("scripts/validate-gitops runs (scripts/test installs its validators)");
    assert!(
        out.status.success(),
        "schema validation failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn render(repo: &Repo, env: &str, format: &str, out: &Path) -> Run {
    render_with(repo, &[], env, format, out)
}

/// `strata GLOBAL... gitops render`.
fn render_with(repo: &Repo, global: &[&str], env: &str, format: &str, out: &Path) -> Run {
    let mut args = global.to_vec();
    args.extend([
        "gitops",
        "render",
        "--env",
        env,
        "--format",
        format,
        "--out",
        out.to_str().unwrap(),
    ]);
    repo.strata(&args)
}

#[test]
fn the_sample_charts_render_for_every_environment_in_every_format_in_graph_order() {
    let repo = sample_repo();
    repo.append(
        "WORKSPACE.toml",
        "\n[gitops]\nrepo_url = \"https://git.example.com/acme/infra.git\"\n",
    );
    repo.commit("gitops settings");
    let out = tempfile::tempdir().unwrap();
    let mut dirs = Vec::new();
    for env in ["dev", "staging", "prod"] {
        // charts/api reads stacks/database's endpoint: its state must exist.
        repo.strata(&[
            "apply",
            "--env",
            env,
            "--auto-approve",
            "stacks/network",
            "stacks/database",
        ])
        .assert_ok();
        for format in FORMATS {
            let dir = out.path().join(format!("{env}-{format}"));
            render(&repo, env, format, &dir).assert_ok();
            let again = out.path().join(format!("{env}-{format}-again"));
            render(&repo, env, format, &again).assert_ok();
            assert_eq!(tree(&dir), tree(&again), "{env} {format}: byte-identical");
            dirs.push(dir);
        }
    }
    let dev = |format: &str, file: &str| yaml(&out.path().join(format!("dev-{format}/{file}")));
    // Sync waves from graph depth: network 0 -> database 1 -> api 2; web has no delivered
    // dependency (its library chart orders nothing).
    let wave = |app: &str| {
        dev("argocd", &format!("argocd/apps/{app}.yaml"))["metadata"]["annotations"]
            ["argocd.argoproj.io/sync-wave"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(wave("api"), "2");
    assert_eq!(wave("web"), "0");
    assert_eq!(wave("worker"), "0");
    // dependsOn: api waits for the database stack's release marker, and every chart for
    // its namespace (kustomize-controller creates none), which is in the output.
    let api = dev("flux-kustomize", "flux/kustomizations/api.yaml");
    assert_eq!(
        api["spec"]["dependsOn"],
        serde_json::json!([{"name": "dev-stack-database"}, {"name": "dev-strata-namespaces"}])
    );
    assert_eq!(
        dev("flux-kustomize", "flux/kustomizations/web.yaml")["spec"]["dependsOn"],
        serde_json::json!([{"name": "dev-strata-namespaces"}])
    );
    let namespace = dev("flux-kustomize", "strata-namespaces/namespaces.yaml");
    assert_eq!(
        (&namespace["kind"], &namespace["metadata"]["name"]),
        (&serde_json::json!("Namespace"), &serde_json::json!("dev"))
    );
    // The rendered manifests are the chart's render in that environment.
    let manifests =
        std::fs::read_to_string(out.path().join("dev-argocd/charts/api/manifests.yaml")).unwrap();
    assert!(manifests.contains("kind: Deployment"), "{manifests}");
    // Flux renders itself in flux-helm: values inline, no manifests.
    let release = dev("flux-helm", "flux/helmreleases/api.yaml");
    assert_eq!(release["spec"]["values"]["replicaCount"], 1);
    assert!(release["spec"]["values"]["database_host"].is_string());
    assert!(!out.path().join("dev-flux-helm/charts").exists());
    assert_valid(&dirs);

    // `--no-cache` renders afresh (in a scratch cache of its own): the same output, and
    // strata's cache is neither read nor written.
    let cache_before = tree(&repo.path().join(".strata/cache"));
    let fresh = out.path().join("dev-argocd-no-cache");
    render_with(&repo, &["--no-cache"], "dev", "argocd", &fresh).assert_ok();
    assert_eq!(tree(&fresh), tree(&out.path().join("dev-argocd")));
    assert_eq!(tree(&repo.path().join(".strata/cache")), cache_before);

    // A directory strata did not write is never replaced.
    let foreign = out.path().join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("keep.txt"), "mine").unwrap();
    let run = render(&repo, "dev", "argocd", &foreign);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(foreign.join("keep.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn a_values_file_the_chart_schema_refuses_fails_the_render_naming_the_field() {
    let repo = sample_repo();
    repo.append(
        "WORKSPACE.toml",
        "\n[gitops]\nrepo_url = \"https://git.example.com/acme/infra.git\"\n",
    );
    repo.commit("gitops settings");
    repo.strata(&[
        "apply",
        "--env",
        "dev",
        "--auto-approve",
        "stacks/network",
        "stacks/database",
    ])
    .assert_ok();
    let values = "environments/dev/charts/api/values.yaml";
    let text = std::fs::read_to_string(repo.path().join(values)).unwrap();
    repo.write(
        values,
        &text.replace("replicaCount: 1", "replicaCount: \"three\""),
    );
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("dev");
    let run = render(&repo, "dev", "argocd", &dir);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("/replicaCount"), "{}", run.stderr);
    assert!(run.stderr.contains("charts/api render"), "{}", run.stderr);
    assert!(!dir.exists(), "nothing written");
}

/// `stacks/network` (output `vpc_id`, from variable `v`), `stacks/app` (reads it; its apply
/// fails where its variable `fail` is "1"), and `charts/web`, which reads `vpc_id`.
fn small(repo: &Repo, v: &str) {
    repo.write(
        "stacks/network/main.tf",
        &format!(
            "{NULL_PROVIDER}\nvariable \"v\" {{\n  default = \"{v}\"\n}}\n\nresource \"null_resource\" \"net\" {{\n  triggers = {{\n    v = var.v\n  }}\n}}\n\noutput \"vpc_id\" {{\n  value = \"vpc-${{var.v}}\"\n}}\n"
        ),
    );
    repo.write(
        "stacks/app/main.tf",
        &format!(
            "{NULL_PROVIDER}\nvariable \"vpc_id\" {{}}\n\nvariable \"fail\" {{\n  default = \"0\"\n}}\n\nresource \"null_resource\" \"app\" {{\n  triggers = {{\n    vpc = var.vpc_id\n  }}\n  provisioner \"local-exec\" {{\n    command = \"test '${{var.fail}}' != 1\"\n  }}\n}}\n"
        ),
    );
    repo.write(
        "stacks/app/stack.toml",
        "[inputs]\nvpc_id = \"stacks/network:vpc_id\"\n",
    );
    repo.write(
        "charts/web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\ntype: application\n",
    );
    repo.write("charts/web/values.yaml", "greeting: hello\nvpc_id: \"\"\n");
    repo.write(
        "charts/web/templates/configmap.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  vpc: {{ .Values.vpc_id | quote }}\n",
    );
    repo.write(
        "charts/web/chart.toml",
        "[inputs]\nvpc_id = \"stacks/network:vpc_id\"\n",
    );
}

/// The labels `apply --json`'s report recorded in its one environment's lock.
fn recorded(json: &Value) -> Vec<String> {
    json["release"][0]["recorded"]
        .as_array()
        .unwrap_or_else(|| panic!("no release report in {json}"))
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect()
}

/// A chart reading a stack whose apply failed was rendered against the stack's outputs
/// before: it is not recorded as verified (its entry would be promoted alone, with outputs
/// about to change). And a change to another environment's files alone records nothing in
/// this one (the chart was selected for staging, ran no task in dev, and was recorded there
/// with an audit event all the same).
#[test]
fn a_chart_is_recorded_only_when_it_and_what_it_reads_were_applied_here() {
    let repo = tools_repo();
    small(&repo, "1");
    repo.write(
        "environments/staging/env.toml",
        "promotes_from = \"dev\"\n[state]\nbackend = \"local\"\n",
    );
    repo.commit("small");
    let (run, json) = json_run(&repo, &["apply", "--env", "dev", "--auto-approve"]);
    run.assert_ok();
    assert!(
        recorded(&json).contains(&"charts/web".to_string()),
        "{json}"
    );
    repo.commit("dev's lock");

    // Only staging's value of a stack changes (the chart reading it is affected in
    // staging): the dev apply of what is affected records nothing.
    repo.write(
        "stacks/size/main.tf",
        "variable \"size\" {\n  default = 1\n}\n\noutput \"size\" {\n  value = var.size\n}\n",
    );
    repo.write(
        "charts/sized/Chart.yaml",
        "apiVersion: v2\nname: sized\nversion: 0.1.0\n",
    );
    repo.write("charts/sized/values.yaml", "size: 0\n");
    repo.write(
        "charts/sized/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sized\ndata:\n  size: \"{{ .Values.size }}\"\n",
    );
    repo.write(
        "charts/sized/chart.toml",
        "[inputs]\nsize = \"stacks/size:size\"\n",
    );
    repo.commit("a chart reading a stack");
    json_run(&repo, &["apply", "--env", "dev", "--auto-approve"])
        .0
        .assert_ok();
    repo.commit("dev's lock again");
    let ledger =
        || std::fs::read_to_string(repo.path().join("environments/dev/audit.jsonl")).unwrap();
    let before = ledger();
    repo.write(
        "environments/staging/stacks/size/terraform.tfvars",
        "size = 5\n",
    );
    repo.commit("staging's size");
    let (run, json) = json_run(
        &repo,
        &[
            "apply",
            "--env",
            "dev",
            "--auto-approve",
            "--affected",
            "--base",
            "HEAD~1",
        ],
    );
    run.assert_ok();
    assert_eq!(recorded(&json), Vec::<String>::new(), "{json}");
    assert_eq!(ledger(), before, "no audit event in dev");

    // The network's output changes and its apply fails: the chart is not recorded.
    repo.write(
        "stacks/network/main.tf",
        &format!(
            "{NULL_PROVIDER}\nresource \"null_resource\" \"net\" {{\n  triggers = {{\n    v = \"2\"\n  }}\n  provisioner \"local-exec\" {{\n    command = \"exit 3\"\n  }}\n}}\n\noutput \"vpc_id\" {{\n  value = \"vpc-2\"\n}}\n"
        ),
    );
    repo.commit("network v2, whose apply fails");
    let (run, json) = json_run(
        &repo,
        &["apply", "--env", "dev", "--auto-approve", "--keep-going"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        !recorded(&json).contains(&"charts/web".to_string()),
        "{json}"
    );
    let why = json["release"][0]["not_recorded"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n[0] == "charts/web")
        .unwrap_or_else(|| panic!("{json}"))[1]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        why.contains("stacks/network was not applied in dev (failed)"),
        "{why}"
    );
}

#[test]
fn sensitive_upstream_outputs_never_reach_the_gitops_output() {
    // Made by terraform at apply time: the plaintext is in no source file.
    use base64::Engine;
    let secret = base64::engine::general_purpose::STANDARD.encode("pw-9f8e7d6c5b4a-never-in-git");
    let repo = tools_repo();
    small(&repo, "1");
    repo.write(
        "stacks/db/main.tf",
        &format!("{NULL_PROVIDER}\nresource \"null_resource\" \"db\" {{}}\n\noutput \"password\" {{\n  value     = base64encode(\"pw-9f8e7d6c5b4a-never-in-git\")\n  sensitive = true\n}}\n"),
    );
    repo.write(
        "charts/web/chart.toml",
        "[inputs]\nvpc_id = \"stacks/network:vpc_id\"\ndb_password = \"stacks/db:password\"\n",
    );
    repo.append(
        "WORKSPACE.toml",
        "\n[gitops]\nrepo_url = \"https://git.example.com/t.git\"\n",
    );
    repo.commit("a chart reading a sensitive output");
    repo.strata(&[
        "apply",
        "--env",
        "dev",
        "--auto-approve",
        "stacks/network",
        "stacks/db",
    ])
    .assert_ok();
    let out = tempfile::tempdir().unwrap();
    // Rendered manifests would hold it: refused, naming the input, nothing written.
    let dir = out.path().join("argocd");
    let run = render(&repo, "dev", "argocd", &dir);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("db_password"), "{}", run.stderr);
    assert!(!dir.exists());
    // flux-helm takes it from a Secret, by reference.
    let dir = out.path().join("flux-helm");
    render(&repo, "dev", "flux-helm", &dir).assert_ok();
    let release = yaml(&dir.join("flux/helmreleases/web.yaml"));
    assert_eq!(
        release["spec"]["valuesFrom"],
        serde_json::json!([{"kind": "Secret", "name": "dev-web-inputs", "valuesKey": "values.yaml"}])
    );
    assert_eq!(release["spec"]["values"]["vpc_id"], "vpc-1");
    for place in [out.path().to_path_buf(), repo.path().join(".strata")] {
        let found = files_containing(&place, secret.as_bytes(), &[]);
        assert!(found.is_empty(), "the secret is in {found:?}");
    }
    // The apply that records the chart refuses to deliver it, and says why.
    let run = repo.strata(&["apply", "--env", "dev", "--auto-approve"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("db_password"), "{}", run.stderr);
    assert!(!repo.path().join("deploy/dev/charts/web").exists());
    assert!(
        !repo
            .path()
            .join("environments/dev/release.lock.toml")
            .exists()
            || {
                let lock =
                    std::fs::read_to_string(repo.path().join("environments/dev/release.lock.toml"))
                        .unwrap();
                !lock.contains("charts/web")
            }
    );
}

fn terraform_state_rm(repo: &Repo, env: &str, label: &str, address: &str) {
    let out = Command::new(repo_root().join(".tools/bin/terraform"))
        .args(["state", "rm", "-state"])
        .arg(repo.state_file(env, label))
        .arg(address)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

/// [`small`] at `v = "1"`, delivering through GitOps (Argo CD, the default format).
fn small_with_gitops() -> Repo {
    let repo = tools_repo();
    small(&repo, "1");
    repo.append(
        "WORKSPACE.toml",
        "\n[gitops]\nrepo_url = \"https://git.example.com/t.git\"\n",
    );
    repo
}

fn drift(repo: &Repo, args: &[&str]) -> (Run, Value) {
    let mut full = vec!["--json", "drift"];
    full.extend_from_slice(args);
    let run = repo.strata(&full);
    let json = serde_json::from_str(&run.stdout).unwrap_or(Value::Null);
    (run, json)
}

/// Drift names what it found, and gives no verdict it cannot back: an output that would
/// change is named; a stack planned against an upstream that itself differs from the lock
/// is unknown (its changes may be the upstream's), not drifted; a stack with no state here
/// that the lock records is unknown (planned against nothing, everything "would be
/// created"), not drifted.
#[test]
fn drift_names_changed_outputs_and_does_not_judge_what_it_cannot_compare() {
    let repo = tools_repo();
    small(&repo, "1");
    repo.commit("small");
    repo.strata(&[
        "apply",
        "--env",
        "dev",
        "--auto-approve",
        "stacks/network",
        "stacks/app",
    ])
    .assert_ok();
    repo.commit("dev's lock");
    // The network changed outside strata's train (another value applied by hand).
    let mut by_hand = repo.command(&["apply", "--env", "dev", "--auto-approve", "stacks/network"]);
    let out: Run = by_hand.env("TF_VAR_v", "oob").output().unwrap().into();
    out.assert_ok();
    repo.git(&["checkout", "--", "environments"]);
    let (run, json) = drift(&repo, &["--env", "dev", "stacks/network", "stacks/app"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stderr, run.stdout);
    let stack = |label: &str| {
        json["stacks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["label"] == label)
            .unwrap_or_else(|| panic!("{json}"))
            .clone()
    };
    assert_eq!(stack("stacks/network")["state"], "drifted", "{json}");
    assert_eq!(
        stack("stacks/network")["outputs"],
        serde_json::json!(["vpc_id"])
    );
    assert_eq!(stack("stacks/app")["state"], "unknown", "{json}");
    assert!(
        stack("stacks/app")["reason"]
            .as_str()
            .unwrap()
            .contains("check that stack first"),
        "{json}"
    );
    let run = repo.strata(&["drift", "--env", "dev", "stacks/network"]);
    assert!(run.stdout.contains("~ output.vpc_id"), "{}", run.stdout);
    // Named alone, the app is checked with the network it reads: not judged in sync or
    // drifted against the network's changed output.
    let (run, json) = drift(&repo, &["--env", "dev", "stacks/app"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stderr, run.stdout);
    assert_eq!(stack_of(&json, "stacks/app")["state"], "unknown", "{json}");
    assert_eq!(
        stack_of(&json, "stacks/network")["state"],
        "drifted",
        "{json}"
    );

    // No state where the lock says the network is applied (a new checkout's local state).
    std::fs::remove_file(repo.state_file("dev", "stacks/network")).unwrap();
    let (run, json) = drift(&repo, &["--env", "dev", "stacks/network"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stderr, run.stdout);
    assert_eq!(
        stack_of(&json, "stacks/network")["state"],
        "unknown",
        "{json}"
    );
    assert!(
        stack_of(&json, "stacks/network")["reason"]
            .as_str()
            .unwrap()
            .contains("no state of stacks/network was found in dev"),
        "{json}"
    );
}

/// A chart's own file committed since it was applied (a values override) is drift: the
/// chart runs what its lock entry says, not what the environment now configures. Applied,
/// it is in sync again.
#[test]
fn a_charts_own_file_committed_since_it_was_applied_is_drift() {
    let repo = small_with_gitops();
    repo.commit("small");
    repo.strata(&["apply", "--env", "dev", "--auto-approve"])
        .assert_ok();
    repo.commit("dev");
    let (run, _) = drift(&repo, &["--env", "dev"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stderr, run.stdout);
    // What no render reads is no drift: a note beside the environment's files, a gate, a
    // `[gitops]` table holding only validators.
    repo.write("environments/dev/NOTES.txt", "dev deploys every merge\n");
    let env_toml = std::fs::read_to_string(repo.path().join("environments/dev/env.toml")).unwrap();
    repo.write(
        "environments/dev/env.toml",
        &format!("{env_toml}\n[gates]\nsoak = \"5m\"\n\n[gitops]\nvalidate = [\"true\"]\n"),
    );
    repo.commit("a note, a gate and a validator");
    let (run, json) = drift(&repo, &["--env", "dev"]);
    assert_eq!(run.code, 0, "{}\n{}\n{json}", run.stderr, run.stdout);
    repo.write("environments/dev/charts/web/values.yaml", "greeting: hi\n");
    repo.commit("dev's greeting");
    let (run, json) = drift(&repo, &["--env", "dev"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stderr, run.stdout);
    assert_eq!(stack_of(&json, "charts/web")["state"], "drifted", "{json}");
    assert!(
        stack_of(&json, "charts/web")["reason"]
            .as_str()
            .unwrap()
            .contains("environments/dev/charts/web/values.yaml changed since it was applied"),
        "{json}"
    );
    repo.strata(&["apply", "--env", "dev", "--auto-approve"])
        .assert_ok();
    repo.commit("dev again");
    let (run, json) = drift(&repo, &["--env", "dev"]);
    assert_eq!(run.code, 0, "{}\n{}\n{json}", run.stderr, run.stdout);

    // How charts are delivered (`[gitops]`) is read by charts only: a stack has not drifted.
    let env_toml = std::fs::read_to_string(repo.path().join("environments/dev/env.toml")).unwrap();
    repo.write(
        "environments/dev/env.toml",
        &env_toml.replace("[gitops]\n", "[gitops]\nrevision = \"release\"\n"),
    );
    repo.commit("dev's charts from the release branch");
    let (run, json) = drift(&repo, &["--env", "dev"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stderr, run.stdout);
    assert_eq!(stack_of(&json, "charts/web")["state"], "drifted", "{json}");
    let stacks: Vec<&Value> = json["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["label"] != "charts/web")
        .collect();
    assert!(!stacks.is_empty(), "{json}");
    for stack in stacks {
        assert_ne!(stack["state"], "drifted", "{json}");
    }
}

fn stack_of(json: &Value, label: &str) -> Value {
    json["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["label"] == label)
        .unwrap_or_else(|| panic!("{json}"))
        .clone()
}

/// A stack a deployed chart reads is not destroyed alone: the chart's render would fail,
/// and with it the environment's lock and GitOps output. A destroy whose GitOps output
/// cannot be made for another reason says the stack's entry is still in the lock, and fails,
/// rather than reporting it removed.
#[test]
fn a_destroy_never_leaves_the_lock_behind_what_it_reports() {
    let repo = small_with_gitops();
    repo.write(
        "stacks/other/main.tf",
        &format!("{NULL_PROVIDER}\nresource \"null_resource\" \"o\" {{}}\n"),
    );
    repo.commit("a stack no chart reads");
    let run = repo.strata(&["apply", "--env", "dev", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    repo.commit("dev applied");
    let lock_path = repo.path().join("environments/dev/release.lock.toml");
    let lock = std::fs::read_to_string(&lock_path).unwrap();

    let run = repo.strata(&[
        "destroy",
        "stacks/network",
        "stacks/app",
        "--env",
        "dev",
        "--auto-approve",
    ]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("charts/web reads outputs of what would be destroyed"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_to_string(&lock_path).unwrap(), lock);

    // A validator that refuses every output: the output cannot be made after the destroy.
    repo.append("WORKSPACE.toml", "validate = [\"false\"]\n");
    let run = repo.strata(&["destroy", "stacks/other", "--env", "dev", "--auto-approve"]);
    let said = format!("{}{}", run.stdout, run.stderr);
    assert_ne!(run.code, 0, "{said}");
    assert!(
        said.contains("stacks/other not recorded: destroyed, and its entry is still in the lock"),
        "{said}"
    );
    assert!(!said.contains("removed stacks/other"), "{said}");
    assert_eq!(std::fs::read_to_string(&lock_path).unwrap(), lock);
}

/// Two environments whose outputs go to one directory (a `path` without `{env}`) would
/// replace each other's output whole, and a committed output of one would take the other's
/// objects out of its cluster: refused before anything changes. An output another
/// environment wrote is never replaced either.
#[test]
fn environments_sharing_an_output_directory_are_refused() {
    let repo = small_with_gitops();
    repo.write(
        "environments/staging/env.toml",
        "promotes_from = \"dev\"\n[state]\nbackend = \"local\"\n",
    );
    repo.append("WORKSPACE.toml", "path = \"deploy\"\n");
    repo.commit("one output directory for both");
    let run = repo.strata(&["apply", "--env", "dev", "--auto-approve"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stderr, run.stdout);
    assert!(
        run.stderr.contains(
            "the GitOps output of dev (deploy) and of staging (deploy) would overwrite each other"
        ),
        "{}",
        run.stderr
    );
    assert!(!repo.path().join("deploy").exists());
    assert!(!repo
        .path()
        .join("environments/dev/release.lock.toml")
        .exists());

    // Each its own directory: dev's output, then staging pointed at it, is refused.
    let workspace = std::fs::read_to_string(repo.path().join("WORKSPACE.toml")).unwrap();
    repo.write(
        "WORKSPACE.toml",
        &workspace.replace("path = \"deploy\"\n", ""),
    );
    repo.commit("the default paths");
    let run = repo.strata(&["apply", "--env", "dev", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    repo.commit("dev applied");
    let marker = std::fs::read_to_string(repo.path().join("deploy/dev/.strata-gitops")).unwrap();
    std::fs::create_dir_all(repo.path().join("deploy/staging")).unwrap();
    std::fs::write(repo.path().join("deploy/staging/.strata-gitops"), &marker).unwrap();
    let run = repo.strata(&["apply", "--env", "staging", "--auto-approve"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stderr, run.stdout);
    assert!(
        run.stderr
            .contains("holds the GitOps output of environment dev, and staging's would replace it"),
        "{}",
        run.stderr
    );
}

/// An output directory a symbolic link leads out of the workspace is refused before the
/// apply changes anything: nothing written there could be committed with the lock.
#[cfg(unix)]
#[test]
fn an_output_directory_a_link_leads_out_of_the_workspace_is_refused() {
    let repo = small_with_gitops();
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), repo.path().join("deploy")).unwrap();
    repo.commit("the output directory is a link elsewhere");
    let run = repo.strata(&["apply", "--env", "dev", "--auto-approve"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stderr, run.stdout);
    assert!(
        run.stderr
            .contains("the GitOps output directory deploy/dev leads out of the workspace"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    assert!(!repo
        .path()
        .join("environments/dev/release.lock.toml")
        .exists());
}

/// A file committed by hand into strata's output directory is not deleted by the next
/// apply: the marker lists the files strata wrote, and any other one stops the apply before
/// anything changes. A marker an earlier strata wrote (no list) is no drift.
#[test]
fn files_strata_did_not_write_in_its_output_stop_the_apply() {
    let repo = small_with_gitops();
    repo.commit("small workspace");
    repo.strata(&["apply", "--env", "dev", "--auto-approve"])
        .assert_ok();
    let marker = repo.path().join("deploy/dev/.strata-gitops");
    let text = std::fs::read_to_string(&marker).unwrap();
    assert!(
        text.ends_with(
            "\nfiles:\nargocd/apps/web.yaml\nargocd/project.yaml\ncharts/web/manifests.yaml\n"
        ),
        "{text}"
    );
    repo.commit("dev's lock and output");
    // As an earlier strata wrote it: in step.
    let header = text.split_once("files:\n").unwrap().0.to_string();
    std::fs::write(&marker, &header).unwrap();
    let (run, _) = drift(&repo, &["--env", "dev"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stderr, run.stdout);
    std::fs::write(&marker, &text).unwrap();
    repo.write("deploy/dev/RUNBOOK.md", "call the on-call\n");
    repo.commit("a runbook beside the output");
    small(&repo, "2");
    repo.commit("a change");
    let run = repo.strata(&["apply", "--env", "dev", "--auto-approve"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stderr, run.stdout);
    assert!(
        run.stderr
            .contains("holds files strata did not write: RUNBOOK.md"),
        "{}",
        run.stderr
    );
    assert!(repo.path().join("deploy/dev/RUNBOOK.md").exists());
    assert_eq!(repo.git(&["status", "--porcelain"]).trim(), "");
}

#[test]
fn drift_finds_out_of_band_state_changes_and_edited_manifests() {
    let repo = small_with_gitops();
    repo.commit("small workspace");
    let run = repo.strata(&["--json", "apply", "--env", "dev", "--auto-approve"]);
    run.assert_ok();
    assert!(
        run.stderr.contains("GitOps output of dev: deploy/dev"),
        "{}",
        run.stderr
    );
    assert!(repo
        .path()
        .join("deploy/dev/charts/web/manifests.yaml")
        .exists());
    repo.commit("dev's lock and output");
    // Nothing changed: exit 0.
    let (run, json) = drift(&repo, &["--env", "dev"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stderr, run.stdout);
    assert_eq!(json["delivered"], serde_json::json!([]));

    // A resource removed from the state behind strata's back.
    terraform_state_rm(&repo, "dev", "stacks/app", "null_resource.app");
    let md = tempfile::NamedTempFile::new().unwrap();
    let (run, json) = drift(
        &repo,
        &["--env", "dev", "--summary-md", md.path().to_str().unwrap()],
    );
    assert_eq!(run.code, 2, "{}\n{}", run.stderr, run.stdout);
    let app = json["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["label"] == "stacks/app")
        .unwrap();
    assert_eq!(app["state"], "drifted");
    assert_eq!(app["changes"][0]["address"], "null_resource.app");
    let network = json["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["label"] == "stacks/network")
        .unwrap();
    assert_eq!(network["state"], "in_sync");
    let markdown = std::fs::read_to_string(md.path()).unwrap();
    assert!(
        markdown.contains("<code>null&#95;resource.app</code> would be created"),
        "{markdown}"
    );
    // Re-applying the lock reconciles.
    repo.strata(&["apply", "--env", "dev", "--auto-approve", "stacks/app"])
        .assert_ok();
    let (run, _) = drift(&repo, &["--env", "dev"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stderr, run.stdout);

    // The marker that makes the directory strata's (without it the next apply refuses to
    // write there), lost or edited, is drift too.
    let marker = repo.path().join("deploy/dev/.strata-gitops");
    std::fs::remove_file(&marker).unwrap();
    let (run, json) = drift(&repo, &["--env", "dev"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stderr, run.stdout);
    assert_eq!(
        json["delivered"],
        serde_json::json!([{"file": ".strata-gitops", "what": "missing"}])
    );
    repo.git(&["checkout", "--", "deploy/dev/.strata-gitops"]);
    repo.append("deploy/dev/.strata-gitops", "x\n");
    let (run, json) = drift(&repo, &["--env", "dev"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stderr, run.stdout);
    assert_eq!(json["delivered"][0]["what"], "edited", "{json}");
    repo.git(&["checkout", "--", "deploy/dev/.strata-gitops"]);
    let (run, _) = drift(&repo, &["--env", "dev"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stderr, run.stdout);

    // A hand edit of a delivered manifest is drift of that object; an extra file too.
    let manifests = repo.path().join("deploy/dev/charts/web/manifests.yaml");
    let text = std::fs::read_to_string(&manifests).unwrap();
    std::fs::write(
        &manifests,
        text.replace("greeting: \"hello\"", "greeting: \"hacked\""),
    )
    .unwrap();
    repo.write("deploy/dev/charts/web/extra.yaml", "kind: ConfigMap\n");
    let (run, json) = drift(&repo, &["--env", "dev"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stderr, run.stdout);
    assert_eq!(
        json["delivered"],
        serde_json::json!([
            {"file": "charts/web/extra.yaml", "what": "extra"},
            {"file": "charts/web/manifests.yaml", "what": "edited", "objects": ["ConfigMap/web"]}
        ])
    );
    assert!(run.stdout.is_empty() || json.is_object());
    // Its Argo CD Application edited too; asked about the chart alone, all three show.
    let app = repo.path().join("deploy/dev/argocd/apps/web.yaml");
    let text = std::fs::read_to_string(&app).unwrap();
    std::fs::write(&app, format!("{text}# edited by hand\n")).unwrap();
    let (run, json) = drift(&repo, &["--env", "dev", "charts/web"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stderr, run.stdout);
    let files: Vec<&str> = json["delivered"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "argocd/apps/web.yaml",
            "charts/web/extra.yaml",
            "charts/web/manifests.yaml"
        ],
        "{json}"
    );
    // Asked about a stack alone, the chart's files are not compared: the delivered output
    // is not reported in sync as a whole.
    let summary = repo.path().join("drift.md");
    let run = repo.strata(&[
        "drift",
        "--env",
        "dev",
        "stacks/network",
        "--summary-md",
        summary.to_str().unwrap(),
    ]);
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.contains("Checked only <code>stacks/network</code>")
            && !md.contains("Everything matches"),
        "{md}"
    );
    assert!(
        !run.stdout.contains("in sync  delivered output of dev\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "in sync  delivered output of dev for stacks/network (the rest of it was not compared)"
        ),
        "{}\n{}",
        run.stdout,
        run.stderr
    );

    // A check that cannot run is not drift: exit 1, never 2.
    let (run, _) = drift(&repo, &["--env", "nowhere"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stderr, run.stdout);
    assert!(run.stderr.contains("no environment"), "{}", run.stderr);

    // Without the release lock (never committed, or another branch) there is nothing to
    // compare: exit 1, never the 0 of "everything matches".
    std::fs::remove_file(repo.path().join("environments/dev/release.lock.toml")).unwrap();
    let (run, _) = drift(&repo, &["--env", "dev"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stderr, run.stdout);
    assert!(
        run.stderr.contains("nothing to compare in dev"),
        "{}",
        run.stderr
    );
}

/// Signs `file` as `who` with a fresh key listed in allowed_signers.
fn keys(repo: &Repo, dir: &Path, names: &[&str]) {
    let mut signers = String::new();
    for name in names {
        let out = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
            .arg(dir.join(name))
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let public = std::fs::read_to_string(dir.join(format!("{name}.pub"))).unwrap();
        let public: Vec<&str> = public.split_whitespace().take(2).collect();
        signers.push_str(&format!(
            "{name}@example.com namespaces=\"strata-promote\" {}\n",
            public.join(" ")
        ));
    }
    repo.write("environments/allowed_signers", &signers);
}

fn as_user(repo: &Repo, who: &str, args: &[&str]) -> Run {
    repo.git(&["config", "user.email", &format!("{who}@example.com")]);
    repo.strata(args)
}

/// [`small`] delivered in `format`, with staging promoting from dev (one approval) and the
/// keys of alice and bob; returns the directory holding the keys.
fn small_train(repo: &Repo, format: &str) -> tempfile::TempDir {
    small(repo, "1");
    repo.append(
        "WORKSPACE.toml",
        &format!(
            "\n[gitops]\nrepo_url = \"https://git.example.com/t.git\"\nformat = \"{format}\"\n"
        ),
    );
    repo.write(
        "environments/staging/env.toml",
        "promotes_from = \"dev\"\n[gates]\napprovals = 1\n[state]\nbackend = \"local\"\n",
    );
    let k = tempfile::tempdir().unwrap();
    keys(repo, k.path(), &["alice", "bob"]);
    repo.commit("small train with charts");
    k
}

/// Plans (with `extra` flags) the promotion dev -> staging into `keys/NAME`; alice signs as
/// its author, bob approves; alice applies it (`--json`).
fn promote_to_staging(repo: &Repo, keys: &Path, name: &str, extra: &[&str]) -> Run {
    let file = keys.join(name);
    let file = file.to_str().unwrap();
    let mut args = vec![
        "promote", "plan", "--from", "dev", "--to", "staging", "--out", file,
    ];
    args.extend_from_slice(extra);
    as_user(repo, "alice", &args).assert_ok();
    for who in ["alice", "bob"] {
        let key = keys.join(who);
        as_user(
            repo,
            who,
            &["promote", "approve", file, "--key", key.to_str().unwrap()],
        )
        .assert_ok();
    }
    as_user(repo, "alice", &["--json", "promote", "apply", file])
}

#[test]
fn promotion_writes_the_destinations_output_and_a_rollback_leaves_it_as_it_was() {
    let repo = tools_repo();
    let k = small_train(&repo, "flux-kustomize");
    let promote = |name: &str| promote_to_staging(&repo, k.path(), name, &[]);
    as_user(&repo, "alice", &["apply", "--env", "dev", "--auto-approve"]).assert_ok();
    repo.commit("dev");
    let run = promote("first.json");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let staging = repo.path().join("deploy/staging");
    let web = std::fs::read_to_string(staging.join("charts/web/manifests.yaml")).unwrap();
    assert!(web.contains("vpc-1"), "{web}");
    assert_eq!(
        yaml(&staging.join("flux/kustomizations/web.yaml"))["spec"]["dependsOn"],
        serde_json::json!([{"name": "staging-stack-network"}, {"name": "staging-strata-namespaces"}])
    );
    repo.commit("staging");
    let before = tree(&staging);

    // v2 everywhere; app fails in staging: the promotion rolls back, the output stays.
    small(&repo, "2");
    repo.write(
        "charts/web/values.yaml",
        "greeting: bonjour\nvpc_id: \"\"\n",
    );
    repo.write(
        "environments/staging/stacks/app/fail.tfvars",
        "fail = \"1\"\n",
    );
    repo.commit("v2");
    as_user(&repo, "alice", &["apply", "--env", "dev", "--auto-approve"]).assert_ok();
    assert!(
        std::fs::read_to_string(repo.path().join("deploy/dev/charts/web/manifests.yaml"))
            .unwrap()
            .contains("bonjour")
    );
    repo.commit("dev v2");
    let run = promote("second.json");
    assert_eq!(run.code, 1, "{}", run.stderr);
    let out: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(out["status"], "rolled_back", "{out}");
    assert_eq!(tree(&staging), before, "the delivered output is as it was");
}

/// `drift` asked about a stack compares what the GitOps output delivers for it too: the
/// release marker (a ConfigMap and its Kustomization) the charts reading it wait for.
#[test]
fn drift_of_a_stack_covers_its_release_marker_in_the_output() {
    let repo = tools_repo();
    small(&repo, "1");
    repo.append(
        "WORKSPACE.toml",
        "\n[gitops]\nrepo_url = \"https://git.example.com/t.git\"\nformat = \"flux-kustomize\"\n",
    );
    repo.commit("flux");
    repo.strata(&["apply", "--env", "dev", "--auto-approve"])
        .assert_ok();
    repo.commit("dev");
    let clean = repo.strata(&["drift", "--env", "dev", "stacks/network"]);
    assert_eq!(clean.code, 0, "{}", clean.stderr);
    for file in [
        "deploy/dev/flux/kustomizations/stack-network.yaml",
        "deploy/dev/stacks/network/release.yaml",
    ] {
        repo.append(file, "# edited\n");
        let run = repo.strata(&["drift", "--env", "dev", "stacks/network"]);
        assert_eq!(run.code, 2, "{file}: {}{}", run.stdout, run.stderr);
        repo.git(&["checkout", "-q", "--", file]);
    }
}

/// A chart deleted (or taken out of an environment) stays delivered until someone says it
/// may go: the apply that finds it is no success, and `--allow-destroy` removes it from the
/// lock and the GitOps output (Argo CD or Flux then prune it); a promotion made with
/// `--allow-destroy` then removes it from the next environment, with nothing to run.
#[test]
fn a_deleted_chart_leaves_the_lock_and_the_output_only_when_told() {
    let repo = tools_repo();
    let k = small_train(&repo, "argocd");
    let promote = |name: &str, extra: &[&str]| promote_to_staging(&repo, k.path(), name, extra);
    as_user(&repo, "alice", &["apply", "--env", "dev", "--auto-approve"]).assert_ok();
    repo.commit("dev");
    let run = promote("first.json", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    repo.commit("staging");
    let app = |env: &str| {
        repo.path()
            .join(format!("deploy/{env}/argocd/apps/web.yaml"))
    };
    assert!(app("dev").exists() && app("staging").exists());

    repo.git(&["rm", "-rq", "charts/web"]);
    repo.commit("web retired");
    let (kept, report) = json_run(&repo, &["apply", "--env", "dev", "--auto-approve"]);
    assert_eq!(kept.code, 1, "{}", kept.stderr);
    assert!(
        kept.stderr
            .contains("charts/web not recorded: no longer delivered in dev"),
        "{}",
        kept.stderr
    );
    assert!(report["tasks"].is_array());
    assert!(
        app("dev").exists(),
        "still delivered without --allow-destroy"
    );
    let lock =
        || std::fs::read_to_string(repo.path().join("environments/dev/release.lock.toml")).unwrap();
    assert!(lock().contains("charts/web"));

    let gone = as_user(
        &repo,
        "alice",
        &["apply", "--env", "dev", "--auto-approve", "--allow-destroy"],
    );
    assert_eq!(gone.code, 0, "{}", gone.stderr);
    assert!(!app("dev").exists(), "no longer delivered in dev");
    assert!(!lock().contains("charts/web"), "{}", lock());
    let drift = repo.strata(&["drift", "--env", "dev"]);
    assert_eq!(drift.code, 0, "{}", drift.stderr);
    repo.commit("dev without web");

    // The removal is promoted by a plan made with --allow-destroy: no destroy runs for a
    // chart; its application leaves staging's output.
    let run = promote("second.json", &["--allow-destroy"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(out["status"], "applied", "{out}");
    assert!(!app("staging").exists(), "{out}");
    assert!(
        !std::fs::read_to_string(repo.path().join("environments/staging/release.lock.toml"))
            .unwrap()
            .contains("charts/web")
    );
}

#[test]
fn a_chart_with_crds_a_vendored_subchart_and_its_own_namespace_is_delivered_once_and_whole() {
    let repo = tools_repo();
    repo.write(
        "charts/platform/Chart.yaml",
        "apiVersion: v2\nname: platform-chart\nversion: 0.1.0\ntype: application\ndependencies:\n  - name: cache\n    version: 0.1.0\n",
    );
    repo.write("charts/platform/values.yaml", "size: 1\n");
    // The release is named after the directory, not the chart, in every format.
    repo.write(
        "charts/platform/templates/release.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-release\ndata:\n  chart: {{ .Chart.Name }}\n",
    );
    repo.write(
        "charts/platform/crds/widgets.yaml",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  names:\n    kind: Widget\n    plural: widgets\n    singular: widget\n  scope: Namespaced\n  versions:\n    - name: v1\n      served: true\n      storage: true\n      schema:\n        openAPIV3Schema:\n          type: object\n",
    );
    repo.write(
        "charts/platform/templates/role.yaml",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: platform-reader\nrules: []\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: platform\n  namespace: platform-system\ndata:\n  size: {{ .Values.size | quote }}\n",
    );
    // Vendored: delivered inside platform, never as an application of its own.
    repo.write(
        "charts/platform/charts/cache/Chart.yaml",
        "apiVersion: v2\nname: cache\nversion: 0.1.0\ntype: application\n",
    );
    repo.write("charts/platform/charts/cache/values.yaml", "{}\n");
    repo.write(
        "charts/platform/charts/cache/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cache\ndata:\n  a: b\n",
    );
    repo.append(
        "WORKSPACE.toml",
        "\n[gitops]\nrepo_url = \"https://git.example.com/t.git\"\n",
    );
    repo.commit("a platform chart");
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("argocd");
    render(&repo, "dev", "argocd", &dir).assert_ok();
    let apps: Vec<String> = std::fs::read_dir(dir.join("argocd/apps"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(apps, ["platform.yaml"], "the subchart is not its own app");
    let manifests = std::fs::read_to_string(dir.join("charts/platform/manifests.yaml")).unwrap();
    for want in [
        "kind: CustomResourceDefinition",
        "name: cache",
        "name: platform-reader",
    ] {
        assert!(manifests.contains(want), "{want} missing:\n{manifests}");
    }
    // The project admits what the chart holds: its CRD and ClusterRole, and the namespace
    // its ConfigMap names besides the application's own.
    let project = yaml(&dir.join("argocd/project.yaml"));
    let kinds: Vec<&str> = project["spec"]["clusterResourceWhitelist"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kind"].as_str().unwrap())
        .collect();
    for kind in ["CustomResourceDefinition", "ClusterRole", "Namespace"] {
        assert!(kinds.contains(&kind), "{kind} not admitted: {kinds:?}");
    }
    let namespaces: Vec<&str> = project["spec"]["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["namespace"].as_str().unwrap())
        .collect();
    assert!(namespaces.contains(&"platform-system"), "{namespaces:?}");
    assert_valid(std::slice::from_ref(&dir));
    assert!(manifests.contains("name: platform-release"), "{manifests}");
    // Flux, rendering itself, installs the same release name.
    let flux = out.path().join("flux-helm");
    let run = repo.strata(&[
        "--json",
        "gitops",
        "render",
        "--env",
        "dev",
        "--format",
        "flux-helm",
        "--out",
        flux.to_str().unwrap(),
    ]);
    run.assert_ok();
    let release = yaml(&flux.join("flux/helmreleases/platform.yaml"));
    assert_eq!(release["spec"]["releaseName"], "platform");
    // --json says what was written, where, and for which repository path.
    let json = run.json();
    assert_eq!(json["out"], flux.to_str().unwrap(), "{json}");
    assert_eq!(json["repository_path"], "deploy/dev", "{json}");
    assert_eq!(
        json["charts"],
        serde_json::json!(["charts/platform"]),
        "{json}"
    );
}

#[test]
fn the_configured_validator_refuses_an_invalid_object_and_nothing_is_written_or_recorded() {
    let repo = tools_repo();
    repo.write(
        "charts/web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\ntype: application\n",
    );
    repo.write("charts/web/values.yaml", "replicas: 2\n");
    // `replica` is a typo: Kubernetes would drop the field (or refuse it, server-side).
    repo.write(
        "charts/web/templates/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replica: {{ .Values.replicas }}\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n        - name: web\n          image: nginx:1.27\n",
    );
    let validator = repo_root().join("scripts/validate-gitops");
    repo.append(
        "WORKSPACE.toml",
        &format!(
            "\n[gitops]\nrepo_url = \"https://git.example.com/t.git\"\nvalidate = [\"{}\"]\n",
            validator.display()
        ),
    );
    repo.commit("a chart with a typo");
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("argocd");
    let run = render(&repo, "dev", "argocd", &dir);
    assert_eq!(run.code, 1, "{}", run.stderr);
    // The object, the field and the reason, at the output's path in the repository.
    for want in [
        "deploy/dev/charts/web/manifests.yaml",
        "Deployment/web",
        "replica",
    ] {
        assert!(run.stderr.contains(want), "{want}: {}", run.stderr);
    }
    assert!(!dir.exists(), "nothing written");
    // apply verifies and would record the chart: the output is refused, so is the lock.
    let run = repo.strata(&["apply", "--env", "dev", "--auto-approve"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("Deployment/web"), "{}", run.stderr);
    assert!(!repo.path().join("deploy/dev").exists());
    assert!(!repo
        .path()
        .join("environments/dev/release.lock.toml")
        .exists());

    // Fixed, it is written, and apply records and delivers it.
    let text =
        std::fs::read_to_string(repo.path().join("charts/web/templates/deployment.yaml")).unwrap();
    repo.write(
        "charts/web/templates/deployment.yaml",
        &text.replace("replica:", "replicas:"),
    );
    repo.commit("fix the typo");
    render(&repo, "dev", "argocd", &dir).assert_ok();
    assert!(dir.join("charts/web/manifests.yaml").exists());
    repo.strata(&["apply", "--env", "dev", "--auto-approve"])
        .assert_ok();
    assert!(repo
        .path()
        .join("deploy/dev/charts/web/manifests.yaml")
        .exists());

    // A validator that cannot run is a configuration error naming it, exit 2.
    let ws = std::fs::read_to_string(repo.path().join("WORKSPACE.toml")).unwrap();
    repo.write(
        "WORKSPACE.toml",
        &ws.replace(&validator.display().to_string(), "no-such-validator"),
    );
    let run = render(&repo, "dev", "argocd", &out.path().join("again"));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("no-such-validator"), "{}", run.stderr);
    assert!(!out.path().join("again").exists());

    // Ctrl-C while the validator runs: interrupted (130), not refused, and nothing written.
    let started = out.path().join("started");
    let slow = out.path().join("slow-validator");
    std::fs::write(
        &slow,
        format!("#!/bin/sh\ntouch {}\nsleep 30\n", started.display()),
    )
    .unwrap();
    std::fs::set_permissions(&slow, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    repo.write(
        "WORKSPACE.toml",
        &ws.replace(
            &validator.display().to_string(),
            &slow.display().to_string(),
        ),
    );
    let target = out.path().join("interrupted");
    let child = repo
        .command(&[
            "gitops", "render", "--env", "dev", "--format", "argocd", "--out",
        ])
        .arg(&target)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    common::wait_for(
        "the validator to start",
        std::time::Duration::from_secs(60),
        || started.exists(),
    );
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let done = child.wait_with_output().unwrap();
    assert_eq!(
        done.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(!target.exists());

    // A validator that refuses without a word: said so, not an empty report.
    let silent = out.path().join("silent-validator");
    std::fs::write(
        &silent,
        "#!/bin/sh
exit 1
",
    )
    .unwrap();
    std::fs::set_permissions(&silent, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    repo.write(
        "WORKSPACE.toml",
        &ws.replace(
            &validator.display().to_string(),
            &silent.display().to_string(),
        ),
    );
    let run = render(&repo, "dev", "argocd", &out.path().join("silent"));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("refused the output (exit 1), saying nothing"),
        "{}",
        run.stderr
    );
    assert!(!out.path().join("silent").exists());
}

/// The release lock and the environment's GitOps output change together or not at all: an
/// output directory strata may not replace (it holds a file strata did not write) stops the
/// apply before it changes anything, and once the directory is fixed the next apply writes
/// both. (An output refused after the apply, by its validator, is the test above.)
#[test]
fn the_release_lock_is_not_written_when_the_gitops_output_cannot_be() {
    let repo = tools_repo();
    repo.append(
        "WORKSPACE.toml",
        "\n[gitops]\nrepo_url = \"https://git.example.com/t.git\"\nformat = \"argocd\"\n",
    );
    small(&repo, "1");
    repo.write("deploy/dev/NOTES.txt", "hand-written notes\n");
    repo.commit("an output directory holding a file of someone else's");
    let lock = repo.path().join("environments/dev/release.lock.toml");
    let run = repo.strata(&["apply", "--env", "dev", "--auto-approve"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("strata did not write"),
        "{}",
        run.stderr
    );
    assert!(!lock.exists(), "the lock was written without its output");
    assert!(
        !repo.state_file("dev", "stacks/network").exists(),
        "applied before the output was known to be writable"
    );
    repo.remove("deploy/dev/NOTES.txt");
    repo.commit("the output directory emptied");
    repo.strata(&["apply", "--env", "dev", "--auto-approve"])
        .assert_ok();
    assert!(lock.exists());
    assert!(
        repo.path().join("deploy/dev").is_dir(),
        "the output is written with the lock"
    );
    let verify = repo.strata(&["audit", "verify"]);
    assert_eq!(verify.code, 0, "{}\n{}", verify.stdout, verify.stderr);
}

/// helm renders offline, so templates see only helm's own idea of a cluster: `[render]`
/// names the cluster's Kubernetes version and the API versions it serves, in WORKSPACE.toml
/// and per environment over it, and a change of either renders again (WORKSPACE.toml is no
/// input of the chart's hash, so a stale render would otherwise be served).
#[test]
fn templates_see_the_cluster_each_environment_renders_for() {
    let repo = tools_repo();
    repo.append(
        "WORKSPACE.toml",
        "\n[gitops]\nrepo_url = \"https://git.example.com/t.git\"\n\n[render]\nkube_version = \"1.29.4\"\n",
    );
    repo.write(
        "environments/prod/env.toml",
        "[state]\nbackend = \"local\"\n\n[render]\nkube_version = \"v1.31.1\"\napi_versions = [\"monitoring.coreos.com/v1/ServiceMonitor\"]\n",
    );
    repo.write(
        "charts/mon/Chart.yaml",
        "apiVersion: v2\nname: mon\nversion: 0.1.0\nkubeVersion: \">=1.28.0-0\"\n",
    );
    repo.write("charts/mon/values.yaml", "{}\n");
    repo.write(
        "charts/mon/templates/all.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mon\ndata:\n  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n{{- if .Capabilities.APIVersions.Has \"monitoring.coreos.com/v1/ServiceMonitor\" }}\n---\napiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata:\n  name: mon\nspec:\n  selector: {}\n  endpoints: []\n{{- end }}\n",
    );
    repo.commit("a chart that asks what the cluster offers");
    let out = tempfile::tempdir().unwrap();
    let manifests = |env: &str| {
        let dir = out.path().join(env);
        render(&repo, env, "argocd", &dir).assert_ok();
        std::fs::read_to_string(dir.join("charts/mon/manifests.yaml")).unwrap()
    };
    let dev = manifests("dev");
    assert!(dev.contains("kube: \"v1.29.4\""), "{dev}");
    assert!(!dev.contains("ServiceMonitor"), "{dev}");
    let prod = manifests("prod");
    assert!(prod.contains("kube: \"v1.31.1\""), "{prod}");
    assert!(prod.contains("kind: ServiceMonitor"), "{prod}");

    // An older cluster than the chart supports: the render fails, not served from the cache.
    let text = std::fs::read_to_string(repo.path().join("WORKSPACE.toml")).unwrap();
    repo.write("WORKSPACE.toml", &text.replace("\"1.29.4\"", "\"1.27.3\""));
    repo.commit("dev's cluster is older");
    // WORKSPACE.toml's [render] is an input of every chart, so the change affects it.
    assert_eq!(repo.affected_labels(&["--base", "HEAD~1"]), ["charts/mon"]);
    let run = render(&repo, "dev", "argocd", &out.path().join("dev-old"));
    assert_ne!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let said = format!("{}{}", run.stdout, run.stderr);
    assert!(said.contains("v1.27.3"), "{said}");
    assert!(!out
        .path()
        .join("dev-old/charts/mon/manifests.yaml")
        .exists());
    // prod sets its own version: unchanged, and still renders.
    assert!(manifests("prod").contains("kube: \"v1.31.1\""));

    // A version helm cannot read is refused up front, naming the line.
    repo.write("WORKSPACE.toml", &text.replace("\"1.29.4\"", "\"latest\""));
    let run = repo.strata(&["check", "--env", "dev"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("WORKSPACE.toml:"), "{}", run.stderr);
    assert!(run.stderr.contains("kube_version"), "{}", run.stderr);
}

/// flux-helm writes an environment's values inline in the HelmRelease: they are read as
/// helm reads a values file (YAML 1.1: `off` is false, `0755` is 493, `<<` merges), so
/// Flux renders what strata rendered and checked. Read as YAML 1.2 they were `"off"` (a
/// string helm takes as true), `"0755"` and a key named `<<`.
#[test]
fn flux_helm_inline_values_are_read_as_helm_reads_them() {
    let repo = small_with_gitops();
    repo.write(
        "environments/dev/charts/web/values.yaml",
        "debug: off\nmode: 0755\nbase: &b\n  x: 1\nderived:\n  <<: *b\n  z: 2\n---\n# empty\n---\nreplicas: 2\nderived:\n  z: 3\n---\nmode: null\n...\nignored: true\n",
    );
    repo.commit("values in YAML 1.1, in several documents");
    repo.strata(&["apply", "--env", "dev", "--auto-approve", "stacks/network"])
        .assert_ok();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("flux-helm");
    render(&repo, "dev", "flux-helm", &dir).assert_ok();
    let values = &yaml(&dir.join("flux/helmreleases/web.yaml"))["spec"]["values"];
    assert_eq!(values["debug"], false, "{values}");
    // Each document merged over the ones before it, as helm reads the file: the HelmRelease
    // used to carry the first alone.
    assert_eq!(
        values.get("mode"),
        Some(&serde_json::Value::Null),
        "{values}"
    );
    assert_eq!(values["replicas"], 2, "{values}");
    // After an end marker, as helm reads it: nothing more of that part.
    assert_eq!(values.get("ignored"), None, "{values}");
    assert_eq!(values["derived"], serde_json::json!({"x": 1, "z": 3}));
}

/// With no chart left in the lock (the last one destroyed), the GitOps output is still
/// what the cluster syncs: drift of the whole environment compares it. It used to compare
/// it only while the lock held a chart, so an Application added there by hand went unseen.
#[test]
fn drift_compares_the_output_when_no_chart_is_left() {
    let repo = small_with_gitops();
    repo.commit("small workspace");
    repo.strata(&["apply", "--env", "dev", "--auto-approve"])
        .assert_ok();
    repo.commit("dev's lock and output");
    repo.remove("charts/web");
    repo.commit("the chart deleted");
    repo.strata(&["apply", "--env", "dev", "--auto-approve", "--allow-destroy"])
        .assert_ok();
    repo.commit("dev without the chart");
    assert!(repo.path().join("deploy/dev").exists());
    let (run, json) = drift(&repo, &["--env", "dev"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stderr, run.stdout);
    assert_eq!(json["delivered"], serde_json::json!([]), "{json}");
    repo.write(
        "deploy/dev/argocd/apps/rogue.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: rogue\n  namespace: argocd\n",
    );
    let (run, json) = drift(&repo, &["--env", "dev"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stderr, run.stdout);
    assert_eq!(
        json["delivered"][0]["file"], "argocd/apps/rogue.yaml",
        "{json}"
    );
}

/// Two stacks that the output would name alike (`stacks/caf` and `stacks/café` both become
/// Flux's `stack-caf`) are refused before anything is applied: the collision is known from
/// the labels. Before, every stack was applied, and then no lock entry was written.
#[test]
fn a_gitops_name_collision_is_refused_before_anything_is_applied() {
    let repo = common::tools_repo();
    let workspace = std::fs::read_to_string(repo.path().join("WORKSPACE.toml")).unwrap();
    repo.write(
        "WORKSPACE.toml",
        &format!(
            "{workspace}\n[gitops]\nformat = \"flux-kustomize\"\nrepo_url = \"https://git.example.com/t.git\"\n"
        ),
    );
    for stack in ["stacks/caf", "stacks/café"] {
        repo.write(
            &format!("{stack}/main.tf"),
            &format!("{NULL_PROVIDER}\nresource \"null_resource\" \"r\" {{}}\n\noutput \"o\" {{\n  value = \"x\"\n}}\n"),
        );
    }
    repo.write(
        "charts/web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    );
    repo.write(
        "charts/web/chart.toml",
        "[inputs]\na = \"stacks/caf:o\"\nb = \"stacks/café:o\"\n",
    );
    repo.commit("two stacks named alike");
    let run = repo.strata(&["apply", "--env", "dev", "--auto-approve"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("would both be delivered as `stack-caf`"),
        "{}",
        run.stderr
    );
    for stack in ["stacks/caf", "stacks/café"] {
        assert!(
            !repo.state_file("dev", stack).exists(),
            "{stack} was applied"
        );
    }
}

/// The events of `env`'s audit ledger.
fn ledger(repo: &Repo, env: &str) -> Vec<Value> {
    std::fs::read_to_string(repo.path().join(format!("environments/{env}/audit.jsonl")))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// After drift nobody wanted, `strata reconcile` puts the environment back to its release
/// lock: each stack with the code of the commit its entry records (not HEAD's, which has
/// moved on), a stack without changes left alone, the GitOps output written again; the lock
/// stays as it was and the ledger gets one event. Without a terminal it needs
/// --auto-approve; a label outside the lock is refused.
#[test]
fn reconcile_puts_back_what_the_lock_records_not_what_head_holds() {
    let repo = small_with_gitops();
    repo.commit("small workspace");
    repo.strata(&["apply", "--env", "dev", "--auto-approve"])
        .assert_ok();
    repo.commit("dev's lock and output");
    let lock_path = repo.path().join("environments/dev/release.lock.toml");
    let lock = std::fs::read_to_string(&lock_path).unwrap();
    // HEAD moves on: code nobody applied yet.
    small(&repo, "2");
    repo.append(
        "stacks/app/main.tf",
        "\nresource \"null_resource\" \"unreleased\" {}\n",
    );
    repo.commit("work in progress");
    // Drift: a resource removed from the state, a delivered manifest edited by hand.
    terraform_state_rm(&repo, "dev", "stacks/app", "null_resource.app");
    let manifests = repo.path().join("deploy/dev/charts/web/manifests.yaml");
    let delivered = std::fs::read_to_string(&manifests).unwrap();
    std::fs::write(
        &manifests,
        delivered.replace("greeting: \"hello\"", "greeting: \"hacked\""),
    )
    .unwrap();
    let (run, _) = drift(&repo, &["--env", "dev"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stderr, run.stdout);

    // No terminal to ask on: refused, nothing changed.
    let run = repo.strata(&["reconcile", "--env", "dev"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--auto-approve"), "{}", run.stderr);
    let run = repo.strata(&["reconcile", "--env", "dev", "charts/nope", "--auto-approve"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("charts/nope is not in dev's release lock"),
        "{}",
        run.stderr
    );
    let (run, _) = drift(&repo, &["--env", "dev"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stderr, run.stdout);
    // At a terminal, each plan with changes is shown and applied only on `yes`.
    let declined = on_terminal(&repo, "reconcile --env dev stacks/app", "no");
    assert_eq!(declined.code, 1, "{}", declined.stdout);
    assert!(
        declined.stdout.contains("+ null_resource.app")
            && declined.stdout.contains("Apply stacks/app in dev?")
            && declined.stdout.contains("not approved"),
        "{}",
        declined.stdout
    );
    // Named alone, a stack leaves the GitOps output as it is.
    assert!(
        !declined.stdout.contains("GitOps output"),
        "{}",
        declined.stdout
    );
    assert_ne!(std::fs::read_to_string(&manifests).unwrap(), delivered);
    // A promotion into dev that stopped half-way is resumed or rolled back first.
    let record = repo.path().join(".strata/promotions/0123.json");
    std::fs::create_dir_all(record.parent().unwrap()).unwrap();
    std::fs::write(
        &record,
        r#"{"plan":"0123","from":"ci","to":"dev","status":"interrupted","message":"","by":"x","started_at":"2026-12-01T00:00:00Z","approvals":[],"steps":[],"rollback":[],"changed":["stacks/app"]}"#,
    )
    .unwrap();
    let run = repo.strata(&["reconcile", "--env", "dev", "--auto-approve"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("stopped half-way"), "{}", run.stderr);
    std::fs::remove_file(&record).unwrap();
    let (run, _) = drift(&repo, &["--env", "dev"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stderr, run.stdout);
    let events_before = ledger(&repo, "dev").len();

    let run = repo.strata(&["--json", "reconcile", "--env", "dev", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stderr, run.stdout);
    let json: Value = serde_json::from_str(&run.stdout).unwrap();
    let result = |label: &str| {
        json["stacks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["label"] == label)
            .map(|s| s["result"].clone())
    };
    assert_eq!(result("stacks/network"), Some("in-sync".into()), "{json}");
    assert_eq!(result("stacks/app"), Some("reconciled".into()), "{json}");
    assert_eq!(
        json["delivered"]["rewritten"],
        serde_json::json!(["charts/web/manifests.yaml"]),
        "{json}"
    );
    // The lock's code, not HEAD's: no resource only HEAD declares, the network's old value.
    let state = std::fs::read_to_string(repo.state_file("dev", "stacks/app")).unwrap();
    assert!(state.contains("\"null_resource\""), "{state}");
    assert!(!state.contains("unreleased"), "{state}");
    let state = std::fs::read_to_string(repo.state_file("dev", "stacks/network")).unwrap();
    assert!(
        state.contains("vpc-1") && !state.contains("vpc-2"),
        "{state}"
    );
    assert_eq!(std::fs::read_to_string(&manifests).unwrap(), delivered);
    assert_eq!(std::fs::read_to_string(&lock_path).unwrap(), lock);
    let (run, _) = drift(&repo, &["--env", "dev"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stderr, run.stdout);

    // One event says what was put back, and the ledger still vouches for the lock.
    let events = ledger(&repo, "dev");
    assert_eq!(events.len(), events_before + 1);
    let event = events.last().unwrap();
    assert_eq!(event["action"], "reconcile", "{event}");
    assert_eq!(event["outcome"], "succeeded", "{event}");
    let targets: Vec<(String, String)> = event["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["label"].as_str().unwrap().to_string(),
                t["result"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        targets,
        [
            ("stacks/network".to_string(), "in-sync".to_string()),
            ("stacks/app".to_string(), "reconciled".to_string())
        ]
    );
    assert_eq!(
        event["details"]["gitops_rewritten"],
        "charts/web/manifests.yaml"
    );
    repo.strata(&["audit", "verify", "--env", "dev"])
        .assert_ok();

    // Nothing left to put back: every stack in sync, nothing applied, exit 0.
    let run = repo.strata(&["reconcile", "--env", "dev", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stderr, run.stdout);
    assert!(
        run.stdout.contains("in sync      stacks/app [dev]"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("GitOps output deploy/dev: in sync"),
        "{}",
        run.stdout
    );

    // A stack that cannot be put back (its state does not load) fails the run, and what
    // reads it is not run against outputs that are not the lock's.
    let network_state = repo.state_file("dev", "stacks/network");
    let saved = std::fs::read(&network_state).unwrap();
    std::fs::write(&network_state, "{ not a state").unwrap();
    let run = repo.strata(&["--json", "reconcile", "--env", "dev", "--auto-approve"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stderr, run.stdout);
    let json: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["stacks"][0]["result"], "failed", "{json}");
    assert_eq!(json["stacks"][1]["result"], "not-run", "{json}");
    assert!(
        json["stacks"][1]["reason"]
            .as_str()
            .unwrap()
            .contains("stacks/network, which it reads, was not put back"),
        "{json}"
    );
    let event = ledger(&repo, "dev").pop().unwrap();
    assert_eq!(event["outcome"], "failed", "{event}");
    std::fs::write(&network_state, saved).unwrap();

    // An environment file committed since a stack was applied is not what its entry
    // records: put back as recorded, and the file named (drift reports it until an apply).
    repo.write(
        "environments/dev/stacks/app/terraform.tfvars",
        "fail = \"0\"\n",
    );
    repo.commit("an override for dev");
    let run = repo.strata(&["--json", "reconcile", "--env", "dev", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stderr, run.stdout);
    let json: Value = serde_json::from_str(&run.stdout).unwrap();
    let app = &json["stacks"][1];
    assert_eq!(app["label"], "stacks/app", "{json}");
    assert!(
        app["reason"].as_str().is_some_and(|r| r.contains(
            "environments/dev/stacks/app/terraform.tfvars was committed since it was applied"
        )),
        "{json}"
    );

    // GitOps settings committed since the chart was applied (another cluster) are not put
    // back: the output is not written, and the run fails saying why.
    repo.append(
        "environments/dev/env.toml",
        "\n[gitops]\nserver = \"https://other-cluster.example.com\"\n",
    );
    repo.commit("dev moves to another cluster");
    let run = repo.strata(&["--json", "reconcile", "--env", "dev", "--auto-approve"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stderr, run.stdout);
    let json: Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(
        json["delivered"]["problem"]
            .as_str()
            .is_some_and(|p| p.contains("the GitOps settings")),
        "{json}"
    );
    assert!(files_containing(&repo.path().join("deploy/dev"), b"other-cluster", &[]).is_empty());

    // Nothing to put back (no lock on this checkout) is no success, and leaves no event.
    let events = ledger(&repo, "dev").len();
    std::fs::remove_file(&lock_path).unwrap();
    let run = repo.strata(&["reconcile", "--env", "dev", "--auto-approve"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stderr, run.stdout);
    assert!(
        run.stderr.contains("nothing to reconcile in dev"),
        "{}",
        run.stderr
    );
    assert_eq!(ledger(&repo, "dev").len(), events);
    // Nor is the delivered output emptied (an empty lock's output would prune every chart).
    assert_eq!(std::fs::read_to_string(&manifests).unwrap(), delivered);
}

/// The GitOps output of an environment whose lock holds stacks only still names the
/// repository and the cluster: settings changed since the stacks were applied are not
/// delivered by a reconcile either (before, the new `repo_url` was written as "put back").
#[test]
fn reconcile_of_stacks_alone_does_not_deliver_changed_gitops_settings() {
    let repo = small_with_gitops();
    repo.remove("charts/web");
    repo.commit("stacks only");
    repo.strata(&["apply", "--env", "dev", "--auto-approve"])
        .assert_ok();
    repo.commit("dev's lock and output");
    let project = repo.path().join("deploy/dev/argocd/project.yaml");
    let before = std::fs::read_to_string(&project).unwrap();
    let workspace = std::fs::read_to_string(repo.path().join("WORKSPACE.toml")).unwrap();
    repo.write(
        "WORKSPACE.toml",
        &workspace.replace(
            "https://git.example.com/t.git",
            "https://git.example.com/other.git",
        ),
    );
    repo.commit("another repository");
    let run = repo.strata(&["--json", "reconcile", "--env", "dev", "--auto-approve"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stderr, run.stdout);
    let json: Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(
        json["delivered"]["problem"]
            .as_str()
            .is_some_and(|p| p.contains("the GitOps settings")),
        "{json}"
    );
    assert_eq!(std::fs::read_to_string(&project).unwrap(), before);
}
