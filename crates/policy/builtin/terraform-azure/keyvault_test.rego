package builtin.azure

import rego.v1

rotated_key := {
	"name": "data",
	"key_type": "RSA",
	"rotation_policy": {
		"automatic": {"time_before_expiry": "P30D"},
		"expire_after": "P90D",
	},
}

# STRATA-AZ-015

test_key_without_rotation_denied if {
	fs := deny_keyvault_key_rotation with input as {"resource": {"azurerm_key_vault_key": {"data": {"key_type": "RSA"}}}}
	count(fs) == 1
	some f in fs
	f.id == "STRATA-AZ-015"
	not f.checkov
	f.resource == "azurerm_key_vault_key.data"
}

test_key_with_rotation_passes if {
	count(deny_keyvault_key_rotation) == 0 with input as {"resource": {"azurerm_key_vault_key": {"data": rotated_key}}}
}

# STRATA-AZ-016

test_key_without_expiry_denied if {
	fs := deny_keyvault_key_expiration with input as {"resource": {"azurerm_key_vault_key": {"data": {"rotation_policy": {"automatic": {"time_after_creation": "P60D"}}}}}}
	some f in fs
	f.id == "STRATA-AZ-016"
	f.checkov == "CKV_AZURE_40"
}

test_key_with_expiry_passes if {
	count(deny_keyvault_key_expiration) == 0 with input as {"resource": {"azurerm_key_vault_key": {
		"a": rotated_key,
		"b": {"expiration_date": "2030-01-01T00:00:00Z"},
	}}}
}

# STRATA-AZ-017

test_vault_without_purge_protection_denied if {
	fs := deny_keyvault_purge_protection with input as {"resource": {"azurerm_key_vault": {"main": {"sku_name": "standard"}}}}
	some f in fs
	f.id == "STRATA-AZ-017"
	f.checkov == "CKV_AZURE_110"
}

test_vault_with_purge_protection_passes if {
	count(deny_keyvault_purge_protection) == 0 with input as {"resource": {"azurerm_key_vault": {"main": {"purge_protection_enabled": true}}}}
}

test_vault_purge_protection_computed_is_unknown if {
	inp := {"resource": {"azurerm_key_vault": {"main": {"purge_protection_enabled": "${var.purge_protection}"}}}}
	count(deny_keyvault_purge_protection) == 0 with input as inp
	{f.id | some f in unknowns} == {"STRATA-AZ-017"} with input as inp
}
