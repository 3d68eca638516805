//! The terraform (or tofu) steps of stack and module tasks, run in a sandbox with
//! TF_DATA_DIR pointing at the sandbox's own data directory. Only flags that terraform 1.0
//! through current releases and OpenTofu all accept are used.

use super::plan_json;
use super::process::{self, Output};
use super::sandbox::Sandbox;
pub use super::step::Step;
use super::step::{FmtSummary, InitSummary, StepSummary};
use super::Tools;

use std::path::Path;
use std::sync::RwLock;
use strata_graph::error::{Error, Result};

/// `terraform init` installs providers into the shared plugin cache, which is not safe for
/// concurrent writers: an init that may install holds this exclusively; inits whose
/// providers are all in the cache already only read it, and share it (see
/// [`providers_cached`]).
static INIT_LOCK: RwLock<()> = RwLock::new(());

const OVERRIDE_FILE: &str = "strata_override.tf";

/// Records, in a sandbox's data directory, the file set and backend it was initialised for.
const INIT_MARKER: &str = "strata-init.marker";

fn terraform(tools: &Tools) -> Result<&Path> {
    tools.terraform.as_deref().ok_or_else(|| Error::Invalid {
        message: "terraform is not installed".into(),
        location: strata_graph::error::Location::new("WORKSPACE.toml", None),
        hint: "install the pinned version and put it on PATH, or set [toolchain] tools_dir to the directory holding it".into(),
    })
}

/// How a stack's sandbox reaches its state in an environment.
#[derive(Debug, Clone, Default)]
pub struct StateSetup {
    /// The override file selecting the backend; `None` when the stack's own `backend`
    /// block stays in charge.
    pub override_hcl: Option<String>,
    /// Environment terraform needs for the backend (credentials never written to a file).
    pub env: Vec<(String, String)>,
    /// How long plan and apply wait for the state lock.
    pub lock_timeout_secs: u64,
}

impl StateSetup {
    fn lock_timeout(&self) -> String {
        format!("-lock-timeout={}s", self.lock_timeout_secs)
    }
}

fn run(tools: &Tools, sb: &Sandbox, state: Option<&StateSetup>, args: &[&str]) -> Result<Output> {
    run_with(tools, sb, state, args, &[])
}

