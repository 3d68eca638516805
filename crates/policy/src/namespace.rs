//! Namespace patterns as conftest matches them: Go's `path.Match`, which conftest applies to
//! each package name. Written here because glob crates differ from it where it matters:
//! they read `[!a]` as "not `a`" (in Go only `[^a]` negates, and `!` is a character) and
//! `{a,b}` as a choice (in Go, braces are characters).
//!
//! ```text
//! pattern: { term }
//! term:    '*'            any sequence of characters but '/'
//!          '?'            any one character but '/'
//!          '[' [ '^' ] { lo [ '-' hi ] } ']'   a class (at least one range)
//!          '\' c          the character c
//!          c              the character c
//! ```

/// A pattern Go's `path.Match` refuses (`ErrBadPattern`): an unclosed or empty class, a
/// range missing an end, a `\` at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPattern;

#[derive(Debug, Clone, PartialEq)]
enum Term {
    Star,
    Any,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
    Char(char),
}

/// A namespace pattern, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern(Vec<Term>);

impl Pattern {
    pub fn parse(text: &str) -> Result<Pattern, BadPattern> {
        let mut chars = text.chars().peekable();
        let mut terms = Vec::new();
        while let Some(c) = chars.next() {
            terms.push(match c {
                '*' => Term::Star,
                '?' => Term::Any,
                '\\' => Term::Char(chars.next().ok_or(BadPattern)?),
                '[' => {
                    let negated = chars.next_if_eq(&'^').is_some();
                    let mut ranges = Vec::new();
                    loop {
                        if !ranges.is_empty() && chars.next_if_eq(&']').is_some() {
                            break;
                        }
                        let lo = class_char(&mut chars)?;
                        let hi = match chars.next_if_eq(&'-') {
                            Some(_) => class_char(&mut chars)?,
                            None => lo,
                        };
                        ranges.push((lo, hi));
                    }
                    Term::Class { negated, ranges }
                }
                c => Term::Char(c),
            });
        }
        Ok(Pattern(terms))
    }

    /// Whether `name` matches the whole pattern.
    pub fn matches(&self, name: &str) -> bool {
        let name: Vec<char> = name.chars().collect();
        matches_at(&self.0, &name)
    }
}

/// One character of a class (Go's `getEsc`): not `-` or `]` unescaped, and something must
/// follow it.
fn class_char(chars: &mut std::iter::Peekable<std::str::Chars>) -> Result<char, BadPattern> {
    let c = match chars.next() {
        None | Some('-' | ']') => return Err(BadPattern),
        Some('\\') => chars.next().ok_or(BadPattern)?,
        Some(c) => c,
    };
    match chars.peek() {
        None => Err(BadPattern),
        Some(_) => Ok(c),
    }
}

fn matches_at(terms: &[Term], name: &[char]) -> bool {
    let Some((term, rest)) = terms.split_first() else {
        return name.is_empty();
    };
    match term {
        Term::Star => (0..=name.len())
            .take_while(|&i| i == 0 || name[i - 1] != '/')
            .any(|i| matches_at(rest, &name[i..])),
        Term::Any => name.first().is_some_and(|&c| c != '/') && matches_at(rest, &name[1..]),
        Term::Class { negated, ranges } => name.first().is_some_and(|&c| {
            ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
                && matches_at(rest, &name[1..])
        }),
        Term::Char(c) => name.first() == Some(c) && matches_at(rest, &name[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, name: &str) -> bool {
        Pattern::parse(pattern).unwrap().matches(name)
    }

    #[test]
    fn matches_as_go_path_match() {
        assert!(m("kubernetes.*", "kubernetes.security"));
        assert!(m("*", "a.b.c"));
        assert!(m("c?", "ca"));
        assert!(!m("c?", "c"));
        assert!(m("c[ab]", "cb"));
        assert!(m("c[^a]", "cb"));
        assert!(!m("c[^a]", "ca"));
        // `!` is a character in Go: `[!a]` is `!` or `a`.
        assert!(m("c[!a]", "ca"));
        assert!(m("c[!a]", "c!"));
        assert!(!m("c[!a]", "cb"));
        assert!(m("c[a-c]", "cb"));
        assert!(m("{a,b}", "{a,b}"));
        assert!(!m("{a,b}", "a"));
        assert!(m("a\\*", "a*"));
        assert!(!m("a\\*", "ab"));
        assert!(m("c[\\]]", "c]"));
        assert!(!m("main", "main.x"));
    }

    #[test]
    fn bad_patterns_are_refused_as_go_refuses_them() {
        for bad in ["c[", "c[]", "c[a", "c[a-", "c[-a]", "a\\", "[a-]"] {
            assert_eq!(Pattern::parse(bad), Err(BadPattern), "{bad}");
        }
    }
}
