//! Secrets files in environments: where they are, whom they are encrypted for, and what a
//! task receives from them.
//!
//! `environments/<env>/<target dir>/secrets.toml` holds the secrets of one target in one
//! environment, `environments/<env>/secrets.toml` those every stack of the environment may
//! read. Each top-level key is a terraform variable (for a stack) or a top-level value (for
//! a chart). A stack receives the environment-wide secrets it declares a variable for (its
//! own file's keys win), and must declare every key of its own file; a chart receives its
//! own file only (it declares nothing to choose by). Every value received is sensitive: terraform marks
//! the variable so, and the task's results are redacted of it before they are cached,
//! reported or read by another task.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use strata_graph::error::{Error, Location, Result};
use strata_graph::manifest::{parse_env, ENV_FILE};
use strata_graph::session::Session;
use strata_graph::snapshot::Snapshot;
use strata_secrets::{Identities, Recipients};

/// The name of a secrets file.
pub const SECRETS_FILE: &str = "secrets.toml";

/// The prefix of the private temporary directory an edit's plain text is in.
const EDIT_PREFIX: &str = "strata-secrets-";

/// Whether a workspace path is a secrets file.
pub fn is_secrets_file(path: &str) -> bool {
    path.starts_with("environments/")
        && (path == SECRETS_FILE || path.ends_with(&format!("/{SECRETS_FILE}")))
}

