//! Terraform's JSON syntax (`*.tf.json`): module sources read from the document, and the
//! rest of its facts read from the same configuration written in native syntax.

use super::{parse_tf, FileRef, HclFacts, ModuleCall};
use crate::error::{line_of, Error, Location, Result};

/// Parses a JSON-syntax `.tf.json` file: only `module` sources are read.
pub fn parse_tf_json(text: &str, file: &str) -> Result<HclFacts> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| Error::Malformed {
        what: "JSON",
        location: Location::at(file, e.line()),
        message: e.to_string(),
    })?;
    let mut facts = HclFacts::default();
    let mut push = |name: &str, block: &serde_json::Value| {
        if let Some(source) = block.get("source").and_then(|s| s.as_str()) {
            // The source as written: plain, or with JSON's escapes (`"../m\r"`); failing
            // both (another escape), the `"source"` key after the module's name.
            let written = [
                format!("\"{source}\""),
                serde_json::to_string(source).expect("a string serializes"),
            ];
            let at = written
                .iter()
                .find_map(|w| text.find(w.as_str()))
                .or_else(|| {
                    let after = text.find(&format!("\"{name}\"")).unwrap_or(0);
                    text[after..].find("\"source\"").map(|o| o + after)
                });
            facts.modules.push(ModuleCall {
                name: name.to_string(),
                source: source.to_string(),
                line: at.map(|o| line_of(text, o)).unwrap_or(1),
            });
        }
    };
    // `"module": {"name": {...}}` or `"module": [{"name": {...}}]`
    let modules = value.get("module");
    let objects: Vec<&serde_json::Value> = match modules {
        Some(serde_json::Value::Array(items)) => items.iter().collect(),
        Some(obj) => vec![obj],
        None => vec![],
    };
    for obj in objects {
        if let Some(map) = obj.as_object() {
            for (name, block) in map {
                match block {
                    serde_json::Value::Array(blocks) => blocks.iter().for_each(|b| push(name, b)),
                    b => push(name, b),
                }
            }
        }
    }
    // Strings in JSON syntax are templates, as in native syntax: file functions inside
    // `"${...}"`, path locals and a `helm_release`'s `chart` are read from the same
    // configuration written natively. Their lines are the JSON file's first (locations
    // point at the file). A conversion the native reader refuses leaves the file's reads
    // "not tracked", never silently unread.
    let native = json_as_native(&value);
    match parse_tf(&native, file) {
        Ok(read) => {
            let at_top = |mut r: FileRef| {
                r.line = 1;
                r
            };
            facts.file_refs = read.file_refs.into_iter().map(at_top).collect();
            facts.chart_refs = read.chart_refs.into_iter().map(at_top).collect();
            facts.path_locals = read.path_locals;
            facts.decoded_locals = read.decoded_locals;
            if !read.unresolved_refs.is_empty() {
                facts.unresolved_refs.push(1);
            }
        }
        Err(_) => facts.unresolved_refs.push(1),
    }
    Ok(facts)
}

