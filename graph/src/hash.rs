//! Target hashes: a Merkle graph computed in dependency order.
//!
//! ```text
//! own    = BLAKE3(json(version, kind, label, inputs))        inputs: (path, blob id, mode), sorted
//! global = BLAKE3(json(global_inputs, toolchain))            the same for every target of a kind
//! hash   = BLAKE3(json(version, own, global, deps))          deps: (label, hash), sorted
//! ```
//!
//! Every part is a serializable struct ([`Fingerprint`]), which `strata hash --explain`
//! prints. Only workspace-relative paths, content ids and pinned versions go in: the same
//! tree gives the same hashes on any machine, path, user and clock. Hashing writes the JSON
//! from borrowed data into a buffer each thread reuses and hashes it in one call.

use crate::digest::{encode_hex_into, TargetHash};
use crate::discover::Kind;
use crate::id::TargetId;
use crate::model::{EnvironmentFiles, Model};
use crate::snapshot::{FileEntry, Snapshot};
use serde::ser::SerializeStruct;
use serde::Serialize;
use std::collections::BTreeMap;

/// Bump to change every hash (when what a fingerprint means changes).
pub const FINGERPRINT_VERSION: u32 = 2;

/// One input file: path, content id (git blob id, or `missing` for a referenced file that
/// does not exist) and git mode (octal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputFile<'a> {
    pub path: &'a str,
    pub entry: Option<FileEntry>,
}

impl Serialize for InputFile<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("InputFile", 3)?;
        st.serialize_field("path", self.path)?;
        match &self.entry {
            Some(e) => {
                let mut hex = [0u8; 40];
                encode_hex_into(&e.id.0, &mut hex);
                st.serialize_field("id", std::str::from_utf8(&hex).expect("hex"))?;
                let mut buf = [0u8; 12];
                st.serialize_field("mode", octal(e.mode, &mut buf))?;
            }
            None => {
                st.serialize_field("id", "missing")?;
                st.serialize_field("mode", "")?;
            }
        }
        st.end()
    }
}

fn octal(mut n: u32, buf: &mut [u8; 12]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 8) as u8;
        n /= 8;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[i..]).expect("digits")
}

pub fn input_file<'a>(snapshot: &Snapshot, path: &'a str) -> InputFile<'a> {
    InputFile {
        path,
        entry: snapshot.files.get(path).copied(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DepHash<'a> {
    pub label: &'a str,
    pub hash: TargetHash,
}

/// Everything a target hash covers.
#[derive(Debug, Clone, Serialize)]
pub struct Fingerprint<'a> {
    pub version: u32,
    pub kind: Kind,
    pub label: &'a str,
    /// The target's own files and the outside files it reads, sorted by path.
    pub inputs: Vec<InputFile<'a>>,
    pub global_inputs: &'a [InputFile<'a>],
    /// Pinned versions of the tools that act on this kind of target.
    pub toolchain: &'a BTreeMap<String, String>,
    pub deps: Vec<DepHash<'a>>,
}

#[derive(Serialize)]
struct OwnPart<'a> {
    version: u32,
    kind: Kind,
    label: &'a str,
    inputs: &'a [InputFile<'a>],
}

#[derive(Serialize)]
struct GlobalPart<'a> {
    global_inputs: &'a [InputFile<'a>],
    toolchain: &'a BTreeMap<String, String>,
}

#[derive(Serialize)]
struct Node<'a> {
    version: u32,
    own: TargetHash,
    global: TargetHash,
    deps: &'a [DepHash<'a>],
}

impl Fingerprint<'_> {
    pub fn own_digest(&self) -> TargetHash {
        digest(&OwnPart {
            version: self.version,
            kind: self.kind,
            label: self.label,
            inputs: &self.inputs,
        })
    }

    pub fn global_digest(&self) -> TargetHash {
        digest(&GlobalPart {
            global_inputs: self.global_inputs,
            toolchain: self.toolchain,
        })
    }

    pub fn hash(&self) -> TargetHash {
        node_hash(self.own_digest(), self.global_digest(), &self.deps)
    }
}

fn node_hash(own: TargetHash, global: TargetHash, deps: &[DepHash]) -> TargetHash {
    digest(&Node {
        version: FINGERPRINT_VERSION,
        own,
        global,
        deps,
    })
}

/// BLAKE3 of `value`'s JSON. The JSON is written into a buffer the thread keeps and hashed
/// in one call: feeding the hasher each small piece serde writes costs more than the copy.
pub(crate) fn digest<T: Serialize + ?Sized>(value: &T) -> TargetHash {
    thread_local! {
        static JSON: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
    }
    JSON.with(|cell| {
        // Taken out, not borrowed, so a nested digest on this thread cannot conflict.
        let mut json = cell.take();
        json.clear();
        serde_json::to_writer(&mut json, value).expect("fingerprints serialize");
        let hash = TargetHash(*blake3::hash(&json).as_bytes());
        cell.set(json);
        hash
    })
}

