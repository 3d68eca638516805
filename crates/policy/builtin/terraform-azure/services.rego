# Other services: SQL TLS, Linux VM password login, Key Vault secrets and firewall,
# Container Registry, Cosmos DB and Redis exposure.
package builtin.azure

import rego.v1

# ---------------------------------------------------------------------------------------
# STRATA-AZ-034: an Azure SQL server accepting TLS 1.0 or 1.1.

mssql_min_tls := {
	"id": "STRATA-AZ-034",
	"severity": "medium",
	"title": "Azure SQL server accepts TLS older than 1.2",
	"remediation": "Set minimum_tls_version = \"1.2\".",
	"checkov": "CKV_AZURE_52",
}

deny_mssql_min_tls contains f if {
	some [name, server] in resources("azurerm_mssql_server")
	version := sprintf("%v", [object.get(server, "minimum_tls_version", "1.2")])
	version in {"1.0", "1.1", "Disabled"}
	f := finding(mssql_min_tls, addr("azurerm_mssql_server", name), sprintf("azurerm_mssql_server.%s has minimum_tls_version %q", [name, version]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AZ-035: password logins to a Linux VM.

vm_password_auth := {
	"id": "STRATA-AZ-035",
	"severity": "high",
	"title": "Linux VM allows password authentication",
	"remediation": "Set disable_password_authentication = true and give admin_ssh_key (os_profile_linux_config.ssh_keys on azurerm_virtual_machine).",
	"checkov_ids": ["CKV_AZURE_149", "CKV_AZURE_1"],
}

deny_vm_password_auth contains f if {
	some type in ["azurerm_linux_virtual_machine", "azurerm_linux_virtual_machine_scale_set"]
	some [name, vm] in resources(type)
	flag(vm, ["disable_password_authentication"], true) == "off"
	f := finding(object.union(vm_password_auth, {"checkov": "CKV_AZURE_149"}), addr(type, name), sprintf("%s.%s sets disable_password_authentication = false", [type, name]))
}

deny_vm_password_auth contains f if {
	some [name, vm] in resources("azurerm_virtual_machine")
	some config in blocks(object.get(vm, "os_profile_linux_config", []))
	flag(config, ["disable_password_authentication"], false) == "off"
	f := finding(object.union(vm_password_auth, {"checkov": "CKV_AZURE_1"}), addr("azurerm_virtual_machine", name), sprintf("azurerm_virtual_machine.%s does not set os_profile_linux_config.disable_password_authentication = true", [name]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AZ-036: a Key Vault secret that never expires.

keyvault_secret_expiration := {
	"id": "STRATA-AZ-036",
	"severity": "low",
	"title": "Key Vault secret without an expiry",
	"remediation": "Set expiration_date and rotate the secret before it.",
	"checkov": "CKV_AZURE_41",
}

deny_keyvault_secret_expiration contains f if {
	some [name, secret] in resources("azurerm_key_vault_secret")
	not secret.expiration_date
	f := finding(keyvault_secret_expiration, addr("azurerm_key_vault_secret", name), sprintf("azurerm_key_vault_secret.%s has no expiration_date", [name]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AZ-037: a Key Vault reachable from every network.

keyvault_network_acls := {
	"id": "STRATA-AZ-037",
	"severity": "medium",
	"title": "Key Vault firewall allows every network",
	"remediation": "Add network_acls { default_action = \"Deny\", bypass = \"AzureServices\" } with the ranges and subnets that need the vault, or use a private endpoint.",
	"checkov": "CKV_AZURE_109",
}

deny_keyvault_network_acls contains f if {
	some [name, vault] in resources("azurerm_key_vault")
	action := object.get(first(vault, "network_acls"), "default_action", "Allow")
	not computed(action)
	action != "Deny"
	f := finding(keyvault_network_acls, addr("azurerm_key_vault", name), sprintf("azurerm_key_vault.%s lets every network in (network_acls.default_action is not \"Deny\")", [name]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AZ-038, 039: Container Registry.

acr_admin := {
	"id": "STRATA-AZ-038",
	"severity": "high",
	"title": "Container Registry admin account enabled",
	"remediation": "Set admin_enabled = false and pull with managed identities or tokens scoped to repositories.",
	"checkov": "CKV_AZURE_137",
}

deny_acr_admin contains f if {
	some [name, registry] in resources("azurerm_container_registry")
	flag(registry, ["admin_enabled"], false) == "on"
	f := finding(acr_admin, addr("azurerm_container_registry", name), sprintf("azurerm_container_registry.%s sets admin_enabled = true", [name]))
}

acr_public_network := {
	"id": "STRATA-AZ-039",
	"severity": "medium",
	"title": "Container Registry reachable from public networks",
	"remediation": "Set public_network_access_enabled = false and pull through a private endpoint (Premium SKU).",
	"checkov": "CKV_AZURE_139",
}

# ---------------------------------------------------------------------------------------
# STRATA-AZ-040: Cosmos DB.

cosmosdb_public_network := {
	"id": "STRATA-AZ-040",
	"severity": "medium",
	"title": "Cosmos DB account reachable from public networks",
	"remediation": "Set public_network_access_enabled = false and connect through a private endpoint.",
	"checkov": "CKV_AZURE_101",
}

# ---------------------------------------------------------------------------------------
# STRATA-AZ-041, 042: Azure Cache for Redis.

redis_non_ssl_port := {
	"id": "STRATA-AZ-041",
	"severity": "high",
	"title": "Redis cache accepts unencrypted connections",
	"remediation": "Remove non_ssl_port_enabled = true (enable_non_ssl_port before azurerm 4.0).",
	"checkov": "CKV_AZURE_91",
}

deny_redis_non_ssl_port contains f if {
	some [name, cache] in resources("azurerm_redis_cache")
	some key in ["non_ssl_port_enabled", "enable_non_ssl_port"]
	enabled(cache[key])
	f := finding(redis_non_ssl_port, addr("azurerm_redis_cache", name), sprintf("azurerm_redis_cache.%s opens the non-TLS port (%s = true)", [name, key]))
}

redis_public_network := {
	"id": "STRATA-AZ-042",
	"severity": "medium",
	"title": "Redis cache reachable from public networks",
	"remediation": "Set public_network_access_enabled = false and connect through a private endpoint.",
	"checkov": "CKV_AZURE_89",
}

# A service whose public endpoint is on unless public_network_access_enabled is false.
public_endpoint(meta, type) := {f |
	some [name, body] in resources(type)
	flag(body, ["public_network_access_enabled"], true) == "on"
	f := finding(meta, addr(type, name), sprintf("%s.%s is reachable from public networks (public_network_access_enabled is not false)", [type, name]))
}

deny_acr_public_network contains f if some f in public_endpoint(acr_public_network, "azurerm_container_registry")

deny_cosmosdb_public_network contains f if some f in public_endpoint(cosmosdb_public_network, "azurerm_cosmosdb_account")

deny_redis_public_network contains f if some f in public_endpoint(redis_public_network, "azurerm_redis_cache")
