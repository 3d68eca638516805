# Storage accounts: transport encryption, public access, network exposure, logging and
# customer-managed keys. Defaults are those of azurerm 3.x and later.
package builtin.azure

import rego.v1

storage_accounts := resources("azurerm_storage_account")

# ---------------------------------------------------------------------------------------
# STRATA-AZ-001: plain HTTP allowed.

storage_https_only := {
	"id": "STRATA-AZ-001",
	"severity": "high",
	"title": "Storage account accepts plain HTTP",
	"remediation": "Remove the setting or set https_traffic_only_enabled = true (enable_https_traffic_only before azurerm 4.0).",
	"checkov": "CKV_AZURE_3",
}

https_attributes := ["https_traffic_only_enabled", "enable_https_traffic_only"]

deny_storage_https_only contains f if {
	some [name, account] in storage_accounts
	some attribute in https_attributes
	disabled(account[attribute])
	f := finding(
		storage_https_only,
		sprintf("azurerm_storage_account.%s", [name]),
		sprintf("azurerm_storage_account.%s sets %s = false", [name, attribute]),
	)
}

unknown_storage_https_only contains f if {
	some [name, account] in storage_accounts
	some attribute in https_attributes
	computed(account[attribute])
	f := finding(
		storage_https_only,
		sprintf("azurerm_storage_account.%s", [name]),
		sprintf("azurerm_storage_account.%s: %s is known only after apply", [name, attribute]),
	)
}

# ---------------------------------------------------------------------------------------
# STRATA-AZ-002: TLS older than 1.2 accepted.

storage_min_tls := {
	"id": "STRATA-AZ-002",
	"severity": "medium",
	"title": "Storage account accepts TLS older than 1.2",
	"remediation": "Set min_tls_version = \"TLS1_2\" (the provider's default when unset).",
	"checkov": "CKV_AZURE_44",
}

deny_storage_min_tls contains f if {
	some [name, account] in storage_accounts
	account.min_tls_version in {"TLS1_0", "TLS1_1"}
	f := finding(
		storage_min_tls,
		sprintf("azurerm_storage_account.%s", [name]),
		sprintf("azurerm_storage_account.%s sets min_tls_version = %q", [name, account.min_tls_version]),
	)
}

unknown_storage_min_tls contains f if {
	some [name, account] in storage_accounts
	computed(account.min_tls_version)
	f := finding(
		storage_min_tls,
		sprintf("azurerm_storage_account.%s", [name]),
		sprintf("azurerm_storage_account.%s: min_tls_version is known only after apply", [name]),
	)
}

# ---------------------------------------------------------------------------------------
# STRATA-AZ-003: containers may be made publicly readable (allowed by default).

storage_public_blobs := {
	"id": "STRATA-AZ-003",
	"severity": "high",
	"title": "Storage account allows anonymous public blob access",
	"remediation": "Set allow_nested_items_to_be_public = false (allow_blob_public_access = false before azurerm 3.0).",
	"checkov": "CKV_AZURE_190",
}

public_blob_setting(account) := account.allow_nested_items_to_be_public

public_blob_setting(account) := account.allow_blob_public_access if not "allow_nested_items_to_be_public" in object.keys(account)

# Unset on azurerm 3.0 and later means allowed.
public_blob_setting(account) := true if {
	not "allow_nested_items_to_be_public" in object.keys(account)
	not "allow_blob_public_access" in object.keys(account)
}

deny_storage_public_blobs contains f if {
	some [name, account] in storage_accounts
	enabled(public_blob_setting(account))
	f := finding(
		storage_public_blobs,
		sprintf("azurerm_storage_account.%s", [name]),
		sprintf("azurerm_storage_account.%s allows anonymous access to blobs (set allow_nested_items_to_be_public = false)", [name]),
	)
}

unknown_storage_public_blobs contains f if {
	some [name, account] in storage_accounts
	computed(public_blob_setting(account))
	f := finding(
		storage_public_blobs,
		sprintf("azurerm_storage_account.%s", [name]),
		sprintf("azurerm_storage_account.%s: anonymous blob access is known only after apply", [name]),
	)
}

# ---------------------------------------------------------------------------------------
# STRATA-AZ-004: a container readable without authentication.

storage_container_public := {
	"id": "STRATA-AZ-004",
	"severity": "high",
	"title": "Storage container with public access",
	"remediation": "Set container_access_type = \"private\" and hand out SAS tokens or use Entra ID roles.",
	"checkov": "CKV_AZURE_34",
}

deny_storage_container_public contains f if {
	some [name, container] in resources("azurerm_storage_container")
	container.container_access_type in {"blob", "container"}
	f := finding(
		storage_container_public,
		sprintf("azurerm_storage_container.%s", [name]),
		sprintf("azurerm_storage_container.%s has container_access_type %q", [name, container.container_access_type]),
	)
}

