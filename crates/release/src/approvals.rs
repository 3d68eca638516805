//! Approvals: SSH signatures over a promotion plan's digest.
//!
//! `strata promote approve FILE` signs the plan's digest with the approver's SSH key in the
//! format of `ssh-keygen -Y sign` (namespace `strata-promote`) and writes the signature
//! beside the plan, in `FILE.approvals/`. `promote apply` counts a signature only when
//! `ssh-keygen -Y verify` accepts it for this plan's digest against the repository's
//! `environments/allowed_signers` (minus `environments/revoked_keys`), its signer is one of
//! the destination's approvers, and the signer is not the plan's author. Each key counts
//! once.
//!
//! The plan's author signs it too (`promote approve` by the author): that signature does
//! not count as an approval, it proves who the author is. Without it, the author named in
//! the plan would be whatever identity its maker claimed, and anyone could name someone
//! else as the author and approve their own plan; so a plan that needs approvals needs its
//! author's signature as well.

use crate::plan::PromotionPlan;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use strata_exec::ssh;
use strata_graph::error::{Error, Location};
use strata_graph::Result;

/// The repository's approvers and their public keys, in `ssh-keygen`'s allowed-signers format.
pub const ALLOWED_SIGNERS: &str = "environments/allowed_signers";
/// Keys whose signatures no longer count (a KRL or public keys, one per line).
pub const REVOKED_KEYS: &str = "environments/revoked_keys";

/// What a signature signs: the plan's digest and the step of the train.
pub fn message(plan: &PromotionPlan) -> Vec<u8> {
    format!(
        "strata promotion plan {} from {} to {}\n",
        plan.digest, plan.from, plan.to
    )
    .into_bytes()
}

/// Where the approvals of the plan at `plan_path` are kept.
pub fn approvals_dir(plan_path: &Path) -> PathBuf {
    let mut name = plan_path.file_name().unwrap_or_default().to_os_string();
    name.push(".approvals");
    plan_path.with_file_name(name)
}

/// A key of `allowed_signers` for one namespace: its type and base64, every principal it
/// is listed under, and the person it is: the first principal of the first line listing it
/// (`bob@example.com,sre`: bob). One person gives one approval, whatever keys and names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerKey {
    pub key: String,
    pub principals: BTreeSet<String>,
    pub person: String,
}

/// One line of `allowed_signers`, read as ssh-keygen reads it:
/// `principals [options] key-type base64 [comment]`, the options one word of
/// comma-separated `name` or `name="value"` items.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SignerLine<'a> {
    principals: Vec<String>,
    options: &'a str,
    key_type: &'a str,
    key_data: &'a str,
}

/// The options ssh-keygen knows on an allowed-signers line.
const SIGNER_OPTIONS: &[&str] = &[
    "cert-authority",
    "namespaces",
    "valid-after",
    "valid-before",
];

