//! Delivery: an environment's GitOps output, made from the graph, the charts' renders and
//! the environment's settings (see `strata_gitops` for the files).
//!
//! The charts' renders are the run layer's cached render tasks: `gitops render` runs them
//! (served from the cache when nothing changed) and reads their manifests back from the
//! cache. A chart reading a sensitive upstream output is refused in the formats that put
//! rendered manifests in git; `flux-helm` passes such inputs from a Secret instead.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use strata_exec::schedule::Status;
use strata_gitops::{Chart, Format, Settings, Stack};
use strata_graph::discover::Kind;
use strata_graph::error::{Error, Location};
use strata_graph::id::TargetId;
use strata_graph::manifest::GitopsConfig;
use strata_graph::model::Model;
use strata_graph::session::{Session, View};
use strata_graph::workspace::WORKSPACE_FILE;
use strata_graph::Result;
use strata_run::task::{Action, Mode, Task};
use strata_run::{Observer, RunOptions, RunReport, Scope};

/// The file marking a directory as strata's output (it is replaced whole).
pub const MARKER: &str = ".strata-gitops";

/// One environment's output.
#[derive(Debug, Clone)]
pub struct Output {
    pub env: String,
    pub format: Format,
    /// The output's path in the repository (`deploy/dev`).
    pub path: String,
    pub files: BTreeMap<String, String>,
    /// The charts delivered.
    pub charts: Vec<String>,
}

/// The environment's delivery settings: env.toml's `[gitops]` over WORKSPACE.toml's, then
/// defaults; `format` (from the command line) over both.
pub fn settings(
    session: &Session,
    model: &Model,
    env: &str,
    format: Option<&str>,
) -> Result<Settings> {
    let environment = model.environment(env).ok_or_else(|| Error::Usage {
        message: format!("`{env}` is not an environment"),
        hint: "list them with `strata list`".into(),
    })?;
    let cfg = config(model, environment);
    let format_name = format
        .map(str::to_string)
        .or(cfg.format.clone())
        .unwrap_or_else(|| "argocd".into());
    let format = Format::parse(&format_name).ok_or_else(|| Error::Usage {
        message: format!("`{format_name}` is not a GitOps output format"),
        hint: format!("use one of: {}", Format::NAMES.join(", ")),
    })?;
    let repo_url = cfg
        .repo_url
        .clone()
        .or_else(|| session.repo.config("remote.origin.url"))
        .ok_or_else(|| Error::Invalid {
            message: "GitOps output names the repository Argo CD or Flux read, and none is set".into(),
            location: Location::new(WORKSPACE_FILE, None),
            hint: "set it in WORKSPACE.toml: `[gitops]` `repo_url = \"https://git.example.com/org/repo.git\"` (or add a git remote `origin`)".into(),
        })?;
    let repo_url = fetchable_url(&repo_url, format).ok_or_else(|| Error::Invalid {
        message: format!("`{repo_url}` is not a URL a cluster can fetch the GitOps output from"),
        location: Location::new(WORKSPACE_FILE, None),
        hint: "set `[gitops]` `repo_url` to the repository's https:// or ssh:// URL".into(),
    })?;
    Ok(Settings {
        format,
        workspace: model.config.workspace.name.clone(),
        repo_url,
        revision: cfg
            .revision
            .clone()
            .unwrap_or_else(|| model.config.workspace.default_branch.clone()),
        path: output_path(&cfg, env),
        server: cfg
            .server
            .clone()
            .unwrap_or_else(|| "https://kubernetes.default.svc".into()),
        argocd_namespace: cfg
            .argocd_namespace
            .clone()
            .unwrap_or_else(|| "argocd".into()),
        flux_namespace: cfg
            .flux_namespace
            .clone()
            .unwrap_or_else(|| "flux-system".into()),
    })
}

/// The repository URL as Argo CD or Flux fetch it: `http(s)://` and `ssh://` as they are;
/// an scp-style `git@host:org/repo.git` as is for Argo CD and as `ssh://git@host/org/repo.git`
/// for Flux (whose GitRepository accepts only URLs); anything else (a local path) is no URL.
fn fetchable_url(url: &str, format: Format) -> Option<String> {
    if ["https://", "http://", "ssh://"]
        .iter()
        .any(|p| url.starts_with(p))
    {
        return Some(url.to_string());
    }
    let (user_host, path) = url.split_once(':')?;
    if !user_host.contains('@') || user_host.contains('/') || path.starts_with('/') {
        return None;
    }
    Some(match format {
        Format::FluxKustomize | Format::FluxHelm => format!("ssh://{user_host}/{path}"),
        _ => url.to_string(),
    })
}

/// The environment's `[gitops]`: env.toml's keys over WORKSPACE.toml's.
fn config(model: &Model, environment: &strata_graph::model::Environment) -> GitopsConfig {
    let base = model.config.gitops.clone().unwrap_or_default();
    base.overridden_by(&environment.config.gitops)
}

/// `output` once the environment's `[gitops] validate` command accepted it (run on the
/// output written to a temporary directory, named in its messages by the output's path in
/// the repository); `Ok(Err(its report))` when it refused it. Without a validator, `output`.
fn validated(
    session: &Session,
    model: &Model,
    output: Output,
) -> Result<std::result::Result<Output, String>> {
    let Some(argv) = model
        .environment(&output.env)
        .and_then(|e| config(model, e).validate)
    else {
        return Ok(Ok(output));
    };
    let staging = tempfile::Builder::new()
        .prefix("strata-gitops-check-")
        .tempdir()
        .map_err(|e| Error::write(std::env::temp_dir(), e))?;
    write_files(staging.path(), &output)?;
    let run = strata_exec::process::run_configured(
        &argv,
        &[staging.path().as_os_str()],
        &session.root,
    )
    .map_err(|e| Error::Invalid {
        message: format!("the GitOps validator `{}` cannot run: {e}", argv[0]),
        location: Location::new(WORKSPACE_FILE, None),
        hint: "install it, or correct `[gitops] validate` (in WORKSPACE.toml or the environment's env.toml; a program holding a `/` is relative to the workspace root)".into(),
    })?;
    if run.success {
        return Ok(Ok(output));
    }
    let report = String::from_utf8_lossy(&run.combined())
        .replace(&staging.path().display().to_string(), &output.path);
    let why = if run.interrupted {
        "the GitOps validator was interrupted".to_string()
    } else {
        let said = strata_run::report::tail(&report, 40);
        let said = said.trim_end();
        format!(
            "`{}` refused the output ({}){}",
            argv.join(" "),
            run.code
                .map_or("killed by a signal".to_string(), |c| format!("exit {c}")),
            if said.trim().is_empty() {
                ", saying nothing".to_string()
            } else {
                format!(":\n{said}")
            }
        )
    };
    Ok(Err(why))
}

