//! What terraform's HCL parser accepts and hcl-edit's refuses, made acceptable to hcl-edit
//! without moving a byte (spans and lines stay those of the file as written):
//! - newlines inside an object `for` expression (`{ for k, v in m : k =>` and its value on
//!   the next lines): terraform ignores them there, hcl-edit ends the item at them. They
//!   become spaces (and a line comment in between, spaces too);
//! - a key given twice in an object (`{ min_size = 1, min_size = 2 }`): terraform keeps the
//!   last, hcl-edit refuses the file. The later key is renamed in place, so both values are
//!   still read (facts take every value of an object as a candidate; one more is sound).
//!
//! Used only when hcl-edit refused the file as written.

use hcl_edit::structure::Body;

/// How many keys given twice are renamed at most before giving up.
const MAX_RENAMES: usize = 64;

/// The body of `text` read with the allowances above, or `None` when hcl-edit still
/// refuses it.
pub(super) fn parse(text: &str) -> Option<Body> {
    let mut bytes = text.as_bytes().to_vec();
    let mut flat = bytes.clone();
    if flatten_object_fors(&mut flat).is_some() {
        bytes = flat;
    }
    for renamed in 0..=MAX_RENAMES {
        let text = std::str::from_utf8(&bytes).ok()?;
        match hcl_edit::parser::parse_body(text) {
            Ok(body) => return Some(body),
            Err(e) if e.message().contains("redefined object key") && renamed < MAX_RENAMES => {
                rename_key(&mut bytes, e.location().offset(), renamed)?;
            }
            Err(_) => return None,
        }
    }
    None
}

/// What the lexer is inside.
#[derive(Clone, PartialEq)]
enum Ctx {
    /// Expressions, up to `closer` (`0` at the top level); `flat` where newlines mean
    /// nothing to terraform: an object `for` expression's own braces, a template's
    /// interpolation or directive.
    Code { closer: u8, flat: bool },
    /// A quoted string.
    Quoted,
    /// A heredoc's lines, up to the line that is `id` alone.
    Heredoc { id: Vec<u8> },
}

/// Makes plain what terraform reads and hcl-edit does not, in place: a byte-order mark, and
/// the line ends (newlines, carriage returns before them, line comments) where terraform
/// ignores them and hcl-edit does not (see [`Ctx::Code`]); the lines of a heredoc are kept.
/// `None` when there is nothing to do.
fn flatten_object_fors(bytes: &mut [u8]) -> Option<()> {
    let mut changed = false;
    if bytes.starts_with("\u{feff}".as_bytes()) {
        bytes[..3].fill(b' ');
        changed = true;
    }
    let mut stack = vec![Ctx::Code {
        closer: 0,
        flat: false,
    }];
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match stack.last()?.clone() {
            Ctx::Heredoc { id } => {
                let at_line_start = i == 0 || bytes[i - 1] == b'\n';
                if at_line_start {
                    let end = line_end(bytes, i);
                    if bytes[i..end].trim_ascii() == id.as_slice() {
                        stack.pop();
                        i = end;
                        continue;
                    }
                }
                i = template_sequence(bytes, i, &mut stack);
            }
            Ctx::Quoted => match b {
                b'\\' => i += 1,
                b'"' => {
                    stack.pop();
                }
                _ => i = template_sequence(bytes, i, &mut stack),
            },
            Ctx::Code { closer, flat } => match b {
                b'"' => stack.push(Ctx::Quoted),
                b'#' => i = line_comment(bytes, i, flat, &mut changed),
                b'/' if bytes.get(i + 1) == Some(&b'/') => {
                    i = line_comment(bytes, i, flat, &mut changed)
                }
                b'/' if bytes.get(i + 1) == Some(&b'*') => {
                    let end = find(bytes, i + 2, b"*/")?;
                    if flat {
                        blank_line_ends(&mut bytes[i..end], &mut changed);
                    }
                    i = end;
                }
                b'<' if bytes.get(i + 1) == Some(&b'<') => {
                    if let Some((id, body)) = heredoc_start(bytes, i) {
                        stack.push(Ctx::Heredoc { id });
                        // Its first line: the newline after `<<ID` is part of it.
                        i = body;
                        continue;
                    }
                    i += 1;
                }
                b'\n' if flat => {
                    bytes[i] = b' ';
                    changed = true;
                }
                // A line end's carriage return is a blank to terraform anywhere in code.
                b'\r' if bytes.get(i + 1) == Some(&b'\n') => {
                    bytes[i] = b' ';
                    changed = true;
                }
                b'{' => {
                    let flat = starts_for(&bytes[i + 1..]);
                    stack.push(Ctx::Code { closer: b'}', flat });
                }
                b'[' => stack.push(Ctx::Code {
                    closer: b']',
                    flat: false,
                }),
                b'(' => stack.push(Ctx::Code {
                    closer: b')',
                    flat: false,
                }),
                b'}' | b']' | b')' if b == closer => {
                    stack.pop();
                }
                _ => {}
            },
        }
        i += 1;
    }
    changed.then_some(())
}

