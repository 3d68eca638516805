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
