# Databases: public network access and TLS enforcement (Azure SQL, PostgreSQL, MySQL).
package builtin.azure

import rego.v1

# Whether a server is reachable over its public endpoint: an explicit
# public_network_access_enabled, else the provider's default (true, except for flexible
# servers injected into a subnet with delegated_subnet_id).
public_access(server) := server.public_network_access_enabled

public_access(server) := false if {
	not "public_network_access_enabled" in object.keys(server)
	server.delegated_subnet_id
}

public_access(server) := true if {
	not "public_network_access_enabled" in object.keys(server)
	not server.delegated_subnet_id
}

# Public access rules for each engine: {type: checkov id or null}.
public_access_types := {
	"STRATA-AZ-011": {"azurerm_mssql_server": "CKV_AZURE_113"},
	"STRATA-AZ-012": {"azurerm_postgresql_server": "CKV_AZURE_68", "azurerm_postgresql_flexible_server": null},
	"STRATA-AZ-013": {"azurerm_mysql_server": "CKV_AZURE_53", "azurerm_mysql_flexible_server": "CKV_AZURE_53"},
}

# The rule's metadata with the Checkov id that matches the resource type, if any.
with_checkov(meta, checkov) := meta if checkov == null

with_checkov(meta, checkov) := object.union(meta, {"checkov": checkov}) if checkov != null

public_server_findings(meta) := {f |
	some type, checkov in public_access_types[meta.id]
	some [name, server] in resources(type)
	enabled(public_access(server))
	f := finding(
		with_checkov(meta, checkov),
		sprintf("%s.%s", [type, name]),
		sprintf("%s.%s accepts connections over its public endpoint (public_network_access_enabled is not false)", [type, name]),
	)
}

public_server_unknowns(meta) := {f |
	some type, checkov in public_access_types[meta.id]
	some [name, server] in resources(type)
	computed(public_access(server))
	f := finding(
		with_checkov(meta, checkov),
		sprintf("%s.%s", [type, name]),
		sprintf("%s.%s: public_network_access_enabled is known only after apply", [type, name]),
	)
}

# ---------------------------------------------------------------------------------------
# STRATA-AZ-011: Azure SQL server with public network access.

mssql_public_network := {
	"id": "STRATA-AZ-011",
	"severity": "high",
	"title": "Azure SQL server with public network access",
	"remediation": "Set public_network_access_enabled = false and connect through a private endpoint.",
	"checkov_ids": ["CKV_AZURE_113"],
}

deny_mssql_public_network contains f if some f in public_server_findings(mssql_public_network)

unknown_mssql_public_network contains f if some f in public_server_unknowns(mssql_public_network)

# ---------------------------------------------------------------------------------------
# STRATA-AZ-012: PostgreSQL server with public network access.

postgres_public_network := {
	"id": "STRATA-AZ-012",
	"severity": "high",
	"title": "PostgreSQL server with public network access",
	"remediation": "Set public_network_access_enabled = false; use a private endpoint, or delegated_subnet_id for a flexible server.",
	"checkov_ids": ["CKV_AZURE_68"],
}

deny_postgres_public_network contains f if some f in public_server_findings(postgres_public_network)

unknown_postgres_public_network contains f if some f in public_server_unknowns(postgres_public_network)

# ---------------------------------------------------------------------------------------
# STRATA-AZ-013: MySQL server with public network access.

mysql_public_network := {
	"id": "STRATA-AZ-013",
	"severity": "high",
	"title": "MySQL server with public network access",
	"remediation": "Set public_network_access_enabled = false; use a private endpoint, or delegated_subnet_id for a flexible server.",
	"checkov_ids": ["CKV_AZURE_53"],
}

deny_mysql_public_network contains f if some f in public_server_findings(mysql_public_network)

unknown_mysql_public_network contains f if some f in public_server_unknowns(mysql_public_network)

# ---------------------------------------------------------------------------------------
# STRATA-AZ-014: PostgreSQL / MySQL accepting connections without TLS.

db_tls_enforcement := {
	"id": "STRATA-AZ-014",
	"severity": "high",
	"title": "Database server does not enforce TLS",
	"remediation": "Set ssl_enforcement_enabled = true (single server), or leave require_secure_transport ON (flexible server).",
	"checkov_ids": ["CKV_AZURE_28", "CKV_AZURE_29"],
}

ssl_enforcement_checkov := {"azurerm_postgresql_server": "CKV_AZURE_29", "azurerm_mysql_server": "CKV_AZURE_28"}

deny_db_tls_enforcement contains f if {
	some type, checkov in ssl_enforcement_checkov
	some [name, server] in resources(type)
	value := object.get(server, "ssl_enforcement_enabled", false)
	not enabled(value)
	not computed(value)
	f := finding(
		object.union(db_tls_enforcement, {"checkov": checkov}),
		sprintf("%s.%s", [type, name]),
		sprintf("%s.%s does not set ssl_enforcement_enabled = true", [type, name]),
	)
}

deny_db_tls_enforcement contains f if {
	some type in ["azurerm_postgresql_flexible_server_configuration", "azurerm_mysql_flexible_server_configuration"]
	some [name, setting] in resources(type)
	setting.name == "require_secure_transport"
	lower(sprintf("%v", [setting.value])) == "off"
	f := finding(
		db_tls_enforcement,
		sprintf("%s.%s", [type, name]),
		sprintf("%s.%s turns require_secure_transport off", [type, name]),
	)
}

unknown_db_tls_enforcement contains f if {
	some type, checkov in ssl_enforcement_checkov
	some [name, server] in resources(type)
	computed(server.ssl_enforcement_enabled)
	f := finding(
		object.union(db_tls_enforcement, {"checkov": checkov}),
		sprintf("%s.%s", [type, name]),
		sprintf("%s.%s: ssl_enforcement_enabled is known only after apply", [type, name]),
	)
}
