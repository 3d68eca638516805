//! A second interrupt (Ctrl-C twice, a CI system's SIGTERM after its SIGINT) is not
//! forwarded: a second SIGINT makes terraform exit at once, without writing its state or
//! releasing its lock. In its own test binary: the cancel flag is process-wide.
#![allow(clippy::disallowed_methods)] // starts `sh`, which notes the signals it gets

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use strata_exec::process;

#[test]
fn a_tool_gets_one_sigint_however_many_interrupts_strata_gets() {
    let _operation = process::operation();
    let dir = tempfile::tempdir().unwrap();
    let seen = dir.path().join("seen");
    let started = dir.path().join("started");
    let script = format!(
        "trap 'echo INT >> {}' INT; touch {}; sleep 1; sleep 1; sleep 1",
        seen.display(),
        started.display()
    );
    let tool = std::thread::spawn(move || {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", &script]);
        process::run(cmd, Path::new("/")).unwrap()
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while !started.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(started.exists(), "the tool started");
    for _ in 0..3 {
        process::cancel_all();
        std::thread::sleep(Duration::from_millis(300));
    }
    tool.join().unwrap();
    assert_eq!(std::fs::read_to_string(&seen).unwrap(), "INT\n");
}
