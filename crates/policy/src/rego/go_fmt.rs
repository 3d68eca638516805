//! `sprintf` as OPA computes it: Go's `fmt.Sprintf` over the arguments as OPA converts them.
//!
//! The engine's own `sprintf` stops the evaluation (`no argument specified for format
//! verb`) where Go writes `%!s(MISSING)`, `%!(EXTRA …)` or `%!d(string=x)`, and it reads no
//! flags, widths of strings, `%T`, `%q` of numbers or `%x` of strings. A `deny` rule whose
//! message has one argument too few then vanished, and the policy passed where conftest
//! reports the denial. OPA hands each array element to Go as an `int` (an integer that fits),
//! a `*big.Int` (a larger integer), a `float64` (any other number), a `string` (a string), or
//! the Rego text of the value (`["a", 1]`, `{"k": true}`, `set()`, `null`) as a `string`;
//! this module formats those four kinds as Go's fmt does, with Go's error forms.

/// One argument, as OPA passes it to Go.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Int(i64),
    /// An integer beyond 64 bits, in decimal (`-` first when negative).
    Big(String),
    Float(f64),
    Str(String),
}

impl Arg {
    /// The argument OPA makes of a Rego value.
    pub fn from_value(value: &regorus::Value) -> Arg {
        use regorus::Value;
        match value {
            // A whole number computed as a float is an integer to OPA too (`4 / 2` is 2).
            Value::Number(n) => match n.as_i64() {
                Some(i) => Arg::Int(i),
                // An integer beyond 64 bits.
                None if n.as_big().is_some() => Arg::Big(n.format_decimal()),
                // A whole number read from JSON as a float: Go writes it back in decimal
                // below 1e21 (conftest's input passes through Go's JSON), which OPA reads
                // as a `*big.Int`; from 1e21 on, with an exponent, which stays a float64.
                None => match n.as_f64() {
                    Some(f) if f.fract() == 0.0 && f.abs() < 1e21 => Arg::Big(format!("{f}")),
                    Some(f) => Arg::Float(f),
                    None => Arg::Float(f64::NAN),
                },
            },
            Value::String(s) => Arg::Str(s.to_string()),
            other => Arg::Str(term_string(other)),
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Arg::Int(_) => "int",
            Arg::Big(_) => "*big.Int",
            Arg::Float(_) => "float64",
            Arg::Str(_) => "string",
        }
    }
}

/// A Rego value written as OPA's `Term.String()` writes it: strings quoted as Go quotes
/// them, `key: value` pairs, `set()` for an empty set.
pub fn term_string(value: &regorus::Value) -> String {
    use regorus::Value;
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match Arg::from_value(value) {
            Arg::Int(i) => i.to_string(),
            Arg::Big(text) => text,
            _ => n.format_decimal(),
        },
        Value::String(s) => quote(s, '"', false),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(term_string).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Set(items) if items.is_empty() => "set()".to_string(),
        Value::Set(items) => {
            let items: Vec<String> = items.iter().map(term_string).collect();
            format!("{{{}}}", items.join(", "))
        }
        Value::Object(fields) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("{}: {}", term_string(k), term_string(v)))
                .collect();
            format!("{{{}}}", fields.join(", "))
        }
        Value::Undefined => String::new(),
    }
}

#[derive(Default, Clone, Copy)]
struct Flags {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    plus_v: bool,
    sharp_v: bool,
    wid: Option<usize>,
    prec: Option<usize>,
}

struct Printer {
    out: String,
    f: Flags,
}

