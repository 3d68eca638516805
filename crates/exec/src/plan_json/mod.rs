//! Reading `terraform show -json` plan output (format_version 0.x from terraform 0.12–1.0,
//! 1.x from terraform 1.1+ and OpenTofu) into a summary and per-resource diffs, and
//! ([`redact`]) redacting it before anything stores or shows it: values marked sensitive
//! become `"(sensitive value)"` (in `planned_values` and `variables` too, which policies
//! read), and `prior_state`, which differs from one plan to the next, is dropped.

mod redact;

use redact::CHANGED;
pub use redact::{redact, REDACTED};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

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
    /// What happens to each of [`PlanSummary::outputs_changed`]: `create`, `update` or
    /// `delete` (an output other stacks read going away is not an update).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output_actions: Vec<OutputAction>,
    /// Resources terraform found changed outside terraform when it refreshed (its
    /// `resource_drift`): `address` and what happened (`update`, `delete`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outside: Vec<ResourceAction>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputAction {
    pub name: String,
    pub action: String,
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
    /// Why terraform chose the action, as its `action_reason` says
    /// (`replace_because_tainted`, `delete_because_no_resource_config`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A replacement that creates the new object before destroying the old one
    /// (`create_before_destroy`; terraform's actions `["create", "delete"]`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub create_before_destroy: bool,
    /// The key of a deposed object (one a `create_before_destroy` replacement that failed
    /// left beside the live one): the change is to that object, not to the live one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposed: Option<String>,
}

impl ResourceAction {
    /// The address as a reviewer reads it: a deposed object's says so.
    pub fn shown(&self) -> String {
        shown_address(&self.address, self.deposed.as_deref())
    }
    /// The sign terraform shows for the action: `-/+` for a replacement that destroys
    /// first, `+/-` for one that creates first.
    pub fn sign(&self) -> &'static str {
        sign_of(&self.action, self.create_before_destroy)
    }

    /// [`ResourceAction::reason`] in words, for the reasons a reviewer would not see from
    /// the attributes (a replacement forced by an attribute says so by `forced_by`).
    pub fn reason_text(&self) -> Option<&'static str> {
        Some(match self.reason.as_deref()? {
            "replace_because_tainted" => "tainted",
            "replace_by_request" => "replacement requested",
            "delete_because_no_resource_config" => "no longer in the configuration",
            "delete_because_no_module" => "its module is no longer called",
            "delete_because_wrong_repetition" => "count or for_each changed how it repeats",
            "delete_because_count_index" => "its count index is gone",
            "delete_because_each_key" => "its for_each key is gone",
            "delete_because_no_move_target" => "its moved block has no target",
            "read_because_config_unknown" => "its configuration is known only after apply",
            "read_because_dependency_pending" => "a dependency changes first",
            _ => return None,
        })
    }
}

fn shown_address(address: &str, deposed: Option<&str>) -> String {
    match deposed {
        Some(key) => format!("{address} (deposed object {key})"),
        None => address.to_string(),
    }
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
    /// Why, in words, when the attributes do not say ([`ResourceAction::reason_text`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// See [`ResourceAction::create_before_destroy`].
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub create_before_destroy: bool,
    /// See [`ResourceAction::deposed`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deposed: Option<String>,
    pub attributes: Vec<AttributeChange>,
}

impl ResourceDiff {
    /// See [`ResourceAction::shown`].
    pub fn shown(&self) -> String {
        shown_address(&self.address, self.deposed.as_deref())
    }
    /// See [`ResourceAction::sign`].
    pub fn sign(&self) -> &'static str {
        sign_of(&self.action, self.create_before_destroy)
    }
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
pub(super) fn changed_attributes(change: &Value) -> Vec<String> {
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
            // terraform marks every known collection `{}` or `[]` in `after_unknown`
            // whenever anything is unknown: only a `true` somewhere in it is.
            let is_unknown = unknown.get(*k).is_some_and(redact::holds_true);
            is_unknown || before.get(*k) != after.get(*k)
        })
        .cloned()
        .collect();
    names.sort();
    names.dedup();
    names
}

