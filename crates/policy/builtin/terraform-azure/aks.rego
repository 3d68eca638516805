# AKS clusters: RBAC, API server exposure, network policy, monitoring, local accounts and
# node public IPs. Attributes are read under their azurerm 2.x, 3.x and 4.x names.
package builtin.azure

import rego.v1

aks_clusters := resources("azurerm_kubernetes_cluster")

aks_finding(meta, name, msg) := finding(meta, addr("azurerm_kubernetes_cluster", name), sprintf("azurerm_kubernetes_cluster.%s %s", [name, msg]))

# ---------------------------------------------------------------------------------------
# STRATA-AZ-018: Kubernetes RBAC turned off.

aks_rbac := {
	"id": "STRATA-AZ-018",
	"severity": "high",
	"title": "AKS cluster without Kubernetes RBAC",
	"remediation": "Remove role_based_access_control_enabled = false (azurerm 3.x and later) or role_based_access_control { enabled = false } (2.x); RBAC cannot be turned on later without recreating the cluster.",
	"checkov": "CKV_AZURE_5",
}

rbac_setting(cluster) := cluster.role_based_access_control_enabled

rbac_setting(cluster) := first(cluster, "role_based_access_control").enabled if not "role_based_access_control_enabled" in object.keys(cluster)

deny_aks_rbac contains f if {
	some [name, cluster] in aks_clusters
	rbac_setting(cluster) in {false, "false"}
	f := aks_finding(aks_rbac, name, "turns Kubernetes RBAC off")
}

# ---------------------------------------------------------------------------------------
# STRATA-AZ-019: a public API server that accepts any address.

aks_api_authorized_ip_ranges := {
	"id": "STRATA-AZ-019",
	"severity": "medium",
	"title": "AKS API server without authorised IP ranges",
	"remediation": "Set api_server_access_profile { authorized_ip_ranges = [...] } (api_server_authorized_ip_ranges on azurerm 2.x), or make the cluster private.",
	"checkov": "CKV_AZURE_6",
}

authorized_ranges(cluster) := array.concat(
	as_list(object.get(cluster, "api_server_authorized_ip_ranges", [])),
	as_list(object.get(first(cluster, "api_server_access_profile"), "authorized_ip_ranges", [])),
)

private_cluster(cluster) if enabled(cluster.private_cluster_enabled)

deny_aks_api_authorized_ip_ranges contains f if {
	some [name, cluster] in aks_clusters
	not private_cluster(cluster)
	count(authorized_ranges(cluster)) == 0
	f := aks_finding(aks_api_authorized_ip_ranges, name, "serves a public API server to every address (no authorized_ip_ranges)")
}

# ---------------------------------------------------------------------------------------
# STRATA-AZ-020: no network policy engine.

aks_network_policy := {
	"id": "STRATA-AZ-020",
	"severity": "medium",
	"title": "AKS cluster without a network policy engine",
	"remediation": "Set network_profile { network_plugin = \"azure\", network_policy = \"azure\" } (or \"calico\", \"cilium\"); it can only be chosen when the cluster is created.",
	"checkov": "CKV_AZURE_7",
}

deny_aks_network_policy contains f if {
	some [name, cluster] in aks_clusters
	not first(cluster, "network_profile").network_policy
	f := aks_finding(aks_network_policy, name, "has no network_profile.network_policy, so NetworkPolicies are not enforced")
}

# ---------------------------------------------------------------------------------------
# STRATA-AZ-021: no Azure Monitor agent.

aks_logging := {
	"id": "STRATA-AZ-021",
	"severity": "low",
	"title": "AKS cluster without Azure Monitor logging",
	"remediation": "Add oms_agent { log_analytics_workspace_id = ... } (addon_profile.oms_agent on azurerm 2.x).",
	"checkov": "CKV_AZURE_4",
}

monitored(cluster) if has_block(cluster, "oms_agent")

monitored(cluster) if flag(first(first(cluster, "addon_profile"), "oms_agent"), ["enabled"], false) == "on"

deny_aks_logging contains f if {
	some [name, cluster] in aks_clusters
	not monitored(cluster)
	f := aks_finding(aks_logging, name, "has no oms_agent (Azure Monitor)")
}

# ---------------------------------------------------------------------------------------
# STRATA-AZ-022: a cluster API on a public endpoint.

aks_private_cluster := {
	"id": "STRATA-AZ-022",
	"severity": "medium",
	"title": "AKS cluster API server is public",
	"remediation": "Set private_cluster_enabled = true (chosen when the cluster is created) and reach the API from the VNet.",
	"checkov": "CKV_AZURE_115",
}

deny_aks_private_cluster contains f if {
	some [name, cluster] in aks_clusters
	flag(cluster, ["private_cluster_enabled"], false) == "off"
	f := aks_finding(aks_private_cluster, name, "does not set private_cluster_enabled = true")
}

# ---------------------------------------------------------------------------------------
# STRATA-AZ-023: local cluster-admin accounts.

aks_local_accounts := {
	"id": "STRATA-AZ-023",
	"severity": "medium",
	"title": "AKS cluster keeps local accounts",
	"remediation": "Set local_account_disabled = true (with Entra ID integration), so every access is an identity that can be revoked and audited.",
	"checkov": "CKV_AZURE_141",
}

deny_aks_local_accounts contains f if {
	some [name, cluster] in aks_clusters
	flag(cluster, ["local_account_disabled"], false) == "off"
	f := aks_finding(aks_local_accounts, name, "does not set local_account_disabled = true")
}

# ---------------------------------------------------------------------------------------
# STRATA-AZ-024: nodes with public IP addresses.

aks_node_public_ip := {
	"id": "STRATA-AZ-024",
	"severity": "medium",
	"title": "AKS nodes have public IP addresses",
	"remediation": "Remove node_public_ip_enabled (enable_node_public_ip before azurerm 4.0) from the node pools.",
	"checkov": "CKV_AZURE_143",
}

node_pools contains [addr("azurerm_kubernetes_cluster", name), first(cluster, "default_node_pool")] if {
	some [name, cluster] in aks_clusters
}

node_pools contains [addr("azurerm_kubernetes_cluster_node_pool", name), pool] if {
	some [name, pool] in resources("azurerm_kubernetes_cluster_node_pool")
}

deny_aks_node_public_ip contains f if {
	some [address, pool] in node_pools
	some key in ["node_public_ip_enabled", "enable_node_public_ip"]
	enabled(pool[key])
	f := finding(aks_node_public_ip, address, sprintf("%s gives its nodes public IP addresses (%s = true)", [address, key]))
}
