//! What `helm dependency build` checks, done offline (see [`checked_as_a_build`]): with
//! every dependency from a repository vendored, strata packages the `file://` ones itself
//! (`helm dependency build` would ask each repository for its index first).

use super::{helm, run, LOCK_FILES};
use crate::process;
use crate::sandbox::Sandbox;
use crate::step::Step;
use crate::Tools;
use std::path::Path;
use strata_graph::chart::ChartDependency;
use strata_graph::error::{Error, Result};

/// After [`package_local`], what `helm dependency build` would have refused, each check
/// run while the ones before it passed: versions outside Chart.yaml's constraints, a lock
/// file out of sync with Chart.yaml, a `file://` chart moved from its locked version.
pub(super) fn checked_as_a_build(
    tools: &Tools,
    sb: &Sandbox,
    deps: &[ChartDependency],
    step: &mut Step,
) -> Result<()> {
    if step.ok {
        versions_held(tools, sb, step)?;
    }
    if step.ok {
        lock_in_sync(tools, sb, deps, step)?;
    }
    if step.ok {
        versions_locked(sb, deps, step);
    }
    Ok(())
}

/// After [`package_local`]: whether every dependency `charts/` now holds is a version
/// Chart.yaml accepts, as `helm dependency list` judges it. `helm dependency build`
/// refuses a `file://` chart whose version the constraint does not take; packaged here,
/// helm would render it anyway, without its alias, condition or import-values (which apply
/// to a matching version only). Fails `step` naming those that do not match.
fn versions_held(tools: &Tools, sb: &Sandbox, step: &mut Step) -> Result<()> {
    let out = run(tools, sb, &["dependency", "list", "."])?;
    if !out.success || out.interrupted {
        step.append(&out);
        step.ok = false;
        return Ok(());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    // NAME TAB VERSION TAB REPOSITORY TAB STATUS, padded; a header line first.
    let wrong: Vec<String> = text
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split('\t').map(str::trim).collect();
            match cols[..] {
                [name, version, repository, status, ..] if !matches!(status, "ok" | "unpacked") => {
                    Some(format!(
                        "\"{name}\" (repository \"{repository}\", version \"{version}\"): {status}"
                    ))
                }
                _ => None,
            }
        })
        .collect();
    if !wrong.is_empty() {
        step.ok = false;
        step.log.extend_from_slice(
            format!(
                "strata: charts/ does not hold a version Chart.yaml accepts for {} subchart(s): {}; make the version in Chart.yaml match the dependency's Chart.yaml (for a vendored package: `helm dependency update`, then commit Chart.lock and charts/*.tgz)\n",
                wrong.len(),
                wrong.join(", ")
            )
            .as_bytes(),
        );
    }
    Ok(())
}

/// Whether the chart's lock file is in sync with its dependencies, as `helm dependency
/// build` checks it first (the lock's digest covers what Chart.yaml asks for): asked of
/// helm itself, in a scratch directory holding the chart's two files and an empty
/// directory at each `file://` dependency's path (helm looks for them before the digest),
/// with no repository configured, so helm stops at the digest or, the lock in sync, at the
/// first repository it has no definition for; nothing is fetched or built. Only helm's
/// refusal of the digest fails `step`.
fn lock_in_sync(
    tools: &Tools,
    sb: &Sandbox,
    deps: &[ChartDependency],
    step: &mut Step,
) -> Result<()> {
    let Some(lock) = LOCK_FILES.iter().find(|f| sb.dir.join(f).is_file()) else {
        return Ok(());
    };
    let scratch = tempfile::Builder::new()
        .prefix("lock-check")
        .tempdir_in(&sb.data)
        .map_err(|e| Error::write(&sb.data, e))?;
    // Deep enough that every `../` of a `file://` path stays inside it.
    let depth = deps
        .iter()
        .filter_map(|d| d.local_path())
        .map(|p| p.split('/').filter(|c| *c == "..").count())
        .max()
        .unwrap_or(0);
    let mut chart = scratch.path().to_path_buf();
    for i in 0..depth {
        chart.push(format!("d{i}"));
    }
    chart.push("chart");
    let made = |dir: &Path| std::fs::create_dir_all(dir).map_err(|e| Error::write(dir, e));
    made(&chart)?;
    for file in ["Chart.yaml", "requirements.yaml", lock] {
        let from = sb.dir.join(file);
        if from.is_file() {
            std::fs::copy(&from, chart.join(file)).map_err(|e| Error::write(&chart, e))?;
        }
    }
    // (An absolute path is the machine's own, looked up where it is.)
    for path in deps.iter().filter_map(|d| d.local_path()) {
        if !Path::new(path).is_absolute() {
            made(&strata_fs::lexically_normal(&chart.join(path)))?;
        }
    }
    let bin = helm(tools)?;
    let mut cmd = tools.command(bin);
    cmd.args(["dependency", "build", "--skip-refresh"])
        .arg(&chart)
        .env("HELM_CACHE_HOME", scratch.path().join("cache"))
        .env("HELM_CONFIG_HOME", scratch.path().join("config"))
        .env("HELM_DATA_HOME", scratch.path().join("data"));
    let out = process::run(cmd, scratch.path()).map_err(|e| Error::io(bin, e))?;
    let said = String::from_utf8_lossy(&out.stderr);
    if said.contains("out of sync") {
        step.ok = false;
        step.log.extend_from_slice(
            format!(
                "{}\nstrata: {lock} is out of sync with the dependencies Chart.yaml declares, which `helm dependency build` refuses: run `helm dependency update` and commit {lock}\n",
                said.trim_end()
            )
            .as_bytes(),
        );
    }
    Ok(())
}

