//! Who is running strata: the identity release locks record (`applied_by`), promotion plans
//! name as their author, and environments' `[access]` lists are checked against.
//!
//! On a CI system it is the user the CI system says started the job; elsewhere it is
//! `git config user.email`, else the login name (`$USER`). Neither is proof of identity (both can be set by whoever runs
//! the command): approvals are (signatures, see `approvals`), and the state backend's
//! credentials decide who can change an environment at all.

use strata_graph::error::{Error, Location};
use strata_graph::git::Repo;
use strata_graph::Result;

/// The CI variables naming the user who started the job, in the order they are tried,
/// each with the variable that says the job runs on that CI system.
const CI_USERS: &[(&str, &str)] = &[
    ("GITHUB_ACTIONS", "GITHUB_ACTOR"),
    ("GITLAB_CI", "GITLAB_USER_EMAIL"),
    ("BUILDKITE", "BUILDKITE_BUILD_CREATOR_EMAIL"),
    ("CIRCLECI", "CIRCLE_USERNAME"),
];

/// The current user's identity.
pub fn current(repo: &Repo) -> Result<String> {
    for (system, user) in CI_USERS {
        if std::env::var_os(system).is_some() {
            if let Some(u) = std::env::var(user).ok().filter(|u| !u.trim().is_empty()) {
                return Ok(u.trim().to_string());
            }
        }
    }
    let login = || {
        ["USER", "LOGNAME"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|u| !u.trim().is_empty()))
    };
    repo.config("user.email")
        .or_else(login)
        .ok_or_else(|| Error::Invalid {
            message: "strata cannot tell who you are: release locks and promotions record it"
                .into(),
            location: Location::new("git config", None),
            hint: "set it with `git config user.email you@example.com`".into(),
        })
}
