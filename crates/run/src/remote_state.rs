//! The outputs a stack reads through `data "terraform_remote_state"`.
//!
//! Terraform does not mark an output read this way as sensitive, even when the stack that
//! wrote it did. strata takes the value itself out of what the reader's tasks produce (it
//! knows the upstream state), but not what terraform derives from it (`replace(…)`, a
//! substring, a hash): that would reach the plan, its log and the cache in clear text. So a
//! stack may not read a sensitive output this way; it reads it as an input, whose variable
//! strata marks sensitive, and terraform then marks what is derived from it too.

/// A read of a remote state's outputs: `data.terraform_remote_state.NAME.outputs.OUTPUT`
/// (or `outputs["OUTPUT"]`); `output` is `None` when the outputs are read as a whole or by
/// a computed key (`outputs[local.k]`), which may be any of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteRead {
    pub line: usize,
    pub output: Option<String>,
}

/// The reads of remote state outputs in a Terraform file's text (HCL or JSON syntax, which
/// writes the same references inside `${…}`). Comments are not told apart: a reference in
/// one counts (a stricter answer, never a missed one).
pub fn reads(text: &str) -> Vec<RemoteRead> {
    const PREFIX: &str = "data.terraform_remote_state.";
    let ident = |s: &str| -> usize {
        s.char_indices()
            .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == '-'))
            .map_or(s.len(), |(i, _)| i)
    };
    let mut out = Vec::new();
    for (at, _) in text.match_indices(PREFIX) {
        let rest = &text[at + PREFIX.len()..];
        let name = ident(rest);
        let Some(after) = rest[name..].strip_prefix(".outputs") else {
            continue;
        };
        // `.outputs_x` would be another attribute.
        if after.starts_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let output = if let Some(key) = after.strip_prefix('.') {
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
        };
        out.push(RemoteRead {
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
        let text = "locals {\n  a = data.terraform_remote_state.net.outputs.vpc_id\n  b = data.terraform_remote_state.db.outputs[\"password\"]\n  c = data.terraform_remote_state.db.outputs\n  d = data.terraform_remote_state.db.outputs[local.k]\n  e = data.terraform_remote_state.db.backend\n  f = \"${data.terraform_remote_state.db.outputs.pw}-x\"\n}\n";
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
            ]
        );
        assert!(
            reads("data \"terraform_remote_state\" \"db\" {\n  backend = \"pg\"\n}\n").is_empty()
        );
    }
}
