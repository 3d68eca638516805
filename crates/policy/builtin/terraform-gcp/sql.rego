# Cloud SQL: public IP, networks authorised from anywhere, TLS for client connections.
package builtin.gcp

import rego.v1

sql_instances := resources("google_sql_database_instance")

declared_ip_configurations(db) := [ipc |
	some s in blocks(object.get(db, "settings", []))
	some ipc in blocks(object.get(s, "ip_configuration", []))
]

# The ip_configuration blocks of an instance; one empty block when it has none, so that
# the provider's defaults apply.
ip_configurations(db) := declared_ip_configurations(db) if count(declared_ip_configurations(db)) > 0

ip_configurations(db) := [{}] if count(declared_ip_configurations(db)) == 0

# ---------------------------------------------------------------------------------------
# STRATA-GCP-011: instance with a public IPv4 address (the provider's default).

sql_public_ip := {
	"id": "STRATA-GCP-011",
	"severity": "medium",
	"title": "Cloud SQL instance with a public IP address",
	"remediation": "Set settings.ip_configuration.ipv4_enabled = false and connect over private_network (Private Service Access or Private Service Connect).",
	"checkov": "CKV_GCP_60",
}

deny_sql_public_ip contains f if {
	some [name, db] in sql_instances
	some ipc in ip_configurations(db)
	value := object.get(ipc, "ipv4_enabled", true)
	not value in {false, "false"}
	not computed(value)
	f := finding(
		sql_public_ip,
		sprintf("google_sql_database_instance.%s", [name]),
		sprintf("google_sql_database_instance.%s has a public IPv4 address (ipv4_enabled is not false)", [name]),
	)
}

unknown_sql_public_ip contains f if {
	some [name, db] in sql_instances
	some ipc in ip_configurations(db)
	computed(ipc.ipv4_enabled)
	f := finding(
		sql_public_ip,
		sprintf("google_sql_database_instance.%s", [name]),
		sprintf("google_sql_database_instance.%s: ipv4_enabled is known only after apply", [name]),
	)
}

# ---------------------------------------------------------------------------------------
# STRATA-GCP-012: an authorised network that is the whole internet.

sql_open_network := {
	"id": "STRATA-GCP-012",
	"severity": "critical",
	"title": "Cloud SQL instance authorises connections from anywhere",
	"remediation": "List only the client networks that need direct access in authorized_networks, or use the Cloud SQL Auth Proxy.",
	"checkov": "CKV_GCP_11",
}

authorized_networks(db) := [network |
	some ipc in ip_configurations(db)
	some network in blocks(object.get(ipc, "authorized_networks", []))
]

deny_sql_open_network contains f if {
	some [name, db] in sql_instances
	some network in authorized_networks(db)
	network.value in world_ranges
	f := finding(
		sql_open_network,
		sprintf("google_sql_database_instance.%s", [name]),
		sprintf("google_sql_database_instance.%s authorises %s", [name, network.value]),
	)
}

unknown_sql_open_network contains f if {
	some [name, db] in sql_instances
	some network in authorized_networks(db)
	computed(network.value)
	f := finding(
		sql_open_network,
		sprintf("google_sql_database_instance.%s", [name]),
		sprintf("google_sql_database_instance.%s: an authorized network is %s, known only after apply", [name, network.value]),
	)
}

# ---------------------------------------------------------------------------------------
# STRATA-GCP-013: unencrypted client connections accepted.

sql_ssl := {
	"id": "STRATA-GCP-013",
	"severity": "high",
	"title": "Cloud SQL instance accepts unencrypted connections",
	"remediation": "Set settings.ip_configuration.ssl_mode = \"ENCRYPTED_ONLY\" (or \"TRUSTED_CLIENT_CERTIFICATE_REQUIRED\").",
	"checkov": "CKV_GCP_6",
}

tls_ssl_modes := {"ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"}

requires_tls(ipc) if ipc.ssl_mode in tls_ssl_modes

requires_tls(ipc) if {
	not ipc.ssl_mode
	enabled(ipc.require_ssl)
}

tls_computed(ipc) if computed(ipc.ssl_mode)

tls_computed(ipc) if {
	not ipc.ssl_mode
	computed(ipc.require_ssl)
}

deny_sql_ssl contains f if {
	some [name, db] in sql_instances
	some ipc in ip_configurations(db)
	not requires_tls(ipc)
	not tls_computed(ipc)
	f := finding(
		sql_ssl,
		sprintf("google_sql_database_instance.%s", [name]),
		sprintf("google_sql_database_instance.%s does not require TLS (ssl_mode %q)", [name, object.get(ipc, "ssl_mode", "unset")]),
	)
}

unknown_sql_ssl contains f if {
	some [name, db] in sql_instances
	some ipc in ip_configurations(db)
	tls_computed(ipc)
	f := finding(
		sql_ssl,
		sprintf("google_sql_database_instance.%s", [name]),
		sprintf("google_sql_database_instance.%s: ssl_mode is known only after apply", [name]),
	)
}
