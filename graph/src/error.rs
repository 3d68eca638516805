//! The library's error type. Every user-facing error carries what went wrong, where (file
//! and line, relative to the workspace root, when there is one) and a hint saying what to do.
//! The CLI maps [`Error::exit_code`] to the process exit code.

use std::fmt;
use std::path::PathBuf;

/// A place in a workspace file: path relative to the workspace root, 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Location {
    pub file: String,
    pub line: Option<usize>,
}

impl Location {
    pub fn new(file: impl Into<String>, line: Option<usize>) -> Location {
        Location {
            file: file.into(),
            line,
        }
    }

    pub fn at(file: impl Into<String>, line: usize) -> Location {
        Location::new(file, Some(line))
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}", self.file, line),
            None => f.write_str(&self.file),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no WORKSPACE.toml found in {} or any parent directory", start.display())]
    NoWorkspace { start: PathBuf },

    /// A file that could not be parsed (TOML, HCL, YAML, JSON).
    #[error("{what} is malformed: {message}")]
    Malformed {
        what: &'static str,
        location: Location,
        message: String,
    },

    /// A file that parsed but says something invalid.
    #[error("{message}")]
    Invalid {
        message: String,
        location: Location,
        hint: String,
    },

    #[error("{from} depends on `{label}`, which does not exist")]
    UnknownLabel {
        from: String,
        label: String,
        location: Location,
        /// "did you mean ..." for a near miss among the targets' labels.
        suggestion: Option<String>,
    },

    #[error("dependency cycle: {}", path.join(" -> "))]
    Cycle {
        /// The labels around the cycle, the first repeated at the end.
        path: Vec<String>,
        /// Where each edge of the cycle is declared or inferred, in order.
        edges: Vec<Location>,
    },

    #[error("module source `{source_path}` {} (resolved to `{resolved}`)", if *exists { "holds no Terraform files" } else { "does not exist" })]
    MissingModuleSource {
        source_path: String,
        resolved: String,
        /// The directory exists, but holds no `.tf` file.
        exists: bool,
        location: Location,
        /// The git submodule (its path, from `.gitmodules`) the source lies in, whose files
        /// strata does not read.
        submodule: Option<String>,
    },

    #[error("{} is not inside a git repository", path.display())]
    NotGitRepo { path: PathBuf },

    #[error("unknown revision `{rev}`")]
    UnknownRevision {
        rev: String,
        /// What to do, given the clone (shallow, which branches it has).
        hint: String,
    },

    #[error("no merge-base between `{base}` and `{head}`: this clone is shallow and lacks the history to compare them")]
    ShallowClone { base: String, head: String },

    #[error("the merge-base of `{base}` and `{head}` cannot be trusted: this clone is shallow, and its history is cut at {cut} between them and the merge-base git found ({found}), so a later common ancestor may lie beyond the cut")]
    ShallowMergeBase {
        base: String,
        head: String,
        found: String,
        cut: String,
    },

    #[error("no merge-base between `{base}` and `{head}`: they share no history")]
    NoMergeBase { base: String, head: String },

    #[error("no target `{label}`")]
    NoSuchTarget {
        label: String,
        /// "did you mean ..." for a near miss.
        suggestion: Option<String>,
    },

    #[error("`git {args}` failed: {stderr}")]
    Git { args: String, stderr: String },

    #[error("daemon: {message}")]
    Daemon { message: String, hint: String },

    /// A request that cannot be carried out as asked (nothing to apply, a name that means
    /// nothing here), not tied to a line of a file.
    #[error("{message}")]
    Usage { message: String, hint: String },

    /// An operation that ran and failed for a reason outside the input (a state lock
    /// another run holds, a backend that could not be reached): exit 1, not 2.
    #[error("{message}")]
    Failed {
        message: String,
        location: Location,
        hint: String,
    },

    /// Targets that cannot be modelled (each with why), among those a command needs.
    #[error("{}", problems[0].1.message)]
    Broken {
        /// (label, problem); never empty.
        problems: Vec<(String, Problem)>,
    },

    /// Targets among those a command would run that strata cannot run as their own tool
    /// would (each with why): see `Target::unrunnable`.
    #[error("{}", problems[0].1.message)]
    Unrunnable {
        /// (label, problem); never empty.
        problems: Vec<(String, Problem)>,
    },

    /// A tool ran, but the temporary directory holding its output had no room left
    /// afterwards: its output is not used (see `strata_exec::process::run`).
    #[error("{}", source)]
    NoRoom {
        #[source]
        source: std::io::Error,
    },

    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// A failed write (or create, or remove) of `path`.
    pub fn write(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Write {
            path: path.into(),
            source,
        }
    }

