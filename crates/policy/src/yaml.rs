//! YAML as conftest reads it (conftest's YAML parser goes through a YAML 1.1 library):
//!
//! - scalars by YAML 1.1 rules: `yes`/`no`/`on`/`off`/`y`/`n` (any of their usual casings)
//!   are booleans, `0755` is octal, `0x1F` hex, `0b101` binary, `1_000` is 1000; `~`,
//!   `null` and an empty value are null; dates stay strings; quoted scalars are always
//!   strings;
//! - map keys become strings: `on:` is the key `"true"` (so a GitHub Actions workflow's
//!   trigger is `input["true"]`), `1:` is `"1"`; a null or a collection key is an error;
//! - unknown tags (CloudFormation's `!Ref`, `!GetAtt`, `!Sub`, ...) are dropped and the value
//!   kept: `!Ref MyBucket` reads as `"MyBucket"`, `!Join [a, [b]]` as `["a", ["b"]]`;
//! - anchors, aliases and merge keys (`<<: *base`) are resolved; a repeated key keeps its
//!   last value;
//! - documents are split where a line is exactly `---`; an empty document between two
//!   separators, or after a trailing `---` and its line break, is a `null` document
//!   (conftest evaluates it); a `---` on the last line with no line break after it ends
//!   the file, as in conftest;
//!   a file with a single document whose root is a list gives one document per element.

use crate::Error;
use serde_json::{Map, Value};
use std::collections::HashMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A parsed node, before YAML 1.1 resolution.
#[derive(Debug, Clone)]
enum Node {
    Scalar {
        value: String,
        plain: bool,
        tag: Option<Tag>,
        line: usize,
    },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>, usize),
}

enum Open {
    Seq(Vec<Node>, usize),
    Map(Vec<(Node, Node)>, Option<Node>, usize, usize),
}

#[derive(Default)]
struct Composer {
    docs: Vec<Node>,
    open: Vec<Open>,
    /// Each anchored node, with how many nodes it holds and how deep it nests.
    anchors: HashMap<usize, (Node, usize, usize)>,
    /// Nodes made so far, those copied by aliases included.
    decoded: usize,
    /// Of them, those copied by aliases.
    aliased: usize,
    error: Option<Error>,
}

/// Whether `aliased` of `decoded` nodes copied by aliases is too many, by the rule of the
/// YAML reader conftest uses (go-yaml's "excessive aliasing"): past 100 copied and 1,000
/// made, at most 99% may be copies up to 400,000 nodes, falling to 10% at 4,000,000. An
/// alias bomb (a few hundred bytes of nested aliases expanding to billions of nodes) is
/// refused after a few thousand; a document that merges one large anchor into many items
/// is read.
fn excessive_aliasing(aliased: usize, decoded: usize) -> bool {
    let allowed = match decoded {
        d if d <= 400_000 => 0.99,
        d if d >= 4_000_000 => 0.10,
        d => 0.99 - 0.89 * (d - 400_000) as f64 / 3_600_000.0,
    };
    aliased > 100 && decoded > 1_000 && aliased as f64 / decoded as f64 > allowed
}

/// How many nodes `node` holds, itself included, and how deeply its collections nest.
fn size(node: &Node) -> (usize, usize) {
    let mut count = 0;
    let mut deepest = 0;
    let mut todo = vec![(node, 0)];
    while let Some((node, depth)) = todo.pop() {
        count += 1;
        match node {
            Node::Scalar { .. } => {}
            Node::Seq(items) => {
                deepest = deepest.max(depth + 1);
                todo.extend(items.iter().map(|i| (i, depth + 1)));
            }
            Node::Map(pairs, _) => {
                deepest = deepest.max(depth + 1);
                todo.extend(
                    pairs
                        .iter()
                        .flat_map(|(k, v)| [(k, depth + 1), (v, depth + 1)]),
                );
            }
        }
    }
    (count, deepest)
}

