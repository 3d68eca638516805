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
    /// The version or range asked for (`1.2.3`, `^1.0.0`), as written.
    pub version: String,
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
    #[serde(default, deserialize_with = "scalar_text")]
    name: Option<String>,
    #[serde(rename = "type")]
    chart_type: Option<String>,
    #[serde(default)]
    dependencies: Option<Vec<DependencyYaml>>,
}

#[derive(Deserialize)]
struct DependencyYaml {
    #[serde(default, deserialize_with = "scalar_text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "scalar_text")]
    repository: Option<String>,
    #[serde(default, deserialize_with = "scalar_text")]
    version: Option<String>,
}

/// A field helm declares as a string: any scalar, as text (helm converts `name: 2048` to the
/// string its field wants rather than refusing the chart).
fn scalar_text<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<String>, D::Error> {
    use serde_norway::Value;
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => None,
        _ => {
            return Err(serde::de::Error::custom(
                "expected a string, found a list or a mapping",
            ))
        }
    })
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

/// The first YAML document of `text` as helm reads a chart's file (go-yaml v2): a
/// byte-order mark skipped, later documents ignored, and each mapping's entries taken in
/// order, later ones replacing earlier ones: of a key given twice the last, and a merge key
/// (`<<: *common`, or a list of them, of which the first wins) setting every key it brings,
/// over the keys before it. Helm then converts the document
/// to JSON (keys as strings, each mapping's keys sorted) and decodes that into Go structs,
/// whose field names match a key in any case, the last matching key winning: so of `Name`
/// and `name` the latter, wherever each stands.
fn helm_yaml<T: serde::de::DeserializeOwned>(text: &str, file: &str) -> Result<Option<T>> {
    use serde::Deserialize as _;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some(line) = crate::text::yaml_flow_too_deep(text) {
        return Err(too_deep_yaml("YAML", file, line));
    }
    // Only a plain `<<` merges: a quoted one is a key like any other (which no field reads).
    // serde reads both as the same text, so the quoted one is told apart first.
    let text = text
        .replace("\"<<\"", QUOTED_MERGE_KEY)
        .replace("'<<'", QUOTED_MERGE_KEY);
    let Some(document) = serde_norway::Deserializer::from_str(&text).next() else {
        return Ok(None);
    };
    let Loose(value) = Loose::deserialize(document).map_err(malformed_yaml("YAML", file, &text))?;
    if value.is_null() {
        return Ok(None);
    }
    serde_norway::from_value(as_go_reads_it(value))
        .map(Some)
        .map_err(malformed_yaml("YAML", file, &text))
}

/// A value's mappings as Go's JSON decoding sees them (see [`helm_yaml`]): keys as strings,
/// in lower case, of those equal in any case the last in byte order.
fn as_go_reads_it(value: serde_norway::Value) -> serde_norway::Value {
    use serde_norway::Value;
    match value {
        Value::Mapping(mapping) => {
            let mut entries: Vec<(String, Value)> = mapping
                .into_iter()
                .map(|(k, v)| (key_text(k), as_go_reads_it(v)))
                .collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            let mut out = serde_norway::Mapping::new();
            for (k, v) in entries {
                out.insert(Value::String(folded(&k)), v);
            }
            Value::Mapping(out)
        }
        Value::Sequence(items) => Value::Sequence(items.into_iter().map(as_go_reads_it).collect()),
        other => other,
    }
}

/// `key` as Go compares field names (Unicode simple case folding): in lower case, with the
/// two letters outside ASCII that fold to ASCII ones (`ſ` to `s`, the Kelvin sign to `k`).
fn folded(key: &str) -> String {
    key.chars()
        .map(|c| match c {
            '\u{17f}' => 's',
            '\u{212a}' => 'k',
            c => c,
        })
        .collect::<String>()
        .to_lowercase()
}

/// A mapping key as text, as it is once converted to JSON (`1`, `true`, `null`).
fn key_text(key: serde_norway::Value) -> String {
    match key {
        serde_norway::Value::String(s) => s,
        serde_norway::Value::Number(n) => n.to_string(),
        serde_norway::Value::Bool(b) => b.to_string(),
        serde_norway::Value::Null => "null".into(),
        other => serde_norway::to_string(&other)
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
    }
}

/// What a quoted `"<<"` key is read as: no merge, and no name a field has.
const QUOTED_MERGE_KEY: &str = "\"<< quoted\"";

