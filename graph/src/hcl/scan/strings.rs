//! Quoted strings, interpolations and heredocs, and decoding their escapes.

use std::borrow::Cow;

use super::shape::{path_variable, Elem, Named, Shape};
use super::{is_id_continue, Scan, Scanner};

/// A template directive still open: `%{ if }` (before or after its `%{ else }`) or `%{ for }`.
#[derive(Clone, Copy, PartialEq)]
enum Open {
    If,
    Else,
    For,
}

impl<'a> Scanner<'a> {
    /// A quoted string, from its opening quote through its closing one.
    pub(super) fn quoted(&mut self) -> Scan<Shape<'a>> {
        self.pos += 1;
        let start = self.pos;
        let mut elements: Option<Vec<Elem>> = None;
        let mut literal = start;
        let mut open = Vec::new();
        loop {
            match self.peek()? {
                b'"' if !open.is_empty() => return None,
                b'"' => break,
                b'\n' => return None,
                b'\\' => self.pos += escape_len(&self.b[self.pos..])?,
                b'$' | b'%' if self.at(self.pos + 1) == self.peek() => {
                    self.pos += if self.at(self.pos + 2) == Some(b'{') {
                        3
                    } else {
                        1
                    };
                }
                b'$' if self.at(self.pos + 1) == Some(b'{') => {
                    let elements = elements.get_or_insert_with(Vec::new);
                    if literal < self.pos {
                        elements.push(Elem::Literal(unescape(&self.text[literal..self.pos])?));
                    }
                    let base = self.interpolation()?;
                    elements.push(Elem::Interpolation(base));
                    literal = self.pos;
                }
                b'%' if self.at(self.pos + 1) == Some(b'{') => {
                    let elements = elements.get_or_insert_with(Vec::new);
                    if literal < self.pos {
                        elements.push(Elem::Literal(unescape(&self.text[literal..self.pos])?));
                    }
                    // A strip marker trims the literals beside it: left to the reference.
                    if self.directive(&mut open)? {
                        return None;
                    }
                    // Not a literal: what follows it is no static path (as the reference
                    // reads a directive in a template).
                    elements.push(Elem::Interpolation(None));
                    literal = self.pos;
                }
                _ => self.pos += 1,
            }
        }
        let end = self.pos;
        self.pos += 1;
        Some(match elements {
            None => Shape::Str(start, end),
            Some(mut elements) => {
                if literal < end {
                    elements.push(Elem::Literal(unescape(&self.text[literal..end])?));
                }
                Shape::Template(elements)
            }
        })
    }

    /// `${ expression }` from the `$`: the path variable it names, if that is all it is.
    fn interpolation(&mut self) -> Scan<Option<Named<'a>>> {
        let start = self.pos;
        let base = self.interpolation_body()?;
        self.no_newline_since(start)?;
        Some(base)
    }

    /// A newline inside an interpolation or a directive is left to the reference, which
    /// refuses some (`%{ if var` + newline + `.x }`) that the scanner's expressions allow.
    fn no_newline_since(&self, start: usize) -> Scan<()> {
        (!self.b[start..self.pos].contains(&b'\n')).then_some(())
    }

    fn interpolation_body(&mut self) -> Scan<Option<Named<'a>>> {
        self.pos += 2;
        if self.peek() == Some(b'~') {
            self.pos += 1;
        }
        self.ws()?;
        let expr_start = self.pos;
        let shape = self.expr(true)?;
        // `${abspath(path.root)}` is a path variable to the reference, and `${"../x"}`
        // written text: both left to it.
        if self.text[expr_start..self.pos].starts_with("abspath")
            || matches!(shape, Shape::Str(..) | Shape::Template(_))
        {
            return None;
        }
        self.ws()?;
        if self.peek() == Some(b'~') {
            self.pos += 1;
        }
        self.expect(b'}')?;
        Some(path_variable(self.text, &shape))
    }

    /// `%{ if EXPR }`, `%{ else }`, `%{ endif }`, `%{ for NAME[, NAME] in EXPR }` or
    /// `%{ endfor }` from its `%`, kept in step with `open`; whether it has a strip marker.
    fn directive(&mut self, open: &mut Vec<Open>) -> Scan<bool> {
        let start = self.pos;
        let strip = self.directive_body(open)?;
        self.no_newline_since(start)?;
        Some(strip)
    }

    fn directive_body(&mut self, open: &mut Vec<Open>) -> Scan<bool> {
        self.pos += 2;
        let mut strip = false;
        if self.peek() == Some(b'~') {
            self.pos += 1;
            strip = true;
        }
        self.ws()?;
        let word = self.ident()?;
        match self.str(word) {
            word @ ("if" | "for") => {
                // The keyword stands alone (`%{if(x)}` is left to the reference).
                if !matches!(self.peek(), Some(b' ' | b'\t')) {
                    return None;
                }
                self.ws()?;
                if word == "for" {
                    self.ident()?;
                    self.ws()?;
                    if self.peek() == Some(b',') {
                        self.pos += 1;
                        self.ws()?;
                        self.ident()?;
                        self.ws()?;
                    }
                    self.keyword(b"in")?;
                    self.ws()?;
                }
                self.expr(true)?;
                open.push(if word == "if" { Open::If } else { Open::For });
            }
            "else" => match open.last_mut() {
                Some(o @ Open::If) => *o = Open::Else,
                _ => return None,
            },
            "endif" => match open.pop() {
                Some(Open::If | Open::Else) => {}
                _ => return None,
            },
            "endfor" => match open.pop() {
                Some(Open::For) => {}
                _ => return None,
            },
            _ => return None,
        }
        self.ws()?;
        if self.peek() == Some(b'~') {
            self.pos += 1;
            strip = true;
        }
        self.expect(b'}')?;
        Some(strip)
    }

    /// `<<EOF` or `<<-EOF` through the closing delimiter.
    pub(super) fn heredoc(&mut self) -> Scan<()> {
        if !self.starts_with(b"<<") {
            return None;
        }
        self.pos += 2;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let delimiter = self.ident()?;
        let bytes: &'a [u8] = self.b;
        let delimiter = &bytes[delimiter.0..delimiter.1];
        self.expect(b'\n')?;
        let closes = |s: &Self, newline: usize| -> Scan<Option<usize>> {
            let mut pos = newline + 1;
            while matches!(s.at(pos), Some(b' ' | b'\t')) {
                pos += 1;
            }
            if !s.b[pos..].starts_with(delimiter) {
                return Some(None);
            }
            match s.at(pos + delimiter.len()) {
                Some(c) if c >= 0x80 => None,
                Some(c) if is_id_continue(c) => Some(None),
                _ => Some(Some(pos + delimiter.len())),
            }
        };
        // An empty heredoc: the reference parser reads these differently; let it.
        if closes(self, self.pos - 1)?.is_some() {
            return None;
        }
        let mut open = Vec::new();
        loop {
            match self.peek()? {
                b'\n' => match closes(self, self.pos)? {
                    Some(_) if !open.is_empty() => return None,
                    Some(end) => {
                        self.pos = end;
                        return Some(());
                    }
                    None => self.pos += 1,
                },
                b'$' | b'%' if self.at(self.pos + 1) == self.peek() => {
                    self.pos += if self.at(self.pos + 2) == Some(b'{') {
                        3
                    } else {
                        1
                    };
                }
                b'$' if self.at(self.pos + 1) == Some(b'{') => {
                    self.interpolation()?;
                }
                b'%' if self.at(self.pos + 1) == Some(b'{') => {
                    self.directive(&mut open)?;
                }
                _ => self.pos += 1,
            }
        }
    }
}

