//! GitOps output: what Argo CD or Flux deliver for one environment.
//!
//! Given the charts deployed in an environment (each with its rendered manifests, its place
//! in the graph and its values) this writes, deterministically, the rendered manifests one
//! directory per chart (the rendered-manifests pattern: the cluster gets exactly what was
//! reviewed and policy-checked) and the objects that deliver them:
//!
//! | format | objects |
//! |---|---|
//! | `argocd` | an `AppProject` for the environment, an `Application` per chart with a sync wave from its graph depth |
//! | `argocd-appset` | the `AppProject`, and one `ApplicationSet` with a git directory generator over the chart directories |
//! | `flux-kustomize` | a `GitRepository`, a `Kustomization` per chart with `dependsOn` from the graph, and one per stack a chart reads (a release marker) |
//! | `flux-helm` | a `GitRepository` and a `HelmRelease` per chart (Flux renders), values inline, sensitive inputs from a Secret, upgrade remediation |
//!
//! Everything here is pure: no tool runs, no file is read. The same input gives the same
//! files, byte for byte (sorted keys, no timestamps).

mod namespaces;
mod yaml;

use namespaces::{declared_cluster_scoped, scope, with_default_namespace};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use yaml::yaml;

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Format {
    ArgoCd,
    ArgoCdAppSet,
    FluxKustomize,
    FluxHelm,
}

impl Format {
    pub const ALL: [Format; 4] = [
        Format::ArgoCd,
        Format::ArgoCdAppSet,
        Format::FluxKustomize,
        Format::FluxHelm,
    ];
    pub const NAMES: &'static [&'static str] =
        &["argocd", "argocd-appset", "flux-kustomize", "flux-helm"];

    pub fn parse(name: &str) -> Option<Format> {
        Format::NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| Format::ALL[i])
    }

    pub fn as_str(self) -> &'static str {
        Format::NAMES[Format::ALL.iter().position(|f| *f == self).expect("listed")]
    }

    /// Whether the cluster gets strata's rendered manifests (all but `flux-helm`).
    pub fn delivers_rendered(self) -> bool {
        self != Format::FluxHelm
    }
}

/// Where and how the environment is delivered.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub format: Format,
    /// The workspace's name (names the Flux `GitRepository`).
    pub workspace: String,
    /// The git repository Argo CD or Flux read the output from.
    pub repo_url: String,
    pub revision: String,
    /// The output's directory inside that repository (`deploy/dev`).
    pub path: String,
    /// The cluster's API server (`https://kubernetes.default.svc`).
    pub server: String,
    pub argocd_namespace: String,
    pub flux_namespace: String,
}

/// A chart deployed in the environment.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub label: String,
    /// The helm release name it renders with (its directory's name).
    pub release: String,
    /// The chart's directory in the repository (for Flux to render it).
    pub dir: String,
    /// Its depth in the graph among what deploys in the environment: 0 without
    /// dependencies, else one more than its deepest dependency.
    pub depth: usize,
    /// Charts it depends on (deployed in the environment).
    pub chart_deps: Vec<String>,
    /// Stacks it depends on (reads outputs of, or declares).
    pub stack_deps: Vec<String>,
    /// The namespace it renders into.
    pub namespace: String,
    /// `helm template` output (the rendered formats).
    pub manifests: Vec<u8>,
    /// Values for Flux to render with (`flux-helm`): the environment's values files merged,
    /// and the non-sensitive upstream outputs it reads.
    pub values: Value,
    /// The values that are sensitive (a secrets file's leaves, inputs bound to sensitive
    /// upstream outputs), each as its path of keys into the values: never written as values.
    pub sensitive_inputs: Vec<Vec<String>>,
    /// The commit whose chart was verified (its release lock entry's): `flux-helm` has Flux
    /// render the chart from exactly that commit. `None` when rendered from the work tree
    /// (`strata gitops render`, a preview): the source follows the branch.
    pub commit: Option<String>,
}

/// A stack a chart depends on, for Flux's release markers.
#[derive(Debug, Clone, PartialEq)]
pub struct Stack {
    pub label: String,
    /// The hash and commit deployed (from the release lock), when known.
    pub hash: Option<String>,
    pub commit: Option<String>,
}

/// Why an environment's output cannot be written.
#[derive(Debug, Clone, PartialEq)]
pub enum GitopsError {
    /// A chart would carry a sensitive value in the rendered manifests.
    /// Charts (label, the sensitive values they read) whose rendered manifests would hold
    /// sensitive values: all of them, not only the first.
    SensitiveInRendered { charts: Vec<(String, Vec<String>)> },
    /// Two charts would get the same object name.
    NameCollision { a: String, b: String, name: String },
    /// A chart's object name is longer than Kubernetes or helm allow.
    NameTooLong {
        label: String,
        name: String,
        limit: usize,
    },
    /// A chart would get the name of the environment's Flux source, which is named for
    /// the workspace.
    SourceCollision { label: String, name: String },
    /// The environment's name cannot name Kubernetes objects and namespaces.
    EnvironmentName { env: String },
}

