//! `strata check` / `apply` on the sample workspace with the real terraform and helm.
#![allow(clippy::disallowed_methods)] // tests drive git, the real strata binary and tools

mod common;
use common::{json_run, sample_repo, tasks_where, tools_repo, Run, NULL_PROVIDER};

#[test]
fn second_run_is_all_cache_hits_and_a_module_edit_reruns_exactly_its_dependents() {
    let repo = sample_repo();
    // Give dev a state so every plan can run (no cache, so check's first run does everything).
    let (apply, report) = json_run(
        &repo,
        &["--no-cache", "apply", "--auto-approve", "--env", "dev"],
    );
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    assert!(report["ok"].as_bool().unwrap());
    // Each plan ran after the stacks it reads were applied: none is provisional.
    assert_eq!(
        tasks_where(&report, |t| t["provisional"] == true),
        Vec::<String>::new()
    );
    assert!(!apply.stderr.contains("provisional"), "{}", apply.stderr);

    let (first, r1) = json_run(&repo, &["check", "--env", "dev"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let all = tasks_where(&r1, |_| true);
    assert_eq!(
        tasks_where(&r1, |t| t["status"] == "ok" && t["cached"] == false),
        all,
        "first run executes every task"
    );
    assert!(all.len() >= 30, "{all:?}");

    let (second, r2) = json_run(&repo, &["check", "--env", "dev"]);
    assert_eq!(second.code, 0);
    assert_eq!(
        tasks_where(&r2, |t| t["cached"] == true),
        all,
        "second run is all cache hits"
    );
    // same results and summaries
    for (a, b) in r1["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .zip(r2["tasks"].as_array().unwrap())
    {
        assert_eq!(a["summary"], b["summary"], "{a} vs {b}");
        assert_eq!(a["key"], b["key"]);
    }

    repo.append("modules/postgres/main.tf", "\n# tuning note\n");
    let (third, r3) = json_run(&repo, &["check", "--env", "dev"]);
    assert_eq!(third.code, 0, "{}", third.stderr);
    let rerun = tasks_where(&r3, |t| t["cached"] == false);
    assert_eq!(
        rerun,
        vec![
            "charts/api deps",
            "charts/api lint dev",
            "charts/api policy dev",
            "charts/api render dev",
            "charts/api test dev",
            "modules/postgres fmt",
            "modules/postgres policy",
            "modules/postgres validate",
            "stacks/database fmt",
            "stacks/database init dev",
            "stacks/database plan dev",
            "stacks/database policy dev",
            "stacks/database validate",
            "stacks/observability fmt",
            "stacks/observability init dev",
            "stacks/observability plan dev",
            "stacks/observability policy dev",
            "stacks/observability validate",
        ]
    );
}

#[test]
fn plan_reruns_after_the_state_changed() {
    let repo = sample_repo();
    let (apply, _) = json_run(
        &repo,
        &["apply", "--auto-approve", "--env", "dev", "stacks/network"],
    );
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    let (_, r1) = json_run(&repo, &["plan", "--env", "dev", "stacks/network"]);
    let (_, r2) = json_run(&repo, &["plan", "--env", "dev", "stacks/network"]);
    assert_eq!(
        tasks_where(&r2, |t| t["cached"] == false),
        Vec::<String>::new()
    );
    // Someone else writes the state (a new serial, as any apply or import would).
    let state = repo.state_file("dev", "stacks/network");
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    json["serial"] = (json["serial"].as_u64().unwrap() + 1).into();
    std::fs::write(&state, serde_json::to_vec_pretty(&json).unwrap()).unwrap();
    let (_, r3) = json_run(&repo, &["plan", "--env", "dev", "stacks/network"]);
    assert_eq!(
        tasks_where(&r3, |t| t["cached"] == false),
        vec!["stacks/network plan dev"]
    );
    assert_ne!(r1["tasks"][1]["key"], r3["tasks"][1]["key"]);
    // `hash --explain --env` shows the same key and what it covers: the new state.
    let (_, explain) = json_run(
        &repo,
        &["hash", "--explain", "--env", "dev", "stacks/network"],
    );
    let plan = common::task(&explain, "stacks/network", "plan");
    assert_eq!(plan["key"], r3["tasks"][1]["key"]);
    let state = plan["fingerprint"]["state"].as_str().unwrap();
    // lineage:serial of the state as the backend returns it; its digest (which the key
    // covers) is not shown: a state holds sensitive values.
    let parts: Vec<&str> = state.splitn(3, ':').collect();
    assert_eq!(parts.len(), 3, "{state}");
    assert_eq!(parts[0], json["lineage"].as_str().unwrap());
    assert_eq!(parts[1], json["serial"].to_string());
    assert_eq!(
        parts[2], "(digest not shown: a state holds sensitive values)",
        "{state}"
    );
    assert!(plan["fingerprint"]["env_inputs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["path"] == "environments/dev/stacks/network/terraform.tfvars"));
    // `TF_*` variables count by a digest of their values, which may be secret (a short one
    // could be confirmed by trying every guess): their names are shown, the digest not.
    let with_var = repo
        .command(&[
            "--json",
            "hash",
            "--explain",
            "--env",
            "dev",
            "stacks/network",
        ])
        .env("TF_VAR_db_password", "4821")
        .output()
        .unwrap();
    let with_var: serde_json::Value = serde_json::from_slice(&with_var.stdout).unwrap();
    let tf_vars = common::task(&with_var, "stacks/network", "plan")["fingerprint"]["tf_vars"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        tf_vars, "(digest not shown: their values may be secret) (TF_VAR_db_password)",
        "{tf_vars}"
    );
    // Read by a person: a policy task's key names the policies it covers, as the JSON does.
    let policy = common::task(&explain, "stacks/network", "policy");
    let governing = policy["fingerprint"]["policies"].as_array().unwrap();
    assert!(!governing.is_empty(), "{policy}");
    let text = repo.strata(&["hash", "--explain", "--env", "dev", "stacks/network"]);
    for p in governing {
        let line = format!(
            "  policy: {} {}",
            p[1].as_str().unwrap(),
            p[0].as_str().unwrap()
        );
        assert!(text.stdout.contains(&line), "{line}\n{}", text.stdout);
    }
}

#[test]
fn plans_wait_for_upstream_state_and_are_marked_provisional() {
    let repo = sample_repo();
    // Without dev's state the downstream plans cannot run: the run says so and fails...
    let (run, report) = json_run(&repo, &["plan", "--env", "dev"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        !report["incomplete"].as_array().unwrap().is_empty(),
        "{report}"
    );
    // ...unless that is accepted.
    let (run, report) = json_run(&repo, &["plan", "--env", "dev", "--allow-incomplete"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let db = report["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == "stacks/database" && t["action"] == "plan")
        .unwrap();
    assert_eq!(db["status"], "skipped");
    assert!(
        db["reason"]
            .as_str()
            .unwrap()
            .contains("stacks/network has no state in dev yet"),
        "{db}"
    );

    let (apply, _) = json_run(&repo, &["apply", "--auto-approve", "--env", "dev"]);
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    // network gets a pending change: plans consuming its outputs are provisional
    let tfvars = "environments/dev/stacks/network/terraform.tfvars";
    let text = std::fs::read_to_string(repo.path().join(tfvars)).unwrap();
    repo.write(
        tfvars,
        &text.replace(
            "flow_log_retention_days = 7",
            "flow_log_retention_days = 14",
        ),
    );
    let (_, report) = json_run(&repo, &["plan", "--env", "dev"]);
    let find = |label: &str| {
        report["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["label"] == label && t["action"] == "plan")
            .unwrap()
            .clone()
    };
    let net = find("stacks/network");
    assert!(
        net["summary"]["add"].as_u64().unwrap()
            + net["summary"]["change"].as_u64().unwrap()
            + net["summary"]["destroy"].as_u64().unwrap()
            > 0,
        "{net}"
    );
    assert_eq!(find("stacks/database")["provisional"], true);
    assert_eq!(find("stacks/network")["provisional"], false);
}

#[test]
fn corrupt_blob_and_truncated_result_are_misses_that_get_repaired() {
    let repo = sample_repo();
    let (first, r1) = json_run(
        &repo,
        &["check", "--env", "dev", "charts/web", "stacks/network"],
    );
    assert_eq!(first.code, 0, "{}", first.stderr);
    let cache = repo.path().join(".strata/cache");
    // truncate one result and corrupt one blob
    let render = r1["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["action"] == "render")
        .unwrap();
    let result_path = cache.join("ac").join(render["key"].as_str().unwrap());
    let result: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&result_path).unwrap()).unwrap();
    let manifests = result["outputs"]["manifests.yaml"]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let blob_path = cache.join("cas").join(&manifests[..2]).join(&manifests);
    let mut blob = std::fs::read(&blob_path).unwrap();
    blob[0] ^= 0xff;
    std::fs::write(&blob_path, &blob).unwrap();
    let plan = r1["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["action"] == "plan")
        .unwrap();
    let plan_result = cache.join("ac").join(plan["key"].as_str().unwrap());
    let bytes = std::fs::read(&plan_result).unwrap();
    std::fs::write(&plan_result, &bytes[..bytes.len() / 3]).unwrap();

    let (second, r2) = json_run(
        &repo,
        &["check", "--env", "dev", "charts/web", "stacks/network"],
    );
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(
        tasks_where(&r2, |t| t["cached"] == false),
        vec!["charts/web render dev", "stacks/network plan dev"]
    );
    assert!(second.stderr.contains("is corrupt"), "{}", second.stderr);
    for (a, b) in r1["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .zip(r2["tasks"].as_array().unwrap())
    {
        assert_eq!(a["summary"], b["summary"]);
    }
    // repaired: the next run is all hits, with no warning
    let (third, r3) = json_run(
        &repo,
        &["check", "--env", "dev", "charts/web", "stacks/network"],
    );
    assert_eq!(
        tasks_where(&r3, |t| t["cached"] == false),
        Vec::<String>::new()
    );
    assert!(!third.stderr.contains("corrupt"), "{}", third.stderr);
}

/// A chart with a vendored subchart in `charts/` and a `file://` dependency: the
/// dependency is still built (a `charts/` that exists is not taken as built), so lint and
/// render see both.
#[test]
fn a_vendored_subchart_beside_a_file_dependency_is_built_too() {
    let repo = sample_repo();
    // The sample workspace ignores built `charts/` folders; this chart commits one.
    repo.write("charts/.gitignore", "*/Chart.lock\n");
    repo.write(
        "charts/web/charts/sub/Chart.yaml",
        "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
    );
    repo.write(
        "charts/web/charts/sub/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sub\ndata:\n  from: sub\n",
    );
    repo.append(
        "charts/web/Chart.yaml",
        "  - name: sub\n    version: 0.1.0\n",
    );
    repo.commit("a vendored subchart");
    let (run, report) = json_run(
        &repo,
        &["check", "--env", "dev", "--keep-going", "charts/web"],
    );
    for action in ["deps", "lint", "render"] {
        let task = report["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["action"] == action)
            .unwrap_or_else(|| panic!("{report}"));
        assert_eq!(task["status"], "ok", "{action}: {}\n{task}", run.stderr);
    }
}

/// Runs the pinned helm with `args`, which must succeed.
fn helm(args: &[&str]) {
    let out = std::process::Command::new(common::repo_root().join(".tools/bin/helm"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "helm {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Writes the chart at `chart` (`chart_yaml(url)` given the URL of a chart repository
/// serving `redis` 1.0.0) and its lock file with `helm dependency update`, the repository
/// served on a loopback port ([`serve_directory`]); the `file://` packages helm adds to
/// `charts/` are removed (strata packages those). Returns the URL.
fn locked_by_helm(repo: &common::Repo, chart: &str, chart_yaml: impl Fn(&str) -> String) -> String {
    let served = tempfile::tempdir().unwrap();
    package_chart(
        "redis",
        "1.0.0",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: redis\n",
        served.path(),
    );
    let url = format!(
        "http://127.0.0.1:{}",
        serve_directory(served.path().to_path_buf())
    );
    helm(&[
        "repo",
        "index",
        served.path().to_str().unwrap(),
        "--url",
        &url,
    ]);
    repo.write(&format!("{chart}/Chart.yaml"), &chart_yaml(&url));
    let home = tempfile::tempdir().unwrap();
    let helm_in = |args: &[&str]| {
        let out = std::process::Command::new(common::repo_root().join(".tools/bin/helm"))
            .args(args)
            .current_dir(repo.path())
            .env("HELM_CACHE_HOME", home.path().join("cache"))
            .env("HELM_CONFIG_HOME", home.path().join("config"))
            .env("HELM_DATA_HOME", home.path().join("data"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "helm {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    helm_in(&["repo", "add", "local", &url]);
    helm_in(&["dependency", "update", chart]);
    for entry in std::fs::read_dir(repo.path().join(chart).join("charts")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".tgz") && !name.starts_with("redis-") {
            std::fs::remove_file(repo.path().join(chart).join("charts").join(name)).unwrap();
        }
    }
    url
}

/// Packages a chart `name` at `version` with one template into the directory `into` (a
/// chart repository's, or a chart's `charts/`).
fn package_chart(name: &str, version: &str, template: &str, into: &std::path::Path) {
    let src = tempfile::tempdir().unwrap();
    let chart = src.path().join(name);
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        format!("apiVersion: v2\nname: {name}\nversion: {version}\n"),
    )
    .unwrap();
    std::fs::write(chart.join("templates/cm.yaml"), template).unwrap();
    helm(&[
        "package",
        chart.to_str().unwrap(),
        "-d",
        into.to_str().unwrap(),
    ]);
}

/// The task of `label` doing `action` in a `check --json` report (the first, when it runs in
/// several environments).
fn task_in(report: &serde_json::Value, label: &str, action: &str) -> serde_json::Value {
    report["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == label && t["action"] == action)
        .unwrap_or_else(|| panic!("no {action} of {label}: {report}"))
        .clone()
}

/// A chart with a `file://` dependency and one from a repository, vendored as the docs
/// advise, is checked without network access: the workspace's dependency (with one of its
/// own) is packaged into `charts/` beside the vendored one (helm's own build would ask the
/// repository first). A vendored package of another version than Chart.yaml asks for is
/// refused, as helm refuses a lock out of sync; one vendored as a directory counts; one not
/// vendored fails with what to do.
#[test]
fn a_chart_with_vendored_and_workspace_dependencies_is_checked_offline() {
    let repo = tools_repo();
    let vendored = repo.path().join("charts/app/charts");
    package_chart(
        "redis",
        "1.0.0",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: redis\n",
        &vendored,
    );
    let app = |redis: &str| {
        format!("apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n  - name: lib\n    version: 0.1.0\n    repository: file://../lib\n  - name: redis\n    version: {redis}\n    repository: https://charts.example.invalid/stable\n")
    };
    repo.write(
        "charts/lib/Chart.yaml",
        "apiVersion: v2\nname: lib\nversion: 0.1.0\ndependencies:\n  - name: leaf\n    version: 0.1.0\n    repository: file://../leaf\n",
    )
    .write(
        "charts/lib/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lib\n",
    )
    .write(
        "charts/leaf/Chart.yaml",
        "apiVersion: v2\nname: leaf\nversion: 0.1.0\n",
    )
    .write(
        "charts/leaf/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leaf\n",
    )
    .write("charts/app/Chart.yaml", &app("1.0.0"))
    .write(
        "charts/app/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n",
    );
    repo.commit("app: lib from the workspace, redis vendored");
    let (run, report) = json_run(&repo, &["check", "--env", "dev", "charts/app"]);
    run.assert_ok();
    let render = task_in(&report, "charts/app", "render");
    assert_eq!(render["summary"]["objects"], 4, "{render}");
    // The workspace's chart bumped, the constraint not: refused as `helm dependency build`
    // refuses it (packaged as it is, helm rendered it without its alias or condition).
    let lib = std::fs::read_to_string(repo.path().join("charts/lib/Chart.yaml")).unwrap();
    repo.write(
        "charts/lib/Chart.yaml",
        &lib.replacen("version: 0.1.0", "version: 0.2.0", 1),
    );
    repo.commit("lib 0.2.0");
    // `check` of the chart fails its `deps`, saying `says`.
    let refused = |says: &str| {
        let (run, _) = json_run(&repo, &["check", "--env", "dev", "charts/app"]);
        let said = format!("{}{}", run.stdout, run.stderr);
        assert_eq!(run.code, 1, "{said}");
        assert!(said.contains(says), "{said}");
    };
    refused("charts/ does not hold a version Chart.yaml accepts for 1 subchart(s): \"lib\" (repository \"file://../lib\", version \"0.1.0\"): wrong version");
    repo.write("charts/lib/Chart.yaml", &lib);
    repo.commit("lib 0.1.0 again");
    // Locked by helm itself (`helm dependency update` against a repository served on a
    // loopback port for the moment it takes), with lib asked for as `~0.1.0`.
    let url = locked_by_helm(&repo, "charts/app", |url| {
        app("1.0.0")
            .replacen(
                "version: 0.1.0\n    repository: file://",
                "version: ~0.1.0\n    repository: file://",
                1,
            )
            .replace("https://charts.example.invalid/stable", url)
    });
    repo.commit("locked by helm");
    let (run, _) = json_run(&repo, &["check", "--env", "dev", "charts/app"]);
    run.assert_ok();
    // Moved inside the range Chart.yaml asks for: refused as `helm dependency build`
    // refuses it (it builds a locked chart at the locked versions); build metadata is no
    // other version.
    let locked_app = std::fs::read_to_string(repo.path().join("charts/app/Chart.yaml")).unwrap();
    for (version, refused) in [("0.1.1", true), ("0.1.0+build.7", false)] {
        repo.write(
            "charts/lib/Chart.yaml",
            &lib.replacen("version: 0.1.0", &format!("version: {version}"), 1),
        );
        repo.commit(&format!("lib {version}, locked at 0.1.0"));
        let (run, _) = json_run(&repo, &["check", "--env", "dev", "charts/app"]);
        let said = format!("{}{}", run.stdout, run.stderr);
        assert_eq!(run.code, if refused { 1 } else { 0 }, "{version}: {said}");
        assert_eq!(
            said.contains(&format!(
                "lib (Chart.lock pins 0.1.0, file://../lib holds {version})"
            )),
            refused,
            "{said}"
        );
    }
    repo.write("charts/lib/Chart.yaml", &lib);
    // Chart.yaml changed without the lock (another constraint): out of sync, as helm says.
    repo.write(
        "charts/app/Chart.yaml",
        &locked_app.replacen("version: ~0.1.0", "version: \">=0.1.0\"", 1),
    );
    repo.commit("a constraint changed, the lock not");
    refused("Chart.lock is out of sync with the dependencies Chart.yaml declares");
    assert!(!url.is_empty());
    repo.remove("charts/app/Chart.lock");
    repo.write("charts/app/Chart.yaml", &app("1.0.0"));
    repo.commit("unlocked again");
    // Chart.yaml bumped, the vendored package not.
    repo.write("charts/app/Chart.yaml", &app("1.1.0"));
    repo.commit("redis 1.1.0 asked for");
    let (run, _) = json_run(&repo, &["check", "--env", "dev", "charts/app"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("asks for redis 1.1.0, which charts/ does not hold"),
        "{}",
        run.stdout
    );
    // Vendored as a directory (a chart of its own): no fetch, no warning, cached.
    std::fs::remove_file(vendored.join("redis-1.0.0.tgz")).unwrap();
    repo.write("charts/app/Chart.yaml", &app("1.0.0"))
        .write(
            "charts/app/charts/redis/Chart.yaml",
            "apiVersion: v2\nname: redis\nversion: 1.0.0\n",
        )
        .write(
            "charts/app/charts/redis/templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: redis\n",
        );
    repo.commit("redis vendored as a directory");
    let (run, _) = json_run(&repo, &["check", "--env", "dev", "charts/app"]);
    run.assert_ok();
    assert!(
        !run.stderr.contains("no Chart.lock pinning"),
        "{}",
        run.stderr
    );
    let (run, report) = json_run(&repo, &["check", "--env", "dev", "charts/app"]);
    run.assert_ok();
    assert_eq!(
        task_in(&report, "charts/app", "render")["cached"],
        true,
        "{report}"
    );
    // Not vendored: fetched from the repository, which is not reachable here.
    repo.remove("charts/app/charts/redis");
    repo.commit("redis no longer vendored");
    let (run, _) = json_run(&repo, &["check", "--env", "dev", "charts/app"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout.contains("to check offline, vendor it")
            || run.stderr.contains("to check offline, vendor it"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
}

/// A vendored subchart that needs the values its parent gives it is checked inside its
/// parent, as helm renders it: alone it would fail (and skip its parent's tasks), so it
/// has no tasks of its own, and a change to it reruns its parent's.
#[test]
fn a_vendored_subchart_is_checked_inside_its_parent() {
    let repo = tools_repo();
    repo.write(
        "charts/parent/Chart.yaml",
        "apiVersion: v2\nname: parent\nversion: 0.1.0\ndependencies:\n  - name: sub\n    version: 0.1.0\n",
    )
    .write("charts/parent/values.yaml", "sub:\n  widgets:\n    enabled: true\n")
    .write(
        "charts/parent/charts/sub/Chart.yaml",
        "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
    )
    .write(
        "charts/parent/charts/sub/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sub\ndata:\n  on: {{ .Values.widgets.enabled | quote }}\n",
    );
    repo.commit("a subchart fed by its parent");
    let (run, report) = json_run(&repo, &["check", "--env", "dev"]);
    run.assert_ok();
    let tasks = report["tasks"].as_array().unwrap();
    assert!(
        tasks.iter().all(|t| t["label"] == "charts/parent"),
        "{report}"
    );
    assert!(
        tasks
            .iter()
            .any(|t| t["action"] == "render" && t["status"] == "ok"),
        "{report}"
    );
    repo.write(
        "charts/parent/charts/sub/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sub\ndata:\n  on: {{ .Values.widgets.enabled | quote }}\n  more: \"yes\"\n",
    );
    let (run, report) = json_run(
        &repo,
        &["check", "--affected", "--base", "main", "--env", "dev"],
    );
    run.assert_ok();
    let render = task_in(&report, "charts/parent", "render");
    assert_eq!(render["cached"], false, "{render}");
}

/// A chart that no environment deploys (a workspace with no `environments/`, as `strata
/// init` writes for a repository of charts) is still linted and rendered with its own
/// values, and governed on that render: `check` was green having run only `deps`.
/// An environment file that is a link (a values file shared between environments, or kept
/// elsewhere in the repository) is read through: the sandbox holds what it leads to, and a
/// change there affects the targets it is given to, in that environment.
/// A module source through a linked directory outside the stack (`modules/current ->
/// ../lib/v1`): the link is an input of the stack (pointing it elsewhere changes the module),
/// and the sandbox recreates it, so terraform finds the module there as in the checkout.
#[cfg(unix)]
#[test]
fn a_module_reached_through_a_linked_directory_is_checked_and_the_link_is_an_input() {
    let repo = tools_repo();
    repo.write(
        "stacks/app/main.tf",
        "module \"m\" {\n  source = \"../../modules/current\"\n}\n",
    );
    for v in ["v1", "v2"] {
        repo.write(
            &format!("lib/{v}/main.tf"),
            "variable \"x\" {\n  default = 1\n}\n",
        );
    }
    std::fs::create_dir_all(repo.path().join("modules")).unwrap();
    std::os::unix::fs::symlink("../lib/v1", repo.path().join("modules/current")).unwrap();
    repo.commit("a module through a link");
    let explain = repo.strata(&["hash", "--explain", "stacks/app"]);
    assert!(
        explain.stdout.contains("modules/current"),
        "{}",
        explain.stdout
    );
    let run = repo.strata(&["check", "stacks/app"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    // The link pointed at another copy of the module: the stack changed, by the link.
    std::fs::remove_file(repo.path().join("modules/current")).unwrap();
    std::os::unix::fs::symlink("../lib/v2", repo.path().join("modules/current")).unwrap();
    let affected = repo.strata(&["--json", "affected", "--base", "HEAD"]);
    let json = affected.json();
    assert_eq!(json["targets"][0]["label"], "stacks/app", "{json}");
    assert_eq!(
        json["targets"][0]["files"],
        serde_json::json!(["modules/current"]),
        "{json}"
    );

    // A chain of links (`modules/latest -> ../lib/latest -> v2`): each link on the way is
    // an input, and the sandbox recreates them all.
    repo.write(
        "stacks/next/main.tf",
        "module \"m\" {\n  source = \"../../modules/latest\"\n}\n",
    );
    std::os::unix::fs::symlink("v2", repo.path().join("lib/latest")).unwrap();
    std::os::unix::fs::symlink("../lib/latest", repo.path().join("modules/latest")).unwrap();
    repo.commit("a module through two links");
    let run = repo.strata(&["check", "stacks/next"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    std::fs::remove_file(repo.path().join("lib/latest")).unwrap();
    std::os::unix::fs::symlink("v1", repo.path().join("lib/latest")).unwrap();
    let affected = repo.strata(&["--json", "affected", "--base", "HEAD"]);
    let json = affected.json();
    assert_eq!(json["targets"][0]["label"], "stacks/next", "{json}");
    assert_eq!(
        json["targets"][0]["files"],
        serde_json::json!(["lib/latest"]),
        "{json}"
    );
    std::fs::remove_file(repo.path().join("lib/latest")).unwrap();
    std::os::unix::fs::symlink("v2", repo.path().join("lib/latest")).unwrap();

    // A file of the stack's own that is a link through a linked directory
    // (`stacks/own/out.tf -> ../../shared/mid/out.tf`, `shared/mid -> tf`).
    repo.write("shared/tf/out.tf", "output \"x\" {\n  value = 1\n}\n");
    std::fs::create_dir_all(repo.path().join("stacks/own")).unwrap();
    std::os::unix::fs::symlink("tf", repo.path().join("shared/mid")).unwrap();
    std::os::unix::fs::symlink(
        "../../shared/mid/out.tf",
        repo.path().join("stacks/own/out.tf"),
    )
    .unwrap();
    repo.commit("a stack file through two links");
    let run = repo.strata(&["check", "stacks/own"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
}

/// A Terraform test file is an input, but no task runs it: a passing `check` says so, not
/// only a green line that would read as passing tests.
#[test]
fn a_check_says_its_terraform_test_files_are_not_run() {
    let repo = tools_repo();
    repo.write(
        "stacks/app/main.tf",
        "output \"name\" {\n  value = \"app\"\n}\n",
    );
    repo.write(
        "stacks/app/tests/a.tftest.hcl",
        "run \"name\" {\n  assert {\n    condition     = output.name == \"never\"\n    error_message = \"always fails\"\n  }\n}\n",
    );
    repo.commit("a stack with a terraform test");
    let run = repo.strata(&["check", "stacks/app"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(
            "1 Terraform test file(s) (`*.tftest.hcl`) of stacks/app are not run: strata does not run `terraform test`"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn an_environment_file_that_is_a_link_is_read_through() {
    let repo = tools_repo();
    repo.write(
        "charts/a/Chart.yaml",
        "apiVersion: v2\nname: a\nversion: 0.1.0\n",
    )
    .write(
        "charts/a/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  r: {{ required \"r\" .Values.r | quote }}\n",
    )
    .write("shared/common.yaml", "r: shared\n");
    std::fs::create_dir_all(repo.path().join("environments/dev/charts/a")).unwrap();
    std::os::unix::fs::symlink(
        "../../../../shared/common.yaml",
        repo.path().join("environments/dev/charts/a/values.yaml"),
    )
    .unwrap();
    repo.commit("dev's values kept in shared/");
    let (run, report) = json_run(&repo, &["check", "--env", "dev", "charts/a"]);
    run.assert_ok();
    let render = task_in(&report, "charts/a", "render");
    assert_eq!(render["status"], "ok", "{report}");
    repo.write("shared/common.yaml", "r: changed\n");
    let json = repo
        .strata(&["--json", "affected", "--base", "main"])
        .json();
    let a = common::target(&json, "charts/a")
        .unwrap_or_else(|| panic!("{json}"))
        .clone();
    assert_eq!(a["environments"], serde_json::json!(["dev"]), "{a}");
    assert!(a["files"].to_string().contains("shared/common.yaml"), "{a}");
    let (run, report) = json_run(&repo, &["check", "--env", "dev", "charts/a"]);
    run.assert_ok();
    let again = task_in(&report, "charts/a", "render");
    assert_ne!(again["key"], render["key"], "{report}");
    // Through a link to a link: every link on the way is in the sandbox.
    let values = repo.path().join("environments/dev/charts/a/values.yaml");
    std::fs::remove_file(&values).unwrap();
    std::os::unix::fs::symlink("../../../../shared/chain.yaml", &values).unwrap();
    std::fs::create_dir_all(repo.path().join("shared/x")).unwrap();
    std::os::unix::fs::symlink("x/real.yaml", repo.path().join("shared/chain.yaml")).unwrap();
    repo.write("shared/x/real.yaml", "r: chained\n");
    repo.commit("a chain of links");
    json_run(&repo, &["check", "--env", "dev", "charts/a"])
        .0
        .assert_ok();
    // Outside the workspace: no change there could be seen, so nothing is made with it.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("v.yaml"), "r: outside\n").unwrap();
    std::fs::remove_file(&values).unwrap();
    std::os::unix::fs::symlink(outside.path().join("v.yaml"), &values).unwrap();
    repo.commit("a link leading outside");
    let (run, report) = json_run(&repo, &["check", "--env", "dev", "charts/a"]);
    assert_eq!(run.code, 1, "{report}");
    let lint = task_in(&report, "charts/a", "lint");
    assert_eq!(lint["status"], "failed", "{lint}");
    assert!(
        lint["reason"]
            .as_str()
            .is_some_and(|r| r.contains("outside the workspace")),
        "{lint}"
    );
}

/// A chart repository on a loopback port, serving the files of a directory (`index.yaml`
/// and packages) over plain HTTP until the test ends.
fn serve_directory(dir: std::path::PathBuf) -> u16 {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            // The headers, up to the empty line.
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let path = request
                .split(' ')
                .nth(1)
                .unwrap_or("/")
                .trim_start_matches('/');
            let mut stream = stream;
            match std::fs::read(dir.join(path)) {
                Ok(body) => {
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(&body);
                }
                Err(_) => {
                    let _ = write!(
                        stream,
                        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    );
                }
            }
        }
    });
    port
}

/// A chart whose dependency comes from a repository by a version range, with no
/// Chart.lock pinning it, renders whatever the repository serves now: its tasks are never
/// cached, and each build resolves the dependency anew (none reuses what an earlier one in
/// the same sandbox fetched), so a broken release upstream fails the next check.
#[test]
fn a_chart_with_an_unpinned_remote_dependency_is_never_served_from_the_cache() {
    let repo = tools_repo();
    let served = tempfile::tempdir().unwrap();
    let port = serve_directory(served.path().to_path_buf());
    let url = format!("http://127.0.0.1:{port}");
    let publish = |version: &str, template: &str| {
        package_chart("redis", version, template, served.path());
        helm(&[
            "repo",
            "index",
            served.path().to_str().unwrap(),
            "--url",
            &url,
        ]);
    };
    publish(
        "1.0.0",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: redis\n",
    );
    repo.write(
        "charts/web/Chart.yaml",
        &format!("apiVersion: v2\nname: web\nversion: 0.1.0\ndependencies:\n  - name: redis\n    version: \"^1.0.0\"\n    repository: \"{url}\"\n"),
    )
    .write(
        "charts/web/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n",
    );
    repo.commit("web, with redis from a repository");
    let check = || json_run(&repo, &["check", "--env", "dev", "charts/web"]);
    let (run, report) = check();
    run.assert_ok();
    assert!(
        run.stderr.contains("no Chart.lock pinning the version"),
        "{}",
        run.stderr
    );
    let (run, report_again) = check();
    run.assert_ok();
    for t in report_again["tasks"].as_array().unwrap() {
        assert_ne!(t["cached"], true, "{t}\n{report}");
    }
    // A broken release upstream, with nothing changed in the workspace.
    publish("1.1.0", "{{ fail \"redis 1.1.0 is broken\" }}\n");
    let (run, report) = check();
    assert_eq!(run.code, 1, "{report}");
    assert!(
        run.stdout.contains("redis 1.1.0 is broken")
            || report.to_string().contains("redis 1.1.0 is broken"),
        "{report}"
    );
}

/// A dependency build that fails (a repository that does not answer for a moment) leaves
/// the chart's sandbox to be made again from the workspace: a subchart the workspace
/// vendors in the chart's `charts/` is there for the next build, which renders it, and
/// never lost (once a check passed without it; once every later build failed).
#[test]
fn a_failed_dependency_build_does_not_lose_the_vendored_subcharts() {
    let repo = tools_repo();
    let served = tempfile::tempdir().unwrap();
    let port = serve_directory(served.path().to_path_buf());
    let url = format!("http://127.0.0.1:{port}");
    repo.write(
        "charts/web/Chart.yaml",
        &format!("apiVersion: v2\nname: web\nversion: 0.1.0\ndependencies:\n  - name: redis\n    version: \"^1.0.0\"\n    repository: \"{url}\"\n  - name: sub\n    version: 0.1.0\n"),
    )
    .write(
        "charts/web/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n",
    )
    .write(
        "charts/web/charts/sub/Chart.yaml",
        "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
    )
    .write(
        "charts/web/charts/sub/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-sub\n",
    );
    repo.commit("web, with redis from a repository and sub vendored");
    let check = || json_run(&repo, &["check", "--env", "dev", "charts/web"]);
    // The repository serves no index yet.
    let (run, report) = check();
    assert_eq!(run.code, 1, "{report}");
    package_chart(
        "redis",
        "1.0.0",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: redis\n",
        served.path(),
    );
    helm(&[
        "repo",
        "index",
        served.path().to_str().unwrap(),
        "--url",
        &url,
    ]);
    let (run, report) = check();
    run.assert_ok();
    let render = report["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["action"] == "render")
        .unwrap_or_else(|| panic!("no render: {report}"));
    assert!(
        render.to_string().contains("ConfigMap/from-sub")
            && render.to_string().contains("ConfigMap/redis"),
        "{render}"
    );
}

#[test]
fn a_chart_deployed_nowhere_is_linted_rendered_and_governed() {
    let repo = tools_repo();
    repo.remove("environments");
    repo.write(
        "charts/web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    );
    repo.write(
        "charts/web/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  x: {{ .Values.x | nosuchfunc }}\n",
    );
    repo.write(
        "policies/no-cm/policy.rego",
        "package main\n\ndeny contains msg if {\n  input.kind == \"ConfigMap\"\n  msg := sprintf(\"no ConfigMap: %s\", [input.metadata.name])\n}\n",
    );
    repo.write("policies/no-cm/policy.toml", "kinds = [\"chart\"]\n");
    repo.commit("a chart in no environment");
    let status = |report: &serde_json::Value, action: &str| {
        report["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["action"] == action && t["env"].is_null())
            .map(|t| t["status"].as_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("no {action} task: {report}"))
    };
    let (run, report) = json_run(&repo, &["check", "charts/web"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(status(&report, "lint"), "failed", "{report}");
    assert_eq!(status(&report, "render"), "skipped", "{report}");

    repo.write(
        "charts/web/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  x: {{ .Values.x | default \"y\" | quote }}\n",
    );
    repo.commit("a template that parses");
    let (run, report) = json_run(&repo, &["check", "charts/web"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    for action in ["deps", "lint", "render"] {
        assert_eq!(status(&report, action), "ok", "{action}: {}", run.stderr);
    }
    assert_eq!(status(&report, "policy"), "failed", "{report}");
    assert!(run.stdout.contains("no ConfigMap: web"), "{}", run.stdout);
    // `hash --explain` gives the keys those tasks ran under, with no --env to name.
    let explained = repo
        .strata(&["--json", "hash", "--explain", "charts/web"])
        .json();
    for t in report["tasks"].as_array().unwrap() {
        let same = explained["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["action"] == t["action"])
            .unwrap_or_else(|| panic!("{} not explained: {explained}", t["action"]));
        assert_eq!(same["key"], t["key"], "{}", t["action"]);
    }
}

#[test]
fn failing_stack_skips_dependents_and_keep_going_runs_the_rest() {
    let repo = sample_repo();
    repo.append(
        "stacks/network/main.tf",
        "\noutput \"broken\" {\n  value = var.does_not_exist\n}\n",
    );
    let (run, report) = json_run(&repo, &["check", "--env", "dev", "--keep-going"]);
    assert_eq!(run.code, 1);
    assert_eq!(report["ok"], false);
    assert_eq!(
        tasks_where(&report, |t| t["status"] == "failed"),
        vec!["stacks/network validate"]
    );
    let db = report["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == "stacks/database" && t["action"] == "fmt")
        .unwrap();
    assert_eq!(db["status"], "skipped");
    assert_eq!(db["reason"], "stacks/network validate failed");
    // unrelated targets still ran
    for unrelated in [
        "charts/web render dev",
        "modules/dns-zone validate",
        "charts/worker lint dev",
    ] {
        assert!(
            tasks_where(&report, |t| t["status"] == "ok").contains(&unrelated.to_string()),
            "{unrelated}"
        );
    }
    // without --keep-going: fail fast, still exit 1
    let (run, _) = json_run(&repo, &["check", "--env", "dev"]);
    assert_eq!(run.code, 1);
}

#[test]
fn an_unformatted_module_fails_check_naming_its_file_and_the_fix() {
    let repo = sample_repo();
    repo.append(
        "modules/dns-zone/main.tf",
        "\nlocals {\n      misaligned   =  1\n}\n",
    );
    let (run, report) = json_run(&repo, &["check", "--keep-going", "modules/dns-zone"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let fmt = report["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == "modules/dns-zone" && t["action"] == "fmt")
        .unwrap();
    assert_eq!(fmt["status"], "failed");
    assert_eq!(
        fmt["reason"],
        "1 file is not formatted; fix it with: terraform fmt -recursive modules/dns-zone"
    );
    assert_eq!(
        fmt["summary"]["unformatted"],
        serde_json::json!(["modules/dns-zone/main.tf"])
    );
    // The log shows the diff with the file named from the workspace root.
    let log = fmt["log"].as_str().unwrap();
    assert!(log.contains("+++ new/modules/dns-zone/main.tf"), "{log}");
    // The fix the message names makes the check pass.
    let fixed = std::process::Command::new(common::repo_root().join(".tools/bin/terraform"))
        .args(["fmt", "-recursive", "modules/dns-zone"])
        .current_dir(repo.path())
        .status()
        .unwrap();
    assert!(fixed.success());
    let (run, _) = json_run(&repo, &["check", "modules/dns-zone"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn junit_and_markdown_reports() {
    let repo = sample_repo();
    let junit = repo.path().join("report.xml");
    let md = repo.path().join("summary.md");
    let (run, report) = json_run(
        &repo,
        &[
            "check",
            "--env",
            "dev",
            "--junit",
            junit.to_str().unwrap(),
            "--summary-md",
            md.to_str().unwrap(),
            "--allow-incomplete",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Parse the XML with a real parser and count testcases.
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys, xml.etree.ElementTree as ET; r = ET.parse(sys.argv[1]).getroot(); print(len(r.findall('.//testcase')))"])
        .arg(&junit)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cases: usize = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert_eq!(cases, report["tasks"].as_array().unwrap().len());
    let summary = std::fs::read_to_string(&md).unwrap();
    let list = repo.strata(&["--json", "list"]).json();
    for t in list["targets"].as_array().unwrap() {
        let label = t["label"].as_str().unwrap();
        if label.starts_with("policies/") {
            continue; // policies have no tasks yet
        }
        // Written as code, its characters that could start markup as entities.
        let code = format!("<code>{}</code>", label.replace('_', "&#95;"));
        assert!(summary.contains(&code), "{label} missing from:\n{summary}");
    }
    assert!(summary.contains("+12 ~0 -0"), "{summary}");
}

#[test]
fn user_tests_run_over_plans_and_renders_and_a_failing_one_fails_the_check() {
    let repo = sample_repo();
    let (apply, _) = json_run(
        &repo,
        &[
            "apply",
            "--auto-approve",
            "--env",
            "dev",
            "stacks/network",
            "stacks/database",
        ],
    );
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    let (run, report) = json_run(
        &repo,
        &["check", "--env", "dev", "stacks/network", "charts/api"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let test = |report: &serde_json::Value, label: &str| {
        report["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["label"] == label && t["action"] == "test")
            .unwrap()
            .clone()
    };
    let net = test(&report, "stacks/network");
    assert_eq!(net["summary"]["passed"], 4, "{net}");
    assert_eq!(test(&report, "charts/api")["summary"]["failed"], 0);

    // A test that cannot hold fails the check, names the rule, and is not cached.
    let file = "stacks/network/tests/plan_test.rego";
    let text = std::fs::read_to_string(repo.path().join(file)).unwrap();
    repo.write(
        file,
        &text.replace(
            "count(subnets(\"private\")) >= 2",
            "count(subnets(\"private\")) >= 20",
        ),
    );
    let (run, report) = json_run(&repo, &["check", "--env", "dev", "stacks/network"]);
    assert_eq!(run.code, 1);
    let net = test(&report, "stacks/network");
    assert_eq!(net["status"], "failed");
    assert_eq!(net["summary"]["failed"], 1);
    assert!(
        run.stderr
            .contains("FAIL  stacks.network.plan_test.test_private_subnets_span_two_zones"),
        "{}",
        run.stderr
    );
    // Restoring the test brings back the cached result of the first run.
    repo.write(file, &text);
    let (run, report) = json_run(&repo, &["check", "--env", "dev", "stacks/network"]);
    assert_eq!(run.code, 0);
    assert_eq!(test(&report, "stacks/network")["cached"], true);

    // A test in a directory below tests/ runs too (it was left out, and the check green).
    let nested = "stacks/network/tests/unit/never_test.rego";
    repo.write(
        nested,
        "package stacks.network.unit\n\ntest_never_holds if {\n  false\n}\n",
    );
    let (run, report) = json_run(&repo, &["check", "--env", "dev", "stacks/network"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(test(&report, "stacks/network")["summary"]["failed"], 1);
    assert!(
        run.stderr
            .contains("FAIL  stacks.network.unit.test_never_holds"),
        "{}",
        run.stderr
    );
    std::fs::remove_file(repo.path().join(nested)).unwrap();

    // A module's tests have no plan to read and never run: said, not passed over.
    repo.write(
        "modules/vpc/tests/vpc_test.rego",
        "package modules.vpc\n\ntest_never_holds if {\n  false\n}\n",
    );
    let (run, _) = json_run(&repo, &["check", "--env", "dev", "modules/vpc"]);
    assert!(
        run.stderr
            .contains("1 Rego test file(s) under tests/ of modules/vpc are not run"),
        "{}",
        run.stderr
    );
}

#[test]
fn check_affected_runs_an_environment_only_change_in_that_environment_only() {
    let repo = sample_repo();
    repo.append(
        "environments/staging/stacks/network/terraform.tfvars",
        "# staging only\n",
    );
    let (run, report) = json_run(
        &repo,
        &[
            "check",
            "--affected",
            "--base",
            "main",
            "--allow-incomplete",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let envs: std::collections::BTreeSet<String> = report["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["env"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        envs.into_iter().collect::<Vec<_>>(),
        ["staging"],
        "{:?}",
        tasks_where(&report, |_| true)
    );
    let network = tasks_where(&report, |t| t["label"] == "stacks/network");
    assert!(
        network.contains(&"stacks/network plan staging".to_string()),
        "{network:?}"
    );
    // Without --affected every environment runs, as before.
    let (run, report) = json_run(&repo, &["check", "stacks/network"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let plans = tasks_where(&report, |t| t["action"] == "plan");
    assert_eq!(
        plans,
        [
            "stacks/network plan dev",
            "stacks/network plan prod",
            "stacks/network plan staging"
        ]
    );
}

/// Arguments terraform takes from the environment (`TF_CLI_ARGS`, `TF_CLI_ARGS_plan`) change
/// what it does behind strata's own flags: a plan made with `-target` is another plan, and
/// is never served to a run without it (nor to another runner through a shared cache).
#[test]
fn terraform_arguments_from_the_environment_are_part_of_the_task_key() {
    let repo = tools_repo();
    repo.write(
        "stacks/app/main.tf",
        &format!("{NULL_PROVIDER}\nresource \"null_resource\" \"a\" {{}}\n\nresource \"null_resource\" \"b\" {{}}\n"),
    );
    repo.commit("two resources");
    let plan = |env: &[(&str, &str)]| -> serde_json::Value {
        let mut cmd = repo.command(&["--json", "plan", "--env", "dev"]);
        cmd.env_remove("TF_CLI_ARGS").env_remove("TF_CLI_ARGS_plan");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let run: Run = cmd.output().unwrap().into();
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.json()
    };
    let adds = |json: &serde_json::Value| {
        let task = common::task(json, "stacks/app", "plan");
        (
            task["summary"]["add"].as_u64().unwrap(),
            task["cached"].as_bool().unwrap(),
        )
    };
    let targeted = plan(&[("TF_CLI_ARGS_plan", "-target=null_resource.a")]);
    assert_eq!(adds(&targeted), (1, false), "{targeted}");
    let whole = plan(&[]);
    assert_eq!(adds(&whole), (2, false), "{whole}");
    assert_eq!(adds(&plan(&[])), (2, true));
    // Given to every command: another key too, whatever it says.
    let everywhere = plan(&[("TF_CLI_ARGS", "-no-color")]);
    assert_eq!(adds(&everywhere), (2, false), "{everywhere}");
    // The key names the variables, never their values.
    let run: Run = repo
        .command(&["--json", "hash", "--explain", "--env", "dev", "stacks/app"])
        .env("TF_CLI_ARGS_plan", "-var=token=hunter2-S3CRET")
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("TF_CLI_ARGS_plan"), "{}", run.stdout);
    assert!(!run.stdout.contains("hunter2"), "{}", run.stdout);

    // A variable file named there counts by its contents: the same argument with other
    // values in the file is another plan.
    repo.write(
        "stacks/app/count.tf",
        "variable \"n\" {\n  default = 1\n}\n\nresource \"null_resource\" \"c\" {\n  count = var.n\n}\n",
    );
    repo.commit("a count");
    let outside = tempfile::tempdir().unwrap();
    let vars = outside.path().join("ci.tfvars");
    let arg = format!("-var-file={}", vars.display());
    std::fs::write(&vars, "n = 1\n").unwrap();
    assert_eq!(adds(&plan(&[("TF_CLI_ARGS_plan", &arg)])), (3, false));
    assert_eq!(adds(&plan(&[("TF_CLI_ARGS_plan", &arg)])), (3, true));
    std::fs::write(&vars, "n = 3\n").unwrap();
    assert_eq!(adds(&plan(&[("TF_CLI_ARGS_plan", &arg)])), (5, false));
}

/// A workspace with stacks and no environment: `check` formats and validates them and says
/// that nothing was planned, and why (a green check that never planned said nothing).
#[test]
fn a_check_without_environments_says_it_planned_nothing() {
    let repo = tools_repo();
    std::fs::remove_dir_all(repo.path().join("environments")).unwrap();
    repo.write(
        "stacks/a/main.tf",
        "variable \"size\" {\n  default = 1\n}\n\noutput \"size\" {\n  value = var.size\n}\n",
    );
    repo.commit("a stack, no environment");
    let run = repo.strata(&["check"]);
    run.assert_ok();
    assert!(
        run.stderr
            .contains("warning: no environment is configured (`environments/<name>/env.toml`)"),
        "{}",
        run.stderr
    );
    // With one, no such warning.
    repo.write(
        "environments/dev/env.toml",
        "[state]\nbackend = \"local\"\n",
    );
    repo.commit("dev");
    let run = repo.strata(&["check"]);
    assert!(
        !run.stderr.contains("no environment is configured"),
        "{}",
        run.stderr
    );
}

/// A module fetched from git at a branch: the branch moves, nothing in the workspace
/// changes, and the next check runs against the module as it is now (it is fetched again
/// and nothing of the stack's terraform tasks is cached), with a warning naming the
/// source and the fix. A module at a commit id is cached as usual.
#[test]
fn a_module_at_a_moving_git_ref_is_fetched_again_and_never_cached() {
    let module = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(["-c", "user.email=t@example.com", "-c", "user.name=t"])
            .args(args)
            .current_dir(module.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    git(&["init", "-q", "-b", "main"]);
    std::fs::write(
        module.path().join("main.tf"),
        "variable \"name\" {}\noutput \"tag\" {\n  value = \"tag-${var.name}\"\n}\n",
    )
    .unwrap();
    git(&["add", "-A"]);
    git(&["commit", "-qm", "v1"]);
    let commit = git(&["rev-parse", "HEAD"]).trim().to_string();
    let repo = tools_repo();
    // (The built-in pack denies a branch ref; this is about what runs, not that finding.)
    repo.append("WORKSPACE.toml", "\n[policy]\nbuiltin = false\n");
    let call = |reference: &str| {
        format!(
            "{NULL_PROVIDER}\nmodule \"tag\" {{\n  source = \"git::file://{}?ref={reference}\"\n  name   = \"x\"\n}}\n\nresource \"null_resource\" \"r\" {{\n  triggers = {{\n    t = module.tag.tag\n  }}\n}}\n",
            module.path().display()
        )
    };
    repo.write("stacks/s/main.tf", &call("main"));
    repo.commit("a module at a branch");
    let run = repo.strata(&["check", "--env", "dev", "stacks/s"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("warning: stacks/s calls module `git::file://")
            && run.stderr.contains("?ref=main` (stacks/s/main.tf:")
            && run.stderr.contains("pin it to a commit"),
        "{}",
        run.stderr
    );
    // The branch moves to a module that does not validate.
    std::fs::write(
        module.path().join("main.tf"),
        "output \"tag\" {\n  value = var.undeclared\n}\n",
    )
    .unwrap();
    git(&["commit", "-qam", "v2"]);
    let run = repo.strata(&["check", "--env", "dev", "stacks/s"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("FAILED          stacks/s validate"),
        "{}",
        run.stderr
    );
    // At a commit id, the module cannot move: cached, no warning.
    repo.write("stacks/s/main.tf", &call(&commit));
    repo.commit("a module at a commit");
    let first = repo.strata(&["check", "--env", "dev", "stacks/s"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        !first.stderr.contains("warning: stacks/s calls module"),
        "{}",
        first.stderr
    );
    let second = repo.strata(&["check", "--env", "dev", "stacks/s"]);
    assert!(
        second
            .stderr
            .contains("cached          stacks/s plan [dev]"),
        "{}",
        second.stderr
    );
}

/// Tasks left after a failure (no `--keep-going`) are reported once as not run, with why:
/// in JUnit as an error saying so, not "did not run: not run: …".
#[test]
fn tasks_left_after_a_failure_are_reported_once_as_not_run() {
    let repo = common::sample_repo();
    repo.append("modules/naming/variables.tf", "variable  \"x\" {\n}\n");
    repo.commit("unformatted");
    let run = repo.strata(&[
        "check",
        "--env",
        "dev",
        "--junit",
        "junit.xml",
        "charts/web",
        "modules/naming",
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let junit = std::fs::read_to_string(repo.path().join("junit.xml")).unwrap();
    assert!(
        junit.contains(
            "message=\"did not run: an earlier task failed (use --keep-going to run the rest)\""
        ) && !junit.contains("not run: not run"),
        "{junit}"
    );
}

/// A file stored with git LFS: git holds a pointer (its SHA-256 and size), the work tree the
/// content. Tools get the content, verified against the pointer; a work tree holding only
/// the pointer (git-lfs missing, as on a CI runner that did not fetch LFS files) fails the
/// task, naming the file. The sandbox used to get the pointer, which helm rendered and
/// GitOps delivered, with no word said. (A minimal clean/smudge pair stands in for
/// git-lfs, which the test machine may lack.)
#[test]
fn a_git_lfs_file_reaches_tools_as_its_content_or_fails_the_task() {
    use std::os::unix::fs::PermissionsExt;
    let repo = tools_repo();
    let filters = tempfile::tempdir().unwrap();
    let store = filters.path().join("store");
    std::fs::create_dir(&store).unwrap();
    let script = |name: &str, body: &str| {
        let path = filters.path().join(name);
        std::fs::write(&path, format!("#!/bin/sh\nset -e\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path.to_str().unwrap().to_string()
    };
    let store = store.to_str().unwrap();
    let clean = script(
        "clean.sh",
        &format!("t=$(mktemp); cat > $t; oid=$(sha256sum $t | cut -d' ' -f1); cp $t {store}/$oid\nprintf 'version https://git-lfs.github.com/spec/v1\\noid sha256:%s\\nsize %s\\n' $oid $(wc -c < $t); rm -f $t"),
    );
    let smudge = script(
        "smudge.sh",
        &format!("oid=$(sed -n 's/^oid sha256://p'); cat {store}/$oid"),
    );
    repo.git(&["config", "filter.lfs.clean", &clean]);
    repo.git(&["config", "filter.lfs.smudge", &smudge]);
    repo.git(&["config", "filter.lfs.required", "true"]);
    repo.write(
        ".gitattributes",
        "charts/web/files/*.json filter=lfs -text\n",
    );
    repo.write(
        "charts/web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    );
    let content = "{\"dashboard\": \"REAL-CONTENT\"}\n";
    repo.write("charts/web/files/dashboard.json", content);
    repo.write(
        "charts/web/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  dashboard.json: {{ .Files.Get \"files/dashboard.json\" | quote }}\n",
    );
    // A file that only holds a pointer's text, not stored through LFS: that text.
    let example = "version https://git-lfs.github.com/spec/v1\noid sha256:8e768495e91c2c238332143dd4c35ac4f3c58acdc81297777a2213ace75f4a54\nsize 30\n";
    repo.write("charts/web/files/example-pointer.txt", example);
    repo.commit("a chart with a file in LFS");
    let pointer = repo.git(&["show", "HEAD:charts/web/files/dashboard.json"]);
    assert!(pointer.starts_with("version https://git-lfs"), "{pointer}");
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
    let run = repo.strata(&["check", "--env", "dev", "charts/web"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let sandbox = repo
        .path()
        .join(".strata/work/dev/charts%2Fweb/src/charts/web/files/dashboard.json");
    assert_eq!(std::fs::read_to_string(&sandbox).unwrap(), content);
    assert_eq!(
        std::fs::read_to_string(sandbox.with_file_name("example-pointer.txt")).unwrap(),
        example
    );

    // Without git-lfs the work tree holds the pointer: refused, not rendered.
    repo.git(&["config", "--remove-section", "filter.lfs"]);
    repo.remove("charts/web/files/dashboard.json");
    repo.git(&["checkout", "--", "charts/web/files/dashboard.json"]);
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
    // As on another runner: no sandbox of the first run.
    std::fs::remove_dir_all(repo.path().join(".strata/work")).unwrap();
    let run = repo.strata(&["--no-cache", "check", "--env", "dev", "charts/web"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let said = format!("{}{}", run.stdout, run.stderr);
    assert!(
        said.contains("`charts/web/files/dashboard.json` is stored with git LFS")
            && said.contains("git lfs pull"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
}

/// `--allow-incomplete` accepts tasks that did not run, never a failure: the hint naming it
/// is given only when it would make the run a success. It was given after a failed task
/// too, and a CI job that followed it stayed red.
#[test]
fn the_allow_incomplete_hint_is_given_only_when_it_would_help() {
    let repo = tools_repo();
    repo.write(
        "stacks/net/main.tf",
        &format!("{NULL_PROVIDER}\noutput \"id\" {{\n  value = \"n\"\n}}\n"),
    );
    repo.write(
        "stacks/app/main.tf",
        &format!("{NULL_PROVIDER}\nvariable \"id\" {{}}\n"),
    );
    repo.write(
        "stacks/app/stack.toml",
        "[inputs]\nid = \"stacks/net:id\"\n",
    );
    repo.commit("two stacks");
    // The upstream has no state: the plan of its reader does not run, nothing failed.
    let run = repo.strata(&["plan", "--env", "dev", "stacks/app"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(
            "did not run, so the run is not a success (--allow-incomplete accepts that):"
        ),
        "{}",
        run.stderr
    );
    // A task failed, and those after it did not run: the flag would not help.
    repo.write("stacks/app/bad.tf", "locals {\nx=1\n}\n");
    let run = repo.strata(&["check", "--env", "dev", "stacks/app"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("did not run, so the run is not a success:")
            && !run.stderr.contains("--allow-incomplete accepts that"),
        "{}",
        run.stderr
    );
}

/// A change of a file's executable bit alone (the same blob) makes the sandbox again: a
/// script a stack runs (`local-exec`, an `external` program) has the mode the commit gives
/// it, as on a runner with no sandbox yet.
#[test]
fn a_mode_change_alone_rebuilds_the_sandbox() {
    use std::os::unix::fs::PermissionsExt;
    let repo = common::tools_repo();
    repo.write(
        "stacks/app/main.tf",
        "output \"script\" {\n  value = filesha256(\"${path.module}/run.sh\")\n}\n",
    );
    repo.write("stacks/app/run.sh", "#!/bin/sh\necho hello\n");
    let script = repo.path().join("stacks/app/run.sh");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
    repo.commit("a script, not executable");
    let in_sandbox = repo
        .path()
        .join(".strata/work/dev/stacks%2Fapp/src/stacks/app/run.sh");
    let mode = || {
        std::fs::metadata(&in_sandbox)
            .map(|m| m.permissions().mode() & 0o111)
            .unwrap()
    };
    let run = repo.strata(&["plan", "--env", "dev", "stacks/app"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(mode(), 0, "executable before the change");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    repo.commit("the script executable");
    let run = repo.strata(&["plan", "--env", "dev", "stacks/app"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_ne!(mode(), 0, "the sandbox kept the old mode");
}

/// terraform's warnings (here a value for a variable the stack does not declare, a typo
/// that silently does nothing) are named after the task's line, also when its result comes
/// from the cache, whose output `-v` shows as the run that made it saw it.
#[test]
fn terraform_warnings_are_named_also_for_cached_results() {
    let repo = tools_repo();
    repo.write(
        "stacks/app/main.tf",
        "variable \"size\" {\n  default = \"small\"\n}\n\noutput \"size\" {\n  value = var.size\n}\n\noutput \"banner\" {\n  value = <<EOT\nWarning: this host is monitored\nEOT\n}\n",
    );
    repo.write(
        "environments/dev/stacks/app/terraform.tfvars",
        "sise = \"large\"\n",
    );
    repo.commit("a typo in a tfvars file");
    for round in ["fresh", "cached"] {
        let run = repo.strata(&["plan", "--env", "dev", "stacks/app"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let said = format!("{}{}", run.stdout, run.stderr);
        assert!(
            said.contains("warning: Value for undeclared variable"),
            "{round}: {said}"
        );
        assert_eq!(
            said.contains("cached          stacks/app plan"),
            round == "cached",
            "{said}"
        );
        // A value of the plan that reads like one is no warning of terraform's.
        assert!(!said.contains("warning: this host is monitored"), "{said}");
        let verbose = repo.strata(&["plan", "--env", "dev", "stacks/app", "-v"]);
        assert!(
            verbose
                .stderr
                .contains("The root module does not declare a variable named \"sise\""),
            "{round}: {}",
            verbose.stderr
        );
    }
}

/// strata gives a stack its `[inputs]` as `TF_VAR_`, which terraform ranks below every
/// variable file: a value for the same variable in an environment's file (or the stack's
/// own terraform.tfvars) would silently win, and is refused, naming the file. A binding to
/// a variable the stack does not declare (a typo) would be dropped: refused too.
#[test]
fn inputs_a_variable_file_would_override_or_no_variable_takes_are_refused() {
    let repo = tools_repo();
    repo.write(
        "stacks/net/main.tf",
        "output \"vpc_id\" {\n  value = \"vpc-from-net\"\n}\n",
    );
    repo.write(
        "stacks/app/main.tf",
        "variable \"vpc_id\" {\n  default = \"vpc-default\"\n}\n\noutput \"seen\" {\n  value = var.vpc_id\n}\n",
    );
    repo.write(
        "stacks/app/stack.toml",
        "[inputs]\nvpc_id = \"stacks/net:vpc_id\"\n",
    );
    repo.commit("app reads net");
    let run = repo.strata(&["apply", "--env", "dev", "--auto-approve", "stacks/net"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    repo.write(
        "environments/dev/common.tfvars",
        "vpc_id = \"vpc-default-from-common\"\n",
    );
    repo.commit("an environment-wide default");
    let run = repo.strata(&["plan", "--env", "dev", "stacks/app"]);
    let said = format!("{}{}", run.stdout, run.stderr);
    assert_ne!(run.code, 0, "{said}");
    assert!(
        said.contains("`vpc_id` is given by strata (an upstream output in `[inputs]`) and also set in environments/dev/common.tfvars"),
        "{said}"
    );
    repo.remove("environments/dev/common.tfvars");
    repo.write(
        "stacks/app/stack.toml",
        "[inputs]\nvpc_idd = \"stacks/net:vpc_id\"\n",
    );
    repo.commit("a typo");
    let run = repo.strata(&["plan", "--env", "dev", "stacks/app"]);
    let said = format!("{}{}", run.stdout, run.stderr);
    assert_ne!(run.code, 0, "{said}");
    assert!(
        said.contains("stacks/app/stack.toml sets `vpc_idd`, which this stack does not declare"),
        "{said}"
    );
}

/// A vendored subchart renders inside its parent: `[inputs]` in its own chart.toml would
/// reach no render, and are reported at their line instead of dropped.
#[test]
fn inputs_of_a_vendored_subchart_are_reported_not_dropped() {
    let repo = common::Repo::new();
    repo.write("WORKSPACE.toml", "[workspace]\nname = \"t\"\n");
    repo.write(
        "stacks/net/main.tf",
        "output \"vpc_id\" {\n  value = \"v\"\n}\n",
    );
    repo.write(
        "charts/app/Chart.yaml",
        "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n  - name: sub\n    version: 0.1.0\n",
    );
    repo.write(
        "charts/app/charts/sub/Chart.yaml",
        "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
    );
    repo.write(
        "charts/app/charts/sub/chart.toml",
        "[inputs]\nx = \"stacks/net:vpc_id\"\n",
    );
    repo.commit("a subchart with inputs");
    let run = repo.strata(&["list", "--check"]);
    assert_ne!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(
            "charts/app/charts/sub is a subchart vendored in charts/app, which renders it: its `[inputs]` reach no render"
        ) && run.stderr.contains("charts/app/charts/sub/chart.toml:2"),
        "{}",
        run.stderr
    );
}

/// A chart's directory name is its release name, given to helm after `--`: one that looks
/// like an option (`charts/--set=msg=pwned`) is refused by helm as a release name, never
/// taken as the option it spells. Before, helm set `msg` from it and the render passed.
#[test]
fn a_chart_directory_named_like_a_helm_option_is_no_option() {
    let repo = common::tools_repo();
    let dir = "charts/--set=msg=pwned";
    repo.write(
        &format!("{dir}/Chart.yaml"),
        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
    );
    repo.write(
        &format!("{dir}/templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  msg: {{ .Values.msg | default \"unset\" | quote }}\n",
    );
    repo.commit("a chart named like an option");
    let (run, report) = json_run(&repo, &["check", "--env", "dev"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let render = common::task(&report, dir, "render");
    assert_eq!(render["status"], "failed", "{render}");
    assert!(
        render["log"]
            .as_str()
            .unwrap_or_default()
            .contains("invalid release name"),
        "{render}"
    );
}

/// The commands strata prints for people to run quote what a shell would split: the fix for
/// an unformatted file in `stacks/my app` is one pasteable command. Before, it named two
/// arguments, and terraform refused it.
#[test]
fn a_printed_fix_quotes_a_path_with_a_space() {
    let repo = common::tools_repo();
    repo.write("stacks/my app/main.tf", "variable  \"x\"   {}\n");
    repo.commit("an unformatted stack with a space in its name");
    let (run, report) = json_run(&repo, &["check", "stacks/my app"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let fmt = common::task(&report, "stacks/my app", "fmt");
    assert_eq!(fmt["status"], "failed", "{fmt}");
    assert!(
        fmt["reason"]
            .as_str()
            .unwrap_or_default()
            .ends_with("terraform fmt -recursive 'stacks/my app'"),
        "{fmt}"
    );
}
