# Security groups: ingress open to the whole internet (0.0.0.0/0 or ::/0).
#
# Ingress is read from inline ingress blocks of aws_security_group, from
# aws_security_group_rule (type = "ingress") and from aws_vpc_security_group_ingress_rule.
# A source or port that is computed ("${var.cidrs}") cannot be decided statically and is
# reported as unknown.
package builtin.aws

import rego.v1

world_cidrs := {"0.0.0.0/0", "::/0", "0000:0000:0000:0000:0000:0000:0000:0000/0"}

# Every ingress rule in the file, normalised to
# {resource, sources, protocol, from, to}.
ingress_rules contains rule if {
	some [name, sg] in resources("aws_security_group")
	some block in blocks(object.get(sg, "ingress", []))
	rule := {
		"resource": sprintf("aws_security_group.%s", [name]),
		"sources": array.concat(
			as_list(object.get(block, "cidr_blocks", [])),
			as_list(object.get(block, "ipv6_cidr_blocks", [])),
		),
		"protocol": object.get(block, "protocol", "tcp"),
		"from": object.get(block, "from_port", 0),
		"to": object.get(block, "to_port", 0),
	}
}

ingress_rules contains rule if {
	some [name, body] in resources("aws_security_group_rule")
	body.type == "ingress"
	rule := {
		"resource": sprintf("aws_security_group_rule.%s", [name]),
		"sources": array.concat(
			as_list(object.get(body, "cidr_blocks", [])),
			as_list(object.get(body, "ipv6_cidr_blocks", [])),
		),
		"protocol": object.get(body, "protocol", "tcp"),
		"from": object.get(body, "from_port", 0),
		"to": object.get(body, "to_port", 0),
	}
}

ingress_rules contains rule if {
	some [name, body] in resources("aws_vpc_security_group_ingress_rule")
	rule := {
		"resource": sprintf("aws_vpc_security_group_ingress_rule.%s", [name]),
		"sources": [s | some key in ["cidr_ipv4", "cidr_ipv6"]; s := body[key]],
		"protocol": object.get(body, "ip_protocol", "tcp"),
		"from": object.get(body, "from_port", 0),
		"to": object.get(body, "to_port", 65535),
	}
}

open_to_world(rule) if {
	some source in rule.sources
	source in world_cidrs
}

# Not known to be open, but a source is computed.
sources_unknown(rule) if {
	not open_to_world(rule)
	some source in rule.sources
	computed(source)
}

maybe_open(rule) if open_to_world(rule)

maybe_open(rule) if sources_unknown(rule)

protocol_name(rule) := lower(sprintf("%v", [rule.protocol]))

# Protocol -1 ("all") opens every port whatever from_port and to_port say.
all_traffic(rule) if protocol_name(rule) in {"-1", "all"}

port_protocol(rule) if protocol_name(rule) in {"tcp", "udp", "6", "17"}

ports_unknown(rule) if {
	not all_traffic(rule)
	some value in [rule.protocol, rule.from, rule.to]
	computed(value)
}

covers(rule, port) if {
	port_protocol(rule)
	number(rule.from) <= port
	port <= number(rule.to)
}

all_ports(rule) if all_traffic(rule)

all_ports(rule) if {
	port_protocol(rule)
	number(rule.from) <= 1
	number(rule.to) >= 65535
}

maybe_covers(rule, port) if covers(rule, port)

maybe_covers(rule, port) if ports_unknown(rule)

# A single port open to the world through a rule narrower than "all ports" (rules that
# open every port are STRATA-AWS-009's).
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
# STRATA-AWS-007: SSH (22) open to the internet.

sg_ssh_open := {
	"id": "STRATA-AWS-007",
	"severity": "high",
	"title": "Security group allows SSH from the internet",
	"remediation": "Restrict the source to known ranges (VPN, bastion) or use SSM Session Manager instead of inbound SSH.",
	"checkov": "CKV_AWS_24",
}

deny_sg_ssh_open contains f if {
	some rule in ingress_rules
	port_exposed(rule, 22)
	f := finding(sg_ssh_open, rule.resource, sprintf("%s allows port 22 (SSH) from the internet", [rule.resource]))
}

