//! Shared state through a real PostgreSQL server (terraform's `pg` backend): two checkouts
//! (two CI runners) share an environment's state, plans are reused only while the state is
//! unchanged, concurrent applies wait for the lock or fail naming it, and a server that dies
//! during an apply loses nothing. The password never reaches a file strata writes.
#![allow(clippy::disallowed_methods)] // tests drive git, the real strata binary and tools

mod common;
#[path = "support/postgres.rs"]
mod postgres;

use common::{files_containing, network_stack, task, tools_repo, wait_for, Repo, Run};
use postgres::Postgres;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// `stacks/network` (output `vpc_id`, from variable `v`; `v = "slow"` makes its apply touch
/// `$STRATA_TEST_MARKER` and then take 8 s) and `stacks/app`, which consumes `vpc_id`.
/// State in pg; the connection string comes from STRATA_TEST_PG.
fn workspace(extra_env_toml: &str, shared_cache: Option<&Path>) -> Repo {
    let repo = tools_repo();
    if let Some(cache) = shared_cache {
        repo.append(
            "WORKSPACE.toml",
            &format!("\n[cache]\ndir = {:?}\n", cache.display().to_string()),
        );
    }
    repo.write(
        "environments/dev/env.toml",
        &format!(
            "[state]\nbackend = \"pg\"\n{extra_env_toml}\n[state.config]\nconn_str_env = \"STRATA_TEST_PG\"\n"
        ),
    );
    network_stack(&repo, "1");
    common::app_stack(&repo);
    repo.commit("pg workspace");
    repo
}

/// `strata --json ARGS` in `repo` with the server's URL (and `extra` environment).
fn run(
    repo: &Repo,
    pg: &Postgres,
    args: &[&str],
    extra: &[(&str, &str)],
) -> (Run, serde_json::Value) {
    let mut full = vec!["--json"];
    full.extend_from_slice(args);
    let mut cmd = repo.command(&full);
    cmd.env("STRATA_TEST_PG", pg.url());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let run: Run = cmd.output().unwrap().into();
    let json = serde_json::from_str(&run.stdout).unwrap_or(serde_json::Value::Null);
    (run, json)
}

/// Every file below `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn spawn(repo: &Repo, pg: &Postgres, args: &[&str], extra: &[(&str, &str)]) -> Child {
    let mut full = vec!["--json"];
    full.extend_from_slice(args);
    let mut cmd = repo.command(&full);
    cmd.env("STRATA_TEST_PG", pg.url())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

fn finish(child: Child) -> (Run, serde_json::Value) {
    let run: Run = child.wait_with_output().unwrap().into();
    let json = serde_json::from_str(&run.stdout).unwrap_or(serde_json::Value::Null);
    (run, json)
}

/// The schema strata gives a stack's state in pg (`strata_<env>_<label id>`).
fn schema(pg: &Postgres, label_prefix: &str) -> String {
    let name = pg.sql(&format!(
        "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'strata_dev_{label_prefix}_%'"
    ));
    assert!(
        !name.is_empty() && !name.contains('\n'),
        "schemas: {name:?}"
    );
    name
}

/// The state of a stack as pg holds it.
fn pg_state(pg: &Postgres, label_prefix: &str) -> serde_json::Value {
    let data = pg.sql(&format!(
        "SELECT data FROM {}.states WHERE name = 'default'",
        schema(pg, label_prefix)
    ));
    serde_json::from_str(&data).unwrap_or_else(|e| panic!("state does not parse ({e}): {data}"))
}

/// No file strata wrote (checkout's .strata, local state directory) holds the password.
fn assert_password_nowhere(repo: &Repo, outputs: &[&Run]) {
    for dir in [repo.path().join(".strata"), repo.state_dir().to_path_buf()] {
        let found = files_containing(&dir, postgres::PASSWORD.as_bytes(), &[]);
        assert!(found.is_empty(), "the password is in {found:?}");
    }
    for run in outputs {
        assert!(!run.stdout.contains(postgres::PASSWORD), "{}", run.stdout);
        assert!(!run.stderr.contains(postgres::PASSWORD), "{}", run.stderr);
    }
}

