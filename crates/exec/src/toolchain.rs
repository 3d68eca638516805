//! Finding the pinned tools and checking their versions.
//!
//! Search order: the workspace's `tools_dir`, then `PATH`. The version a binary reports must
//! equal the version pinned in WORKSPACE.toml (a leading `v` is ignored), because pinned
//! versions are part of every target hash. Terraform's own CLI configuration
//! (`TF_CLI_CONFIG_FILE`, mirrors, `TF_PLUGIN_CACHE_DIR`) is left as the user set it; only
//! when the user has no provider plugin cache does strata give terraform one
//! ([`plugin_cache_dir`]).

use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;
use strata_graph::workspace::ToolchainConfig;

#[derive(Debug, Clone, Serialize)]
pub struct ToolStatus {
    pub tool: String,
    /// The pinned version (empty when WORKSPACE.toml pins none).
    pub pinned: String,
    /// Whether WORKSPACE.toml pins it; an unpinned tool's version enters task keys instead.
    pub is_pinned: bool,
    pub path: Option<PathBuf>,
    pub found_version: Option<String>,
    pub ok: bool,
    pub problem: Option<String>,
}

/// Looks a tool up in `tools_dir` (relative to `root`) and then on PATH.
pub fn find_tool(name: &str, root: &Path, cfg: &ToolchainConfig) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(dir) = &cfg.tools_dir {
        dirs.push(root.join(dir));
    }
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p)
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

/// The tool-version memo is sealed: a damaged or edited memo is ignored, so a version a
/// binary never reported can never pass the pin check.
const MEMO_MAGIC: &[u8; 8] = b"STRTOOL1";

/// The version a binary reports, remembered in `memo` (a file under the cache directory) by
/// the binary's path, size and modification time, so an unchanged binary is not run again.
/// A version manager's shim (a script, or a link to a binary of another name, as tfenv,
/// asdf and mise install) is asked every time: which version it runs changes without the
/// shim changing. `root` is the directory tasks run below, where such managers look for
/// the version files that choose it.
pub fn tool_version_memo(
    tool: &str,
    path: &Path,
    root: &Path,
    memo: Option<&Path>,
) -> Result<String, String> {
    if is_shim(tool, path) {
        return tool_version(tool, path, root);
    }
    let stamp = std::fs::metadata(path).ok().map(|m| {
        let mtime = m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        format!("{tool} {} {} {mtime}", path.display(), m.len())
    });
    let mut known: std::collections::BTreeMap<String, String> = memo
        .and_then(|m| strata_fs::read_sealed(m, MEMO_MAGIC))
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    if let Some(v) = stamp.as_ref().and_then(|s| known.get(s)) {
        return Ok(v.clone());
    }
    let version = tool_version(tool, path, root)?;
    if let (Some(memo), Some(stamp)) = (memo, stamp) {
        known.insert(stamp, version.clone());
        if let Ok(bytes) = serde_json::to_vec(&known) {
            let _ = strata_fs::write_sealed(memo, MEMO_MAGIC, &bytes);
        }
    }
    Ok(version)
}

/// Whether `path` is a version manager's stand-in for `tool` rather than the tool: a script
/// (`#!`), or a link to a file named otherwise (`terraform -> mise`).
fn is_shim(tool: &str, path: &Path) -> bool {
    let named_otherwise = std::fs::canonicalize(path)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .is_some_and(|name| !name.starts_with(tool));
    let script = std::fs::File::open(path).ok().is_some_and(|mut f| {
        use std::io::Read;
        let mut head = [0u8; 2];
        f.read_exact(&mut head).is_ok() && &head == b"#!"
    });
    named_otherwise || script
}

