//! Waivers: the one place where a finding may be accepted, with an owner, a reason and an
//! expiry date: `policies/waivers.toml`.
//!
//! ```toml
//! [[waiver]]
//! rule = "STRATA-AWS-002"        # a finding's id (or Checkov id), or <policy>/<package>.<rule>
//! targets = "stacks/legacy-*"    # label glob
//! environment = "dev"            # optional: every environment when absent
//! owner = "sre@acme.example"
//! reason = "Bucket is replaced by stacks/storage in Q1"
//! expires = "2027-01-31"
//! ```
//!
//! A finding matched by a waiver in force is reported as waived and does not block. A waiver
//! past its date that matches the target fails the policy task, naming the waiver. Inline
//! skips in Terraform files are read by the policy engine (`strata_policy::inline`) and
//! honoured only when a waiver in force registers that rule for that target.

use crate::error::{Error, Location, Result};
use crate::workspace::parse_toml;
use serde::{Deserialize, Serialize};

pub const WAIVERS_FILE: &str = "policies/waivers.toml";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    pub rule: String,
    pub targets: String,
    pub environment: Option<String>,
    pub owner: String,
    pub reason: String,
    pub expires: String,
    /// Line of the waiver in the file (set when parsed).
    #[serde(skip_deserializing)]
    pub line: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    /// Each with where its `[[waiver]]` header is.
    #[serde(default)]
    waiver: Vec<toml::Spanned<Waiver>>,
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date.
pub fn parse_date(text: &str) -> Option<i64> {
    // Exactly four, two and two digits: `i64::parse` alone takes `+1` and `2027-1-5`.
    let shape = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shape {
        return None;
    }
    let mut parts = text.split('-');
    let (y, m, d): (i64, i64, i64) = (
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
    );
    // Four-digit years: anything else is a typo (and would overflow the day count).
    if parts.next().is_some() || !(1..=12).contains(&m) || !(1..=9999).contains(&y) {
        return None;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in_month = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if !(1..=days_in_month).contains(&d) {
        return None;
    }
    // Days from civil (H. Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146097 + doe - 719468)
}

/// Today (UTC) in days since the epoch; `STRATA_TODAY=YYYY-MM-DD` fixes it (reproducible runs).
pub fn today() -> i64 {
    if let Some(d) = std::env::var("STRATA_TODAY")
        .ok()
        .and_then(|t| parse_date(&t))
    {
        return d;
    }
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    secs.div_euclid(86_400)
}

pub fn parse(text: &str) -> Result<Vec<Waiver>> {
    let file: File = parse_toml(text, WAIVERS_FILE)?;
    let mut out = Vec::new();
    // Headers come in order: lines are counted on from the one before (a file of thousands
    // of waivers is read once, not once per waiver).
    let (mut at, mut line) = (0, 1);
    for spanned in file.waiver {
        let start = spanned.span().start.max(at);
        line += text.as_bytes()[at..start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        at = start;
        let mut w = spanned.into_inner();
        w.line = line;
        let at = Location::at(WAIVERS_FILE, w.line);
        if parse_date(&w.expires).is_none() {
            return Err(Error::Invalid {
                message: format!(
                    "waiver for `{}` expires on `{}`, not a date",
                    w.rule, w.expires
                ),
                location: at,
                hint: "write dates as YYYY-MM-DD".into(),
            });
        }
        if globset::Glob::new(&w.targets).is_err() {
            return Err(Error::Invalid {
                message: format!(
                    "waiver for `{}` has an invalid targets glob `{}`",
                    w.rule, w.targets
                ),
                location: at,
                hint: "use a label glob such as `stacks/legacy-*`".into(),
            });
        }
        if w.owner.trim().is_empty() || w.reason.trim().is_empty() {
            return Err(Error::Invalid {
                message: format!("waiver for `{}` has no owner or no reason", w.rule),
                location: at,
                hint: "every waiver names who owns it and why it exists".into(),
            });
        }
        out.push(w);
    }
    Ok(out)
}

/// Which targets and environments a waiver applies to, its glob compiled.
pub struct WaiverMatcher<'w> {
    glob: Option<globset::GlobMatcher>,
    environment: Option<&'w str>,
}

impl WaiverMatcher<'_> {
    pub fn applies_to(&self, label: &str, env: Option<&str>) -> bool {
        self.glob.as_ref().is_some_and(|g| g.is_match(label))
            && match (self.environment, env) {
                (None, _) => true,
                (Some(w), Some(e)) => w == e,
                (Some(_), None) => false,
            }
    }
}

