package builtin.aws

import rego.v1

# Every unknown_ rule of this package, for tests that want none or a given set.
unknowns := union({
	unknown_s3_access_logging,
	unknown_s3_encryption,
	unknown_s3_missing_public_access_block,
	unknown_ebs_encryption,
	unknown_ec2_block_device_encryption,
	unknown_ec2_imdsv2,
	unknown_kms_rotation,
	unknown_rds_public,
	unknown_rds_storage_encryption,
	unknown_s3_public_access_block,
	unknown_s3_public_acl,
	unknown_s3_versioning,
	unknown_sg_all_ports_open,
	unknown_sg_rdp_open,
	unknown_sg_ssh_open,
})

# Findings of one rule id among a set of findings.
having(findings, id) := {f | some f in findings; f.id == id}

# A bucket with everything it needs, in the same file.
good_bucket := {"resource": {
	"aws_s3_bucket": {"logs": {"bucket": "acme-logs"}},
	"aws_s3_bucket_server_side_encryption_configuration": {"logs": {
		"bucket": "${aws_s3_bucket.logs.id}",
		"rule": {"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms"}},
	}},
	"aws_s3_bucket_public_access_block": {"logs": {
		"bucket": "${aws_s3_bucket.logs.id}",
		"block_public_acls": true,
		"block_public_policy": true,
		"ignore_public_acls": true,
		"restrict_public_buckets": true,
	}},
	"aws_s3_bucket_versioning": {"logs": {
		"bucket": "${aws_s3_bucket.logs.id}",
		"versioning_configuration": {"status": "Enabled"},
	}},
	"aws_s3_bucket_logging": {"logs": {"bucket": "acme-logs", "target_bucket": "acme-audit"}},
}}

bare_bucket := {"resource": {"aws_s3_bucket": {"logs": {"bucket": "acme-logs"}}}}

test_complete_bucket_has_no_findings if {
	count(deny_s3_encryption) == 0 with input as good_bucket
	count(deny_s3_public_acl) == 0 with input as good_bucket
	count(deny_s3_public_access_block) == 0 with input as good_bucket
	count(deny_s3_missing_public_access_block) == 0 with input as good_bucket
	count(deny_s3_versioning) == 0 with input as good_bucket
	count(deny_s3_access_logging) == 0 with input as good_bucket
	count(unknowns) == 0 with input as good_bucket
}

# STRATA-AWS-001

test_s3_encryption_denied_without_configuration if {
	fs := deny_s3_encryption with input as bare_bucket
	count(fs) == 1
	some f in fs
	f.id == "STRATA-AWS-001"
	f.resource == "aws_s3_bucket.logs"
	f.checkov == "CKV_AWS_19"
}

test_s3_encryption_inline_block_passes if {
	count(deny_s3_encryption) == 0 with input as {"resource": {"aws_s3_bucket": {"logs": {"server_side_encryption_configuration": {"rule": {}}}}}}
}

test_s3_encryption_configuration_of_another_bucket_does_not_count if {
	fs := deny_s3_encryption with input as {"resource": {
		"aws_s3_bucket": {"logs": {"bucket": "acme-logs"}},
		"aws_s3_bucket_server_side_encryption_configuration": {"other": {"bucket": "${aws_s3_bucket.other.id}"}},
	}}
	count(fs) == 1
}

test_s3_encryption_by_literal_bucket_name_passes if {
	count(deny_s3_encryption) == 0 with input as {"resource": {
		"aws_s3_bucket": {"logs": {"bucket": "acme-logs"}},
		"aws_s3_bucket_server_side_encryption_configuration": {"logs": {"bucket": "acme-logs"}},
	}}
}

test_s3_encryption_for_each_reference_passes if {
	count(deny_s3_encryption) == 0 with input as {"resource": {
		"aws_s3_bucket": {"logs": {"for_each": "${var.names}"}},
		"aws_s3_bucket_server_side_encryption_configuration": {"logs": {"for_each": "${var.names}", "bucket": "${aws_s3_bucket.logs[each.key].id}"}},
	}}
}

