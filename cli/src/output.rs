//! How results and errors reach the terminal.

use serde::Serialize;
use strata_graph::Error;

/// Writes a line to stdout. A closed pipe (`strata ... | head`) ends the process quietly
/// instead of panicking, as command-line tools do.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::write_stdout(&format!("{}\n", format_args!($($arg)*)))
    };
}

pub fn write_stdout(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
    {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to stdout: {e}");
        std::process::exit(2);
    }
}

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
    write_stdout(&format!(
        "{}\n",
        serde_json::to_string_pretty(&v).expect("json")
    ));
}

/// `error: ...`, `  --> file:line`, `hint: ...` on stderr.
pub fn print_error(err: &Error) {
    eprintln!("error: {err}");
    if let Some(loc) = err.location() {
        eprintln!("  --> {loc}");
    }
    if let Some(hint) = err.hint().filter(|h| !h.is_empty()) {
        eprintln!("hint: {hint}");
    }
}