/// The bytes of the escape sequence at the start of `b` (which begins with `\`).
pub(super) fn escape_len(b: &[u8]) -> Scan<usize> {
    let hex = |n: usize| -> Scan<usize> {
        let digits = std::str::from_utf8(b.get(2..2 + n)?).ok()?;
        let code = u32::from_str_radix(digits, 16).ok()?;
        digits
            .bytes()
            .all(|c| c.is_ascii_hexdigit())
            .then_some(())?;
        char::from_u32(code).map(|_| 2 + n)
    };
    match b.get(1)? {
        b'n' | b'r' | b't' | b'\\' | b'"' => Some(2),
        b'u' => hex(4),
        b'U' => hex(8),
        _ => None,
    }
}

/// A quoted string's literal text with its escapes decoded.
pub(super) fn unescape(raw: &str) -> Scan<Cow<'_, str>> {
    if !raw.contains(['\\', '$', '%']) {
        return Some(Cow::Borrowed(raw));
    }
    let b = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                let len = escape_len(&b[i..])?;
                match b[i + 1] {
                    b'n' => out.push('\n'),
                    b'r' => out.push('\r'),
                    b't' => out.push('\t'),
                    b'\\' => out.push('\\'),
                    b'"' => out.push('"'),
                    _ => out.push(char::from_u32(
                        u32::from_str_radix(&raw[i + 2..i + len], 16).ok()?,
                    )?),
                }
                i += len;
            }
            b'$' | b'%' if raw[i..].starts_with("$${") || raw[i..].starts_with("%%{") => {
                out.push(b[i] as char);
                out.push('{');
                i += 3;
            }
            _ => {
                let from = i + raw[i..].chars().next().map_or(1, char::len_utf8);
                let next = raw[from..]
                    .find(['\\', '$', '%'])
                    .map_or(raw.len(), |n| from + n);
                out.push_str(&raw[i..next]);
                i = next;
            }
        }
    }
    Some(Cow::Owned(out))
}
