//! `strata daemon` answers `strata affected` for the work tree. It may make the command
//! faster, never different: its answers equal the ones computed in process through edits,
//! new and deleted files, index and HEAD moves, ignore rules and merge conflicts; an edit
//! made just before a request is seen; errors look the same. (Starting, stopping and
//! bypassing it: daemon_lifecycle.rs.)
#![allow(clippy::disallowed_methods)] // tests drive git, the real strata binary and tools
#![cfg(unix)]

mod common;
use common::daemon::*;
use common::{target, Repo};
use std::process::Command;

#[test]
fn answers_equal_in_process_ones_through_a_sequence_of_edits() {
    let repo = Repo::with_fixture();
    // Work on a branch, so a commit does not move the base.
    repo.git(&["checkout", "-q", "-b", "topic"]);
    let daemon = Daemon::start(&repo);
    let mut steps = 0u64;
    let mut step = |what: &str, change: &dyn Fn()| {
        change();
        steps += 1;
        same_answer(&repo, what)
    };

    let json = step("no change", &|| {});
    assert_eq!(labels(&json), Vec::<String>::new(), "{json}");

    let json = step("module content edit", &|| {
        repo.append("modules/naming/main.tf", "# tweak\n");
    });
    assert_eq!(reason(&json, "modules/naming").as_deref(), Some("changed"));
    assert_eq!(
        reason(&json, "stacks/app").as_deref(),
        Some("dependency"),
        "{json}"
    );

    let json = step("edit reverted with git checkout", &|| {
        repo.git(&["checkout", "-q", "--", "modules/naming/main.tf"]);
    });
    assert_eq!(labels(&json), Vec::<String>::new(), "{json}");

    let json = step("new untracked file in a stack", &|| {
        repo.write(
            "stacks/network/extra.tf",
            "output \"extra\" { value = 1 }\n",
        );
    });
    assert_eq!(
        reason(&json, "stacks/network").as_deref(),
        Some("changed"),
        "{json}"
    );
    assert_eq!(
        target(&json, "stacks/network").unwrap()["files"],
        serde_json::json!(["stacks/network/extra.tf"]),
        "{json}"
    );

    let json = step("new stack directory", &|| {
        repo.write(
            "stacks/cache/stack.toml",
            "deps = [\"stacks/network\"]\nenvironments = [\"dev\"]\n",
        );
        repo.write(
            "stacks/cache/main.tf",
            "resource \"null_resource\" \"cache\" {}\noutput \"host\" { value = \"cache.internal\" }\n",
        );
    });
    assert!(target(&json, "stacks/cache").is_some(), "{json}");
    assert!(target(&json, "stacks/network").is_some(), "{json}");

    let json = step("tracked file deleted", &|| {
        repo.remove("charts/web/values.yaml");
    });
    assert_eq!(
        reason(&json, "charts/web").as_deref(),
        Some("changed"),
        "{json}"
    );
    let work_tree = json;

    // The index and HEAD move, the work tree does not: the answer stays the same.
    for (what, args) in [
        ("git add -A", &["add", "-A"][..]),
        ("git commit", &["commit", "-q", "-m", "work"][..]),
        (
            "git reset --soft HEAD~1",
            &["reset", "-q", "--soft", "HEAD~1"][..],
        ),
        ("git reset", &["reset", "-q"][..]),
    ] {
        let json = step(what, &|| {
            repo.git(args);
        });
        assert_eq!(json, work_tree, "{what}: the work tree did not change");
    }

    // The index, the work tree and HEAD all differ, then each is put back in turn.
    let json = step("staged, then edited again", &|| {
        repo.append("modules/db/main.tf", "# staged\n");
        repo.git(&["add", "modules/db/main.tf"]);
        repo.append("modules/db/main.tf", "# not staged\n");
    });
    assert!(target(&json, "modules/db").is_some(), "{json}");
    step("the work tree restored from the index", &|| {
        repo.git(&["checkout", "-q", "--", "modules/db/main.tf"]);
    });
    step("the index restored from HEAD", &|| {
        repo.git(&["reset", "-q", "--", "modules/db/main.tf"]);
    });
    let json = step("the work tree restored from HEAD", &|| {
        repo.git(&["checkout", "-q", "--", "modules/db/main.tf"]);
    });
    assert_eq!(json, work_tree, "modules/db is back as it was");

    let json = step(".gitignore ignores the untracked file", &|| {
        repo.write(".gitignore", "extra.tf\n");
    });
    assert_eq!(reason(&json, "stacks/network"), None, "{json}");
    assert!(target(&json, "stacks/cache").is_some(), "{json}");

    let json = step("git mv", &|| {
        repo.git(&["mv", "modules/vpc/main.tf", "modules/vpc/vpc.tf"]);
    });
    assert_eq!(
        reason(&json, "modules/vpc").as_deref(),
        Some("changed"),
        "{json}"
    );

    // A tracked file that the ignore rules match stays tracked... until it leaves the index:
    // then it is ignored and no longer an input (the index changes, the work tree not).
    step(".gitignore also matches a tracked file", &|| {
        repo.write(".gitignore", "extra.tf\nconfig.json\n");
    });
    let json = step("git rm --cached of the ignored file", &|| {
        repo.git(&["rm", "-q", "--cached", "shared/config.json"]);
    });
    assert_eq!(
        reason(&json, "stacks/app").as_deref(),
        Some("changed"),
        "{json}"
    );

    let json = step("chmod +x", &|| {
        use std::os::unix::fs::PermissionsExt;
        let path = repo.path().join("stacks/app/main.tf");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    });
    assert_eq!(
        reason(&json, "stacks/app").as_deref(),
        Some("changed"),
        "{json}"
    );

    let json = step("new stack directory removed", &|| {
        repo.remove("stacks/cache");
    });
    assert_eq!(reason(&json, "stacks/cache"), None, "{json}");

    // Directories made, moved and removed whole, faster than a watch can be added to
    // each: the daemon still sees every file in them.
    let json = step("a nested directory tree made at once", &|| {
        repo.write(
            "stacks/deep/stack.toml",
            "deps = [\"stacks/network\"]\nenvironments = [\"dev\"]\n",
        );
        repo.write("stacks/deep/a/b/c/data.json", "{}\n");
        repo.write(
            "stacks/deep/main.tf",
            "output \"d\" { value = file(\"${path.module}/a/b/c/data.json\") }\n",
        );
    });
    assert!(target(&json, "stacks/deep").is_some(), "{json}");
    let json = step("a file deep in the new tree edited", &|| {
        repo.write("stacks/deep/a/b/c/data.json", "{\"x\": 1}\n");
    });
    assert!(target(&json, "stacks/deep").is_some(), "{json}");
    let json = step("the new stack renamed", &|| {
        std::fs::rename(
            repo.path().join("stacks/deep"),
            repo.path().join("stacks/deeper"),
        )
        .unwrap();
    });
    assert!(target(&json, "stacks/deep").is_none(), "{json}");
    assert!(target(&json, "stacks/deeper").is_some(), "{json}");
    let json = step("a file in the renamed tree edited", &|| {
        repo.write("stacks/deeper/a/b/c/data.json", "{\"x\": 2}\n");
    });
    assert!(target(&json, "stacks/deeper").is_some(), "{json}");
    let outside = tempfile::tempdir().unwrap();
    let json = step("the renamed stack moved out of the workspace", &|| {
        std::fs::rename(
            repo.path().join("stacks/deeper"),
            outside.path().join("deeper"),
        )
        .unwrap();
    });
    assert!(target(&json, "stacks/deeper").is_none(), "{json}");
    step("a file edited in the tree moved out", &|| {
        std::fs::write(outside.path().join("deeper/main.tf"), "# gone\n").unwrap();
    });
    let json = step("the stack moved back in", &|| {
        std::fs::rename(
            outside.path().join("deeper"),
            repo.path().join("stacks/back"),
        )
        .unwrap();
    });
    assert!(target(&json, "stacks/back").is_some(), "{json}");
    let json = step("terraform's own directory is not an input", &|| {
        repo.write("stacks/back/.terraform/providers/x/y.txt", "cache\n");
    });
    assert!(target(&json, "stacks/back").is_some(), "{json}");
    step("the moved-in stack removed", &|| {
        repo.remove("stacks/back");
    });

    let status = daemon.status();
    let requests = status["requests"].as_u64().unwrap();
    let full_reads = status["full_reads"].as_u64().unwrap();
    // Each step asked the daemon twice (see `same_answer`).
    assert!(
        requests >= 2 * steps && full_reads < steps,
        "the daemon read the whole tree {full_reads} times for {steps} steps \
         ({requests} requests): {status}"
    );
}