/// Go's `fmt.Sprintf(format, args...)`.
pub fn sprintf(format: &str, args: &[Arg]) -> String {
    let mut p = Printer {
        out: String::with_capacity(format.len() + 16),
        f: Flags::default(),
    };
    let b = format.as_bytes();
    let end = b.len();
    let mut arg_num = 0usize;
    let mut reordered = false;
    let mut i = 0usize;
    while i < end {
        let mut good_arg_num = true;
        let start = i;
        while i < end && b[i] != b'%' {
            i += 1;
        }
        p.out.push_str(&format[start..i]);
        if i >= end {
            break;
        }
        i += 1;
        p.f = Flags::default();
        while i < end {
            match b[i] {
                b'#' => p.f.sharp = true,
                b'0' => p.f.zero = !p.f.minus,
                b'+' => p.f.plus = true,
                b'-' => {
                    p.f.minus = true;
                    p.f.zero = false;
                }
                b' ' => p.f.space = true,
                _ => break,
            }
            i += 1;
        }
        let mut index = |arg_num: usize, i: usize, good: &mut bool| {
            arg_number(arg_num, format, i, args.len(), &mut reordered, good)
        };
        let (n, ni, mut after_index) = index(arg_num, i, &mut good_arg_num);
        arg_num = n;
        i = ni;
        if i < end && b[i] == b'*' {
            i += 1;
            let (wid, ok, n) = int_from_arg(args, arg_num);
            arg_num = n;
            if !ok {
                p.out.push_str("%!(BADWIDTH)");
            }
            if wid < 0 {
                p.f.minus = true;
                p.f.zero = false;
            }
            p.f.wid = ok.then_some(wid.unsigned_abs() as usize);
            after_index = false;
        } else {
            let (wid, ok, ni) = parse_num(b, i, end);
            i = ni;
            p.f.wid = ok.then_some(wid);
            if after_index && ok {
                good_arg_num = false;
            }
        }
        // A `.` last in the format is no precision but the verb (`%!.(MISSING)`).
        if i + 1 < end && b[i] == b'.' {
            i += 1;
            if after_index {
                good_arg_num = false;
            }
            let (n, ni, a) = index(arg_num, i, &mut good_arg_num);
            arg_num = n;
            i = ni;
            after_index = a;
            if i < end && b[i] == b'*' {
                i += 1;
                let (prec, ok, n) = int_from_arg(args, arg_num);
                arg_num = n;
                let ok = ok && prec >= 0;
                p.f.prec = ok.then_some(prec as usize);
                if !ok {
                    p.out.push_str("%!(BADPREC)");
                }
                after_index = false;
            } else {
                let (prec, ok, ni) = parse_num(b, i, end);
                i = ni;
                p.f.prec = Some(if ok { prec } else { 0 });
            }
        }
        if !after_index {
            let (n, ni, _) = index(arg_num, i, &mut good_arg_num);
            arg_num = n;
            i = ni;
        }
        if i >= end {
            p.out.push_str("%!(NOVERB)");
            break;
        }
        let verb = format[i..].chars().next().unwrap_or('?');
        i += verb.len_utf8();
        if verb == '%' {
            p.out.push('%');
        } else if !good_arg_num {
            p.out.push_str(&format!("%!{verb}(BADINDEX)"));
        } else if arg_num >= args.len() {
            p.out.push_str(&format!("%!{verb}(MISSING)"));
        } else {
            if verb == 'v' {
                p.f.sharp_v = p.f.sharp;
                p.f.sharp = false;
                p.f.plus_v = p.f.plus;
                p.f.plus = false;
            }
            p.print_arg(&args[arg_num], verb);
            arg_num += 1;
        }
    }
    if !reordered && arg_num < args.len() {
        p.f = Flags::default();
        p.out.push_str("%!(EXTRA ");
        for (n, arg) in args[arg_num..].iter().enumerate() {
            if n > 0 {
                p.out.push_str(", ");
            }
            p.out.push_str(arg.type_name());
            p.out.push('=');
            p.print_arg(arg, 'v');
        }
        p.out.push(')');
    }
    p.out
}

/// Go's `tooLarge`: widths and precisions beyond a million are refused.
const TOO_LARGE: usize = 1_000_000;

/// Digits at `i`: the number, whether there were any, and the index after them.
fn parse_num(b: &[u8], mut i: usize, end: usize) -> (usize, bool, usize) {
    if i >= end {
        return (0, false, end);
    }
    let mut num = 0usize;
    let mut is_num = false;
    while i < end && b[i].is_ascii_digit() {
        if num > TOO_LARGE {
            return (0, false, end);
        }
        num = num * 10 + usize::from(b[i] - b'0');
        is_num = true;
        i += 1;
    }
    (num, is_num, i)
}

/// An explicit argument index (`[n]`) at `i`: the argument to use, the index after it, and
/// whether one was given. A bad one clears `good`.
fn arg_number(
    arg_num: usize,
    format: &str,
    i: usize,
    num_args: usize,
    reordered: &mut bool,
    good: &mut bool,
) -> (usize, usize, bool) {
    let b = format.as_bytes();
    if b.len() <= i || b[i] != b'[' {
        return (arg_num, i, false);
    }
    *reordered = true;
    let rest = &b[i..];
    let (index, width, ok) = if rest.len() < 3 {
        (0, 1, false)
    } else {
        match rest.iter().position(|&c| c == b']') {
            Some(close) => {
                let (n, is_num, after) = parse_num(rest, 1, close);
                if !is_num || after != close {
                    (0, close + 1, false)
                } else {
                    (n as i64 - 1, close + 1, true)
                }
            }
            None => (0, 1, false),
        }
    };
    if ok && index >= 0 && (index as usize) < num_args {
        return (index as usize, i + width, true);
    }
    *good = false;
    (arg_num, i + width, ok)
}

/// A width or precision taken from the arguments (`*`): only a Go `int` will do.
fn int_from_arg(args: &[Arg], arg_num: usize) -> (i64, bool, usize) {
    match args.get(arg_num) {
        Some(Arg::Int(n)) if n.unsigned_abs() as usize <= TOO_LARGE => (*n, true, arg_num + 1),
        Some(_) => (0, false, arg_num + 1),
        None => (0, false, arg_num),
    }
}

