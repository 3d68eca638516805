//! Reading `terraform show -json` plan output (format_version 0.x from terraform 0.12–1.0,
//! 1.x from terraform 1.1+ and OpenTofu) into a summary, and redacting it before anything
//! stores or shows it: values marked sensitive become `"(sensitive value)"` (in
//! `planned_values` and `variables` too, which policies read), and `prior_state`, which
//! differs from one plan to the next, is dropped.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

pub const REDACTED: &str = "(sensitive value)";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanSummary {
    pub add: u32,
    pub change: u32,
    pub destroy: u32,
    pub import: u32,
    /// Resources with an action other than no-op: `address` and `action`
    /// (`create`, `update`, `delete`, `replace`, `read`).
    pub resources: Vec<ResourceAction>,
    /// Outputs whose value changes.
    pub outputs_changed: Vec<String>,
    /// Resources terraform found changed outside terraform when it refreshed (its
    /// `resource_drift`): `address` and what happened (`update`, `delete`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outside: Vec<ResourceAction>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceAction {
    pub address: String,
    pub action: String,
    /// For a replacement: the attributes that force it (terraform's `replace_paths`, from
    /// 1.1 on).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forced_by: Vec<String>,
    /// For an update or replacement: the top-level attributes whose value changes (or
    /// becomes known only after apply).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
}

/// One attribute of a resource change, as `strata show` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttributeChange {
    pub name: String,
    /// JSON text of the value before (`None`: absent).
    pub before: Option<String>,
    /// JSON text of the value after; `None`: absent; "(known after apply)" when unknown.
    pub after: Option<String>,
    pub forces_replacement: bool,
}

/// Every resource change of a plan in full, attribute by attribute.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceDiff {
    pub address: String,
    pub action: String,
    pub attributes: Vec<AttributeChange>,
}

/// The attribute paths of `replace_paths` as `a.b[0]` text.
fn replace_paths(change: &Value) -> Vec<String> {
    change
        .get("replace_paths")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .map(|steps| {
            let mut text = String::new();
            for step in steps {
                match step {
                    Value::String(s) if text.is_empty() => text.push_str(s),
                    Value::String(s) => text.push_str(&format!(".{s}")),
                    other => text.push_str(&format!("[{other}]")),
                }
            }
            text
        })
        .collect()
}