/// A value terraform knows only in part (`after_unknown` holds `true` inside it): the known
/// parts, and `"(known after apply)"` where `unknown` marks one (an element absent from
/// `after` included).
fn with_unknown(after: Option<&Value>, unknown: &Value) -> Value {
    match unknown {
        Value::Bool(true) => Value::String("(known after apply)".into()),
        Value::Object(marks) => {
            let mut out = after
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            for (k, mark) in marks.iter().filter(|(_, m)| redact::holds_true(m)) {
                let known = out.get(k).cloned();
                out.insert(k.clone(), with_unknown(known.as_ref(), mark));
            }
            Value::Object(out)
        }
        Value::Array(marks) => {
            let known = after.and_then(Value::as_array).cloned().unwrap_or_default();
            let len = known.len().max(marks.len());
            Value::Array(
                (0..len)
                    .map(|i| match marks.get(i) {
                        Some(m) if redact::holds_true(m) => with_unknown(known.get(i), m),
                        _ => known.get(i).cloned().unwrap_or(Value::Null),
                    })
                    .collect(),
            )
        }
        _ => after.cloned().unwrap_or(Value::Null),
    }
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
            // By address and deposed key: a deposed object has the live one's address.
            let change = changes
                .iter()
                .find(|c| {
                    c.get("address").and_then(Value::as_str) == Some(r.address.as_str())
                        && c.get("deposed").and_then(Value::as_str) == r.deposed.as_deref()
                })
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
                    let unknown = change.get("after_unknown").and_then(|u| u.get(&name));
                    let after = change.get("after").and_then(|a| a.get(&name));
                    AttributeChange {
                        before: show(change.get("before").and_then(|b| b.get(&name))),
                        after: match unknown {
                            // Sensitive: its redaction, whatever in it is unknown.
                            _ if after == Some(&Value::String(redact::REDACTED.into())) => {
                                show(after)
                            }
                            Some(Value::Bool(true)) => Some("(known after apply)".into()),
                            // Partly unknown: the known parts, and the rest marked.
                            Some(u) if redact::holds_true(u) => {
                                Some(with_unknown(after, u).to_string())
                            }
                            _ => show(after),
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
                reason: r.reason_text(),
                create_before_destroy: r.create_before_destroy,
                deposed: r.deposed.clone(),
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
/// The sign terraform shows for an action (a replacement as `-/+`; see
/// [`ResourceAction::sign`] for one that creates first).
pub fn action_sign(action: &str) -> &'static str {
    sign_of(action, false)
}

/// The sign of `action`, a replacement's by which comes first.
fn sign_of(action: &str, create_before_destroy: bool) -> &'static str {
    match action {
        "create" => "+",
        "delete" => "-",
        "update" => "~",
        "replace" if create_before_destroy => "+/-",
        "replace" => "-/+",
        "read" => "<=",
        "import" => "<-",
        _ => " ",
    }
}

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

/// The `actions` of a change (`["delete", "create"]`), empty when it has none.
fn actions(change: Option<&Value>) -> Vec<&str> {
    change
        .and_then(|c| c.get("actions"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

pub fn summarize(plan: &Value) -> PlanSummary {
    let mut s = PlanSummary::default();
    for rd in plan
        .get("resource_drift")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let actions = actions(rd.get("change"));
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
            reason: None,
            create_before_destroy: false,
            deposed: None,
        });
    }
    for rc in plan
        .get("resource_changes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let change = rc.get("change").cloned().unwrap_or_default();
        let actions = actions(Some(&change));
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
            reason: rc
                .get("action_reason")
                .and_then(Value::as_str)
                .map(str::to_string),
            create_before_destroy: actions.as_slice() == ["create", "delete"],
            deposed: rc
                .get("deposed")
                .and_then(Value::as_str)
                .map(str::to_string),
        });
    }
    if let Some(outputs) = plan.get("output_changes").and_then(Value::as_object) {
        for (name, oc) in outputs {
            let actions = actions(Some(oc));
            let action = match actions.as_slice() {
                ["no-op"] => continue,
                ["create"] => "create",
                ["delete"] => "delete",
                _ => "update",
            };
            s.outputs_changed.push(name.clone());
            s.output_actions.push(OutputAction {
                name: name.clone(),
                action: action.into(),
            });
        }
    }
    s
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
        // Terraform's reason is kept; one the attributes already explain has no words.
        assert_eq!(
            s.resources[1].reason.as_deref(),
            Some("replace_because_cannot_update")
        );
        assert_eq!(s.resources[1].reason_text(), None);
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

    /// terraform shows a replacement by the order of its actions: `-/+` destroys first,
    /// `+/-` (`create_before_destroy`) creates first. Both used to be shown `-/+`.
    #[test]
    fn a_replacement_is_signed_by_which_comes_first() {
        let plan = |actions: &str| {
            parse(
                format!(
                    r#"{{"format_version": "1.0", "resource_changes": [{{"address": "null_resource.a",
                      "change": {{"actions": {actions}, "before": {{}}, "after": {{}}}}}}]}}"#
                )
                .as_bytes(),
            )
            .unwrap()
        };
        let signs = |actions: &str| {
            let p = plan(actions);
            let s = summarize(&p);
            assert_eq!((s.add, s.destroy), (1, 1));
            (s.resources[0].sign(), diffs(&p)[0].sign())
        };
        assert_eq!(signs(r#"["delete", "create"]"#), ("-/+", "-/+"));
        assert_eq!(signs(r#"["create", "delete"]"#), ("+/-", "+/-"));
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
    fn outputs_say_whether_they_are_created_updated_or_deleted() {
        let plan = serde_json::json!({
            "format_version": "1.0",
            "output_changes": {
                "gone": {"actions": ["delete"], "before": "a", "after": null},
                "new": {"actions": ["create"], "before": null, "after": "b"},
                "same": {"actions": ["no-op"], "before": "c", "after": "c"},
                "vpc": {"actions": ["update"], "before": "d", "after": "e"},
            }
        });
        let s = summarize(&plan);
        assert_eq!(s.outputs_changed, ["gone", "new", "vpc"]);
        let actions: Vec<(&str, &str)> = s
            .output_actions
            .iter()
            .map(|o| (o.name.as_str(), o.action.as_str()))
            .collect();
        assert_eq!(
            actions,
            [("gone", "delete"), ("new", "create"), ("vpc", "update")]
        );
    }

    #[test]
    fn unknown_major_version_is_rejected() {
        assert!(parse(br#"{"format_version": "2.0"}"#).is_err());
    }

    /// What terraform 1.0 prints for a failed `create_before_destroy` replacement's deposed
    /// object beside the live instance, and for a data source read during apply whose
    /// inputs are partly unknown; `{}` marks a known collection whenever anything is
    /// unknown.
    const DEPOSED_PLAN: &str = r#"{
      "format_version": "0.2",
      "resource_changes": [
        {"address": "null_resource.d", "mode": "managed",
         "change": {"actions": ["no-op"], "before": {"id": "live", "triggers": {"v": "2"}},
                    "after": {"id": "live", "triggers": {"v": "2"}}, "after_unknown": {}}},
        {"address": "null_resource.d", "mode": "managed", "deposed": "abcd1234",
         "change": {"actions": ["delete"], "before": {"id": "111", "triggers": {"v": "1"}},
                    "after": null, "after_unknown": {}}},
        {"address": "null_resource.t", "mode": "managed", "action_reason": "replace_because_tainted",
         "change": {"actions": ["delete", "create"], "before": {"id": "9", "triggers": {"v": "1"}},
                    "after": {"triggers": {"v": "1"}}, "after_unknown": {"id": true, "triggers": {}}}},
        {"address": "data.null_data_source.r", "mode": "data",
         "change": {"actions": ["read"], "before": null, "after": {"inputs": {"b": "fixed"}},
                    "after_unknown": {"inputs": {"a": true}, "id": true}}}
      ]
    }"#;

    #[test]
    fn deposed_objects_unchanged_collections_and_partly_unknown_values_read_as_terraform_shows_them(
    ) {
        let plan = parse(DEPOSED_PLAN.as_bytes()).unwrap();
        let s = summarize(&plan);
        let shown: Vec<(String, &str)> = s
            .resources
            .iter()
            .map(|r| (r.shown(), r.action.as_str()))
            .collect();
        assert_eq!(
            shown,
            vec![
                (
                    "null_resource.d (deposed object abcd1234)".to_string(),
                    "delete"
                ),
                ("null_resource.t".to_string(), "replace"),
                ("data.null_data_source.r".to_string(), "read"),
            ]
        );
        // The tainted replacement changes `id` only: its triggers are the same.
        assert_eq!(s.resources[1].changed, vec!["id"]);
        let d = diffs(&redact(&plan));
        // The deposed object's own attributes, not the live one's.
        let id = d[0].attributes.iter().find(|a| a.name == "id").unwrap();
        assert_eq!(id.before.as_deref(), Some("\"111\""));
        assert_eq!(d[0].shown(), "null_resource.d (deposed object abcd1234)");
        // A value known only in part keeps its unknown element, marked.
        let inputs = d[2].attributes.iter().find(|a| a.name == "inputs").unwrap();
        assert_eq!(
            inputs.after.as_deref(),
            Some(r#"{"a":"(known after apply)","b":"fixed"}"#)
        );
    }

    /// A map keyed by a secret, sensitive as a whole: `after_unknown` names its keys, and
    /// neither the stored plan nor `strata show` may.
    #[test]
    fn keys_of_a_sensitive_value_that_after_unknown_names_are_redacted() {
        let plan = parse(
            br#"{"format_version": "0.2", "resource_changes": [
              {"address": "data.null_data_source.r", "mode": "data",
               "change": {"actions": ["read"], "before": null,
                          "after": {"inputs": {"Zq8-secret-key": null, "b": "plain"}},
                          "after_unknown": {"inputs": {"Zq8-secret-key": true}, "id": true},
                          "after_sensitive": {"inputs": true}}}]}"#,
        )
        .unwrap();
        let redacted = redact(&plan);
        assert!(
            !redacted.to_string().contains("Zq8-secret-key"),
            "{redacted}"
        );
        let d = diffs(&redacted);
        let inputs = d[0].attributes.iter().find(|a| a.name == "inputs").unwrap();
        assert_eq!(
            inputs.after.as_deref(),
            Some(format!("\"{}\"", redact::REDACTED).as_str())
        );
    }
}