impl Printer {
    fn print_arg(&mut self, arg: &Arg, verb: char) {
        match verb {
            'T' => return self.pad_str(arg.type_name()),
            'p' => return self.bad_verb(arg, verb),
            _ => {}
        }
        match arg {
            Arg::Int(n) => self.fmt_int(*n, verb, arg),
            Arg::Big(text) => self.fmt_big(text, verb),
            Arg::Float(v) => self.fmt_float(*v, verb, arg),
            Arg::Str(s) => self.fmt_string(s, verb, arg),
        }
    }

    fn bad_verb(&mut self, arg: &Arg, verb: char) {
        self.out.push_str("%!");
        self.out.push(verb);
        self.out.push('(');
        self.out.push_str(arg.type_name());
        self.out.push('=');
        self.print_arg(arg, 'v');
        self.out.push(')');
    }

    fn padding(&mut self, n: usize) {
        let c = if self.f.zero { '0' } else { ' ' };
        self.out.extend(std::iter::repeat_n(c, n));
    }

    /// `text` padded to the width (spaces, or zeros with the `0` flag; right with `-`).
    fn pad_str(&mut self, text: &str) {
        let Some(wid) = self.f.wid else {
            self.out.push_str(text);
            return;
        };
        let fill = wid.saturating_sub(text.chars().count());
        if self.f.minus {
            self.out.push_str(text);
            self.padding(fill);
        } else {
            self.padding(fill);
            self.out.push_str(text);
        }
    }

    /// `text` padded with spaces only, whatever the `0` flag says.
    fn pad_spaces(&mut self, text: &str) {
        let zero = std::mem::take(&mut self.f.zero);
        self.pad_str(text);
        self.f.zero = zero;
    }

    fn fmt_int(&mut self, n: i64, verb: char, arg: &Arg) {
        match verb {
            'v' | 'd' => self.fmt_integer(n, 10, verb, false),
            'b' => self.fmt_integer(n, 2, verb, false),
            'o' | 'O' => self.fmt_integer(n, 8, verb, false),
            'x' => self.fmt_integer(n, 16, verb, false),
            'X' => self.fmt_integer(n, 16, verb, true),
            'c' => {
                let c = rune(n);
                self.pad_str(&c.to_string());
            }
            'q' => {
                let quoted = quote(&rune(n).to_string(), '\'', self.f.plus);
                self.pad_str(&quoted);
            }
            'U' => self.fmt_unicode(n),
            _ => self.bad_verb(arg, verb),
        }
    }

    /// Go's `fmtInteger`: precision or the `0` flag give leading zeros, then the prefix
    /// (`#`, `O`) and the sign, then padding with spaces.
    fn fmt_integer(&mut self, n: i64, base: u32, verb: char, upper: bool) {
        let negative = n < 0;
        let u = n.unsigned_abs();
        let mut prec = 0;
        if let Some(p) = self.f.prec {
            prec = p;
            if p == 0 && u == 0 {
                let wid = self.f.wid.unwrap_or(0);
                let zero = std::mem::take(&mut self.f.zero);
                self.padding(wid);
                self.f.zero = zero;
                return;
            }
        } else if self.f.zero && !self.f.minus {
            if let Some(wid) = self.f.wid {
                prec = wid;
                if negative || self.f.plus || self.f.space {
                    prec = prec.saturating_sub(1);
                }
            }
        }
        let mut digits = match base {
            2 => format!("{u:b}"),
            8 => format!("{u:o}"),
            16 if upper => format!("{u:X}"),
            16 => format!("{u:x}"),
            _ => u.to_string(),
        };
        if digits.len() < prec {
            digits = "0".repeat(prec - digits.len()) + &digits;
        }
        let mut prefix = String::new();
        if self.f.sharp {
            match base {
                2 => prefix.push_str("0b"),
                8 if !digits.starts_with('0') => prefix.push('0'),
                16 => prefix.push_str(if upper { "0X" } else { "0x" }),
                _ => {}
            }
        }
        if verb == 'O' {
            prefix.insert_str(0, "0o");
        }
        let sign = if negative {
            "-"
        } else if self.f.plus {
            "+"
        } else if self.f.space {
            " "
        } else {
            ""
        };
        self.pad_spaces(&format!("{sign}{prefix}{digits}"));
    }

    fn fmt_unicode(&mut self, n: i64) {
        let u = n as u64;
        let mut hex = format!("{u:X}");
        let prec = self.f.prec.unwrap_or(4).max(4);
        if hex.len() < prec {
            hex = "0".repeat(prec - hex.len()) + &hex;
        }
        let mut text = format!("U+{hex}");
        if self.f.sharp {
            if let Some(c) = u32::try_from(u).ok().and_then(char::from_u32) {
                if is_print(c) {
                    text.push_str(&format!(" '{c}'"));
                }
            }
        }
        self.pad_spaces(&text);
    }