/// The version a binary reports: `terraform|tofu version -json`, `helm version --short`,
/// asked from `cwd` (a version manager's shim chooses by the version files it finds there).
pub fn tool_version(tool: &str, path: &Path, cwd: &Path) -> Result<String, String> {
    let args: &[&str] = match tool {
        "terraform" | "tofu" => &["version", "-json"],
        "helm" => &["version", "--short"],
        _ => &["--version"],
    };
    let mut cmd = Command::new(path);
    cmd.args(args).env("CHECKPOINT_DISABLE", "1");
    // Like any tool: its own process group, stopped by Ctrl-C or when strata dies.
    let out =
        crate::process::run(cmd, cwd).map_err(|e| format!("cannot run {}: {e}", path.display()))?;
    if !out.success {
        return Err(format!(
            "`{} {}` failed: {}",
            path.display(),
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let version = match tool {
        "terraform" | "tofu" => serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("terraform_version")?.as_str().map(str::to_string)),
        _ => text
            .split_whitespace()
            .next()
            .map(|v| v.split('+').next().unwrap_or(v).to_string()),
    };
    version
        .map(|v| v.trim_start_matches('v').to_string())
        .ok_or_else(|| format!("cannot read a version from `{}`", text.trim()))
}

/// Checks every tool: pinned ones against their pin; for the others, what is found (an
/// unpinned tool that is missing is noted, not a failure: a workspace may not need it).
pub fn check(root: &Path, cfg: &ToolchainConfig) -> Vec<ToolStatus> {
    let pins = cfg.versions();
    let mut statuses: Vec<ToolStatus> = [cfg.terraform_tool(), "helm"]
        .into_iter()
        .filter(|tool| !pins.contains_key(*tool))
        .map(|tool| match find_tool(tool, root, cfg) {
            None => ToolStatus {
                tool: tool.to_string(),
                pinned: String::new(),
                is_pinned: false,
                path: None,
                found_version: None,
                ok: true,
                problem: None,
            },
            Some(path) => match tool_version(tool, &path, root) {
                Ok(found) => ToolStatus {
                    tool: tool.to_string(),
                    pinned: String::new(),
                    is_pinned: false,
                    path: Some(path),
                    found_version: Some(found),
                    ok: true,
                    problem: None,
                },
                Err(problem) => ToolStatus {
                    tool: tool.to_string(),
                    pinned: String::new(),
                    is_pinned: false,
                    path: Some(path),
                    found_version: None,
                    ok: false,
                    problem: Some(problem),
                },
            },
        })
        .collect();
    statuses.extend(pins.into_iter().map(|(tool, pinned)| {
        let pinned = pinned.trim_start_matches('v').to_string();
        let Some(path) = find_tool(&tool, root, cfg) else {
            return ToolStatus {
                problem: Some(format!(
                    "`{tool}` not found in {}PATH",
                    cfg.tools_dir
                        .as_deref()
                        .map(|d| format!("{d} or "))
                        .unwrap_or_default()
                )),
                tool,
                pinned,
                is_pinned: true,
                path: None,
                found_version: None,
                ok: false,
            };
        };
        match tool_version(&tool, &path, root) {
            Ok(found) => ToolStatus {
                ok: found == pinned,
                problem: (found != pinned).then(|| {
                    format!(
                        "{} reports {found}, WORKSPACE.toml pins {pinned}",
                        path.display()
                    )
                }),
                tool,
                pinned,
                is_pinned: true,
                path: Some(path),
                found_version: Some(found),
            },
            Err(problem) => ToolStatus {
                tool,
                pinned,
                is_pinned: true,
                path: Some(path),
                found_version: None,
                ok: false,
                problem: Some(problem),
            },
        }
    }));
    statuses.sort_by(|a, b| a.tool.cmp(&b.tool));
    statuses
}

/// The provider plugin cache strata gives terraform when the user configured none: one
/// directory for every sandbox and workspace of the user, so a provider is unpacked once
/// rather than once per stack. `None` when the user has one (`TF_PLUGIN_CACHE_DIR`, or
/// `plugin_cache_dir` in the CLI configuration terraform reads), which is then used as is.
///
/// `cli_config` is the CLI configuration file terraform will read (`TF_CLI_CONFIG_FILE`
/// as strata passes it, else the user's), `env` reads the environment.
pub fn plugin_cache_dir(
    cli_config: Option<&Path>,
    env: impl Fn(&str) -> Option<String>,
) -> Option<PathBuf> {
    match users_plugin_cache(cli_config, &env) {
        UsersCache::None => Some(strata_plugin_cache(&env)),
        UsersCache::At(_) | UsersCache::Unknown => None,
    }
}

/// The plugin cache terraform will use: strata's ([`plugin_cache_dir`]) or the user's, when
/// strata can tell where that is (`None` when the user's names it with variables terraform
/// expands).
pub fn effective_plugin_cache(
    cli_config: Option<&Path>,
    env: impl Fn(&str) -> Option<String>,
) -> Option<PathBuf> {
    match users_plugin_cache(cli_config, &env) {
        UsersCache::None => Some(strata_plugin_cache(&env)),
        UsersCache::At(dir) => Some(dir),
        UsersCache::Unknown => None,
    }
}

/// Whether the user configured a plugin cache, and where.
enum UsersCache {
    None,
    At(PathBuf),
    /// Configured, at a path strata does not resolve (`$HOME/...`).
    Unknown,
}

fn users_plugin_cache(
    cli_config: Option<&Path>,
    env: &impl Fn(&str) -> Option<String>,
) -> UsersCache {
    let set = |name: &str| env(name).filter(|v| !v.is_empty());
    if let Some(dir) = set("TF_PLUGIN_CACHE_DIR") {
        return UsersCache::At(PathBuf::from(dir));
    }
    let config = cli_config
        .map(Path::to_path_buf)
        .or_else(|| set("TF_CLI_CONFIG_FILE").map(PathBuf::from))
        .or_else(|| set("HOME").map(|h| PathBuf::from(h).join(".terraformrc")));
    if let Some(text) = config.and_then(|p| std::fs::read_to_string(p).ok()) {
        let configured = text.lines().find_map(|l| {
            let l = l.trim_start();
            let value = l
                .strip_prefix("plugin_cache_dir")?
                .trim_start()
                .strip_prefix('=')?;
            Some(value.trim())
        });
        if let Some(value) = configured {
            let literal = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .filter(|v| !v.is_empty() && !v.contains(['$', '\\', '"']));
            return match literal {
                Some(dir) if Path::new(dir).is_absolute() => UsersCache::At(PathBuf::from(dir)),
                _ => UsersCache::Unknown,
            };
        }
    }
    UsersCache::None
}

/// strata's own plugin cache directory.
fn strata_plugin_cache(env: &impl Fn(&str) -> Option<String>) -> PathBuf {
    let set = |name: &str| env(name).filter(|v| !v.is_empty());
    match set("STRATA_PLUGIN_CACHE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => match set("XDG_CACHE_HOME") {
            Some(dir) => PathBuf::from(dir).join("strata/terraform-plugins"),
            None => set("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(std::env::temp_dir)
                .join(".cache/strata/terraform-plugins"),
        },
    }
}

#[cfg(test)]
mod plugin_cache_tests {
    use super::*;

    #[test]
    fn a_cache_is_given_only_where_the_user_has_none() {
        let dir = tempfile::tempdir().unwrap();
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            plugin_cache_dir(None, env(&[("HOME", "/home/u")])),
            Some(PathBuf::from("/home/u/.cache/strata/terraform-plugins"))
        );
        assert_eq!(
            plugin_cache_dir(None, env(&[("HOME", "/home/u"), ("XDG_CACHE_HOME", "/x")])),
            Some(PathBuf::from("/x/strata/terraform-plugins"))
        );
        assert_eq!(
            plugin_cache_dir(None, env(&[("TF_PLUGIN_CACHE_DIR", "/mine")])),
            None
        );
        let rc = dir.path().join("rc");
        std::fs::write(
            &rc,
            "# plugin_cache_dir = \"/old\"\nprovider_installation {}\n",
        )
        .unwrap();
        assert!(plugin_cache_dir(Some(&rc), env(&[("HOME", "/h")])).is_some());
        std::fs::write(&rc, "plugin_cache_dir   = \"/theirs\"\n").unwrap();
        assert_eq!(plugin_cache_dir(Some(&rc), env(&[("HOME", "/h")])), None);
        // Where terraform will look, whoever configured it.
        assert_eq!(
            effective_plugin_cache(Some(&rc), env(&[("HOME", "/h")])),
            Some(PathBuf::from("/theirs"))
        );
        assert_eq!(
            effective_plugin_cache(None, env(&[("TF_PLUGIN_CACHE_DIR", "/mine")])),
            Some(PathBuf::from("/mine"))
        );
        assert_eq!(
            effective_plugin_cache(None, env(&[("HOME", "/home/u")])),
            Some(PathBuf::from("/home/u/.cache/strata/terraform-plugins"))
        );
        std::fs::write(&rc, "plugin_cache_dir = \"$HOME/.terraform.d/plugins\"\n").unwrap();
        assert_eq!(plugin_cache_dir(Some(&rc), env(&[("HOME", "/h")])), None);
        assert_eq!(
            effective_plugin_cache(Some(&rc), env(&[("HOME", "/h")])),
            None
        );
    }
}

#[cfg(test)]
mod version_tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A shim choosing its version from a file in the directory it is asked from, as tfenv
    /// and asdf do: asked from the root, every time (never from a memo).
    #[test]
    fn a_version_managers_shim_is_asked_from_the_root_every_time() {
        let dir = tempfile::tempdir().unwrap();
        let shim = dir.path().join("terraform");
        std::fs::write(
            &shim,
            "#!/bin/sh\nprintf '{\"terraform_version\": \"%s\"}\\n' \"$(cat .terraform-version 2>/dev/null || echo 9.9.9)\"\n",
        )
        .unwrap();
        std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
        let root = dir.path().join("repo");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join(".terraform-version"), "1.5.7\n").unwrap();
        let memo = dir.path().join("memo.json");
        assert!(is_shim("terraform", &shim));
        assert_eq!(
            tool_version_memo("terraform", &shim, &root, Some(&memo)).unwrap(),
            "1.5.7"
        );
        // `tfenv use 1.9.8`: the shim is the same file, the answer is not.
        std::fs::write(root.join(".terraform-version"), "1.9.8\n").unwrap();
        assert_eq!(
            tool_version_memo("terraform", &shim, &root, Some(&memo)).unwrap(),
            "1.9.8"
        );
        // A link to a binary of another name (mise) is a shim too; a binary is not.
        let link = dir.path().join("helm");
        std::os::unix::fs::symlink(dir.path().join("mise"), &link).unwrap();
        std::fs::write(dir.path().join("mise"), b"\x7fELF").unwrap();
        assert!(is_shim("helm", &link));
        let real = dir.path().join("tofu");
        std::fs::write(&real, b"\x7fELF").unwrap();
        assert!(!is_shim("tofu", &real));
    }
}
