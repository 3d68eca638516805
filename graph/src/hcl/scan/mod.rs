//! The fast path for reading facts from `.tf` files: a hand-written, validating scanner for
//! HCL native syntax that builds no syntax tree.
//!
//! The contract, held by the differential tests below: the scanner accepts a strict subset
//! of what the reference parser (hcl-edit, see [`super::parse_tf_reference`]) accepts, and for
//! every file it accepts it returns exactly the facts the reference returns. Whenever it is
//! unsure, it gives up (`None`) and the caller parses the file with the reference parser,
//! which also writes the error message for a malformed file. It gives up on:
//! - carriage returns and NUL bytes anywhere in the file;
//! - identifiers that are not ASCII;
//! - template directives (`%{ if }`, `%{ for }`) and newlines inside quoted strings;
//! - one-line `module` blocks, empty heredocs, object keys other than a name or a plain string;
//! - a line that continues an expression (it starts with `.`, `[`, `?` or an operator);
//! - nesting deeper than [`MAX_DEPTH`] or more than [`MAX_OPERATORS`] binary operators in
//!   one attribute, well inside the reference parser's own limits;
//! - anything else it does not recognise, malformed input included.

mod shape;
mod strings;

use super::{HclFacts, ModuleCall, PathBase, PathLocal, FILE_FUNCTIONS};
use shape::{file_call, static_path, Call, Shape};
use strings::unescape;

const MAX_DEPTH: usize = 40;
const MAX_OPERATORS: usize = 64;

/// `None`: give the file to the reference parser.
type Scan<T> = Option<T>;

/// Facts from `text`, or `None` when the reference parser must decide.
pub(super) fn scan(text: &str) -> Option<HclFacts> {
    let bytes = text.as_bytes();
    if bytes.contains(&b'\r') || bytes.contains(&0) {
        return None;
    }
    let mut scanner = Scanner {
        text,
        b: bytes,
        pos: 0,
        depth: 0,
        operators: 0,
        calls: Vec::new(),
        facts: HclFacts::default(),
        line_cursor: (0, 1),
    };
    scanner.body(Body::Top)?;
    Some(scanner.finish())
}

/// Which body is being read: facts come from the attributes of top-level `module` and
/// `locals` blocks.
#[derive(Clone, Copy, PartialEq)]
enum Body {
    Top,
    Module,
    Locals,
    Other,
}

struct Scanner<'a> {
    text: &'a str,
    b: &'a [u8],
    pos: usize,
    depth: usize,
    /// Binary operators in the current attribute's expression.
    operators: usize,
    calls: Vec<Call>,
    facts: HclFacts,
    /// (offset, line) of the last line lookup, so lookups in order cost one pass in total.
    line_cursor: (usize, usize),
}