    /// `*big.Int`'s own `Format`.
    fn fmt_big(&mut self, text: &str, verb: char) {
        let (negative, magnitude) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (base, prefix) = match verb {
            'b' => (2, "0b"),
            'o' | 'O' => (8, "0"),
            'd' | 's' | 'v' => (10, ""),
            'x' => (16, "0x"),
            'X' => (16, "0X"),
            _ => {
                self.out.push_str(&format!("%!{verb}(big.Int={text})"));
                return;
            }
        };
        let digits = to_base(magnitude, base, verb == 'X');
        let sign = if negative {
            "-"
        } else if self.f.plus || self.f.plus_v {
            "+"
        } else if self.f.space {
            " "
        } else {
            ""
        };
        let prefix = if verb == 'O' {
            "0o"
        } else if self.f.sharp {
            prefix
        } else {
            ""
        };
        let mut zeros = 0;
        if let Some(prec) = self.f.prec {
            if digits.len() < prec {
                zeros = prec - digits.len();
            } else if digits == "0" && prec == 0 {
                return;
            }
        }
        let length = sign.len() + prefix.len() + zeros + digits.len();
        let (mut left, mut right) = (0, 0);
        if let Some(wid) = self.f.wid.filter(|&w| length < w) {
            let d = wid - length;
            if self.f.minus {
                right = d;
            } else if self.f.zero && self.f.prec.is_none() {
                zeros = d;
            } else {
                left = d;
            }
        }
        self.out.extend(std::iter::repeat_n(' ', left));
        self.out.push_str(sign);
        self.out.push_str(prefix);
        self.out.extend(std::iter::repeat_n('0', zeros));
        self.out.push_str(&digits);
        self.out.extend(std::iter::repeat_n(' ', right));
    }

    fn fmt_string(&mut self, s: &str, verb: char, arg: &Arg) {
        match verb {
            'v' if self.f.sharp_v => self.fmt_q(s),
            'v' | 's' => {
                let s = self.truncate(s);
                self.pad_str(&s);
            }
            'x' => self.fmt_sx(s.as_bytes(), false),
            'X' => self.fmt_sx(s.as_bytes(), true),
            'q' => self.fmt_q(s),
            _ => self.bad_verb(arg, verb),
        }
    }

    /// The string cut to the precision, in characters.
    fn truncate(&self, s: &str) -> String {
        match self.f.prec {
            Some(prec) => s.chars().take(prec).collect(),
            None => s.to_string(),
        }
    }

    fn fmt_q(&mut self, s: &str) {
        let s = self.truncate(s);
        let quoted = if self.f.sharp && can_backquote(&s) {
            format!("`{s}`")
        } else {
            quote(&s, '"', self.f.plus)
        };
        self.pad_str(&quoted);
    }

    /// Go's `fmtSbx` for a string: hexadecimal bytes, `#` adding `0x`, ` ` spacing them.
    fn fmt_sx(&mut self, bytes: &[u8], upper: bool) {
        let length = self.f.prec.map_or(bytes.len(), |p| p.min(bytes.len()));
        let mut width = 2 * length;
        if width == 0 {
            if let Some(wid) = self.f.wid {
                self.padding(wid);
            }
            return;
        }
        if self.f.space {
            if self.f.sharp {
                width *= 2;
            }
            width += length - 1;
        } else if self.f.sharp {
            width += 2;
        }
        let fill = self.f.wid.map_or(0, |w| w.saturating_sub(width));
        if !self.f.minus {
            self.padding(fill);
        }
        let x = if upper { "0X" } else { "0x" };
        if self.f.sharp {
            self.out.push_str(x);
        }
        for (n, byte) in bytes[..length].iter().enumerate() {
            if self.f.space && n > 0 {
                self.out.push(' ');
                if self.f.sharp {
                    self.out.push_str(x);
                }
            }
            if upper {
                self.out.push_str(&format!("{byte:02X}"));
            } else {
                self.out.push_str(&format!("{byte:02x}"));
            }
        }
        if self.f.minus {
            self.padding(fill);
        }
    }

    fn fmt_float(&mut self, v: f64, verb: char, arg: &Arg) {
        let (conv, prec) = match verb {
            'v' => ('g', None),
            'b' | 'g' | 'G' | 'x' | 'X' => (verb, None),
            'f' | 'F' => ('f', Some(6)),
            'e' | 'E' => (verb, Some(6)),
            _ => return self.bad_verb(arg, verb),
        };
        let prec = self.f.prec.or(prec);
        let mut num = format_float(v, conv, prec);
        let sign = if let Some(rest) = num.strip_prefix('-') {
            num = rest.to_string();
            '-'
        } else if self.f.space && !self.f.plus {
            ' '
        } else {
            '+'
        };
        if self.f.sharp && conv != 'b' {
            num = sharp_float(&num, conv, prec);
        }
        if self.f.plus || sign != '+' {
            let len = num.len() + 1;
            match self.f.wid {
                Some(wid) if self.f.zero && !self.f.minus && wid > len => {
                    self.out.push(sign);
                    self.padding(wid - len);
                    self.out.push_str(&num);
                }
                _ => self.pad_str(&format!("{sign}{num}")),
            }
        } else {
            self.pad_str(&num);
        }
    }
}

