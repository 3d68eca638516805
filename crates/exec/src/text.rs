//! Text from tools and policies made safe to show where control characters mean
//! something: a pull-request comment, a report, a parsed line.

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
mod tests {
    use super::plain;

    #[test]
    fn escape_sequences_and_control_characters_are_dropped() {
        assert_eq!(plain("\u{1b}[1;31mError:\u{1b}[0m bad"), "Error: bad");
        assert_eq!(plain("a\u{1b}]0;title\u{7}b"), "ab");
        assert_eq!(
            plain("a\u{1b}]8;;https://x\u{1b}\\link\u{1b}]8;;\u{1b}\\b"),
            "alinkb"
        );
        assert_eq!(plain("ok\rFAKE\u{8}\u{7}\u{9b}"), "okFAKE");
        assert_eq!(plain("line 1\n\tline 2\u{1b}"), "line 1\n\tline 2");
        assert_eq!(plain("plain é ✓"), "plain é ✓");
    }
}
