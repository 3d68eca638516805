//! Kustomize's `kustomization.yaml`: the files and directories a kustomization builds from,
//! so that a target reading an overlay (`data "kustomization_build"`, `path =
//! "${path.module}/../../k8s/overlays/prod"`) also has the bases it names as inputs.

use crate::error::{malformed_yaml, Result};
use serde_norway::Value;

/// The names kustomize looks for in a directory.
pub const KUSTOMIZATION_FILES: &[&str] =
    &["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// The fields that name files or directories, relative to the kustomization's directory:
/// lists of paths, or lists of objects with a `path`.
const PATH_LISTS: &[&str] = &[
    "resources",
    "bases",
    "components",
    "crds",
    "patchesStrategicMerge",
    "transformers",
    "generators",
    "validators",
    "configurations",
];

/// Lists of objects whose `path` names a file (`patches`, `patchesJson6902`,
/// `replacements`).
const PATH_OBJECTS: &[&str] = &["patches", "patchesJson6902", "replacements"];

/// Generators whose entries name files in `files` (`key=path` or `path`), `envs` or `env`.
const GENERATORS: &[&str] = &["configMapGenerator", "secretGenerator"];

/// Where kustomize looks for the charts of `helmCharts` when `helmGlobals.chartHome` is not set.
const DEFAULT_CHART_HOME: &str = "charts";

/// The paths a kustomization names, as written (relative to its directory; a remote one,
/// `github.com/org/repo//x?ref=v1`, names nothing in the workspace and leads nowhere when
/// joined). A file that is not YAML is an error naming its line; fields strata does not
/// know are left alone.
pub fn parse_kustomization(text: &str, file: &str) -> Result<Vec<String>> {
    if let Some(line) = crate::text::yaml_flow_too_deep(text) {
        return Err(crate::chart::too_deep_yaml("kustomization", file, line));
    }
    let doc: Value =
        serde_norway::from_str(text).map_err(malformed_yaml("kustomization", file, text))?;
    let mut out = Vec::new();
    let strings = |v: &Value, out: &mut Vec<String>| {
        for item in v.as_sequence().into_iter().flatten() {
            if let Some(s) = item.as_str() {
                out.push(s.to_string());
            }
        }
    };
    for key in PATH_LISTS {
        if let Some(v) = doc.get(key) {
            strings(v, &mut out);
        }
    }
    // The entries of a list field.
    let items = |key: &str| {
        doc.get(key)
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
    };
    for key in PATH_OBJECTS {
        for item in items(key) {
            if let Some(path) = item.get("path").and_then(Value::as_str) {
                out.push(path.to_string());
            }
        }
    }
    for key in GENERATORS {
        for item in items(key) {
            let mut files = Vec::new();
            for field in ["files", "envs"] {
                if let Some(v) = item.get(field) {
                    strings(v, &mut files);
                }
            }
            if let Some(env) = item.get("env").and_then(Value::as_str) {
                files.push(env.to_string());
            }
            // `key=path` names the file after the `=`.
            out.extend(
                files
                    .into_iter()
                    .map(|f| f.split_once('=').map_or(f.clone(), |(_, p)| p.to_string())),
            );
        }
    }
    // Helm charts kustomize inflates: each chart's values files, and the chart home the
    // charts are found in (kustomize's default, `charts`, when none is set). The whole home
    // is taken, since a chart there may be found under a name other than its `name`.
    let charts: Vec<&Value> = items("helmCharts").collect();
    for chart in &charts {
        if let Some(values) = chart.get("valuesFile").and_then(Value::as_str) {
            out.push(values.to_string());
        }
        if let Some(v) = chart.get("additionalValuesFiles") {
            strings(v, &mut out);
        }
    }
    let home = doc
        .get("helmGlobals")
        .and_then(|h| h.get("chartHome"))
        .and_then(Value::as_str);
    match home {
        Some(home) => out.push(home.to_string()),
        None if !charts.is_empty() => out.push(DEFAULT_CHART_HOME.to_string()),
        None => {}
    }
    // The older generator: `chartHome` and `values` on each entry.
    for item in items("helmChartInflationGenerator") {
        for field in ["chartHome", "values"] {
            if let Some(path) = item.get(field).and_then(Value::as_str) {
                out.push(path.to_string());
            }
        }
    }
    if let Some(path) = doc
        .get("openapi")
        .and_then(|o| o.get("path"))
        .and_then(Value::as_str)
    {
        out.push(path.to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn the_paths_a_kustomization_names_are_read_from_every_field_that_holds_one() {
        let text = r#"apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../base
  - deployment.yaml
  - github.com/org/repo//deploy?ref=v1
components: [../../components/monitoring]
patches:
  - path: patch.yaml
    target: {kind: Deployment}
  - patch: |-
      - op: replace
patchesStrategicMerge: [sm.yaml]
configMapGenerator:
  - name: app
    files: [config.json, extra=conf/extra.txt]
    envs: [app.env]
secretGenerator:
  - name: s
    env: s.env
helmGlobals:
  chartHome: ../../charts
helmCharts:
  - name: web
    valuesFile: values-prod.yaml
    additionalValuesFiles: [../../values/common.yaml]
    valuesInline: {replicas: 2}
openapi:
  path: schema.json
namePrefix: prod-
"#;
        assert_eq!(
            parse_kustomization(text, "k/kustomization.yaml").unwrap(),
            vec![
                "../../base",
                "deployment.yaml",
                "github.com/org/repo//deploy?ref=v1",
                "../../components/monitoring",
                "sm.yaml",
                "patch.yaml",
                "config.json",
                "conf/extra.txt",
                "app.env",
                "s.env",
                "values-prod.yaml",
                "../../values/common.yaml",
                "../../charts",
                "schema.json",
            ]
        );
    }

    #[test]
    fn helm_charts_without_a_chart_home_are_found_in_the_default_one() {
        let text = "helmCharts:\n  - name: web\n    repo: https://example.com/charts\n\
                    helmChartInflationGenerator:\n  - chartName: old\n    chartHome: vendor\n    \
                    values: old-values.yaml\n";
        assert_eq!(
            parse_kustomization(text, "k/kustomization.yaml").unwrap(),
            vec!["charts", "vendor", "old-values.yaml"]
        );
        // No helm charts: no chart home.
        assert_eq!(
            parse_kustomization("resources: [a.yaml]\n", "k/kustomization.yaml").unwrap(),
            vec!["a.yaml"]
        );
    }

    #[test]
    fn a_kustomization_that_is_not_yaml_names_its_line() {
        let err =
            parse_kustomization("resources:\n  - a\n b: [\n", "k/kustomization.yaml").unwrap_err();
        let Error::Malformed { location, .. } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(
            (location.file.as_str(), location.line),
            ("k/kustomization.yaml", Some(3))
        );
    }
}
