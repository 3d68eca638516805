//! Terraform files as policy input, in two JSON shapes (see [`Shape`]).
//!
//! conftest's (hcl2json's, the default) converts the syntax without evaluating it:
//! - a block becomes nested objects keyed by its type and labels, and the innermost key
//!   holds an **array** of bodies, even for one block: `resource "aws_s3_bucket" "b" {..}`
//!   -> `{"resource": {"aws_s3_bucket": {"b": [{..}]}}}`, `locals {..}` -> `{"locals": [{..}]}`;
//!   nested blocks the same way (`versioning[0].enabled`); an attribute replaces a block of
//!   the same name;
//! - literals are JSON values (`-1` and `!true` evaluated); a quoted string keeps `$${` and
//!   `%%{` escaped; a template that is one interpolation is that expression converted
//!   (`"${1}"` -> `1`); other templates glue their literal text and `${<source>}` for each
//!   interpolation, with directives re-rendered as `%{if c}a%{else}b%{endif}` and
//!   `%{for x in xs}..%{endfor}`; heredocs are their text;
//! - anything else (references, calls, operators, conditionals, `for`, parentheses) is
//!   `"${<its source text>}"`;
//! - object keys: an identifier or a reference is its text, other keys are converted as
//!   template parts (`3` -> `"3"`, `"${x}"` -> `"${x}"`);
//! - blocks of one type with and without labels at one level, or a label path running into
//!   a block, are errors, as in hcl2json.
//!
//! strata's own shape (`input_shape = "strata"`, used by the built-in pack): a block body is
//! an object, and an array only when the same block repeats at one place; literals are JSON
//! values and anything computed is kept as `"${<expression>}"` text.

use crate::input::Shape;
use crate::tf_json;
use crate::Error;
use hcl_edit::expr::{Expression, ObjectKey};
use hcl_edit::structure::{Block, Body, Structure};
use hcl_edit::template::{Directive, Element, Template};
use hcl_edit::Span;
use serde_json::{Map, Value};
use strata_graph::error::Lines;

/// Converts one Terraform file into `shape`; an error carries the line.
pub fn to_json(text: &str, shape: Shape) -> Result<Value, Error> {
    let body = parse(text)?;
    match shape {
        Shape::Strata => Ok(Value::Object(body_json(&body))),
        Shape::Hcl2json => Hcl2Json { src: text }.body(&body).map(Value::Object),
    }
}

/// One Terraform file in both shapes (hcl2json's, strata's), parsed once.
pub fn to_json_shapes(text: &str) -> Result<(Value, Value), Error> {
    let body = parse(text)?;
    let hcl2json = Hcl2Json { src: text }.body(&body).map(Value::Object)?;
    Ok((hcl2json, Value::Object(body_json(&body))))
}

fn parse(text: &str) -> Result<Body, Error> {
    hcl_edit::parser::parse_body(text).map_err(|e| Error {
        file: None,
        line: Some(e.location().line() as u32),
        message: e.message().to_string(),
        hint: None,
    })
}

/// Where a block of a module is written, for locating the findings that name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockLocation {
    /// The Terraform address findings name the block by: `aws_s3_bucket.logs`,
    /// `data.aws_iam_policy_document.x`, `module.vpc`, `var.region`, `output.id`,
    /// `provider.aws`, `local.name` (an entry of a `locals` block), `terraform`,
    /// `terraform.backend.s3`.
    pub address: String,
    /// The file, as shown in findings.
    pub file: String,
    /// The line of the block's header (of the entry, for a local).
    pub line: usize,
    /// Every line setting an attribute or object key inside the block, at any depth, in
    /// source order (a name set twice, as `user_data` and `tags.user_data`, is there twice).
    pub attributes: Vec<(String, usize)>,
}

