package builtin.azure

import rego.v1

# STRATA-AZ-029, 030

test_sql_server_without_auditing_denied if {
	inp := {"resource": {
		"azurerm_mssql_server": {"audited": {"version": "12.0"}, "silent": {"version": "12.0"}},
		"azurerm_mssql_server_extended_auditing_policy": {"audited": {"server_id": "${azurerm_mssql_server.audited.id}", "retention_in_days": 30}},
	}}
	fs := deny_sql_auditing with input as inp
	{f.resource | some f in fs} == {"azurerm_mssql_server.silent"}
	ids(fs) == {"CKV_AZURE_23"}
	rs := deny_sql_audit_retention with input as inp
	{f.resource | some f in rs} == {"azurerm_mssql_server.audited"}
	ids(rs) == {"CKV_AZURE_24"}
}

test_sql_server_auditing_inline_or_forever_passes if {
	inp := res("azurerm_mssql_server", {"extended_auditing_policy": {"retention_in_days": 0}})
	count(deny_sql_auditing) == 0 with input as inp
	count(deny_sql_audit_retention) == 0 with input as inp
}

test_sql_auditing_policy_from_a_variable_is_unknown if {
	inp := {"resource": {
		"azurerm_mssql_server": {"db": {}},
		"azurerm_mssql_server_extended_auditing_policy": {"p": {"server_id": "${var.server_id}"}},
	}}
	count(deny_sql_auditing) == 0 with input as inp
	count(unknown_sql_auditing) == 1 with input as inp
}

# STRATA-AZ-031, 032

test_short_and_partial_log_profile_denied if {
	inp := res("azurerm_monitor_log_profile", {"categories": ["Write"], "retention_policy": {"enabled": true, "days": 30}})
	ids(deny_log_profile_retention) == {"CKV_AZURE_37"} with input as inp
	fs := deny_log_profile_categories with input as inp
	ids(fs) == {"CKV_AZURE_38"}
	some f in fs
	contains(f.msg, "Action, Delete")
}

test_complete_log_profile_passes if {
	inp := res("azurerm_monitor_log_profile", {"categories": ["Action", "Delete", "Write"], "retention_policy": {"enabled": true, "days": 365}})
	count(deny_log_profile_retention) == 0 with input as inp
	count(deny_log_profile_categories) == 0 with input as inp
}

# STRATA-AZ-033

test_flow_log_retention_denied if {
	ids(deny_flow_log_retention) == {"CKV_AZURE_12"} with input as res("azurerm_network_watcher_flow_log", {"retention_policy": {"enabled": true, "days": 7}})
	count(deny_flow_log_retention) == 1 with input as res("azurerm_network_watcher_flow_log", {"retention_policy": {"enabled": false, "days": 0}})
	count(deny_flow_log_retention) == 0 with input as res("azurerm_network_watcher_flow_log", {"retention_policy": {"enabled": true, "days": 90}})
}
