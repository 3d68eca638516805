//! Terraform files as policy input, in the JSON shape conftest's HCL2 parser gives, so
//! conftest policies written against `.tf` files work:
//!
//! - a block becomes nested objects keyed by its type and labels:
//!   `resource "aws_s3_bucket" "logs" {..}` -> `{"resource": {"aws_s3_bucket": {"logs": {..}}}}`;
//! - a nested block becomes an object under its name (`versioning {}` -> `"versioning": {..}`);
//!   when the same block appears more than once at one place, the value is an array of them;
//! - literal values become JSON values; anything computed (a reference, a function call, a
//!   template with interpolation) becomes the string `"${<expression>}"`, which policies read
//!   as "known only after apply".

use hcl_edit::expr::{Expression, ObjectKey};
use hcl_edit::structure::{Body, Structure};
use hcl_edit::template::Element;
use serde_json::{Map, Value};

/// Converts one Terraform file; `Err` carries the parser's message with its line.
pub fn to_json(text: &str) -> Result<Value, String> {
    let body = hcl_edit::parser::parse_body(text)
        .map_err(|e| format!("line {}: {}", e.location().line(), e.message()))?;
    Ok(Value::Object(body_json(&body)))
}

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
fn insert(map: &mut Map<String, Value>, path: &[String], value: Value) {
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
        _ => computed(expr),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn conftest_shape() {
        let tf = r#"
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
        let v = to_json(tf).unwrap();
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
    fn literal_heredocs_are_strings() {
        let v =
            to_json("locals {\n  a = <<-EOT\n    hello\n  EOT\n  b = <<EOT\n${var.x}\nEOT\n}\n")
                .unwrap();
        assert!(v["locals"]["a"].as_str().unwrap().contains("hello"), "{v}");
        assert!(v["locals"]["b"].as_str().unwrap().starts_with("${"), "{v}");
    }

    #[test]
    fn syntax_errors_carry_the_line() {
        let err = to_json("resource \"a\" \"b\" {\n  x = \n}\n").unwrap_err();
        assert!(err.starts_with("line "), "{err}");
    }
}