/// The daemon keeps the baselines of two merge-bases; asked about three in turn, it drops
/// the least recently used and reads it back when asked again, answering as before.
#[test]
fn answers_for_several_bases_in_turn_equal_in_process_ones() {
    let repo = Repo::with_fixture();
    repo.git(&["checkout", "-q", "-b", "topic"]);
    repo.append("modules/naming/main.tf", "# one\n");
    repo.git(&["commit", "-q", "-am", "one"]);
    repo.append("stacks/network/main.tf", "# two\n");
    repo.git(&["commit", "-q", "-am", "two"]);
    repo.append("modules/db/main.tf", "# work\n");
    let _daemon = Daemon::start(&repo);
    let mut answers = std::collections::BTreeMap::new();
    for round in 0..2 {
        for base in ["main", "HEAD~1", "HEAD", "main"] {
            let args = ["--json", "affected", "--base", base];
            let via = strata_env(&repo, &args, &[]);
            let only = strata_env(&repo, &args, &[("PATH", "/nonexistent-strata-test-path")]);
            let direct = strata_env(&repo, &args, &[("STRATA_DAEMON", "0")]);
            assert_eq!(
                (via.code, only.code, direct.code),
                (0, 0, 0),
                "round {round}, base {base}: exit codes (daemon, daemon only, in process)\n{}\n{}",
                only.stderr,
                direct.stderr
            );
            let direct = direct.json();
            assert_eq!(via.json(), direct, "round {round}, base {base}");
            assert_eq!(
                only.json(),
                direct,
                "round {round}, base {base}: daemon only"
            );
            answers.insert(base, labels(&direct));
        }
    }
    // Three different questions, three different answers.
    let has = |base: &str, label: &str| answers[base].contains(&label.to_string());
    assert!(has("main", "modules/naming"), "{answers:?}");
    assert!(!has("HEAD~1", "modules/naming"), "{answers:?}");
    assert!(has("HEAD~1", "stacks/network"), "{answers:?}");
    assert!(!has("HEAD", "stacks/network"), "{answers:?}");
    assert!(has("HEAD", "modules/db"), "{answers:?}");
}