impl Composer {
    fn finish(&mut self, node: Node, anchor: usize) {
        self.decoded += 1;
        if anchor > 0 {
            let (n, depth) = size(&node);
            self.anchors.insert(anchor, (node.clone(), n, depth));
        }
        match self.open.last_mut() {
            None => self.docs.push(node),
            Some(Open::Seq(items, _)) => items.push(node),
            Some(Open::Map(pairs, key, _, _)) => match key.take() {
                None => *key = Some(node),
                Some(k) => pairs.push((k, node)),
            },
        }
    }
}

impl MarkedEventReceiver for Composer {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(value, style, anchor, tag) => self.finish(
                Node::Scalar {
                    value,
                    plain: style == TScalarStyle::Plain,
                    tag,
                    line: mark.line(),
                },
                anchor,
            ),
            Event::Alias(id) => match self.anchors.get(&id) {
                // A copy nests as deep as where it is put plus what it holds: the bound on
                // nesting holds for the document as resolved.
                Some((_, _, depth)) if self.open.len() + depth > MAX_NESTING => {
                    self.error.get_or_insert(Error {
                        file: None,
                        line: Some(mark.line() as u32),
                        message: format!(
                            "invalid YAML: collections nested more than {MAX_NESTING} deep (through aliases)"
                        ),
                        hint: None,
                    });
                }
                Some((_, n, _))
                    if self.error.is_some()
                        || excessive_aliasing(self.aliased + n, self.decoded + n) =>
                {
                    self.error.get_or_insert(Error {
                        file: None,
                        line: Some(mark.line() as u32),
                        message: "excessive aliasing: nearly all of the document's nodes would be copies made by aliases (as conftest's YAML reader refuses)".into(),
                        hint: Some("write the values out, or use fewer nested aliases".into()),
                    });
                }
                Some((node, n, _)) => {
                    // The copy counts as `n` nodes made, of which `n` are copies (`finish`
                    // counts one of them).
                    self.aliased += n;
                    self.decoded += n - 1;
                    let node = node.clone();
                    self.finish(node, 0)
                }
                None => {
                    self.error.get_or_insert(Error {
                        file: None,
                        line: Some(mark.line() as u32),
                        message: "an alias names an anchor that is not defined before it".into(),
                        hint: None,
                    });
                }
            },
            // Anchors belong to their document.
            Event::DocumentStart => self.anchors.clear(),
            Event::SequenceStart(anchor, _) => self.open.push(Open::Seq(Vec::new(), anchor)),
            Event::MappingStart(anchor, _) => {
                self.open
                    .push(Open::Map(Vec::new(), None, anchor, mark.line()))
            }
            Event::SequenceEnd | Event::MappingEnd => match self.open.pop() {
                Some(Open::Seq(items, anchor)) => self.finish(Node::Seq(items), anchor),
                Some(Open::Map(pairs, _, anchor, line)) => {
                    self.finish(Node::Map(pairs, line), anchor)
                }
                None => {}
            },
            _ => {}
        }
    }
}

/// How deep collections may nest: far deeper than any configuration, shallow enough for
/// what reads a document after (which recurses) to never run out of stack.
const MAX_NESTING: usize = 512;

/// Every YAML document of `text` (a stream), unresolved. The parser's events are taken one
/// at a time (its own loader recurses once per level, and a few kilobytes of nested block
/// sequences would overflow the stack), and nesting deeper than [`MAX_NESTING`] is refused.
fn compose(text: &str) -> Result<Vec<Node>, Error> {
    let mut composer = Composer::default();
    let mut parser = Parser::new_from_str(text);
    loop {
        let (event, mark) = parser.next_token().map_err(|e| Error {
            file: None,
            line: Some(e.marker().line() as u32),
            message: format!("invalid YAML: {}", e.info()),
            hint: None,
        })?;
        match event {
            Event::StreamEnd => break,
            // The collections open are the composer's.
            Event::SequenceStart(..) | Event::MappingStart(..)
                if composer.open.len() >= MAX_NESTING =>
            {
                return Err(Error {
                    file: None,
                    line: Some(mark.line() as u32),
                    message: format!(
                        "invalid YAML: collections nested more than {MAX_NESTING} deep"
                    ),
                    hint: None,
                });
            }
            _ => {}
        }
        composer.on_event(event, mark);
    }
    if let Some(e) = composer.error {
        return Err(e);
    }
    Ok(composer.docs)
}

