//! Promotion plans from a small workspace in a temporary git repository and release locks
//! built in memory: waves, gates, destroys, determinism and train errors. No terraform,
//! helm or network.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use strata_graph::error::Error;
use strata_graph::model::Model;
use strata_graph::session::Session;
use strata_release::approvals;
use strata_release::clock::format_utc;
use strata_release::env_files::TargetFiles;
use strata_release::lock::{LockEntry, ReleaseLock, LOCK_VERSION, NONE, PASSED};
use strata_release::plan::{self, Locks, PromotionPlan, Request, Rollback, StepAction};
use tempfile::TempDir;

/// 2026-12-03T14:20:29Z: when every entry was applied unless a test says otherwise.
const T0: i64 = 1_796_307_629;
const HOUR: i64 = 3600;

const NETWORK: &str = "stacks/network";
const CLUSTER: &str = "stacks/cluster";
const DATABASE: &str = "stacks/database";
const OBSERVABILITY: &str = "stacks/observability";
const DNS: &str = "stacks/dns";

/// The chain network -> cluster, database -> observability, and an unrelated dns.
const STACKS: &[(&str, &str)] = &[
    ("network", ""),
    ("cluster", "deps = [\"stacks/network\"]\n"),
    ("database", "deps = [\"stacks/network\"]\n"),
    (
        "observability",
        "deps = [\"stacks/cluster\", \"stacks/database\"]\n",
    ),
    ("dns", ""),
];

#[allow(clippy::disallowed_methods)] // the test sets up its repository with git
fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.email=t@example.com", "-c", "user.name=t"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A committed workspace: `stacks` as (name, stack.toml or "" for none), `envs` as (name,
/// env.toml).
fn workspace(stacks: &[(&str, &str)], envs: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["init", "-q"]);
    write(root, "WORKSPACE.toml", "[workspace]\nname = \"t\"\n");
    for (name, manifest) in stacks {
        write(
            root,
            &format!("stacks/{name}/main.tf"),
            "output \"x\" { value = 1 }\n",
        );
        if !manifest.is_empty() {
            write(root, &format!("stacks/{name}/stack.toml"), manifest);
        }
    }
    for (name, text) in envs {
        write(root, &format!("environments/{name}/env.toml"), text);
    }
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "workspace"]);
    dir
}

/// dev -> staging -> prod, with `staging_gates` as staging's `[gates]` body.
fn train(staging_gates: &str) -> Vec<(&'static str, String)> {
    vec![
        ("dev", String::new()),
        (
            "staging",
            format!("promotes_from = \"dev\"\n[gates]\n{staging_gates}"),
        ),
        ("prod", "promotes_from = \"staging\"\n".into()),
    ]
}

fn try_model(stacks: &[(&str, &str)], envs: &[(&str, String)]) -> (TempDir, Result<Model, Error>) {
    let envs: Vec<(&str, &str)> = envs.iter().map(|(n, t)| (*n, t.as_str())).collect();
    let dir = workspace(stacks, &envs);
    let model = Session::open(dir.path(), false)
        .and_then(|s| s.work_tree())
        .map(|v| v.model);
    (dir, model)
}

fn model_with(stacks: &[(&str, &str)], staging_gates: &str) -> Model {
    try_model(stacks, &train(staging_gates)).1.unwrap()
}

fn model(staging_gates: &str) -> Model {
    model_with(STACKS, staging_gates)
}

/// An entry at hash `h` (a hex digit, repeated), applied at `T0` with plan and policy
/// passed and no tests.
fn entry(h: char, deps: &[&str]) -> LockEntry {
    LockEntry {
        policies: None,
        kind: "stack".into(),
        hash: h.to_string().repeat(64),
        commit: h.to_string().repeat(40),
        applied_at: format_utc(T0),
        applied_by: "dev@example.com".into(),
        promoted_from: None,
        deps: deps.iter().map(|d| d.to_string()).collect(),
        checks: [("plan", PASSED), ("policy", PASSED), ("test", NONE)]
            .into_iter()
            .map(|(a, r)| (a.to_string(), r.to_string()))
            .collect(),
        max_severity: None,
        rendered: None,
        env_commit: None,
    }
}

fn lock(entries: Vec<(&str, LockEntry)>) -> ReleaseLock {
    ReleaseLock {
        version: LOCK_VERSION,
        targets: entries
            .into_iter()
            .map(|(l, e)| (l.to_string(), e))
            .collect::<BTreeMap<_, _>>(),
    }
}

/// The standard five stacks at hash `h`, with their dependencies.
fn all(h: char) -> Vec<(&'static str, LockEntry)> {
    vec![
        (NETWORK, entry(h, &[])),
        (CLUSTER, entry(h, &[NETWORK])),
        (DATABASE, entry(h, &[NETWORK])),
        (OBSERVABILITY, entry(h, &[CLUSTER, DATABASE])),
        (DNS, entry(h, &[])),
    ]
}

fn locks(source: Vec<(&str, LockEntry)>, destination: Vec<(&str, LockEntry)>) -> Locks {
    Locks {
        source: lock(source),
        destination: lock(destination),
    }
}

/// No entry the audit trail does not vouch for.
static VOUCHED: BTreeMap<String, String> = BTreeMap::new();

/// Nothing the source's audit trail recorded as destroyed.
static NONE_DESTROYED: BTreeSet<String> = BTreeSet::new();

/// No policy judges any target today.
static NO_POLICIES: BTreeMap<String, Option<String>> = BTreeMap::new();