#[test]
fn an_edit_made_just_before_the_request_is_seen() {
    let repo = Repo::with_fixture();
    let _daemon = Daemon::start(&repo);
    let mut hashes: Vec<String> = Vec::new();
    for i in 0..20 {
        // No pause between the write and the request, which only the daemon can answer.
        repo.append("modules/naming/main.tf", &format!("# edit {i}\n"));
        let json = daemon_only(&repo, &format!("edit {i}"));
        let naming =
            target(&json, "modules/naming").unwrap_or_else(|| panic!("edit {i} not seen: {json}"));
        assert_eq!(naming["reason"], "changed", "edit {i}: {json}");
        // Every edit gives the module a new hash: an answer from before the edit would
        // repeat the previous one.
        let hash = naming["hash"].as_str().unwrap().to_string();
        assert!(
            !hashes.contains(&hash),
            "edit {i}: hash {hash} was already answered for an earlier edit"
        );
        hashes.push(hash);
        let direct = in_process(&repo);
        direct.assert_ok();
        assert_eq!(json, direct.json(), "edit {i}: daemon vs in process");
    }
    repo.git(&["checkout", "-q", "--", "modules/naming/main.tf"]);
    let json = daemon_only(&repo, "revert");
    assert_eq!(
        labels(&json),
        Vec::<String>::new(),
        "revert not seen: {json}"
    );
    same_answer(&repo, "reverted");
}

#[test]
fn errors_look_the_same_and_the_daemon_answers_again_once_fixed() {
    let repo = Repo::with_fixture();
    let daemon = Daemon::start(&repo);
    // A target that does not parse is an answer (it is affected, with its error), the
    // same from the daemon as in process.
    repo.write("stacks/network/main.tf", "resource \"x\" \"y\" {\n");
    for attempt in ["first", "second"] {
        let json = daemon_only(&repo, attempt);
        assert_eq!(
            reason(&json, "stacks/network").as_deref(),
            Some("changed"),
            "{json}"
        );
        let problem = &json["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["label"] == "stacks/network")
            .unwrap()["problems"][0];
        assert_eq!(
            problem["location"]["file"], "stacks/network/main.tf",
            "{json}"
        );
        same_answer(&repo, attempt);
    }
    repo.git(&["checkout", "-q", "--", "stacks/network/main.tf"]);
    // An environment file that does not parse stops every answer: the same error with
    // and without the daemon. Twice: once on the edit, once with the daemon's tree
    // already known to be broken.
    let env = "environments/dev/env.toml";
    let env_text = std::fs::read_to_string(repo.path().join(env)).unwrap();
    repo.write(env, "[gates\n");
    for attempt in ["first", "second"] {
        let daemon_run = strata_env(&repo, &["affected", "--base", "main"], &[]);
        let direct = strata_env(
            &repo,
            &["affected", "--base", "main"],
            &[("STRATA_DAEMON", "0")],
        );
        assert_eq!(
            daemon_run.code, 2,
            "{attempt} run: exit code with the daemon\nstdout:\n{}\nstderr:\n{}",
            daemon_run.stdout, daemon_run.stderr
        );
        assert_eq!(
            direct.code, 2,
            "{attempt} run in process: {}",
            direct.stderr
        );
        assert_eq!(
            daemon_run.stderr, direct.stderr,
            "{attempt} run: stderr with the daemon (left) vs in process (right)"
        );
        assert_eq!(daemon_run.stdout, direct.stdout, "{attempt} run: stdout");
        assert!(
            daemon_run.stderr.contains("environments/dev/env.toml:"),
            "{attempt} run: the error names no file:line:\n{}",
            daemon_run.stderr
        );
    }

    repo.write(env, &env_text);
    repo.append("modules/naming/main.tf", "# after the fix\n");
    let before = daemon.requests();
    let run = via_daemon(&repo);
    let after = daemon.requests();
    run.assert_ok();
    // The affected request and this status request: the daemon was asked.
    assert_eq!(
        after,
        before + 2,
        "requests {before} -> {after}: the fixed tree was not asked of the daemon"
    );
    let json = run.json();
    assert_eq!(
        reason(&json, "modules/naming").as_deref(),
        Some("changed"),
        "{json}"
    );
    // And it answers (a client that cannot compute the answer itself gets it), the same.
    same_answer(&repo, "fixed");

    // A WORKSPACE.toml that does not parse: an error on every request until it is fixed,
    // never an answer from the configuration before it.
    let config = std::fs::read_to_string(repo.path().join("WORKSPACE.toml")).unwrap();
    repo.write("WORKSPACE.toml", "[workspace\n");
    for attempt in ["first", "second"] {
        let daemon_run = strata_env(&repo, &["affected", "--base", "main"], &[]);
        assert_eq!(daemon_run.code, 2, "{attempt}: {}", daemon_run.stderr);
        assert!(
            daemon_run.stderr.contains("WORKSPACE.toml"),
            "{attempt}: {}",
            daemon_run.stderr
        );
    }
    repo.write("WORKSPACE.toml", &config);
    let json = same_answer(&repo, "configuration fixed");
    assert_eq!(
        reason(&json, "modules/naming").as_deref(),
        Some("changed"),
        "{json}"
    );
}

#[test]
fn files_in_a_merge_conflict_are_read_as_in_process() {
    let repo = Repo::with_fixture();
    // One of the stack's own inputs, which nothing parses (so conflict markers are fine).
    let file = "stacks/network/notes.txt";
    repo.write(file, "first\n");
    repo.commit("notes");
    repo.git(&["checkout", "-q", "-b", "other"]);
    repo.write(file, "cidr = \"10.7.0.0/16\"\n");
    repo.commit("other");
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["checkout", "-q", "-b", "topic"]);
    repo.write(file, "cidr = \"10.8.0.0/16\"\n");
    repo.commit("topic");
    let _daemon = Daemon::start(&repo);
    same_answer(&repo, "before the merge");
    let merge = Command::new("git")
        .current_dir(repo.path())
        .args(["merge", "-q", "other"])
        .output()
        .unwrap();
    assert!(!merge.status.success(), "the merge was meant to conflict");
    let json = same_answer(&repo, "in the conflict");
    assert!(target(&json, "stacks/network").is_some(), "{json}");
    repo.write(file, "cidr = \"10.9.0.0/16\"\n");
    same_answer(&repo, "resolved in the work tree");
    repo.git(&["add", file]);
    same_answer(&repo, "resolution staged");
    repo.git(&["commit", "-q", "--no-edit"]);
    same_answer(&repo, "merge committed");
}

