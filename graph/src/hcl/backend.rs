//! The `backend` block a root module declares, for the state settings strata leaves alone.

use crate::error::line_of;
use hcl_edit::structure::Structure;
use hcl_edit::Span;

/// A `backend` block a root module declares in its `terraform` block: its type and its
/// text (native syntax), or, for `.tf.json`, the same block written as native syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendBlock {
    pub kind: String,
    pub text: String,
    pub line: usize,
}

/// The `backend` block of a Terraform file, if it declares one (`.tf.json` when `json`).
pub fn backend_block(text: &str, json: bool) -> Option<BackendBlock> {
    if json {
        let value: serde_json::Value = serde_json::from_str(text).ok()?;
        let terraform = match &value["terraform"] {
            serde_json::Value::Array(items) => items.first()?.clone(),
            other => other.clone(),
        };
        let backends = terraform.get("backend")?.as_object()?;
        let (kind, settings) = backends.iter().next()?;
        let mut block = format!("  backend \"{kind}\" {{\n");
        for (k, v) in settings.as_object()? {
            block.push_str(&format!("    {k} = {v}\n"));
        }
        block.push_str("  }\n");
        return Some(BackendBlock {
            kind: kind.clone(),
            text: block,
            line: 1,
        });
    }
    if !text.contains("backend") {
        return None;
    }
    let body = super::parse_body(text, "").ok()?;
    for structure in body.iter() {
        let Structure::Block(block) = structure else {
            continue;
        };
        if block.ident.as_str() != "terraform" {
            continue;
        }
        for inner in block.body.iter() {
            let Structure::Block(backend) = inner else {
                continue;
            };
            if backend.ident.as_str() != "backend" {
                continue;
            }
            let kind = backend.labels.first()?.as_str().to_string();
            let span = backend.span()?;
            return Some(BackendBlock {
                kind,
                text: text.get(span.clone())?.to_string(),
                line: line_of(text, span.start),
            });
        }
    }
    None
}

/// Whether a Terraform file's `terraform` block holds a `cloud {}` block (HCP Terraform's
/// state, a root's setting like a backend).
pub fn cloud_block(text: &str, json: bool) -> bool {
    if !text.contains("cloud") {
        return false;
    }
    if json {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
            return false;
        };
        return match &value["terraform"] {
            serde_json::Value::Array(items) => items.iter().any(|t| t.get("cloud").is_some()),
            other => other.get("cloud").is_some(),
        };
    }
    super::parse_body(text, "").is_ok_and(|body| {
        body.blocks()
            .filter(|b| b.ident.as_str() == "terraform")
            .any(|b| b.body.blocks().any(|inner| inner.ident.as_str() == "cloud"))
    })
}
