//! The values a stack's sensitive variables are given outside strata's knowledge: in its
//! own variable files (`terraform.tfvars`, `*.auto.tfvars` and their JSON forms), in the
//! environment's variable files, and as `TF_VAR_<name>` in the environment terraform runs
//! with. Terraform hides them in its plan, but quotes them in some diagnostics (`no file
//! exists at <value>` for `file(var.db_password)`), so they are added to the task's
//! redaction like every other sensitive value.

use hcl_edit::expr::{Expression, ObjectKey};
use hcl_edit::structure::Structure;
use hcl_edit::template::Element;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

/// The variables the variable files terraform reads in `dir` (its own `terraform.tfvars`,
/// `*.auto.tfvars` and their JSON forms) and `var_files` set, each with the file that sets
/// it. Terraform takes any of them over a `TF_VAR_` value.
pub fn set_by_files(dir: &Path, var_files: &[String]) -> Vec<(String, std::path::PathBuf)> {
    let mut files: Vec<std::path::PathBuf> = own_var_files(dir);
    files.extend(var_files.iter().map(std::path::PathBuf::from));
    let mut out = Vec::new();
    for file in files {
        let Some(text) = read_past_bytes(&file) else {
            continue;
        };
        let json = file.to_string_lossy().ends_with(".json");
        for (name, _) in file_values(&text, json) {
            out.push((name, file.clone()));
        }
    }
    out
}

/// The values given to the variables declared `sensitive = true` in the configuration in
/// `dir`, from its variable files, the files in `var_files` and `env` (`TF_VAR_<name>`).
pub fn sensitive_values_given<'a>(
    dir: &Path,
    var_files: &[String],
    env: impl Fn(&str) -> Option<String> + 'a,
) -> Vec<Value> {
    let names = sensitive_variables(dir);
    if names.is_empty() {
        return Vec::new();
    }
    let mut files: Vec<std::path::PathBuf> = own_var_files(dir);
    files.extend(var_files.iter().map(std::path::PathBuf::from));
    let mut values = Vec::new();
    for file in files {
        let Some(text) = read_past_bytes(&file) else {
            continue;
        };
        let json = file.to_string_lossy().ends_with(".json");
        for (name, value) in file_values(&text, json) {
            if names.contains(&name) {
                values.push(value);
            }
        }
    }
    for name in &names {
        if let Some(text) = env(&format!("TF_VAR_{name}")) {
            // Terraform reads a value of a complex type as an HCL expression.
            if let Some(parsed) = file_values(&format!("v = {text}\n"), false)
                .into_iter()
                .next()
                .map(|(_, v)| v)
                .filter(|v| matches!(v, Value::Array(_) | Value::Object(_)))
            {
                values.push(parsed);
            }
            values.push(Value::String(text));
        }
    }
    values.into_iter().filter_map(searched).collect()
}

/// What of a value is worth searching for: terraform hides these values in its plan
/// already (they are added for the diagnostics that quote them), so a boolean, a null,
/// and a string too short or too common to tell anything (`1`, `true`, `no`) are left out:
/// redacted wherever they are a whole JSON string, they would blank every `"true"` of a
/// plan that policies read.
fn searched(value: Value) -> Option<Value> {
    match value {
        Value::String(s) => crate::redact::is_searched(&s).then_some(Value::String(s)),
        Value::Array(items) => {
            let items: Vec<Value> = items.into_iter().filter_map(searched).collect();
            (!items.is_empty()).then_some(Value::Array(items))
        }
        Value::Object(map) => {
            let map: serde_json::Map<String, Value> = map
                .into_iter()
                .filter_map(|(k, v)| Some((k, searched(v)?)))
                .collect();
            (!map.is_empty()).then_some(Value::Object(map))
        }
        Value::Number(n) => searched(Value::String(n.to_string())),
        Value::Bool(_) | Value::Null => None,
    }
}

/// The variable files terraform reads from the configuration's own directory.
fn own_var_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            matches!(&*name, "terraform.tfvars" | "terraform.tfvars.json")
                || name.ends_with(".auto.tfvars")
                || name.ends_with(".auto.tfvars.json")
        })
        .collect();
    files.sort();
    files
}

