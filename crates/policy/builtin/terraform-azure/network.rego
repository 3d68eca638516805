# Network security groups: inbound rules open to the internet.
#
# Rules come from azurerm_network_security_rule and from the security_rule blocks of
# azurerm_network_security_group. A computed source or port ("${var.x}") is unknown.
package builtin.azure

import rego.v1

internet_prefixes := {"*", "0.0.0.0", "0.0.0.0/0", "::/0", "internet", "any"}

security_rule_fields(address, rule) := {
	"resource": address,
	"sources": array.concat(
		[p | some key in ["source_address_prefix"]; p := rule[key]],
		as_list(object.get(rule, "source_address_prefixes", [])),
	),
	"ports": array.concat(
		[p | some key in ["destination_port_range"]; p := rule[key]],
		as_list(object.get(rule, "destination_port_ranges", [])),
	),
	"protocol": lower(sprintf("%v", [object.get(rule, "protocol", "*")])),
}

# Inbound allow rules, normalised to {resource, sources, ports, protocol}.
inbound_rules contains security_rule_fields(sprintf("azurerm_network_security_rule.%s", [name]), rule) if {
	some [name, rule] in resources("azurerm_network_security_rule")
	inbound_allow(rule)
}

inbound_rules contains security_rule_fields(sprintf("azurerm_network_security_group.%s", [name]), rule) if {
	some [name, nsg] in resources("azurerm_network_security_group")
	some rule in blocks(object.get(nsg, "security_rule", []))
	inbound_allow(rule)
}

inbound_allow(rule) if {
	lower(sprintf("%v", [rule.access])) == "allow"
	lower(sprintf("%v", [rule.direction])) == "inbound"
}

open_to_internet(rule) if {
	some prefix in rule.sources
	is_string(prefix)
	lower(prefix) in internet_prefixes
}

maybe_open(rule) if open_to_internet(rule)

maybe_open(rule) if {
	some prefix in rule.sources
	computed(prefix)
}

# Tcp and * carry SSH and RDP; Udp and Icmp rules are left alone.
stream_protocol(rule) if rule.protocol in {"tcp", "*"}

# "22", "*" or "1000-2000" -> [low, high].
port_range(port) := [0, 65535] if port == "*"

port_range(port) := [n, n] if n := number(port)

port_range(port) := [number(bounds[0]), number(bounds[1])] if {
	is_string(port)
	bounds := split(port, "-")
	count(bounds) == 2
}

covers(rule, port) if {
	stream_protocol(rule)
	some p in rule.ports
	[low, high] := port_range(p)
	low <= port
	port <= high
}

all_ports(rule) if {
	stream_protocol(rule)
	some p in rule.ports
	[low, high] := port_range(p)
	low <= 1
	high >= 65535
}

ports_unknown(rule) if computed(rule.protocol)

ports_unknown(rule) if {
	stream_protocol(rule)
	some p in rule.ports
	computed(p)
}

maybe_covers(rule, port) if covers(rule, port)

maybe_covers(rule, port) if ports_unknown(rule)

port_exposed(rule, port) if {
	open_to_internet(rule)
	not all_ports(rule)
	covers(rule, port)
}

port_maybe_exposed(rule, port) if {
	maybe_open(rule)
	not all_ports(rule)
	maybe_covers(rule, port)
	not port_exposed(rule, port)
}

# ---------------------------------------------------------------------------------------
# STRATA-AZ-008: SSH (22) open to the internet.

nsg_ssh_open := {
	"id": "STRATA-AZ-008",
	"severity": "high",
	"title": "Network security group allows SSH from the internet",
	"remediation": "Restrict source_address_prefix to known ranges, or use Azure Bastion or just-in-time VM access.",
	"checkov": "CKV_AZURE_10",
}

deny_nsg_ssh_open contains f if {
	some rule in inbound_rules
	port_exposed(rule, 22)
	f := finding(nsg_ssh_open, rule.resource, sprintf("%s allows port 22 (SSH) from the internet", [rule.resource]))
}

unknown_nsg_ssh_open contains f if {
	some rule in inbound_rules
	port_maybe_exposed(rule, 22)
	f := finding(nsg_ssh_open, rule.resource, sprintf("%s may allow port 22 (SSH) from the internet: its sources or ports are known only after apply", [rule.resource]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AZ-009: RDP (3389) open to the internet.

nsg_rdp_open := {
	"id": "STRATA-AZ-009",
	"severity": "high",
	"title": "Network security group allows RDP from the internet",
	"remediation": "Restrict source_address_prefix to known ranges, or use Azure Bastion or just-in-time VM access.",
	"checkov": "CKV_AZURE_9",
}

deny_nsg_rdp_open contains f if {
	some rule in inbound_rules
	port_exposed(rule, 3389)
	f := finding(nsg_rdp_open, rule.resource, sprintf("%s allows port 3389 (RDP) from the internet", [rule.resource]))
}

unknown_nsg_rdp_open contains f if {
	some rule in inbound_rules
	port_maybe_exposed(rule, 3389)
	f := finding(nsg_rdp_open, rule.resource, sprintf("%s may allow port 3389 (RDP) from the internet: its sources or ports are known only after apply", [rule.resource]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AZ-010: every port open to the internet.

nsg_all_ports_open := {
	"id": "STRATA-AZ-010",
	"severity": "critical",
	"title": "Network security group allows all ports from the internet",
	"remediation": "Allow only the ports the service needs, from the narrowest source prefixes that work.",
}

deny_nsg_all_ports_open contains f if {
	some rule in inbound_rules
	open_to_internet(rule)
	all_ports(rule)
	f := finding(nsg_all_ports_open, rule.resource, sprintf("%s allows every port from the internet", [rule.resource]))
}

unknown_nsg_all_ports_open contains f if {
	some rule in inbound_rules
	maybe_open(rule)
	maybe_all_ports(rule)
	not all_ports_denied(rule)
	f := finding(nsg_all_ports_open, rule.resource, sprintf("%s may allow every port from the internet: its sources or ports are known only after apply", [rule.resource]))
}

maybe_all_ports(rule) if all_ports(rule)

maybe_all_ports(rule) if ports_unknown(rule)

all_ports_denied(rule) if {
	open_to_internet(rule)
	all_ports(rule)
}

# ---------------------------------------------------------------------------------------
# STRATA-AZ-043: UDP services open to the internet.

nsg_udp_open := {
	"id": "STRATA-AZ-043",
	"severity": "high",
	"title": "Network security group allows UDP from the internet",
	"remediation": "Allow UDP only from the sources that need it; UDP services (DNS, NTP, SNMP, ...) open to the internet are used for amplification attacks.",
	"checkov": "CKV_AZURE_77",
}

deny_nsg_udp_open contains f if {
	some rule in inbound_rules
	open_to_internet(rule)
	rule.protocol == "udp"
	f := finding(nsg_udp_open, rule.resource, sprintf("%s allows UDP from the internet", [rule.resource]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AZ-044: HTTP (80) open to the internet.

nsg_http_open := {
	"id": "STRATA-AZ-044",
	"severity": "medium",
	"title": "Network security group allows HTTP from the internet",
	"remediation": "Serve HTTPS through an Application Gateway or Front Door and keep port 80 closed to the internet (or redirect it there).",
	"checkov": "CKV_AZURE_160",
}

deny_nsg_http_open contains f if {
	some rule in inbound_rules
	port_exposed(rule, 80)
	f := finding(nsg_http_open, rule.resource, sprintf("%s allows port 80 from the internet", [rule.resource]))
}
