//! strata's graph core: the workspace model, discovery, content hashing, the dependency
//! graph, `affected` and the live view of the work tree. It spawns no tool but git; the
//! cache, execution, policy evaluation, the run layer and the daemon are crates of their own
//! that build on it (see docs/architecture.md).

pub mod affected;
pub mod baseline;
pub mod chart;
pub mod decoded;
pub mod discover;
pub mod error;
pub mod facts;
pub mod folded;
pub mod git;
pub mod graph;
pub mod hash;
pub mod hcl;
pub mod id;
pub mod index_model;
pub mod kustomize;
pub mod live;
pub mod manifest;
pub mod model;
pub mod session;
pub mod snapshot;
pub mod text;
pub mod workspace;

pub use error::{Error, Result};
pub use strata_digest as digest;
