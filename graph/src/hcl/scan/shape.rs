//! What an expression is, as far as facts need to know, and the facts drawn from it:
//! the same rules as the reference reader's (`hcl::static_path` and its neighbours), on the
//! scanner's shapes instead of a syntax tree.

use std::borrow::Cow;

use super::strings::unescape;
use super::Scan;
use crate::hcl::{FileRef, PathBase};

/// What an expression is, as far as facts need to know.
#[derive(Debug)]
pub(super) enum Shape<'a> {
    /// A quoted string without interpolation: the byte range between the quotes (escapes not
    /// yet decoded).
    Str(usize, usize),
    /// A quoted string with interpolations.
    Template(Vec<Elem<'a>>),
    /// A variable: its name's byte range.
    Var(usize, usize),
    /// A variable with one attribute access (`path.module`): both names' byte ranges.
    Attr((usize, usize), (usize, usize)),
    /// An object or a tuple written out (not a `for` expression): a local set to one may
    /// hold any path template written in it.
    Collection,
    /// A `for` expression (`[for …]`, `{for …}`), not traversed: a local set to one may hold
    /// the paths and locals written in it, read by the reference reader.
    For,
    /// A call of a choice function (`try`, `lookup`, ...) or a traversal of `local` longer
    /// than `local.name`: a local set to one may hold the paths and locals written in it.
    Choice,
    Other,
}

#[derive(Debug)]
pub(super) enum Elem<'a> {
    /// Decoded; borrowed from the file unless it held an escape.
    Literal(Cow<'a, str>),
    /// An interpolation, with the path variable it names when it is nothing else.
    Interpolation(Option<Named<'a>>),
}

/// A path variable, a local or an input variable, named by an expression that is nothing
/// else: a [`PathBase`] (but for a variable) that borrows the name from the file.
#[derive(Debug, Clone, Copy)]
pub(super) enum Named<'a> {
    Module,
    Root,
    Local(&'a str),
    /// `var.name`: no base of a path, but a path's computed part may start with it (see
    /// [`tail_local`]).
    Var(&'a str),
}

impl Named<'_> {
    /// A local's name, or `var.<name>` for a variable (see `crate::hcl`'s `iterated_name`,
    /// which this mirrors); `None` for a path variable.
    pub(super) fn iterated(self) -> Option<String> {
        match self {
            Named::Local(name) => Some(name.to_string()),
            Named::Var(name) => Some(format!("{}{name}", crate::hcl::VAR_PREFIX)),
            Named::Module | Named::Root => None,
        }
    }

    /// The base of a path this leads; `None` for a variable.
    pub(super) fn base(self) -> Option<PathBase> {
        match self {
            Named::Module => Some(PathBase::Module),
            Named::Root => Some(PathBase::Root),
            Named::Local(name) => Some(PathBase::Local(name.to_string())),
            Named::Var(_) => None,
        }
    }
}

/// A file-function call, in the order the reference visitor meets it.
pub(super) enum Call {
    Pending,
    Resolved(FileRef),
    Unresolved(usize),
}

/// `path.module` and friends; `None` for every other expression.
pub(super) fn path_variable<'a>(text: &'a str, shape: &Shape) -> Option<Named<'a>> {
    let Shape::Attr((vs, ve), (a_start, a_end)) = *shape else {
        return None;
    };
    match (&text[vs..ve], &text[a_start..a_end]) {
        ("path", "module") => Some(Named::Module),
        ("path", "root" | "cwd") => Some(Named::Root),
        ("local", name) => Some(Named::Local(name)),
        ("var", name) => Some(Named::Var(name)),
        _ => None,
    }
}

/// The text of a string without interpolations. `Some(None)`: not such a string.
pub(super) fn literal(text: &str, shape: &Shape) -> Scan<Option<String>> {
    Some(match shape {
        Shape::Str(start, end) => Some(unescape(&text[*start..*end])?.into_owned()),
        Shape::Template(elements) => {
            let mut out = String::new();
            for element in elements {
                match element {
                    Elem::Literal(l) => out.push_str(l),
                    Elem::Interpolation(_) => return Some(None),
                }
            }
            Some(out)
        }
        _ => None,
    })
}

/// The static part of a path expression (see `crate::hcl`'s `static_path`, which this mirrors):
/// `Some(None)` when nothing static leads it.
#[allow(clippy::type_complexity)]
pub(super) fn static_path(text: &str, shape: &Shape) -> Scan<Option<(PathBase, String, bool)>> {
    if let Some(s) = literal(text, shape)? {
        return Some(Some((PathBase::of_literal(&s), s, false)));
    }
    if let Some(base) = path_variable(text, shape).and_then(Named::base) {
        return Some(Some((base, String::new(), false)));
    }
    let Shape::Template(elements) = shape else {
        return Some(None);
    };
    let mut elements = elements.iter().peekable();
    let base = match elements.peek() {
        Some(Elem::Interpolation(Some(named))) => {
            let Some(base) = named.base() else {
                return Some(None);
            };
            elements.next();
            base
        }
        Some(Elem::Literal(l)) => PathBase::of_literal(l),
        _ => return Some(None),
    };
    let mut rest = String::new();
    for element in elements {
        match element {
            Elem::Literal(l) => rest.push_str(l),
            Elem::Interpolation(_) => return Some(Some((base, rest, true))),
        }
    }
    Some(Some((base, rest, false)))
}

/// The local a path template's computed part starts with (see `crate::hcl`'s `tail_local`,
/// which this mirrors).
fn tail_local(shape: &Shape) -> Option<String> {
    let Shape::Template(elements) = shape else {
        return None;
    };
    let mut elements = elements.iter().peekable();
    if let Some(Elem::Interpolation(named)) = elements.peek() {
        named.and_then(Named::base)?;
        elements.next();
    }
    match elements.find(|e| !matches!(e, Elem::Literal(_)))? {
        Elem::Interpolation(Some(Named::Local(name))) => Some(name.to_string()),
        Elem::Interpolation(Some(Named::Var(name))) => {
            Some(format!("{}{name}", crate::hcl::VAR_PREFIX))
        }
        _ => None,
    }
}

/// The fact for a file-function call, as the reference visitor records it.
pub(super) fn file_call(
    text: &str,
    function: &str,
    line: usize,
    first: Option<Shape>,
    second: Option<Shape>,
) -> Scan<Call> {
    let path = match &first {
        // A name on its own (`file(f)`) may be a `for` expression's variable over a local,
        // which the reference follows: left to it.
        Some(Shape::Var(..)) => return None,
        Some(shape) => static_path(text, shape)?,
        None => None,
    };
    let pattern = match (&second, function == "fileset") {
        (Some(shape), true) => Some(literal(text, shape)?),
        _ => None,
    };
    Some(match path {
        Some((base, path, dynamic)) => Call::Resolved(FileRef {
            tail_local: first.as_ref().and_then(tail_local),
            function: function.to_string(),
            base,
            path,
            dynamic_tail: dynamic || matches!(pattern, Some(None)),
            pattern: pattern.flatten(),
            candidate: false,
            line,
        }),
        None => Call::Unresolved(line),
    })
}
