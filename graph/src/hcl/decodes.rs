//! Locals that hold a file's content (`cfg = yamldecode(file("${path.module}/config.yaml"))`,
//! `raw = file(P)`): which file each holds, so that the relative paths written in it
//! ([`crate::decoded`]) become values the local may hold.

use super::*;

/// `locals { cfg = yamldecode(file("${path.module}/config.yaml")) }`: the local holds what
/// the file holds, so any relative path written in it is a value the local may hold
/// (`templatefile("${path.module}/${local.cfg.template}", {})`). `base` and `path` name
/// the file, as a file function's path does. The decoding may be anywhere in the local's
/// value (`try(yamldecode(file(P)), {})`, `merge(...)`, a `for` over files), and the file
/// may be a template (`yamldecode(templatefile(P, {...}))`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecodedLocal {
    pub name: String,
    pub base: PathBase,
    pub path: String,
    /// The file's path has a computed tail (`file("${path.module}/conf/${f}")`): `path` is
    /// its static prefix, and each file that starts with it may be the one decoded.
    pub prefix: bool,
    pub kind: Decoding,
}

/// How a local holds a file (see [`DecodedLocal`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Decoding {
    /// The local holds what the file decodes to (`yamldecode(file(P))`).
    Decoded,
    /// The local holds the file's text (`raw = file(P)`), which another local of the
    /// module may decode (`yamldecode(local.raw)`).
    Text,
    /// The local decodes the text another local holds: `base` is that local
    /// (`PathBase::Local("raw")`), and `path` is empty.
    OfLocal,
}

/// The functions that decode a file into a value a local holds.
const DECODE_FUNCTIONS: &[&str] = &["yamldecode", "jsondecode"];

/// The facts for local `name` whose value decodes files: each `yamldecode(file(P))`,
/// `jsondecode(templatefile(P, ...))` anywhere in it (`P` static, or a static prefix with
/// a computed tail, or built by `format` or `join`), and each decoding of another local
/// (`yamldecode(local.raw)`); or, for a value that is a file read itself (`raw = file(P)`),
/// the file whose text the local holds.
fn decoded_locals(name: &str, value: &Expression) -> Vec<DecodedLocal> {
    if let Expression::FuncCall(read) = unwrapped(value) {
        if let Some((base, path, prefix)) = read_file(read) {
            return vec![DecodedLocal {
                name: name.to_string(),
                base,
                path,
                prefix,
                kind: Decoding::Text,
            }];
        }
    }
    let mut decodes = Decodes {
        name,
        found: Vec::new(),
    };
    decodes.visit_expr(value);
    decodes.found
}

/// `file(P)` or `templatefile(P, ...)`: the path `P`, read as a file function's path is.
fn read_file(call: &FuncCall) -> Option<(PathBase, String, bool)> {
    if call.name.is_namespaced() || !["file", "templatefile"].contains(&call.name.name.as_str()) {
        return None;
    }
    let path = call.args.get(0)?;
    static_path(path).or_else(|| built_path(path))
}

struct Decodes<'a> {
    name: &'a str,
    found: Vec<DecodedLocal>,
}

impl Visit for Decodes<'_> {
    fn visit_func_call(&mut self, call: &FuncCall) {
        let decoding = !call.name.is_namespaced()
            && DECODE_FUNCTIONS.contains(&call.name.name.as_str())
            && call.args.len() == 1;
        let found = match call.args.get(0).map(unwrapped) {
            Some(Expression::FuncCall(read)) if decoding => {
                read_file(read).map(|(base, path, prefix)| (base, path, prefix, Decoding::Decoded))
            }
            Some(arg) if decoding => local_name(arg).map(|local| {
                (
                    PathBase::Local(local.to_string()),
                    String::new(),
                    false,
                    Decoding::OfLocal,
                )
            }),
            _ => None,
        };
        match found {
            Some((base, path, prefix, kind)) => self.found.push(DecodedLocal {
                name: self.name.to_string(),
                base,
                path,
                prefix,
                kind,
            }),
            None => visit_func_call(self, call),
        }
    }
}

/// `local.<name>` on its own: the name.
fn local_name(expr: &Expression) -> Option<&str> {
    name_of(expr, "local")
}

/// The facts of a local whose value is not a static path: the files it reads or decodes
/// (see [`DecodedLocal`]) and the paths it may hold (see [`local_candidates`]).
pub(super) fn value_locals(name: &str, value: &Expression, facts: &mut HclFacts) {
    facts.decoded_locals.extend(decoded_locals(name, value));
    facts.path_locals.extend(local_candidates(name, value));
}

/// [`value_locals`] of a value given as text (the fast scanner's way to the same facts):
/// `None` when the text is not one expression.
pub(in crate::hcl) fn value_locals_of_text(
    name: &str,
    value: &str,
    facts: &mut HclFacts,
) -> Option<()> {
    let expr = hcl_edit::parser::parse_expr(value).ok()?;
    value_locals(name, &expr, facts);
    Some(())
}
