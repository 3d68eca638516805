//! The helm steps of chart tasks: dependency build (for `file://` charts), lint, render.

use super::process;
use super::sandbox::Sandbox;
use super::step::{RenderSummary, Step, StepSummary};
use super::Tools;
use serde::Deserialize;

use std::collections::BTreeMap;
use std::path::Path;
use strata_graph::chart::ChartDependency;
use strata_graph::error::{Error, Location, Result};
use strata_graph::manifest::RenderConfig;

mod offline;

fn helm(tools: &Tools) -> Result<&Path> {
    tools.helm.as_deref().ok_or_else(|| Error::Invalid {
        message: "helm is not installed".into(),
        location: Location::new("WORKSPACE.toml", None),
        hint: "install the pinned version and put it on PATH, or set [toolchain] tools_dir to the directory holding it".into(),
    })
}

fn run(tools: &Tools, sb: &Sandbox, args: &[&str]) -> Result<process::Output> {
    let bin = helm(tools)?;
    let mut cmd = tools.command(bin);
    // Keep helm's own caches and repository config inside the sandbox.
    cmd.args(args)
        .env("HELM_CACHE_HOME", sb.data.join("helm-cache"))
        .env("HELM_CONFIG_HOME", sb.data.join("helm-config"))
        .env("HELM_DATA_HOME", sb.data.join("helm-data"));
    process::run(cmd, &sb.dir).map_err(|e| Error::io(bin, e))
}

/// `helm dependency build` when the chart has dependencies and they are not built yet.
///
/// A `charts/` folder is trusted as built only when no build of it is under way: a marker
/// is written before helm starts and removed once it succeeded, so a build that failed, was
/// interrupted or crashed (with strata itself killed, the marker stays) leaves no half-written
/// `charts/` a later task would render from. A `charts/` the chart ships in the repository
/// (vendored dependencies) never has the marker. The marker sits beside the chart folders in
/// the sandbox's source tree, which a rebuild of the sandbox removes with them.
///
/// `deps` are the chart's declared dependencies. The build runs when any comes from the
/// workspace (`file://`: a package of it in `charts/` may be older than its source), or when
/// `charts/` lacks one that comes from elsewhere (`https://`, `oci://`), as a package
/// (`nginx-1.2.3.tgz`) or a directory of its name; not when there are none, or when every
/// one is vendored in `charts/`.
///
/// `unpinned` are those helm resolves anew on every build (see [`unpinned`]): what an
/// earlier build in this sandbox fetched of them (and the lock file it wrote) is removed
/// first, so that each build resolves them as helm would now.
///
/// When every dependency from a repository is vendored in the workspace's `charts/`, the
/// `file://` ones are packaged there one by one (`helm package`) instead: `helm dependency
/// build` would ask each repository for its index first, vendored or not, and so fails
/// without network access.
pub fn dependency_build(tools: &Tools, sb: &Sandbox, deps: &Dependencies) -> Result<Step> {
    let unpinned = &deps.unpinned;
    let offline = deps.remote_vendored;
    let deps = deps.declared;
    let charts = sb.dir.join("charts");
    let building = sb.src.join(".strata-dependency-build");
    if building.exists() {
        remove_dir(&charts)?;
    }
    if !unpinned.is_empty() {
        for lock in LOCK_FILES {
            let path = sb.dir.join(lock);
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::write(&path, e))
                }
                _ => {}
            }
        }
        for entry in std::fs::read_dir(&charts).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if unpinned.iter().any(|d| names_package(&name, &d.name)) {
                let path = entry.path();
                let removed = match path.is_dir() {
                    true => std::fs::remove_dir_all(&path),
                    false => std::fs::remove_file(&path),
                };
                removed.map_err(|e| Error::write(&path, e))?;
            }
        }
    }
    if !needs_build(&charts, deps) {
        return Ok(Step {
            ok: true,
            ..Step::default()
        });
    }
    strata_fs::write_atomic(&building, b"").map_err(|e| Error::write(&building, e))?;
    // The build changes `charts/`, which may also hold subcharts and archives from the
    // workspace: a build that does not succeed leaves the sandbox to be made again.
    let whole = sb.changing()?;
    let has_remote = deps.iter().any(is_from_repository);
    let step = if offline && has_remote {
        match stale_vendored(&charts, deps) {
            Some(message) => Step {
                ok: false,
                log: message.into_bytes(),
                ..Step::default()
            },
            None => {
                let mut step = package_local(tools, sb, deps, &charts)?;
                offline::checked_as_a_build(tools, sb, deps, &mut step)?;
                step
            }
        }
    } else {
        let out = run(tools, sb, &["dependency", "build", "."])?;
        let mut step = Step::from(&out);
        step.ok = out.success && !out.interrupted;
        let fetched = named(deps.iter().filter(|d| is_from_repository(d)));
        if !step.ok && !out.interrupted && !fetched.is_empty() {
            step.log.extend_from_slice(
                format!(
                    "\nstrata: helm fetches {fetched} from its repository, which needs network access from here; to check offline, vendor it: `helm dependency update`, then commit Chart.lock and charts/*.tgz\n"
                )
                .as_bytes(),
            );
        }
        step
    };
    if step.ok {
        std::fs::remove_file(&building).map_err(|e| Error::write(&building, e))?;
        sb.changed_as_meant(whole)?;
    } else {
        remove_dir(&charts)?;
        std::fs::remove_file(&building).map_err(|e| Error::write(&building, e))?;
    }
    Ok(step)
}