/// A conflict at a path HEAD does not have (one side renamed the stack, the other edited
/// it): the path has neither an index entry nor a snapshot entry, and is read from the
/// work tree all the same, before and after it is resolved.
#[test]
fn a_conflict_at_a_path_head_does_not_have_is_read_as_in_process() {
    let repo = Repo::with_fixture();
    repo.git(&["checkout", "-q", "-b", "other"]);
    repo.git(&["mv", "stacks/app", "stacks/service"]);
    repo.append("stacks/service/main.tf", "# edited where it went\n");
    repo.commit("rename the app");
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["checkout", "-q", "-b", "topic"]);
    repo.append("stacks/app/main.tf", "# edited where it was\n");
    repo.commit("edit the app");
    let _daemon = Daemon::start(&repo);
    same_answer(&repo, "before the merge");
    let merge = Command::new("git")
        .current_dir(repo.path())
        .args(["merge", "-q", "other"])
        .output()
        .unwrap();
    assert!(!merge.status.success(), "the merge was meant to conflict");
    let json = same_answer(&repo, "in the conflict");
    assert!(target(&json, "stacks/service").is_some(), "{json}");
    repo.append("stacks/service/main.tf", "# resolved\n");
    let json = same_answer(&repo, "resolved in the work tree");
    assert!(target(&json, "stacks/service").is_some(), "{json}");
}

/// A repository made or unmade inside the work tree changes what git lists below it, and
/// no event below it says so: vendoring a clone (`rm -rf stacks/x/.git`) shows its files,
/// `git init` in an untracked directory hides them, as in process.
#[test]
fn a_nested_repository_made_or_unmade_is_seen_as_in_process() {
    let repo = Repo::with_fixture();
    repo.git(&["checkout", "-q", "-b", "topic"]);
    let _daemon = Daemon::start(&repo);
    same_answer(&repo, "at the start");
    repo.write("stacks/vendored/main.tf", "locals {\n  a = 1\n}\n");
    let init = Command::new("git")
        .args(["init", "-q"])
        .current_dir(repo.path().join("stacks/vendored"))
        .status()
        .unwrap();
    assert!(init.success());
    let json = same_answer(&repo, "a nested repository");
    assert!(target(&json, "stacks/vendored").is_none(), "{json}");
    std::fs::remove_dir_all(repo.path().join("stacks/vendored/.git")).unwrap();
    let json = same_answer(&repo, "its .git removed");
    assert!(target(&json, "stacks/vendored").is_some(), "{json}");
}

/// Two directories swapped in one step (`renameat2` with `RENAME_EXCHANGE`, as `mv
/// --exchange` does), twice, with requests between: an edit in either is still seen.
#[test]
fn directories_swapped_in_place_stay_watched() {
    use nix::fcntl::{renameat2, RenameFlags, AT_FDCWD};
    let repo = Repo::with_fixture();
    repo.git(&["checkout", "-q", "-b", "topic"]);
    let _daemon = Daemon::start(&repo);
    let module = repo.path().join("modules/naming");
    let copy = repo.path().join("modules/naming-copy");
    std::fs::create_dir(&copy).unwrap();
    for entry in std::fs::read_dir(&module).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
    }
    same_answer(&repo, "a copy beside the module");
    for round in 0..2 {
        renameat2(
            AT_FDCWD,
            &module,
            AT_FDCWD,
            &copy,
            RenameFlags::RENAME_EXCHANGE,
        )
        .unwrap();
        same_answer(&repo, &format!("swap {round}"));
    }
    repo.append("modules/naming/main.tf", "# after the swaps\n");
    let json = same_answer(&repo, "the module edited after the swaps");
    assert!(target(&json, "stacks/network").is_some(), "{json}");
    repo.append("modules/naming-copy/main.tf", "# the copy too\n");
    same_answer(&repo, "the copy edited");
}