/// No environment files known for any target.
static NO_FILES: BTreeMap<String, TargetFiles> = BTreeMap::new();

fn request<'a>(labels: &'a [String], allow_destroy: bool, now: i64) -> Request<'a> {
    Request {
        from: "dev",
        to: "staging",
        labels,
        allow_destroy,
        author: "alice@example.com".into(),
        now,
        unvouched: &VOUCHED,
        destroyed: &NONE_DESTROYED,
        policy_basis: &NO_POLICIES,
        destination_files: &NO_FILES,
    }
}

/// dev -> staging of `locks`, all targets, no destroys, an hour after `T0`.
/// `plan::make`, and the plan it makes passes `check_against` its own locks and is the plan
/// `remake` makes again from them (whatever the time it was made at): what approve and
/// apply check never refuses an honest plan.
#[track_caller]
fn checked(model: &Model, locks: &Locks, req: &Request) -> PromotionPlan {
    let plan = plan::make(model, locks, req).unwrap();
    if let Err(why) = plan.check_against(locks) {
        panic!("an honest plan does not pass its own check: {why}\n{plan:#?}");
    }
    let trail = strata_release::vouch::Trail {
        unvouched: req.unvouched.clone(),
        destroyed: req.destroyed.clone(),
    };
    let again = plan::remake(
        model,
        locks,
        &plan,
        &trail,
        req.policy_basis,
        req.destination_files,
    )
    .unwrap();
    if let Some(why) = plan.differs_from(&again) {
        panic!("an honest plan is not the plan made again: {why}\n{plan:#?}");
    }
    plan
}

fn promote(model: &Model, locks: &Locks) -> PromotionPlan {
    checked(model, locks, &request(&[], false, T0 + HOUR))
}

fn waves(plan: &PromotionPlan) -> Vec<Vec<&str>> {
    plan.waves
        .iter()
        .map(|w| w.iter().map(|s| s.label.as_str()).collect())
        .collect()
}

fn blocked(plan: &PromotionPlan) -> Vec<(&str, &str)> {
    plan.blocked
        .iter()
        .map(|b| (b.label.as_str(), b.gate.as_str()))
        .collect()
}

fn reason<'p>(plan: &'p PromotionPlan, label: &str) -> &'p str {
    &plan
        .blocked
        .iter()
        .find(|b| b.label == label)
        .unwrap_or_else(|| panic!("{label} is not blocked: {:?}", plan.blocked))
        .reason
}

fn step<'p>(plan: &'p PromotionPlan, label: &str) -> &'p plan::Step {
    plan.steps()
        .find(|s| s.label == label)
        .unwrap_or_else(|| panic!("no step {label}: {:?}", waves(plan)))
}

#[test]
fn waves_follow_dependencies_and_unchanged_targets_are_only_counted() {
    let model = model("");
    let plan = promote(&model, &locks(all('a'), all('b')));
    assert_eq!(
        waves(&plan),
        vec![
            vec![DNS, NETWORK],
            vec![CLUSTER, DATABASE],
            vec![OBSERVABILITY]
        ]
    );
    assert!(plan.blocked.is_empty(), "{:?}", plan.blocked);
    assert_eq!(plan.unchanged, 0);
    let s = step(&plan, CLUSTER);
    assert_eq!(s.action, StepAction::Apply);
    assert_eq!(
        (s.hash.as_str(), s.commit.as_str()),
        (&*"a".repeat(64), &*"a".repeat(40))
    );
    assert_eq!(s.previous.as_ref().unwrap().hash, "b".repeat(64));

    // database already at dev's hash in staging: counted, not a step, and observability
    // still waits for cluster.
    let mut dst = all('b');
    dst[2].1 = entry('a', &[NETWORK]);
    let plan = promote(&model, &locks(all('a'), dst));
    assert_eq!(
        waves(&plan),
        vec![vec![DNS, NETWORK], vec![CLUSTER], vec![OBSERVABILITY]]
    );
    assert_eq!(plan.unchanged, 1);
    assert!(plan.steps().all(|s| s.label != DATABASE));
}

/// A step pins the destination's files it runs with; a target the plan leaves as it is
/// whose own files in the destination changed since it was applied there is named, since
/// no promotion carries that; one the plan applies (with today's files) is not.
#[test]
fn steps_pin_the_destination_files_and_reconfigured_targets_are_named() {
    let model = model("");
    // database and dns already at dev's hash in staging.
    let mut dst = all('b');
    dst[2].1 = entry('a', &[NETWORK]);
    dst[4].1 = entry('a', &[]);
    let files = |changed: Option<&str>| TargetFiles {
        digest: "f".repeat(64),
        changed: changed.map(str::to_string),
    };
    let destination_files: BTreeMap<String, TargetFiles> = [
        (
            NETWORK,
            files(Some("environments/staging/stacks/network/terraform.tfvars")),
        ),
        (
            DATABASE,
            files(Some(
                "environments/staging/stacks/database/terraform.tfvars",
            )),
        ),
        (DNS, files(None)),
    ]
    .into_iter()
    .map(|(l, f)| (l.to_string(), f))
    .collect();
    let req = Request {
        destination_files: &destination_files,
        ..request(&[], false, T0 + HOUR)
    };
    let plan = checked(&model, &locks(all('a'), dst), &req);
    assert_eq!(
        plan.reconfigured
            .iter()
            .map(|r| (r.label.as_str(), r.file.as_str()))
            .collect::<Vec<_>>(),
        vec![(
            DATABASE,
            "environments/staging/stacks/database/terraform.tfvars"
        )]
    );
    assert_eq!(step(&plan, NETWORK).env_files, Some("f".repeat(64)));
    assert_eq!(step(&plan, CLUSTER).env_files, None);
    assert!(
        plan.text()
            .contains("stacks/database (environments/staging/stacks/database/terraform.tfvars)"),
        "{}",
        plan.text()
    );
    // A plan whose list was edited is not the plan strata makes.
    let mut edited = plan.clone();
    edited.reconfigured.clear();
    let trail = strata_release::vouch::Trail {
        unvouched: VOUCHED.clone(),
        destroyed: NONE_DESTROYED.clone(),
    };
    let again = plan::remake(
        &model,
        &locks(all('a'), {
            let mut dst = all('b');
            dst[2].1 = entry('a', &[NETWORK]);
            dst[4].1 = entry('a', &[]);
            dst
        }),
        &edited,
        &trail,
        &NO_POLICIES,
        &destination_files,
    )
    .unwrap();
    let why = edited.differs_from(&again).expect("edited");
    assert!(why.contains("reconfigured"), "{why}");
}

