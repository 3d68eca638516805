# Network exposure: pods no NetworkPolicy selects, ingress-nginx snippets.
package builtin.kubernetes

import rego.v1

# ---------------------------------------------------------------------------------------
# STRATA-K8S-036: a pod no NetworkPolicy selects.
#
# The NetworkPolicies are those evaluated together with the object (data.strata.objects: a
# chart's render, or the YAML files of a scan); one in the pod's namespace whose
# podSelector matches the pod's labels covers it.

network_policy := {
	"id": "STRATA-K8S-036",
	"severity": "medium",
	"title": "Pod not selected by any NetworkPolicy",
	"remediation": "Add a NetworkPolicy for the pod's labels (at least a default-deny policy with podSelector: {} in the namespace), so only the traffic it needs reaches it.",
	"checkov": "CKV2_K8S_6",
}

namespace_of(obj) := object.get(object.get(obj, "metadata", {}), "namespace", "")

pod_labels := object.get(pod_metadata, "labels", {})

selects(selector, labels) if {
	every key, value in object.get(selector, "matchLabels", {}) {
		labels[key] == value
	}
	every expression in object.get(selector, "matchExpressions", []) {
		holds(expression, labels)
	}
}

holds(e, labels) if {
	e.operator == "In"
	labels[e.key] in e.values
}

holds(e, labels) if {
	e.operator == "NotIn"
	not labels[e.key] in e.values
}

holds(e, labels) if {
	e.operator == "Exists"
	e.key in object.keys(labels)
}

holds(e, labels) if {
	e.operator == "DoesNotExist"
	not e.key in object.keys(labels)
}

covered if {
	some policy in object.get(data.strata, "objects", [])
	policy.kind == "NetworkPolicy"
	namespace_of(policy) == namespace_of(input)
	selects(object.get(object.get(policy, "spec", {}), "podSelector", {}), pod_labels)
}

deny_network_policy contains f if {
	pod_spec
	not covered
	f := finding(network_policy, "no NetworkPolicy selects its pods")
}

# ---------------------------------------------------------------------------------------
# STRATA-K8S-037: ingress-nginx configuration snippets.

nginx_snippets := {
	"id": "STRATA-K8S-037",
	"severity": "high",
	"title": "Ingress with ingress-nginx configuration snippets",
	"remediation": "Remove *-snippet annotations (and keep allow-snippet-annotations off in the controller): a snippet is raw nginx configuration that can read the controller's secrets.",
	"checkov": "CKV_K8S_153",
}

deny_nginx_snippets contains f if {
	input.kind == "Ingress"
	some key, _ in object.get(input.metadata, "annotations", {})
	startswith(key, "nginx.ingress.kubernetes.io/")
	endswith(key, "-snippet")
	f := finding(nginx_snippets, sprintf("sets the annotation %s", [key]))
}