/// A target directory replaced by a link to a copy of it is deleted (a path beyond a
/// symbolic link is not in the work tree); a flag set on a file edited before, and an
/// attributes file that makes git see an edit as none, change git's answer with no event
/// at the edited path: both are seen as in process.
#[test]
fn links_flags_and_attributes_that_change_gits_view_are_seen_as_in_process() {
    let repo = Repo::with_fixture();
    repo.git(&["checkout", "-q", "-b", "topic"]);
    // A clean filter that writes one word in lower case (git's configuration, set before
    // the daemon: a change of it ends the daemon).
    repo.git(&["config", "filter.lower.clean", "sed s/MODULE/module/"]);
    repo.git(&["config", "filter.lower.smudge", "cat"]);
    let _daemon = Daemon::start(&repo);
    std::fs::rename(
        repo.path().join("stacks/app"),
        repo.path().join("stacks/app.real"),
    )
    .unwrap();
    std::os::unix::fs::symlink("app.real", repo.path().join("stacks/app")).unwrap();
    let json = same_answer(&repo, "a stack replaced by a link to its copy");
    assert_eq!(
        reason(&json, "stacks/app").as_deref(),
        Some("deleted"),
        "{json}"
    );
    std::fs::remove_file(repo.path().join("stacks/app")).unwrap();
    std::fs::rename(
        repo.path().join("stacks/app.real"),
        repo.path().join("stacks/app"),
    )
    .unwrap();
    same_answer(&repo, "the stack back");

    repo.append("modules/naming/main.tf", "# edited\n");
    same_answer(&repo, "an edit");
    repo.git(&["update-index", "--skip-worktree", "modules/naming/main.tf"]);
    let json = same_answer(&repo, "the edited file flagged skip-worktree");
    assert!(target(&json, "modules/naming").is_none(), "{json}");
    repo.git(&[
        "update-index",
        "--no-skip-worktree",
        "modules/naming/main.tf",
    ]);
    repo.git(&["checkout", "-q", "--", "modules/naming/main.tf"]);
    same_answer(&repo, "the flag off, the edit undone");

    // An edit of the same size that the filter undoes is none for git once the attribute
    // applies it.
    let file = repo.path().join("stacks/network/main.tf");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("module"), "{text}");
    std::fs::write(&file, text.replacen("module", "MODULE", 1)).unwrap();
    let json = same_answer(&repo, "a word in capitals");
    assert!(target(&json, "stacks/network").is_some(), "{json}");
    repo.write(
        ".git/info/attributes",
        "stacks/network/main.tf filter=lower\n",
    );
    let json = same_answer(&repo, "an attribute that hides it");
    assert!(target(&json, "stacks/network").is_none(), "{json}");
}

/// HEAD moves that write no index (`git reset --soft`) show only in `logs/HEAD`: seen even
/// when the git directory had no `logs` yet when the daemon started (the first commit makes
/// it).
#[test]
fn a_head_move_is_seen_when_the_reflog_came_after_the_daemon() {
    let repo = Repo::with_fixture();
    repo.git(&["checkout", "-q", "-b", "topic"]);
    std::fs::remove_dir_all(repo.path().join(".git/logs")).unwrap();
    let _daemon = Daemon::start(&repo);
    same_answer(&repo, "no reflog yet");
    repo.append("modules/naming/main.tf", "# committed on topic\n");
    repo.commit("one");
    assert!(repo.path().join(".git/logs/HEAD").exists());
    let json = same_answer(&repo, "committed");
    assert!(target(&json, "modules/naming").is_some(), "{json}");
    // The in-process runs above refreshed the index (as `git status` does), which the
    // daemon sees at its next request: taken here, so only the reflog tells of what follows.
    via_daemon(&repo).assert_ok();
    // The commit undone, its change kept staged: still affected.
    repo.git(&["reset", "-q", "--soft", "HEAD~1"]);
    let json = same_answer(&repo, "the commit undone with reset --soft");
    assert!(target(&json, "modules/naming").is_some(), "{json}");
}

/// A branch can move with no event on `HEAD` or `logs/HEAD`: without a reflog
/// (`core.logAllRefUpdates = false`; in a reftable repository likewise), `git reset --soft`
/// writes neither, nor the index. The undone commit's change, kept staged, is still
/// affected.
#[test]
fn a_head_move_without_a_reflog_is_seen() {
    let repo = Repo::with_fixture();
    repo.git(&["config", "core.logAllRefUpdates", "false"]);
    repo.git(&["checkout", "-q", "-b", "topic"]);
    std::fs::remove_dir_all(repo.path().join(".git/logs")).unwrap();
    repo.append(
        "environments/dev/stacks/network/terraform.tfvars",
        "# committed on topic\n",
    );
    repo.commit("one");
    assert!(!repo.path().join(".git/logs/HEAD").exists());
    let _daemon = Daemon::start(&repo);
    let json = same_answer(&repo, "committed");
    assert!(target(&json, "stacks/network").is_some(), "{json}");
    via_daemon(&repo).assert_ok();
    repo.git(&["reset", "-q", "--soft", "HEAD~1"]);
    let json = same_answer(&repo, "the commit undone with reset --soft, no reflog");
    assert!(target(&json, "stacks/network").is_some(), "{json}");
}