#[test]
fn two_runners_share_an_environment_through_pg() {
    let pg = Postgres::start();
    let a = workspace("", None);
    let b = workspace("", None);

    // Runner A applies the upstream stack.
    let (ra, ja) = run(
        &a,
        &pg,
        &["apply", "--auto-approve", "--env", "dev", "stacks/network"],
        &[],
    );
    assert_eq!(ra.code, 0, "{}\n{}", ra.stderr, ra.stdout);
    assert_eq!(task(&ja, "stacks/network", "apply")["status"], "ok");

    // Runner B, with no local state at all, plans the downstream stack from A's outputs.
    let (rb, jb) = run(&b, &pg, &["plan", "--env", "dev", "stacks/app"], &[]);
    assert_eq!(rb.code, 0, "{}\n{}", rb.stderr, rb.stdout);
    let plan = task(&jb, "stacks/app", "plan");
    assert_eq!(plan["status"], "ok", "{plan}");
    assert_eq!(plan["provisional"], false);

    // B applies it: the value it consumed is A's output, read from pg.
    let (rb2, _) = run(
        &b,
        &pg,
        &["apply", "--auto-approve", "--env", "dev", "stacks/app"],
        &[],
    );
    assert_eq!(rb2.code, 0, "{}\n{}", rb2.stderr, rb2.stdout);
    let app = pg_state(&pg, "stacks_app");
    assert_eq!(app["outputs"]["seen"]["value"], "vpc-1");

    // Neither runner keeps state in its checkout or its local state directory (terraform's
    // working directories hold only the backend's settings).
    for repo in [&a, &b] {
        let local = common::local_state_files(repo);
        assert!(local.is_empty(), "local state files: {local:?}");
    }
    assert_password_nowhere(&a, &[&ra]);
    assert_password_nowhere(&b, &[&rb, &rb2]);
}

#[test]
fn a_cached_plan_is_reused_by_another_runner_only_while_the_state_is_unchanged() {
    let pg = Postgres::start();
    let cache = tempfile::tempdir().unwrap();
    let a = workspace("", Some(cache.path()));
    let b = workspace("", Some(cache.path()));
    let (ra, _) = run(
        &a,
        &pg,
        &["apply", "--auto-approve", "--env", "dev", "stacks/network"],
        &[],
    );
    assert_eq!(ra.code, 0, "{}\n{}", ra.stderr, ra.stdout);

    // The apply's verification planned this state already (and cached that plan).
    let (pa, ja) = run(&a, &pg, &["plan", "--env", "dev", "stacks/network"], &[]);
    assert_eq!(pa.code, 0, "{}", pa.stderr);
    assert_eq!(task(&ja, "stacks/network", "plan")["cached"], true);
    // B (same commit, same state) gets A's plan from the shared cache.
    let (pb, jb) = run(&b, &pg, &["plan", "--env", "dev", "stacks/network"], &[]);
    assert_eq!(pb.code, 0, "{}", pb.stderr);
    let reused = task(&jb, "stacks/network", "plan");
    assert_eq!(reused["cached"], true, "{reused}");
    assert_eq!(reused["key"], task(&ja, "stacks/network", "plan")["key"]);

    // A applies again with another value: the state changes under B's feet.
    let (ra2, _) = run(
        &a,
        &pg,
        &["apply", "--auto-approve", "--env", "dev", "stacks/network"],
        &[("TF_VAR_v", "2")],
    );
    assert_eq!(ra2.code, 0, "{}\n{}", ra2.stderr, ra2.stdout);
    let (pb2, jb2) = run(&b, &pg, &["plan", "--env", "dev", "stacks/network"], &[]);
    assert_eq!(pb2.code, 0, "{}", pb2.stderr);
    let replanned = task(&jb2, "stacks/network", "plan");
    assert_eq!(replanned["cached"], false, "{replanned}");
    assert_ne!(replanned["key"], reused["key"]);
    // ... and the new plan is against A's state: the resource goes back to v = 1.
    let summary = &replanned["summary"];
    assert_eq!(summary["add"], 1, "{replanned}");
    assert_eq!(summary["destroy"], 1, "{replanned}");
}

