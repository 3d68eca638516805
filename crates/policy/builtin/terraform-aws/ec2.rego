# EC2: instance metadata service, EBS encryption.
package builtin.aws

import rego.v1

# ---------------------------------------------------------------------------------------
# STRATA-AWS-012: IMDSv1 still allowed (session tokens not required).

ec2_imdsv2 := {
	"id": "STRATA-AWS-012",
	"severity": "high",
	"title": "EC2 instance metadata service allows IMDSv1",
	"remediation": "Add metadata_options { http_tokens = \"required\" } (or http_endpoint = \"disabled\" when the instance never reads its metadata).",
	"checkov": "CKV_AWS_79",
}

imds_types := ["aws_instance", "aws_launch_template", "aws_launch_configuration"]

# "secure" when tokens are required or the endpoint is off, "computed" when http_tokens is
# known only after apply; undefined otherwise (no metadata_options, or tokens optional).
imds_state(body) := "secure" if {
	some m in blocks(body.metadata_options)
	m.http_endpoint == "disabled"
}

imds_state(body) := "secure" if {
	some m in blocks(body.metadata_options)
	m.http_tokens == "required"
}

imds_state(body) := "computed" if {
	some m in blocks(body.metadata_options)
	object.get(m, "http_endpoint", "enabled") != "disabled"
	computed(m.http_tokens)
}

deny_ec2_imdsv2 contains f if {
	some type in imds_types
	some [name, body] in resources(type)
	not imds_state(body)
	f := finding(
		ec2_imdsv2,
		sprintf("%s.%s", [type, name]),
		sprintf("%s.%s does not require IMDSv2 (metadata_options.http_tokens = \"required\")", [type, name]),
	)
}

unknown_ec2_imdsv2 contains f if {
	some type in imds_types
	some [name, body] in resources(type)
	imds_state(body) == "computed"
	f := finding(
		ec2_imdsv2,
		sprintf("%s.%s", [type, name]),
		sprintf("%s.%s: metadata_options.http_tokens is known only after apply", [type, name]),
	)
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-013: EBS volume not encrypted.

ebs_encryption := {
	"id": "STRATA-AWS-013",
	"severity": "high",
	"title": "EBS volume not encrypted",
	"remediation": "Set encrypted = true (and kms_key_id for a customer managed key), or turn on EBS encryption by default for the account and region.",
	"checkov": "CKV_AWS_3",
}

deny_ebs_encryption contains f if {
	some [name, volume] in resources("aws_ebs_volume")
	value := object.get(volume, "encrypted", false)
	not enabled(value)
	not computed(value)
	not volume.kms_key_id
	f := finding(ebs_encryption, sprintf("aws_ebs_volume.%s", [name]), sprintf("aws_ebs_volume.%s does not set encrypted = true", [name]))
}

unknown_ebs_encryption contains f if {
	some [name, volume] in resources("aws_ebs_volume")
	computed(volume.encrypted)
	f := finding(ebs_encryption, sprintf("aws_ebs_volume.%s", [name]), sprintf("aws_ebs_volume.%s: encrypted is known only after apply", [name]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-014: instance or launch configuration block devices not encrypted.

ec2_block_device_encryption := {
	"id": "STRATA-AWS-014",
	"severity": "high",
	"title": "EC2 block device not encrypted",
	"remediation": "Declare root_block_device (and every ebs_block_device) with encrypted = true, or turn on EBS encryption by default for the account and region.",
	"checkov": "CKV_AWS_8",
}

block_device_types := ["aws_instance", "aws_launch_configuration"]

# A device created from a snapshot takes the snapshot's encryption.
device_unencrypted(device) if {
	value := object.get(device, "encrypted", false)
	not enabled(value)
	not computed(value)
	not device.snapshot_id
}

deny_ec2_block_device_encryption contains f if {
	some type in block_device_types
	some [name, body] in resources(type)
	not body.root_block_device
	f := finding(
		ec2_block_device_encryption,
		sprintf("%s.%s", [type, name]),
		sprintf("%s.%s has no root_block_device with encrypted = true", [type, name]),
	)
}

deny_ec2_block_device_encryption contains f if {
	some type in block_device_types
	some [name, body] in resources(type)
	some kind in ["root_block_device", "ebs_block_device"]
	some device in blocks(object.get(body, kind, []))
	device_unencrypted(device)
	f := finding(
		ec2_block_device_encryption,
		sprintf("%s.%s", [type, name]),
		sprintf("%s.%s has a %s without encrypted = true", [type, name, kind]),
	)
}

unknown_ec2_block_device_encryption contains f if {
	some type in block_device_types
	some [name, body] in resources(type)
	some kind in ["root_block_device", "ebs_block_device"]
	some device in blocks(object.get(body, kind, []))
	computed(device.encrypted)
	f := finding(
		ec2_block_device_encryption,
		sprintf("%s.%s", [type, name]),
		sprintf("%s.%s: %s.encrypted is known only after apply", [type, name, kind]),
	)
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-071: an instance given a public IP address.

ec2_public_ip := {
	"id": "STRATA-AWS-071",
	"severity": "medium",
	"title": "EC2 instance with a public IP address",
	"remediation": "Set associate_public_ip_address = false and reach the instance through a load balancer, a NAT gateway or SSM Session Manager.",
	"checkov": "CKV_AWS_88",
}

deny_ec2_public_ip contains f if {
	some [name, body] in resources("aws_instance")
	enabled(body.associate_public_ip_address)
	f := object.union(
		finding(ec2_public_ip, addr("aws_instance", name), sprintf("aws_instance.%s sets associate_public_ip_address = true", [name])),
		{"attribute": "associate_public_ip_address"},
	)
}

deny_ec2_public_ip contains f if {
	some type in ["aws_launch_template", "aws_launch_configuration"]
	some [name, body] in resources(type)
	some nic in array.concat(blocks(object.get(body, "network_interfaces", [])), [body])
	enabled(nic.associate_public_ip_address)
	f := object.union(
		finding(ec2_public_ip, addr(type, name), sprintf("%s gives its instances a public IP address", [addr(type, name)])),
		{"attribute": "associate_public_ip_address"},
	)
}
