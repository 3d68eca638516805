//! Who holds a pg state's lock: terraform's pg backend locks with PostgreSQL advisory
//! locks, which record no holder, so the server is asked which session holds one.

use super::{Backend, Setting};
use crate::process;
use std::path::Path;

/// The query that names who holds the lock of the state `name` in `schema` of a pg backend.
/// Its locks are PostgreSQL advisory locks on the state row's id (terraform's pg backend),
/// which record no holder; the session that holds one does, and strata's runs name
/// themselves in `application_name`. A bigint advisory key shows in `pg_locks` as its high
/// half (`classid`) and low half (`objid`) with `objsubid` 1.
///
/// Also names the holder of the backend's creation lock (key -1, for every state of the
/// database), which terraform holds through the whole first plan or apply of a state that
/// has no row yet, and which makes every other state's lock fail meanwhile.
fn pg_lock_query(schema: &str, name: &str) -> String {
    let ident = format!("\"{}\"", schema.replace('"', "\"\""));
    let literal = format!("'{}'", name.replace('\'', "''"));
    let session = "coalesce(nullif(a.application_name, ''), 'a session of ' || a.usename) \
         || ' (PostgreSQL pid ' || a.pid || coalesce(', from ' || host(a.client_addr), '') \
         || ', connected since ' || to_char(a.backend_start AT TIME ZONE 'UTC', \
         'YYYY-MM-DD HH24:MI:SS') || ' UTC)'";
    let advisory = "JOIN pg_locks l ON l.locktype = 'advisory' AND l.granted AND l.objsubid = 1";
    format!(
        "SELECT {session} \
         FROM {ident}.states s \
         {advisory} AND ((l.classid::bigint << 32) | l.objid::bigint) = s.id \
         JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE s.name = {literal} \
         UNION ALL \
         SELECT {session} || ', which holds the creation lock of every state in the database \
         (terraform takes it for the whole first plan or apply of a state that does not exist yet)' \
         FROM pg_stat_activity a {advisory} AND l.pid = a.pid \
         AND l.classid = 4294967295 AND l.objid = 4294967295"
    )
}

impl Backend {
    /// Who holds the lock of this pg state (terraform's default workspace), asked from the
    /// server with `psql` when it is on PATH. `None` for other backends, without `psql`, or
    /// when the question cannot be answered (the caller then says how to ask).
    pub fn pg_lock_holder(&self, root: &Path) -> Option<String> {
        let Backend::Configured(c) = self else {
            return None;
        };
        if c.kind != "pg" {
            return None;
        }
        let conn = match c.settings.get("conn_str") {
            Some(setting) => setting.text(),
            None => std::env::var("PG_CONN_STR").ok()?,
        };
        let schema = c
            .settings
            .get("schema_name")
            .map(Setting::text)
            .unwrap_or_else(|| "terraform_remote_state".to_string());
        let query = pg_lock_query(&schema, "default");
        let mut cmd = std::process::Command::new("psql");
        cmd.args([
            "-X",
            "-A",
            "-t",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            &conn,
            "-c",
            &query,
        ]);
        for (k, v) in &c.tool_env {
            cmd.env(k, v);
        }
        // A question about a lock: a short wait, whatever terraform's connections get.
        cmd.env("PGCONNECT_TIMEOUT", "5");
        let out = process::run(cmd, root).ok()?;
        if !out.success {
            return None;
        }
        let holders: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        (!holders.is_empty()).then(|| holders.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pg_lock_query_quotes_what_it_names() {
        let q = pg_lock_query("strata_dev_a\"b", "it's");
        assert!(q.contains("FROM \"strata_dev_a\"\"b\".states s"), "{q}");
        assert!(q.contains("WHERE s.name = 'it''s'"), "{q}");
        assert!(q.contains("l.objsubid = 1"), "{q}");
        // The creation lock's key, -1, in its two unsigned halves.
        assert!(
            q.contains("l.classid = 4294967295 AND l.objid = 4294967295"),
            "{q}"
        );
    }
}
