//! Input documents as conftest reads them, by file type:
//!
//! - Terraform (`.tf`, `.tfvars`, `.hcl`): one document per file, in hcl2json's shape; for
//!   policies that read strata's shape (the built-in pack), one document per module: the
//!   `.tf` files of a directory merged (see [`InputFile::module`] and [`by_module`]);
//! - YAML (`.yaml`, `.yml`): YAML 1.1 scalars, documents split as conftest splits them
//!   (see [`crate::yaml`]);
//! - JSON (`.json`): one document, or one per element when the root is an array.
//!
//! Each file also gives `data.conftest.file` (its base name and directory).

use crate::{hcl_input, tf_json, yaml, Error};
use serde::Serialize;
use serde_json::Value;

/// The JSON shape a policy reads Terraform files in (`input_shape` in policy.toml).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Shape {
    /// conftest's (hcl2json's): every block body in an array,
    /// `resource.aws_s3_bucket.b[0].versioning[0].enabled`.
    #[default]
    Hcl2json,
    /// strata's: a block body is an object, an array only when the block repeats,
    /// `resource.aws_s3_bucket.b.versioning.enabled`.
    Strata,
}

impl Shape {
    /// `hcl2json` or `strata`, as policy.toml spells it (checked when it is read).
    pub fn named(name: &str) -> Shape {
        if name == "strata" {
            Shape::Strata
        } else {
            Shape::Hcl2json
        }
    }
}

/// `data.conftest.file`: the input file's base name and directory.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileInfo {
    pub name: String,
    pub dir: String,
}

impl FileInfo {
    /// From a path: its base name, and its directory made absolute (as conftest does).
    pub fn of(path: &std::path::Path) -> FileInfo {
        let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        FileInfo {
            name: abs
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            dir: abs
                .parent()
                .map(|d| d.display().to_string())
                .unwrap_or_default(),
        }
    }
}

impl FileInfo {
    /// For a module (a directory): no file name, the directory made absolute.
    pub fn of_dir(dir: &str) -> FileInfo {
        let path = std::path::Path::new(if dir.is_empty() { "." } else { dir });
        let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        FileInfo {
            name: String::new(),
            dir: abs.display().to_string(),
        }
    }
}

/// The documents a file gives.
#[derive(Debug, Clone)]
pub enum Documents {
    /// A Terraform file in both shapes; each policy reads the one it asks for (a `.tf.json`
    /// file with a root array is one document per element in hcl2json's, as any JSON file).
    Terraform {
        hcl2json: Vec<regorus::Value>,
        strata: regorus::Value,
    },
    /// Parsed documents (YAML, JSON, a plan, rendered objects), each evaluated on its own.
    Parsed(Vec<regorus::Value>),
    /// A module: the `.tf` files of a directory, merged, in strata's shape.
    Module(regorus::Value),
}

/// What kind of file an input is, which decides the policies it is given to in a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Terraform,
    Yaml,
    Json,
}

/// One input file and its documents.
#[derive(Debug, Clone)]
pub struct InputFile {
    /// The file as shown in findings; none for documents that come from no file.
    pub path: Option<String>,
    /// `data.conftest.file`, when the input is a file.
    pub info: Option<FileInfo>,
    pub format: Format,
    pub documents: Documents,
    /// Where each document starts in the file (YAML), for findings that name no line.
    pub lines: Vec<Option<usize>>,
    /// A module's blocks and where each is written: a finding naming one (`resource`,
    /// with `attribute`) is located at it.
    pub blocks: Vec<crate::hcl_input::BlockLocation>,
}

impl InputFile {
    /// The format a file is read in, by its extension (case-insensitive), if any.
    pub fn format_of(path: &std::path::Path) -> Option<Format> {
        let ext = path.extension()?.to_string_lossy().to_ascii_lowercase();
        match ext.as_str() {
            "tf" | "tofu" | "tfvars" | "hcl" => Some(Format::Terraform),
            "yaml" | "yml" => Some(Format::Yaml),
            "json" => Some(Format::Json),
            _ => None,
        }
    }

