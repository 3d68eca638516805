//! Where a finding is: the line of the block (and attribute) its `resource` names, in the
//! Terraform file it came from, written in HCL (`.tf`), as JSON (`.tf.json`) or as a
//! variables file (`.tfvars`).

use crate::Finding;
use serde_json::Value;

/// Sets the line of each finding that names a `resource` (`type.name`) to the line of that
/// block in the Terraform file it came from; `texts` holds (path, text) of those files.
pub fn locate(findings: &mut [Finding], texts: &[(String, String)]) {
    for f in findings {
        let address = f.details.get("resource").and_then(Value::as_str);
        let (Some(file), Some(address)) = (&f.file, address) else {
            continue;
        };
        if f.line.is_some() {
            continue;
        }
        let Some((_, text)) = texts.iter().find(|(p, _)| p == file) else {
            continue;
        };
        let attribute = f.details.get("attribute").and_then(Value::as_str);
        f.line = if file.ends_with(".tf") || file.ends_with(".tofu") {
            block_line(text, address, attribute)
        } else if file.ends_with(".tf.json") || file.ends_with(".tofu.json") {
            let block = json_block(address);
            let (block_line, attribute_lines) = json_key_lines(text, &block, attribute);
            match attribute_lines.as_slice() {
                // Set once below the block: that line; set more than once, which one the
                // finding is about is not known here.
                [line] => Some(*line),
                _ => block_line,
            }
        } else if file.ends_with(".tfvars.json") {
            json_key_lines(text, &[variable_name(address)], None).0
        } else if file.ends_with(".tfvars") {
            tfvars_line(text, variable_name(address))
        } else {
            None
        };
    }
}

/// An address and which of the blocks with that header it names: `provider.aws[1]` is
/// the second `provider "aws"` block, `provider.aws` any of them.
pub(crate) fn block_index(address: &str) -> (&str, Option<usize>) {
    match address
        .strip_suffix(']')
        .and_then(|a| a.rsplit_once('['))
        .and_then(|(a, n)| Some((a, n.parse::<usize>().ok()?)))
    {
        Some((a, n)) => (a, Some(n)),
        None => (address, None),
    }
}

