package builtin.aws

import rego.v1

# STRATA-AWS-015

test_kms_rotation_missing_denied if {
	fs := deny_kms_rotation with input as {"resource": {"aws_kms_key": {"app": {"description": "app data"}}}}
	count(fs) == 1
	some f in fs
	f.id == "STRATA-AWS-015"
	f.checkov == "CKV_AWS_7"
	f.resource == "aws_kms_key.app"
}

test_kms_rotation_enabled_passes if {
	count(deny_kms_rotation) == 0 with input as {"resource": {"aws_kms_key": {"app": {"enable_key_rotation": true}}}}
}

test_kms_asymmetric_key_passes if {
	count(deny_kms_rotation) == 0 with input as {"resource": {"aws_kms_key": {"sign": {"customer_master_key_spec": "ECC_NIST_P256", "key_usage": "SIGN_VERIFY"}}}}
}

test_kms_rotation_computed_is_unknown if {
	inp := {"resource": {"aws_kms_key": {"app": {"enable_key_rotation": "${var.rotate}"}}}}
	count(deny_kms_rotation) == 0 with input as inp
	{f.id | some f in unknowns} == {"STRATA-AWS-015"} with input as inp
}
