//! strata's core library: the workspace model, discovery, content hashing, the dependency
//! graph and `affected`. The `strata` binary is a thin layer over it.

pub mod affected;
pub mod baseline;
pub mod cache;
pub mod chart;
#[cfg(unix)]
pub mod daemon;
pub mod digest;
pub mod discover;
pub mod error;
pub mod exec;
pub mod facts;
pub mod fsutil;
pub mod git;
pub mod graph;
pub mod hash;
pub mod hcl;
pub mod live;
pub mod manifest;
pub mod model;
pub mod policy;
pub mod report;
pub mod run;
pub mod schedule;
pub mod session;
pub mod shard;
pub mod snapshot;
pub mod task;
pub mod text;
pub mod timing;
pub mod toolchain;
pub mod workspace;

pub use error::{Error, Result};