unknown_storage_container_public contains f if {
	some [name, container] in resources("azurerm_storage_container")
	computed(container.container_access_type)
	f := finding(
		storage_container_public,
		sprintf("azurerm_storage_container.%s", [name]),
		sprintf("azurerm_storage_container.%s: container_access_type is known only after apply", [name]),
	)
}

# ---------------------------------------------------------------------------------------
# STRATA-AZ-005: the account accepts traffic from every network.

storage_network_default_allow := {
	"id": "STRATA-AZ-005",
	"severity": "medium",
	"title": "Storage account reachable from all networks",
	"remediation": "Add network_rules { default_action = \"Deny\" } with the subnets and IPs that need access, or set public_network_access_enabled = false and use private endpoints.",
	"checkov": "CKV_AZURE_35",
}

network_rule_sets contains [sprintf("azurerm_storage_account.%s", [name]), rules] if {
	some [name, account] in storage_accounts
	some rules in blocks(account.network_rules)
}

network_rule_sets contains [sprintf("azurerm_storage_account_network_rules.%s", [name]), rules] if {
	some [name, rules] in resources("azurerm_storage_account_network_rules")
}

deny_storage_network_default_allow contains f if {
	some [address, rules] in network_rule_sets
	lower(sprintf("%v", [rules.default_action])) == "allow"
	f := finding(storage_network_default_allow, address, sprintf("%s has default_action \"Allow\"", [address]))
}

deny_storage_network_default_allow contains f if {
	some [name, account] in storage_accounts
	not account.network_rules
	not disabled(object.get(account, "public_network_access_enabled", true))
	not computed(object.get(account, "public_network_access_enabled", true))
	not separate_network_rules(name)
	f := finding(
		storage_network_default_allow,
		sprintf("azurerm_storage_account.%s", [name]),
		sprintf("azurerm_storage_account.%s has no network rules and public network access, so it accepts traffic from every network", [name]),
	)
}

separate_network_rules(name) if {
	some [_, rules] in resources("azurerm_storage_account_network_rules")
	references(rules.storage_account_id, "azurerm_storage_account", name)
}

unknown_storage_network_default_allow contains f if {
	some [address, rules] in network_rule_sets
	computed(rules.default_action)
	f := finding(storage_network_default_allow, address, sprintf("%s: default_action is known only after apply", [address]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AZ-006: queue service requests not logged.

storage_queue_logging := {
	"id": "STRATA-AZ-006",
	"severity": "low",
	"title": "Storage account without queue service logging",
	"remediation": "Log read, write and delete requests: queue_properties { logging { read = true, write = true, delete = true, version = \"1.0\" } }, or a diagnostic setting on the queue service.",
	"checkov": "CKV_AZURE_33",
}

queue_logging_complete(logging) if {
	enabled(logging.read)
	enabled(logging.write)
	enabled(logging.delete)
}

queue_logged(_, account) if {
	some properties in blocks(account.queue_properties)
	some logging in blocks(properties.logging)
	queue_logging_complete(logging)
}

queue_logged(name, _) if {
	some [_, properties] in resources("azurerm_storage_account_queue_properties")
	references(properties.storage_account_id, "azurerm_storage_account", name)
	some logging in blocks(properties.logging)
	queue_logging_complete(logging)
}

queue_logged(name, _) if {
	some [_, setting] in resources("azurerm_monitor_diagnostic_setting")
	references(setting.target_resource_id, "azurerm_storage_account", name)
	contains(lower(setting.target_resource_id), "queueservices")
}

deny_storage_queue_logging contains f if {
	some [name, account] in storage_accounts
	object.get(account, "account_kind", "StorageV2") in {"Storage", "StorageV2"}
	not queue_logged(name, account)
	f := finding(
		storage_queue_logging,
		sprintf("azurerm_storage_account.%s", [name]),
		sprintf("azurerm_storage_account.%s does not log queue read, write and delete requests", [name]),
	)
}

# ---------------------------------------------------------------------------------------
# STRATA-AZ-007: encrypted with Microsoft-managed keys only.

storage_cmk := {
	"id": "STRATA-AZ-007",
	"severity": "low",
	"title": "Storage account without a customer-managed key",
	"remediation": "Add a customer_managed_key block or an azurerm_storage_account_customer_managed_key backed by a Key Vault key.",
	"checkov": "CKV2_AZURE_1",
}

has_cmk(_, account) if account.customer_managed_key

has_cmk(name, _) if {
	some [_, cmk] in resources("azurerm_storage_account_customer_managed_key")
	references(cmk.storage_account_id, "azurerm_storage_account", name)
}

deny_storage_cmk contains f if {
	some [name, account] in storage_accounts
	not has_cmk(name, account)
	f := finding(
		storage_cmk,
		sprintf("azurerm_storage_account.%s", [name]),
		sprintf("azurerm_storage_account.%s is not encrypted with a customer-managed key", [name]),
	)
}