/// Inside a template (a quoted string or a heredoc) at `i`: an interpolation or a directive
/// that starts there (`${`, `%{`, not the literal `$${`, `%%{`) is entered, its newlines
/// meaning nothing; returns the index of the last byte read.
fn template_sequence(bytes: &[u8], i: usize, stack: &mut Vec<Ctx>) -> usize {
    let b = bytes[i];
    if matches!(b, b'$' | b'%') && bytes.get(i + 1) == Some(&b'{') {
        stack.push(Ctx::Code {
            closer: b'}',
            flat: true,
        });
        return i + 1;
    }
    if matches!(b, b'$' | b'%') && bytes.get(i + 1) == Some(&b) && bytes.get(i + 2) == Some(&b'{') {
        return i + 2;
    }
    i
}

/// The index of the newline ending the line at `from` (or the end).
fn line_end(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |p| from + p)
}

/// Past a line comment starting at `at` (the index of its newline, or the end); blanked,
/// newline included, when `flat`.
fn line_comment(bytes: &mut [u8], at: usize, flat: bool, changed: &mut bool) -> usize {
    let end = line_end(bytes, at);
    if flat {
        bytes[at..end].fill(b' ');
        if end < bytes.len() {
            bytes[end] = b' ';
        }
        *changed = true;
    }
    end
}

fn blank_line_ends(bytes: &mut [u8], changed: &mut bool) {
    for b in bytes.iter_mut().filter(|b| matches!(**b, b'\n' | b'\r')) {
        *b = b' ';
        *changed = true;
    }
}

/// The index of `needle`'s last byte at or after `from`.
fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p + needle.len() - 1)
}

/// Whether an object's braces open a `for` expression: `for` and a space after blanks.
fn starts_for(rest: &[u8]) -> bool {
    let rest = skip_blanks(rest);
    let Some(after) = rest
        .strip_prefix(b"for")
        .filter(|r| r.first().is_some_and(u8::is_ascii_whitespace))
    else {
        return false;
    };
    // `for NAME,` or `for NAME in`: not an attribute named `for` (`for = 1`).
    let after = skip_blanks(after);
    let name = after
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_' || **b == b'-')
        .count();
    let after = skip_blanks(&after[name..]);
    name > 0
        && (after.starts_with(b",")
            || after
                .strip_prefix(b"in")
                .is_some_and(|r| r.first().is_some_and(u8::is_ascii_whitespace)))
}

/// `bytes` after the whitespace and comments at its start.
fn skip_blanks(mut bytes: &[u8]) -> &[u8] {
    loop {
        let start = bytes
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(bytes.len());
        bytes = &bytes[start..];
        if bytes.starts_with(b"#") || bytes.starts_with(b"//") {
            let end = bytes
                .iter()
                .position(|&b| b == b'\n')
                .unwrap_or(bytes.len());
            bytes = &bytes[end..];
        } else if bytes.starts_with(b"/*") {
            match find(bytes, 2, b"*/") {
                Some(end) => bytes = &bytes[end + 1..],
                None => return &[],
            }
        } else {
            return bytes;
        }
    }
}

/// A heredoc starting at `at` (`<<ID` or `<<-ID` and the end of its line): its `ID`, and
/// the index of the newline its first line follows.
fn heredoc_start(bytes: &[u8], at: usize) -> Option<(Vec<u8>, usize)> {
    let mut i = at + 2;
    if bytes.get(i) == Some(&b'-') {
        i += 1;
    }
    let start = i;
    // An identifier: letters (beyond ASCII too), digits, `_` and `-`.
    while i < bytes.len()
        && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'_' | b'-') || bytes[i] >= 0x80)
    {
        i += 1;
    }
    let id = bytes[start..i].to_vec();
    let rest = bytes.get(i..)?;
    let newline = rest.iter().position(|&b| b == b'\n')?;
    // Nothing but a carriage return may follow the identifier on its line.
    if id.is_empty() || rest[..newline].iter().any(|&b| b != b'\r') {
        return None;
    }
    Some((id, i + newline))
}