/// The top-level attributes whose value differs between `before` and `after`, or is
/// unknown after.
fn changed_attributes(change: &Value) -> Vec<String> {
    // Recorded before redaction: a sensitive value that changes looks the same after it.
    if let Some(names) = change.get(CHANGED).and_then(Value::as_array) {
        return names
            .iter()
            .filter_map(|n| n.as_str().map(str::to_string))
            .collect();
    }
    let empty = Map::new();
    let before = change
        .get("before")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let after = change
        .get("after")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let unknown = change
        .get("after_unknown")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut names: Vec<String> = before
        .keys()
        .chain(after.keys())
        .chain(unknown.keys())
        .filter(|k| {
            let is_unknown = unknown.get(*k).is_some_and(|u| u != &Value::Bool(false));
            is_unknown || before.get(*k) != after.get(*k)
        })
        .cloned()
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The resource changes of a (redacted) plan, attribute by attribute, no-ops left out.
pub fn diffs(plan: &Value) -> Vec<ResourceDiff> {
    let summary = summarize(plan);
    let changes: Vec<&Value> = plan
        .get("resource_changes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    summary
        .resources
        .iter()
        .map(|r| {
            let change = changes
                .iter()
                .find(|c| c.get("address").and_then(Value::as_str) == Some(r.address.as_str()))
                .and_then(|c| c.get("change"))
                .cloned()
                .unwrap_or_default();
            let show = |v: Option<&Value>| v.filter(|v| !v.is_null()).map(Value::to_string);
            let forced = replace_paths(&change);
            let names = if r.action == "create" || r.action == "delete" {
                let side = if r.action == "create" {
                    "after"
                } else {
                    "before"
                };
                let mut names: Vec<String> = change
                    .get(side)
                    .and_then(Value::as_object)
                    .map(|o| o.keys().cloned().collect())
                    .unwrap_or_default();
                if let Some(u) = change.get("after_unknown").and_then(Value::as_object) {
                    names.extend(u.keys().cloned());
                }
                names.sort();
                names.dedup();
                names
            } else {
                changed_attributes(&change)
            };
            let attributes = names
                .into_iter()
                .map(|name| {
                    let unknown = change
                        .get("after_unknown")
                        .and_then(|u| u.get(&name))
                        .is_some_and(|u| u == &Value::Bool(true));
                    AttributeChange {
                        before: show(change.get("before").and_then(|b| b.get(&name))),
                        after: if unknown {
                            Some("(known after apply)".into())
                        } else {
                            show(change.get("after").and_then(|a| a.get(&name)))
                        },
                        forces_replacement: forced.iter().any(|p| {
                            p == &name
                                || p.starts_with(&format!("{name}."))
                                || p.starts_with(&format!("{name}["))
                        }),
                        name,
                    }
                })
                .collect();
            ResourceDiff {
                address: r.address.clone(),
                action: r.action.clone(),
                attributes,
            }
        })
        .collect()
}

impl PlanSummary {
    pub fn has_changes(&self) -> bool {
        self.add + self.change + self.destroy + self.import > 0 || !self.outputs_changed.is_empty()
    }
}

/// Parses and checks the format version: 0.x and 1.x are understood.
pub fn parse(text: &[u8]) -> Result<Value, String> {
    let plan: Value = serde_json::from_slice(text).map_err(|e| format!("plan JSON: {e}"))?;
    let version = plan
        .get("format_version")
        .and_then(Value::as_str)
        .unwrap_or("");
    let major = version.split('.').next().unwrap_or("");
    if major != "0" && major != "1" {
        return Err(format!(
            "plan JSON format_version `{version}` is not supported (0.x and 1.x are)"
        ));
    }
    Ok(plan)
}

pub fn summarize(plan: &Value) -> PlanSummary {
    let mut s = PlanSummary::default();
    for rd in plan
        .get("resource_drift")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let actions: Vec<&str> = rd
            .pointer("/change/actions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let action = match actions.as_slice() {
            ["update"] => "update",
            ["delete"] => "delete",
            ["create"] => "create",
            _ => continue,
        };
        s.outside.push(ResourceAction {
            address: rd
                .get("address")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            action: action.into(),
            forced_by: Vec::new(),
            changed: rd.get("change").map(changed_attributes).unwrap_or_default(),
        });
    }
    for rc in plan
        .get("resource_changes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let change = rc.get("change").cloned().unwrap_or_default();
        let actions: Vec<&str> = change
            .get("actions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let importing = change.get("importing").is_some_and(|i| !i.is_null());
        if importing {
            s.import += 1;
        }
        let action = match actions.as_slice() {
            ["create"] => {
                s.add += 1;
                "create"
            }
            ["update"] => {
                s.change += 1;
                "update"
            }
            ["delete"] => {
                s.destroy += 1;
                "delete"
            }
            ["delete", "create"] | ["create", "delete"] => {
                s.add += 1;
                s.destroy += 1;
                "replace"
            }
            ["read"] => "read",
            _ if importing => "import",
            _ => continue, // no-op
        };
        let (forced_by, changed) = match action {
            "update" | "replace" => (replace_paths(&change), changed_attributes(&change)),
            _ => (Vec::new(), Vec::new()),
        };
        s.resources.push(ResourceAction {
            address: rc
                .get("address")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            action: action.to_string(),
            forced_by,
            changed,
        });
    }
    if let Some(outputs) = plan.get("output_changes").and_then(Value::as_object) {
        for (name, oc) in outputs {
            let noop = oc
                .get("actions")
                .and_then(Value::as_array)
                .is_some_and(|a| a.len() == 1 && a[0] == "no-op");
            if !noop {
                s.outputs_changed.push(name.clone());
            }
        }
    }
    s
}

/// Replaces every value marked sensitive by its mask (`true`, or an object/array of masks).
/// A `null` stays `null`: there is no value to hide, and a rule telling a created or a
/// deleted value (`before`/`after` of `null`) from a set one must still see it.
fn mask(value: &Value, sensitive: &Value) -> Value {
    match (value, sensitive) {
        (Value::Null, _) => Value::Null,
        (_, Value::Bool(true)) => Value::String(REDACTED.into()),
        (Value::Object(v), Value::Object(m)) => Value::Object(
            v.iter()
                .map(|(k, x)| {
                    (
                        k.clone(),
                        m.get(k).map(|s| mask(x, s)).unwrap_or_else(|| x.clone()),
                    )
                })
                .collect(),
        ),
        (Value::Array(v), Value::Array(m)) => Value::Array(
            v.iter()
                .enumerate()
                .map(|(i, x)| m.get(i).map(|s| mask(x, s)).unwrap_or_else(|| x.clone()))
                .collect(),
        ),
        _ => value.clone(),
    }
}

/// The field of a redacted change naming the attributes that change.
const CHANGED: &str = "strata_changed_attributes";

fn redact_change(change: &Value) -> Value {
    let mut out = change.clone();
    if let Value::Object(o) = &mut out {
        // The names of a value sensitive as a whole (an output's map) are its data, and
        // may be secrets: none are listed.
        let whole = |mask: &str| change.get(mask) == Some(&Value::Bool(true));
        if (change.get("before").is_some_and(Value::is_object)
            || change.get("after").is_some_and(Value::is_object))
            && !whole("before_sensitive")
            && !whole("after_sensitive")
        {
            let names = changed_attributes(change);
            o.insert(CHANGED.into(), names.into());
        }
        for (field, mask_field) in [("before", "before_sensitive"), ("after", "after_sensitive")] {
            if let (Some(v), Some(m)) = (change.get(field), change.get(mask_field)) {
                o.insert(field.into(), mask(v, m));
            }
        }
    }
    out
}

/// A module of `planned_values` or of a state's `values`: each resource's `values` masked by
/// its `sensitive_values`, child modules likewise.
fn redact_module(module: &Value) -> Value {
    let mut out = module.clone();
    if let Some(resources) = out.get_mut("resources").and_then(Value::as_array_mut) {
        for r in resources {
            let values = match (r.get("values"), r.get("sensitive_values")) {
                (Some(v), Some(m)) => Some(mask(v, m)),
                _ => None,
            };
            if let Some(v) = values {
                r["values"] = v;
            }
        }
    }
    if let Some(children) = out.get_mut("child_modules").and_then(Value::as_array_mut) {
        for child in children {
            *child = redact_module(child);
        }
    }
    out
}

/// `planned_values` or a state's `values`: resources as [`redact_module`], and every output
/// marked sensitive replaced whole.
fn redact_values(values: &Value) -> Value {
    let mut out = values.clone();
    if let Some(root) = values.get("root_module") {
        out["root_module"] = redact_module(root);
    }
    if let Some(outputs) = out.get_mut("outputs").and_then(Value::as_object_mut) {
        for output in outputs.values_mut() {
            if output.get("sensitive") == Some(&Value::Bool(true))
                && output.get("value").is_some_and(|v| !v.is_null())
            {
                output["value"] = Value::String(REDACTED.into());
            }
        }
    }
    out
}

/// (module path without instance keys, resource type, name, attribute) of every top-level
/// attribute a change marks sensitive before or after.
fn sensitive_attributes(plan: &Value) -> BTreeSet<(String, String, String, String)> {
    let mut out = BTreeSet::new();
    for key in ["resource_changes", "resource_drift"] {
        for rc in plan
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let field = |k: &str| rc.get(k).and_then(Value::as_str).unwrap_or_default();
            let module = without_keys(field("module_address"));
            for side in ["before_sensitive", "after_sensitive"] {
                let Some(marks) = rc
                    .pointer(&format!("/change/{side}"))
                    .and_then(Value::as_object)
                else {
                    continue;
                };
                for (attr, mark) in marks {
                    // `{}` or `[]`: a collection none of whose elements is sensitive.
                    if holds_true(mark) {
                        out.insert((
                            module.clone(),
                            field("type").into(),
                            field("name").into(),
                            attr.clone(),
                        ));
                    }
                }
            }
        }
    }
    out
}

/// Whether a sensitivity mask marks anything sensitive (`true`, or `true` somewhere in it).
fn holds_true(mark: &Value) -> bool {
    match mark {
        Value::Bool(b) => *b,
        Value::Object(o) => o.values().any(holds_true),
        Value::Array(a) => a.iter().any(holds_true),
        _ => false,
    }
}

/// `module.a["x"].module.b[0]` -> `module.a.module.b`.
fn without_keys(address: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    let mut quoted = false;
    for c in address.chars() {
        match c {
            '"' if depth > 0 => quoted = !quoted,
            '[' if !quoted => depth += 1,
            ']' if !quoted => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// A module of the plan's `configuration`: the default of every variable marked sensitive,
/// the expression of every output marked sensitive, and the expressions of resource
/// attributes the changes mark sensitive are replaced by [`REDACTED`] (a literal there is
/// the value itself); then its module calls, the same way.
fn redact_config_module(
    module: &mut Value,
    path: &str,
    sensitive: &BTreeSet<(String, String, String, String)>,
) {
    let redacted = || Value::String(REDACTED.into());
    let marked = |v: &Value| v.get("sensitive") == Some(&Value::Bool(true));
    if let Some(vars) = module.get_mut("variables").and_then(Value::as_object_mut) {
        for var in vars.values_mut().filter(|v| marked(v)) {
            if var.get("default").is_some_and(|d| !d.is_null()) {
                var["default"] = redacted();
            }
        }
    }
    if let Some(outputs) = module.get_mut("outputs").and_then(Value::as_object_mut) {
        for output in outputs.values_mut().filter(|o| marked(o)) {
            if output.get("expression").is_some() {
                output["expression"] = serde_json::json!({ "constant_value": REDACTED });
            }
        }
    }
    if let Some(resources) = module.get_mut("resources").and_then(Value::as_array_mut) {
        for r in resources {
            let field = |k: &str| {
                r.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            let (kind, name) = (field("type"), field("name"));
            let mut hid = false;
            if let Some(exprs) = r.get_mut("expressions").and_then(Value::as_object_mut) {
                for (attr, expr) in exprs.iter_mut() {
                    if sensitive.contains(&(
                        path.to_string(),
                        kind.clone(),
                        name.clone(),
                        attr.clone(),
                    )) {
                        *expr = serde_json::json!({ "constant_value": REDACTED });
                        hid = true;
                    }
                }
            }
            // What `for_each` iterates may be the values themselves (`each.value`).
            if hid {
                hide_instances(r);
            }
        }
    }
    if let Some(calls) = module
        .get_mut("module_calls")
        .and_then(Value::as_object_mut)
    {
        for (name, call) in calls.iter_mut() {
            let child = if path.is_empty() {
                format!("module.{name}")
            } else {
                format!("{path}.module.{name}")
            };
            // What the call passes to a variable the module marks sensitive.
            let hidden: Vec<String> = call
                .pointer("/module/variables")
                .and_then(Value::as_object)
                .map(|vars| {
                    vars.iter()
                        .filter(|(_, v)| marked(v))
                        .map(|(k, _)| k.clone())
                        .collect()
                })
                .unwrap_or_default();
            if let Some(exprs) = call.get_mut("expressions").and_then(Value::as_object_mut) {
                for name in &hidden {
                    if let Some(expr) = exprs.get_mut(name) {
                        *expr = serde_json::json!({ "constant_value": REDACTED });
                    }
                }
            }
            if !hidden.is_empty() {
                hide_instances(call);
            }
            if let Some(m) = call.get_mut("module") {
                redact_config_module(m, &child, sensitive);
            }
        }
    }
}

/// The literal a resource or module call's `for_each` iterates (it may hold the values
/// passed on as `each.value`), replaced by [`REDACTED`].
fn hide_instances(block: &mut Value) {
    if let Some(each) = block.get_mut("for_each_expression") {
        if each.get("constant_value").is_some() {
            *each = serde_json::json!({ "constant_value": REDACTED });
        }
    }
}

/// The plan as strata stores it, and as policies and tests read it: `terraform show -json`
/// without `prior_state`, with every sensitive value replaced by [`REDACTED`] (resource
/// attributes by their sensitivity masks, outputs and root variables marked sensitive
/// whole), plus `strata_changed_attributes` in each change.
pub fn redact(plan: &Value) -> Value {
    let mut out = Map::new();
    for key in ["format_version", "terraform_version", "errored"] {
        if let Some(v) = plan.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    if let Some(configuration) = plan.get("configuration") {
        let sensitive = sensitive_attributes(plan);
        let mut configuration = configuration.clone();
        if let Some(root) = configuration.get_mut("root_module") {
            redact_config_module(root, "", &sensitive);
        }
        out.insert("configuration".into(), configuration);
    }
    for key in ["resource_changes", "resource_drift"] {
        let Some(rcs) = plan.get(key).and_then(Value::as_array) else {
            continue;
        };
        let redacted = rcs
            .iter()
            .map(|rc| {
                let mut rc = rc.clone();
                if let Some(change) = rc.get("change").map(redact_change) {
                    rc["change"] = change;
                }
                rc
            })
            .collect();
        out.insert(key.into(), Value::Array(redacted));
    }
    if let Some(ocs) = plan.get("output_changes").and_then(Value::as_object) {
        let redacted = ocs
            .iter()
            .map(|(k, oc)| (k.clone(), redact_change(oc)))
            .collect();
        out.insert("output_changes".into(), Value::Object(redacted));
    }
    if let Some(planned) = plan.get("planned_values") {
        out.insert("planned_values".into(), redact_values(planned));
    }
    // `prior_state` is left out: it holds what data sources read at plan time, which
    // changes from one plan to the next (a random value, a timestamp), so the stored plan of
    // the same key would differ each time; the changes themselves are in `resource_changes`.
    if let Some(vars) = plan.get("variables").and_then(Value::as_object) {
        let declared = plan
            .pointer("/configuration/root_module/variables")
            .and_then(Value::as_object);
        let redacted = vars
            .iter()
            .map(|(name, var)| {
                let sensitive = declared
                    .and_then(|d| d.get(name))
                    .and_then(|d| d.get("sensitive"))
                    == Some(&Value::Bool(true));
                let mut var = var.clone();
                // A variable whose declaration cannot be found is kept out whole.
                if (sensitive || declared.is_none_or(|d| !d.contains_key(name)))
                    && var.get("value").is_some_and(|v| !v.is_null())
                {
                    var["value"] = Value::String(REDACTED.into());
                }
                (name.clone(), var)
            })
            .collect();
        out.insert("variables".into(), Value::Object(redacted));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Literals in the configuration are values: a sensitive variable's default, a
    /// sensitive output's expression, a resource attribute the plan marks sensitive, and
    /// what a module call passes to a sensitive variable never reach the stored plan.
    #[test]
    fn sensitive_literals_in_the_configuration_are_redacted() {
        let plan: Value = serde_json::from_str(
            r#"{"format_version": "1.0",
              "resource_changes": [{"address": "module.db[0].aws_db_instance.main",
                "module_address": "module.db[0]", "type": "aws_db_instance", "name": "main",
                "change": {"actions": ["create"], "before": null,
                  "after": {"password": "Lit3ralPw", "size": 10},
                  "before_sensitive": false, "after_sensitive": {"password": true}}}],
              "configuration": {"root_module": {
                "variables": {"pw": {"default": "Hunter2Default", "sensitive": true},
                              "region": {"default": "eu-west-1"}},
                "outputs": {"creds": {"sensitive": true,
                              "expression": {"constant_value": {"password": "MapS3cret"}}},
                            "name": {"expression": {"constant_value": "visible"}}},
                "module_calls": {"db": {"source": "./db",
                  "expressions": {"admin": {"constant_value": "PassedS3cret"},
                                  "size": {"constant_value": 10}},
                  "for_each_expression": {"constant_value": {"a": "ForEachS3cret"}},
                  "module": {
                    "variables": {"admin": {"sensitive": true}, "size": {}},
                    "resources": [{"address": "aws_db_instance.main", "type": "aws_db_instance",
                      "name": "main", "expressions": {"password": {"constant_value": "Lit3ralPw"},
                      "size": {"constant_value": 10}}}]}}}}}}"#,
        )
        .unwrap();
        let stored = redact(&plan).to_string();
        for secret in [
            "Hunter2Default",
            "MapS3cret",
            "PassedS3cret",
            "Lit3ralPw",
            "ForEachS3cret",
        ] {
            assert!(!stored.contains(secret), "{secret}: {stored}");
        }
        for kept in ["eu-west-1", "visible", "\"size\":{\"constant_value\":10}"] {
            assert!(stored.contains(kept), "{kept}: {stored}");
        }
        assert_eq!(
            without_keys("module.a[\"x]\"].module.b[0]"),
            "module.a.module.b"
        );
    }

    /// A mask of `{}` or `[]` marks a collection none of whose elements is sensitive: its
    /// expression stays for policies to read (a firewall rule's `0.0.0.0/0`). One with a
    /// sensitive element somewhere is hidden. A sensitive value that is `null` stays `null`.
    #[test]
    fn only_what_holds_a_sensitive_value_is_redacted_and_null_stays_null() {
        let plan: Value = serde_json::from_str(
            r#"{"format_version": "1.0",
              "resource_changes": [
                {"address": "null_resource.fw", "type": "null_resource", "name": "fw",
                 "change": {"actions": ["create"], "before": null,
                   "after": {"triggers": {"cidr": "0.0.0.0/0"}, "tags": ["a"]},
                   "before_sensitive": false, "after_sensitive": {"triggers": {}, "tags": []}}},
                {"address": "null_resource.db", "type": "null_resource", "name": "db",
                 "change": {"actions": ["create"], "before": null,
                   "after": {"triggers": {"pw": "NestedS3cret", "size": "1"}},
                   "before_sensitive": false, "after_sensitive": {"triggers": {"pw": true}}}}],
              "output_changes": {"token": {"actions": ["create"], "before": null,
                "after": "Tok3nS3cret", "before_sensitive": true, "after_sensitive": true},
                "creds": {"actions": ["update"], "before": {"OldKeyS3cret": 1},
                "after": {"MapKeyS3cret": 1}, "before_sensitive": true, "after_sensitive": true},
                "names": {"actions": ["update"], "before": {"a": 1}, "after": {"b": 1},
                "before_sensitive": false, "after_sensitive": false}},
              "planned_values": {"outputs": {"token": {"sensitive": true, "value": null},
                                             "key": {"sensitive": true, "value": "K3yS3cret"}}},
              "variables": {"pw": {"value": null}, "other": {"value": "VarS3cret"}},
              "configuration": {"root_module": {
                "variables": {"pw": {"sensitive": true}, "other": {"sensitive": true}},
                "resources": [
                  {"address": "null_resource.fw", "type": "null_resource", "name": "fw",
                   "expressions": {"triggers": {"constant_value": {"cidr": "0.0.0.0/0"}},
                                   "tags": {"references": ["var.tags"]}}},
                  {"address": "null_resource.db", "type": "null_resource", "name": "db",
                   "expressions": {"triggers": {"constant_value": {"pw": "NestedS3cret"}}}}]}}}"#,
        )
        .unwrap();
        let stored = redact(&plan);
        let text = stored.to_string();
        for secret in [
            "NestedS3cret",
            "Tok3nS3cret",
            "K3yS3cret",
            "VarS3cret",
            "MapKeyS3cret",
            "OldKeyS3cret",
        ] {
            assert!(!text.contains(secret), "{secret}: {text}");
        }
        let fw = &stored["configuration"]["root_module"]["resources"][0]["expressions"];
        assert_eq!(
            fw["triggers"]["constant_value"]["cidr"], "0.0.0.0/0",
            "{fw}"
        );
        assert_eq!(fw["tags"]["references"][0], "var.tags", "{fw}");
        assert_eq!(stored["output_changes"]["token"]["before"], Value::Null);
        assert_eq!(stored["output_changes"]["token"]["after"], REDACTED);
        assert_eq!(
            stored["planned_values"]["outputs"]["token"]["value"],
            Value::Null
        );
        assert_eq!(stored["variables"]["pw"]["value"], Value::Null);
        assert_eq!(stored["variables"]["other"]["value"], REDACTED);
        // The keys of a map output sensitive as a whole are data: not listed. Those of one
        // that is not are.
        assert_eq!(stored["output_changes"]["creds"].get(CHANGED), None);
        assert_eq!(
            stored["output_changes"]["names"][CHANGED],
            serde_json::json!(["a", "b"])
        );
    }

    #[test]
    fn changes_made_outside_terraform_are_summarized_and_redacted() {
        let plan: Value = serde_json::from_str(
            r#"{"format_version": "1.2", "resource_drift": [{"address": "aws_db_instance.main",
                "change": {"actions": ["update"],
                  "before": {"password": "hunter2-secret", "size": 10},
                  "after": {"password": "hunter2-secret", "size": 20},
                  "before_sensitive": {"password": true}, "after_sensitive": {"password": true}}}],
              "resource_changes": []}"#,
        )
        .unwrap();
        let s = summarize(&plan);
        assert_eq!(s.outside.len(), 1);
        assert_eq!(s.outside[0].address, "aws_db_instance.main");
        assert_eq!(s.outside[0].changed, ["size"]);
        assert_eq!(s.add + s.change + s.destroy, 0);
        let stored = redact(&plan).to_string();
        assert!(stored.contains("aws_db_instance.main"));
        assert!(!stored.contains("hunter2-secret"), "{stored}");
    }

    /// The shape terraform 1.5+ / OpenTofu 1.6+ print (format_version 1.2), with an import,
    /// a replace, a sensitive attribute and a sensitive output.
    const V1_PLAN: &str = r#"{
      "format_version": "1.2",
      "terraform_version": "1.6.0",
      "variables": {"db_password": {"value": "hunter2"}},
      "planned_values": {"root_module": {}},
      "prior_state": {"format_version": "1.0", "values": {}},
      "resource_changes": [
        {"address": "aws_db_instance.main", "mode": "managed", "type": "aws_db_instance", "name": "main",
         "change": {"actions": ["update"], "before": {"password": "old", "size": 10},
                    "after": {"password": "hunter2", "size": 20},
                    "before_sensitive": {"password": true}, "after_sensitive": {"password": true},
                    "after_unknown": {}}},
        {"address": "aws_instance.web[0]", "index": 0,
         "change": {"actions": ["delete", "create"], "before": {}, "after": {}, "replace_paths": [["ami"]]},
         "action_reason": "replace_because_cannot_update"},
        {"address": "aws_s3_bucket.logs",
         "change": {"actions": ["no-op"], "before": {}, "after": {},
                    "importing": {"id": "acme-logs"}}},
        {"address": "null_resource.keep", "change": {"actions": ["no-op"]}},
        {"address": "data.aws_ami.ubuntu", "change": {"actions": ["read"]}}
      ],
      "output_changes": {
        "endpoint": {"actions": ["no-op"], "before": "a", "after": "a"},
        "token": {"actions": ["update"], "before": "t1", "after": "t2",
                  "before_sensitive": true, "after_sensitive": true}
      },
      "timestamp": "2026-01-01T00:00:00Z",
      "errored": false
    }"#;

    /// The shape terraform 1.0 prints (format_version 0.2).
    const V0_PLAN: &str = r#"{
      "format_version": "0.2", "terraform_version": "1.0.3",
      "resource_changes": [
        {"address": "module.vpc.null_resource.vpc", "module_address": "module.vpc",
         "change": {"actions": ["create"], "before": null, "after": {"triggers": {"cidr": "10.0.0.0/16"}},
                    "after_unknown": {"id": true}, "before_sensitive": false, "after_sensitive": {"triggers": {}}}}
      ],
      "output_changes": {"vpc_id": {"actions": ["create"], "before": null, "after_unknown": true}}
    }"#;

    #[test]
    fn summarizes_newer_format() {
        let plan = parse(V1_PLAN.as_bytes()).unwrap();
        let s = summarize(&plan);
        assert_eq!((s.add, s.change, s.destroy, s.import), (1, 1, 1, 1));
        let actions: Vec<_> = s
            .resources
            .iter()
            .map(|r| (r.address.as_str(), r.action.as_str()))
            .collect();
        assert_eq!(
            actions,
            vec![
                ("aws_db_instance.main", "update"),
                ("aws_instance.web[0]", "replace"),
                ("aws_s3_bucket.logs", "import"),
                ("data.aws_ami.ubuntu", "read"),
            ]
        );
        assert_eq!(s.outputs_changed, vec!["token"]);
    }

    #[test]
    fn replacements_say_what_forces_them_and_updates_what_changes() {
        let plan = parse(V1_PLAN.as_bytes()).unwrap();
        let s = summarize(&plan);
        assert_eq!(s.resources[1].forced_by, vec!["ami"]);
        assert_eq!(s.resources[0].changed, vec!["password", "size"]);
        let d = diffs(&redact(&plan));
        assert_eq!(d[0].address, "aws_db_instance.main");
        let size = d[0].attributes.iter().find(|a| a.name == "size").unwrap();
        assert_eq!(
            (size.before.as_deref(), size.after.as_deref()),
            (Some("10"), Some("20"))
        );
        let password = d[0]
            .attributes
            .iter()
            .find(|a| a.name == "password")
            .unwrap();
        assert_eq!(password.after.as_deref(), Some("\"(sensitive value)\""));
        let created = diffs(&parse(V0_PLAN.as_bytes()).unwrap());
        let id = created[0]
            .attributes
            .iter()
            .find(|a| a.name == "id")
            .unwrap();
        assert_eq!(id.after.as_deref(), Some("(known after apply)"));
    }

    #[test]
    fn summarizes_terraform_1_0_format() {
        let s = summarize(&parse(V0_PLAN.as_bytes()).unwrap());
        assert_eq!((s.add, s.change, s.destroy), (1, 0, 0));
        assert_eq!(s.outputs_changed, vec!["vpc_id"]);
        assert!(s.has_changes());
    }

    #[test]
    fn redaction_removes_every_sensitive_value() {
        let plan = parse(V1_PLAN.as_bytes()).unwrap();
        let text = redact(&plan).to_string();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("\"old\""), "{text}");
        assert!(!text.contains("t2"), "{text}");
        assert!(text.contains(REDACTED));
        assert!(
            text.contains("\"size\":20"),
            "non-sensitive values stay: {text}"
        );
    }

    #[test]
    fn planned_values_and_variables_are_kept_redacted_and_prior_state_left_out() {
        let plan: Value = serde_json::from_str(
            r#"{"format_version": "1.2",
              "variables": {"db_password": {"value": "hunter2-var"}, "size": {"value": "20"},
                            "undeclared": {"value": "who-knows"}},
              "configuration": {"root_module": {"variables": {
                  "db_password": {"sensitive": true}, "size": {}}}},
              "planned_values": {
                "outputs": {"dsn": {"sensitive": true, "value": "pg://u:hunter2-out@db"},
                            "id": {"sensitive": false, "value": "db-1"}},
                "root_module": {"resources": [{"address": "aws_db_instance.main",
                   "values": {"password": "hunter2-planned", "size": 20},
                   "sensitive_values": {"password": true}}],
                  "child_modules": [{"address": "module.x", "resources": [{"address": "module.x.a",
                   "values": {"token": "hunter2-child", "name": "a"},
                   "sensitive_values": {"token": true}}]}]}},
              "prior_state": {"format_version": "1.0", "values": {"root_module": {"resources": [
                  {"address": "aws_db_instance.main", "values": {"password": "hunter2-prior", "size": 10},
                   "sensitive_values": {"password": true}}]}}},
              "resource_changes": []}"#,
        )
        .unwrap();
        let stored = redact(&plan);
        let text = stored.to_string();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("who-knows"), "{text}");
        assert_eq!(
            stored.pointer("/planned_values/root_module/resources/0/values/size"),
            Some(&serde_json::json!(20))
        );
        assert_eq!(
            stored.pointer("/planned_values/root_module/child_modules/0/resources/0/values/name"),
            Some(&serde_json::json!("a"))
        );
        assert_eq!(
            stored.pointer("/planned_values/outputs/id/value"),
            Some(&serde_json::json!("db-1"))
        );
        assert!(stored.get("prior_state").is_none(), "{text}");
        assert_eq!(
            stored.pointer("/variables/size/value"),
            Some(&serde_json::json!("20"))
        );
    }

    #[test]
    fn unknown_major_version_is_rejected() {
        assert!(parse(br#"{"format_version": "2.0"}"#).is_err());
    }
}