/// The documents conftest evaluates for a YAML file (see the module docs).
pub fn documents(text: &str) -> Result<Vec<Value>, Error> {
    Ok(documents_at(text)?.into_iter().map(|(v, _)| v).collect())
}

/// The line (1-based) where a node starts, when the parser marked it.
fn node_line(node: &Node) -> Option<usize> {
    match node {
        Node::Scalar { line, .. } | Node::Map(_, line) => Some(*line),
        Node::Seq(items) => items.first().and_then(node_line),
    }
}

/// [`documents`], each with the line where it starts in `text` (for findings on it).
pub fn documents_at(text: &str) -> Result<Vec<(Value, Option<usize>)>, Error> {
    let sep = if text.contains("\r\n") {
        "\r\n---\r\n"
    } else {
        "\n---\n"
    };
    let parts: Vec<(usize, &str)> = {
        let mut out = Vec::new();
        let mut start = 0;
        for (i, _) in text.match_indices(sep) {
            out.push((start, &text[start..i]));
            start = i + sep.len();
        }
        out.push((start, &text[start..]));
        // A file starting with a directive (`%YAML 1.2`): the directive and the first
        // document are one part, as conftest splits it (the directive alone is no document).
        if text.starts_with('%') && out.len() > 1 {
            let (first, second) = (out[0].0, out[1]);
            out.splice(0..2, [(first, &text[first..second.0 + second.1.len()])]);
        }
        out
    };
    let mut docs = Vec::new();
    let mut first_line = 0;
    let mut counted = 0;
    for (offset, part) in &parts {
        first_line += text[counted..*offset].matches('\n').count();
        counted = *offset;
        let shift = |mut e: Error| {
            e.line = e.line.map(|l| l + first_line as u32);
            e
        };
        // A byte-order mark at the start of a document (files saved with one, joined with
        // `cat`) is skipped, as the YAML reader skips one at the start of its input; kept,
        // it became part of the first key (`\u{feff}kind`).
        let part = part.strip_prefix('\u{feff}').unwrap_or(part);
        let mut nodes = compose(part).map_err(shift)?;
        // A separator the split did not take (`---` on the last line, without a line break
        // after it) ends the part with an empty document: conftest reads the part as one
        // document, and nothing is there to evaluate.
        while nodes.len() > 1 && nodes.last().is_some_and(is_empty_document) {
            nodes.pop();
        }
        if nodes.is_empty() {
            docs.push((Value::Null, Some(first_line + 1)));
        }
        for node in &nodes {
            let line = node_line(node).map(|l| l + first_line);
            // One document in the whole file whose root is a list: one document per
            // element, each at its own line.
            if parts.len() == 1 && nodes.len() == 1 {
                if let Node::Seq(items) = node {
                    for item in items {
                        let line = node_line(item).map(|l| l + first_line);
                        docs.push((resolve(item).map_err(shift)?, line));
                    }
                    continue;
                }
            }
            docs.push((resolve(node).map_err(shift)?, line));
        }
    }
    Ok(docs)
}

/// Whether `node` is a document with nothing in it (not even `~` or `null`).
fn is_empty_document(node: &Node) -> bool {
    matches!(node, Node::Scalar { value, plain: true, tag: None, .. } if value.is_empty())
}