impl Waiver {
    /// What the waiver says, without where it is written: two waivers with the same
    /// identity accept the same findings the same way.
    pub fn identity(&self) -> String {
        serde_json::to_string(&(
            &self.rule,
            &self.targets,
            &self.environment,
            &self.owner,
            &self.reason,
            &self.expires,
        ))
        .expect("strings serialize")
    }

    /// The waiver an [`Waiver::identity`] was made of (its line unknown).
    pub fn from_identity(identity: &str) -> Option<Waiver> {
        let (rule, targets, environment, owner, reason, expires) =
            serde_json::from_str(identity).ok()?;
        Some(Waiver {
            rule,
            targets,
            environment,
            owner,
            reason,
            expires,
            line: 0,
        })
    }

    pub fn applies_to(&self, label: &str, env: Option<&str>) -> bool {
        self.matcher().applies_to(label, env)
    }

    /// [`Waiver::applies_to`] with the glob compiled once, for many labels.
    pub fn matcher(&self) -> WaiverMatcher<'_> {
        WaiverMatcher {
            glob: globset::GlobBuilder::new(&self.targets)
                .literal_separator(true)
                .build()
                .ok()
                .map(|g| g.compile_matcher()),
            environment: self.environment.as_deref(),
        }
    }

    pub fn expired(&self, today: i64) -> bool {
        parse_date(&self.expires).is_none_or(|d| d < today)
    }

    /// Whether the waiver names one of a finding's rule identities.
    pub fn covers(&self, ids: &[&str]) -> bool {
        ids.contains(&self.rule.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2000-03-01"), Some(11017));
        assert_eq!(parse_date("2026-11-26"), Some(20783));
        for bad in [
            "+2027-+1-+5",
            "2027-1-5",
            "1-1-1",
            "02027-01-05",
            "2027-01-05 ",
            "2027/01/05",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        assert_eq!(parse_date("2026-13-01"), None);
        // Days a month does not have.
        assert_eq!(parse_date("2026-02-31"), None);
        assert_eq!(parse_date("2026-04-31"), None);
        assert_eq!(parse_date("2026-02-29"), None);
        assert_eq!(parse_date("2028-02-29"), Some(21243));
        assert_eq!(parse_date("2100-02-29"), None);
        assert_eq!(parse_date("2000-02-29"), Some(11016));
        // A year no calendar means (and one that would overflow the count) is no date.
        assert_eq!(parse_date("9223372036854775807-12-31"), None);
        assert_eq!(parse_date("20270-01-01"), None);
        assert_eq!(parse_date("9999-12-31"), Some(2_932_896));
    }

    #[test]
    fn parse_and_match() {
        let text = "[[waiver]]\nrule = \"CKV_AWS_20\"\ntargets = \"stacks/legacy-*\"\nenvironment = \"dev\"\nowner = \"sre\"\nreason = \"moving\"\nexpires = \"2026-12-31\"\n\n[[waiver]]\nrule = \"X\"\ntargets = \"**\"\nowner = \"a\"\nreason = \"b\"\nexpires = \"2020-01-01\"\n";
        let w = parse(text).unwrap();
        assert_eq!(w[0].line, 1);
        assert_eq!(w[1].line, 9);
        assert!(w[0].applies_to("stacks/legacy-db", Some("dev")));
        assert!(!w[0].applies_to("stacks/legacy-db", Some("prod")));
        assert!(!w[0].applies_to("stacks/db", Some("dev")));
        assert!(!w[0].expired(parse_date("2026-12-31").unwrap()));
        assert!(w[1].expired(parse_date("2026-01-01").unwrap()));
        let err = parse("[[waiver]]\nrule = \"X\"\ntargets = \"**\"\nowner = \"a\"\nreason = \"b\"\nexpires = \"soon\"\n").unwrap_err();
        assert_eq!(err.location().unwrap().line, Some(1));
        // Lines come from the headers as TOML reads them: not from a comment that names
        // one, and from a header written with spaces.
        let text = "# every [[waiver]] needs an owner\n\n[[ waiver ]]\nrule = \"A\"\ntargets = \"**\"\nowner = \"o\"\nreason = \"r\"\nexpires = \"2030-01-01\"\n\n  [[waiver]] # second\nrule = \"B\"\ntargets = \"**\"\nowner = \"o\"\nreason = \"r\"\nexpires = \"2030-01-01\"\n";
        let w = parse(text).unwrap();
        assert_eq!((w[0].line, w[1].line), (3, 10));
        assert!(parse("[[waiver]]\nrule = \"X\"\ntargets = \"**\"\nowner = \"\"\nreason = \"b\"\nexpires = \"2030-01-01\"\n").is_err());
    }
}