fn output_path(cfg: &GitopsConfig, env: &str) -> String {
    cfg.output_path(env)
}

/// Where `apply` and `promote apply` write `env`'s output in the checkout: `None` when the
/// workspace has no `[gitops]` section.
/// Before an apply in `env` changes anything: the GitOps output, when the environment has
/// one, is remade from the lock after the apply, which renders its charts; helm missing
/// must stop the apply first, not leave the lock and the output unrecorded after it.
pub fn check_tools(session: &Session, model: &Model, env: &str) -> Result<()> {
    if configured_dir(&session.root, model, env).is_none()
        || delivered_charts(model, env).is_empty()
    {
        return Ok(());
    }
    let why = format!(": the GitOps output of {env} is made from its charts after every apply");
    strata_run::find_tool(session, "helm", &why).map(|_| ())
}

pub fn configured_dir(root: &Path, model: &Model, env: &str) -> Option<PathBuf> {
    let base = model.config.gitops.as_ref()?;
    let cfg = match model.environment(env) {
        Some(e) => base.overridden_by(&e.config.gitops),
        None => base.clone(),
    };
    Some(root.join(output_path(&cfg, env)))
}

/// The charts delivered in `env`: applications deployed there; not libraries, and not
/// subcharts vendored in another chart's `charts/` (they are delivered inside it).
pub fn delivered_charts(model: &Model, env: &str) -> Vec<TargetId> {
    model
        .iter()
        .filter(|(_, t)| {
            t.kind == Kind::Chart
                && is_delivered(model, t)
                && t.environments.iter().any(|e| e == env)
        })
        .map(|(i, _)| i)
        .collect()
}

/// Whether a target is delivered on its own: a stack, or an application chart that is not
/// vendored inside another chart.
pub fn is_delivered(model: &Model, t: &strata_graph::model::Target) -> bool {
    match t.kind {
        Kind::Stack => true,
        Kind::Chart => {
            t.chart.as_ref().is_none_or(|c| c.chart_type != "library")
                && !model.is_subchart(&t.label)
        }
        _ => false,
    }
}

/// The release name a chart renders with: its directory's name (the chart's own name at the
/// workspace root), as the run layer's render uses.
fn release_name(t: &strata_graph::model::Target) -> String {
    match strata_graph::discover::label_dir(&t.label) {
        "" => t
            .chart
            .as_ref()
            .map_or("release", |c| c.name.as_str())
            .to_string(),
        dir => dir.rsplit('/').next().unwrap_or(dir).to_string(),
    }
}

/// Graph depth of each target deployed in `env` (stacks and charts), indexed by target:
/// 0 without dependencies among them, else one more than the deepest.
fn depths(model: &Model, env: &str) -> Vec<usize> {
    let n = model.targets.len();
    // Library charts and vendored subcharts are not delivered: they order nothing.
    let deployed = |i: TargetId| {
        let t = &model[i];
        is_delivered(model, t) && t.environments.iter().any(|e| e == env)
    };
    let mut depth: Vec<Option<usize>> = vec![None; n];
    fn visit(
        model: &Model,
        i: TargetId,
        deployed: &dyn Fn(TargetId) -> bool,
        depth: &mut Vec<Option<usize>>,
    ) -> usize {
        if let Some(d) = depth[i] {
            return d;
        }
        let mut d = 0;
        for dep in &model.targets[i].deps {
            if let Some(j) = model.index(&dep.label) {
                if deployed(j) {
                    d = d.max(visit(model, j, deployed, depth) + 1);
                }
            }
        }
        depth[i] = Some(d);
        d
    }
    model
        .ids()
        .map(|i| visit(model, i, &deployed, &mut depth))
        .collect()
}

/// Deep-merges `over` into `base` (maps merge, everything else is replaced).
fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, o) => *b = o,
    }
}

/// Renders `env`'s charts from the work tree and builds the output. The report is the
/// render run's; `None` when a render failed (its task says why).
pub fn render(
    session: &Session,
    view: &View,
    env: &str,
    format: Option<&str>,
    base: &RunOptions,
    observer: &dyn Observer,
) -> Result<(RunReport, std::result::Result<Output, String>)> {
    let model = &view.model;
    let settings = settings(session, model, env, format)?;
    let charts = delivered_charts(model, env);
    let labels: Vec<String> = charts
        .iter()
        .map(|&i| model.targets[i].label.clone())
        .collect();
    let (base, _scratch) = with_render_cache(base)?;
    let opts = RunOptions {
        mode: Mode::Plan,
        envs: vec![env.to_string()],
        keep_going: true,
        ..base
    };
    let report = if labels.is_empty() {
        RunReport::new(Vec::new(), false, false)
    } else {
        let selection = strata_run::select(session, view, &Scope::Labels(labels.clone()))?;
        strata_run::run(session, view, &selection, &opts, observer)?
    };
    if !report.ok {
        return Ok((report, Err("a chart's render did not pass".into())));
    }
    let output = match build(session, view, env, settings, &charts, &report, &opts)? {
        Ok(output) => validated(session, model, output)?,
        Err(why) => Err(why),
    };
    Ok((report, output))
}