/// The first document of `text` (a data file), resolved; null when there is none.
pub fn first_document(text: &str) -> Result<Value, Error> {
    match compose(text)?.first() {
        Some(node) => resolve(node),
        None => Ok(Value::Null),
    }
}

/// The documents of a values file as helm reads them (each merged over the ones before
/// it, an empty one null): the text is split at the lines that start with `---` followed
/// by nothing or a comment (Kubernetes' YAML reader; any other text after `---` is an
/// error, as in helm), and only the first document of each part counts, so a document
/// after a `...` end marker is ignored, as helm ignores it. A byte-order mark at the start
/// of the file or of a part is dropped, as helm drops it.
pub fn values_documents(text: &str) -> Result<Vec<Value>, Error> {
    const BOM: char = '\u{feff}';
    let mut parts = Vec::new();
    let mut part = String::new();
    let mut first_line = 1u32;
    for (n, line) in text.split_inclusive('\n').enumerate() {
        let line = if part.is_empty() {
            line.trim_start_matches(BOM)
        } else {
            line
        };
        let bare = line.trim_end_matches(['\n', '\r']);
        if let Some(rest) = bare.strip_prefix("---") {
            let rest = rest.trim();
            if !(rest.is_empty() || rest.starts_with('#')) {
                return Err(Error {
                    file: None,
                    line: Some(n as u32 + 1),
                    message: format!("invalid YAML document separator: `{bare}` (helm refuses it)"),
                    hint: Some("put a line break after `---`".into()),
                });
            }
            parts.push((std::mem::take(&mut part), first_line));
            first_line = n as u32 + 2;
            continue;
        }
        part.push_str(line);
    }
    parts.push((part, first_line));
    parts
        .into_iter()
        .map(|(text, from)| {
            first_document(&text).map_err(|e| Error {
                line: e.line.map(|l| l + from - 1),
                ..e
            })
        })
        .collect()
}

#[cfg(test)]
mod values_tests {
    use super::*;

    /// Split as helm splits a values file: at `---` lines (with a comment or nothing
    /// after), only the first document of each part, an end marker ending its part.
    #[test]
    fn values_documents_are_split_as_helm_splits_them() {
        let docs = |t: &str| values_documents(t).unwrap();
        assert_eq!(docs("a: 1\n...\nb: 2\n"), [serde_json::json!({"a": 1})]);
        assert_eq!(
            docs("a: 1\n---\nb: 2\n...\nc: 3\n--- # d\nd: 4\n"),
            [
                serde_json::json!({"a": 1}),
                serde_json::json!({"b": 2}),
                serde_json::json!({"d": 4})
            ]
        );
        assert_eq!(
            docs("a: |\n  x\n---\r\nb: 2\r\n"),
            [serde_json::json!({"a": "x\n"}), serde_json::json!({"b": 2})]
        );
        assert_eq!(docs("# only\n---\n")[0], Value::Null);
        // A byte-order mark, at the start or after a separator (files joined with `cat`).
        assert_eq!(
            docs("\u{feff}replicas: 3\n---\n\u{feff}b: 1\n"),
            [
                serde_json::json!({"replicas": 3}),
                serde_json::json!({"b": 1})
            ]
        );
        assert_eq!(docs("\u{feff}---\na: 1\n")[1], serde_json::json!({"a": 1}));
        let err = values_documents("a: 1\n--- {b: 2}\n").unwrap_err();
        assert_eq!(err.line, Some(2), "{err}");
        let err = values_documents("a: 1\n---\nb: [\n").unwrap_err();
        assert!(err.line.is_some_and(|l| l >= 3), "{err}");
    }
}

/// `!!name`, however the parser spells the standard tag handle.
/// The type a tag of YAML's core schema names (`!!bool`, `!<tag:yaml.org,2002:bool>`:
/// `bool`); none for a tag of another schema.
fn core_type(tag: &Tag) -> Option<&str> {
    const CORE: &str = "tag:yaml.org,2002:";
    match tag.handle.as_str() {
        "!!" | CORE => Some(&tag.suffix),
        "" => tag.suffix.strip_prefix(CORE),
        _ => None,
    }
}