/// The character Go makes of an integer: U+FFFD where none is.
fn rune(n: i64) -> char {
    u32::try_from(n)
        .ok()
        .and_then(char::from_u32)
        .unwrap_or('\u{FFFD}')
}

/// A decimal magnitude in another base.
fn to_base(decimal: &str, base: u32, upper: bool) -> String {
    if base == 10 {
        return decimal.to_string();
    }
    // Repeated division of the decimal digits: numbers this large are rare in policies.
    let mut digits: Vec<u32> = decimal.bytes().map(|b| u32::from(b - b'0')).collect();
    let mut out = Vec::new();
    while !(digits.is_empty() || digits.iter().all(|&d| d == 0)) {
        let mut rem = 0;
        let mut next = Vec::with_capacity(digits.len());
        for d in digits {
            let cur = rem * 10 + d;
            let q = cur / base;
            rem = cur % base;
            if !(next.is_empty() && q == 0) {
                next.push(q);
            }
        }
        out.push(std::char::from_digit(rem, base).unwrap_or('?'));
        digits = next;
    }
    if out.is_empty() {
        out.push('0');
    }
    let text: String = out.iter().rev().collect();
    if upper {
        text.to_uppercase()
    } else {
        text
    }
}

/// Go's `strconv.Quote` (or `QuoteToASCII` with `ascii`, `QuoteRune` with `'`).
fn quote(s: &str, q: char, ascii: bool) -> String {
    format!("{q}{}{q}", strata_graph::text::go_escaped(s, q, ascii))
}

/// Go's `unicode.IsPrint`.
fn is_print(c: char) -> bool {
    strata_graph::text::go_prints(c)
}

/// Go's `strconv.CanBackquote`.
fn can_backquote(s: &str) -> bool {
    s.chars()
        .all(|c| c != '`' && c != '\u{feff}' && (c == '\t' || !(c < ' ' || c == '\u{7f}')))
}

/// Decimal digits of `|v|` (no leading or trailing zeros) and the position of the decimal
/// point, as strconv's `decimalSlice` holds them: `digits` × 10^(`point` − `digits.len()`).
/// `None` for the shortest digits that read back as `v`; `Some(n)` for `n` significant
/// digits, rounded as the exact binary value says (half to even).
fn decimal_digits(v: f64, significant: Option<usize>) -> (String, i32) {
    let text = match significant {
        None => format!("{:e}", v.abs()),
        Some(n) => format!("{:.*e}", n.saturating_sub(1), v.abs()),
    };
    let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    if digits.is_empty() {
        return (String::new(), 0);
    }
    (digits.to_string(), exp + 1)
}

/// Go's `strconv.FormatFloat(v, conv, prec, 64)` (`prec` `None` is Go's −1, the shortest).
fn format_float(v: f64, conv: char, prec: Option<usize>) -> String {
    let neg = v.is_sign_negative();
    let mut out = String::new();
    match conv {
        'b' => {
            let (mant, exp) = binary_parts(v);
            let exp = exp - 52;
            if neg {
                out.push('-');
            }
            out.push_str(&format!("{mant}p{}{exp}", if exp >= 0 { "+" } else { "" }));
            return out;
        }
        'x' | 'X' => return format_hex_float(v, conv, prec),
        'f' => {
            if let Some(p) = prec {
                return format!("{v:.p$}");
            }
        }
        _ => {}
    }
    let shortest = prec.is_none();
    let (digits, dp, prec) = match (conv, prec) {
        (_, None) => {
            let (d, dp) = decimal_digits(v, None);
            let nd = d.len() as i32;
            let p = match conv {
                'e' | 'E' => (nd - 1).max(0),
                'f' => (nd - dp).max(0),
                _ => nd,
            };
            (d, dp, p)
        }
        ('e' | 'E', Some(p)) => {
            let (d, dp) = decimal_digits(v, Some(p + 1));
            (d, dp, p as i32)
        }
        (_, Some(p)) => {
            let p = p.max(1);
            let (d, dp) = decimal_digits(v, Some(p));
            (d, dp, p as i32)
        }
    };
    if neg {
        out.push('-');
    }
    let nd = digits.len() as i32;
    match conv {
        'e' | 'E' => fmt_e(&mut out, &digits, dp, prec, conv),
        'f' => fmt_f(&mut out, &digits, dp, prec),
        _ => {
            let mut eprec = prec;
            if eprec > nd && nd >= dp {
                eprec = nd;
            }
            if shortest {
                eprec = 6;
            }
            let exp = dp - 1;
            let e = if conv == 'G' { 'E' } else { 'e' };
            if exp < -4 || exp >= eprec {
                fmt_e(&mut out, &digits, dp, prec.min(nd) - 1, e);
            } else {
                let p = if prec > dp { nd } else { prec };
                fmt_f(&mut out, &digits, dp, (p - dp).max(0));
            }
        }
    }
    out
}