/// The manifests a render task of `report` stored in the cache, for `label`.
fn rendered(cache: &strata_cache::Cache, report: &RunReport, label: &str) -> Option<Vec<u8>> {
    let render = report
        .tasks
        .iter()
        .find(|r| r.label == label && r.action == Action::Render && r.status == Status::Ok)?;
    let key = strata_graph::digest::TaskKey::from_hex(render.key.as_deref()?)?;
    match cache.lookup(&key) {
        Ok(Some(hit)) => hit.blobs.get("manifests.yaml").cloned(),
        _ => None,
    }
}

/// What one chart is delivered from.
struct Source<'a> {
    /// The view the chart is modelled in (the work tree, or the commit its lock entry names).
    view: &'a View,
    /// The view the environment's own files are read from: the work tree, or, for a chart
    /// of a lock, the commit of the environment's files it was applied with (a promoted
    /// chart's are HEAD's at the promotion, whatever commit its code is at).
    env_view: &'a View,
    /// That view's environment files (made once per view, not per chart).
    env_files: &'a strata_graph::model::EnvironmentFiles,
    label: String,
    manifests: Vec<u8>,
    depth: usize,
    chart_deps: Vec<String>,
    stack_deps: Vec<String>,
    /// The commit its lock entry names (`None`: rendered from the work tree).
    commit: Option<String>,
}

/// Builds a chart's delivery: its values from the environment's files (as of the source's
/// view) and the upstream outputs it reads, the sensitive ones by name only.
fn chart_of(
    session: &Session,
    env: &str,
    states: &strata_run::states::States,
    head: &Model,
    source: Source,
) -> Result<Chart> {
    let model = &source.view.model;
    let i = model.index(&source.label).ok_or_else(|| Error::Usage {
        message: format!(
            "{} is not a target at the commit its lock entry names",
            source.label
        ),
        hint: "the release lock is damaged: restore it from git".into(),
    })?;
    let t = &model.targets[i];
    let paths: Vec<&str> = source
        .env_files
        .for_target(env, &t.label)
        .filter(|p| p.ends_with(".yaml") || p.ends_with(".yml"))
        .collect();
    let mut values = Value::Object(Default::default());
    for (path, text) in source.env_view.texts(&session.repo, &paths)? {
        // As helm reads a values file (YAML 1.1, as its YAML library does): `off` is
        // false, `0755` is 493, merge keys are merged. Read as YAML 1.2, the HelmRelease
        // would carry values other than those strata's render had. Its documents are
        // split and merged as helm does it (see `values_documents`).
        let docs = strata_policy::yaml::values_documents(&text).map_err(|e| Error::Malformed {
            what: "YAML",
            location: Location::new(path.clone(), e.line.map(|l| l as usize)),
            message: e.message,
        })?;
        for v in docs.into_iter().filter(|v| !v.is_null()) {
            merge(&mut values, v);
        }
    }
    // The chart's secrets file: its keys are sensitive values, by name only (never
    // decrypted here).
    let own = format!(
        "environments/{env}/{}/",
        strata_graph::discover::label_dir(&t.label)
    );
    let secrets: Vec<&str> = source
        .env_files
        .for_target(env, &t.label)
        .filter(|p| p.starts_with(&own) && strata_run::secrets::is_secrets_file(p))
        .collect();
    let mut sensitive = Vec::new();
    // Each leaf a secrets file sets (`db.password`): the Secret's values document holds it
    // at that path, and the rest of its table (`db.host` from the values file) stays inline.
    for (_, text) in source.env_view.texts(&session.repo, &secrets)? {
        for path in strata_run::secrets::leaf_paths(&text) {
            if !sensitive.contains(&path) {
                sensitive.push(path);
            }
        }
    }
    if let Some(environment) = head.environment(env) {
        for inp in &t.inputs {
            let Some(j) = head.index(&inp.label) else {
                continue;
            };
            let state = states.state_of(j, environment)?;
            // An output carrying a secret of the stack's is sensitive, whatever terraform
            // marks; when that cannot be told (no identity here), the render is refused.
            let carried = states.carried(j, environment)?;
            if let strata_run::states::Carried::Unknown(why) = &*carried {
                return Err(Error::Usage {
                    message: format!(
                        "{} reads `{}` of {}, and whether it carries a secret cannot be told: {why}",
                        t.label, inp.output, inp.label
                    ),
                    hint: "deliver with the environment's identity (STRATA_AGE_KEY_FILE or an SSH key its secrets are encrypted for)".into(),
                });
            }
            match state.as_ref().and_then(|s| s.outputs.get(&inp.output)) {
                Some(o) if o.sensitive || carried.carries(&inp.output) => {
                    sensitive.push(vec![inp.variable.clone()])
                }
                Some(o) => merge(
                    &mut values,
                    serde_json::json!({ inp.variable.clone(): o.value.clone() }),
                ),
                None => {}
            }
        }
    }
    Ok(Chart {
        label: t.label.clone(),
        release: release_name(t),
        dir: strata_graph::discover::label_dir(&t.label).to_string(),
        depth: source.depth,
        chart_deps: source.chart_deps,
        stack_deps: source.stack_deps,
        namespace: env.to_string(),
        manifests: source.manifests,
        values,
        sensitive_inputs: sensitive,
        commit: source.commit,
    })
}

/// The GitOps output is made from renders read back from a cache: with `--no-cache` (which
/// must neither read nor write `.strata/cache`) that is a private, empty one of this run,
/// removed when the returned directory is dropped, and no remote cache is used.
fn with_render_cache(base: &RunOptions) -> Result<(RunOptions, Option<tempfile::TempDir>)> {
    if base.use_cache {
        return Ok((base.clone(), None));
    }
    let scratch = tempfile::Builder::new()
        .prefix("strata-renders-")
        .tempdir()
        .map_err(|e| Error::write(std::env::temp_dir(), e))?;
    let opts = RunOptions {
        use_cache: true,
        remote: None,
        cache_dir: Some(scratch.path().to_path_buf()),
        ..base.clone()
    };
    Ok((opts, Some(scratch)))
}

