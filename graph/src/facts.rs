//! Parsed facts per file content, and their persistent cache.
//!
//! Facts are a pure function of (parser, content), so the cache is keyed by the file's blob
//! id: an unchanged file is never parsed twice on one machine. The cache file is rewritten
//! atomically (temp file + rename) and holds exactly the entries the last run used, so it
//! never grows without bound. The file carries a BLAKE3 checksum of its body: a file whose
//! checksum does not match (a torn write, a disk error, an edit) or that fails to decode is
//! ignored and rebuilt, never trusted.

use crate::chart::{parse_chart_yaml, parse_requirements_yaml, ChartDependency, ChartFacts};
use crate::digest::FileId;
use crate::error::Result;
use crate::git::Repo;
use crate::hcl::{parse_tf, parse_tf_json, parse_tfvars, parse_tfvars_json, HclFacts};
use crate::manifest::{parse_target_manifest, TargetManifest};
use crate::snapshot::Snapshot;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Bump to invalidate every cached fact (when a parser learns something new).
/// 29: a file a link points to is read as the link's name says (a `Chart.yaml` linking to
/// a file of another name has its dependencies read).
/// 30: a manifest that is not valid UTF-8 is an error, not text with U+FFFD in it.
/// 31: Terragrunt: disabled dependencies, `sops_decrypt_file` and `read_tfvars_file`,
/// files `find_in_parent_folders` finds for other than configuration.
/// 32: a decoded document nested deeper than 64 levels gives its words written as relative
/// paths (it gave only those above that depth).
/// 33: Terragrunt: a file an `include` finds carries the include's line; parentheses
/// around a path.
/// 34: Terragrunt: `-var-file` among `extra_arguments`, optional variable files.
/// 35: Chart.yaml and requirements.yaml read as helm reads them (merge keys, a byte-order
/// mark, the first document only); a dependency's line is its `repository:` key.
/// 36: ... keys in any case (of those equal in any case the last in byte order), of a key
/// given twice the last, merge keys within merged mappings, keys that are numbers.
/// 38: merge keys applied where they stand (a later merge replaces the keys before it;
/// every merge of a mapping applies), a chart or dependency name that is a number.
/// 39: what terraform reads and hcl-edit does not as written (newlines inside an object
/// `for` expression, a key given twice in an object) is read.
/// 40: a quoted `"<<"` in Chart.yaml merges nothing; a byte-order mark, CRLF line ends
/// and heredocs around newlines inside object `for` expressions and template sequences.
/// 41: a comment before an object's `for`, CRLF anywhere in code, keys with escapes or
/// letters beyond ASCII given twice.
/// 42: heredocs named with `-` or letters beyond ASCII kept whole by the relaxed reading.
/// 43: a chart dependency's version.
/// 46: Terramate triggers are inputs (the index's saved models and the baselines, keyed
/// by this, are made again).
/// 48: a link on a module source's path is an input, a git submodule inside a chart is the
/// chart's problem (baselines made again).
/// 49: a file function's path starting with `~` is outside the workspace.
/// 50: the defaults a variable's type gives (`optional(string, "../src")`) and a local or
/// variable under a key named as a path inside an object handed to a module.
/// 51: a local or variable among a choice, a conditional, a list or `abspath` under a path
/// name (`source_dir = coalesce(var.dir, "x")`).
/// 52: the locals a local's map or list names (`merge(local.defaults, var.extra)`).
/// 53: any traversal of a map or list read like it (`merge(local.a, var.b).x`).
/// 54: a local made by a `for` expression holds what the locals named in it hold.
/// 55: a `.tf` file no module call reaches breaks nothing when it does not parse (the
/// index's saved models and the baselines, keyed by this, are made again).
/// 56: the charts a `helm_release` takes from its `for_each` (`chart = each.value`).
/// 57: the line of a `.tf.json` module source or a chart repository written with escapes.
/// 58: a module source written as a constant expression (`("../m")`), or said unresolved.
/// 59: a chart written under a `chart` key inside a module argument (`helm_releases = { web
/// = { chart = "./charts/web" } }`) is one the stack may deploy.
/// 60: an element of a `for` expression (`[for …][0]`) or of a collection in parentheses
/// (`(merge(…)).a`) holds what the locals named in it hold.
pub(crate) const FACTS_VERSION: u32 = 60;
/// The file starts with this, then the BLAKE3 of the rest, then the postcard body.
const MAGIC: &[u8; 8] = b"STRFACT2";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Parser {
    Tf,
    TfJson,
    ChartYaml,
    Requirements,
    Manifest,
    /// A variable file (`*.tfvars`): the paths its values may be.
    TfVars,
    /// A variable file in JSON syntax (`*.tfvars.json`).
    TfVarsJson,
    /// A template `templatefile` renders, whatever its name: the file functions it calls.
    Template,
    /// A `kustomization.yaml` a read leads to: the paths it builds from.
    Kustomization,
    /// A YAML or JSON file a local decodes (`yamldecode(file(...))`): the relative paths
    /// written in it.
    Decoded,
    /// A Terragrunt unit's `terragrunt.hcl` (by its name), or a configuration it includes
    /// (by use): the units, files and module it names (see [`crate::hcl::TerragruntFacts`]).
    Terragrunt,
    /// A Terraform test file (`*.tftest.hcl`): the modules its runs call, the mocks it
    /// loads and the files it reads.
    TfTest,
}