/// When a dependency from a repository asks for one exact version and `charts` holds only
/// packages of other versions of it (Chart.yaml bumped, the vendored package not): what
/// `helm dependency build` refuses as out of sync, with the fix.
fn stale_vendored(charts: &Path, deps: &[ChartDependency]) -> Option<String> {
    let names = entry_names(charts);
    let stale: Vec<String> = deps
        .iter()
        .filter(|d| is_from_repository(d))
        .filter(|d| is_exact_version(&d.version))
        .filter(|d| {
            let exact = format!("{}-{}.tgz", d.name, d.version.trim_start_matches('v'));
            let exact_v = format!("{}-v{}.tgz", d.name, d.version.trim_start_matches('v'));
            !names
                .iter()
                .any(|n| *n == d.name || *n == exact || *n == exact_v)
        })
        .map(|d| format!("{} {}", d.name, d.version))
        .collect();
    (!stale.is_empty()).then(|| {
        format!(
            "strata: Chart.yaml asks for {}, which charts/ does not hold (it holds another version): run `helm dependency update` and commit Chart.lock and the new package\n",
            stale.join(", ")
        )
    })
}

/// Whether a dependency's version names one version (`1.2.3`, `v1.2.3`), not a range.
fn is_exact_version(version: &str) -> bool {
    let v = version.trim().trim_start_matches('v');
    !v.is_empty()
        && v.starts_with(|c: char| c.is_ascii_digit())
        && !v.contains(['^', '~', '>', '<', '=', '*', 'x', 'X', '|', ' ', ','])
}

/// Packages each `file://` dependency of `deps` into `charts` (what `helm dependency build`
/// does for them), replacing an older package of it; its own dependencies are built first
/// (`--dependency-update`).
fn package_local(
    tools: &Tools,
    sb: &Sandbox,
    deps: &[ChartDependency],
    charts: &Path,
) -> Result<Step> {
    std::fs::create_dir_all(charts).map_err(|e| Error::write(charts, e))?;
    let mut step = Step {
        ok: true,
        ..Step::default()
    };
    for d in deps {
        let Some(path) = d.local_path() else {
            continue;
        };
        for entry in std::fs::read_dir(charts).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".tgz") && names_package(&name, &d.name) {
                let stale = entry.path();
                std::fs::remove_file(&stale).map_err(|e| Error::write(&stale, e))?;
            }
        }
        let source = sb.dir.join(path).display().to_string();
        let into = charts.display().to_string();
        let out = run(
            tools,
            sb,
            &["package", "--dependency-update", &source, "-d", &into],
        )?;
        step.append(&out);
        if !out.success || out.interrupted {
            step.ok = false;
            break;
        }
    }
    Ok(step)
}

/// Whether `helm dependency build` must run for a chart whose `charts/` is `charts` (see
/// [`dependency_build`]).
fn needs_build(charts: &Path, deps: &[ChartDependency]) -> bool {
    let from_workspace = deps.iter().any(|d| d.local_path().is_some());
    !deps.is_empty() && (from_workspace || !charts.is_dir() || !all_present(charts, deps))
}

/// Whether `charts` holds every dependency of `deps` that comes from a repository.
fn all_present(charts: &Path, deps: &[ChartDependency]) -> bool {
    let names = entry_names(charts);
    deps.iter()
        .filter(|d| !d.repository.is_empty())
        .all(|d| names.iter().any(|n| names_package(n, &d.name)))
}