/// Reads a line of `allowed_signers` (not empty, not a comment). Whatever ssh-keygen
/// would skip (it reports the line and goes on) is an error here: counted as a key of its
/// own, such a line would make a gate look satisfiable that no signature can meet.
fn parse_signer_line(line: &str) -> std::result::Result<SignerLine<'_>, String> {
    let (principals, rest) = match line.strip_prefix('"') {
        Some(quoted) => quoted
            .split_once('"')
            .ok_or("the quoted principals are not closed")?,
        None => line.split_once(char::is_whitespace).unwrap_or((line, "")),
    };
    let rest = rest.trim_start();
    // ssh-keygen passes over empty items of the list (`bob,,sre`).
    let principals = principals
        .split(',')
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>();
    if principals.is_empty() {
        return Err("it names no principal".into());
    }
    if let Some((key_type, key_data)) = key_at(rest) {
        return Ok(SignerLine {
            principals,
            options: "",
            key_type,
            key_data,
        });
    }
    // The options: one word, up to the first blank outside double quotes.
    let mut quoted = false;
    let end = rest
        .char_indices()
        .find(|&(_, c)| {
            if c == '"' {
                quoted = !quoted;
            }
            c.is_whitespace() && !quoted
        })
        .map_or(rest.len(), |(i, _)| i);
    let (options, after) = rest.split_at(end);
    let Some((key_type, key_data)) = key_at(after.trim_start()) else {
        let later = after.split_whitespace().any(is_key_type);
        return Err(if later {
            "the options are separated by blanks: ssh-keygen reads them as one word, separated by commas (`namespaces=\"strata-promote\",valid-before=\"20301231\"`)".into()
        } else {
            "this line names no SSH public key (a key type and its base64 data, as in a .pub file)"
                .into()
        });
    };
    let mut seen = BTreeSet::new();
    for option in split_options(options).into_iter().filter(|o| !o.is_empty()) {
        let (name, value) = match option.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (option, None),
        };
        let name = name.to_ascii_lowercase();
        if !SIGNER_OPTIONS.contains(&name.as_str()) {
            return Err(format!(
                "`{option}` is no option ssh-keygen knows here ({})",
                SIGNER_OPTIONS.join(", ")
            ));
        }
        if !seen.insert(name.clone()) {
            return Err(format!("`{name}` is given twice"));
        }
        match (name.as_str(), value) {
            ("cert-authority", None) => {}
            ("cert-authority", Some(_)) => return Err("`cert-authority` takes no value".into()),
            (_, Some(v)) if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') => {
                if name.starts_with("valid-") && ssh_time(v.trim_matches('"')).is_none() {
                    return Err(format!(
                        "`{option}` is no time ssh-keygen reads (YYYYMMDD, YYYYMMDDHHMM or YYYYMMDDHHMMSS, optionally ending in Z)"
                    ));
                }
            }
            _ => {
                return Err(format!(
                    "`{option}` needs its value in double quotes (`{name}=\"...\"`)"
                ))
            }
        }
    }
    Ok(SignerLine {
        principals,
        options,
        key_type,
        key_data,
    })
}

/// The key type and base64 `text` starts with, when it starts with a public key.
fn key_at(text: &str) -> Option<(&str, &str)> {
    let mut words = text.split_whitespace();
    let (t, d) = (words.next()?, words.next()?);
    (is_key_type(t) && is_public_key(t, d)).then_some((t, d))
}

/// The lines of `allowed_signers`, each read (see [`parse_signer_line`]) with its number;
/// `None` when there is no such file.
fn signer_lines(root: &Path) -> Result<Option<Vec<(usize, String)>>> {
    let path = root.join(ALLOWED_SIGNERS);
    let text = match strata_fs::read_regular_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let mut out = Vec::new();
    for (number, line) in text.lines().map(str::trim).enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Err(why) = parse_signer_line(line) {
            return Err(Error::Invalid {
                message: format!("ssh-keygen would skip this line: {why}"),
                location: Location::at(ALLOWED_SIGNERS, number + 1),
                hint: "write `principal[,principal] [option,option] key-type base64-key` (the key as in its .pub file), or remove the line".into(),
            });
        }
        out.push((number + 1, line.to_string()));
    }
    Ok(Some(out))
}

/// The value of option `name` (matched as ssh-keygen does, in any case) of a line's
/// options, without its quotes.
fn option_value<'a>(options: &'a str, name: &str) -> Option<&'a str> {
    split_options(options).into_iter().find_map(|o| {
        let (n, v) = o.split_once('=')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim_matches('"'))
    })
}

/// The keys `allowed_signers` lists for signatures in `namespace` (see [`SignerKey`]; a key
/// may be on several lines, and a line may name several principals). A line whose
/// `namespaces=` leaves `namespace` out, or that is not in force now (`valid-before`
/// passed, `valid-after` to come), is not counted. A certificate authority
/// (`cert-authority`) for `namespace` is refused: an approval is judged by the key that made
/// it, and a certificate's names are not an allowed-signers line's.
pub fn signer_keys(root: &Path, namespace: &str) -> Result<Option<Vec<SignerKey>>> {
    let Some(lines) = signer_lines(root)? else {
        return Ok(None);
    };
    let mut keys: Vec<SignerKey> = Vec::new();
    for (number, text) in &lines {
        let line = parse_signer_line(text).expect("read by signer_lines");
        if let Some(list) = option_value(line.options, "namespaces") {
            if !namespace_matches(list, namespace) {
                continue;
            }
        }
        if split_options(line.options)
            .iter()
            .any(|o| o.eq_ignore_ascii_case("cert-authority"))
        {
            return Err(Error::Invalid {
                message: format!(
                    "this line trusts a certificate authority for `{namespace}` signatures: strata counts approvals by the key that made them, and cannot tell the people a certificate names apart"
                ),
                location: Location::at(ALLOWED_SIGNERS, *number),
                hint: format!(
                    "list each approver's own public key for `{namespace}`, and keep the authority's line to other namespaces (`namespaces=\"...\"` without `{namespace}`)"
                ),
            });
        }
        if outside_validity(line.options, crate::clock::now()).is_some() {
            continue;
        }
        let key = format!("{} {}", line.key_type, line.key_data);
        match keys.iter_mut().find(|k| k.key == key) {
            Some(known) => known.principals.extend(line.principals.iter().cloned()),
            None => keys.push(SignerKey {
                key,
                person: line.principals[0].clone(),
                principals: line.principals.iter().cloned().collect(),
            }),
        }
    }
    Ok(Some(keys))
}