#[test]
fn concurrent_applies_wait_for_the_lock_or_fail_and_the_state_stays_whole() {
    let pg = Postgres::start();
    let marker_dir = tempfile::tempdir().unwrap();
    let marker = marker_dir.path().join("applying");
    let marker_env = marker.display().to_string();
    let a = workspace("", None);
    let impatient = workspace("lock_timeout = \"1s\"", None);
    let patient = workspace("lock_timeout = \"90s\"", None);
    let (first, _) = run(
        &a,
        &pg,
        &["apply", "--auto-approve", "--env", "dev", "stacks/network"],
        &[],
    );
    assert_eq!(first.code, 0, "{}\n{}", first.stderr, first.stdout);
    let serial_before = pg_state(&pg, "stacks_network")["serial"].as_u64().unwrap();

    // A's apply holds the lock for 14 s.
    let slow = spawn(
        &a,
        &pg,
        &["apply", "--auto-approve", "--env", "dev", "stacks/network"],
        &[
            ("TF_VAR_v", "slow"),
            ("STRATA_TEST_MARKER", &marker_env),
            ("STRATA_TEST_HOLD", "14"),
        ],
    );
    wait_for("A's apply to start", Duration::from_secs(60), || {
        marker.exists()
    });
    // A's apply sleeps 14 s after touching the marker: its lock is held until then.
    let held_until = Instant::now() + Duration::from_millis(13_500);

    // One that waits 1 s gives up, says why and who holds the lock: A's session, which
    // strata asks PostgreSQL about (psql is on PATH here).
    let (gave_up, j) = run(
        &impatient,
        &pg,
        &["apply", "--auto-approve", "--env", "dev", "stacks/network"],
        &[("TF_VAR_v", "other")],
    );
    assert_eq!(gave_up.code, 1, "{}\n{}", gave_up.stderr, gave_up.stdout);
    let plan = task(&j, "stacks/network", "plan");
    let reason = plan["reason"].as_str().unwrap();
    assert!(
        reason.contains("is locked by strata apply stacks/network [dev] "),
        "{reason}"
    );
    assert!(reason.contains("(PostgreSQL pid "), "{reason}");
    assert!(reason.contains("waited 1s"), "{reason}");
    assert_eq!(task(&j, "stacks/network", "apply")["status"], "skipped");

    // One that may wait 90 s waits, then plans against A's new state and applies.
    let waiter_spawned = Instant::now();
    let waiter = spawn(
        &patient,
        &pg,
        &["apply", "--auto-approve", "--env", "dev", "stacks/network"],
        &[("TF_VAR_v", "3")],
    );
    // While A holds the lock, pg names its session as strata's.
    let holder = pg.sql(
        "SELECT application_name FROM pg_stat_activity JOIN pg_locks USING (pid) WHERE locktype = 'advisory'",
    );
    assert!(
        holder.contains("strata apply stacks/network [dev]"),
        "lock holders: {holder:?}"
    );
    let (ra, _) = finish(slow);
    assert_eq!(ra.code, 0, "{}\n{}", ra.stderr, ra.stdout);
    let (rw, jw) = finish(waiter);
    assert_eq!(rw.code, 0, "{}\n{}", rw.stderr, rw.stdout);
    assert_eq!(task(&jw, "stacks/network", "apply")["status"], "ok");
    // It waited, rather than failing and being run again: its plan began at most 2 s (the
    // graph) after its init ended, and could not end before A let go of the lock.
    let ms = |name: &str| {
        Duration::from_millis(
            task(&jw, "stacks/network", name)["duration_ms"]
                .as_u64()
                .unwrap(),
        )
    };
    let plan_began_by = waiter_spawned + Duration::from_secs(2) + ms("init");
    let must_have_waited = held_until.saturating_duration_since(plan_began_by);
    assert!(
        must_have_waited >= Duration::from_secs(1),
        "the test gave the waiter too little of A's lock to wait for: {must_have_waited:?}"
    );
    assert!(
        ms("plan") >= must_have_waited,
        "the waiting plan took {:?}, but A held the lock for {must_have_waited:?} more",
        ms("plan")
    );

    // The state is whole: it parses, holds the last apply's value, and its serial moved
    // once per apply that changed it.
    let state = pg_state(&pg, "stacks_network");
    assert_eq!(state["outputs"]["vpc_id"]["value"], "vpc-3");
    assert_eq!(
        state["serial"].as_u64().unwrap(),
        serial_before + 2,
        "{state}"
    );
    for repo in [&a, &impatient, &patient] {
        assert_password_nowhere(repo, &[]);
    }
}