    /// Reads `text` in `format`; `path` names the file in findings and errors.
    pub fn read(
        path: &str,
        text: &str,
        format: Format,
        info: Option<FileInfo>,
    ) -> Result<InputFile, Error> {
        let mut lines = Vec::new();
        let documents = match format {
            Format::Terraform => {
                let located = |e: Error| Error {
                    file: Some(path.to_string()),
                    ..e
                };
                let (hcl2json, strata) = hcl_input::to_json_shapes(text).map_err(located)?;
                Documents::Terraform {
                    hcl2json: vec![hcl2json.into()],
                    strata: strata.into(),
                }
            }
            Format::Yaml => {
                let docs = yaml::documents_at(text).map_err(|e| Error {
                    file: Some(path.to_string()),
                    ..e
                })?;
                lines = docs.iter().map(|(_, l)| *l).collect();
                Documents::Parsed(docs.into_iter().map(|(v, _)| v.into()).collect())
            }
            Format::Json => {
                let text = text.strip_prefix('\u{feff}').unwrap_or(text);
                let v: Value = serde_json::from_str(text).map_err(|e| {
                    Error::in_file(path, Some(e.line() as u32), format!("invalid JSON: {e}"))
                })?;
                if path.ends_with(".tf.json") || path.ends_with(".tofu.json") {
                    // Terraform's JSON syntax: as written for conftest's shape (a root
                    // array element by element, as any JSON file), its blocks keyed
                    // alike however they were written for strata's, as one document.
                    let docs = tf_json::documents(path, v)?;
                    Documents::Terraform {
                        strata: Value::Object(tf_json::strata_shape_of(&docs)).into(),
                        hcl2json: docs.into_iter().map(|d| Value::Object(d).into()).collect(),
                    }
                } else {
                    Documents::Parsed(split_root(v).into_iter().map(Into::into).collect())
                }
            }
        };
        Ok(InputFile {
            path: Some(path.to_string()),
            info,
            format,
            documents,
            lines,
            blocks: Vec::new(),
        })
    }

    /// A module: the `.tf` files of one directory (path shown, text), sorted by path, read
    /// as one document in strata's shape. Findings that name no block it has are shown at
    /// its first file.
    pub fn module(files: &[(String, String)], info: Option<FileInfo>) -> Result<InputFile, Error> {
        let (doc, blocks) = hcl_input::module_json(files)?;
        Ok(InputFile {
            path: files.first().map(|(p, _)| p.clone()),
            info,
            format: Format::Terraform,
            documents: Documents::Module(doc.into()),
            lines: Vec::new(),
            blocks,
        })
    }

    /// Documents that come from no file of their own (a plan, rendered objects), shown as
    /// `path` when given.
    /// A variables file (`*.tfvars`, `*.tfvars.json`) as conftest reads it, with the value
    /// of each variable in `sensitive` replaced by `redacted`: a policy judging the file
    /// never sees a value terraform would hide. Also returns the values replaced, for the
    /// caller to redact wherever else they stand (inside another variable's value).
    pub fn variables(
        path: &str,
        text: &str,
        info: Option<FileInfo>,
        sensitive: &std::collections::BTreeSet<String>,
        redacted: &str,
    ) -> Result<(InputFile, Vec<Value>), Error> {
        let format = if path.ends_with(".json") {
            Format::Json
        } else {
            Format::Terraform
        };
        let mut input = InputFile::read(path, text, format, info)?;
        let mut hidden = Vec::new();
        let mut hide = |doc: &mut regorus::Value| {
            if let Ok(map) = doc.as_object_mut() {
                for name in sensitive {
                    if let Some(v) = map.get_mut(&regorus::Value::from(name.as_str())) {
                        if let Ok(value) = serde_json::to_value(&*v) {
                            hidden.push(value);
                        }
                        *v = regorus::Value::from(redacted);
                    }
                }
            }
        };
        match &mut input.documents {
            Documents::Terraform { hcl2json, strata } => {
                hcl2json.iter_mut().for_each(&mut hide);
                hide(strata);
            }
            Documents::Parsed(docs) => docs.iter_mut().for_each(&mut hide),
            Documents::Module(doc) => hide(doc),
        }
        Ok((input, hidden))
    }

