//! The outputs a stack reads through `data "terraform_remote_state"`.
//!
//! Terraform does not mark an output read this way as sensitive, even when the stack that
//! wrote it did. strata takes the value itself out of what the reader's tasks produce (it
//! knows the upstream state), but not what terraform derives from it (`replace(…)`, a
//! substring, a hash): that would reach the plan, its log and the cache in clear text. So a
//! stack may not read a sensitive output this way; it reads it as an input, whose variable
//! strata marks sensitive, and terraform then marks what is derived from it too.

use hcl_edit::expr::{Expression, Traversal, TraversalOperator};
use hcl_edit::template::ForTemplateExpr;
use hcl_edit::visit::Visit;
use hcl_edit::Span;

/// A use of a remote state data source: `data.terraform_remote_state.NAME.outputs.OUTPUT`
/// (or `outputs["OUTPUT"]`, after an index such as `NAME[0]` or a splat); `output` is
/// `None` when what is read may be any output: the outputs as a whole or by a computed key,
/// or the data source itself handed on (to a local, a `for`, a function), which reads them
/// later out of sight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteRead {
    /// The data source's name (empty when not written).
    pub source: String,
    pub line: usize,
    pub output: Option<String>,
}

/// The attributes of a remote state data source that are no outputs.
const NOT_OUTPUTS: [&str; 5] = ["backend", "config", "workspace", "defaults", "id"];

/// The uses of remote state data sources in a Terraform file (`file` tells HCL from JSON
/// syntax), read as terraform reads them: parsed, so whitespace, comments, escapes and
/// heredocs are what they are to terraform. A file that does not parse (terraform refuses
/// it too) counts each mention of `terraform_remote_state` outside a block header as a read
/// of any output.
pub fn reads(file: &str, text: &str) -> Vec<RemoteRead> {
    let mut found = Reads {
        text,
        out: Vec::new(),
        fallback_line: None,
    };
    if file.ends_with(".json") {
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(doc) => found.json(&doc),
            Err(_) => return unparsed(text),
        }
    } else {
        match strata_graph::hcl::parse_body(text, file) {
            Ok(body) => found.visit_body(&body),
            Err(_) => return unparsed(text),
        }
    }
    found.out
}

/// Every mention of `terraform_remote_state` but a block header's, as a read of any output.
fn unparsed(text: &str) -> Vec<RemoteRead> {
    text.match_indices("terraform_remote_state")
        .filter(|(at, _)| !text[..*at].ends_with('"'))
        .map(|(at, _)| RemoteRead {
            source: String::new(),
            line: text[..at].matches('\n').count() + 1,
            output: None,
        })
        .collect()
}

struct Reads<'t> {
    text: &'t str,
    out: Vec<RemoteRead>,
    /// The line given to reads in a template parsed on its own (a string of a JSON file),
    /// whose spans are not the file's.
    fallback_line: Option<usize>,
}

impl Reads<'_> {
    /// The strings of a JSON document holding a template, each parsed as one.
    fn json(&mut self, value: &serde_json::Value) {
        match value {
            serde_json::Value::String(s) if s.contains("${") || s.contains("%{") => {
                let line = s
                    .find("terraform_remote_state")
                    .and_then(|_| self.text.find("terraform_remote_state"))
                    .map_or(1, |at| self.text[..at].matches('\n').count() + 1);
                match hcl_edit::parser::parse_template(s) {
                    Ok(template) => {
                        self.fallback_line = Some(line);
                        self.visit_template(&template);
                        self.fallback_line = None;
                    }
                    Err(_) if s.contains("terraform_remote_state") => self.out.push(RemoteRead {
                        source: String::new(),
                        line,
                        output: None,
                    }),
                    Err(_) => {}
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| self.json(v)),
            serde_json::Value::Object(map) => map.values().for_each(|v| self.json(v)),
            _ => {}
        }
    }

    fn line(&self, node: &Traversal) -> usize {
        self.fallback_line.unwrap_or_else(|| {
            node.span().map_or(1, |r| {
                self.text[..r.start.min(self.text.len())]
                    .matches('\n')
                    .count()
                    + 1
            })
        })
    }
}

