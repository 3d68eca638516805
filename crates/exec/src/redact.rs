//! Sensitive values a task handles, and their removal from everything the task produces.
//!
//! A value is sensitive when terraform marks it so (a sensitive output read by another
//! target), when it comes from a secrets file, or when it was derived from either. Tools
//! redact what they know is sensitive (terraform's `(sensitive value)`), but a value that
//! crossed from one target to another, or went through a template, can appear anywhere in
//! their output. So every task result passes through [`Redactor::redact_step`] before it
//! is cached, reported or read by another task: each sensitive value is replaced, in its
//! plain, JSON-escaped and base64 forms (a Kubernetes Secret's `data`), by
//! [`REDACTED`].
//!
//! Values shorter than [`MIN_SEARCHED`] characters are not searched for in free text (every
//! `1` in a log would go); they are still redacted where they are a whole JSON string.

use serde_json::Value;

/// What replaces a sensitive value.
pub const REDACTED: &str = "(sensitive value)";

/// The shortest value searched for inside text.
pub const MIN_SEARCHED: usize = 3;

/// The sensitive values of one task.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Every form to replace, longest first (so a value containing another is replaced
    /// whole).
    needles: Vec<String>,
    /// Values too short to search for, redacted only as whole JSON strings.
    short: Vec<String>,
}

impl Redactor {
    /// Adds a sensitive value: a string, or every string and number inside a structure.
    pub fn add(&mut self, value: &Value) {
        match value {
            Value::String(s) => self.add_text(s),
            Value::Number(n) => self.add_text(&n.to_string()),
            Value::Bool(_) | Value::Null => {}
            Value::Array(items) => items.iter().for_each(|v| self.add(v)),
            Value::Object(map) => map.values().for_each(|v| self.add(v)),
        }
        if matches!(value, Value::Array(_) | Value::Object(_)) {
            // As a whole too: passed to a tool as JSON text.
            self.add_text(&value.to_string());
        }
    }

    fn add_text(&mut self, text: &str) {
        use base64::Engine;
        if text.chars().count() < MIN_SEARCHED {
            if !text.is_empty() {
                self.short.push(text.to_string());
            }
            return;
        }
        let escaped = serde_json::to_string(text).expect("string");
        let escaped = escaped[1..escaped.len() - 1].to_string();
        let forms = [
            text.to_string(),
            escaped,
            base64::engine::general_purpose::STANDARD.encode(text),
        ];
        for f in forms {
            if !self.needles.contains(&f) {
                self.needles.push(f);
            }
        }
        self.needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
    }

    pub fn is_empty(&self) -> bool {
        self.needles.is_empty() && self.short.is_empty()
    }

    /// `text` with every sensitive value replaced.
    pub fn redact_text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for n in &self.needles {
            if out.contains(n.as_str()) {
                out = out.replace(n.as_str(), REDACTED);
            }
        }
        out
    }

    /// Bytes as text, redacted (tool output is text; invalid UTF-8 is kept lossy).
    pub fn redact_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        if self.is_empty() {
            return bytes.to_vec();
        }
        self.redact_text(&String::from_utf8_lossy(bytes))
            .into_bytes()
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
                    map.insert(self.redact_text(&k), v);
                }
            }
            Value::Number(n) => {
                let text = n.to_string();
                if self.short.contains(&text) || self.needles.contains(&text) {
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
                    map.insert(self.redact_text(&k), v);
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

#[cfg(test)]
mod tests {
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
    fn nothing_to_redact_changes_nothing() {
        let r = Redactor::default();
        assert_eq!(r.redact_bytes(b"\xffok"), b"\xffok");
    }
}
