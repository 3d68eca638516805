# Container security context: privileges, user, root filesystem, capabilities.
package builtin.kubernetes

import rego.v1

# ---------------------------------------------------------------------------------------
# STRATA-K8S-001: privileged container.

privileged := {
	"id": "STRATA-K8S-001",
	"severity": "critical",
	"title": "Privileged container",
	"remediation": "Remove securityContext.privileged, and add only the specific capabilities the container needs.",
	"checkov": "CKV_K8S_16",
}

deny_privileged contains f if {
	some c in containers
	c.spec.securityContext.privileged == true
	f := finding(privileged, sprintf("%s is privileged", [c.label]))
}

# ---------------------------------------------------------------------------------------
# STRATA-K8S-002: privilege escalation not turned off.

privilege_escalation := {
	"id": "STRATA-K8S-002",
	"severity": "high",
	"title": "Container allows privilege escalation",
	"remediation": "Set securityContext.allowPrivilegeEscalation: false on every container.",
	"checkov": "CKV_K8S_20",
}

deny_privilege_escalation contains f if {
	some c in containers
	object.get(c.spec, ["securityContext", "allowPrivilegeEscalation"], true) != false
	f := finding(privilege_escalation, sprintf("%s does not set allowPrivilegeEscalation: false", [c.label]))
}

# ---------------------------------------------------------------------------------------
# STRATA-K8S-003: container that runs, or may run, as root.

run_as_root := {
	"id": "STRATA-K8S-003",
	"severity": "high",
	"title": "Container may run as root",
	"remediation": "Set runAsNonRoot: true and a non-zero runAsUser in the pod or container securityContext (and build the image with a non-root USER).",
	"checkov": "CKV_K8S_23",
}

deny_run_as_root contains f if {
	some c in containers
	security(c.spec, "runAsUser") == 0
	f := finding(run_as_root, sprintf("%s runs as UID 0", [c.label]))
}

deny_run_as_root contains f if {
	some c in containers
	not runs_as_non_root(c.spec)
	not security(c.spec, "runAsUser")
	f := finding(run_as_root, sprintf("%s sets neither runAsNonRoot: true nor runAsUser, so it runs as the image's user (often root)", [c.label]))
}

# Set to true in the container or the pod (a function, so that `not` of it is true when
# the setting is absent: a call inside `not` that is undefined makes the body undefined).
runs_as_non_root(spec) if security(spec, "runAsNonRoot") == true

# ---------------------------------------------------------------------------------------
# STRATA-K8S-004: writable root filesystem.

read_only_root_filesystem := {
	"id": "STRATA-K8S-004",
	"severity": "medium",
	"title": "Container root filesystem is writable",
	"remediation": "Set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where the process must write.",
	"checkov": "CKV_K8S_22",
}

deny_read_only_root_filesystem contains f if {
	some c in containers
	object.get(c.spec, ["securityContext", "readOnlyRootFilesystem"], false) != true
	f := finding(read_only_root_filesystem, sprintf("%s does not set readOnlyRootFilesystem: true", [c.label]))
}

# ---------------------------------------------------------------------------------------
# STRATA-K8S-005: capabilities not dropped.

drop_all_capabilities := {
	"id": "STRATA-K8S-005",
	"severity": "medium",
	"title": "Container does not drop all capabilities",
	"remediation": "Set securityContext.capabilities.drop: [\"ALL\"] and add back only what is needed (NET_BIND_SERVICE, ...).",
	"checkov": "CKV_K8S_37",
}

drops_all(c) if {
	some capability in c.securityContext.capabilities.drop
	upper(sprintf("%v", [capability])) == "ALL"
}

deny_drop_all_capabilities contains f if {
	some c in containers
	not drops_all(c.spec)
	f := finding(drop_all_capabilities, sprintf("%s does not drop ALL capabilities", [c.label]))
}

# ---------------------------------------------------------------------------------------
# STRATA-K8S-006: capabilities added beyond binding low ports.

added_capabilities := {
	"id": "STRATA-K8S-006",
	"severity": "medium",
	"title": "Container adds Linux capabilities",
	"remediation": "Remove securityContext.capabilities.add; only NET_BIND_SERVICE is accepted without review.",
	"checkov": "CKV_K8S_25",
	"checkov_ids": ["CKV_K8S_25", "CKV_K8S_39"],
}

# SYS_ADMIN is close to root on the node, and ALL is every capability.
dangerous_capabilities := {"SYS_ADMIN", "ALL"}

capability_meta(capability) := object.union(added_capabilities, {"severity": "high", "checkov": "CKV_K8S_39"}) if capability == "SYS_ADMIN"

capability_meta(capability) := object.union(added_capabilities, {"severity": "high"}) if capability == "ALL"

capability_meta(capability) := added_capabilities if not capability in dangerous_capabilities

deny_added_capabilities contains f if {
	some c in containers
	some added in c.spec.securityContext.capabilities.add
	capability := trim_prefix(upper(sprintf("%v", [added])), "CAP_")
	capability != "NET_BIND_SERVICE"
	f := finding(capability_meta(capability), sprintf("%s adds the %s capability", [c.label, capability]))
}
