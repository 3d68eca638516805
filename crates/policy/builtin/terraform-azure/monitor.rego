# Logs: SQL server auditing, the activity log profile, NSG flow logs.
package builtin.azure

import rego.v1

# ---------------------------------------------------------------------------------------
# STRATA-AZ-029: a SQL server without auditing. The auditing policy may be inline or an
# azurerm_mssql_server_extended_auditing_policy anywhere in the module.

sql_auditing := {
	"id": "STRATA-AZ-029",
	"severity": "medium",
	"title": "SQL server without auditing",
	"remediation": "Add an azurerm_mssql_server_extended_auditing_policy for the server (or an extended_auditing_policy block) sending audit logs to storage or Log Analytics.",
	"checkov": "CKV_AZURE_23",
}

sql_server_types := ["azurerm_mssql_server", "azurerm_sql_server"]

# The auditing policies of the module: [server reference or "inline:<address>", body].
audit_policies contains [body.server_id, body] if {
	some [_, body] in resources("azurerm_mssql_server_extended_auditing_policy")
}

audit_policies contains [sprintf("inline:%s", [addr(type, name)]), body] if {
	some type in sql_server_types
	some [name, server] in resources(type)
	some body in blocks(object.get(server, "extended_auditing_policy", []))
}

audits(type, name, server_id) if {
	is_string(server_id)
	contains(server_id, sprintf("%s.%s.", [type, name]))
}

audits(type, name, server_id) if server_id == sprintf("inline:%s", [addr(type, name)])

server_audit_policies(type, name) := [body |
	some [server_id, body] in audit_policies
	audits(type, name, server_id)
]

unresolved_audit_policy if {
	some [server_id, _] in audit_policies
	computed(server_id)
	not regex.match(`azurerm_(mssql|sql)_server\.[A-Za-z0-9_-]+\.`, server_id)
}

deny_sql_auditing contains f if {
	some type in sql_server_types
	some [name, _] in resources(type)
	count(server_audit_policies(type, name)) == 0
	not unresolved_audit_policy
	f := finding(sql_auditing, addr(type, name), sprintf("%s.%s has no auditing policy in this module", [type, name]))
}

unknown_sql_auditing contains f if {
	some type in sql_server_types
	some [name, _] in resources(type)
	count(server_audit_policies(type, name)) == 0
	unresolved_audit_policy
	f := finding(sql_auditing, addr(type, name), sprintf("%s.%s: an auditing policy in this module names its server only after apply", [type, name]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AZ-030: audit logs kept for less than 90 days (0 keeps them forever).

sql_audit_retention := {
	"id": "STRATA-AZ-030",
	"severity": "low",
	"title": "SQL server audit logs kept for less than 90 days",
	"remediation": "Set retention_in_days to 90 or more (0 keeps them forever).",
	"checkov": "CKV_AZURE_24",
}

deny_sql_audit_retention contains f if {
	some type in sql_server_types
	some [name, _] in resources(type)
	some policy in server_audit_policies(type, name)
	days := number(policy.retention_in_days)
	days > 0
	days < 90
	f := finding(sql_audit_retention, addr(type, name), sprintf("%s.%s keeps audit logs for %d days", [type, name, days]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AZ-031, 032: the subscription's activity log profile.

log_profile_retention := {
	"id": "STRATA-AZ-031",
	"severity": "low",
	"title": "Activity log kept for less than a year",
	"remediation": "Set retention_policy { enabled = true, days = 365 } (or enabled = false and days = 0 to keep it forever).",
	"checkov": "CKV_AZURE_37",
}

deny_log_profile_retention contains f if {
	some [name, profile] in resources("azurerm_monitor_log_profile")
	policy := first(profile, "retention_policy")
	enabled(object.get(policy, "enabled", false))
	days := number(object.get(policy, "days", 0))
	days < 365
	f := finding(log_profile_retention, addr("azurerm_monitor_log_profile", name), sprintf("azurerm_monitor_log_profile.%s keeps the activity log for %d days", [name, days]))
}

log_profile_categories := {
	"id": "STRATA-AZ-032",
	"severity": "low",
	"title": "Activity log profile does not capture every category",
	"remediation": "Set categories = [\"Action\", \"Delete\", \"Write\"].",
	"checkov": "CKV_AZURE_38",
}

deny_log_profile_categories contains f if {
	some [name, profile] in resources("azurerm_monitor_log_profile")
	categories := {lower(c) | some c in as_list(object.get(profile, "categories", []))}
	missing := [c | some c in ["Action", "Delete", "Write"]; not lower(c) in categories]
	count(missing) > 0
	f := finding(log_profile_categories, addr("azurerm_monitor_log_profile", name), sprintf("azurerm_monitor_log_profile.%s does not capture %s", [name, concat(", ", missing)]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AZ-033: NSG flow logs kept for less than 90 days.

flow_log_retention := {
	"id": "STRATA-AZ-033",
	"severity": "low",
	"title": "NSG flow logs kept for less than 90 days",
	"remediation": "Set retention_policy { enabled = true, days = 90 } or more (days = 0 keeps them forever).",
	"checkov": "CKV_AZURE_12",
}

deny_flow_log_retention contains f if {
	some [name, log] in resources("azurerm_network_watcher_flow_log")
	policy := first(log, "retention_policy")
	flag(policy, ["enabled"], false) == "off"
	f := finding(flow_log_retention, addr("azurerm_network_watcher_flow_log", name), sprintf("azurerm_network_watcher_flow_log.%s has no retention policy enabled", [name]))
}

deny_flow_log_retention contains f if {
	some [name, log] in resources("azurerm_network_watcher_flow_log")
	policy := first(log, "retention_policy")
	enabled(object.get(policy, "enabled", false))
	days := number(object.get(policy, "days", 0))
	days > 0
	days < 90
	f := finding(flow_log_retention, addr("azurerm_network_watcher_flow_log", name), sprintf("azurerm_network_watcher_flow_log.%s keeps flow logs for %d days", [name, days]))
}