/// Two runners apply the same change at once. The second waits for the first's lock on
/// `stacks/network`, then finds nothing to apply there; the stack below it must then be
/// planned with the outputs the first runner's apply wrote, not with those read before the
/// wait (which rolled `stacks/app` back to the old `vpc_id`).
#[test]
fn a_runner_that_waited_for_the_lock_plans_downstream_with_the_new_outputs() {
    let pg = Postgres::start();
    let marker_dir = tempfile::tempdir().unwrap();
    let marker = marker_dir.path().join("applying");
    let marker_env = marker.display().to_string();
    let a = workspace("", None);
    let b = workspace("lock_timeout = \"90s\"", None);
    let (first, _) = run(&a, &pg, &["apply", "--auto-approve", "--env", "dev"], &[]);
    assert_eq!(first.code, 0, "{}\n{}", first.stderr, first.stdout);
    assert_eq!(
        pg_state(&pg, "stacks_app")["outputs"]["seen"]["value"],
        "vpc-1"
    );

    let slow_env = [
        ("TF_VAR_v", "slow"),
        ("STRATA_TEST_MARKER", marker_env.as_str()),
        ("STRATA_TEST_HOLD", "10"),
    ];
    let slow = spawn(
        &a,
        &pg,
        &["apply", "--auto-approve", "--env", "dev"],
        &slow_env,
    );
    wait_for("A's apply to start", Duration::from_secs(60), || {
        marker.exists()
    });
    // B reads the states (vpc-1) now, while A holds stacks/network's lock.
    let (rb, jb) = run(
        &b,
        &pg,
        &["apply", "--auto-approve", "--env", "dev"],
        &slow_env,
    );
    let (ra, _) = finish(slow);
    assert_eq!(ra.code, 0, "{}\n{}", ra.stderr, ra.stdout);
    assert_eq!(
        task(&jb, "stacks/network", "plan")["summary"]["add"],
        0,
        "{}\n{}",
        rb.stderr,
        rb.stdout
    );
    let network = pg_state(&pg, "stacks_network");
    assert_eq!(network["outputs"]["vpc_id"]["value"], "vpc-slow");
    let app = pg_state(&pg, "stacks_app");
    assert_eq!(
        app["outputs"]["seen"]["value"], "vpc-slow",
        "stacks/app was applied with stale upstream outputs\nB: {}\n{}",
        rb.stderr, rb.stdout
    );
}

