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

pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let (num, mult) = match t.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => {
            let unit = t[i..].to_ascii_uppercase();
            let mult: u64 = match unit.trim_end_matches("IB").trim_end_matches('B') {
                "" => 1,
                "K" => 1 << 10,
                "M" => 1 << 20,
                "G" => 1 << 30,
                "T" => 1 << 40,
                _ => return None,
            };
            (&t[..i], mult)
        }
        None => (t, 1),
    };
    num.trim().parse::<u64>().ok().map(|n| n * mult)
}

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
                    "removed {} results and {} blobs ({:.1} MiB); {:.1} MiB remain",
                    report.removed_results,
                    report.removed_blobs,
                    report.freed_bytes as f64 / (1 << 20) as f64,
                    report.remaining_bytes as f64 / (1 << 20) as f64
                );
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
    }
}
