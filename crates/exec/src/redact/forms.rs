//! Every form a tool or template is known to write a sensitive value in (see the parent
//! module's documentation for why each one).

/// How many of [`of`]'s first forms a value of several words may stand in wrapped across
/// lines: itself, YAML's single- and double-quoted forms, in capitals and in lower case (as
/// Rust and as Go change case).
pub(super) const OF_SEVERAL_WORDS: usize = 7;

/// Every form of `text` to search for: the [`OF_SEVERAL_WORDS`] that may be wrapped first.
pub(super) fn of(text: &str) -> Vec<String> {
    use base64::Engine;
    let escape = |text: &str| {
        let quoted = serde_json::to_string(text).expect("string");
        quoted[1..quoted.len() - 1].to_string()
    };
    let escaped = escape(text);
    let go_escaped = escaped
        .replace('&', "\\u0026")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029");
    let mut forms = vec![
        text.to_string(),
        // YAML's single-quoted form (`toYaml` of a value with `: ` or a quote in it).
        text.replace('\'', "''"),
        // YAML's double-quoted form (`toYaml` of a value with a tab or a control
        // character: `\t`, `\a`).
        yaml_double_quoted(text),
        // `upper` and `lower` in a template, terraform's `upper()`: Go changes the case of
        // each character on its own (`ß` stays, a final `Σ` becomes `σ`).
        text.to_uppercase(),
        text.to_lowercase(),
        go_case(text, true),
        go_case(text, false),
        // Escaped twice: a JSON document in a quoted string (`toJson | quote`).
        escape(&escaped),
        escape(&go_escaped),
        escaped.clone(),
        go_escaped.clone(),
        // Go's `%q` (helm's `quote`): what it does not print as `\u00a0`, `\x1b`.
        go_quoted(text),
        // The JSON schema validator helm runs on values quotes a value it reports that way,
        // then between single quotes: `"` left as it is, `'` escaped (`'it\'s'`).
        go_quoted(text).replace("\\\"", "\"").replace('\'', "\\'"),
        base64::engine::general_purpose::STANDARD.encode(text),
        percent_encoded(text, "+"),
        percent_encoded(text, "%20"),
    ];
    // YAML's quoted forms quoted again by Go's `%q` (`toYaml | quote` of a map holding
    // the value: `'it''s \\ here'` in a double-quoted string).
    for form in [text.replace('\'', "''"), yaml_double_quoted(text)] {
        if form != text {
            forms.push(go_quoted(&form));
        }
    }
    forms.extend(go_exponent_form(text));
    if text.contains('\n') {
        // A part of a value of several lines used on its own: only the words that look like
        // a credential (a line of a PEM key, a token in a kubeconfig). Its other lines
        // (`apiVersion: v1`, `kind: Config`) are those of every render.
        forms.extend(
            text.split_whitespace()
                .filter(|word| super::looks_like_a_credential(word))
                .map(str::to_string),
        );
    }
    // Each form inside a text encoded as a whole (`toJson | b64enc`, `toYaml | b64enc`,
    // `toJson | quote | b64enc` of a map holding the value, `nindent 4 | b64enc` of a key
    // of several lines): the part of the base64 only the form's bytes determine.
    let mut distinct: Vec<&String> = forms.iter().collect();
    distinct.sort_unstable();
    distinct.dedup();
    let encoded: Vec<String> = distinct
        .into_iter()
        .flat_map(|form| base64_cores(form.as_bytes()))
        .collect();
    forms.extend(encoded);
    forms
}

/// `text` in upper or lower case as Go's `strings.ToUpper` and `ToLower` write it: each
/// character mapped on its own to one character (Unicode's simple case mapping), kept when
/// its case has no single character.
pub(super) fn go_case(text: &str, upper: bool) -> String {
    text.chars()
        .map(|c| {
            let mut mapped: Vec<char> = if upper {
                c.to_uppercase().collect()
            } else {
                c.to_lowercase().collect()
            };
            match (c, mapped.len()) {
                (_, 1) => mapped.remove(0),
                // Capital I with a dot above: simply `i` (in full, `i` and a combining dot).
                ('\u{130}', _) => 'i',
                _ => c,
            }
        })
        .collect()
}

/// The inside of `text` quoted as Go's `strconv.Quote` (`%q`) writes it (see
/// [`strata_graph::text::go_escaped`]).
pub(super) fn go_quoted(text: &str) -> String {
    strata_graph::text::go_escaped(text, '"', false)
}

/// The inside of `text` in YAML's double-quoted style, as go-yaml (helm's `toYaml`) writes
/// it: `"` and `\` escaped, and every character it does not print (controls, a line break,
/// a byte-order mark, a character beyond the Basic Multilingual Plane) as an escape.
pub(super) fn yaml_double_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let printable = matches!(c, '\u{20}'..='\u{7e}')
            || matches!(c, '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
                && !matches!(c, '\u{feff}' | '\u{2028}' | '\u{2029}');
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            _ if printable => out.push(c),
            '\0' => out.push_str("\\0"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{b}' => out.push_str("\\v"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if (c as u32) <= 0xff => out.push_str(&format!("\\x{:02X}", c as u32)),
            c if (c as u32) <= 0xffff => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push_str(&format!("\\U{:08X}", c as u32)),
        }
    }
    out
}

/// The shortest part of a base64 encoding searched for inside a longer encoding.
const MIN_BASE64_CORE: usize = 8;

/// A number as Go's `%v` prints it as a float in exponent form (`7.3104529e+07`): the
/// shortest mantissa, and an exponent with a sign and at least two digits.
pub(super) fn go_exponent_form(text: &str) -> Option<String> {
    let value: f64 = text.trim().parse().ok()?;
    if !value.is_finite() {
        return None;
    }
    let rust = format!("{value:e}");
    let (mantissa, exp) = rust.split_once('e')?;
    let exp: i32 = exp.parse().ok()?;
    let sign = if exp < 0 { '-' } else { '+' };
    Some(format!("{mantissa}e{sign}{:02}", exp.abs()))
}

/// `text` percent-encoded as a URL query or path component: every byte but the unreserved
/// ones (`A-Z a-z 0-9 - _ . ~`) as `%XX`, a space as `space`.
pub(super) fn percent_encoded(text: &str, space: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            b' ' => out.push_str(space),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The base64 characters that `value`'s bytes alone determine when it is encoded inside a
/// longer string, for each of the three positions it can start at within a three-byte
/// group: the characters that also hold bits of the bytes before or after it are left out
/// (at most one at each end, four bits of the value).
fn base64_cores(value: &[u8]) -> Vec<String> {
    use base64::Engine;
    let mut cores = Vec::new();
    for offset in 0..3usize {
        let mut bytes = vec![0u8; offset];
        bytes.extend_from_slice(value);
        let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
        // Each character holds six bits: in the first group, the value's bits start at bit
        // 8 * offset, so characters from (8 * offset + 5) / 6 on hold only them; in a
        // last group holding r of the value's bytes, the first (8 * r) / 6 characters do.
        let start = (8 * offset).div_ceil(6);
        let end = match bytes.len() % 3 {
            0 => encoded.len(),
            r => encoded.len() - 4 + (8 * r) / 6,
        };
        if end >= start + MIN_BASE64_CORE {
            cores.push(encoded[start..end].to_string());
        }
    }
    cores
}