/// The top-level keys of a secrets file (sealed or not), without decrypting it.
pub fn names(text: &str) -> Vec<String> {
    text.parse::<toml::Table>()
        .map(|t| {
            t.keys()
                .filter(|k| *k != strata_secrets::META)
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// The values a secrets file sets, as paths of keys to its leaves (`["db", "password"]`
/// for a `password` in a `[db]` table; a key may hold a dot itself, `"a.b" = ...`), without
/// decrypting anything.
pub fn leaf_paths(text: &str) -> Vec<Vec<String>> {
    fn walk(table: &toml::Table, prefix: &[String], out: &mut Vec<Vec<String>>) {
        for (key, value) in table {
            if prefix.is_empty() && key == strata_secrets::META {
                continue;
            }
            let mut path = prefix.to_vec();
            path.push(key.clone());
            match value {
                toml::Value::Table(inner) => walk(inner, &path, out),
                _ => out.push(path),
            }
        }
    }
    let mut out = Vec::new();
    if let Ok(table) = text.parse::<toml::Table>() {
        walk(&table, &[], &mut out);
    }
    out
}

/// A secrets error as strata's error: the file, the line when known, what to do.
pub fn error(file: &str, e: strata_secrets::Error) -> Error {
    Error::Invalid {
        message: e.to_string(),
        location: Location::new(file.to_string(), e.line()),
        hint: e.hint().unwrap_or_default(),
    }
}

/// The environment a workspace path (relative to the root) belongs to.
fn environment_of(rel: &str) -> Option<&str> {
    let rest = rel.strip_prefix("environments/")?;
    let (env, _) = rest.split_once('/')?;
    Some(env)
}

/// A secrets file named on the command line: its path, and its path in the workspace.
pub struct SecretsPath {
    pub path: PathBuf,
    pub rel: String,
}

impl SecretsPath {
    /// `file` as given (relative to `cwd`), inside the workspace at `root`.
    pub fn new(root: &Path, cwd: &Path, file: &Path) -> Result<SecretsPath> {
        let path = if file.is_absolute() {
            file.to_path_buf()
        } else {
            cwd.join(file)
        };
        let abs = std::path::absolute(&path).map_err(|e| Error::io(&path, e))?;
        let root = std::fs::canonicalize(root).map_err(|e| Error::io(root, e))?;
        let dir = abs
            .parent()
            .map(|d| std::fs::canonicalize(d).unwrap_or(d.to_path_buf()));
        let rel = dir
            .and_then(|d| d.strip_prefix(&root).ok().map(Path::to_path_buf))
            .map(|d| d.join(abs.file_name().unwrap_or_default()))
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_else(|| abs.display().to_string());
        Ok(SecretsPath { path: abs, rel })
    }

    pub fn read(&self) -> Result<String> {
        std::fs::read_to_string(&self.path).map_err(|e| Error::io(&self.path, e))
    }
}

/// Whom a secrets file is encrypted for: its environment's `[secrets] recipients`
/// (env.toml in the work tree), then `extra`. A file outside `environments/<env>/` gets
/// `extra` only.
pub fn recipients_for(root: &Path, file: &SecretsPath, extra: &[String]) -> Result<Recipients> {
    let mut list = Vec::new();
    if let Some(env) = environment_of(&file.rel) {
        let env_file = format!("environments/{env}/{ENV_FILE}");
        let path = root.join(&env_file);
        if let Ok(text) = std::fs::read_to_string(&path) {
            let config = parse_env(&text, &env_file)?;
            for r in &config.secrets.recipients {
                strata_secrets::Recipients::parse(std::slice::from_ref(r))
                    .map_err(|e| error(&env_file, e))?;
            }
            list.extend(config.secrets.recipients);
        }
    }
    list.extend(extra.iter().cloned());
    Recipients::parse(&list).map_err(|e| error(&file.rel, e))
}

/// A file's own recipients `own` and those of `extra` it lacks: whom a file is sealed for
/// when its environment lists none (`-r` adds, never replaces).
fn own_and(file: &SecretsPath, mut own: Vec<String>, extra: &[String]) -> Result<Recipients> {
    for r in extra {
        if !own.contains(r) {
            own.push(r.clone());
        }
    }
    Recipients::parse(&own).map_err(|e| error(&file.rel, e))
}

/// The identities of this process (`--identity` files, else the environment).
pub fn identities(given: &[PathBuf]) -> Result<Identities> {
    Identities::find(given).map_err(|e| Error::Usage {
        message: e.to_string(),
        hint: e.hint().unwrap_or_default(),
    })
}

/// What a task receives from the secrets files of its target in its environment.
#[derive(Debug, Default)]
pub(crate) struct TaskSecrets {
    /// Top-level keys and their values, the target's own file over the environment's.
    pub values: BTreeMap<String, serde_json::Value>,
    /// The keys of the target's own file, with that file: a stack must declare them.
    pub own: Vec<(String, String)>,
}

/// Where the secrets of the target `label` (a chart when `chart`) in `env` live, and
/// whether the environment-wide ones reach it too (stacks only): the scope
/// [`reaches`] takes.
pub fn scope(env: &str, label: &str, chart: bool) -> (String, bool) {
    (
        format!(
            "environments/{env}/{}",
            strata_graph::discover::label_dir(label)
        ),
        !chart,
    )
}

/// The secrets files of the target `label` (a chart when `chart`) in `env`: those below its
/// own directory there and, for a stack, the environment-wide one.
pub(crate) fn files_of<'s>(
    snapshot: &'s Snapshot,
    env: &str,
    label: &str,
    chart: bool,
) -> Vec<&'s str> {
    let (own_dir, wide) = scope(env, label, chart);
    let wide_file = format!("environments/{env}/{SECRETS_FILE}");
    let mut files: Vec<&str> = snapshot
        .files_below(&own_dir)
        .map(|(p, _)| p)
        .filter(|p| is_secrets_file(p))
        .collect();
    if let Some((p, _)) = snapshot.files.get_key_value(&wide_file).filter(|_| wide) {
        files.push(p);
    }
    files
}

/// Whether the workspace file `path` is a secrets file that reaches a target whose own
/// secrets live in `own_dir` (environment-wide ones only when `wide`).
pub fn reaches(path: &str, own_dir: &str, wide: bool) -> bool {
    is_secrets_file(path)
        && (wide
            || path
                .strip_prefix(own_dir)
                .is_some_and(|rest| rest.starts_with('/')))
}

/// Decrypts the secrets files among `files` (a target's environment files, the
/// environment-wide ones first), those outside `own_dir` only when `wide`. `Ok(None)` when
/// there are none; an error (a file in clear
/// text, no identity, a file that does not open) names the file and what to do.
pub(crate) fn for_task<'a>(
    session: &Session,
    snapshot: &Snapshot,
    files: impl Iterator<Item = &'a str>,
    own_dir: &str,
    wide: bool,
) -> std::result::Result<Option<TaskSecrets>, String> {
    let own_prefix = format!("{own_dir}/");
    let paths: Vec<&str> = files.filter(|p| reaches(p, own_dir, wide)).collect();
    if paths.is_empty() {
        return Ok(None);
    }
    let texts = snapshot
        .texts(&session.repo, &paths)
        .map_err(|e| e.to_string())?;
    let mut ids: Option<Identities> = None;
    let mut out = TaskSecrets::default();
    for (path, text) in texts {
        let fail = |e: strata_secrets::Error| {
            let hint = e.hint().map(|h| format!(": {h}")).unwrap_or_default();
            format!("{e}{hint}")
        };
        if !strata_secrets::is_sealed(&text) {
            return Err(fail(strata_secrets::Error::NotSealed { file: path }));
        }
        let ids = match &mut ids {
            Some(ids) => ids,
            none => none.insert(Identities::find(&[]).map_err(fail)?),
        };
        let table = strata_secrets::open(&path, &text, ids).map_err(fail)?;
        let own = path.starts_with(&own_prefix);
        for (key, value) in table {
            if own {
                out.own.push((key.clone(), path.clone()));
            }
            out.values.insert(key, strata_secrets::to_json(&value));
        }
    }
    Ok(Some(out))
}