fn is_core_tag(tag: &Option<Tag>, name: &str) -> bool {
    tag.as_ref().and_then(core_type) == Some(name)
}

fn resolve(node: &Node) -> Result<Value, Error> {
    match node {
        Node::Scalar {
            value,
            plain,
            tag,
            line,
        } => {
            if is_core_tag(tag, "str") {
                return Ok(Value::String(value.clone()));
            }
            let at_line = |message| Error {
                file: None,
                line: Some(*line as u32),
                message,
                hint: None,
            };
            // An explicit type, quoted or not (`!!bool "true"`), is that type, as Kubernetes
            // and conftest read it: a quoted value is no way around a rule on a boolean.
            if let Some(suffix) = tag.as_ref().and_then(core_type) {
                let typed = |ok: fn(&Value) -> bool| {
                    plain_scalar(value)
                        .ok()
                        .filter(ok)
                        .ok_or_else(|| at_line(format!("`{value}` is not a !!{suffix}")))
                };
                match suffix {
                    "bool" => return typed(Value::is_boolean),
                    "int" => return typed(|v| v.is_i64() || v.is_u64()),
                    "float" => {
                        return typed(Value::is_number).map(|v| {
                            v.as_f64()
                                .and_then(serde_json::Number::from_f64)
                                .map_or(v, Value::Number)
                        })
                    }
                    "null" => return typed(Value::is_null),
                    _ => {}
                }
            }
            // A quoted scalar is a string; so is a scalar with a tag of another schema
            // (`!Ref x`), whose tag is dropped.
            let core = tag.as_ref().is_none_or(|t| core_type(t).is_some());
            if !*plain || !core {
                return Ok(Value::String(value.clone()));
            }
            plain_scalar(value).map_err(|message| Error {
                file: None,
                line: Some(*line as u32),
                message,
                hint: None,
            })
        }
        Node::Seq(items) => Ok(Value::Array(
            items.iter().map(resolve).collect::<Result<_, _>>()?,
        )),
        // Pairs in document order, a later one replacing an earlier one, merge keys (`<<`)
        // included: as the YAML reader Kubernetes, helm and conftest share (go-yaml v2)
        // reads them, so `hostNetwork: false` before `<<: {hostNetwork: true}` is true, as
        // it is deployed (the YAML merge spec would keep the explicit key).
        Node::Map(pairs, line) => {
            let mut out = Map::new();
            for (k, v) in pairs {
                let is_merge = matches!(k, Node::Scalar { value, plain: true, tag: None, .. } if value == "<<");
                if is_merge {
                    let sources: Vec<&Node> = match v {
                        Node::Seq(items) => items.iter().collect(),
                        other => vec![other],
                    };
                    // Of a list of mappings, an earlier one wins over a later one.
                    for source in sources.into_iter().rev() {
                        let Value::Object(m) = resolve(source)? else {
                            return Err(Error {
                                file: None,
                                line: Some(*line as u32),
                                message: "a merge key (`<<`) must name a mapping".into(),
                                hint: None,
                            });
                        };
                        out.extend(m);
                    }
                    continue;
                }
                out.insert(key_string(k)?, resolve(v)?);
            }
            Ok(Value::Object(out))
        }
    }
}

/// A map key as a string, as conftest's YAML-to-JSON conversion makes it.
fn key_string(node: &Node) -> Result<String, Error> {
    let line = match node {
        Node::Scalar { line, .. } | Node::Map(_, line) => Some(*line as u32),
        Node::Seq(_) => None,
    };
    let unsupported = |what: &str| Error {
        file: None,
        line,
        message: format!("a {what} cannot be a map key"),
        hint: None,
    };
    match resolve(node)? {
        Value::String(s) => Ok(s),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(match n.as_f64() {
            Some(f) if !n.is_i64() && !n.is_u64() => format!("{}", f as f32),
            _ => n.to_string(),
        }),
        Value::Null => Err(unsupported("null")),
        Value::Array(_) => Err(unsupported("list")),
        Value::Object(_) => Err(unsupported("mapping")),
    }
}

