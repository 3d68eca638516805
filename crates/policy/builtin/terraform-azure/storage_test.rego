package builtin.azure

import rego.v1

# Every unknown_ rule of this package, for tests that want none or a given set.
unknowns := union({
	unknown_db_tls_enforcement,
	unknown_keyvault_purge_protection,
	unknown_mssql_public_network,
	unknown_mysql_public_network,
	unknown_nsg_all_ports_open,
	unknown_nsg_rdp_open,
	unknown_nsg_ssh_open,
	unknown_postgres_public_network,
	unknown_storage_container_public,
	unknown_storage_https_only,
	unknown_storage_min_tls,
	unknown_storage_network_default_allow,
	unknown_storage_public_blobs,
})

having(findings, id) := {f | some f in findings; f.id == id}

mock_account(body) := {"resource": {"azurerm_storage_account": {"data": object.union(
	{"name": "acmedata", "account_tier": "Standard", "account_replication_type": "GRS"},
	body,
)}}}

good_account := {"resource": {
	"azurerm_storage_account": {"data": {
		"name": "acmedata",
		"min_tls_version": "TLS1_2",
		"allow_nested_items_to_be_public": false,
		"network_rules": {"default_action": "Deny", "ip_rules": ["203.0.113.10"]},
		"queue_properties": {"logging": {"read": true, "write": true, "delete": true, "version": "1.0"}},
		"customer_managed_key": {"key_vault_key_id": "${azurerm_key_vault_key.storage.id}"},
	}},
	"azurerm_storage_container": {"files": {"container_access_type": "private"}},
}}

test_complete_account_has_no_findings if {
	count(deny_storage_https_only) == 0 with input as good_account
	count(deny_storage_min_tls) == 0 with input as good_account
	count(deny_storage_public_blobs) == 0 with input as good_account
	count(deny_storage_container_public) == 0 with input as good_account
	count(deny_storage_network_default_allow) == 0 with input as good_account
	count(deny_storage_queue_logging) == 0 with input as good_account
	count(deny_storage_cmk) == 0 with input as good_account
	count(unknowns) == 0 with input as good_account
}

# STRATA-AZ-001

test_storage_http_allowed_denied if {
	fs := deny_storage_https_only with input as mock_account({"https_traffic_only_enabled": false})
	count(fs) == 1
	some f in fs
	f.id == "STRATA-AZ-001"
	f.checkov == "CKV_AZURE_3"
	f.resource == "azurerm_storage_account.data"
	count(deny_storage_https_only) == 1 with input as mock_account({"enable_https_traffic_only": "false"})
}

test_storage_https_computed_is_unknown if {
	inp := mock_account({"https_traffic_only_enabled": "${var.https_only}"})
	count(deny_storage_https_only) == 0 with input as inp
	count(having(unknowns, "STRATA-AZ-001")) == 1 with input as inp
}

# STRATA-AZ-002

test_storage_old_tls_denied if {
	fs := deny_storage_min_tls with input as mock_account({"min_tls_version": "TLS1_0"})
	some f in fs
	f.id == "STRATA-AZ-002"
	f.checkov == "CKV_AZURE_44"
}

test_storage_default_tls_passes if {
	count(deny_storage_min_tls) == 0 with input as mock_account({})
}

test_storage_tls_computed_is_unknown if {
	inp := mock_account({"min_tls_version": "${var.tls}"})
	count(deny_storage_min_tls) == 0 with input as inp
	count(having(unknowns, "STRATA-AZ-002")) == 1 with input as inp
}

# STRATA-AZ-003

test_storage_public_blobs_by_default_denied if {
	fs := deny_storage_public_blobs with input as mock_account({})
	some f in fs
	f.id == "STRATA-AZ-003"
	f.checkov == "CKV_AZURE_190"
	count(deny_storage_public_blobs) == 1 with input as mock_account({"allow_nested_items_to_be_public": true})
	count(deny_storage_public_blobs) == 1 with input as mock_account({"allow_blob_public_access": true})
}