    pub fn parsed(path: Option<String>, docs: Vec<Value>) -> InputFile {
        InputFile {
            path,
            info: None,
            format: Format::Json,
            documents: Documents::Parsed(docs.into_iter().map(Into::into).collect()),
            lines: Vec::new(),
            blocks: Vec::new(),
        }
    }

    /// The documents a policy reading Terraform in `shape` evaluates.
    pub fn documents(&self, shape: Shape) -> Vec<regorus::Value> {
        match &self.documents {
            Documents::Terraform { hcl2json, strata } => match shape {
                Shape::Hcl2json => hcl2json.clone(),
                Shape::Strata => vec![strata.clone()],
            },
            Documents::Parsed(docs) => docs.clone(),
            Documents::Module(doc) => vec![doc.clone()],
        }
    }

    /// Whether a JSON input reads as Terraform: a configuration written in JSON or a plan
    /// (`terraform show -json`), each document an object with one of their top-level keys.
    /// The built-in pack's Terraform rules read only such JSON (an npm lock file's integrity
    /// hashes are no secrets of a stack's). A variables file in JSON (`*.tfvars.json`) is
    /// Terraform whatever its keys.
    pub fn is_terraform_json(&self) -> bool {
        if self
            .path
            .as_deref()
            .is_some_and(|p| p.ends_with(".tfvars.json"))
        {
            return true;
        }
        const KEYS: [&str; 11] = [
            "resource",
            "data",
            "module",
            "provider",
            "terraform",
            "variable",
            "output",
            "locals",
            "resource_changes",
            "planned_values",
            "configuration",
        ];
        match &self.documents {
            Documents::Parsed(docs) => {
                !docs.is_empty()
                    && docs.iter().all(|d| match d {
                        regorus::Value::Object(map) => KEYS
                            .iter()
                            .any(|k| map.contains_key(&regorus::Value::from(*k))),
                        _ => false,
                    })
            }
            _ => true,
        }
    }

    /// Whether this is a `.tf` or `.tf.json` file (or `.tofu`, `.tofu.json`), which a module
    /// input stands for in strata's shape.
    fn is_module_file(&self) -> bool {
        matches!(self.documents, Documents::Terraform { .. })
            && self.path.as_deref().is_some_and(|p| {
                [".tf", ".tofu", ".tf.json", ".tofu.json"]
                    .iter()
                    .any(|s| p.ends_with(s))
            })
    }
}

/// The inputs a policy reading Terraform in strata's shape evaluates: the `.tf` files of
/// `inputs` grouped by directory into one module input each (`texts` holds their text,
/// by path; `info` gives `data.conftest.file` for a directory), in place of the first file
/// of each directory; every other input stays as it is.
pub fn by_module(
    inputs: &[InputFile],
    texts: &[(String, String)],
    info: impl Fn(&str) -> Option<FileInfo>,
) -> Result<Vec<InputFile>, Error> {
    let dir_of = |p: &str| {
        p.rsplit_once('/')
            .map(|(d, _)| d.to_string())
            .unwrap_or_default()
    };
    let mut groups: std::collections::BTreeMap<String, Vec<(String, String)>> = Default::default();
    for input in inputs.iter().filter(|i| i.is_module_file()) {
        let path = input.path.clone().unwrap_or_default();
        let text = texts
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, t)| t.clone())
            .unwrap_or_default();
        groups.entry(dir_of(&path)).or_default().push((path, text));
    }
    let mut out = Vec::new();
    for input in inputs {
        if !input.is_module_file() {
            out.push(input.clone());
            continue;
        }
        let path = input.path.as_deref().unwrap_or_default();
        let dir = dir_of(path);
        if let Some(mut files) = groups.remove(&dir) {
            files.sort();
            out.push(InputFile::module(&files, info(&dir))?);
        }
    }
    Ok(out)
}

/// A root array is evaluated element by element, as conftest does; anything else is one
/// document.
pub fn split_root(v: Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items,
        other => vec![other],
    }
}
