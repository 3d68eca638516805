//! Dependency facts read from a Helm chart's `Chart.yaml`.

use crate::error::{line_of, Error, Location, Result};
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

pub fn parse_chart_yaml(text: &str, file: &str) -> Result<ChartFacts> {
    let chart: ChartYaml = serde_norway::from_str(text).map_err(|e| Error::Malformed {
        what: "YAML",
        location: Location::new(file, e.location().map(|l| l.line())),
        message: e.to_string(),
    })?;
    let Some(name) = chart.name else {
        return Err(Error::Invalid {
            message: "Chart.yaml has no `name`".into(),
            location: Location::new(file, None),
            hint: "every chart needs `apiVersion`, `name` and `version`".into(),
        });
    };
    let mut dependencies = Vec::new();
    let mut search_from = 0;
    for dep in chart.dependencies.unwrap_or_default() {
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
    Ok(ChartFacts {
        name,
        chart_type: chart.chart_type.unwrap_or_else(|| "application".into()),
        dependencies,
    })
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
    fn malformed_yaml_names_line() {
        let err =
            parse_chart_yaml("name: a\ndependencies:\n  - name: [\n", "Chart.yaml").unwrap_err();
        assert!(matches!(err, Error::Malformed { .. }));
        assert!(err.location().unwrap().line.is_some());
    }
}