/// A module: the `.tf` files of one directory, as (path shown, text), read as one document
/// in strata's shape, as if they were one file (a block type written in two files is
/// repeated, so its bodies form an array), with where each block is. A file that does not
/// parse is an error naming it.
pub fn module_json(files: &[(String, String)]) -> Result<(Value, Vec<BlockLocation>), Error> {
    let mut out = Map::new();
    let mut blocks = Vec::new();
    for (path, text) in files {
        if path.ends_with(".tf.json") || path.ends_with(".tofu.json") {
            module_json_file(path, text, &mut out, &mut blocks)?;
            continue;
        }
        let body = parse(text).map_err(|e| Error {
            file: Some(path.clone()),
            ..e
        })?;
        let lines = strata_graph::error::Lines::new(text);
        let line_at = |span: Option<std::ops::Range<usize>>| span.map(|r| lines.line(r.start));
        for structure in body.iter() {
            match structure {
                Structure::Attribute(attr) => {
                    out.insert(attr.key.as_str().to_string(), expr_json(&attr.value));
                }
                Structure::Block(block) => {
                    let mut labels: Vec<String> = vec![block.ident.as_str().to_string()];
                    labels.extend(block.labels.iter().map(|l| l.as_str().to_string()));
                    insert(&mut out, &labels, Value::Object(body_json(&block.body)));
                    let Some(line) = line_at(block.span()) else {
                        continue;
                    };
                    let mut located = |address: String, line: usize, body: &Body| {
                        let mut attributes = Vec::new();
                        attribute_lines(body, &lines, &mut attributes);
                        blocks.push(BlockLocation {
                            address,
                            file: path.clone(),
                            line,
                            attributes,
                        });
                    };
                    let l: Vec<&str> = labels.iter().map(String::as_str).collect();
                    match l.as_slice() {
                        ["locals"] => {
                            for attr in block.body.attributes() {
                                if let Some(at) = line_at(attr.span()) {
                                    blocks.push(BlockLocation {
                                        address: format!("local.{}", attr.key.as_str()),
                                        file: path.clone(),
                                        line: at,
                                        attributes: Vec::new(),
                                    });
                                }
                            }
                        }
                        ["terraform"] => {
                            located("terraform".into(), line, &block.body);
                            for inner in block.body.blocks() {
                                let mut address = vec!["terraform", inner.ident.as_str()];
                                address.extend(inner.labels.iter().map(|l| l.as_str()));
                                if let Some(at) = line_at(inner.span()) {
                                    located(address.join("."), at, &inner.body);
                                }
                            }
                        }
                        ["resource", kind, name] => {
                            located(format!("{kind}.{name}"), line, &block.body)
                        }
                        ["variable", name] => located(format!("var.{name}"), line, &block.body),
                        _ => located(labels.join("."), line, &block.body),
                    }
                }
            }
        }
    }
    Ok((Value::Object(out), blocks))
}

/// One file of a module written in Terraform's JSON syntax: its blocks added to `out`, and
/// where each is to `blocks`.
fn module_json_file(
    path: &str,
    text: &str,
    out: &mut Map<String, Value>,
    blocks: &mut Vec<BlockLocation>,
) -> Result<(), Error> {
    let root: Value = serde_json::from_str(text)
        .map_err(|e| Error::in_file(path, Some(e.line() as u32), format!("invalid JSON: {e}")))?;
    for doc in tf_json::documents(path, root)? {
        for (labels, body) in tf_json::blocks(&doc) {
            insert(out, &labels, body);
        }
    }
    blocks.extend(tf_json::locations(path, text));
    Ok(())
}

/// The line of each attribute of `body` and of each key of the objects in their values,
/// nested blocks included, in source order.
fn attribute_lines(body: &Body, lines: &Lines, out: &mut Vec<(String, usize)>) {
    for structure in body.iter() {
        match structure {
            Structure::Attribute(attr) => {
                if let Some(r) = attr.span() {
                    out.push((attr.key.as_str().to_string(), lines.line(r.start)));
                }
                key_lines(&attr.value, lines, out);
            }
            Structure::Block(block) => attribute_lines(&block.body, lines, out),
        }
    }
}

