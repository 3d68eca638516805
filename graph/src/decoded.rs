//! Configuration files a module decodes into a local (`cfg = yamldecode(file("${path.module}/
//! config.yaml"))`): the relative paths written in them, which the local may then hold
//! (`templatefile("${path.module}/${local.cfg.template}", {})`).

use crate::error::{malformed_yaml, Result};
use serde_norway::Value;

/// The string values in a YAML or JSON document that are relative paths (they start with
/// `./` or `../`, which no name does), at any depth, in document order. Keys are names and
/// are left out. A file that is not YAML (JSON is read as YAML) is an error naming its line.
pub fn relative_paths(text: &str, file: &str) -> Result<Vec<String>> {
    let doc: Value =
        serde_norway::from_str(text).map_err(malformed_yaml("decoded configuration", file))?;
    let mut out = Vec::new();
    collect(&doc, 0, &mut out);
    Ok(out)
}

/// Deeper than any configuration; the rest is not read.
const MAX_DEPTH: usize = 64;

fn collect(value: &Value, depth: usize, out: &mut Vec<String>) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::String(s) if crate::hcl::is_relative_path(s) => out.push(s.clone()),
        Value::Sequence(items) => {
            for item in items {
                collect(item, depth + 1, out);
            }
        }
        Value::Mapping(map) => {
            for (_, item) in map {
                collect(item, depth + 1, out);
            }
        }
        Value::Tagged(tagged) => collect(&tagged.value, depth + 1, out),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn the_relative_paths_of_a_yaml_or_json_document_are_its_candidates() {
        let yaml = "template: ../../shared/boot.tpl\nname: web\nfiles:\n  - ./a.json\n  - b.json\n./key: x\nnested: {deep: [\"../x\"]}\n";
        assert_eq!(
            relative_paths(yaml, "cfg.yaml").unwrap(),
            vec!["../../shared/boot.tpl", "./a.json", "../x"]
        );
        let json = "{\"template\": \"./t.tpl\", \"n\": 1, \"list\": [\"../y\", \"z\"]}";
        assert_eq!(
            relative_paths(json, "cfg.json").unwrap(),
            vec!["./t.tpl", "../y"]
        );
        let err = relative_paths("a: [\n", "cfg.yaml").unwrap_err();
        assert!(matches!(err, Error::Malformed { .. }), "{err:?}");
    }
}