fn digit_at(digits: &str, i: i32) -> char {
    if i < 0 {
        return '0';
    }
    digits
        .as_bytes()
        .get(i as usize)
        .map_or('0', |&b| b as char)
}

/// `d.ddde±dd`
fn fmt_e(out: &mut String, digits: &str, dp: i32, prec: i32, e: char) {
    out.push(if digits.is_empty() {
        '0'
    } else {
        digit_at(digits, 0)
    });
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            out.push(digit_at(digits, i));
        }
    }
    out.push(e);
    let exp = if digits.is_empty() { 0 } else { dp - 1 };
    out.push(if exp < 0 { '-' } else { '+' });
    out.push_str(&format!("{:02}", exp.unsigned_abs()));
}

/// `ddd.ddd`
fn fmt_f(out: &mut String, digits: &str, dp: i32, prec: i32) {
    if dp > 0 {
        for i in 0..dp {
            out.push(digit_at(digits, i));
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 0..prec {
            out.push(digit_at(digits, dp + i));
        }
    }
}

/// The mantissa (with its implicit leading bit) and the unbiased exponent of `|v|`, as
/// strconv splits a float64: `v = mant × 2^(exp − 52)`.
fn binary_parts(v: f64) -> (u64, i64) {
    let bits = v.to_bits();
    let mut exp = ((bits >> 52) & 0x7ff) as i64;
    let mut mant = bits & ((1 << 52) - 1);
    if exp == 0 {
        exp += 1;
    } else {
        mant |= 1 << 52;
    }
    (mant, exp - 1023)
}

/// Go's `%x` of a float: `0x1.8p+01`.
fn format_hex_float(v: f64, conv: char, prec: Option<usize>) -> String {
    let (mut mant, mut exp) = binary_parts(v);
    if mant == 0 {
        exp = 0;
    }
    mant <<= 60 - 52;
    while mant != 0 && mant & (1 << 60) == 0 {
        mant <<= 1;
        exp -= 1;
    }
    if let Some(p) = prec.filter(|&p| p < 15) {
        let shift = (p * 4) as u32;
        let extra = (mant << shift) & ((1 << 60) - 1);
        mant >>= 60 - shift;
        if extra | (mant & 1) > 1 << 59 {
            mant += 1;
        }
        mant <<= 60 - shift;
        if mant & (1 << 61) != 0 {
            mant >>= 1;
            exp += 1;
        }
    }
    let upper = conv == 'X';
    let hex = |d: u64| {
        let c = std::char::from_digit(d as u32, 16).unwrap_or('0');
        if upper {
            c.to_ascii_uppercase()
        } else {
            c
        }
    };
    let mut out = String::new();
    if v.is_sign_negative() {
        out.push('-');
    }
    out.push('0');
    out.push(conv);
    out.push(if (mant >> 60) & 1 == 1 { '1' } else { '0' });
    mant <<= 4;
    match prec {
        None if mant != 0 => {
            out.push('.');
            while mant != 0 {
                out.push(hex((mant >> 60) & 15));
                mant <<= 4;
            }
        }
        Some(p) if p > 0 => {
            out.push('.');
            for _ in 0..p {
                out.push(hex((mant >> 60) & 15));
                mant <<= 4;
            }
        }
        _ => {}
    }
    out.push(if upper { 'P' } else { 'p' });
    out.push(if exp < 0 { '-' } else { '+' });
    out.push_str(&format!("{:02}", exp.unsigned_abs()));
    out
}

/// Go's `#` flag on a float: a decimal point always, and trailing zeros kept up to the
/// precision for `%g` (6 by default).
fn sharp_float(num: &str, conv: char, prec: Option<usize>) -> String {
    let mut digits: i64 = match conv {
        'g' | 'G' | 'x' => prec.map_or(6, |p| p as i64),
        _ => 0,
    };
    let mut body = num.to_string();
    let mut tail = String::new();
    let mut has_point = false;
    let mut saw_nonzero = false;
    for (i, c) in num.char_indices() {
        match c {
            '.' => has_point = true,
            'p' | 'P' => {
                tail = num[i..].to_string();
                body = num[..i].to_string();
                break;
            }
            'e' | 'E' if conv != 'x' && conv != 'X' => {
                tail = num[i..].to_string();
                body = num[..i].to_string();
                break;
            }
            _ => {
                if c != '0' {
                    saw_nonzero = true;
                }
                if saw_nonzero {
                    digits -= 1;
                }
            }
        }
    }
    if !has_point {
        if body == "0" {
            digits -= 1;
        }
        body.push('.');
    }
    while digits > 0 {
        body.push('0');
        digits -= 1;
    }
    body + &tail
}

#[cfg(test)]
mod tests {
    use super::Arg::*;
    use super::*;

    fn s(text: &str) -> Arg {
        Str(text.to_string())
    }

    #[test]
    fn missing_and_extra_arguments_are_written_as_go_writes_them() {
        assert_eq!(
            sprintf("container %s in %s has no limits", &[s("app")]),
            "container app in %!s(MISSING) has no limits"
        );
        assert_eq!(
            sprintf("no verbs", &[Int(1), s("x")]),
            "no verbs%!(EXTRA int=1, string=x)"
        );
        assert_eq!(sprintf("%d %d", &[Int(1)]), "1 %!d(MISSING)");
        assert_eq!(sprintf("%", &[]), "%!(NOVERB)");
        assert_eq!(sprintf("100%%", &[]), "100%");
        assert_eq!(sprintf("%!", &[]), "%!!(MISSING)");
        assert_eq!(sprintf("%.", &[Int(5)]), "%!.(int=5)");
    }

    #[test]
    fn wrong_verbs_name_the_type_and_value() {
        assert_eq!(sprintf("cpu (%d)", &[s("150m")]), "cpu (%!d(string=150m))");
        assert_eq!(sprintf("%s", &[Int(5)]), "%!s(int=5)");
        assert_eq!(sprintf("%t", &[s("true")]), "%!t(string=true)");
        assert_eq!(sprintf("%s", &[Float(1.5)]), "%!s(float64=1.5)");
        assert_eq!(sprintf("%5d", &[s("ab")]), "%!d(string=   ab)");
        assert_eq!(
            sprintf("%T %T %T", &[Int(1), s("a"), Float(0.5)]),
            "int string float64"
        );
    }

    #[test]
    fn flags_width_and_precision() {
        assert_eq!(sprintf("%-5s|", &[s("ab")]), "ab   |");
        assert_eq!(sprintf("%5s|", &[s("ab")]), "   ab|");
        assert_eq!(sprintf("%.2s", &[s("abc")]), "ab");
        assert_eq!(sprintf("%05d", &[Int(-42)]), "-0042");
        assert_eq!(sprintf("%+d % d", &[Int(5), Int(5)]), "+5  5");
        assert_eq!(sprintf("%-05d|", &[Int(7)]), "7    |");
        assert_eq!(sprintf("%.3d", &[Int(7)]), "007");
        assert_eq!(sprintf("%6.3d", &[Int(-7)]), "  -007");
        assert_eq!(sprintf("%.0d|", &[Int(0)]), "|");
        assert_eq!(sprintf("%*d", &[Int(5), Int(42)]), "   42");
        assert_eq!(sprintf("%-*d|", &[Int(4), Int(1)]), "1   |");
        assert_eq!(sprintf("%*d", &[Int(-4), Int(1)]), "1   ");
        assert_eq!(sprintf("%*d", &[s("x"), Int(1)]), "%!(BADWIDTH)1");
        assert_eq!(sprintf("%.*d", &[Int(-1), Int(1)]), "%!(BADPREC)1");
    }

    #[test]
    fn integers_in_other_bases_and_as_characters() {
        assert_eq!(
            sprintf("%x %X %#x", &[Int(255), Int(255), Int(255)]),
            "ff FF 0xff"
        );
        assert_eq!(
            sprintf("%o %#o %O", &[Int(8), Int(8), Int(8)]),
            "10 010 0o10"
        );
        assert_eq!(sprintf("%b %#b", &[Int(5), Int(5)]), "101 0b101");
        assert_eq!(sprintf("%c%c", &[Int(72), Int(0x00e9)]), "Hé");
        assert_eq!(
            sprintf("%U %#U", &[Int(0x1F600), Int(65)]),
            "U+1F600 U+0041 'A'"
        );
        assert_eq!(sprintf("%q", &[Int(65)]), "'A'");
        assert_eq!(sprintf("%08x", &[Int(-255)]), "-00000ff");
    }

    #[test]
    fn strings_quoted_and_in_hexadecimal() {
        assert_eq!(sprintf("%q", &[s("a\"b\n")]), r#""a\"b\n""#);
        assert_eq!(sprintf("%#q", &[s("a\"b")]), "`a\"b`");
        assert_eq!(sprintf("%+q", &[s("é")]), r#""\u00e9""#);
        assert_eq!(sprintf("%q", &[s("é\u{1}")]), r#""é\x01""#);
        assert_eq!(sprintf("%x", &[s("hi")]), "6869");
        assert_eq!(sprintf("% x", &[s("hi")]), "68 69");
        assert_eq!(sprintf("%# X", &[s("hi")]), "0X68 0X69");
        assert_eq!(sprintf("%#v", &[s("hi")]), r#""hi""#);
    }

    #[test]
    fn floats_as_strconv_writes_them() {
        assert_eq!(sprintf("%v", &[Float(1.5)]), "1.5");
        assert_eq!(sprintf("%v", &[Float(1e-7)]), "1e-07");
        assert_eq!(sprintf("%v", &[Float(1234567.5)]), "1.2345675e+06");
        assert_eq!(sprintf("%v", &[Float(123456.5)]), "123456.5");
        assert_eq!(sprintf("%v", &[Float(0.0001)]), "0.0001");
        assert_eq!(sprintf("%v", &[Float(0.00001)]), "1e-05");
        assert_eq!(sprintf("%e", &[Float(1234.5678)]), "1.234568e+03");
        assert_eq!(sprintf("%E", &[Float(-0.5)]), "-5.000000E-01");
        assert_eq!(sprintf("%f", &[Float(0.1)]), "0.100000");
        assert_eq!(sprintf("%5.2f|", &[Float(1.23456)]), " 1.23|");
        assert_eq!(sprintf("%08.3f", &[Float(-1.23456)]), "-001.235");
        assert_eq!(sprintf("%+.1f", &[Float(2.25)]), "+2.2");
        assert_eq!(sprintf("%.1f", &[Float(0.25)]), "0.2");
        assert_eq!(sprintf("%.3g", &[Float(1234.5)]), "1.23e+03");
        assert_eq!(sprintf("%.3g", &[Float(0.5)]), "0.5");
        assert_eq!(sprintf("%g", &[Float(100000.5)]), "100000.5");
        assert_eq!(sprintf("%6.2v|", &[Float(1.23456)]), "   1.2|");
        assert_eq!(sprintf("%#g", &[Float(1.5)]), "1.50000");
        assert_eq!(sprintf("%#.0f", &[Float(2.5)]), "2.");
        assert_eq!(sprintf("%d", &[Float(1.5)]), "%!d(float64=1.5)");
        assert_eq!(sprintf("%b", &[Float(1.5)]), "6755399441055744p-52");
        assert_eq!(sprintf("%x", &[Float(3.0 / 2.0)]), "0x1.8p+00");
        assert_eq!(sprintf("%.1x", &[Float(1.0 / 3.0)]), "0x1.5p-02");
    }

    #[test]
    fn explicit_argument_indexes() {
        assert_eq!(sprintf("%[2]s %[1]s", &[s("a"), s("b")]), "b a");
        assert_eq!(sprintf("%[3]s", &[s("a")]), "%!s(BADINDEX)");
        assert_eq!(sprintf("%[1]s %s", &[s("a"), s("b")]), "a b");
        // Reordered formats report no extra arguments.
        assert_eq!(sprintf("%[1]s", &[s("a"), s("b")]), "a");
        assert_eq!(sprintf("%[x]d", &[Int(1)]), "%!d(BADINDEX)");
    }

    #[test]
    fn big_integers_format_themselves() {
        let big = Big("123456789012345678901234567890".to_string());
        assert_eq!(
            sprintf("%d", std::slice::from_ref(&big)),
            "123456789012345678901234567890"
        );
        assert_eq!(
            sprintf("%s", std::slice::from_ref(&big)),
            "123456789012345678901234567890"
        );
        assert_eq!(
            sprintf("%x", &[Big("18446744073709551616".to_string())]),
            "10000000000000000"
        );
        assert_eq!(
            sprintf("%c", &[Big("18446744073709551616".to_string())]),
            "%!c(big.Int=18446744073709551616)"
        );
        assert_eq!(sprintf("%T", &[big]), "*big.Int");
    }

    #[test]
    fn other_values_arrive_as_their_rego_text() {
        let value: regorus::Value =
            regorus::Value::from_json_str(r#"{"b": [1, "x", null, true], "a": {}}"#).unwrap();
        assert_eq!(
            term_string(&value),
            r#"{"a": {}, "b": [1, "x", null, true]}"#
        );
        let arg = Arg::from_value(&value);
        assert_eq!(
            sprintf("%d", &[arg]),
            r#"%!d(string={"a": {}, "b": [1, "x", null, true]})"#
        );
        assert_eq!(term_string(&regorus::Value::new_set()), "set()");
        assert_eq!(Arg::from_value(&regorus::Value::from(7i64)), Int(7));
        assert_eq!(Arg::from_value(&regorus::Value::from(2.5f64)), Float(2.5));
        assert_eq!(Arg::from_value(&regorus::Value::from(4.0f64)), Int(4));
        let large = Arg::from_value(&regorus::Value::from(1e21f64));
        assert_eq!(sprintf("%v", &[large]), "1e+21");
        // 2^64 read from an input document (a float to the engine): OPA's `*big.Int` of
        // the decimal Go's JSON writes.
        let input = regorus::Value::from_json_str("18446744073709551616").unwrap();
        assert_eq!(
            sprintf("%d", &[Arg::from_value(&input)]),
            "18446744073709552000"
        );
    }
}
