//! Sensitive values a task handles, and their removal from everything the task produces.
//!
//! A value is sensitive when terraform marks it so (a sensitive output read by another
//! target), when it comes from a secrets file, or when it was derived from either. Tools
//! redact what they know is sensitive (terraform's `(sensitive value)`), but a value that
//! crossed from one target to another, or went through a template, can appear anywhere in
//! their output. So every task result passes through [`Redactor::redact_step`] before it
//! is cached, reported or read by another task: each sensitive value is replaced by
//! [`REDACTED`] in every form a tool or template is known to write it in:
//! - plain; of a value of several lines, also each word of it that looks like a credential
//!   (see below) on its own, such as a line of a PEM key or a kubeconfig's token (its other
//!   lines, `apiVersion: v1`, are those of every render; the whole value indented by
//!   `nindent` is found wrapped, below);
//! - JSON-escaped the way serde writes strings, and the way Go's `encoding/json` does
//!   (helm's `toJson`: `&`, `<` and `>` as `\u0026`, `\u003c`, `\u003e`), and each of
//!   these escaped once more (a JSON document inside a quoted string: `toJson | quote`);
//! - YAML's single-quoted form, with each `'` doubled (`toYaml` quotes a value holding
//!   `: ` or a quote that way);
//! - upper and lower case (`upper`/`lower` in a template, terraform's `upper()`), as Rust
//!   changes case and as Go does (character by character: `ß` stays, a final `Σ` becomes
//!   `σ`);
//! - quoted as Go's `%q` writes it (helm's `quote`): a no-break space as `\u00a0`, an escape
//!   character as `\x1b`;
//! - a number as Go prints a float in exponent form (helm reads every number in values as
//!   a float: `{{ .Values.pin }}` of 73104529 writes `7.3104529e+07`);
//! - percent-encoded, with a space as `+` (helm's `urlquery`, terraform's `urlencode`) and
//!   as `%20` (a password inside a connection URL);
//! - base64 (a Kubernetes Secret's `data`), of the value alone and inside a longer string
//!   (`printf "%s:%s" .user .password | b64enc`): base64 maps each group of three bytes to
//!   four characters, so the characters that only the value's bytes determine are the same
//!   wherever the value starts, for each of the three positions it can start at within a
//!   group. Only the character at each end that also holds bits of the text around it is
//!   left (at most four bits of the value each).
//!
//! - wrapped: a value of several words, split across lines at its spaces, any Unicode space
//!   (terraform wraps
//!   the messages that quote a value at about 78 columns; helm's `toYaml` folds a long
//!   string onto an indented next line), each line break with any indentation and a
//!   terraform diagnostic's `│` margin.
//!
//! The keys of a sensitive map are sensitive too (terraform hides them as well), but most
//! keys are a field's name (`password`, `host`, `app.kubernetes.io/name`, `0`): searched
//! for, they would be taken out of every object of a render or plan. So a key is searched
//! for only when it looks like a credential: at least 10 characters mixing three of lower
//! case, capitals, digits and other signs (`_ - . / :` aside), or at least 20 characters
//! with letters and digits and no `.` or `/` (a hex or base32 token).
//!
//! Values shorter than [`MIN_SEARCHED`] characters, and the words YAML reads as a boolean or
//! null (`true`, `no`, `null`, ...), which tell nothing, are not searched for in free text:
//! every `1` in a log would go, and every `privileged: true` in a render, hiding it from the
//! policies that read the render. They are still redacted where they are a whole JSON
//! string.

pub mod diagnostics;
mod forms;
mod wrapped;

use serde_json::Value;
use wrapped::Wrapped;

/// What replaces a sensitive value.
pub const REDACTED: &str = "(sensitive value)";

/// The shortest value searched for inside text.
pub const MIN_SEARCHED: usize = 3;

/// The sensitive values of one task.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Every form to replace.
    needles: std::collections::HashSet<String>,
    /// The needles in one automaton, made when first needed after a change.
    matcher: std::sync::OnceLock<Matcher>,
    /// Values too short to search for, redacted only as whole JSON strings.
    short: Vec<String>,
    /// Each form of several words, matched across line breaks.
    wrapped: Vec<Wrapped>,
}

/// The needles, and one automaton finding all of them in a single pass over a text (a plan
/// of thousands of resources and a value of thousands of words would otherwise take every
/// needle once per string).
#[derive(Debug, Clone)]
struct Matcher {
    needles: Vec<String>,
    automaton: Option<aho_corasick::AhoCorasick>,
}