/// The hashes of every target of a model, by target index, with their two parts.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Hashes {
    pub hashes: Vec<TargetHash>,
    pub own: Vec<TargetHash>,
    pub global: Vec<TargetHash>,
    global_inputs: Vec<String>,
    toolchains: BTreeMap<Kind, BTreeMap<String, String>>,
}

/// Which pinned tools act on a kind of target.
fn tools_for(kind: Kind, all: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let wanted: &[&str] = match kind {
        Kind::Stack | Kind::Module => &["terraform", "tofu"],
        Kind::Chart => &["helm"],
        Kind::Policy => &[],
    };
    all.iter()
        .filter(|(k, _)| wanted.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The cluster WORKSPACE.toml's `[render]` describes changes what a chart's lint and
/// render make, as helm's version does: it is part of every chart's global hash, beside the
/// version (an environment's own `[render]` is in env.toml, one of its environment inputs).
/// Nothing is added while unset, so hashes made before the setting existed stay the same.
fn add_cluster(render: &crate::manifest::RenderConfig, tools: &mut BTreeMap<String, String>) {
    if let Some(v) = &render.kube_version {
        tools.insert("render.kube_version".into(), v.clone());
    }
    if let Some(apis) = &render.api_versions {
        tools.insert("render.api_versions".into(), apis.join(","));
    }
}

fn own_inputs<'a>(model: &'a Model, snapshot: &Snapshot, i: TargetId) -> Vec<InputFile<'a>> {
    let t = &model[i];
    let mut inputs: Vec<InputFile<'a>> = Vec::with_capacity(t.files.len() + t.extra_inputs.len());
    push_sorted_inputs(snapshot, &t.files, &mut inputs);
    inputs.extend(t.extra_inputs.iter().map(|p| input_file(snapshot, p)));
    inputs.sort_unstable_by(|a, b| a.path.cmp(b.path));
    inputs.dedup_by(|a, b| a.path == b.path);
    inputs
}

/// Pushes [`input_file`] of each of `paths`. A target's own files are sorted and near each
/// other in the snapshot, so they are found by walking the snapshot from the first one
/// instead of searching it for each; a path out of order is looked up.
fn push_sorted_inputs<'a>(snapshot: &Snapshot, paths: &'a [String], out: &mut Vec<InputFile<'a>>) {
    use std::ops::Bound;
    let start = paths.first().map_or("", String::as_str);
    let mut walk = snapshot
        .files
        .range::<str, _>((Bound::Included(start), Bound::Unbounded))
        .peekable();
    for path in paths {
        while walk.next_if(|(k, _)| k.as_str() < path.as_str()).is_some() {}
        let entry = match walk.next_if(|(k, _)| *k == path) {
            Some((_, e)) => Some(*e),
            None => snapshot.files.get(path).copied(),
        };
        out.push(InputFile { path, entry });
    }
}

fn own_digest(model: &Model, snapshot: &Snapshot, i: TargetId) -> TargetHash {
    let t = &model[i];
    digest(&OwnPart {
        version: FINGERPRINT_VERSION,
        kind: t.kind,
        label: &t.label,
        inputs: &own_inputs(model, snapshot, i),
    })
}

/// Node hashes after some own parts changed: `before` holds the own parts and node hashes
/// of an earlier computation over the same model. A node whose own part and dependencies'
/// hashes did not change keeps its hash without being hashed again.
fn updated_node_hashes(
    model: &Model,
    own: &[TargetHash],
    global: &[TargetHash],
    (own_before, hashes_before): (&[TargetHash], &[TargetHash]),
) -> Vec<TargetHash> {
    let mut hashes = hashes_before.to_vec();
    let mut changed = vec![false; own.len()];
    let mut deps: Vec<DepHash> = Vec::new();
    for &i in model.graph.order() {
        let same_deps = || !model.graph.deps(i).iter().any(|&d| changed[d]);
        if own[i] == own_before[i] && same_deps() {
            continue;
        }
        deps.clear();
        deps.extend(model.graph.deps(i).iter().map(|&d| DepHash {
            label: &model.targets[d].label,
            hash: hashes[d],
        }));
        let h = node_hash(own[i], global[i], &deps);
        changed[i] = h != hashes[i];
        hashes[i] = h;
    }
    hashes
}

