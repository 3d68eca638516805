//! What strata says about its own work on stderr, off by default:
//!
//! - `STRATA_TIMINGS=1`: one line per phase as it ends: its wall time, when it ended (ms
//!   since the process began), the CPU time the process has used so far (its own threads,
//!   not the tools it runs) and its peak resident memory so far. Nested phases are indented.
//! - `STRATA_LOG=<filter>` (`debug`, `strata_run=trace`, ...; the `tracing` crate's
//!   `EnvFilter` syntax): the library's spans (when each ends, with its duration: phases at
//!   `info`, every task and every tool run at `debug`) and events as log lines.
//!
//! The library only opens spans (`tracing::info_span!`) and emits events; this is the one
//! place that decides whether and how they are printed. With neither variable set no
//! subscriber is installed, so spans cost next to nothing.
use crate::say;

use std::io::Write;
use std::sync::OnceLock;
use std::time::Instant;
use tracing::span::{Attributes, Id};
use tracing::Subscriber;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The moment the process began, as far as timings know.
fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

/// Installs the subscriber the environment asks for, if any. A `STRATA_LOG` that does not
/// parse is reported and ignored (the command itself still runs).
pub fn init() {
    origin();
    let timings = std::env::var_os("STRATA_TIMINGS").is_some_and(|v| !v.is_empty() && v != "0");
    let log = std::env::var("STRATA_LOG")
        .ok()
        .filter(|v| !v.is_empty())
        .and_then(|v| match EnvFilter::try_new(&v) {
            Ok(filter) => Some(filter),
            Err(e) => {
                say!("warning: STRATA_LOG={v:?} is not a filter ({e}); logging stays off");
                None
            }
        });
    if !timings && log.is_none() {
        return;
    }
    let log_layer = log.map(|filter| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_target(true)
            // A span's end is logged with its duration: each task's and each tool's time.
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .with_filter(filter)
    });
    // Phases are info spans; per-task and per-tool spans (debug) are for the log only.
    let timings =
        timings.then(|| Timings.with_filter(tracing_subscriber::filter::LevelFilter::INFO));
    let _ = tracing_subscriber::registry()
        .with(timings)
        .with(log_layer)
        .try_init();
}

/// Prints each span's timing line when it closes.
struct Timings;

/// When a span was created, kept in its extensions.
struct Began(Instant);

impl<S> Layer<S> for Timings
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, _attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Began(Instant::now()));
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(began) = span.extensions().get::<Began>().map(|b| b.0) else {
            return;
        };
        let depth = span.scope().skip(1).count();
        let name = format!("{}{}", "  ".repeat(depth), span.name());
        eprintln_line(&line(&name, began, Instant::now()));
    }
}

/// `timing: <name> <ms> ms at <ms> cpu <ms> peak <MiB> MiB`.
fn line(name: &str, began: Instant, now: Instant) -> String {
    let ms = now.duration_since(began).as_secs_f64() * 1000.0;
    let at = now.duration_since(origin()).as_secs_f64() * 1000.0;
    let cpu = strata_exec::usage::cpu_ms()
        .map(|c| format!("   cpu {c:>7.1}"))
        .unwrap_or_default();
    let peak = strata_exec::usage::peak_rss_mib()
        .map(|mib| format!("   peak {mib:>6.1} MiB"))
        .unwrap_or_default();
    format!("timing: {name:<28} {ms:>8.1} ms   at {at:>7.1}{cpu}{peak}")
}

/// One whole line at a time, so lines from spans closing on several threads do not mix.
fn eprintln_line(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_timing_line_has_the_phase_its_duration_and_when_it_ended() {
        let began = origin();
        let line = line("  facts", began, began + Duration::from_millis(12));
        assert!(line.starts_with("timing:   facts "), "{line}");
        assert!(line.contains("    12.0 ms   at    12.0"), "{line}");
    }
}
