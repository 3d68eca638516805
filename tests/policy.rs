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