    /// A failed read of `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        if source.kind() == std::io::ErrorKind::StorageFull {
            return Error::NoRoom { source };
        }
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Where the problem is, when it is in a file.
    /// The message, where it comes from and what to do, on one line: for a task's reason,
    /// which is all a user sees of an error met while the task ran.
    pub fn one_line(&self) -> String {
        let mut line = self.to_string();
        if let Some(location) = self.location() {
            line.push_str(&format!(" (at {location})"));
        }
        if let Some(hint) = self.hint().filter(|h| !h.is_empty()) {
            line.push_str(&format!("; {hint}"));
        }
        line
    }

    pub fn location(&self) -> Option<&Location> {
        match self {
            Error::Malformed { location, .. }
            | Error::Invalid { location, .. }
            | Error::Failed { location, .. }
            | Error::UnknownLabel { location, .. }
            | Error::MissingModuleSource { location, .. } => Some(location),
            Error::Cycle { edges, .. } => edges.first(),
            Error::Broken { problems } | Error::Unrunnable { problems } => {
                problems.first().and_then(|(_, p)| p.location.as_ref())
            }
            _ => None,
        }
    }

    /// Whether this error is about the files of the workspace (a file that does not parse
    /// or says something invalid), as opposed to git, the filesystem or the command line.
    pub fn is_content_error(&self) -> bool {
        matches!(
            self,
            Error::Malformed { .. }
                | Error::Invalid { .. }
                | Error::UnknownLabel { .. }
                | Error::Cycle { .. }
                | Error::MissingModuleSource { .. }
                | Error::Broken { .. }
                | Error::Unrunnable { .. }
        )
    }

    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Error::NoWorkspace { .. } => {
                "run strata inside a workspace: a directory tree whose root holds WORKSPACE.toml"
                    .into()
            }
            Error::Malformed {
                what: "terraform state",
                ..
            } => "a state file is terraform's to write, not to fix by hand: restore it from the copy terraform keeps beside it (terraform.tfstate.backup) or from the backend's versions, then run again".into(),
            Error::Malformed { what, .. } => format!("fix the {what} syntax at the line shown"),
            Error::Invalid { hint, .. } | Error::Failed { hint, .. } if hint.is_empty() => {
                return None
            }
            Error::Invalid { hint, .. } | Error::Failed { hint, .. } => hint.clone(),
            // Not `strata list`: it refuses while a target is broken, this one included.
            Error::UnknownLabel { suggestion, .. } => match suggestion {
                Some(s) => format!("{s} Fix the label at the line shown"),
                None => "fix the label at the line shown: no target has it (targets are what the layout in WORKSPACE.toml finds)".into(),
            },
            Error::Cycle { edges, .. } => {
                let mut s = String::from("remove one of these dependencies:");
                for e in edges {
                    s.push_str(&format!("\n  {e}"));
                }
                s
            }
            Error::MissingModuleSource {
                submodule: Some(submodule),
                ..
            } => format!(
                "it lies in the git submodule `{submodule}`, whose files strata does not read (they are not in this repository's tree): give the module a git source pinned to a commit (`git::<url>//<dir>?ref=<commit>`), or copy it into the repository"
            ),
            Error::MissingModuleSource { .. } => {
                "a local module source is a path relative to the file's directory; fix the path or add the module".into()
            }
            Error::NotGitRepo { .. } => {
                "strata identifies files by git object ids: run `git init` and commit, or run strata inside a clone".into()
            }
            Error::UnknownRevision { hint, .. } => hint.clone(),
            Error::ShallowClone { .. } | Error::ShallowMergeBase { .. } => {
                "fetch more history: `git fetch --deepen=200` (repeat as needed) or `git fetch --unshallow`; in GitHub Actions set `fetch-depth: 0`".into()
            }
            Error::NoMergeBase { .. } => "pass a --base that shares history with --head".into(),
            Error::NoSuchTarget { suggestion, .. } => match suggestion {
                Some(s) => format!("{s} (`strata list` shows every target's label)"),
                None => "run `strata list` to see every target's label".into(),
            },
            Error::Git { .. } => "check that git works in this directory (`git status`)".into(),
            Error::Daemon { hint, .. } | Error::Usage { hint, .. } => hint.clone(),
            Error::Broken { problems } => return problems_hint(problems, "be modelled"),
            Error::Unrunnable { problems } => return problems_hint(problems, "be run by strata"),
            Error::Io { .. } => return None,
            Error::NoRoom { .. } => {
                "free space in the temporary directory, or set TMPDIR to a directory with room; then run again".into()
            }
            Error::Write { source, .. } => match source.kind() {
                std::io::ErrorKind::NotFound => "create the directory first".into(),
                std::io::ErrorKind::PermissionDenied => {
                    "check the permissions of the file and its directory".into()
                }
                _ => return None,
            },
        })
    }

    /// Every error that stops a command before it runs anything is bad input or usage: exit
    /// 2; an operation that ran and failed is exit 1.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Failed { .. } => 1,
            _ => 2,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a target cannot be modelled: an error found while reading it, kept with the target
/// so that the rest of the workspace is still modelled (see `model::Target::problems`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Problem {
    pub message: String,
    pub location: Option<Location>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// The hint of an error listing targets' problems: the first problem's hint, then every
