//! Variable files (`terraform.tfvars`, `*.auto.tfvars`, an environment's tfvars, and their
//! `.tfvars.json` forms): the paths their values may be, as the local `var.<name>` (see
//! [`VAR_PREFIX`]), which a file read through the variable (`file(var.policy_file)`) or a
//! `chart = var.chart` follows.
//!
//! A variable file also holds values that are no paths and may be sensitive (a token with
//! a `/` in it), and facts are cached on disk, so only values written as relative paths
//! (`./`, `../`) are kept as they are. Any other string value may still name a path below
//! the stack's directory (`"charts/web"`, `"nginx"`): it is recorded as
//! [`somewhere_below`], a candidate that stands for the whole working directory, and its
//! text is dropped.

use super::{is_relative_path, parse_body, variable_candidates, PathBase, PathLocal, VAR_PREFIX};
use crate::error::{Error, Location, Result};
use hcl_edit::expr::Expression;

/// The facts of a variable file in Terraform's native syntax (`*.tfvars`).
pub fn parse_tfvars(text: &str, file: &str) -> Result<super::HclFacts> {
    let body = parse_body(text, file)?;
    let mut facts = super::HclFacts::default();
    for attr in body.attributes() {
        let name = attr.key.as_str();
        match &attr.value {
            Expression::String(s) => facts.path_locals.extend(string_value(name, s.as_str())),
            Expression::Array(_) | Expression::Object(_) => {
                facts
                    .path_locals
                    .extend(variable_candidates(name, &attr.value));
                // Strings in it not written as relative paths.
                facts.path_locals.push(somewhere_below(name));
            }
            // A number, a bool, null: no path.
            _ => {}
        }
    }
    dedup(&mut facts.path_locals);
    Ok(facts)
}

/// The facts of a variable file in JSON syntax (`*.tfvars.json`): one object whose
/// properties are the variables' values.
pub fn parse_tfvars_json(text: &str, file: &str) -> Result<super::HclFacts> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| Error::Malformed {
        what: "JSON",
        location: Location::at(file, e.line()),
        message: e.to_string(),
    })?;
    let serde_json::Value::Object(values) = value else {
        return Err(Error::Malformed {
            what: "JSON",
            location: Location::at(file, 1),
            message: "a variable file holds one object, of variable names to values".into(),
        });
    };
    let mut facts = super::HclFacts::default();
    for (name, value) in &values {
        match value {
            serde_json::Value::String(s) => facts.path_locals.extend(string_value(name, s)),
            serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                let mut strings = Vec::new();
                strings_in(value, &mut strings);
                for s in strings {
                    facts.path_locals.extend(string_value(name, s));
                }
            }
            _ => {}
        }
    }
    dedup(&mut facts.path_locals);
    Ok(facts)
}

/// A string value of the variable `name`: itself when written as a relative path, else
/// [`somewhere_below`].
fn string_value(name: &str, value: &str) -> Option<PathLocal> {
    if is_relative_path(value) {
        return Some(PathLocal {
            name: format!("{VAR_PREFIX}{name}"),
            base: PathBase::of_literal(value),
            path: value.to_string(),
            candidate: true,
        });
    }
    // An absolute path is outside the workspace; an empty string names nothing.
    (!value.is_empty() && !value.starts_with('/')).then(|| somewhere_below(name))
}

/// The candidate value of `var.<name>` that stands for a path strata does not keep: the
/// root module's directory itself, so a read through the variable may read any file below
/// it and a chart through it may be any chart below it.
pub(crate) fn somewhere_below(name: &str) -> PathLocal {
    PathLocal {
        name: format!("{VAR_PREFIX}{name}"),
        base: PathBase::Root,
        path: SOMEWHERE_BELOW.into(),
        candidate: true,
    }
}

/// The path of [`somewhere_below`]'s candidate.
pub(crate) const SOMEWHERE_BELOW: &str = ".";

fn strings_in<'v>(value: &'v serde_json::Value, out: &mut Vec<&'v str>) {
    match value {
        serde_json::Value::String(s) => out.push(s),
        serde_json::Value::Array(items) => items.iter().for_each(|v| strings_in(v, out)),
        serde_json::Value::Object(map) => map.values().for_each(|v| strings_in(v, out)),
        _ => {}
    }
}

fn dedup(locals: &mut Vec<PathLocal>) {
    let mut seen = std::collections::HashSet::new();
    locals.retain(|l| seen.insert((l.name.clone(), l.path.clone())));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(facts: &super::super::HclFacts) -> Vec<(&str, &str)> {
        facts
            .path_locals
            .iter()
            .map(|l| (l.name.as_str(), l.path.as_str()))
            .collect()
    }

    #[test]
    fn relative_paths_are_kept_and_other_strings_stand_for_the_directory() {
        let facts = parse_tfvars(
            "a = \"../shared/x.json\"\nb = \"charts/web\"\ntoken = \"abc/def+ghi\"\nn = 3\nflag = true\n",
            "terraform.tfvars",
        )
        .unwrap();
        assert_eq!(
            values(&facts),
            [
                ("var.a", "../shared/x.json"),
                ("var.b", SOMEWHERE_BELOW),
                ("var.token", SOMEWHERE_BELOW)
            ]
        );
    }

    #[test]
    fn the_json_form_reads_the_same() {
        let facts = parse_tfvars_json(
            r#"{"a": "../shared/x.json", "b": "charts/web", "files": ["./a.json", "b.json", "./a.json"], "n": 3, "abs": "/etc/x"}"#,
            "terraform.tfvars.json",
        )
        .unwrap();
        assert_eq!(
            values(&facts),
            [
                ("var.a", "../shared/x.json"),
                ("var.b", SOMEWHERE_BELOW),
                ("var.files", "./a.json"),
                ("var.files", SOMEWHERE_BELOW),
            ]
        );
    }

    #[test]
    fn a_malformed_json_variable_file_names_its_line() {
        let e = parse_tfvars_json("{\n  \"a\": \"x\",\n  oops\n}\n", "dev.tfvars.json");
        match e {
            Err(Error::Malformed { location, .. }) => {
                assert_eq!(location, Location::at("dev.tfvars.json", 3))
            }
            other => panic!("{other:?}"),
        }
        let e = parse_tfvars_json("[1]", "dev.tfvars.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("one object"), "{e}");
    }
}
