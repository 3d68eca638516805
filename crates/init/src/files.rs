//! The files `init` writes: WORKSPACE.toml (with the layout and why each glob is there),
//! `environments/<env>/env.toml` and the `.strata/` line of `.gitignore`; and writing
//! them, atomically, never replacing what is there unless asked to.

use std::path::Path;

use serde::Serialize;
use strata_graph::discover::dir_label;
use strata_graph::workspace::WORKSPACE_FILE;
use strata_graph::{Error, Result};

use crate::environments::{self, Environment};
use crate::layout::{default_globs, KindLayout, Layout};
use strata_graph::discover::Kind;

/// What happens to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    /// Replaces an existing file (`--force`).
    Replace,
    /// Adds lines at the end of an existing file.
    Append,
    /// Already says what it should.
    Unchanged,
    /// Exists and is kept (no `--force`).
    Keep,
    /// Not written: other environments are defined already (no `--force`).
    Skip,
}

/// A file `init` writes (or would write).
#[derive(Debug, Clone, Serialize)]
pub struct Planned {
    pub path: String,
    pub action: Action,
    /// The whole text the file will hold.
    pub content: String,
    /// What is added, for an append.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub added: Option<String>,
}

impl Planned {
    pub fn writes(&self) -> bool {
        matches!(
            self.action,
            Action::Create | Action::Replace | Action::Append
        )
    }
}

/// Tool versions the repository pins for other tools (asdf's `.tool-versions`, tfenv's
/// `.terraform-version`), which strata can pin too.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Toolchain {
    pub terraform: Option<String>,
    /// `tofu` when the repository pins OpenTofu and not Terraform.
    pub terraform_binary: Option<String>,
    pub helm: Option<String>,
    /// The files the versions came from.
    pub from: Vec<String>,
}

fn is_version(v: &str) -> bool {
    let core = v.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

pub fn detect_toolchain(root: &Path) -> Toolchain {
    let mut t = Toolchain::default();
    let mut tofu = None;
    if let Ok(text) = std::fs::read_to_string(root.join(".tool-versions")) {
        for line in text.lines() {
            let mut words = line.split('#').next().unwrap_or("").split_whitespace();
            let (Some(tool), Some(version)) = (words.next(), words.next()) else {
                continue;
            };
            if !is_version(version) {
                continue;
            }
            match tool {
                "terraform" => t.terraform = Some(version.into()),
                "opentofu" => tofu = Some(version.to_string()),
                "helm" => t.helm = Some(version.into()),
                _ => continue,
            }
            if !t.from.iter().any(|f| f == ".tool-versions") {
                t.from.push(".tool-versions".into());
            }
        }
    }
    for (file, is_tofu) in [(".terraform-version", false), (".opentofu-version", true)] {
        let Ok(text) = std::fs::read_to_string(root.join(file)) else {
            continue;
        };
        let v = text.trim().trim_start_matches('v');
        if !is_version(v) {
            continue;
        }
        match is_tofu {
            false if t.terraform.is_none() => t.terraform = Some(v.into()),
            true if tofu.is_none() => tofu = Some(v.into()),
            _ => continue,
        }
        t.from.push(file.into());
    }
    if t.terraform.is_none() {
        if let Some(v) = tofu {
            t.terraform = Some(v);
            t.terraform_binary = Some("tofu".into());
        }
    }
    t
}

/// What WORKSPACE.toml says besides the layout.
pub struct WorkspaceText<'a> {
    pub name: &'a str,
    pub default_branch: &'a str,
    pub toolchain: &'a Toolchain,
    pub layout: &'a Layout,
    /// Where a stack's directory names its environment (`live/{env}`).
    pub environment_path: Option<&'a str>,
    /// Targets found, by kind, for the header comment.
    pub counts: &'a [(Kind, usize)],
    /// `[workspace] ignore`.
    pub ignore: &'a [String],
}

