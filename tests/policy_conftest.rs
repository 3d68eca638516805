//! conftest compatibility: conftest's acceptance cases for Terraform, YAML and JSON input,
//! re-created with inputs and policies of our own, run through `strata policy scan` and
//! compared with the counts and messages conftest gives for the same behaviour.
#![allow(clippy::disallowed_methods)] // tests drive git, the real strata binary and tools

mod common;
use common::{Repo, Run};
use std::path::Path;

/// A workspace with one policy target, `policies/compat`, holding `files`.
fn with_policy(files: &[(&str, &str)]) -> Repo {
    let repo = Repo::with_fixture();
    for (path, text) in files {
        repo.write(&format!("policies/compat/{path}"), text);
    }
    repo.commit("compat policy");
    repo
}

use common::files_dir as inputs;

fn scan(repo: &Repo, extra: &[&str], paths: &[&Path]) -> Run {
    let mut args = vec!["policy", "scan", "--policy", "policies/compat"];
    args.extend_from_slice(extra);
    let paths: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    args.extend(paths.iter().map(String::as_str));
    repo.strata(&args)
}

/// conftest's summary line, as strata prints it.
fn summary(run: &Run) -> &str {
    run.stderr
        .lines()
        .find(|l| l.contains(" passed, "))
        .and_then(|l| l.split(" (").next())
        .unwrap_or("")
}

// -- Terraform --------------------------------------------------------------------------

const TF_POLICY: &str = r#"package main

import rego.v1

deny contains msg if {
	some name, bodies in input.resource.aws_lb_listener
	some listener in bodies
	listener.protocol == "HTTP"
	msg := sprintf("listener `%s` serves plain HTTP", [name])
}

deny contains msg if {
	some name, bodies in input.resource.aws_security_group_rule
	some rule in bodies
	rule.type == "ingress"
	some cidr in rule.cidr_blocks
	cidr == "0.0.0.0/0"
	msg := sprintf("rule `%s` opens ingress to the world", [name])
}

deny contains msg if {
	some name, bodies in input.resource.azurerm_managed_disk
	some disk in bodies
	disk.encryption_settings[0].enabled == false
	msg := sprintf("disk `%s` is not encrypted", [name])
}

deny contains msg if {
	some type, resources in input.resource
	startswith(type, "aws_")
	some name, bodies in resources
	some r in bodies
	not r.tags.owner
	msg := sprintf("%s.%s has no owner tag", [type, name])
}
"#;

const TF_MAIN: &str = r#"resource "aws_security_group_rule" "ssh" {
  type        = "ingress"
  from_port   = 22
  to_port     = 22
  cidr_blocks = ["10.0.0.0/8", "0.0.0.0/0"]
}

resource "aws_lb_listener" "front" {
  port     = "80"
  protocol = "HTTP"
}

resource "aws_db_subnet_group" "db" {
}

resource "azurerm_managed_disk" "data" {
  name = "data"
  encryption_settings {
    enabled = false
  }
}

resource "aws_s3_bucket" "logs" {
  tags = {
    owner       = "sre"
    environment = "prod"
  }
}
"#;

/// Item 1: `.tf` input has hcl2json's shape (every block body in an array), so conftest
/// policies that iterate the bodies or index `[0]` find what conftest finds: 6 failures
/// for 4 `deny` definitions (conftest's hcl2 example counts the same way).
#[test]
fn terraform_input_has_hcl2json_shape() {
    let repo = with_policy(&[("terraform.rego", TF_POLICY)]);
    let dir = inputs(&[("main.tf", TF_MAIN)]);
    let run = scan(&repo, &[], &[&dir.path().join("main.tf")]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        summary(&run),
        "6 tests, 0 passed, 0 warnings, 6 failures, 0 exceptions",
        "{run:?}"
    );
    for msg in [
        "listener `front` serves plain HTTP",
        "rule `ssh` opens ingress to the world",
        "disk `data` is not encrypted",
        "aws_db_subnet_group.db has no owner tag",
    ] {
        assert!(run.stdout.contains(msg), "{msg}: {}", run.stdout);
    }
    // A directory: each .tf file is its own input; the second file's one failure leaves
    // three of the four definitions to pass (conftest's padding).
    std::fs::create_dir_all(dir.path().join("disks")).unwrap();
    std::fs::write(
        dir.path().join("disks/disk.tf"),
        "resource \"azurerm_managed_disk\" \"scratch\" {\n  encryption_settings {\n    enabled = false\n  }\n}\n",
    )
    .unwrap();
    let run = scan(&repo, &[], &[dir.path()]);
    assert_eq!(
        summary(&run),
        "10 tests, 3 passed, 0 warnings, 7 failures, 0 exceptions",
        "{run:?}"
    );
    // The built-in pack keeps strata's plain-object shape because its policy.toml says so.
    let toml = std::fs::read_to_string(
        common::repo_root().join("crates/policy/builtin/terraform-aws/policy.toml"),
    )
    .unwrap();
    assert!(toml.contains("input_shape = \"strata\""), "{toml}");
}

/// Item 1, the other way: a policy that declares `input_shape = "strata"` reads blocks as
/// objects.
#[test]
fn a_policy_may_declare_strata_shape() {
    let repo = with_policy(&[
        ("policy.toml", "input_shape = \"strata\"\n"),
        (
            "plain.rego",
            "package main\n\nimport rego.v1\n\ndeny contains name if {\n\tsome name, disk in input.resource.azurerm_managed_disk\n\tdisk.encryption_settings.enabled == false\n}\n",
        ),
    ]);
    let dir = inputs(&[("main.tf", TF_MAIN)]);
    let run = scan(&repo, &[], &[&dir.path().join("main.tf")]);
    assert_eq!(
        summary(&run),
        "1 test, 0 passed, 0 warnings, 1 failure, 0 exceptions",
        "{run:?}"
    );
}

