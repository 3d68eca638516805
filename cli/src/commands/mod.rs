//! One module per command.

pub mod affected;
pub mod audit;
pub mod cache;
pub mod ci;
#[cfg(unix)]
pub mod daemon;
pub mod drift;
pub mod gitops;
pub mod graph;
pub mod hash;
pub mod init;
pub mod list;
pub mod policy;
pub mod promote;
pub mod reconcile;
pub mod run;
pub mod secrets;
pub mod show;
pub mod state;
pub mod tools;

use std::path::PathBuf;
use strata_graph::session::Session;
use strata_graph::Result;

/// Options every command shares.
pub struct Context {
    pub dir: PathBuf,
    pub json: bool,
    pub use_cache: bool,
}

impl Context {
    pub fn session(&self) -> Result<Session> {
        Session::open(&self.dir, self.use_cache)
    }
}
