# RBAC: wildcards, cluster-admin bindings, permissions that lead to more permissions, and
# the default service account.
package builtin.kubernetes

import rego.v1

role_kinds := {"Role", "ClusterRole"}

binding_kinds := {"RoleBinding", "ClusterRoleBinding"}

# The rules of a Role or ClusterRole, with lower-cased verbs and resources.
role_rules contains {
	"verbs": {lower(v) | some v in object.get(rule, "verbs", [])},
	"resources": {lower(r) | some r in object.get(rule, "resources", [])},
	"api_groups": {g | some g in object.get(rule, "apiGroups", [])},
} if {
	input.kind in role_kinds
	some rule in object.get(input, "rules", [])
}

# Whether a rule grants one of `verbs` on one of `resources` of API group `group` ("" is the
# core group; a "*" grants everything). A rule naming other API groups grants nothing here:
# `*` on `*` in `custom.metrics.k8s.io` reads no secret.
grants(rule, group, verbs, resources) if {
	some g in rule.api_groups
	g in {group, "*"}
	some verb in rule.verbs
	verb in (verbs | {"*"})
	some resource in rule.resources
	resource in (resources | {"*"})
}

# ---------------------------------------------------------------------------------------
# STRATA-K8S-028: wildcards in a role.

rbac_wildcard := {
	"id": "STRATA-K8S-028",
	"severity": "high",
	"title": "Role grants wildcard permissions",
	"remediation": "List the apiGroups, resources and verbs the subject needs; a \"*\" also grants whatever the cluster adds later.",
	"checkov": "CKV_K8S_49",
}

deny_rbac_wildcard contains f if {
	some rule in role_rules
	some field in ["verbs", "resources", "api_groups"]
	"*" in rule[field]
	f := finding(rbac_wildcard, sprintf("grants \"*\" in %s", [{"verbs": "verbs", "resources": "resources", "api_groups": "apiGroups"}[field]]))
}

# ---------------------------------------------------------------------------------------
# STRATA-K8S-029: cluster-admin bound to someone.

rbac_cluster_admin := {
	"id": "STRATA-K8S-029",
	"severity": "high",
	"title": "Binding grants cluster-admin",
	"remediation": "Bind a role with the permissions the subject needs; keep cluster-admin to break-glass access.",
}

deny_rbac_cluster_admin contains f if {
	input.kind in binding_kinds
	input.roleRef.kind == "ClusterRole"
	input.roleRef.name == "cluster-admin"
	some subject in object.get(input, "subjects", [])
	not startswith(object.get(subject, "name", ""), "system:")
	f := finding(rbac_cluster_admin, sprintf("grants cluster-admin to %s %s", [object.get(subject, "kind", "subject"), object.get(subject, "name", "")]))
}

# ---------------------------------------------------------------------------------------
# STRATA-K8S-030: binding or escalating roles.

rbac_bind_escalate := {
	"id": "STRATA-K8S-030",
	"severity": "high",
	"title": "Role can bind or escalate roles",
	"remediation": "Remove the bind and escalate verbs on roles and clusterroles: they let the subject grant itself permissions it does not have.",
	"checkov_ids": ["CKV_K8S_157", "CKV_K8S_158"],
}

deny_rbac_bind_escalate contains f if {
	some rule in role_rules
	some g in rule.api_groups
	g in {"rbac.authorization.k8s.io", "*"}
	some verb, checkov in {"bind": "CKV_K8S_157", "escalate": "CKV_K8S_158"}
	verb in rule.verbs
	some resource in rule.resources
	resource in {"roles", "clusterroles", "*"}
	f := finding(object.union(rbac_bind_escalate, {"checkov": checkov}), sprintf("grants %s on %s", [verb, resource]))
}

# ---------------------------------------------------------------------------------------
# STRATA-K8S-031: control over admission webhooks.

rbac_webhook_config := {
	"id": "STRATA-K8S-031",
	"severity": "high",
	"title": "Role can change admission webhooks",
	"remediation": "Keep create, update, patch and delete on mutating and validating webhook configurations to the cluster's operators: a webhook sees and can change every object admitted.",
	"checkov": "CKV_K8S_155",
}

deny_rbac_webhook_config contains f if {
	some rule in role_rules
	grants(rule, "admissionregistration.k8s.io", {"create", "update", "patch", "delete"}, {"mutatingwebhookconfigurations", "validatingwebhookconfigurations"})
	f := finding(rbac_webhook_config, "can change admission webhook configurations")
}

# ---------------------------------------------------------------------------------------
# STRATA-K8S-032: approving certificate signing requests.

rbac_csr_approve := {
	"id": "STRATA-K8S-032",
	"severity": "high",
	"title": "Role can approve certificate signing requests",
	"remediation": "Keep approval of CertificateSigningRequests to the cluster's controllers: an approved request is a credential for any identity.",
	"checkov": "CKV_K8S_156",
}

deny_rbac_csr_approve contains f if {
	some rule in role_rules
	grants(rule, "certificates.k8s.io", {"update", "patch"}, {"certificatesigningrequests/approval"})
	f := finding(rbac_csr_approve, "can approve CertificateSigningRequests")
}

deny_rbac_csr_approve contains f if {
	some rule in role_rules
	grants(rule, "certificates.k8s.io", {"approve"}, {"signers"})
	f := finding(rbac_csr_approve, "can approve certificates for signers")
}

# ---------------------------------------------------------------------------------------
# STRATA-K8S-033: reading every secret of the cluster.

rbac_secrets_read := {
	"id": "STRATA-K8S-033",
	"severity": "high",
	"title": "ClusterRole can read secrets",
	"remediation": "Grant get on the named secrets needed (resourceNames) in a namespaced Role instead of reading every secret of the cluster.",
}

deny_rbac_secrets_read contains f if {
	input.kind == "ClusterRole"
	some rule in role_rules
	grants(rule, "", {"get", "list", "watch"}, {"secrets"})
	f := finding(rbac_secrets_read, "can read the secrets of every namespace")
}

# ---------------------------------------------------------------------------------------
# STRATA-K8S-034, 035: the default service account.

default_service_account_binding := {
	"id": "STRATA-K8S-034",
	"severity": "medium",
	"title": "Role bound to a default service account",
	"remediation": "Create a service account for the workload and bind the role to it; every pod without serviceAccountName runs as default.",
	"checkov": "CKV_K8S_42",
}

deny_default_service_account_binding contains f if {
	input.kind in binding_kinds
	some subject in object.get(input, "subjects", [])
	subject.kind == "ServiceAccount"
	subject.name == "default"
	f := finding(default_service_account_binding, sprintf("binds %s to the default service account of %q", [input.roleRef.name, object.get(subject, "namespace", "its namespace")]))
}

default_service_account_automount := {
	"id": "STRATA-K8S-035",
	"severity": "low",
	"title": "Default service account mounts its token",
	"remediation": "Set automountServiceAccountToken: false on the default ServiceAccount of each namespace.",
	"checkov": "CKV_K8S_41",
}

deny_default_service_account_automount contains f if {
	input.kind == "ServiceAccount"
	input.metadata.name == "default"
	object.get(input, "automountServiceAccountToken", true) != false
	f := finding(default_service_account_automount, "does not set automountServiceAccountToken: false")
}