#[test]
fn a_policy_finding_above_max_severity_blocks_the_target_and_its_dependents() {
    let model = model("max_severity = \"medium\"\n");
    let mut src = all('a');
    src[0].1.max_severity = Some("high".into());
    src[4].1.max_severity = Some("medium".into()); // at the limit: allowed
    let plan = promote(&model, &locks(src, all('b')));
    assert_eq!(
        blocked(&plan),
        vec![
            (CLUSTER, "dependency"),
            (DATABASE, "dependency"),
            (NETWORK, "max_severity"),
            (OBSERVABILITY, "dependency"),
        ]
    );
    assert_eq!(waves(&plan), vec![vec![DNS]]);
    assert!(
        reason(&plan, NETWORK).contains("high"),
        "{:?}",
        plan.blocked
    );
    assert_eq!(
        reason(&plan, CLUSTER),
        "depends on stacks/network, which is blocked (max_severity)"
    );
    assert_eq!(
        reason(&plan, OBSERVABILITY),
        "depends on stacks/cluster, which is blocked (dependency)"
    );
    let gate = step(&plan, DNS)
        .gates
        .iter()
        .find(|g| g.gate == "max_severity")
        .unwrap();
    assert!(gate.ok);
}

/// Findings recorded under other policies or waivers than today's are read as recorded,
/// and the approvers are told: the plan says so for that target (its gates still hold).
#[test]
fn findings_judged_by_other_policies_than_todays_are_noted() {
    let model = model("max_severity = \"medium\"\n");
    let mut src = all('a');
    for (label, entry) in &mut src {
        entry.policies = Some(if *label == DNS { "then" } else { "now" }.into());
    }
    let today: BTreeMap<String, Option<String>> = src
        .iter()
        .map(|(label, _)| (label.to_string(), Some("now".to_string())))
        .collect();
    let req = Request {
        policy_basis: &today,
        ..request(&[], false, T0 + HOUR)
    };
    let plan = checked(&model, &locks(src, all('b')), &req);
    assert!(plan.blocked.is_empty(), "{:?}", plan.blocked);
    let noted = |label: &str| {
        step(&plan, label)
            .gates
            .iter()
            .find(|g| g.gate == "policies changed")
            .cloned()
    };
    let dns = noted(DNS).expect("noted");
    assert!(dns.ok);
    assert!(
        dns.detail
            .contains("the policies or waivers that judge stacks/dns in dev changed since it was verified there"),
        "{}",
        dns.detail
    );
    assert!(noted(NETWORK).is_none());
}

/// An entry of the source's lock its audit trail does not vouch for (edited by hand, or
/// written by no event) is held back with its dependents: a promotion moves only what was
/// recorded as applied and verified.
#[test]
fn an_entry_the_audit_trail_does_not_vouch_for_is_held_back() {
    let model = model("");
    let unvouched = BTreeMap::from([(
        NETWORK.to_string(),
        "the release lock's entry for stacks/network was written by no event of the ledger"
            .to_string(),
    )]);
    let req = Request {
        unvouched: &unvouched,
        ..request(&[], false, T0 + HOUR)
    };
    let plan = checked(&model, &locks(all('a'), all('b')), &req);
    assert_eq!(
        blocked(&plan),
        vec![
            (CLUSTER, "dependency"),
            (DATABASE, "dependency"),
            (NETWORK, "recorded"),
            (OBSERVABILITY, "dependency"),
        ]
    );
    assert!(
        reason(&plan, NETWORK).contains("written by no event"),
        "{:?}",
        plan.blocked
    );
    assert_eq!(waves(&plan), vec![vec![DNS]]);
}

