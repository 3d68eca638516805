//! Running the real tools for tasks: sandboxes, terraform, helm, state.

pub mod helm;
pub mod plan_json;
pub mod process;
pub mod reaper;
pub mod redact;
pub mod sandbox;
pub mod schedule;
pub mod ssh;
pub mod state;
pub mod step;
pub mod terraform;
pub mod toolchain;
pub mod usage;
pub mod var_values;

use std::path::PathBuf;

/// The tool binaries a run uses and the environment it gives them.
#[derive(Debug, Clone)]
pub struct Tools {
    pub terraform: Option<PathBuf>,
    pub helm: Option<PathBuf>,
    /// Extra environment for every tool (TF_CLI_CONFIG_FILE from WORKSPACE.toml, ...).
    pub env: Vec<(String, String)>,
    /// The versions of the tools found whose versions WORKSPACE.toml does not pin, by tool
    /// name (they enter task keys).
    pub unpinned: std::collections::BTreeMap<String, String>,
    /// The provider plugin cache terraform uses, when strata knows where it is.
    pub plugin_cache: Option<PathBuf>,
}

impl Tools {
    pub fn command(&self, program: &std::path::Path) -> std::process::Command {
        let mut c = std::process::Command::new(program);
        // TF_FORK=0: terraform 1.0 runs without its panic wrapper, which keeps a copy of
        // its output in the temporary directory and deletes it on exit: a directory that
        // filled up while terraform ran then had room again, and output cut short went
        // unseen (see `process::run`). A crash is printed to its output instead.
        c.env("TF_IN_AUTOMATION", "1")
            .env("TF_FORK", "0")
            .env("TF_INPUT", "0")
            .env("CHECKPOINT_DISABLE", "1")
            .env("NO_COLOR", "1");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }
}