/// The line of each key of the objects in `expr`, at any depth.
fn key_lines(expr: &Expression, lines: &Lines, out: &mut Vec<(String, usize)>) {
    match expr {
        Expression::Object(object) => {
            for (key, value) in object.iter() {
                let name = match key {
                    ObjectKey::Ident(ident) => Some(ident.as_str().to_string()),
                    ObjectKey::Expression(Expression::String(s)) => Some(s.as_str().to_string()),
                    ObjectKey::Expression(_) => None,
                };
                if let (Some(name), Some(r)) = (name, key.span()) {
                    out.push((name, lines.line(r.start)));
                }
                key_lines(value.expr(), lines, out);
            }
        }
        Expression::Array(array) => {
            for item in array.iter() {
                key_lines(item, lines, out);
            }
        }
        _ => {}
    }
}

struct Hcl2Json<'a> {
    src: &'a str,
}

impl Hcl2Json<'_> {
    fn line(&self, span: Option<std::ops::Range<usize>>) -> Option<u32> {
        span.map(|r| strata_graph::error::line_of(self.src, r.start) as u32)
    }

    fn body(&self, body: &Body) -> Result<Map<String, Value>, Error> {
        let mut out = Map::new();
        for block in body.blocks() {
            self.block(block, &mut out)?;
        }
        for attr in body.attributes() {
            out.insert(attr.key.as_str().to_string(), self.expr(&attr.value));
        }
        Ok(out)
    }

    fn block(&self, block: &Block, out: &mut Map<String, Value>) -> Result<(), Error> {
        let error = |message: String| Error {
            file: None,
            line: self.line(block.span()),
            message,
            hint: None,
        };
        let mut key = block.ident.as_str().to_string();
        let mut cur = out;
        for label in &block.labels {
            let next = cur
                .entry(key.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            cur = match next {
                Value::Object(m) => m,
                _ => {
                    let path: Vec<&str> = std::iter::once(block.ident.as_str())
                        .chain(block.labels.iter().map(|l| l.as_str()))
                        .collect();
                    return Err(error(format!(
                        "block `{}` runs into a block with fewer labels (hcl2json cannot convert it)",
                        path.join(".")
                    )));
                }
            };
            key = label.as_str().to_string();
        }
        let value = Value::Object(self.body(&block.body)?);
        match cur.get_mut(&key) {
            None => {
                cur.insert(key, Value::Array(vec![value]));
            }
            Some(Value::Array(items)) => items.push(value),
            Some(_) => {
                return Err(error(format!(
                    "`{key}` blocks are given both with and without labels (hcl2json cannot convert them)"
                )))
            }
        }
        Ok(())
    }

    fn source(&self, e: &Expression) -> String {
        match e.span().and_then(|r| self.src.get(r)) {
            Some(text) => text.to_string(),
            None => e.to_string().trim().to_string(),
        }
    }

    fn wrap(&self, e: &Expression) -> String {
        format!("${{{}}}", self.source(e))
    }

    fn expr(&self, e: &Expression) -> Value {
        match e {
            Expression::Null(_) => Value::Null,
            Expression::Bool(b) => Value::Bool(*b.value()),
            Expression::Number(n) => number(n.value()),
            Expression::String(s) => Value::String(escape(s.value())),
            Expression::Array(a) => Value::Array(a.iter().map(|x| self.expr(x)).collect()),
            Expression::Object(o) => {
                let mut out = Map::new();
                for (key, value) in o.iter() {
                    let key = match key {
                        ObjectKey::Ident(id) => id.as_str().to_string(),
                        ObjectKey::Expression(
                            k @ (Expression::Variable(_) | Expression::Traversal(_)),
                        ) => self.source(k),
                        ObjectKey::Expression(k) => self.part(k),
                    };
                    out.insert(key, self.expr(value.expr()));
                }
                Value::Object(out)
            }
            Expression::StringTemplate(t) => match single_interpolation(t) {
                Some(inner) => self.expr(inner),
                None => Value::String(self.template(t)),
            },
            Expression::HeredocTemplate(h) => Value::String(self.template(&h.template)),
            Expression::UnaryOp(op) => {
                use hcl_edit::expr::UnaryOperator;
                match (op.operator.value(), &op.expr) {
                    (UnaryOperator::Neg, Expression::Number(n)) => match number(n.value()) {
                        Value::Number(n) => n
                            .as_i64()
                            .map(|i| Value::from(-i))
                            .or_else(|| n.as_f64().map(|f| Value::from(-f)))
                            .unwrap_or(Value::Null),
                        other => other,
                    },
                    (UnaryOperator::Not, Expression::Bool(b)) => Value::Bool(!*b.value()),
                    _ => Value::String(self.wrap(e)),
                }
            }
            _ => Value::String(self.wrap(e)),
        }
    }

    /// An expression as a part of a template (or an object key): literals as their text.
    fn part(&self, e: &Expression) -> String {
        match e {
            Expression::Null(_) => "null".into(),
            Expression::Bool(b) => b.value().to_string(),
            Expression::Number(n) => match number(n.value()) {
                Value::Number(n) => n.to_string(),
                _ => String::new(),
            },
            Expression::String(s) => escape(s.value()),
            Expression::StringTemplate(t) => match single_interpolation(t) {
                Some(inner) => self.part(inner),
                None => self.template(t),
            },
            Expression::HeredocTemplate(h) => self.template(&h.template),
            _ => self.wrap(e),
        }
    }

    fn template(&self, t: &Template) -> String {
        let mut out = String::new();
        let mut strip_next = false;
        for element in t.iter() {
            match element {
                Element::Literal(l) => {
                    let text = escape(l.value());
                    if strip_next {
                        out.push_str(text.trim_start());
                    } else {
                        out.push_str(&text);
                    }
                    strip_next = false;
                }
                Element::Interpolation(i) => {
                    if i.strip.strip_start() {
                        out.truncate(out.trim_end().len());
                    }
                    match &i.expr {
                        // A conditional inside a longer template is written as the `%{if}`
                        // directive it parses to, as hcl2json writes it.
                        Expression::Conditional(c) => {
                            out.push_str("%{if ");
                            out.push_str(&self.source(&c.cond_expr));
                            out.push('}');
                            out.push_str(&self.part(&c.true_expr));
                            let otherwise = self.part(&c.false_expr);
                            if !otherwise.is_empty() {
                                out.push_str("%{else}");
                                out.push_str(&otherwise);
                            }
                            out.push_str("%{endif}");
                        }
                        other => out.push_str(&self.part(other)),
                    }
                    strip_next = i.strip.strip_end();
                }
                Element::Directive(d) => {
                    match d.as_ref() {
                        Directive::If(d) => {
                            out.push_str("%{if ");
                            out.push_str(&self.source(&d.if_expr.cond_expr));
                            out.push('}');
                            out.push_str(&self.template(&d.if_expr.template));
                            if let Some(e) = &d.else_expr {
                                let text = self.template(&e.template);
                                if !text.is_empty() {
                                    out.push_str("%{else}");
                                    out.push_str(&text);
                                }
                            }
                            out.push_str("%{endif}");
                        }
                        Directive::For(d) => {
                            out.push_str("%{for ");
                            if let Some(k) = &d.for_expr.key_var {
                                out.push_str(k.as_str());
                                out.push_str(", ");
                            }
                            out.push_str(d.for_expr.value_var.as_str());
                            out.push_str(" in ");
                            out.push_str(&self.source(&d.for_expr.collection_expr));
                            out.push('}');
                            out.push_str(&self.template(&d.for_expr.template));
                            out.push_str("%{endfor}");
                        }
                    }
                    strip_next = false;
                }
            }
        }
        out
    }
}

