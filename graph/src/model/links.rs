//! Symbolic links in a snapshot.
//!
//! git stores a link as a blob holding the path it points to. What a link means to strata:
//! - its own blob (where it points) is an input of the target owning it, like any file;
//! - where it points inside the workspace is an input too: a file's content, or every
//!   file below a directory. Tools follow links, so that content is what they read, and
//!   the sandbox, which recreates links as they are, then holds what they point to;
//! - a `.tf` file that is a link is read (for module calls and file reads) from the file it
//!   points to, with paths relative to the link's own directory, as terraform reads it;
//! - paths in module sources and file functions are resolved through linked directories;
//! - a link pointing outside the workspace (an absolute path, or one climbing above the
//!   root) is a problem of its target: strata cannot see changes there.

use super::edges::join_normalized;
use crate::discover::parent_dir;
use crate::error::Result;
use crate::facts::{FactStore, Facts, ParseErrors, Parser};
use crate::git::Repo;
use crate::snapshot::{Snapshot, SYMLINK_MODE};
use rustc_hash::FxHashMap;
use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

/// How many links one path may pass through (as the kernel's own limit, a loop ends here).
const HOPS: usize = 40;

/// Where a link, or a path through links, leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// A workspace path (which may or may not exist).
    Inside(String),
    /// Outside the workspace: the text that led there.
    Outside(String),
    /// Links that lead to each other without end.
    Loop,
}

/// The links of one snapshot, by path, with where each points (normalized to a workspace
/// path when it stays inside).
#[derive(Debug, Clone, Default)]
pub struct Links {
    targets: HashMap<String, Resolved>,
}

