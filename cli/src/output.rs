//! How results and errors reach the terminal.

use serde::Serialize;
use strata_graph::Error;

/// Writes a line for people to stdout. A closed pipe (`strata ... | head`) is not an
/// error: what is left to print is dropped, and the command goes on to exit with its own
/// code (a failed `check --json | head` still exits 1). What the line quotes (a label, a
/// policy's message) cannot rewrite it: terminal escapes and control characters but tabs
/// are dropped ([`strata_graph::text::plain`]). Data (JSON, a decrypted file, a graph)
/// goes through [`write_stdout`] as it is.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::write_stdout(&strata_graph::text::plain(&format!(
            "{}\n",
            format_args!($($arg)*)
        )))
    };
}

/// Writes a line to stderr. A closed stderr loses the line, never the run: the exit code
/// still says what happened (`eprintln!` would panic and exit 101 instead).
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::output::write_stderr(&format!("{}\n", format_args!($($arg)*)))
    };
}

/// Writes `text` (no newline added) to stderr, as [`say!`] does. stderr carries messages
/// only, never data: terminal escapes and control characters but line breaks and tabs in
/// what they quote are dropped, as [`out!`] drops them.
pub fn write_stderr(text: &str) {
    use std::io::Write;
    let text = strata_graph::text::plain(text);
    let mut stderr = std::io::stderr().lock();
    let _ = stderr
        .write_all(text.as_bytes())
        .and_then(|_| stderr.flush());
}

pub fn write_stdout(text: &str) {
    use std::io::Write;
    use std::sync::atomic::{AtomicBool, Ordering};
    /// Whether stdout's reader went away.
    static GONE: AtomicBool = AtomicBool::new(false);
    if GONE.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
    {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            GONE.store(true, Ordering::Relaxed);
            return;
        }
        say!("error: cannot write to stdout: {e}");
        std::process::exit(2);
    }
}

/// Writes `text` for people to stdout (a report of many lines), as [`out!`] writes a line:
/// without terminal escapes and control characters but line breaks and tabs.
pub fn write_text(text: &str) {
    write_stdout(&strata_graph::text::plain(text));
}

/// Version of every JSON document strata prints; fields are only ever added.
pub const SCHEMA_VERSION: u32 = 1;

/// Prints `value` as pretty JSON with a `schema_version` field first.
pub fn print_json<T: Serialize>(value: &T) {
    write_stdout(&format!("{}\n", versioned_json(value)));
}

/// `value` as pretty JSON, an object's keys sorted after a leading `schema_version` (a
/// JSON map sorts its keys, so the field is written in front of the rest by hand).
fn versioned_json<T: Serialize>(value: &T) -> String {
    let mut v = serde_json::to_value(value).expect("output serializes");
    let serde_json::Value::Object(map) = &mut v else {
        return serde_json::to_string_pretty(&v).expect("json");
    };
    map.remove("schema_version");
    let version = format!("\"schema_version\": {SCHEMA_VERSION}");
    if map.is_empty() {
        return format!("{{\n  {version}\n}}");
    }
    let rest = serde_json::to_string_pretty(&v).expect("json");
    let body = rest
        .strip_prefix("{\n")
        .expect("a pretty object starts with a brace and newline");
    format!("{{\n  {version},\n{body}")
}

/// `error: ...`, `  --> file:line`, `hint: ...` on stderr.
pub fn print_error(err: &Error) {
    say!("error: {err}");
    if let Some(loc) = err.location() {
        say!("  --> {loc}");
    }
    if let Some(hint) = err.hint().filter(|h| !h.is_empty()) {
        say!("hint: {hint}");
    }
}

/// One line typed on stdin (its end included), or `None` once stdin has ended or an
/// interrupt arrived while waiting. Ctrl-C at a prompt ends the wait: a blocking read would
/// hold the run until Enter or Ctrl-D. One thread reads stdin for every prompt, so a line
/// typed after an abandoned wait goes to the next prompt, not to a reader left behind.
pub fn read_answer() -> Option<String> {
    use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
    use std::sync::{Mutex, OnceLock};
    static LINES: OnceLock<Mutex<Receiver<Option<String>>>> = OnceLock::new();
    let lines = LINES.get_or_init(|| {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || loop {
            let mut line = String::new();
            let read = std::io::stdin().read_line(&mut line);
            let sent = match read {
                Ok(0) | Err(_) => tx.send(None).map(|()| false),
                Ok(_) => tx.send(Some(line)).map(|()| true),
            };
            if !matches!(sent, Ok(true)) {
                return;
            }
        });
        Mutex::new(rx)
    });
    let lines = lines.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if strata_exec::process::is_cancelled() {
            write_stderr("\n");
            return None;
        }
        match lines.recv_timeout(std::time::Duration::from_millis(50)) {
            Ok(line) => return line,
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_version_comes_first_and_the_rest_stays_sorted() {
        let json = versioned_json(&serde_json::json!({"b": 1, "a": {"z": 2, "y": [1]}}));
        assert!(
            json.starts_with("{\n  \"schema_version\": 1,\n  \"a\""),
            "{json}"
        );
        let parsed: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(parsed["schema_version"], 1);
        assert_eq!(parsed["a"]["z"], 2);
        assert_eq!(parsed["b"], 1);

        let empty = versioned_json(&serde_json::json!({}));
        assert_eq!(empty, "{\n  \"schema_version\": 1\n}");
        let list = versioned_json(&serde_json::json!([1]));
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&list).unwrap(),
            serde_json::json!([1])
        );
    }
}
