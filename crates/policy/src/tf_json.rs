//! Terraform's JSON syntax (`.tf.json`) as policy input: its documents, its blocks in
//! strata's shape, and where each block is written.

use crate::hcl_input::{insert, BlockLocation};
use crate::Error;
use serde_json::{Map, Value};

/// A configuration written in Terraform's JSON syntax (`.tf.json`), in strata's shape.
///
/// The syntax lets every level of a block's labels, and its body, be an object or an array
/// of such objects (`"resource": [{"aws_s3_bucket": {"logs": {..}}}]`, `"aws_s3_bucket":
/// [{"logs": {..}}]`, `"logs": [{..}]`), and a `"//"` key is a comment at those levels.
/// strata's shape keys a block by its type and labels with its body below them (an array
/// only when the same block repeats), as for a `.tf` file, so the built-in rules read both
/// alike. Bodies are kept as written (whether a key in a body is a nested block or an
/// attribute holding objects depends on the provider's schema), and top-level keys that
/// are not blocks with known labels are kept as written too.
pub fn strata_shape(doc: &Map<String, Value>) -> Map<String, Value> {
    strata_shape_of(std::slice::from_ref(doc))
}

/// [`strata_shape`] of the documents of one file (a root array's objects), as one.
pub fn strata_shape_of(docs: &[Map<String, Value>]) -> Map<String, Value> {
    let mut out = Map::new();
    for doc in docs {
        for (path, value) in blocks(doc) {
            insert(&mut out, &path, value);
        }
    }
    out
}

/// The blocks of a configuration in Terraform's JSON syntax, each as its type and labels
/// (`["resource", "aws_s3_bucket", "logs"]`) and its body, in document order; a top-level
/// key that is no block with known labels comes as itself and its value.
pub(crate) fn blocks(doc: &Map<String, Value>) -> Vec<(Vec<String>, Value)> {
    fn bodies(
        value: &Value,
        labels_left: usize,
        path: &mut Vec<String>,
        out: &mut Vec<(Vec<String>, Value)>,
    ) {
        match value {
            Value::Array(items) => {
                for item in items {
                    bodies(item, labels_left, path, out);
                }
            }
            Value::Object(map) if labels_left > 0 => {
                for (label, inner) in map {
                    if label == "//" {
                        continue;
                    }
                    path.push(label.clone());
                    bodies(inner, labels_left - 1, path, out);
                    path.pop();
                }
            }
            body => out.push((path.clone(), body.clone())),
        }
    }
    let mut out = Vec::new();
    for (key, value) in doc {
        let Some(labels) = labels(key) else {
            out.push((vec![key.clone()], value.clone()));
            continue;
        };
        let mut path = vec![key.clone()];
        bodies(value, labels, &mut path, &mut out);
    }
    out
}

/// How many labels a top-level block type of Terraform's JSON syntax has; `None` for a
/// key that is no such block.
fn labels(key: &str) -> Option<usize> {
    match key {
        "resource" | "data" => Some(2),
        "module" | "variable" | "output" | "provider" | "check" => Some(1),
        "locals" | "terraform" | "moved" | "import" | "removed" => Some(0),
        _ => None,
    }
}

/// The documents of a file in Terraform's JSON syntax: its root object, or each object of
/// a root array (terraform reads both); anything else is an error naming the file.
pub fn documents(path: &str, root: Value) -> Result<Vec<Map<String, Value>>, Error> {
    let refuse = || {
        Error::in_file(
            path,
            Some(1),
            "Terraform's JSON syntax needs an object, or an array of objects, at the root",
        )
        .with_hint("terraform refuses this file too: write its blocks in an object (`{\"resource\": {…}}`)")
    };
    match root {
        Value::Object(doc) => Ok(vec![doc]),
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::Object(doc) => Ok(doc),
                _ => Err(refuse()),
            })
            .collect(),
        _ => Err(refuse()),
    }
}

/// Where each block of a file in Terraform's JSON syntax is written (see
/// [`BlockLocation`]): at the key of its last label, or at the object of its body when
/// bodies are written in an array (`"aws": [{…}, {…}]`, a provider and its alias); the
/// backend and other blocks of `terraform` on their own, as in a `.tf` file.
pub(crate) fn locations(path: &str, text: &str) -> Vec<BlockLocation> {
    use crate::locate::Located;
    fn bodies<'l>(
        node: &'l Located,
        labels_left: usize,
        path: &mut Vec<String>,
        line: usize,
        out: &mut Vec<(Vec<String>, usize, &'l Located)>,
    ) {
        match node {
            Located::Array(items) => {
                for (at, item) in items {
                    bodies(item, labels_left, path, *at, out);
                }
            }
            Located::Object(entries) if labels_left > 0 => {
                for (label, at, inner) in entries {
                    if label == "//" {
                        continue;
                    }
                    path.push(label.clone());
                    bodies(inner, labels_left - 1, path, *at, out);
                    path.pop();
                }
            }
            body => out.push((path.clone(), line, body)),
        }
    }
    let Some(root) = crate::locate::located_json(text) else {
        return Vec::new();
    };
    let roots: Vec<&Located> = match &root {
        Located::Array(items) => items.iter().map(|(_, item)| item).collect(),
        other => vec![other],
    };
    let mut found = Vec::new();
    for root in roots {
        let Located::Object(entries) = root else {
            continue;
        };
        for (key, line, value) in entries {
            if let Some(labels) = labels(key) {
                bodies(value, labels, &mut vec![key.clone()], *line, &mut found);
            }
        }
    }
    let mut out = Vec::new();
    let mut push = |address: String, line: usize, body: &Located| {
        let mut attributes = Vec::new();
        body.keys_below(&mut attributes);
        out.push(BlockLocation {
            address,
            file: path.to_string(),
            line,
            attributes,
        });
    };
    for (labels, line, body) in found {
        let keys: Vec<&str> = labels.iter().map(String::as_str).collect();
        match keys.as_slice() {
            ["resource", kind, name] => push(format!("{kind}.{name}"), line, body),
            ["variable", name] => push(format!("var.{name}"), line, body),
            ["locals"] => {
                if let Located::Object(entries) = body {
                    for (name, at, value) in entries {
                        push(format!("local.{name}"), *at, value);
                    }
                }
            }
            ["terraform"] => {
                push("terraform".into(), line, body);
                let Located::Object(entries) = body else {
                    continue;
                };
                for (inner, at, value) in entries {
                    // `backend` and `provider_meta` have a label; `cloud` and
                    // `required_providers` none.
                    let labels = usize::from(matches!(inner.as_str(), "backend" | "provider_meta"));
                    let mut nested = Vec::new();
                    bodies(
                        value,
                        labels,
                        &mut vec!["terraform".into(), inner.clone()],
                        *at,
                        &mut nested,
                    );
                    for (address, at, value) in nested {
                        if matches!(value, Located::Object(_)) {
                            push(address.join("."), at, value);
                        }
                    }
                }
            }
            _ => push(labels.join("."), line, body),
        }
    }
    out
}