test_storage_legacy_public_blob_setting_off_passes if {
	count(deny_storage_public_blobs) == 0 with input as mock_account({"allow_blob_public_access": false})
}

test_storage_public_blobs_computed_is_unknown if {
	inp := mock_account({"allow_nested_items_to_be_public": "${var.public}"})
	count(deny_storage_public_blobs) == 0 with input as inp
	count(having(unknowns, "STRATA-AZ-003")) == 1 with input as inp
}

# STRATA-AZ-004

test_storage_container_public_denied if {
	fs := deny_storage_container_public with input as {"resource": {"azurerm_storage_container": {"web": {"container_access_type": "blob"}}}}
	some f in fs
	f.id == "STRATA-AZ-004"
	f.checkov == "CKV_AZURE_34"
	f.resource == "azurerm_storage_container.web"
}

test_storage_container_computed_is_unknown if {
	inp := {"resource": {"azurerm_storage_container": {"web": {"container_access_type": "${var.access}"}}}}
	count(deny_storage_container_public) == 0 with input as inp
	count(having(unknowns, "STRATA-AZ-004")) == 1 with input as inp
}

# STRATA-AZ-005

test_storage_without_network_rules_denied if {
	fs := deny_storage_network_default_allow with input as mock_account({})
	some f in fs
	f.id == "STRATA-AZ-005"
	f.checkov == "CKV_AZURE_35"
}

test_storage_network_rules_allow_denied if {
	inp := {"resource": {
		"azurerm_storage_account": {"data": {"name": "acmedata"}},
		"azurerm_storage_account_network_rules": {"data": {
			"storage_account_id": "${azurerm_storage_account.data.id}",
			"default_action": "Allow",
		}},
	}}
	fs := deny_storage_network_default_allow with input as inp
	{f.resource | some f in fs} == {"azurerm_storage_account_network_rules.data"}
}

test_storage_private_account_passes if {
	count(deny_storage_network_default_allow) == 0 with input as mock_account({"public_network_access_enabled": false})
}

test_storage_network_rules_computed_is_unknown if {
	inp := mock_account({"network_rules": {"default_action": "${var.default_action}"}})
	count(deny_storage_network_default_allow) == 0 with input as inp
	count(having(unknowns, "STRATA-AZ-005")) == 1 with input as inp
}

# STRATA-AZ-006

test_storage_queue_logging_missing_denied if {
	fs := deny_storage_queue_logging with input as mock_account({"queue_properties": {"logging": {"read": true, "write": true, "delete": false}}})
	some f in fs
	f.id == "STRATA-AZ-006"
	f.checkov == "CKV_AZURE_33"
}

test_storage_queue_logging_elsewhere_passes if {
	count(deny_storage_queue_logging) == 0 with input as {"resource": {
		"azurerm_storage_account": {"a": {}, "b": {}, "c": {"account_kind": "BlobStorage"}},
		"azurerm_storage_account_queue_properties": {"a": {
			"storage_account_id": "${azurerm_storage_account.a.id}",
			"logging": {"read": true, "write": true, "delete": true, "version": "1.0"},
		}},
		"azurerm_monitor_diagnostic_setting": {"b": {"target_resource_id": "${azurerm_storage_account.b.id}/queueServices/default"}},
	}}
}

# STRATA-AZ-007

test_storage_without_cmk_denied if {
	fs := deny_storage_cmk with input as mock_account({})
	some f in fs
	f.id == "STRATA-AZ-007"
	f.checkov == "CKV2_AZURE_1"
}

test_storage_cmk_resource_passes if {
	count(deny_storage_cmk) == 0 with input as {"resource": {
		"azurerm_storage_account": {"data": {}},
		"azurerm_storage_account_customer_managed_key": {"data": {"storage_account_id": "${azurerm_storage_account.data.id}"}},
	}}
}
