//! How results and errors reach the terminal.

use serde::Serialize;
use strata_graph::Error;

/// Version of every JSON document strata prints; fields are only ever added.
pub const SCHEMA_VERSION: u32 = 1;

/// Prints `value` as pretty JSON with a `schema_version` field first.
pub fn print_json<T: Serialize>(value: &T) {
    let mut v = serde_json::to_value(value).expect("output serializes");
    if let serde_json::Value::Object(map) = &mut v {
        let mut with_version = serde_json::Map::new();
        with_version.insert("schema_version".into(), SCHEMA_VERSION.into());
        with_version.extend(std::mem::take(map));
        *map = with_version;
    }
    println!("{}", serde_json::to_string_pretty(&v).expect("json"));
}

/// `error: ...`, `  --> file:line`, `hint: ...` on stderr.
pub fn print_error(err: &Error) {
    eprintln!("error: {err}");
    if let Some(loc) = err.location() {
        eprintln!("  --> {loc}");
    }
    if let Some(hint) = err.hint() {
        eprintln!("hint: {hint}");
    }
}
