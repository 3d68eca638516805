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
#[derive(Clone, Copy, PartialEq)]
enum Ctx {
    /// Expressions, up to `closer` (`0` at the top level); `flat` inside an object `for`
    /// expression's own braces.
    Code { closer: u8, flat: bool },
    /// A quoted string.
    Quoted,
}

/// Replaces the newlines (and line comments) at the level of an object `for` expression's
/// braces with spaces. `None` when there is nothing to do, or a heredoc stands there (its
/// lines cannot be joined).
fn flatten_object_fors(bytes: &mut [u8]) -> Option<()> {
    let mut stack = vec![Ctx::Code {
        closer: 0,
        flat: false,
    }];
    let mut changed = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match *stack.last()? {
            Ctx::Quoted => match b {
                b'\\' => i += 1,
                b'"' => {
                    stack.pop();
                }
                b'$' | b'%' if bytes.get(i + 1) == Some(&b'{') => {
                    if i > 0 && bytes[i - 1] == b {
                        // `$${` and `%%{` are literal.
                    } else {
                        stack.push(Ctx::Code {
                            closer: b'}',
                            flat: false,
                        });
                        i += 1;
                    }
                }
                _ => {}
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
                        blank_newlines(&mut bytes[i..end], &mut changed);
                    }
                    i = end + 1;
                }
                b'<' if bytes.get(i + 1) == Some(&b'<') => {
                    if flat {
                        return None;
                    }
                    i = skip_heredoc(bytes, i)?;
                }
                b'\n' if flat => {
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

/// Past a line comment starting at `at` (the index of its newline, or the end); blanked,
/// newline included, when `flat`.
fn line_comment(bytes: &mut [u8], at: usize, flat: bool, changed: &mut bool) -> usize {
    let end = bytes[at..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |p| at + p);
    if flat {
        for b in &mut bytes[at..end] {
            *b = b' ';
        }
        if end < bytes.len() {
            bytes[end] = b' ';
        }
        *changed = true;
    }
    end
}

fn blank_newlines(bytes: &mut [u8], changed: &mut bool) {
    for b in bytes.iter_mut().filter(|b| **b == b'\n') {
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
    let start = rest
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(rest.len());
    rest[start..].starts_with(b"for")
        && rest.get(start + 3).is_some_and(|b| b.is_ascii_whitespace())
}

/// The index of the last byte of the heredoc starting at `at` (`<<ID` or `<<-ID`, then its
/// lines up to one that is `ID` alone); `None` when it does not end.
fn skip_heredoc(bytes: &[u8], at: usize) -> Option<usize> {
    let mut i = at + 2;
    if bytes.get(i) == Some(&b'-') {
        i += 1;
    }
    let start = i;
    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
        i += 1;
    }
    let id = &bytes[start..i];
    if id.is_empty() {
        // A `<<` that is no heredoc (there is no such operator; leave it to the parser).
        return Some(at + 1);
    }
    let mut line_start = bytes[i..].iter().position(|&b| b == b'\n')? + i + 1;
    loop {
        let end = bytes[line_start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |p| line_start + p);
        if bytes[line_start..end].trim_ascii() == id {
            return Some(end.saturating_sub(1).max(line_start));
        }
        if end >= bytes.len() {
            return None;
        }
        line_start = end + 1;
    }
}

/// Renames the object key starting at `at` in place, keeping its length: its name, or the
/// inside of its quotes, becomes one no file writes (`_0…`, numbered by `n`).
fn rename_key(bytes: &mut [u8], at: usize, n: usize) -> Option<()> {
    let (start, end) = if bytes.get(at) == Some(&b'"') {
        let close = bytes[at + 1..].iter().position(|&b| b == b'"')? + at + 1;
        (at + 1, close)
    } else {
        let len = bytes[at..]
            .iter()
            .position(|&b| !(b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
            .unwrap_or(bytes.len() - at);
        (at, at + len)
    };
    let len = end - start;
    if len == 0 {
        return None;
    }
    // A letter first for a one-byte name (an identifier cannot start with a digit).
    let name = if len == 1 {
        format!("{}", (b'A' + (n % 26) as u8) as char)
    } else {
        format!("_{n:0>width$}", width = len - 1)
    };
    if name.len() != len {
        return None;
    }
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
        assert!(printed.contains("min_size = 2"), "{printed}");
    }

    #[test]
    fn what_terraform_refuses_stays_refused() {
        assert!(parse("locals {\n  a = {\n}\n").is_none());
        assert!(parse("a = 1\na = 2\n").is_none());
        // A heredoc inside an object `for`: its lines cannot be joined.
        let mut heredoc = b"x = { for k in l : k =>\n<<EOT\nv\nEOT\n}\n".to_vec();
        assert!(flatten_object_fors(&mut heredoc).is_none());
    }
}
