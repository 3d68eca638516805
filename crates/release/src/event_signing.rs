//! Signed audit events (`[audit] signed = true` in env.toml): the key that signs an
//! environment's events, who it proves the runner to be for `[access]`, and the check of
//! every signature in a ledger.

use crate::approvals;
use std::path::{Path, PathBuf};
use strata_exec::ssh;
use strata_graph::error::{Error, Location};
use strata_graph::git::Repo;
use strata_graph::manifest::{EnvConfig, ENV_FILE};
use strata_graph::session::Session;
use strata_graph::Result;

/// The key that signs an environment's audit events (`[audit] signed = true`), and the
/// principals `environments/allowed_signers` lists it under: who the runner proved to be.
#[derive(Debug, Clone)]
pub struct Signer {
    pub key: PathBuf,
    /// Never empty.
    pub principals: Vec<String>,
}

/// The variable naming the key that signs audit events, before git's `user.signingkey`
/// and `~/.ssh/id_*`.
pub const AUDIT_KEY_ENV: &str = "STRATA_AUDIT_KEY";

/// The signer of `env`'s events when they are signed (`None` when not): the key must sign,
/// be listed in `environments/allowed_signers` for audit signatures and not be revoked.
/// Checked before anything changes an environment, so that a run that could not record
/// itself as required does not start.
pub fn signer(root: &Path, repo: &Repo, config: &EnvConfig, env: &str) -> Result<Option<Signer>> {
    if !config.audit.signed {
        return Ok(None);
    }
    let env_file = format!("environments/{env}/{ENV_FILE}");
    let refuse = |message: String, hint: &str| Error::Invalid {
        message: format!("{env_file} requires signed audit events: {message}"),
        location: Location::new(&env_file, None),
        hint: hint.into(),
    };
    let key = match std::env::var_os(AUDIT_KEY_ENV).filter(|k| !k.is_empty()) {
        Some(k) => PathBuf::from(k),
        None => approvals::signing_key(None, repo).map_err(|e| {
            refuse(
                e.to_string(),
                &format!("set {AUDIT_KEY_ENV} to the SSH key (or a public key held by ssh-agent) that signs this environment's events"),
            )
        })?,
    };
    let allowed = root.join(approvals::ALLOWED_SIGNERS);
    if !allowed.exists() {
        return Err(refuse(
            format!("there is no {}", approvals::ALLOWED_SIGNERS),
            "list the keys that may change this environment there (`deployer@example.com namespaces=\"strata-audit\" ssh-ed25519 AAAA...`); see docs/promotion.md",
        ));
    }
    let ssh_failed = |e: ssh::SshError| {
        refuse(
            format!("the key {} cannot sign: {e}", key.display()),
            &format!("load the key into ssh-agent, or point {AUDIT_KEY_ENV} at a key without a passphrase; ssh-keygen 8.2 or newer must be installed"),
        )
    };
    let probe = format!("strata audit signing key check for {env}\n").into_bytes();
    let signature = ssh::sign(&key, ssh::AUDIT_NAMESPACE, &probe).map_err(ssh_failed)?;
    let listed = ssh::find_principals(&allowed, &signature).map_err(ssh_failed)?;
    let revoked = root.join(approvals::REVOKED_KEYS);
    let revoked = revoked.exists().then_some(revoked);
    let mut principals = Vec::new();
    for p in listed {
        // Only principals the key may sign audit events for (`namespaces=`), unrevoked.
        if ssh::verify(
            &allowed,
            revoked.as_deref(),
            &p,
            ssh::AUDIT_NAMESPACE,
            &signature,
            &probe,
        )
        .map_err(ssh_failed)?
        {
            principals.push(p);
        }
    }
    if principals.is_empty() {
        return Err(refuse(
            format!(
                "the key {} is not listed in {} for audit signatures (namespace {}), or is revoked",
                key.display(),
                approvals::ALLOWED_SIGNERS,
                ssh::AUDIT_NAMESPACE
            ),
            &format!("add its public key there with `namespaces=\"{}\"` through a reviewed change, or set {AUDIT_KEY_ENV} to a listed key", ssh::AUDIT_NAMESPACE),
        ));
    }
    Ok(Some(Signer { key, principals }))
}