/// The expression of a template that is exactly one interpolation (`"${x}"`).
fn single_interpolation(t: &hcl_edit::template::StringTemplate) -> Option<&Expression> {
    let mut elements = t.iter();
    match (elements.next(), elements.next()) {
        (Some(Element::Interpolation(i)), None) => Some(&i.expr),
        _ => None,
    }
}

/// Literal text keeps template sequences escaped, so it never reads as computed.
fn escape(s: &str) -> String {
    s.replace("${", "$${").replace("%{", "%%{")
}

fn number(n: &hcl_edit::Number) -> Value {
    if let Some(i) = n.as_i64() {
        Value::from(i)
    } else if let Some(u) = n.as_u64() {
        Value::from(u)
    } else {
        n.as_f64().map(Value::from).unwrap_or(Value::Null)
    }
}

// strata's shape.

fn body_json(body: &Body) -> Map<String, Value> {
    let mut out = Map::new();
    for structure in body.iter() {
        match structure {
            Structure::Attribute(attr) => {
                out.insert(attr.key.as_str().to_string(), expr_json(&attr.value));
            }
            Structure::Block(block) => {
                let mut path: Vec<String> = vec![block.ident.as_str().to_string()];
                path.extend(block.labels.iter().map(|l| l.as_str().to_string()));
                insert(&mut out, &path, Value::Object(body_json(&block.body)));
            }
        }
    }
    out
}