/// One `variable` block of a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declaration {
    pub name: String,
    /// Written `sensitive = true`.
    pub sensitive: bool,
    /// In an override file (`override.tf`, `*_override.tf`, and their other extensions),
    /// which changes a declaration and cannot add one.
    pub overrides: bool,
    /// Its `type`: `Some(true)` for `string`, `Some(false)` for any other type, `None` when
    /// it sets none. Terraform reads a `TF_VAR_` value literally for a variable without a
    /// type or of type `string`, and as an HCL expression otherwise.
    pub string_type: Option<bool>,
}

/// The `variable` blocks of `dir`'s `.tf` (and OpenTofu's `.tofu`) files and the `variable`
/// objects of its `.tf.json` (`.tofu.json`) files (`"variable": {...}` or a list of such
/// objects). A `.tf` file that does not parse (terraform reports it) is read line by line
/// for `variable "name"`, none of them sensitive (terraform stops on the file before it
/// reads any value).
pub fn declarations(dir: &Path) -> Vec<Declaration> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        if !strata_graph::discover::is_terraform_file(&file) {
            continue;
        }
        let overrides = strata_graph::discover::is_override_file(&file);
        let json = strata_graph::discover::is_terraform_json(&file);
        // Skipping a file saved oddly would lose its declarations, and with them which
        // variables are sensitive.
        let Some(text) = read_past_bytes(&entry.path()) else {
            continue;
        };
        let mut declare = |name: &str, sensitive: bool, string_type: Option<bool>| {
            out.push(Declaration {
                name: name.to_string(),
                sensitive,
                overrides,
                string_type,
            })
        };
        if json {
            let Ok(Value::Object(doc)) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            let blocks: Vec<&Value> = match doc.get("variable") {
                Some(Value::Array(items)) => items.iter().collect(),
                Some(other) => vec![other],
                None => continue,
            };
            for block in blocks {
                for (name, decl) in block.as_object().into_iter().flatten() {
                    let decls: Vec<&Value> = match decl {
                        Value::Array(items) => items.iter().collect(),
                        other => vec![other],
                    };
                    let sensitive = decls
                        .iter()
                        .any(|d| d.get("sensitive") == Some(&Value::Bool(true)));
                    let string_type = decls
                        .iter()
                        .find_map(|d| d.get("type"))
                        .map(|t| t.as_str().map(str::trim) == Some("string"));
                    declare(name, sensitive, string_type);
                }
            }
            continue;
        }
        let Ok(body) = strata_graph::hcl::parse_body(&text, &file) else {
            for line in text.lines() {
                let line = line.trim_start_matches('\u{feff}').trim_start();
                let Some(rest) = line.strip_prefix("variable") else {
                    continue;
                };
                let rest = rest.trim_start();
                let name = match rest.strip_prefix('"') {
                    Some(quoted) => quoted.split('"').next(),
                    None => rest.split(|c: char| c.is_whitespace() || c == '{').next(),
                };
                if let Some(name) = name.filter(|n| !n.is_empty()) {
                    declare(name, false, None);
                }
            }
            continue;
        };
        for structure in body.iter() {
            let Structure::Block(block) = structure else {
                continue;
            };
            if block.ident.as_str() != "variable" {
                continue;
            }
            let Some(label) = block.labels.first() else {
                continue;
            };
            let sensitive = block.body.iter().any(|s| match s {
                Structure::Attribute(a) => {
                    a.key.as_str() == "sensitive"
                        && matches!(&a.value, Expression::Bool(b) if *b.value())
                }
                Structure::Block(_) => false,
            });
            let string_type = block
                .body
                .attributes()
                .find(|a| a.key.as_str() == "type")
                .map(|a| matches!(&a.value, Expression::Variable(v) if v.as_str() == "string"));
            declare(label.as_str(), sensitive, string_type);
        }
    }
    out
}