/// The states of the stacks `charts` read outputs of.
fn states_for<'a>(
    session: &'a Session,
    view: &'a View,
    env: &str,
    inputs: impl Iterator<Item = String>,
) -> Result<strata_run::states::States<'a>> {
    let model = &view.model;
    let upstream: Vec<Task> = inputs
        .filter_map(|label| model.index(&label))
        .map(|j| Task {
            target: j,
            action: Action::Plan,
            env: Some(env.to_string()),
            deps: Vec::new(),
        })
        .collect();
    let tools = strata_run::resolve_tools(session, &upstream, model, false)?;
    Ok(strata_run::states::States::new(session, view, tools))
}

fn build(
    session: &Session,
    view: &View,
    env: &str,
    settings: Settings,
    charts: &[TargetId],
    report: &RunReport,
    opts: &RunOptions,
) -> Result<std::result::Result<Output, String>> {
    let model = &view.model;
    let cache = strata_run::open_cache(session, opts, std::sync::Arc::new(|_| {}))?;
    let states = states_for(
        session,
        view,
        env,
        charts
            .iter()
            .flat_map(|&i| model.targets[i].inputs.iter().map(|inp| inp.label.clone())),
    )?;
    let depth = depths(model, env);
    let env_files = model.environment_files(&view.snapshot);
    let mut out = Vec::new();
    let mut stacks = BTreeMap::new();
    for &i in charts {
        let t = &model.targets[i];
        let Some(manifests) = rendered(&cache, report, &t.label) else {
            let unpinned = strata_exec::helm::Dependencies::of_target(t).unpinned;
            if !unpinned.is_empty() {
                let names = strata_exec::helm::named(unpinned.iter().copied());
                return Ok(Err(format!(
                    "{} depends on {} with no Chart.lock pinning the version: what it renders can change with nothing in the repository changing, so it is never cached and cannot be delivered from a verified render; pin it (`helm dependency update`, commit Chart.lock) or vendor it into its charts/",
                    t.label,
                    names
                )));
            }
            return Ok(Err(format!(
                "{}'s render is not in the cache (run without --no-cache)",
                t.label
            )));
        };
        let mut chart_deps = Vec::new();
        let mut stack_deps = Vec::new();
        for d in &t.deps {
            let Some(j) = model.index(&d.label) else {
                continue;
            };
            let dep = &model.targets[j];
            if !dep.environments.iter().any(|e| e == env) {
                continue;
            }
            match dep.kind {
                Kind::Chart if is_delivered(model, dep) => chart_deps.push(dep.label.clone()),
                Kind::Stack => {
                    stack_deps.push(dep.label.clone());
                    stacks.insert(dep.label.clone(), j);
                }
                _ => {}
            }
        }
        out.push(chart_of(
            session,
            env,
            &states,
            model,
            Source {
                view,
                env_view: view,
                env_files: &env_files,
                label: t.label.clone(),
                manifests,
                depth: depth[i],
                chart_deps,
                stack_deps,
                commit: None,
            },
        )?);
    }
    let lock = crate::lock::ReleaseLock::read(&session.root, env)?;
    finish(env, settings, out, stacks.into_keys().collect(), &lock)
}

fn finish(
    env: &str,
    settings: Settings,
    charts: Vec<Chart>,
    stack_labels: Vec<String>,
    lock: &crate::lock::ReleaseLock,
) -> Result<std::result::Result<Output, String>> {
    let stacks: Vec<Stack> = stack_labels
        .into_iter()
        .map(|label| Stack {
            hash: lock.targets.get(&label).map(|e| e.hash.clone()),
            commit: lock.targets.get(&label).map(|e| e.commit.clone()),
            label,
        })
        .collect();
    let path = settings.path.clone();
    let format = settings.format;
    match strata_gitops::render(env, &settings, &charts, &stacks) {
        Ok(files) => Ok(Ok(Output {
            env: env.to_string(),
            format,
            path,
            files,
            charts: charts.iter().map(|c| c.label.clone()).collect(),
        })),
        Err(e) => Ok(Err(e.to_string())),
    }
}