/// How many earlier versions of a secrets file [`earlier_values`] reads.
const EARLIER_VERSIONS: usize = 10;

/// The values of the earlier versions of the secrets files `paths` (their last
/// [`EARLIER_VERSIONS`] in the repository's history, the one in `snapshot` left out; a
/// path may be one that no longer exists): a stack's state keeps the values it was applied
/// with until it is applied again, so after a rotation (or a move of the secret to another
/// file) is committed its outputs may still carry the old one. A version the identities
/// here cannot open is left out. `None` when the history cannot be read whole (a shallow
/// clone).
pub(crate) fn earlier_values(
    session: &Session,
    snapshot: &Snapshot,
    paths: &[&str],
) -> Option<Vec<serde_json::Value>> {
    if session.repo.is_shallow() {
        return None;
    }
    let Ok(ids) = Identities::find(&[]) else {
        return Some(Vec::new());
    };
    let mut out = Vec::new();
    for path in paths {
        let now = snapshot.files.get(*path).map(|e| e.id);
        let Ok(versions) = session.repo.versions_in_history(path) else {
            continue;
        };
        let mut earlier: Vec<strata_graph::digest::FileId> = Vec::new();
        for (_, id) in versions {
            if Some(id) != now && !earlier.contains(&id) {
                earlier.push(id);
            }
            if earlier.len() == EARLIER_VERSIONS {
                break;
            }
        }
        let Ok(blobs) = session.repo.read_blobs(&earlier) else {
            continue;
        };
        for bytes in blobs.values() {
            let text = String::from_utf8_lossy(bytes);
            if !strata_secrets::is_sealed(&text) {
                continue;
            }
            if let Ok(table) = strata_secrets::open(path, &text, &ids) {
                out.extend(table.values().map(strata_secrets::to_json));
            }
        }
    }
    Some(out)
}

/// Where the secrets files of the target `label` (a chart when `chart`) in `env` are kept,
/// whether or not they exist: its own directory's file and, for a stack, the environment's.
pub(crate) fn places_of(env: &str, label: &str, chart: bool) -> Vec<String> {
    let (own_dir, wide) = scope(env, label, chart);
    let mut places = vec![format!("{own_dir}/{SECRETS_FILE}")];
    if wide {
        places.push(format!("environments/{env}/{SECRETS_FILE}"));
    }
    places
}

