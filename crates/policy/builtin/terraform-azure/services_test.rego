package builtin.azure

import rego.v1

# STRATA-AZ-034

test_sql_old_tls_denied if {
	ids(deny_mssql_min_tls) == {"CKV_AZURE_52"} with input as res("azurerm_mssql_server", {"minimum_tls_version": "1.0"})
	count(deny_mssql_min_tls) == 0 with input as res("azurerm_mssql_server", {})
}

# STRATA-AZ-035

test_vm_password_auth_denied if {
	ids(deny_vm_password_auth) == {"CKV_AZURE_149"} with input as res("azurerm_linux_virtual_machine", {"disable_password_authentication": false})
	ids(deny_vm_password_auth) == {"CKV_AZURE_1"} with input as res("azurerm_virtual_machine", {"os_profile_linux_config": {"disable_password_authentication": false}})
}

test_vm_ssh_keys_only_passes if {
	count(deny_vm_password_auth) == 0 with input as res("azurerm_linux_virtual_machine", {"admin_ssh_key": {"username": "ops"}})
	count(deny_vm_password_auth) == 0 with input as res("azurerm_virtual_machine", {"os_profile_linux_config": {"disable_password_authentication": true}})
}

# STRATA-AZ-036, 037

test_key_vault_secret_without_expiry_and_open_vault_denied if {
	ids(deny_keyvault_secret_expiration) == {"CKV_AZURE_41"} with input as res("azurerm_key_vault_secret", {"name": "db"})
	ids(deny_keyvault_network_acls) == {"CKV_AZURE_109"} with input as res("azurerm_key_vault", {"sku_name": "standard"})
	count(deny_keyvault_network_acls) == 1 with input as res("azurerm_key_vault", {"network_acls": {"default_action": "Allow", "bypass": "AzureServices"}})
}

test_expiring_secret_and_closed_vault_pass if {
	count(deny_keyvault_secret_expiration) == 0 with input as res("azurerm_key_vault_secret", {"expiration_date": "2027-01-01T00:00:00Z"})
	count(deny_keyvault_network_acls) == 0 with input as res("azurerm_key_vault", {"network_acls": {"default_action": "Deny", "bypass": "AzureServices"}})
}

# STRATA-AZ-038 .. 042

test_exposed_registries_databases_and_caches_denied if {
	acr := res("azurerm_container_registry", {"sku": "Standard", "admin_enabled": true})
	ids(deny_acr_admin) == {"CKV_AZURE_137"} with input as acr
	ids(deny_acr_public_network) == {"CKV_AZURE_139"} with input as acr
	ids(deny_cosmosdb_public_network) == {"CKV_AZURE_101"} with input as res("azurerm_cosmosdb_account", {"offer_type": "Standard"})
	redis := res("azurerm_redis_cache", {"enable_non_ssl_port": true})
	ids(deny_redis_non_ssl_port) == {"CKV_AZURE_91"} with input as redis
	ids(deny_redis_public_network) == {"CKV_AZURE_89"} with input as redis
}

test_private_registries_databases_and_caches_pass if {
	acr := res("azurerm_container_registry", {"sku": "Premium", "public_network_access_enabled": false})
	count(deny_acr_admin) == 0 with input as acr
	count(deny_acr_public_network) == 0 with input as acr
	count(deny_cosmosdb_public_network) == 0 with input as res("azurerm_cosmosdb_account", {"public_network_access_enabled": false})
	redis := res("azurerm_redis_cache", {"non_ssl_port_enabled": false, "public_network_access_enabled": false})
	count(deny_redis_non_ssl_port) == 0 with input as redis
	count(deny_redis_public_network) == 0 with input as redis
}
