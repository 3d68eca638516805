package builtin.kubernetes

import rego.v1

with_resources(resources) := object.union(object.remove(hardened, ["resources"]), {"resources": resources})

test_missing_resources_denied_per_setting if {
	inp := deployment({"containers": [with_resources({})]})
	{f.id | some f in deny_cpu_requests} == {"STRATA-K8S-007"} with input as inp
	{f.id | some f in deny_cpu_limits} == {"STRATA-K8S-008"} with input as inp
	{f.id | some f in deny_memory_requests} == {"STRATA-K8S-009"} with input as inp
	{f.id | some f in deny_memory_limits} == {"STRATA-K8S-010"} with input as inp
}

# STRATA-K8S-007

test_cpu_request_missing_denied if {
	fs := deny_cpu_requests with input as deployment({"containers": [with_resources({"requests": {"memory": "64Mi"}, "limits": {"cpu": "1", "memory": "64Mi"}})]})
	count(fs) == 1
	some f in fs
	f.checkov == "CKV_K8S_10"
	f.msg == "Deployment/web: container \"app\" has no CPU request (set resources.requests.cpu)"
}

# STRATA-K8S-008

test_cpu_limit_missing_denied if {
	fs := deny_cpu_limits with input as deployment({"containers": [with_resources({"requests": {"cpu": "1", "memory": "64Mi"}, "limits": {"memory": "64Mi"}})]})
	some f in fs
	f.severity == "low"
	f.checkov == "CKV_K8S_11"
}

# STRATA-K8S-009

test_memory_request_missing_in_init_container_denied if {
	init := object.union(with_resources({"limits": {"cpu": "1", "memory": "64Mi"}, "requests": {"cpu": "1"}}), {"name": "migrate"})
	fs := deny_memory_requests with input as deployment({"containers": [hardened], "initContainers": [init]})
	some f in fs
	f.checkov == "CKV_K8S_12"
	f.msg == "Deployment/web: init container \"migrate\" has no memory request (set resources.requests.memory)"
}

# STRATA-K8S-010

test_memory_limit_missing_denied if {
	fs := deny_memory_limits with input as {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [with_resources({"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1"}})]}}
	some f in fs
	f.checkov == "CKV_K8S_13"
	f.resource == "Pod/p"
}