/// A plain scalar by YAML 1.1's rules.
fn plain_scalar(s: &str) -> Result<Value, String> {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Ok(Value::Null),
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
            return Ok(Value::Bool(true))
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => {
            return Ok(Value::Bool(false))
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF"
        | ".nan" | ".NaN" | ".NAN" => {
            return Err(format!("`{s}` is not a number JSON can hold"));
        }
        _ => {}
    }
    if !s.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '.')) {
        return Ok(Value::String(s.to_string()));
    }
    let digits = s.replace('_', "");
    if let Some(i) = parse_int(&digits) {
        return Ok(int_value(i));
    }
    if is_float(&digits) {
        if let Ok(f) = digits.parse::<f64>() {
            if let Some(n) = serde_json::Number::from_f64(f) {
                return Ok(Value::Number(n));
            }
        }
    }
    Ok(Value::String(s.to_string()))
}

/// An integer with an optional sign and a `0x`, `0o`, `0b` or leading-`0` (octal) base.
fn parse_int(s: &str) -> Option<i128> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() {
        return None;
    }
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let v = i128::from_str_radix(digits, radix).ok()?;
    let v = if neg { -v } else { v };
    (i128::from(i64::MIN)..=i128::from(u64::MAX))
        .contains(&v)
        .then_some(v)
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
fn is_float(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let digits = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => digits(frac),
        Some((int, frac)) => digits(int) && (frac.is_empty() || digits(frac)),
        None => digits(mantissa),
    };
    let exp_ok = exp.is_none_or(|e| digits(e.strip_prefix(['-', '+']).unwrap_or(e)));
    mantissa_ok && exp_ok
}

