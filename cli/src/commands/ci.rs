//! `strata ci matrix`: split the work into shards for parallel CI runners.

use super::Context;
use crate::output::print_json;
use strata_graph::affected::{affected_for_view, Reason};
use strata_graph::Result;
use strata_run::resolve_envs;
use strata_run::shard::shards;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Print a GitHub Actions matrix (`{"include": [...]}`) of N balanced shards.
    Matrix(MatrixArgs),
}

#[derive(clap::Args)]
pub struct MatrixArgs {
    #[arg(long, default_value_t = 2)]
    shards: usize,
    /// Only the affected targets.
    #[arg(long)]
    affected: bool,
    #[arg(long, requires = "affected")]
    base: Option<String>,
    #[arg(long = "env", short = 'e')]
    envs: Vec<String>,
}

pub fn run(ctx: &Context, cmd: Command) -> Result<u8> {
    let Command::Matrix(args) = cmd;
    let session = ctx.session()?;
    let view = session.work_tree()?;
    let selected: Vec<usize> = if args.affected {
        let base = args.base.clone().unwrap_or_else(|| session.default_base());
        affected_for_view(&session, &base, &view)?
            .targets
            .iter()
            .filter(|t| t.reason != Reason::Deleted)
            .filter_map(|t| view.model.index(&t.label))
            .collect()
    } else {
        (0..view.model.targets.len()).collect()
    };
    session.finish();
    let envs = resolve_envs(&view.model, &args.envs)?;
    let include = shards(&view.model, &selected, &envs, args.shards);
    // A matrix must not be empty for GitHub Actions; callers test `include` length first.
    let _ = ctx.json;
    print_json(&serde_json::json!({ "include": include }));
    Ok(0)
}