/// When `options` (of an allowed-signers line) hold a `valid-before` that passed or a
/// `valid-after` still to come at `now`: that option, as written.
fn outside_validity(options: &str, now: i64) -> Option<String> {
    split_options(options).into_iter().find_map(|o| {
        let (name, value) = o.split_once('=')?;
        let at = ssh_time(value.trim_matches('"'))?;
        let outside = match name.trim().to_ascii_lowercase().as_str() {
            "valid-before" => now >= at,
            "valid-after" => now < at,
            _ => false,
        };
        outside.then(|| o.to_string())
    })
}

/// Seconds since the epoch of an allowed-signers time: `YYYYMMDD`, `YYYYMMDDHHMM` or
/// `YYYYMMDDHHMMSS`, with an optional `Z`. ssh-keygen reads one without `Z` in the local
/// time zone; strata reads it as UTC (CI machines run in UTC), so near the boundary the
/// two may disagree by the zone's offset. An unreadable one is `None` (ssh-keygen rejects
/// the line).
fn ssh_time(text: &str) -> Option<i64> {
    let digits = text.strip_suffix(['Z', 'z']).unwrap_or(text);
    if !matches!(digits.len(), 8 | 12 | 14) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let date = format!("{}-{}-{}", &digits[..4], &digits[4..6], &digits[6..8]);
    let mut time = [0i64; 3];
    for (i, part) in time.iter_mut().enumerate() {
        if let Some(p) = digits.get(8 + 2 * i..10 + 2 * i) {
            *part = p.parse().ok()?;
        }
    }
    crate::clock::parse_utc(&format!(
        "{date}T{:02}:{:02}:{:02}Z",
        time[0], time[1], time[2]
    ))
}

/// The public key an SSH signature (`-----BEGIN SSH SIGNATURE-----`) was made with, as
/// the base64 an allowed-signers line holds.
fn signature_key(signature: &str) -> Option<String> {
    use base64::Engine;
    let armored: String = signature
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let blob = base64::engine::general_purpose::STANDARD
        .decode(armored)
        .ok()?;
    // "SSHSIG", a version (u32), then the public key as a string (u32 length, bytes).
    let rest = blob.strip_prefix(b"SSHSIG")?.get(4..)?;
    let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let key = rest.get(4..4 + len)?;
    Some(base64::engine::general_purpose::STANDARD.encode(key))
}

/// Why a signature whose key `allowed_signers` lists is not taken now: the line's
/// `valid-before` passed, or its `valid-after` is to come.
fn not_in_force(root: &Path, signature: &str) -> Option<String> {
    let key = signature_key(signature)?;
    let lines = signer_lines(root).ok()??;
    let now = crate::clock::now();
    lines.iter().find_map(|(_, text)| {
        let line = parse_signer_line(text).ok()?;
        if line.key_data != key {
            return None;
        }
        let option = outside_validity(line.options, now)?;
        Some(format!(
            "made by the key of {} that {ALLOWED_SIGNERS} lists with {option}: it is not in force now",
            line.principals.join(",")
        ))
    })
}

