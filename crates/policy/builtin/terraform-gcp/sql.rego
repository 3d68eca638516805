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

# ---------------------------------------------------------------------------------------
# STRATA-GCP-042: no automated backups.

sql_backups := {
	"id": "STRATA-GCP-042",
	"severity": "medium",
	"title": "Cloud SQL instance without automated backups",
	"remediation": "Add settings.backup_configuration { enabled = true } (with point_in_time_recovery_enabled or binary_log_enabled for point-in-time recovery).",
	"checkov": "CKV_GCP_14",
}

settings(db) := first(db, "settings")

# Read replicas take no backups of their own.
replica(db) if db.master_instance_name

deny_sql_backups contains f if {
	some [name, db] in sql_instances
	not replica(db)
	flag(first(settings(db), "backup_configuration"), ["enabled"], false) == "off"
	f := finding(sql_backups, addr("google_sql_database_instance", name), sprintf("google_sql_database_instance.%s does not enable settings.backup_configuration", [name]))
}

# ---------------------------------------------------------------------------------------
# STRATA-GCP-043 .. 047: database flags.

# The instance's flags, {name: value}; values lower-cased.
database_flags(db) := {lower(flag_name): lower(sprintf("%v", [value])) |
	some f in blocks(object.get(settings(db), "database_flags", []))
	flag_name := f.name
	value := f.value
}

postgres(db) if startswith(object.get(db, "database_version", ""), "POSTGRES")

mysql(db) if startswith(object.get(db, "database_version", ""), "MYSQL")

# A PostgreSQL flag that must be "on" (PostgreSQL's own default is off).
postgres_flag_off(db, name) if {
	postgres(db)
	object.get(database_flags(db), name, "off") != "on"
}

postgres_flag_finding(meta, name, db_flag) := finding(meta, addr("google_sql_database_instance", name), sprintf("google_sql_database_instance.%s does not set the database flag %s to on", [name, db_flag]))

sql_log_connections := {
	"id": "STRATA-GCP-043",
	"severity": "low",
	"title": "PostgreSQL instance does not log connections",
	"remediation": "Add settings.database_flags { name = \"log_connections\", value = \"on\" }.",
	"checkov": "CKV_GCP_52",
}

deny_sql_log_connections contains f if {
	some [name, db] in sql_instances
	postgres_flag_off(db, "log_connections")
	f := postgres_flag_finding(sql_log_connections, name, "log_connections")
}

sql_log_disconnections := {
	"id": "STRATA-GCP-044",
	"severity": "low",
	"title": "PostgreSQL instance does not log disconnections",
	"remediation": "Add settings.database_flags { name = \"log_disconnections\", value = \"on\" }.",
	"checkov": "CKV_GCP_53",
}

deny_sql_log_disconnections contains f if {
	some [name, db] in sql_instances
	postgres_flag_off(db, "log_disconnections")
	f := postgres_flag_finding(sql_log_disconnections, name, "log_disconnections")
}

sql_log_checkpoints := {
	"id": "STRATA-GCP-045",
	"severity": "low",
	"title": "PostgreSQL instance does not log checkpoints",
	"remediation": "Add settings.database_flags { name = \"log_checkpoints\", value = \"on\" }.",
	"checkov": "CKV_GCP_51",
}

deny_sql_log_checkpoints contains f if {
	some [name, db] in sql_instances
	postgres_flag_off(db, "log_checkpoints")
	f := postgres_flag_finding(sql_log_checkpoints, name, "log_checkpoints")
}

sql_log_lock_waits := {
	"id": "STRATA-GCP-046",
	"severity": "low",
	"title": "PostgreSQL instance does not log lock waits",
	"remediation": "Add settings.database_flags { name = \"log_lock_waits\", value = \"on\" }.",
	"checkov": "CKV_GCP_54",
}

deny_sql_log_lock_waits contains f if {
	some [name, db] in sql_instances
	postgres_flag_off(db, "log_lock_waits")
	f := postgres_flag_finding(sql_log_lock_waits, name, "log_lock_waits")
}

sql_mysql_local_infile := {
	"id": "STRATA-GCP-047",
	"severity": "medium",
	"title": "MySQL instance allows LOCAL INFILE",
	"remediation": "Add settings.database_flags { name = \"local_infile\", value = \"off\" }: a client can otherwise make the server read its local files.",
	"checkov": "CKV_GCP_50",
}

# MySQL 8.0 turns LOCAL INFILE off by default, 5.6 and 5.7 on.
local_infile_default(db) := "off" if startswith(db.database_version, "MYSQL_8")

local_infile_default(db) := "on" if not startswith(db.database_version, "MYSQL_8")

deny_sql_mysql_local_infile contains f if {
	some [name, db] in sql_instances
	mysql(db)
	object.get(database_flags(db), "local_infile", local_infile_default(db)) != "off"
	f := finding(sql_mysql_local_infile, addr("google_sql_database_instance", name), sprintf("google_sql_database_instance.%s does not set the database flag local_infile to off", [name]))
}
