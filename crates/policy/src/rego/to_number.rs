//! `to_number` as OPA has it. The engine's own reads a string as JSON, so `"08"`, `"+5"`,
//! `".5"` and `"5."` were undefined, and a rule built on them never fired where conftest's
//! does; it also took surrounding spaces, which OPA refuses. OPA reads a string as Go's
//! `strconv.ParseFloat` does, less infinities and NaN, and a value out of range is an
//! error: this extension, which the engine finds before its builtin, does the same for
//! decimal numbers. (Go's hexadecimal floats, `0x1p4`, are left undefined.)

use super::v0::Strict;
use regorus::Value;

/// Replaces the engine's `to_number`.
pub fn add(engine: &mut regorus::Engine, strict: &Strict) -> anyhow::Result<()> {
    let strict = strict.clone();
    let f = move |args: Vec<Value>| -> anyhow::Result<Value> {
        match args.first().and_then(to_number) {
            Some(v) => Ok(v),
            None if strict.get() => Err(anyhow::anyhow!(
                "to_number: operand 1 must be a valid number string, null, boolean or number"
            )),
            None => Ok(Value::Undefined),
        }
    };
    engine.add_extension("to_number".to_string(), 1, Box::new(f))
}

fn to_number(value: &Value) -> Option<Value> {
    match value {
        Value::Null => Some(Value::from(0u64)),
        Value::Bool(b) => Some(Value::from(u64::from(*b))),
        Value::Number(_) => Some(value.clone()),
        Value::String(s) => parse(s),
        _ => None,
    }
}

/// A decimal number as `strconv.ParseFloat` reads it: a sign, digits with at most one
/// point (at least one digit in all), and an exponent; finite.
fn parse(text: &str) -> Option<Value> {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
        None => (unsigned, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.len() + fraction.len() == 0 || !digits(whole) || !digits(fraction) {
        return None;
    }
    if let Some(exponent) = exponent {
        let e = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
        if e.is_empty() || !digits(e) {
            return None;
        }
    }
    let n: f64 = text.parse().ok()?;
    if !n.is_finite() {
        return None;
    }
    // OPA keeps the number as written (an integer of any size stays exact): the engine
    // reads JSON numbers so, once the text is JSON's (no `+`, no leading zeros, digits on
    // both sides of a point).
    let sign = if text.starts_with('-') { "-" } else { "" };
    let whole = whole.trim_start_matches('0');
    let json = format!(
        "{sign}{}{}{}",
        if whole.is_empty() { "0" } else { whole },
        if fraction.is_empty() {
            String::new()
        } else {
            format!(".{fraction}")
        },
        exponent.map(|e| format!("e{e}")).unwrap_or_default()
    );
    Value::from_numeric_string(&json)
        .ok()
        .filter(|v| matches!(v, Value::Number(_)))
        .or_else(|| Some(Value::from(n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_read_as_go_reads_a_float() {
        for (text, number) in [
            ("08", 8.0),
            ("+5", 5.0),
            ("-5", -5.0),
            (".5", 0.5),
            ("5.", 5.0),
            ("1e3", 1000.0),
            ("1.5E-1", 0.15),
            ("007.25", 7.25),
        ] {
            assert_eq!(parse(text), Some(Value::from(number)), "{text}");
        }
        assert_eq!(parse("42"), Some(Value::from(42i64)));
        // An integer of any size stays exact, as OPA keeps it.
        assert_eq!(
            parse("+0099999999999999999999"),
            Value::from_numeric_string("99999999999999999999").ok()
        );
        assert_ne!(
            parse("12345678901234567890"),
            Some(Value::from(12345678901234567000.0))
        );
        for bad in [
            "",
            " 5",
            "5 ",
            "inf",
            "-Infinity",
            "NaN",
            "1e400",
            ".",
            "e5",
            "5e",
            "1_000",
            "0x10",
            "1.2.3",
            "--5",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