/// The environment's output as its release lock says: each chart the lock names rendered
/// with its code at the commit its entry records (renders run in temporary worktrees, served
/// from this checkout's cache when unchanged), ordered by the dependencies the lock
/// recorded. `Err` (with why) when a render fails or a render is not what was verified.
pub fn from_lock(
    session: &Session,
    head: &View,
    env: &str,
    lock: &crate::lock::ReleaseLock,
    base: &RunOptions,
    observer: &dyn Observer,
) -> Result<std::result::Result<Output, String>> {
    let settings = settings(session, &head.model, env, None)?;
    let kind_of = |label: &str| lock.targets.get(label).map(|e| e.kind.as_str());
    let charts: BTreeMap<&String, &crate::lock::LockEntry> = lock
        .targets
        .iter()
        .filter(|(_, e)| e.kind == "chart")
        .collect();
    // Depth by the lock's dependencies (stacks and charts deployed there).
    let mut depth: BTreeMap<&str, usize> = BTreeMap::new();
    fn visit<'l>(
        lock: &'l crate::lock::ReleaseLock,
        label: &'l str,
        depth: &mut BTreeMap<&'l str, usize>,
        seen: usize,
    ) -> usize {
        if let Some(d) = depth.get(label) {
            return *d;
        }
        let d = lock.targets.get(label).map_or(0, |e| {
            e.deps
                .iter()
                .filter(|d| lock.targets.contains_key(*d) && seen < lock.targets.len())
                .map(|d| visit(lock, d, depth, seen + 1) + 1)
                .max()
                .unwrap_or(0)
        });
        depth.insert(label, d);
        d
    }
    for label in charts.keys() {
        visit(lock, label, &mut depth, 0);
    }
    // By the commit of each chart's code and the commit of the environment's files it was
    // applied with (a promoted chart's are HEAD's at the promotion).
    let mut by_commit: BTreeMap<(&str, &str), Vec<String>> = BTreeMap::new();
    for (label, e) in &charts {
        by_commit
            .entry((e.commit.as_str(), e.env_files_commit()))
            .or_default()
            .push((*label).clone());
    }
    let (base, _scratch) = with_render_cache(base)?;
    let opts = RunOptions {
        cache_dir: Some(
            base.cache_dir
                .clone()
                .unwrap_or_else(|| session.root.join(&session.config.cache.dir)),
        ),
        ..base
    };
    let cache = strata_run::open_cache(session, &opts, std::sync::Arc::new(|_| {}))?;
    let states = states_for(
        session,
        head,
        env,
        lock.targets
            .iter()
            .filter(|(_, e)| e.kind == "stack")
            .map(|(l, _)| l.clone()),
    )?;
    let mut out = Vec::new();
    let mut stack_labels = std::collections::BTreeSet::new();
    for ((commit, files_commit), labels) in by_commit {
        let applied_with = session.at_commit(files_commit)?;
        let env_files = applied_with.model.environment_files(&applied_with.snapshot);
        let report = crate::verify::run_labels(
            session,
            None,
            Some(commit),
            &labels,
            Mode::Plan,
            env,
            &RunOptions {
                env_files_from: Some(files_commit.to_string()),
                ..opts.clone()
            },
            observer,
        )?;
        if !report.ok {
            return Ok(Err(format!(
                "rendering {} at {} did not pass",
                labels.join(", "),
                &commit[..12.min(commit.len())]
            )));
        }
        let at = session.at_commit(commit)?;
        for label in labels {
            let entry = charts[&label];
            let Some(manifests) = rendered(&cache, &report, &label) else {
                return Ok(Err(format!(
                    "{label}'s render at {commit} is not in the cache"
                )));
            };
            if let Some(expected) = &entry.rendered {
                if blake3::hash(&manifests).to_hex().as_str() != expected {
                    return Ok(Err(format!(
                        "{label} renders differently now than when it was verified in {env} (its upstream outputs changed?): apply or promote it again"
                    )));
                }
            }
            let (chart_deps, stack_deps): (Vec<String>, Vec<String>) = entry
                .deps
                .iter()
                .filter(|d| kind_of(d).is_some())
                .cloned()
                .partition(|d| kind_of(d) == Some("chart"));
            stack_labels.extend(stack_deps.iter().cloned());
            out.push(chart_of(
                session,
                env,
                &states,
                &head.model,
                Source {
                    view: &at,
                    env_view: &applied_with,
                    env_files: &env_files,
                    label: label.clone(),
                    manifests,
                    depth: depth[label.as_str()],
                    chart_deps,
                    stack_deps,
                    commit: Some(commit.to_string()),
                },
            )?);
        }
    }
    match finish(env, settings, out, stack_labels.into_iter().collect(), lock)? {
        Ok(output) => validated(session, &head.model, output),
        Err(why) => Ok(Err(why)),
    }
}

/// Writes `env`'s output for `lock` into the configured directory, when the workspace has
/// `[gitops]`: `Ok(None)` when it has none, `Err` (why) when the output cannot be made.
pub fn deliver(
    session: &Session,
    head: &View,
    env: &str,
    lock: &crate::lock::ReleaseLock,
    base: &RunOptions,
    observer: &dyn Observer,
) -> Result<std::result::Result<Option<PathBuf>, String>> {
    let Some(dir) = configured_dir(&session.root, &head.model, env) else {
        return Ok(Ok(None));
    };
    match from_lock(session, head, env, lock, base, observer)? {
        Ok(output) => {
            write(&dir, &output)?;
            Ok(Ok(Some(dir)))
        }
        Err(why) => Ok(Err(why)),
    }
}

/// Writes `output` into `dir`, replacing what strata wrote there before, whole: a reader
/// sees the old or the new tree. Refuses a non-empty directory strata did not write.
pub fn write(dir: &Path, output: &Output) -> Result<()> {
    stage(dir, output)?.commit()
}

/// An output written beside the directory it will replace, not yet in its place.
pub struct Staged {
    dir: std::path::PathBuf,
    fresh: tempfile::TempDir,
}

/// The line of the marker after which it lists the files strata wrote.
const LISTED: &str = "files:";

/// The files a marker lists as strata's; `None` for a marker of an earlier strata, which
/// listed none.
fn listed_files(marker: &str) -> Option<BTreeSet<&str>> {
    let (_, list) = marker.split_once(&format!("\n{LISTED}\n"))?;
    Some(list.lines().filter(|l| !l.is_empty()).collect())
}

/// Refuses an output directory that a symbolic link on its way leads out of the workspace:
/// what strata wrote there could not be committed with the lock, nor read by Argo CD or
/// Flux from the repository.
fn inside_workspace(root: &Path, dir: &Path) -> Result<()> {
    let Ok(real_root) = root.canonicalize() else {
        return Ok(());
    };
    let Some(existing) = dir.ancestors().find(|a| a.exists()) else {
        return Ok(());
    };
    let real = existing
        .canonicalize()
        .map_err(|e| Error::io(existing, e))?;
    if real.starts_with(&real_root) {
        return Ok(());
    }
    let shown = dir.strip_prefix(root).unwrap_or(dir);
    Err(Error::Invalid {
        message: format!(
            "the GitOps output directory {} leads out of the workspace, to {}",
            shown.display(),
            real.display()
        ),
        location: Location::new(WORKSPACE_FILE, None),
        hint: "a symbolic link on its way points elsewhere: give `[gitops] path` a directory inside the repository, with no link leading out of it; nothing was changed".into(),
    })
}

/// Whether `delivered` is the marker an earlier strata wrote for what is now `expected`:
/// the same text without the list of files.
pub fn is_unlisted_marker(expected: &str, delivered: &str) -> bool {
    listed_files(delivered).is_none()
        && expected
            .strip_prefix(delivered)
            .is_some_and(|rest| rest.starts_with(&format!("{LISTED}\n")))
}

