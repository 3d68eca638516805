//! Test support: temporary git repositories and the real `strata` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

#[cfg(unix)]
pub mod daemon;

/// The output of one command, with the exit code.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    #[track_caller]
    pub fn assert_ok(&self) -> &Run {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// A temporary git repository holding a strata workspace.
pub struct Repo {
    dir: tempfile::TempDir,
    /// `STRATA_STATE_DIR` of every strata this repository runs: local state, outside the
    /// checkout as always, and private to the test.
    state: tempfile::TempDir,
}

impl Repo {
    /// An empty repository on branch `main`.
    pub fn new() -> Repo {
        let dir = tempfile::Builder::new()
            .prefix("strata-test-")
            .tempdir()
            .unwrap();
        let state = tempfile::Builder::new()
            .prefix("strata-test-state-")
            .tempdir()
            .unwrap();
        let repo = Repo { dir, state };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.git(&["config", "user.email", "test@example.com"]);
        repo.git(&["config", "user.name", "Test"]);
        repo.git(&["config", "commit.gpgsign", "false"]);
        repo
    }

    /// A repository holding the standard fixture workspace, committed on `main`.
    pub fn with_fixture() -> Repo {
        let repo = Repo::new();
        fixture(&repo);
        repo.commit("initial");
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, rel: &str, content: &str) -> &Repo {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
        self
    }

    pub fn append(&self, rel: &str, content: &str) -> &Repo {
        let p = self.path().join(rel);
        let mut old = std::fs::read_to_string(&p).unwrap();
        old.push_str(content);
        std::fs::write(p, old).unwrap();
        self
    }

    pub fn remove(&self, rel: &str) -> &Repo {
        let p = self.path().join(rel);
        if p.is_dir() {
            std::fs::remove_dir_all(p).unwrap();
        } else {
            std::fs::remove_file(p).unwrap();
        }
        self
    }

    #[track_caller]
    pub fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .current_dir(self.path())
            .args(args)
            .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
            .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    pub fn commit(&self, msg: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", msg]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// Runs the built `strata` binary in the repository root.
    pub fn strata(&self, args: &[&str]) -> Run {
        self.strata_in(self.path(), args)
    }

    pub fn strata_in(&self, dir: &Path, args: &[&str]) -> Run {
        let mut cmd = self.command(args);
        cmd.current_dir(dir);
        cmd.output().unwrap().into()
    }

    /// The built `strata` with ARGS in the repository root, as the tests run it: no daemon,
    /// this repository's state directory.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
        cmd.current_dir(self.path())
            .args(args)
            .env_remove("GIT_DIR")
            .env("STRATA_DAEMON", "0")
            .env("STRATA_STATE_DIR", self.state.path());
        // Who runs strata is `git config user.email` here, whatever CI runs the tests.
        for ci in ["GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "CIRCLECI"] {
            cmd.env_remove(ci);
        }
        cmd
    }

    /// Where local state lives for this repository (`STRATA_STATE_DIR`).
    pub fn state_dir(&self) -> &Path {
        self.state.path()
    }

    /// The local state file of `label` in `env` (the workspace's directory under
    /// [`Repo::state_dir`] is named after the workspace and its path).
    pub fn state_file(&self, env: &str, label: &str) -> PathBuf {
        let config: toml::Table =
            toml::from_str(&std::fs::read_to_string(self.path().join("WORKSPACE.toml")).unwrap())
                .unwrap();
        let name = config["workspace"]["name"].as_str().unwrap();
        strata_exec::state::workspace_state_dir(self.state.path(), self.path(), name)
            .join(env)
            .join(label)
            .join("terraform.tfstate")
    }

    /// `strata --json affected ARGS` -> sorted (label, reason) pairs.
    pub fn affected(&self, args: &[&str]) -> Vec<(String, String)> {
        let mut full = vec!["--json", "affected"];
        full.extend_from_slice(args);
        let run = self.strata(&full);
        run.assert_ok();
        label_reasons(&run.json())
    }

    /// Affected labels only.
    pub fn affected_labels(&self, args: &[&str]) -> Vec<String> {
        self.affected(args).into_iter().map(|(l, _)| l).collect()
    }

    /// `strata --json hash` as label -> hash.
    pub fn hashes(&self) -> std::collections::BTreeMap<String, String> {
        let run = self.strata(&["--json", "hash"]);
        run.assert_ok();
        run.json()["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["label"].as_str().unwrap().to_string(),
                    t["hash"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }
}

/// Runs the built `strata` in `dir`. `STRATA_DAEMON=0`: commands compute every answer
/// themselves and start no daemon (tests/daemon.rs covers the daemon).
/// A file made immutable (`chattr +i`) until dropped: it can be read, and a file renamed
/// over it fails, as on a read-only bind mount, while its directory stays writable. `None`
/// where the attribute cannot be set (not root, or a file system without it).
pub struct Immutable(PathBuf);

impl Immutable {
    pub fn set(path: &Path) -> Option<Immutable> {
        let ok = Command::new("chattr")
            .arg("+i")
            .arg(path)
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            eprintln!(
                "NOTE: cannot make {} immutable (chattr +i needs root and ext4, xfs or btrfs): that part of the test did not run",
                path.display()
            );
        }
        ok.then(|| Immutable(path.to_path_buf()))
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).output();
    }
}

/// A small file system (tmpfs of `kib` KiB) mounted on a fresh directory until dropped: a
/// place that fills up. `None` where it cannot be mounted (not root).
pub struct SmallFs {
    dir: tempfile::TempDir,
}

impl SmallFs {
    pub fn mount(kib: u32) -> Option<SmallFs> {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
            .arg(dir.path())
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            eprintln!("NOTE: cannot mount a tmpfs (needs root): that part of the test did not run");
        }
        ok.then_some(SmallFs { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .output();
    }
}

/// A fresh directory (no git repository) holding `files`: (relative path, text).
pub fn files_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

pub fn strata(dir: &Path, args: &[&str]) -> Run {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .current_dir(dir)
        .args(args)
        .env_remove("GIT_DIR")
        .env("STRATA_DAEMON", "0")
        .output()
        .unwrap()
        .into()
}

impl From<std::process::Output> for Run {
    fn from(out: std::process::Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Masks what changes from run to run: 64-hex hashes, 40-hex ids, the temp path.
pub fn mask(text: &str, temp: &Path) -> String {
    let mut out = text.replace(&temp.display().to_string(), "[TEMP]");
    for (len, tag) in [(64, "[HASH]"), (40, "[OID]")] {
        let mut result = String::new();
        let bytes: Vec<char> = out.chars().collect();
        let mut i = 0;
        while i < bytes.len() {
            let run = bytes[i..]
                .iter()
                .take_while(|c| c.is_ascii_hexdigit())
                .count();
            if run == len {
                result.push_str(tag);
                i += run;
            } else if run > 0 {
                result.extend(&bytes[i..i + run]);
                i += run;
            } else {
                result.push(bytes[i]);
                i += 1;
            }
        }
        out = result;
    }
    out
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A small workspace in the shape of a real one:
///
/// ```text
/// modules/naming <- modules/vpc <- stacks/network <- stacks/database <- charts/api
///                \- modules/db  <------------------/               (declared + input)
/// charts/lib <- charts/api, charts/web
/// stacks/app: declared dep on stacks/database; reads shared/config.json via file()
/// ```
pub fn fixture(repo: &Repo) {
    repo.write(
        "WORKSPACE.toml",
        r#"[workspace]
name = "fixture"
default_branch = "main"
global_inputs = ["WORKSPACE.toml", "shared/global/*.json"]
ignore = ["**/*.md"]

[toolchain]
terraform = "1.0.3"
helm = "4.1.4"
"#,
    );
    for env in ["dev", "staging", "prod"] {
        let from = match env {
            "staging" => "promotes_from = \"dev\"\n",
            "prod" => "promotes_from = \"staging\"\n",
            _ => "",
        };
        repo.write(
            &format!("environments/{env}/env.toml"),
            &format!("{from}[gates]\nrequire = [\"plan\"]\n"),
        );
        repo.write(
            &format!("environments/{env}/stacks/network/terraform.tfvars"),
            &format!("cidr = \"10.{}.0.0/16\"\n", env.len()),
        );
    }
    repo.write(
        "modules/naming/main.tf",
        "variable \"name\" {}\noutput \"prefix\" { value = \"acme-${var.name}\" }\n",
    );
    repo.write(
        "modules/vpc/main.tf",
        "module \"naming\" {\n  source = \"../naming\"\n  name   = \"vpc\"\n}\nresource \"null_resource\" \"vpc\" {}\noutput \"id\" { value = null_resource.vpc.id }\n",
    );
    repo.write(
        "modules/db/main.tf",
        "module \"naming\" {\n  source = \"../naming\"\n  name   = \"db\"\n}\nresource \"null_resource\" \"db\" {}\n",
    );
    repo.write(
        "stacks/network/main.tf",
        "module \"vpc\" {\n  source = \"../../modules/vpc\"\n}\noutput \"vpc_id\" { value = module.vpc.id }\n",
    );
    repo.write("stacks/network/README.md", "# network\n");
    repo.write(
        "stacks/database/main.tf",
        "variable \"vpc_id\" { type = string }\nmodule \"db\" {\n  source = \"../../modules/db\"\n}\noutput \"endpoint\" { value = \"db.internal\" }\n",
    );
    repo.write(
        "stacks/database/stack.toml",
        "deps = [\"stacks/network\"]\n\n[inputs]\nvpc_id = \"stacks/network:vpc_id\"\n",
    );
    repo.write(
        "stacks/app/main.tf",
        "locals {\n  config = file(\"${path.module}/../../shared/config.json\")\n}\noutput \"config\" { value = local.config }\n",
    );
    repo.write(
        "stacks/app/stack.toml",
        "deps = [\"stacks/database\"]\nenvironments = [\"staging\", \"prod\"]\n",
    );
    repo.write("shared/config.json", "{\"replicas\": 2}\n");
    repo.write("shared/global/tags.json", "{\"owner\": \"platform\"}\n");
    repo.write("shared/unrelated.txt", "not read by anything\n");
    repo.write(
        "charts/lib/Chart.yaml",
        "apiVersion: v2\nname: lib\ntype: library\nversion: 0.1.0\n",
    );
    repo.write(
        "charts/lib/templates/_helpers.tpl",
        "{{- define \"lib.name\" -}}{{ .Chart.Name }}{{- end -}}\n",
    );
    for chart in ["api", "web"] {
        repo.write(
            &format!("charts/{chart}/Chart.yaml"),
            &format!("apiVersion: v2\nname: {chart}\nversion: 0.1.0\ndependencies:\n  - name: lib\n    version: 0.1.0\n    repository: file://../lib\n"),
        );
        repo.write(&format!("charts/{chart}/values.yaml"), "replicaCount: 1\n");
    }
    repo.write(
        "charts/api/chart.toml",
        "[inputs]\ndatabase_host = \"stacks/database:endpoint\"\n",
    );
    repo.write("policies/k8s/deny.rego", "package main\n\nimport rego.v1\n\ndeny contains msg if {\n  false\n  msg := \"never\"\n}\n");
}

/// The (label, reason) pairs of an `affected --json` document.
pub fn label_reasons(json: &serde_json::Value) -> Vec<(String, String)> {
    json["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["label"].as_str().unwrap().to_string(),
                t["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Label/reason pairs from literals, for comparisons.
pub fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// A temporary git repository holding a copy of the sample workspace at the repository root
/// (committed on `main`), with `.tools` linked to the bootstrapped tools.
pub fn sample_repo() -> Repo {
    let root = repo_root();
    assert!(
        root.join(".tools/bin/terraform").exists(),
        "pinned tools missing: run scripts/bootstrap first"
    );
    let repo = Repo::new();
    let files = Command::new("git")
        .current_dir(&root)
        .args([
            "ls-files",
            "-co",
            "--exclude-standard",
            "-z",
            "--",
            "WORKSPACE.toml",
            ".gitignore",
            "stacks",
            "modules",
            "charts",
            "environments",
            "shared",
            "policies",
        ])
        .output()
        .unwrap();
    for f in String::from_utf8_lossy(&files.stdout)
        .split('\0')
        .filter(|f| !f.is_empty())
    {
        let from = root.join(f);
        if from.is_file() {
            let to = repo.path().join(f);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(from, to).unwrap();
        }
    }
    link_pinned_tools(&repo);
    repo.commit("sample workspace");
    repo
}

/// `strata --json ARGS`, parsed; panics on output that is not JSON.
pub fn json_run(repo: &Repo, args: &[&str]) -> (Run, serde_json::Value) {
    let mut full = vec!["--json"];
    full.extend_from_slice(args);
    let mut run = repo.strata(&full);
    let json = run.json();
    // Failed tasks' reasons and logs, so an assertion on the exit code explains itself.
    for t in json["tasks"].as_array().into_iter().flatten() {
        if t["status"] == "failed" {
            run.stderr.push_str(&format!(
                "\n[failed] {} {} {}: {}\n{}",
                t["label"],
                t["action"],
                t["env"],
                t["reason"],
                t["log"].as_str().unwrap_or("")
            ));
        }
    }
    (run, json)
}

/// The tasks of a `--json` run report as (label, action, env) with the given predicate.
pub fn tasks_where(
    report: &serde_json::Value,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> Vec<String> {
    let mut out: Vec<String> = report["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| pred(t))
        .map(|t| match t["env"].as_str() {
            Some(env) => format!(
                "{} {} {env}",
                t["label"].as_str().unwrap(),
                t["action"].as_str().unwrap()
            ),
            None => format!(
                "{} {}",
                t["label"].as_str().unwrap(),
                t["action"].as_str().unwrap()
            ),
        })
        .collect();
    out.sort();
    out
}

/// Every file under `dir` (recursively, hidden ones included), sorted; empty when `dir` is
/// missing.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The SHA-256 (lowercase hex) of each file, computed by `sha256sum`, in order.
pub fn sha256_files(paths: &[PathBuf]) -> Vec<String> {
    if paths.is_empty() {
        return Vec::new();
    }
    let out = Command::new("sha256sum")
        .arg("--")
        .args(paths)
        .output()
        .expect("sha256sum (coreutils) runs");
    assert!(
        out.status.success(),
        "sha256sum failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let sums: Vec<String> = text
        .lines()
        .map(|l| l.trim_start_matches('\\')[..64].to_string())
        .collect();
    assert_eq!(sums.len(), paths.len(), "{text}");
    sums
}

/// Checks a local cache directory (`ac/<key>` results, `cas/<2 hex>/<sha256>` blobs): every
/// result parses, is stored under its own key and names blobs that are present; every blob's
/// content hashes to its name. Returns the number of results.
#[track_caller]
pub fn assert_cache_consistent(cache: &Path) -> usize {
    let blobs = files_under(&cache.join("cas"));
    for (path, sum) in blobs.iter().zip(sha256_files(&blobs)) {
        let name = path.file_name().unwrap().to_str().unwrap();
        assert_eq!(
            name,
            sum,
            "blob {} does not hash to its name",
            path.display()
        );
        let dir = path
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap();
        assert_eq!(dir, &name[..2], "blob {} is misplaced", path.display());
    }
    let results = files_under(&cache.join("ac"));
    for path in &results {
        let bytes = std::fs::read(path).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "cache result {} is not JSON ({e}): {}",
                path.display(),
                String::from_utf8_lossy(&bytes)
            )
        });
        let name = path.file_name().unwrap().to_str().unwrap();
        assert_eq!(
            json["key"],
            name,
            "result {} names another key",
            path.display()
        );
        for (output, r) in json["outputs"].as_object().expect("outputs") {
            let digest = r["digest"].as_str().expect("digest");
            let blob = cache.join("cas").join(&digest[..2]).join(digest);
            assert!(
                blob.is_file(),
                "result {} names blob `{output}` {digest}, which is missing",
                path.display()
            );
        }
    }
    results.len()
}

/// The target `label` of an `affected --json` document.
pub fn target<'j>(json: &'j serde_json::Value, label: &str) -> Option<&'j serde_json::Value> {
    json["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == label)
}

/// An empty workspace that runs the pinned tools (the sample workspace's toolchain), with
/// a `dev` environment; the caller writes targets and commits.
pub fn tools_repo() -> Repo {
    let root = repo_root();
    assert!(
        root.join(".tools/bin/terraform").exists(),
        "pinned tools missing: run scripts/bootstrap first"
    );
    let repo = Repo::new();
    repo.write(
        "WORKSPACE.toml",
        "[workspace]\nname = \"t\"\n\n[toolchain]\nterraform = \"1.0.3\"\nhelm = \"4.1.4\"\ntools_dir = \".tools/bin\"\nterraform_cli_config = \".tools/terraform.rc\"\n",
    );
    repo.write(".gitignore", ".strata/\n.tools\n");
    repo.write(
        "environments/dev/env.toml",
        "[state]\nbackend = \"local\"\n",
    );
    link_pinned_tools(&repo);
    repo
}

/// Links the repository's pinned tools (`.tools`, which `scripts/bootstrap` installs) into
/// `repo`, whose WORKSPACE.toml names `.tools/bin` and `.tools/terraform.rc`.
pub fn link_pinned_tools(repo: &Repo) {
    #[cfg(unix)]
    std::os::unix::fs::symlink(repo_root().join(".tools"), repo.path().join(".tools")).unwrap();
}

/// Every file under `dir` (recursively) whose bytes contain `needle`, except below the
/// directories named in `skip` (relative to `dir`).
pub fn files_containing(dir: &Path, needle: &[u8], skip: &[&str]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let rel = p.strip_prefix(dir).unwrap_or(&p);
            if skip.iter().any(|s| rel.starts_with(s)) {
                continue;
            }
            let Ok(meta) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(p);
            } else if meta.is_file() {
                if let Ok(bytes) = std::fs::read(&p) {
                    if bytes.windows(needle.len()).any(|w| w == needle) {
                        found.push(p);
                    }
                }
            }
        }
    }
    found
}

/// The `terraform` block of a stack using the null provider the pinned tools serve offline.
pub const NULL_PROVIDER: &str = r#"terraform {
  required_providers {
    null = {
      source  = "hashicorp/null"
      version = "2.1.2"
    }
  }
}
"#;

/// `stacks/network`: a null resource whose trigger is variable `v` (default `v`) and the
/// output `vpc_id` (`vpc-<v>`); with `v` starting `slow`, its apply touches
/// `$STRATA_TEST_MARKER` and then takes 8 s, or `$STRATA_TEST_HOLD` seconds (to interrupt or
/// race it).
/// `strata apply --env dev --auto-approve` of [`network_stack`]'s slow network, returned
/// once it applies (`marker` exists), with `hold` seconds of its apply to go.
pub fn slow_apply_started(repo: &Repo, marker: &Path, hold: &str) -> std::process::Child {
    let apply = repo
        .command(&["apply", "--env", "dev", "--auto-approve"])
        .env("STRATA_TEST_MARKER", marker)
        .env("STRATA_TEST_HOLD", hold)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while !marker.exists() && start.elapsed() < std::time::Duration::from_secs(60) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(marker.exists(), "the slow apply never started");
    apply
}

pub fn network_stack(repo: &Repo, v: &str) {
    repo.write(
        "stacks/network/main.tf",
        &format!(
            r#"{NULL_PROVIDER}
variable "v" {{
  default = "{v}"
}}

resource "null_resource" "net" {{
  triggers = {{
    v = var.v
  }}
  provisioner "local-exec" {{
    command = "if [ '${{var.v}}' = slow ]; then touch \"$STRATA_TEST_MARKER\"; sleep $${{STRATA_TEST_HOLD:-8}}; fi"
  }}
}}

output "vpc_id" {{
  value = "vpc-${{var.v}}"
}}
"#
        ),
    );
}

/// The task `label action` of a run's JSON report.
pub fn task<'j>(json: &'j serde_json::Value, label: &str, action: &str) -> &'j serde_json::Value {
    json["tasks"]
        .as_array()
        .unwrap_or_else(|| panic!("no tasks in {json}"))
        .iter()
        .find(|t| t["label"] == label && t["action"] == action)
        .unwrap_or_else(|| panic!("no task {label} {action} in {json}"))
}

/// Waits until `done` holds, failing the test after `timeout`.
pub fn wait_for(what: &str, timeout: std::time::Duration, mut done: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// `stacks/app`: consumes `stacks/network`'s `vpc_id` and outputs it as `seen`.
pub fn app_stack(repo: &Repo) {
    repo.write(
        "stacks/app/main.tf",
        &format!(
            r#"{NULL_PROVIDER}
variable "vpc_id" {{}}

resource "null_resource" "app" {{
  triggers = {{
    vpc = var.vpc_id
  }}
}}

output "seen" {{
  value = var.vpc_id
}}
"#
        ),
    );
    repo.write(
        "stacks/app/stack.toml",
        "[inputs]\nvpc_id = \"stacks/network:vpc_id\"\n",
    );
}

/// State files holding resources or outputs in the checkout or its local state directory
/// (terraform's working directories hold only the backend's settings).
pub fn local_state_files(repo: &Repo) -> Vec<PathBuf> {
    files_under(repo.state_dir())
        .into_iter()
        .chain(files_under(&repo.path().join(".strata")))
        .filter(|p| p.to_string_lossy().ends_with(".tfstate"))
        .filter(|p| {
            let json: serde_json::Value =
                serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap_or_default();
            json.get("resources").is_some() || json.get("outputs").is_some()
        })
        .collect()
}

/// A loopback port nothing listens on, never handed out before in this test process: a
/// test that stopped its server relies on nothing listening on that port afterwards.
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<std::collections::BTreeSet<u16>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if GIVEN.lock().unwrap().insert(port) {
            return port;
        }
    }
}