pub(crate) fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// `s` (a path, a name from the repository) as the text of a TOML comment: a control
/// character (a line break in a directory's name) is escaped (`\n`), so the name stays in
/// its comment instead of starting a line of settings.
pub(crate) fn in_comment(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

pub(crate) fn listing(dirs: &[String]) -> String {
    let labels: Vec<String> = dirs.iter().map(|d| in_comment(dir_label(d))).collect();
    match labels.len() {
        0 => String::new(),
        1 => labels[0].to_string(),
        2 => format!("{} and {}", labels[0], labels[1]),
        n => format!("{}, {} and {} more", labels[0], labels[1], n - 2),
    }
}

fn kind_lines(out: &mut String, key: &str, what: &str, layout: &KindLayout) {
    out.push_str(&format!("# {key}: {what}\n"));
    if !layout.instead_of_default.is_empty() {
        out.push_str(&format!(
            "# (set because {})\n",
            in_comment(&layout.instead_of_default)
        ));
    }
    if layout.globs.is_empty() {
        out.push_str(&format!("{key} = []\n"));
        return;
    }
    out.push_str(&format!("{key} = [\n"));
    let width = layout
        .globs
        .iter()
        .map(|g| quote(&g.glob).len())
        .max()
        .unwrap_or(0)
        + 1;
    for g in &layout.globs {
        let note = if g.glob == "." {
            "the workspace root".to_string()
        } else if g.dirs.is_empty() {
            "the default, none there yet".to_string()
        } else if g.glob.starts_with('!') {
            format!("keeps out {}", listing(&g.dirs))
        } else {
            format!("{}: {}", g.dirs.len(), listing(&g.dirs))
        };
        let item = format!("{},", quote(&g.glob));
        out.push_str(&format!("    {item:width$} # {note}\n"));
    }
    out.push_str("]\n");
}

/// The text of WORKSPACE.toml.
pub fn workspace_toml(w: &WorkspaceText) -> String {
    let mut out = String::new();
    out.push_str("# Written by `strata init`; see docs/configuration.md for every key.\n");
    let found: Vec<String> = w
        .counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| {
            let name = match (k, *n == 1) {
                (Kind::Policy, true) => "policy",
                (Kind::Policy, false) => "policies",
                (k, true) => k.as_str(),
                (Kind::Stack, false) => "stacks",
                (Kind::Module, false) => "modules",
                (Kind::Chart, false) => "charts",
            };
            format!("{n} {name}")
        })
        .collect();
    if found.is_empty() {
        out.push_str("# It found no targets.\n\n");
    } else {
        out.push_str(&format!(
            "# It found {}: `strata list` shows them.\n\n",
            found.join(", ")
        ));
    }
    out.push_str(&format!(
        "[workspace]\nname = {}\ndefault_branch = {}\nglobal_inputs = [\"WORKSPACE.toml\"]\nignore = [{}]\n\n",
        quote(w.name),
        quote(w.default_branch),
        w.ignore.iter().map(|g| quote(g)).collect::<Vec<_>>().join(", ")
    ));
    out.push_str("[toolchain]\n");
    let t = w.toolchain;
    if !t.from.is_empty() {
        out.push_str(&format!("# from {}\n", in_comment(&t.from.join(" and "))));
    }
    match &t.terraform {
        Some(v) => out.push_str(&format!("terraform = {}\n", quote(v))),
        None => out.push_str(
            "# terraform = \"1.5.7\"        # pin the version you run: it enters every hash\n",
        ),
    }
    if let Some(b) = &t.terraform_binary {
        out.push_str(&format!("terraform_binary = {}\n", quote(b)));
    }
    match &t.helm {
        Some(v) => out.push_str(&format!("helm = {}\n", quote(v))),
        None => out.push_str("# helm = \"3.14.0\"\n"),
    }
    out.push('\n');
    let defaults: Vec<String> = [
        (Kind::Stack, "stacks", w.layout.stacks.is_none()),
        (Kind::Module, "modules", w.layout.modules.is_none()),
        (Kind::Chart, "charts", w.layout.charts.is_none()),
        (Kind::Policy, "policies", w.layout.policies.is_none()),
    ]
    .iter()
    .filter(|(_, _, default)| *default)
    .map(|(k, key, _)| format!("{key} = {:?}", default_globs(*k)))
    .collect();
    let environment_path = w.environment_path.map(|p| {
        format!(
            "# Stacks below here deploy to the environment their directory names:\nenvironment_path = {}\n",
            quote(p)
        )
    });
    if w.layout.stacks.is_none()
        && w.layout.modules.is_none()
        && w.layout.charts.is_none()
        && w.layout.policies.is_none()
    {
        out.push_str("# [layout]: the defaults fit what `strata init` found:\n");
        for d in &defaults {
            out.push_str(&format!("#   {d}\n"));
        }
        if let Some(line) = environment_path {
            out.push_str("[layout]\n");
            out.push_str(&line);
        }
        return out;
    }
    out.push_str("[layout]\n");
    out.push_str("# The defaults fit the kinds not set here:\n");
    for d in &defaults {
        out.push_str(&format!("#   {d}\n"));
    }
    if let Some(s) = &w.layout.stacks {
        kind_lines(
            &mut out,
            "stacks",
            "Terraform roots, directories no module call names that configure a backend or providers (or carry another tool's root marks)",
            s,
        );
    }
    if let Some(m) = &w.layout.modules {
        kind_lines(
            &mut out,
            "modules",
            "directories called through a local `source`",
            m,
        );
    }
    if let Some(c) = &w.layout.charts {
        kind_lines(&mut out, "charts", "directories holding a Chart.yaml", c);
    }
    if let Some(p) = &w.layout.policies {
        kind_lines(&mut out, "policies", "directories holding Rego policies", p);
    }
    if let Some(line) = environment_path {
        out.push_str(&line);
    }
    out
}

