package builtin.gcp

import rego.v1

mock_sql(ip_configuration) := {"resource": {"google_sql_database_instance": {"main": {
	"database_version": "POSTGRES_16",
	"settings": {"tier": "db-custom-2-7680", "ip_configuration": ip_configuration},
}}}}

private_tls := {"ipv4_enabled": false, "private_network": "${google_compute_network.main.id}", "ssl_mode": "ENCRYPTED_ONLY"}

test_private_tls_instance_has_no_findings if {
	count(deny_sql_public_ip) == 0 with input as mock_sql(private_tls)
	count(deny_sql_open_network) == 0 with input as mock_sql(private_tls)
	count(deny_sql_ssl) == 0 with input as mock_sql(private_tls)
	count(unknowns) == 0 with input as mock_sql(private_tls)
}

# STRATA-GCP-011

test_sql_public_ip_by_default_denied if {
	fs := deny_sql_public_ip with input as {"resource": {"google_sql_database_instance": {"main": {"settings": {"tier": "db-f1-micro"}}}}}
	count(fs) == 1
	some f in fs
	f.id == "STRATA-GCP-011"
	f.checkov == "CKV_GCP_60"
	f.resource == "google_sql_database_instance.main"
}

test_sql_public_ip_explicit_denied if {
	count(deny_sql_public_ip) == 1 with input as mock_sql({"ipv4_enabled": true, "ssl_mode": "ENCRYPTED_ONLY"})
}

test_sql_public_ip_computed_is_unknown if {
	inp := mock_sql({"ipv4_enabled": "${var.public}", "ssl_mode": "ENCRYPTED_ONLY"})
	count(deny_sql_public_ip) == 0 with input as inp
	{f.id | some f in unknowns} == {"STRATA-GCP-011"} with input as inp
}

# STRATA-GCP-012

test_sql_open_network_denied if {
	inp := mock_sql({"ipv4_enabled": true, "ssl_mode": "ENCRYPTED_ONLY", "authorized_networks": [
		{"name": "office", "value": "203.0.113.0/24"},
		{"name": "all", "value": "0.0.0.0/0"},
	]})
	fs := deny_sql_open_network with input as inp
	count(fs) == 1
	some f in fs
	f.id == "STRATA-GCP-012"
	f.severity == "critical"
	f.checkov == "CKV_GCP_11"
}

test_sql_office_network_passes if {
	count(deny_sql_open_network) == 0 with input as mock_sql({"authorized_networks": {"value": "203.0.113.0/24"}})
}

test_sql_computed_network_is_unknown if {
	inp := mock_sql({"ipv4_enabled": false, "ssl_mode": "ENCRYPTED_ONLY", "authorized_networks": {"value": "${var.client_cidr}"}})
	count(deny_sql_open_network) == 0 with input as inp
	{f.id | some f in unknowns} == {"STRATA-GCP-012"} with input as inp
}

# STRATA-GCP-013

test_sql_without_tls_denied if {
	fs := deny_sql_ssl with input as mock_sql({"ipv4_enabled": false, "ssl_mode": "ALLOW_UNENCRYPTED_AND_ENCRYPTED"})
	some f in fs
	f.id == "STRATA-GCP-013"
	f.checkov == "CKV_GCP_6"
	f.msg == "google_sql_database_instance.main does not require TLS (ssl_mode \"ALLOW_UNENCRYPTED_AND_ENCRYPTED\")"
}

test_sql_legacy_require_ssl_passes if {
	count(deny_sql_ssl) == 0 with input as mock_sql({"require_ssl": true})
	count(deny_sql_ssl) == 1 with input as mock_sql({"require_ssl": false})
}

test_sql_tls_computed_is_unknown if {
	inp := mock_sql({"ipv4_enabled": false, "ssl_mode": "${var.ssl_mode}"})
	count(deny_sql_ssl) == 0 with input as inp
	{f.id | some f in unknowns} == {"STRATA-GCP-013"} with input as inp
	count(having(unknowns, "STRATA-GCP-013")) == 1 with input as mock_sql({"ipv4_enabled": false, "require_ssl": "${var.tls}"})
}

# STRATA-GCP-042 .. 047

test_postgres_without_backups_or_log_flags_denied if {
	inp := res("google_sql_database_instance", {"database_version": "POSTGRES_15", "settings": {"tier": "db-f1-micro"}})
	ids(deny_sql_backups) == {"CKV_GCP_14"} with input as inp
	ids(deny_sql_log_connections) == {"CKV_GCP_52"} with input as inp
	ids(deny_sql_log_disconnections) == {"CKV_GCP_53"} with input as inp
	ids(deny_sql_log_checkpoints) == {"CKV_GCP_51"} with input as inp
	ids(deny_sql_log_lock_waits) == {"CKV_GCP_54"} with input as inp
	count(deny_sql_mysql_local_infile) == 0 with input as inp
}

test_postgres_with_backups_and_flags_passes if {
	flags := [{"name": n, "value": "on"} | some n in ["log_connections", "log_disconnections", "log_checkpoints", "log_lock_waits"]]
	inp := res("google_sql_database_instance", {"database_version": "POSTGRES_15", "settings": {"backup_configuration": {"enabled": true}, "database_flags": flags}})
	count(deny_sql_backups) == 0 with input as inp
	count(deny_sql_log_connections) == 0 with input as inp
	count(deny_sql_log_disconnections) == 0 with input as inp
	count(deny_sql_log_checkpoints) == 0 with input as inp
	count(deny_sql_log_lock_waits) == 0 with input as inp
	count(deny_sql_backups) == 0 with input as res("google_sql_database_instance", {"master_instance_name": "${google_sql_database_instance.main.name}"})
}

test_mysql_local_infile_denied_unless_off if {
	ids(deny_sql_mysql_local_infile) == {"CKV_GCP_50"} with input as res("google_sql_database_instance", {"database_version": "MYSQL_5_7"})
	on := {"database_flags": {"name": "local_infile", "value": "on"}}
	count(deny_sql_mysql_local_infile) == 1 with input as res("google_sql_database_instance", {"database_version": "MYSQL_8_0", "settings": on})
	count(deny_sql_mysql_local_infile) == 0 with input as res("google_sql_database_instance", {"database_version": "MYSQL_8_0"})
	count(deny_sql_mysql_local_infile) == 0 with input as res("google_sql_database_instance", {"database_version": "MYSQL_8_0", "settings": {"database_flags": {"name": "local_infile", "value": "off"}}})
}