/// What git does not count as a change (a mode `core.fileMode = false` ignores, a file
/// marked `assume-unchanged`, bytes only end-of-line conversion makes differ, a sparse
/// checkout's files absent on disk), the daemon does not either; and ignore rules it reads
/// from outside the work tree (`core.excludesFile`) are seen when they change. A change of
/// git's configuration, which may name other such files, ends the daemon once it answered.
#[test]
fn what_git_counts_unchanged_and_ignore_rules_from_elsewhere_are_seen_as_in_process() {
    let repo = Repo::with_fixture();
    repo.git(&["checkout", "-q", "-b", "topic"]);
    repo.git(&["config", "core.fileMode", "false"]);
    let daemon = Daemon::start(&repo);
    let unchanged = |what: &str, change: &dyn Fn()| {
        change();
        let json = same_answer(&repo, what);
        assert_eq!(labels(&json), Vec::<String>::new(), "{what}: {json}");
    };

    unchanged("chmod +x while core.fileMode is false", &|| {
        use std::os::unix::fs::PermissionsExt;
        let path = repo.path().join("stacks/app/main.tf");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    });
    unchanged("assume-unchanged, then edited", &|| {
        repo.git(&[
            "update-index",
            "--assume-unchanged",
            "modules/naming/main.tf",
        ]);
        repo.append("modules/naming/main.tf", "# hidden from git\n");
    });
    // The flag taken off: git sees the edit, and so does the daemon (no entry changed).
    repo.git(&[
        "update-index",
        "--no-assume-unchanged",
        "modules/naming/main.tf",
    ]);
    let json = same_answer(&repo, "the flag taken off");
    assert_eq!(
        reason(&json, "modules/naming").as_deref(),
        Some("changed"),
        "{json}"
    );
    repo.git(&["checkout", "-q", "--", "modules/naming/main.tf"]);

    unchanged("CRLF on disk by .gitattributes, then touched", &|| {
        repo.write(".gitattributes", "*.tf text eol=crlf\n");
        repo.git(&["add", ".gitattributes"]);
        repo.git(&["commit", "-q", "-m", "attributes"]);
        std::fs::remove_file(repo.path().join("stacks/network/main.tf")).unwrap();
        repo.git(&["checkout", "-q", "--", "stacks/network/main.tf"]);
        let text = std::fs::read(repo.path().join("stacks/network/main.tf")).unwrap();
        assert!(
            text.windows(2).any(|w| w == b"\r\n"),
            "checked out with CRLF"
        );
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(2);
        std::fs::File::options()
            .write(true)
            .open(repo.path().join("stacks/network/main.tf"))
            .unwrap()
            .set_modified(later)
            .unwrap();
    });

    // `sparse-checkout set` and `disable` write git's configuration: the daemon answers,
    // then ends.
    let answers_then_ends = |pid: u64, what: &str| {
        let answered = via_daemon(&repo);
        let json = in_process(&repo).json();
        assert_eq!(answered.json(), json, "{what}");
        assert_eq!(labels(&json), Vec::<String>::new(), "{what}: {json}");
        assert!(
            exits_within(pid, std::time::Duration::from_secs(10)),
            "{what}: the daemon ends after git's configuration changed"
        );
    };
    repo.git(&[
        "sparse-checkout",
        "set",
        "stacks",
        "charts",
        "environments",
        "shared",
    ]);
    assert!(!repo.path().join("modules").exists());
    answers_then_ends(daemon.pid, "a sparse checkout leaves modules/ out");
    let daemon = Daemon::start(&repo);
    unchanged("an empty directory where the sparse files were", &|| {
        std::fs::create_dir(repo.path().join("modules")).unwrap();
    });
    std::fs::remove_dir(repo.path().join("modules")).unwrap();
    repo.git(&["sparse-checkout", "disable"]);
    assert!(repo.path().join("modules/naming/main.tf").exists());
    answers_then_ends(daemon.pid, "the sparse checkout ended");

    // Ignore rules from a file outside the work tree, which git's configuration names.
    let excludes = tempfile::NamedTempFile::new().unwrap();
    repo.git(&[
        "config",
        "core.excludesFile",
        excludes.path().to_str().unwrap(),
    ]);
    let _daemon = Daemon::start(&repo);
    repo.write(
        "stacks/network/extra.tf",
        "output \"extra\" { value = 1 }\n",
    );
    let json = same_answer(&repo, "an untracked file");
    assert_eq!(
        reason(&json, "stacks/network").as_deref(),
        Some("changed"),
        "{json}"
    );
    unchanged("core.excludesFile now ignores it", &|| {
        std::fs::write(excludes.path(), "extra.tf\n").unwrap();
    });
}