/// Refuses an output directory another environment's output also goes to, or that holds
/// or lies inside another's: each is replaced whole, so one would delete the other.
fn shared_output(root: &Path, model: &Model, env: &str, dir: &Path) -> Result<()> {
    for other in model.environments.iter().filter(|e| e.name != env) {
        let Some(theirs) = configured_dir(root, model, &other.name) else {
            continue;
        };
        if theirs.starts_with(dir) || dir.starts_with(&theirs) {
            return Err(Error::Invalid {
                message: format!(
                    "the GitOps output of {env} ({}) and of {} ({}) would overwrite each other",
                    dir.strip_prefix(root).unwrap_or(dir).display(),
                    other.name,
                    theirs.strip_prefix(root).unwrap_or(&theirs).display()
                ),
                location: Location::new(WORKSPACE_FILE, None),
                hint: "give each environment its own directory: put `{env}` in `[gitops] path` (the default is `deploy/{env}`), and let no environment's `path` lie inside another's; nothing was changed".into(),
            });
        }
    }
    Ok(())
}

/// Whether `dir` may be replaced whole: new, empty, or written by strata and holding no
/// file its marker does not list (one committed there by hand would be deleted).
fn replaceable(dir: &Path, env: &str) -> Result<()> {
    if let Ok(marker) = std::fs::read_to_string(dir.join(MARKER)) {
        // Another environment's output: replacing it would take that environment's
        // objects out of its cluster once committed.
        let owner = marker
            .strip_prefix("GitOps output of environment ")
            .and_then(|rest| rest.split_once(" ("))
            .map(|(owner, _)| owner);
        if let Some(owner) = owner.filter(|o| *o != env) {
            return Err(Error::Invalid {
                message: format!(
                    "{} holds the GitOps output of environment {owner}, and {env}'s would replace it",
                    dir.display()
                ),
                location: Location::new(dir.display().to_string(), None),
                hint: "give each environment its own directory (`[gitops] path` with `{env}` in it, as the default `deploy/{env}`); nothing was changed".into(),
            });
        }
        if let Some(listed) = listed_files(&marker) {
            let foreign: Vec<String> = read_tree(dir)?
                .into_keys()
                .filter(|f| f != MARKER && !listed.contains(f.as_str()))
                .collect();
            if !foreign.is_empty() {
                return Err(Error::Invalid {
                    message: format!(
                        "{} holds files strata did not write: {}",
                        dir.display(),
                        foreign.join(", ")
                    ),
                    location: Location::new(dir.display().to_string(), None),
                    hint: "move them out of the directory (strata replaces its output directory whole, and would delete them); nothing was changed".into(),
                });
            }
        }
    }
    if dir.exists() && !dir.join(MARKER).exists() {
        let empty = std::fs::read_dir(dir)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !empty {
            return Err(Error::Invalid {
                message: format!("{} holds files strata did not write", dir.display()),
                location: Location::new(dir.display().to_string(), None),
                hint: "give an empty or new directory: strata replaces its output directory whole"
                    .into(),
            });
        }
    }
    Ok(())
}

/// Where the charts of the GitOps output an apply or a promotion will write are read from.
pub enum ChartsFrom<'a> {
    /// The work tree: what a plain apply delivers.
    WorkTree,
    /// Each chart (label) with the commit of the environment's files (its secrets file) it
    /// will be rendered with: the destination's release lock as a promotion will leave it.
    Commits {
        repo: &'a strata_graph::git::Repo,
        charts: &'a BTreeMap<String, String>,
    },
}

/// What can stop `env`'s GitOps output without looking at its content, checked before
/// anything changes (a promotion's waves): the directory can be replaced, the `[gitops]
/// validate` program can be found, and no chart's own secrets file would be written into
/// git.
pub fn check_ready(session: &Session, model: &Model, env: &str, charts: ChartsFrom) -> Result<()> {
    let root = &session.root;
    let Some(dir) = configured_dir(root, model, env) else {
        return Ok(());
    };
    inside_workspace(root, &dir)?;
    strata_gitops::check_environment_name(env).map_err(|e| Error::Invalid {
        message: e.to_string(),
        location: Location::new(format!("environments/{env}/env.toml"), None),
        hint: "environment names become namespaces and object names where `[gitops]` is set; nothing was changed".into(),
    })?;
    check_names(session, model, env)?;
    shared_output(root, model, env, &dir)?;
    replaceable(&dir, env)?;
    no_secrets_files_in_rendered(root, model, env, charts)?;
    let Some(argv) = model
        .environment(env)
        .and_then(|e| config(model, e).validate)
    else {
        return Ok(());
    };
    let program = &argv[0];
    let found = if program.contains('/') {
        is_executable(&root.join(program))
    } else {
        std::env::var_os("PATH").is_some_and(|path| {
            std::env::split_paths(&path).any(|d| is_executable(&d.join(program)))
        })
    };
    if found {
        return Ok(());
    }
    Err(Error::Invalid {
        message: format!(
            "the GitOps validator `{program}` of {env} cannot be found, or is not executable"
        ),
        location: Location::new(WORKSPACE_FILE, None),
        hint: "install it, or correct `[gitops] validate` (in WORKSPACE.toml or the environment's env.toml; a program holding a `/` is relative to the workspace root)".into(),
    })
}