/// strata's shape reads the `.tf` files of a directory as one module (one input), so a
/// rule sees the resources of every file; hcl2json's shape keeps one input per file, as
/// conftest does.
#[test]
fn strata_shape_reads_a_directory_as_one_module() {
    let rego = "package main\n\nimport rego.v1\n\ndeny contains msg if {\n\tdisks := input.resource.azurerm_managed_disk\n\tmsg := sprintf(\"%d disks: %s\", [count(disks), concat(\", \", sort(object.keys(disks)))])\n}\n";
    let dir = inputs(&[
        ("main.tf", TF_MAIN),
        (
            "disks.tf",
            "resource \"azurerm_managed_disk\" \"scratch\" {\n  encryption_settings {\n    enabled = false\n  }\n}\n",
        ),
    ]);
    let repo = with_policy(&[
        ("policy.toml", "input_shape = \"strata\"\n"),
        ("count.rego", rego),
    ]);
    let run = scan(&repo, &[], &[dir.path()]);
    assert!(run.stdout.contains("2 disks: data, scratch"), "{run:?}");
    assert_eq!(
        summary(&run),
        "1 test, 0 passed, 0 warnings, 1 failure, 0 exceptions",
        "{run:?}"
    );
    // The finding names no block: it is shown at the module's first file.
    assert!(run.stdout.contains("disks.tf: 2 disks"), "{}", run.stdout);
    let repo = with_policy(&[("count.rego", rego)]);
    let run = scan(&repo, &[], &[dir.path()]);
    assert!(!run.stdout.contains("2 disks"), "{run:?}");
}

// -- Rules ------------------------------------------------------------------------------

/// Item 2: rules come from the parsed module: an indented rule and an indented exception
/// count, and a comment on the package line does not rename the package.
#[test]
fn rules_are_read_from_the_parsed_module() {
    let repo = with_policy(&[(
        "indented.rego",
        r#"package main # rules for deployments

import rego.v1

    deny_no_owner contains "deployment has no owner label" if {
        input.kind == "Deployment"
        not input.metadata.labels.owner
    }

    warn_old_api contains "extensions/v1beta1 is gone" if {
        input.apiVersion == "extensions/v1beta1"
    }

    exception contains ["old_api"] if input.metadata.name == "legacy"
"#,
    )]);
    let dir = inputs(&[(
        "app.yaml",
        "apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata:\n  name: legacy\n",
    )]);
    let run = scan(&repo, &[], &[dir.path()]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.contains("deployment has no owner label"),
        "{run:?}"
    );
    assert_eq!(
        summary(&run),
        "2 tests, 0 passed, 0 warnings, 1 failure, 1 exception",
        "{run:?}"
    );
}

/// Item 3: values as conftest reads them. `deny if ...` is one pass, not a finding; several
/// messages from one rule are several failures; `deny_` is not a rule name.
#[test]
fn rule_values_count_as_conftest_reads_them() {
    let repo = with_policy(&[(
        "values.rego",
        r#"package main

import rego.v1

deny if true

deny_ contains "not a rule: a name ends with a word" if true

failures := ["one", "two", "three"]

violation contains name if some name in failures

warn contains 42 if true
"#,
    )]);
    let dir = inputs(&[("data.json", "{}")]);
    let run = scan(&repo, &[], &[&dir.path().join("data.json")]);
    assert_eq!(run.code, 1, "{run:?}");
    // deny: one pass; violation: three failures; warn's number is ignored; `deny_` is not
    // a rule. Four results for three definitions: nothing to pad.
    assert_eq!(
        summary(&run),
        "4 tests, 1 passed, 0 warnings, 3 failures, 0 exceptions",
        "{run:?}"
    );
    assert!(!run.stdout.contains("not a rule"), "{run:?}");
}

/// Item 3: what conftest refuses is bad input here, named by file and line: the mixed
/// `deny[msg] if` form, an object without `msg`, a bare-string exception.
#[test]
fn rule_forms_conftest_rejects_are_errors_with_file_and_line() {
    let cases = [
        (
            "package main\n\nimport rego.v1\n\ndeny[msg] if {\n\tmsg := \"foo\"\n}\n",
            ":5: ",
            "without `contains`",
        ),
        (
            "package main\n\nimport rego.v1\n\ndeny contains {\"id\": \"X-1\"} if true\n",
            ":5: ",
            "string `msg`",
        ),
        (
            "package main\n\nimport rego.v1\n\ndeny_x contains \"x\" if true\n\nexception contains \"x\" if true\n",
            ":7: ",
            "bare string",
        ),
        // A function calling itself, directly or through another (OPA refuses it when it
        // compiles the policy; evaluated, it would never end).
        (
            "package main\n\nimport rego.v1\n\nf(x) := y if {\n\ty := f(x)\n}\n\ndeny contains \"loop\" if f(input) == 1\n",
            ":5: ",
            "function `data.main.f` is recursive: data.main.f -> data.main.f",
        ),
        (
            "package main\n\nimport rego.v1\n\ndeny contains \"loop\" if g(input) == 1\n\ng(x) := h(x)\n\nh(x) := g(x) + 1\n",
            ":7: ",
            "data.main.g -> data.main.h -> data.main.g",
        ),
    ];
    for (rego, line, what) in cases {
        let repo = with_policy(&[("bad.rego", rego)]);
        let dir = inputs(&[("data.yaml", "a: 1\n")]);
        let run = scan(&repo, &[], &[dir.path()]);
        assert_eq!(run.code, 2, "{run:?}");
        assert!(
            run.stderr
                .contains(&format!("policies/compat/bad.rego{line}")),
            "{run:?}"
        );
        assert!(run.stderr.contains(what), "{what}: {run:?}");
    }
}

// -- Builtins ---------------------------------------------------------------------------

const COMPOSE_POLICY: &str = r#"package main

import rego.v1

deny contains msg if {
	to_number(input.version) < 3.5
	msg := sprintf("compose file version %s is older than 3.5", [input.version])
}