/// The blocks of a Terraform JSON document written in native syntax, for the facts only:
/// `locals`, and each `resource`, `data`, `ephemeral`, `module`, `output`, `variable` and
/// `provider` block with its body (a `check`'s `data` blocks as top-level ones); nested
/// objects become object expressions.
fn json_as_native(doc: &serde_json::Value) -> String {
    use serde_json::Value;
    let mut out = String::new();
    let Some(top) = doc.as_object() else {
        return out;
    };
    // A block body (or an array of them).
    fn bodies(v: &Value) -> Vec<&serde_json::Map<String, Value>> {
        match v {
            Value::Array(items) => items.iter().filter_map(Value::as_object).collect(),
            Value::Object(map) => vec![map],
            _ => Vec::new(),
        }
    }
    let block = |out: &mut String, header: String, body: &serde_json::Map<String, Value>| {
        out.push_str(&header);
        out.push_str(" {\n");
        for (k, v) in body {
            out.push_str(&format!("  {} = {}\n", hcl_key(k), json_expr(v)));
        }
        out.push_str("}\n");
    };
    // Blocks with a type and a name (`resource "t" "n"`).
    let typed = |out: &mut String, kind: &str, v: &Value| {
        for types in bodies(v) {
            for (ty, named) in types {
                for names in bodies(named) {
                    for (name, body) in names {
                        for body in bodies(body) {
                            block(
                                out,
                                format!("{kind} {} {}", hcl_quote(ty), hcl_quote(name)),
                                body,
                            );
                        }
                    }
                }
            }
        }
    };
    for (kind, v) in top {
        match kind.as_str() {
            "locals" => {
                for body in bodies(v) {
                    block(&mut out, "locals".into(), body);
                }
            }
            "resource" | "data" | "ephemeral" => typed(&mut out, kind, v),
            // A check's `data` blocks read as top-level ones.
            "check" => {
                for named in bodies(v) {
                    for body in named.values().flat_map(bodies) {
                        if let Some(data) = body.get("data") {
                            typed(&mut out, "data", data);
                        }
                    }
                }
            }
            "module" | "output" | "variable" | "provider" => {
                for named in bodies(v) {
                    for (name, body) in named {
                        for body in bodies(body) {
                            block(&mut out, format!("{kind} {}", hcl_quote(name)), body);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// An attribute or object key: as it is when it is an identifier, else quoted.
fn hcl_key(k: &str) -> String {
    let ident = k
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ident {
        k.to_string()
    } else {
        hcl_quote(k)
    }
}

/// A string literal with nothing in it interpreted.
fn hcl_quote(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
        .replace("${", "$${")
        .replace("%{", "%%{");
    format!("\"{escaped}\"")
}

/// A JSON value as a native expression; strings keep their template sequences (`${...}`,
/// `%{...}`) as written and have everything else escaped.
fn json_expr(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::String(s) => template(s),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(json_expr).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Object(map) => {
            let parts: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{} = {}", hcl_quote(k), json_expr(v)))
                .collect();
            format!("{{ {} }}", parts.join(", "))
        }
        other => other.to_string(),
    }
}

/// A JSON string (a template) as a native quoted template: the sequences `${...}` and
/// `%{...}` as they are (their own strings included), the text between them escaped.
fn template(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = String::from("\"");
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let opens = (c == b'$' || c == b'%') && bytes.get(i + 1) == Some(&b'{');
        if opens && bytes.get(i.wrapping_sub(1)) != Some(&c) {
            // Copy through the matching `}`, minding nested braces and quoted strings.
            let start = i;
            let mut depth = 0usize;
            let mut in_string = false;
            let mut j = i + 1;
            while j < bytes.len() {
                let b = bytes[j];
                if in_string {
                    if b == b'\\' {
                        j += 1;
                    } else if b == b'"' {
                        in_string = false;
                    }
                } else if b == b'"' {
                    in_string = true;
                } else if b == b'{' {
                    depth += 1;
                } else if b == b'}' {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                j += 1;
            }
            let end = (j + 1).min(bytes.len());
            out.push_str(&s[start..end]);
            i = end;
            continue;
        }
        match c {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            _ => {
                // Whole characters: the text is UTF-8.
                let ch = s[i..].chars().next().expect("a character");
                out.push(ch);
                i += ch.len_utf8();
                continue;
            }
        }
        i += 1;
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::parse_tf_json;

    /// A module source written with an escape names its line, not line 1.
    #[test]
    fn a_source_written_with_an_escape_names_its_line() {
        let text = "{\n  \"module\": {\n    \"m\": {\n      \"source\": \"../../modules/m\\r\"\n    },\n    \"n\": {\n      \"source\": \"../../modules/\\u006e\"\n    }\n  }\n}\n";
        let facts = parse_tf_json(text, "main.tf.json").unwrap();
        let lines: Vec<(&str, usize)> = facts
            .modules
            .iter()
            .map(|m| (m.name.as_str(), m.line))
            .collect();
        assert_eq!(lines, [("m", 4), ("n", 7)]);
    }
}
