//! One secret value, as the bytes that get encrypted, and as JSON for the tools.

use toml::{Table, Value};

/// A value as a one-line TOML document, `v = …`: every TOML type round-trips.
pub(crate) fn encode(value: &Value) -> Vec<u8> {
    let mut t = Table::new();
    t.insert("v".into(), value.clone());
    toml::to_string(&t)
        .expect("a TOML value serializes")
        .into_bytes()
}

pub(crate) fn decode(bytes: &[u8]) -> Option<Value> {
    std::str::from_utf8(bytes)
        .ok()?
        .parse::<Table>()
        .ok()?
        .remove("v")
}

/// A TOML value as JSON (dates as their TOML text), as terraform variables and chart values
/// take it.
pub fn to_json(value: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        Value::String(s) => J::String(s.clone()),
        Value::Integer(i) => J::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        Value::Boolean(b) => J::Bool(*b),
        Value::Datetime(d) => J::String(d.to_string()),
        Value::Array(a) => J::Array(a.iter().map(to_json).collect()),
        Value::Table(t) => J::Object(t.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
    }
}
