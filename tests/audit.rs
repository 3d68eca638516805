//! The audit trail: every apply, destroy and state push leaves an event in the
//! environment's hash-chained ledger; `strata audit verify` finds an edited, removed or
//! reordered event and a release lock entry no event wrote; export and report read it.
//! (Promotions and rollbacks: tests/promotion.rs.)
#![allow(clippy::disallowed_methods)] // tests drive git, the real strata binary and tools

mod common;

use common::{network_stack, tools_repo, Repo, NULL_PROVIDER};
use serde_json::Value;

const LEDGER: &str = "environments/dev/audit.jsonl";

fn events(repo: &Repo) -> Vec<Value> {
    std::fs::read_to_string(repo.path().join(LEDGER))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `audit verify` fails, and its first problem says `needle`.
#[track_caller]
fn assert_first_problem(repo: &Repo, needle: &str) {
    let (code, json) = verify(repo);
    assert_eq!(code, 1, "{json}");
    let message = json["ledgers"][0]["problems"][0]["message"].as_str();
    assert!(
        message.is_some_and(|m| m.contains(needle)),
        "{needle}: {json}"
    );
}

fn verify(repo: &Repo) -> (i32, Value) {
    let run = repo.strata(&["--json", "audit", "verify"]);
    (
        run.code,
        serde_json::from_str(&run.stdout).unwrap_or(Value::Null),
    )
}

#[test]
fn applies_destroys_and_state_pushes_are_recorded_and_verified() {
    let repo = tools_repo();
    network_stack(&repo, "1");
    repo.commit("network v1");
    repo.strata(&["apply", "--env", "dev", "--auto-approve"])
        .assert_ok();
    let lock =
        std::fs::read_to_string(repo.path().join("environments/dev/release.lock.toml")).unwrap();
    let first = &events(&repo)[0];
    assert_eq!(first["seq"], 1);
    assert_eq!(first["action"], "apply");
    assert_eq!(first["outcome"], "succeeded");
    assert_eq!(first["actor"], "test@example.com");
    assert_eq!(first["targets"][0]["label"], "stacks/network");
    assert_eq!(first["targets"][0]["result"], "recorded");
    let hash = first["targets"][0]["hash"].as_str().unwrap();
    assert!(
        lock.contains(hash),
        "the lock's hash is the event's:\n{lock}"
    );
    assert_eq!(first["head"], repo.git(&["rev-parse", "HEAD"]).as_str());

    // Committing the ledger and the lock affects nothing.
    repo.commit("dev lock and ledger");
    assert!(repo.affected_labels(&["--base", "HEAD~1"]).is_empty());

    // A failing apply is recorded too.
    repo.write(
        "stacks/broken/main.tf",
        &format!("{NULL_PROVIDER}\nresource \"null_resource\" \"b\" {{\n  provisioner \"local-exec\" {{\n    command = \"exit 3\"\n  }}\n}}\n"),
    );
    repo.commit("a stack whose apply fails");
    let run = repo.strata(&["apply", "--env", "dev", "--auto-approve"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let second = &events(&repo)[1];
    assert_eq!(second["outcome"], "failed");
    assert_eq!(second["prev"], events(&repo)[0]["hash"]);
    let broken = second["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == "stacks/broken")
        .unwrap();
    assert_eq!(broken["result"], "failed", "{second}");

    // A destroy, and a state push that terraform refuses.
    repo.strata(&["destroy", "stacks/broken", "--env", "dev", "--auto-approve"]);
    let junk = repo.path().join("junk.tfstate");
    std::fs::write(&junk, "{}").unwrap();
    let run = repo.strata(&[
        "state",
        "push",
        "stacks/network",
        "--env",
        "dev",
        junk.to_str().unwrap(),
    ]);
    assert_ne!(run.code, 0);
    let all = events(&repo);
    let actions: Vec<(&str, &str)> = all
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("apply", "succeeded"),
            ("apply", "failed"),
            ("destroy", "succeeded"),
            ("state-push", "failed")
        ]
    );
    let (code, json) = verify(&repo);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["ledgers"][0]["events"], 4);

    // Export and report read it.
    let csv = repo.strata(&["audit", "export"]);
    csv.assert_ok();
    assert!(
        csv.stdout.starts_with("time,env,seq,action"),
        "{}",
        csv.stdout
    );
    assert!(
        csv.stdout.contains(",stacks/broken,failed,"),
        "{}",
        csv.stdout
    );
    let json = repo.strata(&["--json", "audit", "export", "--since", "2000-01-01"]);
    let json: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(json["events"].as_array().unwrap().len(), 4);
    let none = repo.strata(&["--json", "audit", "export", "--since", "2999-01-01"]);
    let none: Value = serde_json::from_str(&none.stdout).unwrap();
    assert!(none["events"].as_array().unwrap().is_empty());
    let report = repo.strata(&["audit", "report"]);
    report.assert_ok();
    assert!(
        report.stdout.contains("## dev") && report.stdout.contains("chain intact"),
        "{}",
        report.stdout
    );
    // With --json, JSON: the same report, and the verification it was made with.
    let json = repo.strata(&["--json", "audit", "report"]);
    json.assert_ok();
    let json: Value = serde_json::from_str(&json.stdout).expect("JSON on stdout");
    assert_eq!(json["ok"], true, "{json}");
    assert_eq!(json["markdown"], report.stdout.as_str(), "{json}");
    assert_eq!(json["ledgers"][0]["events"], 4, "{json}");

    // An event edited by hand: found, with its line.
    let text = std::fs::read_to_string(repo.path().join(LEDGER)).unwrap();
    std::fs::write(
        repo.path().join(LEDGER),
        text.replacen("\"outcome\":\"failed\"", "\"outcome\":\"succeeded\"", 1),
    )
    .unwrap();
    let (code, json) = verify(&repo);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["ledgers"][0]["problems"][0]["line"], 2, "{json}");
    // An export or a report of it is no evidence: said, and exit 1.
    for args in [&["audit", "export"][..], &["audit", "report"]] {
        let run = repo.strata(args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("does not verify"), "{}", run.stderr);
    }
    let json = repo.strata(&["--json", "audit", "export"]).json();
    assert_eq!(json["ok"], false, "{json}");
    // A removed event: found.
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(
        repo.path().join(LEDGER),
        format!("{}\n{}\n{}\n", lines[0], lines[2], lines[3]),
    )
    .unwrap();
    assert_eq!(verify(&repo).0, 1);
    std::fs::write(repo.path().join(LEDGER), &text).unwrap();
    assert_eq!(verify(&repo).0, 0);

    // The ledger removed: a note (a lock older than the audit trail looks the same).
    std::fs::remove_file(repo.path().join(LEDGER)).unwrap();
    let (code, json) = verify(&repo);
    assert_eq!(code, 0, "{json}");
    assert!(
        json["ledgers"][0]["notes"][0]
            .as_str()
            .unwrap()
            .contains("the ledger none"),
        "{json}"
    );
    std::fs::write(repo.path().join(LEDGER), &text).unwrap();

    // A lock entry no event wrote (the lock edited by hand): found.
    let lock_path = repo.path().join("environments/dev/release.lock.toml");
    let lock = std::fs::read_to_string(&lock_path).unwrap();
    std::fs::write(&lock_path, lock.replace(hash, &"e".repeat(64))).unwrap();
    assert_first_problem(&repo, "stacks/network");
}