/// Renames the object key starting at `at` in place, keeping its length: its name, or the
/// inside of its quotes, becomes one no file writes (`_0…`, numbered by `n`).
fn rename_key(bytes: &mut [u8], at: usize, n: usize) -> Option<()> {
    let (start, end) = if bytes.get(at) == Some(&b'"') {
        // Up to the closing quote, escapes skipped.
        let mut i = at + 1;
        while *bytes.get(i)? != b'"' {
            i += if bytes[i] == b'\\' { 2 } else { 1 };
        }
        (at + 1, i)
    } else {
        // An identifier, letters beyond ASCII included.
        let len = bytes[at..]
            .iter()
            .position(|&b| !(b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b >= 0x80))
            .unwrap_or(bytes.len() - at);
        (at, at + len)
    };
    let len = end - start;
    // A name of the same length in bytes, numbered in base 36 after a `_` (a letter alone
    // for a one-byte name: an identifier cannot start with a digit).
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut name = vec![b'0'; len];
    match len {
        0 => return None,
        1 => name[0] = *b"ABCDEFGHIJKLMNOPQRSTUVWXYZ".get(n)?,
        _ => {
            name[0] = b'_';
            let mut rest = n;
            for slot in name[1..].iter_mut().rev() {
                *slot = DIGITS[rest % 36];
                rest /= 36;
            }
            if rest > 0 {
                return None;
            }
        }
    }
    let name = String::from_utf8(name).ok()?;
    bytes[start..end].copy_from_slice(name.as_bytes());
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_for_over_several_lines_reads_as_terraform_reads_it() {
        let text = "locals {\n  users = {\n    for k, v in var.users : k =>\n    local.is_mysql # which\n    ? { name = k }\n    : {\n      name = \"pg-${k}\"\n      x    = 1\n    }\n  }\n}\n";
        assert!(hcl_edit::parser::parse_body(text).is_err());
        let body = parse(text).expect("read");
        let printed = body.to_string();
        assert_eq!(printed.len(), text.len());
        // Nested objects keep their newlines (their items' separators).
        assert!(
            printed.contains("name = \"pg-${k}\"\n      x    = 1"),
            "{printed}"
        );
    }

    #[test]
    fn a_key_given_twice_keeps_both_values() {
        let text = "locals {\n  g = {\n    min_size = 2\n    max_size = 2\n    min_size = 4\n    \"q\" = 1\n    \"q\" = 2\n    a = 1\n    a = 2\n  }\n}\n";
        assert!(hcl_edit::parser::parse_body(text).is_err());
        let printed = parse(text).expect("read").to_string();
        assert_eq!(printed.len(), text.len());
        assert!(printed.contains("_0000000 = 4"), "{printed}");
        // Keys with escapes, beyond ASCII; more renames of a short key than ten.
        let text = "x = {\n  \"a\\\"b\" = 1\n  \"a\\\"b\" = 2\n  été = 1\n  été = 2\n}\n";
        assert!(parse(text).is_some(), "{text}");
        let many: String = (0..20).map(|i| format!("  id = {i}\n")).collect();
        assert!(parse(&format!("x = {{\n{many}}}\n")).is_some());
        assert!(printed.contains("min_size = 2"), "{printed}");
    }

    #[test]
    fn what_else_terraform_reads_is_read() {
        for text in [
            // A byte-order mark.
            "\u{feff}locals {\n  a = 1\n}\n",
            // CRLF line ends inside an object `for`.
            "locals {\r\n  m = {\r\n    for k, v in var.m : k =>\r\n    v\r\n    ? 1\r\n    : 2\r\n  }\r\n}\r\n",
            // A heredoc inside an object `for` whose value goes on.
            "locals {\n  m = {\n    for k, v in var.m : k =>\n    v\n    ? <<EOT\nyes ${k}\nEOT\n    : \"no\"\n  }\n}\n",
            // A directive's condition on two lines, in a heredoc and in a quoted string.
            "locals {\n  t = <<EOT\n%{ if var.a\n  && var.b }x%{ endif }\nEOT\n  q = \"%{ if var.a\n && var.b }x%{ endif }\"\n}\n",
            // An object `for` going on inside a heredoc's interpolation.
            "locals {\n  j = <<EOT\n${jsonencode({ for k, v in var.m : k =>\n  v\n  ? \"on\"\n  : \"off\" })}\nEOT\n}\n",
        ] {
            assert!(hcl_edit::parser::parse_body(text).is_err(), "{text}");
            assert!(parse(text).is_some(), "refused: {text}");
        }
    }

    #[test]
    fn a_heredoc_named_with_a_dash_keeps_its_lines() {
        // Its line `{ for k, v in` is text, not code: the code after it keeps its lines.
        let text = "locals {\n  g = {\n    a = 1\n    a = 2\n  }\n  t = <<EOT-X\n{ for k, v in\nEOT-X\n  config = file(\"x.txt\")\n  u = 3\n}\n";
        let body = parse(text).expect("read");
        let printed = body.to_string();
        assert!(
            printed.contains("\n  config = file(\"x.txt\")\n"),
            "{printed}"
        );
    }

    #[test]
    fn a_block_whose_first_attribute_is_for_is_no_for_expression() {
        let text = "\u{feff}x {\n  for = 1\n  b   = 2\n}\n";
        assert!(parse(text).is_some());
        // A comment before an object's `for`.
        let text = "m = { # by name\n  for k, v in var.m : k =>\n  v\n  ? 1\n  : 2\n}\n";
        assert!(parse(text).is_some());
        // A tuple `for` with CRLF after `for`.
        assert!(parse("l = [for\r\n  x in var.l : x]\r\n").is_some());
    }

    #[test]
    fn what_terraform_refuses_stays_refused() {
        assert!(parse("locals {\n  a = {\n}\n").is_none());
        assert!(parse("a = 1\na = 2\n").is_none());
        // An unclosed object `for` stays an error.
        assert!(parse("x = { for k in l : k =>\n  k\n").is_none());
    }
}