/// `.gitignore` with `.strata/` (strata's caches, locks and daemon files) in it.
pub fn gitignore(root: &Path) -> Planned {
    let path = ".gitignore".to_string();
    let existing = std::fs::read_to_string(root.join(&path)).ok();
    let listed = existing.as_deref().is_some_and(|text| {
        text.lines().any(|l| {
            matches!(
                l.trim(),
                ".strata" | ".strata/" | "/.strata" | "/.strata/" | ".strata/*" | "/.strata/*"
            )
        })
    });
    let added = ".strata/\n".to_string();
    match existing {
        Some(text) if listed => Planned {
            path,
            action: Action::Unchanged,
            content: text,
            added: None,
        },
        Some(mut text) => {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&added);
            Planned {
                path,
                action: Action::Append,
                content: text,
                added: Some(added),
            }
        }
        None => Planned {
            path,
            action: Action::Create,
            content: added.clone(),
            added: Some(added),
        },
    }
}

/// WORKSPACE.toml: created, or replaced with `force`, else kept.
pub fn workspace_file(root: &Path, text: String, force: bool) -> Planned {
    let exists = root.join(WORKSPACE_FILE).exists();
    Planned {
        path: WORKSPACE_FILE.into(),
        action: match (exists, force) {
            (false, _) => Action::Create,
            (true, true) => Action::Replace,
            (true, false) => Action::Keep,
        },
        content: text,
        added: None,
    }
}

/// `environments/<env>/env.toml` for the environments found: only when none is defined
/// yet, or with `force`.
pub fn env_files(envs: &[Environment], force: bool) -> Vec<Planned> {
    let any_defined = envs.iter().any(|e| e.defined);
    envs.iter()
        .map(|e| Planned {
            path: format!("environments/{}/env.toml", e.name),
            action: match (e.defined, force, any_defined) {
                (true, true, _) => Action::Replace,
                (true, false, _) => Action::Keep,
                (false, true, _) | (false, false, false) => Action::Create,
                (false, false, true) => Action::Skip,
            },
            content: environments::env_toml(e),
            added: None,
        })
        .collect()
}

/// Writes the planned files that change something, each atomically (a temporary file
/// beside it, renamed over it). A new file gets the permissions any new file gets (the
/// umask decides), a replaced one keeps its own.
pub fn write(root: &Path, planned: &[Planned]) -> Result<()> {
    for p in planned.iter().filter(|p| p.writes()) {
        let path = root.join(&p.path);
        write_file(&path, p.content.as_bytes()).map_err(|e| Error::write(&path, e))?;
    }
    Ok(())
}

fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.strata-init.tmp"));
    let result = (|| {
        std::fs::write(&tmp, bytes)?;
        if let Ok(meta) = std::fs::metadata(path) {
            std::fs::set_permissions(&tmp, meta.permissions())?;
        }
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Chosen;

    #[test]
    fn workspace_toml_parses_and_explains_each_glob() {
        let layout = Layout {
            stacks: Some(KindLayout {
                globs: vec![
                    Chosen {
                        glob: "examples/*".into(),
                        dirs: vec![
                            "examples/a".into(),
                            "examples/b".into(),
                            "examples/c".into(),
                        ],
                    },
                    Chosen {
                        glob: "!examples/c/**".into(),
                        dirs: vec!["examples/c/x".into()],
                    },
                ],
                instead_of_default: "the default stacks/** would miss them".into(),
            }),
            modules: Some(KindLayout {
                globs: vec![Chosen {
                    glob: ".".into(),
                    dirs: vec![String::new()],
                }],
                instead_of_default: String::new(),
            }),
            charts: None,
            policies: None,
        };
        let text = workspace_toml(&WorkspaceText {
            environment_path: None,
            name: "eks",
            default_branch: "master",
            toolchain: &Toolchain::default(),
            layout: &layout,
            counts: &[(Kind::Stack, 3), (Kind::Module, 1)],
            ignore: &["**/*.md".into(), ".github/**".into()],
        });
        assert!(
            text.contains("    \"examples/*\",     # 3: examples/a, examples/b and 1 more\n"),
            "{text}"
        );
        assert!(text.contains("\".\", # the workspace root\n"), "{text}");
        assert!(text.contains("keeps out examples/c/x"), "{text}");
        assert!(
            text.contains("# (set because the default stacks/** would miss them)\n"),
            "{text}"
        );
        let cfg = strata_graph::workspace::WorkspaceConfig::parse(&text, "WORKSPACE.toml").unwrap();
        assert_eq!(cfg.layout.stacks, vec!["examples/*", "!examples/c/**"]);
        assert_eq!(cfg.layout.modules, vec!["."]);
        assert_eq!(cfg.layout.charts, vec!["**"]);
        assert_eq!(cfg.workspace.default_branch, "master");
        assert_eq!(cfg.workspace.ignore, vec!["**/*.md", ".github/**"]);
        let plain = workspace_toml(&WorkspaceText {
            environment_path: None,
            name: "x",
            default_branch: "main",
            toolchain: &Toolchain::default(),
            layout: &Layout::default(),
            counts: &[],
            ignore: &[],
        });
        let cfg =
            strata_graph::workspace::WorkspaceConfig::parse(&plain, "WORKSPACE.toml").unwrap();
        assert_eq!(cfg.layout, strata_graph::workspace::LayoutConfig::default());
    }

    #[test]
    fn toolchain_from_other_tools_pins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".tool-versions"),
            "opentofu 1.8.3\nhelm 3.14.0 # pinned\nterragrunt 0.55.0\n",
        )
        .unwrap();
        std::fs::write(dir.path().join(".terraform-version"), "latest\n").unwrap();
        let t = detect_toolchain(dir.path());
        assert_eq!(t.terraform.as_deref(), Some("1.8.3"));
        assert_eq!(t.terraform_binary.as_deref(), Some("tofu"));
        assert_eq!(t.helm.as_deref(), Some("3.14.0"));
        assert_eq!(t.from, vec![".tool-versions"]);
    }

    #[test]
    #[cfg(unix)]
    fn writes_keep_a_replaced_files_mode_and_give_new_files_the_usual_one() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mode = |p: &str| {
            std::fs::metadata(dir.path().join(p))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        std::fs::write(dir.path().join("plain"), "x").unwrap();
        std::fs::write(dir.path().join("WORKSPACE.toml"), "old").unwrap();
        std::fs::set_permissions(
            dir.path().join("WORKSPACE.toml"),
            std::fs::Permissions::from_mode(0o640),
        )
        .unwrap();
        let planned = |path: &str, action| Planned {
            path: path.into(),
            action,
            content: "new\n".into(),
            added: None,
        };
        write(
            dir.path(),
            &[
                planned("WORKSPACE.toml", Action::Replace),
                planned("environments/dev/env.toml", Action::Create),
                planned(".gitignore", Action::Keep),
            ],
        )
        .unwrap();
        assert_eq!(mode("WORKSPACE.toml"), 0o640);
        assert_eq!(mode("environments/dev/env.toml"), mode("plain"));
        assert!(!dir.path().join(".gitignore").exists());
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 3, "no temporary file is left: {names:?}");
    }

    #[test]
    fn gitignore_gets_one_line() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(gitignore(dir.path()).action, Action::Create);
        std::fs::write(dir.path().join(".gitignore"), "target").unwrap();
        let p = gitignore(dir.path());
        assert_eq!(
            (p.action, p.content.as_str()),
            (Action::Append, "target\n.strata/\n")
        );
        std::fs::write(dir.path().join(".gitignore"), "/.strata/\n").unwrap();
        assert_eq!(gitignore(dir.path()).action, Action::Unchanged);
    }
}