#[test]
fn a_target_under_its_soak_time_is_held_back_until_it_has_soaked() {
    let model = model("soak = \"2h\"\n");
    let mut src = all('a');
    src[1].1.applied_at = format_utc(T0 + HOUR); // cluster soaks until T0 + 3h
    let locks = locks(src, all('b'));

    let at = |now| checked(&model, &locks, &request(&[], false, now));
    let plan = at(T0 + 3 * HOUR - 1);
    assert_eq!(
        blocked(&plan),
        vec![(CLUSTER, "soak"), (OBSERVABILITY, "dependency")]
    );
    assert_eq!(waves(&plan), vec![vec![DNS, NETWORK], vec![DATABASE]]);
    assert!(reason(&plan, CLUSTER).contains(&format_utc(T0 + 3 * HOUR)));

    // Before anything has soaked, nothing promotes.
    let plan = at(T0 + HOUR);
    assert!(plan.waves.is_empty(), "{:?}", waves(&plan));
    assert_eq!(
        blocked(&plan),
        [CLUSTER, DATABASE, DNS, NETWORK, OBSERVABILITY].map(|l| (l, "soak"))
    );

    let plan = at(T0 + 3 * HOUR);
    assert!(plan.blocked.is_empty(), "{:?}", plan.blocked);
    assert_eq!(waves(&plan).concat().len(), 5);

    // A plan that promotes nothing asks for no signature.
    let signed = self::model("soak = \"2h\"\napprovals = 1\n");
    let plan = checked(&signed, &locks, &request(&[], false, T0 + HOUR));
    assert!(plan.waves.is_empty());
    assert!(
        !plan.text().contains("needs the signature"),
        "{}",
        plan.text()
    );
    let plan = checked(&signed, &locks, &request(&[], false, T0 + 3 * HOUR));
    assert!(
        plan.text().contains("needs the signature"),
        "{}",
        plan.text()
    );
}

#[test]
fn a_required_check_that_did_not_run_or_failed_blocks_the_target() {
    let model = model("require = [\"plan\", \"test\"]\n");
    let mut src = all('a');
    src[2].1.checks.remove("test"); // database: test did not run
    src[4].1.checks.insert("plan".into(), "failed".into()); // dns: plan failed
    let plan = promote(&model, &locks(src, all('b')));
    assert_eq!(
        blocked(&plan),
        vec![
            (DATABASE, "require"),
            (DNS, "require"),
            (OBSERVABILITY, "dependency")
        ]
    );
    assert_eq!(waves(&plan), vec![vec![NETWORK], vec![CLUSTER]]);
    assert!(
        reason(&plan, DATABASE).contains("test: did not run"),
        "{}",
        reason(&plan, DATABASE)
    );
    assert!(
        reason(&plan, DNS).contains("plan: failed"),
        "{}",
        reason(&plan, DNS)
    );
    // `none` (no tests to run) meets the gate.
    let gate = step(&plan, NETWORK)
        .gates
        .iter()
        .find(|g| g.gate == "require")
        .unwrap();
    assert!(gate.ok && gate.detail.contains("test: none"), "{gate:?}");
}

#[test]
fn a_dependency_neither_deployed_in_the_destination_nor_promoted_blocks_its_dependent() {
    let model = model("");
    let only_cluster = [CLUSTER.to_string()];
    // network is not in staging, and the plan is limited to cluster.
    let l = locks(all('a'), vec![(DNS, entry('a', &[]))]);
    let plan = checked(&model, &l, &request(&only_cluster, false, T0));
    assert_eq!(blocked(&plan), vec![(CLUSTER, "dependency")]);
    assert!(plan.waves.is_empty());
    assert!(
        reason(&plan, CLUSTER).contains("stacks/network, which is not deployed in staging"),
        "{}",
        reason(&plan, CLUSTER)
    );

    // With network deployed there at the source's hash, cluster promotes alone.
    let l = locks(all('a'), vec![(NETWORK, entry('a', &[]))]);
    let plan = checked(&model, &l, &request(&only_cluster, false, T0));
    assert!(plan.blocked.is_empty(), "{:?}", plan.blocked);
    assert_eq!(waves(&plan), vec![vec![CLUSTER]]);

    // At another hash, and the plan leaves network out: cluster waits (the source verified
    // it with the source's network).
    let l = locks(all('a'), vec![(NETWORK, entry('b', &[]))]);
    let plan = checked(&model, &l, &request(&only_cluster, false, T0));
    assert_eq!(blocked(&plan), vec![(CLUSTER, "dependency")]);
    assert!(
        reason(&plan, CLUSTER).contains("stacks/network, which staging has at another hash"),
        "{}",
        reason(&plan, CLUSTER)
    );

    // Without the limit, network is promoted in an earlier wave.
    let l = locks(all('a'), vec![]);
    let plan = promote(&model, &l);
    assert!(plan.blocked.is_empty(), "{:?}", plan.blocked);
    assert_eq!(waves(&plan)[0], vec![DNS, NETWORK]);
}

const LEGACY: &str = "stacks/legacy";
const LEGACY_APP: &str = "stacks/legacy-app";

