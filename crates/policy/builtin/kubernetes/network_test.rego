package builtin.kubernetes

import rego.v1

labelled(labels) := {"kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"}, "spec": {"template": {"metadata": {"labels": labels}, "spec": {"containers": [hardened]}}}}

netpol(namespace, selector) := {"kind": "NetworkPolicy", "metadata": {"name": "np", "namespace": namespace}, "spec": {"podSelector": selector}}

# STRATA-K8S-036

test_pod_without_network_policy_denied if {
	inp := labelled({"app": "web"})
	fs := deny_network_policy with input as inp with data.strata.objects as [inp]
	checkovs(fs) == {"CKV2_K8S_6"}
	# A policy of another namespace or for other labels does not count.
	others := [netpol("billing", {}), netpol("shop", {"matchLabels": {"app": "api"}})]
	count(deny_network_policy) == 1 with input as inp with data.strata.objects as others
	count(deny_network_policy) == 1 with input as inp
}

test_pod_selected_by_a_network_policy_passes if {
	inp := labelled({"app": "web", "tier": "front"})
	count(deny_network_policy) == 0 with input as inp with data.strata.objects as [netpol("shop", {})]
	count(deny_network_policy) == 0 with input as inp with data.strata.objects as [netpol("shop", {"matchLabels": {"app": "web"}})]
	expressions := {"matchExpressions": [
		{"key": "tier", "operator": "In", "values": ["front", "edge"]},
		{"key": "canary", "operator": "DoesNotExist"},
		{"key": "app", "operator": "Exists"},
		{"key": "team", "operator": "NotIn", "values": ["legacy"]},
	]}
	count(deny_network_policy) == 0 with input as inp with data.strata.objects as [netpol("shop", expressions)]
	count(deny_network_policy) == 0 with input as {"kind": "ConfigMap", "metadata": {"name": "c"}}
}

# STRATA-K8S-037

test_nginx_snippet_denied if {
	ingress := {"kind": "Ingress", "metadata": {"name": "web", "annotations": {
		"nginx.ingress.kubernetes.io/configuration-snippet": "more_set_headers \"X: y\";",
		"nginx.ingress.kubernetes.io/ssl-redirect": "true",
	}}}
	fs := deny_nginx_snippets with input as ingress
	count(fs) == 1
	checkovs(fs) == {"CKV_K8S_153"}
	count(deny_nginx_snippets) == 0 with input as {"kind": "Ingress", "metadata": {"name": "web", "annotations": {"nginx.ingress.kubernetes.io/ssl-redirect": "true"}}}
}