impl std::fmt::Display for GitopsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GitopsError::SensitiveInRendered { charts } => write!(
                f,
                "{}: rendered manifests in git would hold them. Deliver them as a Kubernetes Secret the chart references (an existing Secret's name as a value), or use the flux-helm format, which passes them from a Secret",
                charts
                    .iter()
                    .map(|(label, inputs)| format!(
                        "{label} reads sensitive values ({})",
                        inputs.join(", ")
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            GitopsError::NameCollision { a, b, name } => write!(
                f,
                "{a} and {b} would both be delivered as `{name}`: rename one of their directories"
            ),
            GitopsError::NameTooLong { label, name, limit } => write!(
                f,
                "{label} would be delivered as `{name}`, longer than the {limit} characters Kubernetes labels and helm release names allow: shorten its directory"
            ),
            GitopsError::SourceCollision { label, name } => write!(
                f,
                "{label} and the environment's GitRepository (named for the workspace) would both be `{name}` in the Flux namespace: rename the chart's directory or `[workspace] name`"
            ),
            GitopsError::EnvironmentName { env } => write!(
                f,
                "environment `{env}` names Kubernetes objects and namespaces in its GitOps output, and is not a DNS-1123 label (lowercase letters, digits and `-`, starting and ending with a letter or digit, at most 63 characters): rename its directory under environments/"
            ),
        }
    }
}

/// The key of the Secret `<env>-<chart>-inputs` holding a chart's sensitive values, as one
/// YAML values document (`flux-helm`).
pub const SECRET_VALUES_KEY: &str = "values.yaml";

/// `value` as a YAML document every reader (YAML 1.1 as well as 1.2) takes back as the same
/// value: the form of the values document of [`SECRET_VALUES_KEY`].
pub fn values_document(value: &Value) -> String {
    yaml(value)
}

/// The name (after `<env>-`) of the Flux Kustomization creating the charts' namespaces, and
/// its directory in the output.
const NAMESPACES: &str = "strata-namespaces";

impl std::error::Error for GitopsError {}

/// A Kubernetes name for a label: `charts/api` -> `api`, `stacks/database` -> `database`,
/// `apps/shop/chart` -> `apps-shop-chart`.
pub fn object_name(label: &str) -> String {
    let trimmed = label
        .strip_prefix("charts/")
        .or_else(|| label.strip_prefix("stacks/"))
        .unwrap_or(label);
    let mut out = String::new();
    for c in trimmed.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_string();
    if out.is_empty() {
        "root".into()
    } else {
        out
    }
}

/// That `env` can name Kubernetes objects and namespaces in its GitOps output.
pub fn check_environment_name(env: &str) -> Result<(), GitopsError> {
    match is_dns_label(env) {
        true => Ok(()),
        false => Err(GitopsError::EnvironmentName { env: env.into() }),
    }
}

/// Whether `name` is a DNS-1123 label, as a Kubernetes namespace's name must be.
fn is_dns_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

/// The stacks among `stacks` that a chart reads (each gets a Flux release marker).
fn stacks_read<'s>(charts: &[&Chart], stacks: &'s [Stack]) -> impl Iterator<Item = &'s Stack> {
    let read: BTreeSet<String> = charts
        .iter()
        .flat_map(|c| c.stack_deps.iter().cloned())
        .collect();
    stacks.iter().filter(move |s| read.contains(&s.label))
}

/// Whether the environment's output can name every object it would hold: the environment's
/// name, each chart's and each stack's object names (distinct, short enough) and helm
/// release names. Only labels, releases, namespaces and what charts read are looked at, so
/// it is asked before anything is applied, with what the environment will hold.
pub fn check_names(
    env: &str,
    settings: &Settings,
    charts: &[Chart],
    stacks: &[Stack],
) -> Result<(), GitopsError> {
    check_environment_name(env)?;
    let mut charts: Vec<&Chart> = charts.iter().collect();
    charts.sort_by(|a, b| a.label.cmp(&b.label));
    let mut names: BTreeMap<String, &str> = BTreeMap::new();
    let flux = matches!(settings.format, Format::FluxKustomize | Format::FluxHelm);
    for c in &charts {
        let name = object_name(&c.label);
        // Label values hold 63 characters; helm release names 53.
        let limit = if settings.format == Format::FluxHelm {
            53
        } else {
            63
        };
        if name.len() > limit || c.release.len() > 53 {
            return Err(GitopsError::NameTooLong {
                label: c.label.clone(),
                name: if name.len() > limit {
                    name
                } else {
                    c.release.clone()
                },
                limit: if c.release.len() > 53 { 53 } else { limit },
            });
        }
        // Object names carry the environment: `<env>-<name>` must fit a label value too.
        let full = format!("{env}-{name}");
        if full.len() > 63 {
            return Err(GitopsError::NameTooLong {
                label: c.label.clone(),
                name: full,
                limit: 63,
            });
        }
        if let Some(other) = names.insert(name.clone(), &c.label) {
            return Err(GitopsError::NameCollision {
                a: other.to_string(),
                b: c.label.clone(),
                name,
            });
        }
        // A chart's own Flux source is `<env>-<name>`, as is the environment's, named for
        // the workspace.
        if flux && name == object_name(&settings.workspace) {
            return Err(GitopsError::SourceCollision {
                label: c.label.clone(),
                name: full,
            });
        }
    }
    // Two charts installed under one release name in one namespace would own the same
    // objects (`charts/team-a/web` and `charts/team-b/web`).
    let mut releases: BTreeMap<(&str, &str), &str> = BTreeMap::new();
    for c in &charts {
        if let Some(other) = releases.insert((&c.namespace, &c.release), &c.label) {
            return Err(GitopsError::NameCollision {
                a: other.to_string(),
                b: c.label.clone(),
                name: format!("helm release {} in namespace {}", c.release, c.namespace),
            });
        }
    }
    // Flux's release markers of the stacks charts read are objects too: `stack-<name>`, and
    // so is the Kustomization of the charts' namespaces.
    if settings.format == Format::FluxKustomize {
        if let Some(other) = names.get(NAMESPACES) {
            return Err(GitopsError::NameCollision {
                a: other.to_string(),
                b: "the charts' namespaces".into(),
                name: NAMESPACES.into(),
            });
        }
        for s in stacks_read(&charts, stacks) {
            let name = format!("stack-{}", object_name(&s.label));
            // kustomize-controller labels what a Kustomization applies with its name.
            let full = format!("{env}-{name}");
            if full.len() > 63 {
                return Err(GitopsError::NameTooLong {
                    label: s.label.clone(),
                    name: full,
                    limit: 63,
                });
            }
            if let Some(other) = names.insert(name.clone(), &s.label) {
                return Err(GitopsError::NameCollision {
                    a: other.to_string(),
                    b: s.label.clone(),
                    name,
                });
            }
        }
        let full = format!("{env}-{NAMESPACES}");
        if !charts.is_empty() && full.len() > 63 {
            return Err(GitopsError::NameTooLong {
                label: format!("environment {env}'s namespaces"),
                name: full,
                limit: 63,
            });
        }
    }
    Ok(())
}

