//! Values of several words found wrapped across lines (see the parent module's
//! documentation, "wrapped").

/// A form of several words: its words, and after each but the last whether the form itself
/// breaks the line there (a wrap a tool adds stands where the form has a space).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Wrapped {
    words: Vec<String>,
    breaks: Vec<bool>,
}

/// How long a line must be for a tool to have wrapped it (terraform wraps messages at about
/// 78 columns, helm's `toYaml` folds at 80): a shorter line's break is the text's own
/// structure (`tier: web` then `app: orders`), not a value of several words wrapped.
const WRAPPED_LINE_MIN: usize = 40;

fn is_line_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

impl Wrapped {
    /// The words of `form`, when it has several.
    pub(super) fn of(form: &str) -> Option<Wrapped> {
        // Split where [`separator`] may stand: at every Unicode space, as terraform wraps a
        // message at each (Go's `unicode.IsSpace`: a no-break or an em space too).
        let mut wrapped = Wrapped {
            words: Vec::new(),
            breaks: Vec::new(),
        };
        let mut current = String::new();
        let mut line_break = false;
        for c in form.chars() {
            if c.is_whitespace() {
                if !current.is_empty() {
                    wrapped.words.push(std::mem::take(&mut current));
                }
                line_break |= is_line_break(c);
                continue;
            }
            if current.is_empty() {
                // A word starts: what stood between it and the one before.
                if !wrapped.words.is_empty() {
                    wrapped.breaks.push(line_break);
                }
                line_break = false;
            }
            current.push(c);
        }
        if !current.is_empty() {
            wrapped.words.push(current);
        }
        (wrapped.words.len() > 1).then_some(wrapped)
    }

    /// The ranges of `text` holding a run of these words, where the words stand
    /// separated by spaces or by line breaks (with the indentation, and terraform's `│` margin,
    /// that may follow each). A line break where the value has a space counts only after a line
    /// long enough to have been wrapped ([`WRAPPED_LINE_MIN`]).
    pub(super) fn ranges(&self, text: &str) -> Vec<(usize, usize)> {
        let words = &self.words;
        let mut ranges = Vec::new();
        let mut from = 0;
        while let Some(found) = text[from..].find(words[0].as_str()) {
            let at = from + found;
            let after_first = &text[at + words[0].len()..];
            let run = words[1..].iter().zip(&self.breaks).try_fold(
                after_first,
                |tail, (word, &breaks)| {
                    let (rest, crossed) = separator(tail)?;
                    if crossed && !breaks {
                        let break_at = text.len() - tail.len();
                        let line_start = text[..break_at].rfind('\n').map_or(0, |i| i + 1);
                        if text[line_start..break_at].chars().count() < WRAPPED_LINE_MIN {
                            return None;
                        }
                    }
                    rest.strip_prefix(word.as_str())
                },
            );
            match run {
                Some(tail) => {
                    let end = text.len() - tail.len();
                    ranges.push((at, end));
                    from = end;
                }
                None => from = at + words[0].len(),
            }
        }
        ranges
    }
}

/// `text` after the separator between two words of a wrapped value: spaces (any Unicode
/// space) or tabs, or line breaks (blank lines too: a value holding one, indented by
/// `nindent`) with the spaces, tabs and a `│` margin around each; `None` when there is none.
/// Also whether it crossed a line break written as one (not escaped inside a string).
fn separator(text: &str) -> Option<(&str, bool)> {
    let blank = |c: char| c.is_whitespace() && !is_line_break(c);
    let mut rest = text.trim_start_matches(blank);
    let mut found = rest.len() < text.len();
    let mut crossed = false;
    // YAML also breaks lines at NEL and the Unicode line and paragraph separators.
    // Such a break inside a string quoted again (`toYaml | quote`) is written escaped.
    const ESCAPED: [&str; 5] = ["\\r\\n", "\\n", "\\u0085", "\\u2028", "\\u2029"];
    loop {
        let next = match rest
            .strip_prefix("\r\n")
            .or_else(|| rest.strip_prefix(['\n', '\u{85}', '\u{2028}', '\u{2029}']))
        {
            Some(next) => {
                crossed = true;
                next
            }
            None => match ESCAPED.iter().find_map(|e| rest.strip_prefix(e)) {
                Some(next) => next,
                None => break,
            },
        };
        rest = next
            .trim_start_matches(blank)
            .trim_start_matches('│')
            .trim_start_matches(blank);
        // A YAML double-quoted string folded before a space escapes that space: `\ `.
        if let Some(escaped) = rest.strip_prefix("\\ ") {
            rest = escaped.trim_start_matches(blank);
        }
        found = true;
    }
    found.then_some((rest, crossed))
}