deny contains msg if {
	some name, service in input.services
	endswith(service.image, ":latest")
	msg := sprintf("service %s uses a latest tag", [name])
}
"#;

/// Item 4: a failing builtin makes its expression undefined (conftest's default), so the
/// rest of the policy still runs; `--show-builtin-errors` (or `show_builtin_errors` in
/// policy.toml) makes it an error.
#[test]
fn builtin_errors_are_undefined_unless_shown() {
    let repo = with_policy(&[("compose.rego", COMPOSE_POLICY)]);
    let dir = inputs(&[
        (
            "old/docker-compose.yml",
            "version: '3.4'\nservices:\n  cache:\n    image: redis:latest\n",
        ),
        (
            "ok/docker-compose.yml",
            "version: '3.5'\nservices:\n  cache:\n    image: redis:7\n",
        ),
        (
            "odd/docker-compose.yml",
            "version: 'three'\nservices:\n  cache:\n    image: redis:latest\n",
        ),
    ]);
    let run = scan(&repo, &[], &[&dir.path().join("old")]);
    assert_eq!(
        summary(&run),
        "2 tests, 0 passed, 0 warnings, 2 failures, 0 exceptions",
        "{run:?}"
    );
    let run = scan(&repo, &[], &[&dir.path().join("ok")]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        summary(&run),
        "2 tests, 2 passed, 0 warnings, 0 failures, 0 exceptions"
    );
    // `to_number("three")` fails: that body is undefined, the latest tag is still found
    // (and the second definition is padded into a pass).
    let run = scan(&repo, &[], &[&dir.path().join("odd")]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        summary(&run),
        "2 tests, 1 passed, 0 warnings, 1 failure, 0 exceptions",
        "{run:?}"
    );
    let run = scan(
        &repo,
        &["--show-builtin-errors"],
        &[&dir.path().join("odd")],
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("built-in error"), "{run:?}");
    assert!(
        run.stderr.contains("policies/compat/compose.rego:5"),
        "{run:?}"
    );
    repo.write(
        "policies/compat/policy.toml",
        "show_builtin_errors = true\n",
    );
    let run = scan(&repo, &[], &[&dir.path().join("odd")]);
    assert_eq!(run.code, 2, "{run:?}");
}

/// A call that fails inside `not` makes the body undefined, as OPA moves it out of the
/// `not` (konstraint's `has_field` over a `null` field: the violation fires, as in
/// conftest), and `some .. in` over a value that is no collection is undefined, not an
/// error that stops the scan.
#[test]
fn calls_inside_not_and_some_in_over_null_are_undefined_as_in_opa() {
    let repo = with_policy(&[(
        "k8s.rego",
        r#"package main

import rego.v1

# One line, no braces: the call moves out all the same.
has_field(obj, field) if not object.get(obj, field, "N_DEFINED") == "N_DEFINED"

# A function of a builtin's name: the package's own calls reach it.
is_set(obj, field) if obj[field]

violation contains msg if {
	input.kind == "Deployment"
	not has_field(input.spec.template.spec.affinity, "podAntiAffinity")
	msg := sprintf("%s: no podAntiAffinity", [input.metadata.name])
}

deny contains msg if {
	some c in input.spec.template.spec.containers
	not c.resources
	msg := sprintf("%s: container %s has no resources", [input.metadata.name, c.name])
}
"#,
    )]);
    let dir = inputs(&[(
        "deploy.yaml",
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: a
spec:
  template:
    spec:
      affinity:
      containers:
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: b
spec:
  template:
    spec:
      affinity:
        podAntiAffinity: {}
      containers:
        - name: web
",
    )]);
    let run = scan(&repo, &[], &[&dir.path().join("deploy.yaml")]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        summary(&run),
        "4 tests, 2 passed, 0 warnings, 2 failures, 0 exceptions",
        "{run:?}"
    );
    assert!(run.stdout.contains("a: no podAntiAffinity"), "{run:?}");
    assert!(!run.stdout.contains("b: no podAntiAffinity"), "{run:?}");
    assert!(
        run.stdout.contains("b: container web has no resources"),
        "{run:?}"
    );
}

/// A reference used as a key inside `not` (`not allowed[input.spec.externalName]`) is
/// undefined when the key is, as OPA moves nested references out: a Service without an
/// `externalName` passes, as it does in conftest.
#[test]
fn a_missing_key_inside_not_is_undefined_as_in_opa() {
    let repo = with_policy(&[(
        "svc.rego",
        r#"package main

import rego.v1

allowed := {"db.example.com"}

deny contains msg if {
	input.kind == "Service"
	not allowed[input.spec.externalName]
	msg := sprintf("%s: external name not allowed", [input.metadata.name])
}
"#,
    )]);
    let dir = inputs(&[(
        "svc.yaml",
        "apiVersion: v1
kind: Service
metadata:
  name: plain
spec: {}
---
apiVersion: v1
kind: Service
metadata:
  name: allowed
spec:
  externalName: db.example.com
---
apiVersion: v1
kind: Service
metadata:
  name: other
spec:
  externalName: evil.example.com
",
    )]);
    let run = scan(&repo, &[], &[&dir.path().join("svc.yaml")]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        summary(&run),
        "3 tests, 2 passed, 0 warnings, 1 failure, 0 exceptions",
        "{run:?}"
    );
    assert!(
        run.stdout.contains("other: external name not allowed"),
        "{run:?}"
    );
    assert!(!run.stdout.contains("plain:"), "{run:?}");

    // A reference given to the call a `not` applies to moves out as well (trivy-checks'
    // KCV0012: `not regex.match("AlwaysPullImages", output[0][1])` with no match).
    let repo = with_policy(&[(
        "svc.rego",
        r#"package main

import rego.v1

deny contains msg if {
	input.kind == "Service"
	not startswith(input.spec.externalName, "db.")
	msg := sprintf("%s: external name not under db.", [input.metadata.name])
}
"#,
    )]);
    let run = scan(&repo, &[], &[&dir.path().join("svc.yaml")]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.contains("other: external name not under db.")
            && !run.stdout.contains("plain:")
            && !run.stdout.contains("allowed:"),
        "{run:?}"
    );
}

