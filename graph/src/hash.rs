//! Target hashes: BLAKE3 over a versioned, serializable fingerprint, computed in dependency
//! order so each hash covers every dependency's hash (a Merkle graph).
//!
//! The fingerprint holds only workspace-relative paths, content ids and pinned versions:
//! the same tree gives the same hashes on any machine, path, user and clock.

use crate::digest::TargetHash;
use crate::discover::Kind;
use crate::model::{EnvironmentFiles, Model};
use crate::snapshot::Snapshot;
use serde::Serialize;
use std::collections::BTreeMap;

/// Bump to change every hash (when what a fingerprint means changes).
pub const FINGERPRINT_VERSION: u32 = 1;

/// One input file: path, content id (git blob id; `missing` for a referenced file that does
/// not exist) and git mode.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct InputFile {
    pub path: String,
    pub id: String,
    pub mode: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DepHash {
    pub label: String,
    pub hash: TargetHash,
}

/// Everything a target hash covers, in the order it is hashed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fingerprint {
    pub version: u32,
    pub kind: Kind,
    pub label: String,
    /// The target's own files and the outside files it reads, sorted by path.
    pub inputs: Vec<InputFile>,
    pub global_inputs: Vec<InputFile>,
    /// Pinned versions of the tools that act on this kind of target.
    pub toolchain: BTreeMap<String, String>,
    pub deps: Vec<DepHash>,
}

impl Fingerprint {
    pub fn hash(&self) -> TargetHash {
        digest(self)
    }

    /// The part that changes when the target's own inputs change.
    pub fn own_digest(&self) -> TargetHash {
        digest(&(self.version, self.kind, &self.label, &self.inputs))
    }

    /// The part that changes with global inputs and tool versions.
    pub fn global_digest(&self) -> TargetHash {
        digest(&(&self.global_inputs, &self.toolchain))
    }
}

fn digest<T: Serialize>(value: &T) -> TargetHash {
    let mut hasher = blake3::Hasher::new();
    serde_json::to_writer(&mut HashWriter(&mut hasher), value).expect("fingerprints serialize");
    TargetHash(*hasher.finalize().as_bytes())
}

struct HashWriter<'a>(&'a mut blake3::Hasher);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Fingerprints and hashes of every target of a model, by target index.
pub struct Hashes {
    pub fingerprints: Vec<Fingerprint>,
    pub hashes: Vec<TargetHash>,
}

pub fn input_file(snapshot: &Snapshot, path: &str) -> InputFile {
    match snapshot.files.get(path) {
        Some(e) => InputFile {
            path: path.to_string(),
            id: e.id.to_hex(),
            mode: format!("{:o}", e.mode),
        },
        None => InputFile {
            path: path.to_string(),
            id: "missing".into(),
            mode: String::new(),
        },
    }
}

/// Which pinned tools act on a kind of target.
fn tools_for(kind: Kind, model: &Model) -> BTreeMap<String, String> {
    let all = model.config.toolchain.versions();
    let wanted: &[&str] = match kind {
        Kind::Stack | Kind::Module => &["terraform", "tofu"],
        Kind::Chart => &["helm"],
        Kind::Policy => &[],
    };
    all.into_iter()
        .filter(|(k, _)| wanted.contains(&k.as_str()))
        .collect()
}

pub fn compute(model: &Model, snapshot: &Snapshot) -> Hashes {
    let global_inputs: Vec<InputFile> = model
        .global_inputs
        .iter()
        .map(|p| input_file(snapshot, p))
        .collect();
    let n = model.targets.len();
    let mut fingerprints: Vec<Option<Fingerprint>> = vec![None; n];
    let mut hashes = vec![TargetHash([0; 32]); n];
    for &i in model.graph.order() {
        let t = &model.targets[i];
        let mut inputs: Vec<InputFile> = t
            .files
            .iter()
            .chain(t.extra_inputs.iter())
            .map(|p| input_file(snapshot, p))
            .collect();
        inputs.sort();
        inputs.dedup();
        let deps = model
            .graph
            .deps(i)
            .iter()
            .map(|&d| DepHash {
                label: model.targets[d].label.clone(),
                hash: hashes[d],
            })
            .collect();
        let fp = Fingerprint {
            version: FINGERPRINT_VERSION,
            kind: t.kind,
            label: t.label.clone(),
            inputs,
            global_inputs: global_inputs.clone(),
            toolchain: tools_for(t.kind, model),
            deps,
        };
        hashes[i] = fp.hash();
        fingerprints[i] = Some(fp);
    }
    Hashes {
        fingerprints: fingerprints
            .into_iter()
            .map(|f| f.expect("every node ordered"))
            .collect(),
        hashes,
    }
}

/// A digest of the files feeding one target in one environment (see
/// `Model::environment_files`), for telling whether they changed.
pub fn environment_digest(
    files: &EnvironmentFiles,
    snapshot: &Snapshot,
    env: &str,
    label: &str,
) -> TargetHash {
    let inputs: Vec<InputFile> = files
        .for_target(env, label)
        .map(|p| input_file(snapshot, p))
        .collect();
    digest(&inputs)
}
