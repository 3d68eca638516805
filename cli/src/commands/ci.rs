//! `strata ci matrix`: split the work into shards for parallel CI runners.

use super::Context;
use crate::output::print_json;
use strata_graph::Result;
use strata_run::shard::shards;
use strata_run::{resolve_envs, select, Scope};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Print a GitHub Actions matrix (`{"include": [...]}`) of N balanced shards.
    Matrix(MatrixArgs),
}

#[derive(clap::Args)]
pub struct MatrixArgs {
    /// How many shards (at least 1).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    shards: u16,
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
    let scope = if args.affected {
        Scope::Affected {
            base: args.base.clone().unwrap_or_else(|| session.default_base()),
        }
    } else {
        Scope::All
    };
    let selection = select(&session, &view, &scope)?;
    session.finish();
    let envs = resolve_envs(&view.model, &args.envs)?;
    let include = shards(&view.model, &selection, &envs, usize::from(args.shards));
    // A matrix must not be empty for GitHub Actions; callers test `include` length first.
    let _ = ctx.json;
    print_json(&serde_json::json!({ "include": include }));
    Ok(0)
}