impl Visit for Reads<'_> {
    // hcl-edit's walk of a `%{ for }` directive skips the collection it iterates over.
    fn visit_for_template_expr(&mut self, node: &ForTemplateExpr) {
        self.visit_expr(&node.collection_expr);
        hcl_edit::visit::visit_for_template_expr(self, node);
    }

    fn visit_traversal(&mut self, node: &Traversal) {
        let ops: Vec<&TraversalOperator> = node.operators.iter().map(|o| o.value()).collect();
        let remote = matches!(&node.expr, Expression::Variable(v) if v.as_str() == "data")
            && matches!(ops.first(), Some(TraversalOperator::GetAttr(t)) if t.as_str() == "terraform_remote_state");
        if remote {
            let source = match ops.get(1) {
                Some(TraversalOperator::GetAttr(name)) => name.as_str().to_string(),
                _ => String::new(),
            };
            // Past an index or splat of the data source (`count`, `for_each`).
            let mut rest = ops.iter().skip(2).skip_while(|o| {
                matches!(
                    o,
                    TraversalOperator::Index(_)
                        | TraversalOperator::LegacyIndex(_)
                        | TraversalOperator::AttrSplat(_)
                        | TraversalOperator::FullSplat(_)
                )
            });
            let read = match rest.next() {
                Some(TraversalOperator::GetAttr(a)) if NOT_OUTPUTS.contains(&a.as_str()) => None,
                Some(TraversalOperator::GetAttr(a)) if a.as_str() == "outputs" => {
                    Some(match rest.next() {
                        Some(TraversalOperator::GetAttr(key)) => Some(key.as_str().to_string()),
                        Some(TraversalOperator::Index(Expression::String(key))) => {
                            Some(key.value().to_string())
                        }
                        _ => None,
                    })
                }
                _ => Some(None),
            };
            if let Some(output) = read {
                self.out.push(RemoteRead {
                    source,
                    line: self.line(node),
                    output,
                });
            }
        }
        hcl_edit::visit::visit_traversal(self, node);
    }
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
        // Read as terraform parses it: whitespace, comments, escapes (`$${`, `\\u0077`) and
        // heredocs are what they are to terraform.
        let text = "locals {\n  a = (data\n    .terraform_remote_state.db.outputs.pw)\n  b = data /**/.terraform_remote_state.db.outputs.pw\n  c = (data # note\n  .terraform_remote_state.db.outputs.pw)\n  d = format(\"http://%s/*\", data.terraform_remote_state.db.outputs.pw)\n  e = <<EOT\n# ${data.terraform_remote_state.db.outputs.pw}\nEOT\n  f = \"${lookup(data.terraform_remote_state.db.outputs, \"pw\")}\"\n  g = \"$${\"\n  h = \"#${data.terraform_remote_state.db.outputs.pw}\"\n  i = <<EOT\n${replace(data\n  .terraform_remote_state.db.outputs.pw, \"-\", \"_\")}\nEOT\n  j = data.terraform_remote_state.db.outputs[\"p\\u0077\"]\n  k = data.terraform_remote_state.db.outputs[\"p${\"w\"}\"]\n  l = \"%{ for x in data.terraform_remote_state.db.outputs.list }${x}%{ endfor }\"\n}\n";
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
                (13, named("pw")),
                (15, named("pw")),
                (18, named("pw")),
                (19, None),
                (20, named("list")),
            ]
        );
        // A long run of blank lines reads in linear time.
        let long = format!(
            "{}locals {{\n  a = data.terraform_remote_state.db.outputs.pw\n}}\n",
            "\n".repeat(300_000)
        );
        assert_eq!(reads("main.tf", &long)[0].line, 300_002);
        // A file that does not parse: every mention, as a read of any output.
        let broken = reads(
            "main.tf",
            "locals {\n  a = \"${data.terraform_remote_state.db.outputs.pw\n",
        );
        assert_eq!(broken.len(), 1);
        assert_eq!(broken[0].output, None);
        let json = "{\"resource\": {\"null_resource\": {\"x\": {\"triggers\": {\"w\": \"${data.terraform_remote_state.db.outputs.pw}#\"}}}}}";
        assert_eq!(reads("main.tf.json", json).len(), 1);
        assert!(reads(
            "main.tf",
            "data \"terraform_remote_state\" \"db\" {\n  backend = \"pg\"\n}\n"
        )
        .is_empty());
    }
}
