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

/// The uses of remote state data sources in a Terraform file's text (HCL or JSON syntax,
/// which writes the same references inside `${…}`). Comments are not told apart: a
/// reference in one counts (a stricter answer, never a missed one).
pub fn reads(text: &str) -> Vec<RemoteRead> {
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
        let mut after = rest[n..].trim_start();
        while after.starts_with('[') {
            match past_index(after) {
                Some(i) => after = after[i..].trim_start(),
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
            line: text[..at].matches('\n').count() + 1,
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
        let found: Vec<(usize, Option<String>)> = reads(text)
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
        assert!(
            reads("data \"terraform_remote_state\" \"db\" {\n  backend = \"pg\"\n}\n").is_empty()
        );
    }
}
