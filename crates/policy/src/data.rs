//! Data documents (`conftest --data`, and `data = [...]` in policy.toml): JSON and YAML
//! files merged into `data`.
//!
//! Where a file lands follows conftest: a file named directly merges its top-level object at
//! the root of `data`; in a directory named, files directly inside merge at the root and
//! files in `x/y/` below it merge under `data.x.y` (a file's own name is never part of the
//! path). Only `.json`, `.yaml` and `.yml` files are read; each must hold an object (for
//! YAML, its first document). Two files giving different values at one path is an error.

use crate::Error;
use serde_json::{Map, Value};

/// One data file: where it is shown from, its text, and the path under `data` it merges at.
#[derive(Debug, Clone)]
pub struct DataFile {
    pub path: String,
    pub text: String,
    pub under: Vec<String>,
}

/// Whether a file is a data document by its extension.
pub fn is_data_file(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.ends_with(".json") || lower.ends_with(".yaml") || lower.ends_with(".yml")
}

/// The data files a policy's `data` entries name, among the policy target's files (paths
/// relative to the workspace): (path, the path under `data` it merges at). An entry that
/// names no file is an error.
pub fn policy_data_files(
    label: &str,
    entries: &[String],
    files: &[String],
) -> Result<Vec<(String, Vec<String>)>, Error> {
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.trim_end_matches('/');
        let base = if entry.is_empty() || entry == "." {
            label.to_string()
        } else {
            format!("{label}/{entry}")
        };
        let before = out.len();
        for f in files {
            if *f == base {
                out.push((f.clone(), Vec::new()));
            } else if let Some(rest) = f.strip_prefix(&format!("{base}/")) {
                if !is_data_file(rest) {
                    continue;
                }
                let mut under: Vec<String> = rest.split('/').map(str::to_string).collect();
                under.pop();
                out.push((f.clone(), under));
            }
        }
        if out.len() == before {
            return Err(Error::in_file(
                &format!("{label}/policy.toml"),
                None,
                format!("data entry `{entry}` names no JSON or YAML file in {label}"),
            )
            .with_hint("list files or directories inside the policy's directory"));
        }
    }
    Ok(out)
}

/// Data files on disk for `--data` paths (files, or directories walked recursively).
pub fn files_on_disk(paths: &[std::path::PathBuf]) -> Result<Vec<DataFile>, Error> {
    fn walk(dir: &std::path::Path, under: &[String], out: &mut Vec<DataFile>) -> Result<(), Error> {
        let failed =
            |e: std::io::Error| Error::in_file(&dir.display().to_string(), None, e.to_string());
        // A directory inside itself (a symbolic link up the tree) would nest its data
        // without end.
        let real = std::fs::canonicalize(dir).map_err(failed)?;
        let mut above = dir.parent();
        for _ in under {
            let Some(parent) = above else { break };
            if std::fs::canonicalize(parent).is_ok_and(|p| p == real) {
                return Err(Error::in_file(
                    &dir.display().to_string(),
                    None,
                    "a symbolic link loop: this directory is one of those above it",
                ));
            }
            above = parent.parent();
        }
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .and_then(|d| {
                d.map(|e| e.map(|e| e.path()))
                    .collect::<std::io::Result<Vec<_>>>()
            })
            .map_err(failed)?;
        entries.sort();
        for e in entries {
            let name = e
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if e.is_dir() {
                let mut sub = under.to_vec();
                sub.push(name);
                walk(&e, &sub, out)?;
            } else if is_data_file(&name) {
                out.push(read(&e, under.to_vec())?);
            }
        }
        Ok(())
    }
    fn read(path: &std::path::Path, under: Vec<String>) -> Result<DataFile, Error> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::in_file(&shown, None, e.to_string()))?;
        Ok(DataFile {
            path: shown,
            text,
            under,
        })
    }
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &[], &mut out)?;
        } else {
            out.push(read(p, Vec::new())?);
        }
    }
    Ok(out)
}

/// Parses and merges the data files, in order.
pub fn merge(files: &[DataFile]) -> Result<Map<String, Value>, Error> {
    let mut data = Map::new();
    for f in files {
        let doc = if f.path.to_ascii_lowercase().ends_with(".json") {
            serde_json::from_str::<Value>(f.text.trim_start_matches('\u{feff}')).map_err(|e| {
                Error::in_file(&f.path, Some(e.line() as u32), format!("invalid JSON: {e}"))
            })?
        } else {
            crate::yaml::first_document(&f.text).map_err(|e| Error {
                file: Some(f.path.clone()),
                ..e
            })?
        };
        let Value::Object(mut doc) = doc else {
            return Err(Error::in_file(
                &f.path,
                None,
                "a data document must hold an object at its top level",
            ));
        };
        for key in f.under.iter().rev() {
            let mut m = Map::new();
            m.insert(key.clone(), Value::Object(doc));
            doc = m;
        }
        deep_merge(&mut data, doc, &mut Vec::new()).map_err(|at| {
            Error::in_file(
                &f.path,
                None,
                format!("`data.{at}` is given a different value by another data file"),
            )
        })?;
    }
    Ok(data)
}

fn deep_merge(
    into: &mut Map<String, Value>,
    from: Map<String, Value>,
    at: &mut Vec<String>,
) -> Result<(), String> {
    for (k, v) in from {
        at.push(k.clone());
        match (into.get_mut(&k), v) {
            (None, v) => {
                into.insert(k, v);
            }
            (Some(Value::Object(a)), Value::Object(b)) => deep_merge(a, b, at)?,
            (Some(a), b) if *a == b => {}
            _ => return Err(at.join(".")),
        }
        at.pop();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn files_merge_where_conftest_puts_them() {
        let files = vec![
            "policies/p/main.rego".to_string(),
            "policies/p/exclusions/services.yaml".to_string(),
            "policies/p/exclusions/team/owners.json".to_string(),
            "policies/p/exclusions/README.md".to_string(),
        ];
        let found = policy_data_files("policies/p", &["exclusions".into()], &files).unwrap();
        assert_eq!(
            found,
            vec![
                ("policies/p/exclusions/services.yaml".to_string(), vec![]),
                (
                    "policies/p/exclusions/team/owners.json".to_string(),
                    vec!["team".to_string()]
                ),
            ]
        );
        assert!(policy_data_files("policies/p", &["nope".into()], &files).is_err());
        let data = merge(&[
            DataFile {
                path: "services.yaml".into(),
                text: "services:\n  ports: [22, 21]\n".into(),
                under: vec![],
            },
            DataFile {
                path: "owners.json".into(),
                text: "{\"sre\": [\"a\"]}".into(),
                under: vec!["team".into()],
            },
        ])
        .unwrap();
        assert_eq!(
            Value::Object(data),
            json!({"services": {"ports": [22, 21]}, "team": {"sre": ["a"]}})
        );
        let err = merge(&[
            DataFile {
                path: "a.json".into(),
                text: "{\"x\": 1}".into(),
                under: vec![],
            },
            DataFile {
                path: "b.json".into(),
                text: "{\"x\": 2}".into(),
                under: vec![],
            },
        ])
        .unwrap_err();
        assert_eq!(err.file.as_deref(), Some("b.json"));
        assert!(merge(&[DataFile {
            path: "l.yaml".into(),
            text: "- 1\n".into(),
            under: vec![]
        }])
        .is_err());
    }
}