/// How an edit ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edited {
    /// The file was written (created, when it did not exist), for the environment's
    /// recipients of now.
    Saved {
        /// Whether it got a new data key, every value encrypted again: a recipient it was
        /// sealed for is no longer listed.
        rotated: bool,
    },
    /// The editor left the text as it was: nothing written.
    Unchanged,
}

/// Opens the plain text of a secrets file in `editor` (a shell command; the file's path is
/// appended) and seals what it leaves. The plain text lives only in a private (0700)
/// temporary directory, removed afterwards whatever happens; values that did not change keep
/// their sealed form. A new file is encrypted for `recipients`. When the text does not
/// parse and `retry` says so, the editor opens again on it; otherwise nothing is written.
pub fn edit(
    file: &SecretsPath,
    identities: &dyn Fn() -> Result<Identities>,
    recipients: &dyn Fn(&[String]) -> Result<Recipients>,
    extra: &[String],
    editor: &str,
    retry: &dyn Fn(&Error) -> bool,
) -> Result<Edited> {
    let old = match std::fs::read_to_string(&file.path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io(&file.path, e)),
    };
    let ids = match &old {
        Some(_) => Some(identities()?),
        None => None,
    };
    // The file is sealed for the environment's recipients of now and `extra`, known before
    // the editor opens so that nothing typed is lost for want of them: a new file needs
    // some; an existing one keeps its own (and gains `extra`) when the environment lists
    // none.
    let listed = recipients(&[])?;
    let now = match &old {
        Some(text) if listed.is_empty() => own_and(
            file,
            strata_secrets::recipients_of(&file.rel, text).map_err(|e| error(&file.rel, e))?,
            extra,
        )?,
        _ => recipients(extra)?,
    };
    if old.is_none() && now.is_empty() {
        return Err(error(
            &file.rel,
            strata_secrets::Error::NoRecipients {
                file: file.rel.clone(),
            },
        ));
    }
    let now = (!now.is_empty()).then_some(now);
    let plain = match (&old, &ids) {
        (Some(text), Some(ids)) => {
            if !strata_secrets::is_sealed(text) {
                return Err(error(
                    &file.rel,
                    strata_secrets::Error::NotSealed {
                        file: file.rel.clone(),
                    },
                ));
            }
            strata_secrets::open_text(&file.rel, text, ids).map_err(|e| error(&file.rel, e))?
        }
        _ => String::new(),
    };
    // Private from the start, whatever the umask: editors write backup and swap files beside
    // the file they edit, with modes of their own. One a killed edit left, with its plain
    // text, goes now.
    strata_exec::process::sweep_owned_tempdirs(EDIT_PREFIX);
    let dir = strata_exec::process::owned_tempdir(EDIT_PREFIX)
        .map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let temp = dir.path().join(SECRETS_FILE);
    strata_fs::write_private(&temp, plain.as_bytes()).map_err(|e| Error::io(&temp, e))?;
    let mut shown = plain.clone();
    loop {
        // The editor is interactive: it stays in strata's process group, in the foreground
        // of the terminal, with its streams (strata-exec's runner detaches tools from both).
        #[allow(clippy::disallowed_methods)]
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{editor} \"$1\""))
            .arg("sh")
            .arg(&temp)
            .status()
            .map_err(|e| Error::io("sh", e))?;
        if !status.success() {
            // Ctrl-C, a hang-up or a termination ended the editor (and the shell it runs
            // in): an interrupt, not a broken editor.
            use std::os::unix::process::ExitStatusExt;
            if matches!(status.signal(), Some(1 | 2 | 15))
                || matches!(status.code(), Some(129 | 130 | 143))
            {
                strata_exec::process::cancel_all();
            }
            return Err(Error::Invalid {
                message: format!("the editor (`{editor}`) failed ({status}): nothing was saved"),
                location: Location::new(file.rel.clone(), None),
                hint: "set VISUAL or EDITOR to an editor that exits 0 after saving".into(),
            });
        }
        let edited = std::fs::read_to_string(&temp).map_err(|e| Error::io(&temp, e))?;
        if edited == shown {
            return Ok(Edited::Unchanged);
        }
        let mut rotated = false;
        let sealed = match (&old, &ids) {
            (Some(old), Some(ids)) => {
                if let (Ok(was), Some(now)) = (strata_secrets::recipients_of(&file.rel, old), &now)
                {
                    rotated = strata_secrets::drops_anyone(&was, now);
                }
                strata_secrets::reseal(&file.rel, old, &edited, ids, now.as_ref())
            }
            _ => strata_secrets::seal(
                &file.rel,
                &edited,
                now.as_ref().expect("a new file's recipients"),
            ),
        }
        .map_err(|e| error(&file.rel, e));
        match sealed {
            Ok(text) => {
                if let Some(parent) = file.path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
                }
                // Written only over the text the editor was opened on: another edit, a
                // rotation or a checkout that wrote the file meanwhile is not undone.
                if strata_secrets::write_if_unchanged(&file.path, old.as_deref(), &text)
                    .map_err(|e| error(&file.rel, e))?
                {
                    return Ok(Edited::Saved { rotated });
                }
                // Kept under a data key of its own, for the recipients of now: the file may
                // have been rotated meanwhile because someone left.
                let kept = match &now {
                    Some(now) => strata_secrets::seal(&file.rel, &edited, now)
                        .map_err(|e| error(&file.rel, e))?,
                    None => text,
                };
                return Err(changed_meanwhile(file, &kept));
            }
            Err(e) if retry(&e) => shown = edited,
            Err(e) => return Err(e),
        }
    }
}