/// The line of the block a Terraform address names (`aws_s3_bucket.b`, `var.x`,
/// `local.x`, `module.m`, `data.t.n`, `output.o`, `provider.p`, `provider.p[1]` for the
/// second block of that provider) in `text`, or of `attribute` inside that block when given
/// and found there. Of several blocks with one header (a provider and its aliases), the
/// first that sets `attribute`.
fn block_line(text: &str, address: &str, attribute: Option<&str>) -> Option<usize> {
    let (address, index) = block_index(address);
    let parts: Vec<&str> = address.splitn(3, '.').collect();
    let header = |kind: &str, labels: &[&str]| {
        let quoted: Vec<String> = labels.iter().map(|l| format!("\"{l}\"")).collect();
        format!("{kind} {}", quoted.join(" "))
    };
    let start = match parts.as_slice() {
        ["local", name] => {
            // `name =` inside a `locals` block.
            let mut in_locals = false;
            return text
                .lines()
                .position(|l| {
                    let t = l.trim_start();
                    if t.starts_with("locals") && t.contains('{') {
                        in_locals = true;
                        return false;
                    }
                    in_locals
                        && t.strip_prefix(name)
                            .is_some_and(|rest| rest.trim_start().starts_with('='))
                })
                .map(|i| i + 1);
        }
        ["var", name] => header("variable", &[name]),
        ["module", name] => header("module", &[name]),
        ["output", name] => header("output", &[name]),
        ["provider", name] => header("provider", &[name]),
        ["data", kind, name] => header("data", &[kind, name]),
        [kind, name] => format!("\"{kind}\" \"{name}\""),
        _ => return None,
    };
    let mut blocks: Vec<usize> = text.match_indices(&start).map(|(i, _)| i).collect();
    if let Some(n) = index {
        blocks = blocks.get(n).into_iter().copied().collect();
    }
    let first = strata_graph::error::line_of(text, *blocks.first()?);
    let Some(attribute) = attribute else {
        return Some(first);
    };
    for offset in blocks {
        let line = strata_graph::error::line_of(text, offset);
        // The block's text: from its header to the brace that closes it.
        let body = &text[offset..];
        let mut depth = 0usize;
        let mut end = body.len();
        for (i, c) in body.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth > 0 => {
                    depth -= 1;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        // The attribute inside the block: the line after its header that sets it. Set on
        // more than one line (`user_data` and `tags.user_data`), which one the finding is
        // about is not known here: the block's line, never another attribute's.
        let mut found = body[..end].lines().skip(1).enumerate().filter(|(_, l)| {
            l.trim_start()
                .strip_prefix(attribute)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        });
        match (found.next(), found.next()) {
            (Some((k, _)), None) => return Some(line + 1 + k),
            (Some(_), Some(_)) => return Some(line),
            _ => {}
        }
    }
    Some(first)
}

/// The keys leading to the block an address names in Terraform's JSON syntax.
fn json_block(address: &str) -> Vec<&str> {
    let (address, _) = block_index(address);
    let parts: Vec<&str> = address.splitn(3, '.').collect();
    match parts.as_slice() {
        ["local", name] => vec!["locals", name],
        ["var", name] => vec!["variable", name],
        ["module", name] => vec!["module", name],
        ["output", name] => vec!["output", name],
        ["provider", name] => vec!["provider", name],
        ["data", kind, name] => vec!["data", kind, name],
        [kind, name] => vec!["resource", kind, name],
        [block] => vec![block],
        _ => Vec::new(),
    }
}

/// The variable a finding in a variables file is about: `tags` of `tags.owner` or
/// `subnets[0]`.
fn variable_name(address: &str) -> &str {
    address.split(['.', '[']).next().unwrap_or(address)
}

/// In a JSON text, the line of the key reached through `keys` (objects' keys, arrays passed
/// through), and the lines of every key named `attribute` at any depth below it.
fn json_key_lines(
    text: &str,
    keys: &[&str],
    attribute: Option<&str>,
) -> (Option<usize>, Vec<usize>) {
    let (found, below) = json_keys(text, keys);
    let lines = below
        .into_iter()
        .filter(|(name, _)| Some(name.as_str()) == attribute)
        .map(|(_, line)| line)
        .collect();
    (found, lines)
}

/// In a JSON text, the line of the key reached through `keys` (objects' keys, arrays passed
/// through), and every key at any depth below it with its line, in text order.
pub(crate) fn json_keys(text: &str, keys: &[&str]) -> (Option<usize>, Vec<(String, usize)>) {
    fn find(
        node: &Located,
        keys: &[&str],
        found: &mut Option<usize>,
        below: &mut Vec<(String, usize)>,
    ) {
        match node {
            Located::Array(items) => {
                for (_, item) in items {
                    find(item, keys, found, below);
                }
            }
            Located::Object(entries) => {
                for (_, line, value) in entries.iter().filter(|(k, _, _)| *k == keys[0]) {
                    if keys.len() == 1 {
                        found.get_or_insert(*line);
                        value.keys_below(below);
                    } else {
                        find(value, &keys[1..], found, below);
                    }
                }
            }
            Located::Scalar => {}
        }
    }
    let mut found = None;
    let mut below = Vec::new();
    if let (false, Some(root)) = (keys.is_empty(), located_json(text)) {
        find(&root, keys, &mut found, &mut below);
    }
    (found, below)
}

/// A JSON document with the line each of its parts starts on.
#[derive(Debug)]
pub(crate) enum Located {
    /// Each key, the line it is written on, and its value.
    Object(Vec<(String, usize, Located)>),
    /// Each item and the line it starts on.
    Array(Vec<(usize, Located)>),
    Scalar,
}

impl Located {
    /// Every key at any depth below this value, with its line, in text order.
    pub(crate) fn keys_below(&self, out: &mut Vec<(String, usize)>) {
        match self {
            Located::Object(entries) => {
                for (key, line, value) in entries {
                    out.push((key.clone(), *line));
                    value.keys_below(out);
                }
            }
            Located::Array(items) => {
                for (_, item) in items {
                    item.keys_below(out);
                }
            }
            Located::Scalar => {}
        }
    }
}

/// Reads a JSON text (one serde_json has read already: it is well formed) with the line
/// of each key and item; `None` when it is not well formed after all.
pub(crate) fn located_json(text: &str) -> Option<Located> {
    struct Reader<'t> {
        text: &'t str,
        at: usize,
        line: usize,
    }
    impl Reader<'_> {
        fn blank(&mut self) {
            let bytes = self.text.as_bytes();
            while let Some(&b) = bytes.get(self.at) {
                match b {
                    b'\n' => self.line += 1,
                    b' ' | b'\t' | b'\r' => {}
                    _ => break,
                }
                self.at += 1;
            }
        }
        fn string(&mut self) -> Option<String> {
            let bytes = self.text.as_bytes();
            let start = self.at;
            self.at += 1;
            while *bytes.get(self.at)? != b'"' {
                self.at += if bytes[self.at] == b'\\' { 2 } else { 1 };
            }
            self.at += 1;
            serde_json::from_str(self.text.get(start..self.at)?).ok()
        }
        fn value(&mut self, depth: usize) -> Option<Located> {
            if depth > 256 {
                return None;
            }
            self.blank();
            let bytes = self.text.as_bytes();
            match *bytes.get(self.at)? {
                b'{' => {
                    self.at += 1;
                    let mut entries = Vec::new();
                    loop {
                        self.blank();
                        match *bytes.get(self.at)? {
                            b'}' => {
                                self.at += 1;
                                return Some(Located::Object(entries));
                            }
                            b',' => self.at += 1,
                            b'"' => {
                                let line = self.line;
                                let key = self.string()?;
                                self.blank();
                                (*bytes.get(self.at)? == b':').then_some(())?;
                                self.at += 1;
                                let value = self.value(depth + 1)?;
                                entries.push((key, line, value));
                            }
                            _ => return None,
                        }
                    }
                }
                b'[' => {
                    self.at += 1;
                    let mut items = Vec::new();
                    loop {
                        self.blank();
                        match *bytes.get(self.at)? {
                            b']' => {
                                self.at += 1;
                                return Some(Located::Array(items));
                            }
                            b',' => self.at += 1,
                            _ => {
                                let line = self.line;
                                items.push((line, self.value(depth + 1)?));
                            }
                        }
                    }
                }
                b'"' => self.string().map(|_| Located::Scalar),
                _ => {
                    while bytes.get(self.at).is_some_and(|b| {
                        !matches!(b, b',' | b']' | b'}' | b' ' | b'\n' | b'\t' | b'\r')
                    }) {
                        self.at += 1;
                    }
                    Some(Located::Scalar)
                }
            }
        }
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    Reader {
        text,
        at: 0,
        line: 1,
    }
    .value(0)
}