/// The files of the environment's output, by path relative to the output directory.
pub fn render(
    env: &str,
    settings: &Settings,
    charts: &[Chart],
    stacks: &[Stack],
) -> Result<BTreeMap<String, String>, GitopsError> {
    let mut files = BTreeMap::new();
    check_names(env, settings, charts, stacks)?;
    let mut charts: Vec<&Chart> = charts.iter().collect();
    charts.sort_by(|a, b| a.label.cmp(&b.label));
    let app = |label: &str| format!("{env}-{}", object_name(label));
    let chart_path = |c: &Chart| format!("charts/{}", object_name(&c.label));
    let repo_path = |rel: &str| {
        if settings.path.is_empty() {
            rel.to_string()
        } else {
            format!("{}/{rel}", settings.path.trim_end_matches('/'))
        }
    };
    let labels = |extra: Map<String, Value>| {
        let mut m = Map::new();
        m.insert("app.kubernetes.io/managed-by".into(), json!("strata"));
        m.insert("strata.dev/environment".into(), json!(env));
        m.extend(extra);
        Value::Object(m)
    };
    if settings.format.delivers_rendered() {
        let sensitive: Vec<(String, Vec<String>)> = charts
            .iter()
            .filter(|c| !c.sensitive_inputs.is_empty())
            .map(|c| {
                let names = c.sensitive_inputs.iter().map(|p| p.join(".")).collect();
                (c.label.clone(), names)
            })
            .collect();
        if !sensitive.is_empty() {
            return Err(GitopsError::SensitiveInRendered { charts: sensitive });
        }
        for c in &charts {
            files.insert(
                format!("{}/manifests.yaml", chart_path(c)),
                String::from_utf8_lossy(&c.manifests).into_owned(),
            );
        }
    }
    let (namespaces, cluster_kinds) = scope(&charts);
    let project = || {
        json!({
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AppProject",
            "metadata": {"name": env, "namespace": settings.argocd_namespace, "labels": labels(Map::new())},
            "spec": {
                "description": format!("{env}: delivered by strata from {}", settings.repo_url),
                "sourceRepos": [settings.repo_url],
                "destinations": namespaces.iter().map(|ns| json!({"server": settings.server, "namespace": ns})).collect::<Vec<_>>(),
                "clusterResourceWhitelist": std::iter::once(json!({"group": "", "kind": "Namespace"}))
                    .chain(cluster_kinds.iter().filter(|(g, k)| !(g.is_empty() && k == "Namespace")).map(|(g, k)| json!({"group": g, "kind": k})))
                    .collect::<Vec<_>>(),
            }
        })
    };
    match settings.format {
        Format::ArgoCd => {
            files.insert("argocd/project.yaml".into(), yaml(&project()));
            for c in &charts {
                let object = json!({
                    "apiVersion": "argoproj.io/v1alpha1",
                    "kind": "Application",
                    "metadata": {
                        "name": app(&c.label),
                        "namespace": settings.argocd_namespace,
                        "labels": labels(Map::from_iter([("strata.dev/target".to_string(), json!(object_name(&c.label)))])),
                        "annotations": {
                            "argocd.argoproj.io/sync-wave": c.depth.to_string(),
                            "strata.dev/label": c.label,
                        },
                        "finalizers": ["resources-finalizer.argocd.argoproj.io"],
                    },
                    "spec": {
                        "project": env,
                        "source": {
                            "repoURL": settings.repo_url,
                            "targetRevision": settings.revision,
                            "path": repo_path(&chart_path(c)),
                        },
                        "destination": {"server": settings.server, "namespace": c.namespace},
                        "syncPolicy": {
                            "automated": {"prune": true, "selfHeal": true},
                            "syncOptions": ["CreateNamespace=true"],
                        },
                    }
                });
                files.insert(
                    format!("argocd/apps/{}.yaml", object_name(&c.label)),
                    yaml(&object),
                );
            }
        }
        Format::ArgoCdAppSet => {
            files.insert("argocd/project.yaml".into(), yaml(&project()));
            let object = json!({
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "ApplicationSet",
                "metadata": {"name": env, "namespace": settings.argocd_namespace, "labels": labels(Map::new())},
                "spec": {
                    "goTemplate": true,
                    "goTemplateOptions": ["missingkey=error"],
                    "generators": [{"git": {
                        "repoURL": settings.repo_url,
                        "revision": settings.revision,
                        "directories": [{"path": repo_path("charts/*")}],
                    }}],
                    "template": {
                        "metadata": {
                            "name": format!("{env}-{{{{.path.basename}}}}"),
                            "labels": labels(Map::new()),
                        },
                        "spec": {
                            "project": env,
                            "source": {
                                "repoURL": settings.repo_url,
                                "targetRevision": settings.revision,
                                "path": "{{.path.path}}",
                            },
                            "destination": {"server": settings.server, "namespace": env},
                            "syncPolicy": {
                                "automated": {"prune": true, "selfHeal": true},
                                "syncOptions": ["CreateNamespace=true"],
                            },
                        },
                    },
                }
            });
            files.insert("argocd/applicationset.yaml".into(), yaml(&object));
        }
        Format::FluxKustomize | Format::FluxHelm => {
            // Every environment's objects live in the Flux namespace, often of one cluster:
            // each is named for its environment, so that two environments never claim one
            // object (a source on another branch, a stack's release marker).
            let source_name = format!("{env}-{}", object_name(&settings.workspace));
            let source = json!({
                "apiVersion": "source.toolkit.fluxcd.io/v1",
                "kind": "GitRepository",
                "metadata": {"name": source_name, "namespace": settings.flux_namespace, "labels": labels(Map::new())},
                "spec": {
                    "interval": "1m",
                    "url": settings.repo_url,
                    "ref": {"branch": settings.revision},
                }
            });
            files.insert("flux/source.yaml".into(), yaml(&source));
            let source_ref = json!({"kind": "GitRepository", "name": source_name});
            let depends = |names: Vec<String>| {
                names
                    .into_iter()
                    .map(|n| json!({"name": n}))
                    .collect::<Vec<_>>()
            };
            if settings.format == Format::FluxKustomize {
                // Stacks charts read get a release marker, so charts wait for them.
                for s in stacks_read(&charts, stacks) {
                    let name = object_name(&s.label);
                    let marker = json!({
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "metadata": {"name": format!("{env}-strata-release-{name}"), "namespace": settings.flux_namespace, "labels": labels(Map::new())},
                        "data": {
                            "label": s.label,
                            "hash": s.hash.clone().unwrap_or_default(),
                            "commit": s.commit.clone().unwrap_or_default(),
                        }
                    });
                    files.insert(format!("stacks/{name}/release.yaml"), yaml(&marker));
                    let k = json!({
                        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
                        "kind": "Kustomization",
                        "metadata": {"name": format!("{env}-stack-{name}"), "namespace": settings.flux_namespace, "labels": labels(Map::new())},
                        "spec": {
                            "interval": "10m",
                            "path": format!("./{}", repo_path(&format!("stacks/{name}"))),
                            "prune": true,
                            "sourceRef": source_ref,
                        }
                    });
                    files.insert(format!("flux/kustomizations/stack-{name}.yaml"), yaml(&k));
                }
                // kustomize-controller creates no namespace (unlike Argo CD's
                // CreateNamespace and a HelmRelease's createNamespace): the charts'
                // namespaces are objects of their own Kustomization, which every chart's
                // waits for, and which never deletes them (deleting a namespace deletes
                // everything in it).
                let chart_namespaces: BTreeSet<&str> =
                    charts.iter().map(|c| c.namespace.as_str()).collect();
                let namespaces_name = format!("{env}-{NAMESPACES}");
                if !charts.is_empty() {
                    let docs: Vec<String> = chart_namespaces
                        .iter()
                        .map(|ns| {
                            yaml(&json!({
                                "apiVersion": "v1",
                                "kind": "Namespace",
                                "metadata": {
                                    "name": ns,
                                    "labels": labels(Map::new()),
                                    "annotations": {"kustomize.toolkit.fluxcd.io/prune": "disabled"},
                                },
                            }))
                        })
                        .collect();
                    files.insert(format!("{NAMESPACES}/namespaces.yaml"), docs.join("---\n"));
                    let k = json!({
                        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
                        "kind": "Kustomization",
                        "metadata": {"name": namespaces_name, "namespace": settings.flux_namespace, "labels": labels(Map::new())},
                        "spec": {
                            "interval": "10m",
                            "path": format!("./{}", repo_path(NAMESPACES)),
                            "prune": false,
                            "sourceRef": source_ref,
                        }
                    });
                    files.insert(format!("flux/kustomizations/{NAMESPACES}.yaml"), yaml(&k));
                }
                let declared = declared_cluster_scoped(&charts);
                for c in &charts {
                    let mut deps: Vec<String> = c.chart_deps.iter().map(|d| app(d)).collect();
                    deps.extend(
                        c.stack_deps
                            .iter()
                            .map(|s| format!("{env}-stack-{}", object_name(s))),
                    );
                    deps.push(namespaces_name.clone());
                    deps.sort();
                    let mut spec = json!({
                        "interval": "10m",
                        "path": format!("./{}", repo_path(&chart_path(c))),
                        "prune": true,
                        "wait": true,
                        "timeout": "5m",
                        "sourceRef": source_ref,
                    });
                    // targetNamespace would move objects a chart puts in other namespaces
                    // (kube-system, ...): set only when the chart names no other. Otherwise
                    // the objects that name no namespace get the chart's in the manifests
                    // (Flux's server-side apply refuses a namespaced object without one).
                    let (own, _) = scope(std::slice::from_ref(c));
                    if own.iter().all(|ns| ns == &c.namespace) {
                        spec["targetNamespace"] = json!(c.namespace);
                    } else {
                        files.insert(
                            format!("{}/manifests.yaml", chart_path(c)),
                            with_default_namespace(
                                &String::from_utf8_lossy(&c.manifests),
                                &c.namespace,
                                &declared,
                            ),
                        );
                    }
                    if !deps.is_empty() {
                        spec["dependsOn"] = json!(depends(deps));
                    }
                    let k = json!({
                        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
                        "kind": "Kustomization",
                        "metadata": {"name": app(&c.label), "namespace": settings.flux_namespace, "labels": labels(Map::new())},
                        "spec": spec,
                    });
                    files.insert(
                        format!("flux/kustomizations/{}.yaml", object_name(&c.label)),
                        yaml(&k),
                    );
                }
            } else {
                for c in &charts {
                    let mut deps: Vec<String> = c.chart_deps.iter().map(|d| app(d)).collect();
                    deps.sort();
                    // The chart's code at the commit its lock entry names, never whatever the
                    // branch holds now: a source of its own, pinned to that commit.
                    let chart_source = match &c.commit {
                        Some(commit) => {
                            let source = json!({
                                "apiVersion": "source.toolkit.fluxcd.io/v1",
                                "kind": "GitRepository",
                                "metadata": {"name": app(&c.label), "namespace": settings.flux_namespace, "labels": labels(Map::new())},
                                "spec": {
                                    "interval": "10m",
                                    "url": settings.repo_url,
                                    "ref": {"branch": settings.revision, "commit": commit},
                                }
                            });
                            files.insert(
                                format!("flux/sources/{}.yaml", object_name(&c.label)),
                                yaml(&source),
                            );
                            json!({"kind": "GitRepository", "name": app(&c.label)})
                        }
                        None => source_ref.clone(),
                    };
                    // Flux merges `valuesFrom` first and `values` over it: a key the Secret
                    // supplies must not be inline too, or the plain value (a placeholder in
                    // values.yaml) would win where strata's render let the secret win.
                    let mut values = c.values.clone();
                    for path in &c.sensitive_inputs {
                        remove_path(&mut values, path);
                    }
                    let mut spec = json!({
                        "interval": "10m",
                        "releaseName": c.release,
                        "targetNamespace": c.namespace,
                        // Helm's release records beside the release, as `helm install -n`
                        // keeps them, not in the Flux namespace shared by environments.
                        "storageNamespace": c.namespace,
                        "chart": {"spec": {
                            "chart": format!("./{}", c.dir),
                            "sourceRef": chart_source,
                            "reconcileStrategy": "Revision",
                        }},
                        "install": {"createNamespace": true, "remediation": {"retries": 3}},
                        "upgrade": {
                            "cleanupOnFail": true,
                            "remediation": {"retries": 3, "remediateLastFailure": true, "strategy": "rollback"},
                        },
                        "values": values,
                    });
                    // One values document the Secret holds, merged as a values file is: each
                    // value at its path with its own type. A `targetPath` per leaf would
                    // have Flux parse each value as `helm --set` does (`0123` a number,
                    // a comma a separator) and read a key holding a dot as a path.
                    if !c.sensitive_inputs.is_empty() {
                        let secret = format!("{}-inputs", app(&c.label));
                        spec["valuesFrom"] = json!([
                            {"kind": "Secret", "name": secret, "valuesKey": SECRET_VALUES_KEY}
                        ]);
                    }
                    if !deps.is_empty() {
                        spec["dependsOn"] = json!(depends(deps));
                    }
                    let h = json!({
                        "apiVersion": "helm.toolkit.fluxcd.io/v2",
                        "kind": "HelmRelease",
                        "metadata": {"name": app(&c.label), "namespace": settings.flux_namespace, "labels": labels(Map::new())},
                        "spec": spec,
                    });
                    files.insert(
                        format!("flux/helmreleases/{}.yaml", object_name(&c.label)),
                        yaml(&h),
                    );
                }
            }
        }
    }
    Ok(files)
}