/// Stacks never applied before are planned and applied side by side. terraform's pg backend
/// locks a state that does not exist yet with its creation lock, one for the whole
/// database, through the whole first plan or apply, and every other state's lock fails
/// meanwhile; strata creates such states, empty, before their first plan. When another
/// session holds the creation lock, the failure names it.
#[test]
fn new_stacks_are_applied_side_by_side_and_a_held_creation_lock_is_named() {
    let pg = Postgres::start();
    let names = ["a", "b", "c", "d"];
    let checkout = || {
        let repo = tools_repo();
        // dev: no waiting for any lock; qa: runners wait for each other's plans.
        for (env, wait) in [("dev", "0s"), ("qa", "60s")] {
            repo.write(
                &format!("environments/{env}/env.toml"),
                &format!("[state]\nbackend = \"pg\"\nlock_timeout = \"{wait}\"\n\n[state.config]\nconn_str_env = \"STRATA_TEST_PG\"\n"),
            );
        }
        for name in names {
            repo.write(
                &format!("stacks/{name}/main.tf"),
                &format!(
                    "{}\nresource \"null_resource\" \"r\" {{\n  provisioner \"local-exec\" {{\n    command = \"sleep 2\"\n  }}\n}}\n\noutput \"name\" {{\n  value = \"{name}\"\n}}\n",
                    common::NULL_PROVIDER
                ),
            );
        }
        repo.commit("four stacks never applied");
        repo
    };
    let (repo, other) = (checkout(), checkout());

    // Four at a time, none waiting for a lock (lock_timeout 0s): none may fail on one.
    let (r, j) = run(
        &repo,
        &pg,
        &["apply", "--auto-approve", "--env", "dev", "-j", "4"],
        &[],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stderr, r.stdout);
    for name in names {
        let label = format!("stacks/{name}");
        assert_eq!(task(&j, &label, "apply")["status"], "ok", "{label}");
        let state = pg_state(&pg, &format!("stacks_{name}"));
        assert_eq!(state["outputs"]["name"]["value"], name, "{state}");
        // Created empty (serial 0), then applied once.
        assert_eq!(state["serial"], 1, "{state}");
    }

    // Two runners plan them in qa at the same moment: both try to create each state; the
    // one that comes second keeps the first one's.
    let plans = [&repo, &other].map(|r| spawn(r, &pg, &["plan", "--env", "qa", "-j", "4"], &[]));
    for child in plans {
        let (r, _) = finish(child);
        assert_eq!(r.code, 0, "{}\n{}", r.stderr, r.stdout);
    }
    for name in names {
        let schema = pg.sql(&format!(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'strata_qa_stacks_{name}_%'"
        ));
        let rows = pg.sql(&format!("SELECT count(*), max(data) FROM {schema}.states"));
        let (count, data) = rows.split_once('|').unwrap();
        assert_eq!(count, "1", "{schema}: {rows}");
        let state: serde_json::Value = serde_json::from_str(data).unwrap();
        // Empty, once: the second runner's push of an empty state may replace the first
        // one's (terraform allows that while a state is empty), which moves the serial to 1.
        assert!(state["serial"].as_u64().unwrap() <= 1, "{state}");
        assert_eq!(state["resources"], serde_json::json!([]), "{state}");
    }

    // Whether a session holds the creation lock (advisory key -1).
    let creation_lock_held = || {
        pg.sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = 4294967295 AND objid = 4294967295") == "1"
    };

    // Another session holds the creation lock for a moment (as another run does while it
    // locks or creates a state): a plan that may not wait for a state's lock (dev: 0 s)
    // tries again and goes ahead. Before, a plan failed at once on it (other commands
    // tried again already).
    let brief = pg.session(
        "another tool",
        "SELECT pg_advisory_lock(-1); SELECT pg_sleep(3)",
    );
    wait_for(
        "the creation lock",
        Duration::from_secs(30),
        creation_lock_held,
    );
    repo.append("stacks/b/main.tf", "output \"more\" {\n  value = 1\n}\n");
    let (waited, jw) = run(&repo, &pg, &["plan", "--env", "dev", "stacks/b"], &[]);
    let _ = brief.wait_with_output();
    assert_eq!(waited.code, 0, "{}\n{}", waited.stderr, waited.stdout);
    assert_eq!(task(&jw, "stacks/b", "plan")["status"], "ok");

    // Another session holds the creation lock for long: a plan tries again for a while
    // (10 s), then fails and names it.
    let mut holder = pg.session(
        "another tool",
        "SELECT pg_advisory_lock(-1); SELECT pg_sleep(120)",
    );
    wait_for(
        "the creation lock",
        Duration::from_secs(30),
        creation_lock_held,
    );
    repo.append("stacks/a/main.tf", "output \"more\" {\n  value = 1\n}\n");
    let (failed, jf) = run(&repo, &pg, &["plan", "--env", "dev", "stacks/a"], &[]);
    let _ = holder.kill();
    let _ = holder.wait();
    assert_eq!(failed.code, 1, "{}\n{}", failed.stderr, failed.stdout);
    let reason = task(&jf, "stacks/a", "plan")["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        reason.contains("is locked by another tool (PostgreSQL pid "),
        "{reason}"
    );
    assert!(reason.contains("holds the creation lock"), "{reason}");
    assert_password_nowhere(&repo, &[&r, &failed]);
}

#[test]
fn a_server_that_dies_during_an_apply_loses_nothing() {
    let mut pg = Postgres::start();
    let marker_dir = tempfile::tempdir().unwrap();
    let marker = marker_dir.path().join("applying");
    let marker_env = marker.display().to_string();
    let a = workspace("lock_timeout = \"1s\"", None);
    let (first, _) = run(
        &a,
        &pg,
        &["apply", "--auto-approve", "--env", "dev", "stacks/network"],
        &[],
    );
    assert_eq!(first.code, 0, "{}\n{}", first.stderr, first.stdout);
    let before = pg_state(&pg, "stacks_network");

    let slow = spawn(
        &a,
        &pg,
        &["apply", "--auto-approve", "--env", "dev", "stacks/network"],
        &[("TF_VAR_v", "slow"), ("STRATA_TEST_MARKER", &marker_env)],
    );
    wait_for("the apply to start", Duration::from_secs(60), || {
        marker.exists()
    });
    pg.stop();
    let (died, j) = finish(slow);
    assert_eq!(died.code, 1, "{}\n{}", died.stderr, died.stdout);
    let apply = task(&j, "stacks/network", "apply");
    assert_eq!(apply["status"], "failed");
    let reason = apply["reason"].as_str().unwrap();
    assert!(reason.contains("could not save the state"), "{reason}");
    assert!(
        reason.contains("strata state push stacks/network --env dev"),
        "{reason}"
    );
    // Where strata kept it: owner-only, outside the checkout.
    let kept = reason
        .split_whitespace()
        .find(|w| w.ends_with(".tfstate") && w.starts_with('/'))
        .unwrap_or_else(|| panic!("no path in {reason}"));
    let kept = Path::new(kept);
    assert!(kept.starts_with(a.state_dir()), "{}", kept.display());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(kept).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }
    let kept_state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(kept).unwrap()).unwrap();
    assert_eq!(kept_state["outputs"]["vpc_id"]["value"], "vpc-slow");

    // While it waits to be pushed, nothing plans there (a plan would fork the state).
    pg.restart();
    let (refused, jr) = run(&a, &pg, &["plan", "--env", "dev", "stacks/network"], &[]);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    let reason = task(&jr, "stacks/network", "plan")["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(reason.contains("could not save the state"), "{reason}");
    // pg still holds the state from before the apply, intact.
    assert_eq!(pg_state(&pg, "stacks_network"), before);

    // Pushing it saves it and clears the way.
    let mut push = a.command(&[
        "state",
        "push",
        "stacks/network",
        "--env",
        "dev",
        &kept.display().to_string(),
    ]);
    let pushed: Run = push
        .env("STRATA_TEST_PG", pg.url())
        .output()
        .unwrap()
        .into();
    assert_eq!(pushed.code, 0, "{}\n{}", pushed.stderr, pushed.stdout);
    assert!(!kept.exists());
    assert_eq!(
        pg_state(&pg, "stacks_network")["outputs"]["vpc_id"]["value"],
        "vpc-slow"
    );
    let (after, ja) = run(
        &a,
        &pg,
        &["plan", "--env", "dev", "stacks/network"],
        &[("TF_VAR_v", "slow")],
    );
    assert_eq!(after.code, 0, "{}\n{}", after.stderr, after.stdout);
    let plan = task(&ja, "stacks/network", "plan");
    assert_eq!(plan["summary"]["add"], 0, "{plan}");
    assert_eq!(plan["summary"]["destroy"], 0, "{plan}");

    // An errored.tfstate cut short (a full disk) is no state to push: kept aside for
    // inspection, it does not stop every later plan.
    let sandbox = a
        .path()
        .join(".strata/work/dev/stacks%2Fnetwork/src/stacks/network");
    assert!(sandbox.is_dir(), "{}", sandbox.display());
    std::fs::write(sandbox.join("errored.tfstate"), "{\n  \"version\": 4,\n").unwrap();
    let (damaged, jd) = run(
        &a,
        &pg,
        &["plan", "--env", "dev", "stacks/network"],
        &[("TF_VAR_v", "slow")],
    );
    assert_eq!(damaged.code, 0, "{}\n{}", damaged.stderr, damaged.stdout);
    assert_eq!(task(&jd, "stacks/network", "plan")["status"], "ok");
    assert!(!sandbox.join("errored.tfstate").exists());
    let aside: Vec<_> = walk(a.state_dir())
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".tfstate.damaged"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");

    // A plan against a stopped server fails, says so, and caches nothing.
    pg.stop();
    let (down, jd) = run(&a, &pg, &["plan", "--env", "dev", "stacks/network"], &[]);
    assert_eq!(down.code, 1, "{}", down.stdout);
    let reason = task(&jd, "stacks/network", "plan")["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(reason.contains("cannot read the pg state"), "{reason}");
    assert_password_nowhere(&a, &[&died, &refused, &after, &down]);
}

#[test]
fn pg_settings_that_cannot_work_are_refused_before_anything_runs() {
    let pg = Postgres::start();
    let a = workspace("", None);
    // The variable holding the connection string is not set.
    let out: Run = a
        .command(&["plan", "--env", "dev"])
        .env_remove("STRATA_TEST_PG")
        .output()
        .unwrap()
        .into();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("STRATA_TEST_PG, which is not set")
            && out.stderr.contains("--> environments/dev/env.toml:5"),
        "{}",
        out.stderr
    );
    // Every stack would share one state.
    a.write(
        "environments/dev/env.toml",
        "[state]\nbackend = \"pg\"\n[state.config]\nconn_str_env = \"STRATA_TEST_PG\"\nschema_name = \"everything\"\n",
    );
    a.commit("one schema");
    let (shared, _) = run(&a, &pg, &["plan", "--env", "dev"], &[]);
    assert_eq!(shared.code, 2, "{}", shared.stderr);
    assert!(
        shared.stderr.contains("would share one pg state"),
        "{}",
        shared.stderr
    );
    // ... unless one stack is given its own.
    a.write(
        "environments/dev/env.toml",
        "[state]\nbackend = \"pg\"\n[state.config]\nconn_str_env = \"STRATA_TEST_PG\"\nschema_name = \"tf_{env}_{label_id}\"\n[state.stacks.\"stacks/network\"]\nschema_name = \"legacy_network\"\n",
    );
    a.commit("legacy schema");
    let (ok, _) = run(
        &a,
        &pg,
        &["apply", "--auto-approve", "--env", "dev", "stacks/network"],
        &[],
    );
    assert_eq!(ok.code, 0, "{}\n{}", ok.stderr, ok.stdout);
    assert!(pg
        .sql("SELECT nspname FROM pg_namespace")
        .lines()
        .any(|n| n == "legacy_network"));
    // A typo in the backend type names the line and the likely fix.
    a.write("environments/dev/env.toml", "[state]\nbackend = \"pgg\"\n");
    a.commit("typo");
    let (typo, _) = run(&a, &pg, &["plan", "--env", "dev"], &[]);
    assert_eq!(typo.code, 2);
    assert!(
        typo.stderr.contains("environments/dev/env.toml:2"),
        "{}",
        typo.stderr
    );
    assert!(
        typo.stderr.contains("did you mean `pg`?"),
        "{}",
        typo.stderr
    );
}