impl Links {
    /// Reads the target of every link in the snapshot (one batch; most snapshots have none).
    pub fn read(repo: &Repo, snapshot: &Snapshot) -> Result<Links> {
        let paths: Vec<&str> = snapshot
            .files
            .iter()
            .filter(|(_, e)| e.mode == SYMLINK_MODE)
            .map(|(p, _)| p.as_str())
            .collect();
        if paths.is_empty() {
            return Ok(Links::default());
        }
        let targets = snapshot
            .texts(repo, &paths)?
            .into_iter()
            .map(|(path, text)| {
                let to = if text.starts_with('/') {
                    Resolved::Outside(text)
                } else {
                    // The leading `../` climb the link's own directories, which are real
                    // ones (git tracks no path through a linked directory); a `..` after a
                    // name that may itself be a link is left for the walk, which follows
                    // that link first, as the kernel does (`lnk/../x` is not `x`).
                    let split = text
                        .split('/')
                        .position(|c| !matches!(c, ".." | "." | ""))
                        .unwrap_or(0);
                    let parts: Vec<&str> = text.split('/').collect();
                    let (lead, rest) = parts.split_at(split);
                    let inner_up = rest.contains(&"..");
                    match join_normalized(parent_dir(&path), &lead.join("/")) {
                        Some(base) if inner_up => Resolved::Inside(
                            [base.as_str()]
                                .into_iter()
                                .filter(|b| !b.is_empty())
                                .chain(rest.iter().copied())
                                .collect::<Vec<_>>()
                                .join("/"),
                        ),
                        Some(_) => match join_normalized(parent_dir(&path), &text) {
                            Some(p) => Resolved::Inside(p),
                            None => Resolved::Outside(text),
                        },
                        None => Resolved::Outside(text),
                    }
                };
                (path, to)
            })
            .collect();
        Ok(Links { targets })
    }

    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// The paths of the links.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.targets.keys().map(String::as_str)
    }

    pub fn is_link(&self, path: &str) -> bool {
        self.targets.contains_key(path)
    }

    /// Every path the link at `path` leads through, in order, the last being where it
    /// leads (all inside the workspace; none when `path` is no link), or `Err` with the
    /// text of a link leading outside, or of the loop.
    pub fn chain(&self, path: &str) -> std::result::Result<Vec<String>, String> {
        let mut out: Vec<String> = Vec::new();
        let mut at = path.to_string();
        // Each hop is one link: more than there are links is a loop.
        for _ in 0..=self.targets.len() {
            match self.targets.get(&at) {
                Some(Resolved::Inside(next)) => {
                    out.push(next.clone());
                    at = next.clone();
                }
                Some(Resolved::Outside(text)) => return Err(text.clone()),
                Some(Resolved::Loop) => return Err(format!("{path} (a loop of links)")),
                // No link itself: a directory on its way may be one.
                None => {
                    return match self.resolve(&at) {
                        Resolved::Inside(p) => {
                            if p != at {
                                out.push(p);
                            }
                            Ok(out)
                        }
                        Resolved::Outside(text) => Err(text),
                        Resolved::Loop => Err(format!("{path} (a loop of links)")),
                    }
                }
            }
        }
        Err(format!("{path} (a loop of links)"))
    }

    /// Where each link under `prefix` (a directory path ending in `/`) leads inside the
    /// workspace, fully resolved: (link, target).
    pub fn inside_under<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, String)> + 'a {
        self.targets
            .keys()
            .filter(move |p| p.starts_with(prefix))
            .filter_map(|p| match self.resolve(p) {
                Resolved::Inside(to) => Some((p.as_str(), to)),
                Resolved::Outside(_) | Resolved::Loop => None,
            })
    }

    /// `path` with every linked component replaced by where it points, repeatedly.
    pub fn resolve(&self, path: &str) -> Resolved {
        self.walk(path, &mut Vec::new())
    }

    /// The links [`Links::resolve`] passes through on the way from `path`, in order: a link
    /// on the path, then any link on the way from where it leads (`shared -> lib2`,
    /// `lib2 -> lib`: both), which a tool needs beside the directory to reach it the same way.
    pub fn crossed(&self, path: &str) -> Vec<String> {
        let mut crossed = Vec::new();
        self.walk(path, &mut crossed);
        crossed
    }

    fn walk(&self, path: &str, crossed: &mut Vec<String>) -> Resolved {
        if self.targets.is_empty() {
            return Resolved::Inside(path.to_string());
        }
        let mut rest: Vec<String> = path.split('/').rev().map(str::to_string).collect();
        let mut cur = String::new();
        let mut hops = 0;
        while let Some(part) = rest.pop() {
            match part.as_str() {
                "" | "." => continue,
                ".." => {
                    // Up from where the walk is: the directory the links led to.
                    if cur.is_empty() {
                        return Resolved::Outside(path.to_string());
                    }
                    cur.truncate(cur.rfind('/').unwrap_or(0));
                    continue;
                }
                _ => {}
            }
            let next = if cur.is_empty() {
                part
            } else {
                format!("{cur}/{part}")
            };
            match self.targets.get(&next) {
                None => cur = next,
                Some(Resolved::Outside(text)) => return Resolved::Outside(text.clone()),
                Some(Resolved::Loop) => return Resolved::Loop,
                Some(Resolved::Inside(to)) => {
                    crossed.push(next);
                    hops += 1;
                    if hops > HOPS {
                        return Resolved::Loop;
                    }
                    // Start over from the link's target, which may hold links itself.
                    rest.extend(to.split('/').rev().map(str::to_string));
                    cur = String::new();
                }
            }
        }
        Resolved::Inside(cur)
    }
}