#[test]
fn a_target_gone_from_the_source_is_destroyed_only_with_allow_destroy_dependents_first() {
    let model = model("");
    let mut dst = all('b');
    dst.push((LEGACY, entry('c', &[])));
    dst.push((LEGACY_APP, entry('d', &[LEGACY])));
    let l = locks(all('a'), dst);

    let plan = promote(&model, &l);
    assert_eq!(
        blocked(&plan),
        vec![(LEGACY, "destroy"), (LEGACY_APP, "destroy")]
    );
    assert!(reason(&plan, LEGACY).contains("--allow-destroy"));
    assert!(plan.steps().all(|s| s.action == StepAction::Apply));

    let plan = checked(&model, &l, &request(&[], true, T0 + HOUR));
    assert!(plan.blocked.is_empty(), "{:?}", plan.blocked);
    assert_eq!(
        waves(&plan),
        vec![
            vec![DNS, NETWORK],
            vec![CLUSTER, DATABASE],
            vec![OBSERVABILITY],
            vec![LEGACY_APP],
            vec![LEGACY],
        ]
    );
    let s = step(&plan, LEGACY);
    assert_eq!(s.action, StepAction::Destroy);
    assert_eq!(s.hash, "c".repeat(64), "the destination's code destroys it");
    assert_eq!(s.commit, "c".repeat(40));
    assert_eq!(s.rollback, Rollback::Previous);
    assert_eq!(step(&plan, LEGACY_APP).action, StepAction::Destroy);

    // Edited (its digest computed again, as anyone can): legacy destroyed before the app
    // that depends on it, or without it, is refused by what approve and apply check.
    let mut reordered = plan.clone();
    reordered.waves.swap(3, 4);
    let why = reordered.check_against(&l).unwrap_err();
    assert!(why.contains("stacks/legacy is destroyed"), "{why}");
    let mut alone = plan.clone();
    alone.waves.remove(3);
    let why = alone.check_against(&l).unwrap_err();
    assert!(why.contains("stacks/legacy-app stays"), "{why}");
}

/// A target dev's code deploys but dev never applied (dev just added to its environments,
/// or its first apply there failed) is not gone from dev: a promotion leaves it in staging,
/// with or without `--allow-destroy`. Destroyed in dev, as dev's audit trail records, its
/// removal is promoted.
#[test]
fn a_target_the_source_never_applied_is_not_destroyed() {
    let model = model("");
    let src: Vec<_> = all('a').into_iter().filter(|(l, _)| *l != DNS).collect();
    let l = locks(src, all('a'));
    for allow_destroy in [false, true] {
        let plan = checked(&model, &l, &request(&[], allow_destroy, T0 + HOUR));
        assert!(plan.steps().next().is_none(), "{:?}", waves(&plan));
        assert!(plan.blocked.is_empty(), "{:?}", plan.blocked);
    }
    let destroyed = BTreeSet::from([DNS.to_string()]);
    let req = Request {
        destroyed: &destroyed,
        ..request(&[], true, T0 + HOUR)
    };
    let plan = checked(&model, &l, &req);
    assert_eq!(waves(&plan), vec![vec![DNS]]);
    assert_eq!(step(&plan, DNS).action, StepAction::Destroy);
}

#[test]
fn a_gone_target_still_depended_on_by_a_staying_one_is_blocked() {
    let model = model("");
    // dns stays in staging as it is (unchanged) and still reads legacy.
    let mut src = all('a');
    src[4].1.deps = vec![LEGACY.into()];
    let mut dst = all('b');
    dst[4].1 = src[4].1.clone();
    dst.push((LEGACY, entry('c', &[])));
    let plan = checked(&model, &locks(src, dst), &request(&[], true, T0 + HOUR));
    assert_eq!(blocked(&plan), vec![(LEGACY, "dependency")]);
    assert!(
        reason(&plan, LEGACY).contains("stacks/dns still depends on it"),
        "{}",
        reason(&plan, LEGACY)
    );
    assert!(plan.steps().all(|s| s.action == StepAction::Apply));
    assert_eq!(plan.unchanged, 1);
}

#[test]
fn what_a_held_back_gone_target_depends_on_is_held_back_too() {
    let model = model("max_severity = \"low\"\n");
    // In dev, dns no longer uses legacy-app (which used legacy); both are deleted. dns's new
    // version is blocked, so staging keeps the old dns, which depends on legacy-app, which
    // depends on legacy.
    let mut src = all('a');
    src[4].1.max_severity = Some("critical".into());
    let mut dst = all('b');
    dst[4].1.deps = vec![LEGACY_APP.into()];
    dst.push((LEGACY, entry('c', &[])));
    dst.push((LEGACY_APP, entry('d', &[LEGACY])));
    let plan = checked(&model, &locks(src, dst), &request(&[], true, T0 + HOUR));
    assert_eq!(
        blocked(&plan),
        vec![
            (DNS, "max_severity"),
            (LEGACY, "dependency"),
            (LEGACY_APP, "dependency")
        ]
    );
    assert!(
        plan.steps().all(|s| s.action == StepAction::Apply),
        "destroys: {:?}",
        waves(&plan)
    );
}

#[test]
fn a_target_the_source_never_deploys_is_outside_the_plan() {
    let mut stacks = STACKS.to_vec();
    stacks.push(("edge", "environments = [\"staging\", \"prod\"]\n"));
    let model = model_with(&stacks, "");
    let mut dst = all('a');
    dst.push(("stacks/edge", entry('e', &[])));
    let l = locks(all('a'), dst);
    for allow_destroy in [false, true] {
        let plan = checked(&model, &l, &request(&[], allow_destroy, T0));
        assert_eq!(plan.outside, vec!["stacks/edge".to_string()]);
        assert!(plan.waves.is_empty(), "{:?}", waves(&plan));
        assert!(plan.blocked.is_empty(), "{:?}", plan.blocked);
        assert_eq!(plan.unchanged, 5);
    }
    // Not yet deployed in staging either: still outside, never a step.
    let plan = promote(&model, &locks(all('a'), vec![]));
    assert_eq!(plan.outside, vec!["stacks/edge".to_string()]);
    assert!(plan.steps().all(|s| s.label != "stacks/edge"));
}

