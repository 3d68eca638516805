//! strata's core library: the workspace model, discovery, content hashing, the dependency
//! graph and `affected`. The `strata` binary is a thin layer over it.

pub mod affected;
pub mod cache;
pub mod chart;
pub mod digest;
pub mod discover;
pub mod error;
pub mod facts;
pub mod fsutil;
pub mod git;
pub mod graph;
pub mod hash;
pub mod hcl;
pub mod manifest;
pub mod model;
pub mod session;
pub mod snapshot;
pub mod toolchain;
pub mod workspace;

pub use error::{Error, Result};
