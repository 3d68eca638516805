//! The namespaces of a chart's objects: which kinds have none (Kubernetes' own, common
//! extensions', and those a chart's CRDs declare), which namespaces the objects name, and
//! the chart's namespace given to the objects that name none (`flux-kustomize` without
//! `targetNamespace`).

use crate::yaml::{self, yaml};
use crate::Chart;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// Kinds Kubernetes (and common extensions) define without a namespace, by API group.
const CLUSTER_SCOPED: &[(&str, &str)] = &[
    ("", "Namespace"),
    ("", "Node"),
    ("", "PersistentVolume"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
    ),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
    ),
    ("apiregistration.k8s.io", "APIService"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("storage.k8s.io", "StorageClass"),
    ("storage.k8s.io", "CSIDriver"),
    ("networking.k8s.io", "IngressClass"),
    ("networking.k8s.io", "IPAddress"),
    ("networking.k8s.io", "ServiceCIDR"),
    ("node.k8s.io", "RuntimeClass"),
    ("policy", "PodSecurityPolicy"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("certificates.k8s.io", "ClusterTrustBundle"),
    ("storage.k8s.io", "VolumeAttachment"),
    ("storage.k8s.io", "CSINode"),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "MutatingAdmissionPolicyBinding",
    ),
    ("resource.k8s.io", "DeviceClass"),
    ("gateway.networking.k8s.io", "GatewayClass"),
    ("snapshot.storage.k8s.io", "VolumeSnapshotClass"),
    ("snapshot.storage.k8s.io", "VolumeSnapshotContent"),
    ("cert-manager.io", "ClusterIssuer"),
    ("external-secrets.io", "ClusterSecretStore"),
    ("external-secrets.io", "ClusterExternalSecret"),
    ("kyverno.io", "ClusterPolicy"),
];

/// The kinds the charts' own CRDs declare cluster-scoped (`spec.scope: Cluster`).
pub(crate) fn declared_cluster_scoped(charts: &[&Chart]) -> BTreeSet<(String, String)> {
    let mut declared = BTreeSet::new();
    for c in charts {
        let text = String::from_utf8_lossy(&c.manifests);
        for doc in text.split("\n---") {
            let Ok(v) = serde_norway::from_str::<Value>(doc) else {
                continue;
            };
            if v.get("kind").and_then(Value::as_str) == Some("CustomResourceDefinition")
                && v.pointer("/spec/scope").and_then(Value::as_str) == Some("Cluster")
            {
                if let (Some(group), Some(kind)) = (
                    v.pointer("/spec/group").and_then(Value::as_str),
                    v.pointer("/spec/names/kind").and_then(Value::as_str),
                ) {
                    declared.insert((group.to_string(), kind.to_string()));
                }
            }
        }
    }
    declared
}

/// The API group of an object's `apiVersion` (`""` for the core group's `v1`).
fn api_group(object: &Value) -> &str {
    object
        .get("apiVersion")
        .and_then(Value::as_str)
        .and_then(|a| a.rsplit_once('/').map(|(g, _)| g))
        .unwrap_or("")
}

/// Whether `kind` of `group` has no namespace: Kubernetes' own, or declared by a CRD.
fn is_cluster_scoped(group: &str, kind: &str, declared: &BTreeSet<(String, String)>) -> bool {
    CLUSTER_SCOPED.contains(&(group, kind))
        || declared.contains(&(group.to_string(), kind.to_string()))
}

/// The namespaces the charts' objects name and the cluster-scoped kinds they hold: what
/// the environment's AppProject must allow.
pub(crate) fn scope(charts: &[&Chart]) -> (BTreeSet<String>, BTreeSet<(String, String)>) {
    let mut namespaces = BTreeSet::new();
    let mut kinds = BTreeSet::new();
    let declared = declared_cluster_scoped(charts);
    for c in charts {
        namespaces.insert(c.namespace.clone());
        let text = String::from_utf8_lossy(&c.manifests);
        for doc in text.split("\n---") {
            let Ok(v) = serde_norway::from_str::<Value>(doc) else {
                continue;
            };
            for object in objects_in(&v) {
                if let Some(ns) = namespace_of(object) {
                    namespaces.insert(ns.to_string());
                }
                let group = api_group(object);
                if let Some(kind) = object.get("kind").and_then(Value::as_str) {
                    if is_cluster_scoped(group, kind, &declared) {
                        kinds.insert((group.to_string(), kind.to_string()));
                    }
                }
            }
        }
    }
    (namespaces, kinds)
}