#[test]
fn rollback_restores_the_previous_entry_or_destroys_a_new_target_only_when_allowed() {
    let model = model("");
    let src = vec![(NETWORK, entry('a', &[])), (DNS, entry('a', &[]))];
    let l = locks(src, vec![(NETWORK, entry('b', &[]))]);
    let plan = promote(&model, &l);
    assert_eq!(step(&plan, NETWORK).rollback, Rollback::Previous);
    assert_eq!(
        step(&plan, NETWORK).previous.as_ref().unwrap().commit,
        "b".repeat(40)
    );
    assert_eq!(step(&plan, DNS).rollback, Rollback::Keep);
    assert!(step(&plan, DNS).previous.is_none());

    let plan = checked(&model, &l, &request(&[], true, T0));
    assert_eq!(step(&plan, NETWORK).rollback, Rollback::Previous);
    assert_eq!(step(&plan, DNS).rollback, Rollback::Destroy);
}

#[test]
fn the_same_inputs_give_the_same_plan_and_any_lock_change_a_new_digest() {
    let model = model("require = [\"plan\"]\nsoak = \"30m\"\n");
    let make = |l: &Locks| promote(&model, l);
    let first = make(&locks(all('a'), all('b')));
    let second = make(&locks(all('a'), all('b')));
    assert_eq!(first.to_json(), second.to_json());
    assert_eq!(first.digest, second.digest);
    assert_eq!(first.digest.len(), 64);
    assert_eq!(first.digest, first.compute_digest());

    let mut dst = all('b');
    dst[4].1.applied_by = "bob@example.com".into();
    let changed = make(&locks(all('a'), dst));
    assert_eq!(changed.source_lock, first.source_lock);
    assert_ne!(changed.destination_lock, first.destination_lock);
    assert_ne!(changed.digest, first.digest);

    let mut src = all('a');
    src[0].1.applied_at = format_utc(T0 - 1);
    let changed = make(&locks(src, all('b')));
    assert_ne!(changed.source_lock, first.source_lock);
    assert_eq!(changed.destination_lock, first.destination_lock);
    assert_ne!(changed.digest, first.digest);
}

