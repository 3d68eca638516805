//! The YAML strata writes into the GitOps output: block YAML that every reader, YAML 1.1
//! (Kubernetes tooling) as well as 1.2, takes back as the JSON value written.

use serde_json::Value;

/// `value` as block YAML that every YAML reader takes back as the same JSON value: a string
/// is written plain only when no reader could take it for anything else, and double-quoted
/// (JSON's escapes, which YAML shares) otherwise. Kubernetes tooling reads YAML 1.1, where
/// `2024-01-01` is a timestamp, `1_000` a number and `on` a boolean: a writer following
/// YAML 1.2 leaves those plain, and Flux would pass other values than strata verified.
pub(crate) fn yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(m) if !m.is_empty() => yaml_block(value, 0, &mut out),
        Value::Array(a) if !a.is_empty() => yaml_block(value, 0, &mut out),
        scalar => {
            out.push_str(&yaml_scalar(scalar));
            out.push('\n');
        }
    }
    out
}

/// A non-empty mapping or sequence at `indent`, one entry per line.
fn yaml_block(value: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    let nested = |v: &Value| match v {
        Value::Object(m) => !m.is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => false,
    };
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let key = yaml_string(key);
                // YAML readers take at most 1024 characters as an implicit key: a longer
                // one is written as an explicit key (`? key`, then `: value`).
                let explicit = key.len() > 1000;
                out.push_str(&pad);
                if explicit {
                    out.push_str("? ");
                    out.push_str(&key);
                    out.push('\n');
                    out.push_str(&pad);
                } else {
                    out.push_str(&key);
                }
                out.push(':');
                if nested(v) {
                    out.push('\n');
                    // A sequence under a key sits at the key's indentation, as kubectl
                    // writes it.
                    let inner = if v.is_array() && !explicit {
                        indent
                    } else {
                        indent + 2
                    };
                    yaml_block(v, inner, out);
                } else {
                    out.push(' ');
                    out.push_str(&yaml_scalar(v));
                    out.push('\n');
                }
            }
        }
        Value::Array(items) => {
            for v in items {
                out.push_str(&pad);
                out.push('-');
                if nested(v) {
                    // The item's first line follows the dash; the rest align under it.
                    let mut inner = String::new();
                    yaml_block(v, indent + 2, &mut inner);
                    out.push(' ');
                    out.push_str(&inner[indent + 2..]);
                } else {
                    out.push(' ');
                    out.push_str(&yaml_scalar(v));
                    out.push('\n');
                }
            }
        }
        scalar => {
            out.push_str(&pad);
            out.push_str(&yaml_scalar(scalar));
            out.push('\n');
        }
    }
}

fn yaml_scalar(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) if n.is_f64() => yaml_float(&n.to_string()),
        Value::Number(n) => n.to_string(),
        Value::String(s) => yaml_string(s),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

/// A float as YAML 1.1 reads one too: a `.` in the mantissa and a sign in the exponent
/// (`1e16` is a string there; `1.0e+16` a number).
fn yaml_float(text: &str) -> String {
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (text, None),
    };
    let mut out = mantissa.to_string();
    if !mantissa.contains('.') {
        out.push_str(".0");
    }
    if let Some(e) = exponent {
        out.push('e');
        if !e.starts_with(['+', '-']) {
            out.push('+');
        }
        out.push_str(e);
    }
    out
}

/// A string plain when it starts with a letter, holds only letters, digits and `_./-`,
/// and is none of YAML 1.1's booleans and nulls; double-quoted otherwise.
pub(crate) fn yaml_string(s: &str) -> String {
    const WORDS: [&str; 11] = [
        "y", "yes", "n", "no", "true", "false", "on", "off", "null", "nan", "inf",
    ];
    let plain = s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-'))
        && !WORDS.contains(&s.to_ascii_lowercase().as_str());
    if plain {
        return s.to_string();
    }
    // Double-quoted, with every character YAML does not print as itself escaped: controls,
    // DEL and C1 controls (readers refuse them raw), line and paragraph separators and NEL
    // (readers fold them), and the noncharacters U+FFFE and U+FFFF.
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{0}'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{fffe}'
            | '\u{ffff}' => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// What strata writes reads back as the same value, in YAML 1.2 and in YAML 1.1 (as
    /// Kubernetes tooling reads it): strings that look like dates, numbers with `_`,
    /// booleans of 1.1 and anything with special characters are quoted.
    #[test]
    fn yaml_output_reads_back_as_written_in_yaml_1_1_and_1_2() {
        let value = json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2",
            "metadata": {"name": "dev-api", "annotations": {"argocd.argoproj.io/sync-wave": "2"}},
            "spec": {"values": {
                "env": {"BUILD_DATE": "2024-01-01", "BATCH_SIZE": "1_000", "FLAG": "on",
                        "NO": "No", "OCTAL": "0755", "HEX": "0x1F", "EMPTY": "", "TILDE": "~",
                        "MULTI": "a\nb: c", "COLON": "a: b", "HASH": "x #y", "QUOTE": "it's \"q\"",
                        "UNICODE": "é", "LEAD": " x", "FLOAT": "1e3", "INF": ".inf"},
                "replicas": 2, "ratio": 0.5, "on": true, "nothing": null,
                "list": [1, "2", {"a": [], "b": {}}, ["x", "yes"]],
                "empty_list": [], "empty_map": {}
            }},
        });
        let text = yaml(&value);
        let back: Value = serde_norway::from_str(&text).unwrap();
        assert_eq!(back, value, "{text}");
        for hazard in [
            "2024-01-01",
            "1_000",
            "on",
            "No",
            "0755",
            "0x1F",
            "~",
            "1e3",
            ".inf",
        ] {
            assert!(
                text.contains(&format!("\"{hazard}\"")),
                "{hazard} is quoted:\n{text}"
            );
        }
        assert!(text.contains("\n  name: dev-api\n"), "{text}");
        assert!(text.contains("  - 1\n"), "{text}");
        assert_eq!(yaml(&json!({})), "{}\n");

        // Characters YAML does not print as themselves are escaped; a key longer than
        // readers take implicitly is explicit; floats keep a `.` and a signed exponent.
        let long = "k".repeat(1100);
        let odd = json!({
            "ctl": "x\u{7f}y\u{85}z\u{9b}\u{2028}\u{fffe}\u{1b}\u{0}",
            long.clone(): {"a": [1]},
            "big": 1e16, "small": 1e-7, "plain": 1.5,
        });
        let text = yaml(&odd);
        assert!(
            text.chars().all(|c| c == '\n' || (' '..='~').contains(&c)),
            "{text}"
        );
        assert!(
            text.contains("\"x\\u007Fy\\u0085z\\u009B\\u2028\\uFFFE\\u001B\\u0000\""),
            "{text}"
        );
        assert!(text.contains(&format!("? {long}\n:\n  a:\n")), "{text}");
        assert!(
            text.contains("big: 1.0e+16\n") && text.contains("small: 1.0e-7\n"),
            "{text}"
        );
        assert!(text.contains("plain: 1.5\n"), "{text}");
        let back: Value = serde_norway::from_str(&text).unwrap();
        assert_eq!(back, odd, "{text}");
    }
}