/// Every node hash from the own and global parts, one depth of the graph at a time, in
/// parallel within a depth.
fn node_hashes(model: &Model, own: &[TargetHash], global: &[TargetHash]) -> Vec<TargetHash> {
    use rayon::prelude::*;
    let mut hashes = vec![TargetHash([0; 32]); own.len()];
    for level in model.graph.levels() {
        let computed: Vec<TargetHash> = level
            .par_iter()
            .map(|&i| {
                let deps: Vec<DepHash> = model
                    .graph
                    .deps(i)
                    .iter()
                    .map(|&d| DepHash {
                        label: &model.targets[d].label,
                        hash: hashes[d],
                    })
                    .collect();
                node_hash(own[i], global[i], &deps)
            })
            .collect();
        for (&i, h) in level.iter().zip(computed) {
            hashes[i] = h;
        }
    }
    hashes
}

pub fn compute(model: &Model, snapshot: &Snapshot) -> Hashes {
    let all_tools = model.config.toolchain.versions();
    let toolchains: BTreeMap<Kind, BTreeMap<String, String>> =
        [Kind::Stack, Kind::Module, Kind::Chart, Kind::Policy]
            .into_iter()
            .map(|k| {
                let mut tools = tools_for(k, &all_tools);
                if k == Kind::Chart {
                    add_cluster(&model.config.render, &mut tools);
                }
                (k, tools)
            })
            .collect();
    let globals: Vec<InputFile> = model
        .global_inputs
        .iter()
        .map(|p| input_file(snapshot, p))
        .collect();
    let global_by_kind: BTreeMap<Kind, TargetHash> = toolchains
        .iter()
        .map(|(k, tools)| {
            (
                *k,
                digest(&GlobalPart {
                    global_inputs: &globals,
                    toolchain: tools,
                }),
            )
        })
        .collect();
    let n = model.targets.len();
    // Own parts do not depend on the graph: compute them in parallel.
    use rayon::prelude::*;
    let own: Vec<TargetHash> = (0..n)
        .into_par_iter()
        .map(TargetId::from_index)
        .map(|i| own_digest(model, snapshot, i))
        .collect();
    let global: Vec<TargetHash> = model
        .targets
        .iter()
        .map(|t| global_by_kind[&t.kind])
        .collect();
    let hashes = node_hashes(model, &own, &global);
    Hashes {
        hashes,
        own,
        global,
        global_inputs: model.global_inputs.clone(),
        toolchains,
    }
}

impl Hashes {
    /// The hashes after the files at `modified` changed in `snapshot`, for a model that
    /// still describes it: own parts are computed again only for targets reading one of
    /// them, node hashes only where an own part or a dependency's hash changed.
    pub fn updated(&self, model: &Model, snapshot: &Snapshot, modified: &[&str]) -> Hashes {
        use rayon::prelude::*;
        if modified.is_empty() {
            return self.clone();
        }
        if modified
            .iter()
            .any(|p| self.global_inputs.iter().any(|g| g == p))
        {
            return compute(model, snapshot);
        }
        let modified: rustc_hash::FxHashSet<&str> = modified.iter().copied().collect();
        let own: Vec<TargetHash> = (0..model.targets.len())
            .into_par_iter()
            .map(TargetId::from_index)
            .map(|i| {
                let t = &model[i];
                let reads = t
                    .files
                    .iter()
                    .chain(t.extra_inputs.iter())
                    .any(|p| modified.contains(p.as_str()));
                if reads {
                    own_digest(model, snapshot, i)
                } else {
                    self.own[i]
                }
            })
            .collect();
        let hashes = updated_node_hashes(model, &own, &self.global, (&self.own, &self.hashes));
        Hashes {
            hashes,
            own,
            global: self.global.clone(),
            global_inputs: self.global_inputs.clone(),
            toolchains: self.toolchains.clone(),
        }
    }

    /// The full fingerprint of target `i` (for `--explain` and for listing changed files).
    pub fn fingerprint<'a>(
        &'a self,
        model: &'a Model,
        snapshot: &Snapshot,
        globals: &'a [InputFile<'a>],
        i: TargetId,
    ) -> Fingerprint<'a> {
        let t = &model[i];
        Fingerprint {
            version: FINGERPRINT_VERSION,
            kind: t.kind,
            label: &t.label,
            inputs: own_inputs(model, snapshot, i),
            global_inputs: globals,
            toolchain: &self.toolchains[&t.kind],
            deps: model
                .graph
                .deps(i)
                .iter()
                .map(|&d| DepHash {
                    label: &model.targets[d].label,
                    hash: self.hashes[d],
                })
                .collect(),
        }
    }

    /// The global inputs as fingerprint entries (shared by every fingerprint).
    pub fn global_inputs<'a>(&'a self, snapshot: &Snapshot) -> Vec<InputFile<'a>> {
        self.global_inputs
            .iter()
            .map(|p| input_file(snapshot, p))
            .collect()
    }

    pub fn toolchain(&self, kind: Kind) -> &BTreeMap<String, String> {
        &self.toolchains[&kind]
    }
}

