//! Bytes as text.

use std::borrow::Cow;

/// `bytes` of the configuration file `path` as UTF-8; an error naming the line of the first
/// invalid byte otherwise (a setting decoded with U+FFFD in it would be another setting).
pub fn strict_utf8<'b>(bytes: &'b [u8], path: &str) -> crate::error::Result<&'b str> {
    std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        crate::error::Error::Invalid {
            message: format!("`{path}` is not valid UTF-8"),
            location: crate::error::Location::at(path, line),
            hint: "save the file as UTF-8".into(),
        }
    })
}

/// `bytes` as UTF-8, with U+FFFD for invalid sequences, like `String::from_utf8_lossy`, but
/// checking valid input (nearly all of it) with the standard library's fast validator first.
pub fn lossy_utf8(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// How deep YAML flow collections (`[`, `{`) may nest: serde_norway refuses deeper ones
/// anyway (its recursion limit), but only after scanning the whole document, and libyaml's
/// scanner takes time quadratic in the flow depth (100,000 levels took minutes).
pub const MAX_YAML_FLOW: usize = 128;

/// The line where a flow collection of a YAML `text` first nests deeper than
/// [`MAX_YAML_FLOW`], outside quoted scalars and comments; `None` when none does.
pub fn yaml_flow_too_deep(text: &str) -> Option<usize> {
    nested_beyond(text, MAX_YAML_FLOW, Syntax::Yaml)
}

/// How a language writes what brackets inside do not count in: its strings and comments.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// `"…"` with `\` escapes and `` `…` `` raw strings, anywhere; `#` comments.
    Rego,
    /// `#` comments after a space or at the start of a line. Quoted scalars are not skipped:
    /// where one starts depends on context a line scan cannot know (`a 12" record`,
    /// `Tools, 'n more` and block scalar text quote nothing), and a scan that took a stray
    /// quote for an opening one would skip the nesting after it; brackets inside quotes
    /// count, which refuses only absurd files.
    Yaml,
}

/// The line where `[` or `{` first nests deeper than `max` in `text`, outside strings
/// and comments as `syntax` writes them; `None` when it never does.
pub fn nested_beyond(text: &str, max: usize, syntax: Syntax) -> Option<usize> {
    let (mut depth, mut line) = (0usize, 1usize);
    let mut prev = b'\n';
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        let mut skip_to = |end: u8, escapes: bool, line: &mut usize| {
            while let Some(c) = bytes.next() {
                match c {
                    b'\\' if escapes => {
                        bytes.next();
                    }
                    c if c == end => break,
                    b'\n' => *line += 1,
                    _ => {}
                }
            }
        };
        match b {
            b'\n' => line += 1,
            b'#' if syntax == Syntax::Rego || prev.is_ascii_whitespace() => {
                for c in bytes.by_ref() {
                    if c == b'\n' {
                        line += 1;
                        break;
                    }
                }
                prev = b'\n';
                continue;
            }
            b'"' if syntax == Syntax::Rego => skip_to(b'"', true, &mut line),
            b'`' if syntax == Syntax::Rego => skip_to(b'`', false, &mut line),
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Some(line);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        prev = b;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_text_is_borrowed_and_invalid_bytes_are_replaced() {
        assert!(matches!(
            lossy_utf8("ok é".as_bytes()),
            Cow::Borrowed("ok é")
        ));
        assert_eq!(lossy_utf8(b"a\xffb"), "a\u{fffd}b");
    }
}

#[cfg(test)]
mod yaml_flow_tests {
    use super::*;

    #[test]
    fn deep_flow_collections_are_found_outside_comments() {
        let deep = format!("a: 1\nb: {}1{}\n", "[".repeat(200), "]".repeat(200));
        assert_eq!(yaml_flow_too_deep(&deep), Some(2));
        let fine = format!(
            "a: \"x\"\n# {}\nc: it's {{x: [1]}} # {}\nd: {}1{}\n",
            "[".repeat(200),
            "{".repeat(200),
            "[".repeat(100),
            "]".repeat(100)
        );
        assert_eq!(yaml_flow_too_deep(&fine), None);
        // No quote hides what follows it, wherever it stands: a plain scalar's, an
        // indicator's, a block scalar's.
        for stray in [
            "description: a 12\" record, rock 'n roll",
            "description: Tools, 'n more",
            "description: a:'b",
            "description: foo-\"bar",
            "notes: |\n  'tis so",
        ] {
            let hidden = format!(
                "{stray}\nx: {}1{}\nkeywords: [\"a\"]\n",
                "[".repeat(200),
                "]".repeat(200)
            );
            assert!(yaml_flow_too_deep(&hidden).is_some(), "{stray}");
        }
    }
}