# STRATA-AWS-002

test_s3_public_acl_on_bucket_denied if {
	fs := deny_s3_public_acl with input as {"resource": {"aws_s3_bucket": {"logs": {"acl": "public-read"}}}}
	count(fs) == 1
	some f in fs
	f.id == "STRATA-AWS-002"
	f.severity == "high"
	f.checkov == "CKV_AWS_20"
	f.msg == "aws_s3_bucket.logs has the public canned ACL \"public-read\""
}

test_s3_public_read_write_acl_resource_denied_with_write_check if {
	fs := deny_s3_public_acl with input as {"resource": {"aws_s3_bucket_acl": {"logs": {"acl": "public-read-write"}}}}
	some f in fs
	f.resource == "aws_s3_bucket_acl.logs"
	f.checkov == "CKV_AWS_57"
}

test_s3_public_grant_denied if {
	acl := {"access_control_policy": {
		"owner": {"id": "abc"},
		"grant": [
			{"permission": "FULL_CONTROL", "grantee": {"type": "CanonicalUser", "id": "abc"}},
			{"permission": "READ", "grantee": {"type": "Group", "uri": "http://acs.amazonaws.com/groups/global/AllUsers"}},
		],
	}}
	fs := deny_s3_public_acl with input as {"resource": {"aws_s3_bucket_acl": {"logs": acl}}}
	count(fs) == 1
	some f in fs
	f.msg == "aws_s3_bucket_acl.logs grants READ to http://acs.amazonaws.com/groups/global/AllUsers"
}

test_s3_private_acl_passes if {
	count(deny_s3_public_acl) == 0 with input as {"resource": {
		"aws_s3_bucket": {"logs": {"acl": "private"}},
		"aws_s3_bucket_acl": {"logs": {"acl": "log-delivery-write"}},
	}}
}

test_s3_computed_acl_is_unknown if {
	inp := {"resource": {"aws_s3_bucket_acl": {"logs": {"acl": "${var.acl}"}}}}
	count(deny_s3_public_acl) == 0 with input as inp
	fs := having(unknowns, "STRATA-AWS-002") with input as inp
	count(fs) == 1
}

# STRATA-AWS-003

test_s3_public_access_block_partial_denied if {
	fs := deny_s3_public_access_block with input as {"resource": {"aws_s3_bucket_public_access_block": {"logs": {
		"bucket": "${aws_s3_bucket.logs.id}",
		"block_public_acls": true,
		"block_public_policy": false,
		"ignore_public_acls": true,
	}}}}
	{f.checkov | some f in fs} == {"CKV_AWS_54", "CKV_AWS_56"}
}

test_s3_account_public_access_block_complete_passes if {
	count(deny_s3_public_access_block) == 0 with input as {"resource": {"aws_s3_account_public_access_block": {"this": {
		"block_public_acls": true,
		"block_public_policy": "true",
		"ignore_public_acls": true,
		"restrict_public_buckets": true,
	}}}}
}

test_s3_public_access_block_computed_switch_is_unknown if {
	inp := {"resource": {"aws_s3_bucket_public_access_block": {"logs": {
		"block_public_acls": true,
		"block_public_policy": "${var.block_policy}",
		"ignore_public_acls": true,
		"restrict_public_buckets": true,
	}}}}
	count(deny_s3_public_access_block) == 0 with input as inp
	fs := having(unknowns, "STRATA-AWS-003") with input as inp
	{f.checkov | some f in fs} == {"CKV_AWS_54"}
}

# STRATA-AWS-004

test_s3_missing_public_access_block_denied if {
	fs := deny_s3_missing_public_access_block with input as bare_bucket
	some f in fs
	f.id == "STRATA-AWS-004"
	f.checkov == "CKV2_AWS_6"
}