/// What [`encrypt`] did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Encrypted {
    pub file: String,
    pub recipients: Vec<String>,
    /// Commits (newest first) holding the file in clear text: encrypting it now does not
    /// take it out of them, so those secrets must be changed.
    pub plain_in_history: Vec<String>,
}

/// The error of an edit whose file another program wrote while the editor was open: the
/// edit, sealed, is kept beside it (`secrets.toml.edited-<time>`), never in clear text.
fn changed_meanwhile(file: &SecretsPath, sealed: &str) -> Error {
    use std::os::unix::fs::OpenOptionsExt;
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    // A name no other kept edit has (two in the same second get a number).
    let written = (0..100).find_map(|n| {
        let name = match n {
            0 => format!("{SECRETS_FILE}.edited-{secs}"),
            n => format!("{SECRETS_FILE}.edited-{secs}-{n}"),
        };
        let kept = file.path.with_file_name(&name);
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&kept);
        match &mut out {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => None,
            Err(e) => Some(Err(e.to_string())),
            Ok(f) => Some(
                std::io::Write::write_all(f, sealed.as_bytes())
                    .and_then(|()| f.sync_all())
                    .map(|()| name)
                    .map_err(|e| e.to_string()),
            ),
        }
    });
    let written = written.unwrap_or_else(|| Err("too many kept edits beside it".into()));
    let kept_rel = |name: &str| match file.rel.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/{name}"),
        None => name.to_string(),
    };
    let hint = match written.map(|name| kept_rel(&name)) {
        Ok(kept_rel) => format!(
            "your edit is kept, sealed, in {kept_rel}: compare the two (`strata secrets decrypt`), then edit the file again, and remove {kept_rel}"
        ),
        Err(e) => format!("your edit could not be kept either ({e}): edit the file again"),
    };
    Error::Invalid {
        message: format!(
            "{} changed while you edited it (another edit, a rotation or a checkout wrote it): your edit was not saved over it",
            file.rel
        ),
        location: Location::new(file.rel.clone(), None),
        hint,
    }
}