#[test]
fn a_plan_file_reads_back_equal_and_an_edited_one_is_refused() {
    let model = model("");
    let plan = promote(&model, &locks(all('a'), all('b')));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    std::fs::write(&path, plan.to_json()).unwrap();
    assert_eq!(PromotionPlan::read(&path).unwrap(), plan);

    let mut json: serde_json::Value = serde_json::from_str(&plan.to_json()).unwrap();
    json["waves"][0][0]["hash"] = serde_json::Value::String("f".repeat(64));
    let edited = dir.path().join("edited.json");
    std::fs::write(&edited, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    let err = PromotionPlan::read(&edited).unwrap_err();
    assert!(err.to_string().contains("digest"), "{err}");
    assert_eq!(err.location().unwrap().file, edited.display().to_string());
}

#[test]
fn promoting_off_the_train_is_refused() {
    let model = model("");
    let l = locks(all('a'), all('b'));
    let make = |from, to| {
        let req = Request {
            from,
            to,
            ..request(&[], false, T0)
        };
        plan::make(&model, &l, &req).unwrap_err().to_string()
    };
    let err = make("dev", "prod");
    assert!(err.contains("prod promotes from staging, not dev"), "{err}");
    let err = make("dev", "qa");
    assert!(err.contains("`qa` is not an environment"), "{err}");
    let err = make("qa", "staging");
    assert!(err.contains("`qa` is not an environment"), "{err}");
    let err = make("staging", "dev");
    assert!(err.contains("dev is the first environment"), "{err}");

    let gates = plan::train_step(&model, "staging", "prod").unwrap();
    assert_eq!(gates, &Default::default());
}

#[test]
fn a_promotion_loop_is_refused_when_the_workspace_is_opened() {
    let envs = vec![
        ("dev", "promotes_from = \"prod\"\n".to_string()),
        ("staging", "promotes_from = \"dev\"\n".into()),
        ("prod", "promotes_from = \"staging\"\n".into()),
    ];
    let (_dir, model) = try_model(STACKS, &envs);
    let err = model.unwrap_err();
    assert!(err.to_string().contains("promotion loop"), "{err}");
    assert!(
        err.location().unwrap().file.ends_with("/env.toml"),
        "{:?}",
        err.location()
    );
}

#[test]
fn two_promotion_sources_are_refused_naming_env_toml() {
    let envs = vec![
        ("dev", String::new()),
        ("qa", String::new()),
        ("staging", "promotes_from = [\"dev\", \"qa\"]\n".into()),
    ];
    let (_dir, model) = try_model(STACKS, &envs);
    let err = model.unwrap_err();
    let location = err.location().expect("the error points at the file");
    assert_eq!(location.file, "environments/staging/env.toml", "{err}");
    assert_eq!(location.line, Some(1), "{err}");
}

#[test]
fn two_promotion_sources_are_refused_saying_why() {
    let envs = vec![
        ("dev", String::new()),
        ("qa", String::new()),
        ("staging", "promotes_from = [\"dev\", \"qa\"]\n".into()),
    ];
    let (_dir, model) = try_model(STACKS, &envs);
    let err = model.unwrap_err().to_string();
    assert!(err.contains("promotes_from"), "{err}");
}

#[test]
fn locks_whose_dependencies_form_a_cycle_are_refused() {
    let model = model("");
    let src = vec![(NETWORK, entry('a', &[DNS])), (DNS, entry('a', &[NETWORK]))];
    let err = plan::make(&model, &locks(src, vec![]), &request(&[], false, T0)).unwrap_err();
    assert!(
        err.to_string()
            .contains("form a cycle among stacks/dns, stacks/network"),
        "{err}"
    );
}

#[test]
fn a_plan_limited_to_labels_plans_only_them_and_an_unknown_label_is_a_usage_error() {
    let model = model("");
    let l = locks(all('a'), all('b'));
    let labels = [DNS.to_string()];
    let plan = checked(&model, &l, &request(&labels, true, T0));
    assert_eq!(waves(&plan), vec![vec![DNS]]);
    assert!(plan.blocked.is_empty(), "{:?}", plan.blocked);
    assert_eq!(plan.labels, labels.to_vec());

    let labels = ["stacks/nope".to_string()];
    let err = plan::make(&model, &l, &request(&labels, false, T0)).unwrap_err();
    assert!(matches!(err, Error::Usage { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("stacks/nope is in neither dev's nor staging's release lock"),
        "{err}"
    );
    assert_eq!(err.exit_code(), 2);
}

#[test]
fn the_plan_json_has_the_documented_shape() {
    let model = model("max_severity = \"low\"\n");
    let mut src = all('a');
    src[4].1.max_severity = Some("high".into());
    let plan = promote(&model, &locks(src, all('b')));
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(json["from"], "dev");
    assert_eq!(json["to"], "staging");
    let waves = json["waves"].as_array().unwrap();
    assert_eq!(waves.len(), 3);
    let first = waves[0].as_array().unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0]["label"], NETWORK);
    assert_eq!(first[0]["hash"], "a".repeat(64));
    assert_eq!(first[0]["commit"], "a".repeat(40));
    let blocked = json["blocked"].as_array().unwrap();
    assert_eq!(blocked.len(), 1);
    assert_eq!(blocked[0]["label"], DNS);
    assert_eq!(blocked[0]["gate"], "max_severity");
    assert!(blocked[0]["reason"].as_str().unwrap().contains("high"));
}

#[test]
fn approvals_that_no_one_could_give_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let file = "environments/prod/env.toml";
    let author = "alice@example.com";
    let met = |required: u32, approvers: &[String]| {
        approvals::can_be_met(root, file, required, approvers, author)
    };
    met(0, &[]).unwrap();
    let err = met(1, &[]).unwrap_err();
    assert!(
        err.to_string().contains(approvals::ALLOWED_SIGNERS),
        "{err}"
    );
    assert_eq!(err.location().unwrap().file, file);

    // An ed25519 public key as a .pub file writes it: its type, then the base64 of its wire
    // form (the type's name and 32 bytes of key), here the bytes all `n`.
    let pk = |n: u8| {
        use base64::Engine;
        let mut wire = Vec::new();
        wire.extend_from_slice(&11u32.to_be_bytes());
        wire.extend_from_slice(b"ssh-ed25519");
        wire.extend_from_slice(&32u32.to_be_bytes());
        wire.extend_from_slice(&[n; 32]);
        format!(
            "ssh-ed25519 {}",
            base64::engine::general_purpose::STANDARD.encode(wire)
        )
    };
    let key = format!("namespaces=\"strata-promote\" {}", pk(1));
    let key_b = format!("namespaces=\"strata-promote\" {}", pk(2));
    write(
        root,
        approvals::ALLOWED_SIGNERS,
        &format!("# approvers\n\nalice@example.com {key}\n"),
    );
    // The author's own key is no approver.
    let err = met(1, &[]).unwrap_err();
    assert!(err.to_string().contains("only 0 approver"), "{err}");
    // An author with no key could not sign the plan as its author.
    let err = approvals::can_be_met(root, file, 1, &[], "zed@example.com").unwrap_err();
    assert!(
        err.to_string().contains("lists no key of zed@example.com"),
        "{err}"
    );

    // One key under three names is one approver, and the author's if one names the author.
    write(
        root,
        approvals::ALLOWED_SIGNERS,
        &format!("alice@example.com {key}\nbob@example.com,carol@example.com {key}\n"),
    );
    let err = met(1, &[]).unwrap_err();
    assert!(err.to_string().contains("only 0 approver(s)"), "{err}");

    write(
        root,
        approvals::ALLOWED_SIGNERS,
        &format!(
            "alice@example.com {key}\nbob@example.com {key_b}\ncarol@example.com {} comment\n",
            pk(3)
        ),
    );
    met(1, &[]).unwrap();
    met(2, &[]).unwrap();
    let err = met(3, &[]).unwrap_err();
    assert!(err.to_string().contains("only 2 approver"), "{err}");
    // Only the environment's approvers count, and the author need not be one of them.
    let approvers = ["alice@example.com".to_string(), "dave@example.com".into()];
    let err = met(1, &approvers).unwrap_err();
    assert!(err.to_string().contains("only 0 approver"), "{err}");
    let approvers = ["alice@example.com".to_string(), "carol@example.com".into()];
    met(1, &approvers).unwrap();
    let approvers = ["bob@example.com".to_string(), "carol@example.com".into()];
    met(2, &approvers).unwrap();
    let err = met(3, &approvers).unwrap_err();
    assert!(err.to_string().contains("only 2 approver"), "{err}");
    // A key listed only for audit signatures approves nothing; one for both does.
    let both = format!(
        "alice@example.com {key}\nbob@example.com {key_b}\ndeployer@ci namespaces=\"strata-audit\" {}\n",
        pk(4)
    );
    write(root, approvals::ALLOWED_SIGNERS, &both);
    let err = met(2, &[]).unwrap_err();
    assert!(err.to_string().contains("only 1 approver"), "{err}");
    write(
        root,
        approvals::ALLOWED_SIGNERS,
        &both.replace(
            "\"strata-audit\"",
            "\"strata-audit,strata-promote\",valid-after=\"20260101\"",
        ),
    );
    met(2, &[]).unwrap();
    // A key retired (`valid-before` passed), or not yet in force, signs nothing now.
    for (window, counts) in [
        ("valid-before=\"20200101\"", false),
        ("valid-before=\"202001011200Z\"", false),
        ("valid-after=\"29990101\"", false),
        ("valid-before=\"29990101000000Z\"", true),
    ] {
        write(
            root,
            approvals::ALLOWED_SIGNERS,
            &both.replace(
                "\"strata-audit\"",
                &format!("\"strata-audit,strata-promote\",{window}"),
            ),
        );
        assert_eq!(met(2, &[]).is_ok(), counts, "{window}");
    }
    write(
        root,
        approvals::ALLOWED_SIGNERS,
        &both.replace("\"strata-audit\"", "\"strata-*\""),
    );
    met(2, &[]).unwrap();
    // A line that names no key is bad input at its line, not a key of its own (it made a
    // gate look satisfiable that no signature could meet).
    write(
        root,
        approvals::ALLOWED_SIGNERS,
        &format!("alice@example.com {key}\njunk\nbob@example.com not-a-key\n"),
    );
    let err = met(2, &[]).unwrap_err();
    assert!(err.to_string().contains("names no SSH public key"), "{err}");
    let at = err.location().unwrap();
    assert_eq!(
        (at.file.as_str(), at.line),
        (approvals::ALLOWED_SIGNERS, Some(2))
    );
    // A key type followed by data that is not such a key: the same.
    write(
        root,
        approvals::ALLOWED_SIGNERS,
        &format!("alice@example.com {key}\nbob@example.com ssh-ed25519 AAAAnot-a-key\n"),
    );
    let err = met(1, &[]).unwrap_err();
    assert_eq!(err.location().unwrap().line, Some(2), "{err}");

    // Two people who share a group name are two approvers; one person with two keys is one
    // (the first name of a key's line is the person).
    let (k3, k4) = (
        format!("namespaces=\"strata-promote\" {}", pk(3)),
        format!("namespaces=\"strata-promote\" {}", pk(4)),
    );
    write(
        root,
        approvals::ALLOWED_SIGNERS,
        &format!("alice@example.com {key}\nbob@example.com,sre {k3}\ncarol@example.com,sre {k4}\n"),
    );
    met(2, &[]).unwrap();
    met(2, &["sre".to_string()]).unwrap();
    write(
        root,
        approvals::ALLOWED_SIGNERS,
        &format!("alice@example.com {key}\nbob@example.com {k3}\nbob@example.com {k4}\n"),
    );
    let err = met(2, &[]).unwrap_err();
    assert!(err.to_string().contains("only 1 approver(s)"), "{err}");

    // Lines ssh-keygen skips, or reads otherwise than a plain split would, are errors at
    // their line or read as ssh-keygen reads them.
    let line_error = |line: &str, needle: &str| {
        write(
            root,
            approvals::ALLOWED_SIGNERS,
            &format!("alice@example.com {key}\n{line}\n"),
        );
        let err = met(1, &[]).unwrap_err();
        assert!(err.to_string().contains(needle), "{line}: {err}");
        assert_eq!(err.location().unwrap().line, Some(2), "{line}: {err}");
    };
    line_error(
        &format!(
            "bob@example.com valid-before=\"20991231\" namespaces=\"strata-promote\" {}",
            pk(3)
        ),
        "separated by blanks",
    );
    line_error(
        &format!("bob@example.com namespaces=strata-promote {}", pk(3)),
        "needs its value in double quotes",
    );
    line_error(
        &format!("bob@example.com no-touch-required {}", pk(3)),
        "is no option ssh-keygen knows",
    );
    line_error(
        &format!(
            "bob@example.com namespaces=\"strata-promote\",namespaces=\"git\" {}",
            pk(3)
        ),
        "`namespaces` is given twice",
    );
    line_error(
        &format!("bob@example.com valid-before=\"2099\" {}", pk(3)),
        "is no time ssh-keygen reads",
    );
    line_error(
        &format!(
            "*@example.com cert-authority,namespaces=\"strata-promote\" {}",
            pk(3)
        ),
        "certificate authority",
    );
    // Empty items ssh-keygen passes over.
    write(
        root,
        approvals::ALLOWED_SIGNERS,
        &format!(
            "alice@example.com {key}\nbob@example.com,,sre ,namespaces=\"strata-promote\" {}\n",
            pk(3)
        ),
    );
    met(1, &[]).unwrap();
    for (options, counts) in [
        ("NAMESPACES=\"git\"", false),
        ("namespaces=\"!strata-promote,*\"", false),
        ("namespaces=\"strata-prom?te\"", true),
        ("cert-authority,namespaces=\"strata-audit\"", false),
    ] {
        write(
            root,
            approvals::ALLOWED_SIGNERS,
            &format!(
                "alice@example.com {key}\nbob@example.com {options} {}\n",
                pk(3)
            ),
        );
        assert_eq!(met(1, &[]).is_ok(), counts, "{options}");
    }
}