unknown_sg_ssh_open contains f if {
	some rule in ingress_rules
	port_maybe_exposed(rule, 22)
	f := finding(sg_ssh_open, rule.resource, sprintf("%s may allow port 22 (SSH) from the internet: its sources or ports are known only after apply", [rule.resource]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-008: RDP (3389) open to the internet.

sg_rdp_open := {
	"id": "STRATA-AWS-008",
	"severity": "high",
	"title": "Security group allows RDP from the internet",
	"remediation": "Restrict the source to known ranges or reach Windows hosts through a VPN or Fleet Manager.",
	"checkov": "CKV_AWS_25",
}

deny_sg_rdp_open contains f if {
	some rule in ingress_rules
	port_exposed(rule, 3389)
	f := finding(sg_rdp_open, rule.resource, sprintf("%s allows port 3389 (RDP) from the internet", [rule.resource]))
}

unknown_sg_rdp_open contains f if {
	some rule in ingress_rules
	port_maybe_exposed(rule, 3389)
	f := finding(sg_rdp_open, rule.resource, sprintf("%s may allow port 3389 (RDP) from the internet: its sources or ports are known only after apply", [rule.resource]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-009: every port open to the internet.

sg_all_ports_open := {
	"id": "STRATA-AWS-009",
	"severity": "critical",
	"title": "Security group allows all ports from the internet",
	"remediation": "Open only the ports the service needs, from the narrowest source ranges that work.",
	"checkov": "CKV_AWS_277",
}

deny_sg_all_ports_open contains f if {
	some rule in ingress_rules
	open_to_world(rule)
	all_ports(rule)
	f := finding(sg_all_ports_open, rule.resource, sprintf("%s allows every port from the internet", [rule.resource]))
}

unknown_sg_all_ports_open contains f if {
	some rule in ingress_rules
	maybe_open(rule)
	not all_ports_denied(rule)
	maybe_all_ports(rule)
	f := finding(sg_all_ports_open, rule.resource, sprintf("%s may allow every port from the internet: its sources or ports are known only after apply", [rule.resource]))
}

maybe_all_ports(rule) if all_ports(rule)

maybe_all_ports(rule) if ports_unknown(rule)

all_ports_denied(rule) if {
	open_to_world(rule)
	all_ports(rule)
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-072: a security group or rule nobody explained.

sg_description := {
	"id": "STRATA-AWS-072",
	"severity": "low",
	"title": "Security group or rule without a description",
	"remediation": "Give the group and each of its rules a description saying what the traffic is for; reviewers of an open port need it.",
	"checkov": "CKV_AWS_23",
}

described(body) if {
	is_string(body.description)
	body.description != ""
}

deny_sg_description contains f if {
	some [name, sg] in resources("aws_security_group")
	not described(sg)
	f := finding(sg_description, addr("aws_security_group", name), sprintf("aws_security_group.%s has no description", [name]))
}

deny_sg_description contains f if {
	some [name, sg] in resources("aws_security_group")
	some direction in ["ingress", "egress"]
	some i, rule in blocks(object.get(sg, direction, []))
	not described(rule)
	f := finding(sg_description, addr("aws_security_group", name), sprintf("aws_security_group.%s: %s rule %d has no description", [name, direction, i + 1]))
}

deny_sg_description contains f if {
	some type in ["aws_security_group_rule", "aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule"]
	some [name, rule] in resources(type)
	not described(rule)
	f := finding(sg_description, addr(type, name), sprintf("%s has no description", [addr(type, name)]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-073: a default security group that lets traffic through.

default_sg_restricts_all := {
	"id": "STRATA-AWS-073",
	"severity": "medium",
	"title": "Default security group allows traffic",
	"remediation": "Declare aws_default_security_group without ingress and egress blocks, so the VPC's default group allows nothing and resources must name a group of their own.",
	"checkov": "CKV2_AWS_12",
}

deny_default_sg_restricts_all contains f if {
	some [name, sg] in resources("aws_default_security_group")
	some direction in ["ingress", "egress"]
	count(blocks(object.get(sg, direction, []))) > 0
	f := finding(default_sg_restricts_all, addr("aws_default_security_group", name), sprintf("aws_default_security_group.%s has %s rules", [name, direction]))
}
