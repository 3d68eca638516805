//! The outputs a stack reads through `data "terraform_remote_state"`.
//!
//! Terraform does not mark an output read this way as sensitive, even when the stack that
//! wrote it did. strata takes the value itself out of what the reader's tasks produce (it
//! knows the upstream state), but not what terraform derives from it (`replace(…)`, a
//! substring, a hash): that would reach the plan, its log and the cache in clear text. So a
//! stack may not read a sensitive output this way; it reads it as an input, whose variable
//! strata marks sensitive, and terraform then marks what is derived from it too.

/// A use of a remote state data source: `data.terraform_remote_state.NAME.outputs.OUTPUT`
/// (or `outputs["OUTPUT"]`, after an index such as `NAME[0]` or a splat); `output` is
/// `None` when what is read may be any output: the outputs as a whole or by a computed key,
/// or the data source itself handed on (to a local, a `for`, a function), which reads them
/// later out of sight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteRead {
    /// The data source's name.
    pub source: String,
    pub line: usize,
    pub output: Option<String>,
}

/// The attributes of a remote state data source that are no outputs.
const NOT_OUTPUTS: [&str; 5] = ["backend", "config", "workspace", "defaults", "id"];

/// A Terraform file's text without what may stand between the parts of a reference:
/// whitespace and comments outside strings (`data # …⏎ .terraform_remote_state`, `data
/// /**/.terraform_remote_state`), with the line each kept character is on. Strings and
/// heredocs are kept as written (a reference inside `${…}` counts, and so does one in plain
/// text there: a stricter answer, never a missed one); a `#`, `//` or `/*` inside them is no
/// comment. JSON syntax (`json`) has no comments: only whitespace goes.
fn squeezed(text: &str, json: bool) -> (String, Vec<usize>) {
    fn keep(out: &mut String, lines: &mut Vec<usize>, c: char, line: usize) {
        out.push(c);
        lines.push(line);
    }
    enum In {
        /// Code, inside this many `{` of an interpolation (none at the top level).
        Code(usize),
        Str,
        Heredoc(String),
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut lines = Vec::with_capacity(text.len());
    let mut line = 1;
    let mut stack = vec![In::Code(0)];
    let mut i = 0;
    let mut at_line_start = true;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match stack.last_mut().expect("a context") {
            In::Heredoc(end) => {
                if at_line_start {
                    let rest: String = chars[i..].iter().take_while(|c| **c != '\n').collect();
                    if rest.trim() == end.as_str() {
                        stack.pop();
                        i += rest.chars().count();
                        at_line_start = false;
                        continue;
                    }
                }
                keep(&mut out, &mut lines, c, line);
            }
            In::Str => match c {
                '\\' => {
                    keep(&mut out, &mut lines, c, line);
                    if let Some(n) = next {
                        keep(&mut out, &mut lines, n, line);
                        i += 1;
                    }
                }
                '"' => {
                    keep(&mut out, &mut lines, c, line);
                    stack.pop();
                }
                '$' | '%' if next == Some('{') => {
                    keep(&mut out, &mut lines, c, line);
                    keep(&mut out, &mut lines, '{', line);
                    i += 1;
                    stack.push(In::Code(1));
                }
                _ => keep(&mut out, &mut lines, c, line),
            },
            In::Code(depth) => match c {
                // Gone, but for one space between two words it kept apart (`vpc_id⏎  b`).
                c if c.is_whitespace() => {
                    let word = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
                    let after = chars[i..].iter().find(|c| !c.is_whitespace());
                    if out.chars().next_back().is_some_and(word) && after.is_some_and(|c| word(*c))
                    {
                        keep(&mut out, &mut lines, ' ', line);
                    }
                }
                '"' => {
                    keep(&mut out, &mut lines, c, line);
                    stack.push(In::Str);
                }
                '{' if *depth > 0 => {
                    *depth += 1;
                    keep(&mut out, &mut lines, c, line);
                }
                '}' if *depth > 0 => {
                    *depth -= 1;
                    keep(&mut out, &mut lines, c, line);
                    if *depth == 0 {
                        stack.pop();
                    }
                }
                '#' if !json => {
                    while i + 1 < chars.len() && chars[i + 1] != '\n' {
                        i += 1;
                    }
                }
                '/' if !json && next == Some('/') => {
                    while i + 1 < chars.len() && chars[i + 1] != '\n' {
                        i += 1;
                    }
                }
                '/' if !json && next == Some('*') => {
                    i += 2;
                    while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                        if chars[i] == '\n' {
                            line += 1;
                        }
                        i += 1;
                    }
                    i += 1;
                }
                '<' if !json && next == Some('<') => {
                    // `<<EOT` or `<<-EOT`, to the end of the line.
                    let rest: String = chars[i + 2..].iter().take_while(|c| **c != '\n').collect();
                    let word = rest.trim_start_matches('-').trim();
                    if !word.is_empty() && word.chars().all(|c| c.is_alphanumeric() || c == '_') {
                        keep(&mut out, &mut lines, '<', line);
                        keep(&mut out, &mut lines, '<', line);
                        stack.push(In::Heredoc(word.to_string()));
                        i += 2 + rest.chars().count();
                        continue;
                    }
                    keep(&mut out, &mut lines, c, line);
                }
                _ => keep(&mut out, &mut lines, c, line),
            },
        }
        if chars.get(i) == Some(&'\n') {
            line += 1;
            at_line_start = true;
        } else {
            at_line_start = false;
        }
        i += 1;
    }
    (out, lines)
}