/// The variables declared `sensitive = true` in `dir` (override files included: they may
/// make a variable sensitive).
/// The values of a JSON variable file that does not parse, as terraform may quote them:
/// after each `"name":` anywhere on a line, what follows up to the next `,"` or the line's
/// end (or, when nothing does, the next line), with and without its quotes.
fn broken_json_values(text: &str) -> Vec<(String, Value)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let mut rest = *line;
        while let Some(start) = rest.find('"') {
            let after = &rest[start + 1..];
            let Some(end) = after.find('"') else { break };
            let name = &after[..end];
            let tail = after[end + 1..].trim_start();
            let Some(value) = tail.strip_prefix(':') else {
                rest = &after[end + 1..];
                continue;
            };
            // The value: up to the next `, "` on the line (where the next key may start),
            // or all of it.
            let next = value
                .match_indices(',')
                .map(|(at, _)| at)
                .find(|&at| value[at + 1..].trim_start().starts_with('"'))
                .unwrap_or(value.len());
            let mut written = value[..next].trim();
            if written.is_empty() {
                written = lines.get(i + 1).map_or("", |l| l.trim());
            }
            let written = written.trim_end_matches(['}', ',', ']']).trim_end();
            let unquoted = written.trim_start_matches('"').trim_end_matches('"');
            if !written.is_empty() {
                out.push((
                    name.to_string(),
                    Value::Array(vec![written.into(), unquoted.into()]),
                ));
            }
            rest = &value[next..];
        }
    }
    out
}

/// A file's text, bytes that are not UTF-8 read past (as terraform reads past them in a
/// comment): skipping the file would lose the values it gives. A file in UTF-16 (with its
/// byte-order mark, as Windows PowerShell 5 writes one) is decoded: terraform refuses it
/// and quotes its lines, values included.
fn read_past_bytes(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    let utf16 = |rest: &[u8], unit: fn([u8; 2]) -> u16| {
        let units: Vec<u16> = rest
            .chunks(2)
            .map(|c| unit([c[0], c.get(1).copied().unwrap_or(0)]))
            .collect();
        String::from_utf16_lossy(&units)
    };
    Some(match bytes.as_slice() {
        [0xff, 0xfe, rest @ ..] => utf16(rest, u16::from_le_bytes),
        [0xfe, 0xff, rest @ ..] => utf16(rest, u16::from_be_bytes),
        _ => String::from_utf8_lossy(&bytes).into_owned(),
    })
}

pub fn sensitive_variables(dir: &Path) -> BTreeSet<String> {
    declarations(dir)
        .into_iter()
        .filter(|d| d.sensitive)
        .map(|d| d.name)
        .collect()
}

/// A variable file's values by variable name: those written as literals (all a variable
/// file may hold); of a file that does not parse, what follows `=` on each line. A value's
/// strings are given as written too where that differs from their value (`"pa$${ss}"` is
/// `pa${ss}`, JSON's `"a\/b"` is `a/b`): terraform quotes a value's line as written in the
/// diagnostic of a value of the wrong type.
fn file_values(text: &str, json: bool) -> Vec<(String, Value)> {
    if json {
        // Terraform refuses a byte-order mark here, and quotes the line it stands on.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut out: Vec<(String, Value)> = match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => map.into_iter().collect(),
            Ok(_) => return Vec::new(),
            // Terraform shows the lines it cannot read: after each `"name":`, the rest of
            // its line as written, or the next line when the value stands there.
            Err(_) => return broken_json_values(text),
        };
        if let Ok(raw) = serde_json::from_str::<
            std::collections::BTreeMap<String, Box<serde_json::value::RawValue>>,
        >(text)
        {
            for (name, value) in raw {
                let written: Vec<Value> = json_strings_written(value.get())
                    .into_iter()
                    .filter(|s| s.contains('\\'))
                    .map(|s| Value::String(s.to_string()))
                    .collect();
                if !written.is_empty() {
                    out.push((name, Value::Array(written)));
                }
            }
        }
        return out;
    }
    let Ok(body) = strata_graph::hcl::parse_body(text, "") else {
        // Terraform shows the lines it cannot read: each `name = rest` line, as written.
        return text
            .lines()
            .filter_map(|line| {
                let (name, rest) = line.split_once('=')?;
                let rest = rest.trim();
                let unquoted = rest.trim_start_matches('"').trim_end_matches('"');
                Some((
                    name.trim().to_string(),
                    Value::Array(vec![rest.into(), unquoted.into()]),
                ))
            })
            .collect();
    };
    let mut out = Vec::new();
    for a in body.attributes() {
        let name = a.key.as_str().to_string();
        if let Some(value) = literal(&a.value) {
            out.push((name.clone(), value));
        }
        let mut written = Vec::new();
        hcl_strings_written(&a.value, text, &mut written);
        if !written.is_empty() {
            out.push((name, Value::Array(written)));
        }
    }
    out
}