/// A YAML value as helm reads it (see [`helm_yaml`]): of a key given twice the last, merge
/// keys applied where they stand (serde_norway's own `Value` refuses a duplicate, and leaves
/// merges to be applied afterwards, where explicit keys always win).
struct Loose(serde_norway::Value);

impl<'de> serde::Deserialize<'de> for Loose {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(LooseVisitor)
    }
}

struct LooseVisitor;

impl<'de> serde::de::Visitor<'de> for LooseVisitor {
    type Value = Loose;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a YAML value")
    }

    fn visit_bool<E>(self, v: bool) -> std::result::Result<Loose, E> {
        Ok(Loose(v.into()))
    }

    fn visit_i64<E>(self, v: i64) -> std::result::Result<Loose, E> {
        Ok(Loose(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> std::result::Result<Loose, E> {
        Ok(Loose(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> std::result::Result<Loose, E> {
        Ok(Loose(v.into()))
    }

    fn visit_str<E>(self, v: &str) -> std::result::Result<Loose, E> {
        Ok(Loose(v.into()))
    }

    fn visit_unit<E>(self) -> std::result::Result<Loose, E> {
        Ok(Loose(serde_norway::Value::Null))
    }

    fn visit_none<E>(self) -> std::result::Result<Loose, E> {
        Ok(Loose(serde_norway::Value::Null))
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> std::result::Result<Loose, D::Error> {
        serde::Deserialize::deserialize(d)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<Loose, A::Error> {
        let mut items = Vec::new();
        while let Some(Loose(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Loose(serde_norway::Value::Sequence(items)))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Loose, A::Error> {
        use serde_norway::Value;
        let mut mapping = serde_norway::Mapping::new();
        while let Some((Loose(key), Loose(value))) = map.next_entry()? {
            if key.as_str() != Some("<<") {
                mapping.insert(key, value);
                continue;
            }
            // What it merges was read the same way, its own merges applied. Of a list, the
            // first mapping wins: go-yaml sets them from the last to the first.
            let sources = match value {
                Value::Sequence(items) => items.into_iter().rev().collect(),
                one => vec![one],
            };
            for source in sources {
                let Value::Mapping(source) = source else {
                    return Err(serde::de::Error::custom(
                        "a merge key (`<<`) must name a mapping or a list of them",
                    ));
                };
                for (k, v) in source {
                    mapping.insert(k, v);
                }
            }
        }
        Ok(Loose(Value::Mapping(mapping)))
    }

    fn visit_enum<A: serde::de::EnumAccess<'de>>(
        self,
        data: A,
    ) -> std::result::Result<Loose, A::Error> {
        // A tagged value (`!custom x`): helm reads the value under the tag.
        use serde::de::VariantAccess as _;
        let (_tag, variant): (serde::de::IgnoredAny, _) = data.variant()?;
        variant.newtype_variant()
    }
}

pub fn parse_chart_yaml(text: &str, file: &str) -> Result<ChartFacts> {
    let chart: ChartYaml = helm_yaml(text, file)?.unwrap_or(ChartYaml {
        name: None,
        chart_type: None,
        dependencies: None,
    });
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
    let req: Option<RequirementsYaml> = helm_yaml(text, file)?;
    Ok(dependencies_with_lines(
        text,
        req.and_then(|r| r.dependencies).unwrap_or_default(),
    ))
}

/// The value of `line` when it is a `repository:` key, as written (quotes taken off).
fn repository_value(line: &str) -> Option<&str> {
    let line = line.trim_start();
    let line = line.strip_prefix("- ").unwrap_or(line).trim_start();
    line.get(..10)
        .filter(|key| key.eq_ignore_ascii_case("repository"))
        .and_then(|_| line[10..].trim_start().strip_prefix(':'))
        .map(|value| value.trim().trim_matches(|c| c == '"' || c == '\''))
}

/// Whether `line` is a `repository:` key whose value is `repository` (quoted or not).
fn is_repository_line(line: &str, repository: &str) -> bool {
    repository_value(line).is_some_and(|value| value == repository)
}

fn dependencies_with_lines(text: &str, deps: Vec<DependencyYaml>) -> Vec<ChartDependency> {
    let mut dependencies = Vec::new();
    let mut search_from = 0;
    for dep in deps {
        let repository = dep.repository.unwrap_or_default();
        // serde gives no positions: find the `repository:` key holding it, in order (or,
        // failing that, the text anywhere: a flow mapping), to report its line.
        let key = text[search_from..]
            .split_inclusive('\n')
            .scan(search_from, |at, l| {
                let start = *at;
                *at += l.len();
                Some((start, l))
            })
            .find(|(_, l)| is_repository_line(l, &repository))
            .map(|(start, l)| start + l.find(&repository).unwrap_or(0));
        // (where the value is found, where the next search starts)
        let found = key
            .or_else(|| {
                text[search_from..]
                    .find(&repository)
                    .map(|o| o + search_from)
            })
            .map(|at| (at, at + repository.len()))
            // A value written with escapes (`"file://../lib\u0041"`) is not in the text as
            // decoded: the next `repository:` key stands for it.
            .or_else(|| {
                let mut at = search_from;
                for l in text[search_from..].split_inclusive('\n') {
                    if repository_value(l).is_some() {
                        return Some((at, at + l.len()));
                    }
                    at += l.len();
                }
                None
            });
        let line = match found {
            Some((at, next)) if !repository.is_empty() => {
                search_from = next;
                line_of(text, at)
            }
            _ => 1,
        };
        dependencies.push(ChartDependency {
            name: dep.name.unwrap_or_default(),
            repository,
            version: dep.version.unwrap_or_default(),
            line,
        });
    }
    dependencies
}

/// The error of a YAML file whose flow collections nest too deep to be read (see
/// [`crate::text::yaml_flow_too_deep`]).
pub(crate) fn too_deep_yaml(what: &'static str, file: &str, line: usize) -> crate::error::Error {
    crate::error::Error::Malformed {
        what,
        location: crate::error::Location::at(file, line),
        message: format!(
            "flow collections (`[`, `{{`) nested more than {} deep",
            crate::text::MAX_YAML_FLOW
        ),
    }
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
    fn charts_read_as_helm_reads_them() {
        // Merge keys, a byte-order mark, a second document.
        let y = "apiVersion: v2\nname: web\nversion: 0.1.0\nx-local: &local\n  version: 0.1.0\n  repository: file://../lib\ndependencies:\n  - <<: *local\n    name: lib\n";
        let c = parse_chart_yaml(y, "Chart.yaml").unwrap();
        assert_eq!(c.dependencies.len(), 1);
        assert_eq!(c.dependencies[0].local_path(), Some("../lib"));
        assert_eq!(c.dependencies[0].name, "lib");
        let c = parse_chart_yaml(
            "\u{feff}apiVersion: v2\nname: web\n---\nx: 1\n",
            "Chart.yaml",
        )
        .unwrap();
        assert_eq!(c.name, "web");
        let r =
            "x: &l\n  repository: file://../common\ndependencies:\n  - <<: *l\n    name: common\n";
        let deps = parse_requirements_yaml(r, "requirements.yaml").unwrap();
        assert_eq!(deps[0].local_path(), Some("../common"));
        // Of keys equal in any case, the last in byte order, wherever each stands; a nested
        // merge; a key that is a number.
        let c = parse_chart_yaml(
            "apiVersion: v2\nname: web\ndependencies:\n  - name: other\n    repository: file://../other\n    Repository: file://../lib\nDependencies:\n  - name: lib\n    repository: file://../lib\n",
            "Chart.yaml",
        )
        .unwrap();
        assert_eq!(c.dependencies.len(), 1);
        assert_eq!(c.dependencies[0].local_path(), Some("../other"));
        let c = parse_chart_yaml(
            "apiVersion: v2\nname: web\nx-repo: &repo\n  repository: file://../lib\nx-dep: &dep\n  <<: *repo\n  version: 0.1.0\ndependencies:\n  - <<: *dep\n    name: lib\n    1: x\n",
            "Chart.yaml",
        )
        .unwrap();
        assert_eq!(c.dependencies[0].local_path(), Some("../lib"));
        assert_eq!(folded("dependencie\u{17f}"), "dependencies");
        // A key given twice: the last, as helm reads it; keys in any case.
        let c = parse_chart_yaml(
            "apiVersion: v2\nname: web\nversion: 0.1.0\ndependencies: []\ndependencies:\n  - Name: lib\n    Repository: file://../lib\n",
            "Chart.yaml",
        )
        .unwrap();
        assert_eq!(c.dependencies[0].local_path(), Some("../lib"));
        assert_eq!(c.dependencies[0].name, "lib");
        assert_eq!(c.dependencies[0].line, 7);
        let c = parse_chart_yaml(
            "apiVersion: v2\nname: web\nversion: 0.1.0\ndependencies: []\nDependencies:\n  - name: lib\n    repository: file://../lib\n",
            "Chart.yaml",
        )
        .unwrap();
        assert!(c.dependencies.is_empty(), "{c:?}");
    }

    #[test]
    fn merge_keys_apply_where_they_stand_as_in_helm() {
        // What helm 4.1.4 vendors (`helm dependency build`) for each: a merge after an
        // explicit key replaces it; every merge of a mapping applies; of a list, the first.
        let dep = |deps: &str| {
            let y = format!("apiVersion: v2\nname: web\nversion: 0.1.0\nx-o: &o\n  repository: file://../other\nx-l: &l\n  repository: file://../lib\nx-v: &v\n  version: 0.1.0\ndependencies:\n{deps}");
            parse_chart_yaml(&y, "Chart.yaml").unwrap().dependencies[0]
                .local_path()
                .map(str::to_string)
        };
        let path = Some("../other".to_string());
        assert_eq!(
            dep("  - name: lib\n    repository: file://../lib\n    <<: *o\n"),
            path
        );
        assert_eq!(dep("  - name: other\n    <<: *o\n    <<: *v\n"), path);
        assert_eq!(dep("  - <<: [*o, *l]\n    name: x\n"), path);
        assert_eq!(dep("  - <<: *l\n    repository: file://../other\n"), path);
        // A quoted `"<<"` merges nothing: helm vendors `file://../lib`.
        let lib = Some("../lib".to_string());
        assert_eq!(
            dep("  - name: lib\n    repository: file://../lib\n    \"<<\": *o\n"),
            lib
        );
        assert_eq!(
            dep("  - name: lib\n    repository: file://../lib\n    '<<': *o\n"),
            lib
        );
        let err = parse_chart_yaml(
            "apiVersion: v2\nname: web\ndependencies:\n  - <<: 3\n",
            "Chart.yaml",
        )
        .unwrap_err();
        assert!(err.to_string().contains("merge key"), "{err}");
    }

    #[test]
    fn a_name_that_is_a_number_is_text_as_in_helm() {
        let c = parse_chart_yaml(
            "apiVersion: v2\nname: 2048\nversion: 0.1.0\ndependencies:\n  - name: 7\n    repository: file://../seven\n",
            "Chart.yaml",
        )
        .unwrap();
        assert_eq!(c.name, "2048");
        assert_eq!(c.dependencies[0].name, "7");
        assert_eq!(c.dependencies[0].local_path(), Some("../seven"));
    }

    #[test]
    fn a_dependencys_line_is_its_repository_key() {
        let y = "apiVersion: v2\nname: web\ndescription: uses file://../common for its helpers\nversion: 0.1.0\ndependencies:\n  - name: common\n    version: 0.1.0\n    Repository: \"file://../common\"\n";
        let c = parse_chart_yaml(y, "Chart.yaml").unwrap();
        assert_eq!(c.dependencies[0].line, 8);
    }

    #[test]
    fn malformed_yaml_names_line() {
        let err =
            parse_chart_yaml("name: a\ndependencies:\n  - name: [\n", "Chart.yaml").unwrap_err();
        assert!(matches!(err, Error::Malformed { .. }));
        assert!(err.location().unwrap().line.is_some());
    }

    /// A repository written with an escape is not in the text as decoded: its line is the
    /// next `repository:` key's, not line 1.
    #[test]
    fn a_repository_written_with_an_escape_names_its_line() {
        let text = "apiVersion: v2\nname: web\nversion: 0.1.0\ndependencies:\n  - name: lib\n    repository: \"file://../li\\u0062\"\n    version: 0.1.0\n";
        let c = parse_chart_yaml(text, "Chart.yaml").unwrap();
        assert_eq!(c.dependencies[0].repository, "file://../lib");
        assert_eq!(c.dependencies[0].line, 6);
    }

    /// A control character is reported by position only: the line is that position's, not
    /// line 1.
    #[test]
    fn a_control_character_names_its_line() {
        let text = "apiVersion: v2\nname: web\nversion: 0.1.0\n# a comment \u{c} here\n";
        let err = parse_chart_yaml(text, "Chart.yaml").unwrap_err();
        assert_eq!(err.location().unwrap().line, Some(4), "{err}");
    }
}
