//! Files as editors and generators save them: a byte-order mark, Latin-1 bytes in a comment,
//! CRLF line ends. Terraform reads past all of them, and so must every reader of strata.
#![allow(clippy::disallowed_methods)] // tests drive git, the real strata binary and tools

mod common;
use common::{json_run, Repo};

const TOKEN: &str = "tok-9f8e7d6c5b4a-SECRET";

/// `rel` in `repo`, written as these bytes.
fn write_bytes(repo: &Repo, rel: &str, bytes: &[u8]) {
    let path = repo.path().join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// A variable declared sensitive in a file with a Latin-1 comment is still known to be
/// sensitive: its value in the environment's variable file is hidden from the policies and
/// from everything strata writes. Before, such a file was skipped, and the value reached a
/// finding in clear.
#[test]
fn a_sensitive_variable_declared_in_a_file_with_latin_1_stays_hidden() {
    let repo = common::tools_repo();
    repo.append("WORKSPACE.toml", "\n[policy]\nbuiltin = false\n");
    write_bytes(
        &repo,
        "stacks/app/variables.tf",
        b"# Variablen f\xfcr die Anwendung\r\nvariable \"api_token\" {\r\n  type      = string\r\n  sensitive = true\r\n}\r\n",
    );
    repo.write(
        "stacks/app/main.tf",
        &format!(
            "{}\nresource \"null_resource\" \"a\" {{}}\n",
            common::NULL_PROVIDER
        ),
    );
    repo.write(
        "environments/dev/stacks/app/terraform.tfvars",
        &format!("api_token = \"{TOKEN}\"\n"),
    );
    repo.write("policies/tv/policy.toml", "kinds = [\"stack\"]\n");
    repo.write(
        "policies/tv/tv.rego",
        "package main\n\nimport rego.v1\n\nwarn contains msg if {\n  msg := sprintf(\"api_token is %v\", [input.api_token])\n}\n",
    );
    repo.commit("a sensitive variable");
    let (run, report) = json_run(&repo, &["check", "--env", "dev", "stacks/app"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        report
            .to_string()
            .contains("api_token is (sensitive value)"),
        "{report}"
    );
    assert!(
        !run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    assert_eq!(
        common::files_containing(&repo.path().join(".strata"), TOKEN.as_bytes(), &["work"]),
        Vec::<std::path::PathBuf>::new()
    );
}

/// A variable declared in a file saved with a byte-order mark is declared: an input bound
/// to it is given (terraform's own fmt refuses the mark, which the verification records).
/// Before, the first declaration was missed and the plan refused: "sets `base_id`, which
/// this stack does not declare".
#[test]
fn a_variable_declared_in_a_file_with_a_byte_order_mark_takes_its_input() {
    let repo = common::tools_repo();
    repo.write(
        "stacks/net/main.tf",
        &format!(
            "{}\nresource \"null_resource\" \"n\" {{}}\n\noutput \"id\" {{\n  value = \"net-1\"\n}}\n",
            common::NULL_PROVIDER
        ),
    );
    write_bytes(
        &repo,
        "stacks/app/variables.tf",
        b"\xef\xbb\xbfvariable \"base_id\" {\r\n  type = string\r\n}\r\n",
    );
    repo.write(
        "stacks/app/main.tf",
        &format!(
            "{}\nresource \"null_resource\" \"a\" {{\n  triggers = {{\n    base = var.base_id\n  }}\n}}\n",
            common::NULL_PROVIDER
        ),
    );
    repo.write(
        "stacks/app/stack.toml",
        "[inputs]\nbase_id = \"stacks/net:id\"\n",
    );
    repo.commit("an input bound to a variable declared after a byte-order mark");
    let (run, json) = json_run(&repo, &["apply", "--env", "dev", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let apply = common::task(&json, "stacks/app", "apply");
    assert_eq!(apply["status"], "ok", "{json}");
    assert!(
        apply["log"]
            .as_str()
            .unwrap_or_default()
            .contains("1 added"),
        "{apply}"
    );
}

/// A stack's own `backend` block in a file saved with a byte-order mark is its backend:
/// strata does not put its own in its place. Before, the block was not seen, and the
/// state went to strata's local state instead of the declared one.
#[test]
fn a_backend_declared_in_a_file_with_a_byte_order_mark_is_kept() {
    let repo = common::tools_repo();
    let own = tempfile::tempdir().unwrap();
    let state = own.path().join("app.tfstate");
    let mut backend = b"\xef\xbb\xbf".to_vec();
    backend.extend_from_slice(
        format!(
            "terraform {{\r\n  backend \"local\" {{\r\n    path = \"{}\"\r\n  }}\r\n}}\r\n",
            state.display()
        )
        .as_bytes(),
    );
    write_bytes(&repo, "stacks/app/backend.tf", &backend);
    repo.write(
        "stacks/app/main.tf",
        &format!(
            "{}\nresource \"null_resource\" \"a\" {{}}\n",
            common::NULL_PROVIDER
        ),
    );
    repo.commit("a stack with its own backend");
    let run = repo.strata(&["apply", "--env", "dev", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(state.exists(), "the declared backend holds the state");
    assert!(
        !repo.state_file("dev", "stacks/app").exists(),
        "strata's own local state is not used"
    );
}