fn is_id_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_id_continue(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

impl<'a> Scanner<'a> {
    // --- bytes and trivia ------------------------------------------------------------------

    fn at(&self, pos: usize) -> Option<u8> {
        self.b.get(pos).copied()
    }

    fn peek(&self) -> Option<u8> {
        self.at(self.pos)
    }

    fn starts_with(&self, s: &[u8]) -> bool {
        self.b[self.pos..].starts_with(s)
    }

    fn expect(&mut self, c: u8) -> Scan<()> {
        (self.peek() == Some(c)).then(|| self.pos += 1)
    }

    /// The end of the `/* */` comment starting at `pos`.
    fn block_comment_end(&self, pos: usize) -> Scan<usize> {
        let rest = &self.text[pos + 2..];
        rest.find("*/").map(|i| pos + 2 + i + 2)
    }

    /// The end of the line comment starting at `pos` (the newline itself is not included).
    fn line_end(&self, pos: usize) -> usize {
        self.text[pos..]
            .find('\n')
            .map_or(self.b.len(), |i| pos + i)
    }

    /// Spaces, tabs and `/* */` comments from `pos`.
    fn skip_sp(&self, mut pos: usize) -> Scan<usize> {
        loop {
            match self.at(pos) {
                Some(b' ' | b'\t') => pos += 1,
                Some(b'/') if self.at(pos + 1) == Some(b'*') => {
                    pos = self.block_comment_end(pos)?
                }
                _ => return Some(pos),
            }
        }
    }

    /// Whitespace, newlines and every kind of comment from `pos`.
    fn skip_ws(&self, mut pos: usize) -> Scan<usize> {
        loop {
            match self.at(pos) {
                Some(b' ' | b'\t' | b'\n') => pos += 1,
                Some(b'#') => pos = self.line_end(pos),
                Some(b'/') if self.at(pos + 1) == Some(b'/') => pos = self.line_end(pos),
                Some(b'/') if self.at(pos + 1) == Some(b'*') => {
                    pos = self.block_comment_end(pos)?
                }
                _ => return Some(pos),
            }
        }
    }

    fn sp(&mut self) -> Scan<()> {
        self.pos = self.skip_sp(self.pos)?;
        Some(())
    }

    fn ws(&mut self) -> Scan<()> {
        self.pos = self.skip_ws(self.pos)?;
        Some(())
    }

    /// Whitespace between the parts of an expression: newlines count only inside brackets.
    fn gap(&mut self, newlines: bool) -> Scan<()> {
        if newlines {
            self.ws()
        } else {
            self.sp()
        }
    }

    /// Skips a `#` or `//` comment; the newline stays.
    fn line_comment(&mut self) {
        if self.peek() == Some(b'#') || self.starts_with(b"//") {
            self.pos = self.line_end(self.pos);
        }
    }

    fn ident(&mut self) -> Scan<(usize, usize)> {
        let start = self.pos;
        if !self.peek().is_some_and(is_id_start) {
            return None;
        }
        self.pos += 1;
        while self.peek().is_some_and(is_id_continue) {
            self.pos += 1;
        }
        if self.peek().is_some_and(|c| c >= 0x80) {
            return None;
        }
        Some((start, self.pos))
    }

    /// A keyword (`in`, `if`) that must not run on into an identifier.
    fn keyword(&mut self, word: &[u8]) -> Scan<()> {
        let end = self.pos + word.len();
        let after = self.at(end);
        if !self.starts_with(word) || after.is_some_and(|c| is_id_continue(c) || c >= 0x80) {
            return None;
        }
        self.pos = end;
        Some(())
    }

    fn str(&self, (start, end): (usize, usize)) -> &'a str {
        &self.text[start..end]
    }

    fn line_at(&mut self, offset: usize) -> usize {
        let (from, line) = if offset >= self.line_cursor.0 {
            self.line_cursor
        } else {
            (0, 1)
        };
        let line = line + self.b[from..offset].iter().filter(|&&c| c == b'\n').count();
        self.line_cursor = (offset, line);
        line
    }

    fn enter(&mut self) -> Scan<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    // --- structure -------------------------------------------------------------------------

    /// A body: the file (`Top`) or a block's, after the newline that follows its `{`. A
    /// block's body ends at its `}`, which is consumed.
    fn body(&mut self, kind: Body) -> Scan<()> {
        let top = kind == Body::Top;
        let mut keys: Vec<&str> = Vec::new();
        loop {
            self.ws()?;
            match self.peek() {
                None if top => return Some(()),
                Some(b'}') if !top => {
                    self.pos += 1;
                    return Some(());
                }
                Some(c) if is_id_start(c) => {}
                _ => return None,
            }
            self.structure(kind, &mut keys)?;
            self.sp()?;
            self.line_comment();
            match self.peek() {
                None if top => return Some(()),
                Some(b'\n') => self.pos += 1,
                _ => return None,
            }
        }
    }

    /// An attribute or a block, starting at its identifier.
    fn structure(&mut self, kind: Body, keys: &mut Vec<&'a str>) -> Scan<()> {
        let ident = self.ident()?;
        let name = self.str(ident);
        self.sp()?;
        if self.peek() == Some(b'=') {
            if keys.contains(&name) {
                return None;
            }
            keys.push(name);
            return self.attribute(kind, ident);
        }
        let mut first_label = None;
        loop {
            match self.peek() {
                Some(b'{') => break,
                Some(b'"') => match self.quoted()? {
                    Shape::Str(start, end) => {
                        first_label.get_or_insert((start, end, true));
                    }
                    _ => return None,
                },
                Some(c) if is_id_start(c) => {
                    let (start, end) = self.ident()?;
                    first_label.get_or_insert((start, end, false));
                }
                _ => return None,
            }
            self.sp()?;
        }
        let inner = match (kind, name) {
            (Body::Top, "module") => Body::Module,
            (Body::Top, "locals") => Body::Locals,
            _ => Body::Other,
        };
        self.block_body(inner, first_label)
    }

    /// `= expression`, and its facts.
    fn attribute(&mut self, kind: Body, key: (usize, usize)) -> Scan<()> {
        self.expect(b'=')?;
        self.sp()?;
        self.operators = 0;
        let source_line =
            (kind == Body::Module && self.str(key) == "source").then(|| self.line_at(key.0));
        let shape = self.expr(false)?;
        match kind {
            Body::Module if source_line.is_some() => {
                if let (Shape::Str(start, end), Some(line)) = (shape, source_line) {
                    let source = unescape(&self.text[start..end])?;
                    if let Some(module) = self.facts.modules.last_mut() {
                        if module.source.is_empty() && module.line == 0 {
                            module.source = source;
                            module.line = line;
                        }
                    }
                }
            }
            Body::Locals => {
                if let Some((base, path, false)) = static_path(self.text, &shape)? {
                    if !matches!(base, PathBase::Local(_)) {
                        self.facts.path_locals.push(PathLocal {
                            name: self.str(key).to_string(),
                            base,
                            path,
                        });
                    }
                }
            }
            _ => {}
        }
        Some(())
    }

    /// A block's `{ ... }`: multi-line, empty, or one line with one attribute.
    fn block_body(&mut self, kind: Body, label: Option<(usize, usize, bool)>) -> Scan<()> {
        self.expect(b'{')?;
        self.enter()?;
        let placeholder = kind == Body::Module;
        if placeholder {
            // The module's source is filled in when its attribute is read; a module without
            // a plain-string source is dropped again below.
            let name = match label {
                Some((start, end, true)) => unescape(&self.text[start..end])?,
                Some((start, end, false)) => self.text[start..end].to_string(),
                None => String::new(),
            };
            self.facts.modules.push(ModuleCall {
                name,
                source: String::new(),
                line: 0,
            });
        }
        self.sp()?;
        self.line_comment();
        match self.peek() {
            Some(b'\n') => {
                self.pos += 1;
                self.body(kind)?;
            }
            Some(b'}') => self.pos += 1,
            Some(c) if is_id_start(c) && kind != Body::Module => {
                let key = self.ident()?;
                self.sp()?;
                self.attribute(kind, key)?;
                self.sp()?;
                self.expect(b'}')?;
            }
            _ => return None,
        }
        if placeholder && self.facts.modules.last().is_some_and(|m| m.line == 0) {
            self.facts.modules.pop();
        }
        self.leave();
        Some(())
    }

    // --- expressions -----------------------------------------------------------------------

    /// An expression: a term, then binary operators or a conditional. Without `newlines`,
    /// the expression ends at the end of its line.
    fn expr(&mut self, newlines: bool) -> Scan<Shape> {
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
                shape = Shape::Other;
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
    fn term(&mut self, newlines: bool) -> Scan<Shape> {
        self.enter()?;
        let mut shape = match self.peek()? {
            b'"' => self.quoted()?,
            b'[' => {
                self.array()?;
                Shape::Other
            }
            b'{' => {
                self.object()?;
                Shape::Other
            }
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
                self.expr(true)?;
                self.ws()?;
                self.expect(b')')?;
                Shape::Other
            }
            c if is_id_start(c) => self.identlike(newlines)?,
            _ => return None,
        };
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
                    shape = Shape::Other;
                }
                _ => {
                    self.pos = save;
                    break;
                }
            }
            operators += 1;
        }
        if operators > 1 {
            shape = Shape::Other;
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
    fn identlike(&mut self, newlines: bool) -> Scan<Shape> {
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
        Some(Shape::Other)
    }

    /// A call's arguments after `(`, through `)`: the first two arguments' shapes.
    fn arguments(&mut self) -> Scan<(Option<Shape>, Option<Shape>)> {
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

    /// `[ items ]` or `[for ...]`, from the `[`.
    fn array(&mut self) -> Scan<()> {
        self.pos += 1;
        if self.for_ahead()? {
            self.for_intro()?;
            self.ws()?;
            self.expr(true)?;
            self.for_condition()?;
            return self.expect(b']');
        }
        self.ws()?;
        if self.expect(b']').is_some() {
            return Some(());
        }
        loop {
            self.expr(true)?;
            self.ws()?;
            match self.peek()? {
                b',' => {
                    self.pos += 1;
                    self.ws()?;
                    if self.expect(b']').is_some() {
                        return Some(());
                    }
                }
                b']' => {
                    self.pos += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// `{ key = value ... }` or `{for ...}`, from the `{`.
    fn object(&mut self) -> Scan<()> {
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
            return self.expect(b'}');
        }
        let mut keys: Vec<String> = Vec::new();
        loop {
            self.ws()?;
            if self.expect(b'}').is_some() {
                return Some(());
            }
            let key = match self.expr(false)? {
                Shape::Var(start, end) => self.text[start..end].to_string(),
                Shape::Str(start, end) => unescape(&self.text[start..end])?,
                _ => return None,
            };
            if keys.contains(&key) {
                return None;
            }
            keys.push(key);
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
                    return Some(());
                }
                b'\n' | b',' => self.pos += 1,
                _ => return None,
            }
        }
    }

    fn finish(self) -> HclFacts {
        let mut facts = self.facts;
        for call in self.calls {
            match call {
                Call::Resolved(file_ref) => facts.file_refs.push(file_ref),
                Call::Unresolved(line) => facts.unresolved_refs.push(line),
                Call::Pending => unreachable!("every call slot is filled when its `)` is read"),
            }
        }
        facts
    }
}

#[cfg(test)]
mod tests;