/// The names of what a directory holds (none when it cannot be read).
fn entry_names(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// Whether the entry `entry` of a chart's `charts/` holds the chart `name`: its directory,
/// or a package of it (`web-1.2.3.tgz`, not `web-extras-0.1.0.tgz`: a version follows the
/// name).
fn names_package(entry: &str, name: &str) -> bool {
    entry == name
        || entry
            .strip_prefix(name)
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|rest| {
                rest.ends_with(".tgz")
                    && rest
                        .trim_start_matches('v')
                        .starts_with(|c: char| c.is_ascii_digit())
            })
}

/// A chart's declared dependencies, and those of them helm resolves anew on every build
/// (see [`unpinned`]).
pub struct Dependencies<'a> {
    pub declared: &'a [ChartDependency],
    pub unpinned: Vec<&'a ChartDependency>,
    /// Every dependency from a repository is vendored in the chart's committed `charts/`.
    pub remote_vendored: bool,
}

impl<'a> Dependencies<'a> {
    /// Those of a target (none but a chart's), as its files fix them.
    pub fn of_target(target: &'a strata_graph::model::Target) -> Dependencies<'a> {
        let declared = target
            .chart
            .as_ref()
            .map_or(&[][..], |c| c.dependencies.as_slice());
        if declared.is_empty() {
            return Dependencies::of(declared, &[]);
        }
        let prefix = strata_graph::discover::dir_prefix(&target.label);
        // A subchart vendored as a directory is a chart of its own, whose files are not
        // the parent's: its directory counts as vendored all the same.
        let subcharts: Vec<String> = target
            .deps
            .iter()
            .filter_map(|d| d.label.strip_prefix(&prefix))
            .filter(|rest| rest.starts_with("charts/"))
            .map(|rest| format!("{rest}/Chart.yaml"))
            .collect();
        let files: Vec<&str> = target
            .files
            .iter()
            .filter_map(|f| f.strip_prefix(&prefix))
            .chain(subcharts.iter().map(String::as_str))
            .collect();
        Dependencies::of(declared, &files)
    }

    /// `declared`, of the chart whose own files (relative to its directory) are `files`.
    pub fn of(declared: &'a [ChartDependency], files: &[&str]) -> Dependencies<'a> {
        let vendored = vendored(files);
        Dependencies {
            declared,
            unpinned: unpinned(declared, files),
            remote_vendored: declared
                .iter()
                .filter(|d| is_from_repository(d))
                .all(|d| vendored.iter().any(|v| names_package(v, &d.name))),
        }
    }
}

/// The entries of a chart's `charts/` among its files (relative to its directory).
fn vendored<'f>(files: &[&'f str]) -> Vec<&'f str> {
    files
        .iter()
        .filter_map(|f| f.strip_prefix("charts/"))
        .filter_map(|rest| rest.split('/').next())
        .collect()
}

/// Whether a dependency comes from a chart repository (not `file://`, not shipped in
/// `charts/` without one).
fn is_from_repository(d: &ChartDependency) -> bool {
    !d.repository.is_empty() && d.local_path().is_none()
}

/// Dependencies as a message names them: `redis (https://charts.example)`, joined.
pub fn named<'d>(deps: impl IntoIterator<Item = &'d ChartDependency>) -> String {
    deps.into_iter()
        .map(|d| format!("{} ({})", d.name, d.repository))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The lock files that pin a chart's dependencies (v2, v1).
const LOCK_FILES: [&str; 2] = ["Chart.lock", "requirements.lock"];

/// The dependencies of a chart that helm resolves anew on every build, so that what it
/// renders can change with nothing in the repository changing: those from a repository
/// (not `file://`, not a subchart shipped in `charts/`), when no lock file of the chart
/// (`Chart.lock`, v1's `requirements.lock`) pins their versions and its `charts/` does not
/// hold them. `files` are the chart's own files, relative to its directory.
pub fn unpinned<'a>(deps: &'a [ChartDependency], files: &[&str]) -> Vec<&'a ChartDependency> {
    if files.iter().any(|f| LOCK_FILES.contains(f)) {
        return Vec::new();
    }
    let vendored = vendored(files);
    deps.iter()
        .filter(|d| is_from_repository(d))
        .filter(|d| !vendored.iter().any(|v| names_package(v, &d.name)))
        .collect()
}

fn remove_dir(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::write(dir, e)),
    }
}

fn values_args(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| ["-f".to_string(), v.clone()])
        .collect()
}

/// helm's flags for the cluster `cluster` describes: `--kube-version`, and for a render
/// `--api-versions` once per entry (`helm lint` takes only the version).
fn cluster_args(cluster: &RenderConfig, render: bool) -> Vec<String> {
    let mut args = Vec::new();
    if let Some(v) = &cluster.kube_version {
        args.push(format!("--kube-version={v}"));
    }
    if render {
        for api in cluster.api_versions.iter().flatten() {
            args.push(format!("--api-versions={api}"));
        }
    }
    args
}