/// [`run`] with more environment variables (`TF_VAR_<name>`).
fn run_with(
    tools: &Tools,
    sb: &Sandbox,
    state: Option<&StateSetup>,
    args: &[&str],
    env: &[(String, String)],
) -> Result<Output> {
    let bin = terraform(tools)?;
    let attempt = || {
        let mut cmd = tools.command(bin);
        cmd.args(args).env("TF_DATA_DIR", &sb.data);
        for (k, v) in state.map(|s| s.env.as_slice()).unwrap_or_default() {
            cmd.env(k, v);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        process::run(cmd, &sb.dir).map_err(|e| Error::io(bin, e))
    };
    let started = std::time::Instant::now();
    loop {
        let out = attempt()?;
        if out.success
            || out.interrupted
            || !met_the_creation_lock(&out)
            || started.elapsed() >= CREATION_LOCK_WAIT
        {
            return Ok(out);
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}

/// How long a terraform command that met the pg backend's creation lock is tried again.
const CREATION_LOCK_WAIT: std::time::Duration =
    std::time::Duration::from_secs(crate::state::CREATE_WAIT_SECS);

/// Whether terraform gave up on the pg backend's database-wide creation lock (advisory key
/// -1). terraform 1.0's pg backend takes it, for a moment, whenever it locks any state, and
/// fails at once when another session holds it, whatever `-lock-timeout` says about the
/// state's own lock: other runs' locking and strata's creation of empty states hold it
/// only for a moment, so such a failure is tried again (for up to
/// [`crate::state::CREATE_WAIT_SECS`]). It happens before terraform does anything.
fn met_the_creation_lock(out: &Output) -> bool {
    let text = String::from_utf8_lossy(&out.combined()).to_lowercase();
    text.contains("locked for workspace creation")
}

/// `fmt -check`: lists unformatted files.
pub fn fmt_check(tools: &Tools, sb: &Sandbox) -> Result<Step> {
    let out = run(
        tools,
        sb,
        None,
        &["fmt", "-check", "-recursive", "-list=true", "-no-color"],
    )?;
    let mut step = Step::from(&out);
    let files: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    // An unformatted file fails the step even if the exit code was lost on its way.
    step.ok &= files.is_empty();
    if !files.is_empty() {
        // What is wrong, as a diff.
        let diff = run(
            tools,
            sb,
            None,
            // (`-check` would suppress the diff; `-write=false` leaves the files alone.)
            &[
                "fmt",
                "-write=false",
                "-recursive",
                "-diff",
                "-list=false",
                "-no-color",
            ],
        )?;
        step.log = diff.stdout;
        step.tool_ms += diff.duration.as_millis() as u64;
    }
    step.summary = StepSummary::Fmt(FmtSummary { unformatted: files });
    Ok(step)
}

/// Terraform names files relative to the directory it runs in (`main.tf`,
/// `../../modules/vpc/main.tf`); strata shows them from the workspace root
/// (`stacks/network/main.tf`), as the user's editor knows them.
pub fn repo_paths(log: &str, dir: &str) -> String {
    let mut out = String::with_capacity(log.len());
    for (n, line) in log.split_inclusive('\n').enumerate() {
        if n > 0 || !line.is_empty() {
            out.push_str(&rewrite_line(line, dir));
        }
    }
    out
}

fn rewrite_line(line: &str, dir: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    // `on main.tf line 3`, `--- old/main.tf`, a bare file name of `fmt -list`.
    while let Some(start) = rest.find(|c: char| !c.is_whitespace() && c != '"') {
        let (space, word_start) = rest.split_at(start);
        out.push_str(space);
        let end = word_start
            .find(|c: char| c.is_whitespace() || c == '"' || c == ',' || c == ':')
            .unwrap_or(word_start.len())
            // A lone `,` or `:` is a word of its own, so the loop always advances.
            .max(word_start.chars().next().map_or(1, char::len_utf8));
        let (word, after) = word_start.split_at(end);
        // A name in brackets or quotes (`module "vpc" (main.tf:3)`): the marks stay.
        const MARKS: [char; 5] = ['(', '[', '`', '\'', ')'];
        let inner = word.trim_start_matches(MARKS);
        let (lead, inner) = word.split_at(word.len() - inner.len());
        let core = inner.trim_end_matches([')', ']', '`', '\'', '.']);
        let trail = &inner[core.len()..];
        let (prefix, path) = match core.strip_prefix("old/").or(core.strip_prefix("new/")) {
            Some(p) => (&core[..4], p),
            None => ("", core),
        };
        if (strata_graph::discover::is_terraform_file(path) || path.ends_with(".tfvars"))
            && !path.starts_with('/')
        {
            out.push_str(lead);
            out.push_str(prefix);
            out.push_str(&join_normalized(dir, path));
            out.push_str(trail);
        } else {
            out.push_str(word);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// `dir/path` with `.` and `..` resolved (`stacks/a` + `../../modules/m/x.tf`).
fn join_normalized(dir: &str, path: &str) -> String {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// Runs `init` unless the sandbox is already initialised the same way. `state` says how
/// the stack reaches its state in the environment (`None`: no backend, for validate).
pub fn ensure_init(
    tools: &Tools,
    sb: &Sandbox,
    state: Option<&StateSetup>,
    force: bool,
) -> Result<Step> {
    let marker = sb.data.join(INIT_MARKER);
    let backend = match state {
        None => "-backend=false",
        Some(s) => s.override_hcl.as_deref().unwrap_or("own backend"),
    };
    // Valid for this file set and this backend only.
    let want = format!(
        "{} {}",
        sb.generation,
        blake3::hash(backend.as_bytes()).to_hex()
    );
    let override_path = sb.dir.join(OVERRIDE_FILE);
    match state.and_then(|s| s.override_hcl.as_deref()) {
        Some(hcl) => strata_fs::write_private(&override_path, hcl.as_bytes())
            .map_err(|e| Error::write(&override_path, e))?,
        None => {
            let _ = std::fs::remove_file(&override_path);
        }
    }
    if !force
        && std::fs::read_to_string(&marker).ok().as_deref() == Some(want.as_str())
        && sb.data.join("providers").exists()
    {
        return Ok(Step {
            ok: true,
            summary: StepSummary::Init(InitSummary { reused: true }),
            ..Step::default()
        });
    }
    let reads_only = tools
        .plugin_cache
        .as_deref()
        .is_some_and(|c| providers_cached(&sb.dir, c));
    tracing::debug!(shared = reads_only, "plugin cache lock");
    let _guard = if reads_only {
        InitGuard::Shared(INIT_LOCK.read().unwrap_or_else(|e| e.into_inner()))
    } else {
        InitGuard::Exclusive(INIT_LOCK.write().unwrap_or_else(|e| e.into_inner()))
    };
    // Other strata processes may share the plugin cache too: hold a lock on the machine,
    // the same way.
    let lock_path = init_lock_path(tools.plugin_cache.as_deref());
    let lock_file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| Error::write(&lock_path, e))?;
    if reads_only {
        lock_file.lock_shared()
    } else {
        lock_file.lock()
    }
    .map_err(|e| Error::io(&lock_path, e))?;
    let mut args = vec!["init", "-input=false", "-no-color", "-reconfigure"];
    if state.is_none() {
        args.push("-backend=false");
    }
    let out = run(tools, sb, state, &args)?;
    let mut step = Step::from(&out);
    step.require_said(
        &out,
        "terraform",
        "terraform init",
        "has been successfully initialized",
    );
    if step.ok {
        let _ = std::fs::write(&marker, want);
    } else {
        let _ = std::fs::remove_file(&marker);
    }
    step.summary = StepSummary::Init(InitSummary { reused: false });
    Ok(step)
}

/// The file whose lock serialises inits across strata processes: beside the plugin cache
/// it guards (`<cache>.strata-init.lock`), so every process sharing the cache takes the
/// same lock, and whoever may write the cache may take it. (One file in the temporary
/// directory for everyone was created by the first user and refused all others.) Without
/// a cache known, a lock of the user's own.
fn init_lock_path(cache: Option<&Path>) -> std::path::PathBuf {
    match cache {
        Some(cache) => {
            let cache: std::path::PathBuf = cache.components().collect();
            let mut name = cache.into_os_string();
            name.push(".strata-init.lock");
            name.into()
        }
        None => std::env::temp_dir().join(format!(
            "strata-terraform-init-{}.lock",
            nix::unistd::getuid()
        )),
    }
}

/// Holds [`INIT_LOCK`] for one init.
enum InitGuard<'a> {
    Shared(#[allow(dead_code)] std::sync::RwLockReadGuard<'a, ()>),
    Exclusive(#[allow(dead_code)] std::sync::RwLockWriteGuard<'a, ()>),
}

/// Whether an init in `dir` only reads the plugin cache at `cache`: the directory has a
/// dependency lock file, and every provider it pins is in the cache for this platform at
/// that version (terraform then links it from there and writes nothing to the cache). An
/// unreadable lock file, a provider missing from the cache or a platform terraform names
/// differently all mean "it may install" (the exclusive lock: always safe).
pub fn providers_cached(dir: &Path, cache: &Path) -> bool {
    let Some(platform) = terraform_platform() else {
        return false;
    };
    let Ok(text) = std::fs::read_to_string(dir.join(".terraform.lock.hcl")) else {
        return false;
    };
    let Some(pinned) = pinned_providers(&text) else {
        return false;
    };
    !pinned.is_empty()
        && pinned.iter().all(|(address, version)| {
            let installed = cache.join(address).join(version).join(&platform);
            std::fs::read_dir(&installed).is_ok_and(|mut entries| entries.next().is_some())
        })
}

/// The variables the configuration in `dir` declares (see
/// [`crate::var_values::declarations`]); override files cannot add one.
pub fn declared_variables(dir: &Path) -> std::collections::BTreeSet<String> {
    crate::var_values::declarations(dir)
        .into_iter()
        .filter(|d| !d.overrides)
        .map(|d| d.name)
        .collect()
}

/// The variables `dir` declares, each with whether terraform reads its `TF_VAR_` value
/// literally (no type, or `string`; an override file's `type` wins).
fn read_literally(dir: &Path) -> std::collections::BTreeMap<String, bool> {
    let declarations = crate::var_values::declarations(dir);
    let mut out = std::collections::BTreeMap::new();
    for d in declarations.iter().filter(|d| !d.overrides) {
        out.insert(d.name.clone(), d.string_type != Some(false));
    }
    for d in declarations.iter().filter(|d| d.overrides) {
        if let (Some(literal), Some(string)) = (out.get_mut(&d.name), d.string_type) {
            *literal = string;
        }
    }
    out
}

/// A Terraform type that takes `value`: `map(string)` for a map of strings, `list(number)`
/// for a list of numbers, and `any` for values of mixed or nested shapes.
fn type_of(value: &serde_json::Value) -> String {
    use serde_json::Value;
    let scalar = |items: &mut dyn Iterator<Item = &Value>| -> Option<&'static str> {
        let mut kind = None;
        for v in items {
            let k = match v {
                Value::String(_) => "string",
                Value::Number(_) => "number",
                Value::Bool(_) => "bool",
                _ => return None,
            };
            if kind.is_some_and(|seen| seen != k) {
                return None;
            }
            kind = Some(k);
        }
        kind
    };
    match value {
        Value::Object(map) => match scalar(&mut map.values()) {
            Some(k) => format!("map({k})"),
            None => "any".into(),
        },
        Value::Array(items) => match scalar(&mut items.iter()) {
            Some(k) => format!("list({k})"),
            None => "any".into(),
        },
        _ => "any".into(),
    }
}

/// The providers a dependency lock file pins: (address, version), or `None` when it does
/// not parse or a provider block has no version.
fn pinned_providers(text: &str) -> Option<Vec<(String, String)>> {
    use hcl_edit::structure::Structure;
    let body = strata_graph::hcl::parse_body(text, ".terraform.lock.hcl").ok()?;
    let mut out = Vec::new();
    for structure in body.iter() {
        let Structure::Block(block) = structure else {
            continue;
        };
        if block.ident.as_str() != "provider" {
            continue;
        }
        let address = block.labels.first()?.as_str().to_string();
        let version = block
            .body
            .attributes()
            .find(|a| a.key.as_str() == "version")
            .and_then(|a| a.value.as_str().map(str::to_string))?;
        // A path component each: nothing that could leave the cache directory.
        let safe = |s: &str| !s.is_empty() && s.split('/').all(|c| !c.is_empty() && c != "..");
        if !safe(&address) || !safe(&version) || version.contains('/') {
            return None;
        }
        out.push((address, version));
    }
    Some(out)
}

/// The platform as terraform names it in the plugin cache (`linux_amd64`).
fn terraform_platform() -> Option<String> {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "arm" => "arm",
        _ => return None,
    };
    let os = match std::env::consts::OS {
        "linux" | "freebsd" | "openbsd" | "windows" => std::env::consts::OS,
        "macos" => "darwin",
        _ => return None,
    };
    Some(format!("{os}_{arch}"))
}

/// `init -backend=false` then `validate`.
pub fn validate(tools: &Tools, sb: &Sandbox) -> Result<Step> {
    let mut step = ensure_init(tools, sb, None, false)?;
    if !step.ok {
        return Ok(step);
    }
    let out = run(tools, sb, None, &["validate", "-no-color"])?;
    step.append(&out);
    step.require_said(
        &out,
        "terraform",
        "terraform validate",
        "The configuration is valid",
    );
    step.summary = StepSummary::None;
    if !step.ok {
        forget_init(sb);
    }
    Ok(step)
}

/// After a failed step the sandbox's terraform data directory is not trusted: the next
/// run initialises it again (cheap with the shared plugin cache) instead of failing on a
/// half-installed provider or a stale module copy forever.
fn forget_init(sb: &Sandbox) {
    let _ = std::fs::remove_file(sb.data.join(INIT_MARKER));
}

/// Makes the next init fetch every module again: for modules whose source can change under
/// the same address, a copy fetched earlier may be stale (`terraform init` keeps it).
pub fn refetch_modules(sb: &Sandbox) {
    forget_init(sb);
    let _ = std::fs::remove_dir_all(sb.data.join("modules"));
}

/// Upstream outputs a plan consumes: variables passed as TF_VAR_<name>, and which of them
/// carry a sensitive value.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// By variable name, the value as JSON (written as terraform reads the variable's
    /// `TF_VAR_` value, see [`crate::state::tf_var_text`]).
    pub vars: Vec<(String, serde_json::Value)>,
    /// Variables bound to sensitive outputs: strata marks them `sensitive = true` (an
    /// override file beside the configuration), so terraform keeps them, and everything
    /// derived from them, out of its output.
    pub sensitive: Vec<String>,
    /// Variables that must be declared, with the file setting them: the keys of a target's
    /// own secrets file (environment-wide secrets go to the stacks that declare them).
    pub required: Vec<(String, String)>,
}

/// The override file marking variables bound to sensitive upstream outputs.
const SENSITIVE_OVERRIDE_FILE: &str = "zz_strata_sensitive_override.tf";

/// The binary plan: it holds every value in clear text, so it is private to the owner,
/// never cached, and removed once no step needs it.
pub const PLAN_FILE: &str = "strata.tfplan";

/// Removes the binary plan file of a sandbox.
pub fn remove_plan(sb: &Sandbox) {
    let _ = std::fs::remove_file(sb.dir.join(PLAN_FILE));
}

/// Writes (or removes, when none) the override file marking `sensitive` variables.
fn mark_sensitive(sb: &Sandbox, sensitive: &[String]) -> Result<()> {
    let path = sb.dir.join(SENSITIVE_OVERRIDE_FILE);
    if sensitive.is_empty() {
        let _ = std::fs::remove_file(&path);
        return Ok(());
    }
    let mut hcl = String::from(
        "# Written by strata: these variables receive sensitive outputs of other stacks.\n",
    );
    for name in sensitive {
        hcl.push_str(&format!("variable \"{name}\" {{\n  sensitive = true\n}}\n"));
    }
    std::fs::write(&path, hcl).map_err(|e| Error::write(&path, e))
}

/// `plan -out`, then `show -json` into a summary and a redacted plan JSON. The binary plan
/// is kept (owner-only) for an `apply` step when `keep_plan`, else removed.
/// What a plan is made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanFor {
    /// To be read (check, plan): the plan file is not kept.
    Review,
    /// To be applied next: the plan file is kept, owner-only.
    Apply,
    /// A destroy plan (`-destroy`), to be applied next.
    Destroy,
    /// A destroy plan to be read.
    DestroyReview,
}

pub fn plan(
    tools: &Tools,
    sb: &Sandbox,
    state: &StateSetup,
    var_files: &[String],
    inputs: &Inputs,
    purpose: PlanFor,
) -> Result<Step> {
    let keep_plan = matches!(purpose, PlanFor::Apply | PlanFor::Destroy);
    let step = ensure_init(tools, sb, Some(state), false)?;
    if !step.ok {
        return Ok(step);
    }
    let declared = read_literally(&sb.dir);
    if let Some((name, file)) = inputs
        .required
        .iter()
        .find(|(n, _)| !declared.contains_key(n))
    {
        // Terraform's names: a letter or `_`, then letters, digits, `_` and `-`; not one
        // it reserves for a variable.
        const RESERVED: [&str; 8] = [
            "count",
            "depends_on",
            "for_each",
            "lifecycle",
            "locals",
            "providers",
            "source",
            "version",
        ];
        let is_name = name.starts_with(|c: char| c.is_alphabetic() || c == '_')
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
            && !RESERVED.contains(&name.as_str());
        return Err(Error::Invalid {
            message: format!("{file} sets `{name}`, which this stack does not declare"),
            location: strata_graph::error::Location::new(file.clone(), None),
            hint: if file.ends_with("stack.toml") {
                format!(
                    "declare it (`variable \"{name}\" {{}}`), or name a variable the stack declares in `[inputs]` of {file}"
                )
            } else if is_name {
                format!(
                    "declare it (`variable \"{name}\" {{ sensitive = true }}`) or remove it with `strata secrets edit {file}`"
                )
            } else {
                format!(
                    "`{name}` is no name terraform takes for a variable: rename it (letters, digits, `_` and `-`, starting with a letter) with `strata secrets edit {file}`, and declare that"
                )
            },
        });
    }
    // strata gives its values (upstream outputs in `[inputs]`, secrets) as `TF_VAR_`, which
    // terraform ranks below every variable file: a placeholder for local runs
    // (`db_password = "changeme"` in the stack's terraform.tfvars) or an environment-wide
    // default would silently win. Refused, naming both.
    let given: std::collections::BTreeSet<&str> = inputs
        .vars
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| declared.contains_key(*n))
        .collect();
    if !given.is_empty() {
        let shown = |file: &Path| {
            file.strip_prefix(&sb.src)
                .unwrap_or(file)
                .display()
                .to_string()
        };
        let clash = crate::var_values::set_by_files(&sb.dir, var_files)
            .into_iter()
            .find(|(name, _)| given.contains(name.as_str()));
        if let Some((name, file)) = clash {
            let what = if inputs.sensitive.contains(&name) {
                "a secret or a sensitive upstream output"
            } else {
                "an upstream output in `[inputs]`"
            };
            return Err(Error::Invalid {
                message: format!(
                    "`{name}` is given by strata ({what}) and also set in {}: terraform takes a variable file's value over strata's, so the plan would use the file's",
                    shown(&file)
                ),
                location: strata_graph::error::Location::new(shown(&file), None),
                hint: format!(
                    "remove `{name}` from {} (a value for runs without strata belongs in the variable's default, which strata's value overrides)",
                    shown(&file)
                ),
            });
        }
    }
    // A map or list for a variable terraform reads literally would arrive as its text: a
    // `string` variable would silently get `{"a" = "b"}`, an untyped one fail later where
    // it is used as a map.
    // Every such variable is named, so one fix settles them all.
    let as_text: Vec<&(String, serde_json::Value)> = inputs
        .vars
        .iter()
        .filter(|(n, v)| (v.is_object() || v.is_array()) && declared.get(n) == Some(&true))
        .collect();
    if !as_text.is_empty() {
        let declarations = crate::var_values::declarations(&sb.dir);
        let declared_string = |name: &str| {
            declarations
                .iter()
                .any(|d| d.name == name && d.string_type == Some(true))
        };
        let stack = sb.dir.strip_prefix(&sb.src).unwrap_or(&sb.dir);
        let problems: Vec<String> = as_text
            .iter()
            .map(|(name, value)| {
                format!(
                    "variable `{name}` is given a {}, but it is declared {}",
                    if value.is_object() { "map" } else { "list" },
                    if declared_string(name) {
                        "`type = string`"
                    } else {
                        "without a type"
                    },
                )
            })
            .collect();
        let fixes: Vec<String> = as_text
            .iter()
            .map(|(name, value)| format!("`type = {}` in `variable \"{name}\"`", type_of(value)))
            .collect();
        return Err(Error::Invalid {
            message: format!(
                "{}: terraform would read {} as text",
                problems.join("; "),
                if as_text.len() == 1 {
                    "the value"
                } else {
                    "these values"
                }
            ),
            location: strata_graph::error::Location::new(stack.display().to_string(), None),
            hint: format!("declare the type: {}", fixes.join(", ")),
        });
    }
    // Terraform ignores TF_VAR_ values of undeclared variables, but its providers would
    // still see them in their environment: a stack gets only what it declares (an
    // environment-wide secret reaches only the stacks that declare it). An override of an
    // undeclared variable fails.
    let vars: Vec<(String, String)> = inputs
        .vars
        .iter()
        .filter_map(|(n, v)| {
            let literal = *declared.get(n)?;
            Some((n.clone(), crate::state::tf_var_text(v, literal)))
        })
        .collect();
    let sensitive: Vec<String> = inputs
        .sensitive
        .iter()
        .filter(|n| declared.contains_key(*n))
        .cloned()
        .collect();
    mark_sensitive(sb, &sensitive)?;
    let result = plan_and_show(
        tools,
        sb,
        state,
        var_files,
        &vars,
        matches!(purpose, PlanFor::Destroy | PlanFor::DestroyReview),
        step,
    );
    let _ = std::fs::remove_file(sb.dir.join(SENSITIVE_OVERRIDE_FILE));
    let plan_file = sb.dir.join(PLAN_FILE);
    if !result.as_ref().is_ok_and(|s| s.ok) {
        forget_init(sb);
    }
    if keep_plan && result.as_ref().is_ok_and(|s| s.ok) {
        restrict(&plan_file);
    } else {
        let _ = std::fs::remove_file(&plan_file);
    }
    result
}

/// The titles of terraform's warnings in a log: a diagnostic starts a paragraph, at the
/// line's start (`Warning: ...` after a blank line; `│ Warning: ...` in the box newer
/// versions draw), where a value of the plan that reads so (a heredoc line) does not.
pub fn warnings(log: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut previous = "";
    for line in log.lines() {
        let title = match line.strip_prefix('│') {
            Some(boxed) if previous.starts_with('╷') => {
                boxed.trim_start().strip_prefix("Warning: ")
            }
            Some(_) => None,
            None if previous.trim().is_empty() => line.strip_prefix("Warning: "),
            None => None,
        };
        out.extend(title.map(str::trim));
        previous = line;
    }
    out
}

/// Makes a file readable by its owner only.
fn restrict(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
}

fn plan_and_show(
    tools: &Tools,
    sb: &Sandbox,
    state: &StateSetup,
    var_files: &[String],
    vars: &[(String, String)],
    destroy: bool,
    mut step: Step,
) -> Result<Step> {
    let mut args: Vec<String> = vec![
        "plan".into(),
        "-input=false".into(),
        "-no-color".into(),
        state.lock_timeout(),
        format!("-out={PLAN_FILE}"),
    ];
    if destroy {
        args.push("-destroy".into());
    }
    // Named from the stack's directory, where terraform runs, as its own files are: its
    // messages then name them so (`on ../../environments/dev/x.tfvars line 7`), which the
    // log rewrites to the path in the repository; an absolute path would name the sandbox.
    let depth = sb
        .dir
        .strip_prefix(&sb.src)
        .map_or(0, |d| d.components().count());
    args.extend(var_files.iter().map(|f| {
        let shown = Path::new(f)
            .strip_prefix(&sb.src)
            .map(|p| format!("{}{}", "../".repeat(depth), p.display()))
            .unwrap_or_else(|_| f.clone());
        format!("-var-file={shown}")
    }));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (format!("TF_VAR_{k}"), v.clone()))
        .collect();
    // Through `run_with`, so that the pg backend's creation lock, held for a moment by
    // another run, is tried again as for every other command.
    let out = run_with(tools, sb, Some(state), &args, &vars)?;
    step.append(&out);
    if !out.success {
        return Ok(step);
    }
    let show = run(
        tools,
        sb,
        Some(state),
        &["show", "-json", "-no-color", PLAN_FILE],
    )?;
    step.tool_ms += show.duration.as_millis() as u64;
    if !show.success {
        step.append(&show);
        return Ok(step);
    }
    match plan_json::parse(&show.stdout) {
        Ok(plan) => {
            step.summary = StepSummary::Plan(plan_json::summarize(&plan));
            step.blobs.insert(
                "plan.json".into(),
                serde_json::to_vec(&plan_json::redact(&plan)).expect("json"),
            );
        }
        Err(e) => {
            step.ok = false;
            step.log
                .extend_from_slice(format!("\nstrata: {e}\n").as_bytes());
        }
    }
    Ok(step)
}

/// Applies the plan file the last `plan` step wrote in this sandbox, then removes it.
pub fn apply(tools: &Tools, sb: &Sandbox, state: &StateSetup) -> Result<Step> {
    let timeout = state.lock_timeout();
    let out = run(
        tools,
        sb,
        Some(state),
        &["apply", "-input=false", "-no-color", &timeout, PLAN_FILE],
    );
    remove_plan(sb);
    Ok(Step::from(&out?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_init_lock_lies_beside_the_plugin_cache_it_guards() {
        assert_eq!(
            init_lock_path(Some(Path::new("/home/a/.cache/strata/terraform-plugins/"))),
            Path::new("/home/a/.cache/strata/terraform-plugins.strata-init.lock")
        );
        let own = init_lock_path(None);
        assert!(own
            .to_string_lossy()
            .ends_with(&format!("-{}.lock", nix::unistd::getuid())));
    }

    #[test]
    fn the_type_suggested_takes_the_value() {
        use serde_json::json;
        assert_eq!(type_of(&json!({"a": "x", "b": "y"})), "map(string)");
        assert_eq!(type_of(&json!([1, 2])), "list(number)");
        assert_eq!(type_of(&json!({"a": {"b": "1"}})), "any");
        assert_eq!(type_of(&json!([{"a": 1}])), "any");
        assert_eq!(type_of(&json!({"a": "x", "b": 1})), "any");
        assert_eq!(type_of(&json!({})), "any");
    }

    #[test]
    fn only_the_creation_lock_is_tried_again() {
        let failed = |stderr: &str| Output {
            success: false,
            code: Some(1),
            stdout: Vec::new(),
            stderr: stderr.as_bytes().to_vec(),
            duration: std::time::Duration::ZERO,
            interrupted: false,
        };
        // terraform 1.0.3's two messages: a state with a row, and one without.
        assert!(met_the_creation_lock(&failed(
            "Error: Error acquiring the state lock\n\nError message: Cannot lock workspace; already locked for workspace creation:\ndefault\n"
        )));
        assert!(met_the_creation_lock(&failed(
            "Error message: Already locked for workspace creation: default\n"
        )));
        // The state's own lock, held by another run: that is lock_timeout's business.
        assert!(!met_the_creation_lock(&failed(
            "Error message: Workspace is already locked: default\n"
        )));
    }

    const LOCK: &str = r#"# This file is maintained automatically by "terraform init".
provider "registry.terraform.io/hashicorp/null" {
  version     = "3.2.1"
  constraints = "3.2.1"
  hashes = [
    "h1:abc=",
  ]
}

provider "registry.terraform.io/hashicorp/random" {
  version = "3.6.0"
  hashes  = ["h1:def="]
}
"#;

    #[test]
    fn declared_variables_come_from_every_file_even_one_that_does_not_parse() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        write(
            "vars.tf",
            "variable \"region\" {}\nvariable \"db_password\" {\n  sensitive = true\n}\n",
        );
        write("json.tf.json", r#"{"variable": {"from_json": {}}}"#);
        write(
            "broken.tf",
            "variable \"in_broken\" {\n  default = [\n}\nvariable bare {}\n",
        );
        write("zz_override.tf", "variable \"only_overridden\" {}\n");
        let names: Vec<String> = declared_variables(dir.path()).into_iter().collect();
        assert_eq!(
            names,
            ["bare", "db_password", "from_json", "in_broken", "region"]
        );
    }

    #[test]
    fn a_lock_file_pins_each_provider_at_a_version() {
        assert_eq!(
            pinned_providers(LOCK),
            Some(vec![
                (
                    "registry.terraform.io/hashicorp/null".to_string(),
                    "3.2.1".to_string()
                ),
                (
                    "registry.terraform.io/hashicorp/random".to_string(),
                    "3.6.0".to_string()
                ),
            ])
        );
        assert_eq!(pinned_providers("provider \"x/y/z\" {\n}\n"), None);
        assert_eq!(
            pinned_providers("provider \"x/../z\" {\n  version = \"1\"\n}\n"),
            None
        );
        assert_eq!(pinned_providers("provider {"), None);
    }

    /// An init reads the cache only when every pinned provider is there for this platform;
    /// anything else takes the exclusive lock.
    #[test]
    fn an_init_only_reads_the_cache_when_every_pinned_provider_is_in_it() {
        let Some(platform) = terraform_platform() else {
            return;
        };
        let stack = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        assert!(
            !providers_cached(stack.path(), cache.path()),
            "no lock file"
        );
        std::fs::write(stack.path().join(".terraform.lock.hcl"), LOCK).unwrap();
        assert!(!providers_cached(stack.path(), cache.path()), "empty cache");
        let install = |address: &str, version: &str| {
            let dir = cache.path().join(address).join(version).join(&platform);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("terraform-provider"), b"binary").unwrap();
        };
        install("registry.terraform.io/hashicorp/null", "3.2.1");
        assert!(!providers_cached(stack.path(), cache.path()), "one missing");
        install("registry.terraform.io/hashicorp/random", "3.5.0");
        assert!(
            !providers_cached(stack.path(), cache.path()),
            "another version"
        );
        std::fs::create_dir_all(
            cache
                .path()
                .join("registry.terraform.io/hashicorp/random/3.6.0")
                .join(&platform),
        )
        .unwrap();
        assert!(
            !providers_cached(stack.path(), cache.path()),
            "an empty directory"
        );
        install("registry.terraform.io/hashicorp/random", "3.6.0");
        assert!(providers_cached(stack.path(), cache.path()));
    }

    #[test]
    fn messages_name_files_from_the_workspace_root() {
        let log = "Error: Unsupported argument\n\n  on main.tf line 3, in resource \"x\" \"y\":\n   3:   bad = 1\n\n  on ../../modules/vpc/main.tf line 9:\nmain.tf\n--- old/variables.tf\n+++ new/variables.tf\n";
        let out = repo_paths(log, "stacks/network");
        assert!(
            out.contains("on stacks/network/main.tf line 3, in resource \"x\" \"y\":"),
            "{out}"
        );
        assert!(out.contains("on modules/vpc/main.tf line 9:"), "{out}");
        assert!(out.contains("\nstacks/network/main.tf\n"), "{out}");
        assert!(out.contains("--- old/stacks/network/variables.tf"), "{out}");
        assert!(out.contains("   3:   bad = 1"), "{out}");
        assert_eq!(repo_paths("no files here\n", "a"), "no files here\n");
        assert_eq!(repo_paths("on main.tf line 1", ""), "on main.tf line 1");
        // A file named in brackets or quotes keeps them around the whole path: before,
        // `(main.tf:3)` became `stacks/app/(main.tf:3)`.
        assert_eq!(
            repo_paths("module \"vpc\" (main.tf:3)\n", "stacks/app"),
            "module \"vpc\" (stacks/app/main.tf:3)\n"
        );
        assert_eq!(
            repo_paths("see `main.tf`, [vars.tfvars] and (main.tf).\n", "s"),
            "see `s/main.tf`, [s/vars.tfvars] and (s/main.tf).\n"
        );
    }

    /// terraform's diagnostics start a paragraph (or sit in the box newer versions draw);
    /// a heredoc line of a value that reads like one is none.
    #[test]
    fn warnings_are_terraforms_diagnostics_only() {
        let log = "Plan: 0 to add\n\nWarning: Value for undeclared variable\n\nThe root module...\n\nChanges to Outputs:\n  + banner = <<-EOT\nWarning: this host is monitored\n    EOT\nbanner = <<EOT\nWarning: also a value\nEOT\n\u{256d}\n\u{2502} Warning: Deprecated argument\n\u{2502}\n";
        let log = log.replace('\u{256d}', "\u{2577}");
        assert_eq!(
            warnings(&log),
            vec!["Value for undeclared variable", "Deprecated argument"]
        );
    }
}