/// Per environment, a digest of the environment-wide files and of each target's own files,
/// to tell cheaply whether what feeds a target in an environment changed.
pub struct EnvDigests {
    per_env: BTreeMap<String, (TargetHash, rustc_hash::FxHashMap<String, TargetHash>)>,
}

impl EnvDigests {
    pub fn new(files: &EnvironmentFiles, snapshot: &Snapshot) -> EnvDigests {
        use rayon::prelude::*;
        let per_env = files
            .envs()
            .map(|(env, wide, by_label)| {
                // What links among the files lead to counts with them.
                let (linked_wide, linked) = files.linked(env);
                let wide_inputs: Vec<InputFile> = wide
                    .iter()
                    .chain(linked_wide)
                    .map(|p| input_file(snapshot, p))
                    .collect();
                let labels = by_label
                    .par_iter()
                    .map(|(label, paths)| {
                        let through = linked.and_then(|l| l.get(label)).into_iter().flatten();
                        let inputs: Vec<InputFile> = paths
                            .iter()
                            .chain(through)
                            .map(|p| input_file(snapshot, p))
                            .collect();
                        (label.clone(), digest(&inputs))
                    })
                    .collect();
                (env.to_string(), (digest(&wide_inputs), labels))
            })
            .collect();
        EnvDigests { per_env }
    }

    /// Each environment with its environment-wide digest and the digests by label.
    pub fn envs(
        &self,
    ) -> impl Iterator<Item = (&str, TargetHash, &rustc_hash::FxHashMap<String, TargetHash>)> {
        self.per_env
            .iter()
            .map(|(env, (wide, labels))| (env.as_str(), *wide, labels))
    }

    /// (environment-wide digest, the target's own digest) in `env`.
    pub fn of(&self, env: &str, label: &str) -> (Option<TargetHash>, Option<TargetHash>) {
        match self.per_env.get(env) {
            Some((wide, labels)) => (Some(*wide), labels.get(label).copied()),
            None => (None, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::FileId;

    #[test]
    fn the_cluster_charts_render_for_is_part_of_their_global_hash_only_when_set() {
        use crate::manifest::RenderConfig;
        let mut tools: BTreeMap<String, String> =
            [("helm".to_string(), "4.1.4".to_string())].into();
        add_cluster(&RenderConfig::default(), &mut tools);
        assert_eq!(tools.len(), 1, "unset: hashes stay as they were");
        add_cluster(
            &RenderConfig {
                kube_version: Some("1.30".into()),
                api_versions: Some(vec!["a.io/v1".into(), "b.io/v1/K".into()]),
            },
            &mut tools,
        );
        assert_eq!(tools["render.kube_version"], "1.30");
        assert_eq!(tools["render.api_versions"], "a.io/v1,b.io/v1/K");
    }

    #[test]
    fn inputs_found_by_walking_equal_inputs_looked_up() {
        let entry = |n: u8| FileEntry {
            id: FileId::of_content(&[n]),
            mode: 0o100644,
        };
        let files: BTreeMap<String, FileEntry> = [
            "a/main.tf",
            "a/nested/x.tf",
            "a/nested/y.tf",
            "a/vars.tf",
            "b/main.tf",
        ]
        .iter()
        .enumerate()
        .map(|(i, p)| (p.to_string(), entry(i as u8)))
        .collect();
        let snapshot = Snapshot {
            files,
            source: crate::snapshot::Source::Commit("c".into()),
            touched: Vec::new(),
        };
        for paths in [
            vec!["a/main.tf", "a/vars.tf"],
            vec!["a/main.tf", "a/missing.tf", "a/vars.tf", "b/main.tf"],
            vec!["b/main.tf", "a/main.tf", "a/nested/y.tf"],
            vec!["0-before-all", "zz-after-all"],
            vec![],
        ] {
            let paths: Vec<String> = paths.into_iter().map(String::from).collect();
            let mut walked = Vec::new();
            push_sorted_inputs(&snapshot, &paths, &mut walked);
            let looked_up: Vec<InputFile> =
                paths.iter().map(|p| input_file(&snapshot, p)).collect();
            assert_eq!(walked, looked_up, "{paths:?}");
        }
    }

    #[test]
    fn input_file_json_is_stable() {
        let f = InputFile {
            path: "a/b.tf",
            entry: Some(FileEntry {
                id: FileId::of_content(b"hello\n"),
                mode: 0o100644,
            }),
        };
        assert_eq!(
            serde_json::to_string(&f).unwrap(),
            r#"{"path":"a/b.tf","id":"ce013625030ba8dba906f756967f9e9ca394464a","mode":"100644"}"#
        );
        let m = InputFile {
            path: "x",
            entry: None,
        };
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"path":"x","id":"missing","mode":""}"#
        );
    }
}
