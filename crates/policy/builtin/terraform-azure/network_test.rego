package builtin.azure

import rego.v1

mock_rule(body) := {"resource": {"azurerm_network_security_rule": {"r": object.union(
	{"access": "Allow", "direction": "Inbound", "protocol": "Tcp", "priority": 100},
	body,
)}}}

# STRATA-AZ-008

test_nsg_ssh_open_denied if {
	inp := mock_rule({"source_address_prefix": "*", "destination_port_range": "22"})
	fs := deny_nsg_ssh_open with input as inp
	count(fs) == 1
	some f in fs
	f.id == "STRATA-AZ-008"
	f.checkov == "CKV_AZURE_10"
	f.resource == "azurerm_network_security_rule.r"
}

test_nsg_inline_rules_denied if {
	inp := {"resource": {"azurerm_network_security_group": {"web": {"security_rule": [
		{"name": "https", "access": "Allow", "direction": "Inbound", "protocol": "Tcp", "source_address_prefix": "Internet", "destination_port_range": "443"},
		{"name": "admin", "access": "Allow", "direction": "Inbound", "protocol": "*", "source_address_prefixes": ["10.0.0.0/8", "0.0.0.0/0"], "destination_port_ranges": ["22", "3380-3390"]},
	]}}}}
	ssh := deny_nsg_ssh_open with input as inp
	rdp := deny_nsg_rdp_open with input as inp
	{f.resource | some f in ssh} == {"azurerm_network_security_group.web"}
	{f.resource | some f in rdp} == {"azurerm_network_security_group.web"}
}

test_nsg_ssh_from_vnet_passes if {
	inp := mock_rule({"source_address_prefix": "VirtualNetwork", "destination_port_range": "22"})
	count(deny_nsg_ssh_open) == 0 with input as inp
	count(unknowns) == 0 with input as inp
}

test_nsg_deny_outbound_and_udp_rules_pass if {
	count(deny_nsg_ssh_open) == 0 with input as mock_rule({"access": "Deny", "source_address_prefix": "*", "destination_port_range": "22"})
	count(deny_nsg_ssh_open) == 0 with input as mock_rule({"direction": "Outbound", "source_address_prefix": "*", "destination_port_range": "22"})
	count(deny_nsg_ssh_open) == 0 with input as mock_rule({"protocol": "Udp", "source_address_prefix": "*", "destination_port_range": "22"})
}

test_nsg_ssh_computed_source_is_unknown if {
	inp := mock_rule({"source_address_prefix": "${var.admin_prefix}", "destination_port_range": "22"})
	count(deny_nsg_ssh_open) == 0 with input as inp
	{f.id | some f in unknowns} == {"STRATA-AZ-008"} with input as inp
}

test_nsg_computed_protocol_is_unknown if {
	inp := mock_rule({"protocol": "${var.protocol}", "source_address_prefix": "*", "destination_port_range": "3389"})
	count(deny_nsg_rdp_open) == 0 with input as inp
	{f.id | some f in unknowns} == {"STRATA-AZ-008", "STRATA-AZ-009", "STRATA-AZ-010"} with input as inp
}

# STRATA-AZ-009

test_nsg_rdp_open_denied if {
	fs := deny_nsg_rdp_open with input as mock_rule({"source_address_prefix": "0.0.0.0/0", "destination_port_range": 3389})
	some f in fs
	f.id == "STRATA-AZ-009"
	f.checkov == "CKV_AZURE_9"
}

test_nsg_rdp_computed_port_is_unknown if {
	inp := mock_rule({"source_address_prefix": "Internet", "destination_port_range": "${var.port}"})
	count(deny_nsg_rdp_open) == 0 with input as inp
	count(having(unknowns, "STRATA-AZ-009")) == 1 with input as inp
}

# STRATA-AZ-010

test_nsg_all_ports_denied_once if {
	inp := mock_rule({"protocol": "*", "source_address_prefix": "Any", "destination_port_range": "*"})
	fs := deny_nsg_all_ports_open with input as inp
	count(fs) == 1
	some f in fs
	f.id == "STRATA-AZ-010"
	f.severity == "critical"
	not f.checkov
	count(deny_nsg_ssh_open) == 0 with input as inp
	count(unknowns) == 0 with input as inp
}

test_nsg_all_ports_from_vnet_passes if {
	count(deny_nsg_all_ports_open) == 0 with input as mock_rule({"source_address_prefix": "10.0.0.0/8", "destination_port_range": "0-65535"})
}

test_nsg_all_ports_computed_source_is_unknown if {
	inp := mock_rule({"source_address_prefixes": "${var.prefixes}", "destination_port_range": "*"})
	count(deny_nsg_all_ports_open) == 0 with input as inp
	{f.id | some f in unknowns} == {"STRATA-AZ-010"} with input as inp
}

# STRATA-AZ-043, 044

test_nsg_udp_and_http_from_internet_denied if {
	udp := res("azurerm_network_security_rule", {"direction": "Inbound", "access": "Allow", "protocol": "Udp", "source_address_prefix": "*", "destination_port_range": "53"})
	ids(deny_nsg_udp_open) == {"CKV_AZURE_77"} with input as udp
	http := res("azurerm_network_security_rule", {"direction": "Inbound", "access": "Allow", "protocol": "Tcp", "source_address_prefix": "Internet", "destination_port_range": "80"})
	ids(deny_nsg_http_open) == {"CKV_AZURE_160"} with input as http
}

test_nsg_udp_and_http_from_vnet_pass if {
	udp := res("azurerm_network_security_rule", {"direction": "Inbound", "access": "Allow", "protocol": "Udp", "source_address_prefix": "VirtualNetwork", "destination_port_range": "53"})
	count(deny_nsg_udp_open) == 0 with input as udp
	https := res("azurerm_network_security_rule", {"direction": "Inbound", "access": "Allow", "protocol": "Tcp", "source_address_prefix": "Internet", "destination_port_range": "443"})
	count(deny_nsg_http_open) == 0 with input as https
}