/// The objects of a manifest document: the items of a `List` (`v1` `List`,
/// `ConfigMapList`, ...), which kubectl and kustomize apply one by one, else the document.
fn objects_in(doc: &Value) -> Vec<&Value> {
    let is_list = doc
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k.ends_with("List"));
    match doc.get("items").and_then(Value::as_array) {
        Some(items) if is_list => items.iter().collect(),
        _ => vec![doc],
    }
}

/// The namespace an object names: `None` when absent, `null` or empty (Kubernetes reads
/// those as unset).
fn namespace_of(object: &Value) -> Option<&str> {
    object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .filter(|ns| !ns.is_empty())
}

/// Whether `object` is namespaced and names no namespace.
fn needs_namespace(object: &Value, declared: &BTreeSet<(String, String)>) -> bool {
    object
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|kind| {
            namespace_of(object).is_none() && !is_cluster_scoped(api_group(object), kind, declared)
        })
}

/// `manifests` with `metadata.namespace: <namespace>` given to every namespaced object that
/// names none (or an empty one), the rest of the text as it was: what `targetNamespace`
/// would do for them, without moving the objects the chart puts in other namespaces. The
/// line goes right under `metadata:`, indented as the line after it; a document laid out
/// otherwise, or a `List` whose items need it, is written again whole (its leading comments
/// kept).
pub(crate) fn with_default_namespace(
    manifests: &str,
    namespace: &str,
    declared: &BTreeSet<(String, String)>,
) -> String {
    let docs: Vec<String> = manifests
        .split("\n---")
        .map(|doc| {
            let Ok(v) = serde_norway::from_str::<Value>(doc) else {
                return doc.to_string();
            };
            if !objects_in(&v).iter().any(|o| needs_namespace(o, declared)) {
                return doc.to_string();
            }
            let is_list = !std::ptr::eq(objects_in(&v)[0], &v);
            let lines: Vec<&str> = doc.split('\n').collect();
            let at = lines.iter().position(|l| l.trim_end() == "metadata:");
            let indent = at.and_then(|i| {
                lines[i + 1..]
                    .iter()
                    .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
                    .map(|l| &l[..l.len() - l.trim_start().len()])
                    .filter(|pad| !pad.is_empty() && pad.chars().all(|c| c == ' '))
            });
            if let (false, Some(i), Some(pad)) = (is_list, at, indent) {
                let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
                out.insert(
                    i + 1,
                    format!("{pad}namespace: {}", yaml::yaml_string(namespace)),
                );
                let edited = out.join("\n");
                let placed = serde_norway::from_str::<Value>(&edited)
                    .ok()
                    .is_some_and(|e| namespace_of(&e) == Some(namespace));
                if placed {
                    return edited;
                }
            }
            let mut v = v;
            let set = |object: &mut Value| {
                if needs_namespace(object, declared) {
                    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
                        meta.insert("namespace".into(), json!(namespace));
                    }
                }
            };
            match v.get_mut("items").and_then(Value::as_array_mut) {
                Some(items) if is_list => items.iter_mut().for_each(set),
                _ => set(&mut v),
            }
            // The rest of the `---` line and the comments before the object (helm's
            // `# Source:`) stay.
            let lead: Vec<&str> = lines
                .iter()
                .enumerate()
                .take_while(|(n, l)| {
                    *n == 0 || l.trim().is_empty() || l.trim_start().starts_with('#')
                })
                .map(|(_, l)| *l)
                .collect();
            format!("{}\n{}", lead.join("\n"), yaml(&v))
        })
        .collect();
    docs.join("\n---")
}