/// Who may do what `[access]` allows in an environment: the principals of its signing key
/// when its events are signed (proved), else the identity strata can see (claimed).
pub fn acting_as(session: &Session, config: &EnvConfig, env: &str) -> Result<Vec<String>> {
    Ok(match signer(&session.root, &session.repo, config, env)? {
        Some(s) => s.principals,
        None => vec![crate::identity::current(&session.repo)?],
    })
}

/// Why a verified event's signer was not allowed what the event records, when it was not:
/// a key listed for audit signatures may sign in any environment, so `[access]` decides
/// whose events an environment's trail accepts, as it decides who may act there (`apply`
/// for applies, destroys and state changes, `promote` for promotions and rollbacks). The
/// signer's other names (the key's other principals) count too; so does `former`.
fn unauthorized(
    allowed: &Path,
    config: &EnvConfig,
    event: &strata_audit::Event,
    signer: &str,
    signature: &str,
) -> Result<Option<String>> {
    let access = &config.access;
    // A run left behind is written into the ledger by the next run into the environment
    // (`crate::started`), whoever that is: anyone allowed to act there may sign it.
    let either: Vec<String>;
    let (key, list) = match event.action.as_str() {
        _ if event.outcome == "interrupted" && event.details.contains_key("started") => {
            if access.apply.is_empty() || access.promote.is_empty() {
                return Ok(None);
            }
            either = access
                .apply
                .iter()
                .chain(&access.promote)
                .cloned()
                .collect();
            ("apply` or `[access] promote", &either)
        }
        "apply" | "destroy" | "reconcile" | "state-push" | "state-unlock" => {
            ("apply", &access.apply)
        }
        "promote" | "rollback" => ("promote", &access.promote),
        _ => return Ok(None),
    };
    let listed = |name: &str| list.iter().chain(&access.former).any(|a| a == name);
    if list.is_empty() || listed(signer) {
        return Ok(None);
    }
    let principals = ssh::find_principals(allowed, signature).map_err(|e| {
        approvals::check_failed(
            format!("cannot find who signed event {}: {e}", event.seq),
            Location::new(approvals::ALLOWED_SIGNERS, None),
            e,
        )
    })?;
    if principals.iter().any(|p| listed(p)) {
        return Ok(None);
    }
    Ok(Some(format!(
        "event {} ({}) is signed by {signer}, whom `[access] {key}` does not list ({}): only those it lists may {} here (someone taken off the list since belongs in `[access] former`)",
        event.seq,
        event.action,
        list.join(", "),
        match key {
            "apply" => "apply",
            "promote" => "promote",
            _ => "act",
        },
    )))
}

