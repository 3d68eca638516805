//! Policies inside `strata check` on the sample workspace: policy tasks after plans and
//! renders, Terraform files as input, the severity gate, unknowns, waivers and SARIF.
#![allow(clippy::disallowed_methods)] // tests drive git, the real strata binary and tools

mod common;
use common::{json_run, sample_repo, tasks_where};

#[test]
fn policies_run_after_renders_and_a_policy_edit_reruns_only_policy_tasks() {
    let repo = sample_repo();
    repo.write(
        "policies/pinned-images/policy.toml",
        "kinds = [\"chart\"]\nlabels = [\"charts/**\"]\n",
    );
    repo.write(
        "policies/pinned-images/images.rego",
        "package main\n\nimport rego.v1\n\ndeny_untrusted_registry contains msg if {\n\tinput.kind == \"Deployment\"\n\tsome c in input.spec.template.spec.containers\n\tnot startswith(c.image, \"registry.acme.example/\")\n\tmsg := sprintf(\"%s: container %s pulls from an untrusted registry\", [input.metadata.name, c.name])\n}\n\nwarn contains \"no PodDisruptionBudget\" if input.kind == \"Deployment\"\n",
    );
    repo.commit("policy");
    let (run, report) = json_run(
        &repo,
        &["check", "--env", "dev", "charts/web", "charts/worker"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let web = policy(&report, "charts/web");
    assert!(
        findings_of(&web, "policies/pinned-images", "deny").is_empty(),
        "{web}"
    );
    assert_eq!(
        findings_of(&web, "policies/pinned-images", "warn").len(),
        1,
        "{web}"
    );
    // The built-in pack governs the chart too: no NetworkPolicy selects its pods.
    assert!(
        findings_of(&web, "builtin/kubernetes", "deny").contains(&"STRATA-K8S-036".to_string()),
        "{web}"
    );
    // The chart's rendered objects are evaluated together: a NetworkPolicy it renders
    // covers its pods.
    repo.write(
        "charts/web/templates/networkpolicy.yaml",
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {{ .Release.Name }}-default-deny\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n",
    );
    let (run, report) = json_run(
        &repo,
        &["check", "--env", "dev", "charts/web", "charts/worker"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let web = policy(&report, "charts/web");
    assert!(
        !findings_of(&web, "builtin/kubernetes", "deny").contains(&"STRATA-K8S-036".to_string()),
        "{web}"
    );
    repo.remove("charts/web/templates/networkpolicy.yaml");

    // An image from another registry in dev's values is denied, with the rule and message.
    let values = "environments/dev/charts/web/values.yaml";
    let text = std::fs::read_to_string(repo.path().join(values)).unwrap();
    repo.write(
        values,
        &format!("{text}\nimage:\n  repository: docker.io/library/nginx\n"),
    );
    let (run, report) = json_run(
        &repo,
        &["check", "--env", "dev", "charts/web", "charts/worker"],
    );
    assert_eq!(run.code, 1);
    let web = policy(&report, "charts/web");
    assert_eq!(web["status"], "failed");
    assert_eq!(
        findings_of(&web, "policies/pinned-images", "deny"),
        ["deny_untrusted_registry"]
    );
    assert!(
        run.stderr
            .contains("DENY  policies/pinned-images (main.deny_untrusted_registry, critical)"),
        "{}",
        run.stderr
    );
    assert_eq!(policy(&report, "charts/worker")["status"], "ok");
    repo.write(values, &text);

    // Editing a policy re-runs exactly the policy tasks it governs; renders stay cached.
    let (run, _) = json_run(
        &repo,
        &["check", "--env", "dev", "charts/web", "charts/worker"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    repo.append("policies/pinned-images/images.rego", "\n# reviewed\n");
    let (run, report) = json_run(
        &repo,
        &["check", "--env", "dev", "charts/web", "charts/worker"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        tasks_where(&report, |t| t["cached"] == false),
        vec!["charts/web policy dev", "charts/worker policy dev"]
    );
    // and `check --affected` picks the governed targets up (charts/api reads a stack's
    // outputs; without dev's state its render cannot run, which is accepted here)
    let (run, report) = json_run(
        &repo,
        &[
            "check",
            "--env",
            "dev",
            "--affected",
            "--base",
            "main",
            "--allow-incomplete",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let policies = tasks_where(&report, |t| t["action"] == "policy");
    assert_eq!(
        policies,
        vec![
            "charts/api policy dev",
            "charts/web policy dev",
            "charts/worker policy dev"
        ]
    );
}

#[test]
fn static_terraform_policies_locate_findings_gate_by_severity_and_report_unknowns() {
    let repo = sample_repo();
    repo.write(
        "policies/guard/policy.toml",
        "kinds = [\"stack\", \"module\"]\nnamespaces = [\"guard\"]\n",
    );
    repo.write(
        "policies/guard/guard.rego",
        r#"package guard

import rego.v1

deny contains finding if {
	some name, bodies in input.resource.null_resource
	some r in bodies
	not r.triggers
	finding := {
		"msg": sprintf("null_resource.%s has no triggers", [name]),
		"id": "GUARD-1",
		"severity": "high",
		"resource": sprintf("null_resource.%s", [name]),
	}
}

unknown contains finding if {
	some name, bodies in input.resource.null_resource
	some r in bodies
	is_string(r.triggers)
	startswith(r.triggers, "${")
	finding := {"msg": sprintf("null_resource.%s triggers are known only after apply", [name]), "resource": sprintf("null_resource.%s", [name])}
}
"#,
    );
    repo.commit("guard policy");

    // A module is checked without an environment: every deny blocks, located at its block.
    let main = std::fs::read_to_string(repo.path().join("modules/naming/main.tf")).unwrap();
    repo.write(
        "modules/naming/main.tf",
        &format!("{main}\nresource \"null_resource\" \"bare\" {{}}\n"),
    );
    let line = main.lines().count() + 2;
    let (run, report) = json_run(&repo, &["check", "--env", "dev", "modules/naming"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let p = policy(&report, "modules/naming");
    assert_eq!(p["status"], "failed");
    assert_eq!(p["summary"]["blocking"], 1);
    assert_eq!(
        p["summary"]["findings"][0]["file"],
        "modules/naming/main.tf"
    );
    assert_eq!(p["summary"]["findings"][0]["line"], line);
    assert!(
        run.stderr.contains(&format!("DENY  policies/guard (guard.deny, high) at modules/naming/main.tf:{line}: null_resource.bare has no triggers")),
        "{}",
        run.stderr
    );

    // `policy eval` shows the same findings grouped by target, with the same exit code.
    let eval = repo.strata(&["policy", "eval", "--env", "dev", "modules/naming"]);
    assert_eq!(eval.code, 1, "{eval:?}");
    assert!(
        eval.stdout.starts_with("modules/naming: FAIL\n"),
        "{}",
        eval.stdout
    );
    assert!(
        eval.stdout.contains(&format!(
            "at modules/naming/main.tf:{line}: null_resource.bare has no triggers"
        )),
        "{}",
        eval.stdout
    );

    // A computed value is an unknown, reported and not a pass or a failure.
    let vars = "\nvariable \"extra_triggers\" {\n  type    = map(string)\n  default = {}\n}\n\nresource \"null_resource\" \"computed\" {\n  triggers = var.extra_triggers\n}\n";
    repo.write("modules/naming/main.tf", &format!("{main}{vars}"));
    let (run, report) = json_run(&repo, &["check", "--env", "dev", "modules/naming"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let p = policy(&report, "modules/naming");
    assert_eq!(p["summary"]["unknown"], 1, "{p}");
    assert_eq!(p["summary"]["deny"], 0);
    repo.write("modules/naming/main.tf", &main);

    // Terraform's JSON syntax is read too, as conftest and `policy scan` read it.
    repo.write(
        "modules/naming/extra.tf.json",
        r#"{"resource": {"null_resource": {"from_json": [{}]}}}"#,
    );
    let (run, report) = json_run(&repo, &["check", "--env", "dev", "modules/naming"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let p = policy(&report, "modules/naming");
    assert_eq!(
        p["summary"]["findings"][0]["msg"], "null_resource.from_json has no triggers",
        "{p}"
    );
    assert_eq!(
        p["summary"]["findings"][0]["file"],
        "modules/naming/extra.tf.json"
    );
    std::fs::remove_file(repo.path().join("modules/naming/extra.tf.json")).unwrap();

    // In dev (max_severity = "high") a high finding in a stack is reported but does not block.
    let (apply, _) = json_run(
        &repo,
        &["apply", "--auto-approve", "--env", "dev", "stacks/network"],
    );
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    let net = std::fs::read_to_string(repo.path().join("stacks/network/main.tf")).unwrap();
    repo.write(
        "stacks/network/main.tf",
        &format!("{net}\nresource \"null_resource\" \"bare\" {{}}\n"),
    );
    let (run, report) = json_run(&repo, &["check", "--env", "dev", "stacks/network"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let p = policy(&report, "stacks/network");
    assert_eq!(p["summary"]["deny"], 1);
    assert_eq!(p["summary"]["blocking"], 0);
    assert_eq!(p["summary"]["max_severity"], "high");
}

#[test]
fn sarif_report_validates_against_the_sarif_2_1_0_schema() {
    let schema = common::repo_root().join(".tools/sarif-2.1.0.json");
    assert!(
        schema.exists(),
        "the SARIF schema is missing: run scripts/test (it fetches it)"
    );
    let repo = sample_repo();
    repo.write("policies/guard/policy.toml", "kinds = [\"module\"]\n");
    repo.write(
        "policies/guard/guard.rego",
        "package main\n\nimport rego.v1\n\ndeny contains {\"msg\": sprintf(\"null_resource.%s has no triggers\", [n]), \"id\": \"GUARD-1\", \"severity\": \"high\", \"title\": \"Resource without triggers\", \"remediation\": \"Add triggers.\", \"resource\": sprintf(\"null_resource.%s\", [n])} if {\n\tsome n, bodies in input.resource.null_resource\n\tsome r in bodies\n\tnot r.triggers\n}\n\nwarn contains \"modules should have outputs\" if not input.output\n",
    );
    let main = std::fs::read_to_string(repo.path().join("modules/dns-zone/main.tf")).unwrap();
    repo.write(
        "modules/dns-zone/main.tf",
        &format!("{main}\nresource \"null_resource\" \"bare\" {{}}\n"),
    );
    repo.commit("guard");
    let sarif = repo.path().join("strata.sarif");
    let (run, _) = json_run(
        &repo,
        &[
            "check",
            "--env",
            "dev",
            "--keep-going",
            "--sarif",
            sarif.to_str().unwrap(),
            "modules/dns-zone",
            "modules/naming",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import json, sys, jsonschema; s = json.load(open(sys.argv[1])); d = json.load(open(sys.argv[2])); jsonschema.Draft4Validator(s).validate(d); print(len(d['runs'][0]['results']))",
        ])
        .arg(&schema)
        .arg(&sarif)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "SARIF does not validate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    let results = doc["runs"][0]["results"].as_array().unwrap();
    let deny = results.iter().find(|r| r["ruleId"] == "GUARD-1").unwrap();
    assert_eq!(deny["level"], "error");
    assert_eq!(
        deny["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "modules/dns-zone/main.tf"
    );
    assert_eq!(
        deny["locations"][0]["physicalLocation"]["region"]["startLine"],
        main.lines().count() + 2
    );
    let rule =
        &doc["runs"][0]["tool"]["driver"]["rules"][deny["ruleIndex"].as_u64().unwrap() as usize];
    assert_eq!(rule["help"]["text"], "Add triggers.");
    assert_eq!(rule["properties"]["security-severity"], "8.0");
    assert!(
        results.iter().any(|r| r["level"] == "warning"),
        "warnings are reported too"
    );
}

/// A change that only removes a waiver affects the policies (and, through them, the
/// targets they govern): `check --affected` runs the policy task it unblocked and fails,
/// rather than run nothing and pass.
#[test]
fn removing_a_waiver_affects_what_it_waived() {
    let repo = sample_repo();
    repo.write("policies/guard/policy.toml", "kinds = [\"module\"]\n");
    repo.write(
        "policies/guard/guard.rego",
        "package main\n\nimport rego.v1\n\ndeny contains {\"msg\": sprintf(\"null_resource.%s has no triggers\", [n]), \"id\": \"GUARD-1\"} if {\n\tsome n, bodies in input.resource.null_resource\n\tsome r in bodies\n\tnot r.triggers\n}\n",
    );
    let main = std::fs::read_to_string(repo.path().join("modules/dns-zone/main.tf")).unwrap();
    repo.write(
        "modules/dns-zone/main.tf",
        &format!("{main}\nresource \"null_resource\" \"bare\" {{}}\n"),
    );
    repo.write(
        "policies/waivers.toml",
        "[[waiver]]\nrule = \"GUARD-1\"\ntargets = \"modules/dns-*\"\nowner = \"dns-team@acme.example\"\nreason = \"moving\"\nexpires = \"2099-12-31\"\n",
    );
    repo.commit("guard, waived");
    let (run, _) = json_run(&repo, &["check", "--env", "dev", "modules/dns-zone"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    repo.git(&["checkout", "-q", "-b", "unwaive"]);
    repo.remove("policies/waivers.toml");
    repo.commit("the waiver goes");
    let (_, affected) = json_run(&repo, &["affected", "--base", "main"]);
    let guard = affected["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == "policies/guard")
        .unwrap_or_else(|| panic!("{affected}"));
    assert_eq!(guard["files"], serde_json::json!(["policies/waivers.toml"]));
    let (run, report) = json_run(
        &repo,
        &["check", "--affected", "--base", "main", "--env", "dev"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let failed = tasks_where(&report, |t| t["status"] == "failed");
    assert_eq!(failed, vec!["modules/dns-zone policy"], "{report}");
}

/// The same for a waiver of a built-in pack rule, which no workspace policy stands for: the
/// targets the changed waiver names are affected (their hashes are not: nothing but their
/// policy tasks runs again), and `check --affected` fails where a full check fails.
#[test]
fn narrowing_a_waiver_of_the_builtin_pack_affects_the_targets_it_named() {
    let repo = common::tools_repo();
    repo.write(
        "charts/app/Chart.yaml",
        "apiVersion: v2\nname: app\nversion: 0.1.0\n",
    );
    repo.write(
        "charts/app/templates/pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: c\n      image: nginx:1.25\n      securityContext:\n        privileged: true\n",
    );
    let mut waivers = String::new();
    for rule in [
        "privileged",
        "image_digest",
        "image_pull_policy",
        "network_policy",
        "cpu_requests",
        "cpu_limits",
        "memory_requests",
        "memory_limits",
        "privilege_escalation",
        "run_as_root",
        "runs_as_non_root",
        "read_only_root_filesystem",
        "drop_all_capabilities",
        "liveness_probe",
        "readiness_probe",
        "service_account_token",
        "seccomp_profile",
        "net_raw",
        "own_security_fields",
    ] {
        waivers.push_str(&format!(
            "[[waiver]]\nrule = \"builtin/kubernetes/builtin.kubernetes.deny_{rule}\"\ntargets = \"charts/*\"\nowner = \"me@example.com\"\nreason = \"r\"\nexpires = \"2099-01-01\"\n\n"
        ));
    }
    repo.write("policies/waivers.toml", &waivers);
    repo.commit("a privileged pod, waived");
    let (run, report) = json_run(&repo, &["check", "--env", "dev"]);
    assert_eq!(run.code, 0, "{}\n{report}", run.stderr);
    repo.git(&["checkout", "-q", "-b", "narrow"]);
    repo.write(
        "policies/waivers.toml",
        &waivers.replacen("targets = \"charts/*\"", "targets = \"charts/legacy-*\"", 1),
    );
    repo.commit("the privileged waiver narrowed");
    let (_, affected) = json_run(&repo, &["affected", "--base", "main"]);
    let targets = affected["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 1, "{affected}");
    assert_eq!(targets[0]["label"], "charts/app");
    assert_eq!(
        targets[0]["files"],
        serde_json::json!(["policies/waivers.toml"])
    );
    let (run, report) = json_run(
        &repo,
        &["check", "--affected", "--base", "main", "--env", "dev"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let failed = tasks_where(&report, |t| t["status"] == "failed");
    assert_eq!(failed, vec!["charts/app policy dev"], "{report}");
    // Its render comes from the cache: only the policy judged anew.
    let ran = tasks_where(&report, |t| t["cached"] == false && t["status"] == "ok");
    assert!(ran.is_empty(), "{ran:?}");
}

#[test]
fn waivers_accept_findings_until_they_expire_and_inline_skips_need_one() {
    let repo = sample_repo();
    repo.write(
        "policies/guard/policy.toml",
        "kinds = [\"module\", \"stack\"]\n",
    );
    repo.write(
        "policies/guard/guard.rego",
        "package main\n\nimport rego.v1\n\ndeny contains {\"msg\": sprintf(\"null_resource.%s has no triggers\", [n]), \"id\": \"GUARD-1\", \"checkov\": \"CKV_X_1\", \"severity\": \"high\", \"resource\": sprintf(\"null_resource.%s\", [n])} if {\n\tsome n, bodies in input.resource.null_resource\n\tsome r in bodies\n\tnot r.triggers\n}\n",
    );
    let main = std::fs::read_to_string(repo.path().join("modules/dns-zone/main.tf")).unwrap();
    repo.write(
        "modules/dns-zone/main.tf",
        &format!("{main}\nresource \"null_resource\" \"bare\" {{}}\n"),
    );
    repo.commit("guard");
    let policy = |report: &serde_json::Value| {
        report["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["action"] == "policy")
            .unwrap()
            .clone()
    };
    let waiver = |rule: &str, targets: &str, env: Option<&str>, expires: &str| {
        format!(
            "[[waiver]]\nrule = \"{rule}\"\ntargets = \"{targets}\"\n{}owner = \"dns-team@acme.example\"\nreason = \"zone moves to the new account\"\nexpires = \"{expires}\"\n",
            env.map(|e| format!("environment = \"{e}\"\n")).unwrap_or_default()
        )
    };
    let check = || json_run(&repo, &["check", "--env", "dev", "modules/dns-zone"]);

    // No waiver: the finding blocks.
    let (run, _) = check();
    assert_eq!(run.code, 1);

    // A waiver in force accepts it (by id), and says so.
    repo.write(
        "policies/waivers.toml",
        &waiver("GUARD-1", "modules/dns-*", None, "2099-12-31"),
    );
    let (run, report) = check();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let p = policy(&report);
    assert_eq!(p["summary"]["waived"], 1);
    assert_eq!(
        p["summary"]["findings"][0]["waived_by"],
        "policies/waivers.toml:1 (owner dns-team@acme.example, until 2099-12-31)"
    );

    // An environment-scoped waiver does not cover a check without that environment.
    repo.write(
        "policies/waivers.toml",
        &waiver("GUARD-1", "modules/dns-*", Some("prod"), "2099-12-31"),
    );
    assert_eq!(check().0.code, 1);

    // An expired waiver fails the check, naming it, even though it matches.
    repo.write(
        "policies/waivers.toml",
        &format!("\n{}", waiver("CKV_X_1", "modules/**", None, "2020-01-31")),
    );
    let (run, report) = check();
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("EXPIRED waiver policies/waivers.toml:2 for CKV_X_1 on modules/** (owner dns-team@acme.example) expired on 2020-01-31"),
        "{}",
        run.stderr
    );
    assert_eq!(
        policy(&report)["summary"]["expired_waivers"][0],
        "policies/waivers.toml:2"
    );

    // An inline skip without a registered waiver is reported and not honoured.
    repo.remove("policies/waivers.toml");
    repo.write(
        "modules/dns-zone/main.tf",
        &format!("{main}\nresource \"null_resource\" \"bare\" {{\n  #checkov:skip=CKV_X_1:not needed here\n}}\n"),
    );
    let (run, report) = check();
    assert_eq!(run.code, 1);
    let p = policy(&report);
    let findings = p["summary"]["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["rule"] == "unregistered_inline_skip"
                && f["line"] == main.lines().count() + 3),
        "{p}"
    );
    // Registered, it is honoured.
    repo.write(
        "policies/waivers.toml",
        &waiver("CKV_X_1", "modules/dns-zone", None, "2099-01-01"),
    );
    let (run, _) = check();
    assert_eq!(run.code, 0, "{}", run.stderr);

    // A malformed waivers file is bad input: exit 2, file and line.
    repo.write(
        "policies/waivers.toml",
        &waiver("CKV_X_1", "modules/dns-zone", None, "next year"),
    );
    let run = repo.strata(&["check", "--env", "dev", "modules/dns-zone"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("--> policies/waivers.toml:1"),
        "{}",
        run.stderr
    );
}

/// The findings of `policy` with `outcome` in a policy task's summary: each finding's id,
/// else its rule.
fn findings_of(task: &serde_json::Value, policy: &str, outcome: &str) -> Vec<String> {
    task["summary"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["policy"] == policy && f["outcome"] == outcome)
        .map(|f| {
            f["details"]["id"]
                .as_str()
                .or(f["rule"].as_str())
                .unwrap()
                .to_string()
        })
        .collect()
}

/// The policy task of `label` in a check report.
fn policy(report: &serde_json::Value, label: &str) -> serde_json::Value {
    report["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == label && t["action"] == "policy")
        .unwrap()
        .clone()
}

/// A policy that did not run because the plan it reads failed is no pass: `policy eval`
/// says so in its exit code and in its JSON.
#[test]
fn policy_eval_of_a_target_whose_plan_failed_is_not_ok() {
    let repo = common::tools_repo();
    repo.write(
        "stacks/app/main.tf",
        &format!(
            "{}\nvariable \"size\" {{\n  type = string\n  validation {{\n    condition     = var.size != \"huge\"\n    error_message = \"The size must not be huge.\"\n  }}\n}}\n\nresource \"null_resource\" \"r\" {{\n  triggers = {{ size = var.size }}\n}}\n",
            common::NULL_PROVIDER
        ),
    );
    repo.write(
        "environments/dev/stacks/app/terraform.tfvars",
        "size = \"huge\"\n",
    );
    repo.commit("a stack whose plan fails in dev");
    let run = repo.strata(&["--json", "policy", "eval", "--env", "dev"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.json()["ok"], false, "{}", run.stdout);
}

/// A chart that renders no object is still evaluated, once with a null input, as conftest
/// evaluates an empty file: a rule requiring something fires.
#[test]
fn a_chart_rendering_nothing_is_still_evaluated() {
    let repo = common::tools_repo();
    repo.append("WORKSPACE.toml", "\n[policy]\nbuiltin = false\n");
    repo.write(
        "charts/web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    );
    repo.write(
        "charts/web/templates/maybe.yaml",
        "{{- if .Values.enabled }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n{{- end }}\n",
    );
    repo.write("policies/p/policy.toml", "kinds = [\"chart\"]\n");
    repo.write(
        "policies/p/p.rego",
        "package main\n\nimport rego.v1\n\ndeny contains \"no Kubernetes object was rendered\" if not input.kind\n",
    );
    repo.commit("a chart rendering nothing");
    let (run, report) = json_run(&repo, &["check", "--env", "dev", "charts/web"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let p = policy(&report, "charts/web");
    assert_eq!(p["status"], "failed", "{p}");
    assert!(
        p["summary"]["findings"][0]["msg"]
            .as_str()
            .unwrap()
            .contains("no Kubernetes object"),
        "{p}"
    );
}

/// A `labels` glob that matches no target (a typo: `chart/**`) leaves the policy governing
/// nothing through it: every run says so.
#[test]
fn a_policy_label_glob_matching_nothing_is_warned_about() {
    let repo = sample_repo();
    repo.write(
        "policies/guard/policy.toml",
        "kinds = [\"chart\"]\nlabels = [\"chart/**\"]\n",
    );
    repo.write(
        "policies/guard/guard.rego",
        "package main\n\nimport rego.v1\n\ndeny contains \"guard\" if input.kind\n",
    );
    repo.commit("guard with a typo");
    let run = repo.strata(&["check", "modules/naming"]);
    assert!(
        run.stderr
            .contains("policies/guard: `labels` glob `chart/**` in policies/guard/policy.toml matches no chart"),
        "{}",
        run.stderr
    );
}

/// A `namespaces` entry that matches no package of the policy leaves it checking nothing:
/// every `check` says so on stderr, when its policy tasks run and when they come from the
/// cache, not only in a task log shown with `-v`.
#[test]
fn a_namespace_matching_no_package_is_warned_about_on_every_run() {
    let repo = sample_repo();
    repo.write(
        "policies/guard/policy.toml",
        "kinds = [\"chart\"]\nnamespaces = [\"k8s.guard\"]\n",
    );
    repo.write(
        "policies/guard/guard.rego",
        "package k8s.guards\n\nimport rego.v1\n\ndeny contains \"guard\" if input.kind == \"Nothing\"\n",
    );
    repo.commit("guard with a namespace typo");
    let warning = "policies/guard: namespace `k8s.guard` matches no package of the policy";
    for run in ["fresh", "cached"] {
        let out = repo.strata(&["check", "charts/web"]);
        assert!(out.stderr.contains(warning), "{run}: {}", out.stderr);
    }
}

/// The variable files terraform is given for a stack (its own `terraform.tfvars`, the
/// environment's for it) are inputs of its policies in conftest's shape, as `policy scan`
/// of the stack's directory gives them: a policy on them judged `check` green while the
/// scan failed. A sensitive variable's value is hidden from the policy.
#[test]
fn a_stacks_variable_files_reach_its_policies_with_sensitive_values_hidden() {
    let repo = common::tools_repo();
    let workspace = std::fs::read_to_string(repo.path().join("WORKSPACE.toml")).unwrap();
    repo.write(
        "WORKSPACE.toml",
        &format!("{workspace}\n[policy]\nbuiltin = false\n"),
    );
    repo.write(
        "stacks/app/main.tf",
        &format!(
            "{}\nvariable \"deletion_protection\" {{}}\nvariable \"size\" {{}}\nvariable \"db_url\" {{}}\nvariable \"db_password\" {{\n  sensitive = true\n}}\n\nresource \"null_resource\" \"x\" {{\n  triggers = {{\n    p = var.deletion_protection\n    s = var.size\n  }}\n}}\n",
            common::NULL_PROVIDER
        ),
    );
    repo.write(
        "stacks/app/terraform.tfvars",
        "deletion_protection = false\ndb_password         = \"pw-Hidden-7c1e9\"\ndb_url              = \"postgres://app:pw-Hidden-7c1e9@db\"\n",
    );
    repo.write("environments/dev/stacks/app/terraform.tfvars", "size = 9\n");
    repo.write("policies/vars/policy.toml", "kinds = [\"stack\"]\n");
    repo.write(
        "policies/vars/vars.rego",
        "package main\n\nimport rego.v1\n\ndeny contains \"deletion protection is off\" if input.deletion_protection == false\n\ndeny contains sprintf(\"password %v\", [input.db_password]) if input.db_password\n\nwarn contains \"size is large\" if input.size > 8\n\nwarn contains sprintf(\"url %v\", [input.db_url]) if input.db_url\n",
    );
    repo.commit("a stack, its variable files and a policy on them");
    let (run, report) = json_run(&repo, &["check", "--env", "dev", "stacks/app"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let app = policy(&report, "stacks/app");
    let messages = |outcome: &str| -> Vec<(String, String)> {
        app["summary"]["findings"]
            .as_array()
            .unwrap_or_else(|| panic!("{app}"))
            .iter()
            .filter(|f| f["outcome"] == outcome)
            .map(|f| {
                (
                    f["msg"].as_str().unwrap_or_default().to_string(),
                    f["file"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    };
    let denies = messages("deny");
    assert!(
        denies.contains(&(
            "deletion protection is off".to_string(),
            "stacks/app/terraform.tfvars".to_string()
        )),
        "{app}"
    );
    assert!(
        denies
            .iter()
            .any(|(m, _)| m == "password (sensitive value)"),
        "{app}"
    );
    // The sensitive value inside another variable's value is redacted from what the
    // policy reports too.
    assert_eq!(
        messages("warn"),
        vec![
            (
                "url postgres://app:(sensitive value)@db".to_string(),
                "stacks/app/terraform.tfvars".to_string()
            ),
            (
                "size is large".to_string(),
                "environments/dev/stacks/app/terraform.tfvars".to_string()
            )
        ],
        "{app}"
    );
    assert!(!run.stdout.contains("pw-Hidden-7c1e9") && !run.stderr.contains("pw-Hidden-7c1e9"));
    assert_eq!(
        common::files_containing(&repo.path().join(".strata"), b"pw-Hidden-7c1e9", &["work"]),
        Vec::<std::path::PathBuf>::new()
    );
}

/// What policies and waivers say reaches people as text: a message or an owner holding a
/// carriage return or terminal escapes (here one that would erase the DENY line and print a
/// green "all clear" over it) is printed without them, by `check` and `policy waivers`.
/// Before, the log of a policy task and the waiver's owner were printed as written.
#[test]
fn terminal_escapes_in_policy_messages_and_waivers_are_not_printed() {
    let repo = common::tools_repo();
    repo.append("WORKSPACE.toml", "\n[policy]\nbuiltin = false\n");
    repo.write(
        "stacks/app/main.tf",
        &format!(
            "{}\nresource \"null_resource\" \"a\" {{}}\n",
            common::NULL_PROVIDER
        ),
    );
    repo.write("policies/p/policy.toml", "kinds = [\"stack\"]\n");
    repo.write(
        "policies/p/p.rego",
        "package main\n\nimport rego.v1\n\ndeny contains \"bucket is public\\r\\u001b[2K\\u001b[32mall clear\\u001b[0m\" if true\n\nwarn contains {\"msg\": \"old rule\", \"id\": \"OLD-1\"} if true\n",
    );
    repo.write(
        "policies/waivers.toml",
        "[[waiver]]\nrule = \"OLD-1\"\ntargets = \"stacks/app\"\nowner = \"sre@acme.example\\r\\u001b[2K\"\nreason = \"moving\"\nexpires = \"2020-01-01\"\n",
    );
    repo.commit("a policy and a waiver with escapes");
    let check = repo.strata(&["check", "-v", "--env", "dev", "stacks/app"]);
    assert_eq!(check.code, 1, "{}\n{}", check.stdout, check.stderr);
    let waivers = repo.strata(&["policy", "waivers"]);
    for (what, run) in [("check", &check), ("policy waivers", &waivers)] {
        let all = format!("{}{}", run.stdout, run.stderr);
        assert!(
            !all.contains('\u{1b}') && !all.contains('\r'),
            "{what}: {all:?}"
        );
    }
    let all = format!("{}{}", check.stdout, check.stderr);
    assert!(all.contains("bucket is publicall clear"), "{all}");
    assert!(
        waivers.stdout.contains("owner sre@acme.example"),
        "{}",
        waivers.stdout
    );
}