/// other problem with its target (a target with several problems is counted once), for
/// targets that cannot `what`.
fn problems_hint(problems: &[(String, Problem)], what: &str) -> Option<String> {
    let mut hint = problems[0].1.hint.clone().unwrap_or_default();
    if problems.len() > 1 {
        let targets: std::collections::BTreeSet<&str> =
            problems.iter().map(|(label, _)| label.as_str()).collect();
        hint.push_str(&format!(
            "{}{} more problem(s); {} target(s) in all cannot {what}:",
            if hint.is_empty() { "" } else { "\n" },
            problems.len() - 1,
            targets.len()
        ));
        for (label, p) in &problems[1..] {
            let at = p
                .location
                .as_ref()
                .map(|l| format!(" ({l})"))
                .unwrap_or_default();
            hint.push_str(&format!("\n  {label}: {}{at}", p.message));
        }
    }
    (!hint.is_empty()).then_some(hint)
}

impl From<&Error> for Problem {
    fn from(e: &Error) -> Problem {
        let message = match e {
            // A problem names what is wrong; the error type's prefix says it again.
            Error::Broken { problems } | Error::Unrunnable { problems } => {
                problems[0].1.message.clone()
            }
            _ => e.to_string(),
        };
        Problem {
            message,
            location: e.location().cloned(),
            hint: e.hint(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(at) = &self.location {
            write!(f, " ({at})")?;
        }
        Ok(())
    }
}

/// The error for a YAML `file` (of `text`) that does not parse, naming `what` it is and
/// the line: `serde_norway::from_str(text).map_err(malformed_yaml("kustomization", file,
/// text))`. Some errors (a control character) carry only a position, `at position N`,
/// and a location of line 1: the line is then that position's.
pub(crate) fn malformed_yaml<'f>(
    what: &'static str,
    file: &'f str,
    text: &'f str,
) -> impl Fn(serde_norway::Error) -> Error + 'f {
    move |e| {
        let message = e.to_string();
        let at_position = message
            .split_once("at position ")
            .and_then(|(_, rest)| {
                rest.split(|c: char| !c.is_ascii_digit())
                    .next()?
                    .parse::<usize>()
                    .ok()
            })
            .filter(|&p| p <= text.len());
        let line = match at_position {
            Some(p) => Some(line_of(text, p)),
            None => e.location().map(|l| l.line()),
        };
        Error::Malformed {
            what,
            location: Location::new(file, line),
            message,
        }
    }
}

/// The lines of a text, for finding the line of many offsets in it: each lookup is a
/// binary search, where [`line_of`] counts from the start every time (a file with
/// thousands of entries would be read once per entry).
pub struct Lines {
    /// The offset of every `\n`, in order.
    ends: Vec<usize>,
}

impl Lines {
    pub fn new(text: &str) -> Lines {
        let ends = text
            .bytes()
            .enumerate()
            .filter(|&(_, b)| b == b'\n')
            .map(|(i, _)| i)
            .collect();
        Lines { ends }
    }

    /// 1-based line number of a byte offset, as [`line_of`] gives it.
    pub fn line(&self, offset: usize) -> usize {
        self.ends.partition_point(|&end| end < offset) + 1
    }
}

/// 1-based line number of a byte offset in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// "did you mean `x`?" for the known value nearest to `given`, when one is near enough to
/// be a typo (an edit distance of at most a third of its length, and at least one).
pub fn did_you_mean<S: AsRef<str>>(given: &str, known: &[S]) -> Option<String> {
    let limit = (given.chars().count() / 3).max(1);
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(given, k.as_ref()), k.as_ref()))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, k)| format!("did you mean `{k}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_agree_with_line_of_at_every_offset() {
        for text in ["", "a", "\n", "a\nb", "a\n\nbc\n", "\r\nx\r\n\n"] {
            let lines = Lines::new(text);
            for offset in 0..=text.len() + 2 {
                assert_eq!(
                    lines.line(offset),
                    line_of(text, offset),
                    "{text:?} at {offset}"
                );
            }
        }
    }

    #[test]
    fn suggestions_only_for_near_misses() {
        assert_eq!(
            did_you_mean("prd", &["dev", "staging", "prod"]).as_deref(),
            Some("did you mean `prod`?")
        );
        assert_eq!(
            did_you_mean("plna", &["plan", "policy"]).as_deref(),
            Some("did you mean `plan`?")
        );
        assert_eq!(did_you_mean("qa", &["dev", "staging", "prod"]), None);
    }

    /// A target with several problems counts once among the targets that cannot be
    /// modelled.
    #[test]
    fn broken_targets_are_counted_once() {
        let problem = |m: &str| Problem {
            message: m.into(),
            location: None,
            hint: None,
        };
        let e = Error::Broken {
            problems: vec![
                ("mixins".into(), problem("a")),
                ("mixins".into(), problem("b")),
                ("mixins".into(), problem("c")),
                ("aws/users".into(), problem("d")),
            ],
        };
        let hint = e.hint().unwrap();
        assert!(
            hint.starts_with("3 more problem(s); 2 target(s) in all cannot be modelled:"),
            "{hint}"
        );
    }
}