/// The line that sets variable `name` at the top level of a variables file.
fn tfvars_line(text: &str, name: &str) -> Option<usize> {
    let mut depth = 0i32;
    // The delimiter of the heredoc whose lines are being passed over.
    let mut heredoc: Option<String> = None;
    for (n, l) in text.lines().enumerate() {
        let t = l.trim_start();
        if let Some(end) = &heredoc {
            if t.trim_end() == end {
                heredoc = None;
            }
            continue;
        }
        if depth == 0
            && t.strip_prefix(name)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        {
            return Some(n + 1);
        }
        // Brackets in strings are rare in variables files; a wrong depth only costs the line.
        let mut in_string = false;
        let mut escaped = false;
        for (i, c) in t.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' if in_string => escaped = true,
                '"' => in_string = !in_string,
                '#' if !in_string => break,
                '<' if !in_string && t[i..].starts_with("<<") => {
                    let rest = t[i + 2..].trim_start_matches('-');
                    let delimiter: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !delimiter.is_empty() {
                        heredoc = Some(delimiter);
                        break;
                    }
                }
                '{' | '[' | '(' if !in_string => depth += 1,
                '}' | ']' | ')' if !in_string => depth -= 1,
                _ => {}
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn located_json_gives_the_line_of_each_key_and_item() {
        let text =
            "{\n  \"a\": [\n    {\"k\\\"q\": 1},\n    2\n  ],\n  \"b\": {\"c\": \"}]\"}\n}\n";
        let Some(super::Located::Object(entries)) = super::located_json(text) else {
            panic!("an object");
        };
        let keys: Vec<(&str, usize)> = entries.iter().map(|(k, l, _)| (k.as_str(), *l)).collect();
        assert_eq!(keys, [("a", 2), ("b", 6)]);
        let super::Located::Array(items) = &entries[0].2 else {
            panic!("an array");
        };
        assert_eq!(items.iter().map(|(l, _)| *l).collect::<Vec<_>>(), [3, 4]);
        let mut below = Vec::new();
        entries[1].2.keys_below(&mut below);
        assert_eq!(below, [("c".to_string(), 6)]);
        let mut first = Vec::new();
        items[0].1.keys_below(&mut first);
        assert_eq!(first, [("k\"q".to_string(), 3)]);
        assert!(super::located_json("{\"a\": ").is_none());
    }

    use super::*;

    #[test]
    fn json_keys_are_found_through_objects_and_arrays() {
        let text = "{\n  \"resource\": {\n    \"aws_s3_bucket_acl\": {\n      \"pub\": {\n        \"bucket\": \"x\",\n        \"acl\": \"public-read\"\n      }\n    }\n  },\n  \"locals\": [{\"a\": 1}, {\n    \"api_key\": \"k\"\n  }]\n}\n";
        let line = |keys: &[&str]| json_key_lines(text, keys, None).0;
        assert_eq!(line(&["resource", "aws_s3_bucket_acl", "pub"]), Some(4));
        assert_eq!(
            json_key_lines(text, &["resource", "aws_s3_bucket_acl", "pub"], Some("acl")),
            (Some(4), vec![6])
        );
        assert_eq!(line(&["locals", "api_key"]), Some(11));
        // A key of the same name elsewhere is not the one asked for.
        assert_eq!(line(&["acl"]), None);
        assert_eq!(line(&["resource", "pub"]), None);
    }

    /// An attribute set twice in a block (at its top and nested) cannot tell which one a
    /// finding is about: the block's line, never the other attribute's.
    #[test]
    fn an_attribute_set_twice_in_a_block_gives_the_block() {
        let json = "{\"resource\": {\"aws_instance\": {\"a\": {\n  \"user_data\": \"echo\",\n  \"tags\": {\n    \"user_data\": \"x\"\n  }\n}}}}\n";
        let tf = "resource \"aws_instance\" \"a\" {\n  user_data = \"echo\"\n  tags = {\n    user_data = \"x\"\n  }\n}\n";
        let mut findings = Vec::new();
        for file in ["m.tf.json", "m/main.tf"] {
            let mut f = crate::Finding {
                policy: "p".into(),
                namespace: "main".into(),
                rule: "deny".into(),
                outcome: crate::Outcome::Deny,
                msg: String::new(),
                severity: "high".into(),
                file: Some(file.into()),
                line: None,
                details: serde_json::json!({"resource": "aws_instance.a", "attribute": "user_data"}),
                waived_by: None,
            };
            findings.push(f.clone());
            f.details = serde_json::json!({"resource": "aws_instance.a", "attribute": "tags"});
            findings.push(f);
        }
        let texts = [
            ("m.tf.json".to_string(), json.to_string()),
            ("m/main.tf".to_string(), tf.to_string()),
        ];
        locate(&mut findings, &texts);
        let lines: Vec<Option<usize>> = findings.iter().map(|f| f.line).collect();
        assert_eq!(lines, [Some(1), Some(3), Some(1), Some(3)]);
    }

    #[test]
    fn variables_are_found_at_the_top_level_only() {
        let text = "tags = {\n  token = \"not this\" # {\n}\n\ntoken = \"ghp_x\"\nlist = [\"[\", {\n  token = 1\n}]\n";
        assert_eq!(tfvars_line(text, "token"), Some(5));
        assert_eq!(tfvars_line(text, "list"), Some(6));
        assert_eq!(tfvars_line(text, "tags"), Some(1));
        assert_eq!(tfvars_line(text, "nothing"), None);
        // A heredoc's lines set nothing, whatever they hold.
        let text = "script = <<-EOT\n  key = 1\n  {\n  EOT\nkey = \"x\"\nother = 2\n";
        assert_eq!(tfvars_line(text, "key"), Some(5));
        assert_eq!(tfvars_line(text, "other"), Some(6));
        assert_eq!(variable_name("tags.owner"), "tags");
        assert_eq!(variable_name("subnets[0]"), "subnets");
    }
}