/// Puts `value` at `path`, turning a repeated leaf into an array.
pub(crate) fn insert(map: &mut Map<String, Value>, path: &[String], value: Value) {
    let (first, rest) = path.split_first().expect("non-empty path");
    if rest.is_empty() {
        match map.get_mut(first) {
            None => {
                map.insert(first.clone(), value);
            }
            Some(Value::Array(items)) => items.push(value),
            Some(existing) => {
                let previous = existing.take();
                *existing = Value::Array(vec![previous, value]);
            }
        }
        return;
    }
    let entry = map
        .entry(first.clone())
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(inner) = entry {
        insert(inner, rest, value);
    }
}

fn computed(expr: &Expression) -> Value {
    Value::String(format!("${{{}}}", expr.to_string().trim()))
}

fn expr_json(expr: &Expression) -> Value {
    match expr {
        Expression::Null(_) => Value::Null,
        Expression::Bool(b) => Value::Bool(*b.value()),
        Expression::Number(n) => {
            let n = n.value();
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64().map(Value::from).unwrap_or(Value::Null)
            }
        }
        Expression::String(s) => Value::String(s.value().to_string()),
        Expression::Array(a) => Value::Array(a.iter().map(expr_json).collect()),
        Expression::Object(o) => {
            let mut out = Map::new();
            for (key, value) in o.iter() {
                let key = match key {
                    ObjectKey::Ident(id) => id.as_str().to_string(),
                    ObjectKey::Expression(Expression::String(s)) => s.value().to_string(),
                    ObjectKey::Expression(other) => format!("${{{}}}", other.to_string().trim()),
                };
                out.insert(key, expr_json(value.expr()));
            }
            Value::Object(out)
        }
        Expression::StringTemplate(t) => {
            let mut literal = String::new();
            for element in t.iter() {
                match element {
                    Element::Literal(l) => literal.push_str(l.as_str()),
                    _ => {
                        // Keep the template's own text, without the quotes.
                        let text = expr.to_string();
                        let text = text.trim();
                        let inner = text
                            .strip_prefix('"')
                            .and_then(|t| t.strip_suffix('"'))
                            .unwrap_or(text);
                        return Value::String(inner.to_string());
                    }
                }
            }
            Value::String(literal)
        }
        Expression::HeredocTemplate(h) => {
            let mut literal = String::new();
            for element in h.template.iter() {
                match element {
                    Element::Literal(l) => literal.push_str(l.as_str()),
                    _ => return computed(expr),
                }
            }
            Value::String(literal)
        }
        Expression::Parenthesis(p) => expr_json(p.inner()),
        // `jsonencode` of literal values is the JSON text Terraform gives (keys sorted,
        // compact), so a policy document written with it reads like one in a heredoc.
        Expression::FuncCall(call)
            if call.name.namespace.is_empty()
                && call.name.name.as_str() == "jsonencode"
                && call.args.len() == 1
                && !call.args.expand_final() =>
        {
            let arg = call
                .args
                .iter()
                .next()
                .map(expr_json)
                .unwrap_or(Value::Null);
            if is_literal(&arg) {
                Value::String(serde_json::to_string(&arg).unwrap_or_default())
            } else {
                computed(expr)
            }
        }
        _ => computed(expr),
    }
}