pub fn lint(
    tools: &Tools,
    sb: &Sandbox,
    deps: &Dependencies,
    values: &[String],
    cluster: &RenderConfig,
) -> Result<Step> {
    let mut step = dependency_build(tools, sb, deps)?;
    if !step.ok {
        return Ok(step);
    }
    let mut args = vec!["lint".to_string(), ".".to_string()];
    args.extend(cluster_args(cluster, false));
    args.extend(values_args(values));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(tools, sb, &refs)?;
    step.append(&out);
    step.require_said(&out, "helm", "helm lint", " 0 chart(s) failed");
    Ok(step)
}

/// `helm template`: the manifests, and a summary of kinds and names.
pub fn render(
    tools: &Tools,
    sb: &Sandbox,
    deps: &Dependencies,
    release: &str,
    namespace: &str,
    values: &[String],
    cluster: &RenderConfig,
) -> Result<Step> {
    let mut step = dependency_build(tools, sb, deps)?;
    if !step.ok {
        return Ok(step);
    }
    let mut args = vec![
        "template".to_string(),
        "--namespace".to_string(),
        namespace.to_string(),
        // The chart's own CRDs (its crds/ folder) are part of what it delivers.
        "--include-crds".to_string(),
    ];
    args.extend(cluster_args(cluster, true));
    args.extend(values_args(values));
    // The release is the chart's directory name: after `--`, so that one starting with a
    // dash (`charts/--set=x=y`) is a name helm judges, never an option it takes.
    args.extend(["--".to_string(), release.to_string(), ".".to_string()]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(tools, sb, &refs)?;
    step.log.extend_from_slice(&out.stderr);
    step.ok = out.success;
    step.interrupted |= out.interrupted;
    step.tool_ms += out.duration.as_millis() as u64;
    if out.success {
        let text = String::from_utf8_lossy(&out.stdout);
        // A wrapper that lost helm's exit code passes its error text on as the render.
        if let Some(why) = not_manifests(&text) {
            step.ok = false;
            step.log.extend_from_slice(
                format!("strata: `helm template` exited 0, but {why}: the render is not trusted (a wrapper script that loses helm's exit code, or a program that is not helm?)\n").as_bytes(),
            );
            return Ok(step);
        }
        step.summary = StepSummary::Render(summarize_manifests(&text));
        step.blobs.insert("manifests.yaml".into(), out.stdout);
    }
    Ok(step)
}

/// Why `out` is not what `helm template` prints, or `None` when it may be: helm starts
/// every document it renders with `---` and a `# Source:` line, and prints nothing else
/// on stdout (warnings and errors go to stderr), so output that holds anything but
/// whitespace before its first `---` came from something besides helm (its error text,
/// passed on by a wrapper that lost the exit code). Documents themselves are not judged:
/// helm's YAML reader takes what strict ones refuse (a key given twice keeps the last).
fn not_manifests(out: &str) -> Option<String> {
    let text = out.trim_start();
    if text.is_empty() || text.starts_with("---") {
        return None;
    }
    let first: String = text.lines().next().unwrap_or("").chars().take(80).collect();
    Some(format!(
        "its output does not start with a document as helm's does: `{first}`"
    ))
}

/// Counts rendered objects by kind and lists `Kind/name`. Documents that are not objects
/// with a `kind` (comments only, empty) are not counted.
pub fn summarize_manifests(yaml: &str) -> RenderSummary {
    #[derive(serde::Deserialize)]
    struct Object {
        kind: Option<String>,
        metadata: Option<Metadata>,
    }
    #[derive(serde::Deserialize)]
    struct Metadata {
        name: Option<String>,
    }
    let mut kinds: BTreeMap<String, u32> = BTreeMap::new();
    let mut objects = Vec::new();
    // After a syntax error the reader gives that same error for ever: the documents after
    // it cannot be read, and counting stops there.
    let mut last_error: Option<String> = None;
    for doc in serde_norway::Deserializer::from_str(yaml) {
        let (kind, metadata) = match Option::<Object>::deserialize(doc) {
            Ok(Some(Object {
                kind: Some(kind),
                metadata,
            })) => (kind, metadata),
            Ok(_) => continue,
            Err(e) => {
                let e = e.to_string();
                if last_error.as_ref() == Some(&e) {
                    break;
                }
                last_error = Some(e);
                continue;
            }
        };
        last_error = None;
        let name = metadata.and_then(|m| m.name).unwrap_or_default();
        *kinds.entry(kind.clone()).or_default() += 1;
        objects.push(format!("{kind}/{name}"));
    }
    RenderSummary {
        objects: objects.len(),
        kinds,
        names: objects,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_cluster_becomes_helms_flags_one_api_version_each() {
        use strata_graph::manifest::RenderConfig;
        let cluster = RenderConfig {
            kube_version: Some("1.30.2".into()),
            api_versions: Some(vec![
                "monitoring.coreos.com/v1".into(),
                "cert-manager.io/v1/Certificate".into(),
            ]),
        };
        assert_eq!(
            super::cluster_args(&cluster, true),
            [
                "--kube-version=1.30.2",
                "--api-versions=monitoring.coreos.com/v1",
                "--api-versions=cert-manager.io/v1/Certificate"
            ]
        );
        assert_eq!(
            super::cluster_args(&cluster, false),
            ["--kube-version=1.30.2"]
        );
        assert!(super::cluster_args(&RenderConfig::default(), true).is_empty());
    }

    #[test]
    fn output_that_is_not_manifests_is_told_apart() {
        use super::not_manifests;
        assert_eq!(not_manifests(""), None);
        assert_eq!(not_manifests("\n"), None);
        assert_eq!(
            not_manifests("---\n# Source: c/templates/none.yaml\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"),
            None
        );
        // A key given twice is helm's to accept (it keeps the last), not strata's to refuse.
        assert_eq!(
            not_manifests("---\n# Source: c/templates/cm.yaml\nmetadata:\n  labels:\n    app: a\n    app: a\n"),
            None
        );
        let error = "Error: template: c/templates/cm.yaml:3:11: executing \"c/templates/cm.yaml\" at <.Values.x.y>: nil pointer evaluating interface {}.y\n";
        assert!(not_manifests(error)
            .unwrap()
            .contains("`Error: template: c/templates"));
        assert!(not_manifests("apiVersion: v1\nmetadata: {}\n").is_some());
    }

    #[test]
    fn counts_rendered_objects() {
        let yaml = "---\n# Source: api/templates/service.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: api\n  labels:\n    name: nope\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: \"api\"\nspec: {}\n";
        let s = super::summarize_manifests(yaml);
        assert_eq!(s.objects, 2);
        assert_eq!(s.kinds["Deployment"], 1);
        assert_eq!(s.names[0], "Service/api");
    }

    /// Output cut short inside a document (a tool whose writes failed) is counted up to
    /// the syntax error, and counting ends: the reader repeats that error for ever.
    #[test]
    fn counting_ends_at_a_syntax_error() {
        let yaml = "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \"b\n  labels: [x\n";
        let s = super::summarize_manifests(yaml);
        assert_eq!(s.objects, 1);
        // A document that is YAML but no object with a kind is passed over, and the rest
        // still counted.
        let yaml = "---\nkind: [1\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n";
        assert!(super::summarize_manifests(yaml).objects <= 1);
        let yaml = "---\nkind: 3\nmetadata: 4\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n";
        assert_eq!(super::summarize_manifests(yaml).objects, 1);
    }

    /// The build runs for any `file://` dependency (a package of it may be older than its
    /// source), and for one from elsewhere that `charts/` lacks; a package is told by its
    /// name and a version, not by a name that merely starts the same.
    #[test]
    fn dependencies_are_built_unless_charts_holds_them_all() {
        use strata_graph::chart::ChartDependency;
        let dep = |name: &str, repository: &str| ChartDependency {
            name: name.into(),
            repository: repository.into(),
            version: String::new(),
            line: 1,
        };
        let dir = tempfile::tempdir().unwrap();
        let charts = dir.path().join("charts");
        let needs = |deps: &[ChartDependency]| super::needs_build(&charts, deps);
        assert!(!needs(&[]));
        let remote = [dep("web", "https://charts.example"), dep("sub", "")];
        assert!(needs(&remote), "no charts/ yet");
        std::fs::create_dir_all(charts.join("sub")).unwrap();
        std::fs::write(charts.join("web-extras-0.1.0.tgz"), "").unwrap();
        assert!(needs(&remote), "web-extras is not web");
        std::fs::write(charts.join("web-1.2.3.tgz"), "").unwrap();
        assert!(!needs(&remote), "all vendored or packaged");
        // A stale package of a workspace chart does not stop the build.
        std::fs::write(charts.join("lib-0.0.9.tgz"), "").unwrap();
        assert!(needs(&[dep("lib", "file://../lib")]));
    }
}
