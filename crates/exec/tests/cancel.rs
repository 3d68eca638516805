//! Cancellation in a long-lived process: an interrupt stops the operation under way and the
//! ones nested in it, and the next operation starts afresh. In its own test binary: the flag
//! is process-wide.
#![allow(clippy::disallowed_methods)] // starts `true`, the smallest tool there is

use strata_exec::process;

fn true_runs() -> bool {
    let out = process::run(
        std::process::Command::new("true"),
        std::path::Path::new("/"),
    )
    .unwrap();
    out.success && !out.interrupted
}

#[test]
fn an_interrupt_cancels_the_operation_under_way_and_not_the_next() {
    let outer = process::operation();
    assert!(!process::is_cancelled());
    assert!(true_runs());
    process::cancel_all();
    assert!(process::is_cancelled());
    // Nothing new starts.
    let out = process::run(
        std::process::Command::new("true"),
        std::path::Path::new("/"),
    )
    .unwrap();
    assert!(!out.success && out.interrupted);
    // A nested operation (a promotion's run of tasks) does not clear the interrupt.
    {
        let _inner = process::operation();
        assert!(process::is_cancelled());
    }
    assert!(process::is_cancelled());
    drop(outer);
    // The next operation in the same process runs.
    let _next = process::operation();
    assert!(!process::is_cancelled());
    assert!(true_runs());

    // Deciding what an error means allows for an interrupt still being delivered.
    assert!(!process::is_cancelled_after(
        std::time::Duration::from_millis(20)
    ));
    let late = std::thread::spawn(|| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        process::cancel_all();
    });
    assert!(process::is_cancelled_after(std::time::Duration::from_secs(
        10
    )));
    late.join().unwrap();
}