/// A pattern with Perl classes under a counted repetition (a Kubernetes name check) is
/// read with RE2's ASCII classes, as OPA reads it: it evaluates (the engine's Unicode
/// classes made it too large to compile, and the scan stopped), and a non-ASCII letter is
/// no `\w`.
#[test]
fn perl_classes_in_a_pattern_are_ascii_as_in_re2() {
    let repo = with_policy(&[(
        "names.rego",
        r#"package main

import rego.v1

deny contains msg if {
	not regex.match(`^[\w.-]{1,63}$`, input.metadata.name)
	msg := sprintf("%s: not a valid name", [input.metadata.name])
}
"#,
    )]);
    let dir = inputs(&[(
        "names.yaml",
        "metadata:\n  name: web-1.prod\n---\nmetadata:\n  name: naïve\n",
    )]);
    let run = scan(&repo, &[], &[&dir.path().join("names.yaml")]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        summary(&run),
        "2 tests, 1 passed, 0 warnings, 1 failure, 0 exceptions",
        "{run:?}"
    );
    assert!(run.stdout.contains("naïve: not a valid name"), "{run:?}");
}

/// `some i` after a statement that iterates (trivy-checks' KCV0012 style) is evaluated as
/// OPA does, over every container, instead of stopping the scan at the second one.
#[test]
fn some_declared_after_an_iteration_is_evaluated_as_in_opa() {
    let repo = with_policy(&[(
        "cmd.rego",
        r#"package main

import rego.v1

deny contains msg if {
	c := input.spec.containers[_]
	some i
	c.command[i] == "--insecure"
	msg := sprintf("%s runs with --insecure", [c.name])
}
"#,
    )]);
    let dir = inputs(&[(
        "pod.yaml",
        "spec:\n  containers:\n    - name: a\n      command: [serve]\n    - name: b\n      command: [serve, --insecure]\n    - name: c\n      command: [--insecure]\n",
    )]);
    let run = scan(&repo, &[], &[&dir.path().join("pod.yaml")]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.contains("b runs with --insecure")
            && run.stdout.contains("c runs with --insecure")
            && !run.stdout.contains("a runs"),
        "{run:?}"
    );
}

/// Item 4: a builtin the engine lacks is named when the policy loads, with file and line,
/// even when no input would reach it.
#[test]
fn a_builtin_the_engine_lacks_is_named_at_load() {
    let repo = with_policy(&[(
        "dns.rego",
        "package main\n\nimport rego.v1\n\ndeny contains \"resolves\" if {\n\tinput.never\n\tnet.lookup_ip_addr(\"example.invalid\")\n}\n",
    )]);
    let dir = inputs(&[("a.yaml", "a: 1\n")]);
    let run = scan(&repo, &[], &[dir.path()]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("policies/compat/dns.rego:7: `net.lookup_ip_addr`"),
        "{run:?}"
    );
}

/// OPA's deprecated builtins (`re_match`, `any`, `all`, `set_diff`, the `cast_*` family,
/// `net.cidr_overlap`) are still there for a Rego v0 policy, which conftest runs with them
/// (instrumenta/policies' Kubernetes library calls `re_match`); a v1 policy does not get
/// them, as in OPA 1.0.
#[test]
fn a_v0_policy_has_opas_deprecated_builtins() {
    let v0_policy = "package main\n\ndeny[msg] {\n  re_match(\"^latest$\", input.tag)\n  msg := \"latest tag\"\n}\n";
    let v0_tests = "package main\n\ntest_latest {\n  deny[\"latest tag\"] with input as {\"tag\": \"latest\"}\n}\n\ntest_builtins {\n  re_match(\"^a\", \"abc\")\n  not re_match(\"^b\", \"abc\")\n  any([false, true])\n  not any(set())\n  all([true, true])\n  not all({true, false})\n  set_diff({1, 2}, {2}) == {1}\n  cast_array({2, 1}) == [1, 2]\n  cast_set([1, 1]) == {1}\n  cast_string(\"x\") == \"x\"\n  cast_boolean(true)\n  cast_null(null) == null\n  cast_object({\"a\": 1}) == {\"a\": 1}\n  net.cidr_overlap(\"10.0.0.0/8\", \"10.1.2.3\")\n  not net.cidr_overlap(\"10.0.0.0/8\", \"11.1.2.3\")\n}\n\ntest_wrong_types_are_undefined {\n  not cast_string(1)\n  not any(\"x\")\n}\n";
    let repo = with_policy(&[
        ("policy.toml", "rego_version = \"v0\"\n"),
        ("images.rego", v0_policy),
        ("images_test.rego", v0_tests),
    ]);
    let test = repo.strata(&["policy", "test", "policies/compat"]);
    assert_eq!(test.code, 0, "{test:?}");
    assert!(test.stderr.contains("3 passed, 0 failed"), "{test:?}");
    let dir = inputs(&[("a.yaml", "tag: latest\n"), ("b.yaml", "tag: v1.2.3\n")]);
    let run = scan(&repo, &[], &[dir.path()]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        summary(&run),
        "2 tests, 1 passed, 0 warnings, 1 failure, 0 exceptions",
        "{run:?}"
    );
    // An invalid pattern is undefined, as a failing builtin is by default, and an error
    // with strict builtin errors, as OPA's `regex.match` is.
    repo.write("policies/compat/images_test.rego", "package main\n");
    repo.write(
        "policies/compat/images.rego",
        "package main\n\ndeny[msg] {\n  re_match(\"(\", input.tag)\n  msg := \"matched\"\n}\n",
    );
    let run = scan(&repo, &[], &[dir.path()]);
    assert_eq!(run.code, 0, "{run:?}");
    repo.write(
        "policies/compat/policy.toml",
        "rego_version = \"v0\"\nshow_builtin_errors = true\n",
    );
    let run = scan(&repo, &[], &[dir.path()]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("re_match: invalid arguments"),
        "{run:?}"
    );
    // A v1 policy calling one is refused when it loads, at its line.
    repo.write("policies/compat/policy.toml", "");
    repo.write("policies/compat/images_test.rego", "package main\n");
    repo.write(
        "policies/compat/images.rego",
        "package main\n\nimport rego.v1\n\ndeny contains \"latest tag\" if {\n\tre_match(\"^latest$\", input.tag)\n}\n",
    );
    let run = scan(&repo, &[], &[dir.path()]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("policies/compat/images.rego:6: `re_match`"),
        "{run:?}"
    );
}