/// Removes the value at `path` (`["db", "password"]`) from `values`, keeping the rest of
/// the tables on the way.
fn remove_path(values: &mut Value, path: &[String]) {
    let mut at = values;
    let mut parts = path.iter().peekable();
    while let Some(part) = parts.next() {
        let Value::Object(map) = at else {
            return;
        };
        if parts.peek().is_none() {
            map.remove(part);
            return;
        }
        match map.get_mut(part) {
            Some(next) => at = next,
            None => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(format: Format) -> Settings {
        Settings {
            format,
            workspace: "acme-infra".into(),
            repo_url: "https://git.example.com/acme/infra.git".into(),
            revision: "main".into(),
            path: "deploy/dev".into(),
            server: "https://kubernetes.default.svc".into(),
            argocd_namespace: "argocd".into(),
            flux_namespace: "flux-system".into(),
        }
    }

    fn chart(label: &str, depth: usize, chart_deps: &[&str], stack_deps: &[&str]) -> Chart {
        Chart {
            label: label.into(),
            release: label.rsplit('/').next().unwrap().into(),
            dir: label.into(),
            depth,
            chart_deps: chart_deps.iter().map(|s| s.to_string()).collect(),
            stack_deps: stack_deps.iter().map(|s| s.to_string()).collect(),
            namespace: "dev".into(),
            manifests: format!("kind: ConfigMap\nmetadata:\n  name: {label}\n").into_bytes(),
            values: json!({"replicas": 2}),
            sensitive_inputs: Vec::new(),
            commit: None,
        }
    }

    fn parse(text: &str) -> Value {
        serde_norway::from_str(text).unwrap()
    }

    #[test]
    fn the_appproject_allows_the_cluster_scoped_kinds_the_charts_render() {
        let mut issuer = chart("charts/issuer", 0, &[], &[]);
        issuer.manifests = b"apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: clusterissuers.cert-manager.io\nspec:\n  group: cert-manager.io\n  scope: Cluster\n  names:\n    kind: ClusterIssuer\n---\napiVersion: cert-manager.io/v1\nkind: ClusterIssuer\nmetadata:\n  name: letsencrypt\n---\napiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: PriorityLevelConfiguration\nmetadata:\n  name: batch\n".to_vec();
        let files = render("dev", &settings(Format::ArgoCd), &[issuer], &[]).unwrap();
        let project = parse(&files["argocd/project.yaml"]);
        let allowed: Vec<(String, String)> = project["spec"]["clusterResourceWhitelist"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| {
                (
                    k["group"].as_str().unwrap().to_string(),
                    k["kind"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        for kind in [
            ("cert-manager.io", "ClusterIssuer"),
            ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
            ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ] {
            assert!(
                allowed.contains(&(kind.0.to_string(), kind.1.to_string())),
                "{kind:?} not in {allowed:?}"
            );
        }
    }

    #[test]
    fn flux_helm_renders_each_chart_from_the_commit_its_lock_entry_names() {
        let mut api = chart("charts/api", 0, &[], &[]);
        api.commit = Some("c0ffee".repeat(6) + "c0ff");
        let preview = chart("charts/web", 0, &[], &[]);
        let files = render("dev", &settings(Format::FluxHelm), &[api, preview], &[]).unwrap();
        let source = parse(&files["flux/sources/api.yaml"]);
        assert_eq!(source["kind"], "GitRepository");
        assert_eq!(source["metadata"]["name"], "dev-api");
        assert_eq!(source["spec"]["ref"]["commit"], "c0ffee".repeat(6) + "c0ff");
        let release = parse(&files["flux/helmreleases/api.yaml"]);
        assert_eq!(
            release["spec"]["chart"]["spec"]["sourceRef"],
            json!({"kind": "GitRepository", "name": "dev-api"})
        );
        // Rendered from the work tree (no lock entry): the branch's source.
        let web = parse(&files["flux/helmreleases/web.yaml"]);
        assert_eq!(
            web["spec"]["chart"]["spec"]["sourceRef"],
            json!({"kind": "GitRepository", "name": "dev-acme-infra"})
        );
        assert!(!files.contains_key("flux/sources/web.yaml"));
    }

    #[test]
    fn names_that_would_collide_or_grow_too_long_with_the_environment_are_refused() {
        // Two charts with one release name in one namespace.
        let charts = [
            chart("charts/team-a/web", 0, &[], &[]),
            chart("charts/team-b/web", 0, &[], &[]),
        ];
        for format in [Format::ArgoCd, Format::FluxHelm] {
            let err = render("dev", &settings(format), &charts, &[]).unwrap_err();
            assert!(
                matches!(&err, GitopsError::NameCollision { name, .. } if name.contains("helm release web")),
                "{err}"
            );
        }
        // A chart named like the release marker of a stack another chart reads.
        let charts = [
            chart("charts/stack-db", 0, &[], &[]),
            chart("charts/api", 0, &[], &["stacks/db"]),
        ];
        let stacks = [Stack {
            label: "stacks/db".into(),
            hash: None,
            commit: None,
        }];
        let err = render("dev", &settings(Format::FluxKustomize), &charts, &stacks).unwrap_err();
        assert!(err.to_string().contains("`stack-db`"), "{err}");
        // 58 characters fit with `dev-` before them, not with `staging-`.
        let long = format!("charts/{}", "a".repeat(58));
        let mut c = chart(&long, 0, &[], &[]);
        c.release = "web".into();
        let charts = [c];
        render("dev", &settings(Format::ArgoCd), &charts, &[]).unwrap();
        let err = render("staging", &settings(Format::ArgoCd), &charts, &[]).unwrap_err();
        assert!(
            matches!(err, GitopsError::NameTooLong { limit: 63, .. }),
            "{err}"
        );
    }

    #[test]
    fn argocd_applications_carry_sync_waves_from_the_graph() {
        let charts = [
            chart("charts/web", 0, &[], &[]),
            chart("charts/api", 2, &["charts/web"], &["stacks/database"]),
        ];
        let files = render("dev", &settings(Format::ArgoCd), &charts, &[]).unwrap();
        let names: Vec<&str> = files.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "argocd/apps/api.yaml",
                "argocd/apps/web.yaml",
                "argocd/project.yaml",
                "charts/api/manifests.yaml",
                "charts/web/manifests.yaml"
            ]
        );
        let api = parse(&files["argocd/apps/api.yaml"]);
        assert_eq!(
            api["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"],
            "2"
        );
        assert_eq!(api["spec"]["source"]["path"], "deploy/dev/charts/api");
        assert_eq!(api["metadata"]["name"], "dev-api");
        let project = parse(&files["argocd/project.yaml"]);
        assert_eq!(
            project["spec"]["sourceRepos"][0],
            "https://git.example.com/acme/infra.git"
        );
        // Same input, same bytes.
        assert_eq!(
            files,
            render("dev", &settings(Format::ArgoCd), &charts, &[]).unwrap()
        );
    }

    #[test]
    fn flux_kustomizations_depend_on_charts_and_on_stack_markers() {
        let charts = [
            chart("charts/web", 0, &[], &[]),
            chart("charts/api", 2, &["charts/web"], &["stacks/database"]),
        ];
        let stacks = [Stack {
            label: "stacks/database".into(),
            hash: Some("h".into()),
            commit: Some("c".into()),
        }];
        let files = render("dev", &settings(Format::FluxKustomize), &charts, &stacks).unwrap();
        let api = parse(&files["flux/kustomizations/api.yaml"]);
        assert_eq!(
            api["spec"]["dependsOn"],
            json!([{"name": "dev-stack-database"}, {"name": "dev-strata-namespaces"}, {"name": "dev-web"}])
        );
        assert_eq!(
            parse(&files["flux/kustomizations/web.yaml"])["spec"]["dependsOn"],
            json!([{"name": "dev-strata-namespaces"}])
        );
        assert!(files.contains_key("stacks/database/release.yaml"));
        assert_eq!(api["spec"]["path"], "./deploy/dev/charts/api");
    }

    #[test]
    fn sensitive_inputs_are_never_values() {
        let mut api = chart("charts/api", 1, &[], &["stacks/database"]);
        api.sensitive_inputs = vec![vec!["dbPassword".into()]];
        let mut web = chart("charts/web", 1, &[], &["stacks/database"]);
        web.sensitive_inputs = vec![vec!["token".into()]];
        let err = render("dev", &settings(Format::ArgoCd), &[api.clone(), web], &[]).unwrap_err();
        // Every chart is named, not only the first.
        assert!(
            err.to_string().contains("charts/api reads sensitive values (dbPassword); charts/web reads sensitive values (token)"),
            "{err}"
        );
        // values.yaml sets the key too (a placeholder): the Secret's must win, so it is not
        // inline (Flux merges `values` over `valuesFrom`).
        api.values = json!({"replicas": 2, "dbPassword": "changeme"});
        let files = render("dev", &settings(Format::FluxHelm), &[api.clone()], &[]).unwrap();
        let h = parse(&files["flux/helmreleases/api.yaml"]);
        assert_eq!(h["spec"]["values"], json!({"replicas": 2}));
        // A secret in a table (`[db] password`): only that leaf leaves the inline values,
        // the rest of the table stays. A key holding a dot (`"a.b"`) is a key, not the
        // path a.b. The Secret holds one values document (no `targetPath`, which would
        // have Flux parse each value as `--set` does and read `a.b` as a path).
        let mut nested = api.clone();
        nested.values =
            json!({"db": {"host": "db.dev", "password": "changeme"}, "a.b": "x", "a": {"b": "y"}});
        nested.sensitive_inputs = vec![vec!["db".into(), "password".into()], vec!["a.b".into()]];
        let nested = render("dev", &settings(Format::FluxHelm), &[nested], &[]).unwrap();
        let n = parse(&nested["flux/helmreleases/api.yaml"]);
        assert_eq!(
            n["spec"]["values"],
            json!({"db": {"host": "db.dev"}, "a": {"b": "y"}})
        );
        let reference =
            json!([{"kind": "Secret", "name": "dev-api-inputs", "valuesKey": "values.yaml"}]);
        assert_eq!(n["spec"]["valuesFrom"], reference);
        assert_eq!(h["spec"]["valuesFrom"], reference);
        assert_eq!(
            h["spec"]["upgrade"]["remediation"]["remediateLastFailure"],
            true
        );
        assert!(!files.keys().any(|k| k.ends_with("manifests.yaml")));
    }

    #[test]
    fn the_project_allows_what_the_charts_render_and_names_never_collide() {
        let mut adapter = chart("charts/adapter", 0, &[], &[]);
        adapter.manifests = b"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: a\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: b\n  namespace: kube-system\n---\napiVersion: apiregistration.k8s.io/v1\nkind: APIService\nmetadata:\n  name: v1beta1.custom.metrics.k8s.io\n".to_vec();
        let charts = [adapter, chart("charts/web", 0, &[], &[])];
        let files = render("dev", &settings(Format::ArgoCd), &charts, &[]).unwrap();
        let project = parse(&files["argocd/project.yaml"]);
        assert_eq!(
            project["spec"]["destinations"],
            json!([
                {"server": "https://kubernetes.default.svc", "namespace": "dev"},
                {"server": "https://kubernetes.default.svc", "namespace": "kube-system"}
            ])
        );
        assert_eq!(
            project["spec"]["clusterResourceWhitelist"],
            json!([
                {"group": "", "kind": "Namespace"},
                {"group": "apiregistration.k8s.io", "kind": "APIService"},
                {"group": "rbac.authorization.k8s.io", "kind": "ClusterRole"}
            ])
        );
        // A chart putting objects in another namespace is not moved by Flux: no
        // targetNamespace, and its objects that name no namespace get the chart's in the
        // manifests (Flux's server-side apply refuses a namespaced object without one),
        // cluster-scoped ones none.
        let files = render("dev", &settings(Format::FluxKustomize), &charts, &[]).unwrap();
        assert!(parse(&files["flux/kustomizations/adapter.yaml"])["spec"]
            .get("targetNamespace")
            .is_none());
        assert_eq!(
            parse(&files["flux/kustomizations/web.yaml"])["spec"]["targetNamespace"],
            "dev"
        );
        assert_eq!(
            files["charts/adapter/manifests.yaml"],
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: a\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: b\n  namespace: kube-system\n---\napiVersion: apiregistration.k8s.io/v1\nkind: APIService\nmetadata:\n  name: v1beta1.custom.metrics.k8s.io\n"
        );
        let mut mixed = chart("charts/mixed", 0, &[], &[]);
        mixed.manifests = b"---\n# Source: mixed/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n    name: local\n    labels:\n      a: b\ndata:\n  k: v\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: remote\n  namespace: monitoring\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: flow}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: c\n---\n# Source: mixed/templates/list.yaml\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: in-list\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: placed\n    namespace: other\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: empty\n  namespace: \"\"\n".to_vec();
        let files = render("dev", &settings(Format::FluxKustomize), &[mixed], &[]).unwrap();
        let text = &files["charts/mixed/manifests.yaml"];
        assert!(
            text.starts_with("---\n# Source: mixed/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n    namespace: dev\n    name: local\n"),
            "{text}"
        );
        let docs: Vec<Value> = text
            .split("\n---")
            .map(|d| serde_norway::from_str(d).unwrap())
            .collect();
        let namespaces: Vec<Option<&str>> = docs
            .iter()
            .map(|d| d.pointer("/metadata/namespace").and_then(Value::as_str))
            .collect();
        assert_eq!(
            namespaces,
            [
                Some("dev"),
                Some("monitoring"),
                Some("dev"),
                None,
                None,
                Some("dev")
            ]
        );
        // A List's items, each applied on its own, get it too; its leading comment stays.
        let items: Vec<Option<&str>> = docs[4]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i.pointer("/metadata/namespace").and_then(Value::as_str))
            .collect();
        assert_eq!(items, [Some("dev"), Some("other")]);
        assert!(
            text.contains("---\n# Source: mixed/templates/list.yaml\n"),
            "{text}"
        );
        // An empty namespace is no namespace: a chart with only such objects keeps its
        // targetNamespace.
        let mut empty = chart("charts/empty", 0, &[], &[]);
        empty.manifests =
            b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: e\n  namespace: \"\"\n".to_vec();
        let files = render("dev", &settings(Format::FluxKustomize), &[empty], &[]).unwrap();
        assert_eq!(
            parse(&files["flux/kustomizations/empty.yaml"])["spec"]["targetNamespace"],
            "dev"
        );
        assert_eq!(docs[0]["metadata"]["labels"], json!({"a": "b"}));
        assert_eq!(docs[2]["metadata"]["name"], "flow");
        // kustomize-controller creates no namespace: a Kustomization of their own, never
        // pruned, that every chart's waits for.
        let ns = parse(&files["flux/kustomizations/strata-namespaces.yaml"]);
        assert_eq!(ns["metadata"]["name"], "dev-strata-namespaces");
        assert_eq!(ns["spec"]["prune"], false);
        assert_eq!(ns["spec"]["path"], "./deploy/dev/strata-namespaces");
        let created = parse(&files["strata-namespaces/namespaces.yaml"]);
        assert_eq!(created["kind"], "Namespace");
        assert_eq!(created["metadata"]["name"], "dev");
        assert_eq!(
            created["metadata"]["annotations"]["kustomize.toolkit.fluxcd.io/prune"],
            "disabled"
        );
        // A chart named like that Kustomization is refused.
        let err = render(
            "dev",
            &settings(Format::FluxKustomize),
            &[chart("charts/strata-namespaces", 0, &[], &[])],
            &[],
        )
        .unwrap_err();
        assert!(matches!(err, GitopsError::NameCollision { .. }), "{err}");

        let clash = [
            chart("charts/foo/bar", 0, &[], &[]),
            chart("charts/foo-bar", 0, &[], &[]),
        ];
        let err = render("dev", &settings(Format::ArgoCd), &clash, &[]).unwrap_err();
        assert_eq!(
            err,
            GitopsError::NameCollision {
                a: "charts/foo-bar".into(),
                b: "charts/foo/bar".into(),
                name: "foo-bar".into()
            }
        );
        let long = [chart(&format!("charts/{}", "x".repeat(60)), 0, &[], &[])];
        assert!(matches!(
            render("dev", &settings(Format::FluxHelm), &long, &[]),
            Err(GitopsError::NameTooLong { limit: 53, .. })
        ));
    }

    #[test]
    fn names_are_kubernetes_names() {
        assert_eq!(object_name("charts/api"), "api");
        assert_eq!(
            object_name("apps/Shop_Front/chart"),
            "apps-shop-front-chart"
        );
        assert_eq!(object_name("."), "root");
        assert_eq!(Format::parse("flux-helm"), Some(Format::FluxHelm));
        assert_eq!(Format::FluxHelm.as_str(), "flux-helm");
        assert_eq!(Format::parse("argo"), None);
    }

    /// Names Argo CD, Flux or Kubernetes would refuse are refused here, before they reach a
    /// cluster: an environment that is no DNS-1123 label, a chart named as the
    /// environment's Flux source (named for the workspace), a stack's release marker or
    /// the namespaces' Kustomization past the 63 characters of a label value.
    #[test]
    fn names_a_cluster_would_refuse_are_refused() {
        let api = chart("charts/api", 0, &[], &[]);
        for env in ["QA_Team", "eu.prod", "-dev", ""] {
            assert_eq!(
                render(
                    env,
                    &settings(Format::ArgoCd),
                    std::slice::from_ref(&api),
                    &[]
                ),
                Err(GitopsError::EnvironmentName { env: env.into() })
            );
        }
        render(
            "qa-team-2",
            &settings(Format::ArgoCd),
            std::slice::from_ref(&api),
            &[],
        )
        .unwrap();

        let shop = chart("charts/acme-infra", 0, &[], &[]);
        for format in [Format::FluxHelm, Format::FluxKustomize] {
            assert_eq!(
                render("dev", &settings(format), std::slice::from_ref(&shop), &[]),
                Err(GitopsError::SourceCollision {
                    label: "charts/acme-infra".into(),
                    name: "dev-acme-infra".into()
                })
            );
        }
        render(
            "dev",
            &settings(Format::ArgoCd),
            std::slice::from_ref(&shop),
            &[],
        )
        .unwrap();

        let label = "stacks/platform/eu-central-1/payments/orders-databases";
        let reader = chart("charts/api", 1, &[], &[label]);
        let stack = Stack {
            label: label.into(),
            hash: None,
            commit: None,
        };
        let err = render(
            "production",
            &settings(Format::FluxKustomize),
            std::slice::from_ref(&reader),
            std::slice::from_ref(&stack),
        )
        .unwrap_err();
        assert!(
            matches!(&err, GitopsError::NameTooLong { name, limit: 63, .. } if name.len() == 64),
            "{err:?}"
        );
        render(
            "prod",
            &settings(Format::FluxKustomize),
            std::slice::from_ref(&reader),
            std::slice::from_ref(&stack),
        )
        .unwrap();
        let long_env = "e".repeat(46);
        let err = render(&long_env, &settings(Format::FluxKustomize), &[api], &[]).unwrap_err();
        assert!(
            matches!(&err, GitopsError::NameTooLong { name, .. } if name.ends_with("-strata-namespaces")),
            "{err:?}"
        );
    }
}
