//! Redaction of a plan before anything stores or shows it: every value the plan marks
//! sensitive (resource attributes by their masks, outputs and root variables whole, and the
//! literals of the configuration that are those values) becomes [`REDACTED`], and
//! `prior_state` is left out.

use super::changed_attributes;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// What a sensitive value reads as in every plan strata stores or shows.
pub const REDACTED: &str = "(sensitive value)";

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
pub(super) const CHANGED: &str = "strata_changed_attributes";

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
        // `after_unknown` names the keys of a map whose unknown elements it marks: under a
        // sensitive value those keys are its data (a map keyed by a secret).
        if let (Some(u), Some(m)) = (change.get("after_unknown"), change.get("after_sensitive")) {
            o.insert("after_unknown".into(), mask_unknown(u, m));
        }
    }
    out
}

/// `after_unknown` under the sensitivity mask: where the mask marks a value sensitive, only
/// whether anything in it is unknown (`true` or `false`), not its keys.
fn mask_unknown(unknown: &Value, sensitive: &Value) -> Value {
    match (unknown, sensitive) {
        (_, Value::Bool(true)) => Value::Bool(holds_true(unknown)),
        (Value::Object(u), Value::Object(m)) => Value::Object(
            u.iter()
                .map(|(k, x)| {
                    (
                        k.clone(),
                        m.get(k)
                            .map(|s| mask_unknown(x, s))
                            .unwrap_or_else(|| x.clone()),
                    )
                })
                .collect(),
        ),
        (Value::Array(u), Value::Array(m)) => Value::Array(
            u.iter()
                .enumerate()
                .map(|(i, x)| {
                    m.get(i)
                        .map(|s| mask_unknown(x, s))
                        .unwrap_or_else(|| x.clone())
                })
                .collect(),
        ),
        _ => unknown.clone(),
    }
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
pub(super) fn holds_true(mark: &Value) -> bool {
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
    let mut escaped = false;
    for c in address.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            // A key's string escapes its quotes (`["a\"b"]`).
            '\\' if quoted => escaped = true,
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

    #[test]
    fn module_paths_lose_their_instance_keys() {
        assert_eq!(
            without_keys("module.a[\"x]\"].module.b[0]"),
            "module.a.module.b"
        );
        assert_eq!(without_keys("module.a"), "module.a");
        // A key holding an escaped quote ends where its string does.
        assert_eq!(
            without_keys(r#"module.m["a\"b"].module.inner"#),
            "module.m.module.inner"
        );
    }
}
