package builtin.azure

import rego.v1

res(type, body) := {"resource": {type: {"x": body}}}

ids(fs) := {f.checkov | some f in fs}

hardened_aks := {
	"private_cluster_enabled": true,
	"local_account_disabled": true,
	"network_profile": {"network_plugin": "azure", "network_policy": "azure"},
	"oms_agent": {"log_analytics_workspace_id": "${azurerm_log_analytics_workspace.x.id}"},
	"default_node_pool": {"name": "system", "vm_size": "Standard_D2s_v5"},
}

# STRATA-AZ-018 .. 024

test_default_aks_denied if {
	inp := res("azurerm_kubernetes_cluster", {"default_node_pool": {"name": "system"}})
	ids(deny_aks_api_authorized_ip_ranges) == {"CKV_AZURE_6"} with input as inp
	ids(deny_aks_network_policy) == {"CKV_AZURE_7"} with input as inp
	ids(deny_aks_logging) == {"CKV_AZURE_4"} with input as inp
	ids(deny_aks_private_cluster) == {"CKV_AZURE_115"} with input as inp
	ids(deny_aks_local_accounts) == {"CKV_AZURE_141"} with input as inp
	count(deny_aks_rbac) == 0 with input as inp
	count(deny_aks_node_public_ip) == 0 with input as inp
}

test_hardened_aks_passes if {
	inp := res("azurerm_kubernetes_cluster", hardened_aks)
	count(deny_aks_api_authorized_ip_ranges) == 0 with input as inp
	count(deny_aks_network_policy) == 0 with input as inp
	count(deny_aks_logging) == 0 with input as inp
	count(deny_aks_private_cluster) == 0 with input as inp
	count(deny_aks_local_accounts) == 0 with input as inp
}

test_public_aks_with_authorized_ranges_passes_that_rule if {
	inp := res("azurerm_kubernetes_cluster", {"api_server_access_profile": {"authorized_ip_ranges": ["203.0.113.0/24"]}})
	count(deny_aks_api_authorized_ip_ranges) == 0 with input as inp
	count(deny_aks_api_authorized_ip_ranges) == 0 with input as res("azurerm_kubernetes_cluster", {"api_server_authorized_ip_ranges": ["203.0.113.0/24"]})
}

test_aks_rbac_off_and_public_nodes_denied if {
	ids(deny_aks_rbac) == {"CKV_AZURE_5"} with input as res("azurerm_kubernetes_cluster", {"role_based_access_control_enabled": false})
	count(deny_aks_rbac) == 1 with input as res("azurerm_kubernetes_cluster", {"role_based_access_control": {"enabled": false}})
	ids(deny_aks_node_public_ip) == {"CKV_AZURE_143"} with input as res("azurerm_kubernetes_cluster", {"default_node_pool": {"enable_node_public_ip": true}})
	count(deny_aks_node_public_ip) == 1 with input as res("azurerm_kubernetes_cluster_node_pool", {"node_public_ip_enabled": true})
}

test_aks_legacy_oms_addon_passes if {
	count(deny_aks_logging) == 0 with input as res("azurerm_kubernetes_cluster", {"addon_profile": {"oms_agent": {"enabled": true}}})
}
