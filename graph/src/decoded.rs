//! Configuration files a module decodes into a local (`cfg = yamldecode(file("${path.module}/
//! config.yaml"))`): the relative paths written in them, which the local may then hold
//! (`templatefile("${path.module}/${local.cfg.template}", {})`).

use serde_norway::Value;

/// The string values in a YAML or JSON document that are relative paths (they start with
/// `./` or `../`, which no name does), at any depth, in document order. Keys are names and
/// are left out. A file that is not YAML as written (JSON is read as YAML) may be a template
/// that is once rendered (`yamldecode(templatefile(...))`), or one of the files a computed
/// path may name: each word of it written as a relative path is taken instead (see
/// [`relative_words`]), so that nothing it may hold is missed.
pub fn relative_paths(text: &str) -> Vec<String> {
    if crate::text::yaml_flow_too_deep(text).is_some() {
        return relative_words(text);
    }
    let Ok(doc) = serde_norway::from_str::<Value>(text) else {
        return relative_words(text);
    };
    let mut out = Vec::new();
    if collect(&doc, 0, &mut out) {
        out
    } else {
        // Deeper than read: every word written as a relative path instead.
        relative_words(text)
    }
}

/// The words of a text that are relative paths: a `./` or `../` at the start of the text
/// or after a space, a quote, a bracket or one of `,:=`, up to the next space, quote,
/// bracket, `,` or interpolation (`../shared/${name}.tpl` gives its directory's prefix,
/// `../shared/`). Each once, in the order written.
fn relative_words(text: &str) -> Vec<String> {
    const BEFORE: &[u8] = b" \t\r\n\"'`([{,:=";
    const AFTER: &[u8] = b" \t\r\n\"'`)]},$%";
    let b = text.as_bytes();
    let mut out: Vec<String> = Vec::new();
    let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let mut at = 0;
    while let Some(found) = memchr::memmem::find(&b[at..], b"./") {
        let slash = at + found + 1;
        at = slash + 1;
        // The word's start: back over the dots before the slash (`./` or `../`).
        let dots = b[..slash].iter().rev().take_while(|&&c| c == b'.').count();
        let start = slash - dots;
        if dots > 2 || (start > 0 && !BEFORE.contains(&b[start - 1])) {
            continue;
        }
        let end = b[slash..]
            .iter()
            .position(|c| AFTER.contains(c))
            .map_or(b.len(), |n| slash + n);
        let word = &text[start..end];
        if seen.insert(word) {
            out.push(word.to_string());
        }
        at = end.max(at);
    }
    out
}

/// Deeper than any configuration: a document nested deeper is read word by word instead.
const MAX_DEPTH: usize = 64;

/// Adds the relative paths below `value` to `out`; false when it is nested deeper than
/// [`MAX_DEPTH`] (and `out` incomplete).
fn collect(value: &Value, depth: usize, out: &mut Vec<String>) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    match value {
        Value::String(s) if crate::hcl::is_relative_path(s) => out.push(s.clone()),
        Value::Sequence(items) => return items.iter().all(|item| collect(item, depth + 1, out)),
        Value::Mapping(map) => return map.values().all(|item| collect(item, depth + 1, out)),
        Value::Tagged(tagged) => return collect(&tagged.value, depth + 1, out),
        _ => {}
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relative_paths_of_a_yaml_or_json_document_are_its_candidates() {
        let yaml = "template: ../../shared/boot.tpl\nname: web\nfiles:\n  - ./a.json\n  - b.json\n./key: x\nnested: {deep: [\"../x\"]}\n";
        assert_eq!(
            relative_paths(yaml),
            vec!["../../shared/boot.tpl", "./a.json", "../x"]
        );
        let json = "{\"template\": \"./t.tpl\", \"n\": 1, \"list\": [\"../y\", \"z\"]}";
        assert_eq!(relative_paths(json), vec!["./t.tpl", "../y"]);
    }

    /// A template that is YAML only once rendered gives the words written as relative paths.
    #[test]
    fn a_document_that_is_not_yaml_as_written_gives_its_relative_words() {
        let template = "%{ for p in paths ~}\n- ${p}\n%{ endfor ~}\ntemplate: ../../shared/boot.tpl\nboth: [\"./a.json\",'../b/${env}.json']\nurl: http://x/./y a/../b .../z ./a.json\n";
        assert_eq!(
            relative_paths(template),
            vec!["../../shared/boot.tpl", "./a.json", "../b/"]
        );
        assert_eq!(relative_paths("a: [\n  ../x\n"), vec!["../x"]);
    }

    /// A document nested deeper than it is read (but not so deep that the YAML reader
    /// refuses it) still gives the paths written in it.
    #[test]
    fn a_deeply_nested_document_gives_its_relative_words() {
        for depth in [10, 64, 65, 70, 127] {
            let mut yaml = String::new();
            for level in 0..depth {
                yaml.push_str(&format!("{}k{level}:\n", "  ".repeat(level)));
            }
            yaml.push_str(&format!(
                "{}template: ../../shared/boot.tpl\n",
                "  ".repeat(depth)
            ));
            assert_eq!(
                relative_paths(&yaml),
                vec!["../../shared/boot.tpl"],
                "{depth} levels"
            );
        }
    }
}