/// The names the environment's output would give its objects, from the labels of what
/// deploys there (every chart the model delivers there, and the stacks they read): two
/// targets named alike (`stacks/caf` and `stacks/café`), or a name too long, are refused
/// before anything is applied, not after, when the output is made.
fn check_names(session: &Session, model: &Model, env: &str) -> Result<()> {
    let settings = settings(session, model, env, None)?;
    let mut stack_labels = BTreeSet::new();
    let charts: Vec<Chart> = model
        .targets
        .iter()
        .filter(|t| {
            t.kind == Kind::Chart
                && is_delivered(model, t)
                && t.environments.iter().any(|e| e == env)
        })
        .map(|t| {
            let stack_deps: Vec<String> = t
                .deps
                .iter()
                .filter(|d| {
                    model.target(&d.label).is_some_and(|dep| {
                        dep.kind == Kind::Stack && dep.environments.iter().any(|e| e == env)
                    })
                })
                .map(|d| d.label.clone())
                .collect();
            stack_labels.extend(stack_deps.iter().cloned());
            Chart {
                label: t.label.clone(),
                release: release_name(t),
                dir: strata_graph::discover::label_dir(&t.label).to_string(),
                depth: 0,
                chart_deps: Vec::new(),
                stack_deps,
                namespace: env.to_string(),
                manifests: Vec::new(),
                values: Value::Null,
                sensitive_inputs: Vec::new(),
                commit: None,
            }
        })
        .collect();
    let stacks: Vec<Stack> = stack_labels
        .into_iter()
        .map(|label| Stack {
            label,
            hash: None,
            commit: None,
        })
        .collect();
    strata_gitops::check_names(env, &settings, &charts, &stacks).map_err(|e| Error::Invalid {
        message: format!("the GitOps output of {env} cannot be made: {e}"),
        location: Location::new(WORKSPACE_FILE, None),
        hint: "nothing was changed; rename as it says, before the targets are applied (a stack's label locates its state)".into(),
    })
}