/// Encrypts a plain secrets file in place for its environment's recipients and `extra`,
/// and looks for the file in clear text in the repository's history.
pub fn encrypt(root: &Path, file: &SecretsPath, extra: &[String]) -> Result<Encrypted> {
    let recipients = recipients_for(root, file, extra)?;
    let text = file.read()?;
    let sealed =
        strata_secrets::seal(&file.rel, &text, &recipients).map_err(|e| error(&file.rel, e))?;
    if !strata_secrets::write_if_unchanged(&file.path, Some(&text), &sealed)
        .map_err(|e| error(&file.rel, e))?
    {
        return Err(Error::Invalid {
            message: format!("{} changed while strata encrypted it", file.rel),
            location: Location::new(file.rel.clone(), None),
            hint: "run the command again: nothing was written".into(),
        });
    }
    Ok(Encrypted {
        file: file.rel.clone(),
        recipients: recipients.names().to_vec(),
        plain_in_history: plain_in_history(root, &file.rel)?,
    })
}

/// The commits in which `rel` is not a sealed secrets file (none outside a git repository).
fn plain_in_history(root: &Path, rel: &str) -> Result<Vec<String>> {
    let Ok(repo) = strata_graph::git::Repo::open(root) else {
        return Ok(Vec::new());
    };
    let versions = repo.versions_in_history(rel)?;
    let ids: Vec<_> = versions.iter().map(|(_, id)| *id).collect();
    let blobs = repo.read_blobs(&ids)?;
    Ok(versions
        .into_iter()
        .filter(|(_, id)| {
            blobs
                .get(id)
                .is_some_and(|b| !strata_secrets::is_sealed(&String::from_utf8_lossy(b)))
        })
        .map(|(commit, _)| commit)
        .collect())
}

/// The plain text of a sealed secrets file.
pub fn decrypt(file: &SecretsPath, identities_given: &[PathBuf]) -> Result<String> {
    let text = file.read()?;
    let ids = identities(identities_given)?;
    strata_secrets::open_text(&file.rel, &text, &ids).map_err(|e| error(&file.rel, e))
}

/// The values of a secrets file as a chart receives them (tables as maps, each value with
/// its type; a datetime as its text): what the Secret `<env>-<chart>-inputs` holds for
/// `flux-helm` as one values document.
pub fn decrypt_values(
    file: &SecretsPath,
    identities_given: &[PathBuf],
) -> Result<serde_json::Value> {
    let text = decrypt(file, identities_given)?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| Error::Invalid {
        message: format!("the decrypted text is not TOML: {}", e.message()),
        location: Location::new(file.rel.clone(), None),
        hint: format!(
            "fix it with `strata secrets edit {}`",
            strata_graph::text::shell_word(&file.rel)
        ),
    })?;
    Ok(serde_json::Value::Object(
        table
            .into_iter()
            .filter(|(k, _)| k != strata_secrets::META)
            .map(|(k, v)| (k, strata_secrets::to_json(&v)))
            .collect(),
    ))
}

/// What [`rotate`] and [`update_keys`] did to a file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rekeyed {
    pub file: String,
    /// Whom the file is encrypted for now.
    pub recipients: Vec<String>,
    /// Whether the file changed.
    pub changed: bool,
    /// Whether it got a new data key, every value encrypted again (`rotate`, or
    /// `updatekeys` dropping a recipient).
    pub rotated: bool,
}

/// A new data key for each sealed file, every value encrypted again, for its environment's
/// recipients and `extra`. Every file is re-encrypted in memory first: when one of them
/// cannot be (in clear text, not readable with the identities, no recipients), nothing is
/// written.
pub fn rotate(
    root: &Path,
    files: &[SecretsPath],
    identities_given: &[PathBuf],
    extra: &[String],
) -> Result<Vec<Rekeyed>> {
    rekey(
        root,
        files,
        identities_given,
        extra,
        strata_secrets::rotate,
        false,
    )
}