/// Needles shorter than this are not searched for inside an object's key, most often the
/// document's own structure: a sensitive `root` or `act` would otherwise rewrite
/// `root_module` and `actions` in every plan a policy reads. (A key that is such a value
/// as a whole still goes.) In text and in strings they are searched for everywhere: a
/// template writing `pin{{ .pin }}` must not put the value in the cache.
pub const SEARCHED_IN_KEYS_FROM: usize = 8;

/// The words YAML (1.1, as helm and Kubernetes read it) takes for a boolean or null.
const YAML_WORDS: &[&str] = &[
    "true", "false", "yes", "no", "on", "off", "null", "~", "y", "n",
];

/// Whether a value is searched for inside text: at least [`MIN_SEARCHED`] characters, and
/// no word YAML reads as a boolean or null. A value that is not is redacted only where it
/// is a whole JSON string.
pub fn is_searched(text: &str) -> bool {
    text.chars().count() >= MIN_SEARCHED
        && !YAML_WORDS.contains(&text.trim().to_lowercase().as_str())
}

impl Redactor {
    /// Adds a sensitive value: a string, or every string and number inside a structure.
    pub fn add(&mut self, value: &Value) {
        match value {
            Value::String(s) => self.add_text(s),
            Value::Number(n) => self.add_text(&n.to_string()),
            Value::Bool(_) | Value::Null => {}
            Value::Array(items) => items.iter().for_each(|v| self.add(v)),
            Value::Object(map) => {
                for (k, v) in map {
                    if looks_like_a_credential(k) {
                        self.add_text(k);
                    }
                    self.add(v);
                }
            }
        }
        if matches!(value, Value::Array(_) | Value::Object(_)) {
            // As a whole too: passed to a tool as JSON text.
            self.add_text(&value.to_string());
        }
    }

    fn add_text(&mut self, text: &str) {
        if !is_searched(text) {
            if !text.is_empty() {
                self.short.push(text.to_string());
            }
            return;
        }
        let forms = forms::of(text);
        for f in forms.iter().take(forms::OF_SEVERAL_WORDS) {
            self.add_wrapped(f);
        }
        let before = self.needles.len();
        self.needles.extend(
            forms
                .into_iter()
                .filter(|f| f.chars().count() >= MIN_SEARCHED),
        );
        if self.needles.len() != before {
            self.matcher = std::sync::OnceLock::new();
        }
    }

    fn matcher(&self) -> &Matcher {
        self.matcher.get_or_init(|| {
            let needles: Vec<String> = self.needles.iter().cloned().collect();
            let automaton = (!needles.is_empty()).then(|| {
                aho_corasick::AhoCorasick::new(&needles).expect("needles make an automaton")
            });
            Matcher { needles, automaton }
        })
    }