/// Whether a converted value holds nothing computed (no `${...}` anywhere).
fn is_literal(v: &Value) -> bool {
    match v {
        Value::String(s) => !s.contains("${"),
        Value::Array(items) => items.iter().all(is_literal),
        Value::Object(o) => o.iter().all(|(k, v)| !k.contains("${") && is_literal(v)),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn terraform_json_reads_alike_however_its_labels_are_written() {
        let shape = |v: Value| Value::Object(tf_json::strata_shape(v.as_object().unwrap()));
        let body = json!({"bucket": "b", "tags": [{"a": 1}]});
        let plain = json!({"resource": {"aws_s3_bucket": {"logs": body}}, "locals": {"x": 1}});
        for written in [
            json!({"resource": [{"aws_s3_bucket": {"logs": body}}], "locals": [{"x": 1}]}),
            json!({"resource": {"aws_s3_bucket": [{"logs": body}]}, "locals": {"x": 1}}),
            json!({"resource": {"//": "note", "aws_s3_bucket": {"logs": [body]}}, "locals": [{"x": 1}]}),
        ] {
            assert_eq!(shape(written.clone()), shape(plain.clone()), "{written}");
        }
        assert_eq!(shape(plain.clone()), plain);
        // A block written twice is an array, as two such blocks in a `.tf` file; bodies are
        // kept as written, and keys that are no blocks too.
        assert_eq!(
            shape(
                json!({"provider": {"aws": [{"region": "a"}, {"region": "b", "alias": "b"}]}, "//": "x"})
            ),
            json!({"provider": {"aws": [{"region": "a"}, {"region": "b", "alias": "b"}]}, "//": "x"})
        );
        assert_eq!(
            shape(json!({"locals": [{"x": 1}, {"y": 2}]})),
            json!({"locals": [{"x": 1}, {"y": 2}]})
        );
    }

    const TF: &str = r#"
terraform {
  backend "s3" {
    bucket  = "state"
    encrypt = true
  }
}

resource "aws_s3_bucket" "logs" {
  bucket = "acme-logs"
  acl    = "public-read"
  tags   = { owner = "sre", "cost-center" = 42 }
  versioning {
    enabled = true
  }
}

resource "aws_security_group" "web" {
  ingress {
    from_port   = 22
    cidr_blocks = ["0.0.0.0/0"]
  }
  ingress {
    from_port   = 443
    cidr_blocks = [var.office_cidr]
  }
  name = "${var.env}-web"
  vpc  = aws_vpc.main.id
}
"#;

    #[test]
    fn strata_shape() {
        let v = to_json(TF, Shape::Strata).unwrap();
        assert_eq!(v["terraform"]["backend"]["s3"]["encrypt"], json!(true));
        let bucket = &v["resource"]["aws_s3_bucket"]["logs"];
        assert_eq!(bucket["acl"], "public-read");
        assert_eq!(bucket["versioning"]["enabled"], true);
        assert_eq!(bucket["tags"]["cost-center"], 42);
        let sg = &v["resource"]["aws_security_group"]["web"];
        assert_eq!(sg["ingress"].as_array().unwrap().len(), 2);
        assert_eq!(sg["ingress"][1]["cidr_blocks"][0], "${var.office_cidr}");
        assert_eq!(sg["name"], "${var.env}-web");
        assert_eq!(sg["vpc"], "${aws_vpc.main.id}");
    }

    #[test]
    fn hcl2json_shape_wraps_every_block_body_in_an_array() {
        let v = to_json(TF, Shape::Hcl2json).unwrap();
        assert_eq!(
            v["terraform"][0]["backend"]["s3"][0]["encrypt"],
            json!(true)
        );
        let bucket = &v["resource"]["aws_s3_bucket"]["logs"][0];
        assert_eq!(bucket["versioning"][0]["enabled"], true);
        assert_eq!(bucket["tags"], json!({"owner": "sre", "cost-center": 42}));
        let sg = &v["resource"]["aws_security_group"]["web"][0];
        assert_eq!(sg["ingress"][1]["cidr_blocks"][0], "${var.office_cidr}");
        assert_eq!(sg["name"], "${var.env}-web");
    }

    /// The same files through hcl2json itself (testdata/hcl2json/README.md): equal JSON.
    #[test]
    fn hcl2json_shape_equals_hcl2json_on_the_same_files() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/hcl2json");
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|x| x != "tf") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let expected: Value = serde_json::from_str(
                &std::fs::read_to_string(path.with_extension("json")).unwrap(),
            )
            .unwrap();
            assert_eq!(
                to_json(&text, Shape::Hcl2json).unwrap(),
                expected,
                "{}",
                path.display()
            );
            checked += 1;
        }
        assert!(checked >= 4);
    }

    #[test]
    fn hcl2json_expressions() {
        let tf = "locals {\n  one = \"${1}\"\n  hi = \"${\"hi\"}\"\n  esc = \"literal $${x}\"\n  dir = \"%{ if true }x%{ endif }\"\n  p = (1)\n  neg = -1\n  nt = !true\n  o = { a.b.c = 1, 3 = 2, \"${x}\" = 3, (var.k) = 4 }\n  script = <<-EOT\n    echo hello\n    echo ${var.x}\n  EOT\n  t = string\n}\n";
        let v = to_json(tf, Shape::Hcl2json).unwrap();
        assert_eq!(
            v["locals"][0],
            json!({"one": 1, "hi": "hi", "esc": "literal $${x}", "dir": "%{if true}x%{endif}",
                   "p": "${(1)}", "neg": -1, "nt": false,
                   "o": {"a.b.c": 1, "3": 2, "${x}": 3, "${(var.k)}": 4},
                   "script": "echo hello\necho ${var.x}\n", "t": "${string}"})
        );
        // A conditional inside a longer template: the directive it parses to, as
        // hcl2json writes it (the whole value one conditional stays an expression).
        let tf = "locals {\n  b = \"logs-${var.prod ? \"prod\" : \"dev\"}\"\n  c = \"x${var.on ? var.y : \"\"}\"\n  d = \"${var.prod ? \"a\" : \"b\"}\"\n}\n";
        let v = to_json(tf, Shape::Hcl2json).unwrap();
        assert_eq!(
            v["locals"][0],
            json!({"b": "logs-%{if var.prod}prod%{else}dev%{endif}",
                   "c": "x%{if var.on}${var.y}%{endif}",
                   "d": "${var.prod ? \"a\" : \"b\"}"})
        );
    }

    #[test]
    fn hcl2json_rejects_what_hcl2json_rejects() {
        let err = to_json("foo \"x\" {\n}\nfoo {\n}\n", Shape::Hcl2json).unwrap_err();
        assert_eq!(err.line, Some(3), "{err}");
        let err = to_json(
            "resource \"a\" {\n}\nresource \"a\" \"b\" {\n}\n",
            Shape::Hcl2json,
        )
        .unwrap_err();
        assert_eq!(err.line, Some(3), "{err}");
    }

    #[test]
    fn jsonencode_of_literals_is_its_json_text() {
        let v = to_json(
            "resource \"aws_iam_policy\" \"p\" {\n  policy = jsonencode({\n    Version = \"2012-10-17\"\n    Statement = [{ Effect = \"Allow\", Action = \"*\", Resource = \"*\" }]\n  })\n  other = jsonencode({ Resource = aws_s3_bucket.b.arn })\n}\n",
            Shape::Strata,
        )
        .unwrap();
        let p = &v["resource"]["aws_iam_policy"]["p"];
        assert_eq!(
            p["policy"],
            r#"{"Statement":[{"Action":"*","Effect":"Allow","Resource":"*"}],"Version":"2012-10-17"}"#
        );
        assert!(
            p["other"].as_str().unwrap().starts_with("${jsonencode("),
            "{p}"
        );
        // conftest's shape keeps the call's text, as hcl2json does.
        let v = to_json(
            "locals {\n  a = jsonencode({ x = 1 })\n}\n",
            Shape::Hcl2json,
        )
        .unwrap();
        assert_eq!(v["locals"][0]["a"], "${jsonencode({ x = 1 })}");
    }

    #[test]
    fn literal_heredocs_are_strings() {
        let v = to_json(
            "locals {\n  a = <<-EOT\n    hello\n  EOT\n  b = <<EOT\n${var.x}\nEOT\n}\n",
            Shape::Strata,
        )
        .unwrap();
        assert!(v["locals"]["a"].as_str().unwrap().contains("hello"), "{v}");
        assert!(v["locals"]["b"].as_str().unwrap().starts_with("${"), "{v}");
    }

    #[test]
    fn a_module_is_its_files_read_as_one_with_each_block_located() {
        let files = vec![
            (
                "m/main.tf".to_string(),
                "# the bucket\nresource \"aws_s3_bucket\" \"logs\" {\n  bucket = \"acme-logs\"\n}\n\nlocals {\n  a = 1\n}\n".to_string(),
            ),
            (
                "m/versioning.tf".to_string(),
                "resource \"aws_s3_bucket_versioning\" \"logs\" {\n  bucket = aws_s3_bucket.logs.id\n  versioning_configuration {\n    status = \"Enabled\"\n  }\n}\n\nlocals {\n  b = 2\n}\n\nterraform {\n  backend \"s3\" {\n    encrypt = false\n  }\n}\n".to_string(),
            ),
        ];
        let (v, blocks) = module_json(&files).unwrap();
        assert_eq!(
            v["resource"]["aws_s3_bucket"]["logs"]["bucket"],
            "acme-logs"
        );
        assert_eq!(
            v["resource"]["aws_s3_bucket_versioning"]["logs"]["versioning_configuration"]["status"],
            "Enabled"
        );
        // `locals` in two files: two bodies, as a repeated block of one file.
        assert_eq!(v["locals"], json!([{"a": 1}, {"b": 2}]));
        let at = |address: &str| {
            blocks
                .iter()
                .find(|b| b.address == address)
                .map(|b| (b.file.as_str(), b.line))
        };
        assert_eq!(at("aws_s3_bucket.logs"), Some(("m/main.tf", 2)));
        assert_eq!(
            at("aws_s3_bucket_versioning.logs"),
            Some(("m/versioning.tf", 1))
        );
        assert_eq!(at("local.b"), Some(("m/versioning.tf", 9)));
        assert_eq!(at("terraform.backend.s3"), Some(("m/versioning.tf", 13)));
        let versioning = blocks
            .iter()
            .find(|b| b.address == "aws_s3_bucket_versioning.logs")
            .unwrap();
        assert_eq!(
            versioning.attributes,
            vec![("bucket".to_string(), 2), ("status".to_string(), 4)]
        );
        let err =
            module_json(&[("m/bad.tf".to_string(), "resource \"a\" {\n".to_string())]).unwrap_err();
        assert_eq!(err.file.as_deref(), Some("m/bad.tf"));
    }

    #[test]
    fn syntax_errors_carry_the_line() {
        let err = to_json("resource \"a\" \"b\" {\n  x = \n}\n", Shape::Hcl2json).unwrap_err();
        assert!(err.line.is_some(), "{err}");
    }
}
