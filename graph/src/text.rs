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

/// `text` without terminal escape sequences (colours, cursor moves, window titles) and
/// without the control characters other than line breaks and tabs (a carriage return, a
/// bell, a backspace): what a reader of the text sees is what it says.
pub fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.next() {
                // CSI: parameters and intermediates, then one final byte.
                Some('[') => {
                    for c in chars.by_ref() {
                        if ('\u{40}'..='\u{7e}').contains(&c) {
                            break;
                        }
                    }
                }
                // OSC, DCS, and the other strings: up to BEL or ESC \.
                Some(']' | 'P' | 'X' | '^' | '_') => {
                    while let Some(c) = chars.next() {
                        if c == '\u{7}' {
                            break;
                        }
                        if c == '\u{1b}' && chars.peek() == Some(&'\\') {
                            chars.next();
                            break;
                        }
                    }
                }
                // A two-character sequence (ESC c, ESC 7, ...), or a lone ESC at the end.
                _ => {}
            },
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod plain_tests {
    #[test]
    fn escape_sequences_and_control_characters_are_dropped() {
        assert_eq!(
            super::plain("\u{1b}[1;31mError:\u{1b}[0m bad"),
            "Error: bad"
        );
        assert_eq!(super::plain("a\u{1b}]0;title\u{7}b"), "ab");
        assert_eq!(
            super::plain("a\u{1b}]8;;https://x\u{1b}\\link\u{1b}]8;;\u{1b}\\b"),
            "alinkb"
        );
        assert_eq!(super::plain("ok\rFAKE\u{8}\u{7}\u{9b}"), "okFAKE");
        assert_eq!(super::plain("line 1\n\tline 2\u{1b}"), "line 1\n\tline 2");
        assert_eq!(super::plain("plain é ✓"), "plain é ✓");
    }
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

/// The inside of `text` quoted as Go's `strconv.Quote` writes it between `quote`s (`"`, or
/// `'` for `QuoteRune`): the quote and `\` escaped, and each character Go does not print
/// (controls, spaces other than the ASCII one, format characters, private use; with
/// `ascii`, as `QuoteToASCII`, every character past ASCII) as `\n`-style or `\x`, `\u`,
/// `\U` escapes. Where strata writes what a Go program (terraform, OPA) would write.
pub fn go_escaped(text: &str, quote: char, ascii: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            _ if c == quote || c == '\\' => {
                out.push('\\');
                out.push(c);
            }
            _ if go_prints(c) && (c.is_ascii() || !ascii) => out.push(c),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if (c as u32) <= 0xffff => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out
}

/// Whether Go's `unicode.IsPrint` holds for `c`: letters, marks, numbers, punctuation,
/// symbols and the ASCII space (unassigned code points aside, which no table here knows).
pub fn go_prints(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    // Format characters (Cf) and private use (Co).
    !matches!(c as u32,
        0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x890..=0x891 | 0x8e2 | 0x180e
        | 0x200b..=0x200f | 0x202a..=0x202e | 0x2060..=0x2064 | 0x2066..=0x206f | 0xfeff
        | 0xfff9..=0xfffb | 0x110bd | 0x110cd | 0x13430..=0x1343f | 0x1bca0..=0x1bca3
        | 0x1d173..=0x1d17a | 0xe0001 | 0xe0020..=0xe007f | 0xe000..=0xf8ff
        | 0xf0000..=0xffffd | 0x100000..=0x10fffd)
}

/// `text` as the label of a Mermaid node (`id["…"]`): its quotes and `#` (which starts an
/// entity) written as Mermaid's entity codes, line breaks as spaces, so that no label ends
/// the node or the line early.
pub fn mermaid_label(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in plain(text).chars() {
        match c {
            '#' => out.push_str("#35;"),
            '"' => out.push_str("#quot;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// `text` as a Graphviz quoted string (`"…"`): backslashes and quotes escaped, line breaks
/// as `\n`, so that no label ends the string early.
pub fn dot_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in plain(text).chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod label_tests {
    use super::*;

    #[test]
    fn labels_cannot_end_their_node_or_string() {
        assert_eq!(
            mermaid_label("stacks/say \"hi\" #1\nx"),
            "stacks/say #quot;hi#quot; #35;1 x"
        );
        assert_eq!(dot_quoted("a\"b\\\nc"), "\"a\\\"b\\\\\\nc\"");
    }
}

/// `word` as one word of a POSIX shell command line, for the commands strata prints for
/// people to run: as it is when it holds only characters no shell reads specially, else in
/// single quotes (`'stacks/my app'`, a quote in it written `'\''`).
pub fn shell_word(word: &str) -> Cow<'_, str> {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:@%+=,".contains(&b));
    if plain {
        Cow::Borrowed(word)
    } else {
        Cow::Owned(format!("'{}'", word.replace('\'', "'\\''")))
    }
}

#[cfg(test)]
mod shell_tests {
    use super::shell_word;

    #[test]
    fn words_a_shell_would_split_or_expand_are_quoted() {
        assert_eq!(shell_word("stacks/network"), "stacks/network");
        assert_eq!(shell_word("stacks/my app"), "'stacks/my app'");
        assert_eq!(shell_word("stacks/c*"), "'stacks/c*'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word("$(rm -rf x)"), "'$(rm -rf x)'");
        assert_eq!(shell_word(""), "''");
    }
}
