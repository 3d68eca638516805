//! Builtins the engine computes otherwise than OPA does, replaced by extensions (which the
//! engine finds before its builtins) that follow OPA's Go implementation:
//!
//! - `glob.quote_meta` escaped `*` alone, and refused a pattern that is no valid glob
//!   (`{{`): OPA escapes every glob metacharacter (`* ? \ [ ] { }`) of any string, so
//!   `glob.match(glob.quote_meta(x), [], x)` holds for a placeholder such as
//!   `{{REPLACE_ME}}` or `[TODO]`.
//! - `strings.replace_n` replaced one pair after another, each in the previous one's
//!   output (`{"prod": "production"}` then rewrote its own result). OPA makes one pass with
//!   Go's `strings.Replacer`: at each position the first pattern (by sorted key) that
//!   matches there is replaced, and a replacement is never read again.
//! - `sprintf` stopped the evaluation on one argument too few or too many, `%T`, `%q` of a
//!   number and some flags, so a `deny` rule with such a message vanished (see
//!   [`super::go_fmt`], which writes what Go's `fmt.Sprintf` writes).

use super::go_fmt;
use super::v0::Strict;
use regorus::Value;

/// Adds the replacements to `engine`.
pub fn add(engine: &mut regorus::Engine, strict: &Strict) -> anyhow::Result<()> {
    let on_error = |strict: &Strict, message: &str| -> anyhow::Result<Value> {
        if strict.get() {
            Err(anyhow::anyhow!("{message}"))
        } else {
            Ok(Value::Undefined)
        }
    };
    let s = strict.clone();
    engine.add_extension(
        "glob.quote_meta".to_string(),
        1,
        Box::new(move |args: Vec<Value>| -> anyhow::Result<Value> {
            match args.first() {
                Some(Value::String(text)) => Ok(Value::String(quote_meta(text).into())),
                _ => on_error(&s, "glob.quote_meta: operand 1 must be string"),
            }
        }),
    )?;
    let s = strict.clone();
    engine.add_extension(
        "strings.replace_n".to_string(),
        2,
        Box::new(move |args: Vec<Value>| -> anyhow::Result<Value> {
            let (Some(Value::Object(patterns)), Some(Value::String(text))) =
                (args.first(), args.get(1))
            else {
                return on_error(
                    &s,
                    "strings.replace_n: operands must be an object and a string",
                );
            };
            let mut pairs = Vec::with_capacity(patterns.len());
            // Sorted by key, as OPA orders them.
            for (k, v) in patterns.iter() {
                match (k, v) {
                    (Value::String(k), Value::String(v)) => pairs.push((k.as_ref(), v.as_ref())),
                    _ => {
                        return on_error(
                            &s,
                            "strings.replace_n: operand 1 must hold string keys and values",
                        )
                    }
                }
            }
            Ok(Value::String(replace_n(&pairs, text).into()))
        }),
    )?;
    let s = strict.clone();
    engine.add_extension(
        "sprintf".to_string(),
        2,
        Box::new(move |args: Vec<Value>| -> anyhow::Result<Value> {
            let (Some(Value::String(format)), Some(Value::Array(items))) =
                (args.first(), args.get(1))
            else {
                return on_error(&s, "sprintf: operands must be a string and an array");
            };
            let items: Vec<go_fmt::Arg> = items.iter().map(go_fmt::Arg::from_value).collect();
            Ok(Value::String(go_fmt::sprintf(format, &items).into()))
        }),
    )?;
    Ok(())
}

/// Every glob metacharacter of `text` escaped with a backslash.
fn quote_meta(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if matches!(c, '*' | '?' | '\\' | '[' | ']' | '{' | '}') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One pass over `text`: at each position, the first of `pairs` whose pattern starts there
/// is replaced; where none does, the character is kept. An empty pattern matches at every
/// position once (before each character, and at the end), as Go's replacer has it.
fn replace_n(pairs: &[(&str, &str)], text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    let mut after_empty = false;
    while at <= text.len() {
        let rest = &text[at..];
        match pairs
            .iter()
            .find(|(from, _)| rest.starts_with(from) && !(from.is_empty() && after_empty))
        {
            Some((from, to)) => {
                out.push_str(to);
                after_empty = from.is_empty();
                at += from.len();
            }
            None => {
                after_empty = false;
                let Some(c) = rest.chars().next() else { break };
                out.push(c);
                at += c.len_utf8();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_meta_escapes_every_metacharacter() {
        assert_eq!(quote_meta("*.{a}[b]"), r"\*.\{a\}\[b\]");
        assert_eq!(quote_meta("{{REPLACE_ME}}"), r"\{\{REPLACE_ME\}\}");
        assert_eq!(quote_meta(r"a\b?"), r"a\\b\?");
        assert_eq!(quote_meta("plain.txt"), "plain.txt");
    }

    #[test]
    fn replace_n_makes_one_pass_in_key_order() {
        // Sorted keys, as OPA passes them to Go's replacer.
        let pairs = [("prod", "production"), ("production", "prd")];
        assert_eq!(replace_n(&pairs, "prod"), "production");
        // The first key (in order) matching at a position wins, not the longest.
        assert_eq!(replace_n(&pairs, "production"), "productionuction");
        assert_eq!(replace_n(&[("a", "b"), ("b", "x")], "ab"), "bx");
        assert_eq!(replace_n(&[("", "X")], "ab"), "XaXbX");
        assert_eq!(replace_n(&[("", "X"), ("a", "A")], "a"), "XAX");
        assert_eq!(replace_n(&[("é", "e")], "café"), "cafe");
        assert_eq!(replace_n(&[], "same"), "same");
    }
}