/// git's user configuration (`$GIT_CONFIG_GLOBAL`, `~/.gitconfig`) may name ignore rules
/// too: when it changes, the daemon's answer is the one git gives now, and the daemon ends
/// so that the next one watches the files it names now.
#[test]
fn a_change_of_the_users_git_configuration_is_seen() {
    let repo = Repo::with_fixture();
    repo.git(&["checkout", "-q", "-b", "topic"]);
    let home = tempfile::tempdir().unwrap();
    let global = home.path().join("gitconfig");
    std::fs::write(&global, "").unwrap();
    let excludes = home.path().join("ignore");
    std::fs::write(&excludes, "extra.tf\n").unwrap();
    let env = [("GIT_CONFIG_GLOBAL", global.to_str().unwrap())];
    let start = strata_env(&repo, &["daemon", "start"], &env);
    start.assert_ok();
    let _daemon = Daemon {
        repo: &repo,
        pid: pid_in(&start.stderr),
    };
    let answers = || {
        let daemon = strata_env(&repo, AFFECTED, &env);
        let direct = strata_env(&repo, AFFECTED, &[env[0], ("STRATA_DAEMON", "0")]);
        assert_eq!((daemon.code, direct.code), (0, 0), "{}", daemon.stderr);
        assert_eq!(
            daemon.json(),
            direct.json(),
            "the daemon (left) and git disagree"
        );
        daemon.json()
    };
    repo.write(
        "stacks/network/extra.tf",
        "output \"extra\" { value = 1 }\n",
    );
    let json = answers();
    assert_eq!(
        reason(&json, "stacks/network").as_deref(),
        Some("changed"),
        "{json}"
    );
    // The user's configuration now names ignore rules that leave the new file out.
    std::fs::write(
        &global,
        format!("[core]\n\texcludesFile = {}\n", excludes.display()),
    )
    .unwrap();
    let json = answers();
    assert_eq!(labels(&json), Vec::<String>::new(), "{json}");
    assert!(
        exits_within(_daemon.pid, std::time::Duration::from_secs(10)),
        "the daemon ends after git's configuration changed"
    );

    // A daemon started where git reads another user configuration than the client's does
    // not answer for the client: it could see other files ignored.
    std::fs::write(&global, "").unwrap();
    let start = strata_env(&repo, &["daemon", "start"], &env);
    start.assert_ok();
    let other = home.path().join("other-gitconfig");
    std::fs::write(
        &other,
        format!("[core]\n\texcludesFile = {}\n", excludes.display()),
    )
    .unwrap();
    let other = [("GIT_CONFIG_GLOBAL", other.to_str().unwrap())];
    // Its status does not depend on git's configuration: asked from there, it answers,
    // and stays.
    let status = strata_env(&repo, &["daemon", "status"], &other);
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert!(status.stderr.contains("serves"), "{}", status.stderr);
    assert!(strata_env(&repo, &["daemon", "status"], &env).code == 0);
    let asked = strata_env(&repo, AFFECTED, &other);
    let direct = strata_env(&repo, AFFECTED, &[other[0], ("STRATA_DAEMON", "0")]);
    assert_eq!((asked.code, direct.code), (0, 0), "{}", asked.stderr);
    assert_eq!(asked.json(), direct.json());
    assert_eq!(labels(&asked.json()), Vec::<String>::new());
    assert!(
        exits_within(pid_in(&start.stderr), std::time::Duration::from_secs(10)),
        "the daemon that could not serve the client ends"
    );
}

/// A file the user's configuration pulls in (`[include] path = …`, the usual
/// `~/.gitconfig-work`), empty when the daemon starts, is watched like the configuration
/// itself: when it comes to name ignore rules, the answer is git's.
#[test]
fn a_change_of_an_included_git_configuration_file_is_seen() {
    let repo = Repo::with_fixture();
    repo.git(&["checkout", "-q", "-b", "topic"]);
    let home = tempfile::tempdir().unwrap();
    let global = home.path().join("gitconfig");
    let work = home.path().join("work.gitconfig");
    std::fs::write(&global, "[include]\n\tpath = work.gitconfig\n").unwrap();
    std::fs::write(&work, "").unwrap();
    let excludes = home.path().join("ignore");
    std::fs::write(&excludes, "extra.tf\n").unwrap();
    let env = [("GIT_CONFIG_GLOBAL", global.to_str().unwrap())];
    let start = strata_env(&repo, &["daemon", "start"], &env);
    start.assert_ok();
    let _daemon = Daemon {
        repo: &repo,
        pid: pid_in(&start.stderr),
    };
    repo.write(
        "stacks/network/extra.tf",
        "output \"extra\" { value = 1 }\n",
    );
    let daemon = strata_env(&repo, AFFECTED, &env);
    assert_eq!(daemon.code, 0, "{}", daemon.stderr);
    assert!(!labels(&daemon.json()).is_empty(), "{}", daemon.stdout);
    std::fs::write(
        &work,
        format!("[core]\n\texcludesFile = {}\n", excludes.display()),
    )
    .unwrap();
    for _ in 0..2 {
        let daemon = strata_env(&repo, AFFECTED, &env);
        let direct = strata_env(&repo, AFFECTED, &[env[0], ("STRATA_DAEMON", "0")]);
        assert_eq!((daemon.code, direct.code), (0, 0), "{}", daemon.stderr);
        assert_eq!(
            daemon.json(),
            direct.json(),
            "the daemon (left) and git disagree"
        );
        assert_eq!(labels(&daemon.json()), Vec::<String>::new());
    }
}