    /// Remembers the words of `form` when it has several, to be found wrapped.
    fn add_wrapped(&mut self, form: &str) {
        if let Some(wrapped) = Wrapped::of(form) {
            if !self.wrapped.contains(&wrapped) {
                self.wrapped.push(wrapped);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.needles.is_empty() && self.short.is_empty()
    }

    /// `text` with every sensitive value replaced.
    pub fn redact_text(&self, text: &str) -> String {
        // Wrapped values and needles alike give ranges, replaced in one pass: a value of
        // several lines goes whole, and so does another value overlapping it.
        let mut ranges = self.ranges(text, true);
        for wrapped in &self.wrapped {
            ranges.extend(wrapped.ranges(text));
        }
        replace_ranges(text, ranges)
    }

    /// An object's key: replaced whole when it is a sensitive value, and otherwise only the
    /// values of [`SEARCHED_IN_KEYS_FROM`] characters or more inside it (a key is most often
    /// the document's own structure: `type`, `add`, `root_module`).
    fn redact_key(&self, key: &str) -> String {
        if self.needles.contains(key) || self.short.iter().any(|s| s == key) {
            return REDACTED.to_string();
        }
        self.replace(key, false)
    }

    /// `text` with every range a needle covers replaced, in one pass (the needles shorter
    /// than [`SEARCHED_IN_KEYS_FROM`] too, or not): the ranges of all matches, overlapping
    /// ones joined, so no part of a longer value is left beside a shorter one found inside
    /// it.
    fn replace(&self, text: &str, short_too: bool) -> String {
        replace_ranges(text, self.ranges(text, short_too))
    }

    /// The ranges of `text` a needle covers (the needles shorter than
    /// [`SEARCHED_IN_KEYS_FROM`] too, or not).
    fn ranges(&self, text: &str, short_too: bool) -> Vec<(usize, usize)> {
        let matcher = self.matcher();
        let Some(automaton) = &matcher.automaton else {
            return Vec::new();
        };
        automaton
            .find_overlapping_iter(text)
            .filter(|m| {
                short_too
                    || matcher.needles[m.pattern().as_usize()].chars().count()
                        >= SEARCHED_IN_KEYS_FROM
            })
            .map(|m| (m.start(), m.end()))
            .collect()
    }

    /// Bytes as text, redacted (tool output is text; invalid UTF-8 is kept lossy). NUL
    /// characters go first: a tool quoting a UTF-16 file's line writes a value with a NUL
    /// after each letter, which no needle matches, and which reads whole once the NULs
    /// are dropped for display.
    pub fn redact_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        if self.is_empty() {
            return bytes.to_vec();
        }
        let text = String::from_utf8_lossy(bytes);
        let text = if text.contains('\0') {
            std::borrow::Cow::Owned(text.replace('\0', ""))
        } else {
            text
        };
        self.redact_text(&text).into_bytes()
    }

    /// A JSON value with every sensitive value replaced inside its strings (and strings
    /// that are a short sensitive value replaced whole).
    pub fn redact_json(&self, value: &mut Value) {
        match value {
            Value::String(s) => {
                if self.short.contains(s) {
                    *s = REDACTED.to_string();
                } else {
                    *s = self.redact_text(s);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.redact_json(v)),
            Value::Object(map) => {
                // Keys can carry values too (a map keyed by a secret).
                let entries = std::mem::take(map);
                for (k, mut v) in entries {
                    self.redact_json(&mut v);
                    map.insert(self.redact_key(&k), v);
                }
            }
            Value::Number(n) => {
                // Not a short one: every 0 and 1 of a plan would go.
                let text = n.to_string();
                if self.needles.contains(&text) {
                    *value = Value::String(REDACTED.to_string());
                }
            }
            Value::Bool(_) | Value::Null => {}
        }
    }

    /// A typed value (a summary) with every sensitive value replaced inside its strings
    /// (counts and other numbers are kept: they are not values a tool was given). A value
    /// that no longer fits its type after that is replaced by its default, never kept.
    pub fn redact_typed<T>(&self, value: &mut T)
    where
        T: serde::Serialize + serde::de::DeserializeOwned + Default,
    {
        if self.is_empty() {
            return;
        }
        let Ok(mut json) = serde_json::to_value(&*value) else {
            *value = T::default();
            return;
        };
        self.redact_strings(&mut json);
        *value = serde_json::from_value(json).unwrap_or_default();
    }

    /// Like [`Redactor::redact_json`], strings only.
    fn redact_strings(&self, value: &mut Value) {
        match value {
            Value::Number(_) => {}
            Value::Array(items) => items.iter_mut().for_each(|v| self.redact_strings(v)),
            Value::Object(map) => {
                let entries = std::mem::take(map);
                for (k, mut v) in entries {
                    self.redact_strings(&mut v);
                    map.insert(self.redact_key(&k), v);
                }
            }
            other => self.redact_json(other),
        }
    }

    /// Redacts named outputs (JSON documents through their strings, text otherwise).
    pub fn redact_blobs(&self, blobs: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        if self.is_empty() {
            return;
        }
        for blob in blobs.values_mut() {
            *blob = match serde_json::from_slice::<Value>(blob) {
                Ok(mut json) => {
                    self.redact_json(&mut json);
                    serde_json::to_vec(&json).expect("json")
                }
                Err(_) => self.redact_bytes(blob),
            };
        }
    }
}

/// Whether a key of a sensitive map looks like a credential rather than a field's name (see
/// the module's documentation).
fn looks_like_a_credential(key: &str) -> bool {
    let has = |f: fn(char) -> bool| key.chars().any(f);
    let lower = has(|c| c.is_lowercase());
    let upper = has(|c| c.is_uppercase());
    let digit = has(|c| c.is_ascii_digit());
    let sign = has(|c| !c.is_alphanumeric() && !matches!(c, '_' | '-' | '.' | '/' | ':'));
    let classes = [lower, upper, digit, sign].iter().filter(|&&b| b).count();
    let len = key.chars().count();
    (len >= 10 && classes >= 3)
        || (len >= 20 && digit && (lower || upper) && !key.contains(['.', '/']))
}

/// `text` with every range of `ranges` replaced, overlapping ones joined, so no part of a
/// longer value is left beside a shorter one found inside it.
fn replace_ranges(text: &str, mut ranges: Vec<(usize, usize)>) -> String {
    if ranges.is_empty() {
        return text.to_string();
    }
    ranges.sort_unstable();
    let mut joined: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        match joined.last_mut() {
            Some(last) if start < last.1 => last.1 = last.1.max(end),
            _ => joined.push((start, end)),
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    for (start, end) in joined {
        out.push_str(&text[done..start]);
        out.push_str(REDACTED);
        done = end;
    }
    out.push_str(&text[done..]);
    out
}

#[cfg(test)]
mod tests {
    use super::forms::*;
    use super::*;
    use serde_json::json;

    #[test]
    fn every_form_of_a_value_is_replaced() {
        let mut r = Redactor::default();
        r.add(&json!("s3cr3t-\"pw\""));
        let log = "password = s3cr3t-\"pw\"\njson: \"s3cr3t-\\\"pw\\\"\"\nb64: czNjcjN0LSJwdyI=\n";
        let out = r.redact_text(log);
        assert!(!out.contains("s3cr3t"), "{out}");
        assert!(!out.contains("czNjcjN0LSJwdyI="), "{out}");
        assert_eq!(out.matches(REDACTED).count(), 3, "{out}");
    }

    /// A tool quoting a UTF-16 line writes a NUL after each letter: the value is found once
    /// they are dropped, and never shows whole.
    #[test]
    fn a_value_spelled_with_nuls_between_its_letters_is_replaced() {
        let mut r = Redactor::default();
        r.add(&json!("s3cr3t-utf16"));
        let mut log = b"  1: ".to_vec();
        for c in "db_password = \"s3cr3t-utf16\"".bytes() {
            log.extend_from_slice(&[c, 0]);
        }
        let out = String::from_utf8(r.redact_bytes(&log)).unwrap();
        assert!(!out.contains("s3cr3t"), "{out:?}");
        assert!(out.contains("db_password"), "{out:?}");
    }

    #[test]
    fn case_changed_and_url_encoded_forms_are_replaced() {
        let mut r = Redactor::default();
        r.add(&json!("Pa ss/w0rd@db"));
        let log = "upper: PA SS/W0RD@DB\nlower: pa ss/w0rd@db\nquery: ?p=Pa+ss%2Fw0rd%40db\nurl: postgres://app:Pa%20ss%2Fw0rd%40db@host/x\n";
        let out = r.redact_text(log);
        for leaked in ["PA SS", "pa ss", "Pa+ss", "Pa%20ss", "w0rd", "W0RD"] {
            assert!(!out.contains(leaked), "{leaked} in {out}");
        }
        assert_eq!(out.matches(REDACTED).count(), 4, "{out}");
        assert_eq!(percent_encoded("a b~é", "+"), "a+b~%C3%A9");
    }

    #[test]
    fn case_changed_as_go_changes_it() {
        // Go maps each character on its own: `ß` has no single capital, a final `Σ` is `σ`.
        assert_eq!(go_case("Straße-Κωδικός", true), "STRAßE-ΚΩΔΙΚΌΣ");
        assert_eq!(go_case("ΚΩΔΙΚΟΣ", false), "κωδικοσ");
        assert_eq!(go_case("İx", false), "ix");
        let mut r = Redactor::default();
        r.add(&json!("Straße-ΚΩΔΙΚΟΣ-7c1f"));
        let out = r.redact_text("up: STRAßE-ΚΩΔΙΚΟΣ-7C1F\nlow: straße-κωδικοσ-7c1f\n");
        assert_eq!(out, format!("up: {REDACTED}\nlow: {REDACTED}\n"));
    }

    #[test]
    fn go_quoted_form_is_replaced() {
        assert_eq!(
            go_quoted("a\u{a0}b\u{1b}c\"\\\u{200b}\u{1F600}\u{e000}"),
            "a\\u00a0b\\x1bc\\\"\\\\\\u200b\u{1F600}\\ue000"
        );
        let mut r = Redactor::default();
        r.add(&json!("Pass\u{a0}phrase-7c1f-Zq"));
        let out = r.redact_text("pw: \"Pass\\u00a0phrase-7c1f-Zq\"\n");
        assert_eq!(out, format!("pw: \"{REDACTED}\"\n"));
        // helm's values schema check: Go-quoted, `'` escaped and `"` not, in single quotes.
        let mut r = Redactor::default();
        r.add(&json!("S3CR3T'Ap9\"Xw\tz"));
        let out = r.redact_text("- at '/api_token': 'S3CR3T\\'Ap9\"Xw\\tz' does not match\n");
        assert_eq!(
            out,
            format!("- at '/api_token': '{REDACTED}' does not match\n")
        );
    }

    #[test]
    fn a_value_of_several_lines_keeps_ordinary_lines_of_a_render() {
        // A kubeconfig: its first lines are those of every manifest.
        let token = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEyMyJ9";
        let mut r = Redactor::default();
        r.add(&json!(format!(
            "apiVersion: v1\nkind: Config\nusers:\n- name: ci\n  user:\n    token: {token}\n"
        )));
        let render = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ci\n";
        assert_eq!(r.redact_text(render), render);
        // A credential-looking word of it, used on its own, and the whole value indented.
        let out = r.redact_text(&format!("auth: Bearer {token}\n"));
        assert_eq!(out, format!("auth: Bearer {REDACTED}\n"));
        let out = r.redact_text(&format!(
            "data: |\n    apiVersion: v1\n    kind: Config\n    users:\n    - name: ci\n      user:\n        token: {token}\nnext: 1\n"
        ));
        assert_eq!(out, format!("data: |\n    {REDACTED}\nnext: 1\n"));
    }

    #[test]
    fn a_value_with_a_blank_line_indented_goes_whole() {
        let mut r = Redactor::default();
        r.add(&json!(
            "[db]\nuser = app\n\npassword = correct-horse-battery-staple\n"
        ));
        let render = "data:\n  app.ini: |\n    [db]\n    user = app\n    \n    password = correct-horse-battery-staple\nnext: 1\n";
        let out = r.redact_text(render);
        assert!(!out.contains("correct-horse"), "{out}");
        assert_eq!(
            out,
            format!("data:\n  app.ini: |\n    {REDACTED}\nnext: 1\n")
        );
        let bare = render.replace("\n    \n", "\n\n");
        assert!(!r.redact_text(&bare).contains("correct-horse"));
    }

    #[test]
    fn a_no_break_space_in_a_folded_value_goes_with_it() {
        let mut r = Redactor::default();
        r.add(&json!(
            "lorem ipsum dolor sit amet consectetur Qz7pass phrase\u{a0}Qz7tail word"
        ));
        let folded =
            "pw: lorem ipsum dolor sit amet consectetur Qz7pass\n  phrase\u{a0}Qz7tail word\n";
        assert_eq!(r.redact_text(folded), format!("pw: {REDACTED}\n"));
    }

    #[test]
    fn yaml_line_breaks_beyond_ascii_separate_words() {
        let mut r = Redactor::default();
        r.add(&json!("Qz7www\u{85}Qz7xxx"));
        r.add(&json!("Qz7uuu\u{2028}Qz7vvv"));
        // helm's toYaml: NEL written as a space; a line separator followed by indentation.
        let out = r.redact_text("a: Qz7www Qz7xxx\nb: 'Qz7uuu\u{2028}  Qz7vvv'\n");
        assert_eq!(out, format!("a: {REDACTED}\nb: '{REDACTED}'\n"));
    }

    #[test]
    fn a_wrapped_value_and_another_overlapping_it_go_together() {
        let mut r = Redactor::default();
        r.add(&json!("alpha beta"));
        r.add(&json!("beta-Gamma-9xq"));
        assert_eq!(
            r.redact_text("x alpha beta-Gamma-9xq y"),
            format!("x {REDACTED} y")
        );
        // Wrapped after a line long enough for a tool to have wrapped it.
        let long = "the value given for this argument was not what was expected: x alpha";
        assert_eq!(
            r.redact_text(&format!("{long}\n  beta-Gamma-9xq y")),
            format!("{} {REDACTED} y", &long[..long.len() - "alpha".len() - 1])
        );
    }

    #[test]
    fn a_number_in_go_float_form_is_replaced() {
        assert_eq!(
            go_exponent_form("73104529").as_deref(),
            Some("7.3104529e+07")
        );
        assert_eq!(go_exponent_form("0.00001").as_deref(), Some("1e-05"));
        assert_eq!(go_exponent_form("not a number"), None);
        let mut r = Redactor::default();
        r.add(&json!(73104529));
        let out = r.redact_text("pin: \"7.3104529e+07\"\n");
        assert!(!out.contains("7.3104529"), "{out}");
    }

    #[test]
    fn structures_and_short_values() {
        let mut r = Redactor::default();
        r.add(&json!({"user": "admin-user", "port": 5432, "pin": "42"}));
        let mut doc = json!({
            "env": [{"name": "DB", "value": "admin-user:5432"}],
            "pin": "42",
            "note": "the answer is 42",
            "admin-user": true,
        });
        r.redact_json(&mut doc);
        let text = doc.to_string();
        assert!(!text.contains("admin-user"), "{text}");
        assert!(!text.contains("5432"), "{text}");
        assert_eq!(doc["pin"], REDACTED);
        // Short values are not searched for in free text.
        assert_eq!(doc["note"], "the answer is 42");
    }

    #[test]
    fn each_line_of_a_value_of_several_lines_is_replaced_where_a_template_indents_it() {
        let key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n";
        let mut r = Redactor::default();
        r.add(&json!(key));
        let indented: String = key.lines().map(|l| format!("    {l}\n")).collect();
        let out = r.redact_text(&format!("stringData:\n  tls.key: |\n{indented}"));
        assert!(!out.contains("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"), "{out}");
        assert!(!out.contains("BKcwggSjAgEAAoIBAQC7"), "{out}");
        assert!(out.starts_with("stringData:\n  tls.key: |\n"), "{out}");
    }

    #[test]
    fn yaml_single_quoted_values_are_replaced() {
        let mut r = Redactor::default();
        r.add(&json!("Zq7'Secret: v4lue"));
        let out = r.redact_text("password: 'Zq7''Secret: v4lue'\n");
        assert_eq!(out, format!("password: '{REDACTED}'\n"));
    }

    #[test]
    fn go_json_escapes_are_replaced() {
        let mut r = Redactor::default();
        r.add(&json!("Pw&Secret<42>"));
        let out = r.redact_text(r#"{"password":"Pw\u0026Secret\u003c42\u003e"}"#);
        assert_eq!(out, format!(r#"{{"password":"{REDACTED}"}}"#));
        // The document in a quoted YAML string.
        let out =
            r.redact_text(r#"config.json: "{\"password\":\"Pw\\u0026Secret\\u003c42\\u003e\"}""#);
        assert_eq!(
            out,
            format!(r#"config.json: "{{\"password\":\"{REDACTED}\"}}""#)
        );
    }

    #[test]
    fn base64_of_a_longer_string_holding_the_value_is_replaced_at_every_offset() {
        use base64::Engine;
        let secret = "hunter2-registry-pass";
        let mut r = Redactor::default();
        r.add(&json!(secret));
        for prefix in ["", "r:", "ro:", "robot1:", "robot12:"] {
            for suffix in ["", "!", "!!", "!!!"] {
                let encoded = base64::engine::general_purpose::STANDARD
                    .encode(format!("{prefix}{secret}{suffix}"));
                let out = r.redact_text(&format!("auth: {encoded}"));
                assert!(out.contains(REDACTED), "{prefix}|{suffix}: {out}");
                // What is left is the characters holding the prefix's and the suffix's
                // bits (the one at each end shared with the value among them), and padding.
                let left = out.replace(REDACTED, "").trim_end_matches('=').len() - "auth: ".len();
                let chars = |n: usize| (8 * n).div_ceil(6);
                assert!(
                    left <= chars(prefix.len()) + chars(suffix.len()) + 2,
                    "{prefix}|{suffix}: {out}"
                );
            }
        }
    }

    /// A JSON document holding the value, encoded whole (`toJson | b64enc`): the value's
    /// escaped form is what the base64 holds; and YAML's quoted form quoted again by Go
    /// (`toYaml | quote`). Both used to stay readable in a render.
    #[test]
    fn encoded_documents_holding_the_value_are_replaced() {
        use base64::Engine;
        let secret = "Xy&7pLm9Qz<42>Rt";
        let mut r = Redactor::default();
        r.add(&json!(secret));
        for document in [
            r#"{"db":{"password":"Xy\u00267pLm9Qz\u003c42\u003eRt","user":"app"}}"#,
            r#"{"db":{"password":"Xy&7pLm9Qz<42>Rt","user":"app"}}"#,
        ] {
            let encoded = base64::engine::general_purpose::STANDARD.encode(document);
            let out = r.redact_text(&format!("config.json: {encoded}"));
            assert!(out.contains(REDACTED), "{document}: {out}");
        }
        let quoted = "@Tr0ub'4d\\or-x9";
        let mut r = Redactor::default();
        r.add(&json!(quoted));
        let line = r#"APP_CONFIG: "db:\n  password: '@Tr0ub''4d\\or-x9'""#;
        assert!(
            !r.redact_text(line).contains("Tr0ub"),
            "{}",
            r.redact_text(line)
        );
        // `toYaml | b64enc` of a value YAML quotes, `nindent 4 | b64enc` of a key of several
        // lines.
        let yaml = base64::engine::general_purpose::STANDARD
            .encode("db:\n  password: '@Tr0ub''4d\\or-x9'\n");
        assert!(r.redact_text(&yaml).contains(REDACTED), "{yaml}");
        let key = "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEF\nAASCBKcwggSjAgEAAoIBAQC7S3CRET\n-----END KEY-----";
        let mut r = Redactor::default();
        r.add(&json!(key));
        let indented = base64::engine::general_purpose::STANDARD
            .encode(format!("\n    {}", key.replace('\n', "\n    ")));
        let out = r.redact_text(&indented);
        for part in out.split(REDACTED) {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(part.trim_end_matches('='))
                .unwrap_or_default();
            let decoded = String::from_utf8_lossy(&decoded);
            assert!(
                !decoded.contains("MIIEvQIBADANBgkqhkiG9w0BAQEF")
                    && !decoded.contains("AASCBKcwggSjAgEAAoIBAQC7S3CRET"),
                "{out}"
            );
        }
        assert!(out.contains(REDACTED), "{out}");
    }

    #[test]
    fn a_value_wrapped_across_lines_is_replaced() {
        let mut r = Redactor::default();
        r.add(&json!("correct horse battery staple plain"));
        // terraform's message wrapped at a space (at about 78 columns), and inside a
        // diagnostic's margin.
        let log = "Invalid value for \"path\" parameter: no file exists at correct horse battery\nstaple plain; this function\n";
        assert_eq!(
            r.redact_text(log),
            format!("Invalid value for \"path\" parameter: no file exists at {REDACTED}; this function\n")
        );
        let boxed = "│ The given value is not suitable: no file exists at CORRECT HORSE\n│   BATTERY STAPLE PLAIN.\n";
        assert_eq!(
            r.redact_text(boxed),
            format!("│ The given value is not suitable: no file exists at {REDACTED}.\n")
        );
        // helm's toYaml folding a long string onto an indented line.
        let mut long = Redactor::default();
        long.add(&json!(
            "the quick brown fox jumps over the lazy dog correct horse battery staple plain"
        ));
        let yaml = "  password: the quick brown fox jumps over the lazy dog correct horse battery\r\n      staple plain\n  user: x\n";
        assert_eq!(
            long.redact_text(yaml),
            format!("  password: {REDACTED}\n  user: x\n")
        );
        // A short line's break is the text's own structure, not a wrap: a value of two
        // common words stays apart when one ends a YAML line and the other starts the next
        // key (the render stays YAML).
        let mut words = Redactor::default();
        words.add(&json!("web app"));
        let labels = "labels:\n    tier: web\n    app: orders\n";
        assert_eq!(words.redact_text(labels), labels);
        // Words of the value elsewhere, not in its order, stay.
        let other = "a correct horse\n\nbattery x\n";
        assert_eq!(r.redact_text(other), other);
        // A value holding U+2028 through `toYaml | quote`: YAML breaks the line there and
        // indents the rest, and Go's `%q` escapes the break.
        let mut r = Redactor::default();
        r.add(&json!("CANARY-y2028-Ee55\u{2028}Ff66Gg77Hh88"));
        let quoted = "b: \"'CANARY-y2028-Ee55\\u2028  Ff66Gg77Hh88'\"\n";
        assert_eq!(r.redact_text(quoted), format!("b: \"'{REDACTED}'\"\n"));
        // Words apart by no-break and em spaces: terraform wraps at those too, and keeps
        // the others.
        let mut r = Redactor::default();
        r.add(&json!("alpha7Qz\u{a0}bravo7Qz\u{2003}charlie7Qz delta7Qz"));
        let wrapped = "Output: login failed for the passphrase: alpha7Qz\u{a0}bravo7Qz\ncharlie7Qz delta7Qz\n";
        assert_eq!(
            r.redact_text(wrapped),
            format!("Output: login failed for the passphrase: {REDACTED}\n")
        );
    }

    #[test]
    fn keys_that_are_values_go_names_and_booleans_stay() {
        let mut r = Redactor::default();
        r.add(&json!({
            "KEY-T0ken-Plain-7731": "ci-bot",
            "password": "hunter2-pw",
            "tls": "true",
            "0": "first-item",
            "app.kubernetes.io/name": "web-app",
            "ipv4_cidr_block": "10.1.0.0/16",
            "name": {"deep-S3cr3t-key-99": 1, "a3f9c2e4b5d6a7f8e9d0c1b2": 2}
        }));
        let render = "tokens:\n  KEY-T0ken-Plain-7731: owner\n  deep-S3cr3t-key-99: 1\n  a3f9c2e4b5d6a7f8e9d0c1b2: 2\nmetadata:\n  name: web\n  labels:\n    app.kubernetes.io/name: x\nsecurityContext:\n  privileged: true\nkey: password\nipv4_cidr_block: y\n";
        let out = r.redact_text(render);
        assert!(
            !out.contains("T0ken") && !out.contains("S3cr3t") && !out.contains("a3f9c2"),
            "{out}"
        );
        for kept in [
            "  name: web",
            "app.kubernetes.io/name: x",
            "privileged: true",
            "key: password",
            "ipv4_cidr_block: y",
        ] {
            assert!(out.contains(kept), "{kept} in {out}");
        }
        // A short number (a key `0`, a sensitive `1`) is no reason to hide every 0 in a plan.
        let mut plan = json!({"from_port": 0, "count": 1, "index": 2});
        r.redact_json(&mut plan);
        assert_eq!(plan, json!({"from_port": 0, "count": 1, "index": 2}));
        // As a whole JSON string, "true" still goes.
        let mut doc = json!({"tls": "true", "privileged": true});
        r.redact_json(&mut doc);
        assert_eq!(doc, json!({"tls": REDACTED, "privileged": true}));
    }

    #[test]
    fn helms_double_quoted_and_folded_yaml_is_replaced() {
        // As helm 4.1.4's toYaml writes these values under `indent 4`.
        let values = [
            "Tabbed-2222 correct\thorse battery staple dolphin umbrella lantern violet marble quantum ochre",
            "Spaced-3333\tcorrect  horse  battery  staple  dolphin  umbrella  lantern  violet  marble  quantum  ochre",
            "Bell-4444 correct horse battery staple dolphin umbrella lantern violet marble quantum ochre\u{7}",
        ];
        let render = "    bell: \"Bell-4444 correct horse battery staple dolphin umbrella lantern violet marble\n      quantum ochre\\a\"\n    spaced: \"Spaced-3333\\tcorrect  horse  battery  staple  dolphin  umbrella  lantern\n      \\ violet  marble  quantum  ochre\"\n    tabbed: \"Tabbed-2222 correct\\thorse battery staple dolphin umbrella lantern violet\n      marble quantum ochre\"\n";
        let mut r = Redactor::default();
        for v in values {
            r.add(&json!(v));
        }
        let out = r.redact_text(render);
        assert_eq!(
            out,
            format!("    bell: \"{REDACTED}\"\n    spaced: \"{REDACTED}\"\n    tabbed: \"{REDACTED}\"\n")
        );
        assert_eq!(
            yaml_double_quoted("a\"b\\c\u{1b}\u{2028}é😀"),
            "a\\\"b\\\\c\\e\\Lé\\U0001F600"
        );
    }

    #[test]
    fn a_short_value_never_rewrites_an_objects_keys() {
        let mut r = Redactor::default();
        for v in ["root", "act", "4821", "value"] {
            r.add(&json!(v));
        }
        // The plan's own keys stay, so policies still read its structure.
        let mut plan = json!({
            "planned_values": {"root_module": {"resources": [{"type": "null_resource"}]}},
            "resource_changes": [{"change": {"actions": ["create"], "after": {"user": "root", "pin": "4821"}}}],
        });
        r.redact_json(&mut plan);
        assert!(plan["planned_values"]["root_module"].is_object(), "{plan}");
        let mut keyed = json!({"values": 1, "type": "act"});
        r.redact_json(&mut keyed);
        assert_eq!(keyed, json!({"values": 1, "type": REDACTED}));
        assert_eq!(
            plan["resource_changes"][0]["change"]["actions"],
            json!(["create"])
        );
        assert_eq!(
            plan["resource_changes"][0]["change"]["after"]["user"],
            REDACTED
        );
        assert_eq!(
            plan["resource_changes"][0]["change"]["after"]["pin"],
            REDACTED
        );
        // In text, everywhere (a value a template wrote beside other text is still the
        // value); and what replaced a value is not taken for one.
        assert_eq!(
            r.redact_text("login root as user_root, pin4821, act: value\n"),
            format!("login {REDACTED} as user_{REDACTED}, pin{REDACTED}, {REDACTED}: {REDACTED}\n")
        );
        // A key that is a short value as a whole goes.
        let mut keyed = json!({"4821": "pin", "type_4821": 1});
        r.redact_json(&mut keyed);
        assert_eq!(keyed, json!({REDACTED: "pin", "type_4821": 1}));
    }

    #[test]
    fn nothing_to_redact_changes_nothing() {
        let r = Redactor::default();
        assert_eq!(r.redact_bytes(b"\xffok"), b"\xffok");
    }
}
