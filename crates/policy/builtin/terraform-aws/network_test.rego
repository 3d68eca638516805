package builtin.aws

import rego.v1

security_group(ingress) := {"resource": {"aws_security_group": {"web": {"name": "web", "ingress": ingress}}}}

ssh_from(cidrs) := {"from_port": 22, "to_port": 22, "protocol": "tcp", "cidr_blocks": cidrs}

# STRATA-AWS-007

test_sg_ssh_open_inline_denied if {
	fs := deny_sg_ssh_open with input as security_group(ssh_from(["0.0.0.0/0"]))
	count(fs) == 1
	some f in fs
	f.id == "STRATA-AWS-007"
	f.checkov == "CKV_AWS_24"
	f.resource == "aws_security_group.web"
}

test_sg_ssh_open_in_one_of_several_blocks_denied if {
	inp := security_group([
		{"from_port": 443, "to_port": 443, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"]},
		{"from_port": 20, "to_port": 30, "protocol": "tcp", "ipv6_cidr_blocks": ["::/0"]},
	])
	count(deny_sg_ssh_open) == 1 with input as inp
	count(deny_sg_rdp_open) == 0 with input as inp
}

test_sg_ssh_from_office_passes if {
	count(deny_sg_ssh_open) == 0 with input as security_group(ssh_from(["203.0.113.0/24"]))
}

test_sg_https_from_world_passes if {
	inp := security_group({"from_port": 443, "to_port": 443, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"]})
	count(deny_sg_ssh_open) == 0 with input as inp
	count(deny_sg_all_ports_open) == 0 with input as inp
	count(unknowns) == 0 with input as inp
}

test_sg_rule_resource_ssh_denied if {
	inp := {"resource": {"aws_security_group_rule": {"ssh": {
		"type": "ingress",
		"from_port": "22",
		"to_port": "22",
		"protocol": "6",
		"cidr_blocks": ["0.0.0.0/0"],
		"security_group_id": "${aws_security_group.web.id}",
	}}}}
	fs := deny_sg_ssh_open with input as inp
	some f in fs
	f.resource == "aws_security_group_rule.ssh"
}

test_sg_egress_rule_passes if {
	count(deny_sg_ssh_open) == 0 with input as {"resource": {"aws_security_group_rule": {"out": {
		"type": "egress",
		"from_port": 22,
		"to_port": 22,
		"protocol": "tcp",
		"cidr_blocks": ["0.0.0.0/0"],
	}}}}
}

test_sg_icmp_passes if {
	inp := security_group({"from_port": -1, "to_port": -1, "protocol": "icmp", "cidr_blocks": ["0.0.0.0/0"]})
	count(deny_sg_ssh_open) == 0 with input as inp
	count(deny_sg_all_ports_open) == 0 with input as inp
}

test_sg_ssh_computed_cidrs_is_unknown if {
	inp := security_group(ssh_from("${var.admin_cidrs}"))
	count(deny_sg_ssh_open) == 0 with input as inp
	fs := having(unknowns, "STRATA-AWS-007") with input as inp
	count(fs) == 1
	count(having(unknowns, "STRATA-AWS-008")) == 0 with input as inp
}

test_sg_computed_cidr_element_is_unknown if {
	inp := security_group(ssh_from(["10.0.0.0/8", "${var.office_cidr}"]))
	count(having(unknowns, "STRATA-AWS-007")) == 1 with input as inp
}

test_sg_world_with_computed_port_is_unknown if {
	inp := security_group({"from_port": "${var.port}", "to_port": "${var.port}", "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"]})
	count(deny_sg_ssh_open) == 0 with input as inp
	{f.id | some f in unknowns} == {"STRATA-AWS-007", "STRATA-AWS-008", "STRATA-AWS-009"} with input as inp
}

# STRATA-AWS-008

test_sg_rdp_open_vpc_rule_denied if {
	inp := {"resource": {"aws_vpc_security_group_ingress_rule": {"rdp": {
		"security_group_id": "${aws_security_group.win.id}",
		"cidr_ipv4": "0.0.0.0/0",
		"from_port": 3389,
		"to_port": 3389,
		"ip_protocol": "tcp",
	}}}}
	fs := deny_sg_rdp_open with input as inp
	count(fs) == 1
	some f in fs
	f.id == "STRATA-AWS-008"
	f.checkov == "CKV_AWS_25"
	f.resource == "aws_vpc_security_group_ingress_rule.rdp"
}

test_sg_rdp_from_private_range_passes if {
	count(deny_sg_rdp_open) == 0 with input as security_group({"from_port": 3389, "to_port": 3389, "protocol": "tcp", "cidr_blocks": ["10.0.0.0/8"]})
}

test_sg_rdp_computed_source_is_unknown if {
	inp := {"resource": {"aws_vpc_security_group_ingress_rule": {"rdp": {
		"cidr_ipv4": "${var.cidr}",
		"from_port": 3389,
		"to_port": 3389,
		"ip_protocol": "tcp",
	}}}}
	count(deny_sg_rdp_open) == 0 with input as inp
	count(having(unknowns, "STRATA-AWS-008")) == 1 with input as inp
}

# STRATA-AWS-009

test_sg_all_traffic_denied_once if {
	inp := security_group({"from_port": 0, "to_port": 0, "protocol": "-1", "cidr_blocks": ["0.0.0.0/0"]})
	fs := deny_sg_all_ports_open with input as inp
	count(fs) == 1
	some f in fs
	f.id == "STRATA-AWS-009"
	f.severity == "critical"
	f.checkov == "CKV_AWS_277"

	# the port rules leave an all-ports rule to STRATA-AWS-009
	count(deny_sg_ssh_open) == 0 with input as inp
	count(deny_sg_rdp_open) == 0 with input as inp
	count(unknowns) == 0 with input as inp
}

test_sg_full_tcp_range_denied if {
	inp := security_group({"from_port": 0, "to_port": 65535, "protocol": "tcp", "ipv6_cidr_blocks": ["::/0"]})
	count(deny_sg_all_ports_open) == 1 with input as inp
}

test_sg_vpc_rule_all_protocols_denied if {
	inp := {"resource": {"aws_vpc_security_group_ingress_rule": {"any": {"cidr_ipv6": "::/0", "ip_protocol": "-1"}}}}
	count(deny_sg_all_ports_open) == 1 with input as inp
}

test_sg_all_traffic_inside_vpc_passes if {
	count(deny_sg_all_ports_open) == 0 with input as security_group({"from_port": 0, "to_port": 0, "protocol": "-1", "cidr_blocks": ["10.0.0.0/16"]})
}

test_sg_all_traffic_computed_source_is_unknown if {
	inp := security_group({"from_port": 0, "to_port": 0, "protocol": "-1", "cidr_blocks": "${var.cidrs}"})
	count(deny_sg_all_ports_open) == 0 with input as inp
	{f.id | some f in unknowns} == {"STRATA-AWS-009"} with input as inp
}

# STRATA-AWS-072

test_sg_without_descriptions_denied if {
	inp := res("aws_security_group", {"ingress": [{"from_port": 443, "to_port": 443, "protocol": "tcp", "description": "https"}, {"from_port": 80, "to_port": 80, "protocol": "tcp"}]})
	fs := deny_sg_description with input as inp
	count(fs) == 2
	ids(fs) == {"CKV_AWS_23"}
	count(deny_sg_description) == 1 with input as res("aws_security_group_rule", {"type": "ingress"})
}

test_sg_with_descriptions_passes if {
	inp := res("aws_security_group", {"description": "web", "egress": {"protocol": "-1", "description": "all out"}})
	count(deny_sg_description) == 0 with input as inp
	count(deny_sg_description) == 0 with input as res("aws_vpc_security_group_ingress_rule", {"description": "https"})
}

# STRATA-AWS-073

test_default_sg_with_rules_denied if {
	fs := deny_default_sg_restricts_all with input as res("aws_default_security_group", {"vpc_id": "x", "ingress": {"protocol": "-1", "self": true}})
	ids(fs) == {"CKV2_AWS_12"}
	count(deny_default_sg_restricts_all) == 0 with input as res("aws_default_security_group", {"vpc_id": "x"})
}
