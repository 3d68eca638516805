//! Dependency facts read from a Helm chart's `Chart.yaml`.

use crate::error::{line_of, malformed_yaml, Error, Location, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChartFacts {
    pub name: String,
    /// `application` (default) or `library`.
    pub chart_type: String,
    pub dependencies: Vec<ChartDependency>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartDependency {
    pub name: String,
    pub repository: String,
    pub line: usize,
}

impl ChartDependency {
    /// The local path of a `file://` dependency, relative to the chart directory.
    pub fn local_path(&self) -> Option<&str> {
        self.repository.strip_prefix("file://")
    }
}

#[derive(Deserialize)]
struct ChartYaml {
    name: Option<String>,
    #[serde(rename = "type")]
    chart_type: Option<String>,
    #[serde(default)]
    dependencies: Option<Vec<DependencyYaml>>,
}

#[derive(Deserialize)]
struct DependencyYaml {
    name: Option<String>,
    repository: Option<String>,
}

/// The line of a top-level YAML key (`type:` at the start of a line, not in a comment or a
/// nested mapping).
fn top_level_key_line(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            l.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
        .map(|i| i + 1)
}

/// The chart types helm knows.
pub const CHART_TYPES: &[&str] = &["application", "library"];

pub fn parse_chart_yaml(text: &str, file: &str) -> Result<ChartFacts> {
    let chart: ChartYaml = serde_norway::from_str(text).map_err(malformed_yaml("YAML", file))?;
    if let Some(t) = chart
        .chart_type
        .as_deref()
        .filter(|t| !CHART_TYPES.contains(t))
    {
        return Err(Error::Invalid {
            message: format!("chart type `{t}` is not one helm knows"),
            location: Location::new(file, top_level_key_line(text, "type")),
            hint: crate::error::did_you_mean(t, CHART_TYPES)
                .unwrap_or_else(|| format!("use one of: {}", CHART_TYPES.join(", "))),
        });
    }
    let Some(name) = chart.name else {
        return Err(Error::Invalid {
            message: "Chart.yaml has no `name`".into(),
            location: Location::new(file, None),
            hint: "every chart needs `apiVersion`, `name` and `version`".into(),
        });
    };
    Ok(ChartFacts {
        name,
        chart_type: chart.chart_type.unwrap_or_else(|| "application".into()),
        dependencies: dependencies_with_lines(text, chart.dependencies.unwrap_or_default()),
    })
}

/// Every chart directory holds this.
pub const CHART_FILE: &str = "Chart.yaml";

/// `requirements.yaml`: where charts of `apiVersion: v1` declare their dependencies.
pub const REQUIREMENTS_FILE: &str = "requirements.yaml";

#[derive(Deserialize)]
struct RequirementsYaml {
    #[serde(default)]
    dependencies: Option<Vec<DependencyYaml>>,
}

/// The dependencies of a `requirements.yaml`.
pub fn parse_requirements_yaml(text: &str, file: &str) -> Result<Vec<ChartDependency>> {
    let req: Option<RequirementsYaml> =
        serde_norway::from_str(text).map_err(malformed_yaml("YAML", file))?;
    Ok(dependencies_with_lines(
        text,
        req.and_then(|r| r.dependencies).unwrap_or_default(),
    ))
}

fn dependencies_with_lines(text: &str, deps: Vec<DependencyYaml>) -> Vec<ChartDependency> {
    let mut dependencies = Vec::new();
    let mut search_from = 0;
    for dep in deps {
        let repository = dep.repository.unwrap_or_default();
        // serde gives no positions: find the repository text, in order, to report its line.
        let line = match text[search_from..].find(&repository) {
            Some(off) if !repository.is_empty() => {
                search_from += off + repository.len();
                line_of(text, search_from)
            }
            _ => 1,
        };
        dependencies.push(ChartDependency {
            name: dep.name.unwrap_or_default(),
            repository,
            line,
        });
    }
    dependencies
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_dependencies_with_lines() {
        let y = "apiVersion: v2\nname: api\nversion: 0.1.0\ndependencies:\n  - name: lib\n    version: 0.3.0\n    repository: file://../lib\n  - name: redis\n    repository: https://charts.example.com\n";
        let c = parse_chart_yaml(y, "charts/api/Chart.yaml").unwrap();
        assert_eq!(c.dependencies[0].local_path(), Some("../lib"));
        assert_eq!(c.dependencies[0].line, 7);
        assert_eq!(c.dependencies[1].local_path(), None);
        assert_eq!(c.chart_type, "application");
    }

    #[test]
    fn requirements_and_chart_types() {
        let r = "dependencies:\n  - name: common\n    version: 1.0.0\n    repository: file://../common\n";
        let deps = parse_requirements_yaml(r, "charts/a/requirements.yaml").unwrap();
        assert_eq!(deps[0].local_path(), Some("../common"));
        assert_eq!(deps[0].line, 4);
        assert!(parse_requirements_yaml("", "requirements.yaml")
            .unwrap()
            .is_empty());
        let err =
            parse_chart_yaml("apiVersion: v2\nname: a\ntype: libary\n", "Chart.yaml").unwrap_err();
        assert_eq!(err.location().unwrap().line, Some(3));
        assert!(err.hint().unwrap().contains("library"), "{:?}", err.hint());
    }

    #[test]
    fn malformed_yaml_names_line() {
        let err =
            parse_chart_yaml("name: a\ndependencies:\n  - name: [\n", "Chart.yaml").unwrap_err();
        assert!(matches!(err, Error::Malformed { .. }));
        assert!(err.location().unwrap().line.is_some());
    }
}
