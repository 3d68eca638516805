//! Expressions: terms, operators, conditionals, function calls, `for` expressions, arrays
//! and objects. Strings and heredocs are in `strings.rs`; what an expression's shape says
//! (a static path, a file-function call) is in `shape.rs`.

use std::borrow::Cow;

use super::shape::{file_call, Call, Shape};
use super::strings::unescape;
use super::{ident_end, is_id_continue, is_id_start, Scan, Scanner, MAX_DEPTH, MAX_OPERATORS};
use crate::hcl::{CHOICE_FUNCTIONS, COLLECTION_FUNCTIONS, FILE_FUNCTIONS};

/// The bytes that end a simple string's run of plain characters.
const STRING_STOPS: [bool; 256] = {
    let mut t = [false; 256];
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t[b'$' as usize] = true;
    t[b'%' as usize] = true;
    t[b'\n' as usize] = true;
    t
};

impl<'a> Scanner<'a> {
    /// An expression: a term, then binary operators or a conditional. Without `newlines`,
    /// the expression ends at the end of its line.
    pub(super) fn expr(&mut self, newlines: bool) -> Scan<Shape<'a>> {
        if self.shortcuts {
            if let Some(shape) = self.simple_expr(newlines) {
                return Some(shape);
            }
        }
        self.enter()?;
        let mut shape = self.term(newlines)?;
        loop {
            let save = self.pos;
            self.gap(newlines)?;
            if self.peek() == Some(b'?') {
                self.pos += 1;
                self.gap(newlines)?;
                self.expr(newlines)?;
                self.gap(newlines)?;
                self.expect(b':')?;
                self.gap(newlines)?;
                self.expr(newlines)?;
                // One of two values: a choice (`hcl::candidate_form`).
                shape = Shape::Choice;
                break;
            }
            if self.binary_operator()? {
                self.operators += 1;
                if self.operators > MAX_OPERATORS {
                    return None;
                }
                self.gap(newlines)?;
                self.term(newlines)?;
                shape = Shape::Other;
                continue;
            }
            self.pos = save;
            if !newlines {
                self.no_continuation()?;
            }
            break;
        }
        self.leave();
        Some(shape)
    }

    /// The most common expressions, read without the general machinery: a quoted string with
    /// no escape, interpolation or directive; a plain number; a variable with attributes
    /// (`var.name`, `string`, `true`). `None` (nothing consumed) unless what follows ends the
    /// expression, so [`Scanner::expr`] would read exactly the same and give the same shape.
    fn simple_expr(&mut self, newlines: bool) -> Option<Shape<'a>> {
        // `expr` and `term` each go one level deeper.
        if self.depth + 2 > MAX_DEPTH {
            return None;
        }
        let start = self.pos;
        let b = self.b;
        let mut pos = start;
        let shape = match *b.get(pos)? {
            b'"' => {
                pos += 1;
                while let Some(&c) = b.get(pos) {
                    if STRING_STOPS[c as usize] {
                        break;
                    }
                    pos += 1;
                }
                if b.get(pos) != Some(&b'"') {
                    return None;
                }
                pos += 1;
                Shape::Str(start + 1, pos - 1)
            }
            b'0'..=b'9' => {
                while b.get(pos).is_some_and(u8::is_ascii_digit) {
                    pos += 1;
                }
                // Fractions, exponents and long numbers take the general path.
                if pos - start > 15
                    || b.get(pos)
                        .is_some_and(|&c| c == b'.' || is_id_continue(c) || c >= 0x80)
                {
                    return None;
                }
                Shape::Other
            }
            c if is_id_start(c) => {
                let first = (start, ident_end(b, start)?);
                pos = first.1;
                let mut attrs = 0;
                let mut attr = (0, 0);
                while b.get(pos) == Some(&b'.') {
                    let end = ident_end(b, pos + 1)?;
                    attr = (pos + 1, end);
                    attrs += 1;
                    pos = end;
                }
                let root = &b[first.0..first.1];
                match attrs {
                    // A literal, with or without attributes, is no variable.
                    _ if matches!(root, b"null" | b"true" | b"false") => Shape::Other,
                    0 => Shape::Var(first.0, first.1),
                    1 => Shape::Attr(first, attr),
                    _ if root == b"local" => Shape::Choice,
                    _ => Shape::Other,
                }
            }
            _ => return None,
        };
        // What follows must end the expression: no traversal, call, operator or conditional.
        let next = if newlines {
            self.skip_ws(pos)?
        } else {
            self.skip_sp(pos)?
        };
        let ends = match b.get(next) {
            None => true,
            Some(b'\n' | b'#' | b',' | b']' | b')' | b'}') => true,
            // `a ? b : c`, `{ key: value }`; `name::` is a namespaced call.
            Some(b':') => b.get(next + 1) != Some(&b':'),
            Some(b'=') => b.get(next + 1) != Some(&b'='),
            Some(b'/') => b.get(next + 1) == Some(&b'/'),
            _ => false,
        };
        if !ends {
            return None;
        }
        self.pos = pos;
        if !newlines && self.no_continuation().is_none() {
            self.pos = start;
            return None;
        }
        Some(shape)
    }

    /// Consumes a binary operator when one starts here: `Some(false)` when none does, `None`
    /// when something operator-like is not an operator.
    fn binary_operator(&mut self) -> Scan<bool> {
        let next = self.at(self.pos + 1);
        let len = match (self.peek(), next) {
            (Some(b'='), Some(b'=')) => 2,
            (Some(b'!' | b'&' | b'|'), _) => {
                let pair = match self.peek() {
                    Some(b'!') => b'=',
                    Some(c) => c,
                    None => return None,
                };
                if next != Some(pair) {
                    return None;
                }
                2
            }
            (Some(b'<' | b'>'), Some(b'=')) => 2,
            (Some(b'<' | b'>' | b'+' | b'-' | b'*' | b'%'), _) => 1,
            (Some(b'/'), Some(b'/' | b'*')) => return Some(false),
            (Some(b'/'), _) => 1,
            _ => return Some(false),
        };
        self.pos += len;
        Some(true)
    }

    /// At the end of a line-bound expression: gives up when the next line could continue it,
    /// which the reference parser sometimes allows after a bracket.
    fn no_continuation(&self) -> Scan<()> {
        let pos = self.skip_sp(self.pos)?;
        if !matches!(self.at(pos), Some(b'\n' | b'#' | b'/')) {
            return Some(());
        }
        let next = self.skip_ws(pos)?;
        match self.at(next) {
            Some(
                b'.' | b'[' | b'?' | b'!' | b'<' | b'>' | b'+' | b'-' | b'*' | b'/' | b'%' | b'&'
                | b'|' | b'=',
            ) => None,
            _ => Some(()),
        }
    }

    /// A term with its traversals (`.attr`, `[index]`, `.*`, `[*]`).
    fn term(&mut self, newlines: bool) -> Scan<Shape<'a>> {
        self.enter()?;
        let opened = self.peek()?;
        let mut shape = match opened {
            b'"' => self.quoted()?,
            b'[' => self.array()?,
            b'{' => self.object()?,
            b'0'..=b'9' => {
                // A traversal of a number is left to the reference parser.
                self.number()?;
                self.leave();
                return Some(Shape::Other);
            }
            b'<' => {
                self.heredoc()?;
                Shape::Other
            }
            b'-' | b'!' => {
                self.pos += 1;
                self.sp()?;
                self.term(newlines)?;
                Shape::Other
            }
            b'(' => {
                self.pos += 1;
                self.ws()?;
                let inner = self.expr(true)?;
                self.ws()?;
                self.expect(b')')?;
                // A choice or a collection in parentheses is still one.
                match inner {
                    Shape::Choice => Shape::Choice,
                    Shape::Collection => Shape::Collection,
                    Shape::For => Shape::For,
                    _ => Shape::Other,
                }
            }
            c if is_id_start(c) => self.identlike(newlines)?,
            _ => return None,
        };
        let local_root = matches!(shape, Shape::Var(start, end) if &self.b[start..end] == b"local");
        // Any traversal of a collection written in place or made by a call (in parentheses
        // too) is read like the collection (`hcl::candidate_form`): `merge(local.a,
        // var.b).x`, `{ … }["k"][0]`, `(merge(…)).x`; one of a `for` expression like the
        // expression (`[for …][0]`).
        let collection_root = matches!(shape, Shape::Collection);
        let for_root = matches!(shape, Shape::For);
        let mut operators = 0;
        loop {
            let save = self.pos;
            self.gap(newlines)?;
            match self.peek() {
                Some(b'.') if self.at(self.pos + 1) != Some(b'.') => {
                    self.pos += 1;
                    self.ws()?;
                    match self.peek()? {
                        b'*' => {
                            self.pos += 1;
                            shape = Shape::Other;
                        }
                        b'0'..=b'9' => {
                            let start = self.pos;
                            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                                self.pos += 1;
                            }
                            if self.pos - start > 18 {
                                return None;
                            }
                            shape = Shape::Other;
                        }
                        _ => {
                            let attr = self.ident()?;
                            shape = match shape {
                                Shape::Var(start, end) if operators == 0 => {
                                    Shape::Attr((start, end), attr)
                                }
                                _ => Shape::Other,
                            };
                        }
                    }
                }
                Some(b'[') => {
                    self.pos += 1;
                    self.ws()?;
                    if self.peek() == Some(b'*') {
                        self.pos += 1;
                    } else {
                        self.expr(true)?;
                    }
                    self.ws()?;
                    self.expect(b']')?;
                    // An element of a collection written in place is read like the
                    // collection (`hcl::candidate_form`).
                    shape = match shape {
                        Shape::Collection if operators == 0 => Shape::Collection,
                        _ => Shape::Other,
                    };
                }
                _ => {
                    self.pos = save;
                    break;
                }
            }
            operators += 1;
        }
        if (local_root && operators > 0 && !matches!(shape, Shape::Attr(..))) || operators > 1 {
            shape = if local_root {
                Shape::Choice
            } else {
                Shape::Other
            };
        }
        if collection_root && operators > 0 {
            shape = Shape::Collection;
        }
        if for_root && operators > 0 {
            shape = Shape::For;
        }
        self.leave();
        Some(shape)
    }

    fn number(&mut self) -> Scan<()> {
        let start = self.pos;
        self.digits()?;
        if self.peek() == Some(b'.') && self.at(self.pos + 1).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
            self.digits()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            self.digits()?;
        }
        // `1.x`, `1abc`: not worth telling apart from errors here.
        if self
            .peek()
            .is_some_and(|c| c == b'.' || is_id_continue(c) || c >= 0x80)
        {
            return None;
        }
        // The reference rejects numbers too large for a float.
        let value: f64 = self.text[start..self.pos].parse().ok()?;
        value.is_finite().then_some(())
    }

    fn digits(&mut self) -> Scan<()> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        (self.pos > start).then_some(())
    }

    /// A variable, `null`/`true`/`false`, or a function call (possibly namespaced).
    fn identlike(&mut self, newlines: bool) -> Scan<Shape<'a>> {
        let name = self.ident()?;
        let save = self.pos;
        self.gap(newlines)?;
        let namespaced = self.starts_with(b"::");
        if !namespaced && self.peek() != Some(b'(') {
            self.pos = save;
            return Some(match self.str(name) {
                "null" | "true" | "false" => Shape::Other,
                _ => Shape::Var(name.0, name.1),
            });
        }
        while self.starts_with(b"::") {
            self.pos += 2;
            self.gap(newlines)?;
            self.ident()?;
            self.gap(newlines)?;
        }
        self.expect(b'(')?;
        let function = self.str(name);
        let slot = (!namespaced && FILE_FUNCTIONS.contains(&function)).then(|| {
            self.calls.push(Call::Pending);
            self.calls.len() - 1
        });
        let line = slot.map(|_| self.line_at(name.0));
        let (first, second) = self.arguments()?;
        if let (Some(slot), Some(line)) = (slot, line) {
            self.calls[slot] = file_call(self.text, function, line, first, second)?;
        }
        Some(if !namespaced && CHOICE_FUNCTIONS.contains(&function) {
            Shape::Choice
        } else if !namespaced && COLLECTION_FUNCTIONS.contains(&function) {
            Shape::Collection
        } else {
            Shape::Other
        })
    }

    /// A call's arguments after `(`, through `)`: the first two arguments' shapes.
    fn arguments(&mut self) -> Scan<(Option<Shape<'a>>, Option<Shape<'a>>)> {
        let (mut first, mut second) = (None, None);
        self.ws()?;
        if self.expect(b')').is_some() {
            return Some((first, second));
        }
        loop {
            if matches!(self.peek(), Some(b',' | b'.' | b')')) {
                return None;
            }
            let shape = self.expr(true)?;
            if first.is_none() {
                first = Some(shape);
            } else if second.is_none() {
                second = Some(shape);
            }
            self.ws()?;
            match self.peek()? {
                b',' => {
                    self.pos += 1;
                    self.ws()?;
                    if self.expect(b')').is_some() {
                        return Some((first, second));
                    }
                }
                b'.' => {
                    if !self.starts_with(b"...") {
                        return None;
                    }
                    self.pos += 3;
                    self.ws()?;
                    self.expect(b')')?;
                    return Some((first, second));
                }
                b')' => {
                    self.pos += 1;
                    return Some((first, second));
                }
                _ => return None,
            }
        }
    }

    /// Whether a `for` expression starts here (after a `[` or `{`).
    fn for_ahead(&self) -> Scan<bool> {
        let pos = self.skip_ws(self.pos)?;
        Some(
            self.b[pos..].starts_with(b"for")
                && matches!(self.at(pos + 3), Some(b' ' | b'\t' | b'#' | b'/' | b'\n')),
        )
    }

    /// `for k, v in collection :`
    fn for_intro(&mut self) -> Scan<()> {
        self.ws()?;
        self.pos += 3;
        self.ws()?;
        self.ident()?;
        self.ws()?;
        if self.expect(b',').is_some() {
            self.ws()?;
            self.ident()?;
            self.ws()?;
        }
        self.keyword(b"in")?;
        self.ws()?;
        self.expr(false)?;
        self.ws()?;
        self.expect(b':')
    }

    /// An optional `if condition` at the end of a `for` expression.
    fn for_condition(&mut self) -> Scan<()> {
        self.ws()?;
        if self.starts_with(b"if") {
            self.keyword(b"if")?;
            self.ws()?;
            self.expr(true)?;
            self.ws()?;
        }
        Some(())
    }

    /// `[ items ]` (a collection) or `[for ...]`, from the `[`.
    fn array(&mut self) -> Scan<Shape<'a>> {
        self.pos += 1;
        if self.for_ahead()? {
            self.for_intro()?;
            self.ws()?;
            self.expr(true)?;
            self.for_condition()?;
            self.expect(b']')?;
            return Some(Shape::For);
        }
        self.ws()?;
        if self.expect(b']').is_some() {
            return Some(Shape::Collection);
        }
        loop {
            self.expr(true)?;
            self.ws()?;
            match self.peek()? {
                b',' => {
                    self.pos += 1;
                    self.ws()?;
                    if self.expect(b']').is_some() {
                        return Some(Shape::Collection);
                    }
                }
                b']' => {
                    self.pos += 1;
                    return Some(Shape::Collection);
                }
                _ => return None,
            }
        }
    }

    /// `{ key = value ... }` (a collection) or `{for ...}`, from the `{`.
    fn object(&mut self) -> Scan<Shape<'a>> {
        self.pos += 1;
        if self.for_ahead()? {
            self.for_intro()?;
            self.ws()?;
            self.expr(false)?;
            self.ws()?;
            if !self.starts_with(b"=>") {
                return None;
            }
            self.pos += 2;
            self.ws()?;
            self.expr(false)?;
            self.ws()?;
            if self.starts_with(b"...") {
                self.pos += 3;
            }
            self.for_condition()?;
            self.expect(b'}')?;
            return Some(Shape::For);
        }
        let first_key = self.keys.len();
        // Whether a computed key (`(local.name) = ...`, `"${var.x}" = ...`) was met. The
        // reference refuses a key written twice, comparing computed keys by their syntax,
        // which is not tracked here: one per object cannot be written twice, and a second
        // is given up on. A computed key never equals a name or a plain string.
        let mut computed_key = false;
        loop {
            self.ws()?;
            if self.expect(b'}').is_some() {
                self.end_keys(first_key);
                return Some(Shape::Collection);
            }
            let key = match self.expr(false)? {
                Shape::Var(start, end) => Some(Cow::Borrowed(&self.text[start..end])),
                Shape::Str(start, end) => Some(unescape(&self.text[start..end])?),
                _ if !computed_key => {
                    computed_key = true;
                    None
                }
                _ => return None,
            };
            if let Some(key) = key {
                if !self.add_key(first_key, key) {
                    return None;
                }
            }
            self.sp()?;
            match self.peek()? {
                b'=' | b':' => self.pos += 1,
                _ => return None,
            }
            self.sp()?;
            self.expr(false)?;
            self.sp()?;
            self.line_comment();
            match self.peek()? {
                b'}' => {
                    self.pos += 1;
                    self.end_keys(first_key);
                    return Some(Shape::Collection);
                }
                b'\n' | b',' => self.pos += 1,
                _ => return None,
            }
        }
    }
}
