use super::Context;
use crate::output::print_json;
use crate::say;
use strata_exec::toolchain::check;
use strata_graph::workspace::{find_root, WorkspaceConfig, WORKSPACE_FILE};
use strata_graph::{Error, Result};

#[derive(clap::Args)]
pub struct Args {}

pub fn run(ctx: &Context, _args: Args) -> Result<u8> {
    let root = find_root(&ctx.dir)?;
    let path = root.join(WORKSPACE_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let config = WorkspaceConfig::parse(&text, WORKSPACE_FILE)?;
    let statuses = check(&root, &config.toolchain);
    let ok = statuses.iter().all(|s| s.ok);
    if ctx.json {
        print_json(&serde_json::json!({ "ok": ok, "tools": statuses }));
    } else {
        for s in &statuses {
            match (&s.path, &s.problem, s.is_pinned) {
                (Some(p), None, true) => {
                    crate::out!("ok    {} {} ({})", s.tool, s.pinned, p.display())
                }
                (Some(p), None, false) => crate::out!(
                    "ok    {} {} ({}; not pinned: the version found enters task keys)",
                    s.tool,
                    s.found_version.as_deref().unwrap_or("?"),
                    p.display()
                ),
                (_, Some(problem), _) => {
                    crate::out!("FAIL  {} {}: {problem}", s.tool, s.pinned)
                }
                (None, None, _) => crate::out!("-     {} not found (not pinned)", s.tool),
            }
        }
        if !ok {
            say!("hint: install the pinned versions and put them on PATH, or set [toolchain] tools_dir in WORKSPACE.toml to the directory holding them");
        }
    }
    Ok(if ok { 0 } else { 1 })
}