/// Checks the signatures of a ledger's events: each signed event must verify as its
/// signer's against `environments/allowed_signers` (minus `revoked_keys`), the key judged
/// valid or not at the event's time; once an event is signed, or wherever `[audit] signed`
/// is set, an unsigned event is a problem, except those before the first signed one (a
/// note: written before signing began).
pub(crate) fn check_signatures(
    root: &Path,
    config: &EnvConfig,
    checked: &strata_audit::Checked,
    problems: &mut Vec<strata_audit::Problem>,
    notes: &mut Vec<String>,
) -> Result<()> {
    let allowed = root.join(approvals::ALLOWED_SIGNERS);
    let revoked = root.join(approvals::REVOKED_KEYS);
    let revoked = revoked.exists().then_some(revoked);
    let mut signed_seen = false;
    let mut unsigned_before = 0usize;
    for (event, &line) in checked.events.iter().zip(&checked.lines) {
        let mut problem = |message: String| problems.push(strata_audit::Problem { line, message });
        match (&event.signature, &event.signer) {
            (Some(signature), Some(signer)) => {
                signed_seen = true;
                if !allowed.exists() {
                    problem(format!(
                        "event {} is signed by {signer}, and there is no {} to check it against",
                        event.seq,
                        approvals::ALLOWED_SIGNERS
                    ));
                    continue;
                }
                let at = crate::clock::parse_utc(&event.time).map(crate::clock::format_compact_utc);
                let valid = ssh::verify_at(
                    &allowed,
                    revoked.as_deref(),
                    signer,
                    ssh::AUDIT_NAMESPACE,
                    signature,
                    &strata_audit::signed_message(event),
                    at.as_deref(),
                )
                .map_err(|e| {
                    approvals::check_failed(
                        format!("cannot check the signature of event {}: {e}", event.seq),
                        Location::new(approvals::ALLOWED_SIGNERS, None),
                        e,
                    )
                })?;
                if !valid {
                    problem(format!(
                        "event {}'s signature does not verify as {signer}'s: the event was changed after it was signed, or the key is not listed in {} for audit signatures at the event's time, or it was revoked",
                        event.seq,
                        approvals::ALLOWED_SIGNERS
                    ));
                } else if let Some(why) = unauthorized(&allowed, config, event, signer, signature)? {
                    problem(why);
                }
            }
            (Some(_), None) => problem(format!(
                "event {} has a signature and names no signer",
                event.seq
            )),
            (None, Some(signer)) => problem(format!(
                "event {} names {signer} as its signer and has no signature",
                event.seq
            )),
            // Where `[audit] signed` is set, every event from `signed_from` on must be
            // signed: a ledger whose signatures were all stripped (the hashes recomputed)
            // does not pass as one written before signing began.
            (None, None)
                if config.audit.signed
                    && event.seq >= config.audit.signed_from.unwrap_or(1) =>
            {
                problem(format!(
                    "event {} is not signed, and `[audit] signed` requires every event{} to be (if signing was switched on later, set `signed_from` in [audit] to the number of the first signed event)",
                    event.seq,
                    config
                        .audit
                        .signed_from
                        .map(|n| format!(" from {n} on"))
                        .unwrap_or_default()
                ))
            }
            (None, None) if signed_seen => problem(format!(
                "event {} is not signed, after signed events{}",
                event.seq,
                event
                    .details
                    .get(strata_audit::UNSIGNED_DETAIL)
                    .map(|why| format!(" ({why})"))
                    .unwrap_or_default()
            )),
            (None, None) => unsigned_before += 1,
        }
    }
    // `signed_from` past the next event would let events up to it pass unsigned.
    let next = checked.events.last().map_or(1, |e| e.seq + 1);
    if let Some(from) = config
        .audit
        .signed_from
        .filter(|&f| config.audit.signed && f > next)
    {
        problems.push(strata_audit::Problem {
            line: checked.lines.last().copied().unwrap_or(1),
            message: format!(
                "`[audit] signed_from = {from}` is past the next event ({next}): events up to it would pass unsigned; set it to the number of the first signed event"
            ),
        });
    }
    if config.audit.signed && unsigned_before > 0 {
        notes.push(format!(
            "{unsigned_before} event(s) before `signed_from` are not signed: written before `[audit] signed` was set"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(action: &str, outcome: &str, left_behind: bool) -> strata_audit::Event {
        let details = if left_behind {
            serde_json::json!({ "started": "2026-12-07T10:00:00Z", "started_by": "release-bot" })
        } else {
            serde_json::json!({})
        };
        serde_json::from_value(serde_json::json!({
            "version": 1, "seq": 2, "time": "2026-12-07T10:05:00Z", "actor": "deployer@ci",
            "action": action, "env": "staging", "outcome": outcome, "details": details,
            "prev": "", "hash": ""
        }))
        .unwrap()
    }

    /// A run left behind (a promotion killed outright) is written into the ledger by the
    /// next run there, whichever role that one has: its signer need only be allowed to act
    /// in the environment. Before, an apply's signer writing a killed promotion was judged
    /// against `[access] promote`, a problem that no later event could mend.
    #[test]
    fn a_run_left_behind_may_be_signed_by_whoever_acts_next() {
        let mut config = EnvConfig::default();
        config.access.apply = vec!["deployer@ci".into()];
        config.access.promote = vec!["release-bot".into()];
        let nowhere = Path::new("/nonexistent/allowed_signers");
        let left = event("promote", "interrupted", true);
        let judged = unauthorized(nowhere, &config, &left, "deployer@ci", "sig");
        assert!(matches!(judged, Ok(None)), "{judged:?}");
        // Someone allowed neither is still refused; a promotion's own event needs the role.
        let stranger = unauthorized(nowhere, &config, &left, "stranger", "sig");
        assert!(!matches!(stranger, Ok(None)), "{stranger:?}");
        let own = event("promote", "succeeded", false);
        let judged = unauthorized(nowhere, &config, &own, "deployer@ci", "sig");
        assert!(!matches!(judged, Ok(None)), "{judged:?}");
    }
}
