# Container CPU and memory requests and limits.
package builtin.kubernetes

import rego.v1

# A rule per setting, so that one (often CPU limits) can be turned off alone.
resource_rule(meta, section, resource, what) := {f |
	some c in containers
	not c.spec.resources[section][resource]
	f := finding(meta, sprintf("%s has no %s %s (set resources.%s.%s)", [c.label, what, trim_suffix(section, "s"), section, resource]))
}

# ---------------------------------------------------------------------------------------
# STRATA-K8S-007: no CPU request.

cpu_requests := {
	"id": "STRATA-K8S-007",
	"severity": "medium",
	"title": "Container without a CPU request",
	"remediation": "Set resources.requests.cpu to what the container needs under normal load, so the scheduler can place it.",
	"checkov": "CKV_K8S_10",
}

deny_cpu_requests contains f if some f in resource_rule(cpu_requests, "requests", "cpu", "CPU")

# ---------------------------------------------------------------------------------------
# STRATA-K8S-008: no CPU limit.

cpu_limits := {
	"id": "STRATA-K8S-008",
	"severity": "low",
	"title": "Container without a CPU limit",
	"remediation": "Set resources.limits.cpu, or except this rule where CPU throttling does more harm than a noisy neighbour.",
	"checkov": "CKV_K8S_11",
}

deny_cpu_limits contains f if some f in resource_rule(cpu_limits, "limits", "cpu", "CPU")

# ---------------------------------------------------------------------------------------
# STRATA-K8S-009: no memory request.

memory_requests := {
	"id": "STRATA-K8S-009",
	"severity": "medium",
	"title": "Container without a memory request",
	"remediation": "Set resources.requests.memory to the container's normal working set.",
	"checkov": "CKV_K8S_12",
}

deny_memory_requests contains f if some f in resource_rule(memory_requests, "requests", "memory", "memory")

# ---------------------------------------------------------------------------------------
# STRATA-K8S-010: no memory limit.

memory_limits := {
	"id": "STRATA-K8S-010",
	"severity": "medium",
	"title": "Container without a memory limit",
	"remediation": "Set resources.limits.memory so that a leak kills the container, not the node.",
	"checkov": "CKV_K8S_13",
}

deny_memory_limits contains f if some f in resource_rule(memory_limits, "limits", "memory", "memory")
