package builtin.kubernetes

import rego.v1

role(kind, rules) := {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": {"name": "r"}, "rules": rules}

binding(kind, role_name, subjects) := {"kind": kind, "metadata": {"name": "b"}, "roleRef": {"kind": "ClusterRole", "name": role_name}, "subjects": subjects}

reader := role("Role", [{"apiGroups": [""], "resources": ["pods", "configmaps"], "verbs": ["get", "list"]}])

test_narrow_role_passes if {
	count(deny_rbac_wildcard) == 0 with input as reader
	count(deny_rbac_bind_escalate) == 0 with input as reader
	count(deny_rbac_webhook_config) == 0 with input as reader
	count(deny_rbac_csr_approve) == 0 with input as reader
	count(deny_rbac_secrets_read) == 0 with input as reader
}

# STRATA-K8S-028

test_wildcards_in_any_rule_denied if {
	inp := role("ClusterRole", [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}, {"apiGroups": ["apps"], "resources": ["*"], "verbs": ["*"]}])
	fs := deny_rbac_wildcard with input as inp
	count(fs) == 2
	checkovs(fs) == {"CKV_K8S_49"}
}

# STRATA-K8S-029

test_cluster_admin_binding_denied if {
	inp := binding("ClusterRoleBinding", "cluster-admin", [{"kind": "Group", "name": "platform-oncall"}])
	count(deny_rbac_cluster_admin) == 1 with input as inp
	count(deny_rbac_cluster_admin) == 0 with input as binding("ClusterRoleBinding", "cluster-admin", [{"kind": "Group", "name": "system:masters"}])
	count(deny_rbac_cluster_admin) == 0 with input as binding("ClusterRoleBinding", "view", [{"kind": "Group", "name": "dev"}])
}

# STRATA-K8S-030 .. 033

test_privilege_granting_roles_denied if {
	escalate := role("ClusterRole", [{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["bind", "escalate"]}])
	checkovs(deny_rbac_bind_escalate) == {"CKV_K8S_157", "CKV_K8S_158"} with input as escalate
	webhooks := role("ClusterRole", [{"apiGroups": ["admissionregistration.k8s.io"], "resources": ["mutatingwebhookconfigurations"], "verbs": ["patch"]}])
	checkovs(deny_rbac_webhook_config) == {"CKV_K8S_155"} with input as webhooks
	csr := role("ClusterRole", [{"apiGroups": ["certificates.k8s.io"], "resources": ["signers"], "verbs": ["approve"]}])
	checkovs(deny_rbac_csr_approve) == {"CKV_K8S_156"} with input as csr
	secrets := role("ClusterRole", [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}])
	count(deny_rbac_secrets_read) == 1 with input as secrets
	count(deny_rbac_secrets_read) == 0 with input as role("Role", [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}])
	# "*" on "*" of every group grants them all.
	everything := role("ClusterRole", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}])
	count(deny_rbac_secrets_read) == 1 with input as everything
	count(deny_rbac_webhook_config) == 1 with input as everything
	count(deny_rbac_bind_escalate) == 0 with input as everything
}

test_permissions_in_other_api_groups_grant_none_of_these if {
	# prometheus-adapter's role: everything of the custom metrics API, and nothing else.
	metrics := role("ClusterRole", [{"apiGroups": ["custom.metrics.k8s.io"], "resources": ["*"], "verbs": ["*"]}])
	count(deny_rbac_secrets_read) == 0 with input as metrics
	count(deny_rbac_csr_approve) == 0 with input as metrics
	count(deny_rbac_webhook_config) == 0 with input as metrics
	count(deny_rbac_wildcard) == 2 with input as metrics
	escalate := role("ClusterRole", [{"apiGroups": ["example.com"], "resources": ["roles"], "verbs": ["bind"]}])
	count(deny_rbac_bind_escalate) == 0 with input as escalate
}

# STRATA-K8S-034, 035

test_default_service_account_denied if {
	inp := binding("RoleBinding", "edit", [{"kind": "ServiceAccount", "name": "default", "namespace": "shop"}])
	checkovs(deny_default_service_account_binding) == {"CKV_K8S_42"} with input as inp
	sa := {"kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "shop"}}
	checkovs(deny_default_service_account_automount) == {"CKV_K8S_41"} with input as sa
}

test_dedicated_or_quiet_service_accounts_pass if {
	count(deny_default_service_account_binding) == 0 with input as binding("RoleBinding", "edit", [{"kind": "ServiceAccount", "name": "orders"}])
	count(deny_default_service_account_automount) == 0 with input as {"kind": "ServiceAccount", "metadata": {"name": "default"}, "automountServiceAccountToken": false}
	count(deny_default_service_account_automount) == 0 with input as {"kind": "ServiceAccount", "metadata": {"name": "orders"}}
}
