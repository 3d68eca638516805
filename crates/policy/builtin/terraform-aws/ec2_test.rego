package builtin.aws

import rego.v1

encrypted_root := {"root_block_device": {"encrypted": true, "volume_size": 20}}

# STRATA-AWS-012

test_ec2_without_metadata_options_denied if {
	fs := deny_ec2_imdsv2 with input as {"resource": {"aws_instance": {"web": encrypted_root}}}
	count(fs) == 1
	some f in fs
	f.id == "STRATA-AWS-012"
	f.checkov == "CKV_AWS_79"
	f.resource == "aws_instance.web"
}

test_launch_template_optional_tokens_denied if {
	inp := {"resource": {"aws_launch_template": {"web": {"metadata_options": {"http_endpoint": "enabled", "http_tokens": "optional"}}}}}
	count(deny_ec2_imdsv2) == 1 with input as inp
}

test_ec2_tokens_required_passes if {
	inp := {"resource": {"aws_instance": {"web": object.union(encrypted_root, {"metadata_options": {"http_tokens": "required"}})}}}
	count(deny_ec2_imdsv2) == 0 with input as inp
}

test_ec2_metadata_endpoint_disabled_passes if {
	inp := {"resource": {"aws_launch_template": {"web": {"metadata_options": {"http_endpoint": "disabled"}}}}}
	count(deny_ec2_imdsv2) == 0 with input as inp
}

test_ec2_computed_tokens_is_unknown if {
	inp := {"resource": {"aws_instance": {"web": object.union(encrypted_root, {"metadata_options": {"http_tokens": "${var.http_tokens}"}})}}}
	count(deny_ec2_imdsv2) == 0 with input as inp
	{f.id | some f in unknowns} == {"STRATA-AWS-012"} with input as inp
}

# STRATA-AWS-013

test_ebs_volume_unencrypted_denied if {
	fs := deny_ebs_encryption with input as {"resource": {"aws_ebs_volume": {"data": {"size": 100}}}}
	some f in fs
	f.id == "STRATA-AWS-013"
	f.checkov == "CKV_AWS_3"
}

test_ebs_volume_encrypted_passes if {
	count(deny_ebs_encryption) == 0 with input as {"resource": {"aws_ebs_volume": {
		"a": {"encrypted": true},
		"b": {"kms_key_id": "${aws_kms_key.ebs.arn}"},
	}}}
}

test_ebs_volume_computed_is_unknown if {
	inp := {"resource": {"aws_ebs_volume": {"data": {"encrypted": "${var.encrypt}"}}}}
	count(deny_ebs_encryption) == 0 with input as inp
	count(having(unknowns, "STRATA-AWS-013")) == 1 with input as inp
}

# STRATA-AWS-014

test_instance_without_root_block_device_denied if {
	fs := deny_ec2_block_device_encryption with input as {"resource": {"aws_instance": {"web": {"ami": "ami-123"}}}}
	some f in fs
	f.id == "STRATA-AWS-014"
	f.checkov == "CKV_AWS_8"
}

test_launch_configuration_unencrypted_ebs_block_device_denied if {
	inp := {"resource": {"aws_launch_configuration": {"web": object.union(encrypted_root, {"ebs_block_device": [
		{"device_name": "/dev/sdb", "encrypted": true},
		{"device_name": "/dev/sdc"},
	]})}}}
	fs := deny_ec2_block_device_encryption with input as inp
	count(fs) == 1
	some f in fs
	f.msg == "aws_launch_configuration.web has a ebs_block_device without encrypted = true"
}

test_encrypted_and_snapshot_devices_pass if {
	inp := {"resource": {"aws_instance": {"web": object.union(encrypted_root, {"ebs_block_device": {"snapshot_id": "snap-1"}})}}}
	count(deny_ec2_block_device_encryption) == 0 with input as inp
}

test_block_device_computed_is_unknown if {
	inp := {"resource": {"aws_instance": {"web": {
		"root_block_device": {"encrypted": "${var.encrypt}"},
		"metadata_options": {"http_tokens": "required"},
	}}}}
	count(deny_ec2_block_device_encryption) == 0 with input as inp
	{f.id | some f in unknowns} == {"STRATA-AWS-014"} with input as inp
}

# STRATA-AWS-071

test_instance_with_public_ip_denied if {
	ids(deny_ec2_public_ip) == {"CKV_AWS_88"} with input as res("aws_instance", {"associate_public_ip_address": true})
	count(deny_ec2_public_ip) == 1 with input as res("aws_launch_template", {"network_interfaces": {"associate_public_ip_address": "true"}})
}

test_instance_without_public_ip_passes if {
	count(deny_ec2_public_ip) == 0 with input as res("aws_instance", {"associate_public_ip_address": false})
	count(deny_ec2_public_ip) == 0 with input as res("aws_launch_template", {"network_interfaces": {"subnet_id": "x"}})
}
