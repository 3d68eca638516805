# KMS: automatic rotation of customer managed keys.
package builtin.aws

import rego.v1

# ---------------------------------------------------------------------------------------
# STRATA-AWS-015: symmetric key without automatic rotation.

kms_rotation := {
	"id": "STRATA-AWS-015",
	"severity": "medium",
	"title": "KMS key without automatic rotation",
	"remediation": "Set enable_key_rotation = true (rotation_period_in_days tunes the period).",
	"checkov": "CKV_AWS_7",
}

# Only symmetric encryption keys can rotate automatically.
rotatable(key) if object.get(key, "customer_master_key_spec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"

deny_kms_rotation contains f if {
	some [name, key] in resources("aws_kms_key")
	rotatable(key)
	value := object.get(key, "enable_key_rotation", false)
	not enabled(value)
	not computed(value)
	f := finding(kms_rotation, sprintf("aws_kms_key.%s", [name]), sprintf("aws_kms_key.%s does not set enable_key_rotation = true", [name]))
}

unknown_kms_rotation contains f if {
	some [name, key] in resources("aws_kms_key")
	rotatable(key)
	computed(key.enable_key_rotation)
	f := finding(kms_rotation, sprintf("aws_kms_key.%s", [name]), sprintf("aws_kms_key.%s: enable_key_rotation is known only after apply", [name]))
}