/// A release lock entry must be what the last event that wrote it wrote: an entry set back
/// to an earlier version, backdated to before the ledger began, or claiming a commit for an
/// apply that was not recorded, is found. `verify --against REF` finds events cut off (or
/// rewritten with their hashes recomputed) since REF. A state push to an environment that
/// does not exist writes nothing.
#[test]
fn lock_entries_match_the_last_event_and_verify_against_a_ref_finds_cut_off_events() {
    let repo = tools_repo();
    let lock_path = repo.path().join("environments/dev/release.lock.toml");
    network_stack(&repo, "1");
    repo.commit("network v1");
    repo.strata(&["apply", "--env", "dev", "--auto-approve"])
        .assert_ok();
    let v1 = std::fs::read_to_string(&lock_path).unwrap();
    repo.commit("dev lock and ledger, v1");
    network_stack(&repo, "2");
    repo.commit("network v2");
    repo.strata(&["apply", "--env", "dev", "--auto-approve"])
        .assert_ok();
    let v2 = std::fs::read_to_string(&lock_path).unwrap();
    assert_ne!(v1, v2);
    assert_eq!(verify(&repo).0, 0);
    let problem = |json: &Value| json["ledgers"][0]["problems"][0]["message"].to_string();

    // Set back to v1 by hand, while the last event says v2.
    std::fs::write(&lock_path, &v1).unwrap();
    let (code, json) = verify(&repo);
    assert_eq!(code, 1, "{json}");
    assert!(problem(&json).contains("is not what event 2"), "{json}");

    // The same hash and commit, with what the promotion gates read changed: the checks,
    // the policy severity, the date (a soak cut short).
    let applied_at_line = v2
        .lines()
        .find(|l| l.starts_with("applied_at"))
        .unwrap()
        .to_string();
    for (what, edited) in [
        (
            "date",
            v2.replace(&applied_at_line, "applied_at = \"2001-01-01T00:00:00Z\""),
        ),
        ("checks", v2.replace("\"passed\"", "\"none\"")),
        (
            "severity",
            v2.replace(
                "[targets.\"stacks/network\"]\n",
                "[targets.\"stacks/network\"]\nmax_severity = \"low\"\n",
            ),
        ),
    ] {
        assert_ne!(edited, v2, "{what}: the edit changes the lock\n{v2}");
        std::fs::write(&lock_path, &edited).unwrap();
        let (code, json) = verify(&repo);
        assert_eq!(code, 1, "{what}: {json}");
        assert!(
            problem(&json).contains("was changed after event 2"),
            "{what}: {json}"
        );
    }
    std::fs::write(&lock_path, &v2).unwrap();
    assert_eq!(verify(&repo).0, 0);

    // Another hash, backdated to before the ledger's first event.
    let hash = events(&repo)[1]["targets"][0]["hash"]
        .as_str()
        .unwrap()
        .to_string();
    let applied_at = v2
        .lines()
        .find(|l| l.starts_with("applied_at"))
        .unwrap()
        .to_string();
    std::fs::write(
        &lock_path,
        v2.replace(&hash, &"ab".repeat(32))
            .replace(&applied_at, "applied_at = \"2000-01-01T00:00:00Z\""),
    )
    .unwrap();
    let (code, json) = verify(&repo);
    assert_eq!(code, 1, "{json}");
    assert!(problem(&json).contains("stacks/network"), "{json}");
    std::fs::write(&lock_path, &v2).unwrap();

    // An entry no event wrote, for a stack never applied, dated before the ledger began but
    // naming a commit made since: backdated, found. With a commit this clone does not have,
    // nothing tells: a note.
    let head = repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    let extra = |commit: &str| {
        format!(
            "{v2}\n[targets.\"stacks/dns\"]\nkind = \"stack\"\nhash = \"{}\"\ncommit = \"{commit}\"\napplied_at = \"2000-01-01T00:00:00Z\"\napplied_by = \"alice@example.com\"\n",
            "cd".repeat(32)
        )
    };
    std::fs::write(&lock_path, extra(&head)).unwrap();
    let (code, json) = verify(&repo);
    assert_eq!(code, 1, "{json}");
    assert!(problem(&json).contains("backdated"), "{json}");
    std::fs::write(&lock_path, extra(&"0".repeat(40))).unwrap();
    let (code, json) = verify(&repo);
    assert_eq!(code, 0, "{json}");
    assert!(
        json["ledgers"][0]["notes"][0]
            .to_string()
            .contains("stacks/dns"),
        "{json}"
    );
    std::fs::write(&lock_path, &v2).unwrap();

    // Applied from uncommitted code: not recorded, so it explains no lock entry.
    network_stack(&repo, "3");
    repo.strata(&["apply", "--env", "dev", "--auto-approve"]);
    let last = events(&repo).pop().unwrap();
    assert_eq!(last["targets"][0]["result"], "not-recorded", "{last}");
    let head = repo.git(&["rev-parse", "HEAD"]);
    let forged = v2.replace(
        &hash,
        last["targets"][0]["hash"].as_str().unwrap_or_default(),
    );
    assert_ne!(forged, v2);
    assert!(forged.contains(head.trim()), "{forged}");
    std::fs::write(&lock_path, forged).unwrap();
    assert_eq!(verify(&repo).0, 1);
    std::fs::write(&lock_path, &v2).unwrap();
    assert_eq!(verify(&repo).0, 0);

    // The newest event cut off: the chain alone cannot tell; against the commit that
    // holds it, it shows.
    repo.git(&["checkout", "--", "stacks"]);
    repo.commit("dev lock and ledger, v2");
    let text = std::fs::read_to_string(repo.path().join(LEDGER)).unwrap();
    let kept: String = text.lines().take(2).map(|l| format!("{l}\n")).collect();
    std::fs::write(repo.path().join(LEDGER), kept).unwrap();
    std::fs::write(&lock_path, &v2).unwrap();
    let run = repo.strata(&["--json", "audit", "verify", "--against", "HEAD"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let json: Value = serde_json::from_str(&run.stdout).unwrap();
    let found = &json["ledgers"][0]["problems"][0];
    assert_eq!(found["line"], 3, "{json}");
    assert!(found["message"].to_string().contains("cut off"), "{json}");
    std::fs::write(repo.path().join(LEDGER), &text).unwrap();
    let run = repo.strata(&["audit", "verify", "--against", "HEAD~2"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);

    // The whole environment deleted: its ledger at the ref is gone, and that is found.
    repo.git(&["rm", "-rq", "environments/dev"]);
    let run = repo.strata(&["audit", "verify", "--against", "HEAD"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("environments/dev/audit.jsonl exists at"),
        "{}",
        run.stdout
    );
    repo.git(&["reset", "-q", "--hard", "HEAD"]);

    // A state push to an environment that does not exist: refused, nothing written.
    let state = repo.path().join("x.tfstate");
    std::fs::write(&state, "{}").unwrap();
    for env in ["prdo", "../../outside"] {
        let run = repo.strata(&[
            "state",
            "push",
            "stacks/network",
            "--env",
            env,
            state.to_str().unwrap(),
        ]);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(run.stderr.contains("no environment"), "{}", run.stderr);
    }
    assert!(!repo.path().join("environments/prdo").exists());
    assert!(!repo.path().join("../outside").exists());
}

/// A promotion that stops on an error of strata's own (here: the destination's release
/// lock cannot be read) is recorded with outcome `error` and the error.
#[test]
fn a_promotion_that_stops_on_an_error_is_recorded() {
    let repo = tools_repo();
    let (_out, plan) = staging_plan(&repo, "");
    // The destination's lock is a directory: reading it fails.
    std::fs::create_dir_all(repo.path().join("environments/staging/release.lock.toml")).unwrap();
    let run = repo.strata(&["promote", "apply", plan.to_str().unwrap()]);
    assert_ne!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let text =
        std::fs::read_to_string(repo.path().join("environments/staging/audit.jsonl")).unwrap();
    let event: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(event["action"], "promote", "{event}");
    assert_eq!(event["outcome"], "error", "{event}");
    assert!(
        event["message"]
            .as_str()
            .unwrap()
            .contains("release.lock.toml"),
        "{event}"
    );
    assert_eq!(event["details"]["from"], "dev", "{event}");
}

/// An SSH key made with the real ssh-keygen: (private key path, public key "type base64").
fn ssh_key(dir: &std::path::Path, name: &str) -> (std::path::PathBuf, String) {
    let path = dir.join(name);
    let out = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
        .arg(&path)
        .output()
        .expect("ssh-keygen (OpenSSH) is installed");
    assert!(out.status.success(), "{out:?}");
    let public = std::fs::read_to_string(dir.join(format!("{name}.pub"))).unwrap();
    let public = public
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    (path, public)
}

/// A deploy key allowed_signers lists as `deployer@ci` for audit signatures (after a line
/// listing it as `release-bot` for promotion approvals only: every line of a key counts,
/// not just the first one ssh-keygen's find-principals names), and a key it does not list:
/// (their directory, the deployer's key, the intruder's key).
fn deploy_keys(repo: &Repo) -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let keys = tempfile::tempdir().unwrap();
    let (deployer, deployer_pub) = ssh_key(keys.path(), "deployer");
    let (intruder, _) = ssh_key(keys.path(), "intruder");
    repo.write(
        "environments/allowed_signers",
        &format!(
            "release-bot namespaces=\"strata-promote\" {deployer_pub}\ndeployer@ci namespaces=\"strata-audit\" {deployer_pub}\n"
        ),
    );
    (keys, deployer, intruder)
}

fn strata_signing(repo: &Repo, key: &std::path::Path, args: &[&str]) -> common::Run {
    repo.command(args)
        .env("STRATA_AUDIT_KEY", key)
        .output()
        .unwrap()
        .into()
}

/// `[audit] signed = true`: every event is signed with the runner's key, `[access]` is
/// checked against the principals allowed_signers lists for that key (not the identity git
/// claims), a run without a listed key changes nothing and records nothing, and `verify`
/// finds a signature that does not hold and an unsigned event after signed ones.
#[test]
fn signed_environments_sign_every_event_and_check_access_against_the_key() {
    let repo = tools_repo();
    let (keys, deployer, intruder) = deploy_keys(&repo);
    let env_toml = "[state]\nbackend = \"local\"\n[access]\napply = [\"deployer@ci\"]\n";
    repo.write(
        "environments/dev/env.toml",
        &format!("{env_toml}[audit]\nsigned = true\n"),
    );
    network_stack(&repo, "1");
    repo.commit("network v1, dev signs its audit events");
    let state = repo.state_file("dev", "stacks/network");

    // No usable key, or a key allowed_signers does not list: refused before anything runs.
    let missing = keys.path().join("no-such-key");
    for (key, why) in [(&missing, "cannot sign"), (&intruder, "is not listed")] {
        let run = strata_signing(&repo, key, &["apply", "--env", "dev", "--auto-approve"]);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(
            run.stderr.contains("requires signed audit events") && run.stderr.contains(why),
            "{}",
            run.stderr
        );
        assert!(!state.exists(), "nothing was applied");
        assert!(events(&repo).is_empty(), "nothing was recorded");
    }

    // The deployer's key: git says test@example.com, whom `[access]` does not list; the key
    // proves deployer@ci, whom it does.
    strata_signing(
        &repo,
        &deployer,
        &["apply", "--env", "dev", "--auto-approve"],
    )
    .assert_ok();
    network_stack(&repo, "2");
    repo.commit("network v2");
    strata_signing(
        &repo,
        &deployer,
        &["apply", "--env", "dev", "--auto-approve"],
    )
    .assert_ok();
    let all = events(&repo);
    assert_eq!(all.len(), 2);
    for e in &all {
        assert_eq!(e["actor"], "test@example.com");
        assert_eq!(e["signer"], "deployer@ci");
        assert!(
            e["signature"]
                .as_str()
                .unwrap()
                .starts_with("-----BEGIN SSH SIGNATURE-----"),
            "{e}"
        );
    }
    let (code, json) = verify(&repo);
    assert_eq!(code, 0, "{json}");
    let csv = repo.strata(&["audit", "export"]);
    let column = |line: &str, name: &str| {
        let header: Vec<&str> = csv.stdout.lines().next().unwrap().split(',').collect();
        let at = header.iter().position(|h| *h == name).unwrap();
        line.split(',').nth(at).unwrap().to_string()
    };
    let row = csv.stdout.lines().nth(1).unwrap();
    assert_eq!(column(row, "signer"), "deployer@ci", "{}", csv.stdout);

    // Signatures swapped between events (each still a valid signature, over another
    // event): both found, on their lines. The chain of hashes alone cannot see it.
    let text = std::fs::read_to_string(repo.path().join(LEDGER)).unwrap();
    let sig = |e: &Value| e["signature"].as_str().unwrap().to_string();
    let (first, second) = (sig(&all[0]), sig(&all[1]));
    let swapped = text
        .replace(&serde_json::to_string(&first).unwrap(), "\"FIRST\"")
        .replace(
            &serde_json::to_string(&second).unwrap(),
            &serde_json::to_string(&first).unwrap(),
        )
        .replace("\"FIRST\"", &serde_json::to_string(&second).unwrap());
    std::fs::write(repo.path().join(LEDGER), swapped).unwrap();
    let (code, json) = verify(&repo);
    assert_eq!(code, 1, "{json}");
    let problems = json["ledgers"][0]["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 2, "{json}");
    assert_eq!(problems[0]["line"], 1);
    assert_eq!(problems[1]["line"], 2);
    assert!(
        problems[0]["message"]
            .as_str()
            .unwrap()
            .contains("does not verify as deployer@ci's"),
        "{json}"
    );
    std::fs::write(repo.path().join(LEDGER), &text).unwrap();

    // Every signature stripped and every hash computed again (anyone can): the chain holds,
    // and `[audit] signed` still requires each event to be signed. The ledger removed
    // outright beside a lock with entries: found too, not a note.
    let mut prev = strata_audit::GENESIS.to_string();
    let mut stripped = String::new();
    for line in text.lines() {
        let mut event: strata_audit::Event = serde_json::from_str(line).unwrap();
        event.signer = None;
        event.signature = None;
        event.prev = prev.clone();
        event.hash = event.compute_hash();
        prev = event.hash.clone();
        stripped.push_str(&serde_json::to_string(&event).unwrap());
        stripped.push('\n');
    }
    std::fs::write(repo.path().join(LEDGER), &stripped).unwrap();
    assert_first_problem(
        &repo,
        "event 1 is not signed, and `[audit] signed` requires every event",
    );
    std::fs::remove_file(repo.path().join(LEDGER)).unwrap();
    assert_first_problem(&repo, "the ledger was removed");
    std::fs::write(repo.path().join(LEDGER), &text).unwrap();
    assert_eq!(verify(&repo).0, 0);
    // `signed_from` set past the next event would let the events up to it pass unsigned.
    repo.write(
        "environments/dev/env.toml",
        &format!("{env_toml}[audit]\nsigned = true\nsigned_from = 9\n"),
    );
    assert_first_problem(&repo, "is past the next event (3)");
    repo.write(
        "environments/dev/env.toml",
        &format!("{env_toml}[audit]\nsigned = true\n"),
    );
    assert_eq!(verify(&repo).0, 0);

    // Signing switched off by a later change: the next event is unsigned, after signed
    // ones, and that is a problem. Access is then checked against git's identity again.
    repo.write("environments/dev/env.toml", env_toml);
    network_stack(&repo, "3");
    repo.commit("dev stops signing");
    let run = repo.strata(&["apply", "--env", "dev", "--auto-approve"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("test@example.com may not apply in dev"),
        "{}",
        run.stderr
    );
    repo.write(
        "environments/dev/env.toml",
        "[state]\nbackend = \"local\"\n[access]\napply = [\"test@example.com\"]\n",
    );
    repo.commit("dev: test@example.com may apply, unsigned");
    repo.strata(&["apply", "--env", "dev", "--auto-approve"])
        .assert_ok();
    // The deployer, taken off `[access] apply`, signed the first two events: they no
    // longer pass until the list of former actors names it.
    assert_first_problem(
        &repo,
        "event 1 (apply) is signed by deployer@ci, whom `[access] apply` does not list (test@example.com)",
    );
    repo.write(
        "environments/dev/env.toml",
        "[state]\nbackend = \"local\"\n[access]\napply = [\"test@example.com\"]\nformer = [\"deployer@ci\"]\n",
    );
    assert_first_problem(&repo, "event 3 is not signed, after signed events");
}

/// A key allowed_signers lists for audit signatures may sign in every environment; whose
/// events an environment's trail accepts is `[access]`'s to say. A colleague whose key is
/// listed, and whom `[access] apply` does not list, applies from a commit that drops the
/// list and restores it afterwards (the branch's net change: the lock and the ledger): the
/// event does not verify, and the entry it wrote vouches for nothing.
#[test]
fn a_signed_event_of_someone_access_does_not_list_does_not_verify() {
    let repo = tools_repo();
    let (keys, deployer, _) = deploy_keys(&repo);
    let (colleague, colleague_pub) = ssh_key(keys.path(), "colleague");
    let signers =
        std::fs::read_to_string(repo.path().join("environments/allowed_signers")).unwrap();
    repo.write(
        "environments/allowed_signers",
        &format!("{signers}alice@example.com namespaces=\"strata-audit\" {colleague_pub}\n"),
    );
    let guarded = "[state]\nbackend = \"local\"\n[access]\napply = [\"deployer@ci\"]\n[audit]\nsigned = true\n";
    repo.write("environments/dev/env.toml", guarded);
    network_stack(&repo, "1");
    repo.commit("network v1");
    let run = strata_signing(
        &repo,
        &colleague,
        &["apply", "--env", "dev", "--auto-approve"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("alice@example.com may not apply in dev"),
        "{}",
        run.stderr
    );
    repo.write(
        "environments/dev/env.toml",
        "[state]\nbackend = \"local\"\n[audit]\nsigned = true\n",
    );
    repo.commit("no access list");
    strata_signing(
        &repo,
        &colleague,
        &["apply", "--env", "dev", "--auto-approve"],
    )
    .assert_ok();
    repo.write("environments/dev/env.toml", guarded);
    repo.commit("the access list back, with the lock and the ledger");
    assert_first_problem(
        &repo,
        "event 1 (apply) is signed by alice@example.com, whom `[access] apply` does not list (deployer@ci)",
    );
    // The deployer's own events pass.
    std::fs::remove_file(repo.path().join(LEDGER)).unwrap();
    std::fs::remove_file(repo.path().join("environments/dev/release.lock.toml")).unwrap();
    network_stack(&repo, "2");
    repo.commit("network v2, a fresh trail");
    strata_signing(
        &repo,
        &deployer,
        &["apply", "--env", "dev", "--auto-approve"],
    )
    .assert_ok();
    let (code, json) = verify(&repo);
    assert_eq!(code, 0, "{json}");
}

/// The network stack committed and applied in dev: its local state file there.
fn network_applied_in_dev(repo: &Repo) -> std::path::PathBuf {
    network_stack(repo, "1");
    repo.commit("network v1");
    repo.strata(&["apply", "--env", "dev", "--auto-approve"])
        .assert_ok();
    repo.state_file("dev", "stacks/network")
}

/// `strata state push` replaces an environment's state as an apply does: only someone the
/// environment's `[access] apply` lists may run it, and a refused push changes nothing.
#[test]
fn state_push_needs_the_right_to_apply() {
    let repo = tools_repo();
    let state = network_applied_in_dev(&repo);
    let before = std::fs::read(&state).unwrap();
    repo.write(
        "environments/dev/env.toml",
        "[state]\nbackend = \"local\"\n[access]\napply = [\"release-bot\"]\n",
    );
    repo.commit("only release-bot applies in dev");
    let other = repo.path().join("other.tfstate");
    std::fs::write(&other, "{}").unwrap();
    let run = repo.strata(&[
        "state",
        "push",
        "stacks/network",
        "--env",
        "dev",
        other.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("test@example.com may not apply in dev"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read(&state).unwrap(),
        before,
        "the state is untouched"
    );
    assert_eq!(events(&repo).len(), 1, "the refused push wrote no event");
}

/// A local state file terraform cut short (a full disk) is no state: terraform cannot start
/// against it, so the push that puts the kept state back moves it aside first, says so, and
/// records it in the ledger.
#[test]
fn a_state_push_moves_a_damaged_local_state_aside() {
    let repo = tools_repo();
    let state = network_applied_in_dev(&repo);
    let whole = std::fs::read(&state).unwrap();
    let kept = repo.path().join("kept.tfstate");
    std::fs::write(&kept, &whole).unwrap();
    std::fs::write(&state, &whole[..whole.len() / 2]).unwrap();
    let push = || {
        repo.strata(&[
            "state",
            "push",
            "stacks/network",
            "--env",
            "dev",
            kept.to_str().unwrap(),
        ])
    };
    // While another process holds the file locked as terraform does (it may be writing
    // it), it is left alone.
    {
        let held = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&state)
            .unwrap();
        let lock = nix::libc::flock {
            l_type: nix::libc::F_WRLCK as nix::libc::c_short,
            l_whence: nix::libc::SEEK_SET as nix::libc::c_short,
            l_start: 0,
            l_len: 0,
            l_pid: 0,
        };
        nix::fcntl::fcntl(&held, nix::fcntl::FcntlArg::F_SETLK(&lock)).unwrap();
        let run = push();
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(run.stderr.contains("holds it locked"), "{}", run.stderr);
        assert_eq!(
            std::fs::read(&state).unwrap(),
            &whole[..whole.len() / 2],
            "left alone"
        );
    }
    let run = push();
    run.assert_ok();
    assert!(run.stderr.contains("was no state"), "{}", run.stderr);
    let aside: Vec<_> = std::fs::read_dir(state.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".damaged-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    let pushed: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert!(pushed["resources"]
        .as_array()
        .is_some_and(|r| !r.is_empty()));
    let last = events(&repo).pop().unwrap();
    assert!(
        last["targets"][0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("moved aside")),
        "{last}"
    );
    // Planning works again, with nothing to change.
    let plan = repo.strata(&["--json", "plan", "--env", "dev"]);
    plan.assert_ok();
}

/// The network stack applied in dev and committed, staging (`promotes_from = "dev"`, local
/// state, with `staging_extra` in its env.toml), and the plan of the promotion: (the
/// directory holding the plan, the plan's path).
fn staging_plan(repo: &Repo, staging_extra: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    repo.write(
        "environments/staging/env.toml",
        &format!("promotes_from = \"dev\"\n\n[state]\nbackend = \"local\"\n{staging_extra}"),
    );
    network_stack(repo, "1");
    repo.commit("dev and staging");
    repo.strata(&["apply", "--env", "dev", "--auto-approve"])
        .assert_ok();
    repo.commit("dev's lock and ledger");
    let out = tempfile::tempdir().unwrap();
    let plan = out.path().join("promote-staging.json");
    let file = plan.to_str().unwrap();
    repo.strata(&[
        "promote", "plan", "--from", "dev", "--to", "staging", "--out", file,
    ])
    .assert_ok();
    (out, plan)
}

/// A promotion into an environment that signs its events: refused before anything runs
/// without a listed key (no event), and signed by the key that proves `[access] promote`.
#[test]
fn a_promotion_into_a_signed_environment_needs_the_key() {
    let repo = tools_repo();
    let (_keys, deployer, intruder) = deploy_keys(&repo);
    let (_out, plan) = staging_plan(
        &repo,
        "[access]\npromote = [\"deployer@ci\"]\n[audit]\nsigned = true\n",
    );
    let plan = plan.to_str().unwrap();
    let staging_ledger = repo.path().join("environments/staging/audit.jsonl");
    let staging_state = repo.state_file("staging", "stacks/network");
    let run = strata_signing(&repo, &intruder, &["promote", "apply", plan]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("is not listed"), "{}", run.stderr);
    assert!(!staging_ledger.exists(), "no event without a key");
    assert!(!staging_state.exists(), "nothing promoted");

    strata_signing(&repo, &deployer, &["promote", "apply", plan]).assert_ok();
    assert!(staging_state.exists());
    let text = std::fs::read_to_string(&staging_ledger).unwrap();
    let event: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(event["action"], "promote", "{event}");
    assert_eq!(event["outcome"], "succeeded", "{event}");
    assert_eq!(event["signer"], "deployer@ci", "{event}");
    let run = repo.strata(&["--json", "audit", "verify", "--env", "staging"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
}

/// A deploy key revoked after a leak makes the events it signed problems, so what they
/// wrote is not promoted; applying again with a new key writes each entry afresh, and what
/// that valid event wrote promotes: a problem early in a ledger does not block the train
/// for good.
#[test]
fn after_a_revoked_key_applying_again_with_a_new_key_makes_dev_promotable() {
    let repo = tools_repo();
    let (keys, deployer, _) = deploy_keys(&repo);
    repo.write(
        "environments/dev/env.toml",
        "[state]\nbackend = \"local\"\n[audit]\nsigned = true\n",
    );
    repo.write(
        "environments/staging/env.toml",
        "promotes_from = \"dev\"\n\n[state]\nbackend = \"local\"\n",
    );
    network_stack(&repo, "1");
    repo.commit("dev signs its events");
    strata_signing(
        &repo,
        &deployer,
        &["apply", "--env", "dev", "--auto-approve"],
    )
    .assert_ok();
    repo.commit("dev's lock and ledger");
    let plan = || {
        repo.strata(&[
            "--json", "promote", "plan", "--from", "dev", "--to", "staging",
        ])
        .json()
    };
    let planned = |plan: &Value| -> Vec<String> {
        plan["waves"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|w| w.as_array().unwrap().iter())
            .map(|s| s["label"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(planned(&plan()), ["stacks/network"]);

    // The key leaks: revoked, and a new one listed.
    let leaked = std::fs::read_to_string(keys.path().join("deployer.pub")).unwrap();
    repo.write("environments/revoked_keys", &leaked);
    let (second, second_pub) = ssh_key(keys.path(), "deployer2");
    repo.append(
        "environments/allowed_signers",
        &format!("deployer2@ci namespaces=\"strata-audit\" {second_pub}\n"),
    );
    repo.commit("revoke the leaked key");
    let held = plan();
    assert!(planned(&held).is_empty(), "{held}");
    assert_eq!(held["blocked"][0]["gate"], "recorded", "{held}");

    strata_signing(&repo, &second, &["apply", "--env", "dev", "--auto-approve"]).assert_ok();
    repo.commit("dev applied again with the new key");
    let (code, json) = verify(&repo);
    assert_eq!(code, 1, "event 1 stays a problem: {json}");
    assert_eq!(planned(&plan()), ["stacks/network"]);

    // A line of revoked_keys that is no public key: verify names it, to be fixed.
    repo.append("environments/revoked_keys", "not a key\n");
    let run = repo.strata(&["audit", "verify"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("--> environments/revoked_keys:2")
            && run.stderr.contains("hint: fix environments/revoked_keys"),
        "{}",
        run.stderr
    );
}

/// A workspace whose network was applied in dev once (one event), then made slow to apply
/// (see `common::slow_apply_started`), with a directory for the marker.
fn slow_network_after_one_event() -> (Repo, tempfile::TempDir) {
    let repo = tools_repo();
    network_applied_in_dev(&repo);
    repo.commit("dev's lock");
    assert_eq!(events(&repo).len(), 1);
    common::network_stack(&repo, "slow");
    repo.commit("a slow network");
    (repo, tempfile::tempdir().unwrap())
}

/// An apply whose end cannot be recorded (here its release lock was damaged while terraform
/// ran) still leaves an event: outcome `interrupted`, the error named. Before, the run's
/// record was removed on the way out and the change was in the state and in no event.
#[test]
fn an_apply_that_cannot_record_its_end_still_leaves_an_event() {
    let (repo, dir) = slow_network_after_one_event();
    let marker = dir.path().join("applying");
    let apply = common::slow_apply_started(&repo, &marker, "3");
    let lock = repo.path().join("environments/dev/release.lock.toml");
    assert!(lock.exists(), "no lock at {}", lock.display());
    std::fs::write(&lock, "not a lock\n").unwrap();
    let out = apply.wait_with_output().unwrap();
    assert_ne!(out.status.code(), Some(0));
    let all = events(&repo);
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(all[1]["outcome"], "interrupted", "{}", all[1]);
    let message = all[1]["message"].as_str().unwrap();
    assert!(
        message.starts_with("an apply started ")
            && message.contains("ended on an error before it recorded what it did"),
        "{message}"
    );
    assert_eq!(all[1]["details"]["targets"], "stacks/network", "{}", all[1]);
    assert!(
        !repo.path().join(".strata/runs").exists()
            || std::fs::read_dir(repo.path().join(".strata/runs"))
                .unwrap()
                .next()
                .is_none(),
        "the run's record was written into the ledger, and goes"
    );
}

/// An apply whose release lock cannot be written, but whose ledger can (here the file runs
/// take turns on was replaced by a directory while terraform ran), writes one event: the
/// apply, with the lock named as not recorded. Before, a second event (`interrupted`) said
/// the same run again.
#[test]
fn an_apply_whose_lock_cannot_be_written_leaves_one_event() {
    let (repo, dir) = slow_network_after_one_event();
    let marker = dir.path().join("applying");
    let apply = common::slow_apply_started(&repo, &marker, "3");
    let turn = repo.path().join(".strata/release-dev.lock");
    assert!(turn.exists(), "no turn file at {}", turn.display());
    std::fs::remove_file(&turn).unwrap();
    std::fs::create_dir(&turn).unwrap();
    let out = apply.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let all = events(&repo);
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(all[1]["action"], "apply", "{}", all[1]);
    assert!(
        all[1].to_string().contains("(release lock)"),
        "the event names the lock as not recorded: {}",
        all[1]
    );
    assert!(
        std::fs::read_dir(repo.path().join(".strata/runs"))
            .map_or(true, |mut d| d.next().is_none()),
        "the run's end is in the ledger: its record goes"
    );
}

/// A strata killed while it applies (`kill -9`: no chance to write its event) leaves a
/// record of the run in the checkout: `audit verify` reports it, and the next apply writes
/// it into the ledger (outcome `interrupted`) before its own event. Before, the change was
/// in the state and in no event, and verify said every entry was explained.
#[test]
fn an_apply_strata_did_not_live_to_record_is_recorded_by_the_next() {
    let (repo, dir) = slow_network_after_one_event();
    let marker = dir.path().join("applying");
    let mut apply = common::slow_apply_started(&repo, &marker, "3");
    apply.kill().unwrap();
    apply.wait().unwrap();
    assert_eq!(events(&repo).len(), 1, "strata wrote nothing");

    let (code, json) = verify(&repo);
    assert_eq!(code, 1, "{json}");
    let problem = json["ledgers"][0]["problems"][0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        problem.starts_with("an apply started ")
            && problem.contains("was stopped before it ended")
            && problem.contains("it was to run stacks/network"),
        "{problem}"
    );

    // The next apply records it first, and verify is content again.
    let run = repo.strata(&["apply", "--env", "dev", "--auto-approve"]);
    assert!(
        run.stderr.contains("(outcome interrupted)"),
        "{}",
        run.stderr
    );
    let all = events(&repo);
    assert_eq!(all.len(), 3, "{all:?}");
    assert_eq!(all[1]["outcome"], "interrupted", "{}", all[1]);
    assert_eq!(all[1]["details"]["targets"], "stacks/network", "{}", all[1]);
    assert_eq!(all[2]["action"], "apply", "{}", all[2]);
    repo.commit("dev's lock again");
    let (code, json) = verify(&repo);
    assert_eq!(code, 0, "{json}");
}

/// Text for people cleans what the repository or the environment puts in it: an applier
/// named with terminal escapes (a CI user name, a git e-mail) is printed without them by
/// the promotion plan, the audit report and export, and the drift report, and kept, as
/// data, in `--json` and the ledger.
#[test]
fn an_applier_named_with_escapes_is_printed_without_them() {
    let repo = tools_repo();
    repo.write(
        "environments/staging/env.toml",
        "promotes_from = \"dev\"\n\n[state]\nbackend = \"local\"\n",
    );
    network_stack(&repo, "1");
    repo.commit("dev and staging");
    let evil = "ci\u{1b}]0;PWNED\u{7}\u{1b}[2Jbot";
    let as_evil = |args: &[&str]| -> common::Run {
        let mut cmd = repo.command(args);
        cmd.env("GITHUB_ACTIONS", "true").env("GITHUB_ACTOR", evil);
        cmd.output().unwrap().into()
    };
    as_evil(&["apply", "--env", "dev", "--auto-approve"]).assert_ok();
    assert_eq!(events(&repo)[0]["actor"], evil);
    repo.commit("dev's lock and ledger");
    for args in [
        &["promote", "plan", "--from", "dev", "--to", "staging"][..],
        &["audit", "report"],
        &["audit", "verify"],
        &["drift", "--env", "dev"],
    ] {
        let run = as_evil(args);
        assert_eq!(run.code, 0, "{args:?}: {}\n{}", run.stderr, run.stdout);
        let all = format!("{}{}", run.stdout, run.stderr);
        assert!(
            !all.contains('\u{1b}') && !all.contains('\u{7}'),
            "{args:?}: {all:?}"
        );
    }
    let shown = as_evil(&["audit", "report"]);
    assert!(shown.stdout.contains("| ci"), "{}", shown.stdout);
    assert!(shown.stdout.contains("bot | apply |"), "{}", shown.stdout);
    let json = as_evil(&[
        "--json", "promote", "plan", "--from", "dev", "--to", "staging",
    ]);
    assert!(json.stdout.contains("\\u001b]0;PWNED"), "{}", json.stdout);
    // An export to a file or a pipe is data, as recorded; on a terminal it is cleaned.
    let csv = as_evil(&["audit", "export"]);
    assert!(csv.stdout.contains(evil), "{}", csv.stdout);
    let shown = common::on_terminal(&repo, "audit export", "");
    assert!(shown.stdout.contains(",cibot,"), "{}", shown.stdout);
    assert!(!shown.stdout.contains('\u{1b}'), "{:?}", shown.stdout);
}

/// The key that signs an environment's events goes away while an apply runs: its one event
/// is written unsigned, saying why, and the run fails. Before, the run then also wrote an
/// `interrupted` event saying it had recorded nothing, and left its run record for the
/// next run to write a third.
#[test]
fn a_signing_key_lost_during_an_apply_leaves_one_unsigned_event() {
    let repo = tools_repo();
    let (keys, deployer, _) = deploy_keys(&repo);
    repo.write(
        "environments/dev/env.toml",
        "[state]\nbackend = \"local\"\n\n[audit]\nsigned = true\n",
    );
    network_stack(&repo, "slow");
    repo.commit("signed dev");
    let marker = keys.path().join("applying");
    repo.command(&["apply", "--env", "dev", "--auto-approve"])
        .env("STRATA_AUDIT_KEY", &deployer)
        .env("STRATA_TEST_MARKER", &marker)
        .env("STRATA_TEST_HOLD", "0")
        .output()
        .map(common::Run::from)
        .unwrap()
        .assert_ok();
    repo.commit("dev's lock and ledger");
    std::fs::remove_file(&marker).unwrap();
    // Its resource removed behind strata's back: the apply creates it again, and the
    // entry (the same hash) stays as it was.
    let out = std::process::Command::new(common::repo_root().join(".tools/bin/terraform"))
        .args(["state", "rm", "-state"])
        .arg(repo.state_file("dev", "stacks/network"))
        .arg("null_resource.net")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    // A copy of the key, removed once the apply runs.
    let key = keys.path().join("going");
    std::fs::copy(&deployer, &key).unwrap();
    std::fs::copy(deployer.with_extension("pub"), key.with_extension("pub")).unwrap();
    let apply = repo
        .command(&["apply", "--env", "dev", "--auto-approve"])
        .env("STRATA_AUDIT_KEY", &key)
        .env("STRATA_TEST_MARKER", &marker)
        .env("STRATA_TEST_HOLD", "3")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    common::wait_for(
        "the slow apply to start",
        std::time::Duration::from_secs(60),
        || marker.exists(),
    );
    std::fs::remove_file(&key).unwrap();
    std::fs::remove_file(key.with_extension("pub")).unwrap();
    let out = apply.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = events(&repo);
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[1]["outcome"], "succeeded", "{}", events[1]);
    assert!(
        events[1]["details"]["unsigned"].is_string(),
        "{}",
        events[1]
    );
    let runs = repo.path().join(".strata/runs");
    let left: Vec<_> = std::fs::read_dir(&runs)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}
