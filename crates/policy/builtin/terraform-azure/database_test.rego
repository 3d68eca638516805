package builtin.azure

import rego.v1

# STRATA-AZ-011

test_mssql_public_by_default_denied if {
	fs := deny_mssql_public_network with input as {"resource": {"azurerm_mssql_server": {"db": {"version": "12.0"}}}}
	count(fs) == 1
	some f in fs
	f.id == "STRATA-AZ-011"
	f.checkov == "CKV_AZURE_113"
	f.resource == "azurerm_mssql_server.db"
}

test_mssql_private_passes if {
	count(deny_mssql_public_network) == 0 with input as {"resource": {"azurerm_mssql_server": {"db": {"public_network_access_enabled": false}}}}
}

test_mssql_public_computed_is_unknown if {
	inp := {"resource": {"azurerm_mssql_server": {"db": {"public_network_access_enabled": "${var.public}"}}}}
	count(deny_mssql_public_network) == 0 with input as inp
	{f.id | some f in unknowns} == {"STRATA-AZ-011"} with input as inp
}

# STRATA-AZ-012

test_postgres_public_denied if {
	fs := deny_postgres_public_network with input as {"resource": {
		"azurerm_postgresql_server": {"single": {"public_network_access_enabled": true, "ssl_enforcement_enabled": true}},
		"azurerm_postgresql_flexible_server": {"flex": {"sku_name": "B_Standard_B1ms"}},
	}}
	{[f.resource, object.get(f, "checkov", "none")] | some f in fs} == {
		["azurerm_postgresql_server.single", "CKV_AZURE_68"],
		["azurerm_postgresql_flexible_server.flex", "none"],
	}
}

test_postgres_flexible_in_subnet_passes if {
	count(deny_postgres_public_network) == 0 with input as {"resource": {"azurerm_postgresql_flexible_server": {"flex": {
		"delegated_subnet_id": "${azurerm_subnet.db.id}",
		"private_dns_zone_id": "${azurerm_private_dns_zone.db.id}",
	}}}}
}

# STRATA-AZ-013

test_mysql_public_denied if {
	fs := deny_mysql_public_network with input as {"resource": {"azurerm_mysql_server": {"m": {"ssl_enforcement_enabled": true}}}}
	some f in fs
	f.id == "STRATA-AZ-013"
	f.checkov == "CKV_AZURE_53"
}

test_mysql_private_passes if {
	count(deny_mysql_public_network) == 0 with input as {"resource": {"azurerm_mysql_flexible_server": {"m": {"public_network_access_enabled": false}}}}
}

# STRATA-AZ-014

test_db_ssl_enforcement_off_denied if {
	fs := deny_db_tls_enforcement with input as {"resource": {
		"azurerm_postgresql_server": {"p": {"ssl_enforcement_enabled": false, "public_network_access_enabled": false}},
		"azurerm_mysql_server": {"m": {"public_network_access_enabled": false}},
	}}
	{f.checkov | some f in fs} == {"CKV_AZURE_29", "CKV_AZURE_28"}
}

test_flexible_require_secure_transport_off_denied if {
	fs := deny_db_tls_enforcement with input as {"resource": {"azurerm_postgresql_flexible_server_configuration": {"tls": {
		"name": "require_secure_transport",
		"server_id": "${azurerm_postgresql_flexible_server.flex.id}",
		"value": "OFF",
	}}}}
	some f in fs
	f.id == "STRATA-AZ-014"
	f.resource == "azurerm_postgresql_flexible_server_configuration.tls"
}

test_db_ssl_enforced_passes if {
	count(deny_db_tls_enforcement) == 0 with input as {"resource": {
		"azurerm_postgresql_server": {"p": {"ssl_enforcement_enabled": true}},
		"azurerm_mysql_flexible_server_configuration": {"tz": {"name": "time_zone", "value": "+00:00"}},
	}}
}

test_db_ssl_computed_is_unknown if {
	inp := {"resource": {"azurerm_mysql_server": {"m": {"ssl_enforcement_enabled": "${var.ssl}", "public_network_access_enabled": false}}}}
	count(deny_db_tls_enforcement) == 0 with input as inp
	{f.id | some f in unknowns} == {"STRATA-AZ-014"} with input as inp
}

test_mysql_public_computed_is_unknown if {
	inp := {"resource": {"azurerm_mysql_flexible_server": {"m": {"public_network_access_enabled": "${var.public}"}}}}
	count(deny_mysql_public_network) == 0 with input as inp
	{[f.id, object.get(f, "checkov", "none")] | some f in unknowns} == {["STRATA-AZ-013", "CKV_AZURE_53"]} with input as inp
}