/// An integer as JSON holds it (i64, else u64).
fn int_value(v: i128) -> Value {
    match i64::try_from(v) {
        Ok(i) => Value::from(i),
        Err(_) => Value::from(u64::try_from(v).unwrap_or(u64::MAX)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_1_1_scalars_and_keys() {
        let docs = documents(
            "on:\n  push: {}\nenabled: yes\nquoted: \"yes\"\noff_value: Off\nmode: 0755\nhex: 0x1F\nbin: 0b101\nbig: 1_000\nfloat: 1.5\nexp: 1e3\ndate: 2024-01-01\nnothing: ~\nempty:\n1: one\nversion: '3.4'\nnot_octal: 08\n",
        )
        .unwrap();
        assert_eq!(
            docs,
            vec![json!({
                "true": {"push": {}}, "enabled": true, "quoted": "yes", "off_value": false,
                "mode": 493, "hex": 31, "bin": 5, "big": 1000, "float": 1.5, "exp": 1000.0,
                "date": "2024-01-01", "nothing": null, "empty": null, "1": "one",
                "version": "3.4", "not_octal": 8.0
            })]
        );
    }

    /// A quoted value with an explicit core type is that type: `privileged: !!bool "true"`
    /// is the boolean a rule on privileged containers looks for.
    #[test]
    fn explicit_core_types_apply_to_quoted_values() {
        let docs = documents(
            "privileged: !!bool \"true\"\nport: !!int \"5\"\nratio: !!float \"1.5\"\nwhole: !!float 2\nnone: !!null \"\"\nlong: !!bool yes\nfull: !<tag:yaml.org,2002:bool> 'false'\n",
        )
        .unwrap();
        assert_eq!(
            docs,
            vec![json!({
                "privileged": true, "port": 5, "ratio": 1.5, "whole": 2.0, "none": null,
                "long": true, "full": false
            })]
        );
        let err = documents("a: 1\nb: !!bool \"maybe\"\n").unwrap_err();
        assert_eq!(err.line, Some(2), "{err:?}");
        assert!(err.message.contains("`maybe` is not a !!bool"), "{err:?}");
    }

    #[test]
    fn cloudformation_tags_are_dropped() {
        let docs = documents(
            "Resources:\n  Fn:\n    Properties:\n      Role: !GetAtt Role.Arn\n      Bucket: !Ref Bucket\n      Port: !Ref 5\n      Name: !Sub \"${AWS::StackName}-fn\"\n      Join: !Join [\"\", [a, b]]\n",
        )
        .unwrap();
        assert_eq!(
            docs[0]["Resources"]["Fn"]["Properties"],
            json!({"Role": "Role.Arn", "Bucket": "Bucket", "Port": "5",
                   "Name": "${AWS::StackName}-fn", "Join": ["", ["a", "b"]]})
        );
    }

    #[test]
    fn anchors_and_merge_keys() {
        let docs =
            documents("base: &b\n  a: 1\n  b: 2\nuse:\n  <<: *b\n  b: 3\nlist: [*b]\n").unwrap();
        assert_eq!(docs[0]["use"], json!({"a": 1, "b": 3}));
        assert_eq!(docs[0]["list"], json!([{"a": 1, "b": 2}]));
        // In document order, as Kubernetes reads it: a merge after a key replaces it, and
        // of two merged mappings the first wins.
        let docs = documents(
            "spec: {hostNetwork: false, <<: {hostNetwork: true}}
x: &x {k: 1}
y: &y {k: 2, j: 2}
both: {<<: [*x, *y]}
list:
- a: 3
  <<: [*x]
  k: 5
",
        )
        .unwrap();
        assert_eq!(docs[0]["spec"], json!({"hostNetwork": true}));
        assert_eq!(docs[0]["both"], json!({"k": 1, "j": 2}));
        assert_eq!(docs[0]["list"], json!([{"a": 3, "k": 5}]));
    }

    /// A file starting with a directive is one document with it (conftest splits it so);
    /// a byte-order mark starting a later document is not part of its first key.
    #[test]
    fn directives_and_byte_order_marks_start_documents() {
        let docs = documents("%YAML 1.2\n---\nkind: Pod\n").unwrap();
        assert_eq!(docs, vec![json!({"kind": "Pod"})]);
        let docs = documents("%YAML 1.2\n---\nkind: A\n---\nkind: B\n").unwrap();
        assert_eq!(docs, vec![json!({"kind": "A"}), json!({"kind": "B"})]);
        let docs = documents("\u{feff}kind: A\n---\n\u{feff}kind: B\n").unwrap();
        assert_eq!(docs, vec![json!({"kind": "A"}), json!({"kind": "B"})]);
    }

    /// Block collections nested thousands deep (a few kilobytes) are an error at their
    /// line, not a stack overflow.
    #[test]
    fn collections_nested_too_deep_are_refused() {
        let deep = format!("{}x\n", "- ".repeat(5000));
        let err = documents(&deep).unwrap_err();
        assert!(err.message.contains("nested more than"), "{}", err.message);
        let mut maps = String::new();
        for level in 0..1000 {
            maps.push_str(&format!("{}k{level}:\n", "  ".repeat(level)));
        }
        assert!(documents(&maps).is_err());
        let fine = format!("{}x\n", "- ".repeat(100));
        assert!(documents(&fine).is_ok());
        // Each level below 512 as written, and nested 900 deep through an alias.
        let through = format!(
            "a0: &a0\n  {}x\na1:\n  {}*a0\n",
            "- ".repeat(450),
            "- ".repeat(450)
        );
        let err = documents(&through).unwrap_err();
        assert!(err.message.contains("through aliases"), "{}", err.message);
        assert_eq!(err.line, Some(4));
    }

    /// Nested aliases that would expand to billions of nodes are refused at their line,
    /// in bounded memory; a configuration that reuses an anchor often is read.
    #[test]
    fn an_alias_bomb_is_refused_and_ordinary_reuse_is_not() {
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
        for level in 1..12 {
            let prev = format!("*a{}", level - 1);
            bomb.push_str(&format!(
                "a{level}: &a{level} [{}]\n",
                [prev.as_str(); 9].join(", ")
            ));
        }
        let err = documents(&bomb).unwrap_err();
        assert!(
            err.message.contains("excessive aliasing"),
            "{}",
            err.message
        );
        assert!(err.line.is_some());

        let mut reuse = String::from("base: &b {cpu: 1, memory: 2Gi, labels: {team: a}}\n");
        for i in 0..2000 {
            reuse.push_str(&format!("c{i}:\n  <<: *b\n  name: c{i}\n"));
        }
        let docs = documents(&reuse).unwrap();
        assert_eq!(docs[0]["c1999"]["memory"], "2Gi");
        // One large anchor (240 keys) merged into 300 items of a list, as a generated
        // Kubernetes `List` does: most of its nodes are copies, and it is read.
        let mut list = String::from("defaults: &defaults\n");
        for k in 0..240 {
            list.push_str(&format!("  k{k}: v{k}\n"));
        }
        list.push_str("items:\n");
        for i in 0..300 {
            list.push_str(&format!(
                "  - <<: *defaults\n    name: item-{i}\n    kind: ConfigMap\n"
            ));
        }
        let docs = documents(&list).unwrap();
        assert_eq!(docs[0]["items"][299]["k239"], "v239");
    }

    #[test]
    fn documents_split_as_conftest_splits_them() {
        assert_eq!(
            documents("a: 1\n---\nb: 2\n---\n").unwrap(),
            vec![json!({"a": 1}), json!({"b": 2}), Value::Null]
        );
        assert_eq!(
            documents("a: 1\n---\n\n---\nb: 2\n").unwrap(),
            vec![json!({"a": 1}), Value::Null, json!({"b": 2})]
        );
        // separators do not overlap: the second `---` starts the next document
        assert_eq!(
            documents("a: 1\n---\n---\nb: 2\n").unwrap(),
            vec![json!({"a": 1}), json!({"b": 2})]
        );
        assert_eq!(documents("").unwrap(), vec![Value::Null]);
        assert_eq!(documents("# only a comment\n").unwrap(), vec![Value::Null]);
        assert_eq!(
            documents("- a: 1\n- b: 2\n").unwrap(),
            vec![json!({"a": 1}), json!({"b": 2})]
        );
        // only one level is split
        assert_eq!(
            documents("a: 1\n---\n- 1\n- 2\n").unwrap(),
            vec![json!({"a": 1}), json!([1, 2])]
        );
        assert_eq!(documents("---\na: 1\n").unwrap(), vec![json!({"a": 1})]);
        // `---` on the last line without a line break: no document after it (conftest
        // reads the file as one document); with a line break, a null one.
        assert_eq!(documents("a: 1\n---").unwrap(), vec![json!({"a": 1})]);
        assert_eq!(
            documents("a: 1\n---\n").unwrap(),
            vec![json!({"a": 1}), Value::Null]
        );
        assert_eq!(
            documents("a: 1\n--- ~").unwrap(),
            vec![json!({"a": 1}), Value::Null]
        );
    }

    #[test]
    fn errors_carry_the_line() {
        let err = documents("a: 1\n---\nb: [\n").unwrap_err();
        assert!(err.line.unwrap() >= 3, "{err}");
        let err = documents("ok: 1\n~: x\n").unwrap_err();
        assert_eq!(err.line, Some(2), "{err}");
        assert!(documents("x: .inf\n").is_err());
    }
}