impl Parser {
    /// The parsers files are read with because of how a target reads them, not because of
    /// their names ([`FactStore::read_as`]).
    pub const BY_USE: [Parser; 4] = [
        Parser::Template,
        Parser::Kustomization,
        Parser::Decoded,
        Parser::Terragrunt,
    ];

    fn by_use(self) -> bool {
        Parser::BY_USE.contains(&self)
    }
}

impl Parser {
    pub fn for_path(path: &str) -> Option<Parser> {
        let name = path.rsplit('/').next().unwrap_or(path);
        if crate::discover::is_terraform_json(name) {
            Some(Parser::TfJson)
        } else if crate::discover::is_terraform_file(name) {
            Some(Parser::Tf)
        } else if name.ends_with(".tfvars") {
            Some(Parser::TfVars)
        } else if name.ends_with(".tfvars.json") {
            Some(Parser::TfVarsJson)
        } else if crate::hcl::is_test_file_name(name) {
            Some(Parser::TfTest)
        } else if name == crate::hcl::TERRAGRUNT_UNIT_FILE {
            Some(Parser::Terragrunt)
        } else if name == "Chart.yaml" {
            Some(Parser::ChartYaml)
        } else if name == crate::chart::REQUIREMENTS_FILE {
            Some(Parser::Requirements)
        } else if name == crate::manifest::STACK_MANIFEST
            || name == crate::manifest::CHART_MANIFEST
            || name == crate::manifest::MODULE_MANIFEST
        {
            Some(Parser::Manifest)
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Facts {
    Hcl(HclFacts),
    Chart(ChartFacts),
    /// A `requirements.yaml`'s dependencies (charts of `apiVersion: v1`).
    Requirements(Vec<ChartDependency>),
    Manifest(TargetManifest),
    /// A `kustomization.yaml`'s paths, as written (see [`crate::kustomize`]).
    Kustomization(Vec<String>),
    /// The relative paths written in a decoded configuration file (see [`crate::decoded`]).
    Decoded(Vec<String>),
    /// Boxed: few files are Terragrunt configurations, and every file's facts are as large
    /// as the largest variant.
    Terragrunt(Box<crate::hcl::TerragruntFacts>),
}

type Key = (Parser, FileId);

/// Files that did not parse, with why.
pub type ParseErrors<'p> = Vec<(&'p str, crate::error::Error)>;
type Entries = HashMap<Key, Arc<Facts>>;

/// Facts for files, loaded from and saved to one cache file.
pub struct FactStore {
    path: Option<PathBuf>,
    entries: Mutex<HashMap<Key, Arc<Facts>>>,
    /// The cache file being decoded in the background; joined on first use.
    loading: Mutex<Option<std::thread::JoinHandle<Entries>>>,
    used: Mutex<HashSet<Key>>,
    added: Mutex<usize>,
    /// (parsed, used) when the cache file was last read or written: a save with the same
    /// counts has nothing new to write.
    saved: Mutex<(usize, usize)>,
    /// Some of the facts in use were not looked up (a model came from the index's saved
    /// model, see [`FactStore::keep_unused`]): a save would drop them.
    partial: std::sync::atomic::AtomicBool,
}

#[derive(Deserialize)]
struct Persisted {
    version: u32,
    entries: Vec<(Parser, FileId, Facts)>,
}

/// The same layout as [`Persisted`], borrowed for writing.
#[derive(Serialize)]
struct PersistedRef<'a> {
    version: u32,
    entries: Vec<(Parser, FileId, &'a Facts)>,
}

impl FactStore {
    /// A store with no file behind it (tests, `--no-cache`).
    pub fn in_memory() -> FactStore {
        FactStore::with_entries(None, HashMap::default())
    }

    /// Loads `path` if it exists and decodes (otherwise starts empty). Decoding runs in the
    /// background, so the caller can start other work; the first lookup waits for it.
    pub fn open(path: &Path) -> FactStore {
        let file = path.to_path_buf();
        let loading = std::thread::spawn(move || {
            std::fs::read(&file)
                .ok()
                .and_then(|bytes| decode(&bytes))
                .unwrap_or_default()
        });
        let store = FactStore::with_entries(Some(path.to_path_buf()), HashMap::default());
        *store.loading.lock().expect("facts lock") = Some(loading);
        store
    }

    fn with_entries(path: Option<PathBuf>, entries: HashMap<Key, Arc<Facts>>) -> FactStore {
        let loaded = entries.len();
        FactStore {
            path,
            entries: Mutex::new(entries),
            loading: Mutex::new(None),
            used: Mutex::new(HashSet::default()),
            added: Mutex::new(0),
            saved: Mutex::new((0, loaded)),
            partial: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The entries, once the cache file is decoded.
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<Facts>>> {
        let pending = self.loading.lock().expect("facts lock").take();
        if let Some(thread) = pending {
            let loaded = {
                let _phase = tracing::info_span!("fact cache load (wait)").entered();
                thread.join().unwrap_or_default()
            };
            *self.saved.lock().expect("facts lock") = (0, loaded.len());
            let mut entries = self.entries.lock().expect("facts lock");
            for (k, v) in loaded {
                entries.entry(k).or_insert(v);
            }
            return entries;
        }
        self.entries.lock().expect("facts lock")
    }

    /// The facts already known for `path` with content `id`, without parsing.
    pub fn known(&self, path: &str, id: FileId) -> Option<Arc<Facts>> {
        self.known_as(Parser::for_path(path)?, id)
    }

    /// The facts already known for content `id` read with `parser`, without parsing.
    pub fn known_as(&self, parser: Parser, id: FileId) -> Option<Arc<Facts>> {
        self.entries().get(&(parser, id)).cloned()
    }

    /// Facts for each path (which must have a parser) of `snapshot`, parsing what is missing,
    /// and the parse error of each file that does not parse (in path order, so runs are
    /// repeatable). The outer error is a failure to read files at all.
    pub fn facts_for<'p>(
        &self,
        repo: &Repo,
        snapshot: &Snapshot,
        paths: &[&'p str],
    ) -> Result<(HashMap<&'p str, Arc<Facts>>, ParseErrors<'p>)> {
        self.facts_as(repo, snapshot, paths, Parser::for_path)
    }

    /// [`FactStore::facts_for`] of files a target reads in a way that says what they are,
    /// whatever their names: templates that `templatefile` renders (the file functions
    /// each calls, [`crate::hcl::parse_template`]), kustomizations a read leads to
    /// ([`crate::kustomize`]).
    pub fn read_as<'p>(
        &self,
        parser: Parser,
        repo: &Repo,
        snapshot: &Snapshot,
        paths: &[&'p str],
    ) -> Result<(HashMap<&'p str, Arc<Facts>>, ParseErrors<'p>)> {
        debug_assert!(parser.by_use());
        self.facts_as(repo, snapshot, paths, |_| Some(parser))
    }

    /// [`FactStore::facts_for`] with the parser `parser` chooses for each path.
    pub(crate) fn facts_as<'p>(
        &self,
        repo: &Repo,
        snapshot: &Snapshot,
        paths: &[&'p str],
        parser: impl Fn(&str) -> Option<Parser> + Sync,
    ) -> Result<(HashMap<&'p str, Arc<Facts>>, ParseErrors<'p>)> {
        let mut missing: Vec<(&str, crate::snapshot::FileEntry)> = Vec::new();
        let mut out = HashMap::with_capacity_and_hasher(paths.len(), Default::default());
        {
            let entries = self.entries();
            let mut used = self.used.lock().expect("facts lock");
            for &path in paths {
                let (Some(parser), Some(entry)) = (parser(path), snapshot.files.get(path)) else {
                    continue;
                };
                let key = (parser, entry.id);
                used.insert(key);
                match entries.get(&key) {
                    Some(f) => {
                        out.insert(path, Arc::clone(f));
                    }
                    None => missing.push((path, *entry)),
                }
            }
        }
        if missing.is_empty() {
            return Ok((out, Vec::new()));
        }
        // Read and parsed one file at a time; errors are reported in path order.
        let mut parsed = snapshot.map_entries(repo, &missing, |path, bytes, verified| {
            let parser = parser(path).expect("filtered");
            let facts = match parser {
                // A manifest's settings must be what its bytes say.
                Parser::Manifest => {
                    crate::text::strict_utf8(bytes, path).and_then(|text| parse(parser, path, text))
                }
                _ => parse(parser, path, &crate::text::lossy_utf8(bytes)),
            };
            (facts, verified)
        })?;
        parsed.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut entries = self.entries();
        let mut added = self.added.lock().expect("facts lock");
        let mut errors = Vec::new();
        for (path, entry, (result, verified)) in parsed {
            let facts = match result {
                Ok(facts) => shared(facts),
                Err(e) => {
                    errors.push((path, e));
                    continue;
                }
            };
            let id = entry.id;
            // Facts of content that does not match its id are used, never remembered.
            if verified {
                let key = (parser(path).expect("filtered"), id);
                entries.insert(key, Arc::clone(&facts));
                *added += 1;
            }
            out.insert(path, facts);
        }
        Ok((out, errors))
    }

    /// Says that this run uses facts it does not look up (its model of the index came from
    /// the saved one): the file is left as it is, since writing only the entries looked up
    /// would drop the others. What such a run parses (the files the work tree changed) is
    /// parsed again by the next run, which costs less than writing the whole file.
    pub fn keep_unused(&self) {
        self.partial
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Writes the entries used by this run, when anything changed. Failures are not fatal:
    /// the cache is an optimisation, so a read-only checkout still works.
    pub fn save(&self) {
        let Some(path) = &self.path else { return };
        if self.partial.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        // A run that parsed nothing and read no facts has nothing to say about which facts
        // are in use, and need not wait for the cache file to decode.
        let unused = self.used.lock().expect("facts lock").is_empty();
        if unused && *self.added.lock().expect("facts lock") == 0 {
            return;
        }
        // Lock order everywhere: entries, used, added, saved.
        let entries = self.entries();
        let used = self.used.lock().expect("facts lock");
        let added = *self.added.lock().expect("facts lock");
        // Nothing parsed and nothing dropped since the file was read, or saved already (a
        // command may save early, then at its end).
        let mut saved = self.saved.lock().expect("facts lock");
        if *saved == (added, used.len()) {
            return;
        }
        *saved = (added, used.len());
        let mut keep: Vec<(Parser, FileId, &Facts)> = used
            .iter()
            .filter_map(|k| entries.get(k).map(|f| (k.0, k.1, f.as_ref())))
            .collect();
        keep.sort_by_key(|e| e.1);
        let persisted = PersistedRef {
            version: FACTS_VERSION,
            entries: keep,
        };
        // Encoded straight into the file: the encoding is never held in memory whole.
        let _ = strata_fs::write_sealed_with(path, MAGIC, |w| {
            postcard::to_io(&persisted, w)
                .map(|_| ())
                .map_err(std::io::Error::other)
        });
    }

    /// How many facts were parsed (not served from the cache) by this store.
    pub fn parsed_count(&self) -> usize {
        *self.added.lock().expect("facts lock")
    }

    /// How many contents' facts the store holds.
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps only the facts of `files`' current contents (path and content id), forgetting
    /// those of contents that are gone: a process that runs for long (the daemon) calls this
    /// now and then, so every edit's old version does not stay for good. Facts are keyed by
    /// content, so what is forgotten is only parsed again if that content comes back.
    /// Returns how many were forgotten.
    pub fn retain_current<'a>(&self, files: impl IntoIterator<Item = (&'a str, FileId)>) -> usize {
        let mut current: HashSet<Key> = HashSet::default();
        for (path, id) in files {
            current.extend(Parser::for_path(path).map(|parser| (parser, id)));
            // Any file may be read as a template, a kustomization or a decoded
            // configuration (what reads it says so, not its name).
            current.extend(Parser::BY_USE.map(|parser| (parser, id)));
        }
        let mut entries = self.entries();
        let before = entries.len();
        entries.retain(|key, _| current.contains(key));
        entries.shrink_to_fit();
        let mut used = self.used.lock().expect("facts lock");
        used.retain(|key| current.contains(key));
        used.shrink_to_fit();
        before - entries.len()
    }
}

fn decode(bytes: &[u8]) -> Option<HashMap<Key, Arc<Facts>>> {
    let body = strata_fs::unseal(MAGIC, bytes)?;
    let persisted: Persisted = postcard::from_bytes(body).ok()?;
    if persisted.version != FACTS_VERSION {
        return None;
    }
    Some(
        persisted
            .entries
            .into_iter()
            .map(|(p, id, f)| ((p, id), shared(f)))
            .collect(),
    )
}

/// `facts` behind an [`Arc`]; the facts of a `.tf` file that names no module, file or
/// path (most files: variables, outputs, resources) are one allocation shared by all.
fn shared(facts: Facts) -> Arc<Facts> {
    static NOTHING: std::sync::OnceLock<Arc<Facts>> = std::sync::OnceLock::new();
    let nothing = Facts::Hcl(HclFacts::default());
    if facts == nothing {
        Arc::clone(NOTHING.get_or_init(|| Arc::new(nothing)))
    } else {
        Arc::new(facts)
    }
}

fn parse(parser: Parser, path: &str, text: &str) -> Result<Facts> {
    Ok(match parser {
        Parser::Tf => Facts::Hcl(parse_tf(text, path)?),
        Parser::TfJson => Facts::Hcl(parse_tf_json(text, path)?),
        Parser::ChartYaml => Facts::Chart(parse_chart_yaml(text, path)?),
        Parser::Requirements => Facts::Requirements(parse_requirements_yaml(text, path)?),
        Parser::Manifest => Facts::Manifest(parse_target_manifest(text, path)?),
        Parser::TfVars => Facts::Hcl(parse_tfvars(text, path)?),
        Parser::TfVarsJson => Facts::Hcl(parse_tfvars_json(text, path)?),
        Parser::Template => Facts::Hcl(crate::hcl::parse_template(text, path)?),
        Parser::Kustomization => {
            Facts::Kustomization(crate::kustomize::parse_kustomization(text, path)?)
        }
        Parser::Decoded => Facts::Decoded(crate::decoded::relative_paths(text)),
        Parser::Terragrunt => {
            Facts::Terragrunt(Box::new(crate::hcl::parse_terragrunt(text, path)?))
        }
        Parser::TfTest => Facts::Hcl(crate::hcl::parse_tftest(text, path)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file's facts take the size of the largest variant: a rare kind of file (a
    /// Terragrunt configuration) must not make the common one (a `.tf` file) larger.
    #[test]
    fn facts_are_no_larger_than_a_terraform_files() {
        assert!(
            std::mem::size_of::<Facts>() <= std::mem::size_of::<HclFacts>() + 8,
            "{} > {} + 8",
            std::mem::size_of::<Facts>(),
            std::mem::size_of::<HclFacts>()
        );
    }

    /// Facts with every field filled in, optional ones both set and unset, come back from
    /// the cache file as they went in (postcard cannot skip a field: one skipped when empty
    /// made every warm run parse every file again).
    #[test]
    fn every_kind_of_fact_survives_the_cache_file() {
        let text = r#"locals {
  rel  = "../../shared/a.tpl"
  dir  = "${path.module}/conf"
  p    = var.policy
  a    = file("${path.module}/${local.rel}")
  b    = file("${path.module}/b.json")
  c    = fileset(path.module, "*.json")
  d    = file(var.x)
}

variable "policy" {
  default = "../../shared/policy.json"
}

module "m" {
  source = "../../modules/m"
  conf   = "${path.module}/conf/app.yaml"
}

resource "helm_release" "web" {
  chart = "../../charts/web"
}
"#;
        let facts = parse(Parser::Tf, "stacks/a/main.tf", text).unwrap();
        let Facts::Hcl(hcl) = &facts else {
            panic!("{facts:?}")
        };
        assert!(hcl.file_refs.iter().any(|r| r.tail_local.is_some()));
        assert!(hcl.file_refs.iter().any(|r| r.tail_local.is_none()));
        assert!(!hcl.modules.is_empty() && hcl.module_args().next().is_some());
        assert!(!hcl.chart_refs.is_empty() && !hcl.path_locals.is_empty());
        assert!(!hcl.unresolved_refs.is_empty());
        assert_round_trip(Parser::Tf, text, &facts);
    }

    /// `facts` of `text` written to a cache file and read back are the same.
    fn assert_round_trip(parser: Parser, text: &str, facts: &Facts) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("facts.bin");
        let id = FileId::of_content(text.as_bytes());
        let persisted = PersistedRef {
            version: FACTS_VERSION,
            entries: vec![(parser, id, facts)],
        };
        strata_fs::write_sealed_with(&path, MAGIC, |w| {
            postcard::to_io(&persisted, w)
                .map(|_| ())
                .map_err(std::io::Error::other)
        })
        .unwrap();
        let back = decode(&std::fs::read(&path).unwrap()).expect("the cache file decodes");
        assert_eq!(back.get(&(parser, id)).map(|f| &**f), Some(facts));
    }

    /// A Terragrunt unit's facts come back whole too: what only Terragrunt applies is what
    /// makes `check` refuse the unit, on a warm run as on a cold one.
    #[test]
    fn a_terragrunt_units_facts_survive_the_cache_file() {
        let text = r#"include "root" {
  path           = find_in_parent_folders("root.hcl")
  merge_strategy = "no_merge"
}
terraform {
  source = "../../modules//vpc"
}
dependency "db" {
  config_path = "../db"
}
generate "provider" {
  path     = "provider.tf"
  contents = ""
}
remote_state {
  backend = "s3"
}
inputs = { cidr = "10.0.0.0/16" }
"#;
        let facts = parse(Parser::Terragrunt, "live/a/terragrunt.hcl", text).unwrap();
        let Facts::Terragrunt(unit) = &facts else {
            panic!("{facts:?}")
        };
        assert_eq!(unit.terragrunt_only.len(), 4, "{unit:?}");
        assert_eq!(unit.unmerged, vec![2]);
        assert_round_trip(Parser::Terragrunt, text, &facts);
    }

    #[test]
    fn files_that_name_nothing_share_one_allocation() {
        let variables = parse(Parser::Tf, "stacks/a/variables.tf", "variable \"x\" {}\n").unwrap();
        let outputs = parse(
            Parser::Tf,
            "stacks/b/outputs.tf",
            "output \"y\" { value = 1 }\n",
        )
        .unwrap();
        assert!(Arc::ptr_eq(&shared(variables), &shared(outputs)));
        let main = "module \"m\" { source = \"../../modules/m\" }\n";
        let (a, b) = (
            parse(Parser::Tf, "stacks/a/main.tf", main).unwrap(),
            parse(Parser::Tf, "stacks/b/main.tf", main).unwrap(),
        );
        let (a, b) = (shared(a), shared(b));
        assert!(!Arc::ptr_eq(&a, &b));
        assert!(matches!(a.as_ref(), Facts::Hcl(h) if h.modules.len() == 1));
    }

    #[test]
    fn retaining_current_contents_forgets_only_the_old_versions() {
        let store = FactStore::in_memory();
        let id = |text: &str| FileId::of_content(text.as_bytes());
        let (old, new, other) = (id("a = 1\n"), id("a = 2\n"), id("b = 1\n"));
        let facts = shared(parse(Parser::Tf, "stacks/a/main.tf", "locals { a = 1 }\n").unwrap());
        for key in [(Parser::Tf, old), (Parser::Tf, new), (Parser::Tf, other)] {
            store.entries().insert(key, Arc::clone(&facts));
            store.used.lock().unwrap().insert(key);
        }
        // The same content as a manifest is another key, and no longer current either.
        store
            .entries()
            .insert((Parser::Manifest, new), Arc::clone(&facts));
        let forgotten =
            store.retain_current([("stacks/a/main.tf", new), ("stacks/b/main.tf", other)]);
        assert_eq!(forgotten, 2);
        assert_eq!(store.len(), 2);
        assert!(store.known("stacks/a/main.tf", new).is_some());
        assert!(store.known("stacks/b/other.tf", other).is_some());
        assert!(store.known("stacks/a/main.tf", old).is_none());
        assert!(store.known("stacks/a/stack.toml", new).is_none());
        assert_eq!(store.used.lock().unwrap().len(), 2);
    }
}
