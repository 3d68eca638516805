//! `strata policy test`: a policy's own Rego tests, with coverage.

mod common;
use common::Repo;

fn with_policy(test_body: &str) -> Repo {
    let repo = Repo::with_fixture();
    repo.write(
        "policies/owners/owners.rego",
        "package main\n\nimport rego.v1\n\ndeny contains \"every resource needs an owner tag\" if {\n\tsome rc in input.resource_changes\n\tnot rc.change.after.tags.owner\n}\n",
    );
    repo.write("policies/owners/owners_test.rego", test_body);
    repo.commit("policy");
    repo
}

const PASSING: &str = "package main\n\nimport rego.v1\n\ntest_untagged_is_denied if {\n\tcount(deny) == 1 with input as {\"resource_changes\": [{\"change\": {\"after\": {}}}]}\n}\n\ntest_tagged_passes if {\n\tcount(deny) == 0 with input as {\"resource_changes\": [{\"change\": {\"after\": {\"tags\": {\"owner\": \"sre\"}}}}]}\n}\n";

#[test]
fn passing_tests_and_coverage() {
    let repo = with_policy(PASSING);
    let run = repo.strata(&["policy", "test", "policies/owners"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("PASS  main.test_untagged_is_denied"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("coverage 100.0%  policies/owners/owners.rego"),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("2 passed, 0 failed"), "{}", run.stderr);
    let json = repo.strata(&["--json", "policy", "test"]).json();
    assert_eq!(json["ok"], true);
    assert_eq!(
        json["policies"].as_array().unwrap().len(),
        2,
        "baseline fixture policy and owners"
    );
}

#[test]
fn a_failing_test_fails_and_is_named() {
    let repo = with_policy(&PASSING.replace("count(deny) == 0", "count(deny) == 1"));
    let run = repo.strata(&["policy", "test", "policies/owners"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .contains("FAIL  main.test_tagged_passes (policies/owners/owners_test.rego)"),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("1 passed, 1 failed"), "{}", run.stderr);
}

#[test]
fn a_policy_that_does_not_parse_names_its_file() {
    let repo = with_policy(PASSING);
    repo.write(
        "policies/owners/owners.rego",
        "package main\n\ndeny contains msg if {\n",
    );
    let run = repo.strata(&["policy", "test", "policies/owners"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("ERROR policies/owners/owners.rego"),
        "{}",
        run.stdout
    );
}

#[test]
fn scan_evaluates_policies_over_files_like_conftest_test() {
    let repo = with_policy(PASSING);
    // owners.rego reads plan JSON; add a static-HCL policy for the scan.
    repo.write(
        "policies/hcl/policy.toml",
        "kinds = [\"stack\", \"module\"]\nnamespaces = [\"hcl\"]\n",
    );
    repo.write(
        "policies/hcl/hcl.rego",
        "package hcl\n\nimport rego.v1\n\ndeny contains {\"msg\": sprintf(\"bucket %s is public\", [n]), \"id\": \"HCL-1\", \"severity\": \"high\", \"resource\": sprintf(\"aws_s3_bucket.%s\", [n])} if {\n\tsome n, b in input.resource.aws_s3_bucket\n\tb.acl == \"public-read\"\n}\n",
    );
    repo.commit("hcl policy");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.tf"),
        "\nresource \"aws_s3_bucket\" \"site\" {\n  acl = \"public-read\"\n}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("good.tf"),
        "resource \"aws_s3_bucket\" \"logs\" {\n  acl = \"private\"\n}\n",
    )
    .unwrap();
    let sarif = dir.path().join("scan.sarif");
    let run = repo.strata(&[
        "policy",
        "scan",
        "--policy",
        "policies/hcl",
        "--sarif",
        sarif.to_str().unwrap(),
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    let bad = dir.path().join("bad.tf");
    assert!(
        run.stdout.contains(&format!(
            "HCL-1            {}:2: bucket site is public",
            bad.display()
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("2 files, 1 findings, 1 blocking"),
        "{}",
        run.stderr
    );
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    assert_eq!(doc["runs"][0]["results"][0]["ruleId"], "HCL-1");
    // A clean file passes.
    let run = repo.strata(&[
        "policy",
        "scan",
        "--policy",
        "policies/hcl",
        dir.path().join("good.tf").to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
}