/// The data key of each sealed file encrypted for its environment's recipients and `extra`
/// (the values are kept as they are); files already encrypted for them (their MAC checked,
/// which covers the list) are left alone. As with [`rotate`], nothing is written unless
/// every file can be.
pub fn update_keys(
    root: &Path,
    files: &[SecretsPath],
    identities_given: &[PathBuf],
    extra: &[String],
) -> Result<Vec<Rekeyed>> {
    rekey(
        root,
        files,
        identities_given,
        extra,
        strata_secrets::update_keys,
        true,
    )
}

type Rekey =
    fn(&str, &str, &Identities, &Recipients) -> std::result::Result<String, strata_secrets::Error>;

fn rekey(
    root: &Path,
    files: &[SecretsPath],
    identities_given: &[PathBuf],
    extra: &[String],
    how: Rekey,
    skip_when_same_recipients: bool,
) -> Result<Vec<Rekeyed>> {
    let mut ids: Option<Identities> = None;
    // (file, text read, new text)
    let mut planned = Vec::new();
    let mut done = Vec::new();
    // A file named twice (globs that overlap, `./` in one of them, a link to it) is
    // re-encrypted once: a second plan of it would take the first one's write for someone
    // else's change. It is written where it is, never over a link leading to it.
    let mut seen = std::collections::HashSet::new();
    for file in files {
        let real = file
            .path
            .canonicalize()
            .unwrap_or_else(|_| file.path.clone());
        if !seen.insert(real.clone()) {
            continue;
        }
        let text = file.read()?;
        let ids = match &mut ids {
            Some(ids) => ids,
            none => none.insert(identities(identities_given)?),
        };
        // The environment's recipients and `extra`; when the environment lists none, the
        // file keeps its own and gains `extra`, as in an edit (`-r` adds a recipient, never
        // replaces those who can open the file now).
        let listed = recipients_for(root, file, &[])?;
        let recipients = if listed.is_empty() {
            own_and(
                file,
                strata_secrets::verified_recipients(&file.rel, &text, ids)
                    .map_err(|e| error(&file.rel, e))?,
                extra,
            )?
        } else {
            recipients_for(root, file, extra)?
        };
        let mut rotated = true;
        if skip_when_same_recipients {
            // The list the file names counts only once its MAC matches: one edited by hand
            // would otherwise pass for the recipients the data key is encrypted for.
            let current = strata_secrets::verified_recipients(&file.rel, &text, ids)
                .map_err(|e| error(&file.rel, e))?;
            if current == recipients.names() {
                done.push(Rekeyed {
                    file: file.rel.clone(),
                    recipients: current,
                    changed: false,
                    rotated: false,
                });
                continue;
            }
            rotated = strata_secrets::drops_anyone(&current, &recipients);
        }
        let new = how(&file.rel, &text, ids, &recipients).map_err(|e| error(&file.rel, e))?;
        done.push(Rekeyed {
            file: file.rel.clone(),
            recipients: recipients.names().to_vec(),
            changed: new != text,
            rotated,
        });
        planned.push((file, real, text, new));
    }
    for (file, real, read, new) in planned {
        strata_secrets::rewrite(&real, |now| {
            if now != read {
                return Err(strata_secrets::Error::Format {
                    file: file.rel.clone(),
                    message: "changed while strata re-encrypted it: run the command again".into(),
                });
            }
            Ok(new)
        })
        .map_err(|e| error(&file.rel, e))?;
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_paths_are_the_keys_into_tables() {
        let text = format!(
            "token = \"ENC[a]\"\n\"a.b\" = \"ENC[d]\"\n\n{meta}\n[db]\npassword = \"ENC[b]\"\n\n[db.replica]\nuser = \"ENC[c]\"\n",
            meta = format_args!("[{}]\nversion = 1\n", strata_secrets::META)
        );
        assert_eq!(
            leaf_paths(&text),
            [
                vec!["a.b"],
                vec!["db", "password"],
                vec!["db", "replica", "user"],
                vec!["token"]
            ]
        );
        assert_eq!(names(&text), ["a.b", "db", "token"]);
    }
}