/// The strings of `expr` as `text` writes them, between their quotes, where that differs
/// from their value (an escape: `$${`, `%%{`, `\n`).
fn hcl_strings_written(expr: &Expression, text: &str, out: &mut Vec<Value>) {
    use hcl_edit::Span;
    match expr {
        Expression::String(_) | Expression::StringTemplate(_) => {
            let written = expr
                .span()
                .and_then(|span| text.get(span))
                .and_then(|s| s.strip_prefix('"')?.strip_suffix('"'));
            let value = literal(expr);
            if let Some(written) = written {
                if value.as_ref().and_then(Value::as_str) != Some(written) {
                    out.push(Value::String(written.to_string()));
                }
            }
        }
        Expression::Parenthesis(p) => hcl_strings_written(p.inner(), text, out),
        Expression::Array(items) => items.iter().for_each(|i| hcl_strings_written(i, text, out)),
        Expression::Object(object) => object.iter().for_each(|(key, value)| {
            if let ObjectKey::Expression(k) = key {
                hcl_strings_written(k, text, out);
            }
            hcl_strings_written(value.expr(), text, out);
        }),
        _ => {}
    }
}

/// The strings of a JSON text as written, between their quotes (escapes as written).
fn json_strings_written(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut chars = text.char_indices();
    while let Some((start, c)) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut escaped = false;
        for (i, c) in chars.by_ref() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    out.push(&text[start + 1..i]);
                    break;
                }
                _ => {}
            }
        }
    }
    out
}

/// A literal expression as JSON; `None` for anything computed.
fn literal(expr: &Expression) -> Option<Value> {
    Some(match expr {
        Expression::Null(_) => Value::Null,
        Expression::Bool(b) => Value::Bool(*b.value()),
        Expression::Number(n) => Value::String(n.value().to_string()),
        Expression::String(s) => Value::String(s.as_str().to_string()),
        Expression::StringTemplate(t) => Value::String(template_text(t.iter())?),
        Expression::HeredocTemplate(h) => Value::String(template_text(h.template.iter())?),
        Expression::Parenthesis(p) => literal(p.inner())?,
        Expression::Array(items) => Value::Array(items.iter().filter_map(literal).collect()),
        Expression::Object(object) => Value::Object(
            object
                .iter()
                .filter_map(|(key, value)| {
                    let key = match key {
                        ObjectKey::Ident(i) => i.as_str().to_string(),
                        ObjectKey::Expression(e) => match literal(e)? {
                            Value::String(s) => s,
                            _ => return None,
                        },
                    };
                    Some((key, literal(value.expr())?))
                })
                .collect(),
        ),
        _ => return None,
    })
}