/// A change that only deletes a stack whose state is in pg: reading that state takes
/// terraform though no task of the run does, so the destroy plan is shown and made.
#[test]
fn a_change_that_only_deletes_a_stack_reads_its_pg_state() {
    let pg = Postgres::start();
    let repo = workspace("", None);
    repo.write(
        "stacks/solo/main.tf",
        &format!(
            "{}\nresource \"null_resource\" \"s\" {{}}\n",
            common::NULL_PROVIDER
        ),
    );
    repo.commit("solo");
    let (applied, _) = run(
        &repo,
        &pg,
        &["apply", "--auto-approve", "--env", "dev", "stacks/solo"],
        &[],
    );
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    repo.commit("dev's lock");
    repo.git(&["rm", "-rq", "stacks/solo"]);
    repo.commit("solo retired");
    let since = |verb: &str, extra: &[&str]| -> Run {
        let mut args = vec![verb, "--affected", "--base", "HEAD~1", "--env", "dev"];
        args.extend_from_slice(extra);
        let mut cmd = repo.command(&args);
        cmd.env("STRATA_TEST_PG", pg.url());
        cmd.output().unwrap().into()
    };
    let plan = since("plan", &[]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout
            .contains("stacks/solo [dev]: +0 ~0 -1 (destroy)\n  - null_resource.s"),
        "{}\n{}",
        plan.stdout,
        plan.stderr
    );
    let apply = since("apply", &["--auto-approve", "--allow-destroy"]);
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    assert_eq!(
        pg_state(&pg, "stacks_solo")["resources"],
        serde_json::json!([])
    );
}

/// libpq takes the password from a URI's `password` parameter too, and from a keyword
/// written with spaces around `=`: in either form it reaches terraform in `PGPASSWORD`,
/// never a file strata writes.
#[test]
fn a_password_in_any_form_libpq_reads_stays_out_of_strata_files() {
    let pg = Postgres::start();
    for conn in [
        format!(
            "postgres://127.0.0.1:{}/tfstate?sslmode=disable&user={}&password={}",
            pg.port(),
            postgres::USER,
            postgres::PASSWORD
        ),
        format!(
            "host=127.0.0.1 port={} dbname=tfstate sslmode=disable user={} password = '{}'",
            pg.port(),
            postgres::USER,
            postgres::PASSWORD
        ),
    ] {
        let repo = workspace("", None);
        let (plan, _) = run(
            &repo,
            &pg,
            &["plan", "--env", "dev", "stacks/network"],
            &[("STRATA_TEST_PG", &conn)],
        );
        assert_eq!(plan.code, 0, "{conn}: {}\n{}", plan.stderr, plan.stdout);
        assert_password_nowhere(&repo, &[&plan]);
    }
}