/// git reads `$XDG_CONFIG_HOME/git/config` even when its directory did not exist when the
/// daemon started (a user's first `git config --global` may make it): its creation is a
/// change of git's configuration like any other.
#[test]
fn a_users_git_configuration_made_after_the_daemon_started_is_seen() {
    let repo = Repo::with_fixture();
    repo.git(&["checkout", "-q", "-b", "topic"]);
    let home = tempfile::tempdir().unwrap();
    let xdg = home.path().join("xdg");
    let excludes = home.path().join("ignore");
    std::fs::write(&excludes, "extra.tf\n").unwrap();
    let env = [
        ("HOME", home.path().to_str().unwrap()),
        ("XDG_CONFIG_HOME", xdg.to_str().unwrap()),
    ];
    let start = strata_env(&repo, &["daemon", "start"], &env);
    start.assert_ok();
    let daemon = Daemon {
        repo: &repo,
        pid: pid_in(&start.stderr),
    };
    repo.write(
        "stacks/network/extra.tf",
        "output \"extra\" { value = 1 }\n",
    );
    let first = strata_env(&repo, AFFECTED, &env);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(
        reason(&first.json(), "stacks/network").as_deref(),
        Some("changed")
    );
    std::fs::create_dir_all(xdg.join("git")).unwrap();
    std::fs::write(
        xdg.join("git/config"),
        format!("[core]\n\texcludesFile = {}\n", excludes.display()),
    )
    .unwrap();
    let asked = strata_env(&repo, AFFECTED, &env);
    let direct = strata_env(&repo, AFFECTED, &[env[0], env[1], ("STRATA_DAEMON", "0")]);
    assert_eq!((asked.code, direct.code), (0, 0), "{}", asked.stderr);
    assert_eq!(labels(&direct.json()), Vec::<String>::new());
    assert_eq!(
        asked.json(),
        direct.json(),
        "the daemon (left) and git disagree"
    );
    assert!(
        exits_within(daemon.pid, std::time::Duration::from_secs(10)),
        "the daemon ends after git's configuration appeared"
    );
}

/// The attributes git reads from outside the work tree (`core.attributesFile`, by default
/// `$XDG_CONFIG_HOME/git/attributes`) decide how git sees an edit: one added there is
/// seen, as in process.
#[test]
fn attributes_from_outside_the_work_tree_are_seen_as_in_process() {
    let repo = Repo::with_fixture();
    repo.git(&["checkout", "-q", "-b", "topic"]);
    repo.git(&["config", "filter.lower.clean", "sed s/MODULE/module/"]);
    repo.git(&["config", "filter.lower.smudge", "cat"]);
    let home = tempfile::tempdir().unwrap();
    let xdg = home.path().join("xdg");
    std::fs::create_dir_all(xdg.join("git")).unwrap();
    let env = [
        ("HOME", home.path().to_str().unwrap()),
        ("XDG_CONFIG_HOME", xdg.to_str().unwrap()),
    ];
    let start = strata_env(&repo, &["daemon", "start"], &env);
    start.assert_ok();
    let _daemon = Daemon {
        repo: &repo,
        pid: pid_in(&start.stderr),
    };
    let file = repo.path().join("stacks/network/main.tf");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replacen("module", "MODULE", 1)).unwrap();
    let both = |what: &str| {
        let asked = strata_env(&repo, AFFECTED, &env);
        let direct = strata_env(&repo, AFFECTED, &[env[0], env[1], ("STRATA_DAEMON", "0")]);
        assert_eq!(
            (asked.code, direct.code),
            (0, 0),
            "{what}: {}",
            asked.stderr
        );
        assert_eq!(
            asked.json(),
            direct.json(),
            "{what}: daemon (left), git (right)"
        );
        labels(&direct.json())
    };
    assert!(both("a word in capitals").contains(&"stacks/network".to_string()));
    std::fs::write(
        xdg.join("git/attributes"),
        "stacks/network/main.tf filter=lower\n",
    )
    .unwrap();
    assert_eq!(both("the user's attributes"), Vec::<String>::new());
}

/// WORKSPACE.toml as a link: an edit of the file it leads to is a new configuration, which
/// no event on WORKSPACE.toml says. The daemon answered from the old one.
#[test]
fn an_edit_of_the_file_a_linked_workspace_toml_leads_to_is_seen() {
    let repo = Repo::with_fixture();
    let text = std::fs::read_to_string(repo.path().join("WORKSPACE.toml")).unwrap();
    repo.write("conf/workspace.toml", &text);
    std::fs::remove_file(repo.path().join("WORKSPACE.toml")).unwrap();
    std::os::unix::fs::symlink("conf/workspace.toml", repo.path().join("WORKSPACE.toml")).unwrap();
    repo.commit("WORKSPACE.toml a link");
    repo.git(&["checkout", "-q", "-b", "topic"]);
    let _daemon = Daemon::start(&repo);
    same_answer(&repo, "nothing changed");
    repo.write("conf/workspace.toml", &text.replace("1.0.3", "1.5.0"));
    let json = same_answer(&repo, "the pin bumped in the linked file");
    assert_eq!(
        reason(&json, "stacks/app").as_deref(),
        Some("global"),
        "{json}"
    );
}