/// The uses of remote state data sources in a Terraform file's text (`file` tells HCL from
/// JSON syntax, which writes the same references inside `${…}`), whatever whitespace and
/// comments stand between the parts of a reference.
pub fn reads(file: &str, text: &str) -> Vec<RemoteRead> {
    let json = file.ends_with(".json");
    let (text, lines) = squeezed(text, json);
    let text = text.as_str();
    const PREFIX: &str = "data.terraform_remote_state.";
    let ident = |s: &str| -> usize {
        s.char_indices()
            .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == '-'))
            .map_or(s.len(), |(i, _)| i)
    };
    // Past an index or splat (`[0]`, `["a"]`, `[*]`), brackets balanced.
    let past_index = |s: &str| -> Option<usize> {
        let mut depth = 0usize;
        for (i, c) in s.char_indices() {
            match c {
                '[' => depth += 1,
                ']' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
        }
        None
    };
    let mut out = Vec::new();
    for (at, _) in text.match_indices(PREFIX) {
        let rest = &text[at + PREFIX.len()..];
        let n = ident(rest);
        let source = rest[..n].to_string();
        let mut after = &rest[n..];
        while after.starts_with('[') {
            match past_index(after) {
                Some(i) => after = &after[i..],
                None => break,
            }
        }
        let output = match after.strip_prefix('.').map(str::trim_start) {
            Some(attribute) => {
                let n = ident(attribute);
                let (name, after) = attribute.split_at(n);
                if NOT_OUTPUTS.contains(&name) {
                    continue;
                }
                let after = after.trim_start();
                if name != "outputs" {
                    None
                } else if let Some(key) = after.strip_prefix('.') {
                    let key = key.trim_start();
                    let n = ident(key);
                    (n > 0).then(|| key[..n].to_string())
                } else if let Some(index) = after.strip_prefix('[') {
                    let index = index.trim_start();
                    index.strip_prefix('"').and_then(|s| {
                        let end = s.find('"')?;
                        let key = &s[..end];
                        (!key.contains("${") && s[end + 1..].trim_start().starts_with(']'))
                            .then(|| key.to_string())
                    })
                } else {
                    None
                }
            }
            None => None,
        };
        out.push(RemoteRead {
            source,
            line: lines.get(text[..at].chars().count()).copied().unwrap_or(1),
            output,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_name_the_output_or_say_they_cannot() {
        let text = "locals {\n  a = data.terraform_remote_state.net.outputs.vpc_id\n  b = data.terraform_remote_state.db.outputs[\"password\"]\n  c = data.terraform_remote_state.db.outputs\n  d = data.terraform_remote_state.db.outputs[local.k]\n  e = data.terraform_remote_state.db.backend\n  f = \"${data.terraform_remote_state.db.outputs.pw}-x\"\n  g = data.terraform_remote_state.db[0].outputs.pw\n  h = data.terraform_remote_state.db[*].outputs[\"pw\"]\n  i = data.terraform_remote_state.db\n  j = [for s in [data.terraform_remote_state.db] : s.outputs.pw]\n  k = data.terraform_remote_state.db .outputs .pw\n}\n";
        let found: Vec<(usize, Option<String>)> = reads("main.tf", text)
            .into_iter()
            .map(|r| (r.line, r.output))
            .collect();
        let named = |s: &str| Some(s.to_string());
        assert_eq!(
            found,
            vec![
                (2, named("vpc_id")),
                (3, named("password")),
                (4, None),
                (5, None),
                (7, named("pw")),
                (8, named("pw")),
                (9, named("pw")),
                (10, None),
                (11, None),
                (12, named("pw")),
            ]
        );
        // Whatever stands between the parts of a reference; nothing inside a string or a
        // heredoc is a comment.
        let text = "locals {\n  a = (data\n    .terraform_remote_state.db.outputs.pw)\n  b = data /**/.terraform_remote_state.db.outputs.pw\n  c = data # note\n  .terraform_remote_state.db.outputs.pw\n  d = format(\"http://%s/*\", data.terraform_remote_state.db.outputs.pw)\n  e = <<EOT\n# ${data.terraform_remote_state.db.outputs.pw}\nEOT\n  f = \"${lookup(data.terraform_remote_state.db.outputs, \"pw\")}\"\n}\n";
        let found: Vec<(usize, Option<String>)> = reads("main.tf", text)
            .into_iter()
            .map(|r| (r.line, r.output))
            .collect();
        assert_eq!(
            found,
            vec![
                (2, named("pw")),
                (4, named("pw")),
                (5, named("pw")),
                (7, named("pw")),
                (9, named("pw")),
                (11, None),
            ]
        );
        let json = "{\"resource\": {\"null_resource\": {\"x\": {\"triggers\": {\"w\": \"${data.terraform_remote_state.db.outputs.pw}#\"}}}}}";
        assert_eq!(reads("main.tf.json", json).len(), 1);
        assert!(reads(
            "main.tf",
            "data \"terraform_remote_state\" \"db\" {\n  backend = \"pg\"\n}\n"
        )
        .is_empty());
    }
}