/// The options of an allowed-signers line, split on the commas outside double quotes.
fn split_options(options: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in options.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(options[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(options[start..].trim());
    out
}

/// Whether a `namespaces=` list admits `namespace`, as ssh-keygen matches it: some
/// pattern of the comma-separated list matches (`*` any text, `?` one character), and no
/// negated one (`!pattern`) does.
fn namespace_matches(list: &str, namespace: &str) -> bool {
    let mut admitted = false;
    for pattern in list.split(',').map(str::trim) {
        match pattern.strip_prefix('!') {
            Some(negated) if glob_matches(negated, namespace) => return false,
            Some(_) => {}
            None => admitted |= glob_matches(pattern, namespace),
        }
    }
    admitted
}

/// Whether `text` matches `pattern`, where `*` matches any text and `?` one character.
fn glob_matches(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Whether `data` is the base64 of an SSH public key of type `key_type`: its wire form
/// starts with the type's name (a length, then the name).
fn is_public_key(key_type: &str, data: &str) -> bool {
    use base64::Engine;
    let Ok(blob) = base64::engine::general_purpose::STANDARD.decode(data) else {
        return false;
    };
    let Some(len) = blob
        .get(..4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    else {
        return false;
    };
    blob.get(4..4 + len as usize) == Some(key_type.as_bytes())
}

fn is_key_type(field: &str) -> bool {
    field.starts_with("ssh-")
        || field.starts_with("ecdsa-sha2-")
        || field.starts_with("sk-ssh-")
        || field.starts_with("sk-ecdsa-")
}

/// Refuses gates that no approvals could meet: approvals required without an
/// allowed-signers file, an `author` with no key to sign the plan as its author with, or
/// more approvals than there are keys of eligible approvers besides the author's (a key
/// gives one approval whatever names it is listed under, and one that names the author is
/// the author's, whose approval never counts).
pub fn can_be_met(
    root: &Path,
    env_file: &str,
    required: u32,
    approvers: &[String],
    author: &str,
) -> Result<()> {
    if required == 0 {
        return Ok(());
    }
    let Some(keys) = signer_keys(root, ssh::NAMESPACE)? else {
        return Err(Error::Invalid {
            message: format!(
                "{env_file} requires {required} approval(s), and there is no {ALLOWED_SIGNERS} to check them against"
            ),
            location: Location::new(env_file, None),
            hint: format!(
                "list each approver's SSH public key in {ALLOWED_SIGNERS} (`alice@example.com namespaces=\"strata-promote\" ssh-ed25519 AAAA...`); see docs/promotion.md"
            ),
        });
    };
    if !keys.iter().any(|k| k.principals.contains(author)) {
        return Err(Error::Invalid {
            message: format!(
                "{env_file} requires {required} approval(s), and {ALLOWED_SIGNERS} lists no key of {author}, who makes the plan: a plan that needs approvals must be signed by its author"
            ),
            location: Location::new(env_file, None),
            hint: format!(
                "list {author}'s SSH public key in {ALLOWED_SIGNERS} with namespaces=\"{}\", or have someone listed there make the plan",
                ssh::NAMESPACE
            ),
        });
    }
    let eligible = keys
        .iter()
        .filter(|k| !k.principals.contains(author))
        .filter(|k| approvers.is_empty() || k.principals.iter().any(|p| approvers.contains(p)))
        .map(|k| k.person.as_str())
        .collect::<BTreeSet<_>>()
        .len();
    if (eligible as u32) < required {
        return Err(Error::Invalid {
            message: format!(
                "{env_file} requires {required} approval(s), but only {eligible} approver(s) besides {author} are listed: one person (the first name of a key's line) gives one approval whatever keys and names they are listed with, the plan's author's approval does not count, and the gate cannot be met"
            ),
            location: Location::new(env_file, None),
            hint: format!("add approvers to {ALLOWED_SIGNERS} (and `[access] approvers`), or lower `approvals`"),
        });
    }
    Ok(())
}

/// A signature file and whether it counted.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Counted {
    pub file: String,
    /// The principal it was made by, when known.
    pub principal: Option<String>,
    pub counts: bool,
    /// A valid signature by the plan's author: it proves who made the plan.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub author: bool,
    /// Why it does not count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The approvals of `plan` found beside `plan_path`, each with whether it counts.
pub fn count(
    root: &Path,
    plan_path: &Path,
    plan: &PromotionPlan,
    approvers: &[String],
) -> Result<Vec<Counted>> {
    let dir = approvals_dir(plan_path);
    let allowed = root.join(ALLOWED_SIGNERS);
    let revoked = root.join(REVOKED_KEYS);
    let revoked = revoked.exists().then_some(revoked);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "sig"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(Error::io(&dir, e)),
    };
    files.sort();
    if !files.is_empty() && !allowed.exists() {
        return Err(Error::Invalid {
            message: format!(
                "the plan has approvals, and there is no {ALLOWED_SIGNERS} to check them against"
            ),
            location: Location::new(ALLOWED_SIGNERS, None),
            hint: "list each approver's SSH public key there; see docs/promotion.md".into(),
        });
    }
    let message = message(plan);
    // Who each listed key is: one person gives one approval.
    let people = signer_keys(root, ssh::NAMESPACE)?.unwrap_or_default();
    let person_of = |signature: &str| {
        let data = signature_key(signature)?;
        people
            .iter()
            .find(|k| k.key.split(' ').nth(1) == Some(data.as_str()))
            .map(|k| k.person.clone())
    };
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for file in files {
        let name = file.display().to_string();
        let signature =
            strata_fs::read_regular_to_string(&file).map_err(|e| Error::io(&file, e))?;
        let principals =
            ssh::find_principals(&allowed, &signature).map_err(|e| tool_error(&file, e))?;
        let mut result = Counted {
            file: name,
            principal: None,
            counts: false,
            author: false,
            reason: Some(
                not_in_force(root, &signature)
                    .unwrap_or_else(|| format!("made by a key {ALLOWED_SIGNERS} does not list")),
            ),
        };
        // A key gives one approval whatever names it is listed under: a key that also
        // names the plan's author is the author's, and a key one of whose names already
        // approved (the same signature copied, or the same key under another name) has
        // approved.
        if let Some(author) = principals.iter().find(|p| **p == plan.author) {
            result.principal = Some(author.clone());
            let valid = ssh::verify(
                &allowed,
                revoked.as_deref(),
                author,
                ssh::NAMESPACE,
                &signature,
                &message,
            )
            .map_err(|e| tool_error(&file, e))?;
            result.author = valid;
            result.reason = Some(if valid {
                format!(
                    "made by a key of {author}, who made the plan: it proves who made it, and self-approval does not count"
                )
            } else {
                "does not verify for this plan (signs another plan, or the key was revoked)"
                    .to_string()
            });
            out.push(result);
            continue;
        }
        let person = person_of(&signature);
        if let Some(p) = person.as_ref().filter(|p| seen.contains(*p)) {
            result.principal = Some(p.clone());
            result.reason = Some(format!(
                "made by a key of {p}, who approved already: one person, one approval, whatever keys and names"
            ));
            out.push(result);
            continue;
        }
        // A name the signature verifies as says more than one it does not (a line of the
        // key for audit signatures only): its reason is kept.
        let mut verified = false;
        for p in &principals {
            let valid = ssh::verify(
                &allowed,
                revoked.as_deref(),
                p,
                ssh::NAMESPACE,
                &signature,
                &message,
            )
            .map_err(|e| tool_error(&file, e))?;
            if !valid && verified {
                continue;
            }
            verified |= valid;
            result.principal = Some(p.clone());
            result.reason = Some(if !valid {
                "does not verify for this plan (signs another plan, or the key was revoked)"
                    .to_string()
            } else if !approvers.is_empty() && !approvers.contains(p) {
                format!("{p} is not an approver of {}", plan.to)
            } else {
                result.counts = true;
                result.reason = None;
                break;
            });
        }
        if result.counts {
            seen.extend(person);
        }
        out.push(result);
    }
    Ok(out)
}

fn tool_error(file: &Path, e: ssh::SshError) -> Error {
    let message = format!("cannot check the approval {}: {e}", file.display());
    check_failed(message, Location::new(file.display().to_string(), None), e)
}

/// A signature ssh-keygen could not check, as an error: a revoked keys file it cannot read
/// is named at its line, to be fixed; anything else is at `otherwise`, the tool's.
pub(crate) fn check_failed(message: String, otherwise: Location, e: ssh::SshError) -> Error {
    match e {
        ssh::SshError::BadRevocationFile { line, .. } => Error::Invalid {
            message,
            location: Location::new(REVOKED_KEYS, line),
            hint: format!("fix {REVOKED_KEYS} (one public key per line, or a KRL)"),
        },
        _ => Error::Invalid {
            message,
            location: otherwise,
            hint: "install OpenSSH's ssh-keygen (8.2 or newer)".into(),
        },
    }
}

/// The SSH key to sign with: `--key`, else git's `user.signingkey`, else the first of
/// `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa` that exists.
pub fn signing_key(explicit: Option<&Path>, repo: &strata_graph::git::Repo) -> Result<PathBuf> {
    if let Some(k) = explicit {
        return Ok(k.to_path_buf());
    }
    if let Some(k) = repo.config("user.signingkey") {
        let k = match k.strip_prefix("~/") {
            Some(rest) => std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_default()
                .join(rest),
            None => PathBuf::from(k),
        };
        if k.exists() {
            return Ok(k);
        }
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    ["id_ed25519", "id_ecdsa", "id_rsa"]
        .iter()
        .map(|n| home.join(".ssh").join(n))
        .find(|p| p.exists())
        .ok_or_else(|| Error::Usage {
            message: "no SSH key to sign with".into(),
            hint: "pass --key PATH, or set `git config user.signingkey PATH`".into(),
        })
}

/// Signs the plan at `plan_path` with `key`, as an approval or, by the plan's author, as the
/// proof of who made it; returns the signature file written.
pub fn approve(
    session: &strata_graph::session::Session,
    view: &strata_graph::session::View,
    plan_path: &Path,
    plan: &PromotionPlan,
    key: &Path,
) -> Result<PathBuf> {
    // What is signed must be what strata would plan from the locks as they are: a plan
    // that is stale, or that was edited (and its digest computed again), is not. That
    // holds for all an approver reads, not only the steps: a plan edited to hide what it
    // holds back would have them approve what they did not see.
    let root = &session.root;
    let locks = crate::plan::Locks::read(root, &plan.from, &plan.to)?;
    let stale = locks.source.digest() != plan.source_lock
        || locks.destination.digest() != plan.destination_lock;
    let wrong = if stale {
        Some(format!(
            "the plan is stale: {} or {}'s release lock changed since it was made",
            plan.from, plan.to
        ))
    } else {
        plan.check_against(&locks).err()
    };
    let wrong = match wrong {
        Some(why) => Some(why),
        None => {
            let trail = crate::vouch::trail(root, &plan.from)?;
            let unvouched_step = plan
                .steps()
                .find_map(|s| trail.unvouched.get(&s.label).map(|why| (s, why)))
                .map(|(s, why)| {
                    format!(
                        "{} is not vouched for by {}'s audit trail: {why}",
                        s.label, plan.from
                    )
                });
            match unvouched_step {
                Some(why) => Some(why),
                None => {
                    let bases = crate::plan::policy_bases(view, &locks.source, &plan.from);
                    let head = session.repo.resolve_commit("HEAD")?;
                    let files = crate::env_files::for_promotion(session, &locks, &plan.to, &head)?;
                    let fresh =
                        crate::plan::remake(&view.model, &locks, plan, &trail, &bases, &files)?;
                    plan.differs_from(&fresh)
                }
            }
        }
    };
    if let Some(why) = wrong {
        return Err(Error::Invalid {
            message: format!("not signed: {why}"),
            location: Location::new(plan_path.display().to_string(), None),
            hint: format!(
                "ask for a new plan (`strata promote plan --from {} --to {}`)",
                plan.from, plan.to
            ),
        });
    }
    let signature = ssh::sign(key, ssh::NAMESPACE, &message(plan)).map_err(|e| Error::Invalid {
        message: format!("cannot sign with {}: {e}", key.display()),
        location: Location::new(key.display().to_string(), None),
        hint: "check the key (and that ssh-keygen 8.2 or newer is installed)".into(),
    })?;
    let public = ssh::public_key(key).unwrap_or_default();
    let id = blake3::hash(
        public
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ")
            .as_bytes(),
    )
    .to_hex()
    .to_string();
    let dir = approvals_dir(plan_path);
    std::fs::create_dir_all(&dir).map_err(|e| Error::write(&dir, e))?;
    let path = dir.join(format!("{}.sig", &id[..16]));
    strata_fs::write_atomic(&path, signature.as_bytes()).map_err(|e| Error::write(&path, e))?;
    Ok(path)
}