/// Parses `paths` of `snapshot` like [`FactStore::facts_for`], reading a path that is a link
/// from the file it points to (listed under the link's own path). A link to nothing, or to
/// outside the workspace, has no facts: the target owning it reports that (see
/// `Builder::follow_link`).
pub(super) fn parse_through<'p>(
    facts: &FactStore,
    repo: &Repo,
    snapshot: &'p Snapshot,
    links: &Links,
    paths: &[&'p str],
) -> Result<(FxHashMap<&'p str, Arc<Facts>>, ParseErrors<'p>)> {
    if links.is_empty() {
        return facts.facts_for(repo, snapshot, paths);
    }
    let mut plain: Vec<&'p str> = Vec::with_capacity(paths.len());
    // Of `plain`, the files asked for by their own name (not only through a link).
    let mut asked: rustc_hash::FxHashSet<&'p str> = rustc_hash::FxHashSet::default();
    let mut aliases: Vec<(&'p str, &'p str)> = Vec::new();
    // A file a link points to is read as the link's name says (`Chart.yaml` linking to
    // `shared/api-Chart.yaml` is a Chart.yaml), as the tool reading the link would.
    let mut read_as: FxHashMap<&'p str, Parser> = FxHashMap::default();
    for &p in paths {
        if !links.is_link(p) {
            plain.push(p);
            asked.insert(p);
            continue;
        }
        if let Resolved::Inside(to) = links.resolve(p) {
            if let Some((to, _)) = snapshot.files.get_key_value(to.as_str()) {
                plain.push(to);
                aliases.push((p, to));
                if let Some(parser) = Parser::for_path(p) {
                    read_as.entry(to).or_insert(parser);
                }
            }
        }
    }
    plain.sort_unstable();
    plain.dedup();
    let (mut parsed, mut errors) = facts.facts_as(repo, snapshot, &plain, |p| {
        read_as.get(p).copied().or_else(|| Parser::for_path(p))
    })?;
    for &(link, to) in &aliases {
        if let Some(f) = parsed.get(to).cloned() {
            parsed.insert(link, f);
        } else if let Some((_, e)) = errors.iter().find(|(p, _)| *p == to) {
            let e = crate::error::Error::Invalid {
                message: format!("`{link}` links to `{to}`, which does not parse: {e}"),
                location: e
                    .location()
                    .cloned()
                    .unwrap_or_else(|| crate::error::Location::new(to, None)),
                hint: e.hint().unwrap_or_default(),
            };
            errors.push((link, e));
        }
    }
    // A file read only through links is reported once, as each link's.
    let linked: rustc_hash::FxHashSet<&str> = aliases.iter().map(|(_, to)| *to).collect();
    errors.retain(|(p, _)| asked.contains(p) || !linked.contains(p));
    Ok((parsed, errors))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(pairs: &[(&str, &str)]) -> Links {
        Links {
            targets: pairs
                .iter()
                .map(|(p, t)| {
                    let to = match join_normalized(parent_dir(p), t) {
                        Some(x) if !t.starts_with('/') => Resolved::Inside(x),
                        _ => Resolved::Outside(t.to_string()),
                    };
                    (p.to_string(), to)
                })
                .collect(),
        }
    }

    #[test]
    fn paths_resolve_through_files_directories_and_chains() {
        let l = links(&[
            ("stacks/app/common.tf", "../../shared/common.tf"),
            ("stacks/app/modules", "../../modules"),
            ("shared/latest", "v2"),
            ("stacks/app/etc", "/etc"),
            ("a/loop", "loop2"),
            ("a/loop2", "loop"),
        ]);
        let inside = |p: &str| Resolved::Inside(p.to_string());
        assert_eq!(
            l.resolve("stacks/app/common.tf"),
            inside("shared/common.tf")
        );
        assert_eq!(l.resolve("stacks/app/modules/vpc"), inside("modules/vpc"));
        assert_eq!(
            l.resolve("shared/latest/x.json"),
            inside("shared/v2/x.json")
        );
        assert_eq!(
            l.resolve("stacks/app/main.tf"),
            inside("stacks/app/main.tf")
        );
        assert!(matches!(
            l.resolve("stacks/app/etc/hosts"),
            Resolved::Outside(_)
        ));
        assert_eq!(l.resolve("a/loop/x"), Resolved::Loop);
    }
}