/// After [`package_local`]: whether each `file://` dependency a `Chart.lock` (v1:
/// `requirements.lock`) pins is at the version it pins. `helm dependency build` builds a
/// locked chart at the locked versions only, and refuses one whose `file://` chart has
/// another version since, even inside the range Chart.yaml asks for. Fails `step` naming
/// those that moved.
fn versions_locked(sb: &Sandbox, deps: &[ChartDependency], step: &mut Step) {
    #[derive(serde::Deserialize)]
    struct Lock {
        #[serde(default)]
        dependencies: Vec<Locked>,
    }
    #[derive(serde::Deserialize)]
    struct Locked {
        name: String,
        #[serde(default)]
        repository: String,
        #[serde(default)]
        version: String,
    }
    #[derive(serde::Deserialize)]
    struct Chart {
        #[serde(default)]
        version: String,
    }
    let Some((lock_name, lock)) = LOCK_FILES
        .iter()
        .find_map(|f| Some((*f, std::fs::read_to_string(sb.dir.join(f)).ok()?)))
        .and_then(|(f, text)| Some((f, serde_norway::from_str::<Lock>(&text).ok()?)))
    else {
        return;
    };
    // As a semantic version: no `v`, build metadata left out (`0.1.0+build.7` is 0.1.0, as
    // helm's constraint check has it), missing parts 0.
    let bare = |v: &str| {
        let v = v.trim().trim_start_matches('v');
        let v = v.split('+').next().unwrap_or(v);
        let (core, pre) = v.split_once('-').map_or((v, None), |(c, p)| (c, Some(p)));
        let mut parts: Vec<&str> = core.split('.').collect();
        while parts.len() < 3 {
            parts.push("0");
        }
        let core = parts.join(".");
        match pre {
            Some(pre) => format!("{core}-{pre}"),
            None => core,
        }
    };
    let moved: Vec<String> = deps
        .iter()
        .filter_map(|d| {
            let path = d.local_path()?;
            let pinned = lock
                .dependencies
                .iter()
                .find(|l| l.name == d.name && l.repository == d.repository)?;
            let text = std::fs::read_to_string(sb.dir.join(path).join("Chart.yaml")).ok()?;
            let now = serde_norway::from_str::<Chart>(&text).ok()?.version;
            (bare(&now) != bare(&pinned.version)).then(|| {
                format!(
                    "{} ({lock_name} pins {}, {} holds {})",
                    d.name, pinned.version, d.repository, now
                )
            })
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if !moved.is_empty() {
        step.ok = false;
        step.log.extend_from_slice(
            format!(
                "strata: a file:// dependency is not at the version the lock file pins, which `helm dependency build` refuses: {}; run `helm dependency update` and commit {lock_name}\n",
                moved.join(", ")
            )
            .as_bytes(),
        );
    }
}
