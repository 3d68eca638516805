# Key Vault: key rotation and expiry, vault purge protection.
package builtin.azure

import rego.v1

vault_keys := resources("azurerm_key_vault_key")

rotation_policies(key) := [p | some p in blocks(object.get(key, "rotation_policy", []))]

# ---------------------------------------------------------------------------------------
# STRATA-AZ-015: key without automatic rotation.

keyvault_key_rotation := {
	"id": "STRATA-AZ-015",
	"severity": "medium",
	"title": "Key Vault key without automatic rotation",
	"remediation": "Add rotation_policy { automatic { time_before_expiry = \"P30D\" } expire_after = \"P90D\" }.",
}

auto_rotated(key) if {
	some policy in rotation_policies(key)
	count(blocks(object.get(policy, "automatic", []))) > 0
}

deny_keyvault_key_rotation contains f if {
	some [name, key] in vault_keys
	not auto_rotated(key)
	f := finding(
		keyvault_key_rotation,
		sprintf("azurerm_key_vault_key.%s", [name]),
		sprintf("azurerm_key_vault_key.%s has no rotation_policy with an automatic block", [name]),
	)
}

# ---------------------------------------------------------------------------------------
# STRATA-AZ-016: key that never expires.

keyvault_key_expiration := {
	"id": "STRATA-AZ-016",
	"severity": "low",
	"title": "Key Vault key without an expiry",
	"remediation": "Set expiration_date, or rotation_policy.expire_after so that each key version expires.",
	"checkov": "CKV_AZURE_40",
}

expires(key) if key.expiration_date

expires(key) if {
	some policy in rotation_policies(key)
	policy.expire_after
}

deny_keyvault_key_expiration contains f if {
	some [name, key] in vault_keys
	not expires(key)
	f := finding(
		keyvault_key_expiration,
		sprintf("azurerm_key_vault_key.%s", [name]),
		sprintf("azurerm_key_vault_key.%s has neither expiration_date nor rotation_policy.expire_after", [name]),
	)
}

# ---------------------------------------------------------------------------------------
# STRATA-AZ-017: vault without purge protection.

keyvault_purge_protection := {
	"id": "STRATA-AZ-017",
	"severity": "medium",
	"title": "Key Vault without purge protection",
	"remediation": "Set purge_protection_enabled = true so that deleted keys and secrets cannot be purged before their retention ends.",
	"checkov": "CKV_AZURE_110",
}

deny_keyvault_purge_protection contains f if {
	some [name, vault] in resources("azurerm_key_vault")
	value := object.get(vault, "purge_protection_enabled", false)
	not enabled(value)
	not computed(value)
	f := finding(
		keyvault_purge_protection,
		sprintf("azurerm_key_vault.%s", [name]),
		sprintf("azurerm_key_vault.%s does not set purge_protection_enabled = true", [name]),
	)
}

unknown_keyvault_purge_protection contains f if {
	some [name, vault] in resources("azurerm_key_vault")
	computed(vault.purge_protection_enabled)
	f := finding(
		keyvault_purge_protection,
		sprintf("azurerm_key_vault.%s", [name]),
		sprintf("azurerm_key_vault.%s: purge_protection_enabled is known only after apply", [name]),
	)
}