// -- YAML -------------------------------------------------------------------------------

/// Item 5: YAML 1.1 as conftest reads it: `on:` is the key "true", `yes` is a boolean,
/// CloudFormation tags keep their value, a root list is evaluated element by element, a
/// trailing `---` adds an empty document.
#[test]
fn yaml_reads_as_conftest_reads_it() {
    let repo = with_policy(&[(
        "yaml.rego",
        r#"package main

import rego.v1

deny contains "workflows must not run on every push" if input["true"].push.branches == ["**"]

deny contains "public buckets are not allowed" if input.public == true

deny contains "privileged" if input.privileged == true

deny contains msg if {
	some name, r in input.Resources
	r.Properties.BucketName == "Logs"
	msg := sprintf("%s names its bucket by reference to Logs", [name])
}

warn contains msg if {
	input.kind == "ConfigMap"
	msg := sprintf("config map %s", [input.metadata.name])
}
"#,
    )]);
    let dir = inputs(&[
        ("workflow.yml", "on:\n  push:\n    branches: ['**']\n"),
        ("bucket.yaml", "public: yes\n"),
        (
            "stack.yaml",
            "Resources:\n  Copy:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: !Ref Logs\n      Arn: !GetAtt Logs.Arn\n",
        ),
        (
            "list.yaml",
            "- kind: ConfigMap\n  metadata:\n    name: a\n- kind: ConfigMap\n  metadata:\n    name: b\n",
        ),
        ("trailing.yaml", "kind: Service\n---\n"),
        // A quoted value with an explicit type is that type, as Kubernetes reads it.
        ("tagged.yaml", "privileged: !!bool \"true\"\n"),
    ]);
    let run = scan(&repo, &[], &[dir.path()]);
    assert_eq!(run.code, 1, "{run:?}");
    for msg in [
        "workflows must not run on every push",
        "public buckets are not allowed",
        "privileged",
        "Copy names its bucket by reference to Logs",
        "config map a",
        "config map b",
    ] {
        assert!(run.stdout.contains(msg), "{msg}: {run:?}");
    }
    // 8 documents (the list gives 2, the trailing `---` a null one), 5 definitions each.
    assert_eq!(
        summary(&run),
        "40 tests, 34 passed, 2 warnings, 4 failures, 0 exceptions",
        "{run:?}"
    );
}

// -- Namespaces -------------------------------------------------------------------------

/// Item 6: namespaces are globs as conftest's `--namespace` (`*` crosses dots); a namespace
/// that matches no package is a warning, not silence.
#[test]
fn namespace_globs_and_unmatched_namespaces() {
    let repo = with_policy(&[
        ("policy.toml", "namespaces = [\"k8s.*\"]\n"),
        (
            "pods.rego",
            "package k8s.workloads.pods\n\nimport rego.v1\n\ndeny contains \"pod\" if input.kind == \"Pod\"\n",
        ),
        (
            "services.rego",
            "package k8s.services\n\nimport rego.v1\n\ndeny contains \"service\" if input.kind == \"Service\"\n",
        ),
        (
            "other.rego",
            "package main\n\nimport rego.v1\n\ndeny contains \"main\" if true\n",
        ),
    ]);
    let dir = inputs(&[("objs.yaml", "kind: Pod\n---\nkind: Service\n")]);
    let run = repo.strata(&[
        "--json",
        "policy",
        "scan",
        "--policy",
        "policies/compat",
        dir.path().to_str().unwrap(),
    ]);
    let json = run.json();
    let mut got: Vec<(String, String)> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["namespace"].as_str().unwrap().to_string(),
                f["msg"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("k8s.services".to_string(), "service".to_string()),
            ("k8s.workloads.pods".to_string(), "pod".to_string()),
        ]
    );
    repo.write("policies/compat/policy.toml", "namespaces = [\"kube.*\"]\n");
    // Namespaces matching no package leave nothing to check: not a green "0 tests".
    let run = scan(&repo, &[], &[dir.path()]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("error: no policy to apply: policies/compat finds nothing")
            && run
                .stderr
                .contains("policies/compat: namespace `kube.*` matches no package"),
        "{run:?}"
    );
}

// -- Data, file information, Rego versions ----------------------------------------------

const PORTS_POLICY: &str = r#"package main

import rego.v1

deny contains msg if {
	input.kind == "Service"
	input.spec.type == "LoadBalancer"
	some p in input.spec.ports
	p.port in data.services.ports
	msg := sprintf("port %d may not be exposed on a load balancer (denied: %v)", [p.port, data.services.ports])
}
"#;

const LB_SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata:\n  name: sftp\nspec:\n  type: LoadBalancer\n  ports:\n    - port: 22\n";