/// A rendered output (every format but `flux-helm`) refuses a chart that reads sensitive
/// values. Those of a chart's own secrets file are known from its key names before anything
/// runs, so such a chart stops an apply or a promotion before it changes anything, not
/// after. (The sensitive upstream outputs a chart reads are known only once its stacks
/// were applied.)
fn no_secrets_files_in_rendered(
    root: &Path,
    model: &Model,
    env: &str,
    from: ChartsFrom,
) -> Result<()> {
    let Some(environment) = model.environment(env) else {
        return Ok(());
    };
    let format = config(model, environment)
        .format
        .and_then(|f| Format::parse(&f))
        .unwrap_or(Format::ArgoCd);
    if !format.delivers_rendered() {
        return Ok(());
    }
    let path = |label: &str| {
        format!(
            "environments/{env}/{}/{}",
            strata_graph::discover::label_dir(label),
            strata_run::secrets::SECRETS_FILE
        )
    };
    let mut charts: Vec<(String, Vec<String>)> = Vec::new();
    match from {
        ChartsFrom::WorkTree => {
            for i in delivered_charts(model, env) {
                let label = &model.targets[i].label;
                if let Ok(text) = std::fs::read_to_string(root.join(path(label))) {
                    charts.push((label.clone(), strata_run::secrets::names(&text)));
                }
            }
        }
        ChartsFrom::Commits { repo, charts: at } => {
            let mut by_commit: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for (label, commit) in at {
                by_commit.entry(commit).or_default().push(label);
            }
            for (commit, labels) in by_commit {
                let snapshot = strata_graph::snapshot::Snapshot::at_commit(repo, commit)?;
                let paths: Vec<String> = labels.iter().map(|l| path(l)).collect();
                let present: Vec<&str> = paths
                    .iter()
                    .map(String::as_str)
                    .filter(|p| snapshot.files.contains_key(*p))
                    .collect();
                let texts: BTreeMap<String, String> =
                    snapshot.texts(repo, &present)?.into_iter().collect();
                for (label, p) in labels.iter().zip(&paths) {
                    if let Some(text) = texts.get(p) {
                        charts.push((label.to_string(), strata_run::secrets::names(text)));
                    }
                }
            }
        }
    }
    charts.retain(|(_, names)| !names.is_empty());
    charts.sort();
    if charts.is_empty() {
        return Ok(());
    }
    Err(Error::Invalid {
        message: strata_gitops::GitopsError::SensitiveInRendered { charts }.to_string(),
        location: Location::new(format!("environments/{env}/env.toml"), None),
        hint: format!("their keys are those of the charts' secrets files under environments/{env}/; nothing was applied"),
    })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Checks that `dir` may be replaced and writes `output` beside it: what can fail is done
/// before anything another file depends on changes (the release lock is written between
/// [`stage`] and [`Staged::commit`], so the two change together).
pub fn stage(dir: &Path, output: &Output) -> Result<Staged> {
    replaceable(dir, &output.env)?;
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| Error::write(parent, e))?;
    // What a killed run left beside the output (its staged tree, the old one it moved
    // aside) is strata's and goes: left there, `git add` would commit it. Runs in one
    // checkout take turns, so none of these is another run's.
    if let Ok(entries) = std::fs::read_dir(parent) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            if name.to_string_lossy().starts_with(".strata-gitops-")
                && entry.file_type().is_ok_and(|t| t.is_dir())
            {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let staging = tempfile::Builder::new()
        .prefix(".strata-gitops-")
        .tempdir_in(parent)
        .map_err(|e| Error::write(parent, e))?;
    write_files(staging.path(), output)?;
    Ok(Staged {
        dir: dir.to_path_buf(),
        fresh: staging,
    })
}

/// Writes `env`'s release lock, puts its staged GitOps output, if any, in place, and then
/// does `then` (puts the audit event that attests them into the ledger): all of it
/// changes or none (see [`crate::lock::ReleaseLock::write_with`]); when `then` fails, the
/// output and the lock are put back.
pub fn write_with_lock(
    root: &Path,
    env: &str,
    lock: &crate::lock::ReleaseLock,
    staged: Option<Staged>,
    then: impl FnOnce() -> Result<()>,
) -> Result<()> {
    match staged {
        None => lock.write_with(root, env, then),
        Some(staged) => lock.write_with(root, env, || staged.commit_then(then)),
    }
}

impl Staged {
    /// Puts the staged output in its directory's place (two renames).
    pub fn commit(self) -> Result<()> {
        self.commit_then(|| Ok(()))
    }

    /// Puts the staged output in its directory's place, then does `then`; when `then`
    /// fails, the previous output is put back (or, when there was none, the new one
    /// removed).
    pub fn commit_then(self, then: impl FnOnce() -> Result<()>) -> Result<()> {
        let dir = self.dir;
        let parent = dir.parent().unwrap_or(Path::new("."));
        // A new, empty directory's name (a directory replaces an empty one in a rename):
        // what an interrupted run left behind is never in the way.
        let old = tempfile::Builder::new()
            .prefix(".strata-gitops-old-")
            .tempdir_in(parent)
            .map_err(|e| Error::write(parent, e))?
            .keep();
        let fresh = self.fresh.keep();
        let existed = dir.exists();
        if existed {
            if let Err(e) = std::fs::rename(&dir, &old) {
                let _ = std::fs::remove_dir_all(&old);
                let _ = std::fs::remove_dir_all(&fresh);
                return Err(Error::write(&dir, e));
            }
        }
        if let Err(e) = std::fs::rename(&fresh, &dir) {
            let _ = std::fs::rename(&old, &dir);
            let _ = std::fs::remove_dir_all(&fresh);
            return Err(Error::write(&dir, e));
        }
        if let Err(e) = then() {
            let _ = std::fs::remove_dir_all(&dir);
            if existed {
                let _ = std::fs::rename(&old, &dir);
            }
            let _ = std::fs::remove_dir_all(&old);
            return Err(e);
        }
        let _ = std::fs::remove_dir_all(&old);
        Ok(())
    }
}

/// `output`'s files with the marker that makes their directory strata's: what is written,
/// and what drift compares the directory with.
pub fn with_marker(output: &Output) -> BTreeMap<String, String> {
    let mut files = output.files.clone();
    let mut marker = format!(
        "GitOps output of environment {} ({}), written by strata: do not edit; `strata drift` reports edits.\n{LISTED}\n",
        output.env,
        output.format.as_str()
    );
    for file in files.keys() {
        marker.push_str(file);
        marker.push('\n');
    }
    files.insert(MARKER.into(), marker);
    files
}

/// Writes `output`'s files and the marker into the empty directory `dir`.
fn write_files(dir: &Path, output: &Output) -> Result<()> {
    for (rel, text) in &with_marker(output) {
        let path = dir.join(rel);
        if let Some(p) = path.parent() {
            std::fs::create_dir_all(p).map_err(|e| Error::write(p, e))?;
        }
        std::fs::write(&path, text).map_err(|e| Error::write(&path, e))?;
    }
    Ok(())
}

/// The files under `dir` (as `write` would have written them, the marker included), for
/// comparison.
pub fn read_tree(dir: &Path) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) -> Result<()> {
        let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(dir, e))?;
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out)?;
            } else {
                let rel = path
                    .strip_prefix(root)
                    .expect("under root")
                    .to_string_lossy()
                    .into_owned();
                let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
                out.insert(rel, String::from_utf8_lossy(&bytes).into_owned());
            }
        }
        Ok(())
    }
    if dir.exists() {
        walk(dir, dir, &mut out)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_urls_are_ones_a_cluster_can_fetch() {
        let flux = Format::FluxKustomize;
        assert_eq!(
            fetchable_url("https://git.example.com/a.git", flux).as_deref(),
            Some("https://git.example.com/a.git")
        );
        assert_eq!(
            fetchable_url("git@github.com:acme/infra.git", flux).as_deref(),
            Some("ssh://git@github.com/acme/infra.git")
        );
        assert_eq!(
            fetchable_url("git@github.com:acme/infra.git", Format::ArgoCd).as_deref(),
            Some("git@github.com:acme/infra.git")
        );
        assert_eq!(fetchable_url("/work/main", flux), None);
        assert_eq!(fetchable_url("../infra", Format::ArgoCd), None);
    }

    fn output(files: &[(&str, &str)]) -> Output {
        Output {
            env: "dev".into(),
            format: Format::ArgoCd,
            path: "deploy/dev".into(),
            files: files
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            charts: Vec::new(),
        }
    }

    /// A directory an interrupted run left where the old output is moved aside (named after
    /// its process, whose number a later run may get) is not in the way, and goes.
    #[test]
    fn an_output_replaces_the_last_one_whatever_an_interrupted_run_left_behind() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("deploy/dev");
        stage(&dir, &output(&[("a.yaml", "1")]))
            .unwrap()
            .commit()
            .unwrap();
        let left = root
            .path()
            .join(format!("deploy/.strata-gitops-old-{}", std::process::id()));
        std::fs::create_dir_all(left.join("x")).unwrap();
        stage(&dir, &output(&[("b.yaml", "2")]))
            .unwrap()
            .commit()
            .unwrap();
        let tree = read_tree(&dir).unwrap();
        assert_eq!(tree.get("b.yaml").map(String::as_str), Some("2"));
        assert!(!tree.contains_key("a.yaml"), "{tree:?}");
        let mut names: Vec<String> = std::fs::read_dir(root.path().join("deploy"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["dev"]);
    }

    /// The output cannot be put in place (here: what was staged for a directory finds a
    /// file there, as when something changes the tree between staging and writing): the
    /// error names the place, the lock is not written, the file is as it was, and nothing
    /// staged is left beside it.
    #[test]
    fn an_output_that_cannot_be_put_in_place_leaves_the_lock_and_the_tree_as_they_were() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        let dir = root.join("deploy/dev");
        let staged = stage(&dir, &output(&[("a.yaml", "1")])).unwrap();
        std::fs::write(&dir, "in the way").unwrap();
        let lock = crate::lock::ReleaseLock {
            version: crate::lock::LOCK_VERSION,
            ..Default::default()
        };

        let e = write_with_lock(root, "dev", &lock, Some(staged), || Ok(())).unwrap_err();
        assert!(e.to_string().contains("deploy/dev"), "{e}");
        assert!(!crate::lock::lock_path(root, "dev").exists());
        assert_eq!(std::fs::read_to_string(&dir).unwrap(), "in the way");
        let names: Vec<String> = std::fs::read_dir(root.join("deploy"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["dev"]);
    }

    #[test]
    fn the_format_lists_agree() {
        assert_eq!(
            strata_gitops::Format::NAMES,
            strata_graph::manifest::GITOPS_FORMATS
        );
    }
}
