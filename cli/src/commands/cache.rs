//! `strata cache stats` and `strata cache prune --max-size SIZE`.

use super::Context;
use crate::output::print_json;
use strata_cache::LocalStore;
use strata_graph::error::Location;
use strata_graph::{Error, Result};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Entries and bytes in the local cache.
    Stats,
    /// Evict least recently used entries until the cache fits in SIZE (e.g. 500M, 2G).
    Prune {
        #[arg(long, value_name = "SIZE")]
        max_size: String,
    },
}

use strata_cache::parse_size;

pub fn run(ctx: &Context, cmd: Command) -> Result<u8> {
    let session = ctx.session()?;
    let store = LocalStore::new(session.root.join(&session.config.cache.dir));
    match cmd {
        Command::Stats => {
            let stats = store.stats();
            if ctx.json {
                print_json(&stats);
            } else {
                crate::out!(
                    "{}: {} results, {} blobs, {:.1} MiB",
                    stats.dir.display(),
                    stats.results,
                    stats.blobs,
                    stats.bytes as f64 / (1 << 20) as f64
                );
            }
        }
        Command::Prune { max_size } => {
            let max = parse_size(&max_size).ok_or_else(|| Error::Invalid {
                message: format!("`{max_size}` is not a size"),
                location: Location::new("command line", None),
                hint: "write sizes like 500M, 2G or 1048576".into(),
            })?;
            let report = store.prune(max);
            if ctx.json {
                print_json(&report);
            } else {
                crate::out!(
                    "removed {} results and {} blobs ({}); {} remain",
                    report.removed_results,
                    report.removed_blobs,
                    strata_cache::format_size(report.freed_bytes),
                    strata_cache::format_size(report.remaining_bytes)
                );
            }
            for (path, why) in &report.failed {
                crate::say!("error: could not remove {path}: {why}");
            }
            // A cache that still does not fit is no success (a CI step would let it grow).
            if !report.failed.is_empty() && report.remaining_bytes > max {
                return Ok(1);
            }
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes() {
        assert_eq!(super::parse_size("500M"), Some(500 << 20));
        assert_eq!(super::parse_size("2GiB"), Some(2 << 30));
        assert_eq!(super::parse_size("1024"), Some(1024));
        assert_eq!(super::parse_size("10X"), None);
        // 2^64 and beyond are no size (they wrapped to 0, which evicted everything).
        assert_eq!(super::parse_size("16777216T"), None);
        assert_eq!(super::parse_size("99999999999T"), None);
    }
}