/// A template's text when it is all written out.
fn template_text<'a>(elements: impl Iterator<Item = &'a Element>) -> Option<String> {
    let mut out = String::new();
    for element in elements {
        match element {
            Element::Literal(l) => out.push_str(l.as_str()),
            Element::Interpolation(i) => match literal(&i.expr)? {
                Value::String(s) => out.push_str(&s),
                _ => return None,
            },
            Element::Directive(_) => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    /// Variable files saved oddly still give their values: a Latin-1 byte in a comment, a
    /// JSON file with a byte-order mark, a JSON file that does not parse (terraform quotes
    /// its lines). Before, each was skipped, and the value reached terraform's diagnostics
    /// unredacted.
    #[test]
    fn values_are_read_from_files_saved_oddly() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(
            d,
            "vars.tf",
            "variable \"a\" {\n  sensitive = true\n}\nvariable \"b\" {\n  sensitive = true\n}\nvariable \"c\" {\n  sensitive = true\n}\n",
        );
        std::fs::write(
            d.join("terraform.tfvars"),
            b"# Zugangsschl\xfcssel\na = [\"tok-latin\"]\n",
        )
        .unwrap();
        write(d, "b.auto.tfvars.json", "\u{feff}{\"b\": \"tok-bom\"}");
        write(
            d,
            "c.auto.tfvars.json",
            "{\n  \"c\": \"tok-broken\",\n  oops\n}\n",
        );
        // Minified, the key second; a value on the line after its key; UTF-16 with its mark.
        write(
            d,
            "d.auto.tfvars.json",
            "{\"region\": \"eu\", \"a\": \"tok-minified\\q\"}",
        );
        write(
            d,
            "e.auto.tfvars.json",
            "{\n  \"b\":\n    \"tok-next-line\\q\"\n}\n",
        );
        let mut utf16 = vec![0xff, 0xfe];
        for unit in "c = \"tok-utf16\"\r\n".encode_utf16() {
            utf16.extend_from_slice(&unit.to_le_bytes());
        }
        std::fs::write(d.join("f.auto.tfvars"), utf16).unwrap();
        let given = sensitive_values_given(d, &[], |_| None);
        let text = serde_json::to_string(&given).unwrap();
        for secret in [
            "tok-latin",
            "tok-bom",
            "tok-broken",
            "tok-minified",
            "tok-next-line",
            "tok-utf16",
        ] {
            assert!(text.contains(secret), "{secret} in {text}");
        }
    }

    #[test]
    fn only_the_sensitive_variables_values_are_taken_from_every_place_they_come_from() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(
            d,
            "vars.tf",
            "variable \"db_password\" {\n  type      = string\n  sensitive = true\n}\nvariable \"region\" {}\nvariable \"token\" {\n  sensitive = false\n}\nvariable \"conf\" {\n  sensitive = true\n}\n",
        );
        write(
            d,
            "json.tf.json",
            r#"{"variable": {"api_key": {"sensitive": true}, "size": {}}}"#,
        );
        write(
            d,
            "x_override.tf",
            "variable \"region_key\" {\n  sensitive = true\n}\n",
        );
        write(
            d,
            "terraform.tfvars",
            "region = \"eu-west-1\"\ndb_password = \"from-own-tfvars\"\ntoken = \"not-secret\"\n",
        );
        write(d, "a.auto.tfvars.json", r#"{"api_key": "from-auto-json"}"#);
        let env_file = d.join("env.tfvars");
        write(
            d,
            "env.tfvars",
            "conf = {\n  user = \"u\"\n  pass = <<EOT\nfrom-heredoc\nEOT\n}\n",
        );
        let env = |name: &str| match name {
            "TF_VAR_region_key" => Some("from-env".to_string()),
            "TF_VAR_region" => Some("not-secret-either".to_string()),
            _ => None,
        };
        let values = sensitive_values_given(d, &[env_file.display().to_string()], env).into_iter();
        let text: Vec<String> = values.map(|v| v.to_string()).collect();
        assert_eq!(
            text,
            [
                r#""from-auto-json""#,
                r#""from-own-tfvars""#,
                r#"{"pass":"from-heredoc\n"}"#,
                r#""from-env""#,
            ]
        );
    }

    /// OpenTofu's `.tofu` and `.tofu.json` files declare variables as `.tf` files do: a
    /// sensitive one declared there is redacted too.
    #[test]
    fn variables_declared_in_opentofu_files_count() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(d, "v.tofu", "variable \"pw\" {\n  sensitive = true\n}\n");
        write(
            d,
            "w.tofu.json",
            r#"{"variable": {"key": {"sensitive": true}}}"#,
        );
        write(d, "x_override.tofu", "variable \"pw\" {}\n");
        write(d, "notes.tofu.bak", "variable \"other\" {}\n");
        write(
            d,
            "terraform.tfvars",
            "pw = \"from-tofu-decl\"\nkey = \"from-tofu-json\"\n",
        );
        let mut found: Vec<(String, bool, bool)> = declarations(d)
            .into_iter()
            .map(|v| (v.name, v.sensitive, v.overrides))
            .collect();
        found.sort();
        assert_eq!(
            found,
            [
                ("key".to_string(), true, false),
                ("pw".to_string(), false, true),
                ("pw".to_string(), true, false),
            ]
        );
        let values = sensitive_values_given(d, &[], |_| None);
        let text: Vec<String> = values.into_iter().map(|v| v.to_string()).collect();
        assert_eq!(text, [r#""from-tofu-decl""#, r#""from-tofu-json""#]);
    }

    /// Terraform quotes a value's line as written: a string with an escape is searched for
    /// as written too (HCL's `$${` and `%%{`, JSON's `\/` and `\u` escapes).
    #[test]
    fn strings_written_with_escapes_are_searched_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(d, "v.tf", "variable \"pw\" {\n  sensitive = true\n}\n");
        write(
            d,
            "terraform.tfvars",
            "pw = [\"S3CR3T-$${Tv4pQz}\", \"plain-Tv4pQz\", \"S3CR3T-%%{x}\"]\n",
        );
        write(
            d,
            "a.auto.tfvars.json",
            r#"{"pw": ["S3CR3T\/Tv4pQz", "S3CR3T\u002dTv4pQz", "plain-json-Tv4pQz"]}"#,
        );
        let values = sensitive_values_given(d, &[], |_| None);
        let text: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        assert_eq!(
            text,
            [
                r#"["S3CR3T/Tv4pQz","S3CR3T-Tv4pQz","plain-json-Tv4pQz"]"#,
                r#"["S3CR3T\\/Tv4pQz","S3CR3T\\u002dTv4pQz"]"#,
                r#"["S3CR3T-${Tv4pQz}","plain-Tv4pQz","S3CR3T-%{x}"]"#,
                r#"["S3CR3T-$${Tv4pQz}","S3CR3T-%%{x}"]"#,
            ]
        );
    }

    #[test]
    fn a_complex_value_from_the_environment_is_read_as_terraform_reads_it() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "v.tf",
            "variable \"creds\" {\n  sensitive = true\n}\n",
        );
        let env = |name: &str| {
            (name == "TF_VAR_creds").then(|| "{ user = \"admin\", pass = \"p4ss-w0rd\" }".into())
        };
        let values = sensitive_values_given(dir.path(), &[], env);
        assert_eq!(values.len(), 2);
        assert_eq!(values[0]["pass"], "p4ss-w0rd");
    }

    #[test]
    fn a_variable_file_that_does_not_parse_gives_its_lines_as_written() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "v.tf",
            "variable \"pw\" {\n  sensitive = true\n}\n",
        );
        write(
            dir.path(),
            "terraform.tfvars",
            "pw = \"half-a-secret\nregion = \"x\"\n",
        );
        let values = sensitive_values_given(dir.path(), &[], |_| None);
        assert_eq!(
            values,
            [serde_json::json!(["\"half-a-secret", "half-a-secret"])]
        );
    }

    #[test]
    fn values_too_short_or_too_common_to_search_for_are_left_out() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "v.tf",
            "variable \"flag\" {\n  sensitive = true\n}\nvariable \"n\" {\n  sensitive = true\n}\nvariable \"m\" {\n  sensitive = true\n}\n",
        );
        write(
            dir.path(),
            "terraform.tfvars",
            "n = 1\nm = { on = true, port = 5432, user = \"admin-user\" }\n",
        );
        let env = |name: &str| (name == "TF_VAR_flag").then(|| "true".to_string());
        let values = sensitive_values_given(dir.path(), &[], env);
        assert_eq!(
            values,
            [serde_json::json!({"port": "5432", "user": "admin-user"})]
        );
    }

    #[test]
    fn a_stack_without_sensitive_variables_reads_no_file() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "v.tf", "variable \"region\" {}\n");
        write(dir.path(), "terraform.tfvars", "region = \"x\"\n");
        assert!(sensitive_values_given(dir.path(), &[], |_| Some("y".into())).is_empty());
    }
}
