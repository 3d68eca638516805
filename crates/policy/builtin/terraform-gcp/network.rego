# Compute networking: firewall rules open to the internet, instances with public IPs.
package builtin.gcp

import rego.v1

world_ranges := {"0.0.0.0/0", "0.0.0.0", "::/0", "::0"}

# Every allow block of an enabled ingress firewall, normalised to
# {resource, sources, protocol, ports}.
firewall_allows contains rule if {
	some [name, fw] in resources("google_compute_firewall")
	upper(object.get(fw, "direction", "INGRESS")) == "INGRESS"
	not enabled(object.get(fw, "disabled", false))
	some allow in blocks(object.get(fw, "allow", []))
	rule := {
		"resource": sprintf("google_compute_firewall.%s", [name]),
		"sources": firewall_sources(fw),
		"protocol": lower(sprintf("%v", [allow.protocol])),
		"ports": as_list(object.get(allow, "ports", [])),
	}
}

# With no source_ranges, source_tags or source_service_accounts, an ingress rule applies
# to 0.0.0.0/0.
firewall_sources(fw) := as_list(fw.source_ranges)

firewall_sources(fw) := ["0.0.0.0/0"] if {
	not fw.source_ranges
	not fw.source_tags
	not fw.source_service_accounts
}

firewall_sources(fw) := [] if {
	not fw.source_ranges
	some key in ["source_tags", "source_service_accounts"]
	fw[key]
}

open_to_world(rule) if {
	some source in rule.sources
	source in world_ranges
}

maybe_open(rule) if open_to_world(rule)

maybe_open(rule) if {
	some source in rule.sources
	computed(source)
}

port_protocols := {"tcp", "udp", "sctp", "6", "17", "132"}

ports_unknown(rule) if computed(rule.protocol)

ports_unknown(rule) if {
	rule.protocol in port_protocols
	some port in rule.ports
	computed(port)
}

# "22" or "1000-2000" (a number is also accepted).
port_range(port) := [n, n] if {
	n := number(port)
}

port_range(port) := [number(bounds[0]), number(bounds[1])] if {
	is_string(port)
	bounds := split(port, "-")
	count(bounds) == 2
}

all_ports(rule) if rule.protocol == "all"

all_ports(rule) if {
	rule.protocol in port_protocols
	count(rule.ports) == 0
}

all_ports(rule) if {
	rule.protocol in port_protocols
	some port in rule.ports
	[low, high] := port_range(port)
	low <= 1
	high >= 65535
}

covers(rule, port) if all_ports(rule)

covers(rule, port) if {
	rule.protocol in port_protocols
	some p in rule.ports
	[low, high] := port_range(p)
	low <= port
	port <= high
}

maybe_covers(rule, port) if covers(rule, port)

maybe_covers(rule, port) if ports_unknown(rule)

port_exposed(rule, port) if {
	open_to_world(rule)
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
# STRATA-GCP-007: SSH (22) open to the internet.

firewall_ssh_open := {
	"id": "STRATA-GCP-007",
	"severity": "high",
	"title": "Firewall allows SSH from the internet",
	"remediation": "Limit source_ranges to known networks, or use IAP TCP forwarding (35.235.240.0/20) and OS Login.",
	"checkov": "CKV_GCP_2",
}

deny_firewall_ssh_open contains f if {
	some rule in firewall_allows
	port_exposed(rule, 22)
	f := finding(firewall_ssh_open, rule.resource, sprintf("%s allows port 22 (SSH) from the internet", [rule.resource]))
}

unknown_firewall_ssh_open contains f if {
	some rule in firewall_allows
	port_maybe_exposed(rule, 22)
	f := finding(firewall_ssh_open, rule.resource, sprintf("%s may allow port 22 (SSH) from the internet: its sources or ports are known only after apply", [rule.resource]))
}

# ---------------------------------------------------------------------------------------
# STRATA-GCP-008: RDP (3389) open to the internet.

firewall_rdp_open := {
	"id": "STRATA-GCP-008",
	"severity": "high",
	"title": "Firewall allows RDP from the internet",
	"remediation": "Limit source_ranges to known networks, or reach Windows hosts through IAP TCP forwarding.",
	"checkov": "CKV_GCP_3",
}

deny_firewall_rdp_open contains f if {
	some rule in firewall_allows
	port_exposed(rule, 3389)
	f := finding(firewall_rdp_open, rule.resource, sprintf("%s allows port 3389 (RDP) from the internet", [rule.resource]))
}

unknown_firewall_rdp_open contains f if {
	some rule in firewall_allows
	port_maybe_exposed(rule, 3389)
	f := finding(firewall_rdp_open, rule.resource, sprintf("%s may allow port 3389 (RDP) from the internet: its sources or ports are known only after apply", [rule.resource]))
}

# ---------------------------------------------------------------------------------------
# STRATA-GCP-009: every port open to the internet.

firewall_all_ports_open := {
	"id": "STRATA-GCP-009",
	"severity": "critical",
	"title": "Firewall allows all ports from the internet",
	"remediation": "Allow only the protocols and ports the service needs, from the narrowest source ranges that work.",
	"checkov": "CKV2_GCP_12",
}

deny_firewall_all_ports_open contains f if {
	some rule in firewall_allows
	open_to_world(rule)
	all_ports(rule)
	f := finding(firewall_all_ports_open, rule.resource, sprintf("%s allows every %s port from the internet", [rule.resource, rule.protocol]))
}

unknown_firewall_all_ports_open contains f if {
	some rule in firewall_allows
	maybe_open(rule)
	maybe_all_ports(rule)
	not all_ports_denied(rule)
	f := finding(firewall_all_ports_open, rule.resource, sprintf("%s may allow every port from the internet: its sources or ports are known only after apply", [rule.resource]))
}

maybe_all_ports(rule) if all_ports(rule)

maybe_all_ports(rule) if ports_unknown(rule)

all_ports_denied(rule) if {
	open_to_world(rule)
	all_ports(rule)
}

# ---------------------------------------------------------------------------------------
# STRATA-GCP-010: VM with an external IP address.

compute_public_ip := {
	"id": "STRATA-GCP-010",
	"severity": "medium",
	"title": "Compute instance with an external IP address",
	"remediation": "Remove access_config from network_interface; reach the instance through IAP or a load balancer and give it egress through Cloud NAT.",
	"checkov": "CKV_GCP_40",
}

deny_compute_public_ip contains f if {
	some type in ["google_compute_instance", "google_compute_instance_template", "google_compute_instance_from_template"]
	some [name, vm] in resources(type)
	some nic in blocks(object.get(vm, "network_interface", []))
	count(blocks(object.get(nic, "access_config", []))) > 0
	f := finding(
		compute_public_ip,
		sprintf("%s.%s", [type, name]),
		sprintf("%s.%s has a network_interface with an access_config (external IP)", [type, name]),
	)
}