/// `strata --json ARGS` in `repo` for a state backend's tests: `unset` removed from the
/// environment (credentials terraform would otherwise find on its own), then `env` and
/// `extra` set.
pub fn backend_command(
    repo: &Repo,
    env: &[(String, String)],
    unset: &[&str],
    args: &[&str],
    extra: &[(&str, &str)],
) -> Command {
    let mut full = vec!["--json"];
    full.extend_from_slice(args);
    let mut cmd = repo.command(&full);
    for var in unset {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd
}

/// [`backend_command`] run to its end: the run and its JSON report (null when none).
pub fn backend_run(
    repo: &Repo,
    env: &[(String, String)],
    unset: &[&str],
    args: &[&str],
    extra: &[(&str, &str)],
) -> (Run, serde_json::Value) {
    let run: Run = backend_command(repo, env, unset, args, extra)
        .output()
        .unwrap()
        .into();
    let json = serde_json::from_str(&run.stdout).unwrap_or(serde_json::Value::Null);
    (run, json)
}

/// [`backend_command`] started in the background, its output piped.
pub fn backend_spawn(
    repo: &Repo,
    env: &[(String, String)],
    unset: &[&str],
    args: &[&str],
    extra: &[(&str, &str)],
) -> std::process::Child {
    backend_command(repo, env, unset, args, extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// No file strata wrote (the checkout's .strata with the sandboxes terraform ran in, the
/// local state directory) and no output holds `secret`.
pub fn assert_secret_nowhere(secret: &str, repo: &Repo, outputs: &[&Run]) {
    for dir in [repo.path().join(".strata"), repo.state_dir().to_path_buf()] {
        let found = files_containing(&dir, secret.as_bytes(), &[]);
        assert!(found.is_empty(), "{secret} is in {found:?}");
    }
    for run in outputs {
        assert!(!run.stdout.contains(secret), "{}", run.stdout);
        assert!(!run.stderr.contains(secret), "{}", run.stderr);
    }
}

/// `strata ARGS` started on a pseudo-terminal (util-linux `script`), its input and output
/// piped.
pub fn spawn_on_terminal(repo: &Repo, args: &str) -> std::process::Child {
    let command = format!("{} {args}", env!("CARGO_BIN_EXE_strata"));
    Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(repo.path())
        .env_remove("GIT_DIR")
        .env("STRATA_DAEMON", "0")
        .env("STRATA_STATE_DIR", repo.state_dir())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs commands on a pseudo-terminal")
}

/// `strata ARGS` on a pseudo-terminal, answering `answer`.
pub fn on_terminal(repo: &Repo, args: &str, answer: &str) -> Run {
    use std::io::Write;
    let mut child = spawn_on_terminal(repo, args);
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{answer}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap().into()
}
