//! What strata reads of a terraform state document, and the empty state it creates.

use std::collections::BTreeMap;
use strata_graph::error::{Error, Location, Result};

/// A stack output as the state holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub value: serde_json::Value,
    /// Marked `sensitive` in the configuration: it stays sensitive wherever it flows.
    pub sensitive: bool,
}

/// What strata read of a state.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub lineage: String,
    pub serial: u64,
    /// BLAKE3 of the state as the backend returned it.
    pub digest: String,
    pub outputs: BTreeMap<String, Output>,
    /// Addresses of the managed resource instances it holds (`null_resource.a[0]`,
    /// `aws_iam_user.u["bob"]`), as a destroy plan counts them.
    pub resources: Vec<String>,
}

impl State {
    /// Nothing was ever applied (a backend's state right after `init`).
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty() && self.outputs.is_empty()
    }

    /// No apply ever wrote it: no lineage (`state pull` of a state that does not exist), or
    /// the empty state of serial 0 strata creates for a pg backend before the first plan
    /// (terraform's own writes start at serial 1).
    pub fn never_applied(&self) -> bool {
        self.lineage.is_empty() || (self.serial == 0 && self.is_empty())
    }

    /// What enters plan task keys: lineage, serial and content digest.
    pub fn fingerprint(&self) -> String {
        format!("{}:{}:{}", self.lineage, self.serial, self.digest)
    }

    /// Reads a state JSON document (version 4, what terraform 0.12 and later write).
    pub fn parse(bytes: &[u8], origin: &str) -> Result<State> {
        let state: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| Error::Malformed {
                what: "terraform state",
                location: Location::new(origin.to_string(), Some(e.line())),
                message: e.to_string(),
            })?;
        let outputs = state
            .get("outputs")
            .and_then(|o| o.as_object())
            .map(|o| {
                o.iter()
                    .map(|(k, v)| {
                        let output = Output {
                            value: v.get("value").cloned().unwrap_or_default(),
                            sensitive: v
                                .get("sensitive")
                                .and_then(serde_json::Value::as_bool)
                                .unwrap_or(false),
                        };
                        (k.clone(), output)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let resources = state
            .get("resources")
            .and_then(|r| r.as_array())
            .map(|rs| {
                rs.iter()
                    .filter(|r| r["mode"].as_str() == Some("managed"))
                    .flat_map(|r| {
                        let module = r["module"].as_str().map(|m| format!("{m}."));
                        let address = format!(
                            "{}{}.{}",
                            module.unwrap_or_default(),
                            r["type"].as_str().unwrap_or("?"),
                            r["name"].as_str().unwrap_or("?")
                        );
                        let instances = r["instances"].as_array().cloned().unwrap_or_default();
                        instances.into_iter().map(move |i| match &i["index_key"] {
                            serde_json::Value::Number(n) => format!("{address}[{n}]"),
                            serde_json::Value::String(s) => {
                                format!("{address}[{}]", serde_json::Value::String(s.clone()))
                            }
                            _ => address.clone(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(State {
            lineage: state["lineage"].as_str().unwrap_or_default().to_string(),
            serial: state["serial"].as_u64().unwrap_or_default(),
            digest: blake3::hash(bytes).to_hex().to_string(),
            outputs,
            resources,
        })
    }
}

/// A state with nothing in it, as terraform writes one (format version 4).
pub(super) fn empty_state(lineage: &str) -> String {
    serde_json::json!({
        "version": 4,
        // The oldest version that writes this format: any terraform strata runs reads it.
        "terraform_version": "0.12.0",
        "serial": 0,
        "lineage": lineage,
        "outputs": {},
        "resources": [],
    })
    .to_string()
}

/// A lineage no other state has: terraform uses it to refuse pushing one state over an
/// unrelated one.
pub(super) fn new_lineage() -> String {
    let mut h = blake3::Hasher::new();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    h.update(&now.as_nanos().to_le_bytes());
    h.update(&std::process::id().to_le_bytes());
    static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    h.update(&n.to_le_bytes());
    let hex = h.finalize().to_hex();
    let hex = hex.as_str();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_state_no_apply_wrote_is_told_apart() {
        let parse = |s: &str| State::parse(s.as_bytes(), "t").unwrap();
        let created = parse(&super::empty_state("5d1c"));
        assert!(created.never_applied(), "strata's empty pg state");
        let applied_empty = parse(
            "{\"version\": 4, \"serial\": 1, \"lineage\": \"5d1c\", \"outputs\": {}, \"resources\": []}",
        );
        assert!(
            !applied_empty.never_applied(),
            "an apply that created nothing"
        );
        let no_lineage = parse("{\"version\": 4, \"serial\": 0, \"lineage\": \"\", \"outputs\": {}, \"resources\": []}");
        assert!(no_lineage.never_applied());
    }

    use super::*;

    #[test]
    fn a_created_state_is_empty_and_has_a_lineage_of_its_own() {
        let (a, b) = (new_lineage(), new_lineage());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        let state = State::parse(empty_state(&a).as_bytes(), "test").unwrap();
        assert!(state.is_empty());
        assert_eq!((state.lineage.as_str(), state.serial), (a.as_str(), 0));
    }

    #[test]
    fn state_documents() {
        let state = State::parse(
            br#"{"version":4,"serial":3,"lineage":"l-1","outputs":{"id":{"value":"x","type":"string"},"pw":{"value":"s","type":"string","sensitive":true}},
               "resources":[{"mode":"managed","type":"null_resource","name":"a","instances":[{}]},
                            {"mode":"data","type":"null_data_source","name":"d","instances":[{}]},
                            {"module":"module.m","mode":"managed","type":"null_resource","name":"b","instances":[{}]},
                            {"mode":"managed","type":"null_resource","name":"c","instances":[{"index_key":0},{"index_key":1}]},
                            {"mode":"managed","type":"null_resource","name":"k","instances":[{"index_key":"bob"}]},
                            {"mode":"managed","type":"null_resource","name":"gone","instances":[]}]}"#,
            "t",
        )
        .unwrap();
        assert_eq!(state.serial, 3);
        assert!(state.fingerprint().starts_with("l-1:3:"));
        assert!(state.outputs["pw"].sensitive);
        assert_eq!(
            state.resources,
            vec![
                "null_resource.a",
                "module.m.null_resource.b",
                "null_resource.c[0]",
                "null_resource.c[1]",
                "null_resource.k[\"bob\"]"
            ]
        );
    }
}