/// Item 7: data documents, from `--data` and from `data = [...]` in policy.toml (files in a
/// directory merge at the root of `data`, as conftest places them).
#[test]
fn data_documents_from_the_command_line_and_policy_toml() {
    let repo = with_policy(&[("ports.rego", PORTS_POLICY)]);
    let dir = inputs(&[
        ("service.yaml", LB_SERVICE),
        ("exclusions/services.yaml", "services:\n  ports: [22, 21]\n"),
    ]);
    let service = dir.path().join("service.yaml");
    let run = scan(&repo, &[], &[&service]);
    assert_eq!(run.code, 0, "without data nothing is denied: {run:?}");
    let excl = dir.path().join("exclusions").display().to_string();
    let run = scan(&repo, &["--data", &excl], &[&service]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .contains("port 22 may not be exposed on a load balancer (denied: [22, 21])"),
        "{run:?}"
    );
    repo.write(
        "policies/compat/exclusions/services.yaml",
        "services:\n  ports: [22]\n",
    );
    repo.write("policies/compat/policy.toml", "data = [\"exclusions\"]\n");
    let run = scan(&repo, &[], &[&service]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("(denied: [22])"), "{run:?}");
    // The policy's tests see the same data (conftest's `verify --data`).
    repo.write(
        "policies/compat/ports_test.rego",
        "package main\n\nimport rego.v1\n\ntest_the_data_is_read if {\n\tdata.services.ports == [22]\n}\n",
    );
    let run = repo.strata(&["policy", "test", "policies/compat"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("PASS  main.test_the_data_is_read"),
        "{run:?}"
    );
    repo.write("policies/compat/policy.toml", "data = [\"missing\"]\n");
    let run = scan(&repo, &[], &[&service]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("`missing`"), "{run:?}");
    let run = repo.strata(&["policy", "test", "policies/compat"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stdout.contains("`missing`"), "{run:?}");
}

/// A symbolic link back up the tree is followed once, as conftest's walk does: each file
/// is read and counted once. In data directories, such a loop is an error naming it.
#[test]
fn a_symbolic_link_loop_is_walked_once() {
    let repo = with_policy(&[("ports.rego", PORTS_POLICY)]);
    let dir = inputs(&[
        ("in/sub/service.yaml", LB_SERVICE),
        ("exclusions/services.yaml", "services:\n  ports: [22]\n"),
    ]);
    std::os::unix::fs::symlink("..", dir.path().join("in/sub/loop")).unwrap();
    std::os::unix::fs::symlink("..", dir.path().join("exclusions/loop")).unwrap();
    let run = scan(&repo, &[], &[&dir.path().join("in")]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(summary(&run).starts_with("1 test,"), "{run:?}");
    let excl = dir.path().join("exclusions").display().to_string();
    let run = scan(&repo, &["--data", &excl], &[&dir.path().join("in")]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("symbolic link loop"), "{run:?}");
}

/// Item 7: `data.conftest.file` names the input file and its directory.
#[test]
fn conftest_file_names_the_input() {
    let repo = with_policy(&[(
        "file.rego",
        "package main\n\nimport rego.v1\n\ndeny contains msg if {\n\tnot startswith(data.conftest.file.name, \"prod-\")\n\tmsg := sprintf(\"%s in %s is not a prod file\", [data.conftest.file.name, data.conftest.file.dir])\n}\n",
    )]);
    let dir = inputs(&[("staging-app.yaml", "a: 1\n"), ("prod-app.yaml", "a: 1\n")]);
    let run = scan(&repo, &[], &[dir.path()]);
    let abs = std::path::absolute(dir.path()).unwrap();
    assert!(
        run.stdout.contains(&format!(
            "staging-app.yaml in {} is not a prod file",
            abs.display()
        )),
        "{run:?}"
    );
    assert_eq!(
        summary(&run),
        "2 tests, 1 passed, 0 warnings, 1 failure, 0 exceptions"
    );
}

/// Item 7: `import rego.v1` beside `future.keywords` imports loads, as OPA accepts it, and
/// the line numbers after the imports stay right.
#[test]
fn rego_v1_with_future_keywords_imports_loads() {
    let repo = with_policy(&[(
        "imports.rego",
        "package main\n\nimport rego.v1\nimport future.keywords.if\nimport future.keywords.in\nimport future.keywords\n\ndeny contains {\"msg\": \"x\", \"id\": 1} if {\n\t\"a\" in [\"a\"]\n}\n\nwarn contains {\"other\": 1} if true\n",
    )]);
    let dir = inputs(&[("a.yaml", "a: 1\n")]);
    let run = scan(&repo, &[], &[dir.path()]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("policies/compat/imports.rego:12:"),
        "{run:?}"
    );
    repo.write(
        "policies/compat/imports.rego",
        "package main\n\nimport rego.v1\nimport future.keywords.if\nimport future.keywords.in\nimport future.keywords\n\ndeny contains \"x\" if {\n\t\"a\" in [\"a\"]\n}\n",
    );
    let run = scan(&repo, &[], &[dir.path()]);
    assert_eq!(run.code, 1, "{run:?}");
}

// -- Reporting --------------------------------------------------------------------------

const K8S_HELPERS: &str = r#"package kubernetes

import rego.v1

is_service if input.kind == "Service"

is_deployment if input.kind == "Deployment"
"#;

const K8S_DENY: &str = r#"package main

import data.kubernetes
import rego.v1

name := input.metadata.name

deny contains msg if {
	kubernetes.is_deployment
	not input.spec.template.spec.securityContext.runAsNonRoot
	msg := sprintf("%s: containers must not run as root", [name])
}

deny contains msg if {
	kubernetes.is_deployment
	some label in ["app", "release"]
	not input.spec.selector.matchLabels[label]
	msg := sprintf("%s: the selector needs the %s label", [name, label])
}
"#;

const K8S_LABELS: &str = r#"package main

import data.kubernetes
import rego.v1

required := {
	"app.kubernetes.io/name",
	"app.kubernetes.io/instance",
	"app.kubernetes.io/version",
	"app.kubernetes.io/component",
	"app.kubernetes.io/part-of",
	"app.kubernetes.io/managed-by",
}

deny contains msg if {
	kubernetes.is_deployment
	missing := required - {l | some l, _ in input.metadata.labels}
	count(missing) > 0
	msg := sprintf("%s is missing labels %v", [name, missing])
}
"#;

const K8S_VIOLATION: &str = r#"package main

import data.kubernetes
import rego.v1

violation := [{"msg": sprintf("deployment %s: deployments are not allowed here", [name]), "details": {}}] if {
	kubernetes.is_deployment
}

warn contains msg if {
	kubernetes.is_service
	msg := sprintf("service %s: services are discouraged here", [name])
}
"#;

const SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  type: LoadBalancer\n  ports:\n    - port: 80\n";

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app.kubernetes.io/name: web
    app.kubernetes.io/version: "1.0"
    app.kubernetes.io/component: frontend
    app.kubernetes.io/part-of: shop
    app.kubernetes.io/managed-by: strata
spec:
  selector:
    matchLabels:
      app: web
  template:
    spec:
      containers:
        - name: web
          image: shop/web:1.0
"#;

fn k8s_policy() -> Repo {
    with_policy(&[
        ("kubernetes.rego", K8S_HELPERS),
        ("deny.rego", K8S_DENY),
        ("labels.rego", K8S_LABELS),
        ("violation.rego", K8S_VIOLATION),
    ])
}

/// Item 8: conftest's counts per rule definition (padding included): a service with one
/// warning is 5 tests, 4 passed; a deployment with three denies and a violation is 5 tests,
/// 1 passed; `--fail-on-warn` fails on the warning.
#[test]
fn counts_follow_conftest_per_rule_definition() {
    let repo = k8s_policy();
    let dir = inputs(&[("service.yaml", SERVICE), ("deployment.yaml", DEPLOYMENT)]);
    let run = scan(&repo, &[], &[&dir.path().join("service.yaml")]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        summary(&run),
        "5 tests, 4 passed, 1 warning, 0 failures, 0 exceptions"
    );
    assert!(
        run.stdout
            .contains("service web: services are discouraged here"),
        "{run:?}"
    );
    let run = scan(
        &repo,
        &["--fail-on-warn"],
        &[&dir.path().join("service.yaml")],
    );
    assert_eq!(run.code, 1, "{run:?}");
    let run = scan(&repo, &[], &[&dir.path().join("deployment.yaml")]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        summary(&run),
        "5 tests, 1 passed, 0 warnings, 4 failures, 0 exceptions",
        "{run:?}"
    );
    // Both files: the clean one does not reset the failure.
    let run = scan(&repo, &[], &[dir.path()]);
    assert_eq!(run.code, 1);
    assert_eq!(
        summary(&run),
        "10 tests, 5 passed, 1 warning, 4 failures, 0 exceptions"
    );
}

/// Item 8: an exception replaces a rule's results for that document; it is counted and shown
/// with the query that matched.
#[test]
fn exceptions_are_counted_and_shown() {
    let repo = with_policy(&[(
        "root.rego",
        r#"package main

import rego.v1

deny_run_as_root contains msg if {
	input.kind == "Deployment"
	not input.spec.template.spec.securityContext.runAsNonRoot
	msg := sprintf("%s runs as root", [input.metadata.name])
}

exception contains rules if {
	input.kind == "Deployment"
	input.metadata.name == "allowed-root"
	rules := ["run_as_root"]
}
"#,
    )]);
    let dir = inputs(&[(
        "deployments.yaml",
        "kind: Deployment\nmetadata:\n  name: no-root\n---\nkind: Deployment\nmetadata:\n  name: allowed-root\n",
    )]);
    let run = scan(&repo, &[], &[dir.path()]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        summary(&run),
        "2 tests, 0 passed, 0 warnings, 1 failure, 1 exception"
    );
    assert!(run.stdout.contains("no-root runs as root"), "{run:?}");
    assert!(
        run.stdout
            .contains("data.main.exception[_][_] == \"run_as_root\""),
        "{run:?}"
    );
    let json = repo
        .strata(&[
            "--json",
            "policy",
            "scan",
            "--policy",
            "policies/compat",
            dir.path().to_str().unwrap(),
        ])
        .json();
    assert_eq!(json["counts"]["exceptions"], 1);
    assert_eq!(json["exceptions"][0]["rule"], "deny_run_as_root");
}

/// Item 8: `--combine` gives all files as one input, `[{"path", "contents"}]`, so a policy
/// can compare documents across files.
#[test]
fn combine_evaluates_all_files_as_one_input() {
    let repo = with_policy(&[(
        "team.rego",
        r#"package main

import rego.v1

users := {u.contents.metadata.email | some u in input; u.contents.kind == "User"}

deny contains msg if {
	some t in input
	t.contents.kind == "Team"
	some email in array.concat([t.contents.spec.owner], t.contents.spec.members)
	not email in users
	msg := sprintf("%s is on team %s but has no user", [email, t.contents.metadata.name])
}

deny contains msg if {
	some i, j
	i < j
	input[i].contents.kind == "User"
	input[j].contents.kind == "User"
	input[i].contents.metadata.email == input[j].contents.metadata.email
	msg := "two users share an email"
}
"#,
    )]);
    let dir = inputs(&[
        (
            "team.yaml",
            "kind: Team\nmetadata:\n  name: shop\nspec:\n  owner: ana@example.com\n  members: [bo@example.com]\n",
        ),
        (
            "users.yaml",
            "kind: User\nmetadata:\n  email: ana@example.com\n---\nkind: User\nmetadata:\n  email: b0@example.com\n",
        ),
    ]);
    let run = scan(&repo, &["--combine"], &[dir.path()]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .contains("Combined: bo@example.com is on team shop but has no user"),
        "{run:?}"
    );
    assert_eq!(
        summary(&run),
        "2 tests, 1 passed, 0 warnings, 1 failure, 0 exceptions"
    );
    // Without --combine each document is alone: no team sees its users.
    let run = scan(&repo, &[], &[dir.path()]);
    assert!(!run.stdout.contains("Combined"), "{run:?}");
}

/// A scan of a directory says what it left out that conftest would have read (a
/// Dockerfile, TOML): a policy written for those files passed here having seen nothing.
#[test]
fn a_scan_says_what_it_left_out_that_conftest_reads() {
    let repo = with_policy(&[(
        "any.rego",
        "package main\n\nimport rego.v1\n\ndeny contains \"root\" if input.user == \"root\"\n",
    )]);
    let dir = inputs(&[
        ("in/a.yaml", "user: app\n"),
        ("in/Dockerfile", "FROM alpine\nUSER root\n"),
        ("in/sub/config.toml", "user = \"root\"\n"),
        ("in/notes.txt", "not read by anyone\n"),
    ]);
    let run = scan(&repo, &[], &[&dir.path().join("in")]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .contains("2 file(s) of types conftest reads and strata does not were left out"),
        "{run:?}"
    );
    assert!(
        run.stderr.contains("Dockerfile") && run.stderr.contains("config.toml"),
        "{run:?}"
    );
    assert!(!run.stderr.contains("notes.txt"), "{run:?}");
}

/// An exception a data document gives (`main: {exception: [[latest]]}` in a `--data` file)
/// excepts the rule as an `exception` rule does: conftest queries
/// `data.<ns>.exception[_][_]` whatever defines it. It was ignored, and the rule failed.
#[test]
fn an_exception_from_a_data_document_excepts_the_rule() {
    let repo = with_policy(&[(
        "latest.rego",
        "package main\n\nimport rego.v1\n\ndeny_latest contains \"latest tag\" if endswith(input.image, \":latest\")\n",
    )]);
    let dir = inputs(&[
        ("in/a.yaml", "image: nginx:latest\n"),
        (
            "data/exceptions.yaml",
            "main:\n  exception:\n    - [latest]\n",
        ),
    ]);
    let run = scan(&repo, &[], &[&dir.path().join("in")]);
    assert_eq!(run.code, 1, "{run:?}");
    let data = dir.path().join("data").display().to_string();
    let run = scan(&repo, &["--data", &data], &[&dir.path().join("in")]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        summary(&run),
        "1 test, 0 passed, 0 warnings, 0 failures, 1 exception"
    );
}

/// A combined input names each file as conftest does, by the path the user gave (a
/// directory's files joined to it), with the user's directory as `dir`: run from a
/// subdirectory of the workspace, a policy keyed on `base/kustomization.yaml` fired in
/// conftest and not here (the paths were the workspace's).
#[test]
fn combine_names_files_as_the_user_gave_them() {
    let repo = with_policy(&[(
        "paths.rego",
        r#"package main

import rego.v1

deny contains msg if {
	some e in input
	e.path == "base/kustomization.yaml"
	msg := sprintf("%s sets no namespace", [e.path])
}

warn contains msg if {
	msg := sprintf("paths=%v dir=%s", [[e.path | some e in input], data.conftest.file.dir])
}
"#,
    )]);
    repo.write("k8s/base/kustomization.yaml", "resources: []\n");
    repo.write("k8s/overlay/kustomization.yaml", "resources: [../base]\n");
    let k8s = repo.path().join("k8s").canonicalize().unwrap();
    let run_in = |args: &[&str]| -> Run {
        let mut all = vec!["policy", "scan", "--policy", "policies/compat", "--combine"];
        all.extend_from_slice(args);
        repo.command(&all)
            .current_dir(&k8s)
            .output()
            .unwrap()
            .into()
    };
    let run = run_in(&["base/kustomization.yaml"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .contains("Combined: base/kustomization.yaml sets no namespace"),
        "{run:?}"
    );
    assert!(
        run.stdout.contains(&format!(
            "paths=[\"base/kustomization.yaml\"] dir={}",
            k8s.display()
        )),
        "{run:?}"
    );
    // A directory's files are joined to it as given; `.` names them from here.
    let run = run_in(&["./base/", "../k8s/overlay"]);
    assert!(
        run.stdout
            .contains("paths=[\"../k8s/overlay/kustomization.yaml\", \"base/kustomization.yaml\"]"),
        "{run:?}"
    );
    let run = run_in(&["."]);
    assert!(
        run.stdout
            .contains("paths=[\"base/kustomization.yaml\", \"overlay/kustomization.yaml\"]"),
        "{run:?}"
    );
}

/// Waivers apply to scan findings in workspace files as they do in check.
#[test]
fn waivers_apply_to_scan_findings_in_workspace_targets() {
    let repo = with_policy(&[(
        "waived.rego",
        "package main\n\nimport rego.v1\n\ndeny contains {\"msg\": \"no owner\", \"id\": \"COMPAT-1\"} if not input.resource.null_resource.x[0].triggers.owner\n",
    )]);
    let stack = common::files_under(repo.path())
        .into_iter()
        .find(|p| {
            p.extension().is_some_and(|x| x == "tf")
                && p.strip_prefix(repo.path())
                    .is_ok_and(|r| r.starts_with("stacks"))
        })
        .unwrap();
    let rel = stack.strip_prefix(repo.path()).unwrap();
    let label = rel.parent().unwrap().display().to_string();
    let run = scan(&repo, &[], &[&stack]);
    assert_eq!(run.code, 1, "{run:?}");
    repo.write(
        "policies/waivers.toml",
        &format!(
            "[[waiver]]\nrule = \"COMPAT-1\"\ntargets = \"{label}\"\nowner = \"sre@acme.example\"\nreason = \"tracked\"\nexpires = \"2999-01-01\"\n"
        ),
    );
    let run = scan(&repo, &[], &[&stack]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.starts_with("WAIVED"), "{run:?}");
    // The line says which waiver, whose, until when.
    assert!(
        run.stdout.contains(
            "(waived by policies/waivers.toml:1 (owner sre@acme.example, until 2999-01-01))"
        ),
        "{run:?}"
    );
    repo.write(
        "policies/waivers.toml",
        &format!(
            "[[waiver]]\nrule = \"COMPAT-1\"\ntargets = \"{label}\"\nowner = \"sre@acme.example\"\nreason = \"tracked\"\nexpires = \"2001-01-01\"\n"
        ),
    );
    let run = scan(&repo, &[], &[&stack]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("expired on 2001-01-01"), "{run:?}");
}
