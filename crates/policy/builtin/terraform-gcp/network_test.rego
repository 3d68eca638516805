package builtin.gcp

import rego.v1

mock_firewall(body) := {"resource": {"google_compute_firewall": {"fw": object.union({"name": "fw", "network": "${google_compute_network.main.id}"}, body)}}}

# STRATA-GCP-007

test_firewall_ssh_open_denied if {
	inp := mock_firewall({"source_ranges": ["0.0.0.0/0"], "allow": {"protocol": "tcp", "ports": ["22", "443"]}})
	fs := deny_firewall_ssh_open with input as inp
	count(fs) == 1
	some f in fs
	f.id == "STRATA-GCP-007"
	f.checkov == "CKV_GCP_2"
	f.resource == "google_compute_firewall.fw"
	count(deny_firewall_rdp_open) == 0 with input as inp
}

test_firewall_without_sources_defaults_to_world if {
	inp := mock_firewall({"allow": [{"protocol": "icmp"}, {"protocol": "tcp", "ports": ["20-30"]}]})
	count(deny_firewall_ssh_open) == 1 with input as inp
}

test_firewall_ssh_from_iap_passes if {
	inp := mock_firewall({"source_ranges": ["35.235.240.0/20"], "allow": {"protocol": "tcp", "ports": ["22"]}})
	count(deny_firewall_ssh_open) == 0 with input as inp
	count(unknowns) == 0 with input as inp
}

test_firewall_tagged_sources_egress_and_disabled_pass if {
	count(deny_firewall_ssh_open) == 0 with input as mock_firewall({"source_tags": ["bastion"], "allow": {"protocol": "tcp", "ports": ["22"]}})
	count(deny_firewall_ssh_open) == 0 with input as mock_firewall({"direction": "EGRESS", "allow": {"protocol": "tcp", "ports": ["22"]}})
	count(deny_firewall_ssh_open) == 0 with input as mock_firewall({"disabled": true, "source_ranges": ["0.0.0.0/0"], "allow": {"protocol": "tcp", "ports": ["22"]}})
}

test_firewall_ssh_computed_sources_is_unknown if {
	inp := mock_firewall({"source_ranges": "${var.admin_ranges}", "allow": {"protocol": "tcp", "ports": ["22"]}})
	count(deny_firewall_ssh_open) == 0 with input as inp
	{f.id | some f in unknowns} == {"STRATA-GCP-007"} with input as inp
}

test_firewall_computed_ports_is_unknown if {
	inp := mock_firewall({"source_ranges": ["0.0.0.0/0"], "allow": {"protocol": "tcp", "ports": ["${var.port}"]}})
	count(deny_firewall_ssh_open) == 0 with input as inp
	{f.id | some f in unknowns} == {"STRATA-GCP-007", "STRATA-GCP-008", "STRATA-GCP-009"} with input as inp
}

# STRATA-GCP-008

test_firewall_rdp_open_denied if {
	inp := mock_firewall({"source_ranges": ["::/0"], "allow": {"protocol": "tcp", "ports": [3389]}})
	fs := deny_firewall_rdp_open with input as inp
	some f in fs
	f.id == "STRATA-GCP-008"
	f.checkov == "CKV_GCP_3"
}

test_firewall_web_ports_pass if {
	inp := mock_firewall({"source_ranges": ["0.0.0.0/0"], "allow": {"protocol": "tcp", "ports": ["80", "443"]}})
	count(deny_firewall_rdp_open) == 0 with input as inp
	count(deny_firewall_all_ports_open) == 0 with input as inp
}

# STRATA-GCP-009

test_firewall_all_protocols_denied_once if {
	inp := mock_firewall({"source_ranges": ["0.0.0.0/0"], "allow": {"protocol": "all"}})
	fs := deny_firewall_all_ports_open with input as inp
	count(fs) == 1
	some f in fs
	f.id == "STRATA-GCP-009"
	f.checkov == "CKV2_GCP_12"
	count(deny_firewall_ssh_open) == 0 with input as inp
	count(unknowns) == 0 with input as inp
}

test_firewall_tcp_without_ports_and_full_range_denied if {
	count(deny_firewall_all_ports_open) == 1 with input as mock_firewall({"source_ranges": ["0.0.0.0/0"], "allow": {"protocol": "tcp"}})
	count(deny_firewall_all_ports_open) == 1 with input as mock_firewall({"source_ranges": ["0.0.0.0/0"], "allow": {"protocol": "udp", "ports": ["0-65535"]}})
	count(deny_firewall_all_ports_open) == 1 with input as mock_firewall({"source_ranges": ["0.0.0.0/0"], "allow": {"protocol": "tcp", "ports": ["1-65535"]}})
	count(deny_firewall_all_ports_open) == 0 with input as mock_firewall({"source_ranges": ["0.0.0.0/0"], "allow": {"protocol": "tcp", "ports": ["2-65535"]}})
}

test_firewall_all_protocols_internal_passes if {
	count(deny_firewall_all_ports_open) == 0 with input as mock_firewall({"source_ranges": ["10.0.0.0/8"], "allow": {"protocol": "all"}})
}

test_firewall_all_protocols_computed_source_is_unknown if {
	inp := mock_firewall({"source_ranges": ["${var.range}"], "allow": {"protocol": "all"}})
	count(deny_firewall_all_ports_open) == 0 with input as inp
	{f.id | some f in unknowns} == {"STRATA-GCP-009"} with input as inp
}

# STRATA-GCP-010

test_compute_public_ip_denied if {
	inp := {"resource": {"google_compute_instance": {"vm": {"network_interface": {"network": "default", "access_config": {}}}}}}
	fs := deny_compute_public_ip with input as inp
	some f in fs
	f.id == "STRATA-GCP-010"
	f.checkov == "CKV_GCP_40"
	f.resource == "google_compute_instance.vm"
}

test_compute_private_only_passes if {
	inp := {"resource": {"google_compute_instance_template": {"t": {"network_interface": [{"subnetwork": "a"}, {"subnetwork": "b"}]}}}}
	count(deny_compute_public_ip) == 0 with input as inp
}