test_s3_public_access_block_present_passes if {
	count(deny_s3_missing_public_access_block) == 0 with input as {"resource": {
		"aws_s3_bucket": {"logs": {}},
		"aws_s3_bucket_public_access_block": {"logs": {"bucket": "${aws_s3_bucket.logs.bucket}"}},
	}}
}

# STRATA-AWS-005

test_s3_versioning_missing_denied if {
	fs := deny_s3_versioning with input as bare_bucket
	some f in fs
	f.id == "STRATA-AWS-005"
	f.resource == "aws_s3_bucket.logs"
}

test_s3_versioning_inline_disabled_denied if {
	count(deny_s3_versioning) == 1 with input as {"resource": {"aws_s3_bucket": {"logs": {"versioning": {"enabled": false}}}}}
}

test_s3_versioning_inline_enabled_passes if {
	count(deny_s3_versioning) == 0 with input as {"resource": {"aws_s3_bucket": {"logs": {"versioning": {"enabled": true}}}}}
}

test_s3_versioning_suspended_denied if {
	fs := deny_s3_versioning with input as {"resource": {"aws_s3_bucket_versioning": {"logs": {
		"bucket": "acme-logs",
		"versioning_configuration": {"status": "Suspended"},
	}}}}
	some f in fs
	f.resource == "aws_s3_bucket_versioning.logs"
}

test_s3_versioning_computed_is_unknown if {
	inp := {"resource": {
		"aws_s3_bucket": {"a": {"versioning": {"enabled": "${var.versioned}"}}},
		"aws_s3_bucket_versioning": {"b": {"versioning_configuration": {"status": "${var.status}"}}},
	}}
	count(deny_s3_versioning) == 0 with input as inp
	fs := having(unknowns, "STRATA-AWS-005") with input as inp
	{f.resource | some f in fs} == {"aws_s3_bucket.a", "aws_s3_bucket_versioning.b"}
}

# STRATA-AWS-006

test_s3_access_logging_missing_denied if {
	fs := deny_s3_access_logging with input as bare_bucket
	some f in fs
	f.id == "STRATA-AWS-006"
	f.severity == "low"
}

test_s3_access_logging_inline_passes if {
	count(deny_s3_access_logging) == 0 with input as {"resource": {"aws_s3_bucket": {"logs": {"logging": {"target_bucket": "audit"}}}}}
}

test_buckets_written_as_arrays_are_read if {
	fs := deny_s3_public_acl with input as {"resource": {"aws_s3_bucket": {"logs": [{"acl": "public-read"}]}}}
	count(fs) == 1
}

test_companions_naming_their_bucket_after_apply_are_unknown if {
	inp := {"resource": {
		"aws_s3_bucket": {"logs": {"bucket": "${var.name}"}},
		"aws_s3_bucket_server_side_encryption_configuration": {"logs": {"bucket": "${var.bucket_id}"}},
		"aws_s3_bucket_public_access_block": {"logs": {
			"bucket": "${var.bucket_id}",
			"block_public_acls": true,
			"block_public_policy": true,
			"ignore_public_acls": true,
			"restrict_public_buckets": true,
		}},
		"aws_s3_bucket_versioning": {"logs": {"bucket": "${var.bucket_id}", "versioning_configuration": {"status": "Enabled"}}},
		"aws_s3_bucket_logging": {"logs": {"bucket": "${var.bucket_id}", "target_bucket": "audit"}},
	}}
	count(deny_s3_encryption) == 0 with input as inp
	count(deny_s3_missing_public_access_block) == 0 with input as inp
	count(deny_s3_versioning) == 0 with input as inp
	count(deny_s3_access_logging) == 0 with input as inp
	{f.id | some f in unknowns} == {"STRATA-AWS-001", "STRATA-AWS-004", "STRATA-AWS-005", "STRATA-AWS-006"} with input as inp
}
